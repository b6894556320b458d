/*  Check suite of bundles: the JSON reader, the manifest schema, the writer
    and the loader (bundle/sf_bundle.h, runtime/sf_manifest.h), and bundles
    of real kernels compiled on the CPU (nvJitLink, NVRTC). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "tests/sf_check_bundle.h"
#include "common/sf_buf.h"
#include "bundle/sf_bundle.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "runtime/sf_json.h"
#include "runtime/sf_manifest.h"

/* ---- the JSON reader ------------------------------------------------------- */

static sf_json_t *
s_json (const char *text, char *err)
{
    return sf_json_parse (text, strlen (text), err, 256, NULL);
}

START_TEST (test_json_values)
{
    char err[256];
    sf_json_t *doc = s_json (" {\"a\": [1, -2.5e3, true, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\","
                             " \"o\": {}} ", err);
    ck_assert_msg (doc != NULL, "%s", err);
    const sf_json_node_t *root = sf_json_root (doc);
    ck_assert_int_eq (sf_json_type_of (root), SF_JSON_OBJECT);
    ck_assert_uint_eq (sf_json_count (root), 3);
    const sf_json_node_t *a = sf_json_get (root, "a");
    ck_assert_uint_eq (sf_json_count (a), 4);
    const sf_json_node_t *e = sf_json_first (a);
    ck_assert_double_eq (sf_json_number (e), 1.0);
    e = sf_json_next (e);
    ck_assert_double_eq (sf_json_number (e), -2500.0);
    e = sf_json_next (e);
    ck_assert (sf_json_bool (e));
    e = sf_json_next (e);
    ck_assert_int_eq (sf_json_type_of (e), SF_JSON_NULL);
    ck_assert_ptr_null (sf_json_next (e));
    /* é is C3 A9, the emoji F0 9F 98 80 */
    ck_assert_str_eq (sf_json_string (sf_json_get (root, "s")), "x\xc3\xa9\xf0\x9f\x98\x80\n");
    ck_assert_str_eq (sf_json_key (sf_json_get (root, "o")), "o");
    ck_assert_uint_eq (sf_json_count (sf_json_get (root, "o")), 0);
    ck_assert_ptr_null (sf_json_get (root, "missing"));
    sf_json_destroy (&doc);
    sf_json_destroy (&doc);  /* safe twice */
}
END_TEST

START_TEST (test_json_rejects)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        { "", "unexpected end" },
        { "{\"a\": 1,}", "expected a key" },
        { "{\"a\": 1 \"b\": 2}", "expected ',' or '}'" },
        { "{\"a\": 1, \"a\": 2}", "duplicate key \"a\"" },
        { "[01]", "expected ',' or ']'" },
        { "[1.]", "no digit after '.'" },
        { "[1e]", "no digit in the exponent" },
        { "[1e999]", "out of range" },
        { "[\"\\u0000\"]", "\\u0000" },
        { "[\"\\ud800\"]", "unpaired surrogate" },
        { "[\"a\nb\"]", "control character" },
        { "[\"\\x\"]", "bad escape" },
        { "[tru]", "unexpected character" },
        { "[1] 2", "text after the JSON value" },
        { "\"open", "unterminated string" },
    };
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg (s_json (cases[i].text, err) == NULL, "accepted %s", cases[i].text);
        ck_assert_msg (strstr (err, cases[i].why) && strstr (err, "line 1, column "),
                       "%s: '%s' lacks '%s'", cases[i].text, err, cases[i].why);
    }
    /* nesting is bounded */
    char deep[2 * (SF_JSON_MAX_DEPTH + 2) + 1];
    memset (deep, '[', SF_JSON_MAX_DEPTH + 2);
    memset (deep + SF_JSON_MAX_DEPTH + 2, ']', SF_JSON_MAX_DEPTH + 2);
    deep[sizeof deep - 1] = '\0';
    ck_assert_ptr_null (s_json (deep, err));
    ck_assert_ptr_nonnull (strstr (err, "nested deeper"));
    /* the size given counts, not a NUL */
    sf_json_t *doc = sf_json_parse ("[1]garbage", 3, err, sizeof err, NULL);
    ck_assert_ptr_nonnull (doc);
    sf_json_destroy (&doc);
}
END_TEST

/* ---- writer and loader ------------------------------------------------------ */

static char *
s_path (const char *dir, const char *rel)
{
    char *path = malloc (4200);
    snprintf (path, 4200, "%s/%s", dir, rel);
    return path;
}

START_TEST (test_roundtrip)
{
    char *tmp = sf_test_tmpdir ();
    char *dir = s_path (tmp, "m.bundle");
    sf_bundle_t *b = sf_bundle_new ("Fake H100/sm_90/132sm", 9, 0, "13.0", "13.1");
    void *c1, *c2;
    float a[15];
    sf_bundle_layer_t u = sf_test_u_layer ("fc1", "sf_u_fc1", true, &c1);
    u.matrix_hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    sf_bundle_layer_t d = sf_test_dense_layer ("fc2.dense", a, &c2);
    ck_assert_int_eq (sf_bundle_add_layer (b, &u), SF_OK);
    ck_assert_int_eq (sf_bundle_add_layer (b, &d), SF_OK);
    ck_assert_int_eq (sf_bundle_set_model (b, "{\"learner\": {}}", 15), SF_OK);
    ck_assert_int_eq (sf_bundle_write (b, dir, false), SF_OK);

    /* the layout */
    struct stat st;
    static const char *files[] = { "manifest.json", "model.json", "kernels/fc1.cubin",
                                   "kernels/fc2.dense.cubin", "src/fc1.ptx", "src/fc2.dense.cu",
                                   "data/fc2.dense.bin" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = s_path (dir, files[i]);
        ck_assert_msg (stat (p, &st) == 0 && S_ISREG (st.st_mode), "%s missing", files[i]);
        free (p);
    }
    char *p = s_path (tmp, "m.bundle.tmp");
    ck_assert_int_ne (stat (p, &st), 0);  /* renamed away */
    free (p);

    /* loaded back: the same manifest and files */
    sf_bundle_t *back = sf_bundle_load (dir);
    ck_assert_msg (back != NULL, "%s", sf_error_message ());
    const sf_manifest_t *m = sf_bundle_manifest (back), *orig = sf_bundle_manifest (b);
    ck_assert_int_eq (m->version, 1);
    ck_assert_str_eq (m->gpu_type, "Fake H100/sm_90/132sm");
    ck_assert_int_eq (m->cc_major, 9);
    ck_assert_int_eq (m->cc_minor, 0);
    ck_assert_str_eq (m->toolkit, "13.0");
    ck_assert_str_eq (m->driver, "13.1");
    ck_assert_str_eq (m->created, orig->created);
    ck_assert_ptr_nonnull (strstr (m->generator, "spmmfarm "));
    ck_assert (!m->simulated);
    ck_assert (m->model.present);
    ck_assert_int_eq (m->layer_count, 2);
    const sf_manifest_layer_t *l = sf_manifest_find (m, "fc1");
    ck_assert_ptr_nonnull (l);
    ck_assert_int_eq (memcmp (l, &orig->layers[0], sizeof *l), 0);
    ck_assert_int_eq (memcmp (&m->layers[1], &orig->layers[1], sizeof *l), 0);
    ck_assert_str_eq (l->permutation, "in-kernel");
    ck_assert_str_eq (l->matrix, u.matrix_hash);
    ck_assert_double_eq (l->verified_error, 2.5e-7);
    ck_assert_double_eq (l->time_us, 12.75);
    ck_assert (!l->data.present);
    const sf_manifest_layer_t *dl = &m->layers[1];
    ck_assert_str_eq (dl->tmpl, "dense");
    ck_assert_double_eq (dl->verified_error, -1);  /* null */
    ck_assert_int_eq (dl->data.bytes, 60);
    size_t size;
    const void *cubin = sf_bundle_cubin (back, 0, &size);
    ck_assert_uint_eq (size, u.kernel.cubin_size);
    ck_assert_int_eq (memcmp (cubin, c1, size), 0);
    ck_assert_str_eq (sf_bundle_source (back, 0, &size), u.kernel.source);
    const float *data = sf_bundle_data (back, 1, &size);
    ck_assert_uint_eq (size, sizeof a);
    ck_assert_int_eq (memcmp (data, a, sizeof a), 0);
    ck_assert_ptr_null (sf_bundle_data (back, 0, &size));
    ck_assert_int_eq (memcmp (sf_bundle_model (back, &size), "{\"learner\": {}}", 15), 0);

    /* an existing bundle is kept, or replaced when asked */
    ck_assert_int_eq (sf_bundle_write (b, dir, false), SF_ERR_EXISTS);
    ck_assert_int_eq (sf_bundle_write (back, dir, true), SF_OK);
    sf_bundle_destroy (&back);
    back = sf_bundle_load (dir);
    ck_assert_msg (back != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_bundle_manifest (back)->layer_count, 2);
    p = s_path (tmp, "m.bundle.old");
    ck_assert_int_ne (stat (p, &st), 0);
    free (p);

    free (c1);
    free (c2);
    sf_bundle_destroy (&back);
    sf_bundle_destroy (&b);
    sf_bundle_destroy (&b);
    free (dir);
    sf_test_rmtree (tmp);
}
END_TEST

START_TEST (test_tampering_detected)
{
    char *tmp = sf_test_tmpdir ();
    char *dir = s_path (tmp, "t.bundle");
    sf_test_write_bundle (dir, "Fake H100/sm_90/132sm", 90, false);

    /* one flipped byte in a cubin */
    char *cubin = s_path (dir, "kernels/fc1.cubin");
    size_t size;
    char *bytes = sf_test_slurp (cubin, &size);
    bytes[size - 2] ^= 1;
    sf_test_spill (cubin, bytes, size);
    ck_assert_ptr_null (sf_bundle_load (dir));
    ck_assert_int_eq (sf_error_last (), SF_ERR_VERIFY);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "kernels/fc1.cubin"));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "SHA-256"));
    bytes[size - 2] ^= 1;
    sf_test_spill (cubin, bytes, size);
    sf_bundle_t *ok = sf_bundle_load (dir);
    ck_assert_ptr_nonnull (ok);
    sf_bundle_destroy (&ok);

    /* a truncated data file: its size differs */
    char *data = s_path (dir, "data/fc2.bin");
    ck_assert_int_eq (truncate (data, 8), 0);
    ck_assert_ptr_null (sf_bundle_load (dir));
    ck_assert_int_eq (sf_error_last (), SF_ERR_VERIFY);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "data/fc2.bin: 8 bytes, the manifest says 60"));

    /* a missing source */
    char *source = s_path (dir, "src/fc1.ptx");
    sf_test_write_bundle (dir, "Fake H100/sm_90/132sm", 90, false);
    ck_assert_int_eq (unlink (source), 0);
    ck_assert_ptr_null (sf_bundle_load (dir));
    ck_assert_int_eq (sf_error_last (), SF_ERR_IO);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "src/fc1.ptx"));

    /* not a bundle at all */
    ck_assert_ptr_null (sf_bundle_load (tmp));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "not a bundle"));
    free (bytes);
    free (cubin);
    free (data);
    free (source);
    free (dir);
    sf_test_rmtree (tmp);
}
END_TEST

/*  The manifest text of a fresh two-layer bundle (cJSON's layout: tabs). */
static char *
s_manifest_text (void)
{
    char *tmp = sf_test_tmpdir ();
    char *dir = s_path (tmp, "x.bundle");
    sf_test_write_bundle (dir, "Fake H100/sm_90/132sm", 90, false);
    char *path = s_path (dir, "manifest.json");
    char *text = sf_test_slurp (path, NULL);
    free (path);
    free (dir);
    sf_test_rmtree (tmp);
    return text;
}

/*  text with the first `from` replaced by `to` (malloc'ed). */
static char *
s_replace (const char *text, const char *from, const char *to)
{
    const char *at = strstr (text, from);
    ck_assert_msg (at != NULL, "no '%s' in the manifest", from);
    size_t head = (size_t) (at - text), tail = strlen (at + strlen (from));
    char *out = malloc (head + strlen (to) + tail + 1);
    memcpy (out, text, head);
    strcpy (out + head, to);
    strcat (out, at + strlen (from));
    return out;
}

START_TEST (test_unknown_version_refused)
{
    char *text = s_manifest_text ();
    char *v2 = s_replace (text, "\"version\":\t1", "\"version\":\t3");
    sf_manifest_t *m = NULL;
    char err[SF_MANIFEST_ERR_MAX];
    ck_assert_int_eq (sf_manifest_parse (text, strlen (text), &m, err, sizeof err), SFRT_OK);
    sf_manifest_destroy (&m);
    /* refused as a version even when the rest would not parse either */
    char *odd = s_replace (v2, "\"layers\":", "\"strata\":");
    ck_assert_int_eq (sf_manifest_parse (odd, strlen (odd), &m, err, sizeof err), SFRT_ERR_VERSION);
    ck_assert_ptr_null (m);
    ck_assert_ptr_nonnull (strstr (err, "version 3 is not supported"));

    /* through sf_bundle_load: SF_ERR_SCHEMA */
    char *tmp = sf_test_tmpdir ();
    char *dir = s_path (tmp, "v.bundle");
    sf_test_write_bundle (dir, "Fake H100/sm_90/132sm", 90, false);
    char *path = s_path (dir, "manifest.json");
    sf_test_spill (path, v2, strlen (v2));
    ck_assert_ptr_null (sf_bundle_load (dir));
    ck_assert_int_eq (sf_error_last (), SF_ERR_SCHEMA);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "manifest.json: version"));
    free (path);
    free (dir);
    sf_test_rmtree (tmp);
    free (odd);
    free (v2);
    free (text);
}
END_TEST

START_TEST (test_malformed_fields_named)
{
    static const struct {
        const char *from, *to, *field;
    } cases[] = {
        { "\"vec\":\t4", "\"vec\":\t3", "layers[0].launch.vec: must be 1, 2 or 4" },
        { "\"vec\":\t4", "\"vec\":\t8", "layers[0].launch.vec: 8 is out of range" },
        { "\"m\":\t70", "\"m\":\t-1", "layers[0].m: -1 is out of range" },
        { "\"m\":\t70", "\"m\":\t70.5", "layers[0].m: expected an integer" },
        { "\"k\":\t27", "\"k\":\t\"27\"", "layers[0].k: expected number, got string" },
        { "\"name\":\t\"fc1\"", "\"name\":\t\"../x\"", "layers[0].name: '../x' is not" },
        { "\"name\":\t\"fc2\"", "\"name\":\t\"fc1\"", "layers[1].name: \"fc1\" is also layers[0]'s" },
        { "\"entry\":\t\"sf_u_fc1\"", "\"entry\":\t\"1x\"", "layers[0].entry: '1x' is not an identifier" },
        { "\"entry\":\t\"sf_u_fc1\",", "", "layers[0].entry: missing" },
        { "\"bias\":\ttrue", "\"bias\":\t1", "layers[0].bias: expected boolean, got number" },
        { "\"template\":\t\"U\"", "\"template\":\t\"X\"", "layers[0].template: 'X' is not U, D, T or dense" },
        { "\"template\":\t\"U\"", "\"template\":\t\"D\"", "layers[0].data: template D needs a data file" },
        { "\"sha256\":\t\"", "\"sha256\":\t\"00", "layers[0].cubin.sha256: longer than 64 bytes" },
        { "\"sha256\":\t\"", "\"sha256\":\t\"Z\", \"x\":\t\"", "layers[0].cubin.sha256: expected 64 lowercase hex" },
        { "\"file\":\t\"kernels/fc1.cubin\"", "\"file\":\t\"../../etc/passwd\"",
          "layers[0].cubin.file: expected \"kernels/fc1.cubin\"" },
        { "\"verified_error\":\t2.5e-07", "\"verified_error\":\t-1", "layers[0].verified_error: must be >= 0" },
        { "\"time_us\":\t12.75", "\"time_us\":\t\"fast\"", "layers[0].time_us: expected number or null" },
        { "\"panel_groups\":\t3", "\"panel_groups\":\t4", "layers[0].grid: expected y = \"ceil(N/128)\" and x = 4" },
        { "\"y\":\t\"ceil(N/128)\"", "\"y\":\t\"ceil(N/64)\"", "layers[0].grid: expected" },
        { "\"compute_capability\":\t\"9.0\"", "\"compute_capability\":\t\"9\"", "gpu.compute_capability: expected MAJOR.MINOR" },
        { "\"format\":\t\"spmmfarm-bundle\"", "\"format\":\t\"zip\"", "format: \"zip\" is not" },
        { "\"simulated\":\tfalse", "\"simulated\":\ttrue", "layers[0].simulated: simulated and measured" },
        { "\"n\":\t1000", "\"n\":\t100000000", "layers[0].n: 100000000 columns exceed the grid" },
        { "\"layers\":\t[", "\"layers\":\t[3, ", "layers[0]: expected object, got number" },
        { "\"toolkit\":\t\"13.0\"", "\"toolkit\":\t\"13\\u00e9\"", "toolkit: not printable ASCII" },
        { "\"bytes\":\t60", "\"bytes\":\t61", "layers[1].data.bytes: a dense layer holds M*K*4 = 60 bytes" },
        { "\"permutation\":\t\"none\"", "\"permutation\":\t\"rows\"", "layers[1].permutation: 'rows'" },
        { "{", "[", "not JSON" },
    };
    char *text = s_manifest_text ();
    char err[SF_MANIFEST_ERR_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = s_replace (text, cases[i].from, cases[i].to);
        sf_manifest_t *m = NULL;
        int rc = sf_manifest_parse (bad, strlen (bad), &m, err, sizeof err);
        ck_assert_msg (rc == SFRT_ERR_FORMAT, "case %zu (%s): %d", i, cases[i].to, rc);
        ck_assert_ptr_null (m);
        ck_assert_msg (strstr (err, cases[i].field) != NULL, "case %zu: '%s' lacks '%s'", i, err,
                       cases[i].field);
        free (bad);
    }
    free (text);
}
END_TEST

/*  Precision tiers in the manifest (issue 19): per layer precision,
    layout and the dtypes of A, B and C; version 1 while every layer is
    fp32 kn (older runtimes open it), 2 otherwise (they refuse it). */
START_TEST (test_precision_fields)
{
    /* fp32 kn layers: version 1, their dtypes float32 */
    char *text = s_manifest_text ();
    ck_assert_ptr_nonnull (strstr (text, "\"version\":\t1,"));
    ck_assert_ptr_nonnull (strstr (text, "\"precision\":\t\"fp32\",\n\t\t\t\"layout\":\t\"kn\""));
    ck_assert_ptr_nonnull (strstr (text, "\"a\":\t\"float32\",\n\t\t\t\t\"b\":\t\"float32\",\n\t\t\t\t\"c\":\t\"float32\""));
    /* a manifest of before (no such fields) reads as fp32 kn */
    char *old = s_replace (text, "\"precision\":\t\"fp32\",", "");
    char *older = s_replace (old, "\"layout\":\t\"kn\",", "");
    sf_manifest_t *m = NULL;
    char err[SF_MANIFEST_ERR_MAX];
    ck_assert_msg (sf_manifest_parse (older, strlen (older), &m, err, sizeof err) == SFRT_OK, "%s", err);
    ck_assert_int_eq (m->layers[0].tier, SF_TIER_FP32);
    ck_assert_int_eq (m->layers[0].layout, SF_LAYOUT_KN);
    sf_manifest_destroy (&m);

    /* a bf16 nk layer: version 2, its dtypes bfloat16, read back */
    sf_bundle_t *b = sf_bundle_new ("Fake H100/sm_90/132sm", 9, 0, "13.0", "13.0");
    void *c1;
    sf_bundle_layer_t u = sf_test_u_layer ("fc1", "sf_u_fc1", true, &c1);
    u.tier = SF_TIER_BF16;
    u.layout = SF_LAYOUT_NK;
    ck_assert_int_eq (sf_bundle_add_layer (b, &u), SF_OK);
    free (c1);
    char *t2 = sf_bundle_manifest_text (sf_bundle_manifest (b));
    ck_assert_ptr_nonnull (strstr (t2, "\"version\":\t2,"));
    ck_assert_ptr_nonnull (strstr (t2, "\"precision\":\t\"bf16\""));
    ck_assert_ptr_nonnull (strstr (t2, "\"b\":\t\"bfloat16\""));
    ck_assert_msg (sf_manifest_parse (t2, strlen (t2), &m, err, sizeof err) == SFRT_OK, "%s", err);
    ck_assert_int_eq (m->version, 2);
    ck_assert_int_eq (m->layers[0].tier, SF_TIER_BF16);
    ck_assert_int_eq (m->layers[0].layout, SF_LAYOUT_NK);
    sf_manifest_destroy (&m);
    /* refused: dtypes that are not the tier's, an unknown tier, a bf16
       layer in a version-1 manifest (an older writer never made one) */
    static const struct {
        const char *from, *to, *why;
    } cases[] = {
        { "\"b\":\t\"bfloat16\"", "\"b\":\t\"float32\"",
          "layers[0].dtypes.b: \"float32\", but a bf16 layer's is \"bfloat16\"" },
        { "\"precision\":\t\"bf16\"", "\"precision\":\t\"fp8\"", "layers[0].precision: \"fp8\" is not" },
        { "\"layout\":\t\"nk\"", "\"layout\":\t\"mk\"", "layers[0].layout: \"mk\" is not kn or nk" },
        { "\"version\":\t2", "\"version\":\t1", "a bf16 nk layer needs bundle format version 2" },
        { "\"dtypes\":\t{", "\"dtypes\":\t7, \"x\":\t{", "layers[0].dtypes: expected object" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = s_replace (t2, cases[i].from, cases[i].to);
        int rc = sf_manifest_parse (bad, strlen (bad), &m, err, sizeof err);
        ck_assert_msg (rc == SFRT_ERR_FORMAT, "case %zu: %d", i, rc);
        ck_assert_msg (strstr (err, cases[i].why) != NULL, "case %zu: '%s' lacks '%s'", i, err, cases[i].why);
        free (bad);
    }
    /* the writer refuses a tier it does not know */
    u = sf_test_u_layer ("fc9", "sf_u_fc9", false, &c1);
    u.tier = (sf_tier) 7;
    ck_assert_int_eq (sf_bundle_add_layer (b, &u), SF_ERR_INVALID);
    free (c1);
    free (t2);
    sf_bundle_destroy (&b);
    free (older);
    free (old);
    free (text);
}
END_TEST

START_TEST (test_writer_refuses)
{
    sf_bundle_t *b = sf_bundle_new ("Fake H100/sm_90/132sm", 9, 0, "13.0", "13.0");
    void *c1, *c2;
    float a[15];
    sf_bundle_layer_t u = sf_test_u_layer ("fc1", "sf_u_fc1", false, &c1);
    sf_bundle_layer_t bad = u;
    bad.name = "a/b";
    ck_assert_int_eq (sf_bundle_add_layer (b, &bad), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "name: 'a/b' is not"));
    bad = u;
    bad.kernel.launch.vec = 3;
    ck_assert_int_eq (sf_bundle_add_layer (b, &bad), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "launch"));
    bad = u;
    bad.source_ext = "c";
    ck_assert_int_eq (sf_bundle_add_layer (b, &bad), SF_ERR_INVALID);
    bad = u;
    bad.kernel.cubin = NULL;
    ck_assert_int_eq (sf_bundle_add_layer (b, &bad), SF_ERR_INVALID);
    bad = u;
    bad.config = "U:r16.v4.t32.g2.o1.m64.sim.......................................................";
    ck_assert_int_eq (sf_bundle_add_layer (b, &bad), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "config is missing or longer than 63"));

    /* nothing to write yet */
    ck_assert_int_eq (sf_bundle_write (b, "/nonexistent/x.bundle", false), SF_ERR_INVALID);

    ck_assert_int_eq (sf_bundle_add_layer (b, &u), SF_OK);
    ck_assert_int_eq (sf_bundle_add_layer (b, &u), SF_ERR_EXISTS);
    sf_bundle_layer_t d = sf_test_dense_layer ("fc2", a, &c2);
    d.kernel.data_size = 12;
    ck_assert_int_eq (sf_bundle_add_layer (b, &d), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "M*K*4 = 60 bytes (A plain) or 32832 (A split), not 12"));
    d.kernel.data_size = sizeof a;
    d.simulated = true;
    ck_assert_int_eq (sf_bundle_add_layer (b, &d), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "never share a bundle"));
    d.simulated = false;
    d.kernel.data = NULL;
    ck_assert_int_eq (sf_bundle_add_layer (b, &d), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "needs a data file"));
    ck_assert_int_eq (sf_bundle_write (b, "/nonexistent/x.bundle", false), SF_ERR_IO);
    ck_assert_ptr_null (sf_bundle_new ("t", 0, 0, "13.0", "13.0"));
    ck_assert_ptr_null (sf_bundle_new (NULL, 9, 0, "13.0", "13.0"));
    free (c1);
    free (c2);
    sf_bundle_destroy (&b);
}
END_TEST

/* ---- real kernels ------------------------------------------------------------ */

START_TEST (test_real_kernels)
{
    /* a U kernel from proxygen, compiled by nvJitLink */
    sf_matrix_t *a = sf_matrix_new_random (70, 27, 0.7, 5);
    sf_config_t c = { SF_TEMPLATE_U, 16, 4, 32, 2, 1, 64, SF_REORDER_SIMILARITY, SF_D_ROWS, 0, 0 };
    sf_panels_t *panels = sf_panels_new (a, c.panel_rows, c.reorder);
    sf_buf_t *ptx = sf_buf_new (16u << 20);
    sf_epilogue_t epi = { false, true };
    sf_launch_t launch;
    ck_assert_int_eq (sf_emit_u_full (a, panels, &c, &epi, ptx, &launch), SF_OK);
    void *cubin;
    size_t cubin_size;
    ck_assert_int_eq (sf_jit_ptx (sf_buf_data (ptx), NULL, &cubin, &cubin_size, NULL), SF_OK);
    char config[SF_CONFIG_TEXT_MAX];
    sf_bundle_layer_t u = {
        .name = "conv1", .m = 70, .k = 27, .n = 4096, .matrix_hash = sf_matrix_hash (a),
        .tmpl = "U", .config = sf_config_text (&c, config),
        .kernel = { .launch = launch, .cubin = cubin, .cubin_size = cubin_size,
                    .source = (char *) sf_buf_data (ptx), .source_size = sf_buf_size (ptx) },
        .permuted = true, .relu = true, .verified_error = NAN, .time_us = NAN, .source_ext = "ptx",
    };
    /* the generic dense kernel, compiled by NVRTC */
    sf_bundle_layer_t d = { .name = "fc", .n = 100 };
    void *dense_cubin;
    char *dense_source;
    int rc = sf_bundle_dense_kernel (70, 27, true, false, "sm_90", &d, &dense_cubin, &dense_source);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert_ptr_nonnull (strstr (dense_source, "#define SF_M 70L"));
    ck_assert_int_eq (d.kernel.launch.panel_groups, 2);
    ck_assert_str_eq (d.kernel.launch.entry, "sf_dense");
    float *dense = malloc (70 * 27 * sizeof *dense);
    sf_matrix_densify (a, dense);
    d.kernel.data = dense;
    d.kernel.data_size = 70 * 27 * sizeof *dense;

    sf_bundle_t *b = sf_bundle_new ("Fake H100/sm_90/132sm", 9, 0, sf_jit_version (), "13.0");
    ck_assert_int_eq (sf_bundle_add_layer (b, &u), SF_OK);
    ck_assert_int_eq (sf_bundle_add_layer (b, &d), SF_OK);
    char *tmp = sf_test_tmpdir ();
    char *dir = s_path (tmp, "real.bundle");
    ck_assert_int_eq (sf_bundle_write (b, dir, false), SF_OK);
    sf_bundle_t *back = sf_bundle_load (dir);
    ck_assert_msg (back != NULL, "%s", sf_error_message ());
    const sf_manifest_t *m = sf_bundle_manifest (back);
    ck_assert_str_eq (m->layers[0].entry, launch.entry);
    ck_assert_str_eq (m->layers[0].matrix, sf_matrix_hash (a));
    ck_assert_double_lt (m->layers[0].verified_error, 0);  /* NaN: not verified */
    ck_assert_str_eq (m->layers[1].source.file, "src/fc.cu");
    size_t size;
    ck_assert_int_eq (memcmp (sf_bundle_cubin (back, 0, &size), "\177ELF", 4), 0);
    ck_assert_int_eq (memcmp (sf_bundle_cubin (back, 1, &size), "\177ELF", 4), 0);
    uint32_t grid[3];
    ck_assert (sf_manifest_grid (&m->layers[1], 100, grid));
    ck_assert_uint_eq (grid[0], 2);  /* ceil(100 / 64) column blocks */
    ck_assert_uint_eq (grid[1], 2);  /* ceil(70 / 64) row blocks */

    /* a bad architecture */
    sf_bundle_layer_t bad = { 0 };
    void *bc;
    char *bs;
    ck_assert_int_eq (sf_bundle_dense_kernel (4, 4, false, false, "gfx90a", &bad, &bc, &bs), SF_ERR_INVALID);
    int major, minor;
    ck_assert (sf_bundle_parse_arch ("sm_120", &major, &minor) && major == 12 && minor == 0);
    ck_assert (sf_bundle_parse_arch ("sm_86", &major, &minor) && major == 8 && minor == 6);
    ck_assert (!sf_bundle_parse_arch ("sm_90a", &major, &minor));

    sf_bundle_destroy (&back);
    sf_bundle_destroy (&b);
    free (dense);
    free (dense_cubin);
    free (dense_source);
    free (cubin);
    free (dir);
    sf_test_rmtree (tmp);
    sf_buf_destroy (&ptx);
    sf_panels_destroy (&panels);
    sf_matrix_destroy (&a);
}
END_TEST


/*  The writer deletes nothing it did not write (issue 24, 1): folders named
    DIR.tmp and DIR.old are someone else's; a DIR that is not a bundle (or
    a link) is never replaced; a replaced bundle loses only its own files. */
START_TEST (test_writer_deletes_only_its_own)
{
    char *tmp = sf_test_tmpdir ();
    char *dir = s_path (tmp, "w.bundle");
    char *stale_tmp = s_path (tmp, "w.bundle.tmp"), *stale_old = s_path (tmp, "w.bundle.old");
    char *keep1 = s_path (tmp, "w.bundle.tmp/precious"), *keep2 = s_path (tmp, "w.bundle.old/precious");
    ck_assert_int_eq (mkdir (stale_tmp, 0700), 0);
    ck_assert_int_eq (mkdir (stale_old, 0700), 0);
    sf_test_spill (keep1, "mine", 4);
    sf_test_spill (keep2, "mine", 4);
    sf_test_write_bundle (dir, "Fake H100/sm_90/132sm", 90, false);  /* writes, then replaces */
    sf_test_write_bundle (dir, "Fake H100/sm_90/132sm", 90, false);
    struct stat st;
    ck_assert_int_eq (stat (keep1, &st), 0);
    ck_assert_int_eq (stat (keep2, &st), 0);

    /* a bundle holding a file of someone else's: the bundle's files go, that stays */
    char *extra = s_path (dir, "kernels/notes.txt");
    sf_test_spill (extra, "mine", 4);
    sf_test_write_bundle (dir, "Fake H100/sm_90/132sm", 90, false);
    char cmd[4400];
    snprintf (cmd, sizeof cmd, "test -f %s/w.bundle.old.*/kernels/notes.txt && ! test -e %s/w.bundle.old.*/manifest.json",
              tmp, tmp);
    ck_assert_int_eq (system (cmd), 0);

    /* not a bundle: a folder without a manifest, a link, a file */
    char *plain = s_path (tmp, "plain"), *inside = s_path (tmp, "plain/data.txt");
    ck_assert_int_eq (mkdir (plain, 0700), 0);
    sf_test_spill (inside, "mine", 4);
    sf_bundle_t *b = sf_bundle_load (dir);
    ck_assert_ptr_nonnull (b);
    ck_assert_int_eq (sf_bundle_write (b, plain, true), SF_ERR_EXISTS);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "is not a bundle"));
    ck_assert_int_eq (stat (inside, &st), 0);
    char *link = s_path (tmp, "link.bundle");
    ck_assert_int_eq (symlink (dir, link), 0);
    ck_assert_int_eq (sf_bundle_write (b, link, true), SF_ERR_EXISTS);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "symbolic link"));
    ck_assert_int_eq (stat (dir, &st), 0);
    sf_bundle_destroy (&b);
    free (dir);
    free (stale_tmp);
    free (stale_old);
    free (keep1);
    free (keep2);
    free (extra);
    free (plain);
    free (inside);
    free (link);
    sf_test_rmtree (tmp);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("bundle");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_json_values);
    tcase_add_test (tc, test_json_rejects);
    tcase_add_test (tc, test_roundtrip);
    tcase_add_test (tc, test_tampering_detected);
    tcase_add_test (tc, test_unknown_version_refused);
    tcase_add_test (tc, test_malformed_fields_named);
    tcase_add_test (tc, test_precision_fields);
    tcase_add_test (tc, test_writer_refuses);
    tcase_add_test (tc, test_writer_deletes_only_its_own);
    tcase_add_test (tc, test_real_kernels);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
