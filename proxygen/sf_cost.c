/*  sf_cost: the cost model of a layer's search and budget plans. */
#include "proxygen/sf_cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_space.h"

#define S_CONFIGS_MAX 8192

/*  The model's constants (docs/KERNELS.md, "The full kernel in parts",
    fitted to tests/bench/compile_paths on the 2-core host at 1,000 to
    60,000 nonzeros; the budget's calibration corrects them per host).
    A kernel's size is its code's operations: a multiply-add per nonzero
    and lane, and a load per distinct k of each panel counted twice (its
    address walk), as the proxy's panel cost. ptxas -O3 on one function
    grows faster than its size (0.85 CPU-s at 2,900 operations, 4-4.7 at
    13,800, 18-23 at 44,700, 76 at 95,700); in parts it is about linear
    (an NVRTC start per part and ptxas on bounded functions: 20 CPU-s at
    95,700). One D kernel: NVRTC and nvJitLink, 0.2-2 s. GPU seconds per
    timed candidate on the measuring child (warm-up, the idle wait, >= 21
    batches and >= 5 ms, the graph's capture), verification of a full
    kernel, per layer (the child, the problem's upload, the baselines
    before and after, the dense candidate), and on the sim backend. */
#define S_ONE_FIXED 0.1
#define S_ONE_LINEAR 0.25e-3
#define S_ONE_SQUARE 5.8e-9
#define S_PART_FIXED 0.30
#define S_PART_LINEAR 0.19e-3
#define S_D_COMPILE 1.0
#define S_GPU_TIMED 0.12
#define S_GPU_VERIFY 0.05
#define S_GPU_LAYER 1.5
#define S_SIM_TIMED 0.003
#define S_SIM_LAYER 0.05
#define S_DEFAULT_PROXY_TOP 4
#define S_DEFAULT_RANK_TOP 3
#define S_DEFAULT_TOP_K 10

/*  One-function compile CPU-seconds of `ops` operations. */
static double
s_one (double ops)
{
    return S_ONE_FIXED + S_ONE_LINEAR * ops + S_ONE_SQUARE * ops * ops;
}

/*  A config's panels, and the operations of an average panel: its
    multiply-adds (nnz x V / panels) and twice its expected distinct k
    (K x (1 - (1 - density)^R) for uniformly placed nonzeros). */
static double
s_panel_ops (const sf_cost_problem_t *p, const sf_config_t *c, int32_t *panels_p)
{
    int32_t panels = (int32_t) ((p->m + c->panel_rows - 1) / c->panel_rows);
    double density = (double) p->nnz / ((double) p->m * (double) p->k);
    double distinct = (double) p->k * (1.0 - pow (1.0 - density, c->panel_rows));
    *panels_p = panels > 0 ? panels : 1;
    return (double) p->nnz * c->vec / *panels_p + 2.0 * distinct;
}

/*  A full kernel's compile: in parts from SF_COST_PARTS_MIN_FMAS (parts of
    whole panels, about SF_EMIT_PART_FMAS multiply-adds each). *longest
    gets its longest single compile (a part's, in parts). */
static double
s_full (const sf_cost_problem_t *p, const sf_config_t *c, double *longest)
{
    int32_t panels;
    double ops = s_panel_ops (p, c, &panels) * panels, fmas = (double) p->nnz * c->vec;
    if (fmas < SF_COST_PARTS_MIN_FMAS) {
        *longest = s_one (ops);
        return *longest;
    }
    double parts = ceil (fmas / SF_EMIT_PART_FMAS);
    parts = fmin (fmin (parts, panels), SF_EMIT_PARTS_MAX);
    *longest = S_PART_FIXED + S_PART_LINEAR * ops / parts;
    return S_PART_FIXED * parts + S_PART_LINEAR * ops;
}

/*  The proxy: its representatives' panels, one function. */
static double
s_proxy (const sf_cost_problem_t *p, const sf_config_t *c)
{
    int32_t panels;
    double ops = s_panel_ops (p, c, &panels);
    return s_one (ops * sf_emit_default_reps (panels));
}

int
sf_cost_estimate (const sf_cost_problem_t *p, const sf_cost_search_t *s, sf_cost_t *out)
{
    memset (out, 0, sizeof *out);
    if (p->m < 1 || p->k < 1 || p->n < 1 || p->nnz < 0 || p->nnz > p->m * p->k || p->sm_count < 1)
        return sf_error_set (SF_ERR_INVALID, "cost: a malformed problem");
    sf_config_t *configs = malloc (S_CONFIGS_MAX * sizeof *configs);
    if (!configs)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    bool rank = s->strategy == SF_COST_RANK;
    unsigned templates = s->templates ? s->templates : 3;
    sf_space_problem_t sp = { p->m, p->k, p->n, p->nnz, p->sm_count, s->d_union, s->d_slab && !rank,
                              s->u_split && !rank };
    int64_t budget = s->max_code_fmas > 0 ? s->max_code_fmas : SF_SPACE_MAX_FMAS;
    int nu = 0, nd = 0, pruned;
    if (templates & 1) {
        int all = sf_space_u (&sp, configs, S_CONFIGS_MAX, &pruned);
        for (int i = 0; i < all; i++)
            if (p->nnz * configs[i].vec <= budget)
                configs[nu++] = configs[i];
        out->u_legal = nu;
        nu = sf_space_sample_kinds (configs, nu, s->max_configs);
    }
    if (templates & 2) {
        nd = sf_space_d (&sp, configs + nu, S_CONFIGS_MAX - nu, &pruned);
        nd = nd < 0 ? 0 : nd;
        out->d_legal = nd;
        nd = sf_space_sample_kinds (configs + nu, nd, s->max_configs);
    }
    if (rank) {  /* the model's top k of both templates */
        int k = s->top_k > 0 ? s->top_k : S_DEFAULT_TOP_K;
        int total = nu + nd;
        if (total > k) {  /* in proportion: the model picks among both */
            int ku = (int) ((int64_t) k * nu / total);
            nd = k - ku;
            nu = ku;
            memmove (configs + nu, configs + (total - nd), (size_t) nd * sizeof *configs);
        }
    }
    out->u_configs = nu;
    out->d_configs = nd;
    bool proxies = s->strategy != SF_COST_EXHAUSTIVE && !(rank && !sf_cost_u_as_proxy (p->nnz));
    double cpu1 = 0, longest1 = 0, gpu1 = 0, mean_full = 0, mean_longest = 0;
    for (int i = 0; i < nu; i++) {
        double longest, full = s_full (p, &configs[i], &longest);
        double c = proxies ? s_proxy (p, &configs[i]) : full;
        cpu1 += c;
        longest1 = fmax (longest1, proxies ? c : longest);
        mean_full += full / nu;
        mean_longest += longest / nu;
    }
    double per = p->sim ? S_SIM_TIMED : S_GPU_TIMED, verify = p->sim ? 0.0 : S_GPU_VERIFY;
    gpu1 = nu * (per + (proxies ? 0.0 : verify)) + nd * (per + verify);
    if (!p->d_compiled)
        cpu1 += nd * S_D_COMPILE;
    int top = s->proxy_top > 0 ? s->proxy_top : rank ? S_DEFAULT_RANK_TOP : S_DEFAULT_PROXY_TOP;
    int finalists = proxies && nu > 0 ? (top < nu ? top : nu) : 0;
    if (finalists && s->u_split && !rank)
        finalists = top * 2 < nu ? top * 2 : nu;  /* each kind's */
    double cpu2 = finalists * mean_full, longest2 = finalists ? mean_longest : 0;
    double gpu2 = finalists * (per + verify);
    int threads = p->threads > 0 ? p->threads : 1;
    double wall1 = cpu1 / threads > longest1 ? cpu1 / threads : longest1;
    double wall2 = cpu2 / threads > longest2 ? cpu2 / threads : longest2;
    out->finalists = finalists;
    out->compile_cpu_s = cpu1 + cpu2;
    out->gpu_s = gpu1 + gpu2 + (p->sim ? S_SIM_LAYER : S_GPU_LAYER);
    out->wall_s = wall1 + wall2 + out->gpu_s;
    free (configs);
    return SF_OK;
}

/*  The plans tried, largest first: configs per kind (0: all), finalists
    (0: the request's), U kept. */
static const struct {
    int32_t configs, finalists;
    bool u;
} s_steps[] = {
    { 0, 0, true },   { 256, 0, true }, { 128, 0, true }, { 64, 0, true }, { 32, 0, true },
    { 32, 2, true },  { 16, 2, true },  { 8, 2, true },   { 8, 1, true },  { 4, 1, true },
    { 2, 1, true },   { 1, 1, true },   { 16, 1, false }, { 8, 1, false }, { 4, 1, false },
    { 2, 1, false },  { 1, 1, false },
};

bool
sf_cost_plan (const sf_cost_problem_t *p, const sf_cost_search_t *want, double budget_s, sf_cost_search_t *plan,
              sf_cost_t *est, char *note, size_t note_size)
{
    sf_cost_t full, e = { 0 };
    sf_cost_search_t s = *want;
    if (note && note_size)
        note[0] = '\0';
    if (sf_cost_estimate (p, want, &full) != SF_OK) {
        *plan = *want;
        memset (est, 0, sizeof *est);
        return false;
    }
    bool fits = false;
    unsigned templates = want->templates ? want->templates : 3;
    int want_top = want->proxy_top;
    for (size_t i = 0; i < sizeof s_steps / sizeof s_steps[0] && !fits; i++) {
        s = *want;
        int32_t configs = s_steps[i].configs;
        if (configs && (!want->max_configs || configs < want->max_configs))
            s.max_configs = configs;
        if (s_steps[i].finalists && (!want_top || s_steps[i].finalists < want_top))
            s.proxy_top = s_steps[i].finalists;
        if (!s_steps[i].u) {
            if (!(templates & 2))
                break;  /* U alone was asked: no plan without it */
            s.templates = 2;
        }
        if (sf_cost_estimate (p, &s, &e) != SF_OK)
            break;
        fits = e.wall_s <= budget_s;
    }
    *plan = s;
    *est = e;
    if (note && note_size) {
        size_t n = 0;
        if (e.u_configs < full.u_configs || e.finalists < full.finalists)
            n += (size_t) snprintf (note + n, note_size - n, "U %d of %d configs, %d of %d finalists", e.u_configs,
                                    full.u_configs, e.finalists, full.finalists);
        if (n < note_size && e.d_configs < full.d_configs)
            n += (size_t) snprintf (note + n, note_size - n, "%sD %d of %d configs", n ? "; " : "", e.d_configs,
                                    full.d_configs);
        if (n < note_size && (templates & 1) && !(s.templates & 1) && full.u_configs)
            snprintf (note + n, note_size - n, "%s(no U: its compiles alone are over the layer's share)",
                      n ? " " : "");
    }
    return fits;
}

bool
sf_cost_u_as_proxy (int64_t nnz)
{
    return nnz > SF_COST_FULL_NNZ;
}
