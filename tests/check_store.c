/*  Check suite of store/: checked MessagePack, every record type's round
    trip, content keys and prefix scans, one writer, schema refusal, map
    growth, crash consistency (SIGKILL mid-batch), a reader process during
    writes, and `verify` on records written raw with LMDB. One program of
    three files: here the store's own tests, the fixtures and main;
    check_store_codec.c the MessagePack and record codec tests;
    check_store_faults.c crashes, readers and malformed records; what they
    share in tests/sf_check_store.{h,c}.

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
#include <lmdb.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "common/sf_sha256.h"
#include "config.h"
#include "common/sf_mpack_out.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "tests/sf_check_store.h"

/* ---- helpers ------------------------------------------------------------ */

/*  Opening dir must fail with status and a detail that says `says`. */
static void
s_refused (const char *dir, int flags, int status, const char *says)
{
    ck_assert_ptr_null (sf_store_open (dir, flags));
    ck_assert_int_eq (sf_error_last (), status);
    ck_assert_msg (strstr (sf_error_message (), says), "no '%s' in '%s'", says, sf_error_message ());
}

/*  One record of every type, then `count` more results and kernels: a
    store of many pages (branch, leaf and overflow) for the damage tests. */
static void
s_bulk (sf_store_t *store, uint8_t hash[SF_STORE_HASH_BYTES], int count)
{
    sf_check_store_fill (store, hash);
    sf_store_batch_t *batch = sf_store_batch_new ();
    for (int i = 0; i < count; i++) {
        uint8_t *cubin = sf_check_store_blob (200 + (size_t) (i % 7) * 900, (unsigned) i + 2);
        sf_store_kernel_t k = sf_check_store_kernel (cubin, 200 + (size_t) (i % 7) * 900);
        snprintf (k.config, sizeof k.config, "U:r%d.v4.t64.g2.o1.m128.sim", i + 1);
        uint8_t digest[SF_STORE_HASH_BYTES];
        ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, digest), SF_OK);
        sf_store_result_key_t rk = sf_check_store_rkey ("NVIDIA H100 80GB HBM3/sm_90/132sm", hash, 64 + i % 5,
                                                        SF_TEMPLATE_U, k.config, i % 2 == 0);
        sf_store_result_t r = sf_check_store_result (10.0 + i);
        r.has_kernel = true;
        memcpy (r.kernel, digest, SF_STORE_HASH_BYTES);
        ck_assert_int_eq (sf_store_batch_put_result (batch, &rk, &r), SF_OK);
        free (cubin);
    }
    sf_check_store_commit (store, batch);
    sf_store_batch_destroy (&batch);
}

/* ---- opening, meta, defaults --------------------------------------------- */

START_TEST (test_create_meta_and_default_dir)
{
    char *dir;
    ck_assert_int_gt (asprintf (&dir, "%s/a/b/store", sf_check_store_dir), 0);
    /* A reader needs a store; the writer creates the directories. */
    s_refused (dir, SF_STORE_READONLY, SF_ERR_NOTFOUND, "no store at");
    int64_t before = sf_store_now_ms ();
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
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
    store = sf_check_store_writer (dir, 0, 0);
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
    const char *dir = sf_check_store_dir;
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
    uint8_t hash[SF_STORE_HASH_BYTES];
    sf_check_store_fill (store, hash);

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
    uint8_t *cubin = sf_check_store_blob (1000, 1), digest[SF_STORE_HASH_BYTES];
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
    sf_store_result_key_t rk = sf_check_store_rkey ("NVIDIA H100 80GB HBM3/sm_90/132sm", hash, 64, SF_TEMPLATE_U,
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
    sf_check_store_commit (store, batch);
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
    sf_check_store_commit (store, batch);
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

START_TEST (test_results_keyed_by_content)
{
    const char *dir = sf_check_store_dir;
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
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
                        sf_store_result_key_t k = sf_check_store_rkey (gpus[g], matrices[m], ns[n],
                                                                       c == 2 ? SF_TEMPLATE_D : SF_TEMPLATE_U,
                                                                       configs[c], p);
                        sf_store_result_t r = sf_check_store_result (10 + c);
                        ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_OK);
                    }
    sf_check_store_commit (store, batch);
    /* The same measurement again: same key, one record, the later value. */
    sf_store_result_key_t k = sf_check_store_rkey ("H100", m1, 64, SF_TEMPLATE_U, "U:a", false);
    sf_store_result_t r = sf_check_store_result (9.0);
    ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_OK);
    sf_check_store_commit (store, batch);
    sf_store_stat_t st;
    ck_assert_int_eq (sf_store_stat (store, &st), SF_OK);
    ck_assert_uint_eq (st.db[SF_DB_RESULTS].entries, 48);
    ck_assert_int_eq (sf_store_get_result (store, &k, &r), SF_OK);
    ck_assert_double_eq (r.us, 9.0);

    int seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, "H100", m1, 64, sf_check_store_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 6);  /* 3 configs x proxy/full */
    seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, "H100", m1, 0, sf_check_store_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 12);
    seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, "H100", NULL, 0, sf_check_store_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 24);
    seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, NULL, NULL, 0, sf_check_store_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 48);
    seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, "A100", NULL, 0, sf_check_store_count_results, &seen), SF_OK);
    ck_assert_int_eq (seen, 0);
    ck_assert_int_eq (sf_store_each_result (store, "", NULL, 0, sf_check_store_count_results, &seen), SF_ERR_INVALID);

    /* A key's text names all its fields. */
    uint8_t key[SF_RECORD_KEY_MAX];
    char text[512];
    size_t size = sf_record_key_result (&k, key);
    ck_assert_uint_gt (size, 0);
    sf_record_key_text (SF_DB_RESULTS, key, size, text, sizeof text);
    ck_assert_str_eq (text, "H100 | 1111111111111111111111111111111111111111111111111111111111111111 | N=64 | U | U:a | full");
    ck_assert_int_eq (sf_store_batch_del_result (batch, &k), SF_OK);
    sf_check_store_commit (store, batch);
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
    sf_store_result_key_t k = sf_check_store_rkey ("H100", m1, 64, SF_TEMPLATE_U, "U:a", false);
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
    sf_store_result_t r = sf_check_store_result (3.0);
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
    sf_store_t *store = sf_check_store_writer (sf_check_store_dir, 0, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_result_key_t fp32 = sf_check_store_rkey ("H100", m1, 64, SF_TEMPLATE_U, "U:a", false), bf16 = fp32;
    bf16.tier = SF_TIER_BF16;
    bf16.layout = SF_LAYOUT_NK;
    sf_store_result_t r32 = sf_check_store_result (10.0), r16 = sf_check_store_result (4.0);
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
                                     .layout = SF_LAYOUT_NK, .top_k = 4000, .tmodel_version = 3 };
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &c), SF_OK);
    sf_store_campaign_t d = { .id = 2, .name = "plain", .strategy = "proxy", .state = SF_CAMPAIGN_DONE,
                              .layers = &layer, .layer_count = 1, .search = { .seed = 1 } };
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &d), SF_OK);
    sf_check_store_commit (store, batch);
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
    ck_assert_uint_eq (back.search.tmodel_version, 3);  /* T's model version, kept for a resume */
    sf_record_campaign_free (&back);
    ck_assert_int_eq (sf_store_get_campaign (store, 2, &back), SF_OK);
    ck_assert_int_eq (back.search.tier, SF_TIER_FP32);
    ck_assert_uint_eq (back.search.templates, 0);
    ck_assert (!back.search.u_split && !back.search.no_d_slab);
    ck_assert_uint_eq (back.search.tmodel_version, 0);
    sf_record_campaign_free (&back);
    /* the default request's campaign record is written as before: its
       search map has the seven fields it always had */
    ck_assert_int_eq (sf_record_encode_campaign (&d, scratch, &scratch_size, out), SF_OK);
    ck_assert_ptr_null (memmem (sf_mpack_out_data (out), sf_mpack_out_size (out), "precision", 9));
    ck_assert_ptr_null (memmem (sf_mpack_out_data (out), sf_mpack_out_size (out), "templates", 9));
    ck_assert_ptr_null (memmem (sf_mpack_out_data (out), sf_mpack_out_size (out), "tmodel_version", 14));
    c.search.tier = (sf_tier) 5;
    ck_assert_int_eq (sf_record_encode_campaign (&c, scratch, &scratch_size, out), SF_ERR_RANGE);
    sf_mpack_out_destroy (&out);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

/* ---- schema, foreign environments, one writer ------------------------------ */

START_TEST (test_unknown_schema_refused)
{
    const char *dir = sf_check_store_dir;
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
    sf_store_destroy (&store);
    const uint8_t v99 = 99;  /* MessagePack positive fixint */
    sf_check_store_raw_put (dir, "meta", "schema", 6, &v99, 1);
    s_refused (dir, SF_STORE_READONLY, SF_ERR_SCHEMA, "has schema version 99; this spmmfarm");
    s_refused (dir, SF_STORE_WRITER, SF_ERR_SCHEMA, "has schema version 99; this spmmfarm");
    const uint8_t garbage[] = { 0xa3, 'o', 'n', 'e' };  /* a string, not a version */
    sf_check_store_raw_put (dir, "meta", "schema", 6, garbage, sizeof garbage);
    s_refused (dir, SF_STORE_READONLY, SF_ERR_SCHEMA, "unreadable schema version");
    /* A later schema may add databases: the version is what is named. */
    sf_check_store_raw_put (dir, "meta", "schema", 6, &v99, 1);
    sf_check_store_raw_put (dir, "bundles", "k", 1, "v", 1);
    s_refused (dir, SF_STORE_READONLY, SF_ERR_SCHEMA, "schema version 99");

    /* An LMDB environment of someone else's is not taken over. */
    sf_check_store_rmrf (dir);
    ck_assert_int_eq (mkdir (dir, 0700), 0);
    sf_check_store_raw_put (dir, "customers", "k", 1, "v", 1);
    s_refused (dir, SF_STORE_WRITER, SF_ERR_FORMAT, "not a spmmfarm store (it has an entry 'customers')");
    s_refused (dir, SF_STORE_READONLY, SF_ERR_FORMAT, "not a spmmfarm store");
}
END_TEST

START_TEST (test_second_writer_refused)
{
    const char *dir = sf_check_store_dir;
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
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
    store = sf_check_store_writer (dir, 0, 0);
    sf_store_destroy (&store);
}
END_TEST

/* ---- map growth ----------------------------------------------------------- */

START_TEST (test_map_grows_when_full)
{
    const char *dir = sf_check_store_dir;
    /* 64 KiB: full after a few records; every commit below must still work. */
    sf_store_t *store = sf_check_store_writer (dir, 64 << 10, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    uint8_t m[SF_STORE_HASH_BYTES] = { 7 };
    for (int b = 0; b < 10; b++) {
        for (int i = 0; i < 100; i++) {
            char config[32];
            snprintf (config, sizeof config, "U:b%d.i%d", b, i);
            sf_store_result_key_t k = sf_check_store_rkey ("H100", m, 64, SF_TEMPLATE_U, config, false);
            sf_store_result_t r = sf_check_store_result (b + i);
            ck_assert_int_eq (sf_store_batch_put_result (batch, &k, &r), SF_OK);
        }
        sf_check_store_commit (store, batch);
    }
    uint8_t *cubin = sf_check_store_blob (3 << 20, 3);  /* 3 MiB in one record */
    sf_store_kernel_t k = sf_check_store_kernel (cubin, 3 << 20);
    uint8_t digest[SF_STORE_HASH_BYTES];
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, digest), SF_OK);
    sf_check_store_commit (store, batch);
    sf_store_stat_t st;
    ck_assert_int_eq (sf_store_stat (store, &st), SF_OK);
    ck_assert_uint_eq (st.db[SF_DB_RESULTS].entries, 1000);
    ck_assert_uint_ge (st.map_bytes, 3 << 20);
    sf_store_kernel_t got;
    ck_assert_int_eq (sf_store_get_kernel (store, digest, &got), SF_OK);
    ck_assert_int_eq (memcmp (got.cubin, cubin, 3 << 20), 0);
    sf_record_kernel_free (&got);
    sf_store_destroy (&store);
    sf_check_store_rmrf (dir);

    /* With a limit, a batch that cannot fit is refused whole, and the
       store goes on working. */
    store = sf_check_store_writer (dir, 64 << 10, 512 << 10);
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, NULL), SF_OK);
    sf_store_result_key_t rk = sf_check_store_rkey ("H100", m, 64, SF_TEMPLATE_U, "U:x", false);
    sf_store_result_t r = sf_check_store_result (1);
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
    sf_check_store_commit (store, batch);
    ck_assert_int_eq (sf_store_get_result (store, &rk, &r), SF_OK);
    sf_store_destroy (&store);
    sf_store_batch_destroy (&batch);
    free (cubin);
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
    uint8_t hash[SF_STORE_HASH_BYTES];
    sf_check_store_filled (store, hash);
    MDB_env *env;
    MDB_txn *txn;
    sf_check_store_raw_read (store, &env, &txn);
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
    sf_check_store_rmrf (store);
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
        sf_check_store_raw_put (dir, "meta", "schema", 6, &v, 1);
        return;
    }
    if (strcmp (mode, "--seeds") == 0) {
        s_write_seeds (dir);
        return;
    }
    ck_assert (strcmp (mode, "--fill") == 0 || strcmp (mode, "--garbage") == 0
               || (strcmp (mode, "--hold") == 0 && argc == 5) || (strcmp (mode, "--bulk") == 0 && argc == 4));
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
    uint8_t hash[SF_STORE_HASH_BYTES];
    if (strcmp (mode, "--bulk") == 0)
        s_bulk (store, hash, atoi (argv[3]));
    else if (strcmp (mode, "--hold") != 0)
        sf_check_store_fill (store, hash);
    else {
        FILE *ready = fopen (argv[3], "w");
        ck_assert_ptr_nonnull (ready);
        fclose (ready);
        for (int i = 0; i < 600 && access (argv[4], F_OK) != 0; i++)
            usleep (100000);
    }
    sf_store_destroy (&store);
    if (strcmp (mode, "--garbage") == 0)
        sf_check_store_write_garbage (dir, hash);
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
    tcase_add_checked_fixture (tc, sf_check_store_setup, sf_check_store_teardown);
    sf_check_store_codec (tc);
    tcase_add_test (tc, test_create_meta_and_default_dir);
    tcase_add_test (tc, test_roundtrip_every_record);
    tcase_add_test (tc, test_results_keyed_by_content);
    tcase_add_test (tc, test_tiers_in_keys_and_campaigns);
    tcase_add_test (tc, test_unknown_schema_refused);
    tcase_add_test (tc, test_second_writer_refused);
    tcase_add_test (tc, test_map_grows_when_full);
    sf_check_store_faults (tc);
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
