/*  sf_tune: what tune-local, bench and proxy-eval share: the search options
    on the command line, the choice of backend, and a search result in JSON. */
#ifndef SF_TUNE_H_INCLUDED
#define SF_TUNE_H_INCLUDED

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>

#include "rankmodel/sf_rankmodel.h"
#include "store/sf_record.h"
#include "worker/sf_search.h"

/*  Long options of the search, to put in a command's option table. */
#define SF_TUNE_OPT_BASE 1000
#define SF_TUNE_LONG_OPTIONS                                              \
    { "strategy", required_argument, NULL, SF_TUNE_OPT_BASE + 0 },        \
    { "backend", required_argument, NULL, SF_TUNE_OPT_BASE + 1 },         \
    { "gpu", required_argument, NULL, SF_TUNE_OPT_BASE + 2 },             \
    { "compile-threads", required_argument, NULL, SF_TUNE_OPT_BASE + 3 }, \
    { "max-configs", required_argument, NULL, SF_TUNE_OPT_BASE + 4 },     \
    { "proxy-top", required_argument, NULL, SF_TUNE_OPT_BASE + 5 },       \
    { "templates", required_argument, NULL, SF_TUNE_OPT_BASE + 6 },       \
    { "max-code-fmas", required_argument, NULL, SF_TUNE_OPT_BASE + 7 },   \
    { "run-timeout", required_argument, NULL, SF_TUNE_OPT_BASE + 8 },     \
    { "seed", required_argument, NULL, SF_TUNE_OPT_BASE + 9 },            \
    { "top-k", required_argument, NULL, SF_TUNE_OPT_BASE + 10 },          \
    { "model", required_argument, NULL, SF_TUNE_OPT_BASE + 11 },         \
    { "d-union", no_argument, NULL, SF_TUNE_OPT_BASE + 12 },         \
    { "no-d-slab", no_argument, NULL, SF_TUNE_OPT_BASE + 13 },        \
    { "u-split", no_argument, NULL, SF_TUNE_OPT_BASE + 14 }

/*  Help text of those options. */
#define SF_TUNE_HELP                                                                         \
    "  --strategy S       proxy (default): time small proxy kernels of every legal\n"      \
    "                     U config, compile the fastest few in full; exhaustive:\n"        \
    "                     compile and time every full kernel; rank: the rank model\n"      \
    "                     scores every legal config, the top K are timed as proxies,\n"    \
    "                     the fastest compiled in full (no model: proxy, said so)\n"       \
    "  --backend B        auto (default: cuda when a GPU is visible, else sim),\n"         \
    "                     cuda, or sim (an analytic GPU model: no GPU needed;\n"           \
    "                     every time it prints is SIMULATED)\n"                            \
    "  --gpu I            device ordinal (default 0)\n"                                    \
    "  --compile-threads T  compile pool size (default: all CPUs)\n"                       \
    "  --max-configs C    an even sample of C legal configs per template (default all)\n"  \
    "  --proxy-top K      proxy, rank: compile the K fastest proxies in full (with\n"     \
    "                     --u-split, K of each kind: unsplit, split)\n"                 \
    "                     (default 4 for proxy, 3 for rank; rank times a layer of\n"      \
    "                     at most 2048 nonzeros in full, no proxies)\n"                   \
    "  --templates L      templates to search: U, D or UD (default UD; dense always)\n"    \
    "  --max-code-fmas F  leave out U configs whose full kernel has more than F\n"         \
    "                     multiply-adds of code (compile time; default 160000)\n"          \
    "  --run-timeout S    seconds before a hanging candidate is killed (default 30)\n"     \
    "  --seed N           seed of inputs and pattern values (default 1)\n"                \
    "  --top-k K          rank: candidates timed (default 10)\n"                           \
    "  --model M          rank: an XGBoost JSON model file, or a store directory to\n"     \
    "                     take its latest model for this GPU type from (default: the\n"    \
    "                     default store, see spmmfarm store --help)\n"                  \
    "  --d-union          also search template D with the union encoding (.e1: one\n"     \
    "                     B load per distinct column of a panel; slower than the\n"     \
    "                     rows kernel on the H100: docs/KERNELS.md)\n"                  \
    "  --no-d-slab        leave template D's slab kernel out (.e2: B staged in\n"        \
    "                     shared memory, K split over a cluster; docs/KERNELS.md)\n"    \
    "  --u-split          also search U's configs split over K (.k2/.k4/.k8: thread\n"  \
    "                     groups of a block share a panel; their own finalists;\n"    \
    "                     faster on small-M layers, 1.9x compile CPU: KERNELS.md)\n"

typedef struct {
    sf_search_opts_t search;
    const char *backend;     /* "auto", "cuda" or "sim" */
    const char *model;       /* --model: a model file or a store directory */
    sf_rankmodel_t *ranker;  /* rank: the loaded model (owned) */
} sf_tune_t;

/*  Defaults: proxy, auto backend, both templates, tolerance 1e-5. */
void sf_tune_init (sf_tune_t *tune);

/*  Handles one of SF_TUNE_LONG_OPTIONS: 1 if handled, 0 if `opt` is not one
    of them, or an exit code (SF_EXIT_USAGE, message printed) if its value
    is bad. */
int sf_tune_option (const char *command, int opt, const char *arg, sf_tune_t *tune);

/*  Turns "auto" into cuda or sim, saying on stderr why sim was chosen and
    that its times are simulated. */
void sf_tune_resolve_backend (const char *command, sf_tune_t *tune);

/*  The device the resolved backend measures on (sim: the model's). */
int sf_tune_device (const sf_tune_t *tune, sf_device_info_t *out);

/*  rank strategy only (else nothing): loads the model of this machine's GPU
    type from --model (a file, or a store directory's latest), else from
    store_dir (NULL: the default store), and hands it to the search.
    Without one it says on stderr that the search falls back to proxy, or,
    when `required`, fails. *record (may be NULL) gets the store's record
    of the model (zeroed for a file; release with sf_record_model_free).
    Returns an exit code (message printed). */
int sf_tune_rank_model (const char *command, sf_tune_t *tune, const char *store_dir, bool required,
                        sf_store_model_t *record);

/*  Releases the model. */
void sf_tune_fini (sf_tune_t *tune);

/*  The result as a JSON object (caller owns): best, baselines, search, gpu,
    and the candidates when asked. */
cJSON *sf_tune_result_json (const sf_search_opts_t *opts, const sf_search_result_t *r,
                            bool candidates);

#endif
