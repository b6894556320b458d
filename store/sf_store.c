/*  sf_store: the LMDB environment, its one writer, transactions, opening,
    stat (batches: sf_store_batch.c; reads: sf_store_read.c). */
#include "store/sf_store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_sign.h"
#include "config.h"
#include "store/sf_store_priv.h"
#include "store/sf_storecheck.h"

#define S_PATH_MAX 4096

/*  A short write is LMDB's EIO: when the store's file system has (nearly)
    no room left, that is a full disk. */
static bool
s_disk_full (const sf_store_t *self)
{
    struct statvfs vfs;
    return statvfs (self->dir, &vfs) == 0 && (uint64_t) vfs.f_bavail * vfs.f_frsize < ((uint64_t) 1 << 20);
}

/*  Translates an LMDB (or errno) code where it enters. A full disk and a
    full map are named as such: the operator's fix differs. */
int
sf_store_lmdb_fail (const sf_store_t *self, int rc, const char *doing)
{
    if (rc == ENOSPC || rc == EDQUOT || (rc == EIO && s_disk_full (self)))
        return sf_error_set_origin (SF_ERR_IO, ENOSPC, "store %s: %s: disk full (no space left on the store's "
                                    "file system): free space there; nothing of this write was kept", self->dir,
                                    doing);
    int status = rc == ENOENT ? SF_ERR_NOTFOUND
                 : rc == EACCES || rc == EROFS || rc == EIO ? SF_ERR_IO : SF_ERR_LMDB;
    return sf_error_set_origin (status, rc, "store %s: %s: %s", self->dir, doing, mdb_strerror (rc));
}

/*  The fault guard follows the store's mapping (sf_storecheck). */
static void
s_guard (const sf_store_t *self)
{
    if (self->env)
        sf_storecheck_guard (self, self->dir);
}

/* ---- small helpers ---------------------------------------------------- */

int64_t
sf_store_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
s_join (const char *a, const char *b, const char *c)
{
    size_t n = strlen (a) + strlen (b) + strlen (c) + 1;
    char *path = malloc (n);
    if (path)
        snprintf (path, n, "%s%s%s", a, b, c);
    return path;
}

char *
sf_store_default_dir (void)
{
    const char *env = getenv ("SPMMFARM_STORE");
    if (env && *env)
        return strdup (env);
    env = getenv ("XDG_CACHE_HOME");
    if (env && env[0] == '/')  /* the XDG spec ignores relative paths */
        return s_join (env, "/spmmfarm/store", "");
    env = getenv ("HOME");
    if (env && *env)
        return s_join (env, "/.cache/spmmfarm/store", "");
    sf_error_set (SF_ERR_NOTFOUND, "no store directory: set SPMMFARM_STORE, XDG_CACHE_HOME or HOME");
    return NULL;
}

const char *
sf_store_dir (const sf_store_t *self)
{
    return self->dir;
}

bool
sf_store_is_writer (const sf_store_t *self)
{
    return self->writer;
}

/*  mkdir -p, private to the user (a cache of their weights and kernels). */
static int
s_mkdirs (const char *dir)
{
    char path[S_PATH_MAX];
    if (snprintf (path, sizeof path, "%s", dir) >= (int) sizeof path)
        return sf_error_set (SF_ERR_RANGE, "store path too long: %.80s...", dir);
    for (char *p = path + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir (path, 0700) != 0 && errno != EEXIST)
                return sf_error_set_origin (SF_ERR_IO, errno, "creating %s: %s", path, strerror (errno));
            if (end)
                break;
            *p = '/';
        }
    }
    struct stat st;
    if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
        return sf_error_set (SF_ERR_INVALID, "store %s: not a directory", dir);
    return SF_OK;
}

/*  A reader needs an existing store: say so plainly instead of LMDB's ENOENT. */
static int
s_check_exists (const char *dir)
{
    struct stat st;
    if (stat (dir, &st) != 0)
        return sf_error_set (SF_ERR_NOTFOUND, "no store at %s: %s", dir, strerror (errno));
    if (!S_ISDIR (st.st_mode))
        return sf_error_set (SF_ERR_NOTFOUND, "no store at %s: not a directory", dir);
    char *data = s_join (dir, "/data.mdb", "");
    int rc = !data ? sf_error_set (SF_ERR_NOMEM, "out of memory")
             : stat (data, &st) != 0 ? sf_error_set (SF_ERR_NOTFOUND, "no store at %s (no data.mdb)", dir)
                                     : SF_OK;
    free (data);
    return rc;
}

/*  One writer process: an exclusive flock on DIR/writer.lock, which holds
    the writer's pid for the message a second writer gets. The kernel drops
    the lock when the process dies, however it dies. */
static int
s_lock (sf_store_t *self)
{
    char *path = s_join (self->dir, "/writer.lock", "");
    if (!path)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = sf_error_set_origin (SF_ERR_IO, errno, "opening %s: %s", path, strerror (errno));
        free (path);
        return rc;
    }
    if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char pid[32] = "";
        ssize_t n = pread (fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn (pid, "\n")] = '\0';
        close (fd);
        int rc = err == EWOULDBLOCK
                 ? sf_error_set (SF_ERR_BUSY, "store %s is already open for writing by process %s (%s); "
                                 "one writer at a time", self->dir, *pid ? pid : "(unknown)", path)
                 : sf_error_set_origin (SF_ERR_IO, err, "locking %s: %s", path, strerror (err));
        free (path);
        return rc;
    }
    free (path);
    char pid[32];
    int len = snprintf (pid, sizeof pid, "%ld\n", (long) getpid ());
    if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, (size_t) len, 0) != len)
        sf_log_warn ("store", "%s: could not record this pid in writer.lock", self->dir);
    self->lock_fd = fd;
    return SF_OK;
}

/* ---- transactions ------------------------------------------------------ */

int
sf_store_read_begin (sf_store_t *self, MDB_txn **txn)
{
    pthread_mutex_lock (&self->mutex);
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, txn);
    /* The writer (another process) grew the map: adopt its size, which is
       only safe while no read of this process uses the old mapping. */
    if (rc == MDB_MAP_RESIZED && self->reading == 0) {
        sf_log_debug ("store", "%s: the writer grew the map; remapping", self->dir);
        rc = mdb_env_set_mapsize (self->env, 0);
        if (rc == 0)
            s_guard (self);
        if (rc == 0)
            rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, txn);
    }
    if (rc == 0)
        self->reading++;
    pthread_mutex_unlock (&self->mutex);
    return rc ? sf_store_lmdb_fail (self, rc, "starting a read") : SF_OK;
}

void
sf_store_read_end (sf_store_t *self, MDB_txn *txn)
{
    mdb_txn_abort (txn);
    pthread_mutex_lock (&self->mutex);
    self->reading--;
    pthread_mutex_unlock (&self->mutex);
}

/*  Doubles the map (at least 2 x hint more), up to map_limit. */
static int
s_grow (sf_store_t *self, size_t hint)
{
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    size_t now = info.me_mapsize;
    if (now >= self->map_limit)
        return sf_error_set_origin (SF_ERR_RANGE, MDB_MAP_FULL, "store %s: store map full: the map reached its "
                                    "limit of %zu MiB; nothing of this write was kept", self->dir,
                                    self->map_limit >> 20);
    size_t next = now > SIZE_MAX / 2 ? SIZE_MAX : 2 * now;
    if (hint < SIZE_MAX / 4 && next - now < 2 * hint && now < SIZE_MAX - 2 * hint)
        next = now + 2 * hint;
    if (next > self->map_limit)
        next = self->map_limit;
    pthread_mutex_lock (&self->mutex);
    int rc = self->reading > 0 ? -1 : mdb_env_set_mapsize (self->env, next);
    if (rc == 0)
        s_guard (self);
    pthread_mutex_unlock (&self->mutex);
    if (rc == -1)
        return sf_error_set (SF_ERR_BUSY, "store %s: the map is full and cannot grow while this process "
                             "is reading (commit outside iteration callbacks)", self->dir);
    if (rc != 0)
        return sf_store_lmdb_fail (self, rc, "growing the map");
    sf_log_info ("store", "%s: map grown from %zu to %zu KiB", self->dir, now >> 10, next >> 10);
    return SF_OK;
}

/*  Runs body in one write transaction; when the map is full, aborts, grows
    the map and runs the whole body again (hint: bytes it writes). */
int
sf_store_write (sf_store_t *self, sf_store_write_fn body, void *arg, size_t hint)
{
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
        if (rc != 0)
            return sf_store_lmdb_fail (self, rc, "starting a write");
        rc = body (self, txn, arg);
        if (rc == SF_OK) {
            int mrc = mdb_txn_commit (txn);  /* frees txn, also when it fails */
            rc = mrc ? sf_store_lmdb_fail (self, mrc, "committing") : SF_OK;
        } else
            mdb_txn_abort (txn);
        if (rc != SF_ERR_LMDB || sf_error_origin () != MDB_MAP_FULL)
            return rc;
        rc = s_grow (self, hint);
        if (rc != SF_OK)
            return rc;
    }
}

/* ---- opening ----------------------------------------------------------- */

/*  The main database lists the named ones: is it empty (a new store), and
    the first entry that is none of ours (into foreign, "" if none). */
static int
s_scan_names (sf_store_t *self, MDB_txn *txn, bool *fresh, char foreign[32])
{
    MDB_dbi main;
    MDB_cursor *cursor;
    int rc = mdb_dbi_open (txn, NULL, 0, &main);
    if (rc == 0)
        rc = mdb_cursor_open (txn, main, &cursor);
    if (rc != 0)
        return sf_store_lmdb_fail (self, rc, "reading its databases");
    MDB_val key, value;
    size_t count = 0;
    foreign[0] = '\0';
    for (rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT), count++) {
        char name[32] = "";
        size_t len = key.mv_size < sizeof name - 1 ? key.mv_size : sizeof name - 1;
        memcpy (name, key.mv_data, len);
        if (!foreign[0] && (len != key.mv_size || sf_record_db_parse (name) < 0))
            memcpy (foreign, name, sizeof name);
    }
    mdb_cursor_close (cursor);
    *fresh = count == 0;
    return rc == MDB_NOTFOUND ? SF_OK : sf_store_lmdb_fail (self, rc, "reading its databases");
}

static int
s_foreign (const sf_store_t *self, const char *entry)
{
    return sf_error_set (SF_ERR_FORMAT, "%s holds an LMDB environment that is not a spmmfarm store "
                         "(it has an entry '%s')", self->dir, entry);
}

static int
s_open_db (sf_store_t *self, MDB_txn *txn, sf_store_db db)
{
    int rc = mdb_dbi_open (txn, sf_record_db_name (db), self->writer ? MDB_CREATE : 0, &self->dbi[db]);
    if (rc == MDB_NOTFOUND)
        return sf_error_set (SF_ERR_FORMAT, "%s is not a spmmfarm store (no '%s' database)", self->dir,
                             sf_record_db_name (db));
    return rc ? sf_store_lmdb_fail (self, rc, "opening its databases") : SF_OK;
}

static int
s_put_meta (sf_store_t *self, MDB_txn *txn, const sf_record_meta_t *meta, sf_mpack_out_t *out)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_meta (meta, key, &key_size, out);
    if (rc != SF_OK)
        return rc;
    MDB_val k = { key_size, key }, v = { sf_mpack_out_size (out), (void *) sf_mpack_out_data (out) };
    rc = mdb_put (txn, self->dbi[SF_DB_META], &k, &v, 0);
    return rc ? sf_store_lmdb_fail (self, rc, "writing meta") : SF_OK;
}

/*  A new store gets its schema version, creation time and tool version. */
static int
s_create_meta (sf_store_t *self, MDB_txn *txn)
{
    sf_mpack_out_t *out = sf_mpack_out_new (4096);
    if (!out)
        return sf_error_last ();
    sf_record_meta_t schema = { .key = "schema", .u = SF_STORE_SCHEMA_VERSION };
    sf_record_meta_t created = { .key = "created", .i = sf_store_now_ms () };
    sf_record_meta_t tool = { .key = "tool" };
    snprintf (tool.text, sizeof tool.text, "%s", PACKAGE_VERSION);
    int rc = s_put_meta (self, txn, &schema, out);
    if (rc == SF_OK)
        rc = s_put_meta (self, txn, &created, out);
    if (rc == SF_OK)
        rc = s_put_meta (self, txn, &tool, out);
    sf_mpack_out_destroy (&out);
    return rc;
}

/*  Refuses any schema version but ours: never misread a store. */
static int
s_check_schema (sf_store_t *self, MDB_txn *txn, bool fresh, const char *foreign)
{
    MDB_val k = { 6, "schema" }, v;
    int rc = mdb_get (txn, self->dbi[SF_DB_META], &k, &v);
    if (rc == MDB_NOTFOUND && fresh && self->writer)
        return s_create_meta (self, txn);
    if (rc == MDB_NOTFOUND)
        return foreign[0] ? s_foreign (self, foreign)
                          : sf_error_set (SF_ERR_FORMAT, "%s is not a spmmfarm store (no schema version)",
                                          self->dir);
    if (rc != 0)
        return sf_store_lmdb_fail (self, rc, "reading the schema version");
    sf_record_t meta;
    rc = sf_record_decode (SF_DB_META, k.mv_data, k.mv_size, v.mv_data, v.mv_size, &meta);
    if (rc != SF_OK) {
        char detail[512];  /* the detail is rewritten below: copy it first */
        snprintf (detail, sizeof detail, "%s", sf_error_message ());
        return sf_error_set (SF_ERR_SCHEMA, "store %s: unreadable schema version (%s)", self->dir, detail);
    }
    if (meta.u.meta.u != SF_STORE_SCHEMA_VERSION)
        return sf_error_set (SF_ERR_SCHEMA, "store %s has schema version %llu; this spmmfarm (%s) reads "
                             "version %d only", self->dir, (unsigned long long) meta.u.meta.u,
                             PACKAGE_VERSION, SF_STORE_SCHEMA_VERSION);
    return SF_OK;
}

/*  Opens (the writer: creates) the databases and checks the schema first,
    so that a store of another version is named as such, not as foreign. */
static int
s_setup (sf_store_t *self, MDB_txn *txn)
{
    bool fresh = false;
    char foreign[32] = "";
    int rc = s_scan_names (self, txn, &fresh, foreign);
    if (rc == SF_OK && (rc = s_open_db (self, txn, SF_DB_META)) != SF_OK && foreign[0])
        rc = s_foreign (self, foreign);
    if (rc == SF_OK)
        rc = s_check_schema (self, txn, fresh, foreign);
    if (rc == SF_OK && foreign[0])
        rc = s_foreign (self, foreign);
    for (int db = SF_DB_META + 1; db < SF_DB_COUNT && rc == SF_OK; db++)
        rc = s_open_db (self, txn, db);
    return rc;
}

static int
s_init_body (sf_store_t *self, MDB_txn *txn, void *arg)
{
    return s_setup (self, txn);
}

static int
s_init_readonly (sf_store_t *self)
{
    MDB_txn *txn;
    int rc = sf_store_read_begin (self, &txn);
    if (rc != SF_OK)
        return rc;
    rc = s_setup (self, txn);
    /* Committing keeps the database handles for the environment's life. */
    int mrc = rc == SF_OK ? mdb_txn_commit (txn) : (mdb_txn_abort (txn), 0);
    pthread_mutex_lock (&self->mutex);
    self->reading--;
    pthread_mutex_unlock (&self->mutex);
    return rc == SF_OK && mrc ? sf_store_lmdb_fail (self, mrc, "opening its databases") : rc;
}

static int
s_open_env (sf_store_t *self, size_t map_size)
{
    int rc = mdb_env_create (&self->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs (self->env, SF_DB_COUNT);
    if (rc == 0)
        rc = mdb_env_set_assert (self->env, sf_storecheck_lmdb_assert);
    /* A reader maps what the writer made (LMDB takes the larger of this and
       the store's own size); it remaps when the writer grows it. */
    if (rc == 0 && map_size)
        rc = mdb_env_set_mapsize (self->env, map_size);
    if (rc != 0)
        return sf_store_lmdb_fail (self, rc, "creating the environment");
    /* MDB_NOTLS: read transactions are not tied to threads, so that reads
       may nest (a getter inside an iteration callback). */
    rc = mdb_env_open (self->env, self->dir, MDB_NOTLS | (self->writer ? 0 : MDB_RDONLY), 0600);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
        return sf_error_set_origin (SF_ERR_FORMAT, rc, "store %s is damaged or not an LMDB store: %s", self->dir,
                                    mdb_strerror (rc));
    if (rc != 0)
        return sf_store_lmdb_fail (self, rc, "opening");
    s_guard (self);
    if (self->writer) {
        int dead = 0;
        mdb_reader_check (self->env, &dead);  /* slots of killed readers */
        if (dead)
            sf_log_info ("store", "%s: cleared %d stale reader slots", self->dir, dead);
    }
    return SF_OK;
}

sf_store_t *
sf_store_open_ex (const char *dir, int flags, const sf_store_opts_t *opts)
{
    if (!dir || !*dir) {
        sf_error_set (SF_ERR_INVALID, "no store directory given");
        return NULL;
    }
    sf_store_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir))) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory opening a store");
        return NULL;
    }
    pthread_mutex_init (&self->mutex, NULL);
    self->lock_fd = -1;
    self->writer = (flags & SF_STORE_WRITER) != 0;
    self->map_limit = opts && opts->map_limit ? opts->map_limit : SF_STORE_MAP_LIMIT;
    size_t map_size = opts && opts->map_size ? opts->map_size : self->writer ? SF_STORE_MAP_INITIAL : 0;
    if (map_size > self->map_limit)
        map_size = self->map_limit;
    /* data.mdb is checked before LMDB maps it, and before the writer's
       lock file exists (a store that existed has LMDB's lock.mdb). */
    int rc = self->writer ? s_mkdirs (dir) : SF_OK;
    if (rc == SF_OK)
        rc = sf_storecheck_file (dir, self->writer);
    if (rc == SF_OK && !self->writer)
        rc = s_check_exists (dir);
    if (rc == SF_OK && self->writer)
        rc = s_lock (self);
    if (rc == SF_OK)
        rc = s_open_env (self, map_size);
    if (rc == SF_OK)
        rc = self->writer ? sf_store_write (self, s_init_body, NULL, 4096) : s_init_readonly (self);
    /* the store's bundle-signing key (common/sf_sign.h), made by its first writer */
    if (rc == SF_OK && self->writer && sf_sign_key_ensure (dir) != SF_OK)
        sf_log_warn ("store", "%s: no bundle-signing key: %s", dir, sf_error_message ());
    if (rc != SF_OK) {
        sf_store_destroy (&self);
        return NULL;
    }
    return self;
}

sf_store_t *
sf_store_open (const char *dir, int flags)
{
    return sf_store_open_ex (dir, flags, NULL);
}

void
sf_store_destroy (sf_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_store_t *self = *self_p;
    sf_storecheck_unguard (self);
    if (self->env)
        mdb_env_close (self->env);
    if (self->lock_fd >= 0)
        close (self->lock_fd);  /* releases the writer lock */
    pthread_mutex_destroy (&self->mutex);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

/* ---- stat --------------------------------------------------------------- */

/*  mdb_reader_list prints a header, then one line per reader slot held by
    a live process: "pid thread txnid". */
static int
s_count_reader (const char *line, void *arg)
{
    int pid;
    if (sscanf (line, " %d", &pid) == 1 && pid > 0)
        (*(uint32_t *) arg)++;
    return 0;
}

int
sf_store_stat (sf_store_t *self, sf_store_stat_t *out)
{
    memset (out, 0, sizeof *out);
    int rc = sf_store_get_meta (self, &out->meta);
    MDB_txn *txn;
    if (rc == SF_OK)
        rc = sf_store_read_begin (self, &txn);
    if (rc != SF_OK)
        return rc;
    MDB_stat st;
    for (int db = 0; db < SF_DB_COUNT && rc == SF_OK; db++) {
        int mrc = mdb_stat (txn, self->dbi[db], &st);
        if (mrc != 0)
            rc = sf_store_lmdb_fail (self, mrc, "reading statistics");
        out->db[db].entries = st.ms_entries;
        out->db[db].bytes = (uint64_t) (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * st.ms_psize;
    }
    sf_store_read_end (self, txn);
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &st);
    out->page_bytes = st.ms_psize;
    out->map_bytes = info.me_mapsize;
    out->used_bytes = (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
    out->max_readers = info.me_maxreaders;
    mdb_reader_check (self->env, &out->stale_readers);
    mdb_reader_list (self->env, s_count_reader, &out->readers);
    char *data = s_join (self->dir, "/data.mdb", "");
    struct stat fs;
    if (data && stat (data, &fs) == 0)
        out->file_bytes = (uint64_t) fs.st_size;
    free (data);
    return rc;
}
