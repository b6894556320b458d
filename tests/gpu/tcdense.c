/*  tcdense: our tensor-core dense kernels (proxygen/sf_tcdense.h) against
    the tier's library baselines on one GPU, in one process, through
    worker/sf_gpu (the measuring code itself: same buffers, graph-timed).

      tcdense [--check] [--config TEXT] [--extra TEXT]... [--generic] [--plain] [--nk] TIER M K N
              [SPARSITY [bias] [relu]]

    Prints one JSON line: the baselines (times and errors against the
    double reference on the tier's rounded inputs) and every config of
    sf_tcdense_configs (mma.sync "tc." ones and, from N = 24, the sm_90a
    wgmma "wg."/"ws." ones; or the one --config names; --extra adds up to 4
    configs to them, within SF_TCDENSE_MAX_CONFIGS): compiled, verified at
    the tier's bound and timed. --plain also runs each config with plain A
    (".a1": the bundles' data format, split in registers). --generic also times the bundles' generic
    dense kernel (sf_bundle_dense_kernel, fp32 only). --nk: every config in
    the nk layout (X N x K in, Y N x M out; the baselines stay kn: issue
    23, tests/gpu/check-gpu-nk.sh, tests/gpu/wgnk.sh), wgmma ones included;
    --config and --extra texts may be spelled with or without ".nk". --check: exit 1 when a
    config fails to verify (check-gpu). Exit 2 on bad usage, 77 without a GPU.
    Used by tests/gpu/check-gpu.sh and tests/gpu/tc-dense.sh (docs/KERNELS.md).
*/
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/sf_bundle.h"
#include "common/sf_error.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tcdense.h"
#include "worker/sf_gpu.h"

static void
s_num (const char *key, double v, bool comma)
{
    if (isfinite (v))
        printf ("\"%s\":%.6g%s", key, v, comma ? "," : "");
    else
        printf ("\"%s\":null%s", key, comma ? "," : "");
}

typedef struct {
    sf_tcdense_config_t config;
    sf_epilogue_t epi;
    int64_t m, k;
    void *cubin;
    size_t size;
    sf_launch_t launch;
    sf_jit_stats_t st;
    bool cached;
    int rc;
    char error[256];
} s_build_t;

static void *
s_build (void *arg)
{
    s_build_t *b = arg;
    b->rc = sf_tcdense_compile (&b->config, &b->epi, b->m, b->k, &b->cubin, &b->size, NULL, &b->launch, &b->st,
                                &b->cached);
    if (b->rc != SF_OK)
        snprintf (b->error, sizeof b->error, "%s", sf_error_message ());
    return NULL;
}

/*  A message safe inside a JSON string: quotes, backslashes and controls
    become spaces. */
static const char *
s_safe (const char *text)
{
    static char buf[256];
    snprintf (buf, sizeof buf, "%s", text);
    for (char *c = buf; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char) *c < 32)
            *c = ' ';
    return buf;
}

static int
s_usage (void)
{
    fprintf (stderr, "usage: tcdense [--check] [--config TEXT] [--extra TEXT]... [--generic] [--plain] [--nk] TIER M K N "
             "[SPARSITY [bias] [relu]]\n");
    return 2;
}

int
main (int argc, char **argv)
{
    bool check = false, generic = false, plain = false, nk = false;
    const char *only = NULL, *extra[4];
    int nextra = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp (argv[i], "--check") == 0)
            check = true;
        else if (strcmp (argv[i], "--generic") == 0)
            generic = true;
        else if (strcmp (argv[i], "--plain") == 0)
            plain = true;
        else if (strcmp (argv[i], "--nk") == 0)
            nk = true;
        else if (strcmp (argv[i], "--config") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp (argv[i], "--extra") == 0 && i + 1 < argc && nextra < 4)
            extra[nextra++] = argv[++i];
        else
            return s_usage ();
    }
    if (argc - i < 4)
        return s_usage ();
    int tier = sf_tier_parse (argv[i]);
    long long m = atoll (argv[i + 1]), k = atoll (argv[i + 2]), n = atoll (argv[i + 3]);
    double sparsity = argc - i > 4 ? atof (argv[i + 4]) : 0.5;
    bool bias = false, relu = false;
    for (int j = i + 5; j < argc; j++) {
        bias |= strcmp (argv[j], "bias") == 0;
        relu |= strcmp (argv[j], "relu") == 0;
    }
    if (tier < 0 || m < 1 || k < 1 || n < 1 || !(sparsity >= 0 && sparsity < 1))
        return s_usage ();

    sf_gpu_t *gpu = sf_gpu_new (0);
    if (!gpu) {
        fprintf (stderr, "tcdense: %s\n", sf_error_message ());
        return 77;
    }
    sf_matrix_t *a = sf_matrix_new_random (m, k, sparsity, 7);
    int rc = a ? sf_gpu_set_layout (gpu, nk ? SF_LAYOUT_NK : SF_LAYOUT_KN) : sf_error_last ();
    if (rc == SF_OK)
        rc = sf_gpu_set_problem_tier (gpu, a, n, (sf_tier) tier, bias, relu, 11);
    if (rc != SF_OK) {
        fprintf (stderr, "tcdense: problem: %s\n", sf_error_message ());
        return 1;
    }
    double tol = sf_tier_tol ((sf_tier) tier);
    printf ("{\"layout\":\"%s\",\"tier\":\"%s\",\"m\":%lld,\"k\":%lld,\"n\":%lld,\"sparsity\":%g,\"bias\":%s,\"relu\":%s,\"tol\":%g,"
            "\"gpu\":\"%s\",", nk ? "nk" : "kn", sf_tier_name (tier), m, k, n, sparsity, bias ? "true" : "false",
            relu ? "true" : "false", tol, sf_gpu_info (gpu)->name);
    sf_baselines_t b;
    rc = sf_gpu_baselines (gpu, &b);
    if (rc != SF_OK)
        fprintf (stderr, "tcdense: baselines: %s\n", sf_error_message ());
    printf ("\"baselines\":{");
    s_num ("sgemm_us", b.sgemm.median_us, true);
    s_num ("sgemm_err", b.sgemm_err, true);
    s_num ("tf32_us", b.tf32.median_us, true);
    s_num ("tf32_err", b.tf32_err, true);
    s_num ("cusparse_us", b.cusparse.median_us, true);
    s_num ("cusparse_err", b.cusparse_err, true);
    s_num ("blas16_us", b.blas16.median_us, true);
    s_num ("blas16_err", b.blas16_err, true);
    s_num ("lt24_us", b.lt24.median_us, true);
    s_num ("lt24_err", b.lt24_err, true);
    printf ("\"lt24_note\":\"%s\",\"status\":\"%s\"},", s_safe (b.lt24_note), rc == SF_OK ? "ok" : sf_strerror (rc));
    fflush (stdout);

    sf_tcdense_config_t configs[2 * SF_TCDENSE_MAX_CONFIGS];
    int count = 0;
    if (only) {
        if (sf_tcdense_parse (only, &configs[0]) != SF_OK) {
            fprintf (stderr, "tcdense: %s\n", sf_error_message ());
            return 2;
        }
        count = 1;
    } else
        count = sf_tcdense_configs_layout ((sf_tier) tier, nk ? SF_LAYOUT_NK : SF_LAYOUT_KN, m, k, n,
                                           sf_gpu_info (gpu)->sm_count, configs, SF_TCDENSE_MAX_CONFIGS);
    if (count + nextra > SF_TCDENSE_MAX_CONFIGS)  /* the --extra ones are what the caller wants to see */
        count = SF_TCDENSE_MAX_CONFIGS - nextra;
    for (int e = 0; e < nextra; e++)
        if (sf_tcdense_parse (extra[e], &configs[count]) == SF_OK)
            count++;
        else {
            fprintf (stderr, "tcdense: --extra: %s\n", sf_error_message ());
            return 2;
        }
    for (int c = 0, base = count; plain && c < base; c++) {  /* each also with plain A (bundles') */
        configs[count] = configs[c];
        configs[count++].plain = 1;
    }
    for (int c = 0; c < count; c++) {  /* --config/--extra texts in either spelling: the layout is --nk's */
        configs[c].nk = nk;
        if (!sf_tcdense_legal (&configs[c])) {
            fprintf (stderr, "tcdense: %s: not legal in this layout\n",
                     sf_tcdense_text (&configs[c], (char[SF_TCDENSE_TEXT_MAX]) { 0 }));
            return 2;
        }
    }
    void *data = NULL;
    size_t data_size = 0;
    if (sf_tcdense_pack ((sf_tier) tier, a, &data, &data_size) != SF_OK) {
        fprintf (stderr, "tcdense: pack: %s\n", sf_error_message ());
        return 1;
    }
    /* plain A: M x K in the tier's type, rounded as the problem's */
    size_t esize = sf_tier_elem_size ((sf_tier) tier), plain_size = (size_t) (m * k) * esize;
    float *af = malloc ((size_t) (m * k) * sizeof *af);
    void *plain_data = malloc (plain_size);
    if (!af || !plain_data)
        return 1;
    sf_matrix_densify (a, af);
    for (int64_t e = 0; e < m * k; e++) {
        if (tier == SF_TIER_BF16)
            ((uint16_t *) plain_data)[e] = sf_tier_to_bf16 (af[e]);
        else if (tier == SF_TIER_FP16)
            ((uint16_t *) plain_data)[e] = sf_tier_to_fp16 (af[e]);
        else
            ((float *) plain_data)[e] = af[e];
    }
    sf_epilogue_t epi = { bias, relu };
    s_build_t builds[2 * SF_TCDENSE_MAX_CONFIGS];
    pthread_t tids[2 * SF_TCDENSE_MAX_CONFIGS];
    bool started[2 * SF_TCDENSE_MAX_CONFIGS];
    for (int c = 0; c < count; c++) {
        builds[c] = (s_build_t) { .config = configs[c], .epi = epi, .m = m, .k = k };
        started[c] = pthread_create (&tids[c], NULL, s_build, &builds[c]) == 0;
        if (!started[c])
            s_build (&builds[c]);
    }
    for (int c = 0; c < count; c++)
        if (started[c])
            pthread_join (tids[c], NULL);
    int failed = 0;
    double best = INFINITY;
    printf ("\"own\":[");
    for (int c = 0; c < count; c++) {
        char text[SF_TCDENSE_TEXT_MAX];
        s_build_t *bd = &builds[c];
        double err = NAN;
        sf_timing_t t = { 0 };
        t.median_us = t.p10_us = t.p90_us = NAN;
        rc = bd->rc;
        if (rc == SF_OK)
            rc = sf_gpu_run (gpu, bd->cubin, bd->size, &bd->launch, bd->config.plain ? plain_data : data,
                             bd->config.plain ? plain_size : data_size, true, tol, &err, &t);
        const sf_jit_stats_t st = bd->st;
        free (bd->cubin);
        bd->cubin = NULL;
        failed += rc != SF_OK;
        if (rc == SF_OK && t.median_us < best)
            best = t.median_us;
        printf ("%s{\"config\":\"%s\",\"status\":\"%s\",", c ? "," : "", sf_tcdense_text (&configs[c], text),
                rc == SF_OK ? "ok" : sf_strerror (rc));
        s_num ("us", t.median_us, true);
        s_num ("p10_us", t.p10_us, true);
        s_num ("p90_us", t.p90_us, true);
        s_num ("err", err, true);
        printf ("\"regs\":%d,\"spills\":%d,\"compile_s\":%.2f,\"detail\":\"%s\"}", st.registers,
                st.spill_stores + st.spill_loads, st.seconds,
                s_safe (bd->rc != SF_OK ? bd->error : rc == SF_OK ? "" : sf_error_message ()));
        fflush (stdout);
        if (rc == SF_ERR_CUDA)  /* the context is gone */
            break;
    }
    printf ("],");
    s_num ("own_best_us", best, generic);
    if (generic && tier == SF_TIER_FP32 && !nk) {
        sf_bundle_layer_t layer = { 0 };
        void *cubin = NULL;
        char *source = NULL;
        float *dense = malloc ((size_t) (m * k) * sizeof *dense);
        double err = NAN;
        sf_timing_t t = { 0 };
        t.median_us = NAN;
        rc = dense ? sf_bundle_dense_kernel (m, k, bias, relu, "sm_90", &layer, &cubin, &source) : SF_ERR_NOMEM;
        if (rc == SF_OK) {
            sf_matrix_densify (a, dense);
            rc = sf_gpu_run (gpu, cubin, layer.kernel.cubin_size, &layer.kernel.launch, dense,
                             (size_t) (m * k) * sizeof *dense, true, tol, &err, &t);
        }
        printf ("\"generic\":{\"status\":\"%s\",", rc == SF_OK ? "ok" : sf_strerror (rc));
        s_num ("us", t.median_us, true);
        s_num ("err", err, false);
        printf ("},");
        s_num ("generic_us", t.median_us, false);
        free (cubin);
        free (source);
        free (dense);
    } else if (generic)
        printf ("\"generic\":null");
    printf ("}\n");
    free (data);
    free (plain_data);
    free (af);
    sf_matrix_destroy (&a);
    sf_gpu_destroy (&gpu);
    return check && failed ? 1 : 0;
}
