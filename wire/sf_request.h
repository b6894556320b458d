/*  sf_request: the one search request (issue 18).

    Every option of a layer's search in one value type, sf_request_t, and
    ONE table of option descriptors (long option name, wire key, type,
    bounds, default, help line) that drives everything a request goes
    through, so that no two places can disagree:

      command line  sf_request_set_option ("max-configs", "16"); the getopt
                    entries (sf_request_getopt) and the --help block
                    (sf_request_help) of every command that searches
      bounds        one set, checked by the setters and sf_request_validate
      wire          the `request` map of SUBMIT and JOB (wire/sf_proto.c
                    encodes and decodes it through sf_request_get/put, by
                    this table: docs/PROTOCOL.md "request")
      store key     sf_request_canonical: "same search?" (docs/STORE.md)

    The worker turns a request into its search options
    (worker/sf_jobrun.h, sf_jobrun_search_opts): the wire does not include
    the worker, so the strategy and template values here are the wire's own
    (equal to worker/sf_search.h's, checked at compile time there).

    A zeroed request is NOT the default one (seed 1, templates UD, the
    slab kernel on): start from sf_request_init.

    Zero means "the default" for max_configs (all legal configs),
    proxy_top, top_k, max_code_fmas, run_timeout_s and tol (the tier's
    bound, common/sf_tier.h); the canonical text resolves defaults, so
    that spelling a default out is the same request.
*/
#ifndef SF_REQUEST_H_INCLUDED
#define SF_REQUEST_H_INCLUDED

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/sf_tier.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Strategies a request may ask for (the values of worker/sf_search.h's
    sf_strategy; proxy-eval is an experiment, not a request). */
typedef enum {
    SF_REQUEST_EXHAUSTIVE = 0,
    SF_REQUEST_PROXY = 1,
    SF_REQUEST_RANK = 3
} sf_request_strategy;

/*  The L2 cache's state when a launch is timed (--l2; docs/DECISIONS.md
    "Cold L2 in the decode regime"): auto is cold when N <= 256 (decode: the
    weights are most of the bytes, and a real model streams them from HBM),
    warm otherwise. */
typedef enum {
    SF_REQUEST_L2_AUTO = 0,
    SF_REQUEST_L2_WARM = 1,
    SF_REQUEST_L2_COLD = 2
} sf_request_l2;
#define SF_REQUEST_L2_AUTO_MAX_N 256

/*  Templates (bit mask, the values of SF_SEARCH_U / SF_SEARCH_D); the dense
    candidate is always measured. */
#define SF_REQUEST_U 1u
#define SF_REQUEST_D 2u
#define SF_REQUEST_T 4u               /* template T: bf16/fp16 tiers only */
#define SF_REQUEST_DEFAULT_TEMPLATES (SF_REQUEST_U | SF_REQUEST_D | SF_REQUEST_T)

/*  The defaults that zero stands for (the worker's: sf_jobrun checks that
    they agree with worker/sf_search.h and proxygen/sf_space.h). */
#define SF_REQUEST_DEFAULT_PROXY_TOP 4         /* proxy: finalists compiled in full */
#define SF_REQUEST_DEFAULT_RANK_FINALISTS 3    /* rank: finalists compiled in full */
#define SF_REQUEST_DEFAULT_TOP_K 10            /* rank: candidates timed */
#define SF_REQUEST_DEFAULT_MAX_CODE_FMAS 160000
#define SF_REQUEST_DEFAULT_RUN_TIMEOUT_S 30.0
#define SF_REQUEST_DEFAULT_SEED 1

/*  Bounds (the one set: command line, wire, store). 0 is also accepted
    where it means the default. */
#define SF_REQUEST_MAX_CONFIGS_MAX (1 << 20)
#define SF_REQUEST_PROXY_TOP_MAX 1024
#define SF_REQUEST_TOP_K_MAX 4096
#define SF_REQUEST_MAX_CODE_FMAS_MAX 100000000
#define SF_REQUEST_RUN_TIMEOUT_MIN 0.1
#define SF_REQUEST_RUN_TIMEOUT_MAX 86400.0
#define SF_REQUEST_BUDGET_MIN 1.0              /* seconds */
#define SF_REQUEST_BUDGET_MAX (7 * 86400.0)
#define SF_REQUEST_TOL_MIN 1e-12
#define SF_REQUEST_TOL_MAX 1.0

/*  sf_request_canonical's text, with its NUL. */
#define SF_REQUEST_TEXT_MAX 256

typedef struct {
    sf_request_strategy strategy;  /* default proxy */
    unsigned templates;            /* SF_REQUEST_U | _D | _T (default all) */
    int32_t max_configs;           /* 0: every legal config; else an even sample */
    int32_t proxy_top;             /* proxy, rank: finalists compiled in full (0: default) */
    int32_t top_k;                 /* rank: candidates timed (0: default) */
    int64_t max_code_fmas;         /* U configs with more FMAs of code are left out (0: default) */
    double run_timeout_s;          /* a candidate's run before it counts as hung (0: default) */
    double budget_s;               /* the campaign's time budget, planned per layer by the
                                      coordinator (coordinator/sf_budget.h); 0: none */
    uint64_t seed;                 /* inputs and samples (default 1) */
    double tol;                    /* verification bound (0: the tier's, sf_tier_tol) */
    bool bias, relu;               /* fused epilogue */
    bool u_split;                  /* also U's configs split over K */
    bool d_union;                  /* also D's union encoding */
    bool d_slab;                   /* D's slab kernel (default true) */
    sf_tier tier;                  /* precision (default fp32) */
    sf_layout layout;              /* activation layout (default kn) */
    sf_request_l2 l2;              /* L2 at each timed launch (default auto) */
} sf_request_t;

/*  The default request. */
void sf_request_init (sf_request_t *req);

/* ---- the option table --------------------------------------------------- */

typedef enum {
    SF_REQUEST_T_FLAG,   /* bool: --NAME sets, --no-NAME clears; wire bool */
    SF_REQUEST_T_INT,    /* int64 in [min, max] (or 0 where zero_default); wire int */
    SF_REQUEST_T_U64,    /* 0..2^64-1; wire int */
    SF_REQUEST_T_NUM,    /* double in [dmin, dmax] (or 0 where zero_default); wire number */
    SF_REQUEST_T_WORD    /* a word of `words`, or templates' U/D/UD; wire string */
} sf_request_type;

typedef struct {
    const char *name;            /* long option, "max-configs" */
    const char *key;             /* wire key, "max_configs" */
    sf_request_type type;
    const char *arg;             /* the value's name in the help, "N" (NULL: a flag) */
    int64_t min, max;            /* T_INT */
    double dmin, dmax;           /* T_NUM */
    bool zero_default;           /* T_INT, T_NUM: 0 is accepted and means the default */
    const char *const *words;    /* T_WORD: the values (NULL-terminated) */
    bool shown_negated;          /* T_FLAG on by default: the help shows --no-NAME */
    bool duration;               /* T_NUM in seconds: the command line also takes 90s, 30m, 2h */
    const char *help;            /* lines separated by '\n', without the option column */
} sf_request_option_t;

/*  The table (static, `count` entries, in canonical order). */
const sf_request_option_t *sf_request_options (size_t *count);

/*  The index of the option whose long name or wire key is `name` (a flag
    also as "no-NAME", *negated then set; negated may be NULL); -1 if none. */
int sf_request_option_find (const char *name, size_t len, bool *negated);

/*  One option's value, for codecs. */
typedef struct {
    sf_request_type type;
    bool flag;           /* T_FLAG */
    int64_t i;           /* T_INT */
    uint64_t u;          /* T_U64 */
    double num;          /* T_NUM */
    char word[16];       /* T_WORD */
} sf_request_value_t;

/*  Reads option `index` of req into *out. */
void sf_request_get (const sf_request_t *req, size_t index, sf_request_value_t *out);

/*  Sets option `index` from a value of its type, checking the bound:
    SF_ERR_RANGE (a number out of bounds) or SF_ERR_INVALID (wrong type,
    unknown word), with a detail that does not name the option (callers
    prefix it: "--top-k: ...", "JOB: field 'request.top_k': ..."), e.g.
    "5000 is out of range 1..4096 (0: the default)". req is unchanged then. */
int sf_request_put (sf_request_t *req, size_t index, const sf_request_value_t *value);

/*  The command line: option `name` (long name without "--", e.g.
    "max-configs" or "no-d-slab") with its argument text (NULL for flags).
    SF_ERR_NOTFOUND if no such option; SF_ERR_INVALID / SF_ERR_RANGE with a
    detail naming the option and the bound, e.g. "--proxy-top: 2000 is out
    of range 1..1024 (0: the default)". */
int sf_request_set_option (sf_request_t *req, const char *name, const char *value);

/*  getopt_long entries of every option (a flag twice: NAME, no-NAME),
    their `val` from `base` up (sf_request_getopt_name turns one back into
    its name). Returns the count written (at most max; SF_REQUEST_GETOPT_MAX
    is enough); the caller adds the terminating zero entry. */
#define SF_REQUEST_GETOPT_MAX 40
size_t sf_request_getopt (struct option *out, size_t max, int base);
/*  The option name of getopt value `val` (from sf_request_getopt with
    `base`), or NULL if it is none of them. */
const char *sf_request_getopt_name (int val, int base);

/*  Prints the --help block of the options ("  --strategy S       ...") with
    their bounds and defaults. */
void sf_request_help (FILE *out);

/*  Checks every field against its bound and the fields against each other
    (templates one of U, D, UD...): SF_OK, or SF_ERR_INVALID / SF_ERR_RANGE
    naming the wire key. */
int sf_request_validate (const sf_request_t *req);

/*  The canonical text (the store's "same search?" key): defaults resolved,
    what the strategy does not use left out, e.g.

      strategy=proxy max-configs=all proxy-top=4 templates=UD+e2 max-code-fmas=160000

    (the text tune-local's stores hold since before requests had a type),
    then, only when not the default: precision=, layout=, tol= (when it
    differs from the tier's bound), seed=, run-timeout=, budget= (seconds:
    a budgeted campaign's layers are searched with fewer configs), and
    " l2=cold" after layout= when l2 is cold: warm, and auto not yet
    resolved, add nothing, so that every search timed warm keeps the text
    its records were stored under, and a decode record timed warm never
    answers a cold search. Resolve auto against the layer's N
    (sf_request_resolve_l2) before making a store key. The epilogue
    (bias, relu) is not in it: it belongs to the layer, which the store
    matches on its layer record. Returns buf (SF_REQUEST_TEXT_MAX bytes is enough). */
char *sf_request_canonical (const sf_request_t *req, char *buf, size_t size);

/*  The tune-local store's request key: "tune-local " + canonical + the
    timing (" timing=graph"; NULL: none, e.g. simulated) + " spmmfarm=VER". */
char *sf_request_store_key (const sf_request_t *req, const char *timing, char *buf, size_t size);

/*  The resolved values the canonical text and the worker use. */
double sf_request_tol (const sf_request_t *req);
/*  Whether the search takes D's slab kernel / U's split configs (not under
    rank: the rank model has no feature for them). */
bool sf_request_takes_slab (const sf_request_t *req);
bool sf_request_takes_u_split (const sf_request_t *req);

/*  Whether a layer of N columns is timed with a cold L2: cold, or auto
    and 0 < n <= SF_REQUEST_L2_AUTO_MAX_N (n <= 0, unknown: warm). */
bool sf_request_l2_cold (const sf_request_t *req, int64_t n);
/*  auto made warm or cold for a layer of N columns (n <= 0: left auto);
    warm and cold unchanged. */
void sf_request_resolve_l2 (sf_request_t *req, int64_t n);
/*  "auto", "warm", "cold" ("?" out of range); and back (-1). */
const char *sf_request_l2_name (sf_request_l2 l2);
int sf_request_l2_parse (const char *name);

/*  "exhaustive", "proxy", "rank" ("?" out of range); and back (-1). */
const char *sf_request_strategy_name (sf_request_strategy strategy);
int sf_request_strategy_parse (const char *name);

#ifdef __cplusplus
}
#endif
#endif
