/*  sf_bundlemake: a bundle from weight matrices and chosen configurations. */
#include "store/sf_bundlemake.h"

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_buf.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "store/sf_export.h"
#include "store/sf_store.h"
#include "store/sf_storekernel.h"

#define S_PTX_MAX ((size_t) 1 << 30)
#define S_SPEC_MAX 8192

struct _sf_bundlemake_t {
    sf_bundlemake_opts_t opts;  /* opts.arch points at arch */
    char arch[16];
    char gpu_type[SF_GPU_TYPE_MAX];
    sf_bundle_t *bundle;
};

/*  The GPU type, compute capability and driver to stamp: GPU 0's, or the
    arch given (then the type is "unspecified/sm_XY/0sm" unless GPU 0 is of
    that compute capability). */
static int
s_target (sf_bundlemake_t *self, const char *arch, int *major, int *minor, char *driver, size_t driver_size)
{
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    sf_device_info_t dev;
    bool have_gpu = drv && sf_cudadrv_device_info (drv, 0, &dev) == SF_OK;
    sf_cudadrv_destroy (&drv);
    snprintf (driver, driver_size, "%s", have_gpu ? dev.driver_version_str : "none");
    if (arch) {
        if (!sf_bundle_parse_arch (arch, major, minor) || strlen (arch) >= sizeof self->arch)
            return sf_error_set (SF_ERR_INVALID, "--arch '%s' is not like sm_90", arch);
        snprintf (self->arch, sizeof self->arch, "%s", arch);
        if (have_gpu && dev.cc_major == *major && dev.cc_minor == *minor)
            snprintf (self->gpu_type, sizeof self->gpu_type, "%s", dev.gpu_type);
        else
            snprintf (self->gpu_type, sizeof self->gpu_type, "unspecified/sm_%d%d/0sm", *major, *minor);
        return SF_OK;
    }
    if (!have_gpu)
        return sf_error_set (SF_ERR_INVALID, "no GPU here: name the target with --arch (e.g. sm_90)");
    *major = dev.cc_major;
    *minor = dev.cc_minor;
    snprintf (self->arch, sizeof self->arch, "sm_%d%d", dev.cc_major, dev.cc_minor);
    snprintf (self->gpu_type, sizeof self->gpu_type, "%s", dev.gpu_type);
    return SF_OK;
}

sf_bundlemake_t *
sf_bundlemake_new (const sf_bundlemake_opts_t *opts)
{
    sf_bundlemake_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->opts = *opts;
    char driver[16];
    int major, minor;
    if (s_target (self, opts->arch, &major, &minor, driver, sizeof driver) != SF_OK
        || !(self->bundle = sf_bundle_new (self->gpu_type, major, minor, sf_jit_version (), driver))) {
        free (self);
        return NULL;
    }
    self->opts.arch = self->arch;
    return self;
}

void
sf_bundlemake_destroy (sf_bundlemake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_bundle_destroy (&(*self_p)->bundle);
    free (*self_p);
    *self_p = NULL;
}

const char *sf_bundlemake_gpu_type (const sf_bundlemake_t *self) { return self->gpu_type; }

int
sf_bundlemake_count (const sf_bundlemake_t *self)
{
    return (int) sf_bundle_manifest (self->bundle)->layer_count;
}

/*  NAME=FILE:N:CONFIG into its parts (spec is modified). */
static bool
s_split_layer (char *spec, char **name, char **file, int64_t *n, char **config)
{
    char *eq = strchr (spec, '=');
    char *c1 = eq ? strchr (eq + 1, ':') : NULL;
    char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
    if (!eq || !c1 || !c2)
        return false;
    *eq = *c1 = *c2 = '\0';
    *name = spec;
    *file = eq + 1;
    *config = c2 + 1;
    char *end;
    long long v = strtoll (c1 + 1, &end, 10);
    *n = v;
    return **name && **file && c1[1] && !*end && v >= 1 && v <= INT32_MAX;
}

/*  The U kernel of `a` with `config`, compiled for the target (the
    caller owns k and releases it with sf_kernel_free). */
static int
s_u_kernel (const sf_bundlemake_t *self, const sf_matrix_t *a, const sf_config_t *config, sf_buf_t *ptx,
            sf_kernel_t *k)
{
    sf_panels_t *panels = sf_panels_new (a, config->panel_rows, config->reorder);
    if (!panels)
        return sf_error_last ();
    sf_epilogue_t epi = { self->opts.bias, self->opts.relu };
    int rc = sf_emit_u_full (a, panels, config, &epi, ptx, &k->launch);
    sf_panels_destroy (&panels);
    sf_jit_opts_t jit = { .arch = self->opts.arch, .opt_level = 3 };
    if (rc == SF_OK)
        rc = sf_jit_ptx (sf_buf_data (ptx), &jit, &k->cubin, &k->cubin_size, NULL);
    if (rc == SF_OK && !(k->source = sf_buf_detach (ptx, &k->source_size)))
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    return rc;
}

/*  The D kernel of `config` and A's encoding (the caller owns k and
    releases it with sf_kernel_free). The D compile cache targets sm_90
    (NVRTC, then nvJitLink). */
static int
s_d_kernel (const sf_bundlemake_t *self, const sf_matrix_t *a, const sf_config_t *config, sf_kernel_t *k)
{
    if (strcmp (self->opts.arch, "sm_90") != 0)
        return sf_error_set (SF_ERR_UNSUPPORTED, "template D kernels are built for sm_90 only, not %s",
                             self->opts.arch);
    sf_panels_t *panels = sf_panels_new (a, config->panel_rows, config->reorder);
    if (!panels)
        return sf_error_last ();
    sf_epilogue_t epi = { self->opts.bias, self->opts.relu };
    sf_jit_stats_t st;
    int cached;
    int rc = sf_dkernel_compile (config, &epi, &k->cubin, &k->cubin_size, &k->source, &k->launch, &st, &cached);
    if (rc == SF_OK) {
        sf_dkernel_launch_for (config, sf_panels_count (panels), sf_matrix_cols (a), &k->launch);
        rc = sf_dkernel_encode (config, a, panels, &k->data, &k->data_size);
    }
    sf_panels_destroy (&panels);
    return rc;
}

/*  The kernel compiled, then added as `spmmfarm export` adds a layer. */
static int
s_add (sf_bundlemake_t *self, const char *name, const char *file, int64_t n, const char *config_text,
       sf_bundlemake_layer_t *added)
{
    /* "dense.nk": the dense kernel in the nk layout (D's ".nk" configs say it themselves) */
    bool dense_nk = strcmp (config_text, "dense.nk") == 0;
    sf_config_t config;
    if (sf_config_parse (dense_nk ? "dense" : config_text, &config) != SF_OK)
        return sf_error_last ();
    sf_read_opts_t read_opts = { NULL, self->opts.seed };
    sf_matrix_t *a = sf_matrix_read (file, &read_opts);
    if (!a)
        return sf_error_last ();
    char canonical[SF_CONFIG_TEXT_MAX];
    sf_kernel_t kernel = { 0 };
    sf_buf_t *ptx = NULL;
    int rc = SF_OK;
    if (config.tmpl == SF_TEMPLATE_D)
        rc = s_d_kernel (self, a, &config, &kernel);
    else if (config.tmpl == SF_TEMPLATE_U)
        rc = (ptx = sf_buf_new (S_PTX_MAX)) ? s_u_kernel (self, a, &config, ptx, &kernel)
                                             : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK) {
        sf_store_kernel_t record;   /* borrows kernel's buffers */
        sf_storekernel_record (&kernel, config.tmpl, sf_config_text (&config, canonical), &record);
        sf_export_layer_t l = {
            .name = name, .matrix = a, .n = n, .bias = self->opts.bias, .relu = self->opts.relu,
            .config = canonical,
            .kernel = config.tmpl == SF_TEMPLATE_DENSE ? NULL : &record,
            .arch = self->opts.arch, .err = NAN, .us = NAN, .library_us = NAN,
            .layout = config.nk || dense_nk ? SF_LAYOUT_NK : SF_LAYOUT_KN,
        };
        rc = sf_export_add_layer (self->bundle, &l);
    }
    if (rc == SF_OK && added) {
        const sf_manifest_t *m = sf_bundle_manifest (self->bundle);
        const sf_manifest_layer_t *last = &m->layers[m->layer_count - 1];
        snprintf (added->name, sizeof added->name, "%.*s", (int) sizeof added->name - 1, name);
        snprintf (added->file, sizeof added->file, "%.*s", (int) sizeof added->file - 1, file);
        snprintf (added->config, sizeof added->config, "%s", last->config);
        added->m = sf_matrix_rows (a);
        added->k = sf_matrix_cols (a);
        added->cubin_bytes = last->cubin.bytes;
    }
    sf_kernel_free (&kernel);
    sf_buf_destroy (&ptx);
    sf_matrix_destroy (&a);
    return rc;
}

int
sf_bundlemake_add (sf_bundlemake_t *self, const char *spec, sf_bundlemake_layer_t *added)
{
    char copy[S_SPEC_MAX];
    if (strlen (spec) >= sizeof copy)
        return sf_error_set (SF_ERR_INVALID, "layer '%.64s...' is over %d bytes", spec, S_SPEC_MAX - 1);
    snprintf (copy, sizeof copy, "%s", spec);
    char *name, *file, *config_text;
    int64_t n;
    if (!s_split_layer (copy, &name, &file, &n, &config_text))
        return sf_error_set (SF_ERR_INVALID, "layer '%s' is not NAME=FILE:N:CONFIG", spec);
    int rc = s_add (self, name, file, n, config_text, added);
    if (rc != SF_OK)
        sf_error_prefix ("layer %s: ", name);
    return rc;
}

int
sf_bundlemake_sign (sf_bundlemake_t *self, const char *store_dir, sf_bundlemake_signer_t *signer)
{
    char *store = store_dir ? strdup (store_dir) : sf_store_default_dir ();
    sf_sign_key_t key;
    int rc = !store ? (store_dir ? sf_error_set (SF_ERR_NOMEM, "out of memory") : sf_error_last ())
             : zsys_dir_create ("%s", store) != 0 ? sf_error_set (SF_ERR_IO, "cannot create %s", store)
                                                  : sf_sign_key_ensure (store);
    if (rc == SF_OK)
        chmod (store, 0700);
    if (rc == SF_OK && (rc = sf_sign_key_load (store, &key)) == SF_OK) {
        sf_bundle_set_signing_key (self->bundle, key.sk);
        if (signer) {
            snprintf (signer->pub, sizeof signer->pub, "%s", key.pub);
            snprintf (signer->pub_file, sizeof signer->pub_file, "%s/%s", store, SF_SIGN_PUB_FILE);
        }
        explicit_bzero (&key, sizeof key);
    }
    free (store);
    return rc;
}

int
sf_bundlemake_write (sf_bundlemake_t *self, const char *dir, bool replace)
{
    return sf_bundle_write (self->bundle, dir, replace);
}
