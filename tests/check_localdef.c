/*  check_localdef: coordinator/sf_localdef, `local`'s defaults. On the sim
    backend (no GPU needed): the workers and compile threads the farm will
    start, the sim model's GPU type, a budget planned from the layers'
    sizes within the floor and cap a layer (shared among the workers), a
    budget or a strategy given is kept, and the strategy is not looked up
    for the sim backend (a rank model never times simulated kernels). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_farm.h"
#include "coordinator/sf_localdef.h"
#include "tests/sf_check.h"

static sf_client_model_t s_model;

static void
s_setup (void)
{
    memset (&s_model, 0, sizeof s_model);
    s_model.layers = calloc (2, sizeof *s_model.layers);
    ck_assert_ptr_nonnull (s_model.layers);
    s_model.count = 2;
    for (int i = 0; i < 2; i++) {
        sf_client_layer_t *l = &s_model.layers[i];
        l->matrix = sf_matrix_new_random (i ? 4096 : 64, i ? 4096 : 32, 0.5, 3 + (uint64_t) i);
        ck_assert_ptr_nonnull (l->matrix);
        l->n = i ? 2048 : 16;
    }
}

static void
s_teardown (void)
{
    sf_client_model_free (&s_model);
}

START_TEST (test_env)
{
    ck_assert (sf_localdef_simulates ("sim"));
    ck_assert (!sf_localdef_simulates ("cuda"));
    ck_assert (sf_localdef_simulates ("auto") == (sf_farm_gpu_count () == 0));
    ck_assert (sf_localdef_simulates (NULL) == sf_localdef_simulates ("auto"));
    sf_localdef_env_t env;
    sf_localdef_env_init (&env, "/nowhere", "sim", 0, 0, false);
    ck_assert (env.sim);
    ck_assert_int_eq (env.workers, 1);
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq (env.threads, cpus > 0 ? (int) cpus : 1);
    sf_localdef_env_init (&env, "/nowhere", "sim", 3, 0, true);
    ck_assert_int_eq (env.workers, 3);
    ck_assert_int_eq (env.threads, cpus / 3 > 0 ? (int) (cpus / 3) : 1);
    ck_assert (env.strategy_given);
    sf_localdef_env_init (&env, "/nowhere", "sim", 2, 5, false);
    ck_assert_int_eq (env.threads, 5);
    char type[SF_GPU_TYPE_MAX];
    ck_assert_int_eq (sf_localdef_gpu_type (true, type, sizeof type), SF_OK);
    ck_assert_str_eq (type, SF_CUDADRV_SIM_GPU_TYPE);
}
END_TEST

START_TEST (test_budget_planned)
{
    sf_localdef_env_t env;
    sf_localdef_env_init (&env, "/nowhere", "sim", 1, 4, false);
    sf_request_t req;
    sf_request_init (&req);
    req.budget_s = -1;
    sf_localdef_said_t said;
    ck_assert_int_eq (sf_localdef_apply (&env, &s_model, &req, &said), SF_OK);
    ck_assert (said.budget_planned);
    ck_assert (!said.strategy_looked);          /* sim: no rank model lookup */
    ck_assert_int_eq (req.strategy, SF_REQUEST_PROXY);
    ck_assert_str_eq (said.gpu_type, SF_CUDADRV_SIM_GPU_TYPE);
    ck_assert (said.floor_s == SF_LOCALDEF_FLOOR_S && said.cap_s == SF_LOCALDEF_CAP_SIM_S);
    ck_assert (req.budget_s == said.budget_s);
    /* each layer between the floor and the cap: two layers, one worker */
    ck_assert_msg (req.budget_s >= 2 * SF_LOCALDEF_FLOOR_S && req.budget_s <= 2 * SF_LOCALDEF_CAP_SIM_S,
                   "budget %.2f", req.budget_s);
    /* the big layer's whole search takes more than the floor */
    ck_assert_msg (req.budget_s > 2 * SF_LOCALDEF_FLOOR_S, "budget %.2f", req.budget_s);
    double one = req.budget_s;
    /* two workers share the layers */
    sf_localdef_env_init (&env, "/nowhere", "sim", 2, 4, false);
    req.budget_s = -1;
    ck_assert_int_eq (sf_localdef_apply (&env, &s_model, &req, &said), SF_OK);
    ck_assert_msg (req.budget_s > one / 2 - 1e-9 && req.budget_s < one / 2 + 1e-9, "%.3f vs %.3f", req.budget_s,
                   one);
}
END_TEST

START_TEST (test_given_kept)
{
    sf_localdef_env_t env;
    sf_localdef_env_init (&env, "/nowhere", "sim", 1, 4, true);
    sf_request_t req;
    sf_request_init (&req);
    req.budget_s = 7;
    req.strategy = SF_REQUEST_EXHAUSTIVE;
    sf_localdef_said_t said;
    ck_assert_int_eq (sf_localdef_apply (&env, &s_model, &req, &said), SF_OK);
    ck_assert (!said.budget_planned && !said.strategy_looked);
    ck_assert (req.budget_s == 7);
    ck_assert_int_eq (req.strategy, SF_REQUEST_EXHAUSTIVE);
    /* a budget of 0 is given too: every layer whole */
    req.budget_s = 0;
    ck_assert_int_eq (sf_localdef_apply (&env, &s_model, &req, &said), SF_OK);
    ck_assert (!said.budget_planned && req.budget_s == 0);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("localdef");
    TCase *tc = tcase_create ("localdef");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_env);
    tcase_add_test (tc, test_budget_planned);
    tcase_add_test (tc, test_given_kept);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
