/*  sf_jit: nvJitLink wrapper. */
#include "proxygen/sf_jit.h"

#include <nvJitLink.h>
#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"

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
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    char arch[32], opt[16], maxreg[32], split[32];
    snprintf (arch, sizeof arch, "-arch=%s", opts && opts->arch ? opts->arch : "sm_90");
    int level = opts && opts->opt_level >= 0 && opts->opt_level <= 3 ? opts->opt_level : 3;
    /* nvJitLink's -O takes 0 or 3 (and passes it to ptxas); other ptxas
       levels go through -Xptxas. */
    snprintf (opt, sizeof opt, level == 0 || level == 3 ? "-O%d" : "-Xptxas=-O%d", level);
    const char *options[6] = { arch, opt, "-verbose", NULL, NULL, NULL };
    uint32_t count = 3;
    if (opts && opts->max_registers > 0) {
        snprintf (maxreg, sizeof maxreg, "-maxrregcount=%d", opts->max_registers);
        options[count++] = maxreg;
    }
    if (opts && opts->split_compile > 0) {
        snprintf (split, sizeof split, "-split-compile=%d", opts->split_compile);
        options[count++] = split;
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
    st.seconds = sf_clock_mono () - t0;
    st.cpu_seconds = sf_clock_thread_cpu () - c0;
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

int
sf_jit_nvrtc (const char *source, const sf_jit_opts_t *opts, bool to_cubin, void **out_p,
              size_t *size_p, sf_jit_stats_t *stats)
{
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    const char *arch = opts && opts->arch ? opts->arch : "sm_90";
    const char *num = strncmp (arch, "sm_", 3) == 0 ? arch + 3 : arch;
    char option[48], ptxas[48], maxreg[48];
    snprintf (option, sizeof option, "--gpu-architecture=%s_%s", to_cubin ? "sm" : "compute", num);
    int level = opts && opts->opt_level >= 0 && opts->opt_level <= 3 ? opts->opt_level : 3;
    snprintf (ptxas, sizeof ptxas, "--ptxas-options=-O%d", level);
    const char *options[6] = { option, "--std=c++17", "-default-device", NULL, NULL, NULL };
    int count = 3;
    if (to_cubin) {
        options[count++] = ptxas;
        options[count++] = "--ptxas-options=-v";
    }
    if (opts && opts->max_registers > 0) {
        snprintf (maxreg, sizeof maxreg, "--maxrregcount=%d", opts->max_registers);
        options[count++] = maxreg;
    }
    *out_p = NULL;
    *size_p = 0;
    nvrtcProgram prog = NULL;
    nvrtcResult rc = nvrtcCreateProgram (&prog, source, "kernel.cu", 0, NULL, NULL);
    if (rc != NVRTC_SUCCESS)
        return s_nvrtc_fail (NULL, rc, "create");
    rc = nvrtcCompileProgram (prog, count, options);
    size_t size = 0;
    if (rc == NVRTC_SUCCESS)
        rc = to_cubin ? nvrtcGetCUBINSize (prog, &size) : nvrtcGetPTXSize (prog, &size);
    char *out = rc == NVRTC_SUCCESS ? malloc (size ? size : 1) : NULL;
    if (rc == NVRTC_SUCCESS && !out) {
        nvrtcDestroyProgram (&prog);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for %zu bytes of NVRTC output", size);
    }
    if (rc == NVRTC_SUCCESS)
        rc = to_cubin ? nvrtcGetCUBIN (prog, out) : nvrtcGetPTX (prog, out);
    if (rc != NVRTC_SUCCESS) {
        free (out);
        int status = s_nvrtc_fail (prog, rc, "compile");
        nvrtcDestroyProgram (&prog);
        return status;
    }
    sf_jit_stats_t st = { 0 };
    size_t log_size = 0;
    if (to_cubin && nvrtcGetProgramLogSize (prog, &log_size) == NVRTC_SUCCESS && log_size > 1) {
        char *log = malloc (log_size);
        if (log && nvrtcGetProgramLog (prog, log) == NVRTC_SUCCESS) {
            s_parse_info (log, &st);
            sf_log_trace ("jit", "%s", log);
        }
        free (log);
    }
    nvrtcDestroyProgram (&prog);
    if (to_cubin)
        st.cubin_bytes = (int64_t) size;
    else
        st.ptx_bytes = (int64_t) strlen (out);
    st.seconds = sf_clock_mono () - t0;
    st.cpu_seconds = sf_clock_thread_cpu () - c0;
    if (stats)
        *stats = st;
    *out_p = out;
    *size_p = size;
    return SF_OK;
}

int
sf_jit_cuda (const char *source, const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p,
             char **ptx_p, sf_jit_stats_t *stats)
{
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    void *ptx = NULL;
    size_t ptx_size = 0;
    if (ptx_p)
        *ptx_p = NULL;
    sf_jit_stats_t st = { 0 }, front = { 0 };
    int rc = sf_jit_nvrtc (source, opts, false, &ptx, &ptx_size, &front);
    if (rc == SF_OK)
        rc = sf_jit_ptx (ptx, opts, cubin_p, size_p, &st);
    if (rc == SF_OK) {
        st.ptx_bytes = front.ptx_bytes;
        st.seconds = sf_clock_mono () - t0;
        st.cpu_seconds = sf_clock_thread_cpu () - c0;
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
