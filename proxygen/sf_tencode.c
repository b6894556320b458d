/*  sf_tencode: template T's encoding of A and its checked decoder. */
#include "proxygen/sf_tencode.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

#define S_TILE 16
#define S_WORDS_MAX ((int64_t) UINT32_MAX)

/*  The fragment position of (row r, column c) of a tile: lane and the
    register half j (0..7); register j / 2 is the fragment's a[q]. */
static void
s_lane_of (int r, int c, int *lane, int *j)
{
    *lane = (r % 8) * 4 + (c % 8) / 2;
    *j = 2 * (2 * (c / 8) + r / 8) + (c & 1);
}

static void
s_rc_of (int lane, int j, int *r, int *c)
{
    *r = lane / 4 + 8 * ((j / 2) & 1);
    *c = 2 * (lane % 4) + (j & 1) + 8 * (j / 4);
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct {
    uint8_t *data;
    size_t size, cap;
} s_out_t;

static int
s_out_reserve (s_out_t *o, size_t more)
{
    if (o->size + more <= o->cap)
        return SF_OK;
    size_t cap = o->cap ? o->cap : 1 << 16;
    while (cap < o->size + more)
        cap *= 2;
    uint8_t *p = realloc (o->data, cap);
    if (!p)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the T encoding (%zu bytes)", cap);
    o->data = p;
    o->cap = cap;
    return SF_OK;
}

typedef struct {
    const sf_tconfig_t *c;
    sf_tier tier;
    int64_t m, k;
    const int32_t *row_ptr, *col_idx;
    const float *values;
    int32_t *cursor;            /* per row of the matrix: next nonzero */
    uint16_t tv[S_TILE][S_TILE];
    uint8_t tp[S_TILE][S_TILE];  /* 1 where the tile has a nonzero */
} s_enc_t;

static uint16_t
s_h16 (sf_tier tier, float x)
{
    return tier == SF_TIER_FP16 ? sf_tier_to_fp16 (x) : sf_tier_to_bf16 (x);
}

/*  Tile (strip, kt) into e->tv / e->tp, advancing the strip's cursors (k
    ascends within a row, and a strip's tiles are taken in k order). */
static void
s_fill_tile (s_enc_t *e, int64_t strip, int64_t kt)
{
    memset (e->tp, 0, sizeof e->tp);
    int64_t end = (kt + 1) * S_TILE;
    for (int r = 0; r < S_TILE; r++) {
        int64_t row = strip * S_TILE + r;
        if (row >= e->m)
            break;
        int32_t q = e->cursor[row];
        for (; q < e->row_ptr[row + 1] && e->col_idx[q] < end; q++) {
            int c = (int) (e->col_idx[q] - kt * S_TILE);
            e->tp[r][c] = 1;
            e->tv[r][c] = s_h16 (e->tier, e->values[q]);
        }
        e->cursor[row] = q;
    }
}

static void
s_put_word (uint8_t *p, uint32_t w)
{
    for (int b = 0; b < 4; b++)
        p[b] = (uint8_t) (w >> (8 * b));
}

/*  The tile's header at hdr and its values at val, at byte `at` of its
    group; returns the values' bytes. */
static size_t
s_put_tile (const s_enc_t *e, uint8_t *hdr, uint8_t *val, size_t at)
{
    size_t n = 0;
    if (e->c->enc == SF_T_ELEM) {
        uint32_t mask[8] = { 0 };
        for (int r = 0; r < S_TILE; r++)
            for (int c = 0; c < S_TILE; c++)
                if (e->tp[r][c]) {
                    int lane, j;
                    s_lane_of (r, c, &lane, &j);
                    mask[lane / 4] |= 1u << (8 * (lane % 4) + j);
                }
        uint32_t below = 0;
        for (int q = 0; q < 8; q++) {
            hdr[32 + q] = (uint8_t) below;  /* <= 7 x 32 */
            below += (uint32_t) __builtin_popcount (mask[q]);
        }
        for (int q = 0; q < 8; q++)
            s_put_word (hdr + 4 * q, mask[q]);
        s_put_word (hdr + 40, below);
        for (int lane = 0; lane < 32; lane++)
            for (int j = 0; j < 8; j++) {
                int r, c;
                s_rc_of (lane, j, &r, &c);
                if (e->tp[r][c]) {
                    val[n++] = (uint8_t) e->tv[r][c];
                    val[n++] = (uint8_t) (e->tv[r][c] >> 8);
                }
            }
    } else {
        /* lane l's nibble at bits 4 (l % 8) of word l / 8; its pairs in
           order q after those of the lanes below */
        uint32_t mask[4] = { 0 };
        for (int lane = 0; lane < 32; lane++)
            for (int q = 0; q < 4; q++) {
                int r = lane / 4 + 8 * (q & 1), c = 8 * (q >> 1) + 2 * (lane % 4);
                if (!e->tp[r][c] && !e->tp[r][c + 1])
                    continue;
                mask[lane / 8] |= 1u << (4 * (lane % 8) + q);
                uint16_t lo = e->tp[r][c] ? e->tv[r][c] : 0, hi = e->tp[r][c + 1] ? e->tv[r][c + 1] : 0;
                val[n++] = (uint8_t) lo;
                val[n++] = (uint8_t) (lo >> 8);
                val[n++] = (uint8_t) hi;
                val[n++] = (uint8_t) (hi >> 8);
            }
        uint32_t below = 0;
        for (int q = 0; q < 4; q++) {
            s_put_word (hdr + 4 * q, mask[q]);
            if (e->c->enc == SF_T_PAIR2) {  /* the word's start in the group (< 2^16) */
                uint32_t start = (uint32_t) at + 4 * below;
                hdr[16 + 2 * q] = (uint8_t) start;
                hdr[17 + 2 * q] = (uint8_t) (start >> 8);
            }
            below += (uint32_t) __builtin_popcount (mask[q]);
            if (e->c->enc == SF_T_PAIR)
                hdr[16 + q] = (uint8_t) below;  /* P1, P2, P3, then the count (<= 128) */
        }
    }
    return n;
}

int
sf_tencode (const sf_tconfig_t *c, sf_tier tier, const sf_matrix_t *a, void **data_p, size_t *size_p)
{
    *data_p = NULL;
    *size_p = 0;
    if (tier != SF_TIER_BF16 && tier != SF_TIER_FP16)
        return sf_error_set (SF_ERR_INVALID, "template T takes the bf16 and fp16 tiers, not %s",
                             sf_tier_name (tier));
    sf_tgeom_t g;
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a);
    int rc = sf_tkernel_geom (c, m, k, &g);
    if (rc != SF_OK)
        return rc;
    int64_t hb = sf_tkernel_header_bytes (c->enc), tpg = (int64_t) c->group * c->strips;
    int64_t off_data = (SF_TENC_HEADER_WORDS + g.total_groups + 1 + 3) / 4 * 4;
    if (off_data > S_WORDS_MAX)
        return sf_error_set (SF_ERR_RANGE, "too many groups for the T encoding");
    s_enc_t e = { .c = c, .tier = tier, .m = m, .k = k, .row_ptr = sf_matrix_row_ptr (a),
                  .col_idx = sf_matrix_col_idx (a), .values = sf_matrix_values (a) };
    e.cursor = malloc ((size_t) m * sizeof *e.cursor);
    uint32_t *gptr = malloc ((size_t) (g.total_groups + 1) * sizeof *gptr);
    uint8_t *scratch = malloc ((size_t) (tpg * (hb + 512)));
    s_out_t out = { 0 };
    if (!e.cursor || !gptr || !scratch) {
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory for the T encoding");
        goto done;
    }
    memcpy (e.cursor, e.row_ptr, (size_t) m * sizeof *e.cursor);
    int64_t slot = 0, index = 0, last_tile = g.ktiles;
    for (int64_t b = 0; b < g.row_blocks && rc == SF_OK; b++)
        for (int64_t j = 0; j < c->ksplit && rc == SF_OK; j++)
            for (int64_t v = 0; v < c->warps && rc == SF_OK; v++)
                for (int64_t x = 0; x < g.groups && rc == SF_OK; x++, index++) {
                    if (out.size / 16 > S_WORDS_MAX) {
                        rc = sf_error_set (SF_ERR_RANGE, "the T encoding would pass 64 GB");
                        break;
                    }
                    gptr[index] = (uint32_t) (out.size / 16);
                    size_t vbytes = 0;
                    uint8_t *vals = scratch + tpg * hb;
                    for (int64_t u = 0; u < c->group; u++) {
                        int64_t kt = j * g.part_tiles + x * c->group + u;
                        for (int64_t i = 0; i < c->strips; i++) {
                            int64_t strip = (b * c->warps + v) * c->strips + i;
                            memset (e.tp, 0, sizeof e.tp);
                            if (kt < last_tile && strip * S_TILE < m)
                                s_fill_tile (&e, strip, kt);
                            vbytes += s_put_tile (&e, scratch + (u * c->strips + i) * hb, vals + vbytes,
                                                  (size_t) (tpg * hb) + vbytes);
                        }
                    }
                    size_t bytes = (size_t) (tpg * hb) + vbytes, padded = (bytes + 15) / 16 * 16;
                    if ((rc = s_out_reserve (&out, padded)) != SF_OK)
                        break;
                    memcpy (out.data + out.size, scratch, bytes);
                    memset (out.data + out.size + bytes, 0, padded - bytes);
                    out.size += padded;
                    if ((int64_t) padded > slot)
                        slot = (int64_t) padded;
                }
    if (rc != SF_OK)
        goto done;
    gptr[index] = (uint32_t) (out.size / 16);
    size_t total = (size_t) off_data * 4 + out.size;
    if ((int64_t) (total / 4) > S_WORDS_MAX) {
        rc = sf_error_set (SF_ERR_RANGE, "the T encoding would pass 2^32 words");
        goto done;
    }
    uint32_t *w = malloc (total);
    if (!w) {
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory for the T encoding (%zu bytes)", total);
        goto done;
    }
    uint32_t header[SF_TENC_HEADER_WORDS] = {
        SF_TENC_MAGIC, (uint32_t) m, (uint32_t) k, (uint32_t) c->enc, (uint32_t) c->warps,
        (uint32_t) c->strips, (uint32_t) c->ksplit, (uint32_t) c->group, (uint32_t) g.row_blocks,
        (uint32_t) g.part_tiles, (uint32_t) g.groups, (uint32_t) slot, SF_TENC_HEADER_WORDS,
        (uint32_t) off_data, (uint32_t) g.total_groups, (uint32_t) tier
    };
    memset (w, 0, (size_t) off_data * 4);
    memcpy (w, header, sizeof header);
    memcpy (w + SF_TENC_HEADER_WORDS, gptr, (size_t) (g.total_groups + 1) * sizeof *gptr);
    memcpy ((uint8_t *) w + off_data * 4, out.data, out.size);
    *data_p = w;
    *size_p = total;
done:
    free (e.cursor);
    free (gptr);
    free (scratch);
    free (out.data);
    return rc;
}

/* ---- decoding -------------------------------------------------------------- */

static uint32_t
s_word (const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/*  Decodes one tile as the kernel's lanes read it: the header at hdr, the
    group's values at val (vlimit bytes; vstart bytes from the group's
    first byte), *vb values (16-bit for ELEM, 32-bit words for PAIR and
    PAIR2) of earlier tiles. Writes dense rows r0.., columns c0.. (skips
    with dense NULL); *nnz counts set bits. */
static int
s_decode_tile (int32_t enc, const uint8_t *hdr, const uint8_t *val, size_t vstart, size_t vlimit, uint32_t *vb,
               uint16_t *dense, int64_t m, int64_t k, int64_t r0, int64_t c0, int64_t *nnz)
{
    uint16_t h[32][8];
    uint8_t set[32][8];
    memset (set, 0, sizeof set);
    if (enc == SF_T_ELEM) {
        uint32_t below = 0;
        for (int q = 0; q < 8; q++) {
            if (hdr[32 + q] != below)
                return sf_error_set (SF_ERR_FORMAT, "T encoding: a tile's count P[%d] is %u, not %u", q,
                                     hdr[32 + q], below);
            below += (uint32_t) __builtin_popcount (s_word (hdr + 4 * q));
        }
        if (s_word (hdr + 40) != below)
            return sf_error_set (SF_ERR_FORMAT, "T encoding: a tile's count is %u, not %u", s_word (hdr + 40), below);
        for (int lane = 0; lane < 32; lane++) {
            int q4 = lane >> 2, sh = (lane & 3) * 8;
            uint32_t mw = s_word (hdr + 4 * q4), mbits = (mw >> sh) & 0xffu;
            uint32_t st = *vb + hdr[32 + q4] + (uint32_t) __builtin_popcount (mw & ((1u << sh) - 1u));
            uint32_t idx = 0;
            for (int j = 0; j < 8; j++)
                if (mbits >> j & 1u) {
                    size_t at = 2 * (size_t) (st + idx);
                    if (at + 2 > vlimit)
                        return sf_error_set (SF_ERR_FORMAT, "T encoding: a tile's values run past its group");
                    h[lane][j] = (uint16_t) (val[at] | val[at + 1] << 8);
                    set[lane][j] = 1;
                    idx++;
                }
        }
        *vb += below;
    } else {
        uint32_t below = 0;
        for (int q = 0; q < 4; q++) {
            if (enc == SF_T_PAIR2) {  /* each word's start: where the values lie */
                size_t start = hdr[16 + 2 * q] | (size_t) hdr[17 + 2 * q] << 8, want = vstart + 4 * ((size_t) *vb + below);
                if (start != want)
                    return sf_error_set (SF_ERR_FORMAT, "T encoding: a tile's start %d is %zu, not %zu", q, start, want);
            }
            below += (uint32_t) __builtin_popcount (s_word (hdr + 4 * q));
            if (enc == SF_T_PAIR && hdr[16 + q] != below)
                return sf_error_set (SF_ERR_FORMAT, "T encoding: a tile's count P[%d] is %u, not %u", q,
                                     hdr[16 + q], below);
        }
        for (int lane = 0; lane < 32; lane++) {
            int w8 = lane >> 3, sh = (lane & 7) * 4;
            uint32_t ww = s_word (hdr + 4 * w8), nib = (ww >> sh) & 0xfu;
            uint32_t r = enc == SF_T_PAIR2 ? (uint32_t) ((hdr[16 + 2 * w8] | (size_t) hdr[17 + 2 * w8] << 8) - vstart) / 4
                                           : *vb + (w8 ? hdr[16 + w8 - 1] : 0);
            r += (uint32_t) __builtin_popcount (ww & ((1u << sh) - 1u));
            for (int q = 0; q < 4; q++) {
                if (!(nib >> q & 1u))
                    continue;
                size_t at = 4 * (size_t) r++;
                if (at + 4 > vlimit)
                    return sf_error_set (SF_ERR_FORMAT, "T encoding: a tile's values run past its group");
                h[lane][2 * q] = (uint16_t) (val[at] | val[at + 1] << 8);
                h[lane][2 * q + 1] = (uint16_t) (val[at + 2] | val[at + 3] << 8);
                set[lane][2 * q] = set[lane][2 * q + 1] = 1;
            }
        }
        *vb += below;
    }
    for (int lane = 0; lane < 32; lane++)
        for (int j = 0; j < 8; j++) {
            if (!set[lane][j])
                continue;
            int r, c;
            s_rc_of (lane, j, &r, &c);
            /* A pair's zero half is a value like any other: only set bits
               of the element bitmap, and nonzero halves, must lie inside. */
            if (r0 + r >= m || c0 + c >= k) {
                if (enc == SF_T_ELEM || h[lane][j] != 0)
                    return sf_error_set (SF_ERR_FORMAT, "T encoding: a value at (%lld, %lld) lies outside the %lld x %lld matrix",
                                         (long long) (r0 + r), (long long) (c0 + c), (long long) m, (long long) k);
                continue;
            }
            if (enc == SF_T_ELEM || h[lane][j] != 0)
                (*nnz)++;
            if (dense)
                dense[(r0 + r) * k + c0 + c] = h[lane][j];
        }
    return SF_OK;
}

int
sf_tencode_decode (const void *data, size_t size, uint16_t *dense, sf_tencode_info_t *info)
{
    const uint8_t *bytes = data;
    if (size < SF_TENC_HEADER_WORDS * 4 || size % 4)
        return sf_error_set (SF_ERR_FORMAT, "T encoding: %zu bytes is no encoding", size);
    uint32_t hw[SF_TENC_HEADER_WORDS];
    for (int i = 0; i < SF_TENC_HEADER_WORDS; i++)
        hw[i] = s_word (bytes + 4 * i);
    if (hw[0] != SF_TENC_MAGIC)
        return sf_error_set (SF_ERR_FORMAT, "T encoding: bad magic 0x%08x", hw[0]);
    sf_tconfig_t c = { (int32_t) hw[3], (int32_t) hw[4], (int32_t) hw[5], 16, (int32_t) hw[6],
                       (int32_t) hw[7], 2, 0, 0, 0 };
    if (hw[3] > 2 || hw[4] > 64 || hw[5] > 64 || hw[6] > 64 || hw[7] > 64 || !sf_tconfig_legal (&c))
        return sf_error_set (SF_ERR_FORMAT, "T encoding: its config (e%u w%u m%u k%u g%u) is not legal",
                             hw[3], hw[4], hw[5], hw[6], hw[7]);
    if (hw[15] != SF_TIER_BF16 && hw[15] != SF_TIER_FP16)
        return sf_error_set (SF_ERR_FORMAT, "T encoding: tier %u is not bf16 or fp16", hw[15]);
    int64_t m = hw[1], k = hw[2];
    sf_tgeom_t g;
    if (m < 1 || k < 1 || m > INT32_MAX || k > INT32_MAX || sf_tkernel_geom (&c, m, k, &g) != SF_OK)
        return sf_error_set (SF_ERR_FORMAT, "T encoding: no geometry for %lld x %lld", (long long) m,
                             (long long) k);
    int64_t off_data = (SF_TENC_HEADER_WORDS + g.total_groups + 1 + 3) / 4 * 4;
    if (hw[8] != g.row_blocks || hw[9] != g.part_tiles || hw[10] != g.groups
        || hw[12] != SF_TENC_HEADER_WORDS || hw[13] != off_data || hw[14] != g.total_groups
        || (size_t) off_data * 4 > size)
        return sf_error_set (SF_ERR_FORMAT, "T encoding: its geometry words disagree with %lld x %lld",
                             (long long) m, (long long) k);
    int64_t hb = sf_tkernel_header_bytes (c.enc), tpg = (int64_t) c.group * c.strips, slot = hw[11];
    const uint8_t *base = bytes + off_data * 4;
    size_t data_bytes = size - (size_t) off_data * 4;
    int64_t largest = 0, tiles = 0, nnz = 0, value_bytes = 0;
    const uint8_t *gp = bytes + 4 * SF_TENC_HEADER_WORDS;
    if (dense)
        memset (dense, 0, (size_t) (m * k) * sizeof *dense);
    for (int64_t i = 0; i < g.total_groups; i++) {
        uint64_t start = (uint64_t) s_word (gp + 4 * i) * 16, end = (uint64_t) s_word (gp + 4 * i + 4) * 16;
        if (end < start + (uint64_t) (tpg * hb) || end > data_bytes || (i == 0 && start != 0))
            return sf_error_set (SF_ERR_FORMAT, "T encoding: group %lld's bounds are wrong", (long long) i);
        if (i + 1 == g.total_groups && end != data_bytes)
            return sf_error_set (SF_ERR_FORMAT, "T encoding: %zu bytes after the last group",
                                 (size_t) (data_bytes - end));
        if ((int64_t) (end - start) > largest)
            largest = (int64_t) (end - start);
        /* group i = ((b k + j) w + v) groups + x */
        int64_t x = i % g.groups, v = i / g.groups % c.warps, j = i / g.groups / c.warps % c.ksplit;
        int64_t b = i / g.groups / c.warps / c.ksplit;
        const uint8_t *hdr = base + start, *val = hdr + tpg * hb;
        size_t vlimit = (size_t) (end - start) - (size_t) (tpg * hb);
        uint32_t vb = 0;
        for (int64_t u = 0; u < c.group; u++)
            for (int64_t s = 0; s < c.strips; s++, tiles++) {
                int64_t kt = j * g.part_tiles + x * c.group + u, strip = (b * c.warps + v) * c.strips + s;
                int rc = s_decode_tile (c.enc, hdr + (u * c.strips + s) * hb, val, (size_t) (tpg * hb), vlimit, &vb,
                                        dense, m, k, strip * S_TILE, kt * S_TILE, &nnz);
                if (rc != SF_OK)
                    return rc;
            }
        value_bytes += (int64_t) vb * (c.enc == SF_T_ELEM ? 2 : 4);
    }
    if (slot != largest || slot % 16)
        return sf_error_set (SF_ERR_FORMAT, "T encoding: slot %lld, but the largest group has %lld bytes",
                             (long long) slot, (long long) largest);
    if (info) {
        info->config = c;
        info->m = m;
        info->k = k;
        info->tier = (sf_tier) hw[15];
        info->slot_bytes = slot;
        info->total_groups = g.total_groups;
        info->tiles = tiles;
        info->nnz = nnz;
        info->value_bytes = value_bytes;
    }
    return SF_OK;
}
