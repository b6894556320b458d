/*  Check suite of sf_matrix_io: reading the four formats, writing .mtx and
    .smtx, and every class of malformed input with the status and the place
    that its message names. Each test is also an example of the API. */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "tests/sf_check_io.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"

/* ---- helpers ------------------------------------------------------------ */

/*  A file of the shared DLMC collection. */
static const char *
s_dlmc (const char *relative)
{
    static char path[4096];
    snprintf (path, sizeof path, "%s/dlmc/%s", sf_test_env ("SF_SHARED_DATA", "../shared/data"),
              relative);
    return path;
}

static const char *const s_ffn_conv1 =
    "transformer/magnitude_pruning/0.9/body_encoder_layer_0_ffn_conv1_fully_connected.smtx";

static bool
s_same_bytes (const char *a, const char *b)
{
    char *x, *y;
    size_t nx, ny;
    ck_assert_int_eq (sf_matrix_io_load (a, &x, &nx), SF_OK);
    ck_assert_int_eq (sf_matrix_io_load (b, &y, &ny), SF_OK);
    bool same = nx == ny && memcmp (x, y, nx) == 0;
    free (x);
    free (y);
    return same;
}

/* ---- formats ------------------------------------------------------------ */

START_TEST (test_format_from_path)
{
    ck_assert_int_eq (sf_format_from_path ("w.smtx"), SF_FORMAT_SMTX);
    ck_assert_int_eq (sf_format_from_path ("dir/W.SMTX"), SF_FORMAT_SMTX);
    ck_assert_int_eq (sf_format_from_path ("a.b/w.Mtx"), SF_FORMAT_MTX);
    ck_assert_int_eq (sf_format_from_path ("w.npy"), SF_FORMAT_NPY);
    ck_assert_int_eq (sf_format_from_path ("model.SafeTensors"), SF_FORMAT_SAFETENSORS);
    ck_assert_int_eq (sf_format_from_path ("d/model.safetensors.index.json"),
                      SF_FORMAT_SAFETENSORS_INDEX);
    ck_assert_int_eq (sf_format_from_path ("d/.safetensors.index.json"), SF_FORMAT_UNKNOWN);
    ck_assert_int_eq (sf_format_from_path ("model.index.json"), SF_FORMAT_UNKNOWN);
    ck_assert_int_eq (sf_format_from_path ("w.mtx.gz"), SF_FORMAT_UNKNOWN);
    ck_assert_int_eq (sf_format_from_path ("run.mtx/weights"), SF_FORMAT_UNKNOWN);
    ck_assert_int_eq (sf_format_from_path ("mtx"), SF_FORMAT_UNKNOWN);
    ck_assert_int_eq (sf_format_from_path (NULL), SF_FORMAT_UNKNOWN);
    ck_assert_str_eq (sf_format_name (SF_FORMAT_SMTX), "smtx");
    ck_assert_str_eq (sf_format_name (SF_FORMAT_MTX), "mtx");
    ck_assert_str_eq (sf_format_name (SF_FORMAT_NPY), "npy");
    ck_assert_str_eq (sf_format_name (SF_FORMAT_SAFETENSORS), "safetensors");
    ck_assert_str_eq (sf_format_name (SF_FORMAT_SAFETENSORS_INDEX), "safetensors-index");
    ck_assert_str_eq (sf_format_name (SF_FORMAT_UNKNOWN), "unknown");
    ck_assert_str_eq (sf_format_name ((sf_format) 99), "unknown");
}
END_TEST

START_TEST (test_read_dispatch_errors)
{
    const char *dir = sf_test_scratch ();
    char path[512];
    snprintf (path, sizeof path, "%s/missing.mtx", dir);
    ck_assert_ptr_null (sf_matrix_read (path, NULL));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), path));
    /* A directory named like a matrix is an I/O error, not a crash. */
    snprintf (path, sizeof path, "%s/dir.smtx", dir);
    ck_assert_int_eq (mkdir (path, 0700), 0);
    ck_assert_ptr_null (sf_matrix_read (path, NULL));
    ck_assert_int_eq (sf_error_last (), SF_ERR_IO);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "directory"));
    /* A FIFO (it would block for a writer) and a device (it never ends)
       are refused at once (issue 24, 10). */
    snprintf (path, sizeof path, "%s/fifo.mtx", dir);
    ck_assert_int_eq (mkfifo (path, 0600), 0);
    ck_assert_ptr_null (sf_matrix_read (path, NULL));
    ck_assert_int_eq (sf_error_last (), SF_ERR_IO);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "a FIFO"));
    snprintf (path, sizeof path, "%s/zero.npy", dir);
    ck_assert_int_eq (symlink ("/dev/zero", path), 0);
    ck_assert_ptr_null (sf_matrix_read (path, NULL));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "a device"));
    /* A header token of 16 unprintable bytes is shown escaped, each as 4
       characters: the message buffer once overflowed (found by fuzz_smtx). */
    ck_assert_ptr_null (sf_matrix_read (sf_test_write_text (dir, "t.smtx", "2000\xff\xff\xff\xff\xff\xff\xff\xff\xff"
                                                     "\xff\xff\xff\xff\xff\xff\xff""0 3 3, 5 16\n"), NULL));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "\\xff\\xff\\xff\\xff"));
    ck_assert_ptr_null (sf_matrix_read (sf_test_write_text (dir, "w.txt", "1 2 3\n"), NULL));
    ck_assert_int_eq (sf_error_last (), SF_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "w.txt"));
    sf_read_opts_t opts = { "weight", 0 };
    ck_assert_ptr_null (sf_matrix_read (sf_test_data ("good_real.mtx"), &opts));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
}
END_TEST

/* ---- .smtx -------------------------------------------------------------- */

START_TEST (test_smtx_dlmc_ffn_conv1)
{
    /* The acceptance check, and the hash pinned: a DLMC pattern
       with the default seed must always be the same matrix. */
    sf_matrix_t *m = sf_matrix_read (s_dlmc (s_ffn_conv1), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_matrix_rows (m), 2048);
    ck_assert_int_eq (sf_matrix_cols (m), 512);
    ck_assert_int_eq (sf_matrix_nnz (m), 104857);
    ck_assert_str_eq (sf_matrix_hash (m),
                      "064665d07a83ce21557ef534fcdfc4d204e30894902740fe3015fe3a0ea698a9");
    /* Values come from the seed in CSR order: seed 0 means the default. */
    sf_matrix_t *seeded = sf_matrix_new_reseeded (m, SF_MATRIX_DEFAULT_SEED);
    ck_assert (sf_matrix_equal (m, seeded));
    sf_read_opts_t zero = { NULL, 0 }, other = { NULL, 7 };
    sf_matrix_t *m0 = sf_matrix_read (s_dlmc (s_ffn_conv1), &zero);
    sf_matrix_t *m7 = sf_matrix_read (s_dlmc (s_ffn_conv1), &other);
    ck_assert (sf_matrix_equal (m, m0));
    ck_assert_str_ne (sf_matrix_hash (m), sf_matrix_hash (m7));
    ck_assert_mem_eq (sf_matrix_col_idx (m), sf_matrix_col_idx (m7), 104857 * sizeof (int32_t));
    sf_matrix_destroy (&seeded);
    sf_matrix_destroy (&m0);
    sf_matrix_destroy (&m7);
    sf_matrix_destroy (&m);
}
END_TEST

/*  Reads one DLMC file, checks it against its own first line, and checks
    that writing it back gives the very same bytes. */
static void
s_check_dlmc_file (const char *path, const char *scratch)
{
    FILE *f = fopen (path, "r");
    ck_assert_ptr_nonnull (f);
    long rows, cols, nnz;
    ck_assert_int_eq (fscanf (f, "%ld, %ld, %ld", &rows, &cols, &nnz), 3);
    fclose (f);
    sf_matrix_t *m = sf_smtx_read (path, 0);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_matrix_rows (m), rows);
    ck_assert_int_eq (sf_matrix_cols (m), cols);
    ck_assert_int_eq (sf_matrix_nnz (m), nnz);
    char copy[512];
    snprintf (copy, sizeof copy, "%s/copy.smtx", scratch);
    ck_assert_int_eq (sf_matrix_write (m, copy), SF_OK);
    ck_assert_msg (s_same_bytes (path, copy), "%s: written back differently", path);
    sf_matrix_destroy (&m);
}

START_TEST (test_smtx_dlmc_collection)
{
    const char *scratch = sf_test_scratch ();
    char dirname[4096];
    snprintf (dirname, sizeof dirname, "%s", s_dlmc ("transformer/magnitude_pruning/0.9"));
    DIR *dir = opendir (dirname);
    ck_assert_msg (dir != NULL, "no %s", dirname);
    int files = 0;
    struct dirent *e;
    while ((e = readdir (dir)) != NULL) {
        if (sf_format_from_path (e->d_name) != SF_FORMAT_SMTX)
            continue;
        char path[8192];
        snprintf (path, sizeof path, "%s/%s", dirname, e->d_name);
        s_check_dlmc_file (path, scratch);
        files++;
    }
    closedir (dir);
    ck_assert_int_eq (files, 6);
    /* The biggest ResNet-50 layer reads in well under a second (about
       0.05 s on a workstation; SF_TEST_NO_TIMING=1 skips the bound, e.g.
       under valgrind). */
    const char *rn50 = s_dlmc ("rn50/magnitude_pruning/0.8/"
                               "bottleneck_2_block_group_projection_block_group4.smtx");
    s_check_dlmc_file (rn50, scratch);
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    sf_matrix_t *m = sf_smtx_read (rn50, 0);
    clock_gettime (CLOCK_MONOTONIC, &t1);
    double seconds = (double) (t1.tv_sec - t0.tv_sec) + 1e-9 * (double) (t1.tv_nsec - t0.tv_nsec);
    ck_assert_ptr_nonnull (m);
    if (!getenv ("SF_TEST_NO_TIMING"))
        ck_assert_msg (seconds < 0.5, "reading %d nonzeros took %.3f s", sf_matrix_nnz (m),
                       seconds);
    sf_matrix_destroy (&m);
}
END_TEST

START_TEST (test_smtx_unsorted_rows_are_canonicalized)
{
    /* Row 0 lists columns 4 0 2: read as 0 2 4; values seeded in CSR order. */
    sf_matrix_t *m = sf_matrix_read (sf_test_data ("good_unsorted.smtx"), NULL);
    const int32_t row_ptr[] = { 0, 3, 3, 6 }, col_idx[] = { 0, 2, 4, 0, 1, 4 };
    float values[6];
    sf_matrix_seeded_values (values, 6, SF_MATRIX_DEFAULT_SEED);
    sf_test_expect_csr (m, 3, 5, row_ptr, col_idx, values);
    /* The same pattern as a shuffled pattern .mtx is the same matrix. */
    sf_matrix_t *pattern = sf_matrix_read (sf_test_data ("good_pattern.mtx"), NULL);
    ck_assert_ptr_nonnull (pattern);
    ck_assert (sf_matrix_equal (m, pattern));
    ck_assert_str_eq (sf_matrix_hash (m), sf_matrix_hash (pattern));
    sf_matrix_destroy (&pattern);
    sf_matrix_destroy (&m);
}
END_TEST

START_TEST (test_smtx_more_malformed)
{
    const char *dir = sf_test_scratch ();
    /* Adjacent repeat: named with both entries. */
    sf_test_expect_failure (sf_test_write_text (dir, "adj.smtx", "2, 9, 3\n0 2 3 \n5 5 1 \n"), NULL,
                      SF_ERR_FORMAT, ":3:", "row 0 holds column 5 twice (entries 0 and 1)");
    sf_test_expect_failure (sf_test_write_text (dir, "extra.smtx", "2, 9, 3\n0 2 3 \n5 6 1 7 \n"), NULL,
                      SF_ERR_FORMAT, ":3:", "more than the 3 column indices");
    sf_test_expect_failure (sf_test_write_text (dir, "after.smtx", "2, 9, 3\n0 2 3 \n5 6 1 \n\nx\n"), NULL,
                      SF_ERR_FORMAT, ":5:", "unexpected 'x'");
    sf_test_expect_failure (sf_test_write_text (dir, "first.smtx", "2, 9, 3\n1 2 3 \n5 6 1 \n"), NULL,
                      SF_ERR_FORMAT, ":2:", "first row offset");
    sf_test_expect_failure (sf_test_write_text (dir, "short.smtx", "3, 9, 3\n0 2 3 \n5 6 1 \n"), NULL,
                      SF_ERR_FORMAT, ":2:", "the line ends after 3 of 4 row offsets");
    sf_test_expect_failure (sf_test_write_text (dir, "letter.smtx", "2, 9, 3\n0 2 3 \n5 six 1 \n"), NULL,
                      SF_ERR_FORMAT, ":3:", "found 'six'");
    sf_test_expect_failure (sf_test_write_text (dir, "dims.smtx", "0, 9, 0\n0 \n\n"), NULL, SF_ERR_RANGE,
                      ":1:", "at least one row");
    sf_test_expect_failure (sf_test_write_text (dir, "huge.smtx", "2, 9, 99999999999\n0 1 2\n0 1\n"), NULL,
                      SF_ERR_RANGE, ":1:", "exceeds");
    sf_test_expect_failure (sf_test_write_text (dir, "toomany.smtx", "2, 2, 5\n0 2 5 \n0 1 0 1 1 \n"), NULL,
                      SF_ERR_RANGE, ":1:", "do not fit");
    /* Columns cost nothing to read but everything downstream: bounded. */
    sf_test_expect_failure (sf_test_write_text (dir, "wide.smtx", "1, 2000000000, 1\n0 1 \n7 \n"), NULL,
                      SF_ERR_RANGE, ":1:", "columns");
    /* CRLF line ends and an empty third line are fine. */
    sf_matrix_t *m = sf_matrix_read (sf_test_write_text (dir, "crlf.smtx", "2, 3, 0\r\n0 0 0 \r\n\r\n"),
                                     NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_matrix_nnz (m), 0);
    sf_matrix_destroy (&m);
}
END_TEST

/* ---- .mtx --------------------------------------------------------------- */

START_TEST (test_mtx_good_files)
{
    /* Real: comments, blank lines, unsorted, explicit zero (2, 3) dropped. */
    const int32_t real_ptr[] = { 0, 3, 3, 5 }, real_idx[] = { 0, 1, 3, 0, 1 };
    const float real_val[] = { 1.0f, -3.0f, 0.225f, 0.5f, -1.5f };
    sf_matrix_t *m = sf_matrix_read (sf_test_data ("good_real.mtx"), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    sf_test_expect_csr (m, 3, 4, real_ptr, real_idx, real_val);
    sf_matrix_destroy (&m);
    /* Integer with CRLF line ends and signed values. */
    const int32_t int_ptr[] = { 0, 2, 3 }, int_idx[] = { 0, 2, 2 };
    const float int_val[] = { 4.0f, 12.0f, -7.0f };
    m = sf_matrix_read (sf_test_data ("good_integer.mtx"), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    sf_test_expect_csr (m, 2, 3, int_ptr, int_idx, int_val);
    sf_matrix_destroy (&m);
    /* Pattern: values from the seed, like .smtx. */
    sf_read_opts_t opts = { NULL, 99 };
    m = sf_matrix_read (sf_test_data ("good_pattern.mtx"), &opts);
    float seeded[6];
    sf_matrix_seeded_values (seeded, 6, 99);
    const int32_t pat_ptr[] = { 0, 3, 3, 6 }, pat_idx[] = { 0, 2, 4, 0, 1, 4 };
    sf_test_expect_csr (m, 3, 5, pat_ptr, pat_idx, seeded);
    sf_matrix_destroy (&m);
}
END_TEST

START_TEST (test_mtx_more_malformed)
{
    const char *dir = sf_test_scratch ();
    const char *banner = "%%MatrixMarket matrix coordinate real general\n";
    char text[512];
    snprintf (text, sizeof text, "%s2 2 1\n0 1 1.0\n", banner);
    sf_test_expect_failure (sf_test_write_text (dir, "zero.mtx", text), NULL, SF_ERR_RANGE, ":3:",
                      "row index 0 out of range 1..2");
    snprintf (text, sizeof text, "%s2 2 1\n1 1 1e40\n", banner);
    sf_test_expect_failure (sf_test_write_text (dir, "over.mtx", text), NULL, SF_ERR_RANGE, ":3:",
                      "too large for a float");
    snprintf (text, sizeof text, "%s2 2 1\n1 1\n", banner);
    sf_test_expect_failure (sf_test_write_text (dir, "novalue.mtx", text), NULL, SF_ERR_FORMAT, ":3:",
                      "expected a value");
    snprintf (text, sizeof text, "%s2 2 1\n1 1 1.0 2.0\n", banner);
    sf_test_expect_failure (sf_test_write_text (dir, "twovalues.mtx", text), NULL, SF_ERR_FORMAT, ":3:",
                      "unexpected '2.0'");
    snprintf (text, sizeof text, "%s2 2 1\n1 1 1,5\n", banner);
    sf_test_expect_failure (sf_test_write_text (dir, "comma.mtx", text), NULL, SF_ERR_FORMAT, ":3:",
                      "expected a real value");
    snprintf (text, sizeof text, "%s2000000000 1 1\n1 1 1.0\n", banner);
    sf_test_expect_failure (sf_test_write_text (dir, "tall.mtx", text), NULL, SF_ERR_RANGE, ":2:",
                      "may not exceed the file's size");
    snprintf (text, sizeof text, "%s2 2 5\n", banner);
    sf_test_expect_failure (sf_test_write_text (dir, "fit.mtx", text), NULL, SF_ERR_RANGE, ":2:",
                      "do not fit");
    sf_test_expect_failure (sf_test_write_text (dir, "int.mtx", "%%MatrixMarket matrix coordinate integer "
                                    "general\n2 2 1\n1 1 1.5\n"), NULL, SF_ERR_FORMAT, ":3:",
                      "expected an integer value");
    sf_test_expect_failure (sf_test_write_text (dir, "pat.mtx", "%%MatrixMarket matrix coordinate pattern "
                                    "general\n2 2 1\n1 1 1.0\n"), NULL, SF_ERR_FORMAT, ":3:",
                      "a pattern entry has no value");
    sf_test_expect_failure (sf_test_write_text (dir, "short.mtx", "%%MatrixMarket matrix coordinate\n"), NULL,
                      SF_ERR_FORMAT, ":1:", "the banner ends before");
    sf_test_expect_failure (sf_test_write_text (dir, "vector.mtx", "%%MatrixMarket vector coordinate real "
                                    "general\n"), NULL, SF_ERR_UNSUPPORTED, ":1:", "vector");
    sf_test_expect_failure (sf_test_write_text (dir, "herm.mtx", "%%MatrixMarket matrix coordinate real "
                                    "Hermitian\n"), NULL, SF_ERR_UNSUPPORTED, ":1:", "Hermitian");
    sf_test_expect_failure (sf_test_write_text (dir, "skew.mtx", "%%MatrixMarket matrix coordinate real "
                                    "skew-symmetric\n"), NULL, SF_ERR_UNSUPPORTED, ":1:", "skew");
    sf_test_expect_failure (sf_test_write_text (dir, "field.mtx", "%%MatrixMarket matrix coordinate quaternion "
                                    "general\n"), NULL, SF_ERR_FORMAT, ":1:", "unknown field");
    /* An empty matrix is fine; so is a final line without a newline. */
    snprintf (text, sizeof text, "%s%% nothing\n4 4 0\n", banner);
    sf_matrix_t *m = sf_matrix_read (sf_test_write_text (dir, "empty.mtx", text), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_matrix_nnz (m), 0);
    sf_matrix_destroy (&m);
    snprintf (text, sizeof text, "%s1 1 1\n1 1 -2", banner);
    m = sf_matrix_read (sf_test_write_text (dir, "noeol.mtx", text), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert (sf_matrix_values (m)[0] == -2.0f);
    sf_matrix_destroy (&m);
}
END_TEST

/* ---- writing and round trips --------------------------------------------- */

START_TEST (test_roundtrip_generated)
{
    const char *dir = sf_test_scratch ();
    const struct { int64_t m, k; double s; uint64_t seed; } cases[] = {
        { 768, 768, 0.9, 1 }, { 64, 147, 0.95, 2 }, { 1, 1, 0.0, 3 }, { 7, 13, 1.0, 4 },
        { 300, 20, 0.99, 5 }, { 33, 65, 0.3, 6 }
    };
    char mtx[512], smtx[512];
    snprintf (mtx, sizeof mtx, "%s/w.mtx", dir);
    snprintf (smtx, sizeof smtx, "%s/w.smtx", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sf_matrix_t *a = sf_matrix_new_random (cases[i].m, cases[i].k, cases[i].s, cases[i].seed);
        ck_assert_ptr_nonnull (a);
        /* .mtx keeps every value bit: the same hash. */
        ck_assert_int_eq (sf_matrix_write (a, mtx), SF_OK);
        sf_matrix_t *b = sf_matrix_read (mtx, NULL);
        ck_assert_msg (b != NULL, "%s", sf_error_message ());
        ck_assert (sf_matrix_equal (a, b));
        ck_assert_str_eq (sf_matrix_hash (a), sf_matrix_hash (b));
        /* .smtx keeps the pattern; values come back from the seed. */
        ck_assert_int_eq (sf_matrix_write (a, smtx), SF_OK);
        sf_read_opts_t opts = { NULL, 1234 };
        sf_matrix_t *c = sf_matrix_read (smtx, &opts);
        ck_assert_msg (c != NULL, "%s", sf_error_message ());
        sf_matrix_t *want = sf_matrix_new_reseeded (a, 1234);
        ck_assert (sf_matrix_equal (c, want));
        sf_matrix_destroy (&want);
        sf_matrix_destroy (&a);
        sf_matrix_destroy (&b);
        sf_matrix_destroy (&c);
    }
    /* Awkward floats survive too: subnormal, extremes, 1/3. */
    const int32_t row_ptr[] = { 0, 4 }, col_idx[] = { 0, 1, 2, 3 };
    const float values[] = { 1e-45f, -3.4028235e38f, 1.0f / 3.0f, 1.17549435e-38f };
    int32_t *rp = malloc (sizeof row_ptr), *ci = malloc (sizeof col_idx);
    float *v = malloc (sizeof values);
    memcpy (rp, row_ptr, sizeof row_ptr);
    memcpy (ci, col_idx, sizeof col_idx);
    memcpy (v, values, sizeof values);
    sf_matrix_t *odd = sf_matrix_new_csr (1, 4, &rp, &ci, &v);
    ck_assert_int_eq (sf_mtx_write (odd, mtx), SF_OK);
    sf_matrix_t *back = sf_mtx_read (mtx, 0);
    sf_test_expect_csr (back, 1, 4, row_ptr, col_idx, values);
    sf_matrix_destroy (&back);
    sf_matrix_destroy (&odd);
}
END_TEST

START_TEST (test_write_formats_and_errors)
{
    const char *dir = sf_test_scratch ();
    sf_matrix_t *m = sf_matrix_new_random (3, 4, 0.5, 1);
    char path[512];
    snprintf (path, sizeof path, "%s/w.smtx", dir);
    ck_assert_int_eq (sf_smtx_write (m, path), SF_OK);
    /* DLMC's layout to the byte: a space after every number. */
    char *text;
    size_t len;
    ck_assert_int_eq (sf_matrix_io_load (path, &text, &len), SF_OK);
    ck_assert_str_eq (text, "3, 4, 6\n0 2 3 6 \n2 3 1 1 2 3 \n");
    free (text);
    snprintf (path, sizeof path, "%s/w.mtx", dir);
    ck_assert_int_eq (sf_matrix_write (m, path), SF_OK);
    ck_assert_int_eq (sf_matrix_io_load (path, &text, &len), SF_OK);
    ck_assert_int_eq (strncmp (text, "%%MatrixMarket matrix coordinate real general\n% ", 48), 0);
    ck_assert_ptr_nonnull (strstr (text, "spmmfarm"));
    ck_assert_ptr_nonnull (strstr (text, sf_matrix_hash (m)));
    free (text);

    snprintf (path, sizeof path, "%s/w.csv", dir);
    ck_assert_int_eq (sf_matrix_write (m, path), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "w.csv"));
    snprintf (path, sizeof path, "%s/w.npy", dir);
    ck_assert_int_eq (sf_matrix_write (m, path), SF_ERR_UNSUPPORTED);
    snprintf (path, sizeof path, "%s/no/such/dir/w.mtx", dir);
    ck_assert_int_eq (sf_matrix_write (m, path), SF_ERR_IO);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), path));
    /* Nothing but the two files written above is left in the directory. */
    DIR *d = opendir (dir);
    int entries = 0;
    for (struct dirent *e; (e = readdir (d)) != NULL;)
        entries += e->d_name[0] != '.';
    closedir (d);
    ck_assert_int_eq (entries, 2);
    sf_matrix_destroy (&m);
}
END_TEST

START_TEST (test_failed_write_leaves_old_file)
{
    /* A write that fails halfway (the file size limit; this test runs in
       its own forked process) must leave the previous file as it was and
       no temporary file behind. */
    const char *dir = sf_test_scratch ();
    const char *old = sf_test_write_text (dir, "w.mtx", "previous content\n");
    char path[512];
    snprintf (path, sizeof path, "%s", old);
    signal (SIGXFSZ, SIG_IGN);
    struct rlimit limit = { 4096, 4096 };
    ck_assert_int_eq (setrlimit (RLIMIT_FSIZE, &limit), 0);
    sf_matrix_t *m = sf_matrix_new_random (200, 200, 0.5, 1);
    ck_assert_int_eq (sf_matrix_write (m, path), SF_ERR_IO);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), path));
    char *text;
    size_t len;
    ck_assert_int_eq (sf_matrix_io_load (path, &text, &len), SF_OK);
    ck_assert_str_eq (text, "previous content\n");
    free (text);
    DIR *d = opendir (dir);
    int entries = 0;
    for (struct dirent *e; (e = readdir (d)) != NULL;)
        entries += e->d_name[0] != '.';
    closedir (d);
    ck_assert_int_eq (entries, 1);
    sf_matrix_destroy (&m);
}
END_TEST

/* ---- .npy --------------------------------------------------------------- */

START_TEST (test_f16_converter_exhaustive)
{
    /* Every one of the 65536 half-precision values against its definition. */
    for (uint32_t h = 0; h < 65536; h++) {
        int exponent = (int) (h >> 10) & 0x1f, mantissa = (int) h & 0x3ff;
        float sign = (h & 0x8000) ? -1.0f : 1.0f;
        float got = sf_matrix_io_f16_to_float ((uint16_t) h);
        if (exponent == 31 && mantissa != 0) {
            ck_assert_msg (isnan (got), "0x%04x should be NaN", h);
            continue;
        }
        float want = exponent == 31 ? sign * INFINITY
                   : exponent == 0 ? sign * ldexpf ((float) mantissa, -24)
                                   : sign * ldexpf ((float) (mantissa + 1024), exponent - 25);
        ck_assert_msg (memcmp (&got, &want, 4) == 0, "0x%04x: %.9g, wanted %.9g", h,
                       (double) got, (double) want);
    }
    ck_assert (sf_matrix_io_bf16_to_float (0x3f80) == 1.0f);
    ck_assert (sf_matrix_io_bf16_to_float (0xc040) == -3.0f);
    ck_assert (isinf (sf_matrix_io_bf16_to_float (0xff80)));
    ck_assert (isnan (sf_matrix_io_bf16_to_float (0x7fc1)));
}
END_TEST

START_TEST (test_npy_good_files)
{
    /* f32 3 x 4; -0.0 is a zero, so pruned. */
    const int32_t f32_ptr[] = { 0, 2, 2, 4 }, f32_idx[] = { 0, 2, 1, 3 };
    const float f32_val[] = { 1.5f, -2.0f, 0.25f, 3.0f };
    sf_matrix_t *m = sf_matrix_read (sf_test_data ("good_f32.npy"), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    sf_test_expect_csr (m, 3, 4, f32_ptr, f32_idx, f32_val);
    sf_matrix_destroy (&m);
    /* f16: smallest subnormal, largest finite, -2, 0, 1, -0. */
    const int32_t f16_ptr[] = { 0, 3, 4 }, f16_idx[] = { 0, 1, 2, 1 };
    const float f16_val[] = { 5.96046448e-8f, 65504.0f, -2.0f, 1.0f };
    m = sf_npy_read (sf_test_data ("good_f16.npy"));
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    sf_test_expect_csr (m, 2, 3, f16_ptr, f16_idx, f16_val);
    sf_matrix_destroy (&m);
    /* Version 2.0, '=f4', Python 2 long dimensions. */
    const int32_t v2_ptr[] = { 0, 1, 2 }, v2_idx[] = { 1, 0 };
    const float v2_val[] = { 1.0f, 2.0f };
    m = sf_matrix_read (sf_test_data ("good_v2.npy"), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    sf_test_expect_csr (m, 2, 2, v2_ptr, v2_idx, v2_val);
    sf_matrix_destroy (&m);
    /* Version 3.0, '|f2', double quotes: 0x3555 and the largest subnormal. */
    const int32_t v3_ptr[] = { 0, 2 }, v3_idx[] = { 0, 2 };
    const float v3_val[] = { 0.333251953f, 6.09755516e-5f };
    m = sf_matrix_read (sf_test_data ("good_v3.npy"), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    sf_test_expect_csr (m, 1, 3, v3_ptr, v3_idx, v3_val);
    sf_matrix_destroy (&m);
}
END_TEST

START_TEST (test_npy_more_malformed)
{
    const char *dir = sf_test_scratch ();
    const float one[4] = { 1.0f, 0.0f, 0.0f, 1.0f };
    /* A large matrix streams through several chunks: a NaN near the end is
       still found at its exact place. */
    float *big = calloc (600 * 1000, sizeof *big);
    big[600 * 1000 - 3] = NAN;
    big[5] = 2.0f;
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (600, 1000), }";
    size_t hlen = strlen (dict) + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    unsigned char head[256];
    memcpy (head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char) hlen;
    head[9] = 0;
    memset (head + 10, ' ', hlen);
    memcpy (head + 10, dict, strlen (dict));
    head[10 + hlen - 1] = '\n';
    char path[512];
    snprintf (path, sizeof path, "%s/big.npy", dir);
    FILE *f = fopen (path, "wb");
    fwrite (head, 1, 10 + hlen, f);
    fwrite (big, sizeof *big, 600 * 1000, f);
    fclose (f);
    char place[64];
    snprintf (place, sizeof place, ": byte %zu:", 10 + hlen + (600 * 1000 - 3) * 4);
    sf_test_expect_failure (path, NULL, SF_ERR_FORMAT, place, "element (599, 997) is NaN");
    big[600 * 1000 - 3] = 0.0f;
    f = fopen (path, "wb");
    fwrite (head, 1, 10 + hlen, f);
    fwrite (big, sizeof *big, 600 * 1000, f);
    fclose (f);
    sf_matrix_t *m = sf_npy_read (path);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_matrix_nnz (m), 1);
    ck_assert_int_eq (sf_matrix_col_idx (m)[0], 5);
    sf_matrix_destroy (&m);
    free (big);

    sf_test_expect_failure (sf_test_npy (dir, "zero.npy", "{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (0, 4), }", "", 0), NULL, SF_ERR_RANGE, ": byte ",
                      "out of range");
    sf_test_expect_failure (sf_test_npy (dir, "onedim.npy", "{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (4,), }", one, 16), NULL, SF_ERR_UNSUPPORTED, ": byte ",
                      "1 dimension");
    sf_test_expect_failure (sf_test_npy (dir, "key.npy", "{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (2, 2), 'extra': 1, }", one, 16), NULL, SF_ERR_FORMAT,
                      ": byte ", "unknown key 'extra'");
    sf_test_expect_failure (sf_test_npy (dir, "nokey.npy", "{'descr': '<f4', 'shape': (2, 2), }", one, 16),
                      NULL, SF_ERR_FORMAT, ": byte 10:", "no 'fortran_order' key");
    sf_test_expect_failure (sf_test_npy (dir, "int.npy", "{'descr': '<i4', 'fortran_order': False, "
                             "'shape': (2, 2), }", one, 16), NULL, SF_ERR_UNSUPPORTED,
                      ": byte 20:", "'<i4'");
    sf_test_expect_failure (sf_test_npy (dir, "struct.npy", "{'descr': [('a', '<f4')], 'fortran_order': "
                             "False, 'shape': (2, 2), }", one, 16), NULL, SF_ERR_UNSUPPORTED,
                      ": byte 20:", "structured");
    sf_test_expect_failure (sf_test_write (dir, "tiny.npy", "\x93NUMPY\x02\x00\x10", 9), NULL,
                      SF_ERR_FORMAT, ": byte 0:", "not a .npy file");
    sf_test_expect_failure (sf_test_write (dir, "v4.npy", "\x93NUMPY\x04\x00\x10\x00\x00\x00", 12), NULL,
                      SF_ERR_UNSUPPORTED, ": byte 6:", "version 4.0");
}
END_TEST

/* ---- .safetensors ------------------------------------------------------- */

START_TEST (test_safetensors_by_name)
{
    const char *path = sf_test_data ("good.safetensors");
    /* F32 [[1, 0, -2], [0, 0, 0.5]] */
    sf_matrix_t *m = sf_safetensors_read (path, "w_f32");
    const int32_t f32_ptr[] = { 0, 2, 3 }, f32_idx[] = { 0, 2, 2 };
    const float f32_val[] = { 1.0f, -2.0f, 0.5f };
    sf_test_expect_csr (m, 2, 3, f32_ptr, f32_idx, f32_val);
    sf_matrix_destroy (&m);
    /* F16 [[0, 1], [-2, 65504]] */
    sf_read_opts_t opts = { "w_f16", 0 };
    m = sf_matrix_read (path, &opts);
    const int32_t f16_ptr[] = { 0, 1, 3 }, f16_idx[] = { 1, 0, 1 };
    const float f16_val[] = { 1.0f, -2.0f, 65504.0f };
    sf_test_expect_csr (m, 2, 2, f16_ptr, f16_idx, f16_val);
    sf_matrix_destroy (&m);
    /* BF16 [[1, 0], [-1, 0], [0, 3]] */
    m = sf_safetensors_read (path, "w_bf16");
    const int32_t bf_ptr[] = { 0, 1, 2, 3 }, bf_idx[] = { 0, 0, 1 };
    const float bf_val[] = { 1.0f, -1.0f, 3.0f };
    sf_test_expect_csr (m, 3, 2, bf_ptr, bf_idx, bf_val);
    sf_matrix_destroy (&m);

    /* Several 2-D tensors and no name: the message lists them. */
    sf_test_expect_failure (path, NULL, SF_ERR_INVALID, ": byte 8:",
                      "3 weight tensors (2-D or 4-D); name the one to read: w_bf16, w_f16, w_f32");
    sf_test_expect_failure (path, "nope", SF_ERR_NOTFOUND, ": byte 8:",
                      "no tensor 'nope' in the header (tensors: bias, w_bf16, w_f16, w_f32)");
    sf_test_expect_failure (path, "__metadata__", SF_ERR_NOTFOUND, ": byte 8:", "'__metadata__'");
    sf_test_expect_failure (path, "bias", SF_ERR_UNSUPPORTED, ": byte ", "1 dimension");

    char **names;
    int count;
    ck_assert_int_eq (sf_safetensors_list (path, &names, &count), SF_OK);
    ck_assert_int_eq (count, 3);
    ck_assert_str_eq (names[0], "w_bf16");
    ck_assert_str_eq (names[1], "w_f16");
    ck_assert_str_eq (names[2], "w_f32");
    for (int i = 0; i < count; i++)
        free (names[i]);
    free (names);
    ck_assert_int_eq (sf_safetensors_list (sf_test_data ("bad_absurd.safetensors"), &names, &count),
                      SF_ERR_RANGE);
    ck_assert_ptr_null (names);
    ck_assert_int_eq (count, 0);
}
END_TEST

START_TEST (test_safetensors_single_tensor)
{
    /* One 2-D tensor (and a 1-D bias): chosen without a name. */
    sf_matrix_t *m = sf_matrix_read (sf_test_data ("single.safetensors"), NULL);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    sf_matrix_t *named = sf_safetensors_read (sf_test_data ("single.safetensors"), "weight");
    ck_assert (sf_matrix_equal (m, named));
    ck_assert_int_eq (sf_matrix_nnz (m), 3);
    sf_matrix_destroy (&named);
    sf_matrix_destroy (&m);
}
END_TEST

/*  A .safetensors file made here from a header and data. */
static const char *
s_safetensors (const char *dir, const char *name, const char *json, const void *data,
               size_t len)
{
    unsigned char bytes[1024];
    size_t hlen = strlen (json);
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char) ((uint64_t) hlen >> (8 * i));
    memcpy (bytes + 8, json, hlen);
    memcpy (bytes + 8 + hlen, data, len);
    return sf_test_write (dir, name, bytes, 8 + hlen + len);
}

START_TEST (test_safetensors_more_malformed)
{
    const char *dir = sf_test_scratch ();
    const float data[4] = { 1.0f, 0.0f, 0.0f, 2.0f };
    sf_test_expect_failure (s_safetensors (dir, "twice.safetensors",
                                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], "
                                     "\"data_offsets\": [0, 16]}, \"w\": {\"dtype\": \"F32\", "
                                     "\"shape\": [2, 2], \"data_offsets\": [0, 16]}}", data, 16),
                      NULL, SF_ERR_FORMAT, ": byte 9:", "appears twice");
    sf_test_expect_failure (s_safetensors (dir, "neg.safetensors",
                                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -2], "
                                     "\"data_offsets\": [0, 16]}}", data, 16),
                      NULL, SF_ERR_FORMAT, ": byte 9:", "non-negative integer");
    sf_test_expect_failure (s_safetensors (dir, "order.safetensors",
                                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], "
                                     "\"data_offsets\": [16, 0]}}", data, 16),
                      NULL, SF_ERR_FORMAT, ": byte 9:", "begin <= end");
    sf_test_expect_failure (s_safetensors (dir, "array.safetensors", "[1, 2]", data, 16),
                      NULL, SF_ERR_FORMAT, ": byte 8:", "not a JSON object");
    sf_test_expect_failure (s_safetensors (dir, "pad.safetensors", "{}  x", data, 16),
                      NULL, SF_ERR_FORMAT, ": byte 12:", "after the header");
    sf_test_expect_failure (s_safetensors (dir, "empty.safetensors",
                                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [0, 2], "
                                     "\"data_offsets\": [0, 0]}}", data, 0),
                      NULL, SF_ERR_RANGE, ": byte 9:", "out of range");
    sf_test_expect_failure (sf_test_write (dir, "short.safetensors", "\x10\0\0", 3), NULL, SF_ERR_FORMAT,
                      ": byte 0:", "too short");
    sf_test_expect_failure (sf_test_write (dir, "past.safetensors", "\x40\0\0\0\0\0\0\0{}", 10), NULL,
                      SF_ERR_FORMAT, ": byte 0:", "runs past the end");
    /* The chosen tensor's name is in the message of a bad element. */
    const float inf[4] = { 1.0f, INFINITY, 0.0f, 2.0f };
    const char *json = "{\"layer.0\": {\"dtype\": \"F32\", \"shape\": [2, 2], "
                       "\"data_offsets\": [0, 16]}}  ";
    char place[32];
    snprintf (place, sizeof place, ": byte %zu:", 8 + strlen (json) + 4);
    sf_test_expect_failure (s_safetensors (dir, "inf.safetensors", json, inf, 16), "layer.0",
                      SF_ERR_FORMAT, place, "tensor 'layer.0': element (0, 1) is infinite");
}
END_TEST

/* ---- one malformed file per error class and format ------------------------ */

static const struct {
    const char *file, *tensor;
    int status;
    const char *place, *words;
} s_malformed[] = {
    { "bad_truncated.smtx", NULL, SF_ERR_FORMAT, ":3:", "truncated" },
    { "bad_count.smtx", NULL, SF_ERR_FORMAT, ":2:", "declares 6 nonzeros" },
    { "bad_offsets.smtx", NULL, SF_ERR_FORMAT, ":2:", "row offsets decrease" },
    { "bad_range.smtx", NULL, SF_ERR_RANGE, ":3:", "column index 20 out of range [0, 20)" },
    { "bad_duplicate.smtx", NULL, SF_ERR_FORMAT, ":3:", "row 0 holds column 14 twice" },
    { "bad_absurd.smtx", NULL, SF_ERR_FORMAT, ":1:", "2000000000 rows" },
    { "bad_header.smtx", NULL, SF_ERR_FORMAT, ":1:", "expected the number of rows" },
    { "bad_truncated.mtx", NULL, SF_ERR_FORMAT, ":6:", "after 3 of the 4 entries" },
    { "bad_count.mtx", NULL, SF_ERR_FORMAT, ":5:", "more entries than the 2 declared on line 2" },
    { "bad_range.mtx", NULL, SF_ERR_RANGE, ":6:", "row index 4 out of range 1..3" },
    { "bad_duplicate.mtx", NULL, SF_ERR_FORMAT, ":5:", "entry (2, 3) repeats the one on line 3" },
    { "bad_nan.mtx", NULL, SF_ERR_FORMAT, ":4:", "NaN" },
    { "bad_inf.mtx", NULL, SF_ERR_FORMAT, ":5:", "infinite" },
    { "bad_absurd.mtx", NULL, SF_ERR_FORMAT, ":2:", "1000000000 entries" },
    { "bad_header.mtx", NULL, SF_ERR_FORMAT, ":1:", "not a Matrix Market file" },
    { "unsupported_symmetric.mtx", NULL, SF_ERR_UNSUPPORTED, ":1:", "symmetric" },
    { "unsupported_complex.mtx", NULL, SF_ERR_UNSUPPORTED, ":1:", "complex" },
    { "unsupported_array.mtx", NULL, SF_ERR_UNSUPPORTED, ":1:", "array" },
    { "bad_truncated.npy", NULL, SF_ERR_FORMAT, ": byte 168:", "truncated" },
    { "bad_count.npy", NULL, SF_ERR_FORMAT, ": byte 176:", "4 bytes follow the data" },
    { "bad_nan.npy", NULL, SF_ERR_FORMAT, ": byte 152:", "element (1, 2) is NaN" },
    { "bad_inf.npy", NULL, SF_ERR_FORMAT, ": byte 136:", "element (1, 1) is infinite" },
    { "bad_absurd.npy", NULL, SF_ERR_FORMAT, ": byte 132:", "(2000000000, 2000000000)" },
    { "bad_absurd_header.npy", NULL, SF_ERR_RANGE, ": byte 8:", "header length 2147483647" },
    { "bad_magic.npy", NULL, SF_ERR_FORMAT, ": byte 0:", "not a .npy file" },
    { "bad_header.npy", NULL, SF_ERR_FORMAT, ": byte 26:", "expected ',' or '}'" },
    { "unsupported_i8.npy", NULL, SF_ERR_UNSUPPORTED, ": byte 20:", "'<i8'" },
    { "bad_range_f64.npy", NULL, SF_ERR_RANGE, ": byte 136:",
      "element (0, 1) = 1e+300 is beyond float32's range" },
    { "unsupported_bigendian.npy", NULL, SF_ERR_UNSUPPORTED, ": byte 20:", "big-endian" },
    { "unsupported_fortran.npy", NULL, SF_ERR_UNSUPPORTED, ": byte 44:", "Fortran" },
    { "unsupported_3d.npy", NULL, SF_ERR_UNSUPPORTED, ": byte 60:", "3 dimensions" },
    { "bad_truncated.safetensors", NULL, SF_ERR_FORMAT, ": byte 96:", "truncated" },
    { "bad_count.safetensors", NULL, SF_ERR_FORMAT, ": byte 80:", "hold 20 bytes" },
    { "bad_nan.safetensors", NULL, SF_ERR_FORMAT, ": byte 86:", "element (1, 1) is NaN" },
    { "bad_absurd.safetensors", NULL, SF_ERR_RANGE, ": byte 0:", "header length" },
    { "bad_header.safetensors", NULL, SF_ERR_FORMAT, ": byte 48:", "not valid JSON" },
    { "unsupported_dtype.safetensors", NULL, SF_ERR_UNSUPPORTED, ": byte 9:", "I64" },
    { "unsupported_3d.safetensors", NULL, SF_ERR_NOTFOUND, ": byte 8:", "no weight tensor" },
    { "unsupported_3d.safetensors", "w", SF_ERR_UNSUPPORTED, ": byte 9:", "3 dimensions" },
};

START_TEST (test_malformed_file)
{
    sf_test_expect_failure (sf_test_data (s_malformed[_i].file), s_malformed[_i].tensor,
                      s_malformed[_i].status, s_malformed[_i].place, s_malformed[_i].words);
}
END_TEST

static bool
s_have_dlmc (void)
{
    struct stat st;
    return stat (s_dlmc (s_ffn_conv1), &st) == 0;
}

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("matrix_io");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_format_from_path);
    tcase_add_test (tc, test_read_dispatch_errors);
    if (s_have_dlmc ()) {
        tcase_add_test (tc, test_smtx_dlmc_ffn_conv1);
        tcase_add_test (tc, test_smtx_dlmc_collection);
    } else {
        fprintf (stderr, "note: no DLMC data under %s: DLMC tests skipped\n",
                 sf_test_env ("SF_SHARED_DATA", "../shared/data"));
    }
    tcase_add_test (tc, test_smtx_unsorted_rows_are_canonicalized);
    tcase_add_test (tc, test_smtx_more_malformed);
    tcase_add_test (tc, test_mtx_good_files);
    tcase_add_test (tc, test_mtx_more_malformed);
    tcase_add_test (tc, test_roundtrip_generated);
    tcase_add_test (tc, test_write_formats_and_errors);
    tcase_add_test (tc, test_failed_write_leaves_old_file);
    tcase_add_test (tc, test_f16_converter_exhaustive);
    tcase_add_test (tc, test_npy_good_files);
    tcase_add_test (tc, test_npy_more_malformed);
    tcase_add_test (tc, test_safetensors_by_name);
    tcase_add_test (tc, test_safetensors_single_tensor);
    tcase_add_test (tc, test_safetensors_more_malformed);
    tcase_add_loop_test (tc, test_malformed_file, 0,
                         (int) (sizeof s_malformed / sizeof s_malformed[0]));
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
