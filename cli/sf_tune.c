/*  sf_tune: search options and result JSON shared by the tuning commands. */
#include "cli/sf_tune.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "experiments/sf_searchsetup.h"
#include "rankmodel/sf_modelsource.h"
#include "worker/sf_jobrun.h"

void
sf_tune_init (sf_tune_t *t)
{
    memset (t, 0, sizeof *t);
    sf_request_init (&t->request);
    t->search.backend = SF_BACKEND_CUDA;
    t->backend = "auto";
}

const struct option sf_tune_long_options[] = { SF_TUNE_LONG_OPTIONS, { NULL, 0, NULL, 0 } };

const struct option *
sf_tune_getopt (const struct option *own)
{
    static struct option table[128];
    size_t n = 0;
    for (; own && own[n].name && n < 64; n++)
        table[n] = own[n];
    struct option req[SF_REQUEST_GETOPT_MAX];
    size_t count = sf_request_getopt (req, SF_REQUEST_GETOPT_MAX, SF_TUNE_REQUEST_BASE);
    for (size_t i = 0; i < count && n + 1 < sizeof table / sizeof table[0]; i++) {
        bool shadowed = false;  /* the command's own option of that name wins */
        for (size_t j = 0; own && own[j].name && !shadowed; j++)
            shadowed = strcmp (own[j].name, req[i].name) == 0;
        if (!shadowed)
            table[n++] = req[i];
    }
    table[n] = (struct option) { NULL, 0, NULL, 0 };
    return table;
}

int
sf_tune_request_option (const char *cmd, int opt, const char *arg, sf_request_t *req, bool *strategy_given)
{
    const char *name = sf_request_getopt_name (opt, SF_TUNE_REQUEST_BASE);
    if (!name)
        return 0;
    if (sf_request_set_option (req, name, arg) != SF_OK)
        return sf_cli_usage (cmd, "%s", sf_error_message ());
    if (strategy_given && strcmp (name, "strategy") == 0)
        *strategy_given = true;
    return 1;
}

int
sf_tune_option (const char *cmd, int opt, const char *arg, sf_tune_t *t)
{
    sf_search_opts_t *o = &t->search;
    int64_t v;
    int handled = sf_tune_request_option (cmd, opt, arg, &t->request, &t->strategy_given);
    if (handled)
        return handled;
    switch (opt - SF_TUNE_OPT_BASE) {
    case 1:
        if (strcmp (arg, "cuda") && strcmp (arg, "sim") && strcmp (arg, "auto"))
            return sf_cli_usage (cmd, "--backend must be auto, cuda or sim, not '%s'", arg);
        t->backend = arg;
        return 1;
    case 2:
        if (!sf_cli_parse_int (arg, 0, 1023, &v))
            return sf_cli_usage (cmd, "--gpu must be a device ordinal, not '%s'", arg);
        o->gpu = (int) v;
        return 1;
    case 3:
        if (!sf_cli_parse_int (arg, 1, 1024, &v))
            return sf_cli_usage (cmd, "--compile-threads must be in 1..1024, not '%s'", arg);
        o->compile_threads = (int) v;
        return 1;
    case 11:
        t->model = arg;
        return 1;
    }
    return 0;
}

int
sf_tune_option_call (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    sf_tune_t *t = opt->dest;
    for (const struct option *o = sf_tune_long_options; o->name; o++)
        if (strcmp (o->name, opt->name) == 0)
            return sf_tune_option (cmd, o->val, arg, t) == 1 ? SF_EXIT_OK : SF_EXIT_USAGE;
    if (sf_request_set_option (&t->request, opt->name, arg) != SF_OK)
        return sf_cli_usage (cmd, "%s", sf_error_message ());
    t->strategy_given = t->strategy_given || strcmp (opt->name, "strategy") == 0;
    return SF_EXIT_OK;
}

void
sf_tune_resolve_backend (const char *cmd, sf_tune_t *t)
{
    sf_jobrun_search_opts (&t->request, &t->search);
    char why[256];
    t->search.backend = sf_searchsetup_backend (t->backend, t->search.gpu, why, sizeof why);
    if (why[0])
        fprintf (stderr, "spmmfarm %s: no usable GPU (%s): using the sim backend\n", cmd, why);
    if (t->search.backend == SF_BACKEND_SIM)
        fprintf (stderr, "spmmfarm %s: sim backend: compiles are real, times are SIMULATED "
                         "by an analytic model, not measured\n", cmd);
}

int
sf_tune_device (const sf_tune_t *t, sf_device_info_t *out)
{
    return sf_searchsetup_device (t->search.backend, t->search.gpu, out);
}

int
sf_tune_rank_model (const char *cmd, sf_tune_t *t, const char *store_dir, bool required,
                    sf_store_model_t *record)
{
    if (record)
        memset (record, 0, sizeof *record);
    if (t->search.strategy != SF_STRATEGY_RANK)
        return SF_EXIT_OK;
    sf_device_info_t dev;
    int rc = sf_tune_device (t, &dev);
    if (rc != SF_OK)
        return sf_cli_fail (cmd, rc);
    if (t->model && sf_modelsource_is_t_file (t->model)) {
        if (t->request.tier != SF_TIER_BF16 && t->request.tier != SF_TIER_FP16)
            return sf_cli_usage (cmd, "%s is a template T model: T ranks bf16 and fp16 searches only "
                                 "(--precision bf16|fp16)", t->model);
        t->tmodel = t->model;  /* the coordinator checks and ranks with it */
        return SF_EXIT_OK;
    }
    bool soft;
    t->ranker = sf_searchsetup_rank_model (t->model, store_dir, dev.gpu_type, record, &soft);
    rc = t->ranker ? SF_OK : sf_error_last ();
    if (rc != SF_OK && soft && !required) {
        fprintf (stderr, "spmmfarm %s: %s: the rank strategy falls back to proxy\n", cmd,
                 sf_error_message ());
        return SF_EXIT_OK;
    }
    if (rc != SF_OK) {
        sf_rankmodel_destroy (&t->ranker);
        if (record)
            sf_record_model_free (record);
        return sf_cli_fail (cmd, rc);
    }
    t->search.rank = sf_rankmodel_rank;
    t->search.rank_arg = t->ranker;
    return SF_EXIT_OK;
}

void
sf_tune_fini (sf_tune_t *t)
{
    sf_rankmodel_destroy (&t->ranker);
    t->search.rank = NULL;
    t->search.rank_arg = NULL;
}
