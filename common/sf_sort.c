/*  sf_sort: ascending sorts of plain numbers (sf_sort.h). */
#include "common/sf_sort.h"

#include <stdlib.h>

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

static int
s_cmp_int (const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b;
    return (x > y) - (x < y);
}

void
sf_sort_doubles (double *v, size_t count)
{
    if (v && count > 1)
        qsort (v, count, sizeof *v, s_cmp_double);
}

void
sf_sort_u64 (uint64_t *v, size_t count)
{
    if (v && count > 1)
        qsort (v, count, sizeof *v, s_cmp_u64);
}

void
sf_sort_ints (int *v, size_t count)
{
    if (v && count > 1)
        qsort (v, count, sizeof *v, s_cmp_int);
}
