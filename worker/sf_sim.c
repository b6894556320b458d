/*  sf_sim: analytic times. Rates are an H100 SXM's published figures,
    derated to what dense libraries reach on it (DESIGN 11's table). */
#include "worker/sf_sim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_emit.h"

#define S_FMA_PER_SM_CLK 128.0   /* fp32 lanes */
#define S_CLOCK_HZ 1.755e9
#define S_DRAM_BPS 3.0e12
#define S_L2_BPS 7.0e12
#define S_LAUNCH_US 3.0
#define S_T_FIXED_US 12.0   /* a template T launch's fixed cost on the H100 */
#define S_L2_BYTES (50 << 20)   /* the simulated part's L2 */
#define S_INSTR_BYTES 16.0      /* a SASS instruction (Hopper) */

void
sf_sim_device (sf_device_info_t *info)
{
    memset (info, 0, sizeof *info);
    snprintf (info->name, sizeof info->name, "simulated H100");
    info->sm_count = 132;
    info->cc_major = SF_CUDADRV_SIM_CC_MAJOR;
    info->cc_minor = SF_CUDADRV_SIM_CC_MINOR;
    info->total_mem_bytes = 80ull << 30;
    snprintf (info->driver_version_str, sizeof info->driver_version_str, "sim");
    snprintf (info->gpu_type, sizeof info->gpu_type, "%s", SF_CUDADRV_SIM_GPU_TYPE);
    info->l2_bytes = S_L2_BYTES;
    info->max_threads_per_sm = 2048;
    info->max_regs_per_sm = 65536;
    info->max_blocks_per_sm = 32;
}

void
sf_sim_device_l2 (sf_device_info_t *info, bool cold)
{
    sf_sim_device (info);
    if (cold)
        info->l2_bytes = 0;  /* flushed before every launch: nothing left from the last one */
}

bool
sf_sim_l2_cold (const sf_device_info_t *gpu)
{
    return gpu->l2_bytes == 0;
}

/*  A cold L2's extra: the DRAM read of the operands' bytes that warm
    back-to-back launches find in L2 (at most its size); 0 when warm, so
    that warm times are what the model always gave. */
static double
s_cold_us (const sf_device_info_t *gpu, double operand_bytes)
{
    if (!sf_sim_l2_cold (gpu))
        return 0.0;
    return fmin (operand_bytes, (double) S_L2_BYTES) / S_DRAM_BPS * 1e6;
}

/*  What the U and D models share: the panels' multiply-adds and distinct k,
    and the occupancy (from registers, threads and dynamic shared memory:
    latency hiding) and wave quantization of the launch. */
typedef struct {
    double fmas, loads, efficiency, wave_eff;
} s_shape_t;

static void
s_shape (const sf_device_info_t *gpu, const sf_panels_t *panels, const sf_config_t *c, double regs,
         double shared_bytes, int64_t m, int64_t n, s_shape_t *out)
{
    int32_t count = sf_panels_count (panels);
    out->fmas = out->loads = 0;
    for (int32_t p = 0; p < count; p++) {
        sf_panel_info_t info;
        sf_panels_info (panels, p, &info);
        out->fmas += (double) info.nnz;
        out->loads += (double) info.distinct_k;
    }
    int32_t threads = sf_config_block_threads (c);
    double by_regs = floor (65536.0 / (regs * threads));
    double by_threads = floor (2048.0 / threads);
    double by_shared = shared_bytes > 0 ? floor (228.0 * 1024 / shared_bytes) : 32.0;
    double blocks_per_sm = fmax (1.0, fmin (fmin (fmin (by_regs, by_threads), by_shared), 32.0));
    out->efficiency = fmin (1.0, blocks_per_sm * threads / 32.0 / 16.0) * 0.8;
    double blocks = (double) sf_config_blocks (c, m, n);
    double waves = ceil (blocks / (gpu->sm_count * blocks_per_sm));
    out->wave_eff = blocks / (waves * gpu->sm_count * blocks_per_sm);
}

double
sf_sim_u_us (const sf_device_info_t *gpu, const sf_panels_t *panels, const sf_config_t *c,
             int64_t m, int64_t k, int64_t n)
{
    s_shape_t sh;
    s_shape (gpu, panels, c, c->max_regs, (double) sf_emit_u_shared_bytes (c), m, n, &sh);
    double fmas = sh.fmas, loads = sh.loads, efficiency = sh.efficiency, wave_eff = sh.wave_eff;
    double sms = gpu->sm_count;
    double fma_s = fmas * (double) n / (sms * S_FMA_PER_SM_CLK * S_CLOCK_HZ * efficiency * wave_eff);
    /* Panels of a block share B rows through L1 at random-like overlap. */
    double l1_reuse = 1.0 + 0.6 * (c->groups - 1);
    double l2_s = loads * (double) n * 4.0 / l1_reuse / (S_L2_BPS * wave_eff);
    double dram_s = ((double) k * n + (double) m * n) * 4.0 / S_DRAM_BPS;
    /* a split's exchange: per row and lane, k - 1 partials stored and
       loaded (and added) */
    double ks = sf_config_ksplit (c);
    double exchange = ks > 1 ? (double) m * (ks - 1) * 3.0 : 0.0;
    double issue_s = (fmas + loads * 2.0 + exchange) * (double) n / c->vec / 32.0
                   / (sms * 4.0 * S_CLOCK_HZ * efficiency * wave_eff) * c->vec;
    double t = fmax (fmax (fma_s, l2_s), fmax (dram_s, issue_s));
    /* cold: A is code (an FFMA a nonzero, its value an immediate; a load
       a distinct k), read with B */
    return t * 1e6 + S_LAUNCH_US + s_cold_us (gpu, (fmas + loads) * S_INSTR_BYTES + (double) k * n * 4.0);
}

/*  A D kernel's operands: its encoding of A (an index and a value a
    nonzero) and B. */
static double
s_d_operand_bytes (double nnz, int64_t k, int64_t n)
{
    return nnz * 8.0 + (double) k * n * 4.0;
}

/*  The slab kernel: B from shared memory through the same pipe as the
    warp's shuffles, L2 serving each panel its columns of B once and every
    column block its nonzeros; occupancy from shared memory as well. (On
    the H100 the rows kernel beats it on BERT-size layers, which this
    model, like the rows one, does not get right: docs/KERNELS.md.) */
static double
s_slab_us (const sf_device_info_t *gpu, const sf_panels_t *panels, const sf_config_t *c, int64_t m,
           int64_t k, int64_t n)
{
    s_shape_t sh;
    s_shape (gpu, panels, c, c->panel_rows / (c->threads / 32) * c->vec + 40.0,
             (double) sf_dkernel_shared_bytes (c, k), m, n, &sh);
    double efficiency = sh.efficiency, wave_eff = sh.wave_eff;
    double scale = gpu->sm_count * S_CLOCK_HZ * efficiency * wave_eff;
    double col_blocks = ceil ((double) n / (32.0 * c->vec));
    /* The shared-memory pipe (ncu on the H100, docs/KERNELS.md): per
       nonzero a warp shuffles its column and value and loads V floats a
       lane, 2 + V wavefronts of one a clock, for 32 V multiply-adds. */
    double smem_s = sh.fmas * (double) n / (32.0 * c->vec) * (2.0 + c->vec) / scale;
    double l2_s = ((double) sf_panels_count (panels) * k * n * 4.0 + col_blocks * sh.fmas * 8.0)
                / (S_L2_BPS * wave_eff);
    double issue_s = sh.fmas * (double) n / c->vec * (c->vec + 4.0) / 32.0 / (scale * 4.0);
    double dram_s = ((double) k * n + (double) m * n) * 4.0 / S_DRAM_BPS;
    double t = fmax (fmax (smem_s, l2_s), fmax (issue_s, dram_s));
    return t * 1e6 + S_LAUNCH_US + s_cold_us (gpu, s_d_operand_bytes (sh.fmas, k, n));
}

double
sf_sim_d_us (const sf_device_info_t *gpu, const sf_panels_t *panels, const sf_config_t *c,
             int64_t m, int64_t k, int64_t n)
{
    if (c->encoding == SF_D_SLAB)
        return s_slab_us (gpu, panels, c, m, k, n);
    s_shape_t sh;
    s_shape (gpu, panels, c, c->panel_rows * c->vec + 32.0, 0, m, n, &sh);
    double fmas = sh.fmas, distinct = sh.loads, efficiency = sh.efficiency, wave_eff = sh.wave_eff;
    double sms = gpu->sm_count;
    double scale = sms * S_CLOCK_HZ * efficiency * wave_eff;
    /* One B load per nonzero (through L1: 128 bytes per SM and clock), the
       distinct rows of a panel from L2, and per nonzero an index and a
       value load, the loop and the V multiply-adds to issue. */
    double fma_s = fmas * (double) n / (scale * S_FMA_PER_SM_CLK);
    double l1_s = fmas * (double) n * 4.0 / (scale * 128.0);
    double l2_s = distinct * (double) n * 4.0 / (1.0 + 0.6 * (c->groups - 1)) / (S_L2_BPS * wave_eff);
    double dram_s = ((double) k * n + (double) m * n) * 4.0 / S_DRAM_BPS;
    double issue_s = fmas * (double) n / c->vec * (c->vec + 4.0) / 32.0 / (scale * 4.0);
    double t = fmax (fmax (fma_s, fmax (l1_s, l2_s)), fmax (dram_s, issue_s));
    return t * 1e6 + S_LAUNCH_US + s_cold_us (gpu, s_d_operand_bytes (fmas, k, n));
}

double
sf_sim_sgemm_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n)
{
    double flops = 2.0 * m * k * n;
    double rate = gpu->sm_count * S_FMA_PER_SM_CLK * 2.0 * S_CLOCK_HZ * 0.55;
    double bytes = ((double) m * k + (double) k * n + (double) m * n) * 4.0;
    return fmax (flops / rate, bytes / S_DRAM_BPS) * 1e6 + S_LAUNCH_US
         + s_cold_us (gpu, ((double) m * k + (double) k * n) * 4.0);
}

double
sf_sim_tf32_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n)
{
    double flops = 2.0 * m * k * n;
    double rate = 495e12 * gpu->sm_count / 132.0 * 0.35;
    double bytes = ((double) m * k + (double) k * n + (double) m * n) * 4.0;
    return fmax (flops / rate, bytes / S_DRAM_BPS) * 1e6 + S_LAUNCH_US
         + s_cold_us (gpu, ((double) m * k + (double) k * n) * 4.0);
}

double
sf_sim_cusparse_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n, int64_t nnz)
{
    /* Measured cuSPARSE on H100 runs near 0.95 TFLOP/s useful at 90 %. */
    double flops = 2.0 * nnz * n;
    double rate = 0.95e12 * gpu->sm_count / 132.0;
    /* cold: CSR (a value and an index a nonzero, row offsets) and B */
    return flops / rate * 1e6 + S_LAUNCH_US
         + s_cold_us (gpu, (double) nnz * 8.0 + (m + 1.0) * 4.0 + (double) k * n * 4.0);
}

#define S_TF32_FLOPS 494.7e12
#define S_HALF_FLOPS 989.4e12

double
sf_sim_blas16_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n)
{
    double flops = 2.0 * m * k * n;
    double rate = S_HALF_FLOPS * gpu->sm_count / 132.0 * 0.35;
    double bytes = ((double) m * k + (double) k * n + (double) m * n) * 2.0;
    return fmax (flops / rate, bytes / S_DRAM_BPS) * 1e6 + S_LAUNCH_US
         + s_cold_us (gpu, ((double) m * k + (double) k * n) * 2.0);
}

double
sf_sim_cusparse_tier_us (const sf_device_info_t *gpu, sf_tier tier, int64_t m, int64_t k, int64_t n, int64_t nnz)
{
    double t = sf_sim_cusparse_us (gpu, m, k, n, nnz);
    /* 16-bit: half the bytes of B and C, the same fp32 arithmetic */
    return sf_tier_is_half (tier) ? (t - S_LAUNCH_US) / 1.25 + S_LAUNCH_US : t;
}

double
sf_sim_lt24_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n)
{
    double flops = 2.0 * m * k * n / 2.0;
    double rate = S_HALF_FLOPS * gpu->sm_count / 132.0 * 0.35;
    double bytes = ((double) m * k * 0.5625 + (double) k * n + (double) m * n) * 2.0;
    return fmax (flops / rate, bytes / S_DRAM_BPS) * 1e6 + S_LAUNCH_US
         + s_cold_us (gpu, ((double) m * k * 0.5625 + (double) k * n) * 2.0);
}

double
sf_sim_tcdense_us (const sf_device_info_t *gpu, const sf_tcdense_config_t *c, int64_t m, int64_t k, int64_t n)
{
    double sms = gpu->sm_count;
    int64_t tiles = ((m + c->bm - 1) / c->bm) * ((n + c->bn - 1) / c->bn);
    double blocks = (double) tiles * c->ksplit;
    double lanes = c->wg ? 128.0 : 32.0;  /* a wgmma tile is a warpgroup's */
    double threads = (double) (c->bm / c->wm) * (c->bn / c->wn) * lanes;
    double acc = (double) c->wm * c->wn / lanes * (c->tier == SF_TIER_FP32 ? 2.0 : 1.0);
    double by_regs = floor (65536.0 / (threads * (acc + 64.0)));
    double by_shared = floor (228.0 * 1024 / sf_tcdense_shared_bytes (c));
    double per_sm = fmax (1.0, fmin (fmin (by_regs, by_shared), floor (2048.0 / threads)));
    double waves = ceil (blocks / (sms * per_sm));
    double wave_eff = blocks / (waves * sms * per_sm);
    /* padded tiles cost as much as real ones */
    double mp = (double) ((m + c->bm - 1) / c->bm * c->bm), np = (double) ((n + c->bn - 1) / c->bn * c->bn);
    double kp = (double) ((k + 31) / 32 * 32);
    double flops = 2.0 * mp * kp * np;
    double rate = (sf_tier_is_half (c->tier) ? S_HALF_FLOPS : S_TF32_FLOPS) * sms / 132.0 * 0.5
                / (c->tier == SF_TIER_FP32 ? 3.0 : 1.0);
    /* occupancy: one block of few warps hides less latency */
    double latency = fmin (1.0, per_sm * threads / 256.0);
    double esize = (double) sf_tier_elem_size (c->tier);
    double bytes = (double) m * k * esize * (c->tier == SF_TIER_FP32 ? 2.0 : 1.0) + ((double) k * n + (double) m * n) * esize;
    double exchange = c->ksplit > 1 ? 1.0 + 0.05 * c->ksplit : 1.0;
    double t = fmax (flops / (rate * wave_eff * latency), bytes / S_DRAM_BPS) * exchange;
    return t * 1e6 + S_LAUNCH_US + s_cold_us (gpu, bytes - (double) m * n * esize);
}

/*  T multiplies whole 16 x 16 tiles with mma.sync (about half of wgmma's
    rate) and decodes each first: at 50-90 % uniform sparsity every tile is
    nonempty, so its work is the dense product's, at a quarter of the peak. */
#define S_T_FLOPS_SHARE 0.25

double
sf_sim_t_us (const sf_device_info_t *gpu, size_t data_bytes, int64_t m, int64_t k, int64_t n)
{
    double bytes = (double) data_bytes + ((double) k * n + (double) m * n) * 2.0;
    double flops = 2.0 * (double) ((m + 15) / 16 * 16) * (double) ((k + 15) / 16 * 16) * (double) n;
    double rate = S_HALF_FLOPS * gpu->sm_count / 132.0 * S_T_FLOPS_SHARE;
    return fmax (bytes / S_DRAM_BPS, flops / rate) * 1e6 + S_T_FIXED_US
         + s_cold_us (gpu, (double) data_bytes + (double) k * n * 2.0);
}
