/*  sf_farm: a coordinator thread and worker processes, one start, one stop. */
#include "coordinator/sf_farm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <czmq.h>

#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "coordinator/sf_coord.h"

#define S_LOG "farm"
#define S_REAP_MS 5000           /* the workers' time to leave after SHUTDOWN */

/*  A RESULT the coordinator accepted, copied for the client. */
typedef struct {
    uint64_t campaign;
    uint32_t layer;
    sf_proto_msg_t *msg;
} s_kept_t;

struct _sf_farm_t {
    sf_coord_t *coord;
    pthread_mutex_t lock;        /* kept, kept_count: the loop's thread adds, the client takes */
    s_kept_t *kept;              /* SF_FARM_RESULTS_MAX entries when keep_results, else NULL */
    size_t kept_count;
    pthread_t thread;
    bool running;                /* the thread was started */
    volatile sig_atomic_t stop;
    int rc;                      /* the coordinator loop's */
    char backend[8];
    int workers, threads;
    pid_t pids[SF_FARM_WORKERS_MAX];
};

int
sf_farm_gpu_count (void)
{
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int count = 0;
    if (!drv || sf_cudadrv_device_count (drv, &count) != SF_OK)
        count = 0;
    sf_cudadrv_destroy (&drv);
    return count;
}

/*  The coordinator's on_result: a deep copy (the wire's codec, both ways)
    kept for sf_farm_take_result; the oldest gives way past the bound. */
static void
s_keep_result (void *arg, uint64_t campaign, uint32_t layer, const sf_proto_result_t *res)
{
    sf_farm_t *self = arg;
    zmsg_t *zmsg = sf_proto_encode (SF_PROTO_RESULT, res);
    sf_proto_msg_t *copy = NULL;
    if (!zmsg || sf_proto_decode (zmsg, SF_PROTO_FROM_WORKER, &copy) != SF_OK) {
        sf_log_warn (S_LOG, "campaign %llu, layer %u: its RESULT is not kept: %s", (unsigned long long) campaign,
                     layer, sf_error_message ());
        zmsg_destroy (&zmsg);
        return;
    }
    zmsg_destroy (&zmsg);
    pthread_mutex_lock (&self->lock);
    if (self->kept_count == SF_FARM_RESULTS_MAX) {
        sf_proto_msg_destroy (&self->kept[0].msg);
        memmove (self->kept, self->kept + 1, (SF_FARM_RESULTS_MAX - 1) * sizeof *self->kept);
        self->kept_count--;
    }
    self->kept[self->kept_count++] = (s_kept_t) { campaign, layer, copy };
    pthread_mutex_unlock (&self->lock);
}

int
sf_farm_take_result (sf_farm_t *self, uint64_t campaign, uint32_t layer, sf_proto_result_t *res)
{
    memset (res, 0, sizeof *res);
    int rc = sf_error_set (SF_ERR_NOTFOUND, "no RESULT of campaign %llu, layer %u", (unsigned long long) campaign,
                           layer);
    pthread_mutex_lock (&self->lock);
    for (size_t i = self->kept_count; i-- > 0;)
        if (self->kept[i].campaign == campaign && self->kept[i].layer == layer) {
            *res = self->kept[i].msg->result;   /* the body moves: the message shell is freed */
            free (self->kept[i].msg);
            memmove (self->kept + i, self->kept + i + 1, (self->kept_count - i - 1) * sizeof *self->kept);
            self->kept_count--;
            rc = SF_OK;
            break;
        }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

static void *
s_coord_thread (void *arg)
{
    sf_farm_t *self = arg;
    self->rc = sf_coord_run (self->coord);
    return NULL;
}

static pid_t
s_spawn_worker (const char *program, const char *endpoint, const char *backend, int gpu, int threads)
{
    char gpu_arg[16], threads_arg[16];
    snprintf (gpu_arg, sizeof gpu_arg, "%d", gpu);
    snprintf (threads_arg, sizeof threads_arg, "%d", threads);
    pid_t pid = fork ();
    if (pid == 0) {
        char *argv[] = { "spmmfarm", "worker", "--connect", (char *) endpoint, "--backend", (char *) backend,
                         "--gpu", gpu_arg, "--compile-threads", threads_arg, NULL };
        execv (program, argv);
        fprintf (stderr, "spmmfarm local: cannot start a worker: %s\n", strerror (errno));
        _exit (127);
    }
    return pid;
}

/*  Waits for the workers to leave (they got SHUTDOWN), then kills the rest. */
static void
s_reap (pid_t *pids, int count)
{
    int64_t deadline = zclock_mono () + S_REAP_MS;
    int left = count;
    while (left > 0 && zclock_mono () < deadline) {
        left = 0;
        for (int i = 0; i < count; i++) {
            if (pids[i] > 0 && waitpid (pids[i], NULL, WNOHANG) == pids[i])
                pids[i] = 0;
            left += pids[i] > 0;
        }
        if (left)
            zclock_sleep (50);
    }
    for (int i = 0; i < count; i++)
        if (pids[i] > 0) {
            kill (pids[i], SIGKILL);
            waitpid (pids[i], NULL, 0);
            pids[i] = 0;
        }
}

/*  Frees the farm's memory (nothing runs any more). */
static void
s_free (sf_farm_t **self_p)
{
    sf_farm_t *self = *self_p;
    for (size_t i = 0; i < self->kept_count; i++)
        sf_proto_msg_destroy (&self->kept[i].msg);
    free (self->kept);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

/*  The backend and the worker count and threads, from the options. */
static int
s_plan (sf_farm_t *self, const sf_farm_opts_t *o)
{
    const char *backend = o->backend ? o->backend : "auto";
    if (strcmp (backend, "auto") != 0 && strcmp (backend, "cuda") != 0 && strcmp (backend, "sim") != 0)
        return sf_error_set (SF_ERR_INVALID, "backend '%s': auto, cuda or sim", backend);
    if (o->workers < 0 || o->workers > SF_FARM_WORKERS_MAX || o->compile_threads < 0 || o->gpu < 0 || o->gpu > 1023)
        return sf_error_set (SF_ERR_INVALID, "workers: 0..%d, compile threads >= 0, gpu 0..1023",
                             SF_FARM_WORKERS_MAX);
    int gpus = strcmp (backend, "sim") == 0 ? 0 : sf_farm_gpu_count ();
    if (strcmp (backend, "auto") == 0)
        backend = gpus > 0 ? "cuda" : "sim";
    if (strcmp (backend, "cuda") == 0 && gpus == 0)
        return sf_error_set (SF_ERR_NODEVICE, "--backend cuda: no GPU is visible");
    snprintf (self->backend, sizeof self->backend, "%s", backend);
    self->workers = o->workers > 0 ? o->workers : gpus > 0 ? (gpus < SF_FARM_WORKERS_MAX ? gpus : SF_FARM_WORKERS_MAX) : 1;
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    self->threads = o->compile_threads > 0 ? o->compile_threads
                                           : (int) (cpus / self->workers > 0 ? cpus / self->workers : 1);
    return SF_OK;
}

sf_farm_t *
sf_farm_new (const sf_farm_opts_t *o)
{
    if (!o || !o->store_dir) {
        sf_error_set (SF_ERR_INVALID, "a farm needs a store");
        return NULL;
    }
    sf_farm_t *self = calloc (1, sizeof *self);
    if (!self || (o->keep_results && !(self->kept = calloc (SF_FARM_RESULTS_MAX, sizeof *self->kept)))) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    if (s_plan (self, o) != SF_OK) {
        s_free (&self);
        return NULL;
    }
    sf_coord_opts_t co;
    sf_coord_opts_default (&co);
    co.store_dir = o->store_dir;
    co.workers_ep = "tcp://127.0.0.1:*";
    co.clients_ep = "tcp://127.0.0.1:*";
    co.shutdown_workers = true;
    co.stop = &self->stop;
    if (self->kept) {
        co.on_result = s_keep_result;
        co.on_result_arg = self;
    }
    self->coord = sf_coord_new (&co);
    if (!self->coord) {
        s_free (&self);
        return NULL;
    }
    if (pthread_create (&self->thread, NULL, s_coord_thread, self) != 0) {
        sf_coord_destroy (&self->coord);
        s_free (&self);
        sf_error_set (SF_ERR_NOMEM, "cannot start the coordinator's thread");
        return NULL;
    }
    self->running = true;
    const char *program = o->program ? o->program : "/proc/self/exe";
    int gpus = strcmp (self->backend, "cuda") == 0 ? sf_farm_gpu_count () : 0;
    for (int i = 0; i < self->workers; i++)
        self->pids[i] = s_spawn_worker (program, sf_coord_workers_endpoint (self->coord), self->backend,
                                        gpus > 0 ? (o->gpu + i) % gpus : o->gpu, self->threads);
    return self;
}

void
sf_farm_destroy (sf_farm_t **self_p)
{
    sf_farm_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    self->stop = 1;
    if (self->running)
        pthread_join (self->thread, NULL);
    s_reap (self->pids, self->workers);
    if (self->rc != SF_OK)
        sf_log_warn (S_LOG, "the coordinator stopped on an error: %s", sf_strerror (self->rc));
    sf_coord_destroy (&self->coord);
    s_free (self_p);
}

const char *
sf_farm_clients_endpoint (const sf_farm_t *self)
{
    return sf_coord_clients_endpoint (self->coord);
}

const char *
sf_farm_workers_endpoint (const sf_farm_t *self)
{
    return sf_coord_workers_endpoint (self->coord);
}

const char *
sf_farm_backend (const sf_farm_t *self)
{
    return self->backend;
}

int
sf_farm_workers (const sf_farm_t *self)
{
    return self->workers;
}

int
sf_farm_compile_threads (const sf_farm_t *self)
{
    return self->threads;
}
