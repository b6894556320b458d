/*  sf_cli: shared helpers of the subcommands. */
#include "cli/sf_cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

/*  What the last bad option was, for sf_cli_usage (set by
    sf_cli_getopt_long, cleared by sf_cli_getopt_reset and when printed). */
static char s_option_note[256];

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
    if (s_option_note[0] && strcmp (fmt, "unknown option") == 0)
        fputs (s_option_note, stderr);
    else {
        va_start (ap, fmt);
        vfprintf (stderr, fmt, ap);
        va_end (ap);
    }
    s_option_note[0] = '\0';
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
    opterr = 0;  /* sf_cli_getopt_long says what went wrong */
    s_option_note[0] = '\0';
}

int
sf_cli_edit_distance (const char *a, const char *b)
{
    enum { MAX = 64 };
    size_t n = strlen (a), m = strlen (b);
    if (n > MAX || m > MAX)
        return MAX + 1;
    /* three rows of the optimal string alignment distance */
    int rows[3][MAX + 1];
    int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = (int) j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int) i;
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        int *spare = prev2;
        prev2 = prev;
        prev = cur;
        cur = spare;
    }
    return prev[m];
}

const char *
sf_cli_suggest (const char *word, const char *const *candidates, int count)
{
    const char *best = NULL, *prefixed = NULL;
    int best_d = 1 << 20, prefixes = 0;
    size_t len = strlen (word);
    for (int i = 0; i < count; i++) {
        int d = sf_cli_edit_distance (word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
        if (len >= 2 && strncmp (word, candidates[i], len) == 0) {
            prefixes++;
            prefixed = candidates[i];
        }
    }
    int limit = len <= 4 ? 1 : 2;
    if (best && best_d <= limit)
        return best;
    return prefixes == 1 ? prefixed : NULL;
}

/*  The note for a bad long option `arg` ("--name" or "--name=value"). */
static void
s_long_note (const char *arg, const struct option *longopts)
{
    const char *name = arg + 2;
    size_t len = strcspn (name, "=");
    bool has_value = name[len] == '=';
    const char *names[256];
    int count = 0, prefixes = 0;
    char ambiguous[160] = "";
    const struct option *exact = NULL, *prefixed = NULL;
    for (const struct option *o = longopts; o && o->name && count < 256; o++) {
        names[count++] = o->name;
        if (strlen (o->name) == len && strncmp (o->name, name, len) == 0)
            exact = o;
        if (len > 0 && strncmp (o->name, name, len) == 0) {
            prefixed = o;
            size_t used = strlen (ambiguous);
            if (used + strlen (o->name) + 8 < sizeof ambiguous)
                snprintf (ambiguous + used, sizeof ambiguous - used, "%s--%s", prefixes ? ", " : "",
                          o->name);
            prefixes++;
        }
    }
    /* getopt took it (by name, or by a unique prefix): its value is wrong */
    const struct option *known = exact ? exact : prefixes == 1 ? prefixed : NULL;
    if (known) {
        snprintf (s_option_note, sizeof s_option_note, "option '--%s' %s", known->name,
                  has_value && known->has_arg == no_argument ? "takes no value" : "needs a value");
        return;
    }
    if (prefixes > 1) {
        snprintf (s_option_note, sizeof s_option_note, "option '--%.*s' is ambiguous (%s)",
                  (int) (len < 64 ? len : 64), name, ambiguous);
        return;
    }
    char word[72];
    snprintf (word, sizeof word, "%.*s", (int) (len < 64 ? len : 64), name);
    const char *near = sf_cli_suggest (word, names, count);
    if (near)
        snprintf (s_option_note, sizeof s_option_note, "unknown option '--%s' (did you mean '--%s'?)",
                  word, near);
    else
        snprintf (s_option_note, sizeof s_option_note, "unknown option '--%s'", word);
}

#undef getopt_long
int
sf_cli_getopt_long (int argc, char *const *argv, const char *shortopts,
                    const struct option *longopts, int *longindex)
{
    opterr = 0;
    int opt = getopt_long (argc, argv, shortopts, longopts, longindex);
    if (opt != '?' && opt != ':')
        return opt;
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : NULL;
    if (arg && strncmp (arg, "--", 2) == 0 && arg[2])
        s_long_note (arg, longopts);
    else if (optopt && strchr (shortopts, optopt))
        snprintf (s_option_note, sizeof s_option_note, "option '-%c' needs a value", optopt);
    else if (optopt)
        snprintf (s_option_note, sizeof s_option_note, "unknown option '-%c'", optopt);
    else
        snprintf (s_option_note, sizeof s_option_note, "unknown option '%.64s'", arg ? arg : "?");
    return opt;
}
