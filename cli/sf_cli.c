/*  sf_cli: shared helpers of the subcommands. */
#include "cli/sf_cli.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_suggest.h"
#include "wire/sf_request.h"

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
    const char *near = sf_suggest_closest (word, names, count);
    if (near)
        snprintf (s_option_note, sizeof s_option_note, "unknown option '--%s' (did you mean '--%s'?)",
                  word, near);
    else
        snprintf (s_option_note, sizeof s_option_note, "unknown option '--%s'", word);
}

/* ---- help ------------------------------------------------------------ */

/*  One option's lines: its head, then its help from `column`. */
static void
s_help_option (FILE *out, const char *head, const char *help, int column)
{
    int len = (int) strlen (head);
    fputs (head, out);
    for (const char *p = help; *p;) {
        const char *nl = strchr (p, '\n');
        int n = nl ? (int) (nl - p) : (int) strlen (p);
        int pad = p == help ? (column - len < 1 ? 2 : column - len) : column;
        fprintf (out, "%*s%.*s\n", pad, "", n, p);
        p += n + (nl ? 1 : 0);
    }
}

static void
s_help_options (FILE *out, const sf_cli_opt_t *opts, int column)
{
    bool help_listed = false;
    for (const sf_cli_opt_t *o = opts; o && o->kind != SF_CLI_END; o++) {
        if (o->kind == SF_CLI_NOTE && !o->help) {  /* SF_CLI_HELP_HERE */
            s_help_option (out, "  -h, --help", "this help", column);
            help_listed = true;
        }
        if (!o->help)
            continue;
        if (o->kind == SF_CLI_NOTE || o->kind == SF_CLI_GROUP || !o->name) {
            sf_cli_help (out, o->help, NULL);
            continue;
        }
        char head[96];
        char shrt[8] = "";
        if (o->short_name)
            snprintf (shrt, sizeof shrt, "-%c, ", o->short_name);
        snprintf (head, sizeof head, "  %s--%s%s%s", shrt, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        s_help_option (out, head, o->help, column);
    }
    if (!help_listed)
        s_help_option (out, "  -h, --help", "this help", column);
}

void
sf_cli_help (FILE *out, const char *help, const sf_cli_opt_t *opts)
{
    static const char mark[] = "@options ";
    size_t request = strlen (SF_REQUEST_HELP_MARK);
    for (const char *p = help; *p;) {
        const char *nl = strchr (p, '\n');
        size_t n = nl ? (size_t) (nl - p) + 1 : strlen (p);
        int column;
        if (strncmp (p, mark, sizeof mark - 1) == 0 && sscanf (p + sizeof mark - 1, "%d@", &column) == 1)
            s_help_options (out, opts, column);
        else if (n == request && strncmp (p, SF_REQUEST_HELP_MARK, n) == 0)
            sf_request_help (out);
        else
            fwrite (p, 1, n, out);
        p += n;
    }
}

/* ---- table-driven options ------------------------------------------- */

/*  The val of a table entry's long option (above any short option's and
    the groups' own values). */
#define S_OPT_BASE 0x10000

/*  Stores one value by its entry: SF_EXIT_OK or an exit code. */
static int
s_store (const char *cmd, const sf_cli_opt_t *o, const char *arg)
{
    int64_t v;
    switch (o->kind) {
    case SF_CLI_FLAG: *(bool *) o->dest = true; return SF_EXIT_OK;
    case SF_CLI_IFLAG: *(int *) o->dest = 1; return SF_EXIT_OK;
    case SF_CLI_STR:
        if (o->error && ((int64_t) strlen (arg) < o->min || (int64_t) strlen (arg) > o->max))
            break;
        *(const char **) o->dest = arg;
        return SF_EXIT_OK;
    case SF_CLI_TEXT:
        if (o->error && (int64_t) strlen (arg) >= o->max)
            break;
        snprintf ((char *) o->dest, (size_t) o->max, "%s", arg);
        return SF_EXIT_OK;
    case SF_CLI_INT:
        if (sf_cli_parse_int (arg, o->min, o->max, (int64_t *) o->dest))
            return SF_EXIT_OK;
        break;
    case SF_CLI_INT32:
        if (sf_cli_parse_int (arg, o->min, o->max, &v)) {
            *(int *) o->dest = (int) v;
            return SF_EXIT_OK;
        }
        break;
    case SF_CLI_U64:
        if (sf_cli_parse_u64 (arg, (uint64_t *) o->dest))
            return SF_EXIT_OK;
        break;
    case SF_CLI_DOUBLE:
        if (sf_cli_parse_double (arg, o->fmin, o->fmax, (double *) o->dest))
            return SF_EXIT_OK;
        break;
    case SF_CLI_CALL:
    case SF_CLI_CALL0: return o->call (cmd, o, arg);
    default: break;
    }
    return sf_cli_usage (cmd, o->error ? o->error : "bad value '%s'", arg);
}

int
sf_cli_options (const char *cmd, int argc, char **argv, const sf_cli_opt_t *opts, const char *help)
{
    struct option longopts[SF_CLI_OPTS_MAX + 2];
    const sf_cli_opt_t *owner[SF_CLI_OPTS_MAX];
    char shortopts[2 * SF_CLI_OPTS_MAX + 2] = "h";
    size_t used = 1;
    int count = 0;
    for (const sf_cli_opt_t *o = opts; o->kind != SF_CLI_END; o++) {
        if (o->kind == SF_CLI_NOTE || (!o->name && o->kind != SF_CLI_GROUP))
            continue;  /* help text, or the configuration file's only */
        const struct option *g = o->kind == SF_CLI_GROUP ? o->group : NULL;
        do {
            assert (count < SF_CLI_OPTS_MAX);
            bool value = g ? g->has_arg != no_argument
                           : o->kind != SF_CLI_FLAG && o->kind != SF_CLI_IFLAG && o->kind != SF_CLI_CALL0;
            int short_name = g ? (g->val > ' ' && g->val < 127 ? g->val : 0) : o->short_name;
            longopts[count] = g ? *g : (struct option) { o->name, value ? required_argument : no_argument, NULL,
                                                         S_OPT_BASE + count };
            owner[count++] = o;
            if (short_name) {
                shortopts[used++] = (char) short_name;
                if (value)
                    shortopts[used++] = ':';
            }
        } while (g && (++g)->name);
    }
    shortopts[used] = '\0';
    longopts[count] = (struct option) { "help", no_argument, NULL, 'h' };
    longopts[count + 1] = (struct option) { NULL, 0, NULL, 0 };
    sf_cli_getopt_reset ();
    int opt;
    while ((opt = sf_cli_getopt_long (argc, argv, shortopts, longopts, NULL)) != -1) {
        if (opt == 'h') {
            sf_cli_help (stdout, help, opts);
            return SF_EXIT_OK;
        }
        const sf_cli_opt_t *hit = opt >= S_OPT_BASE && opt < S_OPT_BASE + count ? owner[opt - S_OPT_BASE] : NULL;
        for (int i = 0; !hit && opt != '?' && opt != ':' && i < count; i++)
            if (owner[i]->kind != SF_CLI_GROUP && owner[i]->short_name == opt)
                hit = owner[i];
        int rc = SF_EXIT_OK, handled = 0;
        if (hit)
            rc = s_store (cmd, hit, optarg);
        for (const sf_cli_opt_t *o = opts; !hit && !handled && opt != '?' && opt != ':' && o->kind != SF_CLI_END; o++)
            if (o->kind == SF_CLI_GROUP)
                handled = o->group_fn (cmd, opt, optarg, o->dest);
        if (!hit && handled == 0)
            return sf_cli_usage (cmd, "unknown option");
        if (!hit && handled != 1)
            return handled;
        if (rc != SF_EXIT_OK)
            return rc;
    }
    return SF_CLI_GO;
}

int
sf_cli_config (const char *cmd, const char *file, const char *section, const sf_cli_opt_t *opts, zconfig_t **conf_p)
{
    zconfig_t *conf = *conf_p = zconfig_load (file);
    if (!conf)
        return sf_cli_fail (cmd, sf_error_set (SF_ERR_FORMAT, "%s: cannot read it as a ZPL configuration", file));
    for (const sf_cli_opt_t *o = opts; o->kind != SF_CLI_END; o++) {
        char path[256];
        snprintf (path, sizeof path, "%s/%s", section, o->conf ? o->conf : "");
        const char *v = o->conf ? zconfig_get (conf, path, NULL) : NULL;
        if (!v || !*v)
            continue;
        if (o->kind == SF_CLI_STR && !*(const char **) o->dest)
            *(const char **) o->dest = v;
        else if (o->kind == SF_CLI_TEXT && !*(char *) o->dest)
            snprintf ((char *) o->dest, (size_t) o->max, "%s", v);
        else if (o->kind == SF_CLI_INT && *(int64_t *) o->dest < 0
                 && !sf_cli_parse_int (v, o->min, o->max, o->dest)) {
            sf_error_set (SF_ERR_FORMAT, "%s: %s: '%s' is not in %lld..%lld", file, path, v, (long long) o->min,
                          (long long) o->max);
            zconfig_destroy (conf_p);
            return sf_cli_fail (cmd, SF_ERR_FORMAT);
        }
    }
    return SF_EXIT_OK;
}

int
sf_cli_options_only (const char *cmd, int argc, char **argv, const sf_cli_opt_t *opts, const char *help)
{
    int rc = sf_cli_options (cmd, argc, argv, opts, help);
    return rc == SF_CLI_GO ? sf_cli_no_operands (cmd, argc, argv) : rc;
}

int
sf_cli_no_operands (const char *cmd, int argc, char **argv)
{
    if (optind < argc)
        return sf_cli_usage (cmd, "unexpected argument '%s'", argv[optind]);
    return SF_CLI_GO;
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
