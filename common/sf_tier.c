/*  sf_tier: precision tiers and layouts (see sf_tier.h). */
#include "common/sf_tier.h"

#include <math.h>
#include <string.h>

static const char *s_tier_names[SF_TIER_COUNT] = { "fp32", "tf32", "bf16", "fp16" };
static const char *s_layout_names[SF_LAYOUT_COUNT] = { "kn", "nk" };

const char *
sf_tier_name (sf_tier tier)
{
    return (unsigned) tier < SF_TIER_COUNT ? s_tier_names[tier] : "?";
}

int
sf_tier_parse (const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SF_TIER_COUNT; i++)
        if (strcmp (name, s_tier_names[i]) == 0)
            return i;
    return -1;
}

const char *
sf_tier_dtype (sf_tier tier)
{
    switch (tier) {
    case SF_TIER_BF16: return "bfloat16";
    case SF_TIER_FP16: return "float16";
    default: return "float32";
    }
}

size_t
sf_tier_elem_size (sf_tier tier)
{
    return sf_tier_is_half (tier) ? 2 : 4;
}

bool
sf_tier_is_half (sf_tier tier)
{
    return tier == SF_TIER_BF16 || tier == SF_TIER_FP16;
}

double
sf_tier_tol (sf_tier tier)
{
    /* about 4-6x what cuBLAS gives in the tier, measured on the H100
       (docs/DECISIONS.md "Precision tiers": TF32 2.6e-4, bf16 1.65e-3,
       fp16 2.1e-4 with C in the type, on BERT and LLM shapes) */
    switch (tier) {
    case SF_TIER_TF32: return 1e-3;
    case SF_TIER_BF16: return 1e-2;
    case SF_TIER_FP16: return 2e-3;
    default: return 1e-5;
    }
}

static uint32_t
s_bits (float x)
{
    uint32_t u;
    memcpy (&u, &x, 4);
    return u;
}

static float
s_float (uint32_t u)
{
    float x;
    memcpy (&x, &u, 4);
    return x;
}

uint16_t
sf_tier_to_bf16 (float x)
{
    uint32_t u = s_bits (x);
    if (isnan (x))
        return (uint16_t) ((u >> 16) | 0x40);  /* quiet NaN, sign kept */
    u += 0x7fffu + ((u >> 16) & 1u);           /* round to nearest even */
    return (uint16_t) (u >> 16);
}

float
sf_tier_from_bf16 (uint16_t h)
{
    return s_float ((uint32_t) h << 16);
}

uint16_t
sf_tier_to_fp16 (float x)
{
    uint32_t u = s_bits (x);
    uint16_t sign = (uint16_t) ((u >> 16) & 0x8000u);
    uint32_t au = u & 0x7fffffffu;
    if (au >= 0x7f800000u)                    /* inf or NaN */
        return sign | 0x7c00u | (au > 0x7f800000u ? 0x200u : 0u);
    if (au >= 0x477ff000u)                    /* rounds to >= 65520: inf */
        return sign | 0x7c00u;
    if (au < 0x38800000u) {                   /* below 2^-14: subnormal or 0 */
        /* value = au's float; subnormal step is 2^-24 */
        float f = s_float (au) * 16777216.0f; /* in units of 2^-24 */
        float r = nearbyintf (f);             /* default mode: nearest even */
        return sign | (uint16_t) r;           /* r <= 1024 carries into exp */
    }
    uint32_t mant = au & 0x7fffffu;
    int32_t exp = (int32_t) (au >> 23) - 127 + 15;
    uint32_t h = ((uint32_t) exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++;                                  /* may carry into the exponent */
    return sign | (uint16_t) h;
}

float
sf_tier_from_fp16 (uint16_t h)
{
    uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        float f = (float) mant / 16777216.0f;  /* mant * 2^-24 */
        return sign ? -f : f;
    }
    if (exp == 31)
        return s_float (sign | 0x7f800000u | (mant << 13));
    return s_float (sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

float
sf_tier_round (sf_tier tier, float x)
{
    switch (tier) {
    case SF_TIER_BF16: return sf_tier_from_bf16 (sf_tier_to_bf16 (x));
    case SF_TIER_FP16: return sf_tier_from_fp16 (sf_tier_to_fp16 (x));
    default: return x;
    }
}

const char *
sf_layout_name (sf_layout layout)
{
    return (unsigned) layout < SF_LAYOUT_COUNT ? s_layout_names[layout] : "?";
}

int
sf_layout_parse (const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SF_LAYOUT_COUNT; i++)
        if (strcmp (name, s_layout_names[i]) == 0)
            return i;
    return -1;
}
