/*  sf_protokernel: a kernel artifact (common/sf_kernel.h) made ready to
    travel in a RESULT's candidate, whose kernel is an sf_kernel_t read and
    written by the wire's schema (wire/sf_proto.h): the one place where the
    wire's bounds on a kernel are applied before encoding, so that a winner
    too big to send is left out of the RESULT rather than failing it. */
#ifndef SF_PROTOKERNEL_H_INCLUDED
#define SF_PROTOKERNEL_H_INCLUDED

#include <stdbool.h>

#include "common/sf_kernel.h"
#include "wire/sf_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  *out borrows k's cubin, source and data, with its launch (nothing is
    copied: k must outlive the encoding; never sf_kernel_free *out).
    false (*out zeroed, SF_ERR_RANGE set saying why) when k holds no
    kernel (sf_kernel_present: a cubin and an entry name, which always
    fits SF_PROTO_ENTRY_MAX) or breaks a bound of the wire (cubin and data
    at most SF_PROTO_CODE_MAX bytes). A source over SF_PROTO_CODE_MAX is
    left out (NULL): a kernel travels without it. */
bool sf_protokernel_borrow (const sf_kernel_t *k, sf_kernel_t *out);

#ifdef __cplusplus
}
#endif
#endif
