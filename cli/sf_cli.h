/*  sf_cli: what every `spmmfarm` subcommand shares: exit codes, error
    reporting, number parsing and JSON output. Only cli/ prints to stdout. */
#ifndef SF_CLI_H_INCLUDED
#define SF_CLI_H_INCLUDED

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

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

/*  Edit distance (Levenshtein with adjacent transpositions) of two words,
    at most 64 bytes each compared (longer ones: a large distance). */
int sf_cli_edit_distance (const char *a, const char *b);

/*  The candidate closest to `word` if it is close enough to be a likely
    typo (distance <= 1 for words of up to 4 bytes, else <= 2, or `word` a
    prefix of exactly one candidate); NULL otherwise. */
const char *sf_cli_suggest (const char *word, const char *const *candidates, int count);

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
