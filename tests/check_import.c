/*  check_import: model manifests from real safetensors checkpoints
    (store/sf_import), written by tests/ckpt_gen.py (one file and a sharded
    one), read back as JSON: the selection rules, biases, relative paths,
    the report's counts, and the refusals (a manifest that exists, a
    missing or wrongly shaped named tensor, a bias of the wrong length, two
    tensors of one bundle name, bounds), none of which writes a file. */
#include <check.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "common/sf_error.h"
#include "store/sf_import.h"

static char *s_dir;

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("import");
    ck_assert_int_eq (chdir (s_dir), 0);
}

static void
s_teardown (void)
{
    ck_assert_int_eq (chdir ("/"), 0);
    sf_check_dir_destroy (&s_dir);
}

/*  ckpt_gen.py ARGS in the test's directory. */
static void
s_gen (const char *args)
{
    char cmd[2048];
    snprintf (cmd, sizeof cmd, "python3 '%s/tests/ckpt_gen.py' %s", SF_TOP_SRCDIR, args);
    ck_assert_msg (system (cmd) == 0, "%s failed", cmd);
}

static sf_import_opts_t
s_opts (void)
{
    return (sf_import_opts_t) { .min_sparsity = 0.5, .tokens = 512, .name_max = 128, .layers_max = 4096 };
}

static const cJSON *
s_layer (const cJSON *manifest, int i)
{
    const cJSON *l = cJSON_GetArrayItem (cJSON_GetObjectItem (manifest, "layers"), i);
    ck_assert_ptr_nonnull (l);
    return l;
}

#define S_ONE "one.safetensors enc.layer.0.query.weight:F32:48x32:0.9 enc.layer.0.query.bias:F32:48 " \
              "enc.layer.0.out.weight:BF16:32x48:0.95 enc.layer.10.query.weight:F16:48x32:0.7 " \
              "enc.layer.10.query.bias:F16:48 enc.layer.2.query.weight:F32:48x32:0.3 " \
              "enc.layer.0.norm.weight:F32:32 emb.weight:F32:100x32:0.0 conv.weight:F32:8x3x3x3:0.9 step:I64:1"

START_TEST (test_defaults)
{
    s_gen (S_ONE);
    sf_import_opts_t o = s_opts ();
    sf_import_report_t r;
    ck_assert_msg (sf_import_write ("one.safetensors", "one.json", &o, &r) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (r.tensors, 10);
    ck_assert_int_eq (r.shards, 1);
    ck_assert_int_eq (r.matched, 7);
    ck_assert_int_eq (r.not_2d, 2);
    ck_assert_int_eq (r.too_dense, 2);
    ck_assert_int_eq (r.taken, 3);
    ck_assert_int_eq (r.with_bias, 2);
    ck_assert_str_eq (r.checkpoint, "one.safetensors");
    cJSON *m = sf_check_farm_read_json ("one.json");
    ck_assert_int_eq (cJSON_GetObjectItem (m, "n")->valueint, 512);
    ck_assert_str_eq (cJSON_GetObjectItem (m, "precision")->valuestring, "fp32");
    ck_assert_str_eq (cJSON_GetObjectItem (m, "name")->valuestring, r.name);
    /* natural order: layer.0 before layer.10; relative paths; biases */
    ck_assert_str_eq (cJSON_GetObjectItem (s_layer (m, 0), "name")->valuestring, "enc.layer.0.out.weight");
    ck_assert (cJSON_IsFalse (cJSON_GetObjectItem (s_layer (m, 0), "bias")));
    ck_assert_str_eq (cJSON_GetObjectItem (s_layer (m, 0), "dtype")->valuestring, "BF16");
    ck_assert_str_eq (cJSON_GetObjectItem (s_layer (m, 1), "name")->valuestring, "enc.layer.0.query.weight");
    ck_assert (cJSON_IsTrue (cJSON_GetObjectItem (s_layer (m, 1), "bias")));
    ck_assert_str_eq (cJSON_GetObjectItem (s_layer (m, 1), "file")->valuestring, "one.safetensors");
    ck_assert_int_eq (cJSON_GetObjectItem (s_layer (m, 1), "m")->valueint, 48);
    ck_assert_int_eq (cJSON_GetObjectItem (s_layer (m, 1), "k")->valueint, 32);
    ck_assert_str_eq (cJSON_GetObjectItem (s_layer (m, 2), "name")->valuestring, "enc.layer.10.query.weight");
    cJSON_Delete (m);
    /* there now: refused unless forced */
    ck_assert_int_eq (sf_import_write ("one.safetensors", "one.json", &o, &r), SF_ERR_EXISTS);
    o.force = true;
    o.min_sparsity = 0.25;
    o.tier = SF_TIER_BF16;
    o.layout = SF_LAYOUT_NK;
    o.name = "bert";
    ck_assert_int_eq (sf_import_write ("one.safetensors", "one.json", &o, &r), SF_OK);
    ck_assert_int_eq (r.taken, 4);  /* the 30 % layer too */
    m = sf_check_farm_read_json ("one.json");
    ck_assert_str_eq (cJSON_GetObjectItem (m, "precision")->valuestring, "bf16");
    ck_assert_str_eq (cJSON_GetObjectItem (m, "layout")->valuestring, "nk");
    ck_assert_str_eq (cJSON_GetObjectItem (m, "name")->valuestring, "bert");
    cJSON_Delete (m);
}
END_TEST

START_TEST (test_select)
{
    s_gen (S_ONE);
    sf_import_opts_t o = s_opts ();
    o.patterns[o.npatterns++] = "*.query.weight";
    o.excludes[o.nexcludes++] = "enc.layer.10.*";
    sf_import_report_t r;
    ck_assert_int_eq (sf_import_write ("one.safetensors", "pat.json", &o, &r), SF_OK);
    ck_assert_int_eq (r.taken, 1);
    cJSON *m = sf_check_farm_read_json ("pat.json");
    ck_assert_str_eq (cJSON_GetObjectItem (s_layer (m, 0), "name")->valuestring, "enc.layer.0.query.weight");
    cJSON_Delete (m);
    /* a named tensor alone, whatever its sparsity */
    o = s_opts ();
    o.tensors[o.ntensors++] = "emb.weight";
    ck_assert_int_eq (sf_import_write ("one.safetensors", "named.json", &o, &r), SF_OK);
    ck_assert_int_eq (r.taken, 1);
    m = sf_check_farm_read_json ("named.json");
    ck_assert_int_eq (cJSON_GetObjectItem (s_layer (m, 0), "sparsity")->valueint, 0);
    cJSON_Delete (m);
}
END_TEST

START_TEST (test_sharded_dir)
{
    s_gen ("ck --shards 2 a.weight:F32:16x8:0.9 a.bias:F32:16 b.weight:F16:8x16:0.8");
    ck_assert_int_eq (mkdir ("out", 0777), 0);
    char path[SF_IMPORT_PATH_MAX];
    ck_assert_int_eq (sf_import_path ("out", NULL, path, sizeof path), SF_OK);
    ck_assert_str_eq (path, "out/manifest.json");
    ck_assert_int_eq (sf_import_path ("made", "m.json", path, sizeof path), SF_OK);
    ck_assert_str_eq (path, "made/m.json");
    struct stat st;
    ck_assert_int_eq (stat ("made", &st), 0);  /* --dir is created */
    ck_assert_int_eq (sf_import_path (NULL, "x.json", path, sizeof path), SF_OK);
    ck_assert_str_eq (path, "x.json");
    sf_import_opts_t o = s_opts ();
    sf_import_report_t r;
    ck_assert_msg (sf_import_write ("ck", "ck/manifest.json", &o, &r) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (r.shards, 2);
    ck_assert_int_eq (r.taken, 2);
    ck_assert_int_eq (r.with_bias, 1);
    ck_assert_str_eq (r.name, "ck");  /* the checkpoint's folder */
    cJSON *m = sf_check_farm_read_json ("ck/manifest.json");
    /* the shards lie below the manifest: relative names */
    const char *file = cJSON_GetObjectItem (s_layer (m, 0), "file")->valuestring;
    ck_assert_msg (strncmp (file, "model-", 6) == 0, "%s", file);
    cJSON_Delete (m);
    /* a manifest elsewhere names them absolutely */
    ck_assert_int_eq (sf_import_write ("ck", "out/m.json", &o, &r), SF_OK);
    m = sf_check_farm_read_json ("out/m.json");
    ck_assert_int_eq (cJSON_GetObjectItem (s_layer (m, 0), "file")->valuestring[0], '/');
    cJSON_Delete (m);
}
END_TEST

START_TEST (test_refusals)
{
    s_gen (S_ONE);
    s_gen ("badbias.safetensors fc.weight:F32:16x8:0.9 fc.bias:F32:15");
    s_gen ("same.safetensors a.b/c.weight:F32:8x8:0.9 'a.b?c.weight:F32:8x8:0.9'");
    sf_import_opts_t o = s_opts ();
    o.tensors[o.ntensors++] = "enc.layer.9.query.weight";
    ck_assert_int_eq (sf_import_write ("one.safetensors", "x.json", &o, NULL), SF_ERR_NOTFOUND);
    o = s_opts ();
    o.tensors[o.ntensors++] = "conv.weight";
    ck_assert_int_eq (sf_import_write ("one.safetensors", "x.json", &o, NULL), SF_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "4 dimensions"));
    o = s_opts ();
    o.min_sparsity = 0.99;
    ck_assert_int_eq (sf_import_write ("one.safetensors", "x.json", &o, NULL), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "7 of its 10 tensors matched, 2 of them not 2-D, 5 below"));
    o = s_opts ();
    ck_assert_int_eq (sf_import_write ("badbias.safetensors", "x.json", &o, NULL), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "1 dimension of 15 elements"));
    ck_assert_int_eq (sf_import_write ("same.safetensors", "x.json", &o, NULL), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "would both be bundle layer 'a.b_c.weight'"));
    /* the bounds the caller gives */
    o.name_max = 10;
    ck_assert_int_eq (sf_import_write ("one.safetensors", "x.json", &o, NULL), SF_ERR_RANGE);
    o = s_opts ();
    o.layers_max = 2;
    ck_assert_int_eq (sf_import_write ("one.safetensors", "x.json", &o, NULL), SF_ERR_RANGE);
    ck_assert_int_ne (sf_import_write ("nothing.safetensors", "x.json", &o, NULL), SF_OK);
    struct stat st;
    ck_assert_int_ne (stat ("x.json", &st), 0);  /* nothing written */
    ck_assert_int_ne (stat ("x.json.tmp", &st), 0);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("import");
    TCase *tc = tcase_create ("import");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_defaults);
    tcase_add_test (tc, test_select);
    tcase_add_test (tc, test_sharded_dir);
    tcase_add_test (tc, test_refusals);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
