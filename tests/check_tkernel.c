/*  Check suite of template T (proxygen/sf_tkernel, sf_tencode): configs,
    geometry, the knob table, the encoding's round trip on awkward matrices,
    the decoder on hostile input, and NVRTC compiles for sm_90 (CPU only). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_buf.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_rng.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tencode.h"
#include "proxygen/sf_tkernel.h"

/*  c's text is want, and it parses back to c. */
static void
s_text_is (const sf_tconfig_t *c, const char *want)
{
    char text[SF_TCONFIG_TEXT_MAX];
    sf_tconfig_t back;
    ck_assert_str_eq (sf_tconfig_text (c, text), want);
    ck_assert_int_eq (sf_tconfig_parse (text, &back), SF_OK);
    ck_assert_int_eq (memcmp (c, &back, sizeof back), 0);
}

START_TEST (test_config_text)
{
    sf_tconfig_t c = { SF_T_PAIR, 4, 1, 16, 4, 8, 4, 0, 0, 0 }, back;
    s_text_is (&c, "T:e1.w4.m1.n16.k4.g8.p4");
    ck_assert_int_eq (sf_tconfig_parse ("T:e3.w4.m1.n16.k4.g8.p4", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e-1.w4.m1.n16.k4.g8.p4", &back), SF_ERR_RANGE);
    /* e2 (session 20): legal and canonical, with the other knobs */
    sf_tconfig_t e2 = { SF_T_PAIR2, 4, 1, 16, 2, 8, 4, 0, 0, 0 };
    s_text_is (&e2, "T:e2.w4.m1.n16.k2.g8.p4");
    ck_assert (sf_tconfig_legal (&e2));
    ck_assert_int_eq (sf_tconfig_parse ("T:e2.w8.m1.n128.k1.g4.p2.f1", &back), SF_OK);
    ck_assert_int_eq (back.enc, SF_T_PAIR2);
    ck_assert_int_eq (back.prefill, 1);
    ck_assert_int_eq (sf_tconfig_parse ("T:e2.w4.m2.n32.k2.g8.p4.a1.b1", &back), SF_OK);
    ck_assert_int_eq (sf_tconfig_parse ("T:e02.w4.m1.n16.k2.g8.p4", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w3.m1.n16.k4.g8.p4", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n12.k4.g8.p4", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n16.k16.g8.p4", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n16.k4.g8.p9", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n16.k4.g8", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n16.k4.g8.p4 ", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse ("T:e01.w4.m1.n16.k4.g8.p4", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse ("D:r1.v4.t64.g1.o0.none", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse (NULL, &back), SF_ERR_FORMAT);
    /* the optional knobs: written only when set, in order, canonical */
    sf_tconfig_t ilp = { SF_T_PAIR, 4, 1, 16, 2, 8, 4, 1, 0, 0 }, pf = { SF_T_ELEM, 8, 1, 128, 1, 4, 2, 0, 0, 1 };
    s_text_is (&ilp, "T:e1.w4.m1.n16.k2.g8.p4.a1");
    s_text_is (&pf, "T:e0.w8.m1.n128.k1.g4.p2.f1");
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n16.k2.g8.p4.a0", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n16.k2.g8.p4.a2", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w8.m1.n128.k1.g4.p2.f1.a1", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w8.m1.n128.k1.g4.p2.f1.", &back), SF_ERR_FORMAT);
    sf_tconfig_t bs = { SF_T_ELEM, 4, 2, 32, 1, 4, 2, 1, 1, 0 };
    s_text_is (&bs, "T:e0.w4.m2.n32.k1.g4.p2.a1.b1");
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n16.k2.g8.p4.b1.a1", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse ("T:e1.w4.m1.n16.k2.g8.p4.c1", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w8.m1.n128.k1.g4.p2.b1.f1", &back), SF_ERR_RANGE);
    /* the prefill kernel's fixed shape; n 128 is the prefill kernel's only */
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w4.m1.n128.k1.g4.p2.f1", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w8.m1.n128.k2.g4.p2.f1", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w8.m1.n128.k1.g16.p2.f1", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w8.m1.n32.k1.g4.p2.f1", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w8.m1.n128.k1.g4.p2", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tconfig_parse ("T:e0.w8.m1.n64.k1.g4.p2.a1.f1", &back), SF_ERR_RANGE);
}
END_TEST

START_TEST (test_geometry)
{
    /* 100 x 50: 64-row blocks (2), 4 k-tiles in 2 parts of 2, one group */
    sf_tconfig_t c = { SF_T_ELEM, 4, 1, 16, 2, 2, 2, 0, 0, 0 };
    sf_tgeom_t g;
    ck_assert_int_eq (sf_tkernel_geom (&c, 100, 50, &g), SF_OK);
    ck_assert_int_eq (g.rows, 64);
    ck_assert_int_eq (g.row_blocks, 2);
    ck_assert_int_eq (g.ktiles, 4);
    ck_assert_int_eq (g.part_tiles, 2);
    ck_assert_int_eq (g.groups, 1);
    ck_assert_int_eq (g.total_groups, 2 * 2 * 4 * 1);
    /* staged B: 32 rows x 16 columns x 2 bytes = 1024; the sums 64 x 16 x 4 = 4096 */
    ck_assert_int_eq (g.b_bytes, 4096);
    ck_assert_int_eq (sf_tkernel_shared_bytes (&c, &g, 160), 4096 + 4 * 2 * (160 + 8));
    /* 8 parts of 4 k-tiles (g = 4) over 10 k-tiles: parts 3..7 would be empty */
    sf_tconfig_t big = { SF_T_ELEM, 4, 1, 16, 8, 4, 2, 0, 0, 0 };
    ck_assert_int_eq (sf_tkernel_geom (&big, 64, 160, &g), SF_ERR_RANGE);
    ck_assert_int_eq (sf_tkernel_geom (&c, 0, 50, &g), SF_ERR_INVALID);
    /* the prefill kernel: 128-row blocks, K whole; two chunks of B (4 x 16
       rows x 128 columns x 2 bytes) and of fragments (8 strips x 4 tiles x
       512 bytes) */
    sf_tconfig_t pf = { SF_T_ELEM, 8, 1, 128, 1, 4, 2, 0, 0, 1 };
    ck_assert_int_eq (sf_tkernel_geom (&pf, 300, 100, &g), SF_OK);
    ck_assert_int_eq (g.rows, 128);
    ck_assert_int_eq (g.row_blocks, 3);
    ck_assert_int_eq (g.part_tiles, 8);
    ck_assert_int_eq (g.groups, 2);
    ck_assert_int_eq (g.b_bytes, 2 * 4 * 16 * 128 * 2 + 2 * 8 * 4 * 512);
    /* streamed B: two chunks of 2 x 16 rows x 16 columns, or the sums */
    sf_tconfig_t bs = { SF_T_ELEM, 4, 1, 16, 1, 2, 2, 0, 1, 0 };
    ck_assert_int_eq (sf_tkernel_geom (&bs, 100, 4096, &g), SF_OK);
    ck_assert_int_eq (g.b_bytes, 2 * 2 * 16 * 16 * 2);
    bs.ksplit = 4;
    ck_assert_int_eq (sf_tkernel_geom (&bs, 100, 4096, &g), SF_OK);
    ck_assert_int_eq (g.b_bytes, 64 * 16 * 4);
}
END_TEST

/*  Dense M x K with the given density (0: all zero, 1: dense), values
    never zero; rows in [er0, er1) left empty, rows in [dr0, dr1) fully
    dense (a dense panel in a sparse matrix). */
static sf_matrix_t *
s_matrix_bands (int64_t m, int64_t k, double density, int64_t er0, int64_t er1, int64_t dr0, int64_t dr1,
                uint64_t seed)
{
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    float *d = calloc ((size_t) (m * k), sizeof *d);
    for (int64_t r = 0; r < m; r++)
        for (int64_t c = 0; c < k; c++)
            if ((r < er0 || r >= er1) && ((r >= dr0 && r < dr1) || sf_rng_unit (&rng) < density))
                d[r * k + c] = sf_rng_weight (&rng);
    sf_matrix_t *a = sf_matrix_new_dense (m, k, d);
    free (d);
    return a;
}

static sf_matrix_t *
s_matrix (int64_t m, int64_t k, double density, int64_t er0, int64_t er1, uint64_t seed)
{
    return s_matrix_bands (m, k, density, er0, er1, 0, 0, seed);
}

/*  Encodes a with c in tier, decodes it and compares with a rounded. */
static void
s_roundtrip (const sf_matrix_t *a, const sf_tconfig_t *c, sf_tier tier)
{
    char text[SF_TCONFIG_TEXT_MAX];
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a);
    void *data = NULL;
    size_t size = 0;
    ck_assert_msg (sf_tencode (c, tier, a, &data, &size) == SF_OK, "%s: %s", sf_tconfig_text (c, text),
                   sf_error_message ());
    uint16_t *got = malloc ((size_t) (m * k) * sizeof *got);
    float *want = malloc ((size_t) (m * k) * sizeof *want);
    sf_tencode_info_t info;
    ck_assert_msg (sf_tencode_decode (data, size, got, &info) == SF_OK, "%s: %s", sf_tconfig_text (c, text),
                   sf_error_message ());
    sf_matrix_densify (a, want);
    for (int64_t i = 0; i < m * k; i++) {
        uint16_t h = tier == SF_TIER_FP16 ? sf_tier_to_fp16 (want[i]) : sf_tier_to_bf16 (want[i]);
        ck_assert_msg (got[i] == h, "%s: element (%lld, %lld) is 0x%04x, not 0x%04x", sf_tconfig_text (c, text),
                       (long long) (i / k), (long long) (i % k), got[i], h);
    }
    ck_assert_int_eq (info.m, m);
    ck_assert_int_eq (info.k, k);
    ck_assert_int_eq (info.tier, tier);
    if (c->enc == SF_T_ELEM)
        ck_assert_int_eq (info.nnz, sf_matrix_nnz (a));
    sf_tgeom_t g;
    ck_assert_int_eq (sf_tkernel_geom (c, m, k, &g), SF_OK);
    ck_assert_int_eq (info.tiles, g.total_groups * c->group * c->strips);
    /* the launch takes the encoding for its own config only */
    sf_launch_t launch = { 0 };
    ck_assert_int_eq (sf_tkernel_launch_for (c, data, size, &launch), SF_OK);
    ck_assert_int_eq (launch.panel_groups, g.row_blocks * c->ksplit);
    ck_assert_int_eq (launch.shared_bytes, sf_tkernel_shared_bytes (c, &g, info.slot_bytes));
    sf_tconfig_t other = *c;
    other.group = c->group == 2 ? 4 : 2;
    ck_assert_int_eq (sf_tkernel_launch_for (&other, data, size, &launch), SF_ERR_FORMAT);
    free (got);
    free (want);
    free (data);
}

static const sf_tconfig_t s_configs[] = {
    { SF_T_ELEM, 4, 1, 16, 1, 8, 4, 0, 0, 0 }, { SF_T_PAIR, 4, 1, 16, 1, 8, 4, 0, 0, 0 }, { SF_T_ELEM, 2, 2, 64, 2, 2, 2, 0, 0, 0 },
    { SF_T_PAIR, 1, 2, 8, 4, 4, 3, 0, 0, 0 },  { SF_T_ELEM, 8, 1, 32, 8, 2, 2, 0, 0, 0 }, { SF_T_PAIR, 2, 1, 16, 2, 16, 2, 0, 0, 0 },
    { SF_T_PAIR, 8, 1, 128, 1, 4, 2, 0, 0, 1 },  /* the prefill kernel reads the same encoding */
    /* e2 (session 20): the e1 configs' twins, m 2 with a K split, the
       prefill kernel; tiers alternate with the index as above */
    { SF_T_PAIR2, 4, 1, 16, 1, 8, 4, 0, 0, 0 }, { SF_T_PAIR2, 1, 2, 8, 4, 4, 3, 0, 0, 0 },
    { SF_T_PAIR2, 2, 1, 16, 2, 16, 2, 0, 0, 0 }, { SF_T_PAIR2, 4, 2, 32, 2, 8, 4, 0, 0, 0 },
    { SF_T_PAIR2, 2, 2, 64, 8, 2, 2, 0, 0, 0 }, { SF_T_PAIR2, 8, 1, 128, 1, 4, 2, 0, 0, 1 },
};
#define S_CONFIGS ((int) (sizeof s_configs / sizeof s_configs[0]))

/*  Random matrices at 50 and 90 %, K and M not multiples of 16, an empty
    band of rows (whole strips and panels), a fully dense matrix, an empty
    one, a fully dense 64-row panel in a 90 % matrix (e2's largest starts:
    a group of dense tiles); every encoding, both 16-bit tiers. */
START_TEST (test_roundtrip)
{
    struct {
        int64_t m, k;
        double density;
        int64_t er0, er1;
        bool panel;  /* rows [er0, er1) dense instead of empty */
    } cases[] = {
        { 64, 64, 0.5, 0, 0, false }, { 45, 37, 0.1, 0, 0, false }, { 130, 200, 0.3, 16, 80, false },
        { 33, 129, 1.0, 0, 0, false }, { 17, 16, 0.0, 0, 0, false }, { 256, 300, 0.05, 100, 101, false },
        { 200, 530, 0.1, 64, 128, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sf_matrix_t *a = cases[i].panel
            ? s_matrix_bands (cases[i].m, cases[i].k, cases[i].density, 0, 0, cases[i].er0, cases[i].er1, 7 + i)
            : s_matrix (cases[i].m, cases[i].k, cases[i].density, cases[i].er0, cases[i].er1, 7 + i);
        ck_assert_ptr_nonnull (a);
        for (int j = 0; j < S_CONFIGS; j++) {
            sf_tgeom_t g;
            if (sf_tkernel_geom (&s_configs[j], cases[i].m, cases[i].k, &g) != SF_OK)
                continue;  /* K too small for the split */
            s_roundtrip (a, &s_configs[j], j % 2 ? SF_TIER_FP16 : SF_TIER_BF16);
        }
        sf_matrix_destroy (&a);
    }
}
END_TEST

/*  The encoding's size follows its design: 44 bytes a tile + 2 per nonzero
    (element), 20 bytes a tile + 4 per nonempty pair. */
START_TEST (test_encoding_size)
{
    sf_matrix_t *a = sf_matrix_new_random (256, 512, 0.8, 3);
    sf_tconfig_t ce = { SF_T_ELEM, 4, 1, 16, 1, 8, 2, 0, 0, 0 }, cp = { SF_T_PAIR, 4, 1, 16, 1, 8, 2, 0, 0, 0 };
    void *data = NULL;
    size_t size = 0;
    sf_tencode_info_t info;
    ck_assert_int_eq (sf_tencode (&ce, SF_TIER_BF16, a, &data, &size), SF_OK);
    ck_assert_int_eq (sf_tencode_decode (data, size, NULL, &info), SF_OK);
    ck_assert_int_eq (info.tiles, 16 * 32);
    ck_assert_int_eq (info.value_bytes, 2 * sf_matrix_nnz (a));
    free (data);
    ck_assert_int_eq (sf_tencode (&cp, SF_TIER_BF16, a, &data, &size), SF_OK);
    ck_assert_int_eq (sf_tencode_decode (data, size, NULL, &info), SF_OK);
    ck_assert_int_eq (info.value_bytes % 4, 0);
    ck_assert_int_ge (info.value_bytes, 2 * sf_matrix_nnz (a));
    ck_assert_int_le (info.value_bytes, 4 * sf_matrix_nnz (a));
    free (data);
    /* e2: e1's values, 4 more header bytes a tile (32 a group of 8) */
    sf_tconfig_t c2 = cp;
    c2.enc = SF_T_PAIR2;
    int64_t e1_size = (int64_t) size, e1_values = info.value_bytes;
    ck_assert_int_eq (sf_tencode (&c2, SF_TIER_BF16, a, &data, &size), SF_OK);
    ck_assert_int_eq (sf_tencode_decode (data, size, NULL, &info), SF_OK);
    ck_assert_int_eq (info.value_bytes, e1_values);
    ck_assert_int_eq ((int64_t) size, e1_size + 32 * info.total_groups);
    free (data);
    ck_assert_int_eq (sf_tencode (&ce, SF_TIER_FP32, a, &data, &size), SF_ERR_INVALID);
    ck_assert_ptr_null (data);
    sf_matrix_destroy (&a);
}
END_TEST

/*  e2's bytes (sf_tencode.h): one group of two tiles, the second past K
    and empty: the nibble words, each 8-lane word's start from the group's
    first byte (48 bytes of headers, then the values), the pairs. */
START_TEST (test_e2_layout)
{
    float d[16 * 16] = { 0 };
    d[0 * 16 + 0] = 1.0f;    /* lane 0, a[0] (row 0, columns 0-1): low half */
    d[8 * 16 + 9] = -2.0f;   /* lane 0, a[3] (row 8, columns 8-9): high half */
    d[7 * 16 + 15] = 0.5f;   /* lane 31, a[2] (row 7, columns 14-15): high half */
    sf_matrix_t *a = sf_matrix_new_dense (16, 16, d);
    sf_tconfig_t c = { SF_T_PAIR2, 1, 1, 8, 1, 2, 2, 0, 0, 0 };
    void *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (sf_tencode (&c, SF_TIER_BF16, a, &data, &size), SF_OK);
    const uint32_t *w = data;
    ck_assert_int_eq (w[3], SF_T_PAIR2);
    ck_assert_int_eq (w[14], 1);  /* one group */
    const uint8_t *g = (const uint8_t *) data + 4 * w[13];
    const uint32_t *gw = (const uint32_t *) g;
    const uint16_t *gh = (const uint16_t *) g;
    ck_assert_uint_eq (gw[0], 0x9u);         /* lane 0: a[0] and a[3] */
    ck_assert_uint_eq (gw[1], 0u);
    ck_assert_uint_eq (gw[2], 0u);
    ck_assert_uint_eq (gw[3], 0x40000000u);  /* lane 31: a[2] */
    ck_assert_uint_eq (gh[8], 48);           /* lanes 0-7 start the values */
    ck_assert_uint_eq (gh[9], 56);           /* after lane 0's two pairs */
    ck_assert_uint_eq (gh[10], 56);
    ck_assert_uint_eq (gh[11], 56);
    for (int q = 0; q < 4; q++) {            /* the empty tile: where its values would start */
        ck_assert_uint_eq (gw[6 + q], 0u);
        ck_assert_uint_eq (gh[20 + q], 60);
    }
    ck_assert_uint_eq (gw[12], sf_tier_to_bf16 (1.0f));
    ck_assert_uint_eq (gw[13], (uint32_t) sf_tier_to_bf16 (-2.0f) << 16);
    ck_assert_uint_eq (gw[14], (uint32_t) sf_tier_to_bf16 (0.5f) << 16);
    ck_assert_uint_eq (size, 4 * w[13] + 64);  /* 48 + 12 bytes, padded to 16 */
    uint16_t got[256];
    ck_assert_int_eq (sf_tencode_decode (data, size, got, NULL), SF_OK);
    for (int i = 0; i < 256; i++)
        ck_assert_uint_eq (got[i], sf_tier_to_bf16 (d[i]));
    /* a start the kernel would read elsewhere is refused */
    ((uint8_t *) data)[4 * w[13] + 18] += 4;
    ck_assert_int_eq (sf_tencode_decode (data, size, NULL, NULL), SF_ERR_FORMAT);
    free (data);
    sf_matrix_destroy (&a);
}
END_TEST

/*  Every byte flipped, and every truncation, gives SF_OK with an equal
    shape or SF_ERR_FORMAT: never a read outside the buffer (the sanitizer
    builds check that) and never a crash. */
START_TEST (test_decode_hostile)
{
    sf_matrix_t *a = s_matrix (40, 70, 0.3, 0, 0, 11);
    for (int e = 0; e < 3; e++) {
        sf_tconfig_t c = { e, 2, 1, 16, 2, 2, 2, 0, 0, 0 };
        void *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (sf_tencode (&c, SF_TIER_BF16, a, &data, &size), SF_OK);
        uint8_t *bytes = data;
        for (size_t cut = 0; cut < size; cut += 4)
            ck_assert_int_eq (sf_tencode_decode (data, cut, NULL, NULL), SF_ERR_FORMAT);
        int faults = 0;
        for (size_t i = 0; i < size; i++) {
            uint8_t old = bytes[i];
            bytes[i] ^= 0xa5;
            int rc = sf_tencode_decode (data, size, NULL, NULL);
            ck_assert (rc == SF_OK || rc == SF_ERR_FORMAT);
            faults += rc == SF_ERR_FORMAT;
            bytes[i] = old;
        }
        /* the header words, group offsets and counts are checked */
        ck_assert_int_gt (faults, 32);
        ck_assert_int_eq (sf_tencode_decode (data, size, NULL, NULL), SF_OK);
        free (data);
    }
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_space)
{
    sf_tspace_problem_t p = { 4096, 4096, 16, 4096 * 4096 / 5, 132 };
    static sf_tconfig_t out[16384], again[16384];
    int pruned = 0;
    int n = sf_tkernel_space (&p, out, 16384, &pruned);
    ck_assert_int_gt (n, 16);
    ck_assert_int_gt (pruned, 0);
    ck_assert_int_eq (sf_tkernel_space (&p, again, 16384, NULL), n);
    ck_assert_int_eq (memcmp (out, again, (size_t) n * sizeof *out), 0);
    int e2 = 0;
    for (int i = 0; i < n; i++) {
        sf_tgeom_t g;
        ck_assert (sf_tconfig_legal (&out[i]));
        /* e2 took e1's place (e1 stays legal for explicit configs) */
        ck_assert_int_ne (out[i].enc, SF_T_PAIR);
        e2 += out[i].enc == SF_T_PAIR2;
        ck_assert_int_le (out[i].ncols, 16);
        ck_assert_int_le (out[i].strips * out[i].ncols, 128);
        ck_assert_int_eq (sf_tkernel_geom (&out[i], p.m, p.k, &g), SF_OK);
        ck_assert_int_ge ((p.n + out[i].ncols - 1) / out[i].ncols * g.row_blocks * out[i].ksplit,
                          (p.sm_count * 3 + 3) / 4);
        ck_assert_int_le (sf_tkernel_shared_bytes (&out[i], &g, 16), SF_TKERNEL_SHARED_MAX);
    }
    ck_assert_int_gt (e2, 0);
    ck_assert_int_lt (e2, n);  /* and e0 beside it */
    /* N = 1 still has configs (n = 8); a small layer keeps the ones that
       cannot fill the SMs */
    /* N = 16: the decode kernel, with and without the ILP accumulators and
       the streamed B */
    int ilp = 0, bs = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq (out[i].prefill, 0);
        ilp += out[i].ilp;
        bs += out[i].bstream;
    }
    ck_assert_int_gt (ilp, 0);
    ck_assert_int_lt (ilp, n);
    ck_assert_int_gt (bs, 0);
    ck_assert_int_lt (bs, n);
    /* N = 512: the prefill kernel only, n 64 and 128 */
    sf_tspace_problem_t pre = { 4096, 4096, 512, 4096 * 4096 / 2, 132 };
    n = sf_tkernel_space (&pre, out, 2048, NULL);
    ck_assert_int_gt (n, 4);
    bool wide = false;
    for (int i = 0; i < n; i++) {
        sf_tgeom_t g;
        ck_assert_int_eq (out[i].prefill, 1);
        ck_assert (sf_tconfig_legal (&out[i]));
        ck_assert_int_eq (sf_tkernel_geom (&out[i], pre.m, pre.k, &g), SF_OK);
        ck_assert_int_le (sf_tkernel_shared_bytes (&out[i], &g, 16), SF_TKERNEL_SHARED_MAX);
        wide = wide || out[i].ncols == 128;
    }
    ck_assert (wide);
    /* the largest decode space (N = 64) stays under the search's 16,384
       (worker/sf_tsearch.c), which no longer cuts it */
    sf_tspace_problem_t d64 = { 4096, 4096, 64, 4096 * 4096 / 10, 132 };
    int n64 = sf_tkernel_space (&d64, again, 16384, NULL);
    ck_assert_int_gt (n64, 4096);
    ck_assert_int_lt (n64, 16384);
    /* each config once (session 15's prefill space held each four times) */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            ck_assert_msg (memcmp (&out[i], &out[j], sizeof *out) != 0, "config %d repeats at %d", i, j);
    /* the H100's measured decode winner on 4096 x 4096 at N = 16 (128
       blocks on 132 SMs; e1 then, its e2 twin since session 20) is in the
       space */
    sf_tconfig_t winner;
    ck_assert_int_eq (sf_tconfig_parse ("T:e2.w4.m1.n16.k2.g8.p4.a1", &winner), SF_OK);
    n = sf_tkernel_space (&p, out, 16384, NULL);
    int found = 0;
    for (int i = 0; i < n; i++)
        found += memcmp (&out[i], &winner, sizeof winner) == 0;
    ck_assert_int_eq (found, 1);
    sf_tspace_problem_t tiny = { 20, 30, 1, 100, 132 };
    n = sf_tkernel_space (&tiny, out, 2048, NULL);
    ck_assert_int_gt (n, 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq (out[i].ncols, 8);
    ck_assert_int_eq (sf_tkernel_space (&tiny, out, 4, NULL), 4);
    tiny.n = 0;
    ck_assert_int_eq (sf_tkernel_space (&tiny, out, 4, NULL), SF_ERR_INVALID);
}
END_TEST

/*  The generated source compiles for sm_90 with NVRTC and nvJitLink (no
    GPU needed), without spills, for both encodings and tiers, every
    column width, with and without the K split and the epilogue. */
START_TEST (test_source_compiles)
{
    const sf_tconfig_t configs[] = {
        { SF_T_ELEM, 4, 1, 16, 4, 8, 4, 0, 0, 0 }, { SF_T_PAIR, 4, 2, 64, 1, 8, 4, 0, 0, 0 },
        { SF_T_PAIR, 8, 1, 8, 8, 4, 2, 0, 0, 0 },  { SF_T_ELEM, 2, 2, 32, 2, 4, 3, 0, 0, 0 },
        { SF_T_PAIR, 4, 1, 16, 2, 8, 4, 1, 0, 0 }, { SF_T_ELEM, 4, 2, 32, 1, 4, 2, 1, 0, 0 },
        { SF_T_PAIR, 4, 1, 16, 4, 8, 4, 0, 1, 0 }, { SF_T_ELEM, 8, 2, 64, 1, 4, 2, 0, 1, 0 },
        { SF_T_PAIR, 2, 1, 8, 2, 16, 3, 1, 1, 0 },
        { SF_T_ELEM, 8, 1, 128, 1, 4, 2, 0, 0, 1 }, { SF_T_PAIR, 8, 1, 64, 1, 8, 3, 0, 0, 1 },
        { SF_T_PAIR, 8, 1, 128, 1, 2, 4, 0, 0, 1 }, { SF_T_ELEM, 8, 1, 64, 1, 2, 2, 0, 0, 1 },
        /* e2 (session 20): decode, m 2, a1, b1, the prefill kernel */
        { SF_T_PAIR2, 4, 1, 16, 2, 8, 4, 0, 0, 0 }, { SF_T_PAIR2, 4, 2, 64, 1, 16, 2, 0, 0, 0 },
        { SF_T_PAIR2, 4, 1, 16, 2, 8, 4, 1, 0, 0 }, { SF_T_PAIR2, 2, 2, 32, 4, 4, 3, 0, 1, 0 },
        { SF_T_PAIR2, 8, 1, 128, 1, 8, 2, 0, 0, 1 },
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        sf_epilogue_t epi = { i % 2 == 0, i < 2 };
        sf_tier tier = i % 2 ? SF_TIER_FP16 : SF_TIER_BF16;
        void *cubin = NULL;
        size_t size = 0;
        char *source = NULL, text[SF_TCONFIG_TEXT_MAX];
        sf_launch_t launch;
        sf_jit_stats_t st;
        ck_assert_msg (sf_tkernel_compile (&configs[i], tier, SF_LAYOUT_KN, &epi, &cubin, &size, &source, &launch, &st) == SF_OK,
                       "%s: %s", sf_tconfig_text (&configs[i], text), sf_error_message ());
        ck_assert_int_gt (size, 0);
        ck_assert_int_eq (st.spill_stores, 0);
        ck_assert_int_le (st.registers, 255);
        ck_assert_ptr_nonnull (strstr (source, launch.entry));
        ck_assert_ptr_nonnull (strstr (source, sf_tconfig_text (&configs[i], text)));
        /* the bias the kernel reads is M values of the tier's type: what
           sf_gpu uploads and SF_TKERNEL_BIAS_BYTES tells callers (tc_bench
           passed floats in session 12 and every bias problem failed) */
        ck_assert_ptr_nonnull (strstr (source, "#define BIAS_F32 0\n#define BIAS_T u16\n"));
        ck_assert_int_eq (SF_TKERNEL_BIAS_BYTES, sizeof (uint16_t));
        ck_assert_int_eq (SF_TKERNEL_BIAS_BYTES, sf_tier_elem_size (tier));
        /* the E2 blocks are resolved for the encoding: no marker lines,
           e2's decode in e2 sources only */
        ck_assert_ptr_null (strstr (source, "/* E2 */"));
        ck_assert_int_eq (strstr (source, "Pair bitmap with starts (e2)") != NULL, configs[i].enc == SF_T_PAIR2);
        ck_assert_int_eq (launch.block_threads, 32 * configs[i].warps);
        ck_assert_int_eq (launch.cols_per_block, configs[i].ncols);
        free (cubin);
        free (source);
    }
    sf_buf_t *buf = sf_buf_new (1 << 16);
    sf_launch_t launch;
    sf_tconfig_t bad = { SF_T_ELEM, 3, 1, 16, 1, 8, 4, 0, 0, 0 };
    sf_epilogue_t none = { false, false };
    ck_assert_int_eq (sf_tkernel_source (&bad, SF_TIER_BF16, SF_LAYOUT_KN, &none, buf, &launch), SF_ERR_INVALID);
    ck_assert_int_eq (sf_tkernel_source (&configs[0], SF_TIER_TF32, SF_LAYOUT_KN, &none, buf, &launch),
                      SF_ERR_INVALID);
    /* the layout is the generator's parameter: kn and nk (check_tnk) */
    ck_assert_int_eq (sf_tkernel_source (&configs[0], SF_TIER_BF16, (sf_layout) 7, &none, buf, &launch),
                      SF_ERR_INVALID);
    sf_buf_destroy (&buf);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("tkernel");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_config_text);
    tcase_add_test (tc, test_geometry);
    tcase_add_test (tc, test_roundtrip);
    tcase_add_test (tc, test_encoding_size);
    tcase_add_test (tc, test_e2_layout);
    tcase_add_test (tc, test_decode_hostile);
    tcase_add_test (tc, test_space);
    tcase_add_test (tc, test_source_compiles);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
