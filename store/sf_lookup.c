/*  sf_lookup: a one-layer search's stored answer, by request key. */
#include "store/sf_lookup.h"

#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"

typedef struct {
    const char *gpu_type, *request;
    sf_store_layer_t layer;
    sf_store_campaign_t found;   /* the latest match (layers not kept) */
} s_find_t;

static int
s_find_each (void *arg, const sf_store_campaign_t *c)
{
    s_find_t *f = arg;
    const sf_store_layer_t *l = c->layers, *want = &f->layer;
    if (c->state == SF_CAMPAIGN_DONE && c->layer_count == 1 && strcmp (c->gpu_type, f->gpu_type) == 0
        && strcmp (c->request, f->request) == 0 && memcmp (l->matrix, want->matrix, SF_STORE_HASH_BYTES) == 0
        && l->n == want->n && l->bias == want->bias && l->relu == want->relu) {
        f->found = *c;   /* campaigns come in id order: the last is the latest */
        f->found.layers = NULL;
        f->found.layer_count = 0;
    }
    return 0;
}

int
sf_lookup_answer (sf_store_t *store, const char *gpu_type, const sf_matrix_t *a, int64_t n, bool bias,
                  bool relu, const char *request_key, sf_store_campaign_t *found)
{
    s_find_t f = { .gpu_type = gpu_type, .request = request_key };
    f.layer.n = n;
    f.layer.bias = bias;
    f.layer.relu = relu;
    int rc = sf_record_hash_parse (sf_matrix_hash (a), f.layer.matrix);
    if (rc == SF_OK)
        rc = sf_store_each_campaign (store, s_find_each, &f);
    if (rc == SF_OK && !f.found.id)
        rc = sf_error_set (SF_ERR_NOTFOUND, "no campaign answers this request");
    if (rc == SF_OK)
        *found = f.found;
    return rc;
}
