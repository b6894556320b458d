/*  The sim backend's cold-L2 model (worker/sf_sim.h; docs/DECISIONS.md
    "Cold L2 in the decode regime"): every time SIMULATED. A warm device
    gives the times the model gave before cold L2 existed (figures taken
    from the model of session 16, to 1e-12), a cold one adds the DRAM read
    of each kernel's operands (at most the L2's size), so cold >= warm; a
    sim search timed cold (--l2 cold, auto at N <= 256) uses the cold
    device: its candidates and baselines never beat the warm search's. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "tests/sf_check.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_panels.h"
#include "worker/sf_search.h"
#include "worker/sf_sim.h"

/*  N, then U, D rows, D slab (768 x 768 at 90 %), SGEMM, TF32, cuBLASLt,
    cuSPARSELt, cuSPARSE fp32 and bf16, 3xTF32 and bf16 dense, T of a
    8 MiB and a 100 MiB encoding (4096 x 4096): the warm model's values. */
#define S_FIGURES 13
static const double s_warm[2][1 + S_FIGURES] = {
    { 16, 6.3512914285714288, 10.001661918328583, 5.6256232193732192, 25.544384000000001, 25.544384000000001,
      14.272192, 9.3788373333333332, 59.512741052631583, 48.210192842105265, 217.87859425106123,
      74.626198083687072, 14.883584000000001, 47.039914666666668 },
    { 4096, 56.620662857142854, 115.02659069325733, 255.05982905982904, 4216.6274320516741, 796.29843273881681,
      399.8897556152358, 201.4448778076179, 14470.261709473685, 11576.809367578948, 1722.0287540084898,
      289.50479233474829, 567.64565786133005, 567.64565786133005 },
};

static sf_matrix_t *s_a;
static sf_panels_t *s_p;

static void
s_setup (void)
{
    s_a = sf_matrix_new_random (768, 768, 0.9, 1);
    ck_assert_ptr_nonnull (s_a);
    s_p = sf_panels_new (s_a, 32, SF_REORDER_NONE);
    ck_assert_ptr_nonnull (s_p);
}

static void
s_teardown (void)
{
    sf_panels_destroy (&s_p);
    sf_matrix_destroy (&s_a);
}

/*  Every figure of the table on device g at N = n. */
static void
s_figures (const sf_device_info_t *g, int64_t n, double out[S_FIGURES])
{
    sf_config_t u = { SF_TEMPLATE_U, 32, 4, 64, 2, 1, 168, SF_REORDER_NONE, SF_D_ROWS, 0, 0 };
    sf_config_t d = { SF_TEMPLATE_D, 32, 4, 64, 2, 1, 0, SF_REORDER_NONE, SF_D_ROWS, 0, 0 };
    sf_config_t s = { SF_TEMPLATE_D, 32, 4, 128, 2, 1, 0, SF_REORDER_NONE, SF_D_SLAB, 0, 0 };
    sf_tcdense_config_t x3, h;
    ck_assert_int_eq (sf_tcdense_parse ("tc.x3.m128n128k16.w64x32.s4.k1", &x3), SF_OK);
    ck_assert_int_eq (sf_tcdense_parse ("tc.bf16.m128n128k32.w64x32.s4.k1", &h), SF_OK);
    int i = 0;
    out[i++] = sf_sim_u_us (g, s_p, &u, 768, 768, n);
    out[i++] = sf_sim_d_us (g, s_p, &d, 768, 768, n);
    out[i++] = sf_sim_d_us (g, s_p, &s, 768, 768, n);
    out[i++] = sf_sim_sgemm_us (g, 4096, 4096, n);
    out[i++] = sf_sim_tf32_us (g, 4096, 4096, n);
    out[i++] = sf_sim_blas16_us (g, 4096, 4096, n);
    out[i++] = sf_sim_lt24_us (g, 4096, 4096, n);
    out[i++] = sf_sim_cusparse_us (g, 4096, 4096, n, 1677722);
    out[i++] = sf_sim_cusparse_tier_us (g, SF_TIER_BF16, 4096, 4096, n, 1677722);
    out[i++] = sf_sim_tcdense_us (g, &x3, 4096, 4096, n);
    out[i++] = sf_sim_tcdense_us (g, &h, 4096, 4096, n);
    out[i++] = sf_sim_t_us (g, 4096u * 4096 / 2, 4096, 4096, n);
    out[i++] = sf_sim_t_us (g, 100u << 20, 4096, 4096, n);
    ck_assert_int_eq (i, S_FIGURES);
}

/*  Warm: the figures the model always gave; sf_sim_device is the warm one. */
START_TEST (test_warm_unchanged)
{
    sf_device_info_t plain, warm;
    sf_sim_device (&plain);
    sf_sim_device_l2 (&warm, false);
    ck_assert (!sf_sim_l2_cold (&plain) && !sf_sim_l2_cold (&warm));
    ck_assert_int_eq (warm.l2_bytes, 50 << 20);
    for (int row = 0; row < 2; row++) {
        double a[S_FIGURES], b[S_FIGURES];
        s_figures (&plain, (int64_t) s_warm[row][0], a);
        s_figures (&warm, (int64_t) s_warm[row][0], b);
        for (int i = 0; i < S_FIGURES; i++) {
            double want = s_warm[row][1 + i];
            ck_assert_msg (fabs (a[i] - want) <= 1e-12 * want, "N=%g figure %d: %.17g, was %.17g", s_warm[row][0], i,
                           a[i], want);
            ck_assert (a[i] == b[i]);
        }
    }
}
END_TEST

/*  Cold: never faster, slower by the operands' DRAM read (capped at the L2). */
START_TEST (test_cold_at_least_warm)
{
    sf_device_info_t warm, cold;
    sf_sim_device_l2 (&warm, false);
    sf_sim_device_l2 (&cold, true);
    ck_assert (sf_sim_l2_cold (&cold));
    ck_assert_int_eq (cold.l2_bytes, 0);
    ck_assert_int_eq (cold.sm_count, warm.sm_count);   /* the same GPU otherwise */
    ck_assert_str_eq (cold.gpu_type, warm.gpu_type);
    for (int row = 0; row < 2; row++) {
        int64_t n = (int64_t) s_warm[row][0];
        double w[S_FIGURES], c[S_FIGURES];
        s_figures (&warm, n, w);
        s_figures (&cold, n, c);
        for (int i = 0; i < S_FIGURES; i++)
            ck_assert_msg (c[i] > w[i], "N=%lld figure %d: cold %.3f us, warm %.3f us", (long long) n, i, c[i], w[i]);
    }
    /* SGEMM at decode: A (64 MiB) and B, but a warm L2 holds 50 MiB at most */
    double extra = sf_sim_sgemm_us (&cold, 4096, 4096, 16) - sf_sim_sgemm_us (&warm, 4096, 4096, 16);
    ck_assert_double_eq_tol (extra, (double) (50 << 20) / 3.0e12 * 1e6, 1e-9);
    /* cuBLASLt bf16 (32 MiB of A): all of it */
    extra = sf_sim_blas16_us (&cold, 4096, 4096, 16) - sf_sim_blas16_us (&warm, 4096, 4096, 16);
    ck_assert_double_eq_tol (extra, (4096.0 * 4096 + 4096.0 * 16) * 2 / 3.0e12 * 1e6, 1e-9);
    /* T of an 8 MiB encoding: its encoding and B, so less than dense bf16 loses */
    double t_extra = sf_sim_t_us (&cold, 4096u * 4096 / 2, 4096, 4096, 16)
                   - sf_sim_t_us (&warm, 4096u * 4096 / 2, 4096, 4096, 16);
    ck_assert_double_eq_tol (t_extra, (4096.0 * 4096 / 2 + 4096.0 * 16 * 2) / 3.0e12 * 1e6, 1e-9);
    ck_assert_double_lt (t_extra, extra);
}
END_TEST

/*  A sim search in each mode: the same candidates, cold never faster. */
START_TEST (test_search_cold)
{
    sf_matrix_t *a = sf_matrix_new_random (256, 192, 0.8, 3);
    /* three D configs, exhaustive, on the sim backend; only the L2 differs */
    const sf_search_opts_t ow = { .strategy = SF_STRATEGY_EXHAUSTIVE, .backend = SF_BACKEND_SIM, .templates = SF_SEARCH_D,
                                  .max_configs = 3, .compile_threads = 2, .seed = 1, .l2 = SF_SEARCH_L2_WARM };
    sf_search_opts_t oc = ow, oa = ow;
    oc.l2 = SF_SEARCH_L2_COLD;
    oa.l2 = SF_SEARCH_L2_AUTO;
    sf_search_result_t w, c, au;
    ck_assert_msg (sf_search_run (a, 16, &ow, &w) == SF_OK, "%s", sf_error_message ());
    ck_assert_msg (sf_search_run (a, 16, &oc, &c) == SF_OK, "%s", sf_error_message ());
    ck_assert_msg (sf_search_run (a, 16, &oa, &au) == SF_OK, "%s", sf_error_message ());
    ck_assert (w.simulated && c.simulated);
    ck_assert (!w.l2_cold && c.l2_cold && au.l2_cold);   /* auto at N = 16 is cold */
    ck_assert_int_ge (w.candidate_count, 1);
    ck_assert_int_eq (w.candidate_count, c.candidate_count);
    int slower = 0;
    for (int i = 0; i < w.candidate_count; i++) {
        const sf_candidate_t *x = &w.candidates[i], *y = &c.candidates[i];
        ck_assert (memcmp (&x->config, &y->config, sizeof x->config) == 0);
        ck_assert (y->us >= x->us);
        slower += y->us > x->us;
        ck_assert (au.candidates[i].us == y->us);   /* auto resolved cold: the cold figures */
    }
    ck_assert_int_eq (slower, w.candidate_count);
    ck_assert_double_gt (c.sgemm_us, w.sgemm_us);
    ck_assert_double_gt (c.tf32_us, w.tf32_us);
    ck_assert_double_gt (c.cusparse_us, w.cusparse_us);
    ck_assert_double_gt (c.dense_own_us, w.dense_own_us);
    ck_assert_double_ge (c.us, w.us);
    sf_search_result_free (&w);
    sf_search_result_free (&c);
    sf_search_result_free (&au);
    sf_matrix_destroy (&a);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("simcold");
    TCase *tc = tcase_create ("sim");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_warm_unchanged);
    tcase_add_test (tc, test_cold_at_least_warm);
    tcase_add_test (tc, test_search_cold);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
