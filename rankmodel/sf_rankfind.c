/*  sf_rankfind: the rank model of a GPU type, from the store or shipped. */
#include "rankmodel/sf_rankfind.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"

#ifndef SF_RANKMODELS_DIR
#define SF_RANKMODELS_DIR ""
#endif
#ifndef SF_SOURCE_DIR
#define SF_SOURCE_DIR ""
#endif

#define S_FILES_MAX 64     /* model files looked at per directory */
#define S_DIRS_MAX 16      /* directories of SPMMFARM_RANKMODELS */

static int
s_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/*  Whether m is a usable model of gpu_type's family t (template T's: T
    features, provenance "TYPE+T"; else U/D features, provenance "TYPE");
    prov (zeroed here) gets its provenance. */
static bool
s_ours (sf_rankmodel_t *m, const char *gpu_type, bool t, sf_store_model_t *prov)
{
    memset (prov, 0, sizeof *prov);
    char want[SF_STORE_GPU_TYPE_MAX];
    if (!m || (t ? !sf_rankmodel_has_tfeatures (m) : !sf_rankmodel_has_features (m))
        || sf_rankmodel_provenance (m, prov) != SF_OK)
        return false;
    if (t && sf_rankstore_t_key (gpu_type, want, sizeof want) != SF_OK)
        return false;
    return strcmp (prov->gpu_type, t ? want : gpu_type) == 0;
}

/*  Tries the *.json files of dir, in name order: true with out filled
    when one is gpu_type's (of family t) and was put into the store. *rc
    gets a store failure. */
static bool
s_try_dir (sf_store_t *store, const char *gpu_type, bool t, const char *dir, sf_rankfind_t *out, int *rc)
{
    DIR *d = dir[0] ? opendir (dir) : NULL;
    if (!d)
        return false;
    char *names[S_FILES_MAX];
    int count = 0;
    struct dirent *e;
    while ((e = readdir (d)) && count < S_FILES_MAX) {
        size_t len = strlen (e->d_name);
        if (len > 5 && strcmp (e->d_name + len - 5, ".json") == 0 && (names[count] = strdup (e->d_name)))
            count++;
    }
    closedir (d);
    qsort (names, (size_t) count, sizeof names[0], s_cmp);
    bool found = false;
    for (int i = 0; i < count; i++) {
        char path[SF_RANKFIND_PATH_MAX];
        if (found || snprintf (path, sizeof path, "%s/%s", dir, names[i]) >= (int) sizeof path)
            continue;
        sf_rankmodel_t *m = sf_rankmodel_load_file (path);
        sf_store_model_t prov;
        bool ours = s_ours (m, gpu_type, t, &prov);
        if (!ours)
            sf_log_debug ("rankfind", "%s: not a usable %smodel of %s", path, t ? "template T " : "", gpu_type);
        if (ours) {
            sf_rankmodel_report_t report = { .problems = prov.problems, .candidates = prov.candidates,
                                             .seconds = prov.seconds };
            char note[SF_RANKFIND_PATH_MAX + 16];
            snprintf (note, sizeof note, "shipped: %s", path);
            *rc = sf_rankstore_put (store, gpu_type, m, &report, note, &out->version);
            if (*rc == SF_OK) {
                found = out->found = out->shipped = true;
                snprintf (out->file, sizeof out->file, "%s", path);
                sf_log_info ("rankfind", "%srank model of %s from %s: version %u in the store",
                             t ? "template T's " : "", gpu_type, path, out->version);
            }
        }
        sf_record_model_free (&prov);
        sf_rankmodel_destroy (&m);
        if (*rc != SF_OK)
            break;
    }
    for (int i = 0; i < count; i++)
        free (names[i]);
    return found;
}

/*  The lookup of either family (t: template T's). */
static int
s_find (sf_store_t *store, const char *gpu_type, bool t, sf_rankfind_t *out)
{
    sf_store_model_t rec;
    memset (&rec, 0, sizeof rec);
    sf_rankmodel_t *m = t ? sf_rankstore_get_t (store, gpu_type, 0, &rec) : sf_rankstore_get (store, gpu_type, 0, &rec);
    if (m) {
        out->found = true;
        out->version = rec.version;
        sf_record_model_free (&rec);
        sf_rankmodel_destroy (&m);
        return SF_OK;
    }
    sf_record_model_free (&rec);
    int rc = SF_OK;
    /* $SPMMFARM_RANKMODELS, then the installed and the source tree's */
    const char *env = getenv ("SPMMFARM_RANKMODELS");
    char *list = strdup (env ? env : "");
    if (!list)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    char *save = NULL;
    int dirs = 0;
    for (char *dir = strtok_r (list, ":", &save); dir && dirs < S_DIRS_MAX && !out->found && rc == SF_OK;
         dir = strtok_r (NULL, ":", &save), dirs++)
        s_try_dir (store, gpu_type, t, dir, out, &rc);
    free (list);
    if (!out->found && rc == SF_OK)
        s_try_dir (store, gpu_type, t, SF_RANKMODELS_DIR, out, &rc);
    if (!out->found && rc == SF_OK && SF_SOURCE_DIR[0]) {
        char dir[SF_RANKFIND_PATH_MAX];
        snprintf (dir, sizeof dir, "%s/conf/rankmodels", SF_SOURCE_DIR);
        s_try_dir (store, gpu_type, t, dir, out, &rc);
    }
    if (!out->found)
        snprintf (out->why, sizeof out->why, "no %srank model of %s in the store or shipped (%s makes one)",
                  t ? "template T " : "", gpu_type, t ? "train --family T" : "spmmfarm train");
    return rc;
}

int
sf_rankfind (sf_store_t *store, const char *gpu_type, sf_tier tier, sf_rankfind_t *out)
{
    memset (out, 0, sizeof *out);
    if (tier != SF_TIER_FP32) {
        snprintf (out->why, sizeof out->why, "rank models rank fp32 kernels only (this is %s)", sf_tier_name (tier));
        return SF_OK;
    }
    return s_find (store, gpu_type, false, out);
}

int
sf_rankfind_tmodel (sf_store_t *store, const char *gpu_type, sf_tier tier, sf_rankfind_t *out)
{
    memset (out, 0, sizeof *out);
    if (tier != SF_TIER_BF16 && tier != SF_TIER_FP16) {
        snprintf (out->why, sizeof out->why, "template T runs in bf16 and fp16 only (this is %s)",
                  sf_tier_name (tier));
        return SF_OK;
    }
    return s_find (store, gpu_type, true, out);
}
