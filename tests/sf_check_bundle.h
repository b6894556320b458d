/*  tests/sf_check_bundle.h: small bundles for check_bundle and check_rt.

    A "fake cubin" is an ELF64 header whose section table (empty) ends right
    after the entry point's name: the fake CUDA driver (tests/fake_libcuda.c)
    loads any such image and finds a function whose name occurs in it. */
#ifndef SF_CHECK_BUNDLE_H_INCLUDED
#define SF_CHECK_BUNDLE_H_INCLUDED

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/sf_bundle.h"
#include "common/sf_error.h"

/*  The fake cubin of `entry` (malloc'ed) and its size. */
static inline void *
sf_test_fake_cubin (const char *entry, size_t *size_p)
{
    size_t payload = strlen (entry) + 1, size = 64 + payload;
    unsigned char *image = calloc (1, size);
    ck_assert_ptr_nonnull (image);
    memcpy (image, "\177ELF\002\001\001", 7);
    uint64_t shoff = size;
    memcpy (image + 0x28, &shoff, sizeof shoff);  /* e_shoff; e_shentsize = e_shnum = 0 */
    memcpy (image + 64, entry, payload);
    *size_p = size;
    return image;
}

/*  A U layer with a fake cubin: order 1, vec 4, 32 threads x 4 = 128
    columns per block, 3 panel groups, bias and ReLU as asked. The cubin
    buffer goes to *cubin_p (caller frees after adding the layer). */
static inline sf_bundle_layer_t
sf_test_u_layer (const char *name, const char *entry, bool bias, void **cubin_p)
{
    size_t size;
    *cubin_p = sf_test_fake_cubin (entry, &size);
    sf_bundle_layer_t l = {
        .name = name, .m = 70, .k = 27, .n = 1000, .tmpl = "U",
        .config = "U:r16.v4.t32.g2.o1.m64.sim",
        .kernel = { .launch = { .block_threads = 64, .cols_per_block = 128, .panel_groups = 3, .order = 1,
                                .vec = 4, .shared_bytes = 0 },
                    .cubin = *cubin_p, .cubin_size = size,
                    .source = (char *) "// PTX of the kernel\n.version 8.0\n" },
        .permuted = true, .bias = bias, .relu = true,
        .verified_error = 2.5e-7, .time_us = 12.75, .simulated = false, .source_ext = "ptx",
    };
    snprintf (l.kernel.launch.entry, sizeof l.kernel.launch.entry, "%s", entry);
    return l;
}

/*  A dense layer (M = 5, K = 3) with a fake cubin and A = 0, 1, 2... as its
    data; order 0, 64 columns per block, one panel group. */
static inline sf_bundle_layer_t
sf_test_dense_layer (const char *name, float a[15], void **cubin_p)
{
    size_t size;
    *cubin_p = sf_test_fake_cubin ("sf_dense", &size);
    for (int i = 0; i < 15; i++)
        a[i] = (float) i;
    return (sf_bundle_layer_t) {
        .name = name, .m = 5, .k = 3, .n = 64, .tmpl = "dense", .config = "dense",
        .kernel = { .launch = { .entry = "sf_dense", .block_threads = 256, .cols_per_block = 64,
                                .panel_groups = 1, .order = 0, .vec = 1 },
                    .cubin = *cubin_p, .cubin_size = size, .source = (char *) "// dense\n",
                    .data = a, .data_size = 15 * sizeof (float) },
        .verified_error = -1, .time_us = -1, .source_ext = "cu",
    };
}

/*  Writes a bundle of one U layer "fc1" (bias) and one dense layer "fc2"
    for a GPU of compute capability cc (e.g. 90) into dir; signed with sk
    (a libsodium ed25519 secret key) unless it is NULL. */
static inline void
sf_test_write_bundle_signed (const char *dir, const char *gpu_type, int cc, bool simulated,
                             const unsigned char *sk)
{
    sf_bundle_t *b = sf_bundle_new (gpu_type, cc / 10, cc % 10, "13.0", "13.0");
    if (sk)
        sf_bundle_set_signing_key (b, sk);
    ck_assert_ptr_nonnull (b);
    void *c1, *c2;
    float a[15];
    sf_bundle_layer_t u = sf_test_u_layer ("fc1", "sf_u_fc1", true, &c1);
    sf_bundle_layer_t d = sf_test_dense_layer ("fc2", a, &c2);
    u.simulated = d.simulated = simulated;
    ck_assert_int_eq (sf_bundle_add_layer (b, &u), SF_OK);
    ck_assert_int_eq (sf_bundle_add_layer (b, &d), SF_OK);
    ck_assert_msg (sf_bundle_write (b, dir, true) == SF_OK, "%s", sf_error_message ());
    free (c1);
    free (c2);
    sf_bundle_destroy (&b);
}

static inline void
sf_test_write_bundle (const char *dir, const char *gpu_type, int cc, bool simulated)
{
    sf_test_write_bundle_signed (dir, gpu_type, cc, simulated, NULL);
}

/*  A fresh temporary directory (malloc'ed path) and its removal. */
static inline char *
sf_test_tmpdir (void)
{
    const char *base = getenv ("TMPDIR");
    char *path = malloc (4096);
    snprintf (path, 4096, "%s/sf-bundle-test.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull (mkdtemp (path));
    return path;
}

static inline void
sf_test_rmtree (char *path)
{
    char cmd[4200];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", path);
    ck_assert_int_eq (system (cmd), 0);
    free (path);
}

/*  Whole file into a malloc'ed NUL-terminated buffer. */
static inline char *
sf_test_slurp (const char *path, size_t *size_p)
{
    FILE *f = fopen (path, "rb");
    ck_assert_msg (f != NULL, "cannot open %s", path);
    fseek (f, 0, SEEK_END);
    long size = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *data = malloc ((size_t) size + 1);
    ck_assert_int_eq (fread (data, 1, (size_t) size, f), (size_t) size);
    data[size] = '\0';
    fclose (f);
    if (size_p)
        *size_p = (size_t) size;
    return data;
}

static inline void
sf_test_spill (const char *path, const void *data, size_t size)
{
    FILE *f = fopen (path, "wb");
    ck_assert_msg (f != NULL, "cannot write %s", path);
    ck_assert_int_eq (fwrite (data, 1, size, f), size);
    fclose (f);
}

#endif
