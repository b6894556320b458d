/*  sf_jobthread: a mutex, a condition and a pipe; the state is
    reference-counted by the owner and the thread. */
#include "worker/sf_jobthread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

/*  What the owner's thread and the job thread share. An abandoned job
    thread (the owner destroyed it while it runs) frees it when it is done. */
struct _sf_jobthread_t {
    sf_jobthread_run_fn run;
    sf_jobthread_free_fn free_task;
    int join_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    bool quit;
    bool started;              /* the thread exists */
    bool busy;                 /* the thread is running a task */
    atomic_bool cancel;        /* the owner is leaving: the task stops */
    atomic_int counter;        /* the task's own counter */
    pthread_t thread;
    void *todo;                /* owner -> job thread */
    void *done;                /* job thread -> owner */
    int wake[2];               /* pipe: [0] polled by the owner */
};

static void
s_free (sf_jobthread_t *self)
{
    self->free_task (&self->todo);
    self->free_task (&self->done);
    close (self->wake[0]);
    close (self->wake[1]);
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->cond);
    free (self);
}

/*  Drops one reference (the caller's), freeing the state with the last. */
static void
s_release (sf_jobthread_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool last = --self->refs == 0;
    pthread_mutex_unlock (&self->lock);
    if (last)
        s_free (self);
}

void
sf_jobthread_wake (sf_jobthread_t *self)
{
    char byte = 1;
    /* A full pipe already wakes the poller: the byte may be dropped. */
    if (write (self->wake[1], &byte, 1) < 0 && errno != EAGAIN)
        sf_log_warn ("worker", "wake pipe: %s", strerror (errno));
}

static void *
s_thread (void *arg)
{
    sf_jobthread_t *self = arg;
    pthread_mutex_lock (&self->lock);
    for (;;) {
        while (!self->quit && !self->todo)
            pthread_cond_wait (&self->cond, &self->lock);
        if (self->quit)
            break;
        void *task = self->todo;
        self->todo = NULL;
        self->busy = true;
        pthread_mutex_unlock (&self->lock);
        self->run (task);
        pthread_mutex_lock (&self->lock);
        self->busy = false;
        if (self->quit)
            self->free_task (&task);  /* abandoned: nobody will collect it */
        else {
            self->done = task;
            sf_jobthread_wake (self);
        }
    }
    pthread_mutex_unlock (&self->lock);
    s_release (self);
    return NULL;
}

sf_jobthread_t *
sf_jobthread_new (sf_jobthread_run_fn run, sf_jobthread_free_fn free_task, int join_ms)
{
    sf_jobthread_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (pipe2 (self->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        sf_error_set_origin (SF_ERR_IO, errno, "pipe: %s", strerror (errno));
        free (self);
        return NULL;
    }
    self->run = run;
    self->free_task = free_task;
    self->join_ms = join_ms;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->cond, NULL);
    self->refs = 1;
    atomic_init (&self->cancel, false);
    atomic_init (&self->counter, 0);
    return self;
}

int
sf_jobthread_start (sf_jobthread_t *self, void *task)
{
    pthread_mutex_lock (&self->lock);
    int rc = SF_OK;
    if (self->quit)
        rc = sf_error_set (SF_ERR_INTERNAL, "the job thread was stopped");
    else if (!self->started) {
        sigset_t block, old;
        sigemptyset (&block);
        sigaddset (&block, SIGINT);
        sigaddset (&block, SIGTERM);
        pthread_sigmask (SIG_BLOCK, &block, &old);
        self->refs++;
        int e = pthread_create (&self->thread, NULL, s_thread, self);
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        if (e != 0) {
            self->refs--;
            rc = sf_error_set_origin (SF_ERR_INTERNAL, e, "cannot start the job thread: %s", strerror (e));
        } else
            self->started = true;
    }
    if (rc == SF_OK) {
        self->todo = task;
        pthread_cond_signal (&self->cond);
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

void *
sf_jobthread_collect (sf_jobthread_t *self)
{
    char bytes[64];
    while (read (self->wake[0], bytes, sizeof bytes) > 0)
        ;
    pthread_mutex_lock (&self->lock);
    void *task = self->done;
    self->done = NULL;
    pthread_mutex_unlock (&self->lock);
    return task;
}

int
sf_jobthread_fd (const sf_jobthread_t *self)
{
    return self->wake[0];
}

bool
sf_jobthread_busy (sf_jobthread_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool busy = self->busy || self->todo;
    pthread_mutex_unlock (&self->lock);
    return busy;
}

atomic_bool *
sf_jobthread_cancel (sf_jobthread_t *self)
{
    return &self->cancel;
}

atomic_int *
sf_jobthread_counter (sf_jobthread_t *self)
{
    return &self->counter;
}

void
sf_jobthread_stop (sf_jobthread_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->quit = true;
    atomic_store (&self->cancel, true);
    bool busy = self->busy, started = self->started;
    self->started = false;
    pthread_cond_signal (&self->cond);
    pthread_mutex_unlock (&self->lock);
    if (!started)
        return;
    if (busy) {
        sf_log_info ("worker", "cancelling the running job");
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_sec += self->join_ms / 1000;
        until.tv_nsec += (long) (self->join_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_timedjoin_np (self->thread, NULL, &until) != 0) {
            sf_log_warn ("worker", "the running job did not stop within %d %s: abandoned",
                         self->join_ms >= 1000 ? self->join_ms / 1000 : self->join_ms,
                         self->join_ms >= 1000 ? "s" : "ms");
            pthread_detach (self->thread);
            return;
        }
    } else
        pthread_join (self->thread, NULL);
    /* the thread is gone: a task it never picked up is nobody's now */
    pthread_mutex_lock (&self->lock);
    self->free_task (&self->todo);
    pthread_mutex_unlock (&self->lock);
}

void
sf_jobthread_destroy (sf_jobthread_t **self_p)
{
    sf_jobthread_t *self = *self_p;
    if (!self)
        return;
    sf_jobthread_stop (self);
    s_release (self);
    *self_p = NULL;
}
