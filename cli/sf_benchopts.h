/*  sf_benchopts: the command line of a suite run (bench, proxy-eval,
    rank-eval; the run itself is experiments/sf_benchrun.h). */
#ifndef SF_BENCHOPTS_H_INCLUDED
#define SF_BENCHOPTS_H_INCLUDED

#include <getopt.h>

#include "cli/sf_cli.h"
#include "common/sf_suite.h"
#include "experiments/sf_benchrun.h"

/*  The options of a suite run, as entries of an sf_cli_options table
    (listed by the help in this order); -q, --quiet apart (its help line is
    the command's). */
#define SF_BENCHOPTS_OPTIONS(run)                                                                       \
    SF_CLI_OPT_STR ("suite", &(run)->suite_path, SF_CLI_DOC ("FILE", "suite file (e.g. conf/bench/bench205.conf)")), \
    SF_CLI_OPT_STR ("output", &(run)->dir, .short_name = 'o', SF_CLI_DOC ("DIR", "output folder (created if missing)")), \
    SF_CLI_OPT_STR ("filter", &(run)->filter,                                                           \
                    SF_CLI_DOC ("EXPR", "only the problems matching EXPR (see spmmfarm suite --help)")),  \
    SF_CLI_OPT_INT ("limit", &(run)->limit, 1, 1000000, "--limit must be in 1..1000000, not '%s'",        \
                    SF_CLI_DOC ("N", "stop after N new problems (a partial run, resumed later)"))
#define SF_BENCHOPTS_QUIET(run, ...) SF_CLI_OPT_IFLAG ("quiet", &(run)->quiet, .short_name = 'q', __VA_ARGS__)

/*  Checks that --suite and -o were given, loads the suite, applies the
    filter, creates DIR and hands the progress bars to the run: SF_EXIT_OK
    with *suite_p (caller owns), or an exit code (message printed). */
int sf_benchopts_open (sf_benchrun_t *run, sf_suite_t **suite_p);

#endif
