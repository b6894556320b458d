/*  sf_jobthread: the worker's job thread, one task at a time beside the
    socket thread (docs/WORKER.md).

    The socket thread hands a task over (sf_jobthread_start), polls the
    thread's descriptor (sf_jobthread_fd) among its sockets and takes the
    finished task back (sf_jobthread_collect); meanwhile it keeps
    heartbeating. The task itself is the caller's: `run` does the work on
    the job thread, `free_task` frees a task that nobody will collect.

    The thread starts with the first task, with SIGINT and SIGTERM blocked
    (it and the threads it starts, e.g. compile threads, leave them to the
    socket thread, whose poll they interrupt).

    Stopping (sf_jobthread_stop) sets the cancel flag, which a running task
    should look at (a search stops after the compiles and the run in
    flight), and joins the thread; one that does not stop within join_ms is
    abandoned: it finishes its task, frees it with free_task, and frees the
    job thread's state after the last of its owner and itself lets go, so
    sf_jobthread_destroy never waits longer than join_ms and never frees
    what the thread still uses.
*/
#ifndef SF_JOBTHREAD_H_INCLUDED
#define SF_JOBTHREAD_H_INCLUDED

#include <stdatomic.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_jobthread_t sf_jobthread_t;

/*  Does the task's work on the job thread. */
typedef void (*sf_jobthread_run_fn) (void *task);
/*  Frees a task (*task_p, then NULL; NULL is fine); called for a task
    nobody will collect. */
typedef void (*sf_jobthread_free_fn) (void **task_p);

/*  A job thread (not started yet) that gives a stopping task join_ms (>= 0)
    before abandoning it. NULL on failure (SF_ERR_NOMEM, SF_ERR_IO). */
sf_jobthread_t *sf_jobthread_new (sf_jobthread_run_fn run, sf_jobthread_free_fn free_task, int join_ms);

/*  sf_jobthread_stop, then drops the owner's hold; safe twice. */
void sf_jobthread_destroy (sf_jobthread_t **self_p);

/*  Hands a task over (taken on SF_OK), starting the thread the first time.
    One task at a time: the previous one must have been collected.
    SF_ERR_INTERNAL when the thread cannot start or was stopped (the task
    stays the caller's). */
int sf_jobthread_start (sf_jobthread_t *self, void *task);

/*  The finished task (the caller's again), or NULL. Drains the descriptor. */
void *sf_jobthread_collect (sf_jobthread_t *self);

/*  Becomes readable when a task finished or sf_jobthread_wake was called;
    owned by the job thread. */
int sf_jobthread_fd (const sf_jobthread_t *self);

/*  Makes the descriptor readable (from any thread): wakes the poller. */
void sf_jobthread_wake (sf_jobthread_t *self);

/*  True while a task is handed over or running (after an abandoning stop:
    until the abandoned task ends). */
bool sf_jobthread_busy (sf_jobthread_t *self);

/*  Set by sf_jobthread_stop: the running task should stop. Lives as long as
    the thread (also an abandoned one). */
atomic_bool *sf_jobthread_cancel (sf_jobthread_t *self);

/*  A counter the running task may keep (the worker: compiles queued or
    running, for heartbeats). Lives as long as the thread. */
atomic_int *sf_jobthread_counter (sf_jobthread_t *self);

/*  Cancels a running task and joins the thread (at most join_ms, then the
    thread is abandoned); a task handed over but never started is freed.
    No task starts after it. Safe twice. */
void sf_jobthread_stop (sf_jobthread_t *self);

#ifdef __cplusplus
}
#endif
#endif
