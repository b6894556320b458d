/*  sf_tencode: template T's encoding of A (sf_tkernel.h), made at
    generation time, and its decoder (the kernel's reading, on the CPU).

    A is cut into tiles of 16 rows x 16 k (an mma.sync m16n8k16 A operand);
    rows past M and k past K are empty. Tiles go to warps: a block of the
    config owns rows [b R, b R + R) (R = 16 w m), warp v of it strips
    b w m + v m + i (i < m); part j of K is k-tiles [j T, j T + T) (T =
    part_tiles, a multiple of g). Each warp's tiles of one part are cut into
    groups of g consecutive k-tiles; a group is the unit one bulk copy
    brings to shared memory:
      headers  g x m tile headers, k-tile major (tile t = u m + i)
      values   the tiles' values in the same order
      padding  zeros to a multiple of 16 bytes
    Encoding SF_T_ELEM (44-byte header): the tile's 256-bit mask in the
    fragment's order (bit 8 l + j: lane l's register half j, j = 2 (2 kh +
    rh) + (c & 1) for row 8 rh + l / 4 and column 8 kh + 2 (l % 4) + (c & 1)),
    as 8 little-endian words, then 8 bytes P: P[q] = set bits of words
    0..q-1, then the tile's count (a word). Values: one 16-bit value per set
    bit, in bit order (lane l's together, after the lanes below).
    Encoding SF_T_PAIR (20-byte header): 4 words; lane l's nibble at bits
    4 (l % 8) of word l / 8, its bit q set if the lane's pair of register
    a[q] (rows 8 (q & 1) + l / 4, columns 8 (q >> 1) + 2 (l % 4) and + 1) is
    not all zero; then 4 bytes: set bits of words 0, 0..1, 0..2, and the
    tile's count. Values: one 32-bit word (the pair: low half the even
    column) per set bit, lane-major, q ascending within a lane.
    The counts spare the kernel all population counts but one per tile
    (POPC runs at 16 lanes a clock on sm_90).
    Encoding SF_T_PAIR2 (24-byte header; session 20): SF_T_PAIR's 4 nibble
    words, then 4 16-bit little-endian starts: start w (w < 4) is the byte
    offset, from the group's first byte (its first header), of the first
    value of lanes 8 w .. 8 w + 7 (where they would lie if they had none).
    Values as SF_T_PAIR's. A lane's first value lies at start[l / 8] + 4
    popc(its word's nibbles below it): one population count and no running
    count across the group's tiles (SF_T_PAIR's vb), so the kernel decodes
    a group's tiles independently of each other. A group is at most 32
    tiles of 24 + 512 bytes, so the starts fit 16 bits.

    The buffer (little-endian 32-bit words; offsets in words):
      [0] magic 0x31544653 ("SFT1")  [1] M  [2] K  [3] e  [4] w  [5] m
      [6] k  [7] g  [8] row blocks  [9] part_tiles  [10] groups per warp
      [11] slot bytes (the largest group)  [12] off_gptr (16)
      [13] off_data (a multiple of 4)  [14] total groups  [15] tier
      gptr[total + 1]  start of each group in 16-byte units from off_data,
                       group (block b, part j, warp v, index x) at
                       ((b k + j) w + v) groups + x
      data             the groups
*/
#ifndef SF_TENCODE_H_INCLUDED
#define SF_TENCODE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tkernel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_TENC_MAGIC 0x31544653u
#define SF_TENC_HEADER_WORDS 16

/*  Encodes `a` (values rounded to the tier's type, bf16 or fp16) for
    `config`. *data_p gets a malloc'ed buffer (caller frees), *size_p its
    bytes. SF_ERR_INVALID for an illegal config or tier, SF_ERR_RANGE if
    the encoding would pass 2^32 words. */
int sf_tencode (const sf_tconfig_t *config, sf_tier tier, const sf_matrix_t *a, void **data_p,
                size_t *size_p);

/*  What a checked encoding holds. */
typedef struct {
    sf_tconfig_t config;  /* e, w, m, k, g (n and p are the kernel's own) */
    int64_t m, k;
    sf_tier tier;
    int64_t slot_bytes;
    int64_t total_groups;
    int64_t tiles, nnz;   /* tiles encoded, nonzeros (set bits) */
    int64_t value_bytes;  /* of all groups' values */
} sf_tencode_info_t;

/*  Checks every header word, offset and count of an encoding as the kernel
    will read it, and decodes it: *dense (may be NULL) gets M x K 16-bit
    values, row-major (caller's). SF_ERR_FORMAT naming the first fault;
    never reads outside data[0..size). info may be NULL. */
int sf_tencode_decode (const void *data, size_t size, uint16_t *dense, sf_tencode_info_t *info);

#ifdef __cplusplus
}
#endif
#endif
