/*  Check suite of common/sf_sha256's two builds: libspmmfarm's (libsodium)
    and the deployment runtime's standalone one (SF_SHA256_STANDALONE),
    compiled here under other names, must give the same digests. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_sha256.h"

/*  The standalone build, renamed so that it sits beside the library's. */
#define SF_SHA256_STANDALONE
#define sf_sha256_init s_rt_init
#define sf_sha256_update s_rt_update
#define sf_sha256_final s_rt_final
#define sf_sha256 s_rt_sha256
#define sf_sha256_hex s_rt_hex
#include "common/sf_sha256.c"
#undef sf_sha256_init
#undef sf_sha256_update
#undef sf_sha256_final
#undef sf_sha256
#undef sf_sha256_hex

START_TEST (test_both_builds_agree)
{
    enum { BIG = 1 << 20 };
    unsigned char *data = malloc (BIG);
    ck_assert_ptr_nonnull (data);
    for (int i = 0; i < BIG; i++)
        data[i] = (unsigned char) (i * 131 + (i >> 8) * 7);
    size_t lengths[310];
    int count = 0;
    for (size_t n = 0; n <= 300; n++)
        lengths[count++] = n;
    lengths[count++] = 4095;
    lengths[count++] = 65536;
    lengths[count++] = BIG;
    for (int i = 0; i < count; i++) {
        uint8_t lib[SF_SHA256_BYTES], rt[SF_SHA256_BYTES], ref[crypto_hash_sha256_BYTES];
        crypto_hash_sha256 (ref, data, lengths[i]);
        sf_sha256 (data, lengths[i], lib);
        /* the standalone one fed in uneven pieces */
        sf_sha256_t ctx;
        s_rt_init (&ctx);
        for (size_t at = 0, piece = 1; at < lengths[i]; at += piece, piece = piece * 3 % 97 + 1)
            s_rt_update (&ctx, data + at, lengths[i] - at < piece ? lengths[i] - at : piece);
        s_rt_final (&ctx, rt);
        ck_assert_msg (memcmp (lib, ref, sizeof ref) == 0, "library != libsodium at length %zu", lengths[i]);
        ck_assert_msg (memcmp (rt, ref, sizeof ref) == 0, "standalone != libsodium at length %zu", lengths[i]);
    }
    char hex[SF_SHA256_HEX], rt_hex[SF_SHA256_HEX];
    uint8_t d[SF_SHA256_BYTES];
    s_rt_sha256 ("abc", 3, d);
    s_rt_hex (d, rt_hex);
    sf_sha256_hex (d, hex);
    ck_assert_str_eq (rt_hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq (hex, rt_hex);
    free (data);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sha256");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_both_builds_agree);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
