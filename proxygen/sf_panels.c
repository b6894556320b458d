/*  sf_panels: row reordering and per-panel k lists. */
#include "proxygen/sf_panels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

struct _sf_panels_t {
    int32_t panel_rows;
    int32_t count;
    sf_reorder reorder;
    int32_t *perm;        /* M */
    sf_panel_info_t *info;
    int64_t *k_begin;     /* count + 1: offsets into ks and k_entry */
    int32_t *ks;          /* total distinct k over panels */
    int32_t *k_entry;     /* total distinct k + count: entry offsets per k, per panel */
    int64_t *e_begin;     /* count + 1: offsets into e_row / e_val */
    int32_t *e_row;       /* nnz */
    float *e_val;         /* nnz */
};

const char *
sf_reorder_name (sf_reorder reorder)
{
    switch (reorder) {
    case SF_REORDER_NONE: return "none";
    case SF_REORDER_NNZ: return "nnz";
    case SF_REORDER_SIMILARITY: return "sim";
    }
    return "?";
}

int
sf_reorder_parse (const char *name)
{
    for (int i = 0; i < SF_REORDER_COUNT; i++)
        if (strcmp (name, sf_reorder_name ((sf_reorder) i)) == 0)
            return i;
    return -1;
}

/* ---- reordering ---------------------------------------------------------- */

typedef struct {
    uint64_t key1, key2;
    int32_t row;
} s_rowkey_t;

static int
s_cmp_rowkey (const void *a, const void *b)
{
    const s_rowkey_t *x = a, *y = b;
    if (x->key1 != y->key1)
        return x->key1 < y->key1 ? -1 : 1;
    if (x->key2 != y->key2)
        return x->key2 < y->key2 ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static uint64_t
s_mix (uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/*  Similarity: order rows by two MinHash signatures of their column sets
    (rows sharing many columns get equal minima with high probability), then
    build each panel greedily: start from the next unplaced row, add the
    candidate within a window that shares most columns with the panel so far. */
static int
s_order_similarity (const sf_matrix_t *a, int32_t panel_rows, int32_t *perm)
{
    int32_t m = sf_matrix_rows (a), k = sf_matrix_cols (a);
    const int32_t *rp = sf_matrix_row_ptr (a), *ci = sf_matrix_col_idx (a);
    s_rowkey_t *keys = malloc ((size_t) m * sizeof *keys);
    uint8_t *in_panel = calloc ((size_t) k, 1);
    uint8_t *placed = calloc ((size_t) m, 1);
    int32_t *order = malloc ((size_t) m * sizeof *order);
    if (!keys || !in_panel || !placed || !order) {
        free (keys); free (in_panel); free (placed); free (order);
        return sf_error_set (SF_ERR_NOMEM, "out of memory reordering rows");
    }
    for (int32_t r = 0; r < m; r++) {
        uint64_t h1 = UINT64_MAX, h2 = UINT64_MAX;
        for (int32_t p = rp[r]; p < rp[r + 1]; p++) {
            uint64_t x = s_mix ((uint64_t) ci[p] + 1);
            uint64_t y = s_mix ((uint64_t) ci[p] ^ 0x5bd1e995ULL);
            h1 = x < h1 ? x : h1;
            h2 = y < h2 ? y : h2;
        }
        keys[r] = (s_rowkey_t) { h1, h2, r };
    }
    qsort (keys, (size_t) m, sizeof *keys, s_cmp_rowkey);
    for (int32_t i = 0; i < m; i++)
        order[i] = keys[i].row;
    free (keys);

    enum { WINDOW = 64 };
    int32_t out = 0, cursor = 0;
    while (out < m) {
        while (placed[order[cursor]])
            cursor++;
        int32_t seed = order[cursor];
        int32_t start = out;
        placed[seed] = 1;
        perm[out++] = seed;
        for (int32_t p = rp[seed]; p < rp[seed + 1]; p++)
            in_panel[ci[p]] = 1;
        while (out - start < panel_rows && out < m) {
            int32_t best = -1, best_score = INT32_MIN, seen = 0;
            for (int32_t i = cursor; i < m && seen < WINDOW; i++) {
                int32_t r = order[i];
                if (placed[r])
                    continue;
                seen++;
                int32_t score = 0;
                for (int32_t p = rp[r]; p < rp[r + 1]; p++)
                    score += in_panel[ci[p]];
                /* Prefer overlap; among equals, fewer new columns. */
                score = score * 2 - (rp[r + 1] - rp[r] - score) / 4;
                if (score > best_score) {
                    best_score = score;
                    best = r;
                }
            }
            placed[best] = 1;
            perm[out++] = best;
            for (int32_t p = rp[best]; p < rp[best + 1]; p++)
                in_panel[ci[p]] = 1;
        }
        for (int32_t i = start; i < out; i++)
            for (int32_t p = rp[perm[i]]; p < rp[perm[i] + 1]; p++)
                in_panel[ci[p]] = 0;
    }
    free (in_panel);
    free (placed);
    free (order);
    return SF_OK;
}

static int
s_order (const sf_matrix_t *a, int32_t panel_rows, sf_reorder reorder, int32_t *perm)
{
    int32_t m = sf_matrix_rows (a);
    const int32_t *rp = sf_matrix_row_ptr (a);
    for (int32_t r = 0; r < m; r++)
        perm[r] = r;
    if (reorder == SF_REORDER_NONE)
        return SF_OK;
    if (reorder == SF_REORDER_SIMILARITY)
        return s_order_similarity (a, panel_rows, perm);
    s_rowkey_t *keys = malloc ((size_t) m * sizeof *keys);
    if (!keys)
        return sf_error_set (SF_ERR_NOMEM, "out of memory reordering rows");
    for (int32_t r = 0; r < m; r++)
        keys[r] = (s_rowkey_t) { (uint64_t) (INT32_MAX - (rp[r + 1] - rp[r])), 0, r };
    qsort (keys, (size_t) m, sizeof *keys, s_cmp_rowkey);
    for (int32_t r = 0; r < m; r++)
        perm[r] = keys[r].row;
    free (keys);
    return SF_OK;
}

/* ---- panel lists --------------------------------------------------------- */

typedef struct {
    int32_t k, row;
    float value;
} s_entry_t;

static int
s_cmp_entry (const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    if (x->k != y->k)
        return (x->k > y->k) - (x->k < y->k);
    return (x->row > y->row) - (x->row < y->row);
}

static int
s_build_lists (sf_panels_t *self, const sf_matrix_t *a)
{
    int32_t m = sf_matrix_rows (a);
    const int32_t *rp = sf_matrix_row_ptr (a), *ci = sf_matrix_col_idx (a);
    const float *val = sf_matrix_values (a);
    int64_t nnz = sf_matrix_nnz (a);
    int32_t widest = 0;
    for (int32_t p = 0; p < self->count; p++) {
        int32_t first = p * self->panel_rows;
        int32_t rows = m - first < self->panel_rows ? m - first : self->panel_rows;
        int32_t n = 0;
        for (int32_t i = 0; i < rows; i++)
            n += rp[self->perm[first + i] + 1] - rp[self->perm[first + i]];
        self->info[p] = (sf_panel_info_t) { first, rows, n, 0 };
        widest = n > widest ? n : widest;
    }
    s_entry_t *scratch = malloc ((size_t) (widest ? widest : 1) * sizeof *scratch);
    self->e_row = malloc ((size_t) (nnz ? nnz : 1) * sizeof *self->e_row);
    self->e_val = malloc ((size_t) (nnz ? nnz : 1) * sizeof *self->e_val);
    self->ks = malloc ((size_t) (nnz ? nnz : 1) * sizeof *self->ks);  /* distinct k <= nnz */
    self->k_entry = malloc ((size_t) (nnz + self->count + 1) * sizeof *self->k_entry);
    if (!scratch || !self->e_row || !self->e_val || !self->ks || !self->k_entry) {
        free (scratch);
        return sf_error_set (SF_ERR_NOMEM, "out of memory listing panels");
    }
    int64_t e = 0, kpos = 0, kentry = 0;
    for (int32_t p = 0; p < self->count; p++) {
        sf_panel_info_t *info = &self->info[p];
        int32_t n = 0;
        for (int32_t i = 0; i < info->rows; i++) {
            int32_t r = self->perm[info->first + i];
            for (int32_t q = rp[r]; q < rp[r + 1]; q++)
                scratch[n++] = (s_entry_t) { ci[q], i, val[q] };
        }
        qsort (scratch, (size_t) n, sizeof *scratch, s_cmp_entry);
        self->e_begin[p] = e;
        self->k_begin[p] = kpos;
        /* k_entry for panel p starts at kpos + p (one extra end offset each). */
        for (int32_t i = 0; i < n; i++) {
            if (i == 0 || scratch[i].k != scratch[i - 1].k) {
                self->ks[kpos++] = scratch[i].k;
                self->k_entry[kentry++] = i;
            }
            self->e_row[e] = scratch[i].row;
            self->e_val[e++] = scratch[i].value;
        }
        self->k_entry[kentry++] = n;
        info->distinct_k = (int32_t) (kpos - self->k_begin[p]);
    }
    self->e_begin[self->count] = e;
    self->k_begin[self->count] = kpos;
    free (scratch);
    return SF_OK;
}

sf_panels_t *
sf_panels_new (const sf_matrix_t *a, int32_t panel_rows, sf_reorder reorder)
{
    if (panel_rows < 1 || panel_rows > 1024 || (int) reorder < 0 || (int) reorder >= SF_REORDER_COUNT) {
        sf_error_set (SF_ERR_INVALID, "panel rows %d or reorder %d out of range", panel_rows, reorder);
        return NULL;
    }
    int32_t m = sf_matrix_rows (a);
    sf_panels_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory for panels");
        return NULL;
    }
    self->panel_rows = panel_rows;
    self->reorder = reorder;
    self->count = (int32_t) (((int64_t) m + panel_rows - 1) / panel_rows);
    self->perm = malloc ((size_t) m * sizeof *self->perm);
    self->info = calloc ((size_t) self->count, sizeof *self->info);
    self->k_begin = calloc ((size_t) self->count + 1, sizeof *self->k_begin);
    self->e_begin = calloc ((size_t) self->count + 1, sizeof *self->e_begin);
    if (!self->perm || !self->info || !self->k_begin || !self->e_begin) {
        sf_error_set (SF_ERR_NOMEM, "out of memory for panels");
        sf_panels_destroy (&self);
        return NULL;
    }
    if (s_order (a, panel_rows, reorder, self->perm) != SF_OK
        || s_build_lists (self, a) != SF_OK) {
        sf_panels_destroy (&self);
        return NULL;
    }
    return self;
}

void
sf_panels_destroy (sf_panels_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_panels_t *self = *self_p;
    free (self->perm);
    free (self->info);
    free (self->k_begin);
    free (self->ks);
    free (self->k_entry);
    free (self->e_begin);
    free (self->e_row);
    free (self->e_val);
    free (self);
    *self_p = NULL;
}

int32_t sf_panels_count (const sf_panels_t *self) { return self->count; }
int32_t sf_panels_panel_rows (const sf_panels_t *self) { return self->panel_rows; }
sf_reorder sf_panels_reorder (const sf_panels_t *self) { return self->reorder; }
const int32_t *sf_panels_perm (const sf_panels_t *self) { return self->perm; }

void
sf_panels_info (const sf_panels_t *self, int32_t panel, sf_panel_info_t *info)
{
    *info = self->info[panel];
}

const int32_t *
sf_panels_ks (const sf_panels_t *self, int32_t panel)
{
    return self->ks + self->k_begin[panel];
}

void
sf_panels_k_entries (const sf_panels_t *self, int32_t panel, int32_t j, int32_t *begin,
                     int32_t *end)
{
    const int32_t *ke = self->k_entry + self->k_begin[panel] + panel;
    *begin = ke[j];
    *end = ke[j + 1];
}

const int32_t *
sf_panels_entry_rows (const sf_panels_t *self, int32_t panel)
{
    return self->e_row + self->e_begin[panel];
}

const float *
sf_panels_entry_values (const sf_panels_t *self, int32_t panel)
{
    return self->e_val + self->e_begin[panel];
}

void
sf_panels_view (const sf_panels_t *self, int32_t panel, sf_panel_view_t *view)
{
    sf_panels_info (self, panel, &view->info);
    view->ks = sf_panels_ks (self, panel);
    view->rows = sf_panels_entry_rows (self, panel);
    view->values = sf_panels_entry_values (self, panel);
    view->perm = sf_panels_perm (self);
}

void
sf_panels_stats (const sf_panels_t *self, sf_panels_stats_t *st)
{
    double sn = 0, sn2 = 0, sk = 0, sk2 = 0;
    memset (st, 0, sizeof *st);
    for (int32_t p = 0; p < self->count; p++) {
        double n = self->info[p].nnz, k = self->info[p].distinct_k;
        sn += n; sn2 += n * n; sk += k; sk2 += k * k;
        st->nnz_max = fmax (st->nnz_max, n);
        st->k_max = fmax (st->k_max, k);
    }
    double c = self->count;
    st->nnz_mean = sn / c;
    st->k_mean = sk / c;
    double vn = fmax (0.0, sn2 / c - st->nnz_mean * st->nnz_mean);
    double vk = fmax (0.0, sk2 / c - st->k_mean * st->k_mean);
    st->nnz_cv = st->nnz_mean > 0 ? sqrt (vn) / st->nnz_mean : 0.0;
    st->k_cv = st->k_mean > 0 ? sqrt (vk) / st->k_mean : 0.0;
    st->loads_per_fma = sn > 0 ? sk / sn : 0.0;
}
