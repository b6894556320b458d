/*  sf_modelsource: a rank model from a file or a store. */
#include "rankmodel/sf_modelsource.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "rankmodel/sf_rankstore.h"

bool
sf_modelsource_is_t_file (const char *path)
{
    struct stat st;
    if (stat (path, &st) != 0 || S_ISDIR (st.st_mode))
        return false;
    sf_rankmodel_t *m = sf_rankmodel_load_file (path);
    bool t = m && sf_rankmodel_has_tfeatures (m);
    sf_rankmodel_destroy (&m);
    return t;
}

/*  A model file: its provenance (booster attributes) goes into record, and a
    model of another GPU type is refused (a sim model never ranks for a real
    GPU, nor an A100's for an H100). A file without provenance (trained
    before it was written) loads with a warning and a zero record. */
static sf_rankmodel_t *
s_load_model_file (const char *path, const char *gpu_type, sf_store_model_t *record)
{
    sf_rankmodel_t *m = sf_rankmodel_load_file (path);
    sf_store_model_t rec;
    int rc = m ? sf_rankmodel_provenance (m, &rec) : SF_OK;
    if (m && rc == SF_ERR_NOTFOUND)
        sf_log_warn ("tune", "%s: the model does not say which GPU type it was trained for: "
                     "using it for %s", path, gpu_type);
    else if (m && rc != SF_OK) {
        sf_error_prefix ("%s: ", path);
        sf_rankmodel_destroy (&m);
    } else if (m && strcmp (rec.gpu_type, gpu_type) != 0) {
        sf_error_set (SF_ERR_INVALID, "%s: a rank model of %s, not of this GPU type (%s)", path,
                      rec.gpu_type, gpu_type);
        sf_rankmodel_destroy (&m);
    } else if (m && record)
        *record = rec;
    return m;
}

/*  A template T model file: T features, and of gpu_type's T key when
    its provenance says (a file that says nothing loads, with a warning). */
static sf_rankmodel_t *
s_load_t_file (const char *path, const char *gpu_type, sf_store_model_t *record)
{
    sf_rankmodel_t *m = sf_rankmodel_load_file (path);
    char key[SF_STORE_GPU_TYPE_MAX];
    sf_store_model_t rec;
    int rc = m ? sf_rankstore_t_key (gpu_type, key, sizeof key) : SF_OK;
    if (m && rc == SF_OK && !sf_rankmodel_has_tfeatures (m))
        rc = sf_error_set (SF_ERR_SCHEMA, "%s: not a template T model of this build's features", path);
    if (m && rc == SF_OK)
        rc = sf_rankmodel_provenance (m, &rec);
    if (m && rc == SF_ERR_NOTFOUND) {
        sf_log_warn ("tune", "%s: the T model does not say which GPU type it was trained for: using it for %s",
                     path, gpu_type);
        rc = SF_OK;
    } else if (m && rc == SF_OK && strcmp (rec.gpu_type, key) != 0) {
        rc = sf_error_set (SF_ERR_INVALID, "%s: a rank model of %s, not template T's of this GPU type (%s)", path,
                           rec.gpu_type, key);
        sf_record_model_free (&rec);
    } else if (m && rc == SF_OK && record)
        *record = rec;
    else if (m && rc == SF_OK)
        sf_record_model_free (&rec);
    if (m && rc != SF_OK)
        sf_rankmodel_destroy (&m);
    return m;
}

/*  Either family's model of gpu_type from source (t: template T's, read
    from a file as gpu_type's T key, from a store under it). */
static sf_rankmodel_t *
s_load (const char *source, const char *gpu_type, bool t, sf_store_model_t *record, bool *soft)
{
    struct stat st;
    char *dir = source ? strdup (source) : sf_store_default_dir ();
    sf_rankmodel_t *m = NULL;
    *soft = false;
    if (record)  /* the caller frees it whatever happens: never garbage */
        memset (record, 0, sizeof *record);
    if (!dir)
        *soft = sf_error_set (SF_ERR_NOTFOUND, "no store given and no default store") != 0;
    else if (stat (dir, &st) != 0) {
        sf_error_set (SF_ERR_NOTFOUND, "%s: no such model file or store", dir);
        *soft = source == NULL;
    } else if (!S_ISDIR (st.st_mode) && t)
        m = s_load_t_file (dir, gpu_type, record);
    else if (!S_ISDIR (st.st_mode))
        m = s_load_model_file (dir, gpu_type, record);
    else {
        sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
        m = !store ? NULL : t ? sf_rankstore_get_t (store, gpu_type, 0, record)
                              : sf_rankstore_get (store, gpu_type, 0, record);
        *soft = store && !m && sf_error_last () == SF_ERR_NOTFOUND;
        sf_store_destroy (&store);
    }
    free (dir);
    return m;
}

sf_rankmodel_t *
sf_modelsource_load (const char *source, const char *gpu_type, sf_store_model_t *record, bool *soft)
{
    return s_load (source, gpu_type, false, record, soft);
}

sf_rankmodel_t *
sf_modelsource_load_t (const char *source, const char *gpu_type, sf_store_model_t *record, bool *soft)
{
    return s_load (source, gpu_type, true, record, soft);
}
