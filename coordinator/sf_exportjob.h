/*  sf_exportjob: the coordinator's EXPORT_REQ, off its event loop
    (docs/FARM.md, "Exports"; issue 24).

    An export compiles dense layers (NVRTC) and syncs every file: seconds,
    during which the loop must go on answering heartbeats. A job resolves
    its path in the caller's thread, then writes the bundle in a thread of
    its own from the store (reads only: LMDB readers run beside the
    writer); the loop polls it and sends the reply.

    Paths: a bundle is written under the coordinator's export directory
    and nowhere else. The request's path is relative to it (NAME.bundle,
    or folders/NAME.bundle), or absolute inside it; every component is
    [A-Za-z0-9._+-], none empty, "." or "..", none starting with '.', and
    no folder on the way may be a symbolic link. Missing folders are made
    (mode 0700). sf_bundle_write then never deletes what it did not write.
*/
#ifndef SF_EXPORTJOB_H_INCLUDED
#define SF_EXPORTJOB_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/sf_export.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_EXPORTJOB_PATH_MAX 4096

typedef struct _sf_exportjob_t sf_exportjob_t;

/*  The path a request names under export_dir (which is made, 0700, if
    missing) into out: SF_ERR_DENIED with a detail if it would be anywhere
    else, SF_ERR_IO if a folder cannot be made. */
int sf_exportjob_path (const char *export_dir, const char *request, char *out, size_t size);

/*  Starts writing campaign's bundle at path (sf_exportjob_path's) from
    store, in a thread. `tag` is the caller's (the client's routing id),
    handed back by sf_exportjob_tag. NULL if the thread cannot start. */
sf_exportjob_t *sf_exportjob_start (sf_store_t *store, uint64_t campaign, const char *path,
                                    const sf_export_opts_t *opts, void *tag);

/*  True once the bundle is written or the export failed. */
bool sf_exportjob_done (const sf_exportjob_t *self);

/*  After done: SF_OK and the report's text, or the error and its detail
    (owned by the job). */
int sf_exportjob_result (const sf_exportjob_t *self, const char **text);

void *sf_exportjob_tag (const sf_exportjob_t *self);

/*  Waits for the thread and frees the job (not its tag). Safe twice. */
void sf_exportjob_destroy (sf_exportjob_t **self_p);

#ifdef __cplusplus
}
#endif
#endif
