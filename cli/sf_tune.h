/*  sf_tune: what the tuning commands (tune-local, sweep-local, bench,
    proxy-eval, rank-eval, worker) share on the command line: the search
    options, the choice of backend, the device and rank model
    (experiments/sf_searchsetup.h does the probing and loading). */
#ifndef SF_TUNE_H_INCLUDED
#define SF_TUNE_H_INCLUDED

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>

#include "cli/sf_cli.h"
#include "rankmodel/sf_rankmodel.h"
#include "store/sf_record.h"
#include "wire/sf_request.h"
#include "worker/sf_search.h"

/*  Long options of the tuning commands beyond the search request: where
    and how the search runs (the request's options come from its table,
    wire/sf_request.h, appended by sf_tune_getopt). */
#define SF_TUNE_OPT_BASE 1000
#define SF_TUNE_LONG_OPTIONS                                              \
    { "backend", required_argument, NULL, SF_TUNE_OPT_BASE + 1 },         \
    { "gpu", required_argument, NULL, SF_TUNE_OPT_BASE + 2 },             \
    { "compile-threads", required_argument, NULL, SF_TUNE_OPT_BASE + 3 }, \
    { "model", required_argument, NULL, SF_TUNE_OPT_BASE + 11 }

/*  getopt values of the request's options: from here up. */
#define SF_TUNE_REQUEST_BASE 3000

/*  The help of the options above, then the request's (sf_cli_help prints
    the marker as wire/sf_request.h's generated block). SF_TUNE_OPTIONS
    (fn, dest): all of them as one group of an sf_cli_options table, listed
    there; fn handles them (sf_tune_option, after the command's own). */
#define SF_TUNE_HELP                                                                       \
    "  --backend B        auto (default: cuda when a GPU is visible, else sim),\n"            \
    "                     cuda, or sim (an analytic GPU model: no GPU needed;\n"              \
    "                     every time it prints is SIMULATED)\n"                               \
    "  --gpu I            device ordinal (default 0)\n"                                       \
    "  --compile-threads T  compile pool size (default: all CPUs)\n"                          \
    "  --model M          rank: an XGBoost JSON model file, or a store directory to\n"        \
    "                     take its latest model for this GPU type from (default: the\n"       \
    "                     default store, see spmmfarm store --help); in bf16/fp16 a\n"       \
    "                     template T model file (train --family T) ranks template T\n"      \
    SF_REQUEST_HELP_MARK
extern const struct option sf_tune_long_options[];
#define SF_TUNE_OPTIONS(fn, dest) \
    SF_CLI_OPT_GROUP (sf_tune_getopt (sf_tune_long_options), fn, dest, .help = SF_TUNE_HELP)

/*  A getopt table for an SF_CLI_GROUP entry: `own` (zero-terminated; may be
    NULL), then the request's options but those of own's names, then the
    zero entry. Static storage: valid until the next call. */
const struct option *sf_tune_getopt (const struct option *own);

/*  Handles a request option of sf_tune_getopt's table: 1 if handled, 0 if
    `opt` is not one, or an exit code (SF_EXIT_USAGE, the message names the
    option and its bound) if its value is bad. *strategy_given (may be
    NULL) is set when it was --strategy. */
int sf_tune_request_option (const char *command, int opt, const char *arg, sf_request_t *req,
                            bool *strategy_given);

typedef struct {
    sf_request_t request;    /* what to search, as parsed (wire/sf_request.h) */
    bool strategy_given;     /* --strategy was on the command line */
    sf_search_opts_t search; /* the request as search options, with the backend:
                                filled by sf_tune_resolve_backend */
    const char *backend;     /* "auto", "cuda" or "sim" */
    const char *model;       /* --model: a model file or a store directory */
    sf_rankmodel_t *ranker;  /* rank: the loaded model (owned) */
    uint32_t model_version;  /* its version in a store (0: a file's) */
    const char *tmodel;      /* --model named a template T model file (bf16/fp16): it
                                travels in the SUBMIT instead (borrowed; NULL: none) */
} sf_tune_t;

/*  One of the tuning options (SF_TUNE_LONG_OPTIONS or the request's, by
    its name) as a table entry of its own, with the command's help:
    SF_TUNE_OPT ("gpu", &tune, SF_CLI_DOC (...)). */
int sf_tune_option_call (const char *command, const sf_cli_opt_t *opt, const char *arg);
#define SF_TUNE_OPT(n, tune_p, ...) SF_CLI_OPT_CALL (n, tune_p, sf_tune_option_call, __VA_ARGS__)

/*  Defaults: the default request (proxy, both templates, fp32, kn), auto
    backend. */
void sf_tune_init (sf_tune_t *tune);

/*  Handles one of SF_TUNE_LONG_OPTIONS or of the request's: 1 if handled,
    0 if `opt` is not one of them, or an exit code (SF_EXIT_USAGE, message
    printed) if its value is bad. */
int sf_tune_option (const char *command, int opt, const char *arg, sf_tune_t *tune);

/*  Turns "auto" into cuda or sim, saying on stderr why sim was chosen and
    that its times are simulated; fills tune->search's request fields from
    tune->request (worker/sf_jobrun.h's one conversion). */
void sf_tune_resolve_backend (const char *command, sf_tune_t *tune);

/*  The device the resolved backend measures on (sim: the model's). */
int sf_tune_device (const sf_tune_t *tune, sf_device_info_t *out);

/*  rank strategy only (else nothing): loads the model of this machine's GPU
    type from --model (a file, or a store directory's latest), else from
    store_dir (NULL: the default store), and hands it to the search.
    Without one it says on stderr that the search falls back to proxy, or,
    when `required`, fails. *record (may be NULL) gets the store's record
    of the model (zeroed for a file; release with sf_record_model_free).
    A --model file holding a template T model sets tune->tmodel instead
    (a usage error outside bf16/fp16). Returns an exit code (message
    printed). */
int sf_tune_rank_model (const char *command, sf_tune_t *tune, const char *store_dir, bool required,
                        sf_store_model_t *record);

/*  Releases the model. */
void sf_tune_fini (sf_tune_t *tune);

#endif
