/*  sf_tprior: a prior order of template T's configs (sf_tprior.h). */
#include "proxygen/sf_tprior.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

/*  Rows of C a block owns (16 w m): 128 is where the measured winners are,
    64 and 256 next to it; thin blocks waste the B staging. */
static double
s_rows_cost (int64_t rows)
{
    switch (rows) {
    case 128: return 0.0;
    case 64: case 256: return 0.25;
    case 32: return 1.5;
    case 16: return 3.0;
    default: return 1.0;
    }
}

static double
s_group_cost (int32_t group)
{
    return group == 8 ? 0.0 : group == 4 || group == 16 ? 0.5 : 1.0;
}

double
sf_tprior_score (const sf_tspace_problem_t *p, const sf_tconfig_t *c)
{
    bool prefill = p->n >= SF_TKERNEL_PREFILL_N;
    int64_t widest = 8;
    while (widest < p->n && widest < (prefill ? 128 : 64))
        widest *= 2;
    double d = p->m > 0 && p->k > 0 ? (double) p->nnz / ((double) p->m * (double) p->k) : 1.0;
    double s = 2.0 * fabs (log2 ((double) c->ncols / (double) widest));
    /* e2 is e1's pair bitmap with the starts in the header: one family */
    int32_t family = c->enc == SF_T_PAIR2 ? SF_T_PAIR : c->enc;
    s += family == (d <= 0.5 ? SF_T_PAIR : SF_T_ELEM) ? 0.0 : 0.5;
    int64_t rows = 16 * (int64_t) c->warps * c->strips;
    s += s_rows_cost (rows) + (c->warps < 4 ? 1.0 : 0.0);
    int64_t blocks = (p->n + c->ncols - 1) / c->ncols * ((p->m + rows - 1) / rows) * c->ksplit;
    int32_t sms = p->sm_count > 0 ? p->sm_count : 1;
    s += 0.5 * fabs (log2 ((double) (blocks > 0 ? blocks : 1) / sms));
    s += s_group_cost (c->group) + (c->stages == 4 ? 0.0 : 0.5);
    return s;
}

typedef struct {
    double score;
    int index;
} s_rank_t;

static int
s_by_score (const void *a, const void *b)
{
    const s_rank_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/*  Whether two configs differ only in the a and b knobs. */
static bool
s_same_geometry (const sf_tconfig_t *x, const sf_tconfig_t *y)
{
    return x->enc == y->enc && x->warps == y->warps && x->strips == y->strips && x->ncols == y->ncols
        && x->ksplit == y->ksplit && x->group == y->group && x->stages == y->stages && x->prefill == y->prefill;
}

#define S_VARIANTS_PER_GEOMETRY 2

int
sf_tprior_pick (const sf_tspace_problem_t *p, sf_tconfig_t *configs, int count, int keep)
{
    if (keep <= 0 || keep >= count)
        return count;
    s_rank_t *rank = malloc ((size_t) count * sizeof *rank);
    bool *taken = calloc ((size_t) count, sizeof *taken);
    sf_tconfig_t *out = malloc ((size_t) count * sizeof *out);
    if (!rank || !taken || !out) {
        free (rank);
        free (taken);
        free (out);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < count; i++)
        rank[i] = (s_rank_t) { sf_tprior_score (p, &configs[i]), i };
    qsort (rank, (size_t) count, sizeof *rank, s_by_score);
    int picked = 0;
    /* first pass: at most two variants of a geometry; second: any */
    for (int pass = 0; pass < 2 && picked < keep; pass++)
        for (int r = 0; r < count && picked < keep; r++) {
            int i = rank[r].index;
            if (taken[i])
                continue;
            int same = 0;
            for (int j = 0; j < picked; j++)
                same += s_same_geometry (&out[j], &configs[i]);
            if (pass == 0 && same >= S_VARIANTS_PER_GEOMETRY)
                continue;
            taken[i] = true;
            out[picked++] = configs[i];
        }
    int n = picked;
    for (int i = 0; i < count; i++)
        if (!taken[i])
            out[n++] = configs[i];
    memcpy (configs, out, (size_t) count * sizeof *out);
    free (rank);
    free (taken);
    free (out);
    return keep;
}
