/*  sf_tier: a problem's precision tier and activation layout (DESIGN 13).

    A tier says what data types A (the weights), B (the activations) and C
    (the output) have and what arithmetic a kernel may use; every search
    request, result, bundle layer and comparison names one. A layout says
    how the dense operands lie in memory.

      tier   A / B / C        arithmetic                      default bound
      fp32   fp32             FP32 FMA or 3xTF32 tensor cores  1e-5
      tf32   fp32             TF32 tensor cores                1e-3
      bf16   bf16, fp32 acc.  tensor cores                     1e-2
      fp16   fp16, fp32 acc.  tensor cores                     2e-3

    The bound is the normwise relative error of sampled rows of C against a
    double-precision reference computed on the tier's rounded inputs
    (docs/DECISIONS.md "Precision tiers" records what cuBLAS gives in each
    tier, which the bounds are set from).

      layout  B                      C
      kn      K x N row-major        M x N row-major  (im2col; the seed's)
      nk      X: N x K row-major     Y = X A^T: N x M row-major
                                                      (nn.Linear, LLM serving)

    Zero values are the defaults (fp32, kn), so a zeroed request is the
    seed's behaviour.
*/
#ifndef SF_TIER_H_INCLUDED
#define SF_TIER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SF_TIER_FP32 = 0,
    SF_TIER_TF32 = 1,
    SF_TIER_BF16 = 2,
    SF_TIER_FP16 = 3
} sf_tier;
#define SF_TIER_COUNT 4

typedef enum {
    SF_LAYOUT_KN = 0,
    SF_LAYOUT_NK = 1
} sf_layout;
#define SF_LAYOUT_COUNT 2

/*  "fp32", "tf32", "bf16", "fp16"; "?" for a value out of range. */
const char *sf_tier_name (sf_tier tier);
/*  The tier named `name` (exactly as sf_tier_name spells it), or -1. */
int sf_tier_parse (const char *name);

/*  The element type of A, B and C in the tier, as the bundle manifest and
    safetensors spell it: "float32", "bfloat16", "float16". */
const char *sf_tier_dtype (sf_tier tier);
/*  Bytes of one element of A, B and C: 4 (fp32, tf32) or 2 (bf16, fp16). */
size_t sf_tier_elem_size (sf_tier tier);
/*  Whether the tier's data are 16-bit floats. */
bool sf_tier_is_half (sf_tier tier);
/*  The tier's default verification bound (normwise relative error). */
double sf_tier_tol (sf_tier tier);

/*  Rounds an fp32 value to the tier's element type and back (round to
    nearest even; NaN stays NaN, overflow gives infinity): the identity for
    fp32 and tf32 (tf32 tiers keep fp32 data; the tensor cores round). */
float sf_tier_round (sf_tier tier, float x);
/*  fp32 <-> the 16-bit encodings (round to nearest even). */
uint16_t sf_tier_to_bf16 (float x);
float sf_tier_from_bf16 (uint16_t h);
uint16_t sf_tier_to_fp16 (float x);
float sf_tier_from_fp16 (uint16_t h);

/*  "kn", "nk"; "?" out of range. */
const char *sf_layout_name (sf_layout layout);
/*  The layout named `name`, or -1. */
int sf_layout_parse (const char *name);

#ifdef __cplusplus
}
#endif
#endif
