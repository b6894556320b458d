/*  check_store's codec tests (one program with check_store.c): the
    checked MessagePack writer and the table engine in the store's dialect (common/sf_mpack_out,
    common/sf_schema_read), an optional
    field read from records written before it existed, encoders refusing
    bad records, decoders surviving every corruption. */
#include <check.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sha256.h"
#include "common/sf_mpack_out.h"
#include "common/sf_schema.h"
#include "common/sf_schema_read.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "tests/sf_check_store.h"

/* ---- the table engine in the store's dialect ------------------------------ */

typedef struct {
    uint32_t u;
    int32_t i;
    double d;
    char s[4];
    bool t;
} s_body_t;

static const sf_schema_field_t s_body_fields[] = {
    { .key = "u", .kind = SF_SCHEMA_U32, .flags = SF_SCHEMA_REQUIRED, .off = offsetof (s_body_t, u), .max = 255 },
    { .key = "i", .kind = SF_SCHEMA_I32, .flags = SF_SCHEMA_REQUIRED, .off = offsetof (s_body_t, i), .min = -10,
      .max = 10 },
    { .key = "d", .kind = SF_SCHEMA_DBL, .off = offsetof (s_body_t, d), .dmax = 1.0 },
    { .key = "s", .kind = SF_SCHEMA_STR, .flags = SF_SCHEMA_UTF8, .off = offsetof (s_body_t, s),
      .aux = sizeof ((s_body_t *) 0)->s, .max = sizeof ((s_body_t *) 0)->s - 1 },
    { .key = "t", .kind = SF_SCHEMA_BOOL, .off = offsetof (s_body_t, t) },
};
static const sf_schema_t s_body = { "body", sizeof (s_body_t), s_body_fields, 5, NULL };
static const sf_schema_dialect_t s_store_in = { SF_ERR_FORMAT, SF_ERR_RANGE, true, true };

/*  A map of one entry, key: value (value already packed by `put`). */
static int
s_read_one (const char *key, void (*put) (sf_mpack_out_t *), s_body_t *body)
{
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 10);
    bool no_u = key[0] == 'u' || key[0] == 'x';  /* "x": an unknown key, and no u */
    sf_mpack_out_map (out, no_u ? 2 : 3);
    if (!no_u)
        sf_mpack_out_kuint (out, "u", 1);
    sf_mpack_out_kint (out, "i", -5);
    sf_mpack_out_str (out, key);
    put (out);
    ck_assert_int_eq (sf_mpack_out_status (out), SF_OK);
    memset (body, 0, sizeof *body);
    int rc = sf_schema_read (&s_body, &s_store_in, "test map", sf_mpack_out_data (out), sf_mpack_out_size (out), body);
    sf_mpack_out_destroy (&out);
    return rc;
}

static void s_put_300 (sf_mpack_out_t *out) { sf_mpack_out_uint (out, 300); }
static void s_put_neg (sf_mpack_out_t *out) { sf_mpack_out_int (out, -1); }
static void s_put_str (sf_mpack_out_t *out) { sf_mpack_out_str (out, "h\xc3\xa9"); }
static void s_put_long (sf_mpack_out_t *out) { sf_mpack_out_str (out, "hello"); }
static void s_put_nan (sf_mpack_out_t *out) { sf_mpack_out_double (out, NAN); }
static void s_put_true (sf_mpack_out_t *out) { sf_mpack_out_bool (out, true); }

START_TEST (test_schema_reads_checked)
{
    s_body_t b;
    ck_assert_int_eq (s_read_one ("s", s_put_str, &b), SF_OK);
    ck_assert_str_eq (b.s, "h\xc3\xa9");
    ck_assert_int_eq (b.i, -5);
    ck_assert_int_eq (s_read_one ("t", s_put_true, &b), SF_OK);
    ck_assert (b.t);
    const struct {
        const char *key;
        void (*put) (sf_mpack_out_t *);
        int want;
        const char *says;
    } cases[] = {
        { "u", s_put_300, SF_ERR_RANGE, "test map: u: 300 out of range [0, 255]" },
        { "u", s_put_neg, SF_ERR_RANGE, "test map: u: -1 out of range [0, 255]" },
        { "u", s_put_str, SF_ERR_FORMAT, "test map: u: expected an integer, got a string" },
        { "x", s_put_str, SF_ERR_FORMAT, "test map: missing field 'u'" },  /* unknown keys are skipped */
        { "i", s_put_300, SF_ERR_FORMAT, "test map: i: key appears twice" },
        { "s", s_put_long, SF_ERR_RANGE, "test map: s: string of 5 bytes, more than 3" },
        { "d", s_put_nan, SF_ERR_RANGE, "test map: d: NaN where a number is required" },
        { "t", s_put_300, SF_ERR_FORMAT, "test map: t: expected a boolean" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ck_assert_int_eq (s_read_one (cases[c].key, cases[c].put, &b), cases[c].want);
        ck_assert_msg (strstr (sf_error_message (), cases[c].says), "%s", sf_error_message ());
    }

    /* A wrong element count is the writer's bug, reported, never written. */
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 16);
    size_t size;
    sf_mpack_out_map (out, 2);
    sf_mpack_out_kuint (out, "only", 1);
    ck_assert_int_eq (sf_mpack_out_status (out), SF_ERR_INTERNAL);
    ck_assert_ptr_null (sf_mpack_out_detach (out, &size));
    sf_mpack_out_reset (out);
    sf_mpack_out_uint (out, 1);
    sf_mpack_out_uint (out, 2);
    ck_assert_int_eq (sf_mpack_out_status (out), SF_ERR_INTERNAL);
    sf_mpack_out_destroy (&out);
    sf_mpack_out_destroy (&out);
}
END_TEST

START_TEST (test_mpack_rejects_malformed_bytes)
{
    /* An array32 that announces a billion elements in 5 bytes: refused
       before anything is allocated for it. */
    const uint8_t bomb[] = { 0xdd, 0x40, 0x00, 0x00, 0x00 };
    ck_assert_int_eq (sf_mpack_check (bomb, sizeof bomb), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "elements announced"));
    ck_assert_ptr_null (sf_mpack_doc_new (bomb, sizeof bomb, "bomb"));
    const uint8_t map_bomb[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01 };
    ck_assert_int_eq (sf_mpack_check (map_bomb, sizeof map_bomb), SF_ERR_FORMAT);
    const uint8_t truncated_str[] = { 0xd9, 0x10, 'a', 'b' };
    ck_assert_int_eq (sf_mpack_check (truncated_str, sizeof truncated_str), SF_ERR_FORMAT);
    const uint8_t trailing[] = { 0x01, 0x02 };
    ck_assert_int_eq (sf_mpack_check (trailing, sizeof trailing), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "trailing"));
    const uint8_t never[] = { 0xc1 };
    ck_assert_int_eq (sf_mpack_check (never, 1), SF_ERR_FORMAT);
    const uint8_t ext[] = { 0xd4, 0x01, 0x00 };
    ck_assert_int_eq (sf_mpack_check (ext, sizeof ext), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_mpack_check (NULL, 0), SF_ERR_FORMAT);
    uint8_t deep[40];
    memset (deep, 0x91, sizeof deep);  /* 39 nested one-element arrays around a 0 */
    deep[39] = 0x00;
    ck_assert_int_eq (sf_mpack_check (deep, sizeof deep), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "deeper"));
    ck_assert_int_eq (sf_mpack_check (deep + 8, sizeof deep - 8), SF_OK);  /* 31 levels are fine */

    /* Maps: keys must be strings, appear once; strings must be UTF-8, no NUL. */
    const uint8_t int_key[] = { 0x81, 0x01, 0x02 };
    const uint8_t dup_key[] = { 0x82, 0xa1, 's', 0xa0, 0xa1, 's', 0xa0 };
    const uint8_t nul_str[] = { 0x81, 0xa1, 's', 0xa3, 'a', 0x00, 'b' };
    const uint8_t bad_utf8[] = { 0x81, 0xa1, 's', 0xa2, 0xc0, 0xaf };  /* overlong '/' */
    const uint8_t surrogate[] = { 0x81, 0xa1, 's', 0xa3, 0xed, 0xa0, 0x80 };
    const struct {
        const uint8_t *bytes;
        size_t size;
        const char *says;
    } maps[] = {
        { int_key, sizeof int_key, "a key is an integer" },
        { dup_key, sizeof dup_key, "s: key appears twice" },
        { nul_str, sizeof nul_str, "NUL byte" },
        { bad_utf8, sizeof bad_utf8, "not UTF-8" },
        { surrogate, sizeof surrogate, "not UTF-8" },
    };
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        s_body_t b = { 0 };
        ck_assert_int_eq (sf_schema_read (&s_body, &s_store_in, "map", maps[i].bytes, maps[i].size, &b),
                          SF_ERR_FORMAT);
        ck_assert_msg (strstr (sf_error_message (), maps[i].says), "%s", sf_error_message ());
    }
    ck_assert (sf_mpack_utf8_ok ("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
    ck_assert (!sf_mpack_utf8_ok ("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */

    /* The writer's bound holds. */
    sf_mpack_out_t *out = sf_mpack_out_new (16);
    sf_mpack_out_str (out, "a string longer than sixteen bytes");
    ck_assert_int_eq (sf_mpack_out_status (out), SF_ERR_RANGE);
    sf_mpack_out_destroy (&out);
}
END_TEST

/*  A best record as spmmfarm wrote it before the 16-bit tiers' library
    was recorded: nine keys, no blas16_us / blas16_err. */
static void *
s_old_best (size_t *size, double blas16_us)
{
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 12);
    sf_mpack_out_map (out, isnan (blas16_us) ? 9 : 10);
    sf_mpack_out_kstr (out, "template", "dense");
    sf_mpack_out_kstr (out, "config", "dense");
    sf_mpack_out_kdouble (out, "us", 12.5);
    sf_mpack_out_kdouble (out, "err", 1e-3);
    sf_mpack_out_kbool (out, "simulated", false);
    sf_mpack_out_kdouble (out, "sgemm_us", NAN);
    sf_mpack_out_kdouble (out, "tf32_us", NAN);
    sf_mpack_out_kdouble (out, "cusparse_us", 40.0);
    if (!isnan (blas16_us))
        sf_mpack_out_kdouble (out, "blas16_us", blas16_us);
    sf_mpack_out_kint (out, "recorded", 1700000000000);
    ck_assert_int_eq (sf_mpack_out_status (out), SF_OK);
    void *bytes = sf_mpack_out_detach (out, size);
    sf_mpack_out_destroy (&out);
    return bytes;
}

/*  best.blas16_us / blas16_err are optional: stored and read back when
    measured, absent (byte for byte the old record) when not, and a record
    written before they existed decodes with both NaN. */
START_TEST (test_best_blas16_optional)
{
    sf_store_t *store = sf_check_store_writer (sf_check_store_dir, 0, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_best_t b = { .tmpl = SF_TEMPLATE_DENSE, .config = "dense", .us = 12.5, .err = 1e-3,
                          .sgemm_us = NAN, .tf32_us = NAN, .cusparse_us = 40.0, .blas16_us = 11.25,
                          .blas16_err = 1.6e-3, .recorded_ms = 1700000000000 };
    ck_assert_int_eq (sf_store_batch_put_best (batch, 1, 0, &b), SF_OK);
    b.blas16_us = b.blas16_err = NAN;
    ck_assert_int_eq (sf_store_batch_put_best (batch, 1, 1, &b), SF_OK);
    sf_check_store_commit (store, batch);
    sf_store_best_t got;
    ck_assert_int_eq (sf_store_get_best (store, 1, 0, &got), SF_OK);
    ck_assert_double_eq (got.blas16_us, 11.25);
    ck_assert_double_eq (got.blas16_err, 1.6e-3);
    ck_assert_int_eq (sf_store_get_best (store, 1, 1, &got), SF_OK);
    ck_assert (isnan (got.blas16_us) && isnan (got.blas16_err));
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);

    /* not measured: the value is the old encoder's, byte for byte */
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size = sf_record_key_best (1, 1, key), size, old_size;
    uint8_t *raw = sf_check_store_raw_get (sf_check_store_dir, "best", key, key_size, &size);
    void *old = s_old_best (&old_size, NAN);
    ck_assert_uint_eq (size, old_size);
    ck_assert_int_eq (memcmp (raw, old, size), 0);
    free (raw);

    /* an old record decodes: no cuBLASLt baseline */
    sf_check_store_raw_put (sf_check_store_dir, "best", key, key_size, old, old_size);
    store = sf_store_open (sf_check_store_dir, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (store);
    got.blas16_us = got.blas16_err = 0;
    ck_assert_int_eq (sf_store_get_best (store, 1, 1, &got), SF_OK);
    ck_assert (isnan (got.blas16_us) && isnan (got.blas16_err));
    ck_assert_double_eq (got.cusparse_us, 40.0);
    free (old);

    /* a time out of bounds is refused, named */
    sf_record_t rec;
    old = s_old_best (&old_size, -5.0);
    ck_assert_int_eq (sf_record_decode (SF_DB_BEST, key, key_size, old, old_size, &rec), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "blas16_us"));
    sf_record_free (&rec);
    free (old);
    sf_store_destroy (&store);
}
END_TEST

START_TEST (test_kernel_key_includes_data)
{
    /* two layers of one shape and config: one cubin, two encodings. Each
       gets a record of its own (before session 13 the second shared the
       first's key, so its best exported the first layer's data) */
    sf_store_t *store = sf_check_store_writer (sf_check_store_dir, 0, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    uint8_t cubin[64], data1[16], data2[16];
    memset (cubin, 0x5a, sizeof cubin);
    memset (data1, 1, sizeof data1);
    memset (data2, 2, sizeof data2);
    sf_store_kernel_t k = { .cubin = cubin, .cubin_size = sizeof cubin, .source = "", .tmpl = SF_TEMPLATE_D,
                            .config = "D:r64.v2.t512.g4.o0.e2.none", .data = data1, .data_size = sizeof data1 };
    k.launch = (sf_launch_t) { .entry = "sf_d", .block_threads = 128, .cols_per_block = 32, .panel_groups = 1,
                               .vec = 1 };
    uint8_t d1[SF_STORE_HASH_BYTES], d2[SF_STORE_HASH_BYTES], d0[SF_STORE_HASH_BYTES];
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, d1), SF_OK);
    k.data = data2;
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, d2), SF_OK);
    ck_assert (memcmp (d1, d2, sizeof d1) != 0);
    k.data = NULL;
    k.data_size = 0;
    sf_record_kernel_digest (&k, d0);   /* no data: the cubin's SHA-256, as always */
    uint8_t sha[SF_STORE_HASH_BYTES];
    sf_sha256 (cubin, sizeof cubin, sha);
    ck_assert_int_eq (memcmp (d0, sha, sizeof sha), 0);
    ck_assert (memcmp (d0, d1, sizeof d0) != 0);
    sf_check_store_commit (store, batch);
    sf_store_kernel_t got;
    ck_assert_int_eq (sf_store_get_kernel (store, d1, &got), SF_OK);
    ck_assert_int_eq (((uint8_t *) got.data)[0], 1);
    sf_record_kernel_free (&got);
    ck_assert_int_eq (sf_store_get_kernel (store, d2, &got), SF_OK);
    ck_assert_int_eq (((uint8_t *) got.data)[0], 2);
    sf_record_kernel_free (&got);
    sf_store_batch_destroy (&batch);

    /* a record written before, keyed by its cubin alone, still decodes;
       any other key is refused */
    k.data = data1;
    k.data_size = sizeof data1;
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 20);
    ck_assert_int_eq (sf_record_encode_kernel (&k, key, &key_size, out), SF_OK);
    size_t size = sf_mpack_out_size (out);
    const void *value = sf_mpack_out_data (out);
    sf_record_t rec;
    ck_assert_int_eq (sf_record_decode (SF_DB_KERNELS, sha, sizeof sha, value, size, &rec), SF_OK);
    ck_assert_int_eq (((uint8_t *) rec.u.kernel.value.data)[0], 1);
    sf_record_free (&rec);
    ck_assert_int_eq (sf_record_decode (SF_DB_KERNELS, d2, sizeof d2, value, size, &rec), SF_ERR_FORMAT);
    sf_record_free (&rec);
    sf_mpack_out_destroy (&out);
    sf_store_destroy (&store);
}
END_TEST

START_TEST (test_put_refuses_bad_records)
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    uint8_t m[SF_STORE_HASH_BYTES] = { 1 };
    sf_store_result_key_t k = sf_check_store_rkey ("H100", m, 64, SF_TEMPLATE_U, "U:a", false);
    sf_store_result_t r = sf_check_store_result (5.0);
    r.us = -1.0;
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "refusing to store: results value: us: -1"));
    r = sf_check_store_result (5.0);
    r.status = 7;  /* a status is SF_OK or negative */
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_RANGE);
    r = sf_check_store_result (5.0);
    memset (r.worker, 'w', sizeof r.worker);  /* no NUL inside the buffer */
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_RANGE);
    r = sf_check_store_result (5.0);
    snprintf (r.worker, sizeof r.worker, "bad \xff utf-8");
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_INVALID);
    r = sf_check_store_result (5.0);
    k.n = 0;
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_RANGE);
    k = sf_check_store_rkey ("", m, 64, SF_TEMPLATE_U, "U:a", false);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_INVALID);
    k = sf_check_store_rkey ("H100", m, 64, (sf_template) 9, "U:a", false);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_INVALID);

    sf_store_kernel_t kernel = sf_check_store_kernel (NULL, 0);
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &kernel, NULL), SF_ERR_INVALID);
    uint8_t *cubin = sf_check_store_blob (64, 2);
    kernel = sf_check_store_kernel (cubin, 64);
    kernel.launch.vec = 3;
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &kernel, NULL), SF_ERR_RANGE);
    kernel = sf_check_store_kernel (cubin, 64);
    kernel.launch.entry[0] = '\0';
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &kernel, NULL), SF_ERR_INVALID);

    sf_store_job_t job = { .campaign = 1, .id = 1, .kind = "" };
    ck_assert_int_eq (sf_store_batch_put_job (batch, &job), SF_ERR_INVALID);  /* kind is required */
    snprintf (job.kind, sizeof job.kind, "full");
    job.id = 0;  /* ids start at 1 */
    ck_assert_int_eq (sf_store_batch_put_job (batch, &job), SF_ERR_INVALID);
    job.id = 1;
    job.layer = SF_STORE_LAYERS_MAX;
    ck_assert_int_eq (sf_store_batch_put_job (batch, &job), SF_ERR_RANGE);
    sf_store_campaign_t c = { .id = 1, .name = "c", .strategy = "proxy", .state = (sf_campaign_state) 17 };
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &c), SF_ERR_INVALID);
    sf_store_model_t model = { .gpu_type = "H100", .version = 0 };
    ck_assert_int_eq (sf_store_batch_put_model (batch, &model), SF_ERR_RANGE);
    ck_assert_uint_eq (sf_store_batch_count (batch), 0);  /* nothing bad got in */

    /* A read-only store takes no batch. */
    const char *dir = sf_check_store_dir;
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
    sf_store_destroy (&store);
    store = sf_store_open (dir, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (store);
    ck_assert (!sf_store_is_writer (store));
    job.layer = 0;
    ck_assert_int_eq (sf_store_batch_put_job (batch, &job), SF_OK);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_ERR_INVALID);
    ck_assert_uint_eq (sf_store_batch_count (batch), 1);  /* kept */
    sf_store_batch_clear (batch);
    ck_assert_uint_eq (sf_store_batch_count (batch), 0);
    sf_store_destroy (&store);
    sf_store_batch_destroy (&batch);
    free (cubin);
}
END_TEST

/*  Every byte of every record type flipped, and every truncation: the
    decoders answer OK or an error, never crash or read past the value
    (run under valgrind to see the latter). */
START_TEST (test_decoders_survive_corruption)
{
    const char *dir = sf_check_store_dir;
    uint8_t hash[SF_STORE_HASH_BYTES];
    sf_check_store_filled (dir, hash);
    MDB_env *env;
    MDB_txn *txn;
    sf_check_store_raw_read (dir, &env, &txn);
    int decoded = 0, refused = 0;
    for (int db = 0; db < SF_DB_COUNT; db++) {
        MDB_dbi dbi;
        MDB_cursor *cursor;
        MDB_val k, v;
        ck_assert_int_eq (mdb_dbi_open (txn, sf_record_db_name (db), 0, &dbi), 0);
        ck_assert_int_eq (mdb_cursor_open (txn, dbi, &cursor), 0);
        for (int rc = mdb_cursor_get (cursor, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get (cursor, &k, &v, MDB_NEXT)) {
            uint8_t *value = malloc (v.mv_size), *key = malloc (k.mv_size);
            size_t step = v.mv_size > 4000 ? v.mv_size / 2000 : 1;  /* the matrix: a sample */
            for (size_t i = 0; i < v.mv_size + k.mv_size; i += i < v.mv_size ? step : 1)
                for (int flip = 0; flip < 3; flip++) {
                    memcpy (value, v.mv_data, v.mv_size);
                    memcpy (key, k.mv_data, k.mv_size);
                    uint8_t *at = i < v.mv_size ? &value[i] : &key[i - v.mv_size];
                    *at = flip == 0 ? (uint8_t) ~*at : flip == 1 ? 0xff : (uint8_t) (*at + 1);
                    sf_record_t r;
                    int status = sf_record_decode (db, key, k.mv_size, value, v.mv_size, &r);
                    sf_record_free (&r);
                    status == SF_OK ? decoded++ : refused++;
                }
            for (size_t len = 0; len < v.mv_size; len += step) {  /* truncations */
                sf_record_t r;
                ck_assert_int_ne (sf_record_decode (db, k.mv_data, k.mv_size, v.mv_data, len, &r), SF_OK);
                sf_record_free (&r);
            }
            free (value);
            free (key);
        }
        mdb_cursor_close (cursor);
    }
    mdb_txn_abort (txn);
    mdb_env_close (env);
    ck_assert_int_gt (refused, 1000);
    ck_assert_int_gt (decoded, 0);  /* some flips only change a value within its bounds */
}
END_TEST

void
sf_check_store_codec (TCase *tc)
{
    tcase_add_test (tc, test_schema_reads_checked);
    tcase_add_test (tc, test_mpack_rejects_malformed_bytes);
    tcase_add_test (tc, test_best_blas16_optional);
    tcase_add_test (tc, test_kernel_key_includes_data);
    tcase_add_test (tc, test_put_refuses_bad_records);
    tcase_add_test (tc, test_decoders_survive_corruption);
}
