/*  sf_measure: the measuring child, its wire format and its watchdog. */
#include "worker/sf_measure.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_buf.h"
#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"

#define S_MAGIC 0x344d4653u               /* "SFM4": baselines and dense say what is timed */
#define S_MAX_REQUEST ((size_t) 3 << 30)  /* a problem or a cubin + data */
#define S_MAX_REPLY ((size_t) 64 << 10)
#define S_MSG_MAX 1024

enum { T_HELLO = 1, T_PROBLEM, T_RUN, T_BASELINES, T_DENSE, T_PING, T_REPLY };
enum { PING_OK = 0, PING_CRASH = 1, PING_HANG = 2 };

struct _sf_measure_t {
    int gpu;
    char *exe;
    double run_timeout_s, setup_timeout_s;
    pid_t pid;
    int fd;                 /* -1: no child (dead or not started) */
    int restarts;
    sf_device_info_t info;
    char toolkit[16];
    /* the problem, re-sent to a restarted child */
    const sf_matrix_t *a;
    int64_t n;
    sf_tier tier;
    sf_layout layout;
    bool l2_cold;           /* sf_measure_set_l2: sent with the problem */
    bool bias, relu;
    uint64_t seed;
};

typedef struct {
    int32_t status, origin;
    char message[S_MSG_MAX];
    double err;
    sf_timing_t timing;
    sf_baselines_t baselines;
} s_reply_t;

/* ---- frames: [magic u32][type u32][length u64][payload] ---------------------- */

typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad;
} s_reader_t;

static void
s_get (s_reader_t *r, void *out, size_t size)
{
    if (r->bad || size > r->left) {
        r->bad = true;
        memset (out, 0, size);
        return;
    }
    memcpy (out, r->p, size);
    r->p += size;
    r->left -= size;
}

/*  A length-prefixed byte run, pointing into the frame; NULL if it does
    not fit the frame or `max`. */
static const void *
s_get_bytes (s_reader_t *r, size_t max, uint64_t *len)
{
    s_get (r, len, sizeof *len);
    if (r->bad || *len > max || *len > r->left) {
        r->bad = true;
        return NULL;
    }
    const void *p = r->p;
    r->p += *len;
    r->left -= *len;
    return p;
}

static void
s_put_bytes (sf_buf_t *b, const void *data, uint64_t len)
{
    sf_buf_append (b, &len, sizeof len);
    if (len)
        sf_buf_append (b, data, len);
}

/*  Waits until fd is ready for `events` or the deadline passes. */
static int
s_wait (int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - sf_clock_mono ();
        if (left <= 0)
            return SF_ERR_TIMEOUT;
        struct pollfd pfd = { fd, events, 0 };
        int rc = poll (&pfd, 1, (int) (left * 1000) + 1);
        if (rc > 0)
            return SF_OK;
        if (rc < 0 && errno != EINTR)
            return sf_error_set_origin (SF_ERR_IO, errno, "poll: %s", strerror (errno));
    }
}

static int
s_write_all (int fd, const void *data, size_t size, double deadline)
{
    const uint8_t *p = data;
    while (size > 0) {
        int rc = s_wait (fd, POLLOUT, deadline);
        if (rc != SF_OK)
            return rc;
        ssize_t w = send (fd, p, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return sf_error_set_origin (SF_ERR_IO, errno, "writing to the measuring child: %s",
                                        strerror (errno));
        p += w;
        size -= (size_t) w;
    }
    return SF_OK;
}

/*  Reads exactly size bytes; SF_ERR_IO "closed" on end of file. */
static int
s_read_all (int fd, void *data, size_t size, double deadline)
{
    uint8_t *p = data;
    while (size > 0) {
        int rc = deadline > 0 ? s_wait (fd, POLLIN, deadline) : SF_OK;
        if (rc != SF_OK)
            return rc;
        ssize_t r = read (fd, p, size);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r == 0)
            return sf_error_set (SF_ERR_IO, "closed");
        if (r < 0)
            return sf_error_set_origin (SF_ERR_IO, errno, "read: %s", strerror (errno));
        p += r;
        size -= (size_t) r;
    }
    return SF_OK;
}

static int
s_send_frame (int fd, uint32_t type, const sf_buf_t *payload, double deadline)
{
    uint32_t head[2] = { S_MAGIC, type };
    uint64_t len = payload ? sf_buf_size (payload) : 0;
    int rc = s_write_all (fd, head, sizeof head, deadline);
    if (rc == SF_OK)
        rc = s_write_all (fd, &len, sizeof len, deadline);
    if (rc == SF_OK && len)
        rc = s_write_all (fd, sf_buf_data (payload), len, deadline);
    return rc;
}

/*  Reads one frame; *payload_p gets a malloc'ed payload (caller frees). */
static int
s_recv_frame (int fd, uint32_t *type, uint8_t **payload_p, uint64_t *len, size_t max, double deadline)
{
    uint32_t head[2];
    *payload_p = NULL;
    int rc = s_read_all (fd, head, sizeof head, deadline);
    if (rc == SF_OK)
        rc = s_read_all (fd, len, sizeof *len, deadline);
    if (rc != SF_OK)
        return rc;
    if (head[0] != S_MAGIC || *len > max)
        return sf_error_set (SF_ERR_PROTOCOL, "bad frame from the measuring %s (magic %08x, %llu bytes)",
                             max == S_MAX_REPLY ? "child" : "parent", head[0], (unsigned long long) *len);
    *type = head[1];
    *payload_p = malloc (*len ? *len : 1);
    if (!*payload_p)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for a %llu-byte frame", (unsigned long long) *len);
    rc = s_read_all (fd, *payload_p, *len, deadline);
    if (rc != SF_OK) {
        free (*payload_p);
        *payload_p = NULL;
    }
    return rc;
}

/* ---- the child ------------------------------------------------------------------ */

typedef struct {
    int fd;
    sf_gpu_t *gpu;
    sf_matrix_t *a;
} s_child_t;

static int
s_child_reply (s_child_t *c, int status, double err, const sf_timing_t *t, const sf_baselines_t *b)
{
    sf_buf_t *out = sf_buf_new (S_MAX_REPLY);
    if (!out)
        return SF_ERR_NOMEM;
    int32_t st = status, origin = status == SF_OK ? 0 : sf_error_origin ();
    sf_buf_append (out, &st, sizeof st);
    sf_buf_append (out, &origin, sizeof origin);
    const char *msg = status == SF_OK ? "" : sf_error_message ();
    s_put_bytes (out, msg, strnlen (msg, S_MSG_MAX - 1));
    sf_buf_append (out, &err, sizeof err);
    sf_timing_t tz = { 0 };
    sf_baselines_t bz = { 0 };
    sf_buf_append (out, t ? t : &tz, sizeof tz);
    sf_buf_append (out, b ? b : &bz, sizeof bz);
    int rc = sf_buf_status (out) == SF_OK ? s_send_frame (c->fd, T_REPLY, out, sf_clock_mono () + 60) : SF_ERR_NOMEM;
    sf_buf_destroy (&out);
    return rc;
}

static int
s_child_problem (s_child_t *c, s_reader_t *r)
{
    int64_t m, k, nnz, n;
    uint8_t bias, relu, tier, layout, l2_cold;
    uint64_t seed, len;
    s_get (r, &m, 8);
    s_get (r, &k, 8);
    s_get (r, &nnz, 8);
    s_get (r, &n, 8);
    s_get (r, &bias, 1);
    s_get (r, &relu, 1);
    s_get (r, &tier, 1);
    s_get (r, &layout, 1);
    s_get (r, &l2_cold, 1);
    s_get (r, &seed, 8);
    if (r->bad || m < 1 || k < 1 || n < 1 || nnz < 0 || m > INT32_MAX || k > INT32_MAX || nnz > INT32_MAX
        || tier >= SF_TIER_COUNT || layout >= SF_LAYOUT_COUNT || l2_cold > 1)
        return sf_error_set (SF_ERR_PROTOCOL, "malformed problem request");
    const void *rp = s_get_bytes (r, (size_t) (m + 1) * 4, &len);
    if (len != (uint64_t) (m + 1) * 4)
        r->bad = true;
    const void *ci = s_get_bytes (r, (size_t) nnz * 4, &len);
    if (len != (uint64_t) nnz * 4)
        r->bad = true;
    const void *va = s_get_bytes (r, (size_t) nnz * 4, &len);
    if (r->bad || len != (uint64_t) nnz * 4)
        return sf_error_set (SF_ERR_PROTOCOL, "malformed problem arrays");
    int32_t *row_ptr = malloc ((size_t) (m + 1) * 4), *col_idx = malloc ((size_t) (nnz ? nnz : 1) * 4);
    float *values = malloc ((size_t) (nnz ? nnz : 1) * 4);
    if (!row_ptr || !col_idx || !values) {
        free (row_ptr);
        free (col_idx);
        free (values);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the problem");
    }
    memcpy (row_ptr, rp, (size_t) (m + 1) * 4);
    memcpy (col_idx, ci, (size_t) nnz * 4);
    memcpy (values, va, (size_t) nnz * 4);
    sf_matrix_t *a = sf_matrix_new_csr (m, k, &row_ptr, &col_idx, &values);
    free (row_ptr);
    free (col_idx);
    free (values);
    if (!a)
        return sf_error_last ();
    int rc = sf_gpu_set_layout (c->gpu, (sf_layout) layout);
    if (rc == SF_OK)
        rc = sf_gpu_set_l2 (c->gpu, l2_cold != 0);
    if (rc == SF_OK)
        rc = sf_gpu_set_problem_tier (c->gpu, a, n, (sf_tier) tier, bias, relu, seed);
    sf_matrix_destroy (&c->a);  /* after: the gpu dropped its pointer to the old one */
    c->a = a;
    return rc;
}

static int
s_child_run (s_child_t *c, s_reader_t *r, double *err, sf_timing_t *t)
{
    sf_launch_t l = { 0 };
    uint64_t len;
    const char *entry = s_get_bytes (r, SF_ENTRY_MAX - 1, &len);
    if (entry)
        memcpy (l.entry, entry, len);
    s_get (r, &l.block_threads, 4);
    s_get (r, &l.cols_per_block, 4);
    s_get (r, &l.panel_groups, 4);
    s_get (r, &l.order, 4);
    s_get (r, &l.vec, 4);
    s_get (r, &l.shared_bytes, 4);
    s_get (r, &l.panels, 4);
    uint8_t verify, timed;
    double tol;
    s_get (r, &verify, 1);
    s_get (r, &timed, 1);
    s_get (r, &tol, 8);
    uint64_t cubin_len, data_len;
    const void *cubin = s_get_bytes (r, S_MAX_REQUEST, &cubin_len);
    const void *data = s_get_bytes (r, S_MAX_REQUEST, &data_len);
    if (r->bad || !cubin || l.block_threads < 1 || l.block_threads > 1024 || l.cols_per_block < 1
        || l.panel_groups < 1)
        return sf_error_set (SF_ERR_PROTOCOL, "malformed run request");
    if (!c->a)
        return sf_error_set (SF_ERR_INVALID, "run before any problem was set");
    return sf_gpu_run (c->gpu, cubin, cubin_len, &l, data, data_len, verify, tol, err,
                       timed ? t : NULL);
}

static void
s_child_ping (s_child_t *c, s_reader_t *r)
{
    uint32_t action = PING_OK;
    s_get (r, &action, 4);
    if (action == PING_CRASH)
        abort ();
    if (action == PING_HANG)
        for (;;)
            pause ();
    s_child_reply (c, SF_OK, 0, NULL, NULL);
}

/*  One request. Returns false when the child must exit (after a CUDA
    error its context may be unusable). */
static bool
s_child_serve (s_child_t *c, uint32_t type, s_reader_t *r)
{
    double err = NAN;
    sf_timing_t t = { 0 };
    sf_baselines_t b = { 0 };
    int rc;
    if (type == T_PING) {
        s_child_ping (c, r);
        return true;
    }
    if (!c->gpu)
        rc = sf_error_set (SF_ERR_NODEVICE, "the measuring child has no GPU");
    else if (type == T_PROBLEM)
        rc = s_child_problem (c, r);
    else if (type == T_RUN)
        rc = s_child_run (c, r, &err, &t);
    else if (type == T_BASELINES) {
        uint32_t untimed = 0;
        int32_t algo = -1;
        s_get (r, &untimed, 4);
        s_get (r, &algo, 4);
        rc = r->bad ? sf_error_set (SF_ERR_PROTOCOL, "malformed baselines request")
                    : sf_gpu_baselines_untimed (c->gpu, untimed, algo, &b);
    } else if (type == T_DENSE) {
        double tol = 0;
        uint8_t timed = 1;
        s_get (r, &tol, 8);
        s_get (r, &timed, 1);
        rc = r->bad ? sf_error_set (SF_ERR_PROTOCOL, "malformed dense request")
                    : sf_gpu_run_dense (c->gpu, tol, &err, timed ? &t : NULL);
    } else
        rc = sf_error_set (SF_ERR_PROTOCOL, "unknown request type %u", type);
    s_child_reply (c, rc, err, &t, &b);
    return rc != SF_ERR_CUDA;
}

static void
s_child_hello (s_child_t *c, int status)
{
    sf_buf_t *out = sf_buf_new (S_MAX_REPLY);
    if (!out)
        return;
    int32_t st = status;
    sf_buf_append (out, &st, sizeof st);
    const char *msg = status == SF_OK ? "" : sf_error_message ();
    s_put_bytes (out, msg, strnlen (msg, S_MSG_MAX - 1));
    sf_device_info_t none = { 0 };
    const sf_device_info_t *info = c->gpu ? sf_gpu_info (c->gpu) : &none;
    s_put_bytes (out, info, sizeof *info);
    const char *tk = c->gpu ? sf_gpu_toolkit_version (c->gpu) : "";
    s_put_bytes (out, tk, strnlen (tk, 15));
    if (sf_buf_status (out) == SF_OK)
        s_send_frame (c->fd, T_HELLO, out, sf_clock_mono () + 60);
    sf_buf_destroy (&out);
}

int
sf_measure_child_main (int fd, int gpu)
{
    s_child_t c = { fd, NULL, NULL };
    /* The parent's terminal signals are the parent's business: it stops us
       by closing the socket or with SIGKILL. */
    signal (SIGINT, SIG_IGN);
    c.gpu = sf_gpu_new (gpu);
    s_child_hello (&c, c.gpu ? SF_OK : sf_error_last ());
    int code = 0;
    for (;;) {
        uint32_t type;
        uint8_t *payload;
        uint64_t len;
        int rc = s_recv_frame (fd, &type, &payload, &len, S_MAX_REQUEST, 0);
        if (rc != SF_OK)
            break;  /* the parent closed the socket (or broke the protocol) */
        s_reader_t r = { payload, len, false };
        bool go_on = s_child_serve (&c, type, &r);
        free (payload);
        if (!go_on) {
            code = 3;
            break;
        }
    }
    sf_gpu_destroy (&c.gpu);
    sf_matrix_destroy (&c.a);
    close (fd);
    return code;
}

/* ---- the parent ----------------------------------------------------------------- */

/*  Reaps a dead or killed child, describing how it ended. */
static void
s_reap (sf_measure_t *self, bool kill_it, char *how, size_t size)
{
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    if (self->pid <= 0)
        return;
    if (kill_it)
        kill (self->pid, SIGKILL);
    int status = 0;
    pid_t rc;
    do
        rc = waitpid (self->pid, &status, 0);
    while (rc < 0 && errno == EINTR);
    if (how && rc == self->pid) {
        if (WIFSIGNALED (status))
            snprintf (how, size, "killed by signal %d (%s)", WTERMSIG (status), strsignal (WTERMSIG (status)));
        else
            snprintf (how, size, "exited with code %d", WEXITSTATUS (status));
    }
    self->pid = -1;
}

static int
s_spawn (sf_measure_t *self)
{
    int sv[2];
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return sf_error_set_origin (SF_ERR_IO, errno, "socketpair: %s", strerror (errno));
    char fd_arg[16], gpu_arg[16];
    snprintf (fd_arg, sizeof fd_arg, "%d", sv[1]);
    snprintf (gpu_arg, sizeof gpu_arg, "%d", self->gpu);
    char *argv[] = { self->exe, "__measure-child", fd_arg, gpu_arg, NULL };
    pid_t pid = fork ();
    if (pid < 0) {
        int e = errno;
        close (sv[0]);
        close (sv[1]);
        return sf_error_set_origin (SF_ERR_IO, e, "fork: %s", strerror (e));
    }
    if (pid == 0) {
        /* Only async-signal-safe calls until exec: the parent may have
           compile threads holding locks. */
        fcntl (sv[1], F_SETFD, 0);
        /* The worker blocks SIGINT and SIGTERM (it reads them from a
           signalfd); the child starts with none blocked, as any program. */
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        execv (self->exe, argv);
        _exit (127);
    }
    close (sv[1]);
    self->pid = pid;
    self->fd = sv[0];
    return SF_OK;
}

/*  Reads the child's HELLO. */
static int
s_hello (sf_measure_t *self, bool allow_no_device)
{
    uint32_t type = 0;
    uint8_t *payload = NULL;
    uint64_t len = 0;
    int rc = s_recv_frame (self->fd, &type, &payload, &len, S_MAX_REPLY, sf_clock_mono () + self->setup_timeout_s);
    if (rc != SF_OK) {
        char how[128] = "";
        s_reap (self, true, how, sizeof how);
        return sf_error_set (rc == SF_ERR_TIMEOUT ? SF_ERR_TIMEOUT : SF_ERR_CUDA,
                             "the measuring child (%s) did not start: %s", self->exe,
                             *how ? how : sf_error_message ());
    }
    s_reader_t r = { payload, len, false };
    int32_t status;
    uint64_t mlen, ilen, tlen;
    s_get (&r, &status, 4);
    const char *msg = s_get_bytes (&r, S_MSG_MAX - 1, &mlen);
    const void *info = s_get_bytes (&r, sizeof self->info, &ilen);
    const char *tk = s_get_bytes (&r, sizeof self->toolkit - 1, &tlen);
    if (r.bad || type != T_HELLO || ilen != sizeof self->info) {
        free (payload);
        s_reap (self, true, NULL, 0);
        return sf_error_set (SF_ERR_PROTOCOL, "the measuring child sent a malformed greeting");
    }
    memcpy (&self->info, info, sizeof self->info);
    memcpy (self->toolkit, tk, tlen);
    self->toolkit[tlen] = '\0';
    if (status != SF_OK) {
        char detail[S_MSG_MAX];
        snprintf (detail, sizeof detail, "%.*s", (int) mlen, msg);
        free (payload);
        if (!allow_no_device) {
            s_reap (self, true, NULL, 0);
            return sf_error_set (status, "%s", detail);
        }
        return SF_OK;
    }
    free (payload);
    return SF_OK;
}

sf_measure_t *
sf_measure_new (int gpu, const sf_measure_opts_t *opts, bool allow_no_device)
{
    sf_measure_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->gpu = gpu;
    self->fd = -1;
    self->pid = -1;
    self->exe = strdup (opts && opts->exe ? opts->exe : "/proc/self/exe");
    self->run_timeout_s = opts && opts->run_timeout_s > 0 ? opts->run_timeout_s : 30;
    self->setup_timeout_s = opts && opts->setup_timeout_s > 0 ? opts->setup_timeout_s : 300;
    int rc = self->exe ? s_spawn (self) : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        rc = s_hello (self, allow_no_device);
    if (rc != SF_OK) {
        sf_measure_destroy (&self);  /* keeps the error detail */
        return NULL;
    }
    return self;
}

void
sf_measure_destroy (sf_measure_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_measure_t *self = *self_p;
    /* Closing the socket ends the child's loop; SIGKILL if it is stuck. */
    if (self->fd >= 0) {
        close (self->fd);
        self->fd = -1;
        for (int i = 0; i < 50 && self->pid > 0; i++) {
            if (waitpid (self->pid, NULL, WNOHANG) == self->pid)
                self->pid = -1;
            else
                usleep (20000);
        }
    }
    s_reap (self, true, NULL, 0);
    free (self->exe);
    free (self);
    *self_p = NULL;
}

const sf_device_info_t *
sf_measure_info (const sf_measure_t *self)
{
    return &self->info;
}

const char *
sf_measure_toolkit (const sf_measure_t *self)
{
    return self->toolkit;
}

void
sf_measure_set_run_timeout (sf_measure_t *self, double run_timeout_s)
{
    self->run_timeout_s = run_timeout_s > 0 ? run_timeout_s : 30;
}

int
sf_measure_restarts (const sf_measure_t *self)
{
    return self->restarts;
}

static int s_send_problem (sf_measure_t *self);

/*  A child to talk to: restarts a dead one and gives it the problem. */
static int
s_ensure_child (sf_measure_t *self)
{
    if (self->fd >= 0)
        return SF_OK;
    self->restarts++;
    sf_log_info ("measure", "restarting the measuring child (restart %d)", self->restarts);
    int rc = s_spawn (self);
    if (rc == SF_OK)
        rc = s_hello (self, false);
    if (rc == SF_OK && self->a)
        rc = s_send_problem (self);
    return rc;
}

/*  Sends a request and waits for its reply within timeout_s; on a timeout
    or the child's death, kills/reaps it and returns the error result. */
static int
s_request (sf_measure_t *self, uint32_t type, const sf_buf_t *payload, double timeout_s, s_reply_t *out)
{
    memset (out, 0, sizeof *out);
    out->err = NAN;
    double deadline = sf_clock_mono () + timeout_s;
    int rc = s_send_frame (self->fd, type, payload, deadline);
    uint32_t rtype = 0;
    uint8_t *reply = NULL;
    uint64_t len = 0;
    if (rc == SF_OK)
        rc = s_recv_frame (self->fd, &rtype, &reply, &len, S_MAX_REPLY, deadline);
    if (rc != SF_OK) {
        char how[128] = "";
        bool timeout = rc == SF_ERR_TIMEOUT;
        s_reap (self, true, how, sizeof how);
        if (timeout)
            return sf_error_set (SF_ERR_TIMEOUT, "run timeout: no answer within %.0f s; the measuring "
                                 "child was killed", timeout_s);
        return sf_error_set (SF_ERR_CUDA, "the measuring child died (%s)", *how ? how : "connection lost");
    }
    s_reader_t r = { reply, len, false };
    uint64_t mlen;
    s_get (&r, &out->status, 4);
    s_get (&r, &out->origin, 4);
    const char *msg = s_get_bytes (&r, S_MSG_MAX - 1, &mlen);
    if (msg)
        memcpy (out->message, msg, mlen);
    s_get (&r, &out->err, 8);
    s_get (&r, &out->timing, sizeof out->timing);
    s_get (&r, &out->baselines, sizeof out->baselines);
    free (reply);
    if (r.bad || rtype != T_REPLY) {
        s_reap (self, true, NULL, 0);
        return sf_error_set (SF_ERR_PROTOCOL, "malformed reply from the measuring child");
    }
    if (out->status == SF_ERR_CUDA)
        s_reap (self, false, NULL, 0);  /* it exits after a CUDA error */
    if (out->status != SF_OK)
        return sf_error_set_origin (out->status, out->origin, "%s", out->message);
    return SF_OK;
}

static int
s_send_problem (sf_measure_t *self)
{
    const sf_matrix_t *a = self->a;
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a), nnz = sf_matrix_nnz (a);
    sf_buf_t *b = sf_buf_new (S_MAX_REQUEST);
    if (!b)
        return SF_ERR_NOMEM;
    uint8_t bias = self->bias, relu = self->relu, tier = (uint8_t) self->tier, layout = (uint8_t) self->layout,
            l2_cold = self->l2_cold;
    sf_buf_append (b, &m, 8);
    sf_buf_append (b, &k, 8);
    sf_buf_append (b, &nnz, 8);
    sf_buf_append (b, &self->n, 8);
    sf_buf_append (b, &bias, 1);
    sf_buf_append (b, &relu, 1);
    sf_buf_append (b, &tier, 1);
    sf_buf_append (b, &layout, 1);
    sf_buf_append (b, &l2_cold, 1);
    sf_buf_append (b, &self->seed, 8);
    s_put_bytes (b, sf_matrix_row_ptr (a), (uint64_t) (m + 1) * 4);
    s_put_bytes (b, sf_matrix_col_idx (a), (uint64_t) nnz * 4);
    s_put_bytes (b, sf_matrix_values (a), (uint64_t) nnz * 4);
    s_reply_t reply;
    int rc = sf_buf_status (b);
    if (rc == SF_OK)
        rc = s_request (self, T_PROBLEM, b, self->setup_timeout_s, &reply);
    sf_buf_destroy (&b);
    return rc;
}

int
sf_measure_set_problem (sf_measure_t *self, const sf_matrix_t *a, int64_t n, bool bias, bool relu,
                        uint64_t seed)
{
    return sf_measure_set_problem_tier (self, a, n, SF_TIER_FP32, bias, relu, seed);
}

int
sf_measure_set_problem_tier (sf_measure_t *self, const sf_matrix_t *a, int64_t n, sf_tier tier, bool bias,
                             bool relu, uint64_t seed)
{
    return sf_measure_set_problem_layout (self, a, n, tier, SF_LAYOUT_KN, bias, relu, seed);
}

int
sf_measure_set_problem_layout (sf_measure_t *self, const sf_matrix_t *a, int64_t n, sf_tier tier,
                               sf_layout layout, bool bias, bool relu, uint64_t seed)
{
    if ((unsigned) tier >= SF_TIER_COUNT)
        return sf_error_set (SF_ERR_INVALID, "tier %d is not a precision tier", (int) tier);
    if ((unsigned) layout >= SF_LAYOUT_COUNT)
        return sf_error_set (SF_ERR_INVALID, "layout %d is not kn or nk", (int) layout);
    self->layout = layout;
    self->a = a;
    self->tier = tier;
    self->n = n;
    self->bias = bias;
    self->relu = relu;
    self->seed = seed;
    if (self->fd < 0)
        return s_ensure_child (self);
    return s_send_problem (self);
}

void
sf_measure_set_l2 (sf_measure_t *self, bool cold)
{
    self->l2_cold = cold;
}

int
sf_measure_run (sf_measure_t *self, const void *cubin, size_t size, const sf_launch_t *launch,
                const void *data, size_t data_size, bool verify, double tol, double *err,
                sf_timing_t *timing)
{
    *err = NAN;
    int rc = s_ensure_child (self);
    if (rc != SF_OK)
        return rc;
    sf_buf_t *b = sf_buf_new (S_MAX_REQUEST);
    if (!b)
        return SF_ERR_NOMEM;
    s_put_bytes (b, launch->entry, strnlen (launch->entry, SF_ENTRY_MAX - 1));
    sf_buf_append (b, &launch->block_threads, 4);
    sf_buf_append (b, &launch->cols_per_block, 4);
    sf_buf_append (b, &launch->panel_groups, 4);
    sf_buf_append (b, &launch->order, 4);
    sf_buf_append (b, &launch->vec, 4);
    sf_buf_append (b, &launch->shared_bytes, 4);
    sf_buf_append (b, &launch->panels, 4);
    uint8_t v = verify, t = timing != NULL;
    sf_buf_append (b, &v, 1);
    sf_buf_append (b, &t, 1);
    sf_buf_append (b, &tol, 8);
    s_put_bytes (b, cubin, size);
    s_put_bytes (b, data, data_size);
    s_reply_t reply;
    rc = sf_buf_status (b);
    if (rc == SF_OK)
        rc = s_request (self, T_RUN, b, self->run_timeout_s, &reply);
    sf_buf_destroy (&b);
    *err = reply.err;
    if (rc == SF_OK && timing)
        *timing = reply.timing;
    return rc;
}

int
sf_measure_baselines (sf_measure_t *self, sf_baselines_t *out)
{
    return sf_measure_baselines_untimed (self, 0, -1, out);
}

int
sf_measure_baselines_untimed (sf_measure_t *self, unsigned untimed, int blas16_algo, sf_baselines_t *out)
{
    int rc = s_ensure_child (self);
    sf_buf_t *b = rc == SF_OK ? sf_buf_new (64) : NULL;
    if (rc == SF_OK && !b)
        rc = SF_ERR_NOMEM;
    s_reply_t reply;
    if (rc == SF_OK) {
        uint32_t u = untimed;
        int32_t algo = blas16_algo;
        sf_buf_append (b, &u, 4);
        sf_buf_append (b, &algo, 4);
        rc = s_request (self, T_BASELINES, b, self->setup_timeout_s, &reply);
    }
    if (rc == SF_OK)
        *out = reply.baselines;
    sf_buf_destroy (&b);
    return rc;
}

int
sf_measure_dense (sf_measure_t *self, double tol, double *err, sf_timing_t *timing)
{
    *err = NAN;
    int rc = s_ensure_child (self);
    sf_buf_t *b = rc == SF_OK ? sf_buf_new (64) : NULL;
    if (rc == SF_OK && !b)
        rc = SF_ERR_NOMEM;
    s_reply_t reply;
    if (rc == SF_OK) {
        uint8_t timed = timing != NULL;
        sf_buf_append (b, &tol, 8);
        sf_buf_append (b, &timed, 1);
        rc = s_request (self, T_DENSE, b, self->setup_timeout_s, &reply);
        *err = reply.err;
        if (timing)
            *timing = reply.timing;
    }
    sf_buf_destroy (&b);
    return rc;
}

int
sf_measure_ping (sf_measure_t *self, const char *action, double timeout_s)
{
    uint32_t a = strcmp (action, "crash") == 0 ? PING_CRASH : strcmp (action, "hang") == 0 ? PING_HANG : PING_OK;
    int rc = SF_OK;
    if (self->fd < 0) {  /* a test may ping a child that has no GPU */
        self->restarts++;
        rc = s_spawn (self);
        if (rc == SF_OK)
            rc = s_hello (self, true);
    }
    sf_buf_t *b = rc == SF_OK ? sf_buf_new (16) : NULL;
    if (rc == SF_OK && !b)
        rc = SF_ERR_NOMEM;
    s_reply_t reply;
    if (rc == SF_OK) {
        sf_buf_append (b, &a, 4);
        rc = s_request (self, T_PING, b, timeout_s, &reply);
    }
    sf_buf_destroy (&b);
    return rc;
}
