/*  sf_request: the one search request: its option table, setters with
    bounds, getopt entries, help, validation and canonical text. */
#include "wire/sf_request.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sf_error.h"
#include "config.h"

/* ---- the table ------------------------------------------------------------ */

/*  The options in table order; s_options[] below has one entry per id. */
typedef enum {
    S_STRATEGY,
    S_TEMPLATES,
    S_MAX_CONFIGS,
    S_PROXY_TOP,
    S_TOP_K,
    S_MAX_CODE_FMAS,
    S_RUN_TIMEOUT,
    S_BUDGET,
    S_SEED,
    S_TOL,
    S_PRECISION,
    S_LAYOUT,
    S_L2,
    S_BIAS,
    S_RELU,
    S_U_SPLIT,
    S_D_UNION,
    S_D_SLAB,
    S_COUNT
} s_id;

static const char *const s_strategies[] = { "exhaustive", "proxy", "rank", NULL };
static const char *const s_templates[] = { "U", "D", "UD", "T", "UT", "DT", "UDT", NULL };
static const char *const s_tiers[] = { "fp32", "tf32", "bf16", "fp16", NULL };
static const char *const s_layouts[] = { "kn", "nk", NULL };
static const char *const s_l2s[] = { "auto", "warm", "cold", NULL };

#define S_INT(nm, k, a, lo, hi, h) \
    { .name = nm, .key = k, .type = SF_REQUEST_T_INT, .arg = a, .min = lo, .max = hi, .zero_default = true, \
      .help = h }
#define S_WORD(nm, k, a, w, h) { .name = nm, .key = k, .type = SF_REQUEST_T_WORD, .arg = a, .words = w, .help = h }
#define S_FLAG(nm, k, neg, h) { .name = nm, .key = k, .type = SF_REQUEST_T_FLAG, .shown_negated = neg, .help = h }

static const sf_request_option_t s_options[S_COUNT] = {
    [S_STRATEGY] = S_WORD ("strategy", "strategy", "S", s_strategies,
        "proxy (default): time small proxy kernels of every legal\n"
        "U config, compile the fastest few in full; exhaustive:\n"
        "compile and time every full kernel; rank: the rank model\n"
        "scores every legal config, the top K are timed as proxies,\n"
        "the fastest compiled in full (no model: proxy, said so)"),
    [S_TEMPLATES] = S_WORD ("templates", "templates", "L", s_templates,
        "templates to search: letters of U, D, T (default UDT;\n"
        "T runs in bf16/fp16 only, U and D in fp32/tf32; dense always)"),
    [S_MAX_CONFIGS] = S_INT ("max-configs", "max_configs", "C", 1, SF_REQUEST_MAX_CONFIGS_MAX,
        "an even sample of C legal configs per template\n"
        "(0, the default: all)"),
    [S_PROXY_TOP] = S_INT ("proxy-top", "proxy_top", "K", 1, SF_REQUEST_PROXY_TOP_MAX,
        "proxy, rank: compile the K fastest proxies in full (with\n"
        "--u-split, K of each kind: unsplit, split) (0, the\n"
        "default: 4 for proxy, 3 for rank; rank times a layer of\n"
        "at most 2048 nonzeros in full, no proxies)"),
    [S_TOP_K] = S_INT ("top-k", "top_k", "K", 1, SF_REQUEST_TOP_K_MAX,
        "rank: candidates timed (0, the default: 10)"),
    [S_MAX_CODE_FMAS] = S_INT ("max-code-fmas", "max_code_fmas", "F", 1, SF_REQUEST_MAX_CODE_FMAS_MAX,
        "leave out U configs whose full kernel has more than F\n"
        "multiply-adds of code (compile time; 0, the default:\n"
        "160000)"),
    [S_RUN_TIMEOUT] = { .name = "run-timeout", .key = "run_timeout_s", .type = SF_REQUEST_T_NUM, .arg = "S",
                        .dmin = SF_REQUEST_RUN_TIMEOUT_MIN, .dmax = SF_REQUEST_RUN_TIMEOUT_MAX,
                        .zero_default = true,
                        .help = "seconds before a hanging candidate is killed (0, the\n"
                                "default: 30)" },
    [S_BUDGET] = { .name = "budget", .key = "budget_s", .type = SF_REQUEST_T_NUM, .arg = "D",
                   .dmin = SF_REQUEST_BUDGET_MIN, .dmax = SF_REQUEST_BUDGET_MAX, .zero_default = true,
                   .duration = true,
                   .help = "a campaign's time budget (90s, 30m, 2h; seconds without\n"
                           "a unit): the coordinator plans each layer's share from\n"
                           "its size and the time left, searches fewer configs where\n"
                           "the whole search would not fit, and says what it left out\n"
                           "(0, the default: none)" },
    [S_SEED] = { .name = "seed", .key = "seed", .type = SF_REQUEST_T_U64, .arg = "N",
                 .help = "seed of inputs and pattern values (default 1)" },
    [S_TOL] = { .name = "tol", .key = "tol", .type = SF_REQUEST_T_NUM, .arg = "T", .dmin = SF_REQUEST_TOL_MIN,
                .dmax = SF_REQUEST_TOL_MAX, .zero_default = true,
                .help = "verification bound, normwise relative error (0, the\n"
                        "default: the tier's: 1e-5 fp32, 2e-3 tf32, 1e-2 bf16, fp16)" },
    [S_PRECISION] = S_WORD ("precision", "precision", "P", s_tiers,
        "precision tier: fp32 (default: FP32-accurate), tf32, bf16\n"
        "or fp16: the data types of A, B, C and the arithmetic a\n"
        "kernel may use (common/sf_tier.h; bundles name the dtypes)"),
    [S_LAYOUT] = S_WORD ("layout", "layout", "L", s_layouts,
        "kn (default: B is K x N, C is M x N, row-major) or nk\n"
        "(X is N x K, Y = X A^T is N x M: nn.Linear's)"),
    [S_L2] = S_WORD ("l2", "l2", "M", s_l2s,
        "the L2 cache at each timed launch: cold (flushed before\n"
        "every launch, as a layer's weights are in a real model),\n"
        "warm (replays back to back: the weights may stay in L2),\n"
        "auto (the default): cold when N <= 256, else warm"),
    [S_BIAS] = S_FLAG ("bias", "bias", false, "fuse a per-row bias into the kernel"),
    [S_RELU] = S_FLAG ("relu", "relu", false, "fuse a ReLU into the kernel (after the bias)"),
    [S_U_SPLIT] = S_FLAG ("u-split", "u_split", false,
        "also search U's configs split over K (.k2/.k4/.k8: thread\n"
        "groups of a block share a panel; their own finalists;\n"
        "faster on small-M layers, 1.9x compile CPU: KERNELS.md)"),
    [S_D_UNION] = S_FLAG ("d-union", "d_union", false,
        "also search template D with the union encoding (.e1: one\n"
        "B load per distinct column of a panel; slower than the\n"
        "rows kernel on the H100: docs/KERNELS.md)"),
    [S_D_SLAB] = S_FLAG ("d-slab", "d_slab", true,
        "leave template D's slab kernel out (.e2: B staged in\n"
        "shared memory, K split over a cluster; docs/KERNELS.md)"),
};

const sf_request_option_t *
sf_request_options (size_t *count)
{
    if (count)
        *count = S_COUNT;
    return s_options;
}

void
sf_request_init (sf_request_t *req)
{
    memset (req, 0, sizeof *req);
    req->strategy = SF_REQUEST_PROXY;
    req->templates = SF_REQUEST_DEFAULT_TEMPLATES;
    req->seed = SF_REQUEST_DEFAULT_SEED;
    req->d_slab = true;
    req->tier = SF_TIER_FP32;
    req->layout = SF_LAYOUT_KN;
    req->l2 = SF_REQUEST_L2_AUTO;
}

int
sf_request_option_find (const char *name, size_t len, bool *negated)
{
    bool neg = false;
    if (negated)
        *negated = false;
    if (!name)
        return -1;
    if (len > 3 && memcmp (name, "no-", 3) == 0) {
        neg = true;
        name += 3;
        len -= 3;
    }
    for (int i = 0; i < S_COUNT; i++) {
        const sf_request_option_t *o = &s_options[i];
        bool match = (strlen (o->name) == len && memcmp (o->name, name, len) == 0)
                  || (!neg && strlen (o->key) == len && memcmp (o->key, name, len) == 0);
        if (!match)
            continue;
        if (neg && o->type != SF_REQUEST_T_FLAG)
            return -1;
        if (negated)
            *negated = neg;
        return i;
    }
    return -1;
}

/* ---- values ----------------------------------------------------------------- */

const char *
sf_request_strategy_name (sf_request_strategy strategy)
{
    switch (strategy) {
    case SF_REQUEST_EXHAUSTIVE: return "exhaustive";
    case SF_REQUEST_PROXY: return "proxy";
    case SF_REQUEST_RANK: return "rank";
    }
    return "?";
}

int
sf_request_strategy_parse (const char *name)
{
    if (!name)
        return -1;
    if (strcmp (name, "exhaustive") == 0)
        return SF_REQUEST_EXHAUSTIVE;
    if (strcmp (name, "proxy") == 0)
        return SF_REQUEST_PROXY;
    if (strcmp (name, "rank") == 0)
        return SF_REQUEST_RANK;
    return -1;
}

const char *
sf_request_l2_name (sf_request_l2 l2)
{
    switch (l2) {
    case SF_REQUEST_L2_AUTO: return "auto";
    case SF_REQUEST_L2_WARM: return "warm";
    case SF_REQUEST_L2_COLD: return "cold";
    }
    return "?";
}

int
sf_request_l2_parse (const char *name)
{
    for (int i = 0; name && s_l2s[i]; i++)
        if (strcmp (name, s_l2s[i]) == 0)
            return i;
    return -1;
}

bool
sf_request_l2_cold (const sf_request_t *req, int64_t n)
{
    if (req->l2 == SF_REQUEST_L2_AUTO)
        return n > 0 && n <= SF_REQUEST_L2_AUTO_MAX_N;
    return req->l2 == SF_REQUEST_L2_COLD;
}

void
sf_request_resolve_l2 (sf_request_t *req, int64_t n)
{
    if (req->l2 == SF_REQUEST_L2_AUTO && n > 0)
        req->l2 = sf_request_l2_cold (req, n) ? SF_REQUEST_L2_COLD : SF_REQUEST_L2_WARM;
}

/*  Letters of "U", "D", "T" (any order, either case) to a mask; 0 if not one. */
static unsigned
s_templates_parse (const char *text)
{
    unsigned mask = 0;
    for (const char *p = text; *p; p++) {
        unsigned bit = (*p == 'U' || *p == 'u') ? SF_REQUEST_U : (*p == 'D' || *p == 'd') ? SF_REQUEST_D
                     : (*p == 'T' || *p == 't') ? SF_REQUEST_T : 0;
        if (!bit || (mask & bit))
            return 0;
        mask |= bit;
    }
    return mask;
}

static const char *
s_templates_name (unsigned mask)
{
    static const char *const names[8] = { "?", "U", "D", "UD", "T", "UT", "DT", "UDT" };
    return names[mask & 7u];
}

void
sf_request_get (const sf_request_t *req, size_t index, sf_request_value_t *v)
{
    assert (index < S_COUNT);
    memset (v, 0, sizeof *v);
    v->type = s_options[index].type;
    switch ((s_id) index) {
    case S_STRATEGY: snprintf (v->word, sizeof v->word, "%s", sf_request_strategy_name (req->strategy)); break;
    case S_TEMPLATES: snprintf (v->word, sizeof v->word, "%s", s_templates_name (req->templates)); break;
    case S_MAX_CONFIGS: v->i = req->max_configs; break;
    case S_PROXY_TOP: v->i = req->proxy_top; break;
    case S_TOP_K: v->i = req->top_k; break;
    case S_MAX_CODE_FMAS: v->i = req->max_code_fmas; break;
    case S_RUN_TIMEOUT: v->num = req->run_timeout_s; break;
    case S_BUDGET: v->num = req->budget_s; break;
    case S_SEED: v->u = req->seed; break;
    case S_TOL: v->num = req->tol; break;
    case S_PRECISION: snprintf (v->word, sizeof v->word, "%s", sf_tier_name (req->tier)); break;
    case S_LAYOUT: snprintf (v->word, sizeof v->word, "%s", sf_layout_name (req->layout)); break;
    case S_L2: snprintf (v->word, sizeof v->word, "%s", sf_request_l2_name (req->l2)); break;
    case S_BIAS: v->flag = req->bias; break;
    case S_RELU: v->flag = req->relu; break;
    case S_U_SPLIT: v->flag = req->u_split; break;
    case S_D_UNION: v->flag = req->d_union; break;
    case S_D_SLAB: v->flag = req->d_slab; break;
    case S_COUNT: break;
    }
}

static const char *
s_type_name (sf_request_type type)
{
    switch (type) {
    case SF_REQUEST_T_FLAG: return "a boolean";
    case SF_REQUEST_T_INT: return "an integer";
    case SF_REQUEST_T_U64: return "a non-negative integer";
    case SF_REQUEST_T_NUM: return "a number";
    case SF_REQUEST_T_WORD: return "a word";
    }
    return "?";
}

/*  The allowed words of o, "a|b|c", into buf. */
static const char *
s_words (const sf_request_option_t *o, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const char *const *w = o->words; w && *w && n < size; w++) {
        int k = snprintf (buf + n, size - n, "%s%s", n ? ", " : "", *w);
        n += k > 0 ? (size_t) k : 0;
    }
    return buf;
}

/*  The bound check of a number: SF_OK or the refusal's detail. */
static int
s_check_int (const sf_request_option_t *o, int64_t v)
{
    if ((v == 0 && o->zero_default) || (v >= o->min && v <= o->max))
        return SF_OK;
    return sf_error_set (SF_ERR_RANGE, "%" PRId64 " is out of range %" PRId64 "..%" PRId64 "%s", v, o->min, o->max,
                         o->zero_default ? " (0: the default)" : "");
}

static int
s_check_num (const sf_request_option_t *o, double v)
{
    if (isfinite (v) && ((v == 0 && o->zero_default) || (v >= o->dmin && v <= o->dmax)))
        return SF_OK;
    return sf_error_set (SF_ERR_RANGE, "%g is out of range %g..%g%s", v, o->dmin, o->dmax,
                         o->zero_default ? " (0: the default)" : "");
}

int
sf_request_put (sf_request_t *req, size_t index, const sf_request_value_t *v)
{
    if (index >= S_COUNT)
        return sf_error_set (SF_ERR_NOTFOUND, "no request option %zu", index);
    const sf_request_option_t *o = &s_options[index];
    if (v->type != o->type)
        return sf_error_set (SF_ERR_INVALID, "expected %s, got %s", s_type_name (o->type), s_type_name (v->type));
    int rc = SF_OK, w = -1;
    char words[64];
    if (o->type == SF_REQUEST_T_INT)
        rc = s_check_int (o, v->i);
    else if (o->type == SF_REQUEST_T_NUM)
        rc = s_check_num (o, v->num);
    else if (o->type == SF_REQUEST_T_WORD) {
        w = index == S_STRATEGY ? sf_request_strategy_parse (v->word)
          : index == S_TEMPLATES ? (int) s_templates_parse (v->word)
          : index == S_PRECISION ? sf_tier_parse (v->word)
          : index == S_L2 ? sf_request_l2_parse (v->word)
          : sf_layout_parse (v->word);
        if (w < 0 || (index == S_TEMPLATES && w == 0))
            rc = sf_error_set (SF_ERR_INVALID, "'%.16s' is not one of %s", v->word, s_words (o, words, sizeof words));
    }
    if (rc != SF_OK)
        return rc;
    switch ((s_id) index) {
    case S_STRATEGY: req->strategy = (sf_request_strategy) w; break;
    case S_TEMPLATES: req->templates = (unsigned) w; break;
    case S_MAX_CONFIGS: req->max_configs = (int32_t) v->i; break;
    case S_PROXY_TOP: req->proxy_top = (int32_t) v->i; break;
    case S_TOP_K: req->top_k = (int32_t) v->i; break;
    case S_MAX_CODE_FMAS: req->max_code_fmas = v->i; break;
    case S_RUN_TIMEOUT: req->run_timeout_s = v->num; break;
    case S_BUDGET: req->budget_s = v->num; break;
    case S_SEED: req->seed = v->u; break;
    case S_TOL: req->tol = v->num; break;
    case S_PRECISION: req->tier = (sf_tier) w; break;
    case S_LAYOUT: req->layout = (sf_layout) w; break;
    case S_L2: req->l2 = (sf_request_l2) w; break;
    case S_BIAS: req->bias = v->flag; break;
    case S_RELU: req->relu = v->flag; break;
    case S_U_SPLIT: req->u_split = v->flag; break;
    case S_D_UNION: req->d_union = v->flag; break;
    case S_D_SLAB: req->d_slab = v->flag; break;
    case S_COUNT: break;
    }
    return SF_OK;
}

/* ---- the command line --------------------------------------------------------- */

/*  The text of a command-line value as the option's type; SF_ERR_INVALID
    naming what was expected. */
static int
s_parse_text (const sf_request_option_t *o, bool negated, const char *text, sf_request_value_t *v)
{
    memset (v, 0, sizeof *v);
    v->type = o->type;
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case SF_REQUEST_T_FLAG:
        if (!text)
            v->flag = true;
        else if (!strcasecmp (text, "true") || !strcmp (text, "1") || !strcasecmp (text, "yes"))
            v->flag = true;
        else if (!strcasecmp (text, "false") || !strcmp (text, "0") || !strcasecmp (text, "no"))
            v->flag = false;
        else
            return sf_error_set (SF_ERR_INVALID, "takes no value, not '%.32s'", text);
        v->flag = v->flag != negated;
        return SF_OK;
    case SF_REQUEST_T_INT: {
        long long x = text ? strtoll (text, &end, 10) : 0;
        if (!text || !*text || *end || errno == ERANGE)
            return sf_error_set (SF_ERR_INVALID, "'%.32s' is not an integer", text ? text : "");
        v->i = x;
        return SF_OK;
    }
    case SF_REQUEST_T_U64: {
        bool digits = text && *text;
        for (const char *p = text; digits && *p; p++)
            digits = *p >= '0' && *p <= '9';
        unsigned long long x = digits ? strtoull (text, &end, 10) : 0;
        if (!digits || errno == ERANGE)
            return sf_error_set (SF_ERR_INVALID, "'%.32s' is not an integer in 0..%llu", text ? text : "",
                                 (unsigned long long) UINT64_MAX);
        v->u = x;
        return SF_OK;
    }
    case SF_REQUEST_T_NUM: {
        double x = text ? strtod (text, &end) : 0;
        double unit = 1.0;
        if (o->duration && end && end != text && end[0] && !end[1]) {
            unit = end[0] == 's' ? 1.0 : end[0] == 'm' ? 60.0 : end[0] == 'h' ? 3600.0 : 0.0;
            end += unit > 0;
        }
        if (!text || !*text || *end || !isfinite (x))
            return sf_error_set (SF_ERR_INVALID, o->duration ? "'%.32s' is not a duration (90s, 30m, 2h, seconds)"
                                                             : "'%.32s' is not a number", text ? text : "");
        v->num = x * unit;
        return SF_OK;
    }
    case SF_REQUEST_T_WORD:
        if (!text || strlen (text) >= sizeof v->word) {
            char words[64];
            return sf_error_set (SF_ERR_INVALID, "'%.32s' is not one of %s", text ? text : "",
                                 s_words (o, words, sizeof words));
        }
        snprintf (v->word, sizeof v->word, "%s", text);
        return SF_OK;
    }
    return SF_ERR_INTERNAL;
}

int
sf_request_set_option (sf_request_t *req, const char *name, const char *value)
{
    bool negated;
    int index = sf_request_option_find (name, name ? strlen (name) : 0, &negated);
    if (index < 0)
        return sf_error_set (SF_ERR_NOTFOUND, "--%s: not a search option", name ? name : "");
    sf_request_value_t v;
    int rc = s_parse_text (&s_options[index], negated, value, &v);
    if (rc == SF_OK)
        rc = sf_request_put (req, (size_t) index, &v);
    if (rc != SF_OK)
        sf_error_prefix ("--%s: ", name);
    return rc;
}

size_t
sf_request_getopt (struct option *out, size_t max, int base)
{
    static char negated[S_COUNT][32];
    size_t n = 0;
    for (int i = 0; i < S_COUNT && n < max; i++) {
        const sf_request_option_t *o = &s_options[i];
        bool flag = o->type == SF_REQUEST_T_FLAG;
        out[n++] = (struct option) { o->name, flag ? no_argument : required_argument, NULL, base + 2 * i };
        if (flag && n < max) {
            snprintf (negated[i], sizeof negated[i], "no-%s", o->name);
            out[n++] = (struct option) { negated[i], no_argument, NULL, base + 2 * i + 1 };
        }
    }
    return n;
}

const char *
sf_request_getopt_name (int val, int base)
{
    static char negated[S_COUNT][32];
    int i = (val - base) / 2;
    if (val < base || i >= S_COUNT)
        return NULL;
    if ((val - base) % 2 == 0)
        return s_options[i].name;
    if (s_options[i].type != SF_REQUEST_T_FLAG)
        return NULL;
    snprintf (negated[i], sizeof negated[i], "no-%s", s_options[i].name);
    return negated[i];
}

#define S_HELP_COLUMN 21

void
sf_request_help (FILE *out)
{
    for (int i = 0; i < S_COUNT; i++) {
        const sf_request_option_t *o = &s_options[i];
        char head[64];
        int len = snprintf (head, sizeof head, "  --%s%s%s%s", o->shown_negated ? "no-" : "", o->name,
                            o->arg ? " " : "", o->arg ? o->arg : "");
        fputs (head, out);
        const char *p = o->help;
        bool first = true;
        while (*p) {
            const char *nl = strchr (p, '\n');
            size_t n = nl ? (size_t) (nl - p) : strlen (p);
            int pad = first ? S_HELP_COLUMN - len : S_HELP_COLUMN;
            if (first && pad < 1) {
                fputc ('\n', out);
                pad = S_HELP_COLUMN;
            }
            fprintf (out, "%*s%.*s", pad, "", (int) n, p);
            int col = (first ? len + pad : pad) + (int) n;
            p += n;
            bool last = *p == '\0' || p[1] == '\0';
            char bound[48] = "";
            if (last && o->type == SF_REQUEST_T_INT)
                snprintf (bound, sizeof bound, "[%" PRId64 "..%" PRId64 "]", o->min, o->max);
            else if (last && o->type == SF_REQUEST_T_NUM)
                snprintf (bound, sizeof bound, "[%g..%g]", o->dmin, o->dmax);
            /* the bound after the text, on a line of its own past 79 columns */
            if (bound[0] && col + 1 + (int) strlen (bound) > 79)
                fprintf (out, "\n%*s%s", S_HELP_COLUMN, "", bound);
            else if (bound[0])
                fprintf (out, " %s", bound);
            fputc ('\n', out);
            if (*p == '\n')
                p++;
            first = false;
        }
    }
}

/* ---- validation and the canonical text ------------------------------------------- */

int
sf_request_validate (const sf_request_t *req)
{
    for (size_t i = 0; i < S_COUNT; i++) {
        sf_request_value_t v;
        sf_request_get (req, i, &v);
        /* a field outside its enum reads back as "?", which put refuses */
        sf_request_t scratch = *req;
        int rc = sf_request_put (&scratch, i, &v);
        if (rc != SF_OK) {
            sf_error_prefix ("%s: ", s_options[i].key);
            return rc;
        }
    }
    return SF_OK;
}

double
sf_request_tol (const sf_request_t *req)
{
    return req->tol > 0 ? req->tol : sf_tier_tol (req->tier);
}

bool
sf_request_takes_slab (const sf_request_t *req)
{
    return req->d_slab && req->strategy != SF_REQUEST_RANK;
}

bool
sf_request_takes_u_split (const sf_request_t *req)
{
    return req->u_split && req->strategy != SF_REQUEST_RANK;
}

/*  Appends to buf at *n (stops at the end). */
static void
s_append (char *buf, size_t size, size_t *n, const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

static void
s_append (char *buf, size_t size, size_t *n, const char *fmt, ...)
{
    if (*n >= size)
        return;
    va_list ap;
    va_start (ap, fmt);
    int k = vsnprintf (buf + *n, size - *n, fmt, ap);
    va_end (ap);
    *n = k < 0 ? size : *n + (size_t) k;
}

char *
sf_request_canonical (const sf_request_t *r, char *buf, size_t size)
{
    size_t n = 0;
    if (!size)
        return buf;
    buf[0] = '\0';
    unsigned templates = r->templates ? r->templates : SF_REQUEST_DEFAULT_TEMPLATES;
    /* the text tune-local's stores hold (docs/STORE.md): keep it as it is */
    s_append (buf, size, &n, "strategy=%s max-configs=", sf_request_strategy_name (r->strategy));
    if (r->max_configs > 0)
        s_append (buf, size, &n, "%d", (int) r->max_configs);
    else
        s_append (buf, size, &n, "all");
    /* the finalists' count matters to the strategies that have finalists */
    if (r->strategy == SF_REQUEST_PROXY)
        s_append (buf, size, &n, " proxy-top=%d", r->proxy_top > 0 ? (int) r->proxy_top : SF_REQUEST_DEFAULT_PROXY_TOP);
    else if (r->strategy == SF_REQUEST_RANK)
        s_append (buf, size, &n, " top-k=%d proxy-top=%d", r->top_k > 0 ? (int) r->top_k : SF_REQUEST_DEFAULT_TOP_K,
                  r->proxy_top > 0 ? (int) r->proxy_top : SF_REQUEST_DEFAULT_RANK_FINALISTS);
    /* "+e1", "+e2": D's union encoding, slab kernel searched too;
       " u-split": U's configs split over K too */
    /* T only where it runs (bf16, fp16): the fp32 text stays as it was */
    s_append (buf, size, &n, " templates=%s%s%s%s%s%s", templates & SF_REQUEST_U ? "U" : "",
              templates & SF_REQUEST_D ? "D" : "",
              (templates & SF_REQUEST_T) && sf_tier_is_half (r->tier) ? "T" : "",
              r->d_union && (templates & SF_REQUEST_D) ? "+e1" : "",
              sf_request_takes_slab (r) && (templates & SF_REQUEST_D) ? "+e2" : "",
              sf_request_takes_u_split (r) && (templates & SF_REQUEST_U) ? " u-split" : "");
    s_append (buf, size, &n, " max-code-fmas=%lld",
              (long long) (r->max_code_fmas > 0 ? r->max_code_fmas : SF_REQUEST_DEFAULT_MAX_CODE_FMAS));
    /* since requests have a type: what is not the default, and only then */
    if (r->tier != SF_TIER_FP32)
        s_append (buf, size, &n, " precision=%s", sf_tier_name (r->tier));
    if (r->layout != SF_LAYOUT_KN)
        s_append (buf, size, &n, " layout=%s", sf_layout_name (r->layout));
    /* warm (and auto, not yet resolved against a layer's N) keep the text
       of the searches timed before cold L2 existed: only cold adds */
    if (r->l2 == SF_REQUEST_L2_COLD)
        s_append (buf, size, &n, " l2=cold");
    if (sf_request_tol (r) != sf_tier_tol (r->tier))
        s_append (buf, size, &n, " tol=%g", sf_request_tol (r));
    if (r->seed != SF_REQUEST_DEFAULT_SEED)
        s_append (buf, size, &n, " seed=%llu", (unsigned long long) r->seed);
    if (r->run_timeout_s > 0 && r->run_timeout_s != SF_REQUEST_DEFAULT_RUN_TIMEOUT_S)
        s_append (buf, size, &n, " run-timeout=%g", r->run_timeout_s);
    if (r->budget_s > 0)
        s_append (buf, size, &n, " budget=%g", r->budget_s);
    /* bias and relu are the layer's: the store matches them on the layer
       record, the farm sets them per layer */
    return buf;
}

char *
sf_request_store_key (const sf_request_t *req, const char *timing, char *buf, size_t size)
{
    char canonical[SF_REQUEST_TEXT_MAX];
    sf_request_canonical (req, canonical, sizeof canonical);
    snprintf (buf, size, "tune-local %s%s%s spmmfarm=%s", canonical, timing ? " timing=" : "", timing ? timing : "",
              PACKAGE_VERSION);
    return buf;
}
