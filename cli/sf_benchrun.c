/*  sf_benchrun: a suite's problems, resumable through DIR/problems.jsonl. */
#include "cli/sf_benchrun.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "common/sf_error.h"

#define S_LINE_MAX (4u << 20)  /* one problem's JSON line */

void
sf_benchrun_init (sf_benchrun_t *run, const char *command, int argc, char **argv)
{
    memset (run, 0, sizeof *run);
    run->command = command;
    size_t used = 0;
    for (int i = 0; i < argc && used < sizeof run->cmdline - 1; i++)
        used += (size_t) snprintf (run->cmdline + used, sizeof run->cmdline - used, "%s%s",
                                   i ? " " : "spmmfarm ", argv[i]);
}

int
sf_benchrun_option (sf_benchrun_t *run, int opt, const char *arg)
{
    int64_t v;
    switch (opt) {
    case SF_BENCHRUN_OPT_BASE + 0: run->suite_path = arg; return 1;
    case 'o': run->dir = arg; return 1;
    case SF_BENCHRUN_OPT_BASE + 1: run->filter = arg; return 1;
    case SF_BENCHRUN_OPT_BASE + 2:
        if (!sf_cli_parse_int (arg, 1, 1000000, &v))
            return sf_cli_usage (run->command, "--limit must be in 1..1000000, not '%s'", arg);
        run->limit = v;
        return 1;
    case 'q': run->quiet = 1; return 1;
    }
    return 0;
}

int
sf_benchrun_open (sf_benchrun_t *run, sf_suite_t **suite_p)
{
    *suite_p = NULL;
    if (!run->suite_path || !run->dir)
        return sf_cli_usage (run->command, "--suite FILE and -o DIR are required");
    sf_suite_t *suite = sf_suite_load (run->suite_path);
    if (!suite)
        return sf_cli_fail (run->command, sf_error_last ());
    if (run->filter) {
        sf_suite_t *some = sf_suite_filter (suite, run->filter);
        sf_suite_destroy (&suite);
        if (!some)
            return sf_cli_usage (run->command, "%s", sf_error_message ());
        suite = some;
    }
    if (mkdir (run->dir, 0777) != 0 && errno != EEXIST) {
        sf_suite_destroy (&suite);
        sf_error_set (SF_ERR_IO, "cannot create %s: %s", run->dir, strerror (errno));
        return sf_cli_fail (run->command, SF_ERR_IO);
    }
    *suite_p = suite;
    return SF_EXIT_OK;
}

/* ---- problems.jsonl ------------------------------------------------------------- */

static char *
s_path (const sf_benchrun_t *run, const char *name)
{
    char *path = NULL;
    if (asprintf (&path, "%s/%s", run->dir, name) < 0)
        return NULL;
    return path;
}

/*  Every record of problems.jsonl, as a JSON array (caller owns). A line
    that does not parse (a write cut by a crash) is reported and skipped. */
cJSON *
sf_benchrun_records (const sf_benchrun_t *run)
{
    cJSON *all = cJSON_CreateArray ();
    char *path = s_path (run, "problems.jsonl");
    FILE *f = path ? fopen (path, "r") : NULL;
    char *line = malloc (S_LINE_MAX);
    int number = 0;
    while (f && line && fgets (line, S_LINE_MAX, f)) {
        number++;
        cJSON *rec = cJSON_Parse (line);
        if (rec && cJSON_IsObject (rec) && cJSON_GetObjectItem (rec, "id"))
            cJSON_AddItemToArray (all, rec);
        else {
            cJSON_Delete (rec);
            fprintf (stderr, "spmmfarm %s: %s:%d: not a problem record, ignored (it will be run again)\n",
                     run->command, path, number);
        }
    }
    if (f)
        fclose (f);
    free (line);
    free (path);
    return all;
}

static const cJSON *
s_find (const cJSON *records, const char *id)
{
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        const cJSON *rid = cJSON_GetObjectItem (rec, "id");
        if (cJSON_IsString (rid) && strcmp (rid->valuestring, id) == 0)
            return rec;
    }
    return NULL;
}

static int
s_append_record (const sf_benchrun_t *run, const cJSON *rec)
{
    char *path = s_path (run, "problems.jsonl");
    char *text = cJSON_PrintUnformatted (rec);
    FILE *f = path ? fopen (path, "a") : NULL;
    int rc = SF_OK;
    if (!f || !text || fprintf (f, "%s\n", text) < 0 || fflush (f) != 0 || fsync (fileno (f)) != 0)
        rc = sf_error_set (SF_ERR_IO, "cannot append to %s: %s", path ? path : run->dir, strerror (errno));
    if (f && fclose (f) != 0 && rc == SF_OK)
        rc = sf_error_set (SF_ERR_IO, "cannot write %s", path);
    free (text);
    free (path);
    return rc;
}

int
sf_benchrun_write_file (const sf_benchrun_t *run, const char *name, const char *text)
{
    char *path = s_path (run, name), *tmp = NULL;
    if (!path || asprintf (&tmp, "%s.tmp", path) < 0) {
        free (path);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    FILE *f = fopen (tmp, "w");
    int rc = SF_OK;
    if (!f || fputs (text, f) < 0 || fclose (f) != 0)
        rc = sf_error_set (SF_ERR_IO, "cannot write %s: %s", tmp, strerror (errno));
    else if (rename (tmp, path) != 0)
        rc = sf_error_set (SF_ERR_IO, "cannot rename %s: %s", tmp, strerror (errno));
    free (tmp);
    free (path);
    return rc;
}

void
sf_benchrun_plot (const sf_benchrun_t *run, const char *script, const char *text, const char *picture)
{
    if (sf_benchrun_write_file (run, script, text) != SF_OK)
        return;
    char *cmd = NULL;
    if (asprintf (&cmd, "cd '%s' && gnuplot '%s' 2>/dev/null", run->dir, script) < 0)
        return;
    if (system (cmd) != 0)
        fprintf (stderr, "spmmfarm %s: gnuplot failed or is missing: no %s (%s is there)\n", run->command,
                 picture, script);
    free (cmd);
}

double
sf_benchrun_num (const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem (obj, key);
    return cJSON_IsNumber (v) ? v->valuedouble : NAN;
}

const char *
sf_benchrun_str (const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem (obj, key);
    return cJSON_IsString (v) ? v->valuestring : "";
}

/* ---- the run ------------------------------------------------------------------------ */

static int
s_reports (const sf_benchrun_t *run)
{
    cJSON *records = sf_benchrun_records (run);
    int rc = run->reports (run->arg, run, records);
    cJSON_Delete (records);
    return rc;
}

/*  The fields every record starts with. */
static void
s_add_problem (cJSON *rec, const sf_problem_t *p, const sf_matrix_t *a)
{
    cJSON_AddStringToObject (rec, "id", p->id);
    cJSON_AddNumberToObject (rec, "m", (double) p->m);
    cJSON_AddNumberToObject (rec, "k", (double) p->k);
    cJSON_AddNumberToObject (rec, "n", (double) p->n);
    cJSON_AddNumberToObject (rec, "sparsity", p->sparsity);
    cJSON_AddNumberToObject (rec, "seed", (double) p->seed);
    cJSON_AddNumberToObject (rec, "nnz", sf_matrix_nnz (a));
    cJSON_AddStringToObject (rec, "hash", sf_matrix_hash (a));
    cJSON_AddStringToObject (rec, "source", p->source);
    if (p->shape_id)
        cJSON_AddStringToObject (rec, "shape", p->shape_id);
}

/*  One new problem: its record appended and the reports rebuilt
    (*recorded); a problem that fails alone is reported and left out. */
static int
s_run_one (sf_benchrun_t *run, const sf_problem_t *p, bool *recorded)
{
    *recorded = false;
    sf_progress_set_item (p->id);  /* the progress bars' current item */
    sf_matrix_t *a = sf_problem_matrix (p);
    if (!a)
        return sf_error_last ();
    cJSON *rec = NULL;
    int rc = run->problem (run->arg, p, a, &rec);
    sf_progress_end ();
    if (rc == SF_OK) {
        s_add_problem (rec, p, a);
        rc = s_append_record (run, rec);
        *recorded = rc == SF_OK;
        if (rc == SF_OK)
            rc = s_reports (run);
    } else if (rc != SF_ERR_NODEVICE && rc != SF_ERR_NOMEM) {
        fprintf (stderr, "spmmfarm %s: %s failed: %s (not recorded; a rerun tries it again)\n",
                 run->command, p->id, sf_error_message ());
        rc = SF_OK;  /* nothing else is wrong: go on */
    }
    cJSON_Delete (rec);
    sf_matrix_destroy (&a);
    return rc;
}

int
sf_benchrun_run (sf_benchrun_t *run, const sf_suite_t *suite)
{
    cJSON *done = sf_benchrun_records (run);
    size_t total = sf_suite_size (suite), skipped = 0;
    int64_t ran = 0;
    int rc = SF_OK;
    for (size_t i = 0; i < total && rc == SF_OK; i++) {
        const sf_problem_t *p = sf_suite_problem (suite, i);
        if (s_find (done, p->id)) {
            skipped++;
            continue;
        }
        if (run->limit > 0 && ran >= run->limit)
            break;
        if (!run->quiet)
            fprintf (stderr, "[%zu/%zu] %s (%lld x %lld x %lld, sparsity %g)\n", i + 1, total, p->id,
                     (long long) p->m, (long long) p->k, (long long) p->n, p->sparsity);
        bool recorded;
        rc = s_run_one (run, p, &recorded);
        ran += recorded;
    }
    if (skipped && !run->quiet)
        fprintf (stderr, "spmmfarm %s: %zu problem(s) already in %s/problems.jsonl were not run again\n",
                 run->command, skipped, run->dir);
    cJSON_Delete (done);
    if (rc == SF_OK)
        rc = s_reports (run);
    return rc;
}

/* ---- layers of a source, tiers of a record ---------------------------------------- */

/*  Layers one item names: the product of its brace groups' sizes. */
static int64_t
s_item_layers (const char *item, size_t len)
{
    int64_t count = 1;
    for (size_t i = 0; i < len; i++) {
        if (item[i] != '{')
            continue;
        size_t j = i + 1;
        while (j < len && item[j] != '}')
            j++;
        if (j >= len)
            return 0;
        long lo, hi;
        int used = 0;
        char group[64];
        if (j - i - 1 >= sizeof group)
            return 0;
        memcpy (group, item + i + 1, j - i - 1);
        group[j - i - 1] = '\0';
        if (sscanf (group, "%ld..%ld%n", &lo, &hi, &used) == 2 && !group[used] && hi >= lo && hi - lo < 100000)
            count *= hi - lo + 1;
        else {
            int64_t names = 1;
            for (char *c = group; *c; c++)
                names += *c == ',';
            count *= names;
        }
        if (count > 1000000)
            return 0;
        i = j;
    }
    return count;
}

/*  One part: "Network [xV] items [(comment)]" of `len` bytes. */
static int
s_part_layers (const char *part, size_t len, char *model, size_t size)
{
    size_t word = 0;
    while (word < len && part[word] != ' ')
        word++;
    if (word == 0 || word >= len || word >= size)
        return 0;
    snprintf (model, size, "%.*s", (int) word, part);
    size_t i = word + 1;
    /* a variant word such as "x1.0" after the network's name */
    if (i + 1 < len && part[i] == 'x' && part[i + 1] >= '0' && part[i + 1] <= '9') {
        while (i < len && part[i] != ' ')
            i++;
        i++;
    }
    size_t end = i;
    while (end < len && part[end] != '(')
        end++;
    while (end > i && part[end - 1] == ' ')
        end--;
    int64_t total = 0;
    while (i < end) {
        /* the next separator outside braces: ", " or " and " */
        size_t j = i, sep = 0;
        int depth = 0;
        for (; j < end && !sep; j += sep ? 0 : 1) {
            depth += part[j] == '{' ? 1 : part[j] == '}' ? -1 : 0;
            if (depth == 0 && part[j] == ',' && j + 1 < end && part[j + 1] == ' ')
                sep = 2;
            else if (depth == 0 && j + 5 <= end && strncmp (part + j, " and ", 5) == 0)
                sep = 5;
        }
        int64_t n = s_item_layers (part + i, j - i);
        if (n <= 0)
            return 0;
        total += n;
        i = j + sep;
    }
    return total > 0 && total <= 1000000 ? (int) total : 0;
}

int
sf_benchrun_layers (const char *source, char models[][SF_BENCHRUN_MODEL_MAX], int *layers, int max)
{
    int count = 0;
    size_t len = source ? strlen (source) : 0, start = 0;
    int depth = 0;
    for (size_t i = 0; i <= len && count < max; i++) {
        if (i < len) {
            depth += source[i] == '(' ? 1 : source[i] == ')' ? -1 : 0;
            if (!(depth == 0 && source[i] == ';' && i + 1 < len && source[i + 1] == ' '))
                continue;
        }
        int n = s_part_layers (source + start, i - start, models[count], SF_BENCHRUN_MODEL_MAX);
        if (n <= 0)
            return 0;
        layers[count++] = n;
        start = i + 2;
    }
    return count;
}

static void
s_num (cJSON *o, const char *key, double v)
{
    if (isfinite (v))
        cJSON_AddNumberToObject (o, key, v);
    else
        cJSON_AddNullToObject (o, key);
}

void
sf_benchrun_add_tier (cJSON *rec, const sf_search_result_t *r)
{
    cJSON_AddStringToObject (rec, "precision", sf_tier_name (r->tier));
    cJSON_AddStringToObject (rec, "dtype", sf_tier_dtype (r->tier));
    cJSON_AddNumberToObject (rec, "tol", r->tol);
    cJSON *base = cJSON_GetObjectItem (rec, "baselines");
    if (!base)
        base = cJSON_AddObjectToObject (rec, "baselines");
    if (isfinite (r->blas16_us))
        cJSON_AddNumberToObject (base, "blas16_us", r->blas16_us);
    if (isfinite (r->lt24_us))
        cJSON_AddNumberToObject (base, "lt24_us", r->lt24_us);
    if (r->lt24_note[0])
        cJSON_AddStringToObject (base, "lt24_note", r->lt24_note);
    cJSON *errs = cJSON_AddObjectToObject (base, "errors");
    const char *names[5] = { "sgemm", "tf32", "cusparse", "blas16", "lt24" };
    const double times[5] = { r->sgemm_us, r->tf32_us, r->cusparse_us, r->blas16_us, r->lt24_us };
    const double err[5] = { r->sgemm_err, r->tf32_err, r->cusparse_err, r->blas16_err, r->lt24_err };
    for (int i = 0; i < 5; i++)
        if (isfinite (times[i]))
            s_num (errs, names[i], err[i]);
    cJSON *dense = cJSON_AddObjectToObject (rec, "dense");
    s_num (dense, "us", r->dense_us);
    s_num (dense, "err", r->dense_err);
    cJSON_AddStringToObject (dense, "impl", r->dense_impl);
    cJSON_AddStringToObject (dense, "library", sf_gpu_dense_name (r->tier));
    s_num (dense, "library_us", r->dense_lib_us);
    s_num (dense, "library_err", r->dense_lib_err);
    cJSON_AddStringToObject (dense, "own", r->dense_own);
    s_num (dense, "own_us", r->dense_own_us);
    s_num (dense, "own_err", r->dense_own_err);
    cJSON *own = cJSON_AddArrayToObject (dense, "candidates");
    for (int i = 0; i < r->own_count; i++) {
        const sf_densecand_t *c = &r->own[i];
        cJSON *e = cJSON_CreateObject ();
        cJSON_AddStringToObject (e, "config", c->config);
        cJSON_AddStringToObject (e, "status", c->status == SF_OK ? "ok" : sf_strerror (c->status));
        s_num (e, "us", c->status == SF_OK ? c->us : NAN);
        s_num (e, "err", c->err);
        cJSON_AddNumberToObject (e, "registers", c->compile.registers);
        cJSON_AddNumberToObject (e, "compile_s", c->compile.seconds);
        if (c->detail[0])
            cJSON_AddStringToObject (e, "detail", c->detail);
        cJSON_AddItemToArray (own, e);
    }
}
