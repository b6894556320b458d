/*  check_lookup: store/sf_lookup, the "already answered?" query of a
    one-layer search, on a real LMDB store: campaigns of one layer put as
    the coordinator records them; the latest done one of the GPU type,
    layer (matrix content, N, bias, ReLU) and request key answers; another
    key, layer, GPU type, a campaign not done or of two layers does not;
    a read-only store answers too. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "store/sf_lookup.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"

static char *s_dir;
static sf_matrix_t *s_a, *s_b;

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("lookup");
    s_a = sf_matrix_new_random (32, 32, 0.7, 3);
    s_b = sf_matrix_new_random (32, 32, 0.7, 4);
    ck_assert (s_a && s_b);
}

static void
s_teardown (void)
{
    sf_matrix_destroy (&s_a);
    sf_matrix_destroy (&s_b);
    sf_check_dir_destroy (&s_dir);
}

/*  A campaign of `layers` copies of (a, 16, bias, no ReLU) in `state`. */
static uint64_t
s_campaign (sf_store_t *store, const sf_matrix_t *a, bool bias, const char *gpu_type, const char *key,
            sf_campaign_state state, uint32_t layers)
{
    uint64_t id = 0;
    ck_assert_int_eq (sf_store_next_campaign_id (store, &id), SF_OK);
    sf_store_layer_t layer[2] = { { .name = "layer", .n = 16, .bias = bias }, { .name = "l2", .n = 16 } };
    sf_record_hash_parse (sf_matrix_hash (a), layer[0].matrix);
    memcpy (layer[1].matrix, layer[0].matrix, sizeof layer[1].matrix);
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_campaign_t c = { .id = id, .state = state, .layers = layer, .layer_count = layers };
    snprintf (c.name, sizeof c.name, "layer-n16");
    sf_check_farm_commit_campaign (store, &batch, &c, "proxy", gpu_type, key);
    return id;
}

START_TEST (test_answer)
{
    sf_store_t *store = sf_store_open (s_dir, SF_STORE_WRITER);
    ck_assert_msg (store != NULL, "%s", sf_error_message ());
    sf_store_campaign_t c;
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, false, false, "key-1", &c), SF_ERR_NOTFOUND);
    uint64_t first = s_campaign (store, s_a, false, "gpu/x", "key-1", SF_CAMPAIGN_DONE, 1);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, false, false, "key-1", &c), SF_OK);
    ck_assert_uint_eq (c.id, first);
    ck_assert_str_eq (c.request, "key-1");
    ck_assert_ptr_null (c.layers);
    ck_assert_uint_eq (c.layer_count, 0);
    /* another key, layer or GPU type */
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, false, false, "key-2", &c), SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_b, 16, false, false, "key-1", &c), SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 32, false, false, "key-1", &c), SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, true, false, "key-1", &c), SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, false, true, "key-1", &c), SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/y", s_a, 16, false, false, "key-1", &c), SF_ERR_NOTFOUND);
    /* a later one not done, or of two layers, does not answer */
    s_campaign (store, s_a, false, "gpu/x", "key-1", SF_CAMPAIGN_RUNNING, 1);
    s_campaign (store, s_a, false, "gpu/x", "key-1", SF_CAMPAIGN_DONE, 2);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, false, false, "key-1", &c), SF_OK);
    ck_assert_uint_eq (c.id, first);
    /* a later done one does: the latest */
    uint64_t later = s_campaign (store, s_a, false, "gpu/x", "key-1", SF_CAMPAIGN_DONE, 1);
    uint64_t biased = s_campaign (store, s_a, true, "gpu/x", "key-1", SF_CAMPAIGN_DONE, 1);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, false, false, "key-1", &c), SF_OK);
    ck_assert_uint_eq (c.id, later);
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, true, false, "key-1", &c), SF_OK);
    ck_assert_uint_eq (c.id, biased);
    sf_store_destroy (&store);
    /* read-only */
    store = sf_store_open (s_dir, SF_STORE_READONLY);
    ck_assert_msg (store != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_lookup_answer (store, "gpu/x", s_a, 16, false, false, "key-1", &c), SF_OK);
    ck_assert_uint_eq (c.id, later);
    sf_store_destroy (&store);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("lookup");
    TCase *tc = tcase_create ("lookup");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_answer);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
