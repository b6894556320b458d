/*  spmmfarm bench and spmmfarm proxy-eval: a suite's problems, one search
    each, with the baselines in the same run; reports in an output folder.
    Both resume through DIR/problems.jsonl (experiments/sf_benchrun.h). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/sf_bench.h"
#include "cli/sf_benchopts.h"
#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "cli/sf_tune.h"
#include "common/sf_error.h"
#include "common/sf_suite.h"

static const char *s_bench_help =
    "usage: spmmfarm bench --suite FILE -o DIR [--filter EXPR] [--strategy S] [options]\n\n"
    "Runs the search on every problem of a benchmark suite in a precision tier and\n"
    "compares the winner with the tier's library baselines, in the same process on\n"
    "the same buffers: fp32 (default) and tf32: cuBLAS SGEMM, cuBLAS TF32, cuSPARSE;\n"
    "bf16, fp16: cuBLAS in that type, cuSPARSE in that type, and cuSPARSELt 2:4 as\n"
    "information (a 2:4-pruned matrix) where libcusparseLt loads. Writes\n"
    "DIR/results.csv (one row per problem), DIR/summary.json (geometric-mean\n"
    "speedups, overall and per sparsity, against each baseline and `dense`, the\n"
    "tier's dense library call; time-weighted speedups per model), DIR/summary.txt\n"
    "(the table printed at the end), DIR/problems.jsonl (the full record of each\n"
    "problem) and, with gnuplot, three charts: DIR/chart.png (the speedup over the\n"
    "dense baseline of each problem, by id and sparsity), DIR/models.png (the\n"
    "time-weighted speedup per model and sparsity) and DIR/sparsity.png (per\n"
    "sparsity, the spread of the problems' speedups: min, quartiles, median, max).\n"
    "Their scripts (DIR/*.gp) hold their data. Running it again on the same DIR\n"
    "resumes: problems already in problems.jsonl are not run again (in the same\n"
    "tier only), and the reports and charts are drawn again from every record.\n\n"
    SF_CLI_HELP_OPTIONS (21);

static const char *s_proxy_help =
    "usage: spmmfarm proxy-eval --suite FILE -o DIR [--filter EXPR] [options]\n\n"
    "Measures how well proxy kernels stand for full ones: for each problem, an even\n"
    "sample of the legal U configs (--max-configs, default 8) is compiled both as a\n"
    "proxy and as the full kernel, and both are timed (full kernels verified).\n"
    "Writes DIR/proxy.json: median_abs_err (|proxy - full| / full over all pairs),\n"
    "mean_winner_loss and max_winner_loss (full time of the config the proxies\n"
    "chose, over the best full time, minus 1), the same for the fastest of the top\n"
    "4 proxies (what the proxy strategy compiles in full), and compile_cost_ratio\n"
    "(full compile seconds / proxy compile seconds, on layers with >= 16 panels).\n"
    "DIR/pairs.csv lists every pair. Resumes like bench.\n\n"
    SF_CLI_HELP_OPTIONS (21);

typedef struct {
    sf_bench_t bench;
    sf_tune_t tune;
} s_run_t;


/*  The summary's table (summary.txt) on stdout, at the end of a run. */
static void
s_print_table (const sf_benchrun_t *run)
{
    char *path = NULL;
    if (asprintf (&path, "%s/summary.txt", run->dir) < 0)
        return;
    FILE *f = fopen (path, "r");
    char line[1024];
    while (f && fgets (line, sizeof line, f))
        fputs (line, stdout);
    if (f)
        fclose (f);
    free (path);
}

/*  The search's options. */
static int
s_option (const char *cmd, int opt, const char *arg, void *dest)
{
    s_run_t *run = dest;
    return sf_tune_option (cmd, opt, arg, &run->tune);
}

static int
s_main (int argc, char **argv, bool proxy_eval)
{
    s_run_t run;
    memset (&run, 0, sizeof run);
    sf_bench_init (&run.bench, proxy_eval, argc, argv);
    sf_benchrun_t *base = &run.bench.base;
    run.bench.search = &run.tune.search;
    const char *cmd = base->command;
    sf_tune_init (&run.tune);
    if (proxy_eval) {
        run.tune.request.templates = SF_REQUEST_U;
        run.tune.request.max_configs = 8;
    }
    const sf_cli_opt_t opts[] = {
        SF_BENCHOPTS_OPTIONS (base),
        SF_TUNE_OPTIONS (s_option, &run),
        SF_BENCHOPTS_QUIET (base, SF_CLI_DOC (NULL, "no progress bars")),
        SF_CLI_OPT_END
    };
    int code = sf_cli_options_only (cmd, argc, argv, opts, proxy_eval ? s_proxy_help : s_bench_help);
    if (code != SF_CLI_GO)
        return code;
    if (proxy_eval && run.tune.strategy_given)
        return sf_cli_usage (cmd, "--strategy does not apply: proxy-eval compiles both kinds");
    if (proxy_eval && run.tune.request.tier != SF_TIER_FP32)
        return sf_cli_usage (cmd, "--precision: proxy-eval measures fp32 U kernels only");
    /* the request's tier, for the run's reports before the search starts */
    run.tune.search.tier = run.tune.request.tier;
    sf_suite_t *suite = NULL;
    code = sf_benchopts_open (base, &suite);
    if (code != SF_EXIT_OK)
        return code;
    if (!proxy_eval && sf_bench_same_tier (&run.bench) != SF_OK) {
        sf_suite_destroy (&suite);
        return sf_cli_usage (cmd, "%s", sf_error_message ());
    }
    sf_tune_resolve_backend (cmd, &run.tune);
    if (proxy_eval)
        run.tune.search.strategy = SF_STRATEGY_PROXY_EVAL;
    code = sf_tune_rank_model (cmd, &run.tune, NULL, false, NULL);
    run.tune.search.progress = sf_progress_draw;
    run.tune.search.progress_arg = &base->quiet;
    int rc = code == SF_EXIT_OK ? sf_benchrun_run (base, suite) : SF_OK;
    sf_suite_destroy (&suite);
    sf_tune_fini (&run.tune);
    if (code != SF_EXIT_OK)
        return code;
    if (rc != SF_OK)
        return sf_cli_fail (cmd, rc);
    if (!proxy_eval)
        s_print_table (base);
    if (!base->quiet)
        fprintf (stderr, "spmmfarm %s: reports in %s/\n", cmd, base->dir);
    return SF_EXIT_OK;
}

int
sf_cmd_bench (int argc, char **argv)
{
    return s_main (argc, argv, false);
}

int
sf_cmd_proxy_eval (int argc, char **argv)
{
    return s_main (argc, argv, true);
}
