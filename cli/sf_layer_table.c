/*  sf_layer_table: a campaign's tuned layers for people and for JSON. */
#include "cli/sf_layer_table.h"

#include <math.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_config.h"

#define S_NAME_MAX 28
#define S_CONFIG_MAX 34

static const char *
s_us (double us, char *buf, size_t size)
{
    if (sf_layerrows_has_us (us))
        snprintf (buf, size, us < 1000 ? "%.2f" : "%.0f", us);
    else
        snprintf (buf, size, "-");
    return buf;
}

static const char *
s_note (const sf_layerrows_row_t *r)
{
    if (!r->has_best)
        return "no result";
    if (r->empty == SF_EMPTY_ZERO)
        return r->from_store ? "all-zero, from the store" : "all-zero: no search";
    if (r->empty == SF_EMPTY_NEAR)
        return r->from_store ? "near-empty, from the store" : "near-empty: no search";
    return r->from_store ? "from the store" : "";
}

/*  The speedup column's header: "xSGEMM", "xcuBLASLt" (the type is in the
    time column's). */
static const char *
s_ratio_name (const sf_layerrows_base_t *base, char *buf, size_t size)
{
    snprintf (buf, size, "x%.*s", (int) strcspn (base->name, " "), base->name);
    return buf;
}

static int
s_width (const char *text, int min)
{
    int len = (int) strlen (text);
    return len > min ? len : min;
}

/*  The header and one line per layer. */
static void
s_print_rows (FILE *out, const sf_layerrows_row_t *rows, int count, const sf_layerrows_base_t *bases, int nb, int name_w)
{
    char head[256], ratio[24];
    int used = snprintf (head, sizeof head, "%-*s %13s %6s  %-*s %9s", name_w, "layer", "M x K", "N", S_CONFIG_MAX,
                         "winner", "time");
    for (int j = 0; j < nb; j++)
        used += snprintf (head + used, sizeof head - (size_t) used, " %*s", s_width (bases[j].name, 9), bases[j].name);
    for (int j = 0; j < nb; j++)
        if (bases[j].ratio)
            used += snprintf (head + used, sizeof head - (size_t) used, " %*s",
                              s_width (s_ratio_name (&bases[j], ratio, sizeof ratio), 8), ratio);
    fprintf (out, "%s %8s\n", head, "rel err");
    for (int i = 0; i < count; i++) {
        const sf_layerrows_row_t *r = &rows[i];
        const sf_store_best_t *b = &r->best;
        char shape[32], t[24], err[16];
        snprintf (shape, sizeof shape, "%d x %d", r->m, r->k);
        if (!r->has_best) {
            fprintf (out, "%-*.*s %13s %6lld  %s\n", name_w, S_NAME_MAX, r->name, shape, (long long) r->n,
                     s_note (r));
            continue;
        }
        fprintf (out, "%-*.*s %13s %6lld  %-*.*s %9s", name_w, S_NAME_MAX, r->name, shape, (long long) r->n,
                 S_CONFIG_MAX, S_CONFIG_MAX, b->config, s_us (b->us, t, sizeof t));
        for (int j = 0; j < nb; j++)
            fprintf (out, " %*s", s_width (bases[j].name, 9), s_us (sf_layerrows_base_us (b, &bases[j]), t, sizeof t));
        for (int j = 0; j < nb; j++) {
            if (!bases[j].ratio)
                continue;
            double us = sf_layerrows_base_us (b, &bases[j]);
            snprintf (t, sizeof t, sf_layerrows_has_us (us) ? "%.2fx" : "-", us / b->us);
            fprintf (out, " %*s", s_width (s_ratio_name (&bases[j], ratio, sizeof ratio), 8), t);
        }
        /* the sim backend records 0 for a kernel it did not run */
        if (b->simulated)
            snprintf (err, sizeof err, "not run");
        else if (!isnan (b->err))
            snprintf (err, sizeof err, "%.1e", b->err);
        else
            snprintf (err, sizeof err, "-");
        const char *note = s_note (r);
        fprintf (out, " %8s%s%s\n", err, note[0] ? "  " : "", note);
    }
}

/*  Where the times come from, and what the error column is. */
static void
s_print_provenance (FILE *out, const sf_layerrows_row_t *rows, int count, const sf_layerrows_base_t *bases)
{
    bool sim = false, real = false, any_err = false;
    double lib_err = NAN;   /* the 16-bit tiers' cuBLASLt: its own error, the largest */
    for (int i = 0; i < count; i++) {
        const sf_store_best_t *b = &rows[i].best;
        if (!rows[i].has_best)
            continue;
        sim |= b->simulated;
        real |= !b->simulated;
        any_err |= !isnan (b->err) && !b->simulated;
        if (sf_tier_is_half (rows[i].tier) && !b->simulated && isfinite (b->blas16_err)
            && !(b->blas16_err <= lib_err))
            lib_err = b->blas16_err;
    }
    if (sim)
        fprintf (out, "times in us, SIMULATED%s: the sim backend's model of a GPU estimated them, no kernel "
                      "ran, nothing was verified\n", real ? " where the GPU type is sim/..." : "");
    char lib[64] = "";
    if (!isnan (lib_err))
        snprintf (lib, sizeof lib, "; %s's own: up to %.1e", bases[0].name, lib_err);
    if (real)
        fprintf (out, "times in us, measured on the GPU (medians); rel err: the winner's normwise error "
                      "against the CPU reference%s%s\n", any_err ? "" : " (not recorded)", lib);
}

/*  Geomeans over each baseline, and the whole model over the dense ones. */
static void
s_print_speedups (FILE *out, const sf_layerrows_summary_t *sum)
{
    char line[256] = "";
    size_t used = 0;
    int layers = 0;
    for (int j = 0; j < sum->bases; j++)
        if (sum->with[j] > 0) {
            used += (size_t) snprintf (line + used, sizeof line - used, "%s%.2fx over %s", used ? ", " : "",
                                       sum->geomean[j], sum->base[j].name);
            layers = sum->with[j] > layers ? sum->with[j] : layers;
        }
    const char *label = sum->simulated ? " (SIMULATED)" : "";
    if (used)
        fprintf (out, "geomean speedup: %s (%d layer%s)%s\n", line, layers, layers == 1 ? "" : "s", label);
    if (!sum->whole)
        return;
    used = 0;
    for (int j = 0; j < sum->bases; j++)
        if (sum->base[j].ratio)
            used += (size_t) snprintf (line + used, sizeof line - used, ", %.2fx over %s (%.1f us)",
                                       sum->base_us[j] / sum->ours_us, sum->base[j].name, sum->base_us[j]);
    fprintf (out, "whole model (time-weighted, each layer once): %.1f us tuned%s%s\n", sum->ours_us, line, label);
}

void
sf_layer_table_print (FILE *out, const sf_layerrows_row_t *rows, int count)
{
    int name_w = 5;
    for (int i = 0; i < count; i++) {
        int len = (int) strlen (rows[i].name);
        name_w = len > name_w ? (len < S_NAME_MAX ? len : S_NAME_MAX) : name_w;
    }
    sf_layerrows_summary_t sum;
    sf_layerrows_summarize (rows, count, &sum);
    s_print_rows (out, rows, count, sum.base, sum.bases, name_w);
    s_print_provenance (out, rows, count, sum.base);
    s_print_speedups (out, &sum);
    /* the legend: each distinct winner once */
    fprintf (out, "winners:\n");
    for (int i = 0; i < count; i++) {
        if (!rows[i].has_best)
            continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = rows[j].has_best && strcmp (rows[j].best.config, rows[i].best.config) == 0;
        if (seen)
            continue;
        char words[SF_CONFIG_EXPLAIN_MAX];
        const sf_store_best_t *b = &rows[i].best;
        fprintf (out, "  %-*s %s\n", S_CONFIG_MAX, b->config,
                 sf_config_explain_text (b->config, b->tmpl, words, sizeof words));
    }
}

static void
s_add_us (cJSON *o, const char *key, double us)
{
    if (sf_layerrows_has_us (us))
        cJSON_AddNumberToObject (o, key, us);
}

cJSON *
sf_layer_table_json (const sf_layerrows_row_t *r)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "name", r->name);
    cJSON_AddNumberToObject (o, "m", r->m);
    cJSON_AddNumberToObject (o, "k", r->k);
    cJSON_AddNumberToObject (o, "n", (double) r->n);
    if (r->empty != SF_EMPTY_NO)
        cJSON_AddStringToObject (o, "empty", r->empty == SF_EMPTY_ZERO ? "zero" : "near");
    cJSON_AddBoolToObject (o, "from_store", r->from_store);
    if (!r->has_best) {
        cJSON_AddNullToObject (o, "config");
        return o;
    }
    const sf_store_best_t *b = &r->best;
    char words[SF_CONFIG_EXPLAIN_MAX];
    cJSON_AddStringToObject (o, "template", sf_template_name (b->tmpl));
    cJSON_AddStringToObject (o, "config", b->config);
    cJSON_AddStringToObject (o, "explain", sf_config_explain_text (b->config, b->tmpl, words, sizeof words));
    cJSON_AddStringToObject (o, "precision", sf_tier_name (r->tier));
    cJSON_AddNumberToObject (o, "us", b->us);
    if (isnan (b->err) || b->simulated)  /* sim: not run, not verified */
        cJSON_AddNullToObject (o, "max_rel_err");
    else
        cJSON_AddNumberToObject (o, "max_rel_err", b->err);
    s_add_us (o, "sgemm_us", b->sgemm_us);
    s_add_us (o, "tf32_us", b->tf32_us);
    s_add_us (o, "cusparse_us", b->cusparse_us);
    s_add_us (o, "blas16_us", b->blas16_us);
    if (sf_layerrows_has_us (b->blas16_us) && isfinite (b->blas16_err) && !b->simulated)
        cJSON_AddNumberToObject (o, "blas16_err", b->blas16_err);
    if (sf_layerrows_has_us (b->sgemm_us))
        cJSON_AddNumberToObject (o, "speedup_sgemm", b->sgemm_us / b->us);
    if (sf_layerrows_has_us (b->tf32_us))
        cJSON_AddNumberToObject (o, "speedup_tf32", b->tf32_us / b->us);
    if (sf_layerrows_has_us (b->cusparse_us))
        cJSON_AddNumberToObject (o, "speedup_cusparse", b->cusparse_us / b->us);
    if (sf_layerrows_has_us (b->blas16_us))
        cJSON_AddNumberToObject (o, "speedup_blas16", b->blas16_us / b->us);
    cJSON_AddBoolToObject (o, "simulated", b->simulated);
    return o;
}
