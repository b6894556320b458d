/*  Check suite of the search budget (issue 22): the cost model of a
    layer's search (proxygen/sf_cost) and the campaign's plans
    (coordinator/sf_budget). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "coordinator/sf_budget.h"
#include "proxygen/sf_cost.h"
#include "wire/sf_request.h"

static const sf_cost_problem_t s_bert = { 768, 768, 4096, 58982, 132, 16, false, false };
static const sf_cost_search_t s_default = { SF_COST_PROXY, 3, 0, 0, 0, 0, true, false, false };

START_TEST (test_cost_follows_the_search)
{
    sf_cost_t all, some, sim, d;
    ck_assert_int_eq (sf_cost_estimate (&s_bert, &s_default, &all), SF_OK);
    /* the search's own space: 594 U configs within the code budget, D's rows and slab kernels */
    ck_assert_int_eq (all.u_legal, 594);
    ck_assert_int_eq (all.u_configs, 594);
    ck_assert_int_gt (all.d_configs, 100);
    ck_assert_int_eq (all.finalists, 4);
    ck_assert_double_gt (all.wall_s, 60.0);
    ck_assert_double_gt (all.compile_cpu_s, all.wall_s);  /* spread over 16 threads */
    sf_cost_search_t s = s_default;
    s.max_configs = 16;
    ck_assert_int_eq (sf_cost_estimate (&s_bert, &s, &some), SF_OK);
    ck_assert_int_eq (some.u_configs, 16);
    ck_assert_double_lt (some.wall_s, all.wall_s / 5);
    /* the sim backend has no GPU time to speak of */
    sf_cost_problem_t p = s_bert;
    p.sim = true;
    ck_assert_int_eq (sf_cost_estimate (&p, &s, &sim), SF_OK);
    ck_assert_double_lt (sim.gpu_s, some.gpu_s / 10);
    /* a D kernel compiled once serves every layer */
    p = s_bert;
    p.d_compiled = true;
    ck_assert_int_eq (sf_cost_estimate (&p, &s, &d), SF_OK);
    ck_assert_double_lt (d.compile_cpu_s, some.compile_cpu_s);
    /* FFN layers are over U's code budget: D only */
    sf_cost_problem_t ffn = { 3072, 768, 4096, 235929, 132, 16, false, false };
    ck_assert_int_eq (sf_cost_estimate (&ffn, &s_default, &all), SF_OK);
    ck_assert_int_eq (all.u_configs, 0);
    ck_assert_int_eq (all.finalists, 0);
    /* exhaustive compiles every config in full */
    s = s_default;
    s.max_configs = 8;
    s.strategy = SF_COST_EXHAUSTIVE;
    sf_cost_t ex, px;
    ck_assert_int_eq (sf_cost_estimate (&s_bert, &s, &ex), SF_OK);
    s.strategy = SF_COST_PROXY;
    ck_assert_int_eq (sf_cost_estimate (&s_bert, &s, &px), SF_OK);
    ck_assert_double_gt (ex.compile_cpu_s, px.compile_cpu_s);
    ck_assert_int_eq (ex.finalists, 0);
    /* a malformed problem */
    sf_cost_problem_t bad = { 0, 768, 4096, 10, 132, 16, false, false };
    ck_assert_int_eq (sf_cost_estimate (&bad, &s, &ex), SF_ERR_INVALID);
}
END_TEST

START_TEST (test_plan_is_the_largest_that_fits)
{
    sf_cost_search_t plan;
    sf_cost_t est, all;
    char note[256];
    sf_cost_estimate (&s_bert, &s_default, &all);
    /* the whole search fits a large budget: untouched, nothing said */
    ck_assert (sf_cost_plan (&s_bert, &s_default, all.wall_s + 1, &plan, &est, note, sizeof note));
    ck_assert_mem_eq (&plan, &s_default, sizeof plan);
    ck_assert_str_eq (note, "");
    for (double budget = 200; budget >= 5; budget /= 2) {
        ck_assert (sf_cost_plan (&s_bert, &s_default, budget, &plan, &est, note, sizeof note));
        ck_assert_double_le (est.wall_s, budget);
        ck_assert_int_gt (plan.max_configs, 0);
        ck_assert_ptr_nonnull (strstr (note, "of 594 configs"));
        /* twice the configs would not have fit */
        sf_cost_search_t more = plan;
        sf_cost_t e2;
        more.max_configs = plan.max_configs * 2;
        sf_cost_estimate (&s_bert, &more, &e2);
        ck_assert_msg (e2.wall_s > budget || more.max_configs > 256, "budget %g: %d configs would fit", budget,
                       more.max_configs);
    }
    /* too little for any U: D alone, said so; nothing fits: the smallest, said so */
    ck_assert (sf_cost_plan (&s_bert, &s_default, 3.0, &plan, &est, note, sizeof note));
    ck_assert_uint_eq (plan.templates, 2);
    ck_assert_ptr_nonnull (strstr (note, "no U"));
    ck_assert (!sf_cost_plan (&s_bert, &s_default, 0.1, &plan, &est, note, sizeof note));
    ck_assert_int_eq (plan.max_configs, 1);
    /* U alone asked: never planned away */
    sf_cost_search_t u = s_default;
    u.templates = 1;
    sf_cost_plan (&s_bert, &u, 0.1, &plan, &est, note, sizeof note);
    ck_assert_uint_eq (plan.templates, 1);
}
END_TEST

static void
s_request (sf_request_t *r)
{
    sf_request_init (r);
    r->budget_s = 600;
}

START_TEST (test_budget_shares_the_time_left)
{
    /* BERT-base's three shapes, 6 layers, one worker of 16 threads */
    sf_budget_t *b = sf_budget_new (600, 6, 0);
    ck_assert_ptr_nonnull (b);
    for (uint32_t i = 0; i < 6; i++) {
        int64_t m = i < 4 ? 768 : i == 4 ? 3072 : 768, k = i == 5 ? 3072 : 768;
        sf_budget_set_layer (b, i, m, k, 4096, m * k / 10);
    }
    sf_budget_worker_t w = { 16, 132, false, 1 };
    sf_request_t r;
    char note[512];
    s_request (&r);
    /* the first layer gets a share of the time in proportion to its search, and a narrowed plan */
    ck_assert (sf_budget_plan (b, 0, &w, 0, &r, note, sizeof note));
    ck_assert_int_gt (r.max_configs, 0);
    ck_assert_double_gt (r.budget_s, 0.0);       /* the worker's hard stop */
    ck_assert_double_lt (r.budget_s, 600.0);
    ck_assert_ptr_nonnull (strstr (note, "share "));
    ck_assert_ptr_nonnull (strstr (note, "of 600 s left"));
    int32_t first = r.max_configs;
    /* it took twice its estimate: the model is slower on this host, the next plans smaller */
    sf_budget_done (b, 0, 2.0 * (r.budget_s - 2.0) / 1.25, NAN);
    s_request (&r);
    sf_budget_plan (b, 1, &w, 100000, &r, note, sizeof note);
    ck_assert_int_gt (r.max_configs, 0);
    ck_assert_int_le (r.max_configs, first);
    sf_budget_done (b, 1, NAN, NAN);
    /* the report: planned and narrowed layers, what they left out */
    sf_budget_report_t br;
    sf_budget_report (b, 100000, &br);
    ck_assert_uint_eq (br.planned, 2);
    ck_assert_uint_eq (br.narrowed, 2);
    ck_assert_int_gt (br.configs_skipped, 500);
    ck_assert_double_eq_tol (br.left_s, 500.0, 1e-9);
    ck_assert_double_gt (br.speed, 1.0);
    /* past the deadline: the smallest search, said so */
    s_request (&r);
    sf_budget_plan (b, 2, &w, 700000, &r, note, sizeof note);
    ck_assert_int_eq (r.max_configs, 1);
    ck_assert_ptr_nonnull (strstr (note, "over its share"));
    sf_budget_destroy (&b);
    sf_budget_destroy (&b);
    /* a budget large enough: the whole search, the request untouched */
    b = sf_budget_new (1e6, 1, 0);
    sf_budget_set_layer (b, 0, 768, 768, 4096, 58982);
    s_request (&r);
    sf_request_t before = r;
    ck_assert (!sf_budget_plan (b, 0, &w, 0, &r, note, sizeof note));
    ck_assert_int_eq (r.max_configs, before.max_configs);
    ck_assert_ptr_nonnull (strstr (note, "the whole search"));
    sf_budget_destroy (&b);
}
END_TEST

START_TEST (test_budget_counts_workers_and_answered_layers)
{
    sf_request_t r1, r4;
    char note[512];
    sf_budget_worker_t one = { 16, 132, false, 1 }, four = { 16, 132, false, 4 };
    sf_budget_t *a = sf_budget_new (300, 8, 0), *b = sf_budget_new (300, 8, 0);
    for (uint32_t i = 0; i < 8; i++) {
        sf_budget_set_layer (a, i, 768, 768, 4096, 58982);
        sf_budget_set_layer (b, i, 768, 768, 4096, 58982);
    }
    s_request (&r1);
    s_request (&r4);
    sf_budget_plan (a, 0, &one, 0, &r1, note, sizeof note);
    sf_budget_plan (b, 0, &four, 0, &r4, note, sizeof note);
    /* four workers at once: four times the time for each layer */
    ck_assert_int_gt (r4.max_configs, r1.max_configs);
    /* layers answered from the store take no share */
    sf_budget_t *c = sf_budget_new (300, 8, 0);
    for (uint32_t i = 0; i < 8; i++) {
        sf_budget_set_layer (c, i, 768, 768, 4096, 58982);
        if (i > 0)
            sf_budget_done (c, i, NAN, NAN);
    }
    sf_request_t rc;
    s_request (&rc);
    sf_budget_plan (c, 0, &one, 0, &rc, note, sizeof note);
    ck_assert_int_gt (rc.max_configs, r1.max_configs);
    /* a layer the compile cache answered (no compile CPU) does not make the host look fast */
    sf_budget_report_t br;
    s_request (&rc);
    sf_budget_plan (c, 0, &one, 0, &rc, note, sizeof note);
    sf_budget_done (c, 0, 0.05, 0.0);
    sf_budget_report (c, 1000, &br);
    ck_assert_double_eq (br.speed, 1.0);
    sf_budget_destroy (&a);
    sf_budget_destroy (&b);
    sf_budget_destroy (&c);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("budget");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_cost_follows_the_search);
    tcase_add_test (tc, test_plan_is_the_largest_that_fits);
    tcase_add_test (tc, test_budget_shares_the_time_left);
    tcase_add_test (tc, test_budget_counts_workers_and_answered_layers);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
