/*  Check suite of the rank model's feature versions (sf_features,
    sf_rankmodel_has_features): version 2 appended D's encoding and filled
    shared_bytes for the slab kernel; a version-1 model (the shipped H100
    model is one) still ranks, and scores exactly as it did on version 1's
    vectors, because it never splits on shared_bytes; a model with version
    1's names that does split on it is refused. Each test is also an
    example of the API. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_dkernel.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_rankdata.h"
#include "rankmodel/sf_rankmodel.h"

#define S_N 512
#define S_SMS 132

static const char *const s_configs[] = {
    "U:r4.v2.t32.g1.o0.m64.none", "U:r8.v4.t64.g1.o1.m96.nnz", "D:r2.v1.t64.g1.o0.none",
    "D:r1.v4.t64.g2.o0.e1.none", "D:r1.v4.t64.g2.o0.e2.none", "D:r2.v2.t128.g1.o0.e2.sim",
    "D:r1.v4.t64.g2.o0.none",
};
#define S_CONFIGS ((int) (sizeof s_configs / sizeof s_configs[0]))

static void
s_parse_all (sf_config_t *c)
{
    for (int i = 0; i < S_CONFIGS; i++)
        ck_assert_msg (sf_config_parse (s_configs[i], &c[i]) == SF_OK, "%s: %s", s_configs[i], sf_error_message ());
}

START_TEST (test_version_2_features)
{
    ck_assert_int_eq (SF_FEATURES_VERSION, 2);
    ck_assert_int_eq (SF_FEATURES_COUNT, SF_FEATURES_V1_COUNT + 2);
    ck_assert_str_eq (sf_features_name (SF_FEATURES_V1_COUNT - 1), "thread_fmas_max");  /* version 1's last */
    ck_assert_str_eq (sf_features_name (SF_F_D_UNION), "d_union");
    ck_assert_str_eq (sf_features_name (SF_F_D_SLAB), "d_slab");
    sf_matrix_t *a = sf_matrix_new_random (256, 384, 0.8, 3);
    sf_features_t *f = sf_features_new (a, S_N, S_SMS);
    sf_config_t c[S_CONFIGS];
    s_parse_all (c);
    float x[SF_FEATURES_COUNT];
    for (int i = 0; i < S_CONFIGS; i++) {
        ck_assert_int_eq (sf_features_of (f, &c[i], x), SF_OK);
        bool d = c[i].tmpl == SF_TEMPLATE_D;
        ck_assert_float_eq (x[SF_F_D_UNION], d && c[i].encoding == SF_D_UNION);
        ck_assert_float_eq (x[SF_F_D_SLAB], d && c[i].encoding == SF_D_SLAB);
        /* B staged in shared memory: the slab kernel's, as its launch takes it */
        if (d && c[i].encoding == SF_D_SLAB) {
            ck_assert_float_gt (x[SF_F_SHARED_BYTES], 0);
            ck_assert_float_eq (x[SF_F_SHARED_BYTES], (float) sf_dkernel_shared_bytes (&c[i], 384));
        } else
            ck_assert_float_eq (x[SF_F_SHARED_BYTES], 0);
    }
    sf_features_destroy (&f);
    sf_matrix_destroy (&a);
}
END_TEST

/*  The shipped H100 model (features version 1) ranks on this build: its
    scores equal XGBoost's on version 1's exact vectors (shared_bytes 0,
    45 values), for U, D rows, union and slab configs. */
START_TEST (test_v1_model_scores_as_before)
{
    const char *top = getenv ("SF_TOP_SRCDIR");
    char path[4096];
    snprintf (path, sizeof path, "%s/conf/rankmodels/h100-sxm-80gb-v2.json", top && *top ? top : ".");
    sf_rankmodel_t *m = sf_rankmodel_load_file (path);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_rankmodel_cols (m), SF_FEATURES_V1_COUNT);
    ck_assert (sf_rankmodel_has_features (m));
    sf_matrix_t *a = sf_matrix_new_random (256, 384, 0.8, 3);
    sf_config_t c[S_CONFIGS];
    s_parse_all (c);
    double ranked[S_CONFIGS], direct[S_CONFIGS];
    ck_assert_int_eq (sf_rankmodel_rank (m, a, S_N, S_SMS, c, S_CONFIGS, ranked), SF_OK);
    sf_features_t *f = sf_features_new (a, S_N, S_SMS);
    float v1[S_CONFIGS * SF_FEATURES_V1_COUNT], x[SF_FEATURES_COUNT];
    for (int i = 0; i < S_CONFIGS; i++) {
        ck_assert_int_eq (sf_features_of (f, &c[i], x), SF_OK);
        x[SF_F_SHARED_BYTES] = 0;  /* as version 1 computed it */
        memcpy (v1 + i * SF_FEATURES_V1_COUNT, x, SF_FEATURES_V1_COUNT * sizeof *x);
    }
    ck_assert_int_eq (sf_rankmodel_predict (m, v1, S_CONFIGS, direct), SF_OK);
    bool differ = false;
    for (int i = 0; i < S_CONFIGS; i++) {
        ck_assert_msg (ranked[i] == direct[i], "%s: %g ranked, %g on version 1's vector", s_configs[i], ranked[i],
                       direct[i]);
        differ |= i > 0 && ranked[i] != ranked[0];
    }
    ck_assert (differ);  /* the scores say something: not one constant */
    sf_features_destroy (&f);
    sf_matrix_destroy (&a);
    sf_rankmodel_destroy (&m);
}
END_TEST

/*  Trains a small model on the first `cols` features of this build's list
    (filler values; the time follows column `key` alone, so that the model
    splits on it) and reloads it from its JSON (the check a loaded model
    gets). */
static sf_rankmodel_t *
s_trained (int cols, int key)
{
    sf_rankdata_t d = { .cols = cols };
    for (int g = 0; g < 20; g++) {
        float x[8 * SF_FEATURES_COUNT];
        double us[8];
        for (int r = 0; r < 8; r++) {
            for (int j = 0; j < cols; j++)
                x[r * cols + j] = (float) ((g * 7 + r * 3 + j) % 11);
            x[r * cols + key] = (float) r;
            us[r] = 1.0 + r;
        }
        ck_assert_int_eq (sf_rankdata_add_group (&d, x, us, 8), SF_OK);
    }
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    p.rounds = 5;
    p.holdout = 0;
    sf_rankmodel_t *m = NULL;
    ck_assert_msg (sf_rankmodel_train (&p, &d, sf_features_names (), &m, NULL) == SF_OK, "%s", sf_error_message ());
    sf_rankdata_free (&d);
    char *json = NULL;
    size_t size = 0;
    ck_assert_int_eq (sf_rankmodel_save_json (m, &json, &size), SF_OK);
    sf_rankmodel_destroy (&m);
    m = sf_rankmodel_load_json (json, size);
    free (json);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    return m;
}

/*  A model with version 1's names that splits on shared_bytes would score
    slab configs differently on version 2: refused, not ranked. One that
    splits elsewhere is taken; a version-2 model is taken as it is. */
START_TEST (test_v1_names_split_on_shared_bytes_refused)
{
    sf_rankmodel_t *m = s_trained (SF_FEATURES_V1_COUNT, SF_F_SHARED_BYTES);
    ck_assert_int_eq (sf_rankmodel_cols (m), SF_FEATURES_V1_COUNT);
    ck_assert (!sf_rankmodel_has_features (m));
    sf_matrix_t *a = sf_matrix_new_random (64, 64, 0.8, 5);
    sf_config_t c[S_CONFIGS];
    s_parse_all (c);
    double s[S_CONFIGS];
    ck_assert_int_eq (sf_rankmodel_rank (m, a, S_N, S_SMS, c, S_CONFIGS, s), SF_ERR_INVALID);
    sf_rankmodel_destroy (&m);
    m = s_trained (SF_FEATURES_V1_COUNT, SF_F_VEC);
    ck_assert (sf_rankmodel_has_features (m));
    ck_assert_int_eq (sf_rankmodel_rank (m, a, S_N, S_SMS, c, S_CONFIGS, s), SF_OK);
    sf_rankmodel_destroy (&m);
    m = s_trained (SF_FEATURES_COUNT, SF_F_D_SLAB);
    ck_assert_int_eq (sf_rankmodel_cols (m), SF_FEATURES_COUNT);
    ck_assert (sf_rankmodel_has_features (m));
    ck_assert_int_eq (sf_rankmodel_rank (m, a, S_N, S_SMS, c, S_CONFIGS, s), SF_OK);
    ck_assert (s[4] != s[6]);  /* a slab config and the rows config of its knobs apart */
    sf_rankmodel_destroy (&m);
    sf_matrix_destroy (&a);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("rankmodel_v1");
    TCase *tc = tcase_create ("versions");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_version_2_features);
    tcase_add_test (tc, test_v1_model_scores_as_before);
    tcase_add_test (tc, test_v1_names_split_on_shared_bytes_refused);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
