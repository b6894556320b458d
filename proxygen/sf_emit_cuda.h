/*  sf_emit_cuda: the full template U kernel as CUDA C, for NVRTC.

    The same kernel as sf_emit_u_full's PTX, written in CUDA C: the same
    entry name, signature and launch (sf_emit_u_full_launch), the same
    per-thread tile (R x V accumulators), a switch on the panel with
    straight-line code per panel (one V-wide __ldg of B per distinct k, the
    address walking from k to k; one fmaf per nonzero and lane with the value
    as a float literal), the same epilogue and guarded V-wide stores to each
    row's original index, and the same generic loop over an embedded permuted
    CSR copy of A when N % V != 0. A module from either emitter can replace
    the other's in a launch.

    It exists to measure the compile paths (docs/KERNELS.md, "Emission path:
    PTX or CUDA C"): NVRTC on this source against ptxas on our PTX. The
    search compiles it instead of the PTX only when SPMMFARM_U_EMIT=cuda.
*/
#ifndef SF_EMIT_CUDA_H_INCLUDED
#define SF_EMIT_CUDA_H_INCLUDED

#include "common/sf_buf.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_panels.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Emits the full U kernel of `a` cut into `panels` (made with the config's
    panel_rows and reorder) as CUDA C into `out`; `launch` gets the same
    launch as sf_emit_u_full's. The source needs no #include. */
int sf_emit_cuda_u_full (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                         const sf_epilogue_t *epilogue, sf_buf_t *out, sf_launch_t *launch);

#ifdef __cplusplus
}
#endif
#endif
