/*  sf_modelsource: a rank model from a file or a store. */
#include "rankmodel/sf_modelsource.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "rankmodel/sf_rankstore.h"

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

sf_rankmodel_t *
sf_modelsource_load (const char *source, const char *gpu_type, sf_store_model_t *record, bool *soft)
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
    } else if (!S_ISDIR (st.st_mode))
        m = s_load_model_file (dir, gpu_type, record);
    else {
        sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
        m = store ? sf_rankstore_get (store, gpu_type, 0, record) : NULL;
        *soft = store && !m && sf_error_last () == SF_ERR_NOTFOUND;
        sf_store_destroy (&store);
    }
    free (dir);
    return m;
}
