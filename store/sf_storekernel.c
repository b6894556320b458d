/*  sf_storekernel: the kernel artifact as the store's kernel record and back. */
#include "store/sf_storekernel.h"

#include <stdio.h>
#include <string.h>

void
sf_storekernel_record (const sf_kernel_t *k, sf_template tmpl, const char *config, sf_store_kernel_t *out)
{
    memset (out, 0, sizeof *out);
    out->cubin = k->cubin;
    out->cubin_size = k->cubin_size;
    out->source = k->source;
    out->source_size = sf_kernel_source_len (k);
    out->launch = k->launch;
    out->tmpl = tmpl;
    snprintf (out->config, sizeof out->config, "%s", config);
    out->data = k->data;
    out->data_size = k->data_size;
}

void
sf_storekernel_view (const sf_store_kernel_t *k, sf_kernel_t *out)
{
    memset (out, 0, sizeof *out);
    out->launch = k->launch;
    out->cubin = k->cubin;
    out->cubin_size = k->cubin_size;
    out->source = k->source;
    out->source_size = k->source ? k->source_size : 0;
    out->data = k->data;
    out->data_size = k->data_size;
}

void
sf_storekernel_take (sf_store_kernel_t *k, sf_kernel_t *out)
{
    sf_kernel_t view;
    sf_storekernel_view (k, &view);
    sf_kernel_move (out, &view);
    k->cubin = k->data = NULL;
    k->source = NULL;
    k->cubin_size = k->source_size = k->data_size = 0;
}
