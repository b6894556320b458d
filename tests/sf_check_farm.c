/*  tests/sf_check_farm: the shared fixtures of the farm's, the store's
    and the experiments' suites (sf_check_farm.h). */
#include "tests/sf_check_farm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "tests/sf_check_dir.h"

void
sf_check_farm_program (char *buf, size_t size)
{
    const char *top = getenv ("SF_TOP_BUILDDIR");
    snprintf (buf, size, "%s/spmmfarm", top && *top ? top : ".");
}

char *
sf_check_farm_dir (const char *name, char *store, size_t store_size, char *program, size_t program_size)
{
    char *dir = sf_check_dir_new (name);
    snprintf (store, store_size, "%s/store", dir);
    sf_check_farm_program (program, program_size);
    return dir;
}

char *
sf_check_farm_write (const char *dir, const char *name, const char *text)
{
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s/%s", dir, name), 0);
    FILE *f = fopen (path, "w");
    ck_assert_msg (f != NULL, "cannot write %s", path);
    fputs (text, f);
    ck_assert_int_eq (fclose (f), 0);
    return path;
}

cJSON *
sf_check_farm_read_json (const char *path)
{
    FILE *f = fopen (path, "r");
    ck_assert_msg (f != NULL, "no %s", path);
    size_t cap = 1 << 16, n = 0;
    char *text = malloc (cap);
    ck_assert_ptr_nonnull (text);
    size_t got;
    while ((got = fread (text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            text = realloc (text, cap);
            ck_assert_ptr_nonnull (text);
        }
    }
    fclose (f);
    text[n] = '\0';
    cJSON *j = cJSON_Parse (text);
    free (text);
    ck_assert_msg (j != NULL, "%s is not JSON", path);
    return j;
}

sf_suite_t *
sf_check_farm_suite (const char *dir, const char *text)
{
    char *path = sf_check_farm_write (dir, "tiny.conf", text);
    sf_suite_t *suite = sf_suite_load (path);
    ck_assert_msg (suite != NULL, "%s", sf_error_message ());
    free (path);
    return suite;
}

void
sf_check_farm_sweep (const char *path, const char *name, const char *description, int problems)
{
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    fprintf (f, "sweep\n"
                "    name = %s\n"
                "    description = \"%s\"\n"
                "    seed = 11\n"
                "    problems = %d\n"
                "    configs = 6\n"
                "    templates = U\n"
                "    m = 32..64\n"
                "    k = 16..48\n"
                "    n = \"2048\"\n"
                "    align = 16\n"
                "    sparsity = 0.6..0.9\n"
                "    structured = 0.5\n"
                "    skew = 1.0\n", name, description, problems);
    ck_assert_int_eq (fclose (f), 0);
}

void
sf_check_farm_layer (sf_matrix_t **a, sf_request_t *req, sf_device_info_t *dev)
{
    *a = sf_matrix_new_random (64, 48, 0.8, 5);
    ck_assert_ptr_nonnull (*a);
    sf_request_init (req);
    req->max_configs = 3;
    sf_sim_device (dev);
}

void
sf_check_farm_commit_campaign (sf_store_t *store, sf_store_batch_t **batch_p, sf_store_campaign_t *c,
                               const char *strategy, const char *gpu_type, const char *request)
{
    if (strategy)
        snprintf (c->strategy, sizeof c->strategy, "%s", strategy);
    if (gpu_type)
        snprintf (c->gpu_type, sizeof c->gpu_type, "%s", gpu_type);
    if (request)
        snprintf (c->request, sizeof c->request, "%s", request);
    ck_assert_int_eq (sf_store_batch_put_campaign (*batch_p, c), SF_OK);
    ck_assert_int_eq (sf_store_commit (store, *batch_p), SF_OK);
    sf_store_batch_destroy (batch_p);
}
