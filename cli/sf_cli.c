/*  sf_cli: shared helpers of the subcommands. */
#include "cli/sf_cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/sf_error.h"

int
sf_cli_exit_code (int status)
{
    switch (status) {
    case SF_OK:
        return SF_EXIT_OK;
    case SF_ERR_FORMAT:
    case SF_ERR_RANGE:
    case SF_ERR_INVALID:
    case SF_ERR_NOTFOUND:
    case SF_ERR_UNSUPPORTED:
    case SF_ERR_SCHEMA:
        return SF_EXIT_USAGE;
    default:
        return SF_EXIT_FAILURE;
    }
}

int
sf_cli_fail (const char *cmd, int status)
{
    const char *detail = sf_error_message ();
    fprintf (stderr, "spmmfarm %s: error: %s\n", cmd,
             detail && *detail ? detail : sf_strerror (status));
    return sf_cli_exit_code (status);
}

int
sf_cli_usage (const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf (stderr, "spmmfarm %s: ", cmd);
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fprintf (stderr, "\nTry 'spmmfarm %s --help'.\n", cmd);
    return SF_EXIT_USAGE;
}

bool
sf_cli_parse_int (const char *text, int64_t min, int64_t max, int64_t *out)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool
sf_cli_parse_u64 (const char *text, uint64_t *out)
{
    if (!text || !*text || *text == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool
sf_cli_parse_double (const char *text, double min, double max, double *out)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    double v = strtod (text, &end);
    if (errno || *end || !isfinite (v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int
sf_cli_print_json (cJSON **root_p)
{
    char *text = cJSON_Print (*root_p);
    cJSON_Delete (*root_p);
    *root_p = NULL;
    if (!text)
        return sf_cli_fail ("json", sf_error_set (SF_ERR_NOMEM, "out of memory printing JSON"));
    puts (text);
    free (text);
    return SF_EXIT_OK;
}

void
sf_cli_getopt_reset (void)
{
    optind = 0;  /* GNU: full re-initialisation */
    opterr = 1;
}
