/*  sf_benchopts: the command line of a suite run (bench, proxy-eval,
    rank-eval; the run itself is experiments/sf_benchrun.h). */
#ifndef SF_BENCHOPTS_H_INCLUDED
#define SF_BENCHOPTS_H_INCLUDED

#include <getopt.h>

#include "common/sf_suite.h"
#include "experiments/sf_benchrun.h"

/*  Long options of a suite run, to put in a command's option table
    (-o is the short form of --output: add "o:" to the short options). */
#define SF_BENCHOPTS_BASE 1100
#define SF_BENCHOPTS_LONG_OPTIONS                                         \
    { "suite", required_argument, NULL, SF_BENCHOPTS_BASE + 0 },          \
    { "output", required_argument, NULL, 'o' },                           \
    { "filter", required_argument, NULL, SF_BENCHOPTS_BASE + 1 },         \
    { "limit", required_argument, NULL, SF_BENCHOPTS_BASE + 2 },          \
    { "quiet", no_argument, NULL, 'q' }

#define SF_BENCHOPTS_HELP                                                                    \
    "  --suite FILE       suite file (e.g. conf/bench/bench205.conf)\n"                    \
    "  -o, --output DIR   output folder (created if missing)\n"                            \
    "  --filter EXPR      only the problems matching EXPR (see spmmfarm suite --help)\n"   \
    "  --limit N          stop after N new problems (a partial run, resumed later)\n"

/*  Handles one of SF_BENCHOPTS_LONG_OPTIONS (and -o, -q): 1 if handled, 0
    if not one of them, or SF_EXIT_USAGE (message printed). */
int sf_benchopts_option (sf_benchrun_t *run, int opt, const char *arg);

/*  Checks that --suite and -o were given, loads the suite, applies the
    filter, creates DIR and hands the progress bars to the run: SF_EXIT_OK
    with *suite_p (caller owns), or an exit code (message printed). */
int sf_benchopts_open (sf_benchrun_t *run, sf_suite_t **suite_p);

#endif
