/*  check_l2key: the L2 mode in a result record's identity (store/sf_record.h,
    docs/DECISIONS.md "Cold L2 in the decode regime"): a cold and a warm
    timing of one config on one shape are two records, read back apart;
    every warm key is byte for byte the key written before cold L2 existed
    (an old key decodes as warm); the store's getter, scan and dump, the
    ledger's commit and the campaign's "already measured?" check
    (sf_plan_unmeasured) keep the two modes apart. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "tests/sf_check.h"
#include "coordinator/sf_ledger.h"
#include "coordinator/sf_plan.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "store/sf_storejson.h"
#include "tests/sf_check_dir.h"

#define S_TYPE "H100-SXM5-80GB"
#define S_CONFIG "U:r32.v4.t64.g2.o1.m168.sim"

static char *s_dir;

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("l2key");
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

static sf_store_result_key_t
s_key (bool cold, sf_tier tier, sf_layout layout)
{
    sf_store_result_key_t k = { .gpu_type = S_TYPE, .n = 16, .tmpl = SF_TEMPLATE_U, .config = S_CONFIG,
                                .proxy = true, .tier = tier, .layout = layout, .l2_cold = cold };
    memset (k.matrix, 0xab, sizeof k.matrix);
    return k;
}

/*  The key as every spmmfarm before cold L2 wrote it, byte by byte. */
static size_t
s_old_key (const sf_store_result_key_t *k, uint8_t *out)
{
    size_t off = 0, len = strlen (k->gpu_type);
    out[off++] = (uint8_t) (len >> 8);
    out[off++] = (uint8_t) len;
    memcpy (out + off, k->gpu_type, len);
    off += len;
    memcpy (out + off, k->matrix, SF_STORE_HASH_BYTES);
    off += SF_STORE_HASH_BYTES;
    for (int i = 7; i >= 0; i--)
        out[off++] = (uint8_t) ((uint64_t) k->n >> (8 * i));
    out[off++] = (uint8_t) k->tmpl;
    len = strlen (k->config);
    out[off++] = (uint8_t) (len >> 8);
    out[off++] = (uint8_t) len;
    memcpy (out + off, k->config, len);
    off += len;
    out[off++] = k->proxy;
    if (k->tier != SF_TIER_FP32 || k->layout != SF_LAYOUT_KN) {
        out[off++] = (uint8_t) k->tier;
        out[off++] = (uint8_t) k->layout;
    }
    return off;
}

static sf_store_result_t s_value (double us, bool cold);

/*  key decoded with a well-formed value: SF_OK, or SF_ERR_FORMAT (want_ok false). */
static sf_store_result_key_t
s_decode_key (const uint8_t *key, size_t size, bool want_ok)
{
    sf_store_result_key_t any = { .gpu_type = "x", .n = 1, .config = "dense" };
    sf_store_result_t v = s_value (1.0, false);
    uint8_t k0[SF_RECORD_KEY_MAX];
    size_t k0_size;
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 20);
    ck_assert_int_eq (sf_record_encode_result (&any, &v, k0, &k0_size, out), SF_OK);
    sf_record_t r;
    int rc = sf_record_decode (SF_DB_RESULTS, key, size, sf_mpack_out_data (out), sf_mpack_out_size (out), &r);
    sf_mpack_out_destroy (&out);
    sf_store_result_key_t k = r.u.result.key;
    sf_record_free (&r);
    if (want_ok)
        ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    else
        ck_assert_msg (rc == SF_ERR_FORMAT && strstr (sf_error_message (), "results key"), "rc %d: %s", rc,
                       sf_error_message ());
    return k;
}

START_TEST (test_key_bytes)
{
    uint8_t key[SF_RECORD_KEY_MAX], old[SF_RECORD_KEY_MAX];
    const sf_tier tiers[] = { SF_TIER_FP32, SF_TIER_BF16, SF_TIER_FP32 };
    const sf_layout layouts[] = { SF_LAYOUT_KN, SF_LAYOUT_KN, SF_LAYOUT_NK };
    for (int i = 0; i < 3; i++) {
        /* warm: the older key, byte for byte, and it decodes as warm */
        sf_store_result_key_t w = s_key (false, tiers[i], layouts[i]);
        size_t size = sf_record_key_result (&w, key), old_size = s_old_key (&w, old);
        ck_assert_uint_eq (size, old_size);
        ck_assert (memcmp (key, old, size) == 0);
        sf_store_result_key_t back = s_decode_key (old, old_size, true);
        ck_assert (!back.l2_cold);
        ck_assert_int_eq (back.tier, tiers[i]);
        ck_assert_int_eq (back.layout, layouts[i]);
        ck_assert_str_eq (back.config, S_CONFIG);
        /* cold: precision and layout spelled out (fp32 kn too), then the byte 1 */
        sf_store_result_key_t c = s_key (true, tiers[i], layouts[i]);
        size_t cold_size = sf_record_key_result (&c, key);
        size_t base = tiers[i] == SF_TIER_FP32 && layouts[i] == SF_LAYOUT_KN ? old_size : old_size - 2;
        ck_assert_uint_eq (cold_size, base + 3);
        ck_assert (memcmp (key, old, base) == 0);   /* a warm fp32 kn key is its prefix */
        ck_assert_uint_eq (key[cold_size - 3], tiers[i]);
        ck_assert_uint_eq (key[cold_size - 2], layouts[i]);
        ck_assert_uint_eq (key[cold_size - 1], 1);
        back = s_decode_key (key, cold_size, true);
        ck_assert (back.l2_cold);
        ck_assert_int_eq (back.tier, tiers[i]);
        ck_assert_int_eq (back.layout, layouts[i]);
        char text[512];
        ck_assert_ptr_nonnull (strstr (sf_record_key_text (SF_DB_RESULTS, key, cold_size, text, sizeof text),
                                       "| cold L2"));
        ck_assert_ptr_null (strstr (sf_record_key_text (SF_DB_RESULTS, old, old_size, text, sizeof text), "cold"));
    }
    /* malformed: an L2 byte other than 1, a trailing byte, fp32 kn spelled out warm */
    sf_store_result_key_t c = s_key (true, SF_TIER_FP32, SF_LAYOUT_KN);
    size_t size = sf_record_key_result (&c, key);
    key[size - 1] = 0;
    s_decode_key (key, size, false);
    key[size - 1] = 2;
    s_decode_key (key, size, false);
    key[size - 1] = 1;
    key[size] = 0;
    s_decode_key (key, size + 1, false);
    s_decode_key (key, size - 1, false);
    /* bf16 with an L2 byte of 0: a warm key spelled out */
    c = s_key (true, SF_TIER_BF16, SF_LAYOUT_KN);
    size = sf_record_key_result (&c, key);
    key[size - 1] = 0;
    s_decode_key (key, size, false);
}
END_TEST

static sf_store_result_t
s_value (double us, bool cold)
{
    sf_store_result_t v = { .status = SF_OK, .l2_cold = cold, .us = us, .spread_us = 0.1, .p10_us = us,
                            .p90_us = us, .err = 1e-6, .samples = 5, .worker = "w", .recorded_ms = 1 };
    return v;
}

typedef struct {
    int warm, cold;
    double warm_us, cold_us;
} s_seen_t;

static int
s_each (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *v)
{
    s_seen_t *s = arg;
    ck_assert (key->l2_cold == v->l2_cold);
    if (key->l2_cold) {
        s->cold++;
        s->cold_us = v->us;
    } else {
        s->warm++;
        s->warm_us = v->us;
    }
    return 0;
}

/*  A line of the dump of db that holds every needle; how many lines do. */
static int
s_dump_lines (sf_store_t *store, bool json, const char *a, const char *b)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    ck_assert_ptr_nonnull (out);
    uint64_t count = 0;
    ck_assert_int_eq (sf_storejson_dump (store, SF_DB_RESULTS, json, out, &count), SF_OK);
    fclose (out);
    ck_assert_uint_eq (count, 2);
    int lines = 0;
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n"))
        lines += strstr (line, a) && (!b || strstr (line, b));
    free (text);
    return lines;
}

START_TEST (test_store_both)
{
    sf_store_t *store = sf_store_open (s_dir, SF_STORE_WRITER);
    ck_assert_msg (store != NULL, "%s", sf_error_message ());
    sf_store_result_key_t kw = s_key (false, SF_TIER_FP32, SF_LAYOUT_KN), kc = s_key (true, SF_TIER_FP32, SF_LAYOUT_KN);
    sf_store_result_t vw = s_value (10.0, false), vc = s_value (14.0, true), got;
    sf_store_batch_t *batch = sf_store_batch_new ();
    ck_assert_int_eq (sf_store_batch_put_result (batch, &kw, &vw), SF_OK);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &kc, &vc), SF_OK);
    /* one truth: a value that says another mode than its key is refused */
    ck_assert_int_eq (sf_store_batch_put_result (batch, &kw, &vc), SF_ERR_INVALID);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
    /* both coexist and read back apart */
    ck_assert_int_eq (sf_store_get_result (store, &kw, &got), SF_OK);
    ck_assert_double_eq (got.us, 10.0);
    ck_assert (!got.l2_cold);
    ck_assert_int_eq (sf_store_get_result (store, &kc, &got), SF_OK);
    ck_assert_double_eq (got.us, 14.0);
    ck_assert (got.l2_cold);
    s_seen_t seen = { 0 };
    ck_assert_int_eq (sf_store_each_result (store, S_TYPE, kw.matrix, 16, s_each, &seen), SF_OK);
    ck_assert_int_eq (seen.warm, 1);
    ck_assert_int_eq (seen.cold, 1);
    ck_assert_double_eq (seen.warm_us, 10.0);
    ck_assert_double_eq (seen.cold_us, 14.0);
    /* store dump: the key says its mode, the value too */
    ck_assert_int_eq (s_dump_lines (store, true, "\"l2\":\"cold\"},\"value\"", "\"us\":14"), 1);
    ck_assert_int_eq (s_dump_lines (store, true, "\"l2\":\"warm\"},\"value\"", "\"us\":10"), 1);
    ck_assert_int_eq (s_dump_lines (store, false, "| cold L2:", "us=14"), 1);
    ck_assert_int_eq (s_dump_lines (store, false, "| cold L2", NULL), 1);
    /* a warm result of bf16: its own key, not the fp32 one's */
    sf_store_result_key_t kb = s_key (false, SF_TIER_BF16, SF_LAYOUT_KN);
    ck_assert_int_eq (sf_store_get_result (store, &kb, &got), SF_ERR_NOTFOUND);
    sf_store_destroy (&store);
    /* reopened read-only: the same two */
    store = sf_store_open (s_dir, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (store);
    ck_assert_int_eq (sf_store_get_result (store, &kc, &got), SF_OK);
    ck_assert_double_eq (got.us, 14.0);
    ck_assert_int_eq (sf_store_get_result (store, &kw, &got), SF_OK);
    ck_assert_double_eq (got.us, 10.0);
    sf_store_destroy (&store);
}
END_TEST

static sf_proto_candidate_t
s_cand (const char *config, double us)
{
    sf_proto_candidate_t c;
    memset (&c, 0, sizeof c);
    snprintf (c.tmpl, sizeof c.tmpl, "U");
    snprintf (c.config, sizeof c.config, "%s", config);
    c.status = SF_OK;
    c.us = us;
    c.spread_us = c.p10_us = c.p90_us = NAN;
    c.err = 1e-7;
    return c;
}

/*  The ledger: a cold RESULT after a warm one of the same configs is fresh,
    and each campaign's best is its own mode's. */
START_TEST (test_ledger_both)
{
    sf_store_t *store = sf_store_open (s_dir, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (store);
    uint8_t matrix[SF_STORE_HASH_BYTES];
    memset (matrix, 0xcd, sizeof matrix);
    sf_proto_candidate_t cands[2] = { s_cand ("U:a", 5.0), s_cand ("U:b", 6.0) };
    sf_proto_result_t res = { .candidates = cands, .candidate_count = 2 };
    sf_ledger_source_t src = { .gpu_type = S_TYPE, .worker = "w1", .driver = "13.0", .matrix = matrix, .n = 16 };
    for (int cold = 0; cold < 2; cold++) {
        src.l2_cold = cold;
        if (cold) {  /* cold: U:b is the faster */
            cands[0].us = 9.0;
            cands[1].us = 8.0;
        }
        sf_store_best_t best = { 0 };
        bool has_best = false;
        sf_ledger_outcome_t out;
        sf_store_batch_t *batch = sf_store_batch_new ();
        ck_assert_int_eq (sf_ledger_put_result (store, batch, &src, &res, 1 + cold, 0, &best, &has_best, &out), SF_OK);
        ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
        sf_store_batch_destroy (&batch);
        ck_assert_uint_eq (out.fresh, 2);   /* the warm records do not make the cold ones known */
        ck_assert_int_eq (sf_store_get_best (store, 1 + cold, 0, &best), SF_OK);
        ck_assert_str_eq (best.config, cold ? "U:b" : "U:a");
        ck_assert_double_eq (best.us, cold ? 8.0 : 5.0);
    }
    sf_store_result_key_t k = { .gpu_type = S_TYPE, .n = 16, .tmpl = SF_TEMPLATE_U, .config = "U:a" };
    memcpy (k.matrix, matrix, sizeof matrix);
    sf_store_result_t v;
    ck_assert_int_eq (sf_store_get_result (store, &k, &v), SF_OK);
    ck_assert_double_eq (v.us, 5.0);
    k.l2_cold = true;
    ck_assert_int_eq (sf_store_get_result (store, &k, &v), SF_OK);
    ck_assert_double_eq (v.us, 9.0);
    ck_assert (v.l2_cold);
    sf_store_destroy (&store);
}
END_TEST

/*  The auto rule over a campaign record, and the campaign's "already
    measured?" check: a warm timing does not count for a cold search. */
START_TEST (test_unmeasured)
{
    sf_store_search_t auto_l2 = { .l2 = 0 }, warm = { .l2 = 1 }, cold = { .l2 = 2 };
    ck_assert (sf_record_search_l2_cold (NULL, 16) && sf_record_search_l2_cold (&auto_l2, 256));
    ck_assert (!sf_record_search_l2_cold (&auto_l2, 257) && !sf_record_search_l2_cold (NULL, 0));
    ck_assert (!sf_record_search_l2_cold (&warm, 16) && sf_record_search_l2_cold (&cold, 4096));

    sf_store_t *store = sf_store_open (s_dir, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (store);
    sf_store_layer_t layer = { .name = "fc", .n = 16 };
    memset (layer.matrix, 0xab, sizeof layer.matrix);
    sf_store_campaign_t c = { .id = 1, .name = "c", .gpu_type = S_TYPE, .layers = &layer, .layer_count = 1 };
    sf_config_t config;
    ck_assert_int_eq (sf_config_parse (S_CONFIG, &config), SF_OK);
    char text[SF_CONFIG_TEXT_MAX];
    ck_assert_str_eq (sf_config_text (&config, text), S_CONFIG);  /* the key's text */
    const int64_t nnz = 1 << 20;  /* U timed as a proxy (s_key's) */
    sf_config_t left[1] = { config };
    ck_assert_int_eq (sf_plan_unmeasured (store, &c, 0, nnz, left, 1), 1);
    /* a warm timing: measured for a warm search, not for auto at N = 16 */
    sf_store_result_key_t kw = s_key (false, SF_TIER_FP32, SF_LAYOUT_KN), kc = s_key (true, SF_TIER_FP32, SF_LAYOUT_KN);
    sf_store_result_t vw = s_value (10.0, false), vc = s_value (14.0, true);
    sf_store_batch_t *batch = sf_store_batch_new ();
    ck_assert_int_eq (sf_store_batch_put_result (batch, &kw, &vw), SF_OK);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
    ck_assert_int_eq (sf_plan_unmeasured (store, &c, 0, nnz, left, 1), 1);
    c.search.l2 = 1;
    ck_assert_int_eq (sf_plan_unmeasured (store, &c, 0, nnz, left, 1), 0);
    /* and the cold one: measured for auto and cold */
    ck_assert_int_eq (sf_store_batch_put_result (batch, &kc, &vc), SF_OK);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
    for (uint32_t l2 = 0; l2 <= 2; l2++) {
        c.search.l2 = l2;
        left[0] = config;
        ck_assert_int_eq (sf_plan_unmeasured (store, &c, 0, nnz, left, 1), 0);
    }
    sf_store_destroy (&store);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("l2key");
    TCase *tc = tcase_create ("store");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_key_bytes);
    tcase_add_test (tc, test_store_both);
    tcase_add_test (tc, test_ledger_both);
    tcase_add_test (tc, test_unmeasured);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
