/*  sf_panels: a weight matrix cut into panels of rows, after reordering.

    A thread block of a generated kernel owns one panel: for every column k
    that the panel touches it loads B[k, cols] once and multiplies it into
    every row of the panel with a nonzero at k (DESIGN 4.2). Rows are first
    permuted (DESIGN 4.3) so that rows sharing columns land in one panel:
    fewer distinct k per panel means fewer B loads per multiply-add.

    For each panel this module lists its distinct k in ascending order and,
    for each k, the (row within panel, value) pairs: exactly what the code
    emitters walk.
*/
#ifndef SF_PANELS_H_INCLUDED
#define SF_PANELS_H_INCLUDED

#include <stdint.h>

#include "common/sf_matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SF_REORDER_NONE = 0,        /* rows in their original order */
    SF_REORDER_NNZ = 1,         /* by nonzeros, descending: balanced panels */
    SF_REORDER_SIMILARITY = 2   /* greedy clustering by column overlap */
} sf_reorder;

#define SF_REORDER_COUNT 3

typedef struct _sf_panels_t sf_panels_t;

typedef struct {
    int32_t first;       /* permuted position of the panel's first row */
    int32_t rows;        /* rows in the panel (the last may be short) */
    int32_t nnz;         /* nonzeros */
    int32_t distinct_k;  /* distinct columns touched = B rows loaded */
} sf_panel_info_t;

/*  Cuts `a` into panels of `panel_rows` rows (1..1024) after reordering. The
    matrix is not kept. NULL on bad arguments or out of memory. */
sf_panels_t *sf_panels_new (const sf_matrix_t *a, int32_t panel_rows, sf_reorder reorder);
void sf_panels_destroy (sf_panels_t **self_p);

int32_t sf_panels_count (const sf_panels_t *self);
int32_t sf_panels_panel_rows (const sf_panels_t *self);
sf_reorder sf_panels_reorder (const sf_panels_t *self);

/*  perm[i] = original row of permuted position i (M entries; owned). */
const int32_t *sf_panels_perm (const sf_panels_t *self);

void sf_panels_info (const sf_panels_t *self, int32_t panel, sf_panel_info_t *info);

/*  The panel's distinct k, ascending: *ks_p points at distinct_k entries
    (owned). For the j-th k, entries [begin, end) of the panel's pairs. */
const int32_t *sf_panels_ks (const sf_panels_t *self, int32_t panel);
void sf_panels_k_entries (const sf_panels_t *self, int32_t panel, int32_t j,
                          int32_t *begin, int32_t *end);
/*  Pair arrays of the panel (nnz entries each, owned): row within the panel
    and value, grouped by k in the order of sf_panels_ks. */
const int32_t *sf_panels_entry_rows (const sf_panels_t *self, int32_t panel);
const float *sf_panels_entry_values (const sf_panels_t *self, int32_t panel);

/*  Everything an emitter reads of one panel, in one place (pointers owned
    by the panels). */
typedef struct {
    sf_panel_info_t info;
    const int32_t *ks;       /* sf_panels_ks */
    const int32_t *rows;     /* sf_panels_entry_rows */
    const float *values;     /* sf_panels_entry_values */
    const int32_t *perm;     /* sf_panels_perm (of all panels) */
} sf_panel_view_t;
void sf_panels_view (const sf_panels_t *self, int32_t panel, sf_panel_view_t *view);

/*  Summary over panels, for features and reports. */
typedef struct {
    double nnz_mean, nnz_max, nnz_cv;   /* cv: coefficient of variation */
    double k_mean, k_max, k_cv;
    double loads_per_fma;               /* sum distinct_k / nnz */
} sf_panels_stats_t;
void sf_panels_stats (const sf_panels_t *self, sf_panels_stats_t *stats);

const char *sf_reorder_name (sf_reorder reorder);
/*  "none", "nnz", "sim" -> enum; -1 if unknown. */
int sf_reorder_parse (const char *name);

#ifdef __cplusplus
}
#endif
#endif
