/*  sf_layer_table: a campaign's tuned layers for people and for JSON. */
#include "cli/sf_layer_table.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_config.h"

#define S_NAME_MAX 28
#define S_CONFIG_MAX 34

static bool
s_has (double us)
{
    return isfinite (us) && us > 0;
}

/*  "12.34" or "-" into buf. */
static const char *
s_us (double us, char *buf, size_t size)
{
    if (s_has (us))
        snprintf (buf, size, us < 1000 ? "%.2f" : "%.0f", us);
    else
        snprintf (buf, size, "-");
    return buf;
}

static const char *
s_note (const sf_layer_row_t *r)
{
    if (!r->has_best)
        return "no result";
    if (r->empty == SF_EMPTY_ZERO)
        return r->from_store ? "all-zero, from the store" : "all-zero: no search";
    if (r->empty == SF_EMPTY_NEAR)
        return r->from_store ? "near-empty, from the store" : "near-empty: no search";
    return r->from_store ? "from the store" : "";
}

static const char *
s_explain (const sf_store_best_t *b, char *buf, size_t size)
{
    sf_config_t c;
    memset (&c, 0, sizeof c);
    c.tmpl = SF_TEMPLATE_DENSE;
    if (b->tmpl != SF_TEMPLATE_DENSE && sf_config_parse (b->config, &c) != SF_OK) {
        snprintf (buf, size, "%s", b->config);
        return buf;
    }
    return sf_config_explain (&c, buf, size);
}

/*  Geomean of baseline / winner over the rows that have both. */
static double
s_geomean (const sf_layer_row_t *rows, int count, size_t offset, int *with)
{
    double sum = 0;
    *with = 0;
    for (int i = 0; i < count; i++) {
        if (!rows[i].has_best)
            continue;
        double base = *(const double *) ((const char *) &rows[i].best + offset);
        if (s_has (base) && s_has (rows[i].best.us)) {
            sum += log (base / rows[i].best.us);
            (*with)++;
        }
    }
    return *with ? exp (sum / *with) : NAN;
}

void
sf_layer_table_print (FILE *out, const sf_layer_row_t *rows, int count)
{
    bool sim = false, real = false, any_err = false;
    int name_w = 5;
    for (int i = 0; i < count; i++) {
        int len = (int) strlen (rows[i].name);
        name_w = len > name_w ? (len < S_NAME_MAX ? len : S_NAME_MAX) : name_w;
        if (rows[i].has_best) {
            sim |= rows[i].best.simulated;
            real |= !rows[i].best.simulated;
            any_err |= !isnan (rows[i].best.err) && !rows[i].best.simulated;
        }
    }
    fprintf (out, "%-*s %13s %6s  %-*s %9s %9s %9s %9s %8s %8s %8s\n", name_w, "layer", "M x K", "N",
             S_CONFIG_MAX, "winner", "time", "SGEMM", "TF32", "cuSPARSE", "xSGEMM", "xTF32", "rel err");
    for (int i = 0; i < count; i++) {
        const sf_layer_row_t *r = &rows[i];
        const sf_store_best_t *b = &r->best;
        char shape[32], t[4][24], x[2][16], err[16];
        snprintf (shape, sizeof shape, "%d x %d", r->m, r->k);
        if (!r->has_best) {
            fprintf (out, "%-*.*s %13s %6lld  %s\n", name_w, S_NAME_MAX, r->name, shape, (long long) r->n,
                     s_note (r));
            continue;
        }
        snprintf (x[0], sizeof x[0], s_has (b->sgemm_us) ? "%.2fx" : "-", b->sgemm_us / b->us);
        snprintf (x[1], sizeof x[1], s_has (b->tf32_us) ? "%.2fx" : "-", b->tf32_us / b->us);
        /* the sim backend records 0 for a kernel it did not run */
        if (b->simulated)
            snprintf (err, sizeof err, "not run");
        else if (!isnan (b->err))
            snprintf (err, sizeof err, "%.1e", b->err);
        else
            snprintf (err, sizeof err, "-");
        const char *note = s_note (r);
        fprintf (out, "%-*.*s %13s %6lld  %-*.*s %9s %9s %9s %9s %8s %8s %8s%s%s\n", name_w, S_NAME_MAX, r->name,
                 shape, (long long) r->n, S_CONFIG_MAX, S_CONFIG_MAX, b->config, s_us (b->us, t[0], sizeof t[0]),
                 s_us (b->sgemm_us, t[1], sizeof t[1]), s_us (b->tf32_us, t[2], sizeof t[2]),
                 s_us (b->cusparse_us, t[3], sizeof t[3]), x[0], x[1], err, note[0] ? "  " : "", note);
    }
    if (sim)
        fprintf (out, "times in us, SIMULATED%s: the sim backend's model of a GPU estimated them, no kernel "
                      "ran, nothing was verified\n", real ? " where the GPU type is sim/..." : "");
    if (real)
        fprintf (out, "times in us, measured on the GPU (medians); rel err: the winner's normwise error "
                      "against the CPU reference%s\n", any_err ? "" : " (not recorded)");
    /* geomeans and the whole model */
    static const struct { const char *name; size_t offset; } bases[] = {
        { "SGEMM", offsetof (sf_store_best_t, sgemm_us) },
        { "TF32", offsetof (sf_store_best_t, tf32_us) },
        { "cuSPARSE", offsetof (sf_store_best_t, cusparse_us) },
    };
    char line[256] = "";
    size_t used = 0;
    int layers = 0;
    for (size_t j = 0; j < sizeof bases / sizeof bases[0]; j++) {
        int with;
        double g = s_geomean (rows, count, bases[j].offset, &with);
        if (with > 0) {
            used += (size_t) snprintf (line + used, sizeof line - used, "%s%.2fx over %s", used ? ", " : "", g,
                                       bases[j].name);
            layers = with > layers ? with : layers;
        }
    }
    const char *label = sim ? " (SIMULATED)" : "";
    if (used)
        fprintf (out, "geomean speedup: %s (%d layer%s)%s\n", line, layers, layers == 1 ? "" : "s", label);
    double ours = 0, sgemm = 0, tf32 = 0;
    bool whole = true;
    for (int i = 0; i < count; i++) {
        whole &= rows[i].has_best && s_has (rows[i].best.sgemm_us) && s_has (rows[i].best.tf32_us);
        if (rows[i].has_best) {
            ours += rows[i].best.us;
            sgemm += rows[i].best.sgemm_us;
            tf32 += rows[i].best.tf32_us;
        }
    }
    if (whole && count > 1 && ours > 0)
        fprintf (out, "whole model (time-weighted, each layer once): %.1f us tuned, %.2fx over SGEMM (%.1f us), "
                      "%.2fx over TF32 (%.1f us)%s\n", ours, sgemm / ours, sgemm, tf32 / ours, tf32, label);
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
        fprintf (out, "  %-*s %s\n", S_CONFIG_MAX, rows[i].best.config, s_explain (&rows[i].best, words, sizeof words));
    }
}

static void
s_add_us (cJSON *o, const char *key, double us)
{
    if (s_has (us))
        cJSON_AddNumberToObject (o, key, us);
}

cJSON *
sf_layer_table_json (const sf_layer_row_t *r)
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
    cJSON_AddStringToObject (o, "explain", s_explain (b, words, sizeof words));
    cJSON_AddNumberToObject (o, "us", b->us);
    if (isnan (b->err) || b->simulated)  /* sim: not run, not verified */
        cJSON_AddNullToObject (o, "max_rel_err");
    else
        cJSON_AddNumberToObject (o, "max_rel_err", b->err);
    s_add_us (o, "sgemm_us", b->sgemm_us);
    s_add_us (o, "tf32_us", b->tf32_us);
    s_add_us (o, "cusparse_us", b->cusparse_us);
    if (s_has (b->sgemm_us))
        cJSON_AddNumberToObject (o, "speedup_sgemm", b->sgemm_us / b->us);
    if (s_has (b->tf32_us))
        cJSON_AddNumberToObject (o, "speedup_tf32", b->tf32_us / b->us);
    if (s_has (b->cusparse_us))
        cJSON_AddNumberToObject (o, "speedup_cusparse", b->cusparse_us / b->us);
    cJSON_AddBoolToObject (o, "simulated", b->simulated);
    return o;
}
