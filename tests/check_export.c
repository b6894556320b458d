/*  check_export: bundles from a store (store/sf_export). Each test writes a
    real store through the store API (campaigns, best records, kernels,
    matrices, models), exports it into a real bundle directory and reads
    that back with sf_bundle_load, which checks every file's SHA-256. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/sf_check.h"
#include "tests/sf_check_bundle.h"
#include "bundle/sf_bundle.h"
#include "common/sf_buf.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_sha256.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_tcdense.h"
#include "proxygen/sf_tencode.h"
#include "proxygen/sf_tkernel.h"
#include "store/sf_export.h"
#include "store/sf_record.h"
#include "store/sf_store.h"

#define S_H100 "NVIDIA H100 80GB HBM3/sm_90/132sm"
#define S_A100 "NVIDIA A100-SXM4-80GB/sm_80/108sm"
#define S_SIM "sim/h100-model/132sm"
#define S_U_CONFIG "U:r16.v4.t32.g2.o1.m64.sim"
#define S_D_CONFIG "D:r2.v1.t64.g1.o0.none"
#define S_PTX "// PTX of fc1\n.version 8.0\n.target sm_90\n"
#define S_CUDA "// CUDA C of the D kernel\nextern \"C\" __global__ void sf_d (void) {}\n"

/* ---- fixture: a store directory and a bundle path ----------------------------- */

static char *s_tmp;
static char s_store_dir[4200], s_bundle_dir[4200];
static sf_store_t *s_store;

static void
s_setup (void)
{
    s_tmp = sf_test_tmpdir ();
    snprintf (s_store_dir, sizeof s_store_dir, "%s/store", s_tmp);
    snprintf (s_bundle_dir, sizeof s_bundle_dir, "%s/model.bundle", s_tmp);
    s_store = sf_store_open (s_store_dir, SF_STORE_WRITER);
    ck_assert_msg (s_store != NULL, "%s", sf_error_message ());
}

static void
s_teardown (void)
{
    sf_store_destroy (&s_store);
    sf_test_rmtree (s_tmp);
    s_tmp = NULL;
}

/* ---- records ------------------------------------------------------------------ */

/*  An M x K matrix with about a third of its entries zero (seeded). */
static sf_matrix_t *
s_matrix (int m, int k, int seed)
{
    float *dense = calloc ((size_t) m * k, sizeof *dense);
    for (int i = 0; i < m * k; i++)
        dense[i] = (i * 7 + seed) % 3 == 0 ? 0.0f : (float) ((i * 13 + seed) % 17) - 8.0f;
    sf_matrix_t *a = sf_matrix_new_dense (m, k, dense);
    free (dense);
    ck_assert_ptr_nonnull (a);
    return a;
}

typedef struct {
    const char *name;
    sf_matrix_t *a;      /* borrowed */
    int64_t n;
    bool bias, relu;
    sf_template tmpl;    /* the winner's */
    bool best;           /* a best record for it */
    bool kernel;         /* its kernel in the store (U, D) */
} s_layer_t;

/*  Set by a test: D kernels carry another matrix's encoding. */
static bool s_foreign_d;

/*  The D encoding of a for S_D_CONFIG (malloc'ed). */
static void *
s_d_encoding (const sf_matrix_t *a, size_t *size)
{
    sf_config_t c;
    ck_assert_int_eq (sf_config_parse (S_D_CONFIG, &c), SF_OK);
    sf_panels_t *p = sf_panels_new (a, c.panel_rows, c.reorder);
    ck_assert_ptr_nonnull (p);
    void *data = NULL;
    ck_assert_int_eq (sf_dkernel_encode (&c, a, p, &data, size), SF_OK);
    sf_panels_destroy (&p);
    return data;
}

/*  The U or D kernel of a layer: a fake cubin named after the layer (so
    each has its own digest), its source, and for D some data. */
static void
s_kernel (const s_layer_t *l, sf_store_kernel_t *k, void **cubin)
{
    char entry[64];
    snprintf (entry, sizeof entry, "sf_%s_%s", l->tmpl == SF_TEMPLATE_U ? "u" : "d", l->name);
    for (char *p = entry; *p; p++)
        if (*p == '/')
            *p = '_';
    memset (k, 0, sizeof *k);
    *cubin = sf_test_fake_cubin (entry, &k->cubin_size);
    k->cubin = *cubin;
    k->tmpl = l->tmpl;
    if (l->tmpl == SF_TEMPLATE_U) {
        k->source = S_PTX;
        k->launch = (sf_launch_t) { .block_threads = 64, .cols_per_block = 128, .panel_groups = 3,
                                    .order = 1, .vec = 4, .shared_bytes = 0, .panels = 3,
                                    .code_panels = 3, .code_fmas = 20 };
        snprintf (k->config, sizeof k->config, "%s", S_U_CONFIG);
    }
    else {
        /* the layer's encoding (export checks it against the matrix);
           freed by the caller */
        sf_matrix_t *other = s_foreign_d ? s_matrix ((int) sf_matrix_rows (l->a), (int) sf_matrix_cols (l->a), 99)
                                        : NULL;
        k->source = S_CUDA;
        k->data = s_d_encoding (other ? other : l->a, &k->data_size);
        sf_matrix_destroy (&other);
        k->launch = (sf_launch_t) { .block_threads = 64, .cols_per_block = 64, .panel_groups = 4,
                                    .order = 0, .vec = 1, .shared_bytes = 1024, .panels = 4 };
        snprintf (k->config, sizeof k->config, "%s", S_D_CONFIG);
    }
    snprintf (k->launch.entry, sizeof k->launch.entry, "%s", entry);
}

/*  A campaign of these layers with their matrices, kernels and best records. */
static void
s_campaign (uint64_t id, const char *name, const char *gpu_type, sf_campaign_state state, bool simulated,
            const s_layer_t *layers, uint32_t count)
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_campaign_t c = { .id = id, .strategy = "proxy", .state = state, .created_ms = 1000,
                              .layer_count = count };
    snprintf (c.name, sizeof c.name, "%s", name);
    snprintf (c.gpu_type, sizeof c.gpu_type, "%s", gpu_type);
    c.layers = calloc (count, sizeof *c.layers);
    for (uint32_t i = 0; i < count; i++) {
        const s_layer_t *l = &layers[i];
        sf_store_layer_t *sl = &c.layers[i];
        snprintf (sl->name, sizeof sl->name, "%s", l->name);
        ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (l->a), sl->matrix), SF_OK);
        sl->n = l->n;
        sl->bias = l->bias;
        sl->relu = l->relu;
        ck_assert_int_eq (sf_store_batch_put_matrix (batch, l->a), SF_OK);
        sf_store_best_t best = { .tmpl = l->tmpl, .us = 10.0 + i, .err = 1e-7 * (i + 1),
                                 .simulated = simulated, .sgemm_us = 20, .tf32_us = 15,
                                 .cusparse_us = NAN, .recorded_ms = 2000, .driver = "13.0" };
        snprintf (best.config, sizeof best.config, "%s",
                  l->tmpl == SF_TEMPLATE_U ? S_U_CONFIG : l->tmpl == SF_TEMPLATE_D ? S_D_CONFIG : "dense");
        if (l->tmpl != SF_TEMPLATE_DENSE) {
            sf_store_kernel_t k;
            void *cubin;
            s_kernel (l, &k, &cubin);
            sf_record_kernel_digest (&k, best.kernel);
            best.has_kernel = true;
            if (l->kernel)
                ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, NULL), SF_OK);
            free (cubin);
            if (k.tmpl == SF_TEMPLATE_D)
                free (k.data);
        }
        if (l->best)
            ck_assert_int_eq (sf_store_batch_put_best (batch, id, i, &best), SF_OK);
    }
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &c), SF_OK);
    ck_assert_msg (sf_store_commit (s_store, batch) == SF_OK, "%s", sf_error_message ());
    free (c.layers);
    sf_store_batch_destroy (&batch);
}

static void
s_model (const char *gpu_type, uint32_t version, const char *json)
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_model_t m = { .version = version, .xgboost_json = (char *) json, .problems = 5,
                           .candidates = 50, .created_ms = 3000 };
    snprintf (m.gpu_type, sizeof m.gpu_type, "%s", gpu_type);
    ck_assert_int_eq (sf_store_batch_put_model (batch, &m), SF_OK);
    ck_assert_int_eq (sf_store_commit (s_store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
}

/*  SHA-256 of a file of the bundle, as hex. */
static void
s_file_sha (const char *file, char hex[SF_SHA256_HEX])
{
    char path[4400];
    snprintf (path, sizeof path, "%s/%s", s_bundle_dir, file);
    size_t size;
    char *data = sf_test_slurp (path, &size);
    uint8_t digest[SF_STORE_HASH_BYTES];
    sf_sha256 (data, size, digest);
    sf_sha256_hex (digest, hex);
    free (data);
}

static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

/*  A dense layer's data is sf_tcdense_pack's layout of a in the tier,
    byte for byte (what the search measures the kernel on). */
static void
s_assert_split (const void *data, size_t size, const sf_matrix_t *a, sf_tier tier)
{
    void *want = NULL;
    size_t want_size = 0;
    ck_assert_int_eq (sf_tcdense_pack (tier, a, &want, &want_size), SF_OK);
    ck_assert_ptr_nonnull (data);
    ck_assert_uint_eq (size, want_size);
    ck_assert_int_eq (memcmp (data, want, size), 0);
    free (want);
}

/*  Its size in a manifest: the packed layout's (64-byte header, M and K
    padded to 128 and 32, 2-byte elements in bf16), not M x K x 2. */
static void
s_assert_split_bytes (int64_t bytes, const sf_matrix_t *a, sf_tier tier)
{
    void *want = NULL;
    size_t want_size = 0;
    ck_assert_int_eq (sf_tcdense_pack (tier, a, &want, &want_size), SF_OK);
    ck_assert_int_eq (bytes, (int64_t) want_size);
    ck_assert_int_ne (bytes, (int64_t) sf_matrix_rows (a) * sf_matrix_cols (a) * 2);
    free (want);
}

/* ---- a campaign of U, D and dense winners ------------------------------------- */

START_TEST (test_round_trip)
{
    sf_matrix_t *a1 = s_matrix (6, 5, 1), *a2 = s_matrix (7, 4, 2), *a3 = s_matrix (5, 3, 3);
    s_layer_t layers[] = {
        { "fc1", a1, 64, true, false, SF_TEMPLATE_U, true, true },
        { "attn/out", a2, 32, false, true, SF_TEMPLATE_D, true, true },
        { "fc3", a3, 16, true, true, SF_TEMPLATE_DENSE, true, false },
    };
    s_campaign (1, "bert", S_H100, SF_CAMPAIGN_DONE, false, layers, 3);
    s_model (S_H100, 1, "{\"old\": true}");
    s_model (S_H100, 2, "{\"learner\": {}}");

    sf_export_report_t r;
    int rc = sf_export_campaign (s_store, 1, s_bundle_dir, NULL, &r);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (r.gpu_type, S_H100);
    ck_assert_int_eq (r.cc_major, 9);
    ck_assert_int_eq (r.cc_minor, 0);
    ck_assert_uint_eq (r.campaigns, 1);
    ck_assert_uint_eq (r.first_campaign, 1);
    ck_assert_uint_eq (r.layers, 3);
    ck_assert_uint_eq (r.dense, 1);
    ck_assert_uint_eq (r.renamed, 1);   /* attn/out */
    ck_assert (!r.simulated);
    ck_assert_uint_eq (r.model_version, 2);
    char text[SF_EXPORT_REPORT_MAX];
    sf_export_report_text (&r, s_bundle_dir, text, sizeof text);
    ck_assert_ptr_nonnull (strstr (text, "3 layers (1 dense) of campaign 1 for " S_H100 " (compute capability 9.0)"));
    ck_assert_ptr_nonnull (strstr (text, "model.json (rank model v2)"));

    sf_bundle_t *b = sf_bundle_load (s_bundle_dir);
    ck_assert_msg (b != NULL, "%s", sf_error_message ());
    const sf_manifest_t *m = sf_bundle_manifest (b);
    ck_assert_str_eq (m->gpu_type, S_H100);
    ck_assert_int_eq (m->cc_major, 9);
    ck_assert_str_eq (m->toolkit, sf_jit_version ());
    ck_assert_str_eq (m->driver, "13.0");
    ck_assert (!m->simulated);
    ck_assert_int_eq (m->layer_count, 3);
    size_t size;
    const char *model = sf_bundle_model (b, &size);
    ck_assert (m->model.present && size == strlen ("{\"learner\": {}}"));
    ck_assert_int_eq (memcmp (model, "{\"learner\": {}}", size), 0);

    /* U: the stored cubin and PTX, the launch rule, rows permuted in-kernel */
    const sf_manifest_layer_t *u = &m->layers[0];
    ck_assert_str_eq (u->name, "fc1");
    ck_assert (u->m == 6 && u->k == 5 && u->n == 64);
    ck_assert_str_eq (u->matrix, sf_matrix_hash (a1));
    ck_assert_str_eq (u->tmpl, "U");
    ck_assert_str_eq (u->config, S_U_CONFIG);
    ck_assert_str_eq (u->entry, "sf_u_fc1");
    ck_assert (u->block_threads == 64 && u->cols_per_block == 128 && u->panel_groups == 3
               && u->order == 1 && u->vec == 4 && u->shared_bytes == 0);
    ck_assert_str_eq (u->permutation, "in-kernel");
    ck_assert (u->bias && !u->relu);
    ck_assert_double_eq_tol (u->verified_error, 1e-7, 1e-20);
    ck_assert_double_eq (u->time_us, 10.0);
    ck_assert_str_eq (u->cubin.file, "kernels/fc1.cubin");
    ck_assert_str_eq (u->source.file, "src/fc1.ptx");
    ck_assert (!u->data.present);
    sf_store_kernel_t k;
    void *cubin;
    s_kernel (&layers[0], &k, &cubin);
    uint8_t digest[SF_STORE_HASH_BYTES];
    char hex[SF_SHA256_HEX], file_hex[SF_SHA256_HEX];
    sf_sha256 (cubin, k.cubin_size, digest);
    sf_sha256_hex (digest, hex);
    ck_assert_str_eq (u->cubin.sha256, hex);           /* the store's kernel key */
    s_file_sha (u->cubin.file, file_hex);
    ck_assert_str_eq (file_hex, hex);                  /* and the file's bytes */
    ck_assert_int_eq (u->cubin.bytes, (int64_t) k.cubin_size);
    free (cubin);
    const char *source = sf_bundle_source (b, 0, &size);
    ck_assert_str_eq (source, S_PTX);

    /* D: CUDA C source and its data; the name made a bundle name */
    const sf_manifest_layer_t *d = &m->layers[1];
    ck_assert_str_eq (d->name, "attn_out");
    ck_assert_str_eq (d->tmpl, "D");
    ck_assert_str_eq (d->config, S_D_CONFIG);
    ck_assert_str_eq (d->source.file, "src/attn_out.cu");
    ck_assert_str_eq (d->permutation, "none");
    size_t want_size;
    void *want = s_d_encoding (a2, &want_size);
    ck_assert (d->data.present && d->data.bytes == (int64_t) want_size);
    ck_assert_int_eq (memcmp (sf_bundle_data (b, 1, &size), want, want_size), 0);
    free (want);
    ck_assert (d->shared_bytes == 1024 && d->panel_groups == 4 && !d->bias && d->relu);
    ck_assert_str_eq (sf_bundle_source (b, 1, &size), S_CUDA);

    /* dense: our tensor-core kernel as the search measures it (its own
       entry, not the plain-A "sf_dense"), A split as its data, SGEMM's time */
    const sf_manifest_layer_t *g = &m->layers[2];
    ck_assert_str_eq (g->tmpl, "dense");
    ck_assert_str_ne (g->entry, "sf_dense");
    ck_assert_int_eq (strncmp (g->entry, "sf_", 3), 0);
    ck_assert (g->bias && g->relu && g->n == 16);
    ck_assert_double_eq (g->time_us, 12.0);
    ck_assert_double_eq (g->library_us, 20.0);   /* fp32: SGEMM's, measured beside it */
    const void *data = sf_bundle_data (b, 2, &size);
    s_assert_split (data, size, a3, SF_TIER_FP32);
    s_file_sha (g->data.file, file_hex);
    ck_assert_str_eq (file_hex, g->data.sha256);

    sf_bundle_destroy (&b);
    /* the directory exists now: refused, then replaced */
    ck_assert_int_eq (sf_export_campaign (s_store, 1, s_bundle_dir, NULL, NULL), SF_ERR_EXISTS);
    sf_export_opts_t opts = { .replace = true };
    ck_assert_int_eq (sf_export_campaign (s_store, 1, s_bundle_dir, &opts, NULL), SF_OK);
    sf_matrix_destroy (&a1);
    sf_matrix_destroy (&a2);
    sf_matrix_destroy (&a3);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------ */

START_TEST (test_missing_best)
{
    sf_matrix_t *a = s_matrix (6, 5, 1);
    s_layer_t layers[] = {
        { "fc1", a, 64, false, false, SF_TEMPLATE_U, true, true },
        { "fc2", a, 64, false, false, SF_TEMPLATE_U, false, true },
        { "head", a, 8, false, false, SF_TEMPLATE_DENSE, false, false },
    };
    s_campaign (4, "gpt", S_H100, SF_CAMPAIGN_RUNNING, false, layers, 3);
    ck_assert_int_eq (sf_export_campaign (s_store, 4, s_bundle_dir, NULL, NULL), SF_ERR_INVALID);
    const char *msg = sf_error_message ();
    ck_assert_msg (strstr (msg, "campaign 4 (gpt, running): 2 of its 3 layers have no best")
                   && strstr (msg, "fc2, head") && !strstr (msg, "fc1"), "%s", msg);
    ck_assert (!s_exists (s_bundle_dir));
    /* no such campaign */
    ck_assert_int_eq (sf_export_campaign (s_store, 99, s_bundle_dir, NULL, NULL), SF_ERR_NOTFOUND);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_foreign_d_encoding)
{
    /* a best whose D kernel carries another matrix's encoding (what a store
       written before session 13 could hold for two layers of one shape and
       config) is refused, not exported */
    sf_matrix_t *a = s_matrix (6, 5, 1);
    s_layer_t layers[] = { { "fc1", a, 64, false, false, SF_TEMPLATE_D, true, true } };
    s_foreign_d = true;
    s_campaign (1, "c", S_H100, SF_CAMPAIGN_DONE, false, layers, 1);
    s_foreign_d = false;
    ck_assert_int_eq (sf_export_campaign (s_store, 1, s_bundle_dir, NULL, NULL), SF_ERR_FORMAT);
    ck_assert_msg (strstr (sf_error_message (), "its D encoding is not the layer's matrix"), "%s",
                   sf_error_message ());
    ck_assert (!s_exists (s_bundle_dir));
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_missing_kernel)
{
    sf_matrix_t *a = s_matrix (6, 5, 1);
    s_layer_t layers[] = { { "fc1", a, 64, false, false, SF_TEMPLATE_D, true, false } };
    s_campaign (1, "c", S_H100, SF_CAMPAIGN_DONE, false, layers, 1);
    ck_assert_int_eq (sf_export_campaign (s_store, 1, s_bundle_dir, NULL, NULL), SF_ERR_NOTFOUND);
    ck_assert_msg (strstr (sf_error_message (), "layer fc1: the kernel of its winner " S_D_CONFIG
                           " is not in the store"), "%s", sf_error_message ());
    /* a campaign no job of which has run has no GPU type */
    s_campaign (2, "queued", "", SF_CAMPAIGN_QUEUED, false, layers, 1);
    ck_assert_int_eq (sf_export_campaign (s_store, 2, s_bundle_dir, NULL, NULL), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "no GPU type yet"));
    ck_assert (!s_exists (s_bundle_dir));
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_mixed_gpu_types)
{
    sf_matrix_t *a = s_matrix (6, 5, 1), *b = s_matrix (4, 4, 2);
    s_layer_t h100[] = { { "fc1", a, 64, false, false, SF_TEMPLATE_U, true, true } };
    s_layer_t a100[] = { { "fc2", b, 32, false, false, SF_TEMPLATE_DENSE, true, false } };
    s_campaign (1, "on-h100", S_H100, SF_CAMPAIGN_DONE, false, h100, 1);
    s_campaign (2, "on-a100", S_A100, SF_CAMPAIGN_DONE, false, a100, 1);
    s_campaign (3, "not-done", S_A100, SF_CAMPAIGN_RUNNING, false, h100, 1);
    s_model (S_H100, 1, "{}");
    ck_assert_int_eq (sf_export_all (s_store, s_bundle_dir, NULL, NULL), SF_ERR_INVALID);
    const char *msg = sf_error_message ();
    ck_assert_msg (strstr (msg, "2 GPU types") && strstr (msg, S_H100) && strstr (msg, S_A100), "%s", msg);
    ck_assert (!s_exists (s_bundle_dir));
    /* one campaign against another type */
    sf_export_opts_t opts = { .gpu_type = S_A100 };
    ck_assert_int_eq (sf_export_campaign (s_store, 1, s_bundle_dir, &opts, NULL), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "was tuned on " S_H100 ", not " S_A100));
    /* the A100's done campaigns only: the running one is left out, no model */
    sf_export_report_t r;
    ck_assert_msg (sf_export_all (s_store, s_bundle_dir, &opts, &r) == SF_OK, "%s", sf_error_message ());
    ck_assert (r.campaigns == 1 && r.layers == 1 && r.dense == 1 && r.model_version == 0);
    sf_manifest_t *m = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_ptr_nonnull (m);
    ck_assert (m->cc_major == 8 && m->cc_minor == 0 && !m->model.present);
    ck_assert_str_eq (m->gpu_type, S_A100);
    ck_assert_str_eq (m->layers[0].name, "fc2");
    sf_manifest_destroy (&m);
    /* nothing done of a type */
    opts.gpu_type = "NVIDIA B200/sm_100/148sm";
    ck_assert_int_eq (sf_export_all (s_store, s_bundle_dir, &opts, NULL), SF_ERR_NOTFOUND);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
}
END_TEST

/*  A campaign's request tier (written into its record as the farm does). */
static void
s_set_tier (uint64_t id, sf_tier tier, sf_layout layout)
{
    sf_store_campaign_t c;
    ck_assert_int_eq (sf_store_get_campaign (s_store, id, &c), SF_OK);
    c.search.tier = tier;
    c.search.layout = layout;
    sf_store_batch_t *batch = sf_store_batch_new ();
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &c), SF_OK);
    ck_assert_int_eq (sf_store_commit (s_store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
    sf_record_campaign_free (&c);
}

/*  One layer tuned in two precisions: export picks the one asked for, and
    the manifest names the layer's precision and dtypes. */
START_TEST (test_precisions)
{
    sf_matrix_t *a = s_matrix (6, 5, 1);
    s_layer_t u[] = { { "fc1", a, 64, false, false, SF_TEMPLATE_U, true, true } };
    s_layer_t d[] = { { "fc1", a, 64, false, false, SF_TEMPLATE_DENSE, true, false } };
    s_campaign (1, "fp32", S_H100, SF_CAMPAIGN_DONE, false, u, 1);
    s_campaign (2, "bf16", S_H100, SF_CAMPAIGN_DONE, false, u, 1);
    s_set_tier (2, SF_TIER_BF16, SF_LAYOUT_NK);
    ck_assert_int_eq (sf_export_all (s_store, s_bundle_dir, NULL, NULL), SF_ERR_INVALID);
    ck_assert_msg (strstr (sf_error_message (), "several precisions (fp32, bf16)"), "%s", sf_error_message ());
    ck_assert (!s_exists (s_bundle_dir));
    sf_export_opts_t opts = { .has_tier = true, .tier = SF_TIER_BF16 };
    sf_export_report_t r;
    ck_assert_msg (sf_export_all (s_store, s_bundle_dir, &opts, &r) == SF_OK, "%s", sf_error_message ());
    ck_assert_uint_eq (r.campaigns, 1);
    ck_assert_uint_eq (r.first_campaign, 2);
    sf_manifest_t *m = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_ptr_nonnull (m);
    ck_assert_int_eq (m->version, 2);
    ck_assert_str_eq (m->layers[0].name, "fc1");
    ck_assert_int_eq (m->layers[0].tier, SF_TIER_BF16);
    ck_assert_int_eq (m->layers[0].layout, SF_LAYOUT_NK);
    sf_manifest_destroy (&m);
    char path[4400];
    snprintf (path, sizeof path, "%s/manifest.json", s_bundle_dir);
    char *text = sf_test_slurp (path, NULL);
    ck_assert_ptr_nonnull (strstr (text, "\"b\":\t\"bfloat16\""));
    free (text);
    /* one campaign: of the precision asked, else refused */
    opts.tier = SF_TIER_FP32;
    opts.replace = true;
    ck_assert_int_eq (sf_export_campaign (s_store, 2, s_bundle_dir, &opts, NULL), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "campaign 2 (bf16) was tuned in bf16, not fp32"));
    ck_assert_msg (sf_export_campaign (s_store, 1, s_bundle_dir, &opts, NULL) == SF_OK, "%s", sf_error_message ());
    m = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_int_eq (m->version, 1);
    ck_assert_int_eq (m->layers[0].tier, SF_TIER_FP32);
    sf_manifest_destroy (&m);
    opts.tier = SF_TIER_FP16;
    ck_assert_int_eq (sf_export_all (s_store, s_bundle_dir, &opts, NULL), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "no done campaign in fp16"));
    /* a dense winner in bf16 kn: our bf16 tensor-core dense kernel, A in
       bf16 as its data (2 bytes an element) */
    s_campaign (3, "dense-bf16", S_H100, SF_CAMPAIGN_DONE, false, d, 1);
    s_set_tier (3, SF_TIER_BF16, SF_LAYOUT_KN);
    ck_assert_int_eq (sf_export_campaign (s_store, 3, s_bundle_dir, &opts, NULL), SF_ERR_INVALID);
    sf_export_opts_t replace = { .replace = true };
    ck_assert_msg (sf_export_campaign (s_store, 3, s_bundle_dir, &replace, NULL) == SF_OK, "%s",
                   sf_error_message ());
    m = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_ptr_nonnull (m);
    ck_assert_int_eq (m->layers[0].tier, SF_TIER_BF16);
    ck_assert_str_eq (m->layers[0].tmpl, "dense");
    ck_assert (m->layers[0].data.present);
    s_assert_split_bytes (m->layers[0].data.bytes, a, SF_TIER_BF16);
    sf_manifest_destroy (&m);
    /* a dense winner in nk: the nk form of the plain-A kernel (issue 23) */
    s_campaign (4, "dense-bf16-nk", S_H100, SF_CAMPAIGN_DONE, false, d, 1);
    s_set_tier (4, SF_TIER_BF16, SF_LAYOUT_NK);
    ck_assert_msg (sf_export_campaign (s_store, 4, s_bundle_dir, &replace, NULL) == SF_OK, "%s",
                   sf_error_message ());
    m = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_ptr_nonnull (m);
    ck_assert_int_eq (m->layers[0].layout, SF_LAYOUT_NK);
    ck_assert_int_eq (m->layers[0].tier, SF_TIER_BF16);
    ck_assert_str_eq (m->layers[0].tmpl, "dense");
    s_assert_split_bytes (m->layers[0].data.bytes, a, SF_TIER_BF16);
    sf_manifest_destroy (&m);
    sf_matrix_destroy (&a);
}
END_TEST

/*  A dense winner ships the fastest of our dense kernels the search
    measured (the worker sends each as a "dense" candidate under its config
    text), not the first offered: failed ones, other tiers' and other N's
    results do not count; with none measured, the first offered. */
static void
s_dense_result (const sf_matrix_t *a, int64_t n, const sf_tcdense_config_t *c, double us, int status)
{
    sf_store_result_key_t key = { .n = n, .tmpl = SF_TEMPLATE_DENSE, .tier = SF_TIER_FP32,
                                  .layout = SF_LAYOUT_KN };
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", S_H100);
    ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (a), key.matrix), SF_OK);
    sf_tcdense_text (c, key.config);
    sf_store_result_t v = { .status = status, .us = us, .spread_us = 0.1, .err = 1e-7, .recorded_ms = 2000 };
    sf_store_batch_t *batch = sf_store_batch_new ();
    ck_assert_int_eq (sf_store_batch_put_result (batch, &key, &v), SF_OK);
    ck_assert_int_eq (sf_store_commit (s_store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
}

/*  The shipped dense layer's launch, and the one config c would give. */
static void
s_dense_launch (sf_tcdense_config_t c, int64_t m, int64_t k, sf_launch_t *launch)
{
    c.plain = 0;  /* split A, as measured */
    sf_epilogue_t epi = { false, false };
    sf_buf_t *src = sf_buf_new (1 << 22);
    ck_assert_ptr_nonnull (src);
    memset (launch, 0, sizeof *launch);
    ck_assert_int_eq (sf_tcdense_source_mk (&c, &epi, m, k, src, launch), SF_OK);
    sf_tcdense_launch_for (&c, m, launch);
    sf_buf_destroy (&src);
}

START_TEST (test_dense_measured)
{
    const int64_t m = 128, k = 128, n = 512;
    sf_matrix_t *a = s_matrix ((int) m, (int) k, 5);
    s_layer_t d[] = { { "fc", a, n, false, false, SF_TEMPLATE_DENSE, true, false } };
    s_campaign (1, "dense", S_H100, SF_CAMPAIGN_DONE, false, d, 1);
    sf_tcdense_config_t cs[SF_TCDENSE_MAX_CONFIGS];
    int count = sf_tcdense_configs_layout (SF_TIER_FP32, SF_LAYOUT_KN, m, k, n, 0, cs, SF_TCDENSE_MAX_CONFIGS);
    sf_launch_t first, other;
    s_dense_launch (cs[0], m, k, &first);
    int pick = -1;
    for (int i = 1; i < count && pick < 0; i++) {
        s_dense_launch (cs[i], m, k, &other);
        if (other.block_threads != first.block_threads || other.shared_bytes != first.shared_bytes)
            pick = i;
    }
    ck_assert_msg (pick > 0, "two of the %d configs should launch differently", count);
    /* none measured: the first offered */
    ck_assert_msg (sf_export_campaign (s_store, 1, s_bundle_dir, NULL, NULL) == SF_OK, "%s", sf_error_message ());
    sf_manifest_t *mf = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_ptr_nonnull (mf);
    ck_assert_int_eq (mf->layers[0].block_threads, first.block_threads);
    ck_assert_int_eq (mf->layers[0].shared_bytes, first.shared_bytes);
    sf_manifest_destroy (&mf);
    /* measured: the first slower than `pick`; faster ones that do not count */
    s_dense_result (a, n, &cs[0], 9.0, SF_OK);
    s_dense_result (a, n, &cs[pick], 5.0, SF_OK);
    int failed = pick + 1 < count ? pick + 1 : 0;
    if (failed != 0 && failed != pick)
        s_dense_result (a, n, &cs[failed], 1.0, SF_ERR_VERIFY);
    s_dense_result (a, n + 1, &cs[0], 0.5, SF_OK);        /* another N */
    sf_tcdense_config_t tf32 = cs[0];
    tf32.tier = SF_TIER_TF32;                           /* another tier's kernel */
    s_dense_result (a, n, &tf32, 0.25, SF_OK);
    sf_export_opts_t replace = { .replace = true };
    ck_assert_msg (sf_export_campaign (s_store, 1, s_bundle_dir, &replace, NULL) == SF_OK, "%s",
                   sf_error_message ());
    mf = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_ptr_nonnull (mf);
    s_dense_launch (cs[pick], m, k, &other);
    ck_assert_int_eq (mf->layers[0].block_threads, other.block_threads);
    ck_assert_int_eq (mf->layers[0].shared_bytes, other.shared_bytes);
    ck_assert_str_eq (mf->layers[0].tmpl, "dense");
    ck_assert_str_eq (mf->layers[0].config, "dense");
    sf_manifest_destroy (&mf);
    sf_matrix_destroy (&a);
}
END_TEST

/*  A template T winner: its kernel and encoding become the layer's files
    and launch; an encoding of another matrix, another tier, a stored launch
    of another config, an nk layer and another architecture are refused. */
START_TEST (test_template_t)
{
    sf_matrix_t *a = s_matrix (70, 90, 3), *other = s_matrix (70, 90, 4);
    sf_tconfig_t tc = { SF_T_PAIR, 2, 1, 16, 2, 2, 2, 1, 1, 0 };
    char text[SF_TCONFIG_TEXT_MAX];
    void *data = NULL, *wrong = NULL;
    size_t size = 0, wrong_size = 0;
    ck_assert_int_eq (sf_tencode (&tc, SF_TIER_BF16, a, &data, &size), SF_OK);
    ck_assert_int_eq (sf_tencode (&tc, SF_TIER_BF16, other, &wrong, &wrong_size), SF_OK);
    sf_buf_t *src = sf_buf_new (64 << 10);
    sf_epilogue_t epi = { false, false };
    sf_store_kernel_t k = { .tmpl = SF_TEMPLATE_T, .cubin = (void *) "cubin", .cubin_size = 5, .source = "// T",
                            .source_size = 4, .data = data, .data_size = size };
    ck_assert_int_eq (sf_tkernel_source (&tc, SF_TIER_BF16, SF_LAYOUT_KN, &epi, src, &k.launch), SF_OK);
    ck_assert_int_eq (sf_tkernel_launch_for (&tc, data, size, &k.launch), SF_OK);
    sf_tconfig_text (&tc, k.config);
    sf_export_layer_t in = { .name = "fc1", .matrix = a, .n = 16, .config = sf_tconfig_text (&tc, text),
                             .kernel = &k, .tier = SF_TIER_BF16, .layout = SF_LAYOUT_KN, .err = 1e-3, .us = 5 };
    sf_bundle_t *b = sf_bundle_new (S_H100, 9, 0, "13.0", "13.0");
    ck_assert_msg (sf_export_add_layer (b, &in) == SF_OK, "%s", sf_error_message ());
    const sf_manifest_layer_t *l = &sf_bundle_manifest (b)->layers[0];
    ck_assert_str_eq (l->tmpl, "T");
    ck_assert_str_eq (l->config, "T:e1.w2.m1.n16.k2.g2.p2.a1.b1");
    ck_assert_str_eq (l->entry, k.launch.entry);
    ck_assert_int_eq (l->panel_groups, k.launch.panel_groups);
    ck_assert_int_eq (l->shared_bytes, k.launch.shared_bytes);
    ck_assert (l->data.present);
    ck_assert_int_eq (l->data.bytes, (int64_t) size);
    ck_assert_str_eq (l->source.file, "src/fc1.cu");
    /* refusals, each naming why */
    in.name = "fc2";
    in.matrix = other;
    ck_assert_int_eq (sf_export_add_layer (b, &in), SF_ERR_FORMAT);
    ck_assert_msg (strstr (sf_error_message (), "not the layer's matrix"), "%s", sf_error_message ());
    in.matrix = a;
    in.tier = SF_TIER_FP16;
    ck_assert_int_eq (sf_export_add_layer (b, &in), SF_ERR_FORMAT);
    ck_assert_msg (strstr (sf_error_message (), "in bf16, the layer"), "%s", sf_error_message ());
    in.tier = SF_TIER_BF16;
    in.layout = SF_LAYOUT_NK;  /* a kn kernel for an nk layer: its entry is not the nk kernel's */
    ck_assert_int_eq (sf_export_add_layer (b, &in), SF_ERR_FORMAT);
    ck_assert_msg (strstr (sf_error_message (), "is not its config's"), "%s", sf_error_message ());
    in.layout = SF_LAYOUT_KN;
    in.arch = "sm_80";
    ck_assert_int_eq (sf_export_add_layer (b, &in), SF_ERR_UNSUPPORTED);
    in.arch = NULL;
    k.launch.shared_bytes += 16;
    ck_assert_int_eq (sf_export_add_layer (b, &in), SF_ERR_FORMAT);
    ck_assert_msg (strstr (sf_error_message (), "is not its config's"), "%s", sf_error_message ());
    k.launch.shared_bytes -= 16;
    k.data = wrong;
    k.data_size = wrong_size - 4;  /* truncated */
    ck_assert_int_eq (sf_export_add_layer (b, &in), SF_ERR_FORMAT);
    k.data = data;
    k.data_size = size;
    snprintf (k.config, sizeof k.config, "T:e1.w2.m1.n16.k2.g2.p2");
    ck_assert_int_eq (sf_export_add_layer (b, &in), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_bundle_manifest (b)->layer_count, 1);
    /* the nk kernel (issue 23) of the same config: an nk layer */
    snprintf (k.config, sizeof k.config, "%s", text);
    ck_assert_int_eq (sf_tkernel_source (&tc, SF_TIER_BF16, SF_LAYOUT_NK, &epi, src, &k.launch), SF_OK);
    ck_assert_int_eq (sf_tkernel_launch_for (&tc, data, size, &k.launch), SF_OK);
    in.name = "fc3";
    in.layout = SF_LAYOUT_NK;
    ck_assert_msg (sf_export_add_layer (b, &in) == SF_OK, "%s", sf_error_message ());
    l = &sf_bundle_manifest (b)->layers[1];
    ck_assert_int_eq (l->layout, SF_LAYOUT_NK);
    ck_assert_str_eq (l->entry, k.launch.entry);
    ck_assert_ptr_nonnull (strstr (l->entry, "_nk"));
    sf_bundle_destroy (&b);
    sf_buf_destroy (&src);
    free (data);
    free (wrong);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&other);
}
END_TEST

START_TEST (test_simulated)
{
    sf_matrix_t *a = s_matrix (6, 5, 1);
    s_layer_t layers[] = { { "fc1", a, 64, false, false, SF_TEMPLATE_U, true, true },
                           { "fc2", a, 8, false, false, SF_TEMPLATE_DENSE, true, false } };
    s_campaign (1, "sim", S_SIM, SF_CAMPAIGN_DONE, true, layers, 2);
    ck_assert_int_eq (sf_export_campaign (s_store, 1, s_bundle_dir, NULL, NULL), SF_ERR_INVALID);
    ck_assert_msg (strstr (sf_error_message (), "the winners of 2 layers are SIMULATED"), "%s",
                   sf_error_message ());
    ck_assert (!s_exists (s_bundle_dir));
    sf_export_opts_t opts = { .allow_simulated = true };
    sf_export_report_t r;
    ck_assert_msg (sf_export_campaign (s_store, 1, s_bundle_dir, &opts, &r) == SF_OK, "%s", sf_error_message ());
    ck_assert (r.simulated);
    sf_manifest_t *m = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_ptr_nonnull (m);
    ck_assert (m->simulated && m->cc_major == 9 && m->cc_minor == 0);
    ck_assert_str_eq (m->gpu_type, S_SIM);
    for (int i = 0; i < 2; i++) {
        ck_assert (m->layers[i].simulated);
        ck_assert (m->layers[i].verified_error < 0);   /* a simulated kernel is not verified */
        ck_assert (m->layers[i].time_us > 0);
    }
    sf_manifest_destroy (&m);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_all_names)
{
    sf_matrix_t *a = s_matrix (6, 5, 1);
    s_layer_t fc1[] = { { "fc1", a, 64, false, false, SF_TEMPLATE_DENSE, true, false },
                        { "only-here", a, 64, false, false, SF_TEMPLATE_DENSE, true, false } };
    s_campaign (10, "alpha", S_H100, SF_CAMPAIGN_DONE, false, fc1, 2);
    s_campaign (11, "beta", S_H100, SF_CAMPAIGN_DONE, false, fc1, 1);
    s_campaign (12, "beta", S_H100, SF_CAMPAIGN_DONE, false, fc1, 1);
    sf_export_report_t r;
    ck_assert_msg (sf_export_all (s_store, s_bundle_dir, NULL, &r) == SF_OK, "%s", sf_error_message ());
    ck_assert (r.campaigns == 3 && r.layers == 4 && r.renamed == 3 && r.first_campaign == 10);
    sf_manifest_t *m = sf_bundle_read_manifest (s_bundle_dir);
    ck_assert_ptr_nonnull (m);
    ck_assert_str_eq (m->layers[0].name, "alpha.fc1");
    ck_assert_str_eq (m->layers[1].name, "only-here");
    ck_assert_str_eq (m->layers[2].name, "beta-11.fc1");
    ck_assert_str_eq (m->layers[3].name, "beta-12.fc1");
    sf_manifest_destroy (&m);
    sf_matrix_destroy (&a);
}
END_TEST

/* ---- parts ---------------------------------------------------------------------- */

START_TEST (test_gpu_cc)
{
    int major = 0, minor = 0;
    ck_assert_int_eq (sf_export_gpu_cc (S_H100, &major, &minor), SF_OK);
    ck_assert (major == 9 && minor == 0);
    ck_assert_int_eq (sf_export_gpu_cc ("NVIDIA B200/sm_100/148sm", &major, &minor), SF_OK);
    ck_assert (major == 10 && minor == 0);
    ck_assert_int_eq (sf_export_gpu_cc ("NVIDIA L4/sm_89/58sm", &major, &minor), SF_OK);
    ck_assert (major == 8 && minor == 9);
    ck_assert_int_eq (sf_export_gpu_cc (S_SIM, &major, &minor), SF_OK);
    ck_assert (major == 9 && minor == 0);
    ck_assert_int_eq (sf_export_gpu_cc ("H100", &major, &minor), SF_ERR_INVALID);
    ck_assert_int_eq (sf_export_gpu_cc ("a/b/c", &major, &minor), SF_ERR_INVALID);
    ck_assert_int_eq (sf_export_gpu_cc ("sim/other-model/10sm", &major, &minor), SF_ERR_INVALID);
    ck_assert_int_eq (sf_export_gpu_cc ("/sm_90/", &major, &minor), SF_ERR_INVALID);
}
END_TEST

START_TEST (test_layer_name)
{
    char out[SF_EXPORT_NAME_MAX];
    ck_assert (!sf_export_layer_name ("encoder.layer-1_q", out));
    ck_assert_str_eq (out, "encoder.layer-1_q");
    ck_assert (sf_export_layer_name ("attn/out proj", out));
    ck_assert_str_eq (out, "attn_out_proj");
    ck_assert (sf_export_layer_name (".hidden", out));
    ck_assert_str_eq (out, "_hidden");
    ck_assert (sf_export_layer_name ("", out));
    ck_assert_str_eq (out, "layer");
    char long_name[100];
    memset (long_name, 'x', 99);
    long_name[99] = '\0';
    ck_assert (sf_export_layer_name (long_name, out));
    ck_assert_uint_eq (strlen (out), SF_EXPORT_NAME_MAX - 1);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("export");
    TCase *tc = tcase_create ("export");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_round_trip);
    tcase_add_test (tc, test_dense_measured);
    tcase_add_test (tc, test_missing_best);
    tcase_add_test (tc, test_foreign_d_encoding);
    tcase_add_test (tc, test_missing_kernel);
    tcase_add_test (tc, test_mixed_gpu_types);
    tcase_add_test (tc, test_precisions);
    tcase_add_test (tc, test_template_t);
    tcase_add_test (tc, test_simulated);
    tcase_add_test (tc, test_all_names);
    suite_add_tcase (s, tc);
    TCase *parts = tcase_create ("parts");
    tcase_add_test (parts, test_gpu_cc);
    tcase_add_test (parts, test_layer_name);
    suite_add_tcase (s, parts);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
