/*  sf_gpu: buffers, verification, event timing and generated kernels on one
    GPU; the library baselines are in sf_gpu_libs.c. */
#include "worker/sf_gpu_priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_sort.h"
#include "common/sf_log.h"
#include "common/sf_reference.h"
#include "common/sf_rng.h"

/*  Poison for C: NaN as fp32 and, two at a time, as bf16 and fp16 (an
    unwritten element never passes). */
#define S_POISON_F32 0xFFC0DEADu
#define S_POISON_F16 0xFFFFFFFFu
/*  An idle GPU runs its SMs at a low clock (345 MHz on the H100 against
    1,980 boosted) and takes milliseconds to ramp up: a few warm-up launches
    of a 3 us kernel are over before it does (session 6: small proxies timed
    first after compiles read 30-50 % slow). So a timing that starts on a GPU
    idle for longer than S_HOT_S first runs its kernel for S_WARM_US of GPU
    time. (The 6-10x baseline outliers of bench205 are not this: the search
    handles them, sf_search.c s_keep_faster.) */
#define S_WARM_US 5000.0
#define S_HOT_S 0.05

sf_gpu_t *
sf_gpu_new (int ordinal)
{
    sf_gpu_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->blas16_algo = -1;
    self->drv = sf_cudadrv_new (NULL, 0);
    if (!self->drv || sf_cudadrv_require_compute (self->drv) != SF_OK
        || sf_cudadrv_device_info (self->drv, ordinal, &self->info) != SF_OK)
        goto fail;
    self->cu = sf_cudadrv_api (self->drv);
    const sf_cuda_api_t *cu = self->cu;
    if (sf_cudadrv_check (self->drv, cu->cuDeviceGet (&self->device, ordinal), "cuDeviceGet")
        || sf_cudadrv_check (self->drv, cu->cuDevicePrimaryCtxRetain (&self->ctx, self->device),
                             "cuDevicePrimaryCtxRetain")
        || sf_cudadrv_check (self->drv, cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent")
        || sf_cudadrv_check (self->drv, cu->cuStreamCreate (&self->stream, CU_STREAM_NON_BLOCKING),
                             "cuStreamCreate")
        || sf_cudadrv_check (self->drv, cu->cuEventCreate (&self->ev_start, CU_EVENT_DEFAULT),
                             "cuEventCreate")
        || sf_cudadrv_check (self->drv, cu->cuEventCreate (&self->ev_stop, CU_EVENT_DEFAULT),
                             "cuEventCreate"))
        goto fail;
    sf_gpu_load_libs (self);
    const char *method = sf_gpu_timing ();
    if (!method)
        goto fail;
    self->graphs = strcmp (method, "graph") == 0;
    if (self->graphs && sf_cudadrv_require_graphs (cu) != SF_OK)
        goto fail;
    return self;
fail:
    sf_gpu_destroy (&self);
    return NULL;
}

static void
s_free_problem (sf_gpu_t *self)
{
    const sf_cuda_api_t *cu = self->cu;
    for (int i = 0; i < self->b_copies; i++) {
        cu->cuMemFree (self->b[i]);
        if (self->x[i])
            cu->cuMemFree (self->x[i]);
        self->x[i] = 0;
    }
    self->b_copies = 0;
    CUdeviceptr *ptrs[] = { &self->c, &self->d_bias, &self->a_dense, &self->a_rowptr,
                            &self->a_colidx, &self->a_val };
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
        if (*ptrs[i])
            cu->cuMemFree (*ptrs[i]);
        *ptrs[i] = 0;
    }
    free (self->host_b);
    free (self->host_bias);
    free (self->reference);
    sf_matrix_destroy (&self->a_round);
    self->host_b = NULL;
    self->host_bias = NULL;
    self->reference = NULL;
    self->blas16_algo = -1;
}

void
sf_gpu_destroy (sf_gpu_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_gpu_t *self = *self_p;
    if (self->cu) {
        self->cu->cuCtxSetCurrent (self->ctx);
        s_free_problem (self);
        if (self->ev_start)
            self->cu->cuEventDestroy (self->ev_start);
        if (self->ev_stop)
            self->cu->cuEventDestroy (self->ev_stop);
        if (self->blas_workspace)
            self->cu->cuMemFree (self->blas_workspace);
        if (self->flush)
            self->cu->cuMemFree (self->flush);
        if (self->flush_module)
            self->cu->cuModuleUnload (self->flush_module);
        for (size_t i = 0; i < sizeof self->ev_cold / sizeof self->ev_cold[0]; i++)
            if (self->ev_cold[i])
                self->cu->cuEventDestroy (self->ev_cold[i]);
        if (self->stream)
            self->cu->cuStreamDestroy (self->stream);
        if (self->ctx)
            self->cu->cuDevicePrimaryCtxRelease (self->device);
    }
    /* The baseline libraries stay loaded: they start threads of their own. */
    sf_cudadrv_destroy (&self->drv);
    free (self);
    *self_p = NULL;
}

const sf_device_info_t *sf_gpu_info (const sf_gpu_t *self) { return &self->info; }
const char *sf_gpu_toolkit_version (const sf_gpu_t *self) { return self->toolkit; }

const sf_matrix_t *
sf_gpu_a (const sf_gpu_t *self)
{
    return self->a_round ? self->a_round : self->a;
}

const char *
sf_gpu_timing (void)
{
    const char *env = getenv ("SPMMFARM_TIMING");
    if (!env || !*env || strcmp (env, "graph") == 0)
        return "graph";
    if (strcmp (env, "launch") == 0)
        return "launch";
    sf_error_set (SF_ERR_INVALID, "SPMMFARM_TIMING='%.32s': must be graph or launch", env);
    return NULL;
}

static int
s_upload (sf_gpu_t *self, CUdeviceptr *dst, const void *src, size_t bytes)
{
    SF_GPU_CU (self, self->cu->cuMemAlloc (dst, bytes ? bytes : 4), "cuMemAlloc");
    /* On the legacy stream, which ours does not wait for: sf_gpu_poison's
       wait, before every verified run, is what lands it (docs/DECISIONS.md
       "Copies and memsets on the legacy stream are waited for"). */
    if (bytes)
        SF_GPU_CU (self, self->cu->cuMemcpyHtoD (*dst, src, bytes), "cuMemcpyHtoD");
    return SF_OK;
}

int
sf_gpu_upload_typed (sf_gpu_t *self, CUdeviceptr *dst, const float *src, size_t count)
{
    if (self->esize == 4)
        return s_upload (self, dst, src, count * 4);
    uint16_t *h = malloc (count ? count * 2 : 2);
    if (!h)
        return sf_error_set (SF_ERR_NOMEM, "out of memory converting to %s", sf_tier_name (self->tier));
    for (size_t i = 0; i < count; i++)
        h[i] = self->tier == SF_TIER_BF16 ? sf_tier_to_bf16 (src[i]) : sf_tier_to_fp16 (src[i]);
    int rc = s_upload (self, dst, h, count * 2);
    free (h);
    return rc;
}

sf_matrix_t *
sf_gpu_round_matrix (const sf_matrix_t *a, sf_tier tier)
{
    int64_t m = sf_matrix_rows (a), nnz = sf_matrix_nnz (a);
    int32_t *rp = malloc ((size_t) (m + 1) * 4), *ci = malloc ((size_t) (nnz ? nnz : 1) * 4);
    float *va = malloc ((size_t) (nnz ? nnz : 1) * 4);
    if (rp && ci && va) {
        memcpy (rp, sf_matrix_row_ptr (a), (size_t) (m + 1) * 4);
        memcpy (ci, sf_matrix_col_idx (a), (size_t) nnz * 4);
        const float *v = sf_matrix_values (a);
        for (int64_t i = 0; i < nnz; i++)
            va[i] = sf_tier_round (tier, v[i]);
    }
    if (!rp || !ci || !va) {
        free (rp);
        free (ci);
        free (va);
        sf_error_set (SF_ERR_NOMEM, "out of memory rounding A");
        return NULL;
    }
    return sf_matrix_new_csr (m, sf_matrix_cols (a), &rp, &ci, &va);
}

/*  Values rounded to the tier. sf_rng_weight draws them on a grid of
    step 2 / (2^24 - 1) in [-1, 1], never 0: the smallest, 1.2e-7, is
    above half of fp16's least subnormal (6e-8), so no value rounds to
    zero in any tier. */
static void
s_fill (sf_rng_t *rng, float *dst, int64_t count, sf_tier tier)
{
    for (int64_t i = 0; i < count; i++) {
        float x = sf_tier_round (tier, sf_rng_weight (rng));
        if (dst)
            dst[i] = x;
    }
}

void
sf_gpu_inputs (sf_tier tier, uint64_t seed, int64_t m, int64_t kn, float *bias, float *b0)
{
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    s_fill (&rng, bias, m, tier);
    s_fill (&rng, b0, kn, tier);
}

int64_t
sf_gpu_compare_row (sf_tier tier, const void *row, const double *ref, int64_t n, double *num, double *den)
{
    for (int64_t j = 0; j < n; j++) {
        double x;
        if (!sf_tier_is_half (tier))
            x = ((const float *) row)[j];
        else {
            uint16_t h = ((const uint16_t *) row)[j];
            x = tier == SF_TIER_BF16 ? sf_tier_from_bf16 (h) : sf_tier_from_fp16 (h);
        }
        if (!isfinite (x))
            return j;
        double d = x - ref[j];
        *num += d * d;
        *den += ref[j] * ref[j];
    }
    return -1;
}

int
sf_gpu_set_layout (sf_gpu_t *self, sf_layout layout)
{
    if ((unsigned) layout >= SF_LAYOUT_COUNT)
        return sf_error_set (SF_ERR_INVALID, "layout %d is not kn or nk", (int) layout);
    self->layout = layout;
    return SF_OK;
}

/*  X = B^T of the B just drawn into host_b, uploaded as copy c's X. */
static int
s_upload_x (sf_gpu_t *self, int c)
{
    int64_t k = self->k, n = self->n;
    float *x = malloc ((size_t) (k * n) * sizeof *x);
    if (!x)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for X");
    for (int64_t r = 0; r < k; r++)
        for (int64_t j = 0; j < n; j++)
            x[j * k + r] = self->host_b[r * n + j];
    int rc = sf_gpu_upload_typed (self, &self->x[c], x, (size_t) (k * n));
    free (x);
    return rc;
}

int
sf_gpu_set_problem (sf_gpu_t *self, const sf_matrix_t *a, int64_t n, bool bias, bool relu, uint64_t seed)
{
    return sf_gpu_set_problem_tier (self, a, n, SF_TIER_FP32, bias, relu, seed);
}

int
sf_gpu_set_problem_tier (sf_gpu_t *self, const sf_matrix_t *a, int64_t n, sf_tier tier, bool bias,
                         bool relu, uint64_t seed)
{
    SF_GPU_CU (self, self->cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent");
    s_free_problem (self);
    if ((unsigned) tier >= SF_TIER_COUNT)
        return sf_error_set (SF_ERR_INVALID, "tier %d is not a precision tier", (int) tier);
    self->a = a;
    self->tier = tier;
    self->esize = sf_tier_elem_size (tier);
    self->m = sf_matrix_rows (a);
    self->k = sf_matrix_cols (a);
    self->n = n;
    self->bias = bias;
    self->relu = relu;
    if (sf_tier_is_half (tier) && !(self->a_round = sf_gpu_round_matrix (a, tier)))
        return sf_error_last ();
    const sf_matrix_t *ar = sf_gpu_a (self);
    size_t b_bytes = (size_t) (self->k * n) * self->esize;
    /* Enough copies of B that cycling through them streams from memory, as
       a layer's fresh activations would, instead of timing the L2 cache. */
    size_t l2 = self->info.l2_bytes > 0 ? (size_t) self->info.l2_bytes : 50u << 20;
    int copies = (int) ((2 * l2 + b_bytes - 1) / b_bytes);
    copies = copies < 1 ? 1 : copies > SF_GPU_MAX_B_COPIES ? SF_GPU_MAX_B_COPIES : copies;
    self->host_b = malloc ((size_t) (self->k * n) * sizeof (float));
    self->host_bias = malloc ((size_t) self->m * sizeof (float));
    if (!self->host_b || !self->host_bias)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for B");
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    s_fill (&rng, self->host_bias, self->m, tier);
    for (int c = 0; c < copies; c++) {
        s_fill (&rng, self->host_b, self->k * n, tier);
        int rc = sf_gpu_upload_typed (self, &self->b[c], self->host_b, (size_t) (self->k * n));
        if (rc != SF_OK)
            return rc;
        self->b_copies++;
        if (self->layout == SF_LAYOUT_NK && (rc = s_upload_x (self, c)) != SF_OK)
            return rc;
    }
    /* host_b now holds the last copy: regenerate copy 0 for the reference. */
    sf_gpu_inputs (tier, seed, self->m, self->k * n, NULL, self->host_b);

    int64_t nnz = sf_matrix_nnz (ar);
    float *dense = malloc ((size_t) (self->m * self->k) * sizeof (float));
    if (!dense)
        return sf_error_set (SF_ERR_NOMEM, "out of memory densifying A");
    sf_matrix_densify (ar, dense);
    int rc = sf_gpu_upload_typed (self, &self->a_dense, dense, (size_t) (self->m * self->k));
    free (dense);
    if (rc == SF_OK)
        rc = s_upload (self, &self->a_rowptr, sf_matrix_row_ptr (ar), (size_t) (self->m + 1) * 4);
    if (rc == SF_OK)
        rc = s_upload (self, &self->a_colidx, sf_matrix_col_idx (ar), (size_t) nnz * 4);
    if (rc == SF_OK)
        rc = sf_gpu_upload_typed (self, &self->a_val, sf_matrix_values (ar), (size_t) nnz);
    if (rc == SF_OK)
        rc = sf_gpu_upload_typed (self, &self->d_bias, self->host_bias, (size_t) self->m);
    /* C: an even number of elements, so that 32-bit poison covers 16-bit C */
    if (rc == SF_OK)
        SF_GPU_CU (self, self->cu->cuMemAlloc (&self->c, (size_t) ((self->m * n + 1) / 2 * 2) * self->esize),
                   "cuMemAlloc");
    if (rc != SF_OK)
        return rc;

    /* Sampled rows: spread over M, first and last included. */
    self->verify_count = self->m < SF_GPU_VERIFY_ROWS ? (int32_t) self->m : SF_GPU_VERIFY_ROWS;
    for (int32_t i = 0; i < self->verify_count; i++)
        self->verify_rows[i] = self->verify_count == 1 ? 0
            : (int32_t) ((self->m - 1) * i / (self->verify_count - 1));
    self->reference = malloc ((size_t) self->verify_count * (size_t) n * sizeof (double));
    if (!self->reference)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the reference");
    sf_reference_opts_t opts = { bias ? self->host_bias : NULL, relu, 1 };
    sf_reference_spmm_rows (ar, self->host_b, n, self->verify_rows, self->verify_count, &opts,
                            self->reference);
    return SF_OK;
}

/* ---- timing ---------------------------------------------------------------- */

int
sf_gpu_set_l2 (sf_gpu_t *self, bool cold)
{
    const sf_cuda_api_t *cu = self->cu;
    if (cold && (!cu->cuMemsetD32Async || (self->graphs && !cu->cuEventRecordWithFlags)))
        return sf_error_set (SF_ERR_UNSUPPORTED, "this CUDA driver lacks %s, which cold-L2 timing needs "
                             "(--l2 warm times without it)",
                             !cu->cuMemsetD32Async ? "cuMemsetD32Async" : "cuEventRecordWithFlags");
    self->l2_cold = cold;
    return SF_OK;
}

bool sf_gpu_l2_cold (const sf_gpu_t *self) { return self->l2_cold; }

/*  The L2 flush: a read of the whole buffer (16 bytes a thread a step,
    ld.global.cg: through L2, past L1), which leaves L2 holding the
    buffer's clean lines, as a model's earlier layers, which read their
    weights, leave it. A memset would leave L2 full of dirty lines whose
    write-back to DRAM then competes with the timed kernel for bandwidth
    (session 17: cuBLASLt bf16 on 4096 x 4096 at N = 16 read 21.2 us after
    a memset flush, 15.1 us in tc_bench's rotation over 160 MB of copies).
    The store of `sink` never runs (the buffer holds zeros); it keeps the
    loads. PTX ISA 7.0 for sm_75 and later, JIT-compiled by the driver;
    checked by ptxas for sm_75 and sm_90. */
static const char s_flush_ptx[] =
    ".version 7.0\n"
    ".target sm_75\n"
    ".address_size 64\n"
    ".visible .entry sf_l2_flush(.param .u64 p_buf, .param .u64 p_bytes, .param .u64 p_sink)\n"
    "{\n"
    "  .reg .pred %p<4>;\n"
    "  .reg .b32 %r<17>;\n"
    "  .reg .b64 %rd<17>;\n"
    "  ld.param.u64 %rd8, [p_buf];\n"
    "  ld.param.u64 %rd10, [p_bytes];\n"
    "  ld.param.u64 %rd9, [p_sink];\n"
    "  mov.u32 %r3, %ctaid.x;\n"
    "  mov.u32 %r4, %ntid.x;\n"
    "  cvt.u64.u32 %rd1, %r4;\n"
    "  mul.wide.u32 %rd11, %r3, %r4;\n"
    "  mov.u32 %r5, %tid.x;\n"
    "  cvt.u64.u32 %rd12, %r5;\n"
    "  add.s64 %rd16, %rd11, %rd12;\n"
    "  shr.u64 %rd3, %rd10, 4;\n"
    "  setp.ge.u64 %p1, %rd16, %rd3;\n"
    "  @%p1 bra $L_done;\n"
    "  mov.u32 %r7, %nctaid.x;\n"
    "  cvt.u64.u32 %rd13, %r7;\n"
    "  mul.lo.s64 %rd4, %rd13, %rd1;\n"
    "  cvta.to.global.u64 %rd5, %rd9;\n"
    "  mov.u32 %r16, 0;\n"
    "$L_loop:\n"
    "  shl.b64 %rd15, %rd16, 4;\n"
    "  add.s64 %rd14, %rd8, %rd15;\n"
    "  ld.global.cg.v4.u32 {%r8, %r9, %r10, %r11}, [%rd14];\n"
    "  xor.b32 %r12, %r9, %r16;\n"
    "  xor.b32 %r13, %r12, %r8;\n"
    "  xor.b32 %r14, %r13, %r10;\n"
    "  xor.b32 %r16, %r14, %r11;\n"
    "  add.s64 %rd16, %rd16, %rd4;\n"
    "  setp.lt.u64 %p2, %rd16, %rd3;\n"
    "  @%p2 bra $L_loop;\n"
    "  setp.ne.s32 %p3, %r16, 1597463007;\n"
    "  @%p3 bra $L_done;\n"
    "  mov.u32 %r15, 1597463007;\n"
    "  st.global.u32 [%rd5], %r15;\n"
    "$L_done:\n"
    "  ret;\n"
    "}\n";

/*  Cold: the flush buffer (2x the L2, zeroed once), its read kernel and
    the per-launch events, made at the first cold timing and kept until the
    GPU is destroyed. A driver that cannot load the kernel flushes by
    memset instead, said once in the log. */
static int
s_cold_prepare (sf_gpu_t *self)
{
    const sf_cuda_api_t *cu = self->cu;
    if (!self->flush) {
        size_t bytes = self->info.l2_bytes > 0 ? 2 * (size_t) self->info.l2_bytes : SF_GPU_COLD_FLUSH_FALLBACK;
        SF_GPU_CU (self, cu->cuMemAlloc (&self->flush, bytes), "cuMemAlloc (the L2 flush buffer)");
        self->flush_bytes = bytes;
        SF_GPU_CU (self, cu->cuMemsetD32 (self->flush, 0, bytes / 4), "cuMemsetD32 (the L2 flush buffer)");
        SF_GPU_CU (self, cu->cuStreamSynchronize (NULL), "cuStreamSynchronize (the L2 flush buffer)");
        CUresult r = cu->cuModuleLoadData (&self->flush_module, s_flush_ptx);
        if (r == CUDA_SUCCESS && cu->cuModuleGetFunction (&self->flush_fn, self->flush_module, "sf_l2_flush")
                                     != CUDA_SUCCESS)
            self->flush_fn = NULL;
        if (!self->flush_fn)
            sf_log_warn ("gpu", "the L2 flush kernel did not load (cuModuleLoadData: %d): cold timings flush "
                         "L2 by memset, which leaves dirty lines (slower reads)", (int) r);
    }
    for (size_t i = 0; i < sizeof self->ev_cold / sizeof self->ev_cold[0]; i++)
        if (!self->ev_cold[i])
            SF_GPU_CU (self, cu->cuEventCreate (&self->ev_cold[i], CU_EVENT_DEFAULT), "cuEventCreate");
    return SF_OK;
}

/*  One L2 flush on the stream (a node of the graph during a capture). */
static int
s_flush (sf_gpu_t *self)
{
    if (!self->flush_fn) {
        SF_GPU_CU (self, self->cu->cuMemsetD32Async (self->flush, 0, self->flush_bytes / 4, self->stream),
                   "cuMemsetD32Async (the L2 flush)");
        return SF_OK;
    }
    unsigned long long bytes = self->flush_bytes;
    void *params[] = { &self->flush, &bytes, &self->flush };
    unsigned blocks = (unsigned) (self->info.sm_count > 0 ? 4 * self->info.sm_count : 512);
    SF_GPU_CU (self, self->cu->cuLaunchKernel (self->flush_fn, blocks, 1, 1, 256, 1, 1, 0, self->stream, params,
                                               NULL), "cuLaunchKernel (the L2 flush)");
    return SF_OK;
}

/*  An event recorded on the stream; during a capture, as an event-record
    node of the graph (CU_EVENT_RECORD_EXTERNAL), so that each replay
    records it again. */
static int
s_record (sf_gpu_t *self, CUevent ev)
{
    if (self->graphs)
        SF_GPU_CU (self, self->cu->cuEventRecordWithFlags (ev, self->stream, CU_EVENT_RECORD_EXTERNAL),
                   "cuEventRecordWithFlags");
    else
        SF_GPU_CU (self, self->cu->cuEventRecord (ev, self->stream), "cuEventRecord");
    return SF_OK;
}

/*  One timed batch: `count` launches of fn, recorded as a CUDA graph when
    the GPU times through graphs (the exec is kept while count stays the
    same), else launched one by one. */
typedef struct {
    sf_gpu_launch_fn fn;
    void *arg;
    int next_b;           /* launch timing: the B copy of the next launch */
    int count;            /* graph timing: launches in exec */
    CUgraphExec exec;
    int copies;           /* B copies cycled over (1: the caller's own buffers) */
} s_batch_t;

/*  Launch i of a batch (on B copy b_index): warm, the launch alone; cold,
    an L2 flush, then the launch between events ev_cold[2i] and [2i + 1]. */
static int
s_launch_one (sf_gpu_t *self, s_batch_t *b, int i, int b_index)
{
    if (!self->l2_cold)
        return b->fn (self, b->arg, b_index);
    if (i < 0 || i >= SF_GPU_COLD_LAUNCHES_MAX)
        return sf_error_set (SF_ERR_INTERNAL, "cold batch launch %d: at most %d", i, SF_GPU_COLD_LAUNCHES_MAX);
    int rc = s_flush (self);
    if (rc == SF_OK)
        rc = s_record (self, self->ev_cold[2 * i]);
    if (rc == SF_OK)
        rc = b->fn (self, b->arg, b_index);
    if (rc == SF_OK)
        rc = s_record (self, self->ev_cold[2 * i + 1]);
    return rc;
}

static void
s_batch_release (sf_gpu_t *self, s_batch_t *b)
{
    if (b->exec)
        self->cu->cuGraphExecDestroy (b->exec);
    b->exec = NULL;
    b->count = 0;
}

/*  Records `count` launches (rounded up to whole cycles over the B copies,
    so that every batch streams each copy alike) into b->exec. A launch
    that fails during the capture, or a capture the driver refuses (a
    library call that cannot be captured), ends the capture and fails with
    the launch's error, or SF_ERR_UNSUPPORTED naming the driver's. */
static int
s_batch_capture (sf_gpu_t *self, s_batch_t *b, int count)
{
    int copies = b->copies;
    int n = (count + copies - 1) / copies * copies;
    if (b->exec && b->count == n)
        return SF_OK;
    s_batch_release (self, b);
    const sf_cuda_api_t *cu = self->cu;
    SF_GPU_CU (self, cu->cuStreamBeginCapture (self->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "cuStreamBeginCapture");
    int rc = SF_OK;
    for (int i = 0; i < n && rc == SF_OK; i++)
        rc = s_launch_one (self, b, i, i % copies);
    CUgraph graph = NULL;
    CUresult end = cu->cuStreamEndCapture (self->stream, &graph);
    if (rc == SF_OK && end != CUDA_SUCCESS)
        rc = sf_error_set_origin (SF_ERR_UNSUPPORTED, end,
                                  "the launches cannot be recorded as a CUDA graph (cuStreamEndCapture: %d)",
                                  (int) end);
    if (rc == SF_OK)
        rc = sf_cudadrv_check (self->drv, cu->cuGraphInstantiate (&b->exec, graph, 0), "cuGraphInstantiate");
    if (graph)
        cu->cuGraphDestroy (graph);
    if (rc != SF_OK) {
        b->exec = NULL;
        return rc;
    }
    b->count = n;
    return SF_OK;
}

/*  Cold: the mean over `launched` launches of the time between each one's
    events (the flushes between them not counted). */
static int
s_cold_mean (sf_gpu_t *self, int launched, double *us)
{
    double sum = 0;
    for (int i = 0; i < launched; i++) {
        float ms = 0;
        SF_GPU_CU (self, self->cu->cuEventElapsedTime (&ms, self->ev_cold[2 * i], self->ev_cold[2 * i + 1]),
                   "cuEventElapsedTime");
        sum += ms * 1000.0;
    }
    *us = sum / launched;
    return SF_OK;
}

/*  Times one batch of about `count` launches; *us gets the time per launch
    (cold: per launch alone, without the flush before it). */
static int
s_time_batch (sf_gpu_t *self, s_batch_t *b, int count, double *us)
{
    const sf_cuda_api_t *cu = self->cu;
    int rc;
    if (self->l2_cold && ((rc = s_cold_prepare (self)) != SF_OK))
        return rc;
    if (self->l2_cold && count > SF_GPU_COLD_BATCH_MAX)
        count = SF_GPU_COLD_BATCH_MAX;
    int launched = count;
    if (self->graphs && (rc = s_batch_capture (self, b, count)) != SF_OK)
        return rc;
    SF_GPU_CU (self, cu->cuEventRecord (self->ev_start, self->stream), "cuEventRecord");
    if (self->graphs) {
        SF_GPU_CU (self, cu->cuGraphLaunch (b->exec, self->stream), "cuGraphLaunch");
        launched = b->count;
    } else {
        for (int i = 0; i < count; i++) {
            if ((rc = s_launch_one (self, b, i, b->next_b)) != SF_OK)
                return rc;
            b->next_b = (b->next_b + 1) % b->copies;
        }
    }
    SF_GPU_CU (self, cu->cuEventRecord (self->ev_stop, self->stream), "cuEventRecord");
    SF_GPU_CU (self, cu->cuEventSynchronize (self->ev_stop), "kernel run");
    float ms = 0;
    if (self->l2_cold)
        return s_cold_mean (self, launched, us);
    SF_GPU_CU (self, cu->cuEventElapsedTime (&ms, self->ev_start, self->ev_stop), "cuEventElapsedTime");
    *us = ms * 1000.0 / launched;
    return SF_OK;
}

/*  Launches per batch so that a batch lasts about target_us, 1..1000
    (cold: 1..SF_GPU_COLD_BATCH_MAX, each launch also waits for a flush). */
static int
s_batch_for (const sf_gpu_t *self, double target_us, double estimate_us)
{
    int most = self->l2_cold ? SF_GPU_COLD_BATCH_MAX : 1000;
    int batch = (int) ceil (target_us / (estimate_us > 0.5 ? estimate_us : 0.5));
    return batch < 1 ? 1 : batch > most ? most : batch;
}

/*  Warm up, then time batches of launches (each batch >= 100 us, >= 21
    batches and >= 5 ms in all); the median of the per-launch averages. */
static int
s_time_batches (sf_gpu_t *self, s_batch_t *b, sf_timing_t *t)
{
    int rc;
    double estimate;
    if ((rc = s_time_batch (self, b, 3, &estimate)) != SF_OK
        || (rc = s_time_batch (self, b, 5, &estimate)) != SF_OK)
        return rc;
    if (sf_clock_mono () - self->busy_until > S_HOT_S) {
        /* the estimate was taken at whatever clock the GPU had: keep
           launching until S_WARM_US have run, and take the last batch's
           time as the estimate */
        double warmed = 0;
        int warm_batch = s_batch_for (self, 200.0, estimate);
        for (int round = 0; warmed < S_WARM_US && round < 1000; round++) {
            if ((rc = s_time_batch (self, b, warm_batch, &estimate)) != SF_OK)
                return rc;
            warmed += estimate * warm_batch;
        }
    }
    estimate = estimate > 0.5 ? estimate : 0.5;
    int batch = s_batch_for (self, 100.0, estimate);
    int samples = (int) ceil (5000.0 / (batch * estimate));
    samples = samples < 21 ? 21 : samples > 201 ? 201 : samples;
    double *v = malloc ((size_t) samples * sizeof *v);
    if (!v)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int s = 0; s < samples; s++)
        if ((rc = s_time_batch (self, b, batch, &v[s])) != SF_OK) {
            free (v);
            return rc;
        }
    self->busy_until = sf_clock_mono ();
    sf_sort_doubles (v, (size_t) samples);
    int launches = self->graphs ? b->count : batch;
    *t = (sf_timing_t) { v[samples / 2], v[0], v[samples - 1], v[samples / 10],
                         v[samples - 1 - samples / 10], samples, samples * launches };
    free (v);
    return SF_OK;
}

int
sf_gpu_time (sf_gpu_t *self, sf_gpu_launch_fn fn, void *arg, sf_timing_t *t)
{
    s_batch_t b = { fn, arg, 0, 0, NULL, self->b_copies > 0 ? self->b_copies : 1 };
    int rc = s_time_batches (self, &b, t);
    s_batch_release (self, &b);
    return rc;
}

/*  The caller's enqueue as a launch of sf_gpu_time's (one copy: b_index is
    always 0). */
typedef struct {
    sf_gpu_enqueue_fn fn;
    void *arg;
} s_enqueue_t;

static int
s_launch_enqueue (sf_gpu_t *self, void *arg, int b_index)
{
    (void) b_index;
    s_enqueue_t *e = arg;
    return e->fn (e->arg, self->stream);
}

int
sf_gpu_time_enqueue (sf_gpu_t *self, sf_gpu_enqueue_fn fn, void *arg, sf_timing_t *t)
{
    s_enqueue_t e = { fn, arg };
    s_batch_t b = { s_launch_enqueue, &e, 0, 0, NULL, 1 };
    int rc = sf_cudadrv_check (self->drv, self->cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent");
    if (rc == SF_OK)
        rc = s_time_batches (self, &b, t);
    s_batch_release (self, &b);
    return rc;
}

/* ---- verification -------------------------------------------------------------- */

int
sf_gpu_poison (sf_gpu_t *self)
{
    size_t words = (size_t) ((self->m * self->n * (int64_t) self->esize + 3) / 4);
    SF_GPU_CU (self, self->cu->cuMemsetD32 (self->c, self->esize == 4 ? S_POISON_F32 : S_POISON_F16, words),
               "cuMemsetD32");
    /* The synchronous memset runs on the legacy stream, which our
       non-blocking stream does not wait for: without this the kernel can
       write C before the poison lands on it (the runtime's upload race of
       session 18 had the same cause; docs/DECISIONS.md). */
    SF_GPU_CU (self, self->cu->cuStreamSynchronize (NULL), "cuStreamSynchronize (the poison)");
    return SF_OK;
}

int
sf_gpu_check (sf_gpu_t *self, const double *reference, double tol, double *err)
{
    SF_GPU_CU (self, self->cu->cuStreamSynchronize (self->stream), "kernel run");
    const double *refs = reference ? reference : self->reference;
    void *row = malloc ((size_t) self->n * self->esize);
    if (!row)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    /* nk: C is Y (N x M); the whole of it once, row i of C is column i of Y */
    uint8_t *y = NULL;
    size_t y_bytes = (size_t) (self->m * self->n) * self->esize;
    if (self->check_nk && !(y = malloc (y_bytes))) {
        free (row);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for Y");
    }
    if (y) {
        int rc = sf_cudadrv_check (self->drv, self->cu->cuMemcpyDtoH (y, self->c, y_bytes), "cuMemcpyDtoH");
        if (rc != SF_OK) {
            free (row);
            free (y);
            return rc;
        }
    }
    double num = 0, den = 0;
    for (int32_t i = 0; i < self->verify_count; i++) {
        size_t bytes = (size_t) self->n * self->esize;
        int rc = SF_OK;
        if (y)
            for (int64_t j = 0; j < self->n; j++)
                memcpy ((uint8_t *) row + (size_t) j * self->esize,
                        y + ((size_t) j * (size_t) self->m + (size_t) self->verify_rows[i]) * self->esize,
                        self->esize);
        else
            rc = sf_cudadrv_check (self->drv,
                self->cu->cuMemcpyDtoH (row, self->c + (CUdeviceptr) ((size_t) self->verify_rows[i] * bytes), bytes),
                "cuMemcpyDtoH");
        if (rc != SF_OK) {
            free (row);
            free (y);
            return rc;
        }
        const double *ref = refs + (int64_t) i * self->n;
        int64_t bad = sf_gpu_compare_row (self->tier, row, ref, self->n, &num, &den);
        if (bad >= 0) {
            *err = INFINITY;
            free (row);
            free (y);
            return sf_error_set (SF_ERR_VERIFY, "C[%d, %lld] is NaN or infinite (unwritten or overflow)",
                                 self->verify_rows[i], (long long) bad);
        }
    }
    free (row);
    free (y);
    *err = den > 0 ? sqrt (num / den) : sqrt (num);
    if (!(*err <= tol))
        return sf_error_set (SF_ERR_VERIFY, "relative error %.3g above the bound %.1g", *err, tol);
    return SF_OK;
}

/* ---- generated kernels ---------------------------------------------------------- */

typedef struct {
    CUfunction fn;
    uint32_t grid[3];
    uint32_t block;
    uint32_t shared;
    CUdeviceptr data;  /* A's encoding for template D, else 0 */
} s_kernel_t;

static int
s_launch_kernel (sf_gpu_t *self, void *arg, int b_index)
{
    s_kernel_t *k = arg;
    uint32_t n = (uint32_t) self->n;
    CUdeviceptr bias = self->bias ? self->d_bias : 0;
    /* The kernel ABI (docs/KERNELS.md): B, C, N, bias, A's data (D only;
       a kernel that declares four parameters ignores the fifth). */
    CUdeviceptr *b = self->layout == SF_LAYOUT_NK ? &self->x[b_index] : &self->b[b_index];  /* nk: X */
    void *params[] = { b, &self->c, &n, &bias, &k->data };
    SF_GPU_CU (self, self->cu->cuLaunchKernel (k->fn, k->grid[0], k->grid[1], k->grid[2], k->block, 1, 1,
                                          k->shared, self->stream, params, NULL), "cuLaunchKernel");
    return SF_OK;
}

int
sf_gpu_run (sf_gpu_t *self, const void *cubin, size_t size, const sf_launch_t *launch,
            const void *data, size_t data_size, bool verify, double tol, double *err,
            sf_timing_t *timing)
{
    (void) size;
    SF_GPU_CU (self, self->cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent");
    s_kernel_t k = { 0 };
    if (data_size > 0 && s_upload (self, &k.data, data, data_size) != SF_OK)
        return sf_error_last ();
    CUmodule module = NULL;
    int rc = sf_cudadrv_check (self->drv, self->cu->cuModuleLoadData (&module, cubin), "cuModuleLoadData");
    if (rc == SF_OK)
        rc = sf_cudadrv_check (self->drv, self->cu->cuModuleGetFunction (&k.fn, module, launch->entry),
                               "cuModuleGetFunction");
    sf_launch_grid (launch, self->n, k.grid);
    k.block = (uint32_t) launch->block_threads;
    k.shared = (uint32_t) launch->shared_bytes;
    /* Past 48 KB a kernel's dynamic shared memory needs the opt-in. */
    if (rc == SF_OK && k.shared > 48u << 10)
        rc = sf_cudadrv_check (self->drv, self->cu->cuFuncSetAttribute (
                                   k.fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int) k.shared),
                               "cuFuncSetAttribute");
    if (rc == SF_OK && verify) {
        rc = sf_gpu_poison (self);
        if (rc == SF_OK)
            rc = s_launch_kernel (self, &k, 0);
        self->check_nk = self->layout == SF_LAYOUT_NK;
        if (rc == SF_OK)
            rc = sf_gpu_check (self, NULL, tol, err);
        self->check_nk = false;
    }
    if (rc == SF_OK && timing)
        rc = sf_gpu_time (self, s_launch_kernel, &k, timing);
    /* After a fault the context is gone; unloading would fail too. */
    if (module)
        self->cu->cuModuleUnload (module);
    if (k.data)
        self->cu->cuMemFree (k.data);
    return rc;
}

