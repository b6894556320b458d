/*  sf_storecheck: a damaged store is refused with a message, never a crash
    (docs/RELIABILITY.md, docs/STORE.md "Damaged stores").

    LMDB trusts its file: a data.mdb cut short makes the first read of a
    missing page a SIGBUS, and random bit flips in its pages can send it
    reading anywhere. Three defences, used by sf_store:

    - sf_storecheck_file(), before LMDB opens a store, reads data.mdb with
      plain reads (no mapping): both meta pages (magic, format version,
      page size), the newest one's last page and roots against the file's
      size. A store that existed (LMDB's lock.mdb is there)
      whose data.mdb is missing or empty is refused, not silently started
      afresh.
    - The fault guard: while a store is open, a SIGBUS or SIGSEGV whose
      address lies in (or just past) its mapping, or whose instruction is
      in LMDB's code, ends the process with a
      message naming the store and exit status 1, instead of a core dump.
      Any other fault goes to the handler that was there before (a real bug
      stays a crash; ASan keeps its reports).
    - sf_storecheck_verify() walks every record in a child process, so that
      LMDB crashing on a bad page is a report ("reading 'results' crashed
      LMDB: SIGSEGV") and the caller lives on.
*/
#ifndef SF_STORECHECK_H_INCLUDED
#define SF_STORECHECK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Checks DIR/data.mdb before it is opened. SF_OK for a sound file, or for
    no file where none was (a new store: the writer creates it; a reader is
    told there is no store elsewhere). SF_ERR_FORMAT with a detail saying
    what is wrong and what to do for a damaged one, SF_ERR_IO if it cannot
    be read. */
int sf_storecheck_file (const char *dir, bool writer);

/*  The fault guard of one open store: registers (or moves, after a remap)
    the mapping of DIR/data.mdb of the store `owner` (as /proc/self/maps
    shows it), and installs the SIGBUS/SIGSEGV handlers on first use. Up to
    16 stores per process are guarded; more are simply not. */
void sf_storecheck_guard (const void *owner, const char *dir);
/*  LMDB's assert callback (mdb_env_set_assert): an inconsistent page is
    a damaged store, reported like the guard's faults (exit status 1); in
    the verify child it aborts, for the parent to report. */
typedef struct MDB_env MDB_env;
void sf_storecheck_lmdb_assert (MDB_env *env, const char *msg);

/*  Forgets the mapping of `owner` (when the store closes). */
void sf_storecheck_unguard (const void *owner);

/*  sf_store_verify of the store in dir, run in a child process: the same
    callback and counts. SF_OK when the walk completed, whatever it found;
    SF_ERR_FORMAT when the child died on a signal (the detail names the
    database it was reading and the signal: the store is damaged beyond
    what the records show), or the child's own error (opening the store). */
int sf_storecheck_verify (const char *dir, sf_store_bad_fn fn, void *arg, uint64_t *checked, uint64_t *bad);

#ifdef __cplusplus
}
#endif
#endif
