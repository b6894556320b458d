/*  Check suite of store/: checked MessagePack, every record type's round
    trip, content keys and prefix scans, one writer, schema refusal, map
    growth, crash consistency (SIGKILL mid-batch), a reader process during
    writes, and `verify` on records written raw with LMDB.

    Run with arguments, the program writes fixtures for tests/cli_store.sh:
      check_store --fill DIR             one record of every type
      check_store --garbage DIR          + malformed records, written raw
      check_store --schema DIR VERSION   sets meta "schema" raw
      check_store --hold DIR READY GO    holds the writer lock: creates READY,
                                         waits (<= 60 s) for GO to exist
    (as a one-test suite: ck_assert needs the runner).
*/
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "common/sf_sha256.h"
#include "config.h"
#include "store/sf_mpack.h"
#include "store/sf_record.h"
#include "store/sf_store.h"

/* ---- helpers ------------------------------------------------------------ */

static int
s_rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

static void
s_rmrf (const char *dir)
{
    nftw (dir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*  A fresh directory under TMPDIR (removed with s_rmrf). */
static char *
s_tmpdir (void)
{
    const char *tmp = getenv ("TMPDIR");
    char *dir;
    ck_assert_int_gt (asprintf (&dir, "%s/sf-store-XXXXXX", tmp && *tmp ? tmp : "/tmp"), 0);
    ck_assert_ptr_nonnull (mkdtemp (dir));
    return dir;
}

/*  Each test's directory: made before, removed after (a checked fixture). */
static char *s_dir;

static void
s_setup (void)
{
    s_dir = s_tmpdir ();
}

static void
s_teardown (void)
{
    s_rmrf (s_dir);
    free (s_dir);
    s_dir = NULL;
}

static sf_store_t *
s_writer (const char *dir, size_t map_size, size_t map_limit)
{
    sf_store_opts_t opts = { map_size, map_limit };
    sf_store_t *store = sf_store_open_ex (dir, SF_STORE_WRITER, &opts);
    if (!store)
        fprintf (stderr, "open: %s\n", sf_error_message ());
    ck_assert_ptr_nonnull (store);
    return store;
}

/*  Opening dir must fail with status and a detail that says `says`. */
static void
s_refused (const char *dir, int flags, int status, const char *says)
{
    ck_assert_ptr_null (sf_store_open (dir, flags));
    ck_assert_int_eq (sf_error_last (), status);
    ck_assert_msg (strstr (sf_error_message (), says), "no '%s' in '%s'", says, sf_error_message ());
}

static void
s_commit (sf_store_t *store, sf_store_batch_t *batch)
{
    int rc = sf_store_commit (store, batch);
    if (rc != SF_OK)
        fprintf (stderr, "commit: %s\n", sf_error_message ());
    ck_assert_int_eq (rc, SF_OK);
    ck_assert_uint_eq (sf_store_batch_count (batch), 0);
}

static void
s_digest (const sf_matrix_t *m, uint8_t out[SF_STORE_HASH_BYTES])
{
    ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (m), out), SF_OK);
}

static sf_store_result_key_t
s_rkey (const char *gpu, const uint8_t *matrix, int64_t n, sf_template tmpl, const char *config, bool proxy)
{
    sf_store_result_key_t k;
    memset (&k, 0, sizeof k);
    snprintf (k.gpu_type, sizeof k.gpu_type, "%s", gpu);
    memcpy (k.matrix, matrix, SF_STORE_HASH_BYTES);
    k.n = n;
    k.tmpl = tmpl;
    snprintf (k.config, sizeof k.config, "%s", config);
    k.proxy = proxy;
    return k;
}

static sf_store_result_t
s_result (double us)
{
    sf_store_result_t r;
    memset (&r, 0, sizeof r);
    r.status = SF_OK;
    r.simulated = true;
    r.us = us;
    r.spread_us = us / 10;
    r.p10_us = us * 0.95;
    r.p90_us = us * 1.05;
    r.err = 2.5e-7;
    r.samples = 25;
    r.compile = (sf_store_compile_t) { 1.25, 96, 0, 0, 18432 };
    snprintf (r.worker, sizeof r.worker, "worker-3@node7");
    r.recorded_ms = 1700000000123;
    return r;
}

/*  A fake cubin of `size` bytes, different per seed. */
static uint8_t *
s_blob (size_t size, unsigned seed)
{
    uint8_t *b = malloc (size);
    ck_assert_ptr_nonnull (b);
    for (size_t i = 0; i < size; i++)
        b[i] = (uint8_t) (i * 31 + seed * 7 + (i >> 8));
    return b;
}

static sf_store_kernel_t
s_kernel (uint8_t *cubin, size_t size)
{
    sf_store_kernel_t k;
    memset (&k, 0, sizeof k);
    k.cubin = cubin;
    k.cubin_size = size;
    k.source = "// generated\n.version 8.8\n.target sm_90\n";
    k.launch = (sf_launch_t) { "spmm_u_r32", 128, 256, 12, 1, 4, 0, 24, 6, 5000 };
    k.tmpl = SF_TEMPLATE_U;
    snprintf (k.config, sizeof k.config, "U:r32.v4.t64.g2.o1.m128.sim");
    return k;
}

/*  One record of every type; the matrix's digest into hash. */
static void
s_fill (sf_store_t *store, uint8_t hash[SF_STORE_HASH_BYTES])
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_matrix_t *m = sf_matrix_new_random (48, 32, 0.75, 7);
    s_digest (m, hash);
    ck_assert_int_eq (sf_store_batch_put_matrix (batch, m), SF_OK);
    sf_store_layer_t layers[2] = { { "fc1", { 0 }, 64, true, true }, { "fc2", { 0 }, 128, false, false } };
    memcpy (layers[0].matrix, hash, SF_STORE_HASH_BYTES);
    memcpy (layers[1].matrix, hash, SF_STORE_HASH_BYTES);
    sf_store_campaign_t c = { .id = 1, .name = "bert-base", .strategy = "proxy", .state = SF_CAMPAIGN_RUNNING,
                              .created_ms = 1700000000000, .gpu_type = "", .layers = layers, .layer_count = 2,
                              .counters = { 4, 1, 0, 3, 12.5, 40.0, 2.0 } };
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &c), SF_OK);
    char configs[3][SF_STORE_CONFIG_MAX] = { "U:r32.v4.t64.g2.o1.m128.sim", "D:r16.v2.t64.g1.o0.m96.none",
                                             "dense" };
    sf_store_job_t job = { .campaign = 1, .id = 1, .state = SF_JOB_LEASED, .layer = 1, .kind = "proxy",
                           .configs = configs, .config_count = 3, .attempts = 2, .worker = "worker-3@node7",
                           .lease_deadline_ms = 1700000060000, .error = "CUDA_ERROR_LAUNCH_TIMEOUT on try 1" };
    ck_assert_int_eq (sf_store_batch_put_job (batch, &job), SF_OK);
    uint8_t *cubin = s_blob (1000, 1);
    sf_store_kernel_t k = s_kernel (cubin, 1000);
    uint8_t digest[SF_STORE_HASH_BYTES];
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, digest), SF_OK);
    sf_store_result_key_t rk = s_rkey ("NVIDIA H100 80GB HBM3/sm_90/132sm", hash, 64, SF_TEMPLATE_U, k.config, false);
    sf_store_result_t r = s_result (31.5);
    r.has_kernel = true;
    memcpy (r.kernel, digest, SF_STORE_HASH_BYTES);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &rk, &r), SF_OK);
    sf_store_best_t best = { .tmpl = SF_TEMPLATE_U, .us = 31.5, .err = 2.5e-7, .has_kernel = true,
                             .sgemm_us = 137, .tf32_us = 49, .cusparse_us = NAN, .recorded_ms = 1700000000999 };
    snprintf (best.config, sizeof best.config, "%s", k.config);
    memcpy (best.kernel, digest, SF_STORE_HASH_BYTES);
    ck_assert_int_eq (sf_store_batch_put_best (batch, 1, 0, &best), SF_OK);
    sf_store_metric_t metrics[2] = { { "recall@10", 0.93 }, { "loss_pct", 1.4 } };
    sf_store_model_t model = { .gpu_type = "NVIDIA H100 80GB HBM3/sm_90/132sm", .version = 1,
                               .xgboost_json = "{\"learner\":{}}", .problems = 120, .candidates = 48000,
                               .seconds = 33.0, .note = "synthetic sweep", .metrics = metrics,
                               .metric_count = 2, .created_ms = 1700000001000 };
    ck_assert_int_eq (sf_store_batch_put_model (batch, &model), SF_OK);
    ck_assert_uint_eq (sf_store_batch_count (batch), 7);
    s_commit (store, batch);
    sf_store_batch_destroy (&batch);
    sf_matrix_destroy (&m);
    free (cubin);
}

/*  One record of every type, then `count` more results and kernels: a
    store of many pages (branch, leaf and overflow) for the damage tests. */
static void
s_bulk (sf_store_t *store, uint8_t hash[SF_STORE_HASH_BYTES], int count)
{
    s_fill (store, hash);
    sf_store_batch_t *batch = sf_store_batch_new ();
    for (int i = 0; i < count; i++) {
        uint8_t *cubin = s_blob (200 + (size_t) (i % 7) * 900, (unsigned) i + 2);
        sf_store_kernel_t k = s_kernel (cubin, 200 + (size_t) (i % 7) * 900);
        snprintf (k.config, sizeof k.config, "U:r%d.v4.t64.g2.o1.m128.sim", i + 1);
        uint8_t digest[SF_STORE_HASH_BYTES];
        ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, digest), SF_OK);
        sf_store_result_key_t rk = s_rkey ("NVIDIA H100 80GB HBM3/sm_90/132sm", hash, 64 + i % 5, SF_TEMPLATE_U,
                                           k.config, i % 2 == 0);
        sf_store_result_t r = s_result (10.0 + i);
        r.has_kernel = true;
        memcpy (r.kernel, digest, SF_STORE_HASH_BYTES);
        ck_assert_int_eq (sf_store_batch_put_result (batch, &rk, &r), SF_OK);
        free (cubin);
    }
    s_commit (store, batch);
    sf_store_batch_destroy (&batch);
}

/*  Writes key -> value into database db_name with the raw LMDB API, as a
    bug or a foreign tool could; the store must not be open here. */
static void
s_raw_put (const char *dir, const char *db_name, const void *key, size_t key_size, const void *value,
           size_t value_size)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    ck_assert_int_eq (mdb_env_create (&env), 0);
    ck_assert_int_eq (mdb_env_set_maxdbs (env, 16), 0);
    ck_assert_int_eq (mdb_env_open (env, dir, 0, 0600), 0);
    ck_assert_int_eq (mdb_txn_begin (env, NULL, 0, &txn), 0);
    ck_assert_int_eq (mdb_dbi_open (txn, db_name, MDB_CREATE, &dbi), 0);
    MDB_val k = { key_size, (void *) key }, v = { value_size, (void *) value };
    ck_assert_int_eq (mdb_put (txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq (mdb_txn_commit (txn), 0);
    mdb_env_close (env);
}

/*  Reads key's raw value from db_name into a malloc'ed copy. */
static void *
s_raw_get (const char *dir, const char *db_name, const void *key, size_t key_size, size_t *size)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    ck_assert_int_eq (mdb_env_create (&env), 0);
    ck_assert_int_eq (mdb_env_set_maxdbs (env, 16), 0);
    ck_assert_int_eq (mdb_env_open (env, dir, MDB_RDONLY, 0600), 0);
    ck_assert_int_eq (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq (mdb_dbi_open (txn, db_name, 0, &dbi), 0);
    MDB_val k = { key_size, (void *) key }, v;
    ck_assert_int_eq (mdb_get (txn, dbi, &k, &v), 0);
    void *copy = malloc (v.mv_size);
    memcpy (copy, v.mv_data, v.mv_size);
    *size = v.mv_size;
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return copy;
}

/* ---- sf_mpack ------------------------------------------------------------ */

START_TEST (test_mpack_writes_and_reads_checked)
{
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 16);
    sf_mpack_out_map (out, 7);
    sf_mpack_out_kuint (out, "u", 300);
    sf_mpack_out_kint (out, "i", -5);
    sf_mpack_out_kdouble (out, "d", NAN);
    sf_mpack_out_kstr (out, "s", "h\xc3\xa9llo");
    sf_mpack_out_kbin (out, "b", "\x00\x01\x02", 3);
    sf_mpack_out_str (out, "a");
    sf_mpack_out_array (out, 2);
    sf_mpack_out_str (out, "x");
    sf_mpack_out_map (out, 1);
    sf_mpack_out_kbool (out, "t", true);
    sf_mpack_out_str (out, "m");
    sf_mpack_out_map (out, 0);
    ck_assert_int_eq (sf_mpack_out_status (out), SF_OK);
    size_t size;
    void *bytes = sf_mpack_out_detach (out, &size);
    ck_assert_ptr_nonnull (bytes);

    sf_mpack_doc_t *doc = sf_mpack_doc_new (bytes, size, "test");
    ck_assert_ptr_nonnull (doc);
    sf_mpack_in_t in;
    ck_assert_int_eq (sf_mpack_in_init (&in, sf_mpack_doc_root (doc), "test map"), SF_OK);
    ck_assert_uint_eq (sf_mpack_in_uint (&in, "u", 0, 1000), 300);
    ck_assert_int_eq (sf_mpack_in_int (&in, "i", -10, 10), -5);
    ck_assert (isnan (sf_mpack_in_double (&in, "d", 0, 1, true)));
    char s[16];
    sf_mpack_in_str (&in, "s", s, sizeof s);
    ck_assert_str_eq (s, "h\xc3\xa9llo");
    size_t len;
    const uint8_t *b = sf_mpack_in_bin (&in, "b", 3, 3, &len);
    ck_assert (b && len == 3 && b[2] == 2);
    uint32_t count;
    const msgpack_object *items = sf_mpack_in_array (&in, "a", 4, &count);
    ck_assert_uint_eq (count, 2);
    sf_mpack_in_t sub;
    ck_assert_int_eq (sf_mpack_in_as_map (&in, &items[1], "a[1]", &sub), SF_OK);
    ck_assert (sf_mpack_in_bool (&sub, "t"));
    ck_assert (!sf_mpack_in_has (&in, "nope"));
    ck_assert_int_eq (in.status, SF_OK);

    /* The first failure is kept, names the field, and later reads do nothing. */
    ck_assert_uint_eq (sf_mpack_in_uint (&in, "u", 0, 255), 0);
    ck_assert_int_eq (in.status, SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "test map: u: 300 is outside [0, 255]"));
    sf_mpack_in_str (&in, "s", s, sizeof s);
    ck_assert_str_eq (s, "");
    ck_assert_int_eq (in.status, SF_ERR_RANGE);

    /* Each check on its own. */
    struct {
        const char *key;
        int want;
        const char *says;
    } cases[] = {
        { "s", SF_ERR_FORMAT, "s: expected an unsigned integer, got string" },
        { "missing", SF_ERR_FORMAT, "missing field 'missing'" },
        { "i", SF_ERR_FORMAT, "i: expected an unsigned integer, got negative integer" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sf_mpack_in_init (&in, sf_mpack_doc_root (doc), "test map");
        sf_mpack_in_uint (&in, cases[c].key, 0, 10);
        ck_assert_int_eq (in.status, cases[c].want);
        ck_assert_ptr_nonnull (strstr (sf_error_message (), cases[c].says));
    }
    sf_mpack_in_init (&in, sf_mpack_doc_root (doc), "test map");
    sf_mpack_in_str (&in, "s", s, 4);  /* 6 bytes into 3 */
    ck_assert_int_eq (in.status, SF_ERR_RANGE);
    sf_mpack_in_init (&in, sf_mpack_doc_root (doc), "test map");
    sf_mpack_in_double (&in, "d", 0, 1, false);
    ck_assert_int_eq (in.status, SF_ERR_RANGE);
    sf_mpack_in_init (&in, sf_mpack_doc_root (doc), "test map");
    sf_mpack_in_as_map (&in, &items[1], "a[1]", &sub);
    sf_mpack_in_uint (&sub, "t", 0, 1);  /* a nested failure reaches the parent */
    ck_assert_int_eq (in.status, SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "test map.a[1]: t:"));
    sf_mpack_doc_destroy (&doc);
    free (bytes);

    /* A wrong element count is the writer's bug, reported, never written. */
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
       before msgpack-c could allocate for it. */
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
    const uint8_t dup_key[] = { 0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02 };
    const uint8_t nul_str[] = { 0x81, 0xa1, 's', 0xa3, 'a', 0x00, 'b' };
    const uint8_t bad_utf8[] = { 0x81, 0xa1, 's', 0xa2, 0xc0, 0xaf };  /* overlong '/' */
    const uint8_t surrogate[] = { 0x81, 0xa1, 's', 0xa3, 0xed, 0xa0, 0x80 };
    const struct {
        const uint8_t *bytes;
        size_t size;
        const char *says;
    } maps[] = {
        { int_key, sizeof int_key, "a key is unsigned integer" },
        { dup_key, sizeof dup_key, "key 'a' appears twice" },
        { nul_str, sizeof nul_str, "not UTF-8" },
        { bad_utf8, sizeof bad_utf8, "not UTF-8" },
        { surrogate, sizeof surrogate, "not UTF-8" },
    };
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        sf_mpack_doc_t *doc = sf_mpack_doc_new (maps[i].bytes, maps[i].size, "map");
        ck_assert_ptr_nonnull (doc);
        sf_mpack_in_t in;
        char s[8];
        if (sf_mpack_in_init (&in, sf_mpack_doc_root (doc), "map") == SF_OK)
            sf_mpack_in_str (&in, "s", s, sizeof s);
        ck_assert_int_eq (in.status, SF_ERR_FORMAT);
        ck_assert_ptr_nonnull (strstr (sf_error_message (), maps[i].says));
        sf_mpack_doc_destroy (&doc);
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

/* ---- opening, meta, defaults --------------------------------------------- */

START_TEST (test_create_meta_and_default_dir)
{
    char *dir;
    ck_assert_int_gt (asprintf (&dir, "%s/a/b/store", s_dir), 0);
    /* A reader needs a store; the writer creates the directories. */
    s_refused (dir, SF_STORE_READONLY, SF_ERR_NOTFOUND, "no store at");
    int64_t before = sf_store_now_ms ();
    sf_store_t *store = s_writer (dir, 0, 0);
    ck_assert (sf_store_is_writer (store));
    ck_assert_str_eq (sf_store_dir (store), dir);
    sf_store_meta_t meta;
    ck_assert_int_eq (sf_store_get_meta (store, &meta), SF_OK);
    ck_assert_uint_eq (meta.schema, SF_STORE_SCHEMA_VERSION);
    ck_assert_str_eq (meta.tool, PACKAGE_VERSION);
    ck_assert (meta.created_ms >= before && meta.created_ms <= sf_store_now_ms ());
    sf_store_stat_t st;
    ck_assert_int_eq (sf_store_stat (store, &st), SF_OK);
    ck_assert_uint_eq (st.db[SF_DB_META].entries, 3);
    for (int db = SF_DB_MATRICES; db < SF_DB_COUNT; db++)
        ck_assert_uint_eq (st.db[db].entries, 0);
    ck_assert_uint_eq (st.map_bytes, SF_STORE_MAP_INITIAL);
    ck_assert (st.file_bytes > 0 && st.used_bytes > 0 && st.page_bytes >= 4096);
    sf_store_destroy (&store);
    sf_store_destroy (&store);
    /* Reopening keeps the creation time. */
    store = s_writer (dir, 0, 0);
    sf_store_meta_t again;
    ck_assert_int_eq (sf_store_get_meta (store, &again), SF_OK);
    ck_assert_int_eq (again.created_ms, meta.created_ms);
    sf_store_destroy (&store);

    setenv ("SPMMFARM_STORE", "/x/store", 1);
    char *d = sf_store_default_dir ();
    ck_assert_str_eq (d, "/x/store");
    free (d);
    unsetenv ("SPMMFARM_STORE");
    setenv ("XDG_CACHE_HOME", "/x/cache", 1);
    d = sf_store_default_dir ();
    ck_assert_str_eq (d, "/x/cache/spmmfarm/store");
    free (d);
    setenv ("XDG_CACHE_HOME", "relative", 1);  /* ignored, as the XDG spec says */
    setenv ("HOME", "/home/u", 1);
    d = sf_store_default_dir ();
    ck_assert_str_eq (d, "/home/u/.cache/spmmfarm/store");
    free (d);
    unsetenv ("XDG_CACHE_HOME");
    unsetenv ("HOME");
    ck_assert_ptr_null (sf_store_default_dir ());
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    free (dir);
}
END_TEST

/* ---- round trips --------------------------------------------------------- */

static int
s_count (void *arg, const sf_record_t *r)
{
    (*(int *) arg)++;
    return 0;
}

static int
s_count_results (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    (*(int *) arg)++;
    return 0;
}

static int
s_count_jobs (void *arg, const sf_store_job_t *job)
{
    (*(int *) arg)++;
    return 0;
}

static int
s_stop_at_first (void *arg, const sf_store_campaign_t *c)
{
    (*(int *) arg)++;
    return 42;
}

START_TEST (test_roundtrip_every_record)
{
    const char *dir = s_dir;
    sf_store_t *store = s_writer (dir, 0, 0);
    uint8_t hash[SF_STORE_HASH_BYTES];
    s_fill (store, hash);

    /* matrices: rebuilt and rehashed */
    sf_matrix_t *m = NULL, *want = sf_matrix_new_random (48, 32, 0.75, 7);
    ck_assert (sf_store_has_matrix (store, hash));
    ck_assert_int_eq (sf_store_get_matrix (store, hash, &m), SF_OK);
    ck_assert (sf_matrix_equal (m, want));
    sf_matrix_destroy (&m);
    sf_matrix_destroy (&want);

    /* campaigns */
    sf_store_campaign_t c;
    ck_assert_int_eq (sf_store_get_campaign (store, 1, &c), SF_OK);
    ck_assert_uint_eq (c.id, 1);
    ck_assert_str_eq (c.name, "bert-base");
    ck_assert_str_eq (c.strategy, "proxy");
    ck_assert_int_eq (c.state, SF_CAMPAIGN_RUNNING);
    ck_assert_str_eq (c.gpu_type, "");
    ck_assert_uint_eq (c.layer_count, 2);
    ck_assert_str_eq (c.layers[1].name, "fc2");
    ck_assert_int_eq (c.layers[1].n, 128);
    ck_assert (c.layers[0].bias && c.layers[0].relu && !c.layers[1].relu);
    ck_assert_int_eq (memcmp (c.layers[0].matrix, hash, SF_STORE_HASH_BYTES), 0);
    ck_assert_uint_eq (c.counters.jobs_total, 4);
    ck_assert_double_eq (c.counters.wall_s, 12.5);
    sf_record_campaign_free (&c);
    sf_record_campaign_free (&c);
    ck_assert_int_eq (sf_store_get_campaign (store, 2, &c), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "no campaigns record 2"));

    /* jobs */
    sf_store_job_t job;
    ck_assert_int_eq (sf_store_get_job (store, 1, 1, &job), SF_OK);
    ck_assert_int_eq (job.state, SF_JOB_LEASED);
    ck_assert_str_eq (job.kind, "proxy");
    ck_assert_uint_eq (job.config_count, 3);
    ck_assert_str_eq (job.configs[2], "dense");
    ck_assert_uint_eq (job.attempts, 2);
    ck_assert_int_eq (job.lease_deadline_ms, 1700000060000);
    ck_assert_str_eq (job.error, "CUDA_ERROR_LAUNCH_TIMEOUT on try 1");
    sf_record_job_free (&job);
    uint64_t next;
    ck_assert_int_eq (sf_store_next_campaign_id (store, &next), SF_OK);
    ck_assert_uint_eq (next, 2);
    ck_assert_int_eq (sf_store_next_job_id (store, 1, &next), SF_OK);
    ck_assert_uint_eq (next, 2);
    ck_assert_int_eq (sf_store_next_job_id (store, 9, &next), SF_OK);
    ck_assert_uint_eq (next, 1);

    /* kernels: the key is the cubin's SHA-256 */
    uint8_t *cubin = s_blob (1000, 1), digest[SF_STORE_HASH_BYTES];
    sf_sha256 (cubin, 1000, digest);
    ck_assert (sf_store_has_kernel (store, digest));
    sf_store_kernel_t k;
    ck_assert_int_eq (sf_store_get_kernel (store, digest, &k), SF_OK);
    ck_assert_uint_eq (k.cubin_size, 1000);
    ck_assert_int_eq (memcmp (k.cubin, cubin, 1000), 0);
    ck_assert_str_eq (k.source, "// generated\n.version 8.8\n.target sm_90\n");
    ck_assert_str_eq (k.launch.entry, "spmm_u_r32");
    ck_assert_int_eq (k.launch.block_threads, 128);
    ck_assert_int_eq (k.launch.cols_per_block, 256);
    ck_assert_int_eq (k.launch.panel_groups, 12);
    ck_assert_int_eq (k.launch.order, 1);
    ck_assert_int_eq (k.launch.vec, 4);
    ck_assert_int_eq (k.launch.panels, 24);
    ck_assert_int_eq (k.launch.code_fmas, 5000);
    ck_assert_int_eq (k.tmpl, SF_TEMPLATE_U);
    ck_assert_ptr_null (k.data);
    sf_record_kernel_free (&k);

    /* results */
    sf_store_result_key_t rk = s_rkey ("NVIDIA H100 80GB HBM3/sm_90/132sm", hash, 64, SF_TEMPLATE_U,
                                       "U:r32.v4.t64.g2.o1.m128.sim", false);
    sf_store_result_t r;
    ck_assert_int_eq (sf_store_get_result (store, &rk, &r), SF_OK);
    ck_assert_double_eq (r.us, 31.5);
    ck_assert_double_eq (r.err, 2.5e-7);
    ck_assert_uint_eq (r.samples, 25);
    ck_assert_int_eq (r.compile.regs, 96);
    ck_assert_int_eq (r.compile.code_bytes, 18432);
    ck_assert_str_eq (r.worker, "worker-3@node7");
    ck_assert (r.simulated && r.has_kernel);
    ck_assert_int_eq (memcmp (r.kernel, digest, SF_STORE_HASH_BYTES), 0);
    rk.proxy = true;  /* the proxy of the same config is another measurement */
    ck_assert_int_eq (sf_store_get_result (store, &rk, &r), SF_ERR_NOTFOUND);

    /* best */
    sf_store_best_t best;
    ck_assert_int_eq (sf_store_get_best (store, 1, 0, &best), SF_OK);
    ck_assert_str_eq (best.config, "U:r32.v4.t64.g2.o1.m128.sim");
    ck_assert_double_eq (best.sgemm_us, 137);
    ck_assert (isnan (best.cusparse_us));
    ck_assert (best.has_kernel && !best.simulated);
    ck_assert_int_eq (sf_store_get_best (store, 1, 1, &best), SF_ERR_NOTFOUND);

    /* models: version 0 is the latest */
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_model_t model = { .gpu_type = "NVIDIA H100 80GB HBM3/sm_90/132sm", .version = 2,
                               .xgboost_json = "{\"v\":2}", .note = "" };
    ck_assert_int_eq (sf_store_batch_put_model (batch, &model), SF_OK);
    s_commit (store, batch);
    sf_store_model_t got;
    ck_assert_int_eq (sf_store_get_model (store, model.gpu_type, 0, &got), SF_OK);
    ck_assert_uint_eq (got.version, 2);
    ck_assert_str_eq (got.xgboost_json, "{\"v\":2}");
    ck_assert_uint_eq (got.metric_count, 0);
    sf_record_model_free (&got);
    ck_assert_int_eq (sf_store_get_model (store, model.gpu_type, 1, &got), SF_OK);
    ck_assert_uint_eq (got.metric_count, 2);
    ck_assert_str_eq (got.metrics[0].name, "recall@10");
    ck_assert_double_eq (got.metrics[0].value, 0.93);
    ck_assert_uint_eq (got.problems, 120);
    ck_assert_str_eq (got.note, "synthetic sweep");
    sf_record_model_free (&got);
    ck_assert_int_eq (sf_store_get_model (store, "A100/sm_80/108sm", 0, &got), SF_ERR_NOTFOUND);

    /* Iteration: counts per database, a callback that stops the walk. */
    int counts[SF_DB_COUNT] = { 0 };
    for (int db = 0; db < SF_DB_COUNT; db++)
        ck_assert_int_eq (sf_store_each (store, db, s_count, &counts[db]), SF_OK);
    const int want_counts[SF_DB_COUNT] = { 3, 1, 1, 1, 1, 1, 1, 2 };
    for (int db = 0; db < SF_DB_COUNT; db++)
        ck_assert_int_eq (counts[db], want_counts[db]);
    int seen = 0;
    ck_assert_int_eq (sf_store_each_campaign (store, s_stop_at_first, &seen), 42);
    ck_assert_int_eq (seen, 1);
    seen = 0;
    ck_assert_int_eq (sf_store_each_job (store, 1, s_count_jobs, &seen), SF_OK);
    ck_assert_int_eq (sf_store_each_job (store, 2, s_count_jobs, &seen), SF_OK);
    ck_assert_int_eq (seen, 1);

    /* Deletes are part of a batch like puts. */
    ck_assert_int_eq (sf_store_batch_del_job (batch, 1, 1), SF_OK);
    ck_assert_int_eq (sf_store_batch_del_job (batch, 1, 99), SF_OK);  /* missing: fine */
    s_commit (store, batch);
    ck_assert_int_eq (sf_store_get_job (store, 1, 1, &job), SF_ERR_NOTFOUND);
    uint64_t checked, bad;
    ck_assert_int_eq (sf_store_verify (store, NULL, NULL, &checked, &bad), SF_OK);
    ck_assert_uint_eq (checked, 10);
    ck_assert_uint_eq (bad, 0);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
    free (cubin);
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
    sf_store_t *store = s_writer (s_dir, 0, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_best_t b = { .tmpl = SF_TEMPLATE_DENSE, .config = "dense", .us = 12.5, .err = 1e-3,
                          .sgemm_us = NAN, .tf32_us = NAN, .cusparse_us = 40.0, .blas16_us = 11.25,
                          .blas16_err = 1.6e-3, .recorded_ms = 1700000000000 };
    ck_assert_int_eq (sf_store_batch_put_best (batch, 1, 0, &b), SF_OK);
    b.blas16_us = b.blas16_err = NAN;
    ck_assert_int_eq (sf_store_batch_put_best (batch, 1, 1, &b), SF_OK);
    s_commit (store, batch);
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
    uint8_t *raw = s_raw_get (s_dir, "best", key, key_size, &size);
    void *old = s_old_best (&old_size, NAN);
    ck_assert_uint_eq (size, old_size);
    ck_assert_int_eq (memcmp (raw, old, size), 0);
    free (raw);

    /* an old record decodes: no cuBLASLt baseline */
    s_raw_put (s_dir, "best", key, key_size, old, old_size);
    store = sf_store_open (s_dir, SF_STORE_READONLY);
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

START_TEST (test_results_keyed_by_content)
{
    const char *dir = s_dir;
    sf_store_t *store = s_writer (dir, 0, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    uint8_t m1[SF_STORE_HASH_BYTES], m2[SF_STORE_HASH_BYTES];
    memset (m1, 0x11, sizeof m1);
    memset (m2, 0x22, sizeof m2);
    /* "H100" must not pick up "H100x": GPU types are length-prefixed. */
    const char *gpus[] = { "H100", "H100x" };
    const uint8_t *matrices[] = { m1, m2 };
    const int64_t ns[] = { 64, 4096 };
    const char *configs[] = { "U:a", "U:b", "D:a" };
    for (int g = 0; g < 2; g++)
        for (int m = 0; m < 2; m++)
            for (int n = 0; n < 2; n++)
                for (int c = 0; c < 3; c++)
                    for (int p = 0; p < 2; p++) {
                        sf_store_result_key_t k = s_rkey (gpus[g], matrices[m], ns[n],
                                                          c == 2 ? SF_TEMPLATE_D : SF_TEMPLATE_U,
                                                          configs[c], p);
                        sf_store_result_t r = s_result (10 + c);
                        ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_OK);
                    }
    s_commit (store, batch);
    /* The same measurement again: same key, one record, the later value. */
    sf_store_result_key_t k = s_rkey ("H100", m1, 64, SF_TEMPLATE_U, "U:a", false);
    sf_store_result_t r = s_result (9.0);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_OK);
    s_commit (store, batch);
    sf_store_stat_t st;
    ck_assert_int_eq (sf_store_stat (store, &st), SF_OK);
    ck_assert_uint_eq (st.db[SF_DB_RESULTS].entries, 48);
    ck_assert_int_eq (sf_store_get_result (store, &k, &r), SF_OK);
    ck_assert_double_eq (r.us, 9.0);

    int seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, "H100", m1, 64, s_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 6);  /* 3 configs x proxy/full */
    seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, "H100", m1, 0, s_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 12);
    seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, "H100", NULL, 0, s_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 24);
    seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, NULL, NULL, 0, s_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 48);
    seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, "A100", NULL, 0, s_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 0);
    ck_assert_int_eq (sf_store_each_result (store, "", NULL, 0, s_count_results, &seen), SF_ERR_INVALID);

    /* A key's text names all its fields. */
    uint8_t key[SF_RECORD_KEY_MAX];
    char text[512];
    size_t size = sf_record_key_result (&k, key);
    ck_assert_uint_gt (size, 0);
    sf_record_key_text (SF_DB_RESULTS, key, size, text, sizeof text);
    ck_assert_str_eq (text, "H100 | 1111111111111111111111111111111111111111111111111111111111111111 | N=64 | U | U:a | full");
    ck_assert_int_eq (sf_store_batch_del_result (batch, &k), SF_OK);
    s_commit (store, batch);
    ck_assert_int_eq (sf_store_get_result (store, &k, &r), SF_ERR_NOTFOUND);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

static int
s_count_bf16 (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    (void) r;
    int *counts = arg;
    counts[key->tier == SF_TIER_BF16 && key->layout == SF_LAYOUT_NK ? 1 : key->tier == SF_TIER_FP32 ? 0 : 2]++;
    return 0;
}

/*  Precision tiers (issue 19): a result's key carries its tier and layout
    only when they are not fp32 kn, so that every key written before tiers
    existed is still the fp32 kn key; campaigns keep the whole request,
    each field only when not the default. */
START_TEST (test_tiers_in_keys_and_campaigns)
{
    uint8_t m1[SF_STORE_HASH_BYTES];
    memset (m1, 0x11, sizeof m1);
    /* the key as written before tiers: byte for byte */
    uint8_t legacy[128];
    size_t n = 0;
    legacy[n++] = 0, legacy[n++] = 4;
    memcpy (legacy + n, "H100", 4), n += 4;
    memcpy (legacy + n, m1, 32), n += 32;
    memset (legacy + n, 0, 7), n += 7;
    legacy[n++] = 64;
    legacy[n++] = SF_TEMPLATE_U;
    legacy[n++] = 0, legacy[n++] = 3;
    memcpy (legacy + n, "U:a", 3), n += 3;
    legacy[n++] = 0;
    sf_store_result_key_t k = s_rkey ("H100", m1, 64, SF_TEMPLATE_U, "U:a", false);
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t size = sf_record_key_result (&k, key);
    ck_assert_uint_eq (size, n);
    ck_assert (memcmp (key, legacy, n) == 0);
    k.tier = SF_TIER_BF16;
    k.layout = SF_LAYOUT_NK;
    size = sf_record_key_result (&k, key);
    ck_assert_uint_eq (size, n + 2);
    ck_assert_uint_eq (key[n], SF_TIER_BF16);
    ck_assert_uint_eq (key[n + 1], SF_LAYOUT_NK);
    char text[512];
    sf_record_key_text (SF_DB_RESULTS, key, size, text, sizeof text);
    ck_assert_str_eq (text, "H100 | 1111111111111111111111111111111111111111111111111111111111111111 | N=64 | U | "
                            "U:a | full | bf16 nk");
    /* decoding: the old key is fp32 kn; malformed tails are refused */
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 16);
    sf_store_result_t r = s_result (3.0);
    uint8_t scratch[SF_RECORD_KEY_MAX];
    size_t scratch_size;
    ck_assert_int_eq (sf_record_encode_result (&k, &r, scratch, &scratch_size, out), SF_OK);
    sf_record_t rec;
    ck_assert_int_eq (sf_record_decode (SF_DB_RESULTS, legacy, n, sf_mpack_out_data (out), sf_mpack_out_size (out),
                                        &rec), SF_OK);
    ck_assert_int_eq (rec.u.result.key.tier, SF_TIER_FP32);
    ck_assert_int_eq (rec.u.result.key.layout, SF_LAYOUT_KN);
    sf_record_free (&rec);
    ck_assert_int_eq (sf_record_decode (SF_DB_RESULTS, key, size, sf_mpack_out_data (out), sf_mpack_out_size (out),
                                        &rec), SF_OK);
    ck_assert_int_eq (rec.u.result.key.tier, SF_TIER_BF16);
    ck_assert_int_eq (rec.u.result.key.layout, SF_LAYOUT_NK);
    sf_record_free (&rec);
    static const struct {
        uint8_t tail[3];
        size_t len;
        const char *why;
    } bad[] = { { { 0, 0 }, 2, "fp32 kn spelled out" }, { { 9, 0 }, 2, "unknown precision or layout" },
                { { 2 }, 1, "too short" }, { { 2, 1, 0 }, 3, "trailing bytes" } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy (scratch, legacy, n);
        memcpy (scratch + n, bad[i].tail, bad[i].len);
        ck_assert_int_eq (sf_record_decode (SF_DB_RESULTS, scratch, n + bad[i].len, sf_mpack_out_data (out),
                                            sf_mpack_out_size (out), &rec), SF_ERR_FORMAT);
        ck_assert_msg (strstr (sf_error_message (), bad[i].why), "%s", sf_error_message ());
        sf_record_free (&rec);
    }
    k.tier = (sf_tier) 7;
    ck_assert_uint_eq (sf_record_key_result (&k, key), 0);

    /* in a store: one record per tier of one config, scans see both */
    sf_store_t *store = s_writer (s_dir, 0, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_result_key_t fp32 = s_rkey ("H100", m1, 64, SF_TEMPLATE_U, "U:a", false), bf16 = fp32;
    bf16.tier = SF_TIER_BF16;
    bf16.layout = SF_LAYOUT_NK;
    sf_store_result_t r32 = s_result (10.0), r16 = s_result (4.0);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &fp32, &r32), SF_OK);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &bf16, &r16), SF_OK);
    /* a campaign of a bf16 nk request, with the rest of the request off its
       defaults, and one of the default request */
    sf_store_layer_t layer = { .name = "fc1", .n = 64 };
    memcpy (layer.matrix, m1, SF_STORE_HASH_BYTES);
    sf_store_campaign_t c = { .id = 1, .name = "tiered", .strategy = "proxy", .state = SF_CAMPAIGN_DONE,
                              .layers = &layer, .layer_count = 1 };
    c.search = (sf_store_search_t) { .max_configs = 8, .seed = 3, .tol = 1e-3, .templates = 2,
                                     .max_code_fmas = 5000, .run_timeout_s = 7.5, .u_split = true,
                                     .d_union = true, .no_d_slab = true, .tier = SF_TIER_BF16,
                                     .layout = SF_LAYOUT_NK, .top_k = 4000 };
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &c), SF_OK);
    sf_store_campaign_t d = { .id = 2, .name = "plain", .strategy = "proxy", .state = SF_CAMPAIGN_DONE,
                              .layers = &layer, .layer_count = 1, .search = { .seed = 1 } };
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &d), SF_OK);
    s_commit (store, batch);
    sf_store_result_t got;
    ck_assert_int_eq (sf_store_get_result (store, &fp32, &got), SF_OK);
    ck_assert_double_eq (got.us, 10.0);
    ck_assert_int_eq (sf_store_get_result (store, &bf16, &got), SF_OK);
    ck_assert_double_eq (got.us, 4.0);
    int counts[3] = { 0 };
    ck_assert_int_eq (sf_store_each_result (store, "H100", m1, 64, s_count_bf16, counts), SF_OK);
    ck_assert_int_eq (counts[0], 1);
    ck_assert_int_eq (counts[1], 1);
    ck_assert_int_eq (counts[2], 0);
    sf_store_campaign_t back;
    ck_assert_int_eq (sf_store_get_campaign (store, 1, &back), SF_OK);
    ck_assert_int_eq (back.search.tier, SF_TIER_BF16);
    ck_assert_int_eq (back.search.layout, SF_LAYOUT_NK);
    ck_assert_uint_eq (back.search.templates, 2);
    ck_assert_int_eq (back.search.max_code_fmas, 5000);
    ck_assert_double_eq (back.search.run_timeout_s, 7.5);
    ck_assert (back.search.u_split && back.search.d_union && back.search.no_d_slab);
    ck_assert_int_eq (back.search.top_k, 4000);
    sf_record_campaign_free (&back);
    ck_assert_int_eq (sf_store_get_campaign (store, 2, &back), SF_OK);
    ck_assert_int_eq (back.search.tier, SF_TIER_FP32);
    ck_assert_uint_eq (back.search.templates, 0);
    ck_assert (!back.search.u_split && !back.search.no_d_slab);
    sf_record_campaign_free (&back);
    /* the default request's campaign record is written as before: its
       search map has the seven fields it always had */
    ck_assert_int_eq (sf_record_encode_campaign (&d, scratch, &scratch_size, out), SF_OK);
    ck_assert_ptr_null (memmem (sf_mpack_out_data (out), sf_mpack_out_size (out), "precision", 9));
    ck_assert_ptr_null (memmem (sf_mpack_out_data (out), sf_mpack_out_size (out), "templates", 9));
    c.search.tier = (sf_tier) 5;
    ck_assert_int_eq (sf_record_encode_campaign (&c, scratch, &scratch_size, out), SF_ERR_RANGE);
    sf_mpack_out_destroy (&out);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

START_TEST (test_put_refuses_bad_records)
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    uint8_t m[SF_STORE_HASH_BYTES] = { 1 };
    sf_store_result_key_t k = s_rkey ("H100", m, 64, SF_TEMPLATE_U, "U:a", false);
    sf_store_result_t r = s_result (5.0);
    r.us = -1.0;
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "refusing to store: results value: us: -1"));
    r = s_result (5.0);
    r.status = 7;  /* a status is SF_OK or negative */
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_RANGE);
    r = s_result (5.0);
    memset (r.worker, 'w', sizeof r.worker);  /* no NUL inside the buffer */
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_RANGE);
    r = s_result (5.0);
    snprintf (r.worker, sizeof r.worker, "bad \xff utf-8");
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_INVALID);
    r = s_result (5.0);
    k.n = 0;
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_RANGE);
    k = s_rkey ("", m, 64, SF_TEMPLATE_U, "U:a", false);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_INVALID);
    k = s_rkey ("H100", m, 64, (sf_template) 9, "U:a", false);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_ERR_INVALID);

    sf_store_kernel_t kernel = s_kernel (NULL, 0);
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &kernel, NULL), SF_ERR_INVALID);
    uint8_t *cubin = s_blob (64, 2);
    kernel = s_kernel (cubin, 64);
    kernel.launch.vec = 3;
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &kernel, NULL), SF_ERR_RANGE);
    kernel = s_kernel (cubin, 64);
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
    const char *dir = s_dir;
    sf_store_t *store = s_writer (dir, 0, 0);
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
    const char *dir = s_dir;
    sf_store_t *store = s_writer (dir, 0, 0);
    uint8_t hash[SF_STORE_HASH_BYTES];
    s_fill (store, hash);
    sf_store_destroy (&store);
    MDB_env *env;
    MDB_txn *txn;
    ck_assert_int_eq (mdb_env_create (&env), 0);
    ck_assert_int_eq (mdb_env_set_maxdbs (env, 16), 0);
    ck_assert_int_eq (mdb_env_open (env, dir, MDB_RDONLY, 0600), 0);
    ck_assert_int_eq (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
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

/* ---- schema, foreign environments, one writer ------------------------------ */

START_TEST (test_unknown_schema_refused)
{
    const char *dir = s_dir;
    sf_store_t *store = s_writer (dir, 0, 0);
    sf_store_destroy (&store);
    const uint8_t v99 = 99;  /* MessagePack positive fixint */
    s_raw_put (dir, "meta", "schema", 6, &v99, 1);
    s_refused (dir, SF_STORE_READONLY, SF_ERR_SCHEMA, "has schema version 99; this spmmfarm");
    s_refused (dir, SF_STORE_WRITER, SF_ERR_SCHEMA, "has schema version 99; this spmmfarm");
    const uint8_t garbage[] = { 0xa3, 'o', 'n', 'e' };  /* a string, not a version */
    s_raw_put (dir, "meta", "schema", 6, garbage, sizeof garbage);
    s_refused (dir, SF_STORE_READONLY, SF_ERR_SCHEMA, "unreadable schema version");
    /* A later schema may add databases: the version is what is named. */
    s_raw_put (dir, "meta", "schema", 6, &v99, 1);
    s_raw_put (dir, "bundles", "k", 1, "v", 1);
    s_refused (dir, SF_STORE_READONLY, SF_ERR_SCHEMA, "schema version 99");

    /* An LMDB environment of someone else's is not taken over. */
    s_rmrf (dir);
    ck_assert_int_eq (mkdir (dir, 0700), 0);
    s_raw_put (dir, "customers", "k", 1, "v", 1);
    s_refused (dir, SF_STORE_WRITER, SF_ERR_FORMAT, "not a spmmfarm store (it has an entry 'customers')");
    s_refused (dir, SF_STORE_READONLY, SF_ERR_FORMAT, "not a spmmfarm store");
}
END_TEST

START_TEST (test_second_writer_refused)
{
    const char *dir = s_dir;
    sf_store_t *store = s_writer (dir, 0, 0);
    char pid[32];
    snprintf (pid, sizeof pid, "process %ld", (long) getpid ());
    /* In this process ... */
    s_refused (dir, SF_STORE_WRITER, SF_ERR_BUSY, pid);
    /* ... and in another, which may still read. */
    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0) {
        sf_store_t *second = sf_store_open (dir, SF_STORE_WRITER);
        if (second || sf_error_last () != SF_ERR_BUSY || !strstr (sf_error_message (), pid))
            _exit (1);
        sf_store_t *reader = sf_store_open (dir, SF_STORE_READONLY);
        sf_store_meta_t meta;
        int code = reader && sf_store_get_meta (reader, &meta) == SF_OK ? 0 : 2;
        sf_store_destroy (&reader);
        _exit (code);
    }
    int status;
    ck_assert_int_eq (waitpid (child, &status, 0), child);
    ck_assert (WIFEXITED (status));
    ck_assert_int_eq (WEXITSTATUS (status), 0);
    /* Closing hands the role on. */
    sf_store_destroy (&store);
    store = s_writer (dir, 0, 0);
    sf_store_destroy (&store);
}
END_TEST

/* ---- map growth ----------------------------------------------------------- */

START_TEST (test_map_grows_when_full)
{
    const char *dir = s_dir;
    /* 64 KiB: full after a few records; every commit below must still work. */
    sf_store_t *store = s_writer (dir, 64 << 10, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    uint8_t m[SF_STORE_HASH_BYTES] = { 7 };
    for (int b = 0; b < 10; b++) {
        for (int i = 0; i < 100; i++) {
            char config[32];
            snprintf (config, sizeof config, "U:b%d.i%d", b, i);
            sf_store_result_key_t k = s_rkey ("H100", m, 64, SF_TEMPLATE_U, config, false);
            sf_store_result_t r = s_result (b + i);
            ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_OK);
        }
        s_commit (store, batch);
    }
    uint8_t *cubin = s_blob (3 << 20, 3);  /* 3 MiB in one record */
    sf_store_kernel_t k = s_kernel (cubin, 3 << 20);
    uint8_t digest[SF_STORE_HASH_BYTES];
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, digest), SF_OK);
    s_commit (store, batch);
    sf_store_stat_t st;
    ck_assert_int_eq (sf_store_stat (store, &st), SF_OK);
    ck_assert_uint_eq (st.db[SF_DB_RESULTS].entries, 1000);
    ck_assert_uint_ge (st.map_bytes, 3 << 20);
    sf_store_kernel_t got;
    ck_assert_int_eq (sf_store_get_kernel (store, digest, &got), SF_OK);
    ck_assert_int_eq (memcmp (got.cubin, cubin, 3 << 20), 0);
    sf_record_kernel_free (&got);
    sf_store_destroy (&store);
    s_rmrf (dir);

    /* With a limit, a batch that cannot fit is refused whole, and the
       store goes on working. */
    store = s_writer (dir, 64 << 10, 512 << 10);
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, NULL), SF_OK);
    sf_store_result_key_t rk = s_rkey ("H100", m, 64, SF_TEMPLATE_U, "U:x", false);
    sf_store_result_t r = s_result (1);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &rk, &r), SF_OK);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "store map full"));
    ck_assert_uint_eq (sf_store_batch_count (batch), 2);
    ck_assert_int_eq (sf_store_get_result (store, &rk, &r), SF_ERR_NOTFOUND);  /* all or nothing */
    /* A request that fails takes back its own writes only: the kernel
       (put first) goes, the result queued before it stays. */
    sf_store_batch_clear (batch);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &rk, &r), SF_OK);
    size_t mark = sf_store_batch_count (batch);
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, NULL), SF_OK);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_ERR_RANGE);
    sf_store_batch_truncate (batch, mark);
    ck_assert_uint_eq (sf_store_batch_count (batch), 1);
    s_commit (store, batch);
    ck_assert_int_eq (sf_store_get_result (store, &rk, &r), SF_OK);
    sf_store_destroy (&store);
    sf_store_batch_destroy (&batch);
    free (cubin);
}
END_TEST

/* ---- crashes and concurrent readers ---------------------------------------- */

#define S_BATCH_RESULTS 40
static const uint8_t s_crash_matrix[SF_STORE_HASH_BYTES] = { 0xcc };

/*  Batch b: S_BATCH_RESULTS results at N = b + 1, a 256 KiB kernel that
    they name, and best (b, 0) naming it too. */
static void
s_put_numbered_batch (sf_store_batch_t *batch, int b)
{
    uint8_t *cubin = s_blob (256 << 10, (unsigned) b + 100);
    sf_store_kernel_t k = s_kernel (cubin, 256 << 10);
    uint8_t digest[SF_STORE_HASH_BYTES];
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, digest), SF_OK);
    for (int i = 0; i < S_BATCH_RESULTS; i++) {
        char config[32];
        snprintf (config, sizeof config, "U:i%d", i);
        sf_store_result_key_t rk = s_rkey ("crash", s_crash_matrix, b + 1, SF_TEMPLATE_U, config, false);
        sf_store_result_t r = s_result (b);
        r.has_kernel = true;
        memcpy (r.kernel, digest, SF_STORE_HASH_BYTES);
        ck_assert_int_eq (sf_store_batch_put_result (batch, &rk, &r), SF_OK);
    }
    sf_store_best_t best = { .tmpl = SF_TEMPLATE_U, .config = "U:i0", .us = b, .err = NAN, .has_kernel = true,
                             .sgemm_us = NAN, .tf32_us = NAN, .cusparse_us = NAN };
    memcpy (best.kernel, digest, SF_STORE_HASH_BYTES);
    ck_assert_int_eq (sf_store_batch_put_best (batch, (uint64_t) b + 1, 0, &best), SF_OK);
    free (cubin);
}

typedef struct {
    sf_store_t *store;
    int bad;
} s_batch_check_t;

static int
s_check_result (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    s_batch_check_t *check = arg;
    check->bad += !r->has_kernel || !sf_store_has_kernel (check->store, r->kernel);
    return 0;
}

/*  How many numbered batches the store holds; fails if any is partial or
    if they are not batches 0 .. n-1. */
static int
s_complete_batches (sf_store_t *store, int limit)
{
    int done = 0;
    for (int b = 0; b < limit; b++) {
        s_batch_check_t check = { store, 0 };
        int seen = 0;
        ck_assert_int_eq (sf_store_each_result (store, "crash", s_crash_matrix, b + 1, s_count_results, &seen),
                          SF_OK);
        ck_assert_int_eq (sf_store_each_result (store, "crash", s_crash_matrix, b + 1, s_check_result, &check),
                          SF_OK);
        sf_store_best_t best;
        int has_best = sf_store_get_best (store, (uint64_t) b + 1, 0, &best) == SF_OK;
        if (seen == 0 && !has_best) {
            done = b;
            for (int later = b + 1; later < limit; later++) {  /* nothing after a gap */
                int after = 0;
                sf_store_each_result (store, "crash", s_crash_matrix, later + 1, s_count_results, &after);
                ck_assert_int_eq (after, 0);
            }
            return done;
        }
        ck_assert_int_eq (seen, S_BATCH_RESULTS);
        ck_assert (has_best);
        ck_assert_int_eq (check.bad, 0);
    }
    return limit;
}

START_TEST (test_crash_mid_batch_keeps_whole_batches)
{
    const char *dir = s_dir;
    int fds[2];
    ck_assert_int_eq (pipe (fds), 0);
    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0) {
        /* The writer: numbered batches as fast as it can, from a small
           map so that growth (abort, grow, replay) happens too. */
        close (fds[0]);
        sf_store_opts_t opts = { 256 << 10, 0 };
        sf_store_t *store = sf_store_open_ex (dir, SF_STORE_WRITER, &opts);
        sf_store_batch_t *batch = sf_store_batch_new ();
        for (int b = 0; store && b < 10000; b++) {
            s_put_numbered_batch (batch, b);
            if (sf_store_commit (store, batch) != SF_OK)
                _exit (3);
            if (write (fds[1], &b, sizeof b) != sizeof b)
                _exit (4);
        }
        _exit (5);
    }
    close (fds[1]);
    /* Kill it at a varying point after a few commits: most kills land
       inside a transaction, since that is where the writer spends its time. */
    int b = -1, last = -1;
    srand ((unsigned) time (NULL));
    int stop_after = 4 + rand () % 6;
    while (last < stop_after && read (fds[0], &b, sizeof b) == sizeof b)
        last = b;
    usleep ((useconds_t) (rand () % 3000));
    kill (child, SIGKILL);
    int status;
    ck_assert_int_eq (waitpid (child, &status, 0), child);
    ck_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    while (read (fds[0], &b, sizeof b) == sizeof b)
        last = b;  /* commits reported before the kill */
    close (fds[0]);

    /* The lock went with the process; every reported batch is whole, and
       at most the one in flight may also be (committed, not reported). */
    sf_store_t *store = s_writer (dir, 0, 0);
    int done = s_complete_batches (store, last + 10);
    ck_assert_int_ge (done, last + 1);
    ck_assert_int_le (done, last + 2);
    uint64_t checked, bad;
    ck_assert_int_eq (sf_store_verify (store, NULL, NULL, &checked, &bad), SF_OK);
    ck_assert_uint_eq (bad, 0);
    ck_assert_uint_eq (checked, 3 + (uint64_t) done * (S_BATCH_RESULTS + 2));
    /* And it takes new batches. */
    sf_store_batch_t *batch = sf_store_batch_new ();
    s_put_numbered_batch (batch, done);
    s_commit (store, batch);
    ck_assert_int_eq (s_complete_batches (store, done + 5), done + 1);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

/*  The reader process: snapshots until it sees the campaign that marks the
    end; each snapshot must hold whole batches 0 .. n-1. Exit 0 if it saw
    several different snapshots and all were whole. */
static int
s_reader_main (const char *dir, int batches)
{
    sf_store_t *store = NULL;
    for (int i = 0; i < 600 && !store; i++) {
        store = sf_store_open (dir, SF_STORE_READONLY);
        if (!store)
            usleep (10000);
    }
    if (!store)
        return 10;
    int snapshots = 0, previous = -1;
    sf_store_campaign_t c;
    for (int i = 0; i < 60000; i++) {
        bool end = sf_store_get_campaign (store, 1, &c) == SF_OK;
        sf_record_campaign_free (&c);
        int seen = 0;
        if (sf_store_each_result (store, "crash", s_crash_matrix, 0, s_count_results, &seen) != SF_OK)
            return 11;
        if (seen % S_BATCH_RESULTS != 0 || seen / S_BATCH_RESULTS < previous)
            return 12;  /* a partial batch, or time went backwards */
        snapshots += seen / S_BATCH_RESULTS != previous;
        previous = seen / S_BATCH_RESULTS;
        if (end)
            break;
        usleep (1000);
    }
    sf_store_stat_t st;
    if (sf_store_stat (store, &st) != SF_OK || st.db[SF_DB_RESULTS].entries != (uint64_t) batches * S_BATCH_RESULTS)
        return 13;
    sf_store_destroy (&store);
    return snapshots >= 2 ? 0 : 14;
}

START_TEST (test_reader_process_during_writes)
{
    const char *dir = s_dir;
    sf_store_t *store = s_writer (dir, 128 << 10, 0);
    sf_store_destroy (&store);  /* never fork with an open environment */
    const int batches = 25;
    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0)
        _exit (s_reader_main (dir, batches));
    store = s_writer (dir, 128 << 10, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    for (int b = 0; b < batches; b++) {
        s_put_numbered_batch (batch, b);
        s_commit (store, batch);
        usleep (2000);
    }
    sf_store_campaign_t end = { .id = 1, .name = "end", .strategy = "test", .state = SF_CAMPAIGN_DONE };
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &end), SF_OK);
    s_commit (store, batch);
    int status;
    ck_assert_int_eq (waitpid (child, &status, 0), child);
    ck_assert (WIFEXITED (status));
    ck_assert_int_eq (WEXITSTATUS (status), 0);
    sf_store_stat_t st;
    ck_assert_int_eq (sf_store_stat (store, &st), SF_OK);
    ck_assert_uint_gt (st.map_bytes, 128 << 10);  /* it grew under the reader */
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

/* ---- verify on malformed records ------------------------------------------- */

/*  Writes garbage with the raw LMDB API: one malformed record in every
    database, each broken in a different way. Returns how many. */
static int
s_write_garbage (const char *dir, const uint8_t matrix_hash[SF_STORE_HASH_BYTES])
{
    uint8_t key[SF_RECORD_KEY_MAX];
    /* results: a valid key, a value that is no MessagePack at all */
    sf_store_result_key_t rk = s_rkey ("H100", matrix_hash, 64, SF_TEMPLATE_U, "U:garbage", false);
    size_t size = sf_record_key_result (&rk, key);
    s_raw_put (dir, "results", key, size, "\xc1\xc1\xc1", 3);
    /* campaigns: a 3-byte key */
    s_raw_put (dir, "campaigns", "abc", 3, "\x80", 1);
    /* jobs: a map without its fields */
    s_raw_put (dir, "jobs", key, sf_record_key_pair (1, 7, key), "\x81\xa1x\x01", 4);
    /* matrices: a real matrix's value under another matrix's hash */
    size_t value_size;
    void *value = s_raw_get (dir, "matrices", matrix_hash, SF_STORE_HASH_BYTES, &value_size);
    uint8_t other[SF_STORE_HASH_BYTES];
    memset (other, 0xab, sizeof other);
    s_raw_put (dir, "matrices", other, sizeof other, value, value_size);
    free (value);
    /* kernels: a cubin that does not hash to its key */
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 20);
    uint8_t *cubin = s_blob (100, 9);
    sf_store_kernel_t k = s_kernel (cubin, 100);
    ck_assert_int_eq (sf_record_encode_kernel (&k, key, &size, out), SF_OK);
    s_raw_put (dir, "kernels", other, sizeof other, sf_mpack_out_data (out), sf_mpack_out_size (out));
    /* models: an array that announces a billion elements */
    size = sf_record_key_model ("H100", 3, key);
    s_raw_put (dir, "models", key, size, "\xdd\x40\x00\x00\x00", 5);
    /* best: a time out of bounds */
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 3);
    sf_mpack_out_kstr (out, "template", "U");
    sf_mpack_out_kstr (out, "config", "U:a");
    sf_mpack_out_kdouble (out, "us", -5.0);
    s_raw_put (dir, "best", key, sf_record_key_best (1, 3, key), sf_mpack_out_data (out), sf_mpack_out_size (out));
    /* meta: an entry nobody knows */
    s_raw_put (dir, "meta", "colour", 6, "\xa3red", 4);
    sf_mpack_out_destroy (&out);
    free (cubin);
    return 8;
}

typedef struct {
    int count;
    bool saw[SF_DB_COUNT];
    char reasons[4096];
} s_bad_t;

static void
s_collect_bad (void *arg, sf_store_db db, const void *key, size_t key_size, const char *reason)
{
    s_bad_t *bad = arg;
    bad->count++;
    bad->saw[db] = true;
    size_t used = strlen (bad->reasons);
    snprintf (bad->reasons + used, sizeof bad->reasons - used, "%s\n", reason);
}

START_TEST (test_verify_reports_malformed_records)
{
    const char *dir = s_dir;
    sf_store_t *store = s_writer (dir, 0, 0);
    uint8_t hash[SF_STORE_HASH_BYTES];
    s_fill (store, hash);
    sf_store_destroy (&store);
    int garbage = s_write_garbage (dir, hash);

    store = sf_store_open (dir, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (store);
    s_bad_t bad = { 0 };
    uint64_t checked, nbad;
    ck_assert_int_eq (sf_store_verify (store, s_collect_bad, &bad, &checked, &nbad), SF_OK);
    ck_assert_uint_eq (nbad, (uint64_t) garbage);
    ck_assert_int_eq (bad.count, garbage);
    ck_assert_uint_eq (checked, 10 + (uint64_t) garbage);
    for (int db = 0; db < SF_DB_COUNT; db++)
        ck_assert_msg (bad.saw[db], "no bad record reported in %s", sf_record_db_name (db));
    const char *expect[] = { "type 0xc1 is not accepted", "campaigns key: wrong length", "missing field 'state'",
                             "content hash", "cubin's SHA-256 does not match",
                             "elements announced", "us: -5 is outside", "unknown meta entry" };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        ck_assert_msg (strstr (bad.reasons, expect[i]), "no '%s' in:\n%s", expect[i], bad.reasons);

    /* Typed reads of a bad record fail with its name, never misread it. */
    sf_store_result_key_t rk = s_rkey ("H100", hash, 64, SF_TEMPLATE_U, "U:garbage", false);
    sf_store_result_t r;
    ck_assert_int_eq (sf_store_get_result (store, &rk, &r), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "results H100 | "));
    int seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, NULL, NULL, 0, s_count_results, &seen), SF_ERR_FORMAT);
    sf_store_destroy (&store);
}
END_TEST

/* ---- fixtures for tests/cli_store.sh ------------------------------------- */

/*  `check_store --seeds DIR`: the record fuzzer's corpus (tests/fuzz/record/):
    every record of a filled store as tests/fuzz/fuzz_record.c reads one, a
    database byte, a key length byte, the key and the value. */
static void
s_write_seeds (const char *dir)
{
    char store[4200];
    snprintf (store, sizeof store, "%s.store.XXXXXX", dir);
    ck_assert_ptr_nonnull (mkdtemp (store));
    sf_store_t *st = s_writer (store, 0, 0);
    uint8_t hash[SF_STORE_HASH_BYTES];
    s_fill (st, hash);
    sf_store_destroy (&st);
    MDB_env *env;
    MDB_txn *txn;
    ck_assert_int_eq (mdb_env_create (&env), 0);
    ck_assert_int_eq (mdb_env_set_maxdbs (env, 16), 0);
    ck_assert_int_eq (mdb_env_open (env, store, MDB_RDONLY, 0600), 0);
    ck_assert_int_eq (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    for (int db = 0; db < SF_DB_COUNT; db++) {
        MDB_dbi dbi;
        MDB_cursor *cursor;
        ck_assert_int_eq (mdb_dbi_open (txn, sf_record_db_name (db), 0, &dbi), 0);
        ck_assert_int_eq (mdb_cursor_open (txn, dbi, &cursor), 0);
        MDB_val k, v;
        for (int i = 0, rc = mdb_cursor_get (cursor, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get (cursor, &k, &v, MDB_NEXT), i++) {
            ck_assert_uint_lt (k.mv_size, 256);
            char path[4300];
            snprintf (path, sizeof path, "%s/%s-%d", dir, sf_record_db_name (db), i);
            FILE *f = fopen (path, "wb");
            ck_assert_ptr_nonnull (f);
            uint8_t head[2] = { (uint8_t) db, (uint8_t) k.mv_size };
            ck_assert_uint_eq (fwrite (head, 1, 2, f), 2);
            ck_assert_uint_eq (fwrite (k.mv_data, 1, k.mv_size, f), k.mv_size);
            ck_assert_uint_eq (fwrite (v.mv_data, 1, v.mv_size, f), v.mv_size);
            fclose (f);
        }
        mdb_cursor_close (cursor);
    }
    mdb_txn_abort (txn);
    mdb_env_close (env);
    s_rmrf (store);
}

/*  ck_assert reports to the test runner, so the fixtures run as a test. */
static int s_fixture_argc;
static char **s_fixture_argv;

START_TEST (test_fixture)
{
    int argc = s_fixture_argc;
    char **argv = s_fixture_argv;
    const char *mode = argv[1], *dir = argv[2];
    if (strcmp (mode, "--schema") == 0 && argc == 4) {
        uint8_t v = (uint8_t) atoi (argv[3]);
        s_raw_put (dir, "meta", "schema", 6, &v, 1);
        return;
    }
    if (strcmp (mode, "--seeds") == 0) {
        s_write_seeds (dir);
        return;
    }
    ck_assert (strcmp (mode, "--fill") == 0 || strcmp (mode, "--garbage") == 0
               || (strcmp (mode, "--hold") == 0 && argc == 5) || (strcmp (mode, "--bulk") == 0 && argc == 4));
    sf_store_t *store = s_writer (dir, 0, 0);
    uint8_t hash[SF_STORE_HASH_BYTES];
    if (strcmp (mode, "--bulk") == 0)
        s_bulk (store, hash, atoi (argv[3]));
    else if (strcmp (mode, "--hold") != 0)
        s_fill (store, hash);
    else {
        FILE *ready = fopen (argv[3], "w");
        ck_assert_ptr_nonnull (ready);
        fclose (ready);
        for (int i = 0; i < 600 && access (argv[4], F_OK) != 0; i++)
            usleep (100000);
    }
    sf_store_destroy (&store);
    if (strcmp (mode, "--garbage") == 0)
        s_write_garbage (dir, hash);
}
END_TEST

static int
s_fixture (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: check_store [--fill|--garbage|--schema N|--hold READY GO|--bulk N|--seeds] DIR\n");
        return 2;
    }
    s_fixture_argc = argc;
    s_fixture_argv = argv;
    Suite *s = suite_create ("store fixture");
    TCase *tc = tcase_create ("fixture");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_fixture);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("store");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 120);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_mpack_writes_and_reads_checked);
    tcase_add_test (tc, test_mpack_rejects_malformed_bytes);
    tcase_add_test (tc, test_create_meta_and_default_dir);
    tcase_add_test (tc, test_roundtrip_every_record);
    tcase_add_test (tc, test_best_blas16_optional);
    tcase_add_test (tc, test_results_keyed_by_content);
    tcase_add_test (tc, test_tiers_in_keys_and_campaigns);
    tcase_add_test (tc, test_put_refuses_bad_records);
    tcase_add_test (tc, test_decoders_survive_corruption);
    tcase_add_test (tc, test_unknown_schema_refused);
    tcase_add_test (tc, test_second_writer_refused);
    tcase_add_test (tc, test_map_grows_when_full);
    tcase_add_test (tc, test_crash_mid_batch_keeps_whole_batches);
    tcase_add_test (tc, test_reader_process_during_writes);
    tcase_add_test (tc, test_verify_reports_malformed_records);
    suite_add_tcase (s, tc);
    return s;
}

int
main (int argc, char **argv)
{
    if (argc > 1)
        return s_fixture (argc, argv);
    return sf_check_run (s_suite ());
}
