/*  sf_rankdata: growing arrays of rows and groups. */
#include "rankmodel/sf_rankdata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

/*  Room for `need` items of `item` bytes in *ptr (doubling). */
static int
s_grow (void **ptr, size_t *alloc, size_t need, size_t item)
{
    if (need <= *alloc)
        return SF_OK;
    size_t next = *alloc ? 2 * *alloc : 64;
    while (next < need)
        next *= 2;
    void *grown = realloc (*ptr, next * item);
    if (!grown)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    *ptr = grown;
    *alloc = next;
    return SF_OK;
}

/*  Room for `rows` rows and `groups` groups. */
static int
s_reserve (sf_rankdata_t *d, size_t rows, size_t groups)
{
    if (rows > d->row_alloc) {
        size_t next = d->row_alloc ? d->row_alloc : 64;
        while (next < rows)
            next *= 2;
        float *x = realloc (d->x, next * (size_t) d->cols * sizeof *x);
        if (x)
            d->x = x;
        double *us = x ? realloc (d->us, next * sizeof *us) : NULL;
        if (!us)
            return sf_error_set (SF_ERR_NOMEM, "out of memory");
        d->us = us;
        d->row_alloc = next;
    }
    return s_grow ((void **) &d->sizes, &d->group_alloc, groups, sizeof *d->sizes);
}

int
sf_rankdata_add_group (sf_rankdata_t *d, const float *x, const double *us, int count)
{
    if (d->cols < 1 || count < 1 || count > SF_RANKDATA_GROUP_MAX)
        return sf_error_set (SF_ERR_INVALID, "rank data: a group of %d rows of %d features", count, d->cols);
    if (d->rows + count > SF_RANKDATA_ROWS_MAX)
        return sf_error_set (SF_ERR_RANGE, "rank data: more than %d rows", SF_RANKDATA_ROWS_MAX);
    for (int i = 0; i < count; i++)
        if (!(us[i] > 0 && isfinite (us[i])))
            return sf_error_set (SF_ERR_INVALID, "rank data: time %g is not positive and finite", us[i]);
    int rc = s_reserve (d, (size_t) d->rows + (size_t) count, (size_t) d->groups + 1);
    if (rc != SF_OK)
        return rc;
    memcpy (d->x + (size_t) d->rows * (size_t) d->cols, x, (size_t) count * (size_t) d->cols * sizeof *x);
    memcpy (d->us + d->rows, us, (size_t) count * sizeof *us);
    d->sizes[d->groups++] = (uint32_t) count;
    d->rows += count;
    return SF_OK;
}

void
sf_rankdata_free (sf_rankdata_t *d)
{
    free (d->x);
    free (d->us);
    free (d->sizes);
    int cols = d->cols;
    memset (d, 0, sizeof *d);
    d->cols = cols;
}

int
sf_rankdata_subset (const sf_rankdata_t *d, const int *which, int count, sf_rankdata_t *out)
{
    size_t *first = malloc (((size_t) d->groups + 1) * sizeof *first);
    if (!first)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    first[0] = 0;
    for (int g = 0; g < d->groups; g++)
        first[g + 1] = first[g] + d->sizes[g];
    int rc = SF_OK;
    for (int i = 0; i < count && rc == SF_OK; i++) {
        int g = which[i];
        rc = sf_rankdata_add_group (out, d->x + first[g] * (size_t) d->cols, d->us + first[g],
                                    (int) d->sizes[g]);
    }
    free (first);
    return rc;
}

float *
sf_rankdata_labels (const sf_rankdata_t *d, sf_rank_label label, int levels)
{
    float *labels = malloc ((size_t) d->rows * sizeof *labels + 1);
    if (!labels) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int row = 0;
    for (int g = 0; g < d->groups; g++) {
        double best = INFINITY;
        for (uint32_t i = 0; i < d->sizes[g]; i++)
            best = fmin (best, d->us[row + (int) i]);
        for (uint32_t i = 0; i < d->sizes[g]; i++, row++) {
            double ratio = best / d->us[row];
            labels[row] = (float) (label == SF_LABEL_GRADED ? round (ratio * (levels - 1)) : ratio);
        }
    }
    return labels;
}
