/*  sf_kcache: a content-keyed compile cache in a directory. */
#include "proxygen/sf_kcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nvrtc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"

/*  Bumped by hand whenever what a key stands for changes without the key's
    texts changing (our wrapping of PTX for NVRTC, the options we add). */
#define S_RECIPE "spmmfarm-kcache-1"
#define S_MAGIC "SFKCACH1"
#define S_VERSION 1u
#define S_DIR_MAX 4096

struct _sf_kcache_t {
    char *dir;
    int64_t max_bytes;
    pthread_mutex_t lock;       /* bytes, eviction */
    int64_t bytes;
    atomic_llong hits, misses, stores, evictions, errors;
    atomic_uint tmp_seq;
};

/*  The header before the cubin; little-endian hosts only write and read it
    (the cache is local to a host's architecture). */
typedef struct {
    char magic[8];
    uint32_t version;
    int32_t registers, spill_stores, spill_loads, stack_bytes, shared_bytes;
    int64_t cubin_bytes, ptx_bytes;
    double seconds, cpu_seconds;   /* of the compile that made it */
    char key[SF_SHA256_HEX];
    char pad[7];
} s_header_t;

static int
s_mkdir (const char *path)
{
    if (mkdir (path, 0700) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
            return SF_OK;
        return sf_error_set (SF_ERR_IO, "compile cache: %s is not a directory", path);
    }
    return sf_error_set (SF_ERR_IO, "compile cache: cannot make %s: %s", path, strerror (errno));
}

static int
s_mkdirs (const char *dir)
{
    char path[S_DIR_MAX];
    if (snprintf (path, sizeof path, "%s", dir) >= (int) sizeof path || !*path)
        return sf_error_set (SF_ERR_RANGE, "compile cache: directory name too long");
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            int rc = s_mkdir (path);
            *p = '/';
            if (rc != SF_OK)
                return rc;
        }
    return s_mkdir (path);
}

/*  Calls fn on every entry file (DIR/xx/KEY.cubin) with its stat. */
static void
s_each_entry (const sf_kcache_t *self, void (*fn) (void *arg, const char *path, const struct stat *st),
              void *arg)
{
    DIR *top = opendir (self->dir);
    struct dirent *d;
    while (top && (d = readdir (top))) {
        if (strlen (d->d_name) != 2 || d->d_name[0] == '.')
            continue;
        char sub[S_DIR_MAX];
        snprintf (sub, sizeof sub, "%s/%s", self->dir, d->d_name);
        DIR *in = opendir (sub);
        struct dirent *e;
        while (in && (e = readdir (in))) {
            size_t n = strlen (e->d_name);
            if (n < 7 || strcmp (e->d_name + n - 6, ".cubin") != 0)
                continue;
            char path[S_DIR_MAX + 256];
            struct stat st;
            snprintf (path, sizeof path, "%s/%s", sub, e->d_name);
            if (stat (path, &st) == 0 && S_ISREG (st.st_mode))
                fn (arg, path, &st);
        }
        if (in)
            closedir (in);
    }
    if (top)
        closedir (top);
}

static void
s_add_size (void *arg, const char *path, const struct stat *st)
{
    (void) path;
    *(int64_t *) arg += (int64_t) st->st_size;
}

sf_kcache_t *
sf_kcache_new (const char *dir, int64_t max_bytes)
{
    if (!dir || !*dir) {
        sf_error_set (SF_ERR_INVALID, "compile cache: no directory");
        return NULL;
    }
    if (s_mkdirs (dir) != SF_OK)
        return NULL;
    sf_kcache_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir))) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->max_bytes = max_bytes > 0 ? max_bytes : SF_KCACHE_DEFAULT_MAX_BYTES;
    if (self->max_bytes < ((int64_t) 1 << 20))
        self->max_bytes = (int64_t) 1 << 20;
    pthread_mutex_init (&self->lock, NULL);
    s_each_entry (self, s_add_size, &self->bytes);
    return self;
}

void
sf_kcache_destroy (sf_kcache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_kcache_t *self = *self_p;
    pthread_mutex_destroy (&self->lock);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

const char *
sf_kcache_dir (const sf_kcache_t *self)
{
    return self->dir;
}

/*  The toolkit: nvJitLink's and NVRTC's versions. */
static void
s_toolkit (char *out, size_t size)
{
    int major = 0, minor = 0;
    if (nvrtcVersion (&major, &minor) != NVRTC_SUCCESS)
        major = minor = -1;
    snprintf (out, size, "nvjitlink %s nvrtc %d.%d", sf_jit_version (), major, minor);
}

void
sf_kcache_key (const char *kind, const sf_jit_opts_t *opts, const char *const *texts, int count,
               char key[SF_SHA256_HEX])
{
    char head[512], toolkit[64];
    s_toolkit (toolkit, sizeof toolkit);
    int level = opts && opts->opt_level >= 0 && opts->opt_level <= 3 ? opts->opt_level : 3;
    int n = snprintf (head, sizeof head, "%s\n%s\n%s\narch=%s O=%d maxreg=%d split=%d count=%d\n", S_RECIPE, kind,
                      toolkit, opts && opts->arch ? opts->arch : "sm_90", level,
                      opts ? opts->max_registers : 0, opts ? opts->split_compile : 0, count);
    sf_sha256_t ctx;
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256_init (&ctx);
    sf_sha256_update (&ctx, head, (size_t) n);
    for (int i = 0; i < count; i++) {
        uint64_t len = strlen (texts[i]);
        sf_sha256_update (&ctx, &len, sizeof len);  /* lengths first: no two splits hash alike */
        sf_sha256_update (&ctx, texts[i], len);
    }
    sf_sha256_final (&ctx, digest);
    sf_sha256_hex (digest, key);
}

static bool
s_key_ok (const char *key)
{
    if (!key || strlen (key) != SF_SHA256_HEX - 1)
        return false;
    for (const char *p = key; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static void
s_path (const sf_kcache_t *self, const char *key, char *path, size_t size)
{
    snprintf (path, size, "%s/%.2s/%s.cubin", self->dir, key, key);
}

static void
s_corrupt (sf_kcache_t *self, const char *path, const char *why)
{
    atomic_fetch_add (&self->errors, 1);
    sf_log_warn ("kcache", "removing %s: %s", path, why);
    unlink (path);
}

int
sf_kcache_get (sf_kcache_t *self, const char *key, void **cubin_p, size_t *size_p, sf_jit_stats_t *stats)
{
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    *cubin_p = NULL;
    *size_p = 0;
    if (!s_key_ok (key))
        return sf_error_set (SF_ERR_INVALID, "compile cache: malformed key");
    char path[S_DIR_MAX + 256];
    s_path (self, key, path, sizeof path);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        atomic_fetch_add (&self->misses, 1);
        return sf_error_set (SF_ERR_NOTFOUND, "compile cache: no entry");
    }
    struct stat st;
    s_header_t h;
    uint8_t sum[SF_SHA256_BYTES], want[SF_SHA256_BYTES];
    void *cubin = NULL;
    const char *why = NULL;
    if (fstat (fd, &st) != 0 || st.st_size < (off_t) (sizeof h + SF_SHA256_BYTES) || st.st_size > SF_KCACHE_ENTRY_MAX)
        why = "not an entry (size)";
    else if (read (fd, &h, sizeof h) != (ssize_t) sizeof h || memcmp (h.magic, S_MAGIC, 8) != 0
             || h.version != S_VERSION || strncmp (h.key, key, SF_SHA256_HEX) != 0
             || h.cubin_bytes != (int64_t) st.st_size - (int64_t) sizeof h - SF_SHA256_BYTES)
        why = "not an entry of this key";
    else if (!(cubin = malloc ((size_t) h.cubin_bytes ? (size_t) h.cubin_bytes : 1)))
        why = "out of memory";
    else if (read (fd, cubin, (size_t) h.cubin_bytes) != (ssize_t) h.cubin_bytes
             || read (fd, want, sizeof want) != (ssize_t) sizeof want)
        why = "truncated";
    else {
        sf_sha256 (cubin, (size_t) h.cubin_bytes, sum);
        if (memcmp (sum, want, sizeof sum) != 0)
            why = "checksum mismatch";
    }
    close (fd);
    if (why) {
        free (cubin);
        s_corrupt (self, path, why);
        atomic_fetch_add (&self->misses, 1);
        return sf_error_set (SF_ERR_NOTFOUND, "compile cache: %s", why);
    }
    utimes (path, NULL);  /* recently used: evicted last */
    atomic_fetch_add (&self->hits, 1);
    if (stats) {
        memset (stats, 0, sizeof *stats);
        stats->registers = h.registers;
        stats->spill_stores = h.spill_stores;
        stats->spill_loads = h.spill_loads;
        stats->stack_bytes = h.stack_bytes;
        stats->shared_bytes = h.shared_bytes;
        stats->cubin_bytes = h.cubin_bytes;
        stats->ptx_bytes = h.ptx_bytes;
        stats->cached = true;
        stats->seconds = sf_clock_mono () - t0;
        stats->cpu_seconds = sf_clock_thread_cpu () - c0;
    }
    *cubin_p = cubin;
    *size_p = (size_t) h.cubin_bytes;
    return SF_OK;
}

typedef struct {
    char path[S_DIR_MAX + 256];
    int64_t bytes;
    struct timespec mtime;
} s_file_t;

typedef struct {
    s_file_t *files;
    size_t count, cap;
    int64_t bytes;
} s_scan_t;

static void
s_collect (void *arg, const char *path, const struct stat *st)
{
    s_scan_t *scan = arg;
    scan->bytes += (int64_t) st->st_size;
    if (scan->count == scan->cap) {
        size_t cap = scan->cap ? scan->cap * 2 : 256;
        s_file_t *grown = realloc (scan->files, cap * sizeof *grown);
        if (!grown)
            return;
        scan->files = grown;
        scan->cap = cap;
    }
    s_file_t *f = &scan->files[scan->count++];
    snprintf (f->path, sizeof f->path, "%s", path);
    f->bytes = (int64_t) st->st_size;
    f->mtime = st->st_mtim;
}

static int
s_older (const void *a, const void *b)
{
    const s_file_t *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

/*  Past the bound: the least recently used entries go until 80 % of it
    (called with the lock held). */
static void
s_evict (sf_kcache_t *self)
{
    s_scan_t scan = { 0 };
    s_each_entry (self, s_collect, &scan);
    self->bytes = scan.bytes;
    if (scan.bytes > self->max_bytes && scan.files) {
        qsort (scan.files, scan.count, sizeof *scan.files, s_older);
        for (size_t i = 0; i < scan.count && self->bytes > self->max_bytes / 5 * 4; i++)
            if (unlink (scan.files[i].path) == 0) {
                self->bytes -= scan.files[i].bytes;
                atomic_fetch_add (&self->evictions, 1);
            }
        sf_log_info ("kcache", "%s over %lld bytes: evicted down to %lld", self->dir, (long long) self->max_bytes,
                     (long long) self->bytes);
    }
    free (scan.files);
}

static bool
s_write_all (int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0) {
        ssize_t w = write (fd, p, size);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        size -= (size_t) w;
    }
    return true;
}

int
sf_kcache_put (sf_kcache_t *self, const char *key, const void *cubin, size_t size, const sf_jit_stats_t *stats)
{
    if (!s_key_ok (key))
        return sf_error_set (SF_ERR_INVALID, "compile cache: malformed key");
    if ((int64_t) size > SF_KCACHE_ENTRY_MAX - (int64_t) sizeof (s_header_t) - SF_SHA256_BYTES)
        return sf_error_set (SF_ERR_RANGE, "compile cache: a %zu-byte cubin is over the entry bound", size);
    char sub[S_DIR_MAX + 8], path[S_DIR_MAX + 256], tmp[S_DIR_MAX + 256];
    snprintf (sub, sizeof sub, "%s/%.2s", self->dir, key);
    s_path (self, key, path, sizeof path);
    snprintf (tmp, sizeof tmp, "%s/.tmp-%d-%u", sub, (int) getpid (), atomic_fetch_add (&self->tmp_seq, 1));
    s_header_t h;
    memset (&h, 0, sizeof h);
    memcpy (h.magic, S_MAGIC, 8);
    h.version = S_VERSION;
    if (stats) {
        h.registers = stats->registers;
        h.spill_stores = stats->spill_stores;
        h.spill_loads = stats->spill_loads;
        h.stack_bytes = stats->stack_bytes;
        h.shared_bytes = stats->shared_bytes;
        h.ptx_bytes = stats->ptx_bytes;
        h.seconds = stats->seconds;
        h.cpu_seconds = stats->cpu_seconds;
    }
    h.cubin_bytes = (int64_t) size;
    memcpy (h.key, key, SF_SHA256_HEX);
    uint8_t sum[SF_SHA256_BYTES];
    sf_sha256 (cubin, size, sum);
    int rc = s_mkdir (sub);
    int fd = rc == SF_OK ? open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    bool ok = fd >= 0 && s_write_all (fd, &h, sizeof h) && s_write_all (fd, cubin, size)
           && s_write_all (fd, sum, sizeof sum);
    if (fd >= 0 && close (fd) != 0)
        ok = false;
    if (ok && rename (tmp, path) != 0)
        ok = false;
    if (!ok) {
        int err = errno;
        if (fd >= 0)
            unlink (tmp);
        atomic_fetch_add (&self->errors, 1);
        sf_log_warn ("kcache", "cannot store %s: %s", path, strerror (err));
        return rc != SF_OK ? rc : sf_error_set (SF_ERR_IO, "compile cache: cannot store %s: %s", path, strerror (err));
    }
    atomic_fetch_add (&self->stores, 1);
    pthread_mutex_lock (&self->lock);
    self->bytes += (int64_t) (sizeof h + size + SF_SHA256_BYTES);
    if (self->bytes > self->max_bytes)
        s_evict (self);
    pthread_mutex_unlock (&self->lock);
    return SF_OK;
}

void
sf_kcache_counters (sf_kcache_t *self, sf_kcache_counters_t *out)
{
    out->hits = atomic_load (&self->hits);
    out->misses = atomic_load (&self->misses);
    out->stores = atomic_load (&self->stores);
    out->evictions = atomic_load (&self->evictions);
    out->errors = atomic_load (&self->errors);
    pthread_mutex_lock (&self->lock);
    out->bytes = self->bytes;
    pthread_mutex_unlock (&self->lock);
}

static char *
s_join (const char *a, const char *b)
{
    size_t n = strlen (a) + strlen (b) + 1;
    char *out = malloc (n);
    if (out)
        snprintf (out, n, "%s%s", a, b);
    else
        sf_error_set (SF_ERR_NOMEM, "out of memory");
    return out;
}

char *
sf_kcache_default_dir (void)
{
    const char *env = getenv ("SPMMFARM_COMPILE_CACHE");
    sf_error_clear ();
    if (env && strcmp (env, "off") == 0)
        return NULL;
    if (env && *env)
        return strdup (env);
    env = getenv ("XDG_CACHE_HOME");
    if (env && env[0] == '/')
        return s_join (env, "/spmmfarm/kernels");
    env = getenv ("HOME");
    if (env && *env)
        return s_join (env, "/.cache/spmmfarm/kernels");
    sf_error_set (SF_ERR_NOTFOUND, "no compile cache directory: set SPMMFARM_COMPILE_CACHE, XDG_CACHE_HOME or HOME");
    return NULL;
}

int
sf_kcache_open (const char *dir, sf_kcache_t **cache_p)
{
    *cache_p = NULL;
    char *path = dir ? strdup (dir) : sf_kcache_default_dir ();
    if (!path && dir)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (!path)  /* off, or no home to put it in (the error says which): compile everything */
        return SF_OK;
    *cache_p = sf_kcache_new (path, 0);
    free (path);
    return *cache_p ? SF_OK : sf_error_last ();
}
