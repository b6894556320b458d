/*  sf_benchrun: what bench, proxy-eval and rank-eval share: a suite's
    problems run one after the other, one JSON record per finished problem
    appended to DIR/problems.jsonl, and the command's reports rebuilt from
    that file after every problem. An interrupted run (a device lease that
    ends, a killed process) loses at most the problem in progress, and the
    same command on the same DIR resumes where it stopped. */
#ifndef SF_BENCHRUN_H_INCLUDED
#define SF_BENCHRUN_H_INCLUDED

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "common/sf_suite.h"
#include "worker/sf_search.h"

/*  Long options of a suite run, to put in a command's option table
    (-o is the short form of --output: add "o:" to the short options). */
#define SF_BENCHRUN_OPT_BASE 1100
#define SF_BENCHRUN_LONG_OPTIONS                                          \
    { "suite", required_argument, NULL, SF_BENCHRUN_OPT_BASE + 0 },       \
    { "output", required_argument, NULL, 'o' },                           \
    { "filter", required_argument, NULL, SF_BENCHRUN_OPT_BASE + 1 },      \
    { "limit", required_argument, NULL, SF_BENCHRUN_OPT_BASE + 2 },       \
    { "quiet", no_argument, NULL, 'q' }

#define SF_BENCHRUN_HELP                                                                     \
    "  --suite FILE       suite file (e.g. conf/bench/bench205.conf)\n"                    \
    "  -o, --output DIR   output folder (created if missing)\n"                            \
    "  --filter EXPR      only the problems matching EXPR (see spmmfarm suite --help)\n"   \
    "  --limit N          stop after N new problems (a partial run, resumed later)\n"

typedef struct sf_benchrun sf_benchrun_t;

/*  One problem's work: SF_OK with a new record in *rec_p (the run adds id,
    shape, sparsity, seed, nnz and hash), or a status: SF_ERR_NODEVICE and
    SF_ERR_NOMEM end the run, any other leaves the problem out of the
    records (a rerun tries it again). */
typedef int (*sf_benchrun_problem_fn) (void *arg, const sf_problem_t *problem, const sf_matrix_t *a,
                                       cJSON **rec_p);
/*  Rebuilds the command's reports from every record so far. */
typedef int (*sf_benchrun_reports_fn) (void *arg, const sf_benchrun_t *run, const cJSON *records);

struct sf_benchrun {
    const char *command;
    const char *suite_path, *filter, *dir;
    int64_t limit;
    int quiet;
    char cmdline[2048];
    sf_benchrun_problem_fn problem;
    sf_benchrun_reports_fn reports;
    void *arg;
};

/*  Remembers the command line (for the reports). */
void sf_benchrun_init (sf_benchrun_t *run, const char *command, int argc, char **argv);

/*  Handles one of SF_BENCHRUN_LONG_OPTIONS (and -o, -q): 1 if handled, 0
    if not one of them, or SF_EXIT_USAGE (message printed). */
int sf_benchrun_option (sf_benchrun_t *run, int opt, const char *arg);

/*  Checks that --suite and -o were given, loads the suite, applies the
    filter and creates DIR: SF_EXIT_OK with *suite_p (caller owns), or an
    exit code (message printed). */
int sf_benchrun_open (sf_benchrun_t *run, sf_suite_t **suite_p);

/*  Runs the problems not yet in DIR/problems.jsonl, then the reports. */
int sf_benchrun_run (sf_benchrun_t *run, const sf_suite_t *suite);

/*  Writes text to DIR/name through a temporary file and a rename. */
int sf_benchrun_write_file (const sf_benchrun_t *run, const char *name, const char *text);

/*  Writes a gnuplot script to DIR/script and runs gnuplot on it in DIR (so
    the script names its files relative to DIR and runs again wherever DIR
    is copied). A missing or failing gnuplot is not an error: it is said on
    stderr, naming the picture the script would have drawn. */
void sf_benchrun_plot (const sf_benchrun_t *run, const char *script, const char *text, const char *picture);

/*  Every record of DIR/problems.jsonl so far, as a JSON array (caller
    owns; empty when there is none). */
cJSON *sf_benchrun_records (const sf_benchrun_t *run);

/*  The networks and layers a problem's `source` names (docs/SUITES.md):
    parts separated by "; " outside parentheses, one network each; a part
    is the network's name (its first word, then an optional variant word
    such as "x1.0"), its layers as items separated by ", " and " and " with
    shell-style braces ({0..11}, {a,b,c}), and an optional comment in
    parentheses. Fills models[i] and layers[i] (the count) for up to max
    networks and returns how many; 0 when the text does not parse so. */
#define SF_BENCHRUN_MODEL_MAX 64
int sf_benchrun_layers (const char *source, char models[][SF_BENCHRUN_MODEL_MAX], int *layers, int max);

/*  The tier's fields of a search result into a problem record:
    "precision", "tol", the tier's baselines and their errors, and "dense"
    (the dense candidates: the library's, ours, each of ours). */
void sf_benchrun_add_tier (cJSON *rec, const sf_search_result_t *r);

/*  A JSON object's number (NaN if absent) and string ("" if absent). */
double sf_benchrun_num (const cJSON *obj, const char *key);
const char *sf_benchrun_str (const cJSON *obj, const char *key);

#endif
