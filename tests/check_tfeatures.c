/*  check_tfeatures: the rank model's features of template T candidates
    (rankmodel/sf_tfeatures): the tile counts of a hand-made matrix, the
    knobs and the geometry as sf_tkernel computes them, the encoded bytes
    against a real encoding, determinism and the refusals. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_tencode.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_tfeatures.h"

START_TEST (test_names)
{
    /* their own names: none is a U/D feature's name but the problem's */
    for (int i = 0; i < SF_TFEATURES_COUNT; i++) {
        ck_assert_ptr_nonnull (sf_tfeatures_name (i));
        for (int j = 0; j < i; j++)
            ck_assert_str_ne (sf_tfeatures_name (i), sf_tfeatures_name (j));
        bool shared = false;
        for (int j = 0; j < SF_FEATURES_COUNT; j++)
            shared = shared || strcmp (sf_tfeatures_name (i), sf_features_name (j)) == 0;
        ck_assert_msg (!shared || i < SF_TF_TILES || i == SF_TF_BLOCKS || i == SF_TF_BLOCK_THREADS
                           || i == SF_TF_SHARED_BYTES || i == SF_TF_BLOCKS_PER_SM || i == SF_TF_OCCUPANCY
                           || i == SF_TF_WAVES || i == SF_TF_WAVE_EFFICIENCY,
                       "%s", sf_tfeatures_name (i));
    }
    ck_assert_ptr_null (sf_tfeatures_name (SF_TFEATURES_COUNT));
    ck_assert_ptr_null (sf_tfeatures_name (-1));
    ck_assert_str_eq (sf_tfeatures_names ()[SF_TF_PREFILL], "t_prefill");
}
END_TEST

/*  40 x 50: a dense 16 x 16 tile at (0, 0), one nonzero at (20, 33) and a
    pair (39, 48), (39, 49): 3 nonempty tiles of 3 x 4 strips x k-tiles. */
static sf_matrix_t *
s_matrix (void)
{
    float *d = calloc (40 * 50, sizeof *d);
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++)
            d[r * 50 + c] = 1.0f + (float) (r + c);
    d[20 * 50 + 33] = -2.0f;
    d[39 * 50 + 48] = 3.0f;
    d[39 * 50 + 49] = 4.0f;
    sf_matrix_t *a = sf_matrix_new_dense (40, 50, d);
    free (d);
    ck_assert_ptr_nonnull (a);
    return a;
}

START_TEST (test_tiles_and_knobs)
{
    sf_matrix_t *a = s_matrix ();
    sf_tfeatures_t *t = sf_tfeatures_new (a, 24, 132);
    ck_assert_ptr_nonnull (t);
    sf_tconfig_t c = { SF_T_PAIR, 2, 1, 16, 2, 2, 2, 1, 1, 0 };
    float f[SF_TFEATURES_COUNT], again[SF_TFEATURES_COUNT];
    ck_assert_int_eq (sf_tfeatures_of (t, &c, f), SF_OK);
    ck_assert_float_eq (f[SF_TF_M], 40);
    ck_assert_float_eq (f[SF_TF_K], 50);
    ck_assert_float_eq (f[SF_TF_N], 24);
    ck_assert_float_eq (f[SF_TF_NNZ], 256 + 3);
    ck_assert_float_eq (f[SF_TF_TILES], 3);
    ck_assert_float_eq_tol (f[SF_TF_TILE_FILL], 259.0 / (3 * 256), 1e-6);
    ck_assert_float_eq_tol (f[SF_TF_PAIR_FILL], (128.0 + 1 + 1) / (3 * 128), 1e-6);
    /* strips hold 1, 1, 1 nonempty tiles: no spread */
    ck_assert_float_eq (f[SF_TF_STRIP_TILES_CV], 0);
    ck_assert_float_eq (f[SF_TF_ENC], 1);
    ck_assert_float_eq (f[SF_TF_WARPS], 2);
    ck_assert_float_eq (f[SF_TF_KSPLIT], 2);
    ck_assert_float_eq (f[SF_TF_ILP], 1);
    ck_assert_float_eq (f[SF_TF_BSTREAM], 1);
    ck_assert_float_eq (f[SF_TF_PREFILL], 0);
    /* 32-row blocks: 2 row blocks x 2 parts x 2 column blocks (N = 24, n 16) */
    sf_tgeom_t g;
    ck_assert_int_eq (sf_tkernel_geom (&c, 40, 50, &g), SF_OK);
    ck_assert_float_eq (f[SF_TF_ROWS_PER_BLOCK], 32);
    ck_assert_float_eq (f[SF_TF_BLOCKS], 2 * 2 * 2);
    ck_assert_float_eq (f[SF_TF_A_PASSES], 2);
    ck_assert_float_eq (f[SF_TF_TILES_PER_WARP], (float) g.part_tiles);
    ck_assert_float_eq (f[SF_TF_BLOCK_THREADS], 64);
    ck_assert (f[SF_TF_BLOCKS_PER_SM] >= 1 && f[SF_TF_OCCUPANCY] > 0 && f[SF_TF_OCCUPANCY] <= 1);
    ck_assert (f[SF_TF_WAVE_EFFICIENCY] > 0 && f[SF_TF_WAVE_EFFICIENCY] <= 1);
    /* the encoded bytes: a real encoding's, less its header, group offsets
       and each group's padding */
    void *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (sf_tencode (&c, SF_TIER_BF16, a, &data, &size), SF_OK);
    double overhead = (double) ((SF_TENC_HEADER_WORDS + g.total_groups + 1 + 3) / 4 * 4) * 4;
    ck_assert_double_le (fabs ((double) size - overhead - f[SF_TF_ENCODED_BYTES]), 15.0 * (double) g.total_groups);
    free (data);
    ck_assert (f[SF_TF_BYTES_BOUND_US] > 1.2f);
    /* e2 (24-byte tile headers): the same agreement with its encoding */
    sf_tconfig_t c2 = c;
    float f2[SF_TFEATURES_COUNT];
    c2.enc = SF_T_PAIR2;
    ck_assert_int_eq (sf_tfeatures_of (t, &c2, f2), SF_OK);
    ck_assert_int_eq (sf_tencode (&c2, SF_TIER_BF16, a, &data, &size), SF_OK);
    ck_assert_double_le (fabs ((double) size - overhead - f2[SF_TF_ENCODED_BYTES]), 15.0 * (double) g.total_groups);
    /* 4 bytes more a tile slot than e1 */
    double slots = (double) (g.row_blocks * g.rows / 16) * (double) (g.part_tiles * c.ksplit);
    ck_assert_double_eq_tol ((double) f2[SF_TF_ENCODED_BYTES] - f[SF_TF_ENCODED_BYTES], 4.0 * slots, 1e-3);
    free (data);
    /* deterministic */
    ck_assert_int_eq (sf_tfeatures_of (t, &c, again), SF_OK);
    ck_assert_int_eq (memcmp (f, again, sizeof f), 0);
    /* the prefill kernel reads as one */
    sf_tconfig_t pf = { SF_T_ELEM, 8, 1, 128, 1, 2, 2, 0, 0, 1 };
    ck_assert_int_eq (sf_tfeatures_of (t, &pf, f), SF_OK);
    ck_assert_float_eq (f[SF_TF_PREFILL], 1);
    ck_assert_float_eq (f[SF_TF_ROWS_PER_BLOCK], 128);
    ck_assert_float_eq (f[SF_TF_MMA_PER_TILE], 16);
    /* refusals */
    sf_tconfig_t bad = c;
    bad.warps = 3;
    ck_assert_int_eq (sf_tfeatures_of (t, &bad, f), SF_ERR_INVALID);
    sf_tconfig_t empty = { SF_T_PAIR, 2, 1, 16, 8, 2, 2, 0, 0, 0 };  /* 4 k-tiles in 8 parts */
    ck_assert_int_eq (sf_tfeatures_of (t, &empty, f), SF_ERR_RANGE);
    sf_tfeatures_destroy (&t);
    sf_tfeatures_destroy (&t);
    ck_assert_ptr_null (sf_tfeatures_new (a, 0, 132));
    ck_assert_ptr_null (sf_tfeatures_new (NULL, 16, 132));
    sf_matrix_destroy (&a);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("tfeatures");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_names);
    tcase_add_test (tc, test_tiles_and_knobs);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
