/*  sf_protokernel: a kernel artifact made ready to travel in a RESULT. */
#include "wire/sf_protokernel.h"

#include <string.h>

#include "common/sf_error.h"

bool
sf_protokernel_borrow (const sf_kernel_t *k, sf_kernel_t *out)
{
    memset (out, 0, sizeof *out);
    if (!sf_kernel_present (k)) {
        sf_error_set (SF_ERR_RANGE, "no kernel: a cubin and an entry name are required");
        return false;
    }
    if (k->cubin_size > (size_t) SF_PROTO_CODE_MAX || (k->data && k->data_size > (size_t) SF_PROTO_CODE_MAX)) {
        sf_error_set (SF_ERR_RANGE, "the kernel (%zu bytes of cubin, %zu of data) is over the wire's %lld bytes",
                      k->cubin_size, k->data ? k->data_size : 0, (long long) SF_PROTO_CODE_MAX);
        return false;
    }
    *out = *k;
    if (k->source && sf_kernel_source_len (k) > (size_t) SF_PROTO_CODE_MAX) {
        out->source = NULL;
        out->source_size = 0;
    }
    if (!k->data)
        out->data_size = 0;
    return true;
}
