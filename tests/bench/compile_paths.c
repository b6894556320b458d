/*  compile_paths: compile cost of the full template U kernel by emission
    path (issue 3; results in docs/KERNELS.md). Not a test.

    For random 768 x 768 layers of increasing nonzeros and a few configs,
    each path compiles the same kernel in a child process (so that a
    timeout can kill it, and wait4 gives its CPU seconds and peak memory):
      a  our PTX (sf_emit_u_full) -> nvJitLink, ptxas -O3   (today's path)
      b  our PTX -> nvJitLink, ptxas -O1
      c  CUDA C (sf_emit_cuda_u_full) -> NVRTC -> cubin for sm_90
      d  CUDA C -> NVRTC -> PTX for compute_90 -> nvJitLink -O3
      e  as a, with nvJitLink -split-compile=THREADS
      f  the kernel in parts (sf_uparts, issue 22): part functions of
         --part-fmas multiply-adds each, compiled to relocatable objects
         on --threads threads at once (NVRTC around the PTX, ptxas -O3),
         then linked with nvJitLink
      g  as f, ptxas -O1
      h  the kernel in parts in one module (sf_emit_u_full_parts) ->
         nvJitLink -O3: the parts' effect on ptxas without a second thread
    A path that times out or passes --skip-after seconds is not run at the
    next size. Prints a table, and JSON with --json FILE.

    compile_paths [--nnz 1000,5000,20000,60000] [--configs TEXT,TEXT]
                  [--paths abcde] [--timeout 300] [--skip-after 300]
                  [--split 2] [--threads 2] [--part-fmas 6000] [--json FILE]
*/
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_buf.h"
#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_emit_cuda.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_uparts.h"

#define S_SOURCE_MAX ((size_t) 1 << 31)
#define S_MAX_ITEMS 16

typedef struct {
    int status;             /* SF_OK, or the failure's code; 1 timed out */
    double emit_s;          /* emitting the text */
    double front_s;         /* NVRTC (c: to cubin, d: to PTX); 0 for PTX paths */
    double back_s;          /* nvJitLink (a, b, d, e) */
    sf_jit_stats_t st;      /* of the last step: registers, spills, cubin */
    int64_t source_bytes;   /* PTX or CUDA C */
    int64_t ptx_fmas;       /* fma.rn.f32 in the PTX handed to ptxas (-1: not seen) */
    int64_t code_fmas;      /* the emitter's count */
    int32_t parts;          /* f, g, h: part functions */
    char error[200];
} s_result_t;

typedef struct {
    s_result_t r;
    double wall_s, cpu_s;   /* the child's, from fork to exit */
    long maxrss_kb;
    char path;
    int64_t nnz;
    char config[SF_CONFIG_TEXT_MAX];
} s_row_t;

static int64_t
s_count (const char *text, const char *needle)
{
    int64_t n = 0;
    for (const char *p = text; (p = strstr (p, needle)); p += strlen (needle))
        n++;
    return n;
}

/*  The compile of one path, in the child. */
typedef struct {
    int split;              /* e: -split-compile */
    int threads;            /* f, g */
    int64_t part_fmas;      /* f, g, h */
} s_knobs_t;

/*  Paths f and g: the kernel in parts. */
static void
s_compile_parts (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *cfg, char path,
                 const s_knobs_t *k, s_result_t *r)
{
    sf_uparts_opts_t o = { .part_fmas = k->part_fmas, .threads = k->threads, .opt_level = path == 'g' ? 1 : 3 };
    sf_launch_t launch;
    sf_uparts_info_t info;
    void *cubin = NULL;
    size_t size = 0;
    r->ptx_fmas = -1;
    r->status = sf_uparts_compile (a, panels, cfg, NULL, &o, &cubin, &size, &launch, &r->st, &info);
    if (r->status == SF_OK) {
        r->code_fmas = launch.code_fmas;
        r->parts = info.parts;
        r->back_s = r->st.seconds;
        r->source_bytes = r->st.ptx_bytes;
    } else
        snprintf (r->error, sizeof r->error, "%s", sf_error_message ());
    free (cubin);
}

static void
s_compile (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *cfg, char path,
           const s_knobs_t *k, s_result_t *r)
{
    if (path == 'f' || path == 'g') {
        s_compile_parts (a, panels, cfg, path, k, r);
        return;
    }
    sf_epilogue_t epi = { false, false };
    sf_launch_t launch;
    sf_buf_t *src = sf_buf_new (S_SOURCE_MAX);
    double t0 = sf_clock_mono ();
    bool cuda = path == 'c' || path == 'd';
    sf_emit_parts_t plan;
    if (path == 'h' && sf_emit_u_parts_plan (a, panels, cfg, k->part_fmas, &plan) == SF_OK)
        r->parts = plan.count;
    r->status = !src ? SF_ERR_NOMEM
              : cuda ? sf_emit_cuda_u_full (a, panels, cfg, &epi, src, &launch)
              : path == 'h' ? (r->parts ? sf_emit_u_full_parts (a, panels, cfg, &epi, &plan, src, &launch)
                                        : sf_error_last ())
                     : sf_emit_u_full (a, panels, cfg, &epi, src, &launch);
    r->emit_s = sf_clock_mono () - t0;
    r->ptx_fmas = -1;
    if (r->status != SF_OK)
        goto done;
    r->code_fmas = launch.code_fmas;
    r->source_bytes = (int64_t) sf_buf_size (src);
    sf_jit_opts_t opts = { .arch = "sm_90", .opt_level = path == 'b' ? 1 : 3,
                           .split_compile = path == 'e' ? k->split : 0 };
    void *out = NULL, *cubin = NULL;
    size_t size = 0;
    const char *ptx = sf_buf_data (src);
    if (cuda) {
        sf_jit_stats_t front;
        r->status = sf_jit_nvrtc (ptx, &opts, path == 'c', &out, &size, &front);
        r->front_s = front.seconds;
        r->st = front;
        ptx = path == 'd' ? out : NULL;
    }
    if (r->status == SF_OK && ptx) {
        r->ptx_fmas = s_count (ptx, "fma.rn.f32");
        r->status = sf_jit_ptx (ptx, &opts, &cubin, &size, &r->st);
        r->back_s = r->st.seconds;
    }
    free (out);
    free (cubin);
done:
    if (r->status != SF_OK)
        snprintf (r->error, sizeof r->error, "%s", sf_error_message ());
    sf_buf_destroy (&src);
}

/*  Runs s_compile in a child with a deadline; fills row. */
static void
s_run (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *cfg, char path,
       const s_knobs_t *k, double timeout, s_row_t *row)
{
    int fds[2];
    memset (&row->r, 0, sizeof row->r);
    if (pipe (fds) != 0) {
        row->r.status = SF_ERR_IO;
        snprintf (row->r.error, sizeof row->r.error, "pipe: %s", strerror (errno));
        return;
    }
    double t0 = sf_clock_mono ();
    pid_t pid = fork ();
    if (pid == 0) {
        close (fds[0]);
        s_result_t r = { 0 };
        s_compile (a, panels, cfg, path, k, &r);
        ssize_t w = write (fds[1], &r, sizeof r);
        _exit (w == (ssize_t) sizeof r ? 0 : 1);
    }
    close (fds[1]);
    struct pollfd pfd = { fds[0], POLLIN, 0 };
    int ready = pid > 0 ? poll (&pfd, 1, (int) (timeout * 1000)) : -1;
    bool got = ready > 0 && read (fds[0], &row->r, sizeof row->r) == (ssize_t) sizeof row->r;
    if (pid > 0 && !got)
        kill (pid, SIGKILL);
    struct rusage ru = { 0 };
    int wstatus = 0;
    if (pid > 0)
        wait4 (pid, &wstatus, 0, &ru);
    close (fds[0]);
    row->wall_s = sf_clock_mono () - t0;
    row->cpu_s = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6
               + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    row->maxrss_kb = ru.ru_maxrss;
    if (!got) {
        memset (&row->r, 0, sizeof row->r);
        row->r.status = ready == 0 ? 1 : SF_ERR_IO;
        snprintf (row->r.error, sizeof row->r.error, "%s",
                  ready == 0 ? "timed out" : "the compiling child died");
    }
}

static const char *
s_path_name (char path)
{
    switch (path) {
    case 'a': return "PTX -> nvJitLink -O3";
    case 'b': return "PTX -> nvJitLink -O1";
    case 'c': return "CUDA C -> NVRTC -> cubin";
    case 'd': return "CUDA C -> NVRTC -> PTX -> nvJitLink -O3";
    case 'e': return "PTX -> nvJitLink -O3 -split-compile";
    case 'f': return "parts: PTX .func -> NVRTC -rdc (ptxas -O3) on threads, nvJitLink link";
    case 'g': return "parts: as f, ptxas -O1";
    default: return "parts in one module -> nvJitLink -O3";
    }
}

static void
s_print_row (const s_row_t *w)
{
    if (w->r.status == SF_OK)
        printf ("%7lld  %-30s %c  %8.2f %8.2f %7.0f  %7.2f %7.2f  %4d %6d %9lld %8lld %8lld %5d\n",
                (long long) w->nnz, w->config, w->path, w->wall_s, w->cpu_s, w->maxrss_kb / 1024.0,
                w->r.front_s, w->r.back_s, w->r.st.registers, w->r.st.spill_stores,
                (long long) w->r.st.cubin_bytes, (long long) w->r.code_fmas, (long long) w->r.ptx_fmas,
                w->r.parts);
    else
        printf ("%7lld  %-30s %c  %8.2f %8.2f %7.0f  %s\n", (long long) w->nnz, w->config, w->path,
                w->wall_s, w->cpu_s, w->maxrss_kb / 1024.0, w->r.error);
    fflush (stdout);
}

static void
s_json (FILE *f, const s_row_t *rows, int count, double timeout)
{
    fprintf (f, "{\"nvjitlink\": \"%s\", \"timeout_s\": %.0f, \"paths\": {", sf_jit_version (), timeout);
    for (char p = 'a'; p <= 'h'; p++)
        fprintf (f, "%s\"%c\": \"%s\"", p == 'a' ? "" : ", ", p, s_path_name (p));
    fprintf (f, "},\n \"rows\": [\n");
    for (int i = 0; i < count; i++) {
        const s_row_t *w = &rows[i];
        fprintf (f, "  {\"nnz\": %lld, \"config\": \"%s\", \"path\": \"%c\", \"ok\": %s, "
                    "\"wall_s\": %.3f, \"cpu_s\": %.3f, \"maxrss_mb\": %.1f, \"emit_s\": %.3f, "
                    "\"nvrtc_s\": %.3f, \"nvjitlink_s\": %.3f, \"registers\": %d, "
                    "\"spill_stores\": %d, \"spill_loads\": %d, \"cubin_bytes\": %lld, "
                    "\"source_bytes\": %lld, \"code_fmas\": %lld, \"ptx_fmas\": %lld, \"parts\": %d, "
                    "\"error\": \"%s\"}%s\n",
                 (long long) w->nnz, w->config, w->path, w->r.status == SF_OK ? "true" : "false",
                 w->wall_s, w->cpu_s, w->maxrss_kb / 1024.0, w->r.emit_s, w->r.front_s, w->r.back_s,
                 w->r.st.registers, w->r.st.spill_stores, w->r.st.spill_loads,
                 (long long) w->r.st.cubin_bytes, (long long) w->r.source_bytes,
                 (long long) w->r.code_fmas, (long long) w->r.ptx_fmas, w->r.parts, w->r.error,
                 i + 1 < count ? "," : "");
    }
    fprintf (f, " ]}\n");
}

/*  "1000,5000" -> values; returns the count. */
static int
s_split_list (char *text, char **items)
{
    int n = 0;
    for (char *tok = strtok (text, ","); tok && n < S_MAX_ITEMS; tok = strtok (NULL, ","))
        items[n++] = tok;
    return n;
}

static int
s_usage (void)
{
    fprintf (stderr, "usage: compile_paths [--nnz LIST] [--configs LIST] [--paths abcde] "
                     "[--timeout S] [--skip-after S] [--split N] [--threads N] [--part-fmas F] "
                     "[--json FILE]\n");
    return 2;
}

int
main (int argc, char **argv)
{
    char nnz_text[256] = "1000,5000,20000,60000";
    char cfg_text[512] = "U:r32.v1.t128.g1.o0.m72.none,U:r16.v2.t64.g2.o0.m72.nnz";
    const char *paths = "abcd", *json = NULL;
    double timeout = 300, skip_after = 300;
    s_knobs_t knobs = { .split = 2, .threads = 2, .part_fmas = 0 };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp (arg, "--help") == 0) {
            s_usage ();
            return 0;
        }
        if (!val)
            return s_usage ();
        if (strcmp (arg, "--nnz") == 0)
            snprintf (nnz_text, sizeof nnz_text, "%s", val);
        else if (strcmp (arg, "--configs") == 0)
            snprintf (cfg_text, sizeof cfg_text, "%s", val);
        else if (strcmp (arg, "--paths") == 0)
            paths = val;
        else if (strcmp (arg, "--timeout") == 0)
            timeout = atof (val);
        else if (strcmp (arg, "--skip-after") == 0)
            skip_after = atof (val);
        else if (strcmp (arg, "--split") == 0)
            knobs.split = atoi (val);
        else if (strcmp (arg, "--threads") == 0)
            knobs.threads = atoi (val);
        else if (strcmp (arg, "--part-fmas") == 0)
            knobs.part_fmas = atoll (val);
        else if (strcmp (arg, "--json") == 0)
            json = val;
        else
            return s_usage ();
        i++;
    }
    char *nnz_items[S_MAX_ITEMS], *cfg_items[S_MAX_ITEMS];
    int n_nnz = s_split_list (nnz_text, nnz_items), n_cfg = s_split_list (cfg_text, cfg_items);
    sf_config_t cfgs[S_MAX_ITEMS];
    for (int c = 0; c < n_cfg; c++)
        if (sf_config_parse (cfg_items[c], &cfgs[c]) != SF_OK || cfgs[c].tmpl != SF_TEMPLATE_U) {
            fprintf (stderr, "compile_paths: bad U config '%s'\n", cfg_items[c]);
            return 2;
        }
    s_row_t *rows = calloc ((size_t) (n_nnz * n_cfg * (int) strlen (paths) + 1), sizeof *rows);
    bool skip[256] = { false }, slow[256] = { false };
    int count = 0;
    printf ("nvJitLink %s, timeout %.0f s; wall/cpu s of the whole child, peak RSS MB\n",
            sf_jit_version (), timeout);
    printf ("%7s  %-30s %s  %8s %8s %7s  %7s %7s  %4s %6s %9s %8s %8s %5s\n", "nnz", "config", "p", "wall",
            "cpu", "rss", "nvrtc", "jitlink", "regs", "spill", "cubin", "fmas", "ptx_fma", "parts");
    for (int s = 0; rows && s < n_nnz; s++) {
        int64_t nnz = atoll (nnz_items[s]);
        double sparsity = 1.0 - (double) nnz / (768.0 * 768.0);
        sf_matrix_t *a = sf_matrix_new_random (768, 768, sparsity, 1);
        if (!a) {
            fprintf (stderr, "compile_paths: cannot make a %lld-nonzero matrix\n", (long long) nnz);
            return 1;
        }
        for (int c = 0; c < n_cfg; c++) {
            sf_panels_t *panels = sf_panels_new (a, cfgs[c].panel_rows, cfgs[c].reorder);
            for (const char *p = paths; panels && *p; p++) {
                if (skip[(unsigned char) *p])
                    continue;
                s_row_t *w = &rows[count++];
                w->path = *p;
                w->nnz = sf_matrix_nnz (a);
                sf_config_text (&cfgs[c], w->config);
                s_run (a, panels, &cfgs[c], *p, &knobs, timeout, w);
                s_print_row (w);
                if (w->r.status != SF_OK || w->wall_s > skip_after)
                    slow[(unsigned char) *p] = true;
            }
            sf_panels_destroy (&panels);
        }
        sf_matrix_destroy (&a);
        memcpy (skip, slow, sizeof skip);  /* slow paths stop at the next size */
    }
    if (json) {
        FILE *f = fopen (json, "w");
        if (!f) {
            fprintf (stderr, "compile_paths: cannot write %s\n", json);
            return 1;
        }
        s_json (f, rows, count, timeout);
        fclose (f);
    }
    free (rows);
    return 0;
}
