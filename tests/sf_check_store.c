/*  tests/sf_check_store: what the store's Check suites share (check_store,
    check_store_codec.c, check_store_faults.c: one program): each test's
    directory, a writer, commits, records to put, LMDB written and read
    raw, malformed records. */
#include "tests/sf_check_store.h"

#include <check.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_error.h"
#include "common/sf_mpack_out.h"
#include "tests/sf_check_dir.h"

void
sf_check_store_rmrf (const char *dir)
{
    nftw (dir, sf_check_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*  Each test's directory: made before, removed after (a checked fixture). */
char *sf_check_store_dir;

void
sf_check_store_setup (void)
{
    sf_check_store_dir = sf_check_dir_new ("store");
}

void
sf_check_store_teardown (void)
{
    sf_check_dir_destroy (&sf_check_store_dir);
}

sf_store_t *
sf_check_store_writer (const char *dir, size_t map_size, size_t map_limit)
{
    sf_store_opts_t opts = { map_size, map_limit };
    sf_store_t *store = sf_store_open_ex (dir, SF_STORE_WRITER, &opts);
    if (!store)
        fprintf (stderr, "open: %s\n", sf_error_message ());
    ck_assert_ptr_nonnull (store);
    return store;
}

void
sf_check_store_commit (sf_store_t *store, sf_store_batch_t *batch)
{
    int rc = sf_store_commit (store, batch);
    if (rc != SF_OK)
        fprintf (stderr, "commit: %s\n", sf_error_message ());
    ck_assert_int_eq (rc, SF_OK);
    ck_assert_uint_eq (sf_store_batch_count (batch), 0);
}

sf_store_result_key_t
sf_check_store_rkey (const char *gpu, const uint8_t *matrix, int64_t n, sf_template tmpl, const char *config,
                     bool proxy)
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

sf_store_result_t
sf_check_store_result (double us)
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
uint8_t *
sf_check_store_blob (size_t size, unsigned seed)
{
    uint8_t *b = malloc (size);
    ck_assert_ptr_nonnull (b);
    for (size_t i = 0; i < size; i++)
        b[i] = (uint8_t) (i * 31 + seed * 7 + (i >> 8));
    return b;
}

sf_store_kernel_t
sf_check_store_kernel (uint8_t *cubin, size_t size)
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

static void
s_digest (const sf_matrix_t *m, uint8_t out[SF_STORE_HASH_BYTES])
{
    ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (m), out), SF_OK);
}

/*  One record of every type; the matrix's digest into hash. */
void
sf_check_store_fill (sf_store_t *store, uint8_t hash[SF_STORE_HASH_BYTES])
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
    uint8_t *cubin = sf_check_store_blob (1000, 1);
    sf_store_kernel_t k = sf_check_store_kernel (cubin, 1000);
    uint8_t digest[SF_STORE_HASH_BYTES];
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, digest), SF_OK);
    sf_store_result_key_t rk = sf_check_store_rkey ("NVIDIA H100 80GB HBM3/sm_90/132sm", hash, 64, SF_TEMPLATE_U,
                                                    k.config, false);
    sf_store_result_t r = sf_check_store_result (31.5);
    r.has_kernel = true;
    memcpy (r.kernel, digest, SF_STORE_HASH_BYTES);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &rk, &r), SF_OK);
    sf_store_best_t best = { .tmpl = SF_TEMPLATE_U, .us = 31.5, .err = 2.5e-7, .has_kernel = true,
                             .sgemm_us = 137, .tf32_us = 49, .cusparse_us = NAN, .blas16_us = NAN,
                             .blas16_err = NAN, .recorded_ms = 1700000000999 };
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
    sf_check_store_commit (store, batch);
    sf_store_batch_destroy (&batch);
    sf_matrix_destroy (&m);
    free (cubin);
}

void
sf_check_store_filled (const char *dir, uint8_t hash[SF_STORE_HASH_BYTES])
{
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
    sf_check_store_fill (store, hash);
    sf_store_destroy (&store);
}

/*  dir's environment with the raw LMDB API (flags: 0 or MDB_RDONLY) and a
    transaction of the same kind. */
static void
s_raw_begin (const char *dir, unsigned flags, MDB_env **env, MDB_txn **txn)
{
    ck_assert_int_eq (mdb_env_create (env), 0);
    ck_assert_int_eq (mdb_env_set_maxdbs (*env, 16), 0);
    ck_assert_int_eq (mdb_env_open (*env, dir, flags, 0600), 0);
    ck_assert_int_eq (mdb_txn_begin (*env, NULL, flags, txn), 0);
}

void
sf_check_store_raw_read (const char *dir, MDB_env **env, MDB_txn **txn)
{
    s_raw_begin (dir, MDB_RDONLY, env, txn);
}

/*  Writes key -> value into database db_name with the raw LMDB API, as a
    bug or a foreign tool could; the store must not be open here. */
void
sf_check_store_raw_put (const char *dir, const char *db_name, const void *key, size_t key_size,
                        const void *value, size_t value_size)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    s_raw_begin (dir, 0, &env, &txn);
    ck_assert_int_eq (mdb_dbi_open (txn, db_name, MDB_CREATE, &dbi), 0);
    MDB_val k = { key_size, (void *) key }, v = { value_size, (void *) value };
    ck_assert_int_eq (mdb_put (txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq (mdb_txn_commit (txn), 0);
    mdb_env_close (env);
}

/*  Reads key's raw value from db_name into a malloc'ed copy. */
void *
sf_check_store_raw_get (const char *dir, const char *db_name, const void *key, size_t key_size, size_t *size)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    sf_check_store_raw_read (dir, &env, &txn);
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

int
sf_check_store_count_results (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    (*(int *) arg)++;
    return 0;
}

/*  Writes garbage with the raw LMDB API: one malformed record in every
    database, each broken in a different way. Returns how many. */
int
sf_check_store_write_garbage (const char *dir, const uint8_t matrix_hash[SF_STORE_HASH_BYTES])
{
    uint8_t key[SF_RECORD_KEY_MAX];
    /* results: a valid key, a value that is no MessagePack at all */
    sf_store_result_key_t rk = sf_check_store_rkey ("H100", matrix_hash, 64, SF_TEMPLATE_U, "U:garbage", false);
    size_t size = sf_record_key_result (&rk, key);
    sf_check_store_raw_put (dir, "results", key, size, "\xc1\xc1\xc1", 3);
    /* campaigns: a 3-byte key */
    sf_check_store_raw_put (dir, "campaigns", "abc", 3, "\x80", 1);
    /* jobs: a map without its fields */
    sf_check_store_raw_put (dir, "jobs", key, sf_record_key_pair (1, 7, key), "\x81\xa1x\x01", 4);
    /* matrices: a real matrix's value under another matrix's hash */
    size_t value_size;
    void *value = sf_check_store_raw_get (dir, "matrices", matrix_hash, SF_STORE_HASH_BYTES, &value_size);
    uint8_t other[SF_STORE_HASH_BYTES];
    memset (other, 0xab, sizeof other);
    sf_check_store_raw_put (dir, "matrices", other, sizeof other, value, value_size);
    free (value);
    /* kernels: a cubin that does not hash to its key */
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 20);
    uint8_t *cubin = sf_check_store_blob (100, 9);
    sf_store_kernel_t k = sf_check_store_kernel (cubin, 100);
    ck_assert_int_eq (sf_record_encode_kernel (&k, key, &size, out), SF_OK);
    sf_check_store_raw_put (dir, "kernels", other, sizeof other, sf_mpack_out_data (out), sf_mpack_out_size (out));
    /* models: an array that announces a billion elements */
    size = sf_record_key_model ("H100", 3, key);
    sf_check_store_raw_put (dir, "models", key, size, "\xdd\x40\x00\x00\x00", 5);
    /* best: a time out of bounds */
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 3);
    sf_mpack_out_kstr (out, "template", "U");
    sf_mpack_out_kstr (out, "config", "U:a");
    sf_mpack_out_kdouble (out, "us", -5.0);
    sf_check_store_raw_put (dir, "best", key, sf_record_key_best (1, 3, key), sf_mpack_out_data (out),
                            sf_mpack_out_size (out));
    /* meta: an entry nobody knows */
    sf_check_store_raw_put (dir, "meta", "colour", 6, "\xa3red", 4);
    sf_mpack_out_destroy (&out);
    free (cubin);
    return 8;
}
