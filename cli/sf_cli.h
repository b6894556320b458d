/*  sf_cli: what every `spmmfarm` subcommand shares: exit codes, error
    reporting, number parsing and JSON output. Only cli/ prints to stdout. */
#ifndef SF_CLI_H_INCLUDED
#define SF_CLI_H_INCLUDED

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <czmq.h>

enum {
    SF_EXIT_OK = 0,       /* success */
    SF_EXIT_FAILURE = 1,  /* runtime failure (GPU, I/O, network...) */
    SF_EXIT_USAGE = 2     /* bad usage or bad input */
};

/*  A subcommand: run(argc, argv) with argv[0] the command's name. */
typedef struct {
    const char *name;
    int (*run) (int argc, char **argv);
    const char *summary;
} sf_cli_command_t;

/*  Exit code for a library status: bad input (malformed, out of range,
    invalid, not found, unsupported, unknown schema) is 2, the rest 1. */
int sf_cli_exit_code (int status);

/*  Prints "spmmfarm CMD: error: DETAIL" on stderr (the detail recorded by the
    library, or sf_strerror(status)) and returns the exit code for status. */
int sf_cli_fail (const char *cmd, int status);

/*  Prints a usage error and a hint to --help on stderr; returns 2. */
int sf_cli_usage (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  Strict number parsing: the whole string, within [min, max]. */
bool sf_cli_parse_int (const char *text, int64_t min, int64_t max, int64_t *out);
bool sf_cli_parse_u64 (const char *text, uint64_t *out);
bool sf_cli_parse_double (const char *text, double min, double max, double *out);

/*  Prints a JSON document on stdout, followed by a newline; takes ownership. */
int sf_cli_print_json (cJSON **root_p);

/*  Resets getopt so that a subcommand can parse its own argv. */
void sf_cli_getopt_reset (void);

/*  getopt_long with spmmfarm's messages: getopt's own are off, and a bad
    option leaves a note that the command's sf_cli_usage (cmd, "unknown
    option") prints instead: "unknown option '--jsn' (did you mean
    '--json'?)", "option '--n' needs a value", "option '--json' takes no
    value", "option '--s' is ambiguous (--store, --strategy)". Every
    command gets it through the macro below (<getopt.h> is included first,
    so its prototype keeps the real name). */
int sf_cli_getopt_long (int argc, char *const *argv, const char *shortopts,
                        const struct option *longopts, int *longindex);
#define getopt_long(argc, argv, shortopts, longopts, longindex) \
    sf_cli_getopt_long (argc, argv, shortopts, longopts, longindex)

/*  A command's options as a table, parsed by sf_cli_options: one entry per
    long option (--help/-h is added), each value checked and stored where
    its entry says; a bad one is a usage error (exit 2) whose message is the
    entry's `error`, a printf format given the value (one %s, or none).

        static const char *s_help = "usage: spmmfarm cmd --n N [--json] FILE\n\n"
                                    SF_CLI_HELP_OPTIONS (18);
        int64_t n = 0;
        bool json = false;
        const sf_cli_opt_t opts[] = {
            SF_CLI_OPT_INT ("n", &n, 1, 1 << 24, "--n must be in 1..16777216, not '%s'",
                            SF_CLI_DOC ("N", "columns of B")),
            SF_CLI_OPT_FLAG ("json", &json, SF_CLI_JSON_DOC),
            SF_CLI_OPT_END
        };
        int rc = sf_cli_options ("cmd", argc, argv, opts, s_help);
        if (rc != SF_CLI_GO)
            return rc;
        ... argv[optind..]: the operands ...
*/
typedef enum {
    SF_CLI_END = 0,   /* ends a table */
    SF_CLI_FLAG,      /* bool *dest = true */
    SF_CLI_IFLAG,     /* int *dest = 1 */
    SF_CLI_STR,       /* const char **dest = the value (in argv); with an
                         `error`, its length must be in [min, max] bytes */
    SF_CLI_TEXT,      /* char dest[max]: the value, copied: cut to fit, or
                         with an `error`, refused when it does not fit */
    SF_CLI_INT,       /* int64_t *dest: an integer in [min, max] */
    SF_CLI_INT32,     /* int *dest: an integer in [min, max] */
    SF_CLI_U64,       /* uint64_t *dest: a non-negative integer */
    SF_CLI_DOUBLE,    /* double *dest: a finite number in [fmin, fmax] */
    SF_CLI_CALL,      /* call (cmd, entry, value) */
    SF_CLI_CALL0,     /* call (cmd, entry, NULL): an option without a value */
    SF_CLI_NOTE,      /* no option: its `help`, printed as it is where the
                         table's list of options is (a paragraph between
                         options, another module's block of them) */
    SF_CLI_GROUP      /* the long options `group` (a {0}-ended table, e.g. a
                         module's; a printable val is also its short option),
                         handled by group_fn (cmd, opt, value, dest): 1 if
                         handled, 0 if not its own, else an exit code */
} sf_cli_kind;

typedef struct sf_cli_opt_s sf_cli_opt_t;
struct sf_cli_opt_s {
    const char *name;        /* the long option's name, without "--"; NULL: a
                                setting of the configuration file only */
    const char *conf;        /* its key in a configuration file's section
                                (sf_cli_config), or NULL */
    int short_name;          /* its short form ('o' for -o), or 0 */
    sf_cli_kind kind;
    void *dest;              /* where the value goes (kinds above) */
    const char *error;       /* usage message of a bad value */
    int64_t min, max;        /* SF_CLI_INT, SF_CLI_INT32 */
    double fmin, fmax;       /* SF_CLI_DOUBLE */
    int (*call) (const char *cmd, const sf_cli_opt_t *opt, const char *value);  /* SF_EXIT_OK or an
                                                                       exit code, message printed */
    const struct option *group;                                          /* SF_CLI_GROUP */
    int (*group_fn) (const char *cmd, int opt, const char *value, void *dest);
    const char *arg;         /* the value's name in the help ("N"), NULL: none */
    const char *help;        /* the help's text of the option, lines separated
                                by '\n', without the option column (NULL: not
                                listed); SF_CLI_NOTE, SF_CLI_GROUP: printed as
                                it is */
};

/*  An entry: SF_CLI_OPT_X (...) = { SF_CLI_F_X (...) }; SF_CLI_CONF (KEY,
    SF_CLI_F_X (...)) gives it a configuration key too; {.name = NULL, ...}
    with a key is a setting of the file only. */
#define SF_CLI_F_FLAG(n, d) .name = (n), .kind = SF_CLI_FLAG, .dest = (d)
#define SF_CLI_F_STR(n, d) .name = (n), .kind = SF_CLI_STR, .dest = (d)
#define SF_CLI_F_TEXT(n, buf) .name = (n), .kind = SF_CLI_TEXT, .dest = (buf), .max = (int64_t) sizeof (buf)
#define SF_CLI_F_INT(n, d, lo, hi, e) \
    .name = (n), .kind = SF_CLI_INT, .dest = (d), .min = (lo), .max = (hi), .error = (e)
#define SF_CLI_OPT_FLAG(n, d, ...) { SF_CLI_F_FLAG (n, d), __VA_ARGS__ }
#define SF_CLI_OPT_IFLAG(n, d, ...) { .name = (n), .kind = SF_CLI_IFLAG, .dest = (d), __VA_ARGS__ }
#define SF_CLI_OPT_STR(n, d, ...) { SF_CLI_F_STR (n, d), __VA_ARGS__ }
#define SF_CLI_OPT_TEXT(n, buf, ...) { SF_CLI_F_TEXT (n, buf), __VA_ARGS__ }
#define SF_CLI_OPT_STRLEN(n, d, lo, hi, e, ...) \
    { SF_CLI_F_STR (n, d), .min = (lo), .max = (hi), .error = (e), __VA_ARGS__ }
#define SF_CLI_OPT_TEXT_FIT(n, buf, e, ...) { SF_CLI_F_TEXT (n, buf), .error = (e), __VA_ARGS__ }
#define SF_CLI_OPT_INT(n, d, lo, hi, e, ...) { SF_CLI_F_INT (n, d, lo, hi, e), __VA_ARGS__ }
#define SF_CLI_OPT_INT32(n, d, lo, hi, e, ...) \
    { .name = (n), .kind = SF_CLI_INT32, .dest = (d), .min = (lo), .max = (hi), .error = (e), __VA_ARGS__ }
#define SF_CLI_OPT_U64(n, d, e, ...) { .name = (n), .kind = SF_CLI_U64, .dest = (d), .error = (e), __VA_ARGS__ }
#define SF_CLI_OPT_DOUBLE(n, d, lo, hi, e, ...) \
    { .name = (n), .kind = SF_CLI_DOUBLE, .dest = (d), .fmin = (lo), .fmax = (hi), .error = (e), __VA_ARGS__ }
#define SF_CLI_OPT_CALL(n, d, fn, ...) { .name = (n), .kind = SF_CLI_CALL, .dest = (d), .call = (fn), __VA_ARGS__ }
#define SF_CLI_OPT_CALL0(n, d, fn, ...) \
    { .name = (n), .kind = SF_CLI_CALL0, .dest = (d), .call = (fn), __VA_ARGS__ }
#define SF_CLI_OPT_GROUP(g, fn, d, ...) { .kind = SF_CLI_GROUP, .group = (g), .group_fn = (fn), .dest = (d), __VA_ARGS__ }
#define SF_CLI_CONF(key, fields, ...) { fields, .conf = (key), __VA_ARGS__ }
#define SF_CLI_OPT_END { .kind = SF_CLI_END }
#define SF_CLI_NOTE_TEXT(text) { .kind = SF_CLI_NOTE, .help = (text) }
/*  Where "-h, --help" is listed when it is not after the last entry. */
#define SF_CLI_HELP_HERE { .kind = SF_CLI_NOTE }
/*  An entry's help, the last argument of SF_CLI_OPT_X (...) or SF_CLI_CONF
    (...): SF_CLI_DOC ("N", "rows, 1..2147483647") lists "  --m N" and the
    text (arg NULL: a flag's, no value). */
#define SF_CLI_DOC(a, h) .arg = (a), .help = (h)
#define SF_CLI_JSON_DOC SF_CLI_DOC (NULL, "machine-readable output")
/*  The default store, as the commands' help says it (without a final
    newline: a command may go on). */
#define SF_CLI_STORE_DOC \
    "the store (default: $SPMMFARM_STORE, else\n$XDG_CACHE_HOME/spmmfarm/store, else ~/.cache/spmmfarm/store)"

/*  The most long options one table gives (groups' included). */
#define SF_CLI_OPTS_MAX 96

/*  sf_cli_options's "go on": the options are read, argv[optind..] are the
    operands. */
#define SF_CLI_GO (-1)

/*  A command's help is one text: the usage, what it does, and a line
    SF_CLI_HELP_OPTIONS (COLUMN) where the table's options are listed in
    its order, each "  [-s, ]--name ARG" then its help from COLUMN (two
    spaces after a head that reaches it; further lines at COLUMN), notes and groups
    as they are, then "  -h, --help" "this help" (or where the table has
    SF_CLI_HELP_HERE). A line
    SF_REQUEST_HELP_MARK (in the text or in a note) becomes the search
    request's options (wire/sf_request.h's sf_request_help). So every
    option's name is written once, in the table. */
#define SF_CLI_HELP_OPTIONS(column) "@options " #column "@\n"
#define SF_REQUEST_HELP_MARK "@request-options@\n"

/*  Prints help on out with its markers replaced from opts (may be NULL
    when the text has no SF_CLI_HELP_OPTIONS). */
void sf_cli_help (FILE *out, const char *help, const sf_cli_opt_t *opts);

/*  Parses argv[1..] (getopt reset first) by the table opts: SF_CLI_GO, or
    the exit code to return: SF_EXIT_OK after printing `help` on stdout for
    --help/-h (sf_cli_help, its options listed from opts),
    SF_EXIT_USAGE after a usage error (an unknown option, a bad value), or
    what a call or a group returned. */
int sf_cli_options (const char *cmd, int argc, char **argv, const sf_cli_opt_t *opts, const char *help);

/*  Settings from the `section` of a ZPL file (conf/farm.conf) for the
    entries that have a `conf` key and that the command line left unset (a
    NULL string, an empty text, a negative integer): flags win. An integer
    is checked against its entry's bounds ("FILE: SECTION/KEY: 'V' is not
    in MIN..MAX"). SF_EXIT_OK, or the exit code (2: the file cannot be
    read, a bad value) with the error printed. *conf_p (the caller
    destroys it; NULL after an error) holds the strings that SF_CLI_STR
    entries now point to. */
int sf_cli_config (const char *cmd, const char *file, const char *section, const sf_cli_opt_t *opts,
                   zconfig_t **conf_p);

/*  sf_cli_options for a command that takes no operands: one is the usage
    error "unexpected argument 'X'". */
int sf_cli_options_only (const char *cmd, int argc, char **argv, const sf_cli_opt_t *opts, const char *help);

/*  SF_CLI_GO when argv[optind..] is empty, else the usage error
    "unexpected argument 'X'" (returns SF_EXIT_USAGE). */
int sf_cli_no_operands (const char *cmd, int argc, char **argv);

/*  Every subcommand, defined in cli/cmd_*.c. */
int sf_cmd_gen (int argc, char **argv);
int sf_cmd_inspect (int argc, char **argv);
int sf_cmd_reference (int argc, char **argv);
int sf_cmd_suite (int argc, char **argv);
int sf_cmd_devices (int argc, char **argv);
int sf_cmd_tune_local (int argc, char **argv);
int sf_cmd_bench (int argc, char **argv);
int sf_cmd_proxy_eval (int argc, char **argv);
int sf_cmd_selftest (int argc, char **argv);
int sf_cmd_store (int argc, char **argv);
int sf_cmd_keygen (int argc, char **argv);
int sf_cmd_bundle (int argc, char **argv);
int sf_cmd_coordinator (int argc, char **argv);
int sf_cmd_submit (int argc, char **argv);
int sf_cmd_status (int argc, char **argv);
int sf_cmd_cancel (int argc, char **argv);
int sf_cmd_local (int argc, char **argv);
int sf_cmd_import (int argc, char **argv);
int sf_cmd_export (int argc, char **argv);
int sf_cmd_worker (int argc, char **argv);
int sf_cmd_train (int argc, char **argv);
int sf_cmd_sweep_local (int argc, char **argv);
int sf_cmd_rank_eval (int argc, char **argv);
int sf_cmd_metrics (int argc, char **argv);

#endif
