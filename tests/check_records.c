/*  Check suite of the store's records against golden bytes: every record
    type (and the shapes of its optional fields) encoded by
    sf_record_encode_* and compared, key and value, byte for byte, with
    tests/data/records-golden.txt, which the hand-written encoders of
    main 32a83a6 wrote (before the records became schema tables). A store
    written before therefore holds exactly the bytes the codec writes now,
    and each golden value also decodes back to the record it came from.

    `check_records --write FILE` writes the golden file from the encoders
    of the tree it was built from (how the committed file was made). */

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_mpack_out.h"
#include "store/sf_record.h"

#define S_CASES_MAX 64

typedef struct {
    char name[48];
    sf_store_db db;
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    uint8_t *value;
    size_t value_size;
} s_case_t;

static s_case_t s_cases[S_CASES_MAX];
static size_t s_count;

static void
s_add (const char *name, sf_store_db db, const uint8_t *key, size_t key_size, sf_mpack_out_t *out)
{
    ck_assert_uint_lt (s_count, S_CASES_MAX);
    s_case_t *c = &s_cases[s_count++];
    snprintf (c->name, sizeof c->name, "%s", name);
    c->db = db;
    memcpy (c->key, key, key_size);
    c->key_size = key_size;
    c->value_size = sf_mpack_out_size (out);
    c->value = malloc (c->value_size);
    memcpy (c->value, sf_mpack_out_data (out), c->value_size);
}

#define S_ENCODE(name, db, call)                                                        \
    do {                                                                                \
        int rc_ = (call);                                                             \
        ck_assert_msg (rc_ == SF_OK, "%s: %s", name, sf_error_message ());              \
        s_add (name, db, key, key_size, out);                                           \
    } while (0)

/*  Every record type, each optional field both ways. */
static void
s_build_cases (void)
{
    s_count = 0;
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 20);
    ck_assert_ptr_nonnull (out);

    sf_record_meta_t meta = { .key = "schema", .u = 1 };
    S_ENCODE ("meta-schema", SF_DB_META, sf_record_encode_meta (&meta, key, &key_size, out));
    meta = (sf_record_meta_t) { .key = "created", .i = 1765000000123 };
    S_ENCODE ("meta-created", SF_DB_META, sf_record_encode_meta (&meta, key, &key_size, out));
    meta = (sf_record_meta_t) { .key = "tool", .text = "spmmfarm 0.15" };
    S_ENCODE ("meta-tool", SF_DB_META, sf_record_encode_meta (&meta, key, &key_size, out));

    int32_t *rp = malloc (4 * sizeof *rp), *ci = malloc (5 * sizeof *ci);
    float *v = malloc (5 * sizeof *v);
    const int32_t rp0[] = { 0, 2, 2, 5 }, ci0[] = { 0, 3, 1, 2, 3 };
    const float v0[] = { 1.5f, -2.0f, 0.25f, 1e-3f, 300.0f };
    memcpy (rp, rp0, sizeof rp0), memcpy (ci, ci0, sizeof ci0), memcpy (v, v0, sizeof v0);
    sf_matrix_t *m = sf_matrix_new_csr (3, 4, &rp, &ci, &v);
    ck_assert_ptr_nonnull (m);
    S_ENCODE ("matrix", SF_DB_MATRICES, sf_record_encode_matrix (m, key, &key_size, out));
    sf_matrix_destroy (&m);

    uint8_t h1[SF_STORE_HASH_BYTES], h2[SF_STORE_HASH_BYTES];
    for (int i = 0; i < SF_STORE_HASH_BYTES; i++)
        h1[i] = (uint8_t) (i * 7 + 1), h2[i] = (uint8_t) (255 - i);
    sf_store_layer_t layers[2] = { { .name = "fc1", .n = 64, .bias = true },
                                   { .name = "bert.layer.0.attention", .n = 300000, .relu = true } };
    memcpy (layers[0].matrix, h1, sizeof h1);
    memcpy (layers[1].matrix, h2, sizeof h2);
    sf_store_campaign_t c = { .id = 1, .name = "plain", .strategy = "proxy", .state = SF_CAMPAIGN_QUEUED,
                              .created_ms = 1765000000000, .layers = layers, .layer_count = 1,
                              .search = { .seed = 1 } };
    S_ENCODE ("campaign-default", SF_DB_CAMPAIGNS, sf_record_encode_campaign (&c, key, &key_size, out));
    c.search = (sf_store_search_t) { .max_configs = -3, .proxy_top = -1, .top_k = 0, .tol = -1.0, .seed = 0 };
    c.id = 2;
    c.layer_count = 0;
    c.state = SF_CAMPAIGN_CANCELLED;
    S_ENCODE ("campaign-clamped", SF_DB_CAMPAIGNS, sf_record_encode_campaign (&c, key, &key_size, out));
    c = (sf_store_campaign_t) { .id = 0x0102030405060708ull, .name = "full \xc3\xa9t\xc3\xa9", .strategy = "rank",
                                .state = SF_CAMPAIGN_DONE_WITH_FAILURES, .created_ms = 1,
                                .gpu_type = "NVIDIA H100 80GB HBM3", .layers = layers, .layer_count = 2,
                                .request = "strategy=rank top-k=64", .owner = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7" };
    c.counters = (sf_store_counters_t) { .jobs_total = 10, .jobs_done = 7, .jobs_failed = 1, .results = 1u << 20,
                                         .wall_s = 12.5, .cpu_s = 3.25, .gpu_s = 0.1, .layers_narrowed = 0,
                                         .layers_without_u = 0, .configs_skipped = 4000000000ull };
    c.search = (sf_store_search_t) { .max_configs = 300, .proxy_top = 16, .top_k = 64, .seed = UINT64_MAX,
                                     .tol = 1e-3, .model_version = 7, .fallback = true, .templates = 2,
                                     .max_code_fmas = 70000, .run_timeout_s = 7.5, .u_split = true,
                                     .d_union = true, .no_d_slab = true, .tier = SF_TIER_BF16,
                                     .layout = SF_LAYOUT_NK, .budget_s = 3600 };
    S_ENCODE ("campaign-full", SF_DB_CAMPAIGNS, sf_record_encode_campaign (&c, key, &key_size, out));
    c.search = (sf_store_search_t) { .seed = 5, .tier = SF_TIER_FP16 };
    c.counters = (sf_store_counters_t) { .layers_without_u = 1 };
    c.request[0] = c.owner[0] = '\0';
    S_ENCODE ("campaign-some", SF_DB_CAMPAIGNS, sf_record_encode_campaign (&c, key, &key_size, out));

    char configs[3][SF_STORE_CONFIG_MAX] = { "U:r4.c32", "D:r64.v2.t512.g4.o0.e2.none", "" };
    sf_store_job_t job = { .campaign = 3, .id = 9, .state = SF_JOB_PENDING, .layer = 0, .kind = "proxy" };
    S_ENCODE ("job-plain", SF_DB_JOBS, sf_record_encode_job (&job, key, &key_size, out));
    job = (sf_store_job_t) { .campaign = 1ull << 40, .id = 70000, .state = SF_JOB_LEASED, .layer = 65535,
                             .kind = "full", .configs = configs, .config_count = 3, .attempts = 2, .lost = 1,
                             .worker = "gpu-node-7:0", .lease_deadline_ms = 1765000000999,
                             .error = "CUDA_ERROR_LAUNCH_FAILED\nat line 3" };
    S_ENCODE ("job-full", SF_DB_JOBS, sf_record_encode_job (&job, key, &key_size, out));

    sf_store_result_key_t rk = { .gpu_type = "H100", .n = 64, .tmpl = SF_TEMPLATE_U, .config = "U:r4.c32" };
    memcpy (rk.matrix, h1, sizeof h1);
    sf_store_result_t r = { .status = 0, .simulated = false, .us = 12.25, .spread_us = 0.5, .p10_us = 12.0,
                            .p90_us = 13.0, .err = 1e-6, .samples = 50,
                            .compile = { .seconds = 0.75, .regs = 64, .spills = 0, .shared_bytes = 4096,
                                         .code_bytes = 123456 },
                            .worker = "w1", .recorded_ms = 1765000000500, .has_kernel = true };
    memcpy (r.kernel, h2, sizeof h2);
    S_ENCODE ("result-kernel", SF_DB_RESULTS, sf_record_encode_result (&rk, &r, key, &key_size, out));
    rk.tier = SF_TIER_BF16;
    rk.layout = SF_LAYOUT_NK;
    rk.proxy = true;
    rk.tmpl = SF_TEMPLATE_T;
    r = (sf_store_result_t) { .status = -17, .simulated = true, .us = NAN, .spread_us = NAN, .p10_us = NAN,
                              .p90_us = NAN, .err = NAN, .worker = "" };
    S_ENCODE ("result-failed", SF_DB_RESULTS, sf_record_encode_result (&rk, &r, key, &key_size, out));

    sf_store_best_t b = { .tmpl = SF_TEMPLATE_U, .config = "dense", .us = 30.0, .err = NAN, .sgemm_us = 30.0,
                          .tf32_us = NAN, .cusparse_us = 80.0, .blas16_us = NAN, .blas16_err = NAN,
                          .recorded_ms = 2 };
    S_ENCODE ("best-dense", SF_DB_BEST, sf_record_encode_best (4, 0, &b, key, &key_size, out));
    b = (sf_store_best_t) { .tmpl = SF_TEMPLATE_D, .config = "D:r64.v2.t512.g4.o0.e2.none", .us = 3.5,
                            .err = 2e-3, .simulated = true, .has_kernel = true, .sgemm_us = 10.0,
                            .tf32_us = 6.0, .cusparse_us = 20.0, .blas16_us = 4.5, .blas16_err = 1e-2,
                            .recorded_ms = 1765000000001, .driver = "13.0" };
    memcpy (b.kernel, h1, sizeof h1);
    S_ENCODE ("best-full", SF_DB_BEST, sf_record_encode_best (4, 70000, &b, key, &key_size, out));
    b.blas16_err = NAN;
    b.driver[0] = '\0';
    S_ENCODE ("best-some", SF_DB_BEST, sf_record_encode_best (5, 1, &b, key, &key_size, out));

    uint8_t cubin[300], data[40];
    for (size_t i = 0; i < sizeof cubin; i++)
        cubin[i] = (uint8_t) (i * 31);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t) (i + 100);
    sf_store_kernel_t k = { .cubin = cubin, .cubin_size = sizeof cubin, .source = NULL, .tmpl = SF_TEMPLATE_U,
                            .config = "U:r4.c32" };
    k.launch = (sf_launch_t) { .entry = "sf_u", .block_threads = 256, .cols_per_block = 32, .panel_groups = 2,
                               .order = 1, .vec = 4, .shared_bytes = 49152, .panels = 10, .code_panels = 3,
                               .code_fmas = 5000000000ll };
    S_ENCODE ("kernel-plain", SF_DB_KERNELS, sf_record_encode_kernel (&k, key, &key_size, out));
    k.source = "extern \"C\" __global__ void sf_d() {}\n";
    k.source_size = 0;
    k.tmpl = SF_TEMPLATE_D;
    k.data = data;
    k.data_size = sizeof data;
    S_ENCODE ("kernel-data", SF_DB_KERNELS, sf_record_encode_kernel (&k, key, &key_size, out));
    k.source_size = 10;  /* a prefix of the text */
    k.data_size = 0;
    S_ENCODE ("kernel-sized", SF_DB_KERNELS, sf_record_encode_kernel (&k, key, &key_size, out));

    sf_store_model_t model = { .gpu_type = "H100", .version = 1, .xgboost_json = NULL, .created_ms = 3 };
    S_ENCODE ("model-empty", SF_DB_MODELS, sf_record_encode_model (&model, key, &key_size, out));
    sf_store_metric_t metrics[2] = { { "recall@10", 0.875 }, { "loss", NAN } };
    model = (sf_store_model_t) { .gpu_type = "NVIDIA H100 80GB HBM3", .version = 12,
                                 .xgboost_json = "{\"learner\":{}}", .problems = 40, .candidates = 12000,
                                 .seconds = 9.5, .note = "nightly", .metrics = metrics, .metric_count = 2,
                                 .created_ms = 1765000000777 };
    S_ENCODE ("model-full", SF_DB_MODELS, sf_record_encode_model (&model, key, &key_size, out));
    model.xgboost_size = 5;
    model.metric_count = 1;
    S_ENCODE ("model-sized", SF_DB_MODELS, sf_record_encode_model (&model, key, &key_size, out));
    sf_mpack_out_destroy (&out);
}

static void
s_free_cases (void)
{
    for (size_t i = 0; i < s_count; i++)
        free (s_cases[i].value);
    s_count = 0;
}

static void
s_hex (FILE *f, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf (f, "%02x", b[i]);
}

/*  One golden line: "NAME DB KEYHEX VALUEHEX". */
static uint8_t *
s_unhex (const char *hex, size_t *n)
{
    size_t len = strlen (hex);
    ck_assert_uint_eq (len % 2, 0);
    uint8_t *out = malloc (len / 2 + 1);
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        ck_assert_int_eq (sscanf (hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t) v;
    }
    *n = len / 2;
    return out;
}

START_TEST (test_records_match_golden_bytes)
{
    const char *top = getenv ("SF_TOP_SRCDIR");
    char path[4096];
    snprintf (path, sizeof path, "%s/tests/data/records-golden.txt", top ? top : ".");
    FILE *f = fopen (path, "r");
    ck_assert_msg (f != NULL, "cannot open %s", path);
    s_build_cases ();
    size_t line_size = 1 << 16, seen = 0;
    char *line = malloc (line_size);
    while (fgets (line, (int) line_size, f)) {
        char name[64], db[16];
        static char key_hex[2 * SF_RECORD_KEY_MAX + 2], value_hex[1 << 15];
        if (line[0] == '#')
            continue;
        ck_assert_int_eq (sscanf (line, "%63s %15s %1023s %32767s", name, db, key_hex, value_hex), 4);
        const s_case_t *c = NULL;
        for (size_t i = 0; i < s_count; i++)
            if (strcmp (s_cases[i].name, name) == 0)
                c = &s_cases[i];
        ck_assert_msg (c != NULL, "golden case %s is not built", name);
        ck_assert_str_eq (db, sf_record_db_name (c->db));
        size_t key_size, value_size;
        uint8_t *gk = s_unhex (key_hex, &key_size), *gv = s_unhex (value_hex, &value_size);
        ck_assert_msg (key_size == c->key_size && memcmp (gk, c->key, key_size) == 0, "%s: key differs", name);
        ck_assert_msg (value_size == c->value_size && memcmp (gv, c->value, value_size) == 0,
                       "%s: value differs (%zu bytes, golden %zu)", name, c->value_size, value_size);
        /* the golden bytes decode, and encode again to themselves */
        sf_record_t rec;
        ck_assert_msg (sf_record_decode (c->db, gk, key_size, gv, value_size, &rec) == SF_OK, "%s: %s", name,
                       sf_error_message ());
        /* an empty list reads as NULL, as the records' users expect (they
           copy a list only when it has items) */
        if (c->db == SF_DB_CAMPAIGNS && rec.u.campaign.layer_count == 0)
            ck_assert_ptr_null (rec.u.campaign.layers);
        if (c->db == SF_DB_JOBS && rec.u.job.config_count == 0)
            ck_assert_ptr_null (rec.u.job.configs);
        if (c->db == SF_DB_MODELS && rec.u.model.metric_count == 0)
            ck_assert_ptr_null (rec.u.model.metrics);
        uint8_t again[SF_RECORD_KEY_MAX];
        ck_assert_uint_eq (sf_record_key_of (&rec, again), key_size);
        ck_assert (memcmp (again, gk, key_size) == 0);
        sf_record_free (&rec);
        free (gk);
        free (gv);
        seen++;
    }
    ck_assert_uint_eq (seen, s_count);
    free (line);
    fclose (f);
    s_free_cases ();
}
END_TEST

/*  A case's value, mutated: `from` (n bytes) replaced by `to` (m bytes);
    the map header byte (a fixmap) adjusted by `more` entries. */
static int
s_decode_mutated (const char *name, const char *from, size_t n, const char *to, size_t m, int more)
{
    const s_case_t *c = NULL;
    for (size_t i = 0; i < s_count; i++)
        if (strcmp (s_cases[i].name, name) == 0)
            c = &s_cases[i];
    ck_assert_ptr_nonnull (c);
    uint8_t *v = malloc (c->value_size + m + 1);
    const uint8_t *at = n ? memmem (c->value, c->value_size, from, n) : c->value + c->value_size;
    ck_assert_ptr_nonnull (at);
    size_t head = (size_t) (at - c->value);
    memcpy (v, c->value, head);
    memcpy (v + head, to, m);
    memcpy (v + head + m, at + n, c->value_size - head - n);
    v[0] = (uint8_t) (v[0] + more);
    sf_record_t rec;
    int rc = sf_record_decode (c->db, c->key, c->key_size, v, c->value_size - n + m, &rec);
    sf_record_free (&rec);
    free (v);
    return rc;
}

#define S_BYTES(lit) lit, sizeof lit - 1

START_TEST (test_records_refuse_hostile)
{
    s_build_cases ();
    /* a field added by a later version is skipped */
    ck_assert_int_eq (s_decode_mutated ("result-kernel", NULL, 0, S_BYTES ("\xa6" "future" "\x93\x01\x02\x03"), 1),
                      SF_OK);
    /* a known key twice, a value of the wrong type, nil for an optional field */
    ck_assert_int_eq (s_decode_mutated ("result-kernel", NULL, 0, S_BYTES ("\xa6" "worker" "\xa0"), 1), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "results value: worker: key appears twice"));
    ck_assert_int_eq (s_decode_mutated ("result-kernel", S_BYTES ("\xa9simulated\xc2"), S_BYTES ("\xa9simulated\x00"), 0),
                      SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "simulated: expected a boolean"));
    ck_assert_int_eq (s_decode_mutated ("best-full", S_BYTES ("\xa6" "driver" "\xa4" "13.0"), S_BYTES ("\xa6" "driver" "\xc0"), 0),
                      SF_ERR_FORMAT);
    /* enums by name only */
    ck_assert_int_eq (s_decode_mutated ("best-dense", S_BYTES ("\xa8template\xa1U"), S_BYTES ("\xa8template\xa1Q"), 0),
                      SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "best value: template: unknown value 'Q'"));
    ck_assert_int_eq (s_decode_mutated ("campaign-full", S_BYTES ("\xa9precision\xa4" "bf16"), S_BYTES ("\xa9precision\xa4" "bf17"), 0),
                      SF_ERR_FORMAT);
    /* bounds: a nested field names its path; a metric name twice; a layout
       out of its table; a config longer than its buffer */
    ck_assert_int_eq (s_decode_mutated ("result-kernel", S_BYTES ("\xa4regs\x40"), S_BYTES ("\xa4regs\xd0\xff"), 0),
                      SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "results value: compile.regs: -1 out of range [0, 65535]"));
    ck_assert_int_eq (s_decode_mutated ("model-full", S_BYTES ("\xa4loss"), S_BYTES ("\xa9recall@10"), 0), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "key 'recall@10' appears twice"));
    ck_assert_int_eq (s_decode_mutated ("kernel-plain", S_BYTES ("\xa3vec\x04"), S_BYTES ("\xa3vec\x03"), 0), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "kernels value: vec: 3 is not 1, 2 or 4"));
    char long_config[1 + 1 + 200];
    long_config[0] = '\xd9';
    long_config[1] = (char) 200;
    memset (long_config + 2, 'c', 200);
    ck_assert_int_eq (s_decode_mutated ("job-full", S_BYTES ("\xa8U:r4.c32"), long_config, sizeof long_config, 0),
                      SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "jobs value: configs[0]: string of 200 bytes, more than 127"));
    /* a matrix whose arrays disagree with its shape */
    ck_assert_int_eq (s_decode_mutated ("matrix", S_BYTES ("\xa3nnz\x05"), S_BYTES ("\xa3nnz\x04"), 0), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "matrices value: colidx:"));
    /* trailing bytes after the value */
    ck_assert_int_eq (s_decode_mutated ("meta-tool", NULL, 0, S_BYTES ("\x01"), 0), SF_ERR_FORMAT);
    s_free_cases ();
}
END_TEST

/*  --write FILE: the golden file from this tree's encoders. */
START_TEST (test_write_golden)
{
    FILE *f = fopen (getenv ("SF_RECORDS_WRITE"), "w");
    ck_assert_ptr_nonnull (f);
    s_build_cases ();
    fprintf (f, "# records written by the hand-written encoders of main 32a83a6 (tests/check_records.c)\n"
                "# name database key-hex value-hex\n");
    for (size_t i = 0; i < s_count; i++) {
        fprintf (f, "%s %s ", s_cases[i].name, sf_record_db_name (s_cases[i].db));
        s_hex (f, s_cases[i].key, s_cases[i].key_size);
        fputc (' ', f);
        s_hex (f, s_cases[i].value, s_cases[i].value_size);
        fputc ('\n', f);
    }
    s_free_cases ();
    ck_assert_int_eq (fclose (f), 0);
}
END_TEST

int
main (int argc, char **argv)
{
    bool write = argc == 3 && strcmp (argv[1], "--write") == 0;
    if (write)
        setenv ("SF_RECORDS_WRITE", argv[2], 1);
    Suite *s = suite_create ("records");
    TCase *tc = tcase_create ("golden");
    tcase_add_test (tc, write ? test_write_golden : test_records_match_golden_bytes);
    if (!write)
        tcase_add_test (tc, test_records_refuse_hostile);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
