/*  Check suite of proxygen/sf_tprior: the prior order of template T's
    configs. Its properties on the real space, and its regret on the H100
    measurements it was fitted to (docs/bench/h100/tc-sparse/decode.json
    and decode-call1.json: 24 decode problems, 16-32 configs each, timed
    with a cold L2): the fastest of its first 4 picks against the fastest
    measured, next to an even sample's (what the search did before). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "proxygen/sf_tkernel.h"
#include "proxygen/sf_tprior.h"

#define S_SPACE_MAX 16384

static sf_tconfig_t
s_config (const char *text)
{
    sf_tconfig_t c;
    ck_assert_int_eq (sf_tconfig_parse (text, &c), SF_OK);
    return c;
}

static sf_tspace_problem_t
s_problem (int64_t m, int64_t k, int64_t n, double density)
{
    return (sf_tspace_problem_t) { m, k, n, (int64_t) (density * (double) m * (double) k), 132 };
}

START_TEST (test_score_prefers_the_winners_region)
{
    sf_tspace_problem_t p = s_problem (4096, 4096, 16, 0.1);
    sf_tconfig_t centre_config = s_config ("T:e1.w4.m1.n16.k2.g8.p4");
    double centre = sf_tprior_score (&p, &centre_config);
    ck_assert (centre >= 0.0 && centre < 0.5);
    /* each knob away from the region costs */
    const char *worse[] = { "T:e1.w4.m1.n32.k2.g8.p4", "T:e0.w4.m1.n16.k2.g8.p4", "T:e1.w1.m1.n16.k2.g8.p4",
                            "T:e1.w4.m1.n16.k2.g2.p4", "T:e1.w4.m1.n16.k2.g8.p2", "T:e1.w4.m1.n8.k2.g8.p4" };
    for (size_t i = 0; i < sizeof worse / sizeof worse[0]; i++) {
        sf_tconfig_t c = s_config (worse[i]);
        ck_assert_msg (sf_tprior_score (&p, &c) > centre, "%s", worse[i]);
    }
    /* the element bitmap is preferred where half the weights or more remain */
    sf_tspace_problem_t dense = s_problem (4096, 4096, 16, 0.7);
    sf_tconfig_t e0 = s_config ("T:e0.w4.m1.n16.k2.g8.p4"), e1 = s_config ("T:e1.w4.m1.n16.k2.g8.p4");
    ck_assert (sf_tprior_score (&dense, &e0) < sf_tprior_score (&dense, &e1));
    /* e2 is e1's family: scored as its e1 twin, sparse or not */
    sf_tconfig_t e2 = s_config ("T:e2.w4.m1.n16.k2.g8.p4");
    ck_assert_double_eq (sf_tprior_score (&p, &e2), centre);
    ck_assert_double_eq (sf_tprior_score (&dense, &e2), sf_tprior_score (&dense, &e1));
    /* about one wave of blocks: k 8 makes 4 waves of 4096 rows at w 4 m 1 */
    sf_tconfig_t k8 = s_config ("T:e1.w4.m1.n16.k8.g8.p4");
    ck_assert (sf_tprior_score (&p, &k8) > centre);
}
END_TEST

START_TEST (test_pick_keeps_every_config)
{
    sf_tspace_problem_t p = s_problem (4096, 11008, 16, 0.1);
    static sf_tconfig_t space[S_SPACE_MAX], picked[S_SPACE_MAX];
    int count = sf_tkernel_space (&p, space, S_SPACE_MAX, NULL);
    ck_assert_int_gt (count, 100);
    memcpy (picked, space, (size_t) count * sizeof *space);
    /* all, or more than all: nothing moves */
    ck_assert_int_eq (sf_tprior_pick (&p, picked, count, 0), count);
    ck_assert_int_eq (sf_tprior_pick (&p, picked, count, count), count);
    ck_assert_mem_eq (picked, space, (size_t) count * sizeof *space);
    /* four: a permutation of the space whose first four are the best by
       score, at most two variants of one geometry */
    ck_assert_int_eq (sf_tprior_pick (&p, picked, count, 4), 4);
    double best = INFINITY;
    for (int i = 0; i < count; i++)
        best = fmin (best, sf_tprior_score (&p, &space[i]));
    ck_assert_double_eq_tol (sf_tprior_score (&p, &picked[0]), best, 1e-12);
    for (int i = 0; i < 4; i++) {
        int same = 0;
        for (int j = 0; j < 4; j++)
            same += picked[i].enc == picked[j].enc && picked[i].warps == picked[j].warps
                 && picked[i].strips == picked[j].strips && picked[i].ncols == picked[j].ncols
                 && picked[i].ksplit == picked[j].ksplit && picked[i].group == picked[j].group
                 && picked[i].stages == picked[j].stages;
        ck_assert_int_le (same, 2);
        ck_assert_int_eq (picked[i].ncols, 16);  /* n = N */
    }
    for (int i = 0; i < count; i++) {
        int found = 0;
        for (int j = 0; j < count; j++)
            found += memcmp (&space[i], &picked[j], sizeof *space) == 0;
        ck_assert_int_eq (found, 1);
    }
}
END_TEST

/*  Geomean over a file's problems of (fastest of the first `keep` picks) /
    (fastest measured); *even_out likewise for an even sample of the
    measured configs in the file's order. */
static double
s_regret (const char *file, int keep, double *even_out, int *problems_out)
{
    char path[512];
    const char *top = getenv ("SF_TOP_SRCDIR");
    snprintf (path, sizeof path, "%s/docs/bench/h100/tc-sparse/%s", top ? top : SF_TOP_SRCDIR, file);
    FILE *f = fopen (path, "rb");
    ck_assert_msg (f != NULL, "%s", path);
    static char text[1 << 21];
    size_t size = fread (text, 1, sizeof text - 1, f);
    fclose (f);
    text[size] = 0;
    cJSON *root = cJSON_Parse (text);
    ck_assert_ptr_nonnull (root);
    int sms = cJSON_GetObjectItem (root, "sms")->valueint;
    double log_prior = 0, log_even = 0;
    int problems = 0;
    const cJSON *prob;
    cJSON_ArrayForEach (prob, cJSON_GetObjectItem (root, "problems")) {
        sf_tspace_problem_t p = { (int64_t) cJSON_GetObjectItem (prob, "m")->valuedouble,
                                  (int64_t) cJSON_GetObjectItem (prob, "k")->valuedouble,
                                  (int64_t) cJSON_GetObjectItem (prob, "n")->valuedouble,
                                  (int64_t) cJSON_GetObjectItem (prob, "nnz")->valuedouble, sms };
        sf_tconfig_t configs[64];
        double us[64];
        int count = 0;
        const cJSON *c;
        cJSON_ArrayForEach (c, cJSON_GetObjectItem (prob, "configs")) {
            if (count == 64 || strcmp (cJSON_GetObjectItem (c, "status")->valuestring, "ok") != 0)
                continue;
            configs[count] = s_config (cJSON_GetObjectItem (c, "config")->valuestring);
            us[count++] = cJSON_GetObjectItem (c, "us")->valuedouble;
        }
        if (count <= keep)
            continue;
        double best = INFINITY, even = INFINITY, prior = INFINITY;
        for (int i = 0; i < count; i++)
            best = fmin (best, us[i]);
        for (int i = 0; i < keep; i++)
            even = fmin (even, us[(int) ((int64_t) i * count / keep)]);
        sf_tconfig_t picked[64];
        memcpy (picked, configs, (size_t) count * sizeof *configs);
        ck_assert_int_eq (sf_tprior_pick (&p, picked, count, keep), keep);
        for (int i = 0; i < keep; i++)
            for (int j = 0; j < count; j++)
                if (memcmp (&picked[i], &configs[j], sizeof *configs) == 0)
                    prior = fmin (prior, us[j]);
        log_prior += log (prior / best);
        log_even += log (even / best);
        problems++;
    }
    cJSON_Delete (root);
    ck_assert_int_gt (problems, 10);
    *even_out = exp (log_even / problems);
    *problems_out = problems;
    return exp (log_prior / problems);
}

START_TEST (test_regret_on_the_measured_problems)
{
    const char *files[] = { "decode.json", "decode-call1.json" };
    for (int i = 0; i < 2; i++) {
        double even = 0;
        int problems = 0;
        double prior = s_regret (files[i], 4, &even, &problems);
        printf ("tprior: %s: %d problems, first 4 picks within %.3fx of the best (geomean); an even sample "
                "%.3fx\n", files[i], problems, prior, even);
        ck_assert_msg (prior <= 1.07, "%s: regret %.3f", files[i], prior);
        ck_assert_msg (prior < even, "%s: prior %.3f, even %.3f", files[i], prior, even);
        prior = s_regret (files[i], 2, &even, &problems);
        ck_assert_msg (prior <= 1.16 && prior < even, "%s keep 2: prior %.3f, even %.3f", files[i], prior, even);
    }
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("tprior");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_score_prefers_the_winners_region);
    tcase_add_test (tc, test_pick_keeps_every_config);
    tcase_add_test (tc, test_regret_on_the_measured_problems);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
