/*  sf_tsweep: template T's training sweeps: the sample, resume, estimate. */
#include "rankmodel/sf_tsweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_tprior.h"
#include "store/sf_record.h"

/*  The legal space's bound (worker/sf_tsearch.c's S_MAX_TCONFIGS: above
    the whole knob table). */
#define S_LEGAL_MAX 16384

/*  Costs behind the estimate (docs/RANKMODEL.md "Sweeps of T"): NVRTC +
    nvJitLink of one T config (an assumption: twice D's measured 0.5 s, the
    source being larger; not yet measured per config on the H100), the
    CPU encoding of A per candidate per million nonzeros, and sf_sweep's
    GPU seconds per timed candidate and per problem. */
#define S_T_COMPILE_S 1.0
#define S_T_ENCODE_S_PER_MNNZ 0.05
#define S_GPU_CANDIDATE_S 0.05
#define S_GPU_PROBLEM_S 1.0

bool
sf_tsweep_too_large (const sf_sweep_problem_t *p)
{
    return llround ((1.0 - p->sparsity) * (double) p->m * (double) p->k) > SF_TSWEEP_NNZ_MAX;
}

int
sf_tsweep_configs (const sf_sweep_t *sweep, const sf_sweep_problem_t *p, const sf_matrix_t *a, int32_t sm_count,
                   sf_tconfig_t *out, int max)
{
    sf_tconfig_t *legal = malloc (S_LEGAL_MAX * sizeof *legal);
    if (!legal)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    sf_tspace_problem_t tp = { p->m, p->k, p->n, sf_matrix_nnz (a), sm_count };
    int count = sf_tkernel_space (&tp, legal, S_LEGAL_MAX, NULL);
    int keep = sf_sweep_configs_per_problem (sweep);
    if (count >= 0)
        count = sf_tprior_pick (&tp, legal, count, keep);  /* the worker's pick (sf_tsearch.c) */
    if (count >= 0) {
        count = count < max ? count : max;
        memcpy (out, legal, (size_t) count * sizeof *out);
    }
    free (legal);
    return count;
}

bool
sf_tsweep_measured (sf_store_t *store, const char *gpu_type, sf_tier tier, const sf_matrix_t *a, int64_t n,
                    const sf_tconfig_t *configs, int count)
{
    sf_store_result_key_t key;
    memset (&key, 0, sizeof key);
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", gpu_type);
    sf_record_hash_parse (sf_matrix_hash (a), key.matrix);
    key.n = n;
    key.tmpl = SF_TEMPLATE_T;
    key.tier = tier;
    key.layout = SF_LAYOUT_KN;
    key.l2_cold = sf_record_search_l2_cold (NULL, n);  /* a sweep's L2 is auto's */
    for (int i = 0; i < count; i++) {
        sf_store_result_t v;
        sf_tconfig_text (&configs[i], key.config);
        if (sf_store_get_result (store, &key, &v) != SF_OK)
            return false;
    }
    return true;
}

int
sf_tsweep_estimate (const sf_sweep_t *sweep, int32_t sm_count, int threads, sf_sweep_estimate_t *e)
{
    memset (e, 0, sizeof *e);
    e->problems = sf_sweep_problems (sweep);
    threads = threads > 0 ? threads : 1;
    sf_tconfig_t *configs = malloc (SF_SWEEP_CONFIGS_MAX * sizeof *configs);
    int rc = configs ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < e->problems && rc == SF_OK; i++) {
        sf_sweep_problem_t p;
        sf_sweep_problem (sweep, i, &p);
        if (sf_tsweep_too_large (&p))
            continue;  /* left out by the plan */
        sf_matrix_t *a = sf_sweep_matrix (&p);
        int count = a ? sf_tsweep_configs (sweep, &p, a, sm_count, configs, SF_SWEEP_CONFIGS_MAX) : sf_error_last ();
        if (count < 0 || !a) {
            rc = count < 0 ? count : sf_error_last ();
            sf_matrix_destroy (&a);
            break;
        }
        double encode = S_T_ENCODE_S_PER_MNNZ * (double) sf_matrix_nnz (a) / 1e6 * count;
        double cpu = S_T_COMPILE_S * count, gpu = S_GPU_PROBLEM_S + S_GPU_CANDIDATE_S * count;
        e->candidates += count;
        e->compile_cpu_s += cpu;
        e->gpu_s += gpu;
        e->wall_s += fmax (cpu / threads, count > 0 ? S_T_COMPILE_S : 0) + encode + gpu;
        sf_matrix_destroy (&a);
    }
    free (configs);
    return rc;
}
