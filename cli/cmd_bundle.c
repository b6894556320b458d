/*  spmmfarm bundle: inspect, verify and create kernel bundles
    (docs/BUNDLES.md): options and printing. `verify` checks the signer and
    T encodings (store/sf_bundlecheck) and, when a GPU is present, runs every
    layer through the deployment runtime (experiments/sf_bundlerun); `create`
    is store/sf_bundlemake. */
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <czmq.h>

#include "cli/sf_cli.h"
#include "bundle/sf_bundle.h"
#include "common/sf_error.h"
#include "experiments/sf_bundlerun.h"
#include "wire/sf_request.h"
#include "store/sf_bundlecheck.h"
#include "store/sf_bundlemake.h"

#define S_MAX_MATRICES 4096

static const char *s_help =
    "usage: spmmfarm bundle inspect DIR [--json]\n"
    "       spmmfarm bundle verify DIR [--matrix NAME=FILE]... [--n N] [--gpu I] [--l2 M] [--json]\n"
    "       spmmfarm bundle create -o DIR [--arch sm_XY] LAYER... [--bias] [--relu]\n\n"
    "A bundle (DIR, e.g. model.bundle/) holds tuned kernels and their manifest; the\n"
    "runtime library libspmmfarm-rt launches them (docs/BUNDLES.md).\n\n"
    "inspect   the bundle's GPU, versions and layers (manifest only)\n"
    "verify    checks the manifest's schema and every file's SHA-256; with a GPU,\n"
    "          also runs every layer through the runtime on random inputs, checks\n"
    "          every output is written, compares sampled rows with the CPU reference\n"
    "          (dense layers carry A; others need --matrix NAME=FILE, checked against\n"
    "          the recorded matrix hash) and times it, with the L2 cold or warm as\n"
    "          a search times (--l2; each layer says which). Without a GPU it says\n"
    "          \"no GPU: checksums and schema only\" and exits 0 if those pass.\n"
    "create    builds a bundle from weight matrices and chosen configurations\n"
    "          (e.g. tune-local's best), unmeasured: LAYER is NAME=FILE:N:CONFIG with\n"
    "          CONFIG a U configuration (\"U:r32.v4.t64.g2.o1.m168.sim\") or \"dense\";\n"
    "          in the nk layout (X N x K in, Y N x M out) a D slab config ending in\n"
    "          \".nk\" or \"dense.nk\".\n\n"
    SF_CLI_HELP_OPTIONS (20) "\n"
    "Signatures: a bundle written from a store (export, local -o, create) carries\n"
    "manifest.sig, an ed25519 signature of its manifest by the store's key\n"
    "(STORE/bundle-signing.pub); the manifest holds every file's SHA-256, so\n"
    "`verify` refuses a bundle changed after it was signed, unsigned, or signed by\n"
    "a key it does not trust (docs/BUNDLES.md).\n\n"
    "Exit codes: 0 ok, 1 a check failed (a file, the signature) or the GPU\n"
    "failed, 2 bad usage or a malformed bundle.\n";

typedef struct {
    bool json, bias, relu, replace, allow_untrusted;
    char keys[4096];        /* --key values, ':'-separated */
    uint64_t seed;
    int64_t n;
    int gpu;
    double tol;
    sf_request_l2 l2;       /* verify: --l2 (auto: per layer by its N) */
    const char *output, *arch;
    int matrix_count;
    char *matrix_name[S_MAX_MATRICES];
    const char *matrix_file[S_MAX_MATRICES];
} s_opts_t;

/* ---- inspect --------------------------------------------------------------- */

static void
s_print_manifest (const char *dir, const sf_manifest_t *m)
{
    printf ("bundle:    %s (format %d, created %s by %s)\n", dir, (int) m->version, m->created,
            m->generator);
    printf ("gpu:       %s (compute capability %d.%d)\n", m->gpu_type, (int) m->cc_major,
            (int) m->cc_minor);
    printf ("built by:  toolkit %s, driver %s%s\n", m->toolkit, m->driver,
            m->simulated ? "; times SIMULATED (no GPU ran these kernels)" : "");
    printf ("model:     %s\n", m->model.present ? "model.json" : "none");
    printf ("signed by: %s\n", m->signer[0] ? m->signer : "nobody (no manifest.sig)");
    printf ("layers:    %d\n\n", (int) m->layer_count);
    printf ("%-20s %7s %7s %8s %-5s %-30s %10s %9s %s\n", "name", "M", "K", "tuned N", "tmpl",
            "config", "time us", "error", "epilogue");
    for (int32_t i = 0; i < m->layer_count; i++) {
        const sf_manifest_layer_t *l = &m->layers[i];
        char time[32] = "-", err[32] = "-";
        if (l->time_us >= 0)
            snprintf (time, sizeof time, "%.2f%s", l->time_us, l->simulated ? "*" : "");
        if (l->verified_error >= 0)
            snprintf (err, sizeof err, "%.2g", l->verified_error);
        printf ("%-20s %7lld %7lld %8lld %-5s %-30s %10s %9s %s%s%s\n", l->name, (long long) l->m,
                (long long) l->k, (long long) l->n, l->tmpl, l->config, time, err,
                l->bias ? "bias" : "", l->bias && l->relu ? "," : "",
                l->relu ? "relu" : (l->bias ? "" : "-"));
    }
    if (m->simulated)
        printf ("\n* SIMULATED time (model estimate)\n");
}

static int
s_inspect (const char *dir, const s_opts_t *o)
{
    sf_manifest_t *m = sf_bundle_read_manifest (dir);
    if (!m)
        return sf_cli_fail ("bundle inspect", sf_error_last ());
    if (o->json) {
        /* the validated manifest, written again by the writer */
        char *text = sf_bundle_manifest_text (m);
        sf_manifest_destroy (&m);
        if (!text)
            return sf_cli_fail ("bundle inspect", sf_error_set (SF_ERR_NOMEM, "out of memory"));
        puts (text);
        free (text);
        return SF_EXIT_OK;
    }
    s_print_manifest (dir, m);
    sf_manifest_destroy (&m);
    return SF_EXIT_OK;
}

/* ---- verify -------------------------------------------------------------------- */

static void
s_print_results (const sf_bundlerun_result_t *results, int count, const sf_device_info_t *dev, bool json)
{
    if (json) {
        cJSON *root = sf_bundlerun_json (results, count, dev->gpu_type);
        if (root)
            sf_cli_print_json (&root);
        else
            fprintf (stderr, "spmmfarm bundle verify: out of memory\n");
        return;
    }
    int failed = 0;
    for (int i = 0; i < count; i++)
        failed += results[i].status != SF_OK;
    for (int i = 0; i < count; i++) {
        const sf_bundlerun_result_t *r = &results[i];
        if (r->status != SF_OK)
            printf ("%-20s N=%-8lld FAILED: %s\n", r->name, (long long) r->n, r->detail);
        else if (r->compared)
            printf ("%-20s N=%-8lld ok, error %.2g, %.2f us (L2 %s)\n", r->name, (long long) r->n, r->err, r->us,
                    r->l2_cold ? "cold" : "warm");
        else
            printf ("%-20s N=%-8lld ran (every output written, no reference: pass --matrix %s=FILE), %.2f us "
                    "(L2 %s)\n", r->name, (long long) r->n, r->name, r->us, r->l2_cold ? "cold" : "warm");
    }
    printf ("%d of %d layers ok on GPU %d (%s)\n", count - failed, count, dev->ordinal, dev->name);
}

/*  Every layer through the runtime on GPU o->gpu, printed. */
static int
s_verify_on (const sf_device_info_t *dev, const char *dir, const sf_bundle_t *bundle, const s_opts_t *o)
{
    const sf_manifest_t *m = sf_bundle_manifest (bundle);
    sf_bundlerun_opts_t run = { o->gpu, o->n, o->seed, o->tol, o->matrix_count, o->matrix_name, o->matrix_file,
                                o->l2 };
    sf_bundlerun_result_t *results = calloc ((size_t) m->layer_count, sizeof *results);
    if (!results)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    int done = 0;
    int rc = sf_bundlerun_layers (dir, bundle, &run, results, &done);
    int failed = 0;
    for (int i = 0; i < done; i++)
        failed += results[i].status != SF_OK;
    if (rc == SF_OK)
        s_print_results (results, done, dev, o->json);
    if (rc == SF_OK && done < m->layer_count)
        fprintf (stderr, "spmmfarm bundle verify: stopped after a CUDA error; %d layers not run\n",
                 (int) m->layer_count - done);
    free (results);
    if (rc == SF_OK && (failed || done < m->layer_count))
        rc = sf_error_set (SF_ERR_VERIFY, "%d of %d layers failed", failed + (int) m->layer_count - done,
                           (int) m->layer_count);
    return rc;
}

/*  No GPU to run on: say why, and that only the files were checked. */
static int
s_no_gpu (const char *dir, const sf_manifest_t *m, const char *why, bool json)
{
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "bundle", dir);
        cJSON_AddBoolToObject (root, "checksums", true);
        cJSON_AddBoolToObject (root, "ran", false);
        cJSON_AddStringToObject (root, "reason", why);
        cJSON_AddNumberToObject (root, "layers", m->layer_count);
        return sf_cli_print_json (&root);
    }
    printf ("%s: schema and checksums ok (%d layers)\n", dir, (int) m->layer_count);
    printf ("no GPU: checksums and schema only (%s)\n", why);
    return SF_EXIT_OK;
}

/*  A trusted key signed the bundle; with --allow-untrusted, says what it
    is instead. */
static int
s_check_signer (const sf_manifest_t *m, const s_opts_t *o)
{
    char keys[SF_BUNDLECHECK_KEYS_MAX];
    sf_bundlecheck_trusted (o->keys, NULL, keys, sizeof keys);
    int rc = sf_bundlecheck_signer (m, keys);
    if (rc == SF_OK) {
        if (!o->json)
            printf ("signature: signed by %s (a trusted key)\n", m->signer);
        return SF_OK;
    }
    if (!o->allow_untrusted)
        return rc;
    if (!o->json)
        printf ("signature: NOT TRUSTED (%s%s%s); accepted by --allow-untrusted\n", sf_error_message (),
                m->signer[0] ? ", key " : "", m->signer);
    return SF_OK;
}

static int
s_verify (const char *dir, const s_opts_t *o)
{
    sf_bundle_t *bundle = sf_bundle_load (dir);
    if (!bundle)
        return sf_cli_fail ("bundle verify", sf_error_last ());
    const sf_manifest_t *m = sf_bundle_manifest (bundle);
    if (s_check_signer (m, o) != SF_OK) {
        int rc = sf_cli_fail ("bundle verify", sf_error_last ());
        sf_bundle_destroy (&bundle);
        return rc;
    }
    for (int i = 0; i < o->matrix_count; i++)
        if (!sf_manifest_find (m, o->matrix_name[i])) {
            sf_bundle_destroy (&bundle);
            return sf_cli_usage ("bundle verify", "--matrix %s=...: the bundle has no such layer",
                                 o->matrix_name[i]);
        }
    int t_layers = 0;
    if (sf_bundlecheck_t_layers (bundle, &t_layers) != SF_OK) {
        sf_bundle_destroy (&bundle);
        return sf_cli_fail ("bundle verify", sf_error_last ());
    }
    if (t_layers && !o->json)
        printf ("%s: %d template T encodings decode as their kernels read them\n", dir, t_layers);
    int exit_code = SF_EXIT_OK;
    sf_device_info_t dev;
    char why[512];
    bool runnable = false;
    int rc = sf_bundlerun_device (m, o->gpu, &runnable, &dev, why, sizeof why);
    if (rc != SF_OK)
        exit_code = sf_cli_fail ("bundle verify", rc);
    else if (!runnable)
        exit_code = s_no_gpu (dir, m, why, o->json);
    else if ((rc = s_verify_on (&dev, dir, bundle, o)) != SF_OK)
        exit_code = sf_cli_fail ("bundle verify", rc);
    sf_bundle_destroy (&bundle);
    return exit_code;
}

/* ---- create -------------------------------------------------------------------- */

static int
s_create (int count, char **layers, s_opts_t *o)
{
    if (!o->output)
        return sf_cli_usage ("bundle create", "-o DIR is required");
    if (count < 1)
        return sf_cli_usage ("bundle create", "no LAYER given (NAME=FILE:N:CONFIG)");
    sf_bundlemake_opts_t opts = { o->arch, o->bias, o->relu, o->seed };
    sf_bundlemake_t *make = sf_bundlemake_new (&opts);
    if (!make)
        return sf_cli_fail ("bundle create", sf_error_last ());
    int rc = SF_OK;
    for (int i = 0; rc == SF_OK && i < count; i++) {
        sf_bundlemake_layer_t l;
        rc = sf_bundlemake_add (make, layers[i], &l);
        if (rc == SF_OK && !o->json)
            fprintf (stderr, "layer %s: %s %d x %d, %s, %lld-byte cubin\n", l.name, l.file, l.m, l.k, l.config,
                     (long long) l.cubin_bytes);
    }
    if (rc == SF_OK) {
        /* signed with the default store's key, made if need be; unsigned, with a warning, if that fails */
        sf_bundlemake_signer_t signer;
        if (sf_bundlemake_sign (make, NULL, &signer) == SF_OK)
            printf ("signed by %s (%s)\n", signer.pub, signer.pub_file);
        else
            fprintf (stderr, "spmmfarm bundle create: the bundle is NOT signed: %s\n", sf_error_message ());
    }
    if (rc == SF_OK)
        rc = sf_bundlemake_write (make, o->output, o->replace);
    if (rc == SF_OK)
        printf ("wrote %s: %d layers for %s (not measured: tune them for times)\n", o->output, count,
                sf_bundlemake_gpu_type (make));
    sf_bundlemake_destroy (&make);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("bundle create", rc);
}
/* ---- options ------------------------------------------------------------------- */

/*  --matrix NAME=FILE (repeatable). */
static int
s_matrix (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    s_opts_t *o = opt->dest;
    char *eq = strchr (arg, '=');
    if (!eq || eq == arg || !eq[1])
        return sf_cli_usage (cmd, "--matrix takes NAME=FILE, not '%s'", arg);
    if (o->matrix_count == S_MAX_MATRICES)
        return sf_cli_usage (cmd, "more than %d --matrix options", S_MAX_MATRICES);
    *eq = '\0';  /* in argv */
    o->matrix_name[o->matrix_count] = (char *) arg;
    o->matrix_file[o->matrix_count++] = eq + 1;
    return SF_EXIT_OK;
}

/*  --l2 M: the request's own option (its words, its message). */
static int
s_l2 (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    s_opts_t *o = opt->dest;
    sf_request_t req;
    sf_request_init (&req);
    if (sf_request_set_option (&req, "l2", arg) != SF_OK)
        return sf_cli_usage (cmd, "%s", sf_error_message ());
    o->l2 = req.l2;
    return SF_EXIT_OK;
}

/*  --key K (repeatable): o->keys, ':'-separated. */
static int
s_key (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    s_opts_t *o = opt->dest;
    size_t used = strlen (o->keys);
    if (used + strlen (arg) + 2 > sizeof o->keys)
        return sf_cli_usage (cmd, "too many --key options");
    snprintf (o->keys + used, sizeof o->keys - used, "%s%s", used ? ":" : "", arg);
    return SF_EXIT_OK;
}

int
sf_cmd_bundle (int argc, char **argv)
{
    s_opts_t o = { .seed = 1, .tol = 1e-5 };
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_FLAG ("json", &o.json, SF_CLI_DOC (NULL, "machine-readable output (inspect: the manifest as JSON)")),
        SF_CLI_OPT_CALL ("matrix", &o, s_matrix,
                         SF_CLI_DOC ("NAME=F", "verify: the weights of layer NAME (.smtx/.mtx/.npy/.safetensors)")),
        SF_CLI_OPT_U64 ("seed", &o.seed, "--seed must be a non-negative integer, not '%s'",
                        SF_CLI_DOC ("S", "seed of .smtx values (default 1) and of verify's inputs")),
        SF_CLI_OPT_INT ("n", &o.n, 1, INT32_MAX, "--n must be 1 to 2147483647, not '%s'",
                        SF_CLI_DOC ("N", "verify: columns to run (default: each layer's tuned N)")),
        SF_CLI_OPT_INT32 ("gpu", &o.gpu, 0, 1023, "--gpu must be a device ordinal, not '%s'",
                          SF_CLI_DOC ("I", "verify: device ordinal (default 0)")),
        SF_CLI_OPT_DOUBLE ("tol", &o.tol, DBL_TRUE_MIN, 1, "--tol must be in (0, 1], not '%s'",
                           SF_CLI_DOC ("T", "verify: bound of the normwise relative error (default 1e-5;\n"
                                          "a layer of a looser tier is held to its tier's: tf32 1e-3,\n"
                                          "bf16 1e-2, fp16 2e-3)")),
        SF_CLI_OPT_CALL ("l2", &o, s_l2,
                         SF_CLI_DOC ("M", "verify: the L2 at each timed launch, as a search's --l2: cold\n"
                                          "(flushed before every launch), warm (back to back) or auto\n"
                                          "(the default: cold when the layer's N <= 256, else warm)")),
        SF_CLI_OPT_STR ("output", &o.output, .short_name = 'o',
                        SF_CLI_DOC ("DIR", "create: the bundle directory (written as DIR.tmp, then renamed)")),
        SF_CLI_OPT_STR ("arch", &o.arch, SF_CLI_DOC ("sm_XY", "create: target architecture (default: GPU 0's)")),
        SF_CLI_OPT_FLAG ("bias", &o.bias),  /* listed with --relu: */
        SF_CLI_OPT_FLAG ("relu", &o.relu),
        SF_CLI_NOTE_TEXT ("  --bias, --relu    create: fuse a per-row bias and/or ReLU into every kernel\n"),
        SF_CLI_OPT_FLAG ("replace", &o.replace, SF_CLI_DOC (NULL, "create: replace an existing DIR")),
        SF_CLI_OPT_CALL ("key", &o, s_key,
                         SF_CLI_DOC ("K", "verify: trust bundles signed by K (64 hex digits, or a\n"
                                          "bundle-signing.pub file; repeatable). Also trusted: the keys\n"
                                          "in $SPMMFARM_TRUSTED_KEYS and the default store's key")),
        SF_CLI_OPT_FLAG ("allow-untrusted", &o.allow_untrusted,
                         SF_CLI_DOC (NULL, "verify: accept a bundle that is unsigned or signed by an\n"
                                           "untrusted key (said so); a signature that does not match\n"
                                           "its manifest is refused anyway")),
        SF_CLI_OPT_END
    };
    if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        sf_cli_help (argc < 2 ? stderr : stdout, s_help, opts);
        return argc < 2 ? SF_EXIT_USAGE : SF_EXIT_OK;
    }
    const char *verb = argv[1];
    int rc = sf_cli_options ("bundle", argc - 1, argv + 1, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    int rest = argc - 1 - optind;
    char **args = argv + 1 + optind;
    if (strcmp (verb, "create") == 0)
        return s_create (rest, args, &o);
    if (strcmp (verb, "inspect") != 0 && strcmp (verb, "verify") != 0)
        return sf_cli_usage ("bundle", "unknown action '%s' (inspect, verify or create)", verb);
    if (rest != 1)
        return sf_cli_usage ("bundle", "%s takes exactly one bundle DIR", verb);
    return strcmp (verb, "inspect") == 0 ? s_inspect (args[0], &o) : s_verify (args[0], &o);
}
