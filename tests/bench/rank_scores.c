/*  rank_scores MODEL SUITE FILTER [SMS]: the model's score of every legal
    config (U within the default code budget, then D) of every problem of
    SUITE after FILTER, on a GPU of SMS streaming multiprocessors (default
    132, the H100), as JSON lines {"id": ..., "configs": [[config, score],
    ...]}. With tests/bench/rank-topk.py it says what other top-k settings
    would have chosen in a recorded rank-eval run, without a GPU. */
#include <stdio.h>
#include <stdlib.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_suite.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_space.h"
#include "rankmodel/sf_rankmodel.h"

#define S_MAX_CONFIGS 16384

static int
s_problem (sf_rankmodel_t *model, const sf_problem_t *p, int32_t sms, sf_config_t *configs,
           double *scores)
{
    sf_matrix_t *a = sf_problem_matrix (p);
    if (!a)
        return sf_error_last ();
    sf_space_problem_t sp = { p->m, p->k, p->n, sf_matrix_nnz (a), sms, false, false, false };
    int nu = sf_space_u (&sp, configs, S_MAX_CONFIGS, NULL), kept = 0;
    for (int j = 0; j < nu; j++)
        if (sp.nnz * configs[j].vec <= SF_SPACE_MAX_FMAS)
            configs[kept++] = configs[j];
    int nd = nu < 0 ? nu : sf_space_d (&sp, configs + kept, S_MAX_CONFIGS - kept, NULL);
    int rc = nd < 0 ? nd : sf_rankmodel_rank (model, a, p->n, sms, configs, kept + nd, scores);
    if (rc == SF_OK) {
        printf ("{\"id\":\"%s\",\"configs\":[", p->id);
        for (int j = 0; j < kept + nd; j++) {
            char text[SF_CONFIG_TEXT_MAX];
            printf ("%s[\"%s\",%.6g]", j ? "," : "", sf_config_text (&configs[j], text), scores[j]);
        }
        printf ("]}\n");
    }
    sf_matrix_destroy (&a);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf (stderr, "usage: rank_scores MODEL.json SUITE FILTER [SMS]\n");
        return 2;
    }
    int32_t sms = argc == 5 ? atoi (argv[4]) : 132;
    sf_rankmodel_t *model = sf_rankmodel_load_file (argv[1]);
    sf_suite_t *all = model ? sf_suite_load (argv[2]) : NULL;
    sf_suite_t *suite = all ? sf_suite_filter (all, argv[3]) : NULL;
    sf_config_t *configs = malloc (S_MAX_CONFIGS * sizeof *configs);
    double *scores = malloc (S_MAX_CONFIGS * sizeof *scores);
    int rc = suite && configs && scores && sms > 0 ? SF_OK : SF_ERR_INVALID;
    if (rc != SF_OK)
        fprintf (stderr, "rank_scores: %s\n", sms > 0 ? sf_error_message () : "SMS must be > 0");
    for (size_t i = 0; rc == SF_OK && i < sf_suite_size (suite); i++) {
        rc = s_problem (model, sf_suite_problem (suite, i), sms, configs, scores);
        if (rc != SF_OK)
            fprintf (stderr, "rank_scores: %s: %s\n", sf_suite_problem (suite, i)->id, sf_error_message ());
    }
    free (configs);
    free (scores);
    sf_suite_destroy (&suite);
    sf_suite_destroy (&all);
    sf_rankmodel_destroy (&model);
    return rc == SF_OK ? 0 : 1;
}
