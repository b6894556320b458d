/*  sf_export: bundles from the store's best records (docs/BUNDLES.md). */
#include "store/sf_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_sign.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_tcdense.h"
#include "proxygen/sf_tencode.h"
#include "proxygen/sf_tkernel.h"
#include "store/sf_storekernel.h"

#define S_LOG "export"
#define S_LIST_MAX 512          /* the layer names listed in one refusal */
#define S_PREFIXED_LAYER_MAX 40 /* a prefixed name keeps this much of the layer's */

/* ---- one layer --------------------------------------------------------------- */

/*  Whether a D kernel's stored encoding is the layer's matrix encoded for
    the config (the encoding is a function of both): a store written
    before session 13 kept one kernel record for the layers of one shape
    and config, so a best could point at another layer's encoding. */
static int
s_d_matches (const sf_export_layer_t *in, const sf_config_t *config, const sf_store_kernel_t *k)
{
    sf_panels_t *panels = sf_panels_new (in->matrix, config->panel_rows, config->reorder);
    if (!panels)
        return sf_error_last ();
    void *data = NULL;
    size_t size = 0;
    int rc = sf_dkernel_encode (config, in->matrix, panels, &data, &size);
    if (rc == SF_OK && (!k->data || size != k->data_size || memcmp (data, k->data, size) != 0))
        rc = sf_error_set (SF_ERR_FORMAT, "its D encoding is not the layer's matrix (a store written before "
                           "session 13 shared one kernel record among the layers of one shape and config): "
                           "tune the layer again");
    free (data);
    sf_panels_destroy (&panels);
    return rc;
}

/*  A stored kernel as a bundle layer's (borrowed); a record without a
    source gets "" (a bundle requires one). */
static void
s_kernel_view (const sf_store_kernel_t *k, sf_kernel_t *out)
{
    sf_storekernel_view (k, out);
    if (!out->source) {
        out->source = (char *) "";
        out->source_size = 0;
    }
}

/*  A U or D winner: its stored kernel as the bundle layer's files and launch. */
static int
s_kernel_layer (const sf_export_layer_t *in, const sf_config_t *config, sf_bundle_layer_t *l)
{
    const sf_store_kernel_t *k = in->kernel;
    if (!k)
        return sf_error_set (SF_ERR_INVALID, "a %s layer needs its kernel", sf_template_name (config->tmpl));
    if (k->tmpl != config->tmpl)
        return sf_error_set (SF_ERR_FORMAT, "the kernel is template %s, the config %s",
                             sf_template_name (k->tmpl), in->config);
    l->tmpl = sf_template_name (config->tmpl);
    s_kernel_view (k, &l->kernel);
    /* reordered rows are written back to their place by the kernel itself */
    l->permuted = config->reorder != SF_REORDER_NONE;
    l->source_ext = config->tmpl == SF_TEMPLATE_D ? "cu" : "ptx";
    if (config->tmpl == SF_TEMPLATE_D)
        return s_d_matches (in, config, k);
    return SF_OK;
}

/*  Whether the T encoding holds exactly `a` rounded to the tier: every
    stored value where A has it, no other nonzero. */
static int
s_t_matches (const sf_matrix_t *a, sf_tier tier, const uint16_t *dense)
{
    int64_t k = sf_matrix_cols (a), want = 0, got = 0;
    const int32_t *rp = sf_matrix_row_ptr (a), *ci = sf_matrix_col_idx (a);
    const float *v = sf_matrix_values (a);
    for (int32_t r = 0; r < sf_matrix_rows (a); r++)
        for (int32_t q = rp[r]; q < rp[r + 1]; q++) {
            uint16_t h = tier == SF_TIER_FP16 ? sf_tier_to_fp16 (v[q]) : sf_tier_to_bf16 (v[q]);
            if (dense[(int64_t) r * k + ci[q]] != h)
                return sf_error_set (SF_ERR_FORMAT, "its T encoding is not the layer's matrix (row %d, "
                                     "column %d)", (int) r, (int) ci[q]);
            want += (h & 0x7fffu) != 0;
        }
    for (int64_t i = 0; i < (int64_t) sf_matrix_rows (a) * k; i++)
        got += (dense[i] & 0x7fffu) != 0;
    return got == want ? SF_OK
                       : sf_error_set (SF_ERR_FORMAT, "its T encoding holds %lld nonzeros, the layer's "
                                       "matrix %lld", (long long) got, (long long) want);
}

/*  A template T winner (bf16/fp16, kn or nk, sm_90): its stored kernel, the
    encoding checked as the kernel reads it (sf_tencode_decode) and against
    the layer's matrix, the launch recomputed from the config and the
    encoding (the stored one must agree). */
static int
s_t_layer (const sf_export_layer_t *in, const sf_tconfig_t *tc, sf_bundle_layer_t *l)
{
    const sf_store_kernel_t *k = in->kernel;
    if (!k || !k->cubin || !k->data)
        return sf_error_set (SF_ERR_INVALID, "a T layer needs its kernel and encoding");
    if (k->tmpl != SF_TEMPLATE_T || strcmp (k->config, in->config) != 0)
        return sf_error_set (SF_ERR_FORMAT, "the kernel is %s, the winner %s", k->config, in->config);
    if (in->tier != SF_TIER_BF16 && in->tier != SF_TIER_FP16)
        return sf_error_set (SF_ERR_FORMAT, "a template T winner in %s (T is bf16 and fp16 only)",
                             sf_tier_name (in->tier));
    if (in->arch && strcmp (in->arch, "sm_90") != 0)
        return sf_error_set (SF_ERR_UNSUPPORTED, "template T kernels are built for sm_90 only, not %s",
                             in->arch);
    int64_t m = sf_matrix_rows (in->matrix), kk = sf_matrix_cols (in->matrix);
    sf_tencode_info_t info;
    uint16_t *dense = malloc ((size_t) (m * kk) * sizeof *dense);
    if (!dense)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the %lld x %lld check of the T encoding",
                             (long long) m, (long long) kk);
    int rc = sf_tencode_decode (k->data, k->data_size, dense, &info);
    if (rc == SF_OK && (info.m != m || info.k != kk || info.tier != in->tier))
        rc = sf_error_set (SF_ERR_FORMAT, "its T encoding is %lld x %lld in %s, the layer %lld x %lld in %s",
                           (long long) info.m, (long long) info.k, sf_tier_name (info.tier), (long long) m,
                           (long long) kk, sf_tier_name (in->tier));
    if (rc == SF_OK)
        rc = s_t_matches (in->matrix, in->tier, dense);
    free (dense);
    sf_launch_t launch;
    sf_epilogue_t epi = { in->bias, in->relu };
    sf_buf_t *src = rc == SF_OK ? sf_buf_new (64 << 10) : NULL;
    if (rc == SF_OK && !src)
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        rc = sf_tkernel_source (tc, in->tier, in->layout, &epi, src, &launch);
    sf_buf_destroy (&src);
    if (rc == SF_OK)
        rc = sf_tkernel_launch_for (tc, k->data, k->data_size, &launch);
    if (rc == SF_OK && (strcmp (launch.entry, k->launch.entry) != 0 || launch.shared_bytes != k->launch.shared_bytes
                        || launch.panel_groups != k->launch.panel_groups))
        rc = sf_error_set (SF_ERR_FORMAT, "the stored launch of %s (%s) is not its config's (%s)", in->config,
                           k->launch.entry, launch.entry);
    if (rc != SF_OK)
        return rc;
    l->tmpl = "T";
    s_kernel_view (k, &l->kernel);
    l->kernel.launch = launch;   /* the config's geometry; its entry is the stored one (checked equal) */
    l->permuted = false;
    l->source_ext = "cu";
    return SF_OK;
}

/*  A dense winner (docs/DECISIONS.md "Dense winners"): our tensor-core
    dense kernel for the layer (proxygen/sf_tcdense: 3xTF32 in fp32, TF32,
    bf16 or fp16 mma in the other tiers), the config the search measured
    fastest (else the one it would try first at the tuned N), built exactly
    as the search measured it: A as sf_tcdense_pack's data (split into
    TF32 hi and lo parts in fp32, rounded in tf32, padded; "split A"), the
    config's own entry. Bundles before session 15 held A plain (M x K in
    the tier's type) and a plain-A kernel ("sf_dense"), which splits A in
    registers and ran up to 1.4x slower than what the search measured
    (docs/DECISIONS.md "Split A in bundles"); readers tell the two data
    formats apart by size (sf_bundle_dense_matrix). An architecture other
    than sm_90 (cluster launches, the kernels' target) gets the generic
    SIMT kernel of sf_bundle_dense_kernel, fp32 kn only, on plain A. */
static int
s_dense_layer (const sf_export_layer_t *in, sf_bundle_layer_t *l, void **cubin, char **source,
               float **dense)
{
    int64_t m = sf_matrix_rows (in->matrix), k = sf_matrix_cols (in->matrix);
    size_t bytes = (size_t) m * (size_t) k * sizeof (float);
    bool sm90 = !in->arch || strcmp (in->arch, "sm_90") == 0;
    if (in->layout != SF_LAYOUT_KN && !sm90)
        return sf_error_set (SF_ERR_UNSUPPORTED, "a dense winner in layout %s for %s: the generic dense kernel of "
                             "other architectures is kn only", sf_layout_name (in->layout), in->arch);
    if (!sm90 && in->tier != SF_TIER_FP32)
        return sf_error_set (SF_ERR_UNSUPPORTED, "a dense winner in %s for %s: the generic dense kernel of other "
                             "architectures is fp32 only", sf_tier_name (in->tier), in->arch);
    if (!sm90) {  /* the generic kernel: A plain, fp32 (checked above) */
        if (!(*dense = malloc (bytes)))
            return sf_error_set (SF_ERR_NOMEM, "out of memory for the %lld x %lld dense A", (long long) m,
                                 (long long) k);
        sf_matrix_densify (in->matrix, *dense);
        l->kernel.data = *dense;
        l->kernel.data_size = bytes;
        return sf_bundle_dense_kernel (m, k, in->bias, in->relu, in->arch, l, cubin, source);
    }
    void *packed = NULL;
    size_t packed_size = 0;
    int rc = sf_tcdense_pack (in->tier, in->matrix, &packed, &packed_size);
    if (rc != SF_OK)
        return rc;
    *dense = packed;  /* freed by the caller */
    l->kernel.data = packed;
    l->kernel.data_size = packed_size;
    sf_tcdense_config_t c;
    /* the measured fastest of ours, when the store says which and it is a
       kernel of this tier and layout; else the first config the search
       offers (nk: X (N x K) in, Y (N x M) out; wgmma from N = 24, as in kn) */
    if (!in->dense_config || !in->dense_config[0] || sf_tcdense_parse (in->dense_config, &c) != SF_OK
        || c.tier != in->tier || (c.nk != 0) != (in->layout == SF_LAYOUT_NK)) {
        if (in->dense_config && in->dense_config[0])
            sf_log_warn (S_LOG, "dense layer %s: '%s' is not a %s %s dense kernel: the first offered instead",
                         in->name ? in->name : "?", in->dense_config, sf_tier_name (in->tier),
                         sf_layout_name (in->layout));
        sf_error_clear ();
        sf_tcdense_configs_layout (in->tier, in->layout, m, k, in->n > 0 ? in->n : 512, 0, &c, 1);
    }
    c.plain = 0;  /* split A, as measured */
    sf_epilogue_t epi = { in->bias, in->relu };
    sf_launch_t launch;
    sf_jit_stats_t stats;
    size_t size = 0;
    bool cached;
    rc = sf_tcdense_compile (&c, &epi, m, k, cubin, &size, source, &launch, &stats, &cached);
    if (rc != SF_OK)
        return rc;
    sf_log_info (S_LOG, "dense layer %s: %s", in->name ? in->name : "?", sf_tcdense_text (&c, (char[SF_TCDENSE_TEXT_MAX]) { 0 }));
    l->tmpl = "dense";
    l->config = "dense";
    l->kernel.launch = launch;  /* the config's own entry, as measured */
    l->permuted = false;
    l->kernel.cubin = *cubin;
    l->kernel.cubin_size = size;
    l->kernel.source = *source;
    l->kernel.source_size = 0;
    l->source_ext = "cu";
    return SF_OK;
}

int
sf_export_add_layer (sf_bundle_t *bundle, const sf_export_layer_t *in)
{
    sf_config_t config;
    sf_bundle_layer_t l = { 0 };
    void *cubin = NULL;
    char *source = NULL;
    float *dense = NULL;
    char canonical[SF_CONFIG_TEXT_MAX > SF_TCONFIG_TEXT_MAX ? SF_CONFIG_TEXT_MAX : SF_TCONFIG_TEXT_MAX];
    sf_tconfig_t tc;
    bool is_t = strncmp (in->config, "T:", 2) == 0;
    int rc = is_t ? sf_tconfig_parse (in->config, &tc) : sf_config_parse (in->config, &config);
    if (rc == SF_OK && is_t)
        rc = s_t_layer (in, &tc, &l);
    else if (rc == SF_OK)
        rc = config.tmpl == SF_TEMPLATE_DENSE ? s_dense_layer (in, &l, &cubin, &source, &dense)
                                              : s_kernel_layer (in, &config, &l);
    if (rc == SF_OK) {
        l.name = in->name;
        l.m = sf_matrix_rows (in->matrix);
        l.k = sf_matrix_cols (in->matrix);
        l.n = in->n;
        l.matrix_hash = sf_matrix_hash (in->matrix);
        l.config = is_t                               ? sf_tconfig_text (&tc, canonical)
                   : config.tmpl == SF_TEMPLATE_DENSE ? "dense"
                                                      : sf_config_text (&config, canonical);
        l.bias = in->bias;
        l.relu = in->relu;
        l.tier = in->tier;
        l.layout = in->layout;
        /* a simulated kernel never ran: its "error" is not a verification */
        l.verified_error = in->simulated ? NAN : in->err;
        l.time_us = in->us;
        l.library_us = in->library_us;
        l.simulated = in->simulated;
        rc = sf_bundle_add_layer (bundle, &l);
    }
    free (cubin);
    free (source);
    free (dense);
    if (rc != SF_OK)
        sf_error_prefix ("layer %s: ", in->name ? in->name : "?");
    return rc;
}

/* ---- names and GPU types ----------------------------------------------------- */

static bool
s_name_char (char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
        || c == '.' || c == '-';
}

bool
sf_export_layer_name (const char *text, char *out)
{
    size_t len = 0;
    bool changed = false;
    for (const char *p = text; *p; p++) {
        if (len == SF_EXPORT_NAME_MAX - 1) {
            changed = true;
            break;
        }
        bool ok = s_name_char (*p) && !(len == 0 && *p == '.');
        out[len++] = ok ? *p : '_';
        changed |= !ok;
    }
    out[len] = '\0';
    if (len == 0) {
        snprintf (out, SF_EXPORT_NAME_MAX, "layer");
        changed = true;
    }
    return changed;
}

int
sf_export_gpu_cc (const char *gpu_type, int *cc_major, int *cc_minor)
{
    /* NAME/sm_XY/Nsm: NAME has no '/' (sf_cudadrv_gpu_type), so sm_XY is
       between the last two */
    const char *last = strrchr (gpu_type, '/');
    const char *mid = last;
    while (mid && mid > gpu_type && mid[-1] != '/')
        mid--;
    char arch[16];
    /* a name before, an SM count after */
    size_t len = mid && mid - 1 > gpu_type && last[1] ? (size_t) (last - mid) : 0;
    if (len > 0 && len < sizeof arch) {
        memcpy (arch, mid, len);
        arch[len] = '\0';
        if (sf_bundle_parse_arch (arch, cc_major, cc_minor))
            return SF_OK;
    }
    if (strcmp (gpu_type, SF_CUDADRV_SIM_GPU_TYPE) == 0) {
        *cc_major = SF_CUDADRV_SIM_CC_MAJOR;
        *cc_minor = SF_CUDADRV_SIM_CC_MINOR;
        return SF_OK;
    }
    return sf_error_set (SF_ERR_INVALID, "GPU type '%s' names no compute capability (NAME/sm_XY/Nsm)",
                         gpu_type);
}

/* ---- the plan: what goes into the bundle --------------------------------------- */

typedef struct {
    uint32_t campaign;                /* index into the plan's campaigns */
    uint32_t layer;                   /* index into its layers */
    sf_store_best_t best;
    char base[SF_EXPORT_NAME_MAX];    /* the layer's name as a bundle name */
    char name[SF_EXPORT_NAME_MAX];    /* its name in the bundle */
} s_item_t;

typedef struct {
    sf_store_t *store;
    const sf_export_opts_t *opts;
    sf_export_report_t *report;
    sf_store_campaign_t *campaigns;
    uint32_t campaign_count;
    s_item_t *items;
    uint32_t item_count;
} s_plan_t;

static void
s_plan_free (s_plan_t *p)
{
    for (uint32_t i = 0; i < p->campaign_count; i++)
        sf_record_campaign_free (&p->campaigns[i]);
    free (p->campaigns);
    free (p->items);
}

/*  Appends name to a list "a, b, c" in buf, or "..." once it is full. */
static void
s_list_add (char *buf, size_t size, const char *name)
{
    size_t used = strlen (buf);
    if (used >= size - 5 || strstr (buf, "..."))
        return;
    int n = snprintf (buf + used, size - used, "%s%s", used ? ", " : "", name);
    if (n < 0 || (size_t) n >= size - used)
        snprintf (buf + (used < size - 5 ? used : size - 5), 5, "...");
}

/*  The campaign's GPU type against the plan's and the options'. */
static int
s_check_gpu_type (s_plan_t *p, const sf_store_campaign_t *c)
{
    sf_export_report_t *r = p->report;
    if (!c->gpu_type[0])
        return sf_error_set (SF_ERR_INVALID, "campaign %llu (%s) has no GPU type yet: none of its "
                             "jobs has run", (unsigned long long) c->id, c->name);
    if (p->opts->has_tier && c->search.tier != p->opts->tier)
        return sf_error_set (SF_ERR_INVALID, "campaign %llu (%s) was tuned in %s, not %s",
                             (unsigned long long) c->id, c->name, sf_tier_name (c->search.tier),
                             sf_tier_name (p->opts->tier));
    if (p->opts->gpu_type && strcmp (p->opts->gpu_type, c->gpu_type) != 0)
        return sf_error_set (SF_ERR_INVALID, "campaign %llu (%s) was tuned on %s, not %s",
                             (unsigned long long) c->id, c->name, c->gpu_type, p->opts->gpu_type);
    if (r->gpu_type[0] && strcmp (r->gpu_type, c->gpu_type) != 0)
        return sf_error_set (SF_ERR_INVALID, "campaign %llu (%s) was tuned on %s, campaign %llu on %s: "
                             "a bundle is for one GPU type", (unsigned long long) c->id, c->name,
                             c->gpu_type, (unsigned long long) r->first_campaign, r->gpu_type);
    if (!r->gpu_type[0]) {
        int rc = sf_export_gpu_cc (c->gpu_type, &r->cc_major, &r->cc_minor);
        if (rc != SF_OK)
            return rc;
        snprintf (r->gpu_type, sizeof r->gpu_type, "%s", c->gpu_type);
        r->first_campaign = c->id;
    }
    return SF_OK;
}

/*  The campaign and its layers' best records into the plan; refused when a
    layer has no best (naming them). */
static int
s_plan_campaign (s_plan_t *p, uint64_t id)
{
    sf_store_campaign_t *grown = realloc (p->campaigns, (p->campaign_count + 1) * sizeof *grown);
    if (!grown)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    p->campaigns = grown;
    sf_store_campaign_t *c = &p->campaigns[p->campaign_count];
    memset (c, 0, sizeof *c);
    int rc = sf_store_get_campaign (p->store, id, c);
    if (rc != SF_OK)
        return rc;
    p->campaign_count++;
    if ((rc = s_check_gpu_type (p, c)) != SF_OK)
        return rc;
    if (p->item_count + c->layer_count > SF_MANIFEST_MAX_LAYERS)
        return sf_error_set (SF_ERR_RANGE, "more than %d layers: a bundle holds at most that many",
                             SF_MANIFEST_MAX_LAYERS);
    s_item_t *items = realloc (p->items, (p->item_count + c->layer_count + 1) * sizeof *items);
    if (!items)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    p->items = items;
    char missing[S_LIST_MAX] = "";
    uint32_t missing_count = 0;
    for (uint32_t i = 0; i < c->layer_count; i++) {
        s_item_t *it = &p->items[p->item_count];
        memset (it, 0, sizeof *it);
        rc = sf_store_get_best (p->store, id, i, &it->best);
        if (rc == SF_ERR_NOTFOUND) {
            s_list_add (missing, sizeof missing, c->layers[i].name);
            missing_count++;
            continue;
        }
        if (rc != SF_OK)
            return rc;
        it->campaign = p->campaign_count - 1;
        it->layer = i;
        p->item_count++;
    }
    if (missing_count)
        return sf_error_set (SF_ERR_INVALID, "campaign %llu (%s, %s): %u of its %u layers have no best "
                             "(not tuned yet, or their jobs failed): %s", (unsigned long long) id, c->name,
                             sf_record_campaign_state_name (c->state), missing_count, c->layer_count, missing);
    if (c->layer_count == 0)
        return sf_error_set (SF_ERR_INVALID, "campaign %llu (%s) has no layers", (unsigned long long) id,
                             c->name);
    return SF_OK;
}

/*  What every winner needs from the store is there, and simulated winners
    are allowed. */
static int
s_plan_check (s_plan_t *p)
{
    char simulated[S_LIST_MAX] = "";
    uint32_t simulated_count = 0;
    for (uint32_t i = 0; i < p->item_count; i++) {
        const s_item_t *it = &p->items[i];
        const sf_store_campaign_t *c = &p->campaigns[it->campaign];
        const sf_store_layer_t *l = &c->layers[it->layer];
        if (it->best.simulated) {
            s_list_add (simulated, sizeof simulated, l->name);
            simulated_count++;
        }
        if (!sf_store_has_matrix (p->store, l->matrix))
            return sf_error_set (SF_ERR_NOTFOUND, "campaign %llu, layer %s: its matrix is not in the store",
                                 (unsigned long long) c->id, l->name);
        if (it->best.tmpl == SF_TEMPLATE_DENSE)
            continue;
        if (!it->best.has_kernel || !sf_store_has_kernel (p->store, it->best.kernel))
            return sf_error_set (SF_ERR_NOTFOUND, "campaign %llu, layer %s: the kernel of its winner %s is "
                                 "not in the store", (unsigned long long) c->id, l->name, it->best.config);
    }
    if (simulated_count && simulated_count != p->item_count)
        return sf_error_set (SF_ERR_INVALID, "%u layers have simulated winners, %u measured ones: "
                             "they never share a bundle", simulated_count, p->item_count - simulated_count);
    if (simulated_count && !p->opts->allow_simulated)
        return sf_error_set (SF_ERR_INVALID, "the winners of %u layers are SIMULATED (sim backend: no GPU "
                             "ran them): %s; allow simulated winners (export --allow-simulated) for a "
                             "bundle marked simulated", simulated_count, simulated);
    p->report->simulated = simulated_count > 0;
    return SF_OK;
}

/*  "CAMPAIGN[-ID].LAYER" within 63 characters: the layer's name cut to 40,
    the campaign's to what is left. */
static void
s_prefixed (const char *campaign, const char *suffix, const char *base, char *out)
{
    int keep = (int) strnlen (base, S_PREFIXED_LAYER_MAX);
    int room = SF_EXPORT_NAME_MAX - 2 - keep - (int) strlen (suffix);
    snprintf (out, SF_EXPORT_NAME_MAX, "%.*s%s.%.*s", room, campaign, suffix, keep, base);
}

/*  True if item i's bundle name (or base name) equals that of an item of
    another campaign. */
static bool
s_clashes (const s_plan_t *p, uint32_t i, bool base)
{
    const s_item_t *a = &p->items[i];
    for (uint32_t j = 0; j < p->item_count; j++) {
        const s_item_t *b = &p->items[j];
        if (b->campaign != a->campaign && strcmp (base ? a->base : a->name, base ? b->base : b->name) == 0)
            return true;
    }
    return false;
}

/*  Bundle names: the layer's own (as a bundle name); a name that several
    campaigns use is prefixed with the campaign's name, or with its name and
    id where the names clash too. Names left equal are refused. */
static int
s_plan_names (s_plan_t *p)
{
    for (uint32_t i = 0; i < p->item_count; i++) {
        s_item_t *it = &p->items[i];
        sf_export_layer_name (p->campaigns[it->campaign].layers[it->layer].name, it->base);
        snprintf (it->name, sizeof it->name, "%s", it->base);
    }
    bool *clash = calloc (p->item_count + 1, sizeof *clash);
    if (!clash)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < p->item_count; i++)
        clash[i] = s_clashes (p, i, true);
    /* pass 0: clashing names get the campaign's name; pass 1: those that
       still clash (campaigns of one name) get its id too */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; pass == 1 && i < p->item_count; i++)
            clash[i] = clash[i] && s_clashes (p, i, false);
        for (uint32_t i = 0; i < p->item_count; i++) {
            s_item_t *it = &p->items[i];
            const sf_store_campaign_t *c = &p->campaigns[it->campaign];
            if (!clash[i])
                continue;
            char campaign[SF_EXPORT_NAME_MAX], suffix[24] = "";
            sf_export_layer_name (c->name, campaign);
            if (pass == 1)
                snprintf (suffix, sizeof suffix, "-%llu", (unsigned long long) c->id);
            s_prefixed (campaign, suffix, it->base, it->name);
        }
    }
    free (clash);
    for (uint32_t i = 0; i < p->item_count; i++) {
        const s_item_t *a = &p->items[i];
        const sf_store_campaign_t *ca = &p->campaigns[a->campaign];
        p->report->renamed += strcmp (a->name, ca->layers[a->layer].name) != 0;
        for (uint32_t j = i + 1; j < p->item_count; j++) {
            const s_item_t *b = &p->items[j];
            const sf_store_campaign_t *cb = &p->campaigns[b->campaign];
            if (strcmp (a->name, b->name) == 0)
                return sf_error_set (SF_ERR_EXISTS, "campaign %llu's layer '%s' and campaign %llu's "
                                     "layer '%s' would both be '%s' in the bundle",
                                     (unsigned long long) ca->id, ca->layers[a->layer].name,
                                     (unsigned long long) cb->id, cb->layers[b->layer].name, a->name);
        }
    }
    return SF_OK;
}

/* ---- building and writing ------------------------------------------------------ */

/*  The driver version to stamp: the winners' (one version), "mixed", or
    "unknown" when the store does not say. */
static const char *
s_driver (const s_plan_t *p)
{
    const char *driver = NULL;
    for (uint32_t i = 0; i < p->item_count; i++) {
        const char *d = p->items[i].best.driver;
        if (!d[0])
            continue;
        if (driver && strcmp (driver, d) != 0)
            return "mixed";
        driver = d;
    }
    return driver ? driver : p->report->simulated ? "sim" : "unknown";
}

/*  The tier's dense library in a best record: SGEMM (fp32), cuBLAS TF32,
    cuBLASLt in the 16-bit type; NaN when not measured. */
static double
s_library_us (const sf_store_best_t *b, sf_tier tier)
{
    return tier == SF_TIER_FP32 ? b->sgemm_us : tier == SF_TIER_TF32 ? b->tf32_us : b->blas16_us;
}

/*  The fastest of our dense kernels measured for a layer (the worker sends
    each as a "dense" candidate under its sf_tcdense_text): verified, in the
    campaign's tier, layout and L2 mode at the layer's N. */
typedef struct {
    sf_tier tier;
    sf_layout layout;
    bool l2_cold;           /* the campaign's L2 at this layer's N: the other mode's times are not its */
    double us;
    char config[SF_TCDENSE_TEXT_MAX];
} s_own_dense_t;

static int
s_own_dense_each (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *v)
{
    s_own_dense_t *o = arg;
    sf_tcdense_config_t c;
    if (key->tmpl != SF_TEMPLATE_DENSE || key->proxy || key->tier != o->tier || key->layout != o->layout
        || key->l2_cold != o->l2_cold || v->status != SF_OK || !(v->us > 0) || !isfinite (v->us) || !isfinite (v->err)
        || strlen (key->config) >= sizeof o->config || sf_tcdense_parse (key->config, &c) != SF_OK
        || c.tier != o->tier || (c.nk != 0) != (o->layout == SF_LAYOUT_NK)) {
        sf_error_clear ();
        return 0;
    }
    if (v->us < o->us) {
        o->us = v->us;
        snprintf (o->config, sizeof o->config, "%s", key->config);
    }
    return 0;
}

static int
s_build_layer (const s_plan_t *p, const s_item_t *it, const char *arch, sf_bundle_t *bundle)
{
    const sf_store_campaign_t *c = &p->campaigns[it->campaign];
    const sf_store_layer_t *l = &c->layers[it->layer];
    sf_matrix_t *a = NULL;
    sf_store_kernel_t kernel = { 0 };
    int rc = sf_store_get_matrix (p->store, l->matrix, &a);
    if (rc == SF_OK && it->best.tmpl != SF_TEMPLATE_DENSE) {
        rc = sf_store_get_kernel (p->store, it->best.kernel, &kernel);
        if (rc == SF_OK && (kernel.tmpl != it->best.tmpl || strcmp (kernel.config, it->best.config) != 0))
            rc = sf_error_set (SF_ERR_FORMAT, "the stored kernel is %s, the winner %s", kernel.config,
                               it->best.config);
    }
    s_own_dense_t own = { c->search.tier, c->search.layout, sf_record_search_l2_cold (&c->search, l->n), INFINITY, "" };
    if (rc == SF_OK && it->best.tmpl == SF_TEMPLATE_DENSE
        && sf_store_each_result (p->store, c->gpu_type, l->matrix, l->n, s_own_dense_each, &own) != SF_OK) {
        sf_log_warn (S_LOG, "layer %s: the dense candidates' results: %s", it->name, sf_error_message ());
        sf_error_clear ();  /* the first offered config instead */
        own.config[0] = 0;
    }
    if (rc == SF_OK) {
        sf_export_layer_t in = {
            .dense_config = own.config,
            .name = it->name, .matrix = a, .n = l->n, .bias = l->bias, .relu = l->relu,
            .tier = c->search.tier, .layout = c->search.layout, .config = it->best.config, .kernel = it->best.tmpl == SF_TEMPLATE_DENSE ? NULL : &kernel,
            .arch = arch, .err = it->best.err, .us = it->best.us, .simulated = it->best.simulated,
            .library_us = s_library_us (&it->best, c->search.tier),
        };
        rc = sf_export_add_layer (bundle, &in);
    }
    if (rc == SF_OK && it->best.tmpl == SF_TEMPLATE_DENSE)
        p->report->dense++;
    if (rc != SF_OK)
        sf_error_prefix ("campaign %llu (%s): ", (unsigned long long) c->id, c->name);
    sf_record_kernel_free (&kernel);
    sf_matrix_destroy (&a);
    return rc;
}

/*  The latest rank model of the GPU type, if any, as model.json. */
static int
s_build_model (const s_plan_t *p, sf_bundle_t *bundle)
{
    sf_store_model_t model = { 0 };
    int rc = sf_store_get_model (p->store, p->report->gpu_type, 0, &model);
    if (rc == SF_ERR_NOTFOUND) {
        sf_error_clear ();
        return SF_OK;
    }
    if (rc == SF_OK && model.xgboost_size > 0) {
        rc = sf_bundle_set_model (bundle, model.xgboost_json, model.xgboost_size);
        if (rc == SF_OK)
            p->report->model_version = model.version;
    }
    sf_record_model_free (&model);
    return rc;
}

static int
s_plan_write (s_plan_t *p, const char *dir)
{
    int rc = s_plan_check (p);
    if (rc == SF_OK)
        rc = s_plan_names (p);
    if (rc != SF_OK)
        return rc;
    sf_export_report_t *r = p->report;
    char arch[16];
    snprintf (arch, sizeof arch, "sm_%d%d", r->cc_major, r->cc_minor);
    sf_bundle_t *bundle = sf_bundle_new (r->gpu_type, r->cc_major, r->cc_minor, sf_jit_version (),
                                         s_driver (p));
    rc = bundle ? SF_OK : sf_error_last ();
    for (uint32_t i = 0; rc == SF_OK && i < p->item_count; i++) {
        rc = s_build_layer (p, &p->items[i], arch, bundle);
        if (rc == SF_OK)
            r->layers++;
    }
    if (rc == SF_OK)
        rc = s_build_model (p, bundle);
    /* signed with the store's key (made by its first writer) */
    sf_sign_key_t key;
    if (rc == SF_OK && sf_sign_key_load (sf_store_dir (p->store), &key) == SF_OK) {
        sf_bundle_set_signing_key (bundle, key.sk);
        snprintf (r->signer, sizeof r->signer, "%s", key.pub);
        explicit_bzero (&key, sizeof key);
    } else if (rc == SF_OK)
        sf_log_warn ("export", "%s: %s: the bundle is not signed", sf_store_dir (p->store), sf_error_message ());
    if (rc == SF_OK)
        rc = sf_bundle_write (bundle, dir, p->opts->replace);
    if (rc == SF_OK)
        r->campaigns = p->campaign_count;
    sf_bundle_destroy (&bundle);
    return rc;
}

static const sf_export_opts_t s_default_opts = { .allow_simulated = false };

int
sf_export_campaign (sf_store_t *store, uint64_t campaign, const char *dir, const sf_export_opts_t *opts,
                    sf_export_report_t *report)
{
    sf_export_report_t local;
    s_plan_t p = { store, opts ? opts : &s_default_opts, report ? report : &local, NULL, 0, NULL, 0 };
    memset (p.report, 0, sizeof *p.report);
    int rc = s_plan_campaign (&p, campaign);
    if (rc == SF_OK)
        rc = s_plan_write (&p, dir);
    s_plan_free (&p);
    return rc;
}

/* ---- every done campaign of a GPU type --------------------------------------- */

typedef struct {
    uint64_t id;
    char gpu_type[SF_STORE_GPU_TYPE_MAX];
    sf_tier tier;
} s_done_t;

typedef struct {
    const char *gpu_type;     /* the wanted type, or NULL */
    const sf_export_opts_t *opts;  /* the wanted tier, if any */
    s_done_t *done;           /* the done campaigns (of that type) */
    uint32_t count;
    int status;
} s_all_t;

static int
s_all_each (void *arg, const sf_store_campaign_t *c)
{
    s_all_t *all = arg;
    if (c->state != SF_CAMPAIGN_DONE || (all->gpu_type && strcmp (c->gpu_type, all->gpu_type) != 0)
        || (all->opts->has_tier && c->search.tier != all->opts->tier))
        return 0;
    if (all->count >= SF_MANIFEST_MAX_LAYERS) {
        all->status = sf_error_set (SF_ERR_RANGE, "more than %d done campaigns", SF_MANIFEST_MAX_LAYERS);
        return 1;
    }
    s_done_t *done = realloc (all->done, (all->count + 1) * sizeof *done);
    if (!done) {
        all->status = sf_error_set (SF_ERR_NOMEM, "out of memory");
        return 1;
    }
    all->done = done;
    done[all->count].id = c->id;
    snprintf (done[all->count].gpu_type, sizeof done->gpu_type, "%s", c->gpu_type);
    done[all->count].tier = c->search.tier;
    all->count++;
    return 0;
}

/*  SF_OK when the done campaigns are of one GPU type; else the refusal,
    listing the types. */
static int
s_all_one_type (const s_all_t *all)
{
    char types[S_LIST_MAX] = "";
    uint32_t type_count = 0;
    for (uint32_t i = 0; i < all->count; i++) {
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = strcmp (all->done[i].gpu_type, all->done[j].gpu_type) == 0;
        if (!seen) {
            s_list_add (types, sizeof types, all->done[i].gpu_type[0] ? all->done[i].gpu_type : "(none)");
            type_count++;
        }
    }
    if (type_count > 1)
        return sf_error_set (SF_ERR_INVALID, "the done campaigns are of %u GPU types (%s): a bundle is for "
                             "one; choose it (export --all --gpu-type TYPE)", type_count, types);
    /* one precision too: a layer tuned in several is in the bundle once */
    unsigned tiers = 0;
    for (uint32_t i = 0; i < all->count; i++)
        tiers |= 1u << all->done[i].tier;
    if (tiers & (tiers - 1)) {
        char names[64] = "";
        for (int t = 0; t < SF_TIER_COUNT; t++)
            if (tiers & (1u << t))
                s_list_add (names, sizeof names, sf_tier_name ((sf_tier) t));
        return sf_error_set (SF_ERR_INVALID, "the done campaigns are of several precisions (%s): choose one "
                             "(export --all --precision P)", names);
    }
    return SF_OK;
}

int
sf_export_all (sf_store_t *store, const char *dir, const sf_export_opts_t *opts, sf_export_report_t *report)
{
    sf_export_report_t local;
    s_plan_t p = { store, opts ? opts : &s_default_opts, report ? report : &local, NULL, 0, NULL, 0 };
    memset (p.report, 0, sizeof *p.report);
    s_all_t all = { .gpu_type = p.opts->gpu_type, .opts = p.opts };
    int rc = sf_store_each_campaign (store, s_all_each, &all);
    if (rc != SF_OK && all.status != SF_OK)
        rc = all.status;
    if (rc == SF_OK && all.count == 0)
        rc = sf_error_set (SF_ERR_NOTFOUND, "no done campaign%s%s%s%s in the store", all.gpu_type ? " of " : "",
                           all.gpu_type ? all.gpu_type : "", p.opts->has_tier ? " in " : "",
                           p.opts->has_tier ? sf_tier_name (p.opts->tier) : "");
    if (rc == SF_OK)
        rc = s_all_one_type (&all);
    for (uint32_t i = 0; rc == SF_OK && i < all.count; i++)
        rc = s_plan_campaign (&p, all.done[i].id);
    if (rc == SF_OK)
        rc = s_plan_write (&p, dir);
    free (all.done);
    s_plan_free (&p);
    return rc;
}

char *
sf_export_report_text (const sf_export_report_t *r, const char *dir, char *buf, size_t size)
{
    char campaigns[64], model[48] = "";
    if (r->campaigns == 1)
        snprintf (campaigns, sizeof campaigns, "campaign %llu", (unsigned long long) r->first_campaign);
    else
        snprintf (campaigns, sizeof campaigns, "%u campaigns", r->campaigns);
    if (r->model_version)
        snprintf (model, sizeof model, "; model.json (rank model v%u)", r->model_version);
    char signer[48] = "; NOT SIGNED";
    if (r->signer[0])
        snprintf (signer, sizeof signer, "; signed by %.16s...", r->signer);
    snprintf (buf, size, "wrote %s: %u layer%s (%u dense) of %s for %s (compute capability %d.%d)%s%s%s%s", dir,
              r->layers, r->layers == 1 ? "" : "s", r->dense, campaigns, r->gpu_type, r->cc_major, r->cc_minor,
              r->renamed ? "; some layers renamed" : "", model,
              r->simulated ? "; times SIMULATED (sim backend)" : "", signer);
    return buf;
}
