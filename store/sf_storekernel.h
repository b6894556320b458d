/*  sf_storekernel: the one conversion between the kernel artifact
    (common/sf_kernel.h) and the store's kernel record (sf_store_kernel_t,
    store/sf_record.h, whose fields and bytes on disk it leaves as they
    are). A record is an artifact plus what it was compiled from (template
    and config text). */
#ifndef SF_STOREKERNEL_H_INCLUDED
#define SF_STOREKERNEL_H_INCLUDED

#include "common/sf_kernel.h"
#include "proxygen/sf_config.h"
#include "store/sf_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  *out: the record of artifact k, compiled from tmpl and config (copied,
    cut at SF_STORE_CONFIG_MAX - 1), borrowing k's buffers (for
    sf_store_put_kernel and its batch form, which copy them; never
    sf_record_kernel_free it). */
void sf_storekernel_record (const sf_kernel_t *k, sf_template tmpl, const char *config, sf_store_kernel_t *out);

/*  *out: the artifact view of a stored record, borrowing its buffers
    (never sf_kernel_free it). */
void sf_storekernel_view (const sf_store_kernel_t *k, sf_kernel_t *out);

/*  Hands a record's buffers (owned after sf_store_get_kernel) over to the
    owning artifact *out (its old buffers freed first); the record keeps
    its template and config, and no buffer. */
void sf_storekernel_take (sf_store_kernel_t *k, sf_kernel_t *out);

#ifdef __cplusplus
}
#endif
#endif
