/*  sf_store: the LMDB environment, its one writer, batches, reads. */
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
#include "store/sf_storecheck.h"

#define S_PATH_MAX 4096

struct _sf_store_t {
    char *dir;
    MDB_env *env;
    MDB_dbi dbi[SF_DB_COUNT];
    bool writer;
    int lock_fd;                /* DIR/writer.lock, flock'ed, while the writer */
    size_t map_limit;
    pthread_mutex_t mutex;      /* guards `reading` and changes of the map */
    int reading;                /* read transactions open in this process */
};

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
static int
s_lmdb_fail (const sf_store_t *self, int rc, const char *doing)
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

static int
s_read_begin (sf_store_t *self, MDB_txn **txn)
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
    return rc ? s_lmdb_fail (self, rc, "starting a read") : SF_OK;
}

static void
s_read_end (sf_store_t *self, MDB_txn *txn)
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
        return s_lmdb_fail (self, rc, "growing the map");
    sf_log_info ("store", "%s: map grown from %zu to %zu KiB", self->dir, now >> 10, next >> 10);
    return SF_OK;
}

typedef int (*s_write_fn) (sf_store_t *self, MDB_txn *txn, void *arg);

/*  Runs body in one write transaction; when the map is full, aborts, grows
    the map and runs the whole body again (hint: bytes it writes). */
static int
s_write (sf_store_t *self, s_write_fn body, void *arg, size_t hint)
{
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
        if (rc != 0)
            return s_lmdb_fail (self, rc, "starting a write");
        rc = body (self, txn, arg);
        if (rc == SF_OK) {
            int mrc = mdb_txn_commit (txn);  /* frees txn, also when it fails */
            rc = mrc ? s_lmdb_fail (self, mrc, "committing") : SF_OK;
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
        return s_lmdb_fail (self, rc, "reading its databases");
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
    return rc == MDB_NOTFOUND ? SF_OK : s_lmdb_fail (self, rc, "reading its databases");
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
    return rc ? s_lmdb_fail (self, rc, "opening its databases") : SF_OK;
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
    return rc ? s_lmdb_fail (self, rc, "writing meta") : SF_OK;
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
        return s_lmdb_fail (self, rc, "reading the schema version");
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
    int rc = s_read_begin (self, &txn);
    if (rc != SF_OK)
        return rc;
    rc = s_setup (self, txn);
    /* Committing keeps the database handles for the environment's life. */
    int mrc = rc == SF_OK ? mdb_txn_commit (txn) : (mdb_txn_abort (txn), 0);
    pthread_mutex_lock (&self->mutex);
    self->reading--;
    pthread_mutex_unlock (&self->mutex);
    return rc == SF_OK && mrc ? s_lmdb_fail (self, mrc, "opening its databases") : rc;
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
        return s_lmdb_fail (self, rc, "creating the environment");
    /* MDB_NOTLS: read transactions are not tied to threads, so that reads
       may nest (a getter inside an iteration callback). */
    rc = mdb_env_open (self->env, self->dir, MDB_NOTLS | (self->writer ? 0 : MDB_RDONLY), 0600);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
        return sf_error_set_origin (SF_ERR_FORMAT, rc, "store %s is damaged or not an LMDB store: %s", self->dir,
                                    mdb_strerror (rc));
    if (rc != 0)
        return s_lmdb_fail (self, rc, "opening");
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
        rc = self->writer ? s_write (self, s_init_body, NULL, 4096) : s_init_readonly (self);
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

/* ---- batches ----------------------------------------------------------- */

typedef struct {
    sf_store_db db;
    bool del;
    size_t key_size;
    uint8_t key[SF_RECORD_KEY_MAX];
    void *value;                 /* encoded, malloc'ed */
    size_t value_size;
} s_op_t;

struct _sf_store_batch_t {
    s_op_t *ops;
    size_t count, capacity;
    size_t bytes;                /* keys and values */
    sf_mpack_out_t *out;         /* reused for every record */
};

sf_store_batch_t *
sf_store_batch_new (void)
{
    sf_store_batch_t *self = calloc (1, sizeof *self);
    if (self)
        self->out = sf_mpack_out_new (SF_RECORD_VALUE_MAX);
    if (!self || !self->out) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory for a batch");
        return NULL;
    }
    return self;
}

void
sf_store_batch_truncate (sf_store_batch_t *self, size_t count)
{
    for (size_t i = count; i < self->count; i++) {
        free (self->ops[i].value);
        self->bytes -= self->ops[i].key_size + self->ops[i].value_size;
    }
    if (count < self->count)
        self->count = count;
}

void
sf_store_batch_clear (sf_store_batch_t *self)
{
    sf_store_batch_truncate (self, 0);
}

void
sf_store_batch_destroy (sf_store_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_store_batch_clear (*self_p);
    free ((*self_p)->ops);
    sf_mpack_out_destroy (&(*self_p)->out);
    free (*self_p);
    *self_p = NULL;
}

size_t
sf_store_batch_count (const sf_store_batch_t *self)
{
    return self->count;
}

/*  Appends an operation; a put takes the value just encoded in self->out. */
static int
s_push (sf_store_batch_t *self, sf_store_db db, const uint8_t *key, size_t key_size, bool del)
{
    size_t value_size = del ? 0 : sf_mpack_out_size (self->out);
    if (self->count == SF_STORE_BATCH_OPS_MAX || value_size + key_size > SF_STORE_BATCH_MAX - self->bytes)
        return sf_error_set (SF_ERR_RANGE, "batch full (%zu operations, %zu MiB): commit it first",
                             self->count, self->bytes >> 20);
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? 2 * self->capacity : 16;
        s_op_t *ops = realloc (self->ops, capacity * sizeof *ops);
        if (!ops)
            return sf_error_set (SF_ERR_NOMEM, "out of memory growing a batch");
        self->ops = ops;
        self->capacity = capacity;
    }
    s_op_t *op = &self->ops[self->count];
    op->value = NULL;
    if (!del && !(op->value = sf_mpack_out_detach (self->out, &op->value_size)))
        return sf_error_last ();
    op->db = db;
    op->del = del;
    op->value_size = value_size;
    op->key_size = key_size;
    memcpy (op->key, key, key_size);
    self->count++;
    self->bytes += key_size + value_size;
    return SF_OK;
}

int
sf_store_batch_put_matrix (sf_store_batch_t *self, const sf_matrix_t *matrix)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_matrix (matrix, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_MATRICES, key, key_size, false);
}

int
sf_store_batch_put_campaign (sf_store_batch_t *self, const sf_store_campaign_t *campaign)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_campaign (campaign, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_CAMPAIGNS, key, key_size, false);
}

int
sf_store_batch_put_job (sf_store_batch_t *self, const sf_store_job_t *job)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_job (job, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_JOBS, key, key_size, false);
}

int
sf_store_batch_put_result (sf_store_batch_t *self, const sf_store_result_key_t *result_key,
                           const sf_store_result_t *result)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_result (result_key, result, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_RESULTS, key, key_size, false);
}

int
sf_store_batch_put_best (sf_store_batch_t *self, uint64_t campaign, uint32_t layer, const sf_store_best_t *best)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_best (campaign, layer, best, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_BEST, key, key_size, false);
}

int
sf_store_batch_put_kernel (sf_store_batch_t *self, const sf_store_kernel_t *kernel,
                           uint8_t digest_out[SF_STORE_HASH_BYTES])
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_kernel (kernel, key, &key_size, self->out);
    if (rc == SF_OK && digest_out)
        memcpy (digest_out, key, SF_STORE_HASH_BYTES);
    return rc ? rc : s_push (self, SF_DB_KERNELS, key, key_size, false);
}

int
sf_store_batch_put_model (sf_store_batch_t *self, const sf_store_model_t *model)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_model (model, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_MODELS, key, key_size, false);
}

int
sf_store_batch_del_campaign (sf_store_batch_t *self, uint64_t campaign)
{
    uint8_t key[8];
    return s_push (self, SF_DB_CAMPAIGNS, key, sf_record_key_id (campaign, key), true);
}

int
sf_store_batch_del_job (sf_store_batch_t *self, uint64_t campaign, uint64_t job)
{
    uint8_t key[16];
    return s_push (self, SF_DB_JOBS, key, sf_record_key_pair (campaign, job, key), true);
}

int
sf_store_batch_del_result (sf_store_batch_t *self, const sf_store_result_key_t *result_key)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size = sf_record_key_result (result_key, key);
    return key_size ? s_push (self, SF_DB_RESULTS, key, key_size, true) : sf_error_last ();
}

static int
s_apply (sf_store_t *self, MDB_txn *txn, void *arg)
{
    const sf_store_batch_t *batch = arg;
    for (size_t i = 0; i < batch->count; i++) {
        const s_op_t *op = &batch->ops[i];
        MDB_val k = { op->key_size, (void *) op->key }, v = { op->value_size, op->value };
        int rc = op->del ? mdb_del (txn, self->dbi[op->db], &k, NULL)
                         : mdb_put (txn, self->dbi[op->db], &k, &v, 0);
        if (rc == MDB_NOTFOUND && op->del)
            continue;
        if (rc != 0)
            return s_lmdb_fail (self, rc, op->del ? "deleting" : "writing");
    }
    return SF_OK;
}

int
sf_store_commit (sf_store_t *self, sf_store_batch_t *batch)
{
    if (!self->writer)
        return sf_error_set (SF_ERR_INVALID, "store %s is open read-only", self->dir);
    if (batch->count == 0)
        return SF_OK;
    int rc = s_write (self, s_apply, batch, batch->bytes);
    if (rc == SF_OK)
        sf_store_batch_clear (batch);
    return rc;
}

/* ---- reading ----------------------------------------------------------- */

/*  "store DIR: DB KEY: " before a record's error. */
static void
s_prefix_record (const sf_store_t *self, sf_store_db db, const void *key, size_t key_size)
{
    char text[512];
    sf_record_key_text (db, key, key_size, text, sizeof text);
    sf_error_prefix ("store %s: %s %s: ", self->dir, sf_record_db_name (db), text);
}

static int
s_get (sf_store_t *self, sf_store_db db, const uint8_t *key, size_t key_size, sf_record_t *record)
{
    memset (record, 0, sizeof *record);
    record->db = db;
    if (key_size == 0)
        return sf_error_last ();  /* the key builder said why */
    MDB_txn *txn;
    int rc = s_read_begin (self, &txn);
    if (rc != SF_OK)
        return rc;
    MDB_val k = { key_size, (void *) key }, v;
    int mrc = mdb_get (txn, self->dbi[db], &k, &v);
    if (mrc == MDB_NOTFOUND) {
        char text[512];
        rc = sf_error_set (SF_ERR_NOTFOUND, "store %s: no %s record %s", self->dir, sf_record_db_name (db),
                           sf_record_key_text (db, key, key_size, text, sizeof text));
    } else if (mrc != 0)
        rc = s_lmdb_fail (self, mrc, "reading");
    else if ((rc = sf_record_decode (db, key, key_size, v.mv_data, v.mv_size, record)) != SF_OK)
        s_prefix_record (self, db, key, key_size);
    s_read_end (self, txn);
    return rc;
}

static bool
s_has (sf_store_t *self, sf_store_db db, const uint8_t *key, size_t key_size)
{
    MDB_txn *txn;
    if (s_read_begin (self, &txn) != SF_OK)
        return false;
    MDB_val k = { key_size, (void *) key }, v;
    bool found = mdb_get (txn, self->dbi[db], &k, &v) == 0;
    s_read_end (self, txn);
    return found;
}

int
sf_store_get_meta (sf_store_t *self, sf_store_meta_t *out)
{
    memset (out, 0, sizeof *out);
    sf_record_t r;
    int rc = s_get (self, SF_DB_META, (const uint8_t *) "schema", 6, &r);
    out->schema = (uint32_t) r.u.meta.u;
    if (rc == SF_OK)
        rc = s_get (self, SF_DB_META, (const uint8_t *) "created", 7, &r);
    out->created_ms = r.u.meta.i;
    if (rc == SF_OK)
        rc = s_get (self, SF_DB_META, (const uint8_t *) "tool", 4, &r);
    memcpy (out->tool, r.u.meta.text, sizeof out->tool);
    return rc;
}

int
sf_store_get_matrix (sf_store_t *self, const uint8_t hash[SF_STORE_HASH_BYTES], sf_matrix_t **out)
{
    sf_record_t r;
    int rc = s_get (self, SF_DB_MATRICES, hash, SF_STORE_HASH_BYTES, &r);
    *out = rc == SF_OK ? r.u.matrix.matrix : NULL;
    if (rc != SF_OK)
        sf_record_free (&r);
    return rc;
}

bool
sf_store_has_matrix (sf_store_t *self, const uint8_t hash[SF_STORE_HASH_BYTES])
{
    return s_has (self, SF_DB_MATRICES, hash, SF_STORE_HASH_BYTES);
}

int
sf_store_get_campaign (sf_store_t *self, uint64_t id, sf_store_campaign_t *out)
{
    uint8_t key[8];
    sf_record_t r;
    int rc = s_get (self, SF_DB_CAMPAIGNS, key, sf_record_key_id (id, key), &r);
    if (rc != SF_OK)
        sf_record_free (&r);
    *out = r.u.campaign;
    return rc;
}

int
sf_store_get_job (sf_store_t *self, uint64_t campaign, uint64_t job, sf_store_job_t *out)
{
    uint8_t key[16];
    sf_record_t r;
    int rc = s_get (self, SF_DB_JOBS, key, sf_record_key_pair (campaign, job, key), &r);
    if (rc != SF_OK)
        sf_record_free (&r);
    *out = r.u.job;
    return rc;
}

int
sf_store_get_result (sf_store_t *self, const sf_store_result_key_t *result_key, sf_store_result_t *out)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    sf_record_t r;
    int rc = s_get (self, SF_DB_RESULTS, key, sf_record_key_result (result_key, key), &r);
    *out = r.u.result.value;
    return rc;
}

int
sf_store_get_best (sf_store_t *self, uint64_t campaign, uint32_t layer, sf_store_best_t *out)
{
    uint8_t key[12];
    sf_record_t r;
    int rc = s_get (self, SF_DB_BEST, key, sf_record_key_best (campaign, layer, key), &r);
    *out = r.u.best.value;
    return rc;
}

int
sf_store_get_kernel (sf_store_t *self, const uint8_t digest[SF_STORE_HASH_BYTES], sf_store_kernel_t *out)
{
    sf_record_t r;
    int rc = s_get (self, SF_DB_KERNELS, digest, SF_STORE_HASH_BYTES, &r);
    if (rc != SF_OK)
        sf_record_free (&r);
    *out = r.u.kernel.value;
    return rc;
}

bool
sf_store_has_kernel (sf_store_t *self, const uint8_t digest[SF_STORE_HASH_BYTES])
{
    return s_has (self, SF_DB_KERNELS, digest, SF_STORE_HASH_BYTES);
}

/* ---- walking ----------------------------------------------------------- */

typedef int (*s_raw_fn) (void *arg, const MDB_val *key, const MDB_val *value);

/*  Calls fn for every entry whose key starts with prefix, in key order, in
    one read transaction. */
static int
s_scan (sf_store_t *self, MDB_dbi dbi, const uint8_t *prefix, size_t prefix_size, s_raw_fn fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = s_read_begin (self, &txn);
    if (rc != SF_OK)
        return rc;
    int mrc = mdb_cursor_open (txn, dbi, &cursor);
    if (mrc != 0) {
        s_read_end (self, txn);
        return s_lmdb_fail (self, mrc, "reading");
    }
    MDB_val k = { prefix_size, (void *) prefix }, v;
    mrc = mdb_cursor_get (cursor, &k, &v, prefix_size ? MDB_SET_RANGE : MDB_FIRST);
    while (mrc == 0 && rc == SF_OK) {
        if (prefix_size && (k.mv_size < prefix_size || memcmp (k.mv_data, prefix, prefix_size) != 0))
            break;
        rc = fn (arg, &k, &v);
        if (rc == SF_OK)
            mrc = mdb_cursor_get (cursor, &k, &v, MDB_NEXT);
    }
    if (rc == SF_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = s_lmdb_fail (self, mrc, "reading");
    mdb_cursor_close (cursor);
    s_read_end (self, txn);
    return rc;
}

typedef struct {
    sf_store_t *store;
    sf_store_db db;
    sf_store_record_fn fn;
    void *arg;
} s_each_t;

static int
s_each_decoded (void *arg, const MDB_val *key, const MDB_val *value)
{
    s_each_t *each = arg;
    sf_record_t r;
    int rc = sf_record_decode (each->db, key->mv_data, key->mv_size, value->mv_data, value->mv_size, &r);
    if (rc != SF_OK)
        s_prefix_record (each->store, each->db, key->mv_data, key->mv_size);
    else
        rc = each->fn (each->arg, &r);
    sf_record_free (&r);
    return rc;
}

static int
s_each (sf_store_t *self, sf_store_db db, const uint8_t *prefix, size_t prefix_size, sf_store_record_fn fn,
        void *arg)
{
    s_each_t each = { self, db, fn, arg };
    return s_scan (self, self->dbi[db], prefix, prefix_size, s_each_decoded, &each);
}

int
sf_store_each (sf_store_t *self, sf_store_db db, sf_store_record_fn fn, void *arg)
{
    if ((unsigned) db >= SF_DB_COUNT)
        return sf_error_set (SF_ERR_INVALID, "no database %d", (int) db);
    return s_each (self, db, NULL, 0, fn, arg);
}

/*  The typed iterators: the user's callback and argument, and an adapter
    per record type. */
typedef struct {
    void *fn;
    void *arg;
} s_typed_t;

static int
s_as_matrix (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_matrix_fn) t->fn) (t->arg, r->u.matrix.hash, r->u.matrix.matrix);
}

static int
s_as_campaign (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_campaign_fn) t->fn) (t->arg, &r->u.campaign);
}

static int
s_as_job (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_job_fn) t->fn) (t->arg, &r->u.job);
}

static int
s_as_result (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_result_fn) t->fn) (t->arg, &r->u.result.key, &r->u.result.value);
}

static int
s_as_best (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_best_fn) t->fn) (t->arg, r->u.best.campaign, r->u.best.layer, &r->u.best.value);
}

static int
s_as_kernel (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_kernel_fn) t->fn) (t->arg, r->u.kernel.digest, &r->u.kernel.value);
}

static int
s_as_model (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_model_fn) t->fn) (t->arg, &r->u.model);
}

int
sf_store_each_matrix (sf_store_t *self, sf_store_matrix_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    return s_each (self, SF_DB_MATRICES, NULL, 0, s_as_matrix, &t);
}

int
sf_store_each_campaign (sf_store_t *self, sf_store_campaign_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    return s_each (self, SF_DB_CAMPAIGNS, NULL, 0, s_as_campaign, &t);
}

int
sf_store_each_job (sf_store_t *self, uint64_t campaign, sf_store_job_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    uint8_t prefix[8];
    return s_each (self, SF_DB_JOBS, prefix, campaign ? sf_record_key_id (campaign, prefix) : 0, s_as_job, &t);
}

int
sf_store_each_result (sf_store_t *self, const char *gpu_type, const uint8_t *matrix, int64_t n,
                      sf_store_result_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    uint8_t prefix[SF_RECORD_KEY_MAX];
    size_t prefix_size = 0;
    if (gpu_type && !(prefix_size = sf_record_key_result_prefix (gpu_type, matrix, n, prefix)))
        return sf_error_last ();
    return s_each (self, SF_DB_RESULTS, prefix, prefix_size, s_as_result, &t);
}

int
sf_store_each_best (sf_store_t *self, uint64_t campaign, sf_store_best_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    uint8_t prefix[8];
    return s_each (self, SF_DB_BEST, prefix, campaign ? sf_record_key_id (campaign, prefix) : 0, s_as_best, &t);
}

int
sf_store_each_kernel (sf_store_t *self, sf_store_kernel_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    return s_each (self, SF_DB_KERNELS, NULL, 0, s_as_kernel, &t);
}

/*  A model key's prefix: the length-prefixed GPU type. */
static size_t
s_model_prefix (const char *gpu_type, uint8_t *prefix)
{
    size_t size = sf_record_key_model (gpu_type, 1, prefix);
    return size ? size - 4 : 0;
}

int
sf_store_each_model (sf_store_t *self, const char *gpu_type, sf_store_model_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    uint8_t prefix[SF_RECORD_KEY_MAX];
    size_t prefix_size = 0;
    if (gpu_type && !(prefix_size = s_model_prefix (gpu_type, prefix)))
        return sf_error_last ();
    return s_each (self, SF_DB_MODELS, prefix, prefix_size, s_as_model, &t);
}

typedef struct {
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t size;
} s_last_key_t;

static int
s_keep_key (void *arg, const MDB_val *key, const MDB_val *value)
{
    s_last_key_t *last = arg;
    if (key->mv_size <= sizeof last->key) {
        memcpy (last->key, key->mv_data, key->mv_size);
        last->size = key->mv_size;
    }
    return SF_OK;
}

int
sf_store_get_model (sf_store_t *self, const char *gpu_type, uint32_t version, sf_store_model_t *out)
{
    s_last_key_t last = { .size = 0 };
    int rc = SF_OK;
    if (version > 0)
        last.size = sf_record_key_model (gpu_type, version, last.key);
    else {
        uint8_t prefix[SF_RECORD_KEY_MAX];
        size_t prefix_size = s_model_prefix (gpu_type, prefix);
        rc = prefix_size ? s_scan (self, self->dbi[SF_DB_MODELS], prefix, prefix_size, s_keep_key, &last) : sf_error_last ();
        if (rc == SF_OK && last.size == 0)
            rc = sf_error_set (SF_ERR_NOTFOUND, "store %s: no model for GPU type '%s'", self->dir, gpu_type);
    }
    sf_record_t r;
    if (rc == SF_OK)
        rc = s_get (self, SF_DB_MODELS, last.key, last.size, &r);
    else
        memset (&r, 0, sizeof r);
    if (rc != SF_OK) {
        r.db = SF_DB_MODELS;
        sf_record_free (&r);
    }
    *out = r.u.model;
    return rc;
}

int
sf_store_next_campaign_id (sf_store_t *self, uint64_t *out)
{
    s_last_key_t last = { .size = 0 };
    int rc = s_scan (self, self->dbi[SF_DB_CAMPAIGNS], NULL, 0, s_keep_key, &last);
    *out = last.size == 8 ? sf_record_get_u64 (last.key) + 1 : 1;
    return rc;
}

int
sf_store_next_job_id (sf_store_t *self, uint64_t campaign, uint64_t *out)
{
    s_last_key_t last = { .size = 0 };
    uint8_t prefix[8];
    int rc = s_scan (self, self->dbi[SF_DB_JOBS], prefix, sf_record_key_id (campaign, prefix), s_keep_key, &last);
    *out = last.size == 16 ? sf_record_get_u64 (last.key + 8) + 1 : 1;
    return rc;
}

/* ---- stat and verify --------------------------------------------------- */

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
        rc = s_read_begin (self, &txn);
    if (rc != SF_OK)
        return rc;
    MDB_stat st;
    for (int db = 0; db < SF_DB_COUNT && rc == SF_OK; db++) {
        int mrc = mdb_stat (txn, self->dbi[db], &st);
        if (mrc != 0)
            rc = s_lmdb_fail (self, mrc, "reading statistics");
        out->db[db].entries = st.ms_entries;
        out->db[db].bytes = (uint64_t) (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * st.ms_psize;
    }
    s_read_end (self, txn);
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

typedef struct {
    sf_store_db db;
    sf_store_bad_fn fn;
    void *arg;
    uint64_t checked, bad;
} s_verify_t;

static void
s_report (s_verify_t *v, sf_store_db db, const void *key, size_t key_size, const char *reason)
{
    v->bad++;
    if (v->fn)
        v->fn (v->arg, db, key, key_size, reason);
}

static int
s_verify_one (void *arg, const MDB_val *key, const MDB_val *value)
{
    s_verify_t *v = arg;
    sf_record_t r;
    v->checked++;
    if (sf_record_decode (v->db, key->mv_data, key->mv_size, value->mv_data, value->mv_size, &r) != SF_OK) {
        char reason[512];  /* the callback may set errors of its own */
        snprintf (reason, sizeof reason, "%s", sf_error_message ());
        s_report (v, v->db, key->mv_data, key->mv_size, reason);
    }
    sf_record_free (&r);
    return SF_OK;
}

static int
s_verify_name (void *arg, const MDB_val *key, const MDB_val *value)
{
    s_verify_t *v = arg;
    char name[32] = "";
    if (key->mv_size < sizeof name)
        memcpy (name, key->mv_data, key->mv_size);
    if (sf_record_db_parse (name) < 0)
        s_report (v, SF_DB_COUNT, key->mv_data, key->mv_size, "an entry that is no database of the store");
    return SF_OK;
}

int
sf_store_verify_db (sf_store_t *self, sf_store_db db, sf_store_bad_fn fn, void *arg, uint64_t *checked,
                    uint64_t *bad)
{
    s_verify_t v = { db, fn, arg, 0, 0 };
    int rc = SF_OK;
    if (db == SF_DB_COUNT) {
        /* The main database lists the named ones. */
        MDB_txn *txn;
        MDB_dbi main = 0;
        rc = s_read_begin (self, &txn);
        if (rc == SF_OK) {
            int mrc = mdb_dbi_open (txn, NULL, 0, &main);
            s_read_end (self, txn);
            rc = mrc ? s_lmdb_fail (self, mrc, "reading its databases") : SF_OK;
        }
        if (rc == SF_OK)
            rc = s_scan (self, main, NULL, 0, s_verify_name, &v);
        static const char *required[] = { "schema", "created", "tool" };
        for (size_t i = 0; i < 3 && rc == SF_OK; i++)
            if (!s_has (self, SF_DB_META, (const uint8_t *) required[i], strlen (required[i])))
                s_report (&v, SF_DB_META, required[i], strlen (required[i]), "missing meta entry");
    } else if ((unsigned) db < SF_DB_COUNT)
        rc = s_scan (self, self->dbi[db], NULL, 0, s_verify_one, &v);
    else
        rc = sf_error_set (SF_ERR_INVALID, "no database %d", (int) db);
    if (checked)
        *checked = v.checked;
    if (bad)
        *bad = v.bad;
    return rc;
}

int
sf_store_verify (sf_store_t *self, sf_store_bad_fn fn, void *arg, uint64_t *checked, uint64_t *bad)
{
    uint64_t total = 0, wrong = 0;
    int rc = SF_OK;
    for (int i = 0; i <= SF_DB_COUNT && rc == SF_OK; i++) {  /* the list of databases, then each */
        uint64_t n = 0, b = 0;
        rc = sf_store_verify_db (self, (sf_store_db) (i == 0 ? SF_DB_COUNT : i - 1), fn, arg, &n, &b);
        total += n;
        wrong += b;
    }
    if (checked)
        *checked = total;
    if (bad)
        *bad = wrong;
    return rc;
}
