/*  sf_jit: PTX -> cubin with nvJitLink (ptxas inside), on the CPU; no GPU
    needed. Thread-safe: each call has its own nvJitLink handle, so a pool of
    compile threads can run many at once (watch the memory: DESIGN 4.4).

    Records what every compile costs and yields: wall seconds, registers,
    spills, stack, shared memory and code bytes, parsed from ptxas's report.
*/
#ifndef SF_JIT_H_INCLUDED
#define SF_JIT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  The compile cache (proxygen/sf_kcache.h). */
typedef struct _sf_kcache_t sf_kcache_t;

typedef struct {
    double seconds;        /* wall time of the compile */
    double cpu_seconds;    /* CPU time of the calling thread */
    int32_t registers;     /* per thread */
    int32_t spill_stores;  /* bytes */
    int32_t spill_loads;   /* bytes */
    int32_t stack_bytes;   /* stack frame */
    int32_t shared_bytes;  /* static shared memory */
    int64_t cubin_bytes;
    int64_t ptx_bytes;
    bool cached;           /* answered by the compile cache: seconds and
                              cpu_seconds are the lookup's, the rest the
                              compile's that made the entry */
} sf_jit_stats_t;

typedef struct {
    const char *arch;      /* "sm_90" when NULL */
    int opt_level;         /* ptxas -O level, 0..3; 3 when out of range */
    int max_registers;     /* 0: no cap */
    int split_compile;     /* nvJitLink -split-compile=N (ptxas threads); 0: off */
} sf_jit_opts_t;

/*  Compiles PTX text (NUL-terminated) into a cubin. *cubin_p gets a malloc'ed
    image (caller frees) and *size_p its size. On failure SF_ERR_JITLINK with
    the log's first lines in the error detail. */
int sf_jit_ptx (const char *ptx, const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p,
                sf_jit_stats_t *stats);

/*  Compiles CUDA C source (NUL-terminated, no #include) with NVRTC to PTX
    for the virtual arch of opts->arch, then that PTX with sf_jit_ptx: the
    stats are the sum of both steps (stats->ptx_bytes is NVRTC's output). On
    failure SF_ERR_NVRTC with the log's first lines in the detail. *ptx_p
    (may be NULL) gets the PTX (caller frees). */
int sf_jit_cuda (const char *source, const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p,
                 char **ptx_p, sf_jit_stats_t *stats);

/*  NVRTC alone: CUDA C source (NUL-terminated, no #include) to PTX for the
    virtual arch of opts->arch (to_cubin false: compute_90 for sm_90) or to
    a cubin for opts->arch itself (to_cubin true: NVRTC runs ptxas with
    opts->opt_level, and the stats get ptxas's registers and spills).
    *out_p gets the malloc'ed PTX (NUL-terminated) or cubin (caller frees),
    *size_p its size. On failure SF_ERR_NVRTC with the log's first lines. */
int sf_jit_nvrtc (const char *source, const sf_jit_opts_t *opts, bool to_cubin, void **out_p,
                  size_t *size_p, sf_jit_stats_t *stats);

/* ---- separate compilation: relocatable objects, then one link ----------

    nvJitLink compiles PTX inputs one after another on the calling thread
    (-split-compile splits LTO work only; measured: no second thread ever
    runs, docs/KERNELS.md), and it cannot stop at a relocatable object. A
    kernel cut into functions (sf_emit_u_parts_*) is compiled part by part
    on several threads through NVRTC instead: a PTX module that defines
    .visible .func functions is wrapped, function by function, into CUDA C
    device functions whose body is the PTX as inline assembly, and NVRTC
    (-rdc, ptxas inside) makes a relocatable cubin of it; nvJitLink then
    links the entry's PTX with the objects into one cubin. */

/*  The relocatable cubin of a PTX module that defines .visible .func
    functions (NUL-terminated). The module may hold, besides them, only
    comments, .version/.target/.address_size and `.extern .shared .align N
    .b8 NAME[];` declarations; each function's parameters are scalars
    (.u32, .u64, .b32, .b64, .s32, .s64, .f32 at most 16), read with
    `ld.param.TYPE REG, [NAME];`, and its body has no nested blocks (a
    line starting with a brace). opts:
    arch, opt_level (ptxas -O), max_registers (each function's cap).
    *obj_p gets the malloc'ed object (caller frees). SF_ERR_INVALID for a
    module outside that form, SF_ERR_NVRTC when the compile fails. */
int sf_jit_ptx_object (const char *ptx, const sf_jit_opts_t *opts, void **obj_p, size_t *size_p,
                       sf_jit_stats_t *stats);

/*  The CUDA C that sf_jit_ptx_object hands NVRTC (for tests and for
    reading); *cuda_p malloc'ed (caller frees). */
int sf_jit_ptx_wrap (const char *ptx, char **cuda_p);

/*  Links PTX (NUL-terminated; compiled here, with opts) and `count`
    relocatable objects from sf_jit_ptx_object into one cubin (*cubin_p,
    caller frees). stats: the link's wall and CPU seconds, the registers of
    the linked kernel, the cubin's bytes. */
int sf_jit_link (const char *ptx, const void *const *objects, const size_t *sizes, int count,
                 const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p, sf_jit_stats_t *stats);

/*  The process's compile cache (borrowed; NULL, the default: none). When
    set, sf_jit_ptx, sf_jit_cuda (without ptx_p), sf_jit_nvrtc to a cubin
    and sf_uparts_compile look the compile up first (stats->cached) and
    store what they compile. Set it before compiles start. */
void sf_jit_set_cache (sf_kcache_t *cache);
sf_kcache_t *sf_jit_cache (void);

/*  Version of the linked nvJitLink, e.g. "13.0". */
const char *sf_jit_version (void);

#ifdef __cplusplus
}
#endif
#endif
