/*  sf_jit: nvJitLink wrapper. */
#include "proxygen/sf_jit.h"

#include <nvJitLink.h>
#include <nvrtc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_buf.h"
#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "proxygen/sf_kcache.h"

/*  The number before `what` in "..., 16 bytes spill stores, ...": the
    digits right before it. */
static int64_t
s_number_before (const char *log, const char *at)
{
    const char *q = at;
    while (q > log && q[-1] == ' ')
        q--;
    while (q > log && q[-1] >= '0' && q[-1] <= '9')
        q--;
    return strtoll (q, NULL, 10);
}

/*  ptxas's report, one block per function: "Function properties for F",
    "N bytes stack frame, S bytes spill stores, L bytes spill loads",
    "Used R registers, ..." (entries only); a link of relocatable code adds
    "info    : used R registers, ..., T stack, ..." for the linked kernel.
    Spills are summed over functions, the stack frame is the largest, the
    registers are the link's when there is one, else the first entry's. */
static void
s_parse_info (const char *log, sf_jit_stats_t *st)
{
    const char *p;
    int32_t linked = -1;
    if ((p = strstr (log, "Used ")))
        sscanf (p, "Used %d registers", &st->registers);
    if ((p = strstr (log, "info    : used ")))
        sscanf (p, "info    : used %d registers", &linked);
    if (linked > 0)
        st->registers = linked;
    for (p = log; (p = strstr (p, "bytes stack frame")); p++) {
        int64_t v = s_number_before (log, p);
        if (v > st->stack_bytes)
            st->stack_bytes = (int32_t) v;
    }
    for (p = log; (p = strstr (p, "bytes spill stores")); p++)
        st->spill_stores += (int32_t) s_number_before (log, p);
    for (p = log; (p = strstr (p, "bytes spill loads")); p++)
        st->spill_loads += (int32_t) s_number_before (log, p);
    if ((p = strstr (log, "bytes smem")))
        st->shared_bytes = (int32_t) s_number_before (log, p);
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

/*  nvJitLink's -arch and -O options of opts. */
static void
s_link_options (const sf_jit_opts_t *opts, char arch[32], char opt[16])
{
    snprintf (arch, 32, "-arch=%s", opts && opts->arch ? opts->arch : "sm_90");
    int level = opts && opts->opt_level >= 0 && opts->opt_level <= 3 ? opts->opt_level : 3;
    /* nvJitLink's -O takes 0 or 3 (and passes it to ptxas); other ptxas
       levels go through -Xptxas. */
    snprintf (opt, 16, level == 0 || level == 3 ? "-O%d" : "-Xptxas=-O%d", level);
}

/*  After nvJitLinkComplete (rc): the cubin into *cubin_p / *size_p and
    ptxas's report into st; destroys the handle. On success also the wall
    and CPU seconds since t0 / c0 into st, and st into *stats (if given). */
static int
s_link_finish (nvJitLinkHandle handle, nvJitLinkResult rc, const char *what, sf_jit_stats_t *st,
               void **cubin_p, size_t *size_p, double t0, double c0, sf_jit_stats_t *stats)
{
    if (rc != NVJITLINK_SUCCESS) {
        int status = s_fail (handle, rc, what);
        nvJitLinkDestroy (&handle);
        return status;
    }
    size_t size = 0;
    rc = nvJitLinkGetLinkedCubinSize (handle, &size);
    void *cubin = rc == NVJITLINK_SUCCESS ? malloc (size ? size : 1) : NULL;
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
            s_parse_info (log, st);
            sf_log_trace ("jit", "%s", log);
        }
        free (log);
    }
    nvJitLinkDestroy (&handle);
    st->cubin_bytes = (int64_t) size;
    *cubin_p = cubin;
    *size_p = size;
    st->seconds = sf_clock_mono () - t0;
    st->cpu_seconds = sf_clock_thread_cpu () - c0;
    if (stats)
        *stats = *st;
    return SF_OK;
}

/* ---- the compile cache ------------------------------------------------------- */

static sf_kcache_t *s_cache;

void
sf_jit_set_cache (sf_kcache_t *cache)
{
    s_cache = cache;
}

sf_kcache_t *
sf_jit_cache (void)
{
    return s_cache;
}

/*  A compile's entry in the process's cache, if there is one: true with
    the cubin and stats; key gets the key (to store under on a miss). */
static bool
s_cached (const char *kind, const sf_jit_opts_t *opts, const char *text, char key[SF_SHA256_HEX],
          void **cubin_p, size_t *size_p, sf_jit_stats_t *stats)
{
    if (!s_cache)
        return false;
    sf_kcache_key (kind, opts, &text, 1, key);
    sf_jit_stats_t st;
    if (sf_kcache_get (s_cache, key, cubin_p, size_p, &st) != SF_OK)
        return false;
    if (stats)
        *stats = st;
    return true;
}

static void
s_remember (const char *key, int rc, void *const *cubin_p, const size_t *size_p, const sf_jit_stats_t *stats)
{
    if (s_cache && rc == SF_OK)
        sf_kcache_put (s_cache, key, *cubin_p, *size_p, stats);
}

/* ---- nvJitLink ------------------------------------------------------------------- */

static int
s_jit_ptx (const char *ptx, const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p,
           sf_jit_stats_t *stats)
{
    sf_jit_stats_t st = { 0 };
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    char arch[32], opt[16], maxreg[32], split[32];
    s_link_options (opts, arch, opt);
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
    return s_link_finish (handle, rc, "compile", &st, cubin_p, size_p, t0, c0, stats);
}

int
sf_jit_ptx (const char *ptx, const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p,
            sf_jit_stats_t *stats)
{
    char key[SF_SHA256_HEX];
    sf_jit_stats_t st;
    if (s_cached ("ptx", opts, ptx, key, cubin_p, size_p, stats))
        return SF_OK;
    int rc = s_jit_ptx (ptx, opts, cubin_p, size_p, &st);
    s_remember (key, rc, cubin_p, size_p, &st);
    if (rc == SF_OK && stats)
        *stats = st;
    return rc;
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

/*  NVRTC: source to PTX, or to a cubin (relocatable with rdc). */
static int
s_nvrtc (const char *source, const sf_jit_opts_t *opts, bool to_cubin, bool rdc, void **out_p,
         size_t *size_p, sf_jit_stats_t *stats)
{
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    const char *arch = opts && opts->arch ? opts->arch : "sm_90";
    const char *num = strncmp (arch, "sm_", 3) == 0 ? arch + 3 : arch;
    char option[48], ptxas[48], maxreg[48];
    snprintf (option, sizeof option, "--gpu-architecture=%s_%s", to_cubin ? "sm" : "compute", num);
    int level = opts && opts->opt_level >= 0 && opts->opt_level <= 3 ? opts->opt_level : 3;
    snprintf (ptxas, sizeof ptxas, "--ptxas-options=-O%d", level);
    const char *options[7] = { option, "--std=c++17", "-default-device", NULL, NULL, NULL, NULL };
    int count = 3;
    if (rdc)
        options[count++] = "--relocatable-device-code=true";
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
sf_jit_nvrtc (const char *source, const sf_jit_opts_t *opts, bool to_cubin, void **out_p,
              size_t *size_p, sf_jit_stats_t *stats)
{
    char key[SF_SHA256_HEX];
    sf_jit_stats_t st;
    if (to_cubin && s_cached ("nvrtc-cubin", opts, source, key, out_p, size_p, stats))
        return SF_OK;
    int rc = s_nvrtc (source, opts, to_cubin, false, out_p, size_p, &st);
    if (to_cubin)
        s_remember (key, rc, out_p, size_p, &st);
    if (rc == SF_OK && stats)
        *stats = st;
    return rc;
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
    char key[SF_SHA256_HEX];
    if (!ptx_p && s_cached ("cuda", opts, source, key, cubin_p, size_p, stats))
        return SF_OK;
    sf_jit_stats_t st = { 0 }, front = { 0 };
    int rc = s_nvrtc (source, opts, false, false, &ptx, &ptx_size, &front);
    if (rc == SF_OK)
        rc = s_jit_ptx (ptx, opts, cubin_p, size_p, &st);
    if (rc == SF_OK) {
        st.ptx_bytes = front.ptx_bytes;
        st.seconds = sf_clock_mono () - t0;
        st.cpu_seconds = sf_clock_thread_cpu () - c0;
        if (!ptx_p)
            s_remember (key, rc, cubin_p, size_p, &st);
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

/* ---- separate compilation -------------------------------------------------- */

#define S_WRAP_PARAMS_MAX 16
#define S_WRAP_SHARED_MAX 8
#define S_WRAP_NAME_MAX 128
#define S_WRAP_MAX ((size_t) 1 << 31)

typedef struct {
    char name[S_WRAP_NAME_MAX];
    char type[8];               /* "u64", "b32", ... */
} s_param_t;

/*  The C type and inline-assembly constraint of a PTX scalar type. */
static bool
s_c_type (const char *ptx_type, const char **c_type, const char **constraint)
{
    static const char *const map[][3] = {
        { "u64", "unsigned long long", "l" }, { "b64", "unsigned long long", "l" },
        { "s64", "long long", "l" },          { "u32", "unsigned", "r" },
        { "b32", "unsigned", "r" },           { "s32", "int", "r" },
        { "f32", "float", "f" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp (ptx_type, map[i][0]) == 0) {
            *c_type = map[i][1];
            *constraint = map[i][2];
            return true;
        }
    return false;
}

/*  Whether c may be part of a PTX identifier. */
static bool
s_ident_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

/*  Copies the identifier at *p (advancing it) into out; false if none or
    too long. */
static bool
s_ident (const char **p, char *out, size_t size)
{
    size_t n = 0;
    while (s_ident_char ((*p)[n]))
        n++;
    if (n == 0 || n >= size)
        return false;
    memcpy (out, *p, n);
    out[n] = '\0';
    *p += n;
    return true;
}

static const char *
s_skip_space (const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/*  One line of PTX as a C string literal line, % doubled (inline assembly). */
static void
s_wrap_line (sf_buf_t *out, const char *line, size_t len)
{
    sf_buf_printf (out, "    \"");
    for (size_t i = 0; i < len; i++) {
        char c = line[i];
        if (c == '%')
            sf_buf_printf (out, "%%%%");
        else if (c == '"' || c == '\\')
            sf_buf_printf (out, "\\%c", c);
        else if (c == '\t')
            sf_buf_printf (out, "\\t");
        else
            sf_buf_printf (out, "%c", c);
    }
    sf_buf_printf (out, "\\n\"\n");
}

/*  The .func line: "[.visible ].func NAME(.param .T P, ...)" then
    optionally ".abi_preserve N", ".abi_preserve_control N". */
static int
s_wrap_header (const char *line, char *name, s_param_t *params, int *nparams, int *preserve,
               int *preserve_control)
{
    const char *p = s_skip_space (line);
    if (strncmp (p, ".visible", 8) == 0)
        p = s_skip_space (p + 8);
    if (strncmp (p, ".func", 5) != 0)
        return sf_error_set (SF_ERR_INVALID, "PTX wrap: expected .func");
    p = s_skip_space (p + 5);
    if (!s_ident (&p, name, S_WRAP_NAME_MAX))
        return sf_error_set (SF_ERR_INVALID, "PTX wrap: a .func without a name");
    p = s_skip_space (p);
    if (*p++ != '(')
        return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: return values are not supported", name);
    *nparams = 0;
    for (p = s_skip_space (p); *p != ')';) {
        s_param_t *q = &params[*nparams];
        const char *ct, *cons;
        if (*nparams >= S_WRAP_PARAMS_MAX || strncmp (p, ".param", 6) != 0)
            return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: bad or too many parameters", name);
        p = s_skip_space (p + 6);
        if (*p++ != '.' || !s_ident (&p, q->type, sizeof q->type) || !s_c_type (q->type, &ct, &cons))
            return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: a parameter of an unsupported type", name);
        p = s_skip_space (p);
        if (!s_ident (&p, q->name, sizeof q->name))
            return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: a parameter without a name", name);
        (*nparams)++;
        p = s_skip_space (p);
        if (*p == ',')
            p = s_skip_space (p + 1);
        else if (*p != ')')
            return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: malformed parameters", name);
    }
    *preserve = *preserve_control = 0;
    for (p = s_skip_space (p + 1); *p && *p != '\n';) {
        int *slot = strncmp (p, ".abi_preserve_control", 21) == 0 ? preserve_control
                  : strncmp (p, ".abi_preserve", 13) == 0 ? preserve : NULL;
        char *end;
        if (!slot)
            return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: unsupported function directive", name);
        p = s_skip_space (p + (slot == preserve_control ? 21 : 13));
        long v = strtol (p, &end, 10);
        if (end == p || v < 1 || v > 255)  /* NVRTC's pragma takes 1.. */
            return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: .abi_preserve takes 1..255", name);
        *slot = (int) v;
        p = s_skip_space (end);
    }
    return SF_OK;
}

/*  A body line "ld.param.T REG, [NAME];" of a parameter: its index, the
    type and the register; -1 if the line is something else. */
static int
s_param_load (const char *line, size_t len, const s_param_t *params, int nparams, char *type, char *reg)
{
    char text[256], pname[S_WRAP_NAME_MAX];
    if (len >= sizeof text)
        return -1;
    memcpy (text, line, len);
    text[len] = '\0';
    const char *p = s_skip_space (text);
    if (strncmp (p, "ld.param.", 9) != 0)
        return -1;
    p += 9;
    if (!s_ident (&p, type, 8) || *p++ != ' ')
        return -1;
    p = s_skip_space (p);
    if (*p != '%')
        return -1;
    reg[0] = '%';
    p++;
    if (!s_ident (&p, reg + 1, 31) || strncmp (p, ", [", 3) != 0)
        return -1;
    p += 3;
    if (!s_ident (&p, pname, sizeof pname) || strcmp (p, "];") != 0)
        return -1;
    for (int i = 0; i < nparams; i++)
        if (strcmp (params[i].name, pname) == 0)
            return i;
    return -1;
}

/*  One function, from its .func line to its closing brace, as a CUDA C
    device function; *pp advances past it. */
static int
s_wrap_function (const char **pp, sf_buf_t *out, char shared[][S_WRAP_NAME_MAX], int nshared)
{
    const char *p = *pp, *eol = strchr (p, '\n');
    char name[S_WRAP_NAME_MAX];
    s_param_t params[S_WRAP_PARAMS_MAX];
    int nparams = 0, preserve = 0, preserve_control = 0;
    size_t hlen = eol ? (size_t) (eol - p) : strlen (p);
    char *header = strndup (p, hlen);
    if (!header)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    int rc = s_wrap_header (header, name, params, &nparams, &preserve, &preserve_control);
    free (header);
    if (rc != SF_OK)
        return rc;
    p = eol ? eol + 1 : p + hlen;
    if (strncmp (s_skip_space (p), "{", 1) != 0)
        return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: expected '{' after the .func line", name);
    p = strchr (p, '\n');
    p = p ? p + 1 : "";
    if (preserve || preserve_control) {
        sf_buf_printf (out, "#pragma nv_abi");
        if (preserve)
            sf_buf_printf (out, " preserve_n_data(%d)", preserve);
        if (preserve_control)
            sf_buf_printf (out, " preserve_n_control(%d)", preserve_control);
        sf_buf_printf (out, "\n");
    }
    sf_buf_printf (out, "extern \"C\" __device__ __noinline__ void %s(", name);
    for (int i = 0; i < nparams; i++) {
        const char *ct = "", *cons = "";
        s_c_type (params[i].type, &ct, &cons);
        sf_buf_printf (out, "%s%s a%d", i ? ", " : "", ct, i);
    }
    sf_buf_printf (out, ")\n{\n");
    for (int i = 0; i < nshared; i++)  /* keeps the shared array's declaration in NVRTC's PTX */
        sf_buf_printf (out, "    asm volatile (\"\" :: \"l\"(%s));\n", shared[i]);
    /* The operands first go to registers of an outer block whose names
       the body cannot use (%sf_wI): NVRTC substitutes an operand with its
       own register (%rd1, %r1, ...), and inside the body's block, which
       declares %rd<N> and %r<N> again, that name is the body's register,
       not NVRTC's: "mov.u64 %rd1, %0" became "mov.u64 %rd1, %rd1" and the
       part read its pointers from uninitialized registers (the
       CUDA_ERROR_ILLEGAL_ADDRESS of issue 22's parts on the H100). */
    if (strstr (p, "%sf_w"))
        return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: the body uses the reserved %%sf_w registers", name);
    sf_buf_printf (out, "    asm volatile (\"{\\n\"\n");
    for (int i = 0; i < nparams; i++)
        sf_buf_printf (out, "    \"  .reg .%s %%%%sf_w%d;\\n\"\n", params[i].type, i);
    for (int i = 0; i < nparams; i++)
        sf_buf_printf (out, "    \"  mov.%s %%%%sf_w%d, %%%d;\\n\"\n", params[i].type, i, i);
    sf_buf_printf (out, "    \"{\\n\"\n");
    bool closed = false;
    while (*p) {
        eol = strchr (p, '\n');
        size_t len = eol ? (size_t) (eol - p) : strlen (p);
        const char *t = s_skip_space (p);
        size_t tlen = len - (size_t) (t - p);
        char type[8], reg[32];
        int idx;
        if (tlen == 1 && *t == '}') {
            closed = true;
            p = eol ? eol + 1 : p + len;
            break;
        }
        if (tlen > 0 && (*t == '{' || *t == '}'))  /* a block (vector operands' braces are fine) */
            return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: nested braces are not supported", name);
        if ((idx = s_param_load (t, tlen, params, nparams, type, reg)) >= 0) {
            /* the register's % doubled, the operand's not */
            sf_buf_printf (out, "    \"  mov.%s %%%s, %%%%sf_w%d;\\n\"\n", type, reg, idx);
        } else if (tlen == 4 && memcmp (t, "ret;", 4) == 0)
            sf_buf_printf (out, "    \"  bra.uni $L_sf_wrap_end;\\n\"\n");
        else
            s_wrap_line (out, p, len);
        p = eol ? eol + 1 : p + len;
    }
    if (!closed)
        return sf_error_set (SF_ERR_INVALID, "PTX wrap: %s: the function does not end with '}'", name);
    sf_buf_printf (out, "    \"$L_sf_wrap_end:\\n\"\n    \"}\\n\"\n    \"}\\n\"\n    ::");
    for (int i = 0; i < nparams; i++) {
        const char *ct = "", *cons = "";
        s_c_type (params[i].type, &ct, &cons);
        sf_buf_printf (out, "%s \"%s\"(a%d)", i ? "," : "", cons, i);
    }
    sf_buf_printf (out, " : \"memory\");\n}\n\n");
    *pp = p;
    return SF_OK;
}

static int
s_wrap (const char *ptx, sf_buf_t *out)
{
    char shared[S_WRAP_SHARED_MAX][S_WRAP_NAME_MAX];
    int nshared = 0, functions = 0;
    sf_buf_printf (out, "// PTX functions as CUDA C for a relocatable compile (generated by sf_jit)\n");
    for (const char *p = ptx; *p;) {
        const char *eol = strchr (p, '\n');
        size_t len = eol ? (size_t) (eol - p) : strlen (p);
        const char *t = s_skip_space (p);
        size_t tlen = len - (size_t) (t - p);
        int align;
        char name[S_WRAP_NAME_MAX], line[256];
        if (tlen == 0 || (tlen >= 2 && t[0] == '/' && t[1] == '/') || strncmp (t, ".version", 8) == 0
            || strncmp (t, ".target", 7) == 0 || strncmp (t, ".address_size", 13) == 0) {
            p = eol ? eol + 1 : p + len;
            continue;
        }
        if (strncmp (t, ".visible .func", 14) == 0 || strncmp (t, ".func", 5) == 0) {
            int rc = s_wrap_function (&p, out, shared, nshared);
            if (rc != SF_OK)
                return rc;
            functions++;
            continue;
        }
        if (tlen < sizeof line) {
            memcpy (line, t, tlen);
            line[tlen] = '\0';
        }
        if (tlen < sizeof line && nshared < S_WRAP_SHARED_MAX
            && sscanf (line, ".extern .shared .align %d .b8 %127[A-Za-z0-9_$][];", &align, name) == 2
            && strstr (line, "[];") && align > 0 && align <= 256 && (align & (align - 1)) == 0) {
            sf_buf_printf (out, "extern __shared__ __align__(%d) unsigned char %s[];\n", align, name);
            snprintf (shared[nshared++], S_WRAP_NAME_MAX, "%s", name);
            p = eol ? eol + 1 : p + len;
            continue;
        }
        return sf_error_set (SF_ERR_INVALID, "PTX wrap: unsupported module-scope line: %.*s", (int) (tlen > 80 ? 80 : tlen), t);
    }
    if (functions == 0)
        return sf_error_set (SF_ERR_INVALID, "PTX wrap: no .func in the module");
    return sf_buf_status (out);
}

int
sf_jit_ptx_wrap (const char *ptx, char **cuda_p)
{
    *cuda_p = NULL;
    sf_buf_t *out = sf_buf_new (S_WRAP_MAX);
    if (!out)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    int rc = s_wrap (ptx, out);
    if (rc == SF_OK && !(*cuda_p = sf_buf_detach (out, NULL)))
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    sf_buf_destroy (&out);
    return rc;
}

int
sf_jit_ptx_object (const char *ptx, const sf_jit_opts_t *opts, void **obj_p, size_t *size_p,
                   sf_jit_stats_t *stats)
{
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    char *cuda = NULL;
    *obj_p = NULL;
    *size_p = 0;
    int rc = sf_jit_ptx_wrap (ptx, &cuda);
    sf_jit_stats_t st = { 0 };
    if (rc == SF_OK)
        rc = s_nvrtc (cuda, opts, true, true, obj_p, size_p, &st);
    free (cuda);
    if (rc == SF_OK) {
        st.ptx_bytes = (int64_t) strlen (ptx);
        st.seconds = sf_clock_mono () - t0;
        st.cpu_seconds = sf_clock_thread_cpu () - c0;
        if (stats)
            *stats = st;
    }
    return rc;
}

int
sf_jit_link (const char *ptx, const void *const *objects, const size_t *sizes, int count,
             const sf_jit_opts_t *opts, void **cubin_p, size_t *size_p, sf_jit_stats_t *stats)
{
    sf_jit_stats_t st = { 0 };
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    char arch[32], opt[16];
    s_link_options (opts, arch, opt);
    const char *options[3] = { arch, opt, "-verbose" };
    *cubin_p = NULL;
    *size_p = 0;
    nvJitLinkHandle handle = NULL;
    nvJitLinkResult rc = nvJitLinkCreate (&handle, 3, options);
    if (rc != NVJITLINK_SUCCESS)
        return s_fail (NULL, rc, "create");
    rc = nvJitLinkAddData (handle, NVJITLINK_INPUT_PTX, ptx, strlen (ptx) + 1, "entry.ptx");
    for (int i = 0; rc == NVJITLINK_SUCCESS && i < count; i++) {
        char name[32];
        snprintf (name, sizeof name, "part%d.cubin", i);
        rc = nvJitLinkAddData (handle, NVJITLINK_INPUT_CUBIN, objects[i], sizes[i], name);
    }
    if (rc == NVJITLINK_SUCCESS)
        rc = nvJitLinkComplete (handle);
    st.ptx_bytes = (int64_t) strlen (ptx);
    return s_link_finish (handle, rc, "link", &st, cubin_p, size_p, t0, c0, stats);
}

static char s_version[16] = "unknown";
static pthread_once_t s_version_once = PTHREAD_ONCE_INIT;

static void
s_version_init (void)
{
    unsigned int major = 0, minor = 0;
    if (nvJitLinkVersion (&major, &minor) == NVJITLINK_SUCCESS)
        snprintf (s_version, sizeof s_version, "%u.%u", major, minor);
}

/*  Written once: compile-cache keys are made on many threads at once, and a
    buffer rewritten on every call gave one of them a torn version (so a
    different key) now and then. */
const char *
sf_jit_version (void)
{
    pthread_once (&s_version_once, s_version_init);
    return s_version;
}
