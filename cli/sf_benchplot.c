/*  sf_benchplot: bench's three charts (see the header). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_benchplot.h"
#include "common/sf_buf.h"
#include "common/sf_error.h"

#define S_SPARSITIES_MAX 32          /* series of a chart; more are left out */
#define S_SCRIPT_MAX (16u << 20)     /* a script with its data */
#define S_WIDTH_MAX 20000            /* pixels: a cairo picture's bound, with room */
#define S_LABEL_MAX 96

typedef struct {
    double sparsity[S_SPARSITIES_MAX];
    int count;
} s_sparsities_t;

/*  A name as a chart prints it, safe inside a gnuplot string and a data
    line: letters, digits, spaces and ._=:+-()/@ kept, anything else '_'. */
static void
s_clean (const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) {
        char c = in[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || strchr (" ._=:+-()/@", c) != NULL;
        out[i] = keep ? c : '_';
    }
    out[i] = '\0';
}

/*  The index (1-based, gnuplot's line type) of a sparsity, added in
    ascending order by s_sparsities; 0 when it is not there. */
static int
s_sparsity_index (const s_sparsities_t *s, double sparsity)
{
    for (int i = 0; i < s->count; i++)
        if (fabs (s->sparsity[i] - sparsity) < 1e-9)
            return i + 1;
    return 0;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/*  The distinct sparsities of the records, ascending (bounded). */
static void
s_sparsities (const cJSON *records, s_sparsities_t *s)
{
    s->count = 0;
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        double sp = sf_benchrun_num (rec, "sparsity");
        if (isfinite (sp) && !s_sparsity_index (s, sp) && s->count < S_SPARSITIES_MAX)
            s->sparsity[s->count++] = sp;
    }
    qsort (s->sparsity, (size_t) s->count, sizeof s->sparsity[0], s_cmp_double);
}

/*  A record's speedup over the dense baseline, NaN when it has none. */
static double
s_speedup (const cJSON *rec, const char *dense_field)
{
    double us = sf_benchrun_num (cJSON_GetObjectItem (rec, "best"), "us");
    double lib = sf_benchrun_num (cJSON_GetObjectItem (rec, "baselines"), dense_field);
    double x = lib / us;
    return isfinite (x) && x > 0 ? x : NAN;
}

/*  "set yrange" of a log axis that holds every speedup and the 1x line,
    with a margin, and ticks between its decades. */
static void
s_yrange (sf_buf_t *gp, const cJSON *records, const char *dense_field)
{
    double lo = 1, hi = 1;
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        double x = s_speedup (rec, dense_field);
        lo = x < lo ? x : lo;  /* NaN compares false: left out */
        hi = x > hi ? x : hi;
    }
    sf_buf_printf (gp, "set yrange [%.6g:%.6g]\nset format y '%%gx'\n"
                   "set ytics add (0.25, 0.5, 0.75, 1.25, 1.5, 2, 3, 5, 20, 50)\n", lo / 1.3, hi * 1.3);
}

/*  The gnuplot word list of the sparsities: 'sparsity 0.5' ... */
static void
s_titles (sf_buf_t *gp, const s_sparsities_t *s)
{
    sf_buf_printf (gp, "titles = \"");
    for (int i = 0; i < s->count; i++)
        sf_buf_printf (gp, "%s%g", i ? " " : "", s->sparsity[i]);
    sf_buf_printf (gp, "\"\n");
}

/*  A script's first lines: the picture (width clamped to a bound) and its
    title, "<what> over <the dense baseline><per>". */
static void
s_head (sf_buf_t *gp, const char *picture, int width, int height, const char *what, const char *per,
        const sf_benchplot_opts_t *o)
{
    width = width < 900 ? 900 : width > S_WIDTH_MAX ? S_WIDTH_MAX : width;
    sf_buf_printf (gp,
        "# drawn by spmmfarm bench; the data is inline: run `gnuplot %.*s.gp` in this folder\n"
        "set terminal pngcairo size %d,%d noenhanced font ',10'\n"
        "set output '%s'\n"
        "set title \"spmmfarm bench (%s tier): %s over %s%s%s\"\n"
        "set grid ytics\n"
        "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb 'black' front\n",
        (int) (strchr (picture, '.') - picture), picture, width, height, picture, o->tier, what, o->dense_label, per,
        o->simulated ? "\\nSIMULATED (sim backend): times from a model, not measured" : "");
}

/*  Whether gnuplot is on the PATH: asked once a process; its absence is
    said once (the reports are drawn again after every problem). */
static bool
s_have_gnuplot (const sf_benchrun_t *run)
{
    static int have = -1;
    if (have < 0) {
        have = system ("command -v gnuplot >/dev/null 2>&1") == 0;
        if (!have)
            fprintf (stderr, "spmmfarm %s: gnuplot is missing: no charts, only their scripts (%s/*.gp)\n",
                     run->command, run->dir);
    }
    return have;
}

static void
s_run (const sf_benchrun_t *run, sf_buf_t *gp, const char *script, const char *picture)
{
    if (sf_buf_status (gp) == SF_OK && s_have_gnuplot (run))
        sf_benchrun_plot (run, script, sf_buf_data (gp), picture);
    else if (sf_buf_status (gp) == SF_OK)
        sf_benchrun_write_file (run, script, sf_buf_data (gp));
    else
        fprintf (stderr, "spmmfarm %s: %s too large: no %s\n", run->command, script, picture);
}

/*  chart.png: one point per problem, its id under it, colored by sparsity. */
static void
s_chart (const sf_benchrun_t *run, const cJSON *records, const s_sparsities_t *s, const sf_benchplot_opts_t *o)
{
    sf_buf_t *gp = sf_buf_new (S_SCRIPT_MAX);
    if (!gp)
        return;
    int n = cJSON_GetArraySize (records);
    s_head (gp, "chart.png", 300 + 14 * n, 760, "speedup", " per problem", o);
    s_yrange (gp, records, o->dense_field);
    sf_buf_printf (gp,
        "set ylabel 'speedup over %s (log scale; above 1 = faster)'\n"
        "set xlabel 'problem (suite order)'\n"
        "set logscale y\nset key outside right top title 'sparsity'\n"
        "set xtics rotate by 90 right font ',8' nomirror\nset xrange [0:%d]\n"
        "$problems << EOD\n", o->dense_label, n + 1);
    int i = 0;
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        i++;
        double x = s_speedup (rec, o->dense_field);
        int si = s_sparsity_index (s, sf_benchrun_num (rec, "sparsity"));
        char id[S_LABEL_MAX];
        s_clean (sf_benchrun_str (rec, "id"), id, sizeof id);
        if (isfinite (x) && si)
            sf_buf_printf (gp, "%d %.6g \"%s\" %d\n", i, x, id, si);
    }
    sf_buf_printf (gp, "EOD\n");
    s_titles (gp, s);
    sf_buf_printf (gp,
        "plot $problems using 1:2:4:xtic(3) with points pt 7 ps 1.3 lc variable notitle, \\\n"
        "     for [i=1:words(titles)] NaN with points pt 7 ps 1.3 lc i title word(titles, i)\n");
    s_run (run, gp, "chart.gp", "chart.png");
    sf_buf_destroy (&gp);
}

/*  models.png: per model, one bar per sparsity (a gap where the model has
    none of that sparsity). */
static void
s_models (const sf_benchrun_t *run, const cJSON *summary, const s_sparsities_t *s, const sf_benchplot_opts_t *o)
{
    const cJSON *models = cJSON_GetObjectItem (summary, "model_speedup"), *layers = cJSON_GetObjectItem (summary, "model_layers");
    int nm = cJSON_GetArraySize (models);
    if (nm == 0 || s->count == 0)
        return;
    sf_buf_t *gp = sf_buf_new (S_SCRIPT_MAX);
    if (!gp)
        return;
    s_head (gp, "models.png", 300 + nm * (s->count * 16 + 40), 640, "time-weighted speedup per model", "", o);
    sf_buf_printf (gp,
        "set ylabel 'speedup over %s (sum of its times / sum of ours)'\n"
        "set style data histogram\nset style histogram clustered gap 1\n"
        "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset datafile missing '?'\n"
        "set yrange [0:*]\nset key outside right top title 'sparsity'\n"
        "set xtics rotate by 30 right nomirror\n"
        "$models << EOD\n", o->dense_label);
    const cJSON *m;
    cJSON_ArrayForEach (m, models) {
        char name[S_LABEL_MAX];
        s_clean (m->string, name, sizeof name);
        sf_buf_printf (gp, "\"%s (%.0f layers)\"", name, sf_benchrun_num (layers, m->string));
        for (int i = 0; i < s->count; i++) {
            char key[32];
            snprintf (key, sizeof key, "%g", s->sparsity[i]);
            double x = sf_benchrun_num (m, key);
            if (isfinite (x) && x > 0)
                sf_buf_printf (gp, " %.6g", x);
            else
                sf_buf_printf (gp, " ?");
        }
        sf_buf_printf (gp, "\n");
    }
    sf_buf_printf (gp, "EOD\n");
    s_titles (gp, s);
    sf_buf_printf (gp, "plot for [i=1:words(titles)] $models using (column(i+1)):xtic(1) lc i title word(titles, i)\n");
    s_run (run, gp, "models.gp", "models.png");
    sf_buf_destroy (&gp);
}

/*  The q-quantile of sorted v[0..n) (linear between the closest ranks). */
static double
s_quantile (const double *v, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int) floor (pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

/*  sparsity.png: per sparsity, a box from the first to the third quartile
    of the problems' speedups, the median across it, whiskers to the min
    and the max. */
static void
s_spread (const sf_benchrun_t *run, const cJSON *records, const s_sparsities_t *s, const sf_benchplot_opts_t *o)
{
    int n = cJSON_GetArraySize (records);
    double *v = malloc ((size_t) (n > 0 ? n : 1) * sizeof *v);
    sf_buf_t *gp = v ? sf_buf_new (S_SCRIPT_MAX) : NULL;
    if (!gp) {
        free (v);
        return;
    }
    s_head (gp, "sparsity.png", 300 + 110 * s->count, 640, "speedup", " per sparsity", o);
    s_yrange (gp, records, o->dense_field);
    sf_buf_printf (gp,
        "set ylabel 'speedup over %s (log scale)'\nset xlabel 'sparsity (problems)'\n"
        "set logscale y\nset boxwidth 0.5\nset xrange [0.3:%g]\nset key inside left top\n"
        "set style fill solid 0.35 border -1\n"
        "$spread << EOD\n", o->dense_label, s->count + 0.7);
    for (int si = 0; si < s->count; si++) {
        int k = 0;
        const cJSON *rec;
        cJSON_ArrayForEach (rec, records) {
            double x = s_speedup (rec, o->dense_field);
            if (isfinite (x) && s_sparsity_index (s, sf_benchrun_num (rec, "sparsity")) == si + 1)
                v[k++] = x;
        }
        if (k == 0)
            continue;
        qsort (v, (size_t) k, sizeof *v, s_cmp_double);
        sf_buf_printf (gp, "%d \"%g (%d)\" %.6g %.6g %.6g %.6g %.6g\n", si + 1, s->sparsity[si], k, v[0],
                       s_quantile (v, k, 0.25), s_quantile (v, k, 0.5), s_quantile (v, k, 0.75), v[k - 1]);
    }
    sf_buf_printf (gp,
        "EOD\n"
        "plot $spread using 1:4:3:7:6:xtic(2) with candlesticks whiskerbars 0.5 lw 1.5 lc rgb '#3060c0' "
        "title 'quartiles; whiskers: min, max', \\\n"
        "     $spread using 1:5:5:5:5 with candlesticks lw 3 lc rgb 'black' title 'median'\n");
    s_run (run, gp, "sparsity.gp", "sparsity.png");
    sf_buf_destroy (&gp);
    free (v);
}

void
sf_benchplot_draw (const sf_benchrun_t *run, const cJSON *records, const cJSON *summary,
                   const sf_benchplot_opts_t *opts)
{
    s_sparsities_t s;
    s_sparsities (records, &s);
    s_chart (run, records, &s, opts);
    s_models (run, summary, &s, opts);
    s_spread (run, records, &s, opts);
}
