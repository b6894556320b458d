/*  Check suite of the full U kernel in parts (issue 22): the plan, the
    emitted modules against the one-function kernel (the same code per
    panel, the same launch), the PTX-to-CUDA-C wrapper, the compiles to
    relocatable objects and the link (CPU only: CI has the toolkit, no
    GPU), and a sim search whose answers do not depend on the path. */
#include <check.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_buf.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_space.h"
#include "proxygen/sf_uparts.h"
#include "worker/sf_search.h"

#define S_BUF (64u << 20)

static int64_t
s_count (const char *text, const char *needle)
{
    int64_t n = 0;
    for (const char *p = text; (p = strstr (p, needle)); p += strlen (needle))
        n++;
    return n;
}

/*  The code of panel label `label` ("$L_p7:" or "$L_p7_s1:") up to and
    including its "bra.uni $L_done;" (malloc'ed), or NULL. */
static char *
s_panel_code (const char *ptx, const char *label)
{
    const char *p = strstr (ptx, label);
    if (!p)
        return NULL;
    const char *end = strstr (p, "  bra.uni $L_done;\n");
    return end ? strndup (p, (size_t) (end - p) + strlen ("  bra.uni $L_done;\n")) : NULL;
}

static sf_config_t
s_config (int r, int v, int t, int g, int o, int ks, sf_reorder reorder)
{
    sf_config_t c = { SF_TEMPLATE_U, r, v, t, g, o, sf_space_u_max_regs (r, v), reorder, SF_D_ROWS, ks, 0 };
    return c;
}

START_TEST (test_plan_cuts_whole_panels)
{
    sf_matrix_t *a = sf_matrix_new_random (300, 200, 0.8, 3);  /* 12,000 nonzeros */
    sf_config_t c = s_config (16, 2, 32, 1, 0, 0, SF_REORDER_NNZ);
    sf_panels_t *p = sf_panels_new (a, 16, SF_REORDER_NNZ);
    sf_emit_parts_t plan;
    ck_assert_int_eq (sf_emit_u_parts_plan (a, p, &c, 3000, &plan), SF_OK);
    int32_t panels = sf_panels_count (p);
    ck_assert_int_eq (plan.first[0], 0);
    ck_assert_int_eq (plan.first[plan.count], panels);
    int64_t sum = 0;
    for (int32_t i = 0; i < plan.count; i++) {
        ck_assert_int_lt (plan.first[i], plan.first[i + 1]);
        /* a part over the bound is a single panel */
        if (plan.fmas[i] > 3000)
            ck_assert_int_eq (plan.first[i + 1] - plan.first[i], 1);
        sum += plan.fmas[i];
    }
    ck_assert_int_eq (sum, sf_matrix_nnz (a) * 2);
    ck_assert_int_ge (plan.count, 8);   /* 24,000 multiply-adds in parts of <= 3,000 */
    /* a bound too small for SF_EMIT_PARTS_MAX parts grows */
    ck_assert_int_eq (sf_emit_u_parts_plan (a, p, &c, 1, &plan), SF_OK);
    ck_assert_int_le (plan.count, SF_EMIT_PARTS_MAX);
    ck_assert_int_eq (plan.first[plan.count], panels);
    /* the default bound */
    ck_assert_int_eq (sf_emit_u_parts_plan (a, p, &c, 0, &plan), SF_OK);
    ck_assert_int_ge (plan.count, 24000 / SF_EMIT_PART_FMAS);
    /* a config that does not match the panels, and a plan that does not cut them */
    sf_config_t wrong = s_config (32, 2, 32, 1, 0, 0, SF_REORDER_NNZ);
    ck_assert_int_eq (sf_emit_u_parts_plan (a, p, &wrong, 0, &plan), SF_ERR_INVALID);
    sf_buf_t *buf = sf_buf_new (S_BUF);
    sf_launch_t launch;
    ck_assert_int_eq (sf_emit_u_parts_plan (a, p, &c, 3000, &plan), SF_OK);
    plan.first[plan.count] = panels - 1;
    ck_assert_int_eq (sf_emit_u_full_parts (a, p, &c, NULL, &plan, buf, &launch), SF_ERR_INVALID);
    ck_assert_int_eq (sf_emit_u_parts_part (a, p, &c, NULL, &plan, 0, buf), SF_ERR_INVALID);
    sf_buf_destroy (&buf);
    sf_panels_destroy (&p);
    sf_matrix_destroy (&a);
}
END_TEST

/*  The emulation check: every panel's code (and every split group's) is
    byte for byte the one-function kernel's, in the one-module layout and in
    the part modules; the launch is the same; the entry sends each panel to
    the part that codes it. */
static void
s_same_code (const sf_matrix_t *a, const sf_config_t *c, const sf_epilogue_t *epi, int64_t part_fmas)
{
    sf_panels_t *p = sf_panels_new (a, c->panel_rows, c->reorder);
    sf_buf_t *one = sf_buf_new (S_BUF), *inl = sf_buf_new (S_BUF), *entry = sf_buf_new (S_BUF);
    sf_launch_t l_one, l_inl, l_entry;
    sf_emit_parts_t plan;
    ck_assert_int_eq (sf_emit_u_full (a, p, c, epi, one, &l_one), SF_OK);
    ck_assert_int_eq (sf_emit_u_parts_plan (a, p, c, part_fmas, &plan), SF_OK);
    ck_assert_int_gt (plan.count, 1);
    ck_assert_int_eq (sf_emit_u_full_parts (a, p, c, epi, &plan, inl, &l_inl), SF_OK);
    ck_assert_int_eq (sf_emit_u_parts_entry (a, p, c, epi, &plan, entry, &l_entry), SF_OK);
    ck_assert_mem_eq (&l_one, &l_inl, sizeof l_one);
    ck_assert_mem_eq (&l_one, &l_entry, sizeof l_one);
    int32_t ks = sf_config_ksplit (c);
    int64_t fmas = 0;
    for (int32_t part = 0; part < plan.count; part++) {
        sf_buf_t *mod = sf_buf_new (S_BUF);
        ck_assert_int_eq (sf_emit_u_parts_part (a, p, c, epi, &plan, part, mod), SF_OK);
        const char *m = sf_buf_data (mod);
        ck_assert_int_eq (s_count (m, ".visible .func "), 1);
        ck_assert_int_eq (s_count (m, ".entry"), 0);
        fmas += s_count (m, "fma.rn.f32");
        for (int32_t panel = plan.first[part]; panel < plan.first[part + 1]; panel++)
            for (int32_t g = 0; g < ks; g++) {
                char label[32];
                if (ks > 1)
                    snprintf (label, sizeof label, "$L_p%d_s%d:", panel, g);
                else
                    snprintf (label, sizeof label, "$L_p%d:", panel);
                char *want = s_panel_code (sf_buf_data (one), label);
                char *got_mod = s_panel_code (m, label), *got_inl = s_panel_code (sf_buf_data (inl), label);
                ck_assert_ptr_nonnull (want);
                ck_assert_ptr_nonnull (got_mod);
                ck_assert_ptr_nonnull (got_inl);
                ck_assert_str_eq (want, got_mod);
                ck_assert_str_eq (want, got_inl);
                free (want);
                free (got_mod);
                free (got_inl);
            }
        sf_buf_destroy (&mod);
    }
    /* every multiply-add once over the parts; the generic loop (V > 1)
       stays in the entry with the embedded A */
    int64_t generic = c->vec > 1 ? c->vec : 0;
    ck_assert_int_eq (fmas, sf_matrix_nnz (a) * c->vec);
    ck_assert_int_eq (s_count (sf_buf_data (one), "fma.rn.f32"), fmas + generic);
    ck_assert_int_eq (s_count (sf_buf_data (inl), "fma.rn.f32"), fmas + generic);
    ck_assert_int_eq (s_count (sf_buf_data (entry), "fma.rn.f32"), generic);
    ck_assert_int_eq (s_count (sf_buf_data (entry), ".extern .func "), plan.count);
    ck_assert_int_eq (s_count (sf_buf_data (entry), "call.uni "), plan.count);
    ck_assert_int_eq (s_count (sf_buf_data (inl), "call.uni "), plan.count);
    /* the dispatch table: one entry per panel, to its part's call */
    const char *table = strstr (sf_buf_data (entry), "$L_parts: .branchtargets");
    ck_assert_ptr_nonnull (table);
    for (int32_t part = 0; part < plan.count; part++) {
        char call[64];
        snprintf (call, sizeof call, "$L_c%d:\n", part);
        ck_assert_ptr_nonnull (strstr (sf_buf_data (entry), call));
    }
    const char *eol = strchr (table, '\n');
    int64_t entries = 1;
    for (const char *q = table; q < eol; q++)
        entries += *q == ',';
    ck_assert_int_eq (entries, sf_panels_count (p));
    sf_buf_destroy (&one);
    sf_buf_destroy (&inl);
    sf_buf_destroy (&entry);
    sf_panels_destroy (&p);
}

START_TEST (test_parts_code_is_the_kernels)
{
    sf_matrix_t *a = sf_matrix_new_random (70, 300, 0.8, 9);     /* awkward M */
    sf_matrix_t *b = sf_matrix_new_random (256, 512, 0.9, 11);
    sf_epilogue_t none = { false, false }, both = { true, true };
    sf_config_t c1 = s_config (8, 1, 64, 1, 0, 0, SF_REORDER_NONE);
    sf_config_t c2 = s_config (16, 4, 32, 2, 1, 0, SF_REORDER_SIMILARITY);   /* generic path, order 1 */
    sf_config_t c3 = s_config (32, 1, 64, 1, 0, 4, SF_REORDER_NNZ);          /* split over K */
    sf_config_t c4 = s_config (16, 2, 32, 1, 0, 2, SF_REORDER_NONE);         /* split, generic path */
    s_same_code (a, &c1, &none, 500);
    s_same_code (a, &c2, &both, 1000);
    s_same_code (a, &c3, &both, 1000);
    s_same_code (a, &c4, &none, 800);
    s_same_code (b, &c1, &both, 2000);
    s_same_code (b, &c2, &none, 3000);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
}
END_TEST

START_TEST (test_wrap_refuses_what_it_cannot_carry)
{
    char *cuda = NULL;
    const char *ok =
        ".version 9.0\n.target sm_90\n.address_size 64\n"
        ".extern .shared .align 16 .b8 sf_smem[];\n"
        ".visible .func f(.param .u64 p_x, .param .u32 p_n) .abi_preserve 1 .abi_preserve_control 1\n{\n"
        "  .reg .b64 %rd<4>;\n  .reg .b32 %r<4>;\n"
        "  ld.param.u64 %rd1, [p_x];\n  ld.param.u32 %r1, [p_n];\n"
        "  cvta.to.global.u64 %rd1, %rd1;\n  st.global.u32 [%rd1], %r1;\n  ret;\n}\n";
    ck_assert_int_eq (sf_jit_ptx_wrap (ok, &cuda), SF_OK);
    ck_assert_ptr_nonnull (strstr (cuda, "#pragma nv_abi preserve_n_data(1) preserve_n_control(1)"));
    ck_assert_ptr_nonnull (strstr (cuda, "extern \"C\" __device__ __noinline__ void f(unsigned long long a0, unsigned a1)"));
    ck_assert_ptr_nonnull (strstr (cuda, "extern __shared__ __align__(16) unsigned char sf_smem[];"));
    ck_assert_ptr_nonnull (strstr (cuda, "\"  mov.u64 %%sf_w0, %0;\\n\""));
    ck_assert_ptr_nonnull (strstr (cuda, "\"  mov.u64 %%rd1, %%sf_w0;\\n\""));
    ck_assert_ptr_nonnull (strstr (cuda, "\"  st.global.u32 [%%rd1], %%r1;\\n\""));
    ck_assert_ptr_nonnull (strstr (cuda, "bra.uni $L_sf_wrap_end;"));
    ck_assert_ptr_null (strstr (cuda, "ret;"));
    free (cuda);
    /* and it compiles to an object */
    void *obj = NULL;
    size_t size = 0;
    sf_jit_stats_t st;
    ck_assert_int_eq (sf_jit_ptx_object (ok, NULL, &obj, &size, &st), SF_OK);
    ck_assert_int_gt (size, 100);
    ck_assert_double_gt (st.cpu_seconds, 0.0);
    free (obj);
    const char *bad[] = {
        ".version 9.0\n.visible .entry k()\n{\n  ret;\n}\n",                                  /* an entry */
        ".version 9.0\n.visible .func f(.param .f16 p)\n{\n  ret;\n}\n",                      /* a type */
        ".version 9.0\n.visible .func f()\n{\n  {\n  }\n  ret;\n}\n",                         /* braces */
        ".version 9.0\n.visible .func f() .abi_preserve 0\n{\n  ret;\n}\n",                   /* 0 */
        ".version 9.0\n.visible .func (.param .u32 r) f()\n{\n  ret;\n}\n",                   /* a return */
        ".version 9.0\n.global .u32 x;\n.visible .func f()\n{\n  ret;\n}\n",                  /* a global */
        ".version 9.0\n.visible .func f()\n{\n  ret;\n",                                      /* no end */
        ".version 9.0\n.target sm_90\n",                                                      /* no function */
        ".version 9.0\n.visible .func f()\n{\n  .reg .b32 %sf_w0;\n  ret;\n}\n",                /* reserved */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq (sf_jit_ptx_wrap (bad[i], &cuda), SF_ERR_INVALID);
        ck_assert_ptr_null (cuda);
        ck_assert_ptr_nonnull (strstr (sf_error_message (), "PTX wrap"));
    }
    /* a compile error is NVRTC's, with its log */
    const char *broken = ".visible .func f()\n{\n  bogus.op %r1;\n  ret;\n}\n";
    ck_assert_int_eq (sf_jit_ptx_object (broken, NULL, &obj, &size, NULL), SF_ERR_NVRTC);
    ck_assert_ptr_null (obj);
}
END_TEST

/*  Whether NVRTC's PTX of wrapped function `name` hands each of its
    `nparams` parameters to the inline assembly: the register NVRTC loads
    parameter i into (ld.param) is, where the assembly first names it (its
    operand), not shadowed by a declaration of the assembly's own blocks.
    Before the fix the body's block declared %rd<N> and %r<N> again and
    "mov.u64 %rd1, %0" read the body's uninitialized %rd1 (the parts'
    CUDA_ERROR_ILLEGAL_ADDRESS on the H100). */
#define S_DECL_MAX 64
static void
s_check_operands_reach (const char *ptx, const char *name, int nparams)
{
    char head[160], what[200];
    snprintf (head, sizeof head, ".func %s(", name);
    const char *f = strstr (ptx, head);
    ck_assert_ptr_nonnull (f);
    const char *body = strstr (f, "\n{\n");
    ck_assert_ptr_nonnull (body);
    for (int i = 0; i < nparams; i++) {
        /* "ld.param.u64 \t%rd2, [NAME_param_0];" */
        snprintf (what, sizeof what, "[%s_param_%d];", name, i);
        const char *ld = strstr (body, what);
        ck_assert_msg (ld != NULL, "parameter %d is never loaded", i);
        const char *bol = ld;
        while (bol > body && bol[-1] != '\n')
            bol--;
        const char *pc = strchr (bol, '%');
        ck_assert_ptr_nonnull (pc);
        char reg[32];
        size_t n = strcspn (pc, ",");
        ck_assert_int_lt (n, sizeof reg);
        memcpy (reg, pc, n);
        reg[n] = '\0';
        /* walk the function from its body, blocks and their declarations */
        struct { int depth; char prefix[32]; long count; } decl[S_DECL_MAX];
        int ndecl = 0, depth = 0;
        bool seen = false;
        for (const char *p = body + 1; *p && !seen; ) {
            const char *eol = strchr (p, '\n');
            size_t len = eol ? (size_t) (eol - p) : strlen (p);
            char line[512];
            size_t l = len < sizeof line - 1 ? len : sizeof line - 1;
            memcpy (line, p, l);
            line[l] = '\0';
            for (char *c = line; *c; c++)
                if (*c == '{')
                    depth++;
            if (depth == 0)
                break;   /* the function's end */
            char *r = strstr (line, ".reg .");
            if (r && depth > 1 && ndecl < S_DECL_MAX) {
                char *pct = strchr (r, '%');
                ck_assert_ptr_nonnull (pct);
                size_t k = strcspn (pct, "<; \t");
                ck_assert_int_lt (k, sizeof decl[0].prefix);
                memcpy (decl[ndecl].prefix, pct, k);
                decl[ndecl].prefix[k] = '\0';
                decl[ndecl].count = pct[k] == '<' ? strtol (pct + k + 1, NULL, 10) : -1;
                decl[ndecl].depth = depth;
                ndecl++;
            } else if (depth > 1) {
                /* the first time the assembly names reg */
                for (const char *q = line; (q = strstr (q, reg)); q += n)
                    if (!(isalnum ((unsigned char) q[n]) || q[n] == '_')) {
                        seen = true;
                        break;
                    }
                for (int d = 0; seen && d < ndecl; d++) {
                    size_t pl = strlen (decl[d].prefix);
                    bool shadows = decl[d].count < 0 ? strcmp (decl[d].prefix, reg) == 0
                                 : strncmp (decl[d].prefix, reg, pl) == 0 && isdigit ((unsigned char) reg[pl])
                                   && strtol (reg + pl, NULL, 10) < decl[d].count;
                    ck_assert_msg (!shadows, "%s: parameter %d's %s is shadowed by the assembly's %s<%ld> "
                                   "where it is read: %s", name, i, reg, decl[d].prefix, decl[d].count, line);
                }
            }
            for (char *c = line; *c; c++)
                if (*c == '}') {
                    depth--;
                    while (ndecl > 0 && decl[ndecl - 1].depth > depth)
                        ndecl--;
                }
            p = eol ? eol + 1 : p + len;
        }
        ck_assert_msg (seen, "%s: parameter %d (%s) never reaches the assembly", name, i, reg);
    }
}

/*  NVRTC's PTX of the wrapped module `ptx` (function `name`, `nparams`
    parameters, all u64 but the third, a u32), called from a kernel so that
    it is kept; malloc'ed. */
static char *
s_wrapped_ptx (const char *ptx, const char *name, int nparams)
{
    char *cuda = NULL;
    ck_assert_int_eq (sf_jit_ptx_wrap (ptx, &cuda), SF_OK);
    sf_buf_t *src = sf_buf_new (S_BUF);
    sf_buf_printf (src, "%s\nextern \"C\" __global__ void s_caller(unsigned long long x, unsigned n)\n{\n  %s(",
                   cuda, name);
    for (int i = 0; i < nparams; i++)
        sf_buf_printf (src, "%s%s", i ? ", " : "", i == 2 ? "n" : "x");
    sf_buf_printf (src, ");\n}\n");
    free (cuda);
    void *out = NULL;
    size_t size = 0;
    int rc = sf_jit_nvrtc (sf_buf_data (src), NULL, false, &out, &size, NULL);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    sf_buf_destroy (&src);
    return out;
}

START_TEST (test_wrap_hands_parameters_to_the_body)
{
    /* a function of the wrapper's test, and a real part (with a split
       group's shared memory) */
    const char *small =
        ".version 9.0\n.target sm_90\n.address_size 64\n"
        ".visible .func f(.param .u64 p_x, .param .u64 p_y, .param .u32 p_n) .abi_preserve 1\n{\n"
        "  .reg .b64 %rd<8>;\n  .reg .b32 %r<8>;\n"
        "  ld.param.u64 %rd1, [p_x];\n  ld.param.u64 %rd2, [p_y];\n  ld.param.u32 %r1, [p_n];\n"
        "  cvta.to.global.u64 %rd1, %rd1;\n  cvta.to.global.u64 %rd2, %rd2;\n"
        "  ld.global.u32 %r2, [%rd2];\n  add.u32 %r2, %r2, %r1;\n  st.global.u32 [%rd1], %r2;\n  ret;\n}\n";
    char *ptx = s_wrapped_ptx (small, "f", 3);
    s_check_operands_reach (ptx, "f", 3);
    free (ptx);
    sf_matrix_t *a = sf_matrix_new_random (70, 300, 0.8, 9);
    sf_epilogue_t both = { true, true };
    sf_config_t cs[] = { s_config (16, 2, 32, 1, 0, 0, SF_REORDER_NNZ), s_config (32, 1, 64, 1, 0, 4, SF_REORDER_NNZ) };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        sf_panels_t *p = sf_panels_new (a, cs[i].panel_rows, cs[i].reorder);
        sf_emit_parts_t plan;
        sf_launch_t launch;
        sf_buf_t *entry = sf_buf_new (S_BUF), *mod = sf_buf_new (S_BUF);
        ck_assert_int_eq (sf_emit_u_parts_plan (a, p, &cs[i], 1000, &plan), SF_OK);
        ck_assert_int_eq (sf_emit_u_parts_entry (a, p, &cs[i], &both, &plan, entry, &launch), SF_OK);
        ck_assert_int_eq (sf_emit_u_parts_part (a, p, &cs[i], &both, &plan, plan.count - 1, mod), SF_OK);
        char name[SF_ENTRY_MAX + 16];
        snprintf (name, sizeof name, "%s_p%d", launch.entry, plan.count - 1);
        ptx = s_wrapped_ptx (sf_buf_data (mod), name, 4);
        s_check_operands_reach (ptx, name, 4);
        free (ptx);
        sf_buf_destroy (&entry);
        sf_buf_destroy (&mod);
        sf_panels_destroy (&p);
    }
    sf_matrix_destroy (&a);
}
END_TEST

/*  Compiles `c` on `a` in parts on `threads` threads: the launch is
    sf_emit_u_full's, the registers within the cap; returns the cubin. */
static void *
s_compile (const sf_matrix_t *a, const sf_config_t *c, const sf_epilogue_t *epi, int threads,
           int64_t part_fmas, size_t *size, sf_uparts_info_t *info)
{
    sf_panels_t *p = sf_panels_new (a, c->panel_rows, c->reorder);
    sf_buf_t *one = sf_buf_new (S_BUF);
    sf_launch_t l_one, l_parts;
    ck_assert_int_eq (sf_emit_u_full (a, p, c, epi, one, &l_one), SF_OK);
    sf_uparts_opts_t o = { .part_fmas = part_fmas, .threads = threads };
    void *cubin = NULL;
    sf_jit_stats_t st;
    int rc = sf_uparts_compile (a, p, c, epi, &o, &cubin, size, &l_parts, &st, info);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert_mem_eq (&l_one, &l_parts, sizeof l_one);
    ck_assert_int_gt (st.registers, 0);
    ck_assert_int_le (st.registers, c->max_regs);
    ck_assert_double_gt (st.cpu_seconds, 0.0);
    ck_assert_int_eq (st.cubin_bytes, (int64_t) *size);
    ck_assert_int_eq (info->threads, threads < info->parts ? threads : info->parts);
    /* the cubin holds the entry and every part */
    ck_assert_ptr_nonnull (memmem (cubin, *size, l_one.entry, strlen (l_one.entry)));
    char last[96];
    snprintf (last, sizeof last, "%s_p%d", l_one.entry, info->parts - 1);
    ck_assert_ptr_nonnull (memmem (cubin, *size, last, strlen (last)));
    sf_buf_destroy (&one);
    sf_panels_destroy (&p);
    return cubin;
}

START_TEST (test_parts_compile_and_link)
{
    sf_matrix_t *a = sf_matrix_new_random (70, 300, 0.8, 9);
    sf_epilogue_t both = { true, true }, none = { false, false };
    struct { sf_config_t c; const sf_epilogue_t *epi; } cases[] = {
        { s_config (8, 1, 64, 1, 0, 0, SF_REORDER_NONE), &none },
        { s_config (16, 4, 32, 2, 1, 0, SF_REORDER_SIMILARITY), &both },
        { s_config (32, 1, 64, 1, 0, 4, SF_REORDER_NNZ), &both },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t s1 = 0, s3 = 0;
        sf_uparts_info_t i1, i3;
        void *c1 = s_compile (a, &cases[i].c, cases[i].epi, 1, 1000, &s1, &i1);
        void *c3 = s_compile (a, &cases[i].c, cases[i].epi, 3, 1000, &s3, &i3);
        ck_assert_int_gt (i1.parts, 1);
        ck_assert_int_eq (i1.parts, i3.parts);
        /* the threads change when a part is compiled, not what comes out */
        ck_assert_uint_eq (s1, s3);
        ck_assert_mem_eq (c1, c3, s1);
        free (c1);
        free (c3);
    }
    sf_matrix_destroy (&a);
}
END_TEST

/*  The sim backend's answers do not depend on how full kernels are
    compiled: the same candidates, times and winner with the kernel in
    parts (SPMMFARM_U_EMIT=parts) and as one function (the default,
    unset SPMMFARM_U_EMIT). */
START_TEST (test_sim_search_same_answers)
{
    sf_matrix_t *a = sf_matrix_new_random (200, 300, 0.8, 21);   /* 12,000 nonzeros */
    ck_assert_int_ge (sf_matrix_nnz (a), SF_SEARCH_PARTS_MIN_FMAS);
    sf_search_opts_t o = { .strategy = SF_STRATEGY_PROXY, .backend = SF_BACKEND_SIM, .compile_threads = 2,
                           .max_configs = 2, .proxy_top = 1, .templates = SF_SEARCH_U, .seed = 1, .tol = 1e-5 };
    sf_search_result_t parts, one;
    setenv ("SPMMFARM_U_EMIT", "parts", 1);
    ck_assert_int_eq (sf_search_run (a, 512, &o, &parts), SF_OK);
    unsetenv ("SPMMFARM_U_EMIT");
    ck_assert_int_eq (sf_search_run (a, 512, &o, &one), SF_OK);
    unsetenv ("SPMMFARM_U_EMIT");
    ck_assert (parts.simulated && one.simulated);
    ck_assert_str_eq (parts.config, one.config);
    ck_assert_double_eq (parts.us, one.us);
    ck_assert_int_eq (parts.candidate_count, one.candidate_count);
    int full = 0;
    for (int i = 0; i < parts.candidate_count; i++) {
        const sf_candidate_t *x = &parts.candidates[i], *y = &one.candidates[i];
        ck_assert_int_eq (x->status, SF_OK);
        ck_assert_int_eq (x->proxy, y->proxy);
        ck_assert_double_eq (x->us, y->us);
        full += !x->proxy && x->config.tmpl == SF_TEMPLATE_U;
    }
    ck_assert_int_ge (full, 1);
    /* the winner's source is the kernel that was compiled: parts in one module */
    if (parts.tmpl == SF_TEMPLATE_U) {
        ck_assert_ptr_nonnull (strstr (parts.kernel.source, "call.uni "));
        ck_assert_ptr_null (strstr (one.kernel.source, "call.uni "));
        ck_assert_mem_eq (&parts.kernel.launch, &one.kernel.launch, sizeof parts.kernel.launch);
    }
    sf_search_result_free (&parts);
    sf_search_result_free (&one);
    sf_matrix_destroy (&a);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("uparts");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 600);
    tcase_add_test (tc, test_plan_cuts_whole_panels);
    tcase_add_test (tc, test_parts_code_is_the_kernels);
    tcase_add_test (tc, test_wrap_refuses_what_it_cannot_carry);
    tcase_add_test (tc, test_wrap_hands_parameters_to_the_body);
    tcase_add_test (tc, test_parts_compile_and_link);
    tcase_add_test (tc, test_sim_search_same_answers);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
