/*  check_coord_plan: the coordinator's campaign planning on its own
    (coordinator/sf_plan): a GPU type's SM count, a sweep layer's configs,
    the stored answer to a layer, the sweep configs the store already
    measured. Real LMDB stores; no coordinator, no sockets (the end-to-end
    paths are in check_coord). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_campaign.h"
#include "coordinator/sf_plan.h"
#include "proxygen/sf_space.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "proxygen/sf_cost.h"
#include "worker/sf_search.h"

#define S_TYPE "H100/sm_90/132sm"

START_TEST (test_sm_count)
{
    ck_assert_int_eq (sf_plan_sm_count (S_TYPE), 132);
    ck_assert_int_eq (sf_plan_sm_count ("sim/h100-model/132sm"), 132);
    ck_assert_int_eq (sf_plan_sm_count ("x/8sm"), 8);
    ck_assert_int_eq (sf_plan_sm_count ("H100"), 0);
    ck_assert_int_eq (sf_plan_sm_count (""), 0);
    ck_assert_int_eq (sf_plan_sm_count ("H100/sm_90"), 0);
    ck_assert_int_eq (sf_plan_sm_count ("H100/sm_90/0sm"), 0);
    ck_assert_int_eq (sf_plan_sm_count ("H100/sm_90/-4sm"), 0);
    ck_assert_int_eq (sf_plan_sm_count ("H100/sm_90/65536sm"), 0);
    ck_assert_int_eq (sf_plan_sm_count ("H100/sm_90/sm"), 0);
}
END_TEST

/*  Every legal U and D config of the problem, as the sweep enumerates them
    (U's first: *nu_p of them). */
static int
s_space (const sf_matrix_t *m, int64_t n, int sm, sf_config_t *all, int max, int *nu_p)
{
    sf_space_problem_t sp = { sf_matrix_rows (m), sf_matrix_cols (m), n, sf_matrix_nnz (m), sm, false, false,
                              false };
    int nu = sf_space_u (&sp, all, max, NULL);
    ck_assert_int_gt (nu, 0);
    int nd = sf_space_d (&sp, all + nu, max - nu, NULL);
    ck_assert_int_gt (nd, 0);
    *nu_p = nu;
    return nu + nd;
}

static int
s_index_of (const sf_config_t *c, const sf_config_t *all, int total)
{
    char a[SF_CONFIG_TEXT_MAX], b[SF_CONFIG_TEXT_MAX];
    sf_config_text (c, a);
    for (int i = 0; i < total; i++)
        if (strcmp (a, sf_config_text (&all[i], b)) == 0)
            return i;
    return -1;
}

START_TEST (test_sweep_configs)
{
    sf_matrix_t *m = sf_matrix_new_random (64, 48, 0.8, 3);
    static sf_config_t all[SF_PLAN_SPACE_MAX];
    int nu = 0;
    int total = s_space (m, 256, 132, all, SF_PLAN_SPACE_MAX, &nu);
    ck_assert_int_gt (total, 40);
    /* enough configs that the even spacing reaches the D configs (after U's) */
    int count = total / (total - nu) + 2;
    ck_assert_int_le (count, 64);
    sf_config_t a[64], b[64];
    ck_assert_int_eq (sf_plan_sweep_configs (m, 256, 132, 0, 0, a, count), count);
    /* legal, evenly spread over the space in its order, both templates */
    bool seen_u = false, seen_d = false;
    for (int i = 0; i < count; i++) {
        int at = s_index_of (&a[i], all, total);
        ck_assert_msg (at >= 0, "config %d is not legal", i);
        ck_assert_int_eq (at, (int) ((int64_t) i * total / count));
        seen_u |= a[i].tmpl == SF_TEMPLATE_U;
        seen_d |= a[i].tmpl == SF_TEMPLATE_D;
    }
    ck_assert (seen_u && seen_d);
    /* the same seed, the same sample; another seed shifts it, around the space */
    ck_assert_int_eq (sf_plan_sweep_configs (m, 256, 132, 0, 0, b, count), count);
    ck_assert_int_eq (memcmp (a, b, (size_t) count * sizeof *a), 0);
    ck_assert_int_eq (sf_plan_sweep_configs (m, 256, 132, 0, 5, b, count), count);
    ck_assert_int_eq (s_index_of (&b[0], all, total), 5);
    int last = (int) (((int64_t) (count - 1) * total / count + 5) % total);
    ck_assert_int_eq (s_index_of (&b[count - 1], all, total), last);
    ck_assert_int_eq (sf_plan_sweep_configs (m, 256, 132, 0, (uint64_t) total + 5, b, count), count);
    ck_assert_int_eq (s_index_of (&b[0], all, total), 5);
    /* asking for more than the space holds gives the whole space once */
    sf_config_t *every = calloc ((size_t) total + 8, sizeof *every);
    ck_assert_int_eq (sf_plan_sweep_configs (m, 256, 132, 0, 0, every, total + 8), total);
    for (int i = 0; i < total; i++)
        ck_assert_int_eq (s_index_of (&every[i], all, total), i);
    free (every);
    sf_matrix_destroy (&m);
}
END_TEST

/* ---- the store ---------------------------------------------------------- */

typedef struct {
    char *dir;
    sf_store_t *store;
    sf_matrix_t *a, *b;             /* two layers' matrices */
} s_fixture_t;

static void
s_open (s_fixture_t *fx)
{
    fx->dir = sf_check_dir_new ("coord-plan");
    fx->store = sf_store_open (fx->dir, SF_STORE_WRITER);
    ck_assert_msg (fx->store != NULL, "%s", sf_error_message ());
    fx->a = sf_matrix_new_random (32, 48, 0.8, 11);
    fx->b = sf_matrix_new_random (32, 48, 0.8, 12);
}

static void
s_close (s_fixture_t *fx)
{
    sf_matrix_destroy (&fx->a);
    sf_matrix_destroy (&fx->b);
    sf_store_destroy (&fx->store);
    sf_check_dir_destroy (&fx->dir);
}

static sf_store_layer_t
s_layer (const char *name, const sf_matrix_t *m, int64_t n, bool bias)
{
    sf_store_layer_t l;
    memset (&l, 0, sizeof l);
    snprintf (l.name, sizeof l.name, "%s", name);
    ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (m), l.matrix), SF_OK);
    l.n = n;
    l.bias = bias;
    return l;
}

/*  A campaign record of `layers` searched with request `req`. */
static sf_store_campaign_t
s_campaign (uint64_t id, sf_campaign_state state, const char *gpu_type, const sf_request_t *req,
            sf_store_layer_t *layers, uint32_t count)
{
    sf_store_campaign_t c;
    memset (&c, 0, sizeof c);
    c.id = id;
    c.state = state;
    snprintf (c.name, sizeof c.name, "c%llu", (unsigned long long) id);
    snprintf (c.gpu_type, sizeof c.gpu_type, "%s", gpu_type);
    sf_campaign_set_request (&c, req);
    c.layers = layers;
    c.layer_count = count;
    c.created_ms = 1;
    return c;
}

/*  Stores campaign c and a best of `us` for its layer `layer`. */
static void
s_put (s_fixture_t *fx, const sf_store_campaign_t *c, uint32_t layer, double us)
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, c), SF_OK);
    sf_store_best_t best;
    memset (&best, 0, sizeof best);
    best.tmpl = SF_TEMPLATE_U;
    snprintf (best.config, sizeof best.config, "U:r4.v4.t128.g1.o0.none");
    best.us = us;
    best.err = 1e-7;
    best.sgemm_us = best.tf32_us = best.cusparse_us = NAN;
    best.recorded_ms = 1;
    ck_assert_int_eq (sf_store_batch_put_best (batch, c->id, layer, &best), SF_OK);
    ck_assert_int_eq (sf_store_commit (fx->store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
}

START_TEST (test_answer)
{
    s_fixture_t fx;
    s_open (&fx);
    sf_request_t req;
    sf_request_init (&req);
    req.max_configs = 4;
    /* campaign 1, done: layers (a, 64) and (b, 64 with bias); a best for the second */
    sf_store_layer_t done_layers[2] = { s_layer ("x", fx.a, 64, false), s_layer ("y", fx.b, 64, true) };
    sf_store_campaign_t done = s_campaign (1, SF_CAMPAIGN_DONE, S_TYPE, &req, done_layers, 2);
    s_put (&fx, &done, 1, 7.5);
    /* campaign 2 asks for (b, 64, bias) as its layer 1: answered by 1's layer 1 */
    sf_store_layer_t want_layers[2] = { s_layer ("p", fx.a, 128, false), s_layer ("q", fx.b, 64, true) };
    sf_store_campaign_t want = s_campaign (2, SF_CAMPAIGN_QUEUED, S_TYPE, &req, want_layers, 2);
    sf_plan_answer_t ans;
    ck_assert (sf_plan_answer (fx.store, &want, 1, &ans));
    ck_assert_uint_eq (ans.from, 1);
    ck_assert_str_eq (ans.gpu_type, S_TYPE);
    ck_assert (ans.best.us == 7.5);
    /* layer 0 differs in N; 1's layer 0 has no best anyway */
    ck_assert (!sf_plan_answer (fx.store, &want, 0, &ans));
    ck_assert_uint_eq (ans.from, 0);
    /* a GPU type not yet known takes any; another GPU type is another answer */
    want.gpu_type[0] = '\0';
    ck_assert (sf_plan_answer (fx.store, &want, 1, &ans));
    ck_assert_str_eq (ans.gpu_type, S_TYPE);
    snprintf (want.gpu_type, sizeof want.gpu_type, "A100/sm_80/108sm");
    ck_assert (!sf_plan_answer (fx.store, &want, 1, &ans));
    snprintf (want.gpu_type, sizeof want.gpu_type, "%s", S_TYPE);
    /* the layer's epilogue is part of the problem */
    want_layers[1].bias = false;
    ck_assert (!sf_plan_answer (fx.store, &want, 1, &ans));
    want_layers[1].bias = true;
    /* another search (more configs) is not answered by this one */
    sf_request_t more = req;
    more.max_configs = 8;
    sf_store_campaign_t other = s_campaign (2, SF_CAMPAIGN_QUEUED, S_TYPE, &more, want_layers, 2);
    ck_assert (!sf_plan_answer (fx.store, &other, 1, &ans));
    /* a campaign never answers itself */
    sf_store_campaign_t self = done;
    ck_assert (!sf_plan_answer (fx.store, &self, 1, &ans));
    /* nor does one still running, or cancelled; done_with_failures does */
    done.state = SF_CAMPAIGN_RUNNING;
    s_put (&fx, &done, 1, 7.5);
    ck_assert (!sf_plan_answer (fx.store, &want, 1, &ans));
    done.state = SF_CAMPAIGN_CANCELLED;
    s_put (&fx, &done, 1, 7.5);
    ck_assert (!sf_plan_answer (fx.store, &want, 1, &ans));
    done.state = SF_CAMPAIGN_DONE_WITH_FAILURES;
    s_put (&fx, &done, 1, 6.5);
    ck_assert (sf_plan_answer (fx.store, &want, 1, &ans));
    ck_assert (ans.best.us == 6.5);
    s_close (&fx);
}
END_TEST

/*  Stores a result of config c for layer (m, n) on gpu_type. */
static void
s_put_result (s_fixture_t *fx, const char *gpu_type, const sf_matrix_t *m, int64_t n, const sf_config_t *c,
              bool proxy, sf_tier tier)
{
    sf_store_result_key_t key;
    memset (&key, 0, sizeof key);
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", gpu_type);
    ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (m), key.matrix), SF_OK);
    key.n = n;
    key.tmpl = c->tmpl;
    sf_config_text (c, key.config);
    key.proxy = proxy;
    key.tier = tier;
    key.l2_cold = sf_record_search_l2_cold (NULL, n);  /* as the ledger records an auto campaign's */
    sf_store_result_t v = { .status = SF_OK, .l2_cold = key.l2_cold, .us = 3.0, .spread_us = 0, .p10_us = NAN,
                            .p90_us = NAN, .err = NAN, .recorded_ms = 1 };
    sf_store_batch_t *batch = sf_store_batch_new ();
    ck_assert_int_eq (sf_store_batch_put_result (batch, &key, &v), SF_OK);
    ck_assert_int_eq (sf_store_commit (fx->store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
}

START_TEST (test_unmeasured)
{
    s_fixture_t fx;
    s_open (&fx);
    sf_request_t req;
    sf_request_init (&req);
    req.max_configs = 6;
    sf_store_layer_t layers[1] = { s_layer ("x", fx.a, 64, false) };
    sf_store_campaign_t c = s_campaign (3, SF_CAMPAIGN_QUEUED, S_TYPE, &req, layers, 1);
    int64_t nnz = sf_matrix_nnz (fx.a);
    bool u_proxy = sf_cost_u_as_proxy (nnz);
    /* three U configs, then three D configs */
    static sf_config_t all[SF_PLAN_SPACE_MAX];
    int nu = 0;
    s_space (fx.a, 64, 132, all, SF_PLAN_SPACE_MAX, &nu);
    ck_assert_int_ge (nu, 3);
    sf_config_t configs[6] = { all[0], all[1], all[2], all[nu], all[nu + 1], all[nu + 2] }, left[6];
    int first_d = 3;
    /* nothing stored: all six are left, in order */
    memcpy (left, configs, sizeof left);
    ck_assert_int_eq (sf_plan_unmeasured (fx.store, &c, 0, nnz, left, 6), 6);
    ck_assert_int_eq (memcmp (left, configs, sizeof left), 0);
    /* results of another GPU type, N, tier, or U's other kind of timing do not count */
    s_put_result (&fx, "A100/sm_80/108sm", fx.a, 64, &configs[0], u_proxy, SF_TIER_FP32);
    s_put_result (&fx, S_TYPE, fx.a, 65, &configs[0], u_proxy, SF_TIER_FP32);
    s_put_result (&fx, S_TYPE, fx.a, 64, &configs[0], u_proxy, SF_TIER_BF16);
    s_put_result (&fx, S_TYPE, fx.a, 64, &configs[0], !u_proxy, SF_TIER_FP32);
    s_put_result (&fx, S_TYPE, fx.b, 64, &configs[0], u_proxy, SF_TIER_FP32);
    ck_assert_int_eq (sf_plan_unmeasured (fx.store, &c, 0, nnz, left, 6), 6);
    /* U config 0 and the first D config (a full kernel: D has no proxy) are measured */
    s_put_result (&fx, S_TYPE, fx.a, 64, &configs[0], u_proxy, SF_TIER_FP32);
    s_put_result (&fx, S_TYPE, fx.a, 64, &configs[first_d], false, SF_TIER_FP32);
    memcpy (left, configs, sizeof left);
    ck_assert_int_eq (sf_plan_unmeasured (fx.store, &c, 0, nnz, left, 6), 4);
    int k = 0;
    for (int i = 0; i < 6; i++)
        if (i != 0 && i != first_d) {
            ck_assert_int_eq (memcmp (&left[k], &configs[i], sizeof left[k]), 0);
            k++;
        }
    /* the campaign's tier is part of the key */
    c.search.tier = SF_TIER_BF16;
    memcpy (left, configs, sizeof left);
    ck_assert_int_eq (sf_plan_unmeasured (fx.store, &c, 0, nnz, left, 6), 5);
    s_close (&fx);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("coord_plan");
    TCase *tc = tcase_create ("coord_plan");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_sm_count);
    tcase_add_test (tc, test_sweep_configs);
    tcase_add_test (tc, test_answer);
    tcase_add_test (tc, test_unmeasured);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    sf_log_set_level (SF_LOG_ERROR);
    return sf_check_run (s_suite ());
}
