/*  check_storejson: `store dump`'s lines (store/sf_storejson) from a real
    LMDB store holding one record of every type (sf_check_store_fill),
    read back: every JSON line parses and carries the record's fields, the
    text lines name the key and the fields, --db picks one database. */
#include <check.h>
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "tests/sf_check_store.h"
#include "common/sf_error.h"
#include "common/sf_sha256.h"
#include "store/sf_storejson.h"

/*  The dump of dir (a filled store) into a malloc'ed string. */
static char *
s_dump (int db, bool json, uint64_t *count)
{
    uint8_t hash[SF_STORE_HASH_BYTES];
    sf_check_store_filled (sf_check_store_dir, hash);
    sf_store_t *store = sf_store_open (sf_check_store_dir, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (store);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    ck_assert_ptr_nonnull (out);
    ck_assert_int_eq (sf_storejson_dump (store, db, json, out, count), SF_OK);
    fclose (out);
    sf_store_destroy (&store);
    return text;
}

/*  The JSON line of database `db` in text (parsed; caller deletes). */
static cJSON *
s_line (const char *text, const char *db)
{
    char want[64];
    snprintf (want, sizeof want, "{\"db\":\"%s\"", db);
    const char *at = strstr (text, want);
    ck_assert_msg (at != NULL, "no %s line in %s", db, text);
    const char *end = strchr (at, '\n');
    ck_assert_ptr_nonnull (end);
    cJSON *line = cJSON_ParseWithLength (at, (size_t) (end - at));
    ck_assert_msg (line != NULL, "%.*s is not JSON", (int) (end - at), at);
    return line;
}

static const cJSON *
s_get (const cJSON *o, const char *path)
{
    char copy[128];
    snprintf (copy, sizeof copy, "%s", path);
    const cJSON *at = o;
    for (char *save, *part = strtok_r (copy, ".", &save); part; part = strtok_r (NULL, ".", &save)) {
        at = cJSON_GetObjectItemCaseSensitive (at, part);
        ck_assert_msg (at != NULL, "no %s", path);
    }
    return at;
}

START_TEST (test_json)
{
    uint64_t count = 0;
    char *text = s_dump (-1, true, &count);
    /* the three meta records and the seven of sf_check_store_fill */
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq ((uint64_t) lines, count);
    ck_assert_uint_ge (count, 8);
    cJSON *c = s_line (text, "campaigns");
    ck_assert_int_eq ((int) s_get (c, "key.id")->valuedouble, 1);
    ck_assert_str_eq (s_get (c, "value.name")->valuestring, "bert-base");
    ck_assert_str_eq (s_get (c, "value.strategy")->valuestring, "proxy");
    ck_assert_int_eq (cJSON_GetArraySize (s_get (c, "value.layers")), 2);
    ck_assert_double_eq (s_get (c, "value.counters.wall_s")->valuedouble, 12.5);
    cJSON_Delete (c);
    cJSON *j = s_line (text, "jobs");
    ck_assert_int_eq (cJSON_GetArraySize (s_get (j, "value.configs")), 3);
    ck_assert_str_eq (s_get (j, "value.error")->valuestring, "CUDA_ERROR_LAUNCH_TIMEOUT on try 1");
    cJSON_Delete (j);
    cJSON *r = s_line (text, "results");
    ck_assert_str_eq (s_get (r, "key.gpu_type")->valuestring, "NVIDIA H100 80GB HBM3/sm_90/132sm");
    ck_assert_str_eq (s_get (r, "key.template")->valuestring, "U");
    ck_assert_double_eq (s_get (r, "value.us")->valuedouble, 31.5);
    ck_assert_int_eq ((int) s_get (r, "value.samples")->valuedouble, 25);
    ck_assert_str_eq (s_get (r, "value.status_text")->valuestring, "ok");
    ck_assert_int_eq ((int) strlen (s_get (r, "value.kernel")->valuestring), 64);
    cJSON_Delete (r);
    cJSON *k = s_line (text, "kernels");
    ck_assert_int_eq ((int) s_get (k, "value.cubin_bytes")->valuedouble, 1000);  /* a blob as its size */
    ck_assert_str_eq (s_get (k, "value.entry")->valuestring, "spmm_u_r32");
    cJSON_Delete (k);
    cJSON *b = s_line (text, "best");
    ck_assert_double_eq (s_get (b, "value.sgemm_us")->valuedouble, 137);
    ck_assert (cJSON_IsNull (s_get (b, "value.cusparse_us")));  /* NaN: JSON has none */
    cJSON_Delete (b);
    cJSON *m = s_line (text, "models");
    ck_assert_double_eq (s_get (m, "value.metrics.recall@10")->valuedouble, 0.93);
    cJSON_Delete (m);
    cJSON *x = s_line (text, "matrices");
    ck_assert_int_eq ((int) s_get (x, "value.m")->valuedouble, 48);
    ck_assert_int_eq ((int) s_get (x, "value.nnz")->valuedouble, 384);
    cJSON_Delete (x);
    free (text);
}
END_TEST

START_TEST (test_text_and_db)
{
    uint64_t count = 0;
    char *text = s_dump (sf_record_db_parse ("best"), false, &count);
    ck_assert_uint_eq (count, 1);
    ck_assert_msg (strncmp (text, "best ", 5) == 0, "%s", text);
    ck_assert_ptr_nonnull (strstr (text, " template=U "));
    ck_assert_ptr_nonnull (strstr (text, " cusparse_us=nan "));
    ck_assert_ptr_nonnull (strstr (text, " us=31.5 "));
    free (text);
    text = s_dump (sf_record_db_parse ("campaigns"), false, &count);
    ck_assert_uint_eq (count, 1);
    /* nested objects as parent.name=value */
    ck_assert_ptr_nonnull (strstr (text, " counters.jobs_total=4 "));
    ck_assert_ptr_nonnull (strstr (text, " search.precision=fp32 "));
    free (text);
}
END_TEST

START_TEST (test_write_one)
{
    sf_matrix_t *m = sf_matrix_new_random (4, 3, 0.5, 1);
    sf_record_t r;
    memset (&r, 0, sizeof r);
    r.db = SF_DB_MATRICES;
    ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (m), r.u.matrix.hash), SF_OK);
    r.u.matrix.matrix = m;
    cJSON *key = sf_storejson_key (&r);
    ck_assert_str_eq (cJSON_GetObjectItem (key, "hash")->valuestring, sf_matrix_hash (m));
    cJSON_Delete (key);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    ck_assert_int_eq (sf_storejson_write (&r, false, out), SF_OK);
    fclose (out);
    ck_assert_ptr_nonnull (strstr (text, " m=4 k=3 nnz=6 sparsity=0.5\n"));
    free (text);
    sf_matrix_destroy (&m);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("storejson");
    TCase *tc = tcase_create ("storejson");
    tcase_add_checked_fixture (tc, sf_check_store_setup, sf_check_store_teardown);
    tcase_add_test (tc, test_json);
    tcase_add_test (tc, test_text_and_db);
    tcase_add_test (tc, test_write_one);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
