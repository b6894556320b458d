/*  check_timememo: the worker's timing memo (worker/sf_timememo.h) and the
    context its searches share (worker/sf_searchctx.h), on a CPU.

    The memo's rules are checked directly (keys, bound, refusals) and
    through sim searches: two searches of one shape through one context,
    the second reusing the first's dense timings and the first none; other
    shapes, tiers and epilogues sharing nothing. The kept child is checked
    with a child that has no GPU (allow_no_device: it answers pings, and a
    problem with SF_ERR_NODEVICE): searches through a context borrow it
    rather than start their own. The child is this program re-executed
    (main serves `__measure-child`, as the spmmfarm program does). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "tests/sf_check.h"
#include "worker/sf_measure.h"
#include "worker/sf_search.h"
#include "worker/sf_searchctx.h"
#include "worker/sf_timememo.h"

static sf_timing_t
s_timing (double us)
{
    sf_timing_t t = { 0 };
    t.median_us = t.min_us = t.max_us = t.p10_us = t.p90_us = us;
    t.samples = 7;
    return t;
}

static sf_timememo_key_t
s_key (int64_t m, const char *what)
{
    sf_timememo_key_t k = { "H100|gpu0|graph", m, 768, 4096, SF_TIER_FP32, SF_LAYOUT_KN, false, false, what, false };
    return k;
}

/*  Every field of the key tells entries apart; the same key is found. */
START_TEST (test_memo_keys)
{
    sf_timememo_t *memo = sf_timememo_new (0);
    ck_assert_ptr_nonnull (memo);
    sf_timememo_key_t k = s_key (768, "tc:m64n64");
    sf_timing_t t = s_timing (12.5), got;
    ck_assert (!sf_timememo_get (memo, &k, &got, NULL));
    ck_assert_int_eq (sf_timememo_put (memo, &k, &t, 0), SF_OK);
    ck_assert (sf_timememo_get (memo, &k, &got, NULL));
    ck_assert_double_eq (got.median_us, 12.5);
    ck_assert_int_eq (got.samples, 7);
    sf_timememo_key_t other[10];
    for (int i = 0; i < 10; i++)
        other[i] = k;
    other[0].device = "H200|gpu0|graph";
    other[1].m = 3072;
    other[2].k = 3072;
    other[3].n = 16;
    other[4].tier = SF_TIER_TF32;
    other[5].layout = SF_LAYOUT_NK;
    other[6].bias = true;
    other[7].relu = true;
    other[8].what = "tc:m128n64";
    other[9].l2_cold = true;  /* timed with a cold L2: never a warm timing's answer */
    for (int i = 0; i < 10; i++)
        ck_assert_msg (!sf_timememo_get (memo, &other[i], &got, NULL), "key variant %d found the entry", i);
    /* a second put of one key replaces it, tag included */
    t = s_timing (11.0);
    ck_assert_int_eq (sf_timememo_put (memo, &k, &t, 3), SF_OK);
    ck_assert_int_eq (sf_timememo_count (memo), 1);
    int tag = -1;
    ck_assert (sf_timememo_get (memo, &k, &got, &tag));
    ck_assert_double_eq (got.median_us, 11.0);
    ck_assert_int_eq (tag, 3);
    sf_timememo_destroy (&memo);
    sf_timememo_destroy (&memo);
    ck_assert_ptr_null (memo);
}
END_TEST

/*  Failed, infinite or NaN timings and oversized keys are not kept. */
START_TEST (test_memo_refuses)
{
    sf_timememo_t *memo = sf_timememo_new (4);
    sf_timememo_key_t k = s_key (768, "baseline:sgemm");
    double bad[] = { NAN, INFINITY, 0, -1 };
    for (int i = 0; i < 4; i++) {
        sf_timing_t t = s_timing (bad[i]);
        ck_assert_int_eq (sf_timememo_put (memo, &k, &t, 0), SF_ERR_INVALID);
    }
    char long_what[SF_TIMEMEMO_KEY_MAX + 8];
    memset (long_what, 'x', sizeof long_what - 1);
    long_what[sizeof long_what - 1] = '\0';
    sf_timememo_key_t lk = s_key (768, long_what);
    sf_timing_t t = s_timing (3);
    ck_assert_int_eq (sf_timememo_put (memo, &lk, &t, 0), SF_ERR_INVALID);
    sf_timing_t got;
    ck_assert (!sf_timememo_get (memo, &lk, &got, NULL));
    ck_assert_int_eq (sf_timememo_count (memo), 0);
    sf_timememo_destroy (&memo);
}
END_TEST

/*  Bounded: when full, the least recently used entry goes. */
START_TEST (test_memo_bound)
{
    sf_timememo_t *memo = sf_timememo_new (3);
    const char *w[] = { "a", "b", "c", "d" };
    sf_timing_t got;
    for (int i = 0; i < 3; i++) {
        sf_timememo_key_t k = s_key (768, w[i]);
        sf_timing_t t = s_timing (i + 1);
        ck_assert_int_eq (sf_timememo_put (memo, &k, &t, 0), SF_OK);
    }
    sf_timememo_key_t ka = s_key (768, "a");
    ck_assert (sf_timememo_get (memo, &ka, &got, NULL));  /* "a" used: "b" is now the oldest */
    sf_timememo_key_t kd = s_key (768, "d");
    sf_timing_t t = s_timing (4);
    ck_assert_int_eq (sf_timememo_put (memo, &kd, &t, 0), SF_OK);
    ck_assert_int_eq (sf_timememo_count (memo), 3);
    ck_assert_int_eq (sf_timememo_evictions (memo), 1);
    sf_timememo_key_t kb = s_key (768, "b"), kc = s_key (768, "c");
    ck_assert (!sf_timememo_get (memo, &kb, &got, NULL));
    ck_assert (sf_timememo_get (memo, &ka, &got, NULL) && got.median_us == 1);
    ck_assert (sf_timememo_get (memo, &kc, &got, NULL) && got.median_us == 3);
    ck_assert (sf_timememo_get (memo, &kd, &got, NULL) && got.median_us == 4);
    sf_timememo_destroy (&memo);
}
END_TEST

START_TEST (test_memo_disabled)
{
    unsetenv ("SPMMFARM_NO_TIMING_MEMO");
    ck_assert (!sf_timememo_disabled ());
    setenv ("SPMMFARM_NO_TIMING_MEMO", "0", 1);
    ck_assert (!sf_timememo_disabled ());
    setenv ("SPMMFARM_NO_TIMING_MEMO", "1", 1);
    ck_assert (sf_timememo_disabled ());
    sf_searchctx_t *ctx = sf_searchctx_new (true);
    ck_assert_ptr_nonnull (ctx);
    ck_assert_ptr_null (sf_searchctx_memo (ctx));
    sf_searchctx_destroy (&ctx);
    unsetenv ("SPMMFARM_NO_TIMING_MEMO");
    ctx = sf_searchctx_new (true);
    ck_assert_ptr_nonnull (sf_searchctx_memo (ctx));
    sf_searchctx_destroy (&ctx);
    sf_searchctx_destroy (&ctx);
}
END_TEST

/* ---- through sim searches --------------------------------------------------------- */

static sf_search_opts_t
s_opts (sf_searchctx_t *ctx)
{
    sf_search_opts_t o = { 0 };
    o.strategy = SF_STRATEGY_EXHAUSTIVE;
    o.backend = SF_BACKEND_SIM;
    o.templates = SF_SEARCH_D;
    o.max_configs = 1;
    o.compile_threads = 2;
    o.seed = 1;
    o.ctx = ctx;
    return o;
}

/*  One search; returns its timings_reused, checking what the memo may and
    may not change. */
static int
s_search (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *o, sf_search_result_t *keep)
{
    sf_search_result_t r;
    int rc = sf_search_run (a, n, o, &r);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert (r.simulated);
    ck_assert_int_ge (r.own_count, 1);
    int flagged = 0;
    for (int i = 0; i < r.own_count; i++) {
        flagged += r.own[i].reused;
        ck_assert_int_eq (r.own[i].status, SF_OK);
        ck_assert (!isnan (r.own[i].err));  /* verified (sim: 0) */
    }
    ck_assert_int_le (flagged, r.timings_reused);
    ck_assert (isfinite (r.cusparse_us));  /* never memoised: there on every layer */
    int reused = r.timings_reused;
    if (keep)
        *keep = r;
    else
        sf_search_result_free (&r);
    return reused;
}

/*  The second search of a shape reuses the first's dense timings (our
    dense kernels, SGEMM, TF32), the first reuses none; each search still
    reports every dense candidate. */
START_TEST (test_search_reuses_same_shape)
{
    unsetenv ("SPMMFARM_NO_TIMING_MEMO");
    sf_searchctx_t *ctx = sf_searchctx_new (true);
    sf_matrix_t *a = sf_matrix_new_random (64, 96, 0.8, 3);
    sf_matrix_t *b = sf_matrix_new_random (64, 96, 0.9, 4);  /* same shape, another layer */
    sf_search_opts_t o = s_opts (ctx);
    sf_search_result_t r1, r2;
    ck_assert_int_eq (s_search (a, 100, &o, &r1), 0);
    int reused = s_search (b, 100, &o, &r2);
    ck_assert_int_eq (reused, r2.own_count + 2);  /* every own kernel, SGEMM and TF32 */
    for (int i = 0; i < r2.own_count; i++) {
        ck_assert (r2.own[i].reused);
        ck_assert_str_eq (r2.own[i].config, r1.own[i].config);
        ck_assert_double_eq (r2.own[i].us, r1.own[i].us);
    }
    ck_assert_double_eq (r2.sgemm_us, r1.sgemm_us);
    ck_assert_double_eq (r2.tf32_us, r1.tf32_us);
    ck_assert_str_eq (r2.dense_impl, r1.dense_impl);
    /* the store's and the wire's: the count travels in RESULT */
    sf_search_result_free (&r1);
    sf_search_result_free (&r2);
    /* a search without the context memoises nothing */
    sf_search_opts_t alone = s_opts (NULL);
    ck_assert_int_eq (s_search (b, 100, &alone, NULL), 0);
    /* turned off: every layer timed */
    setenv ("SPMMFARM_NO_TIMING_MEMO", "1", 1);
    ck_assert_int_eq (s_search (b, 100, &o, NULL), 0);
    unsetenv ("SPMMFARM_NO_TIMING_MEMO");
    ck_assert_int_gt (s_search (b, 100, &o, NULL), 0);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
    sf_searchctx_destroy (&ctx);
}
END_TEST

/*  Other shapes, tiers and epilogues share nothing with the first. */
START_TEST (test_search_keys_apart)
{
    unsetenv ("SPMMFARM_NO_TIMING_MEMO");
    sf_searchctx_t *ctx = sf_searchctx_new (true);
    sf_matrix_t *a = sf_matrix_new_random (64, 96, 0.8, 3);
    sf_matrix_t *wide = sf_matrix_new_random (64, 128, 0.8, 3);
    sf_search_opts_t o = s_opts (ctx);
    ck_assert_int_eq (s_search (a, 100, &o, NULL), 0);
    ck_assert_int_eq (s_search (wide, 100, &o, NULL), 0);  /* another K */
    ck_assert_int_eq (s_search (a, 64, &o, NULL), 0);      /* another N */
    sf_search_opts_t h = o;  /* the 16-bit tiers: cuBLASLt's row and our dense kernels */
    h.tier = SF_TIER_BF16;
    sf_search_result_t r;
    ck_assert_int_eq (s_search (a, 100, &h, NULL), 0);
    int reused = s_search (a, 100, &h, &r);
    ck_assert_int_eq (reused, r.own_count + 1);  /* our dense kernels and cuBLASLt */
    ck_assert (isfinite (r.blas16_us));
    sf_search_result_free (&r);
    h.tier = SF_TIER_FP16;
    ck_assert_int_eq (s_search (a, 100, &h, NULL), 0);
    sf_search_opts_t t = o;
    t.tier = SF_TIER_TF32;
    ck_assert_int_eq (s_search (a, 100, &t, NULL), 0);
    sf_search_opts_t bias = o;
    bias.bias = true;
    ck_assert_int_eq (s_search (a, 100, &bias, NULL), 0);
    sf_search_opts_t relu = o;
    relu.relu = true;
    ck_assert_int_eq (s_search (a, 100, &relu, NULL), 0);
    /* each of them now reuses its own */
    ck_assert_int_gt (s_search (wide, 100, &o, NULL), 0);
    ck_assert_int_gt (s_search (a, 100, &t, NULL), 0);
    ck_assert_int_gt (s_search (a, 100, &relu, NULL), 0);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&wide);
    sf_searchctx_destroy (&ctx);
}
END_TEST

/* ---- the kept child --------------------------------------------------------------- */

static void
s_no_gpu (void)
{
    setenv ("SPMMFARM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
}

/*  One child per context, restarted in place after a crash. */
START_TEST (test_ctx_keeps_child)
{
    s_no_gpu ();
    sf_searchctx_t *ctx = sf_searchctx_new (true);
    ck_assert_int_eq (sf_searchctx_children (ctx), 0);  /* none until asked */
    sf_measure_t *m = sf_searchctx_child (ctx, 0, 5);
    ck_assert_ptr_nonnull (m);
    ck_assert_ptr_eq (sf_searchctx_child (ctx, 0, 5), m);
    ck_assert_int_eq (sf_searchctx_children (ctx), 1);
    ck_assert_int_eq (sf_measure_ping (m, "ok", 10), SF_OK);
    ck_assert_int_eq (sf_measure_ping (m, "crash", 10), SF_ERR_CUDA);
    ck_assert_int_eq (sf_measure_ping (m, "ok", 10), SF_OK);  /* restarted by sf_measure */
    ck_assert_int_eq (sf_measure_restarts (m), 1);
    ck_assert_ptr_eq (sf_searchctx_child (ctx, 0, 5), m);
    ck_assert_int_eq (sf_searchctx_children (ctx), 1);
    /* another GPU: another child */
    ck_assert_ptr_nonnull (sf_searchctx_child (ctx, 1, 5));
    ck_assert_int_eq (sf_searchctx_children (ctx), 2);
    /* a second hold keeps it alive */
    sf_searchctx_t *held = sf_searchctx_ref (ctx);
    sf_searchctx_destroy (&ctx);
    ck_assert_int_eq (sf_searchctx_children (held), 2);
    sf_searchctx_destroy (&held);
}
END_TEST

/*  cuda searches through a context borrow its child: two searches start
    one child, and what they meet is that child's answer (it has no GPU:
    "the measuring child has no GPU"), not the refusal a search's own
    child gives when it cannot open one. */
START_TEST (test_search_borrows_child)
{
    s_no_gpu ();
    sf_searchctx_t *ctx = sf_searchctx_new (true);
    sf_matrix_t *a = sf_matrix_new_random (64, 96, 0.8, 3);
    sf_search_opts_t o = s_opts (ctx);
    o.backend = SF_BACKEND_CUDA;
    for (int i = 0; i < 2; i++) {
        sf_search_result_t r;
        int rc = sf_search_run (a, 100, &o, &r);
        sf_search_result_free (&r);
        ck_assert_int_eq (rc, SF_ERR_NODEVICE);
        ck_assert_msg (strstr (sf_error_message (), "the measuring child has no GPU"), "%s", sf_error_message ());
        ck_assert_int_eq (sf_searchctx_children (ctx), 1);
    }
    sf_search_opts_t alone = s_opts (NULL);
    alone.backend = SF_BACKEND_CUDA;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 100, &alone, &r), SF_ERR_NODEVICE);
    sf_search_result_free (&r);
    ck_assert_msg (!strstr (sf_error_message (), "the measuring child has no GPU"), "%s", sf_error_message ());
    ck_assert_int_eq (sf_searchctx_children (ctx), 1);
    sf_matrix_destroy (&a);
    sf_searchctx_destroy (&ctx);
}
END_TEST

int
main (int argc, char **argv)
{
    if (argc == 4 && strcmp (argv[1], "__measure-child") == 0)
        return sf_measure_child_main (atoi (argv[2]), atoi (argv[3]));
    Suite *s = suite_create ("timememo");
    TCase *tc = tcase_create ("memo");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_memo_keys);
    tcase_add_test (tc, test_memo_refuses);
    tcase_add_test (tc, test_memo_bound);
    tcase_add_test (tc, test_memo_disabled);
    tcase_add_test (tc, test_search_reuses_same_shape);
    tcase_add_test (tc, test_search_keys_apart);
    tcase_add_test (tc, test_ctx_keeps_child);
    tcase_add_test (tc, test_search_borrows_child);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
