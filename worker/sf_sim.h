/*  sf_sim: the `sim` measurement backend, an analytic time model of a GPU.

    It exists so that the whole farm, compiles included, runs and is tested on
    machines without a GPU. Its times are estimates, never measurements:
    every result it produces is labelled simulated and its GPU type is
    "sim/<model>", so it can never train a model or fill a bundle for a real
    GPU type (DESIGN 5).

    The model: a kernel takes the longest of its multiply-add time, its B
    traffic from L2 (divided by the L1 reuse of panels sharing a block), its
    DRAM traffic (B and C once), each scaled by the wave quantization of its
    blocks, plus a launch overhead.

    The L2 at the timings (--l2; docs/DECISIONS.md "Cold L2 in the decode
    regime"), SIMULATED as every sim time: the model above is the warm one
    (launches back to back, as the farm timed before cold L2 existed) and
    is unchanged. A cold L2 (flushed before every launch) adds to each
    kernel, as a serial term, the DRAM read of its operands that a warm L2
    would have held, at most the L2's size: A in the kernel's form (U: its
    code, 16 bytes an instruction, an FFMA a nonzero and a load a distinct
    k; D: an index and a value a nonzero; T: its encoding; dense: M x K in
    the tier's type, twice for 3xTF32; cuSPARSE: CSR) and B. So cold >=
    warm always, and the kernels that read fewer bytes lose less (at
    decode, where the weights are most of the bytes). The simulated device
    says which: a cold L2 is a device whose l2_bytes is 0 (no byte of a
    launch's operands left in L2 by the launch before), what
    sf_sim_device_l2 makes.
*/
#ifndef SF_SIM_H_INCLUDED
#define SF_SIM_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_tcdense.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The simulated GPU: an H100 SXM-like part. */
void sf_sim_device (sf_device_info_t *info);
/*  The simulated GPU as a timing with a warm or a cold L2 sees it: warm is
    sf_sim_device's; cold has l2_bytes 0, and every sf_sim_*_us of it adds
    the cold L2's DRAM reads. */
void sf_sim_device_l2 (sf_device_info_t *info, bool cold);
/*  Whether gpu is a cold-L2 device (l2_bytes 0). */
bool sf_sim_l2_cold (const sf_device_info_t *gpu);

/*  Estimated microseconds of a U kernel of these panels at N columns. */
double sf_sim_u_us (const sf_device_info_t *gpu, const sf_panels_t *panels, const sf_config_t *config,
                    int64_t m, int64_t k, int64_t n);

/*  Estimated microseconds of a D kernel (data-driven: one B load per
    nonzero through L1) of these panels at N columns. */
double sf_sim_d_us (const sf_device_info_t *gpu, const sf_panels_t *panels, const sf_config_t *config,
                    int64_t m, int64_t k, int64_t n);

/*  Estimated microseconds of dense SGEMM (fp32, no tensor cores) and TF32,
    and of cuSPARSE CSR SpMM. */
double sf_sim_sgemm_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n);
double sf_sim_tf32_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n);
double sf_sim_cusparse_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n, int64_t nnz);

/*  The precision tiers (DESIGN 13): tensor-core rates (TF32 495 and
    bf16/fp16 989 TFLOP/s dense on an H100 SXM, derated as the fp32 rates
    are) and the tier's element size in every byte count.
      sf_sim_blas16_us     cuBLASLt in bf16/fp16
      sf_sim_cusparse_tier_us  cuSPARSE CSR in the tier's type
      sf_sim_lt24_us       cuSPARSELt on a 2:4 matrix (half the MMAs, A
                           compressed)
      sf_sim_tcdense_us    our tensor-core dense kernel of that config
                           (mma.sync: about half the wgmma rate; three
                           products per product for 3xTF32; its tiles'
                           wave quantization; A's two parts in fp32) */
double sf_sim_blas16_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n);
double sf_sim_cusparse_tier_us (const sf_device_info_t *gpu, sf_tier tier, int64_t m, int64_t k, int64_t n,
                                int64_t nnz);
double sf_sim_lt24_us (const sf_device_info_t *gpu, int64_t m, int64_t k, int64_t n);
double sf_sim_tcdense_us (const sf_device_info_t *gpu, const sf_tcdense_config_t *config, int64_t m,
                         int64_t k, int64_t n);
/*  Estimated microseconds of a template T kernel (sf_tkernel.h) whose
    encoding of A has data_bytes bytes: the encoding, B and C (16-bit) at
    the DRAM rate, or the dense product's flops (every tile nonempty) at a
    quarter of the 16-bit peak (mma.sync, decoding) when that is longer
    (prefill), plus the ~12 us fixed cost of a T launch measured on the
    H100 (docs/KERNELS.md, "Template T": latency-bound warps, not bytes).
    A model: the sim backend labels it as such. */
double sf_sim_t_us (const sf_device_info_t *gpu, size_t data_bytes, int64_t m, int64_t k, int64_t n);

#ifdef __cplusplus
}
#endif
#endif