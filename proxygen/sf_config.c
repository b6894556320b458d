/*  sf_config: canonical text of configs. */
#include "proxygen/sf_config.h"

#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"

const char *
sf_template_name (sf_template tmpl)
{
    switch (tmpl) {
    case SF_TEMPLATE_U: return "U";
    case SF_TEMPLATE_D: return "D";
    case SF_TEMPLATE_DENSE: return "dense";
    case SF_TEMPLATE_T: return "T";
    }
    return "?";
}

char *
sf_config_text (const sf_config_t *c, char *buf)
{
    if (c->tmpl == SF_TEMPLATE_DENSE)
        snprintf (buf, SF_CONFIG_TEXT_MAX, "dense");
    else if (c->tmpl == SF_TEMPLATE_D)  /* no register cap: D is compiled from C */
        snprintf (buf, SF_CONFIG_TEXT_MAX, "D:r%d.v%d.t%d.g%d.o%d%s.%s%s", c->panel_rows, c->vec,
                  c->threads, c->groups, c->order, c->encoding == SF_D_UNION ? ".e1" : c->encoding == SF_D_SLAB ? ".e2" : "",
                  sf_reorder_name (c->reorder), c->nk ? ".nk" : "");
    else {
        char split[16] = "";
        if (c->ksplit > 1)
            snprintf (split, sizeof split, ".k%d", c->ksplit);
        snprintf (buf, SF_CONFIG_TEXT_MAX, "%s:r%d.v%d.t%d.g%d.o%d%s.m%d.%s", sf_template_name (c->tmpl),
                  c->panel_rows, c->vec, c->threads, c->groups, c->order, split, c->max_regs,
                  sf_reorder_name (c->reorder));
    }
    return buf;
}

static const char *
s_reorder_words (sf_reorder reorder)
{
    switch (reorder) {
    case SF_REORDER_NNZ: return "rows sorted by nonzeros";
    case SF_REORDER_SIMILARITY: return "rows clustered by similarity";
    default: return "rows in order";
    }
}

char *
sf_config_explain (const sf_config_t *c, char *buf, size_t size)
{
    const char *order = c->order ? "column-major launch order" : "panel-major launch order";
    const char *vec = c->vec == 4 ? "4 columns per thread (4-wide vectors)"
                    : c->vec == 2 ? "2 columns per thread (2-wide vectors)" : "1 column per thread";
    if (c->tmpl == SF_TEMPLATE_DENSE)
        snprintf (buf, size, "dense: a dense GEMM on the densified A (the tier's library or our tensor-core kernel)");
    else if (c->tmpl == SF_TEMPLATE_D && c->encoding == SF_D_SLAB)
        snprintf (buf, size, "D slab (A read from memory, %s staged in shared memory): %d-row blocks "
                  "of %d threads, %d column%s per thread, K split over a cluster of %d block%s, %s, %s",
                  c->nk ? "X's rows (nk layout)" : "B", c->panel_rows, c->threads, c->vec,
                  c->vec == 1 ? "" : "s", c->groups, c->groups == 1 ? "" : "s", order,
                  s_reorder_words (c->reorder));
    else if (c->tmpl == SF_TEMPLATE_D)
        snprintf (buf, size, "D (A read from memory%s): %d-row panels, %s, %d threads x %d panel%s "
                  "per block, %s, %s",
                  c->encoding == SF_D_UNION ? ", one B load per distinct column of a panel" : ", per-row runs",
                  c->panel_rows, vec, c->threads, c->groups, c->groups == 1 ? "" : "s", order,
                  s_reorder_words (c->reorder));
    else {
        char split[64] = "";
        if (c->ksplit > 1)
            snprintf (split, sizeof split, ", K split over %d thread groups", c->ksplit);
        snprintf (buf, size, "U (nonzeros compiled into the code): %d-row panels, %s, %d threads x %d "
                  "panel%s per block%s, %s, at most %d registers, %s",
                  c->panel_rows, vec, c->threads, c->groups, c->groups == 1 ? "" : "s", split, order,
                  c->max_regs, s_reorder_words (c->reorder));
    }
    return buf;
}

int
sf_config_parse (const char *text, sf_config_t *c)
{
    memset (c, 0, sizeof *c);
    /* the nk layout: ".nk" at the end, template D's slab kernel only */
    size_t len = strlen (text);
    if (len > 3 && len < SF_CONFIG_TEXT_MAX && strcmp (text + len - 3, ".nk") == 0) {
        char kn[SF_CONFIG_TEXT_MAX];
        memcpy (kn, text, len - 3);
        kn[len - 3] = '\0';
        int rc = sf_config_parse (kn, c);
        if (rc != SF_OK)
            return rc;
        if (c->nk)
            return sf_error_set (SF_ERR_FORMAT, "config '%s': '.nk' twice", text);
        if (c->tmpl != SF_TEMPLATE_D || c->encoding != SF_D_SLAB)
            return sf_error_set (SF_ERR_RANGE, "config '%s': only template D's slab kernel (.e2) has an nk form",
                                 text);
        c->nk = 1;
        return SF_OK;
    }
    if (strcmp (text, "dense") == 0) {
        c->tmpl = SF_TEMPLATE_DENSE;
        return SF_OK;
    }
    char tmpl[8], reorder[8];
    int r, v, t, g, o, mr = 0, e = SF_D_ROWS, ks = 0, used = 0;
    bool parsed = strncmp (text, "D:", 2) == 0
        ? sscanf (text, "%1[D]:r%d.v%d.t%d.g%d.o%d.e%d.%7[a-z]%n", tmpl, &r, &v, &t, &g, &o, &e,
                  reorder, &used) == 8
              ? e == SF_D_UNION || e == SF_D_SLAB  /* ".e0" is not canonical: the rows encoding has no ".e" */
              : (e = SF_D_ROWS, sscanf (text, "%1[D]:r%d.v%d.t%d.g%d.o%d.%7[a-z]%n", tmpl, &r, &v, &t,
                                        &g, &o, reorder, &used) == 7)
        : sscanf (text, "%1[U]:r%d.v%d.t%d.g%d.o%d.k%d.m%d.%7[a-z]%n", tmpl, &r, &v, &t, &g, &o, &ks,
                  &mr, reorder, &used) == 9
              ? ks == 2 || ks == 4 || ks == 8  /* ".k1" is not canonical: no split has no ".k" */
              : (ks = 0, sscanf (text, "%1[U]:r%d.v%d.t%d.g%d.o%d.m%d.%7[a-z]%n", tmpl, &r, &v, &t, &g,
                                 &o, &mr, reorder, &used) == 8);
    if (!parsed || text[used] != '\0')
        return sf_error_set (SF_ERR_FORMAT, "config '%s' is not of the form U:r32.v4.t64.g1.o0.m128.sim, "
                             "U:r32.v1.t64.g1.o0.k4.m72.sim, D:r4.v4.t128.g1.o0.nnz or "
                             "D:r4.v4.t128.g1.o0.e1.nnz", text);
    int ro = sf_reorder_parse (reorder);
    if (ro < 0)
        return sf_error_set (SF_ERR_FORMAT, "config '%s': unknown reordering '%s'", text, reorder);
    if (r < 1 || r > 1024 || (v != 1 && v != 2 && v != 4) || t < 32 || t > 1024 || t % 32
        || g < 1 || (e == SF_D_SLAB ? g > 8 : g * t > 1024)  /* slab: g is the cluster, at most 8 */
        || (o != 0 && o != 1) || (tmpl[0] == 'U' && (mr < 24 || mr > 255))
        || (ks && (g != 1 || t * ks > 1024)))  /* a split block is one panel's k groups */
        return sf_error_set (SF_ERR_RANGE, "config '%s': a knob is out of range", text);
    *c = (sf_config_t) { tmpl[0] == 'U' ? SF_TEMPLATE_U : SF_TEMPLATE_D, r, v, t, g, o, mr,
                         (sf_reorder) ro, e, ks, 0 };
    return SF_OK;
}

int32_t
sf_config_cols_per_block (const sf_config_t *c)
{
    /* the slab kernel: one warp's columns, its warps on different rows */
    if (c->tmpl == SF_TEMPLATE_D && c->encoding == SF_D_SLAB)
        return 32 * c->vec;
    return c->threads * c->vec;
}

int32_t
sf_config_block_threads (const sf_config_t *c)
{
    if (c->tmpl == SF_TEMPLATE_D && c->encoding == SF_D_SLAB)
        return c->threads;
    return c->threads * c->groups * sf_config_ksplit (c);
}

int32_t
sf_config_ksplit (const sf_config_t *c)
{
    return c->tmpl == SF_TEMPLATE_U && c->ksplit > 1 ? c->ksplit : 1;
}

int64_t
sf_config_blocks (const sf_config_t *c, int64_t m, int64_t n)
{
    int64_t panels = (m + c->panel_rows - 1) / c->panel_rows;
    /* the slab kernel: g blocks (a cluster) per panel, each a part of K */
    int64_t groups = c->tmpl == SF_TEMPLATE_D && c->encoding == SF_D_SLAB
        ? panels * c->groups : (panels + c->groups - 1) / c->groups;
    int64_t cols = sf_config_cols_per_block (c);
    return groups * ((n + cols - 1) / cols);
}

char *
sf_config_explain_text (const char *text, sf_template tmpl, char *buf, size_t size)
{
    sf_config_t c;
    memset (&c, 0, sizeof c);
    c.tmpl = SF_TEMPLATE_DENSE;
    if (tmpl != SF_TEMPLATE_DENSE && sf_config_parse (text, &c) != SF_OK) {
        snprintf (buf, size, "%s", text);
        return buf;
    }
    return sf_config_explain (&c, buf, size);
}
