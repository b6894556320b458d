/*  sf_empty: all-zero and near-empty layers. */
#include "worker/sf_empty.h"

#include <string.h>

#include "common/sf_log.h"
#include "proxygen/sf_space.h"

sf_empty_kind
sf_empty_kind_of (const sf_matrix_t *a)
{
    int64_t nnz = sf_matrix_nnz (a);
    if (nnz == 0)
        return SF_EMPTY_ZERO;
    int64_t entries = (int64_t) sf_matrix_rows (a) * sf_matrix_cols (a);
    return nnz <= entries / 10000 ? SF_EMPTY_NEAR : SF_EMPTY_NO;
}

const char *
sf_empty_describe (sf_empty_kind kind)
{
    switch (kind) {
    case SF_EMPTY_ZERO:
        return "all-zero layer (C = 0, or the bias): no search, one kernel that writes C";
    case SF_EMPTY_NEAR:
        return "near-empty layer (at most 0.01 % nonzero): no search, one kernel that writes C";
    default:
        return NULL;
    }
}

void
sf_empty_config (const sf_matrix_t *a, int64_t n, sf_config_t *out)
{
    (void) a;
    memset (out, 0, sizeof *out);
    out->tmpl = SF_TEMPLATE_U;
    out->panel_rows = 8;
    /* the space's rules: the vector divides N, and threads x vec stay
       within N rounded up to a warp */
    int64_t padded = (n + 31) / 32 * 32;
    out->vec = 1;
    for (int32_t v = 4; v > 1 && out->vec == 1; v /= 2)
        if (n % v == 0 && 32 * v <= padded)
            out->vec = v;
    int32_t threads = 32;
    while (threads < 128 && (int64_t) threads * 2 * out->vec <= padded)
        threads *= 2;
    out->threads = threads;
    out->groups = 1;
    out->order = 0;
    out->max_regs = sf_space_u_max_regs (out->panel_rows, out->vec);
    out->reorder = SF_REORDER_NONE;
}

const sf_search_opts_t *
sf_empty_opts (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, sf_search_opts_t *scratch,
               sf_config_t *config)
{
    sf_empty_kind kind = opts->configs ? SF_EMPTY_NO : sf_empty_kind_of (a);
    if (kind == SF_EMPTY_NO)
        return opts;
    sf_empty_config (a, n, config);
    *scratch = *opts;
    scratch->configs = config;
    scratch->config_count = 1;
    char text[SF_CONFIG_TEXT_MAX];
    sf_log_warn ("search", "%d x %d, %d nonzero%s: %s (%s)", sf_matrix_rows (a), sf_matrix_cols (a),
                 sf_matrix_nnz (a), sf_matrix_nnz (a) == 1 ? "" : "s", sf_empty_describe (kind),
                 sf_config_text (config, text));
    return scratch;
}
