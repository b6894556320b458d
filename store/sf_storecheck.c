/*  sf_storecheck: data.mdb's meta pages before LMDB maps it, a fault guard
    for open stores, and verification in a child process. */
#include "store/sf_storecheck.h"

#define _GNU_SOURCE 1  /* dl_iterate_phdr, REG_RIP */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <lmdb.h>
#include <signal.h>
#include <ucontext.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

/* ---- data.mdb's meta pages ---------------------------------------------- */

/*  LMDB 0.9's on-disk layout (mdb.c, MDB_DATA_VERSION 1): pages 0 and 1
    are meta pages, each a 16-byte page header then an MDB_meta:
      header  pgno u64 @0, pad u16 @8, flags u16 @10 (P_META 0x08), lower/upper @12
      meta    magic u32 @16 (0xBEEFC0DE), version u32 @20, address @24,
              mapsize u64 @32, dbs[2] of 48 bytes @40 (FREE, MAIN: pad u32
              @+0 holds the page size in FREE's, root u64 @+40),
              last_pg u64 @136, txnid u64 @144. */
#define S_META_BYTES 152
#define S_MAGIC 0xBEEFC0DEu
#define S_DATA_VERSION 1u
#define S_P_META 0x08
#define S_P_INVALID UINT64_MAX

typedef struct {
    uint32_t magic, version, psize;
    uint16_t flags;
    uint64_t mapsize, free_root, main_root, last_pg, txnid;
} s_meta_t;

static uint64_t
s_u64 (const uint8_t *p)
{
    uint64_t v;
    memcpy (&v, p, 8);
    return v;
}

static uint32_t
s_u32 (const uint8_t *p)
{
    uint32_t v;
    memcpy (&v, p, 4);
    return v;
}

static void
s_meta_parse (const uint8_t *b, s_meta_t *m)
{
    uint16_t flags;
    memcpy (&flags, b + 10, 2);
    m->flags = flags;
    m->magic = s_u32 (b + 16);
    m->version = s_u32 (b + 20);
    m->mapsize = s_u64 (b + 32);
    m->psize = s_u32 (b + 40);
    m->free_root = s_u64 (b + 40 + 40);
    m->main_root = s_u64 (b + 88 + 40);
    m->last_pg = s_u64 (b + 136);
    m->txnid = s_u64 (b + 144);
}

static int
s_damaged (const char *dir, const char *why)
{
    return sf_error_set (SF_ERR_FORMAT, "store %s is damaged: data.mdb %s; restore data.mdb from a copy "
                         "(or move %s away to start an empty store)", dir, why, dir);
}

/*  Why a meta page is not one (NULL if it is). */
static const char *
s_meta_bad (const s_meta_t *m)
{
    if (m->magic != S_MAGIC)
        return "has no LMDB magic number";
    if (m->version != S_DATA_VERSION)
        return "has an LMDB format version other than 1";
    if (!(m->flags & S_P_META))
        return "is not marked as a meta page";
    if (m->psize < 512 || m->psize > 65536 || (m->psize & (m->psize - 1)))
        return "names an impossible page size";
    return NULL;
}

static int
s_read_at (int fd, void *buf, size_t size, off_t at)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread (fd, (char *) buf + done, size - done, at + (off_t) done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t) n;
    }
    return 0;
}

static bool
s_exists (const char *dir, const char *name)
{
    char path[4200];
    struct stat st;
    snprintf (path, sizeof path, "%s/%s", dir, name);
    return lstat (path, &st) == 0;
}


int
sf_storecheck_file (const char *dir, bool writer)
{
    char path[4200];
    if ((size_t) snprintf (path, sizeof path, "%s/data.mdb", dir) >= sizeof path)
        return sf_error_set (SF_ERR_RANGE, "store path too long: %.80s...", dir);
    /* LMDB makes its lock file just before the data file, and it outlives
       every store that was opened once: without it a missing data file is
       simply no store. */
    bool existed = s_exists (dir, "lock.mdb");
    struct stat st;
    if (lstat (path, &st) != 0) {
        if (errno == ENOTDIR)
            return SF_OK;  /* not a directory: said elsewhere */
        if (errno != ENOENT)
            return sf_error_set_origin (SF_ERR_IO, errno, "store %s: data.mdb: %s", dir, strerror (errno));
        if (!existed)
            return SF_OK;  /* a new store, or (reader) none: said elsewhere */
        return s_damaged (dir, "is missing (lock.mdb shows a store was here)");
    }
    if (!S_ISREG (st.st_mode))
        return s_damaged (dir, "is not a regular file");
    if (st.st_size == 0)
        return writer && !existed ? SF_OK
                                  : s_damaged (dir, "is empty (0 bytes)");
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sf_error_set_origin (SF_ERR_IO, errno, "store %s: data.mdb: %s", dir, strerror (errno));
    uint8_t b0[S_META_BYTES], b1[S_META_BYTES];
    s_meta_t m0, m1;
    char why[256] = "";
    const char *bad = NULL;
    if (s_read_at (fd, b0, sizeof b0, 0) != 0)
        snprintf (why, sizeof why, "is too short for its meta pages (%lld bytes)", (long long) st.st_size);
    else if (s_meta_parse (b0, &m0), (bad = s_meta_bad (&m0)))
        snprintf (why, sizeof why, "meta page 0 %s", bad);
    else if ((uint64_t) st.st_size < 2ull * m0.psize)
        snprintf (why, sizeof why, "is too short for its two meta pages (%lld bytes, pages of %u)",
                  (long long) st.st_size, m0.psize);
    else if (s_read_at (fd, b1, sizeof b1, (off_t) m0.psize) != 0)
        snprintf (why, sizeof why, "cannot be read: %s", strerror (errno));
    else if (s_meta_parse (b1, &m1), (bad = s_meta_bad (&m1)))
        snprintf (why, sizeof why, "meta page 1 %s", bad);
    else if (m1.psize != m0.psize)
        snprintf (why, sizeof why, "meta pages disagree on the page size (%u and %u)", m0.psize, m1.psize);
    close (fd);
    if (why[0])
        return s_damaged (dir, why);
    const s_meta_t *m = m1.txnid > m0.txnid ? &m1 : &m0;  /* LMDB reads the newer */
    uint64_t pages = (uint64_t) st.st_size / m->psize;
    if (m->last_pg >= ((uint64_t) 1 << 40) || m->last_pg + 1 > pages)
        snprintf (why, sizeof why, "is truncated (or its meta page corrupt): its last page is %llu, the "
                  "file holds %llu pages", (unsigned long long) m->last_pg, (unsigned long long) pages);
    else if ((m->free_root != S_P_INVALID && m->free_root > m->last_pg)
             || (m->main_root != S_P_INVALID && m->main_root > m->last_pg))
        snprintf (why, sizeof why, "names a root page past its end (roots %llu and %llu)",
                  (unsigned long long) m->free_root, (unsigned long long) m->main_root);
    else if (m->mapsize / m->psize < m->last_pg + 1 || m->mapsize > ((uint64_t) 1 << 46))
        snprintf (why, sizeof why, "has an impossible map size (%llu bytes for %llu pages)",
                  (unsigned long long) m->mapsize, (unsigned long long) (m->last_pg + 1));
    return why[0] ? s_damaged (dir, why) : SF_OK;
}

/* ---- the fault guard ---------------------------------------------------- */

#define S_GUARDS 16
/*  LMDB reads a value through a 32-bit size from its page: a corrupt one
    faults up to 4 GiB past the mapping. */
#define S_SLACK (((uintptr_t) 4 << 30) + 65536)

typedef struct {
    _Atomic (const void *) owner;
    _Atomic uintptr_t lo, hi;
    char message[600];
    size_t length;
} s_guard_t;

static s_guard_t s_guards[S_GUARDS];
static bool s_in_verifier;  /* the verify child: LMDB's asserts abort, the parent reports */
static struct sigaction s_old_bus, s_old_segv;
static atomic_bool s_installed;
static uintptr_t s_lmdb_lo, s_lmdb_hi;  /* liblmdb's code, when it is a shared library */

/*  Finds the executable segment of the shared object holding mdb_env_open. */
static int
s_find_lmdb (struct dl_phdr_info *info, size_t size, void *arg)
{
    (void) size, (void) arg;
    uintptr_t want = (uintptr_t) &mdb_env_open;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && want >= lo && want < hi) {
            if (info->dlpi_name && info->dlpi_name[0]) {  /* not the program itself */
                s_lmdb_lo = lo;
                s_lmdb_hi = hi;
            }
            return 1;
        }
    }
    return 0;
}

/*  The instruction that faulted, where the platform says. */
static uintptr_t
s_fault_pc (void *ctx)
{
    const ucontext_t *uc = ctx;
#if defined(__x86_64__)
    return (uintptr_t) uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t) uc->uc_mcontext.pc;
#else
    (void) uc;
    return 0;
#endif
}

static void
s_on_fault (int sig, siginfo_t *info, void *ctx)
{
    uintptr_t at = (uintptr_t) info->si_addr, pc = ctx ? s_fault_pc (ctx) : 0;
    /* LMDB trusts its pages: a fault in its code while a store is open is
       a corrupt page it followed (a NULL page pointer, say). */
    bool in_lmdb = pc && pc >= s_lmdb_lo && pc < s_lmdb_hi;
    for (int i = 0; i < S_GUARDS; i++) {
        s_guard_t *g = &s_guards[i];
        uintptr_t lo = atomic_load (&g->lo), hi = atomic_load (&g->hi);
        if (atomic_load (&g->owner) && hi && (in_lmdb || (at >= lo && at < hi + S_SLACK))) {
            const char *name = sig == SIGBUS ? "SIGBUS" : "SIGSEGV";
            ssize_t w = write (STDERR_FILENO, g->message, g->length);
            w = write (STDERR_FILENO, name, strlen (name));
            w = write (STDERR_FILENO, ")\n", 2);
            (void) w;
            _exit (1);
        }
    }
    /* not ours: whoever handled it before, or the default action */
    struct sigaction *old = sig == SIGBUS ? &s_old_bus : &s_old_segv;
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction)
        old->sa_sigaction (sig, info, ctx);
    else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN)
        old->sa_handler (sig);
    else
        sigaction (sig, old, NULL);  /* the fault repeats and takes its default action */
}

void
sf_storecheck_lmdb_assert (MDB_env *env, const char *msg)
{
    if (s_in_verifier)
        abort ();
    const char *dir = NULL;
    if (mdb_env_get_path (env, &dir) != 0 || !dir)
        dir = "?";
    char text[1200];
    int n = snprintf (text, sizeof text, "spmmfarm: store %.400s is damaged: LMDB found an inconsistent page "
                      "(%.500s); stopped. Run 'spmmfarm store verify' on it.\n", dir, msg ? msg : "");
    ssize_t w = write (STDERR_FILENO, text, n > 0 && (size_t) n < sizeof text ? (size_t) n : sizeof text - 1);
    (void) w;
    _exit (1);
}

static void
s_install (void)
{
    bool expected = false;
    if (!atomic_compare_exchange_strong (&s_installed, &expected, true))
        return;
    dl_iterate_phdr (s_find_lmdb, NULL);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_sigaction = s_on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGBUS, &sa, &s_old_bus);
    sigaction (SIGSEGV, &sa, &s_old_segv);
}

/*  Where data.mdb of dir is mapped in this process: the mapping of its
    device and inode in /proc/self/maps (LMDB does not say). */
static bool
s_find_map (const char *dir, uintptr_t *lo, uintptr_t *hi)
{
    char path[4200];
    struct stat st;
    snprintf (path, sizeof path, "%s/data.mdb", dir);
    FILE *maps = stat (path, &st) == 0 ? fopen ("/proc/self/maps", "r") : NULL;
    if (!maps)
        return false;
    char line[4400];
    bool found = false;
    while (!found && fgets (line, sizeof line, maps)) {
        unsigned long long a, b, ino;
        unsigned major, minor;
        if (sscanf (line, "%llx-%llx %*s %*s %x:%x %llu", &a, &b, &major, &minor, &ino) == 5
            && ino == (unsigned long long) st.st_ino && major == major (st.st_dev)
            && minor == minor (st.st_dev)) {
            *lo = (uintptr_t) a;
            *hi = (uintptr_t) b;
            found = true;
        }
    }
    fclose (maps);
    return found;
}

void
sf_storecheck_guard (const void *owner, const char *dir)
{
    uintptr_t addr = 0, end = 0;
    if (!owner)
        return;
    s_install ();
    if (!s_find_map (dir, &addr, &end))
        addr = end = 1;  /* LMDB's code is still watched */
    s_guard_t *slot = NULL;
    for (int i = 0; i < S_GUARDS && !slot; i++)
        if (atomic_load (&s_guards[i].owner) == owner)
            slot = &s_guards[i];
    for (int i = 0; i < S_GUARDS && !slot; i++) {
        const void *none = NULL;
        if (atomic_compare_exchange_strong (&s_guards[i].owner, &none, owner))
            slot = &s_guards[i];
    }
    if (!slot)
        return;
    atomic_store (&slot->hi, 0);  /* no match while the message changes */
    int n = snprintf (slot->message, sizeof slot->message,
                      "spmmfarm: store %.400s is damaged: a read of its data file faulted (the file is shorter "
                      "than its pages say, or a page is corrupt); stopped. Run 'spmmfarm store verify' on it. (",
                      dir);
    slot->length = n < 0 ? 0 : (size_t) n < sizeof slot->message ? (size_t) n : sizeof slot->message - 1;
    atomic_store (&slot->lo, addr);
    atomic_store (&slot->hi, end);
}

void
sf_storecheck_unguard (const void *owner)
{
    for (int i = 0; i < S_GUARDS && owner; i++)
        if (atomic_load (&s_guards[i].owner) == owner) {
            atomic_store (&s_guards[i].hi, 0);
            atomic_store (&s_guards[i].lo, 0);
            atomic_store (&s_guards[i].owner, NULL);
        }
}

/* ---- verification in a child ------------------------------------------- */

/*  The child's reports on the pipe: 'D' db (starting it); 'B' db, key,
    reason (a bad record); 'C' checked, bad (the walk completed); 'E'
    status, message (it could not run). Lengths are u16, counts u64. */
typedef struct {
    int fd;
    sf_store_db db;
} s_child_t;

static void
s_put (int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0) {
        ssize_t n = write (fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit (3);  /* the parent is gone */
        p += n;
        size -= (size_t) n;
    }
}

static void
s_put_text (int fd, const void *text, size_t size)
{
    uint16_t n = size > 4000 ? 4000 : (uint16_t) size;
    s_put (fd, &n, 2);
    s_put (fd, text, n);
}

static void
s_child_bad (void *arg, sf_store_db db, const void *key, size_t key_size, const char *reason)
{
    s_child_t *c = arg;
    uint8_t tag[2] = { 'B', (uint8_t) db };
    s_put (c->fd, tag, 2);
    s_put_text (c->fd, key, key_size);
    s_put_text (c->fd, reason, strlen (reason));
}

static void
s_child (const char *dir, int fd)
{
    signal (SIGBUS, SIG_DFL);
    signal (SIGSEGV, SIG_DFL);
    s_in_verifier = true;
    s_child_t c = { fd, SF_DB_COUNT };
    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    int rc = store ? SF_OK : sf_error_last ();
    uint64_t checked = 0, bad = 0;
    for (int db = 0; db <= SF_DB_COUNT && rc == SF_OK; db++) {
        uint8_t tag[2] = { 'D', (uint8_t) db };
        s_put (fd, tag, 2);
        uint64_t n = 0, b = 0;
        rc = sf_store_verify_db (store, (sf_store_db) db, s_child_bad, &c, &n, &b);
        checked += n;
        bad += b;
    }
    if (rc == SF_OK) {
        uint8_t tag = 'C';
        s_put (fd, &tag, 1);
        s_put (fd, &checked, 8);
        s_put (fd, &bad, 8);
    } else {
        uint8_t tag = 'E';
        int32_t status = rc;
        s_put (fd, &tag, 1);
        s_put (fd, &status, 4);
        const char *message = sf_error_message ();
        s_put_text (fd, message, strlen (message));
    }
    sf_store_destroy (&store);
    close (fd);
    _exit (0);
}

typedef struct {
    FILE *in;
    bool ok;
} s_reader_t;

static void
s_get (s_reader_t *r, void *out, size_t size)
{
    if (r->ok && fread (out, 1, size, r->in) != size)
        r->ok = false;
    if (!r->ok)
        memset (out, 0, size);
}

static size_t
s_get_text (s_reader_t *r, char *out, size_t max)
{
    uint16_t n = 0;
    s_get (r, &n, 2);
    char buf[4001];
    s_get (r, buf, n);
    size_t kept = n < max - 1 ? n : max - 1;
    memcpy (out, buf, kept);
    out[kept] = '\0';
    return r->ok ? kept : 0;
}

static const char *
s_db_name (int db)
{
    return db >= 0 && db < SF_DB_COUNT ? sf_record_db_name ((sf_store_db) db) : "the list of databases";
}

int
sf_storecheck_verify (const char *dir, sf_store_bad_fn fn, void *arg, uint64_t *checked, uint64_t *bad)
{
    int fds[2];
    if (pipe (fds) != 0)
        return sf_error_set_origin (SF_ERR_IO, errno, "cannot make a pipe: %s", strerror (errno));
    fflush (NULL);
    pid_t pid = fork ();
    if (pid < 0) {
        close (fds[0]);
        close (fds[1]);
        return sf_error_set_origin (SF_ERR_IO, errno, "cannot fork the verifier: %s", strerror (errno));
    }
    if (pid == 0) {
        close (fds[0]);
        s_child (dir, fds[1]);
    }
    close (fds[1]);
    s_reader_t r = { fdopen (fds[0], "r"), true };
    if (!r.in) {
        close (fds[0]);
        r.ok = false;
    }
    int db = -1, status = SF_OK;
    bool complete = false;
    char message[4001] = "";
    uint64_t n_checked = 0, n_bad = 0, seen_bad = 0;
    while (r.ok) {
        int tag = fgetc (r.in);
        if (tag == EOF)
            break;
        if (tag == 'D') {
            uint8_t d = 0;
            s_get (&r, &d, 1);
            db = d;
        } else if (tag == 'B') {
            uint8_t d = 0;
            char key[4001], reason[4001];
            s_get (&r, &d, 1);
            size_t key_size = s_get_text (&r, key, sizeof key);
            s_get_text (&r, reason, sizeof reason);
            if (r.ok && d <= SF_DB_COUNT) {
                seen_bad++;
                if (fn)
                    fn (arg, (sf_store_db) d, key, key_size, reason);
            }
        } else if (tag == 'C') {
            s_get (&r, &n_checked, 8);
            s_get (&r, &n_bad, 8);
            complete = r.ok;
        } else if (tag == 'E') {
            int32_t s = 0;
            s_get (&r, &s, 4);
            s_get_text (&r, message, sizeof message);
            status = s < 0 ? s : SF_ERR_INTERNAL;
        } else
            r.ok = false;
    }
    if (r.in)
        fclose (r.in);
    int ws = 0;
    while (waitpid (pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (checked)
        *checked = n_checked;
    if (bad)
        *bad = complete ? n_bad : seen_bad;
    if (status != SF_OK)
        return sf_error_set (status, "%s", message);
    if (complete && WIFEXITED (ws) && WEXITSTATUS (ws) == 0)
        return SF_OK;
    char how[64];
    if (WIFSIGNALED (ws))
        snprintf (how, sizeof how, "%s", WTERMSIG (ws) == SIGBUS    ? "SIGBUS"
                                         : WTERMSIG (ws) == SIGSEGV ? "SIGSEGV"
                                         : WTERMSIG (ws) == SIGABRT ? "SIGABRT: an LMDB assertion"
                                                                    : "a signal");
    else
        snprintf (how, sizeof how, "exit status %d", WIFEXITED (ws) ? WEXITSTATUS (ws) : -1);
    return sf_error_set (SF_ERR_FORMAT, "store %s is damaged: reading %s crashed LMDB (%s) after %llu bad "
                         "record(s); its pages are corrupt: restore data.mdb from a copy", dir, s_db_name (db), how,
                         (unsigned long long) seen_bad);
}
