/*  sf_benchopts: a suite run's suite, filter and output folder opened. */
#include "cli/sf_benchopts.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "common/sf_error.h"

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
