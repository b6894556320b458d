/*  sf_kcache: a content-keyed compile cache in a directory (issue 22).

    A compiled kernel (cubin) is kept under a key that hashes everything
    the compile depends on: the kind of compile, the source text, the
    options (arch, ptxas -O level, register cap, split compile), the
    toolkit (nvJitLink and NVRTC versions) and the recipe (our wrapping
    of sources, bumped by hand when it changes): an equal key is an equal
    cubin, so an entry is never stale, only unused. A worker consults it
    before every compile (proxygen/sf_jit.h: sf_jit_set_cache), so a
    second campaign on the same host compiles nothing it compiled before,
    and a restarted worker keeps its kernels.

    Why a directory on the worker's host and not the store (issue 22 asked
    to decide; docs/WORKER.md "The compile cache"): a campaign's kernels are
    gigabytes (a full U kernel's cubin is 0.5-2.5 MB, a BERT-base campaign
    compiles about 2,000 kernels), which through the coordinator's one
    socket and LMDB store would make the store grow without bound and the
    coordinator a bottleneck; a cache entry is an optimization, never an
    answer (losing one costs a compile), so it does not belong in the
    durable store; and workers of one host (one per GPU) share the
    directory. Hosts can share one through a shared file system: entries
    are written to a temporary file and renamed into place.

    Layout: DIR/xx/KEY.cubin (xx: the key's first two hex digits), each a
    header (magic, version, the compile's stats, the key), the cubin and
    its SHA-256: an entry that does not check out (truncated, foreign,
    corrupt) is a miss and is removed. Bounded: past max_bytes the least
    recently used entries (by modification time, refreshed on every hit)
    go until the directory holds 80 % of it. Thread-safe; several
    processes may share a directory.
*/
#ifndef SF_KCACHE_H_INCLUDED
#define SF_KCACHE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "common/sf_sha256.h"
#include "proxygen/sf_jit.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Default bound of a cache directory: 8 GiB. */
#define SF_KCACHE_DEFAULT_MAX_BYTES ((int64_t) 8 << 30)
/*  The largest entry read back (larger files are refused as foreign). */
#define SF_KCACHE_ENTRY_MAX ((int64_t) 1 << 30)

/*  Opens (creating it, mode 0700) the cache directory dir, bounded to
    max_bytes (0: SF_KCACHE_DEFAULT_MAX_BYTES; at least 1 MiB). NULL with
    SF_ERR_IO when it cannot be made or is not a directory. */
sf_kcache_t *sf_kcache_new (const char *dir, int64_t max_bytes);
void sf_kcache_destroy (sf_kcache_t **self_p);

const char *sf_kcache_dir (const sf_kcache_t *self);

/*  The key of a compile: SHA-256 (hex) over kind ("ptx", "cuda",
    "nvrtc-cubin", "uparts"...), the options, the toolkit versions, the
    recipe and the `count` texts (each NUL-terminated). */
void sf_kcache_key (const char *kind, const sf_jit_opts_t *opts, const char *const *texts, int count,
                    char key[SF_SHA256_HEX]);

/*  The entry of key: *cubin_p (malloc'ed, caller frees), *size_p, and the
    stats it was stored with (cached set, seconds and cpu_seconds those of
    this lookup). SF_ERR_NOTFOUND when there is none (or it was corrupt:
    then removed). */
int sf_kcache_get (sf_kcache_t *self, const char *key, void **cubin_p, size_t *size_p, sf_jit_stats_t *stats);

/*  Stores the cubin under key (atomically: a reader sees the whole entry
    or none), then evicts past the bound. Errors are logged and counted,
    never fatal to the caller's compile. */
int sf_kcache_put (sf_kcache_t *self, const char *key, const void *cubin, size_t size, const sf_jit_stats_t *stats);

typedef struct {
    int64_t hits;          /* lookups answered */
    int64_t misses;        /* lookups not answered (the caller compiled) */
    int64_t stores;        /* entries written */
    int64_t evictions;     /* entries removed for the bound */
    int64_t errors;        /* corrupt entries and failed writes */
    int64_t bytes;         /* this process's estimate of the directory's size */
} sf_kcache_counters_t;

void sf_kcache_counters (sf_kcache_t *self, sf_kcache_counters_t *out);

/*  The default directory (malloc'ed): $SPMMFARM_COMPILE_CACHE, else
    $XDG_CACHE_HOME/spmmfarm/kernels, else $HOME/.cache/spmmfarm/kernels;
    NULL (SF_ERR_NOTFOUND) when none is set. SPMMFARM_COMPILE_CACHE=off:
    NULL with SF_OK, no cache. */
char *sf_kcache_default_dir (void);

/*  A process's compile cache: dir, else sf_kcache_default_dir's, with the
    default bound. SF_OK with *cache_p NULL when there is none to open:
    SPMMFARM_COMPILE_CACHE=off (sf_error_last () is SF_OK), or no directory
    to put it in (sf_error_last () is SF_ERR_NOTFOUND, its message a warning
    for the caller to give: compiles go on without a cache). An error when
    the directory cannot be made. The caller owns *cache_p (and hands it to
    sf_jit_set_cache). */
int sf_kcache_open (const char *dir, sf_kcache_t **cache_p);

#ifdef __cplusplus
}
#endif
#endif
