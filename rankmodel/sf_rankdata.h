/*  sf_rankdata: a rank model's training data (docs/RANKMODEL.md): rows of
    features (rankmodel/sf_features.h) with their measured times, in groups
    of consecutive rows, one group per problem (matrix, N, GPU type); and
    the labels a pairwise ranking learns from. Plain data: the caller owns
    the struct, the arrays are the struct's (sf_rankdata_free).
*/
#ifndef SF_RANKDATA_H_INCLUDED
#define SF_RANKDATA_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  How a row's label comes from the times of its group: the best time in
    the group / its time, or that ratio rounded to levels - 1 steps. */
typedef enum { SF_LABEL_RATIO = 0, SF_LABEL_GRADED = 1 } sf_rank_label;

/*  Rows of features with their measured times, in groups of consecutive
    rows. Start from { .cols = COLS }; build with sf_rankdata_add_group;
    release with sf_rankdata_free. */
typedef struct {
    int cols;                  /* features per row (set before the first group) */
    int rows, groups;
    float *x;                  /* rows x cols, row-major */
    double *us;                /* measured time of each row (> 0) */
    uint32_t *sizes;           /* rows of each group */
    size_t row_alloc, group_alloc;
} sf_rankdata_t;

#define SF_RANKDATA_ROWS_MAX (1 << 26)
#define SF_RANKDATA_GROUP_MAX 100000  /* rows of one group */

/*  Appends a group of count rows (x: count x cols, copied; us: count times,
    each > 0 and finite). SF_ERR_INVALID (cols < 1, count outside
    1..SF_RANKDATA_GROUP_MAX, a bad time), SF_ERR_RANGE (more than
    SF_RANKDATA_ROWS_MAX rows), SF_ERR_NOMEM; data unchanged on failure. */
int sf_rankdata_add_group (sf_rankdata_t *data, const float *x, const double *us, int count);

/*  Frees the arrays; data is empty again with its cols kept. */
void sf_rankdata_free (sf_rankdata_t *data);

/*  Appends the groups of data listed in which[0..count) (indices below
    data->groups), in that order, to out (cols equal to data's). */
int sf_rankdata_subset (const sf_rankdata_t *data, const int *which, int count, sf_rankdata_t *out);

/*  The label of each row (malloc'ed, rows entries; caller frees), or NULL
    with SF_ERR_NOMEM. levels: graded labels' steps + 1 (2..32). */
float *sf_rankdata_labels (const sf_rankdata_t *data, sf_rank_label label, int levels);

#ifdef __cplusplus
}
#endif
#endif
