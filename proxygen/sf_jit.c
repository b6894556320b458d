/*  sf_jit: nvJitLink wrapper. */
#include "proxygen/sf_jit.h"

#include <nvJitLink.h>
#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

static double
s_clock (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*  "ptxas info    : Used 40 registers, used 0 barriers, 8 bytes stack frame..."
    and "... bytes stack frame, 0 bytes spill stores, 0 bytes spill loads". */
static void
s_parse_info (const char *log, sf_jit_stats_t *st)
{
    const char *p;
    if ((p = strstr (log, "Used ")))
        sscanf (p, "Used %d registers", &st->registers);
    if ((p = strstr (log, "bytes stack frame"))) {
        const char *q = p;
        while (q > log && q[-1] != ',' && q[-1] != '.' && q[-1] != '\n')
            q--;
        sscanf (q, " %d", &st->stack_bytes);
    }
    if ((p = strstr (log, "bytes spill stores"))) {
        const char *q = p;
        while (q > log && q[-1] != ',')
            q--;
        sscanf (q, " %d", &st->spill_stores);
    }
    if ((p = strstr (log, "bytes spill loads"))) {
        const char *q = p;
        while (q > log && q[-1] != ',')
            q--;
        sscanf (q, " %d", &st->spill_loads);
    }
    if ((p = strstr (log, "bytes smem")))  {
        const char *q = p;
        while (q > log && q[-1] != ',')
            q--;
        sscanf (q, " %d", &st->shared_bytes);
    }
}

static int
s_fail (nvJitLinkHandle handle, nvJitLinkResult rc, const char *what)
{
    char log[600] = "";
    size_t size = 0;
    if (handle && nvJitLinkGetErrorLogSize (handle, &size) == NVJITLINK_SUCCESS && size > 1) {
        char *full = malloc (size);
        if (full && nvJitLinkGetErrorLog (handle, full) == NVJITLINK_SUCCESS)
            snprintf (log, sizeof log, "%s", full);
        free (full);
    }
    return sf_error_set_origin (SF_ERR_JITLINK, (int) rc, "nvJitLink %s failed (code %d)%s%s", what,
                                (int) rc, *log ? ": " : "", log);
}

int
sf_jit_ptx (const char *ptx, const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p,
            sf_jit_stats_t *stats)
{
    sf_jit_stats_t st = { 0 };
    double t0 = s_clock (CLOCK_MONOTONIC), c0 = s_clock (CLOCK_THREAD_CPUTIME_ID);
    char arch[32], opt[16], maxreg[32];
    snprintf (arch, sizeof arch, "-arch=%s", opts && opts->arch ? opts->arch : "sm_90");
    int level = opts && opts->opt_level >= 0 && opts->opt_level <= 3 ? opts->opt_level : 3;
    snprintf (opt, sizeof opt, "-O%d", level);
    const char *options[4] = { arch, opt, "-verbose", NULL };
    uint32_t count = 3;
    if (opts && opts->max_registers > 0) {
        snprintf (maxreg, sizeof maxreg, "-maxrregcount=%d", opts->max_registers);
        options[count++] = maxreg;
    }
    *cubin_p = NULL;
    *size_p = 0;
    nvJitLinkHandle handle = NULL;
    nvJitLinkResult rc = nvJitLinkCreate (&handle, count, options);
    if (rc != NVJITLINK_SUCCESS)
        return s_fail (NULL, rc, "create");
    st.ptx_bytes = (int64_t) strlen (ptx);
    rc = nvJitLinkAddData (handle, NVJITLINK_INPUT_PTX, ptx, strlen (ptx) + 1, "kernel.ptx");
    if (rc == NVJITLINK_SUCCESS)
        rc = nvJitLinkComplete (handle);
    if (rc != NVJITLINK_SUCCESS) {
        int status = s_fail (handle, rc, "compile");
        nvJitLinkDestroy (&handle);
        return status;
    }
    size_t size = 0;
    rc = nvJitLinkGetLinkedCubinSize (handle, &size);
    void *cubin = rc == NVJITLINK_SUCCESS ? malloc (size) : NULL;
    if (rc == NVJITLINK_SUCCESS && !cubin) {
        nvJitLinkDestroy (&handle);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for a %zu-byte cubin", size);
    }
    if (rc == NVJITLINK_SUCCESS)
        rc = nvJitLinkGetLinkedCubin (handle, cubin);
    if (rc != NVJITLINK_SUCCESS) {
        free (cubin);
        int status = s_fail (handle, rc, "cubin");
        nvJitLinkDestroy (&handle);
        return status;
    }
    size_t log_size = 0;
    if (nvJitLinkGetInfoLogSize (handle, &log_size) == NVJITLINK_SUCCESS && log_size > 1) {
        char *log = malloc (log_size);
        if (log && nvJitLinkGetInfoLog (handle, log) == NVJITLINK_SUCCESS) {
            s_parse_info (log, &st);
            sf_log_trace ("jit", "%s", log);
        }
        free (log);
    }
    nvJitLinkDestroy (&handle);
    st.cubin_bytes = (int64_t) size;
    st.seconds = s_clock (CLOCK_MONOTONIC) - t0;
    st.cpu_seconds = s_clock (CLOCK_THREAD_CPUTIME_ID) - c0;
    if (stats)
        *stats = st;
    *cubin_p = cubin;
    *size_p = size;
    return SF_OK;
}

static int
s_nvrtc_fail (nvrtcProgram prog, nvrtcResult rc, const char *what)
{
    char log[600] = "";
    size_t size = 0;
    if (prog && nvrtcGetProgramLogSize (prog, &size) == NVRTC_SUCCESS && size > 1) {
        char *full = malloc (size);
        if (full && nvrtcGetProgramLog (prog, full) == NVRTC_SUCCESS)
            snprintf (log, sizeof log, "%s", full);
        free (full);
    }
    return sf_error_set_origin (SF_ERR_NVRTC, (int) rc, "NVRTC %s failed: %s%s%s", what,
                                nvrtcGetErrorString (rc), *log ? ": " : "", log);
}

/*  CUDA C -> PTX for the virtual arch matching `arch` ("sm_90" -> compute_90). */
static int
s_nvrtc_ptx (const char *source, const char *arch, char **ptx_p)
{
    char option[48];
    snprintf (option, sizeof option, "--gpu-architecture=compute_%s",
              strncmp (arch, "sm_", 3) == 0 ? arch + 3 : arch);
    const char *options[] = { option, "--std=c++17", "-default-device" };
    nvrtcProgram prog = NULL;
    nvrtcResult rc = nvrtcCreateProgram (&prog, source, "kernel.cu", 0, NULL, NULL);
    if (rc != NVRTC_SUCCESS)
        return s_nvrtc_fail (NULL, rc, "create");
    rc = nvrtcCompileProgram (prog, 3, options);
    size_t size = 0;
    if (rc == NVRTC_SUCCESS)
        rc = nvrtcGetPTXSize (prog, &size);
    char *ptx = rc == NVRTC_SUCCESS ? malloc (size) : NULL;
    if (rc == NVRTC_SUCCESS && !ptx) {
        nvrtcDestroyProgram (&prog);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for %zu bytes of PTX", size);
    }
    if (rc == NVRTC_SUCCESS)
        rc = nvrtcGetPTX (prog, ptx);
    if (rc != NVRTC_SUCCESS) {
        free (ptx);
        int status = s_nvrtc_fail (prog, rc, "compile");
        nvrtcDestroyProgram (&prog);
        return status;
    }
    nvrtcDestroyProgram (&prog);
    *ptx_p = ptx;
    return SF_OK;
}

int
sf_jit_cuda (const char *source, const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p,
             char **ptx_p, sf_jit_stats_t *stats)
{
    double t0 = s_clock (CLOCK_MONOTONIC), c0 = s_clock (CLOCK_THREAD_CPUTIME_ID);
    char *ptx = NULL;
    if (ptx_p)
        *ptx_p = NULL;
    int rc = s_nvrtc_ptx (source, opts && opts->arch ? opts->arch : "sm_90", &ptx);
    sf_jit_stats_t st = { 0 };
    if (rc == SF_OK)
        rc = sf_jit_ptx (ptx, opts, cubin_p, size_p, &st);
    if (rc == SF_OK) {
        st.seconds = s_clock (CLOCK_MONOTONIC) - t0;
        st.cpu_seconds = s_clock (CLOCK_THREAD_CPUTIME_ID) - c0;
        if (stats)
            *stats = st;
        if (ptx_p) {
            *ptx_p = ptx;
            ptx = NULL;
        }
    }
    free (ptx);
    return rc;
}

const char *
sf_jit_version (void)
{
    static char text[16];
    unsigned int major = 0, minor = 0;
    if (nvJitLinkVersion (&major, &minor) != NVJITLINK_SUCCESS)
        return "unknown";
    snprintf (text, sizeof text, "%u.%u", major, minor);
    return text;
}
