/*  tests/sf_check_io.h: what the Check suites of the matrix readers share
    (check_matrix_io, check_tensor): test data paths, a scratch directory,
    small files written on the spot, and assertions on a read's result or
    its failure (status, place, words). */
#ifndef SF_CHECK_IO_H_INCLUDED
#define SF_CHECK_IO_H_INCLUDED

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"

static inline const char *
sf_test_env (const char *name, const char *fallback)
{
    const char *value = getenv (name);
    return value && *value ? value : fallback;
}

/*  tests/data/NAME; valid until the next call. */
static inline const char *
sf_test_data (const char *name)
{
    static char path[4096];
    snprintf (path, sizeof path, "%s/tests/data/%s", sf_test_env ("SF_TOP_SRCDIR", "."), name);
    return path;
}

static inline int
sf_test_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static char sf_test_scratch_dir[256];

static inline void
sf_test_remove_scratch (void)
{
    nftw (sf_test_scratch_dir, sf_test_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*  A fresh scratch directory, removed when the test's process exits
    normally (each test runs in its own forked process); a failed assertion
    leaves through _exit() and so keeps it for a look. */
static inline const char *
sf_test_scratch (void)
{
    ck_assert_msg (sf_test_scratch_dir[0] == '\0', "one scratch directory per test");
    snprintf (sf_test_scratch_dir, sizeof sf_test_scratch_dir, "%s/sf-matrix-io-XXXXXX",
              sf_test_env ("TMPDIR", "/tmp"));
    ck_assert_ptr_nonnull (mkdtemp (sf_test_scratch_dir));
    atexit (sf_test_remove_scratch);
    return sf_test_scratch_dir;
}

/*  Writes bytes to DIR/NAME and returns the path (static, one at a time). */
static inline const char *
sf_test_write (const char *dir, const char *name, const void *bytes, size_t len)
{
    static char path[512];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "wb");
    ck_assert_ptr_nonnull (f);
    ck_assert_uint_eq (fwrite (bytes, 1, len, f), len);
    ck_assert_int_eq (fclose (f), 0);
    return path;
}

static inline const char *
sf_test_write_text (const char *dir, const char *name, const char *text)
{
    return sf_test_write (dir, name, text, strlen (text));
}

/*  Asserts that reading path fails with status and a message that starts
    with the path and the place (":LINE:" or ": byte N:") and mentions words. */
static inline void
sf_test_expect_failure (const char *path, const char *tensor, int status, const char *place,
                  const char *words)
{
    sf_read_opts_t opts = { tensor, 0 };
    sf_error_clear ();
    sf_matrix_t *m = sf_matrix_read (path, &opts);
    const char *msg = sf_error_message ();
    ck_assert_msg (m == NULL, "%s: read succeeded", path);
    ck_assert_msg (sf_error_last () == status, "%s: status %s (%s), wanted %s", path,
                   sf_strerror (sf_error_last ()), msg, sf_strerror (status));
    char prefix[4200];
    snprintf (prefix, sizeof prefix, "%s%s", path, place);
    ck_assert_msg (strncmp (msg, prefix, strlen (prefix)) == 0, "'%s' does not start with '%s'",
                   msg, prefix);
    ck_assert_msg (strstr (msg, words) != NULL, "'%s' does not mention '%s'", msg, words);
}

/*  Compares a matrix with expected CSR arrays. */
static inline void
sf_test_expect_csr (const sf_matrix_t *m, int32_t rows, int32_t cols, const int32_t *row_ptr,
              const int32_t *col_idx, const float *values)
{
    ck_assert_ptr_nonnull (m);
    ck_assert_int_eq (sf_matrix_rows (m), rows);
    ck_assert_int_eq (sf_matrix_cols (m), cols);
    for (int32_t r = 0; r <= rows; r++)
        ck_assert_int_eq (sf_matrix_row_ptr (m)[r], row_ptr[r]);
    for (int32_t p = 0; p < row_ptr[rows]; p++) {
        ck_assert_int_eq (sf_matrix_col_idx (m)[p], col_idx[p]);
        if (values)
            ck_assert_msg (sf_matrix_values (m)[p] == values[p], "value %d is %.9g, wanted %.9g",
                           p, (double) sf_matrix_values (m)[p], (double) values[p]);
    }
}

/*  A .npy file made here: a version 1.0 header around data. */
static inline const char *
sf_test_npy (const char *dir, const char *name, const char *dict, const void *data, size_t len)
{
    unsigned char bytes[512];
    size_t hlen = strlen (dict) + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    memcpy (bytes, "\x93NUMPY\x01\x00", 8);
    bytes[8] = (unsigned char) hlen;
    bytes[9] = (unsigned char) (hlen >> 8);
    memset (bytes + 10, ' ', hlen);
    memcpy (bytes + 10, dict, strlen (dict));
    bytes[10 + hlen - 1] = '\n';
    memcpy (bytes + 10 + hlen, data, len);
    return sf_test_write (dir, name, bytes, 10 + hlen + len);
}

#endif
