/*  sf_sort: ascending sorts of plain numbers, the one copy of the
    comparators the farm's statistics and matrix readers use (medians and
    percentiles of timings and latencies, CSR keys). qsort underneath: not
    stable, which plain numbers do not notice. NaNs sort as equal to
    everything and end up anywhere: callers keep them out. */
#ifndef SF_SORT_H_INCLUDED
#define SF_SORT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Sorts v[0..count) ascending, in place. */
void sf_sort_doubles (double *v, size_t count);
void sf_sort_u64 (uint64_t *v, size_t count);
void sf_sort_ints (int *v, size_t count);

#ifdef __cplusplus
}
#endif
#endif
