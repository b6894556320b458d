/*  sf_benchopts: --suite, -o, --filter, --limit, -q of a suite run. */
#include "cli/sf_benchopts.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "common/sf_error.h"

int
sf_benchopts_option (sf_benchrun_t *run, int opt, const char *arg)
{
    int64_t v;
    switch (opt) {
    case SF_BENCHOPTS_BASE + 0: run->suite_path = arg; return 1;
    case 'o': run->dir = arg; return 1;
    case SF_BENCHOPTS_BASE + 1: run->filter = arg; return 1;
    case SF_BENCHOPTS_BASE + 2:
        if (!sf_cli_parse_int (arg, 1, 1000000, &v))
            return sf_cli_usage (run->command, "--limit must be in 1..1000000, not '%s'", arg);
        run->limit = v;
        return 1;
    case 'q': run->quiet = 1; return 1;
    }
    return 0;
}

int
sf_benchopts_open (sf_benchrun_t *run, sf_suite_t **suite_p)
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
    run->item_begin = sf_progress_set_item;  /* the progress bars' current item */
    run->item_end = sf_progress_end;
    return SF_EXIT_OK;
}
