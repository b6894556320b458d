/*  Check suite of the matrix readers' dtypes and shapes: float64 rounded to
    float32 (and what it changed), 4-D convolution weights read as their
    im2col matrix, and checkpoints (.safetensors and a sharded index) listed
    tensor by tensor. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "tests/sf_check_io.h"
#include "common/sf_checkpoint.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"

/* ---- float64, convolutions, checkpoints ----------------------------------- */

START_TEST (test_float64_rounded)
{
    /* [[0.1, 0, 1], [0, 1e-50, -2.5]]: 0.1 rounds, 1e-50 becomes 0. */
    sf_read_info_t info;
    sf_matrix_t *m = sf_matrix_read_info (sf_test_data ("good_f64.npy"), NULL, &info);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    const int32_t ptr[] = { 0, 2, 3 }, idx[] = { 0, 2, 2 };
    const float val[] = { 0.1f, 1.0f, -2.5f };
    sf_test_expect_csr (m, 2, 3, ptr, idx, val);
    ck_assert_str_eq (info.dtype, "float64");
    ck_assert_int_eq (info.ndim, 2);
    ck_assert_int_eq (info.rounded, 2);
    ck_assert_int_eq (info.underflowed, 1);
    double want = fabs ((double) 0.1f - 0.1) / 0.1;
    ck_assert_double_eq_tol (info.max_rel_change, want, 1e-15);
    ck_assert (info.max_rel_change > 1e-9 && info.max_rel_change < 6e-8);
    /* The same values as F64 in a checkpoint, directly and through the
       sharded index: the same matrix. */
    sf_read_opts_t opts = { "fc.weight", 0 };
    sf_matrix_t *st = sf_matrix_read_info (sf_test_data ("ckpt.safetensors"), &opts, &info);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    ck_assert (sf_matrix_equal (m, st));
    ck_assert_int_eq (info.rounded, 2);
    sf_matrix_t *sharded = sf_matrix_read (sf_test_data ("ckpt.safetensors.index.json"), &opts);
    ck_assert_msg (sharded != NULL, "%s", sf_error_message ());
    ck_assert (sf_matrix_equal (m, sharded));
    sf_matrix_destroy (&sharded);
    sf_matrix_destroy (&st);
    sf_matrix_destroy (&m);
    /* float32 input: nothing is counted. */
    m = sf_matrix_read_info (sf_test_data ("good_f32.npy"), NULL, &info);
    ck_assert_str_eq (info.dtype, "float32");
    ck_assert_int_eq (info.rounded, 0);
    sf_matrix_destroy (&m);
}
END_TEST

START_TEST (test_conv_lowered_to_im2col)
{
    /* 2 x 3 x 2 x 2, element (o, i, y, x) = o*12 + i*4 + y*2 + x + 1 when
       odd: row o of the 2 x 12 matrix holds columns i*4 + y*2 + x. */
    sf_read_info_t info;
    sf_matrix_t *m = sf_matrix_read_info (sf_test_data ("good_conv.npy"), NULL, &info);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    const int32_t ptr[] = { 0, 6, 12 };
    const int32_t idx[] = { 0, 2, 4, 6, 8, 10, 0, 2, 4, 6, 8, 10 };
    const float val[] = { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23 };
    sf_test_expect_csr (m, 2, 12, ptr, idx, val);
    ck_assert_int_eq (info.ndim, 4);
    ck_assert_int_eq (info.dims[0], 2);
    ck_assert_int_eq (info.dims[1], 3);
    ck_assert_int_eq (info.dims[2], 2);
    ck_assert_int_eq (info.dims[3], 2);
    /* The checkpoint's copy, and through the index. */
    sf_read_opts_t opts = { "conv.weight", 0 };
    sf_matrix_t *st = sf_matrix_read_info (sf_test_data ("ckpt.safetensors"), &opts, &info);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    ck_assert (sf_matrix_equal (m, st));
    ck_assert_int_eq (info.ndim, 4);
    ck_assert_int_eq (info.dims[3], 2);
    sf_matrix_destroy (&st);
    st = sf_matrix_read (sf_test_data ("ckpt.safetensors.index.json"), &opts);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    ck_assert (sf_matrix_equal (m, st));
    sf_matrix_destroy (&st);
    sf_matrix_destroy (&m);
    /* Two weight tensors: a name is needed; ranks 1, 3 and 5 are refused. */
    sf_test_expect_failure (sf_test_data ("ckpt.safetensors"), NULL, SF_ERR_INVALID, ": byte 8:",
                      "2 weight tensors (2-D or 4-D); name the one to read: conv.weight, fc.weight");
    sf_test_expect_failure (sf_test_data ("ckpt.safetensors"), "conv.bias", SF_ERR_UNSUPPORTED, ": byte ",
                      "1 dimension; a weight matrix has 2 (or 4");
    sf_test_expect_failure (sf_test_data ("ckpt.safetensors"), "steps", SF_ERR_UNSUPPORTED, ": byte ",
                      "1 dimension");
    const char *dir = sf_test_scratch ();
    const float one[4] = { 1.0f, 0.0f, 0.0f, 1.0f };
    sf_test_expect_failure (sf_test_npy (dir, "five.npy", "{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (1, 1, 2, 2, 1), }", one, 16), NULL, SF_ERR_UNSUPPORTED,
                      ": byte 60:", "the array has 5 dimensions; a weight matrix has 2 (or 4: "
                      "a convolution's O x I x kh x kw");
    sf_test_expect_failure (sf_test_npy (dir, "conv0.npy", "{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (1, 0, 2, 2), }", one, 0), NULL, SF_ERR_RANGE,
                      ": byte 60:", "shape (1, 0, 2, 2) out of range");
    /* I*kh*kw beyond 2^31-1 columns is refused before any allocation. */
    sf_test_expect_failure (sf_test_npy (dir, "wide.npy", "{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (1, 65536, 256, 256), }", one, 16), NULL, SF_ERR_RANGE,
                      ": byte 60:", "exceeds 2147483647 columns");
    /* A sharded checkpoint needs a tensor name. */
    sf_test_expect_failure (sf_test_data ("ckpt.safetensors.index.json"), NULL, SF_ERR_INVALID, ": ",
                      "a sharded checkpoint: name the tensor");
    sf_test_expect_failure (sf_test_data ("ckpt.safetensors.index.json"), "nope", SF_ERR_NOTFOUND, ": ",
                      "no tensor 'nope' in the weight map");
}
END_TEST

START_TEST (test_checkpoint_tensors)
{
    /* Listed by common/sf_checkpoint in name order; nonzeros counted from
       each tensor's data, in one file or in its shard. */
    static const char *names[] = { "conv.bias", "conv.weight", "fc.bias", "fc.weight", "steps" };
    static const int64_t nonzeros[] = { 1, 12, 0, 4, 1 }, elements[] = { 2, 24, 2, 6, 1 };
    const char *files[] = { "ckpt.safetensors", "ckpt.safetensors.index.json" };
    for (int f = 0; f < 2; f++) {
        sf_checkpoint_t *ck = sf_checkpoint_open (sf_test_data (files[f]));
        ck_assert_msg (ck != NULL, "%s", sf_error_message ());
        ck_assert_int_eq (sf_checkpoint_count (ck), 5);
        ck_assert_int_eq (sf_checkpoint_shards (ck), f == 0 ? 1 : 2);
        for (int i = 0; i < 5; i++) {
            const sf_checkpoint_tensor_t *t = sf_checkpoint_at (ck, i);
            ck_assert_str_eq (t->name, names[i]);
            int64_t nz = -1, el = -1;
            ck_assert_msg (sf_safetensors_count_nonzero (t->file, t->name, &nz, &el) == SF_OK, "%s",
                           sf_error_message ());
            ck_assert_int_eq (nz, nonzeros[i]);
            ck_assert_int_eq (el, elements[i]);
        }
        sf_checkpoint_destroy (&ck);
    }
    /* Counting checks the data's size against the shape; names a missing
       tensor. */
    int64_t nz, el;
    ck_assert_int_eq (sf_safetensors_count_nonzero (sf_test_data ("bad_count.safetensors"), "w", &nz, &el),
                      SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "hold 20 bytes"));
    ck_assert_int_eq (sf_safetensors_count_nonzero (sf_test_data ("ckpt.safetensors"), "nope", &nz, &el),
                      SF_ERR_NOTFOUND);
    /* Reading through an index whose shard lacks the tensor it maps. */
    sf_read_opts_t opts = { "conv.weight", 0 };
    ck_assert_ptr_null (sf_matrix_read (sf_test_data ("bad_index.safetensors.index.json"), &opts));
    ck_assert_int_eq (sf_error_last (), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "does not hold it"));
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("tensor");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_float64_rounded);
    tcase_add_test (tc, test_conv_lowered_to_im2col);
    tcase_add_test (tc, test_checkpoint_tensors);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
