/*  sf_sweep: sweep files, their problems, matrices and config samples. */
#include "rankmodel/sf_sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_rng.h"
#include "common/sf_zpl.h"
#include "proxygen/sf_cost.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_space.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_tsweep.h"
#include "store/sf_record.h"

#define S_NAME_MAX 64
#define S_TEXT_MAX 512
#define S_LEGAL_MAX 4096

/*  Costs behind sf_sweep_estimate (docs/RANKMODEL.md). ptxas seconds for
    f multiply-adds of straight-line proxy code: linear term fit to 115 U
    proxies of the default sweep compiled here (f up to 15,000: 4.1e-4 s
    each), a superlinear term for larger code (DESIGN 4.4, KERNELS.md: full
    kernels of 59,000 multiply-adds took 26-148 s). */
#define S_PTXAS_S(f) (0.05 + 4.1e-4 * (f) + 5e-9 * (f) * (f))
#define S_D_COMPILE_S 0.5       /* NVRTC + nvJitLink of one D config (0.5 s mean here) */
#define S_GPU_CANDIDATE_S 0.05  /* bench205 on the H100: 0.010-0.064 GPU-s per timed candidate */
#define S_GPU_PROBLEM_S 1.0     /* bench205: 0.57-2.8 s wall per problem outside compiles */

/*  A value drawn from a range or a list. */
typedef struct {
    bool range;
    double lo, hi;
    double values[SF_SWEEP_CHOICES_MAX];
    int count;
} s_dist_t;

struct _sf_sweep_t {
    char name[S_NAME_MAX];
    char description[S_TEXT_MAX];
    uint64_t seed;
    int problems, configs;
    unsigned templates;
    sf_tier tier;
    s_dist_t m, k, n, sparsity;
    int64_t align;
    double structured, skew;
};

/* ---- the file ----------------------------------------------------------------- */

enum { S_NAME, S_DESCRIPTION, S_SEED, S_PROBLEMS, S_CONFIGS, S_TEMPLATES, S_M, S_K, S_N, S_ALIGN,
       S_SPARSITY, S_STRUCTURED, S_SKEW, S_PRECISION, S_FIELDS };

/*  "LO..HI" or a list "A B C" (spaces or commas) of numbers in [min, max]. */
static int
s_parse_dist (const sf_zpl_t *zpl, const sf_zpl_field_t *f, double min, double max, s_dist_t *d)
{
    memset (d, 0, sizeof *d);
    const char *dots = strstr (f->value, "..");
    char text[SF_ZPL_LINE_MAX + 1];
    snprintf (text, sizeof text, "%s", f->value);
    if (dots) {
        text[dots - f->value] = '\0';
        sf_zpl_field_t lo = { f->name, text, f->line }, hi = { f->name, text + (dots - f->value) + 2, f->line };
        int rc = sf_zpl_parse_double (zpl, &lo, "sweep", min, max, &d->lo);
        if (rc == SF_OK)
            rc = sf_zpl_parse_double (zpl, &hi, "sweep", min, max, &d->hi);
        if (rc == SF_OK && d->lo > d->hi)
            rc = sf_zpl_fail (zpl, SF_ERR_RANGE, f->line, "sweep: %s = %s: the range is empty", f->name,
                              f->value);
        d->range = true;
        return rc;
    }
    for (char *save = NULL, *tok = strtok_r (text, " ,\t", &save); tok; tok = strtok_r (NULL, " ,\t", &save)) {
        if (d->count == SF_SWEEP_CHOICES_MAX)
            return sf_zpl_fail (zpl, SF_ERR_RANGE, f->line, "sweep: %s lists more than %d values", f->name,
                                SF_SWEEP_CHOICES_MAX);
        sf_zpl_field_t one = { f->name, tok, f->line };
        int rc = sf_zpl_parse_double (zpl, &one, "sweep", min, max, &d->values[d->count++]);
        if (rc != SF_OK)
            return rc;
    }
    if (d->count == 0)
        return sf_zpl_fail (zpl, SF_ERR_FORMAT, f->line, "sweep: %s is empty (LO..HI or a list)", f->name);
    return SF_OK;
}

/*  Dimensions are integers; a range's ends multiples of align. */
static int
s_check_dims (const sf_zpl_t *zpl, const sf_zpl_field_t *f, const s_dist_t *d, int64_t align)
{
    double ends[2] = { d->lo, d->hi };
    const double *v = d->range ? ends : d->values;
    int count = d->range ? 2 : d->count;
    for (int i = 0; i < count; i++)
        if (v[i] != floor (v[i]) || (d->range && fmod (v[i], (double) align) != 0))
            return sf_zpl_fail (zpl, SF_ERR_FORMAT, f->line, "sweep: %s: %g is not an integer%s", f->name,
                                v[i], d->range ? " multiple of align" : "");
    return SF_OK;
}

static int
s_parse_templates (const sf_zpl_t *zpl, const sf_zpl_field_t *f, unsigned *out)
{
    *out = 0;
    for (const char *p = f->value; *p; p++)
        *out |= *p == 'U' ? SF_SWEEP_U : *p == 'D' ? SF_SWEEP_D : *p == 'T' ? SF_SWEEP_T : 8u;
    if (*out == 0 || *out > (SF_SWEEP_U | SF_SWEEP_D | SF_SWEEP_T)
        || ((*out & SF_SWEEP_T) && *out != SF_SWEEP_T))
        return sf_zpl_fail (zpl, SF_ERR_FORMAT, f->line, "sweep: templates must be U, D, UD or T, not '%s'",
                            f->value);
    return SF_OK;
}

/*  precision: fp32 (the default) for U and D, bf16 or fp16 for T (the
    tiers each family's kernels and collector cover). */
static int
s_parse_precision (const sf_zpl_t *zpl, const sf_zpl_field_t *f, const sf_zpl_field_t *tf, unsigned templates,
                   sf_tier *out)
{
    int tier = f->value ? sf_tier_parse (f->value) : SF_TIER_FP32;
    if (tier < 0)
        return sf_zpl_fail (zpl, SF_ERR_FORMAT, f->line, "sweep: precision must be fp32, bf16 or fp16, not '%s'",
                            f->value);
    *out = (sf_tier) tier;
    bool t = templates == SF_SWEEP_T;
    if (t && !sf_tier_is_half (*out))
        return sf_zpl_fail (zpl, SF_ERR_RANGE, f->value ? f->line : tf->line,
                            "sweep: templates = T needs precision = bf16 or fp16 (T's kernels are 16-bit)");
    if (!t && *out != SF_TIER_FP32)
        return sf_zpl_fail (zpl, SF_ERR_RANGE, f->line,
                            "sweep: templates U and D sweep in fp32 only (their rank model's tier), not %s",
                            f->value);
    return SF_OK;
}

static int
s_load_numbers (sf_zpl_t *zpl, sf_zpl_field_t *f, sf_sweep_t *s)
{
    int64_t problems = 0, configs = 0;
    int rc = sf_zpl_parse_u64 (zpl, &f[S_SEED], "sweep", 0, &s->seed);
    if (rc == SF_OK)
        rc = sf_zpl_parse_int (zpl, &f[S_PROBLEMS], "sweep", 1, SF_SWEEP_PROBLEMS_MAX, &problems);
    if (rc == SF_OK)
        rc = sf_zpl_parse_int (zpl, &f[S_CONFIGS], "sweep", 2, SF_SWEEP_CONFIGS_MAX, &configs);
    s->problems = (int) problems;
    s->configs = (int) configs;
    if (rc == SF_OK)
        rc = s_parse_templates (zpl, &f[S_TEMPLATES], &s->templates);
    if (rc == SF_OK)
        rc = s_parse_precision (zpl, &f[S_PRECISION], &f[S_TEMPLATES], s->templates, &s->tier);
    s->align = 1;
    if (rc == SF_OK && f[S_ALIGN].value)
        rc = sf_zpl_parse_int (zpl, &f[S_ALIGN], "sweep", 1, 1024, &s->align);
    s_dist_t *dims[3] = { &s->m, &s->k, &s->n };
    for (int i = 0; i < 3 && rc == SF_OK; i++) {
        rc = s_parse_dist (zpl, &f[S_M + i], 1, SF_SWEEP_DIM_MAX, dims[i]);
        if (rc == SF_OK)
            rc = s_check_dims (zpl, &f[S_M + i], dims[i], s->align);
    }
    if (rc == SF_OK)
        rc = s_parse_dist (zpl, &f[S_SPARSITY], 0, 0.999, &s->sparsity);
    s->structured = 0;
    s->skew = 1.0;
    if (rc == SF_OK && f[S_STRUCTURED].value)
        rc = sf_zpl_parse_double (zpl, &f[S_STRUCTURED], "sweep", 0, 1, &s->structured);
    if (rc == SF_OK && f[S_SKEW].value)
        rc = sf_zpl_parse_double (zpl, &f[S_SKEW], "sweep", 0, 4, &s->skew);
    return rc;
}

static int
s_load_section (sf_zpl_t *zpl, zconfig_t *section, size_t line, sf_sweep_t *s)
{
    sf_zpl_field_t f[S_FIELDS] = {
        { "name", NULL, 0 }, { "description", NULL, 0 }, { "seed", NULL, 0 }, { "problems", NULL, 0 },
        { "configs", NULL, 0 }, { "templates", NULL, 0 }, { "m", NULL, 0 }, { "k", NULL, 0 },
        { "n", NULL, 0 }, { "align", NULL, 0 }, { "sparsity", NULL, 0 }, { "structured", NULL, 0 },
        { "skew", NULL, 0 }, { "precision", NULL, 0 }
    };
    static const int required[] = { S_NAME, S_SEED, S_PROBLEMS, S_CONFIGS, S_TEMPLATES, S_M, S_K, S_N,
                                    S_SPARSITY };
    int rc = sf_zpl_read_fields (zpl, section, "sweep", f, S_FIELDS);
    for (size_t i = 0; rc == SF_OK && i < sizeof required / sizeof required[0]; i++)
        rc = sf_zpl_require (zpl, &f[required[i]], "sweep section", line);
    if (rc != SF_OK)
        return rc;
    const char *name = f[S_NAME].value;
    size_t len = strlen (name);
    if (len == 0 || len >= S_NAME_MAX || name[strspn (name, "abcdefghijklmnopqrstuvwxyz"
                                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")])
        return sf_zpl_fail (zpl, SF_ERR_FORMAT, f[S_NAME].line,
                            "sweep: name must be 1..%d of letters, digits and . _ + -", S_NAME_MAX - 1);
    snprintf (s->name, sizeof s->name, "%s", name);
    if (f[S_DESCRIPTION].value && strlen (f[S_DESCRIPTION].value) >= S_TEXT_MAX)
        return sf_zpl_fail (zpl, SF_ERR_RANGE, f[S_DESCRIPTION].line, "sweep: description is too long");
    snprintf (s->description, sizeof s->description, "%s", f[S_DESCRIPTION].value ? f[S_DESCRIPTION].value : "");
    return s_load_numbers (zpl, f, s);
}

sf_sweep_t *
sf_sweep_load (const char *path)
{
    sf_zpl_t *zpl = sf_zpl_load (path, SF_SWEEP_FILE_MAX, "sweep file");
    sf_sweep_t *s = zpl ? calloc (1, sizeof *s) : NULL;
    int rc = !zpl ? sf_error_last () : !s ? sf_error_set (SF_ERR_NOMEM, "out of memory") : SF_OK;
    zconfig_t *section = rc == SF_OK ? zconfig_child (sf_zpl_root (zpl)) : NULL;
    if (rc == SF_OK && !section)
        rc = sf_zpl_fail (zpl, SF_ERR_FORMAT, 0, "no 'sweep' section (the file is empty)");
    if (rc == SF_OK) {
        size_t line = sf_zpl_next_line (zpl);
        rc = !streq (zconfig_name (section), "sweep")
             ? sf_zpl_fail (zpl, SF_ERR_FORMAT, line, "unknown section '%s' (the one section is 'sweep')",
                            zconfig_name (section))
             : s_load_section (zpl, section, line, s);
    }
    if (rc == SF_OK && zconfig_next (section))
        rc = sf_zpl_fail (zpl, SF_ERR_FORMAT, sf_zpl_peek_line (zpl), "one 'sweep' section per file");
    sf_zpl_destroy (&zpl);
    if (rc != SF_OK)
        sf_sweep_destroy (&s);
    return s;
}

void
sf_sweep_destroy (sf_sweep_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

const char *
sf_sweep_name (const sf_sweep_t *self)
{
    return self->name;
}

const char *
sf_sweep_description (const sf_sweep_t *self)
{
    return self->description;
}

int
sf_sweep_problems (const sf_sweep_t *self)
{
    return self->problems;
}

int
sf_sweep_configs_per_problem (const sf_sweep_t *self)
{
    return self->configs;
}

unsigned
sf_sweep_templates (const sf_sweep_t *self)
{
    return self->templates;
}

sf_tier
sf_sweep_precision (const sf_sweep_t *self)
{
    return self->tier;
}

/* ---- problems ----------------------------------------------------------------- */

static uint64_t
s_mix (uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/*  A seed per (sweep, problem, purpose): problems are independent draws. */
static uint64_t
s_seed (const sf_sweep_t *self, int i, uint64_t purpose)
{
    return s_mix (s_mix (self->seed) ^ s_mix ((uint64_t) i * 4 + purpose));
}

/*  A dimension: log-uniform over a range (rounded to align), or a list value. */
static int64_t
s_draw_dim (sf_rng_t *rng, const s_dist_t *d, int64_t align)
{
    if (!d->range)
        return (int64_t) d->values[sf_rng_below (rng, (uint64_t) d->count)];
    double x = exp (log (d->lo) + sf_rng_unit (rng) * (log (d->hi) - log (d->lo)));
    double v = round (x / (double) align) * (double) align;
    return (int64_t) fmin (fmax (v, d->lo), d->hi);
}

static double
s_draw_value (sf_rng_t *rng, const s_dist_t *d)
{
    if (!d->range)
        return d->values[sf_rng_below (rng, (uint64_t) d->count)];
    return d->lo + sf_rng_unit (rng) * (d->hi - d->lo);
}

void
sf_sweep_problem (const sf_sweep_t *self, int i, sf_sweep_problem_t *p)
{
    sf_rng_t rng;
    sf_rng_seed (&rng, s_seed (self, i, 0));
    memset (p, 0, sizeof *p);
    p->index = i;
    snprintf (p->id, sizeof p->id, "%s/p%04d", self->name, i);
    p->m = s_draw_dim (&rng, &self->m, self->align);
    p->k = s_draw_dim (&rng, &self->k, self->align);
    p->n = s_draw_dim (&rng, &self->n, self->align);
    p->sparsity = s_draw_value (&rng, &self->sparsity);
    /* At least one nonzero. */
    double cells = (double) p->m * (double) p->k;
    p->sparsity = fmin (p->sparsity, 1.0 - 1.0 / cells);
    p->mask = sf_rng_unit (&rng) < self->structured ? SF_MASK_STRUCTURED : SF_MASK_UNIFORM;
    p->skew = self->skew;
    p->seed = s_seed (self, i, 1);
}

/* ---- structured masks ---------------------------------------------------------- */

/*  A standard normal draw (Box-Muller). */
static double
s_normal (sf_rng_t *rng)
{
    double u = 1.0 - sf_rng_unit (rng), v = sf_rng_unit (rng);
    return sqrt (-2.0 * log (u)) * cos (2.0 * M_PI * v);
}

/*  Cumulative log-normal weights of count items. */
static void
s_weights (sf_rng_t *rng, double skew, int64_t count, double *cum)
{
    double sum = 0;
    for (int64_t i = 0; i < count; i++) {
        sum += exp (skew * s_normal (rng));
        cum[i] = sum;
    }
}

/*  An index drawn with probability proportional to its weight. */
static int64_t
s_pick (sf_rng_t *rng, const double *cum, int64_t count)
{
    double target = sf_rng_unit (rng) * cum[count - 1];
    int64_t lo = 0, hi = count - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (cum[mid] > target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/*  Marks nnz cells of an m x k bitmap: weighted draws, and once those keep
    hitting full rows and columns (dense corners), uniform ones. */
static void
s_fill_mask (sf_rng_t *rng, const sf_sweep_problem_t *p, int64_t nnz, const double *rows,
             const double *cols, uint64_t *bits)
{
    int64_t placed = 0, tries = 0, weighted_tries = 20 * nnz + 1000;
    while (placed < nnz) {
        int64_t r, c;
        if (tries++ < weighted_tries) {
            r = s_pick (rng, rows, p->m);
            c = s_pick (rng, cols, p->k);
        } else {
            r = (int64_t) sf_rng_below (rng, (uint64_t) p->m);
            c = (int64_t) sf_rng_below (rng, (uint64_t) p->k);
        }
        uint64_t cell = (uint64_t) (r * p->k + c);
        if (bits[cell / 64] & (1ull << (cell % 64)))
            continue;
        bits[cell / 64] |= 1ull << (cell % 64);
        placed++;
    }
}

static sf_matrix_t *
s_structured (const sf_sweep_problem_t *p)
{
    int64_t cells = p->m * p->k;
    if (cells > SF_SWEEP_CELLS_MAX) {
        sf_error_set (SF_ERR_RANGE, "%s: a structured mask of %lld x %lld is too large", p->id,
                      (long long) p->m, (long long) p->k);
        return NULL;
    }
    int64_t nnz = llround ((1.0 - p->sparsity) * (double) cells);
    sf_rng_t rng;
    sf_rng_seed (&rng, p->seed);
    double *rows = malloc ((size_t) p->m * sizeof *rows), *cols = malloc ((size_t) p->k * sizeof *cols);
    uint64_t *bits = calloc ((size_t) (cells + 63) / 64, sizeof *bits);
    int32_t *row_ptr = malloc ((size_t) (p->m + 1) * sizeof *row_ptr);
    int32_t *col_idx = malloc ((size_t) nnz * sizeof *col_idx + 1);
    float *values = malloc ((size_t) nnz * sizeof *values + 1);
    sf_matrix_t *a = NULL;
    if (rows && cols && bits && row_ptr && col_idx && values) {
        s_weights (&rng, p->skew, p->m, rows);
        s_weights (&rng, p->skew, p->k, cols);
        s_fill_mask (&rng, p, nnz, rows, cols, bits);
        int32_t at = 0;
        for (int64_t r = 0; r < p->m; r++) {
            row_ptr[r] = at;
            for (int64_t c = 0; c < p->k; c++) {
                uint64_t cell = (uint64_t) (r * p->k + c);
                if (bits[cell / 64] & (1ull << (cell % 64))) {
                    col_idx[at] = (int32_t) c;
                    values[at++] = sf_rng_weight (&rng);
                }
            }
        }
        row_ptr[p->m] = at;
        a = sf_matrix_new_csr (p->m, p->k, &row_ptr, &col_idx, &values);
    } else
        sf_error_set (SF_ERR_NOMEM, "out of memory");
    free (rows);
    free (cols);
    free (bits);
    free (row_ptr);
    free (col_idx);
    free (values);
    return a;
}

sf_matrix_t *
sf_sweep_matrix (const sf_sweep_problem_t *p)
{
    if (p->mask == SF_MASK_STRUCTURED)
        return s_structured (p);
    return sf_matrix_new_random (p->m, p->k, p->sparsity, p->seed);
}

/* ---- configs ------------------------------------------------------------------ */

int
sf_sweep_configs (const sf_sweep_t *self, const sf_sweep_problem_t *p, const sf_matrix_t *a,
                  int32_t sm_count, sf_config_t *out, int max)
{
    sf_config_t *legal = malloc (S_LEGAL_MAX * sizeof *legal);
    if (!legal)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    sf_space_problem_t sp = { p->m, p->k, p->n, sf_matrix_nnz (a), sm_count, false, false, false };
    int count = 0, rc = SF_OK;
    if (self->templates & SF_SWEEP_U)
        rc = count = sf_space_u (&sp, legal, S_LEGAL_MAX, NULL);
    if (rc >= 0 && (self->templates & SF_SWEEP_D)) {
        rc = sf_space_d (&sp, legal + count, S_LEGAL_MAX - count, NULL);
        count = rc >= 0 ? count + rc : count;
    }
    if (rc < 0) {
        free (legal);
        return rc;
    }
    /* The first `keep` of a seeded shuffle, back in the table's order. */
    int keep = self->configs < count ? self->configs : count;
    keep = keep < max ? keep : max;
    int *index = malloc ((size_t) count * sizeof *index + 1);
    if (!index) {
        free (legal);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < count; i++)
        index[i] = i;
    sf_rng_t rng;
    sf_rng_seed (&rng, s_seed (self, p->index, 2));
    for (int i = 0; i < keep; i++) {
        int j = i + (int) sf_rng_below (&rng, (uint64_t) (count - i));
        int t = index[i];
        index[i] = index[j];
        index[j] = t;
    }
    for (int i = 1; i < keep; i++)
        for (int j = i; j > 0 && index[j - 1] > index[j]; j--) {
            int t = index[j];
            index[j] = index[j - 1];
            index[j - 1] = t;
        }
    for (int i = 0; i < keep; i++)
        out[i] = legal[index[i]];
    free (index);
    free (legal);
    return keep;
}

/* ---- the estimate -------------------------------------------------------------- */

/*  D configs met so far (compiled once per worker process). */
typedef struct {
    char (*texts)[SF_CONFIG_TEXT_MAX];
    int count, alloc;
} s_seen_t;

static int
s_seen_add (s_seen_t *seen, const sf_config_t *c)
{
    char text[SF_CONFIG_TEXT_MAX];
    sf_config_text (c, text);
    for (int i = 0; i < seen->count; i++)
        if (streq (seen->texts[i], text))
            return 0;
    if (seen->count == seen->alloc) {
        int next = seen->alloc ? 2 * seen->alloc : 64;
        void *grown = realloc (seen->texts, (size_t) next * sizeof *seen->texts);
        if (!grown)
            return sf_error_set (SF_ERR_NOMEM, "out of memory");
        seen->texts = grown;
        seen->alloc = next;
    }
    snprintf (seen->texts[seen->count++], SF_CONFIG_TEXT_MAX, "%s", text);
    return 1;
}

/*  One problem's compile and GPU seconds. */
static int
s_estimate_problem (const sf_sweep_t *self, int i, int32_t sm_count, int threads, s_seen_t *seen,
                    sf_config_t *configs, sf_sweep_estimate_t *e)
{
    sf_sweep_problem_t p;
    sf_sweep_problem (self, i, &p);
    sf_matrix_t *a = sf_sweep_matrix (&p);
    sf_features_t *f = a ? sf_features_new (a, p.n, sm_count) : NULL;
    int count = f ? sf_sweep_configs (self, &p, a, sm_count, configs, SF_SWEEP_CONFIGS_MAX) : sf_error_last ();
    double cpu = 0, longest = 0;
    for (int c = 0; c < count; c++) {
        float x[SF_FEATURES_COUNT];
        double seconds = 0;
        if (configs[c].tmpl == SF_TEMPLATE_U) {
            int rc = sf_features_of (f, &configs[c], x);
            if (rc != SF_OK) {
                count = rc;
                break;
            }
            /* The proxy's code: its representatives' nonzeros, per lane;
               a small layer's full kernel: all of them. */
            double reps = sf_emit_default_reps ((int32_t) x[SF_F_PANELS]);
            if (!sf_cost_u_as_proxy (sf_matrix_nnz (a)))
                reps = x[SF_F_PANELS];
            seconds = S_PTXAS_S (reps * x[SF_F_PANEL_NNZ_MEAN] * configs[c].vec);
            e->u_candidates++;
        } else {
            int added = s_seen_add (seen, &configs[c]);
            if (added < 0) {
                count = added;
                break;
            }
            seconds = added ? S_D_COMPILE_S : 0;
            e->d_configs += added;
        }
        cpu += seconds;
        longest = fmax (longest, seconds);
    }
    if (count >= 0) {
        double gpu = S_GPU_PROBLEM_S + S_GPU_CANDIDATE_S * count;
        e->candidates += count;
        e->compile_cpu_s += cpu;
        e->gpu_s += gpu;
        e->wall_s += fmax (cpu / threads, longest) + gpu;
    }
    sf_features_destroy (&f);
    sf_matrix_destroy (&a);
    return count < 0 ? count : SF_OK;
}

int
sf_sweep_estimate (const sf_sweep_t *self, int32_t sm_count, int threads, sf_sweep_estimate_t *e)
{
    if (self->templates == SF_SWEEP_T)
        return sf_tsweep_estimate (self, sm_count, threads, e);
    memset (e, 0, sizeof *e);
    e->problems = self->problems;
    s_seen_t seen = { 0 };
    sf_config_t *configs = malloc (SF_SWEEP_CONFIGS_MAX * sizeof *configs);
    int rc = configs ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < self->problems && rc == SF_OK; i++)
        rc = s_estimate_problem (self, i, sm_count, threads > 0 ? threads : 1, &seen, configs, e);
    free (configs);
    free (seen.texts);
    return rc;
}

/* ---- running a problem ---------------------------------------------------------- */

int
sf_sweep_list_rank (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count, const sf_config_t *configs,
                    int count, double *scores)
{
    const sf_sweep_list_t *list = arg;
    (void) a;
    (void) n;
    (void) sm_count;
    for (int i = 0; i < count; i++) {
        scores[i] = -INFINITY;
        for (int j = 0; j < list->count; j++)
            if (memcmp (&configs[i], &list->configs[j], sizeof configs[i]) == 0) {
                scores[i] = -(double) j;  /* the list's order */
                break;
            }
    }
    return SF_OK;
}

static void
s_result_key (sf_store_result_key_t *key, const char *gpu_type, const sf_matrix_t *a, int64_t n,
              sf_template tmpl, const char *config, bool proxy)
{
    memset (key, 0, sizeof *key);
    snprintf (key->gpu_type, sizeof key->gpu_type, "%s", gpu_type);
    sf_record_hash_parse (sf_matrix_hash (a), key->matrix);
    key->n = n;
    key->tmpl = tmpl;
    snprintf (key->config, sizeof key->config, "%s", config);
    key->proxy = proxy;
    key->l2_cold = sf_record_search_l2_cold (NULL, n);  /* a sweep's L2 is auto's */
}

bool
sf_sweep_measured (sf_store_t *store, const char *gpu_type, const sf_matrix_t *a, int64_t n,
                   const sf_config_t *configs, int count)
{
    for (int i = 0; i < count; i++) {
        char text[SF_CONFIG_TEXT_MAX];
        sf_store_result_key_t key;
        sf_store_result_t v;
        s_result_key (&key, gpu_type, a, n, configs[i].tmpl, sf_config_text (&configs[i], text),
                      configs[i].tmpl == SF_TEMPLATE_U && sf_cost_u_as_proxy (sf_matrix_nnz (a)));
        if (sf_store_get_result (store, &key, &v) != SF_OK)
            return false;
    }
    return true;
}
