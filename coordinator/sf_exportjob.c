/*  sf_exportjob: EXPORT_REQ in a thread, under the export directory only. */
#include "coordinator/sf_exportjob.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <czmq.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

#define S_DEPTH_MAX 16  /* folders under the export directory */

struct _sf_exportjob_t {
    pthread_t thread;
    sf_store_t *store;
    uint64_t campaign;
    char path[SF_EXPORTJOB_PATH_MAX];
    sf_export_opts_t opts;
    void *tag;
    int rc;
    char text[SF_EXPORT_REPORT_MAX];
    atomic_bool done;
};

static bool
s_name_ok (const char *c, size_t len)
{
    if (len == 0 || c[0] == '.' || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = c[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.'
              || ch == '_' || ch == '-' || ch == '+'))
            return false;
    }
    return true;
}

int
sf_exportjob_path (const char *export_dir, const char *request, char *out, size_t size)
{
    int rc = zsys_dir_create ("%s", export_dir) == 0 && chmod (export_dir, 0700) == 0
                 ? SF_OK
                 : sf_error_set_origin (SF_ERR_IO, errno, "cannot create the export directory %s: %s", export_dir,
                                        strerror (errno));
    char base[PATH_MAX];
    if (rc == SF_OK && !realpath (export_dir, base))
        rc = sf_error_set_origin (SF_ERR_IO, errno, "export directory %s: %s", export_dir, strerror (errno));
    if (rc != SF_OK)
        return rc;
    const char *rel = request;
    if (request[0] == '/') {
        size_t n = strlen (base);
        if (strncmp (request, base, n) != 0 || request[n] != '/')
            return sf_error_set (SF_ERR_DENIED, "%s is not under the coordinator's export directory %s: bundles "
                                 "are written there only (give a name relative to it)", request, base);
        rel = request + n + 1;
    }
    size_t len = strlen (rel);
    if ((size_t) snprintf (out, size, "%s/%s", base, rel) >= size)
        return sf_error_set (SF_ERR_RANGE, "export path too long");
    int depth = 0;
    for (const char *c = rel; *c;) {
        size_t n = strcspn (c, "/");
        if (!s_name_ok (c, n) || ++depth > S_DEPTH_MAX)
            return sf_error_set (SF_ERR_DENIED, "export path '%s': each part must be 1-255 of [A-Za-z0-9._+-], "
                                 "not starting with '.' (at most %d parts)", request, S_DEPTH_MAX);
        if (c[n] == '/') {  /* a folder on the way: made if missing, never a link */
            char folder[SF_EXPORTJOB_PATH_MAX];
            snprintf (folder, sizeof folder, "%s/%.*s", base, (int) (c + n - rel), rel);
            struct stat st;
            if (mkdir (folder, 0700) != 0 && errno != EEXIST)
                return sf_error_set_origin (SF_ERR_IO, errno, "cannot create %s: %s", folder, strerror (errno));
            if (lstat (folder, &st) != 0 || !S_ISDIR (st.st_mode))
                return sf_error_set (SF_ERR_DENIED, "export path '%s': %s is not a folder (a link?)", request, folder);
        }
        c += n + (c[n] == '/');
    }
    if (len == 0 || rel[len - 1] == '/')
        return sf_error_set (SF_ERR_DENIED, "export path '%s': no bundle name", request);
    return SF_OK;
}

static void *
s_run (void *arg)
{
    sf_exportjob_t *self = arg;
    sf_export_report_t report;
    self->rc = sf_export_campaign (self->store, self->campaign, self->path, &self->opts, &report);
    if (self->rc == SF_OK)
        sf_export_report_text (&report, self->path, self->text, sizeof self->text);
    else
        snprintf (self->text, sizeof self->text, "%s", sf_error_message ());
    atomic_store (&self->done, true);
    return NULL;
}

sf_exportjob_t *
sf_exportjob_start (sf_store_t *store, uint64_t campaign, const char *path, const sf_export_opts_t *opts, void *tag)
{
    sf_exportjob_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->store = store;
    self->campaign = campaign;
    snprintf (self->path, sizeof self->path, "%s", path);
    self->opts = *opts;
    self->opts.gpu_type = NULL;
    self->tag = tag;
    int e = pthread_create (&self->thread, NULL, s_run, self);
    if (e) {
        free (self);
        sf_error_set_origin (SF_ERR_INTERNAL, e, "cannot start the export thread: %s", strerror (e));
        return NULL;
    }
    return self;
}

bool
sf_exportjob_done (const sf_exportjob_t *self)
{
    return atomic_load (&self->done);
}

int
sf_exportjob_result (const sf_exportjob_t *self, const char **text)
{
    *text = self->text;
    return self->rc;
}

void *
sf_exportjob_tag (const sf_exportjob_t *self)
{
    return self->tag;
}

void
sf_exportjob_destroy (sf_exportjob_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_join ((*self_p)->thread, NULL);
    free (*self_p);
    *self_p = NULL;
}
