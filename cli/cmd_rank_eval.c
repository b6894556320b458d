/*  spmmfarm rank-eval: the rank strategy against proxy and exhaustive, on
    problems the model never saw. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_benchopts.h"
#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "cli/sf_tune.h"
#include "experiments/sf_rankeval.h"
#include "common/sf_error.h"

static const char *s_help =
    "usage: spmmfarm rank-eval --store DIR --gpu-type NAME --suite FILE -o DIR\n"
    "                          [--filter EXPR] [options]\n\n"
    "Evaluates a GPU type's rank model on a suite's problems (never trained on:\n"
    "training uses sweeps only): each problem is searched three times, with the\n"
    "exhaustive, proxy and rank strategies and the same options, and the rank\n"
    "strategy is judged against the best kernel exhaustive found. Each search pays\n"
    "its own compiles: the per-process D cache is emptied before it, and the CUDA\n"
    "JIT cache is off (CUDA_CACHE_DISABLE=1: on a GPU host it answered a repeated\n"
    "compile in a fraction of its cost, docs/BENCHMARKS.md). Writes\n"
    "DIR/rank.json: recall_at_k (the exhaustive best U/D config is among the top k\n"
    "the model chose), mean/median_winner_loss (the time of the kernel rank chose\n"
    "over the exhaustive winner's, minus 1, at least 0; the same for proxy), the\n"
    "search cost\n"
    "of each strategy (wall, compile CPU-s, GPU-s) and cost_ratio_vs_exhaustive and\n"
    "_vs_proxy ((compile CPU-s + GPU-s) of the other over rank's), overall and per\n"
    "sparsity, with the model's training-set size; DIR/rank.csv one row per\n"
    "problem; DIR/rank.png each problem's search cost against its winner's loss\n"
    "per strategy (needs gnuplot). Resumes like bench (DIR/problems.jsonl).\n\n"
    "On a GPU the three winners are timed again side by side after the searches,\n"
    "in 7 interleaved rounds in one measuring process (median of the rounds), and\n"
    "the loss uses those paired times: the exhaustive winner is the fastest of\n"
    "hundreds of noisy timings, so its own time is biased low (near the launch\n"
    "floor by several percent), and a loss against it would count that noise.\n"
    "The searches' own times stay in problems.jsonl (search_loss).\n\n"
    SF_CLI_HELP_OPTIONS (21);

typedef struct {
    sf_rankeval_t eval;
    sf_tune_t tune;
    const char *store_dir, *gpu_type;
} s_cmd_t;

/* ---- the command -------------------------------------------------------------------- */

/*  The device's GPU type, checked against --gpu-type. */
static int
s_check_type (s_cmd_t *c)
{
    sf_device_info_t dev;
    int rc = sf_tune_device (&c->tune, &dev);
    if (rc != SF_OK)
        return sf_cli_fail ("rank-eval", rc);
    snprintf (c->eval.device_type, sizeof c->eval.device_type, "%s", dev.gpu_type);
    if (c->gpu_type && strcmp (c->gpu_type, dev.gpu_type) != 0)
        return sf_cli_usage ("rank-eval", "--gpu-type '%s': this machine's GPU (%s backend) is of type '%s'",
                             c->gpu_type, c->tune.search.backend == SF_BACKEND_SIM ? "sim" : "cuda",
                             dev.gpu_type);
    return SF_EXIT_OK;
}

/*  The search's options (--strategy refused). */
static int
s_option (const char *cmd, int opt, const char *arg, void *dest)
{
    s_cmd_t *c = dest;
    int handled = sf_tune_option (cmd, opt, arg, &c->tune);
    if (handled == 1 && c->tune.strategy_given)
        return sf_cli_usage (cmd, "--strategy does not apply: rank-eval runs all three");
    return handled;
}

int
sf_cmd_rank_eval (int argc, char **argv)
{
    s_cmd_t c;
    memset (&c, 0, sizeof c);
    sf_rankeval_t *ev = &c.eval;
    sf_rankeval_init (ev, argc, argv);
    ev->search = &c.tune.search;
    sf_tune_init (&c.tune);
    c.tune.request.strategy = SF_REQUEST_RANK;
    /* Before anything loads CUDA: a compile answered from the CUDA JIT cache
       (~/.nv/ComputeCache) would make the strategies searched later look
       cheaper than the first. */
    setenv ("CUDA_CACHE_DISABLE", "1", 1);
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_STR ("store", &c.store_dir,
                        SF_CLI_DOC ("DIR", "the store with the model (its latest for the GPU type)")),
        SF_CLI_OPT_STR ("gpu-type", &c.gpu_type,
                        SF_CLI_DOC ("NAME", "the GPU type evaluated: must be this machine's (default:\n"
                                            "this machine's, sim/... with the sim backend)")),
        SF_CLI_OPT_STR ("reuse", &ev->reuse_dir,
                        SF_CLI_DOC ("DIR", "take exhaustive and proxy from an earlier rank-eval's\n"
                                           "DIR/problems.jsonl (same problem id, matrix hash, GPU type\n"
                                           "and search options, else refused) and search\n"
                                           "rank only: a new model is evaluated at the cost of rank\n"
                                           "alone. Their winners are compiled again (not counted) for\n"
                                           "the paired timing; their costs are the earlier run's.")),
        SF_BENCHOPTS_OPTIONS (&ev->base),
        SF_TUNE_OPTIONS (s_option, &c),
        SF_BENCHOPTS_QUIET (&ev->base),
        SF_CLI_OPT_END
    };
    int code = sf_cli_options_only ("rank-eval", argc, argv, opts, s_help);
    if (code != SF_CLI_GO)
        return code;
    if (!c.store_dir && !c.tune.model)
        return sf_cli_usage ("rank-eval", "--store DIR (or --model FILE) is required");
    ev->model_source = c.tune.model ? c.tune.model : c.store_dir;
    sf_suite_t *suite = NULL;
    code = sf_benchopts_open (&ev->base, &suite);
    if (code != SF_EXIT_OK)
        return code;
    sf_tune_resolve_backend ("rank-eval", &c.tune);
    code = s_check_type (&c);
    if (code == SF_EXIT_OK && sf_rankeval_load_reuse (ev) != SF_OK)
        code = sf_cli_fail ("rank-eval", sf_error_last ());
    if (code == SF_EXIT_OK && ev->reuse && sf_rankeval_check_reuse (ev) != SF_OK)
        code = sf_cli_usage ("rank-eval", "%s", sf_error_message ());
    if (code == SF_EXIT_OK)
        code = sf_tune_rank_model ("rank-eval", &c.tune, c.store_dir, true, &ev->model);
    c.tune.search.progress = sf_progress_draw;
    c.tune.search.progress_arg = &ev->base.quiet;
    int rc = code == SF_EXIT_OK ? sf_benchrun_run (&ev->base, suite) : SF_OK;
    sf_suite_destroy (&suite);
    sf_tune_fini (&c.tune);
    sf_rankeval_fini (ev);
    if (code != SF_EXIT_OK)
        return code;
    if (rc != SF_OK)
        return sf_cli_fail ("rank-eval", rc);
    if (!ev->base.quiet)
        fprintf (stderr, "spmmfarm rank-eval: reports in %s/ (rank.json, rank.csv, rank.png)\n", ev->base.dir);
    return SF_EXIT_OK;
}
