/*  spmmfarm suite: the problems of a benchmark suite file. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "common/sf_suite.h"

static const char *s_help =
    "usage: spmmfarm suite FILE [--filter EXPR] [--json]\n\n"
    "Lists the problems of a benchmark suite file (ZPL, e.g.\n"
    "conf/bench/bench205.conf): id, M x K x N, sparsity, seed and where each comes\n"
    "from, then a summary. Shapes are expanded over the suite's sparsities in file\n"
    "order, each problem with its fixed seed; docs/SUITES.md describes the format.\n\n"
    SF_CLI_HELP_OPTIONS (18);

static int
s_print_json (const sf_suite_t *suite)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "suite", sf_suite_name (suite));
    cJSON_AddStringToObject (root, "description", sf_suite_description (suite));
    cJSON_AddStringToObject (root, "file", sf_suite_path (suite));
    cJSON *problems = cJSON_AddArrayToObject (root, "problems");
    for (size_t i = 0; i < sf_suite_size (suite); i++) {
        const sf_problem_t *p = sf_suite_problem (suite, i);
        cJSON *item = cJSON_CreateObject ();
        cJSON_AddStringToObject (item, "id", p->id);
        cJSON_AddNumberToObject (item, "m", (double) p->m);
        cJSON_AddNumberToObject (item, "k", (double) p->k);
        cJSON_AddNumberToObject (item, "n", (double) p->n);
        cJSON_AddNumberToObject (item, "sparsity", p->sparsity);
        /* raw digits: a double would round seeds above 2^53 */
        char seed[24];
        snprintf (seed, sizeof seed, "%" PRIu64, p->seed);
        cJSON_AddRawToObject (item, "seed", seed);
        cJSON_AddStringToObject (item, "source", p->source);
        if (p->shape_id)
            cJSON_AddStringToObject (item, "shape", p->shape_id);
        if (p->matrix)
            cJSON_AddStringToObject (item, "matrix", p->matrix);
        cJSON_AddItemToArray (problems, item);
    }
    return sf_cli_print_json (&root);
}

/*  Characters of v in decimal. */
static int
s_digits (uint64_t v)
{
    int digits = 1;
    while (v >= 10) {
        v /= 10;
        digits++;
    }
    return digits;
}

static void
s_print_table (const sf_suite_t *suite)
{
    size_t size = sf_suite_size (suite);
    int w_id = 2, w_dim = 1, w_seed = 4;
    for (size_t i = 0; i < size; i++) {
        const sf_problem_t *p = sf_suite_problem (suite, i);
        int len = (int) strlen (p->id);
        w_id = len > w_id ? len : w_id;
        int64_t dims[3] = { p->m, p->k, p->n };
        for (int d = 0; d < 3; d++)
            w_dim = s_digits ((uint64_t) dims[d]) > w_dim ? s_digits ((uint64_t) dims[d]) : w_dim;
        w_seed = s_digits (p->seed) > w_seed ? s_digits (p->seed) : w_seed;
    }
    printf ("%-*s  %*s %*s %*s  %-8s %*s  %s\n", w_id, "id", w_dim, "m", w_dim, "k", w_dim, "n",
            "sparsity", w_seed, "seed", "source");
    for (size_t i = 0; i < size; i++) {
        const sf_problem_t *p = sf_suite_problem (suite, i);
        printf ("%-*s  %*" PRId64 " %*" PRId64 " %*" PRId64 "  %-8g %*" PRIu64 "  %s", w_id, p->id,
                w_dim, p->m, w_dim, p->k, w_dim, p->n, p->sparsity, w_seed, p->seed, p->source);
        if (p->matrix)
            printf (" [matrix %s]", p->matrix);
        putchar ('\n');
    }
    /* "0.5 0.7 0.9": the distinct sparsities, ascending */
    double values[SF_SUITE_SPARSITIES_MAX];
    size_t count = sf_suite_sparsities (suite, values, SF_SUITE_SPARSITIES_MAX);
    char sparsities[SF_SUITE_SPARSITIES_MAX * 26 + 1] = "";
    for (size_t i = 0, used = 0; i < count && i < SF_SUITE_SPARSITIES_MAX; i++)
        used += (size_t) snprintf (sparsities + used, sizeof sparsities - used, "%s%g", i ? " " : "", values[i]);
    size_t shapes = sf_suite_shape_count (suite);
    printf ("%zu problem%s, %zu shape%s, sparsities %s\n", size, size == 1 ? "" : "s", shapes,
            shapes == 1 ? "" : "s", size ? sparsities : "none");
}

int
sf_cmd_suite (int argc, char **argv)
{
    const char *filter = NULL;
    bool json = false;
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_STR ("filter", &filter,
                        SF_CLI_DOC ("EXPR", "only the problems matching EXPR: comma-separated terms, all\n"
                                            "of which must hold, e.g. 'sparsity>=0.9,n=3136,shape~rn50'\n"
                                            "(fields m k n sparsity seed: = != < <= > >=;\n"
                                            "id shape source matrix: = != ~ !~, ~ is a substring)")),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_JSON_DOC),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options ("suite", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    if (optind + 1 != argc)
        return sf_cli_usage ("suite", "expected exactly one FILE");
    sf_suite_t *suite = sf_suite_load (argv[optind]);
    if (!suite)
        return sf_cli_fail ("suite", sf_error_last ());
    if (filter) {
        sf_suite_t *filtered = sf_suite_filter (suite, filter);
        sf_suite_destroy (&suite);
        if (!filtered)
            return sf_cli_fail ("suite", sf_error_last ());
        suite = filtered;
    }
    rc = SF_EXIT_OK;
    if (json)
        rc = s_print_json (suite);
    else
        s_print_table (suite);
    sf_suite_destroy (&suite);
    return rc;
}
