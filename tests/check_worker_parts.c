/*  Check suite of the worker process's parts on their own: the matrix
    cache (sf_matcache: LRU order, both bounds, references that outlive an
    eviction), the job thread (sf_jobthread: a task there and back, the
    wake descriptor, cancel on stop, a task abandoned after join_ms and
    freed by its thread, stop before start) and the HELLO (sf_hello: the
    sim GPU, ids, sessions). Each test is also an example of the API. */
#include <check.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "wire/sf_proto.h"
#include "worker/sf_hello.h"
#include "worker/sf_jobthread.h"
#include "worker/sf_matcache.h"

/* ---- sf_matcache ------------------------------------------------------------- */

/*  CSR bytes of a rows x ? matrix with nnz nonzeros, as the cache counts them. */
static int64_t
s_bytes (const sf_matrix_t *a)
{
    return ((int64_t) sf_matrix_rows (a) + 1) * 4 + (int64_t) sf_matrix_nnz (a) * 8;
}

START_TEST (test_matcache_lru_count)
{
    sf_matcache_t *cache = sf_matcache_new (2, (int64_t) 1 << 30);
    ck_assert_ptr_nonnull (cache);
    char hash[3][SF_PROTO_HASH_LEN + 1];
    for (int i = 0; i < 3; i++) {
        sf_matrix_t *a = sf_matrix_new_random (8 + i, 8, 0.5, (uint64_t) i + 1);
        snprintf (hash[i], sizeof hash[i], "%s", sf_matrix_hash (a));
        ck_assert_int_eq (sf_matcache_add (cache, &a), SF_OK);
        ck_assert_ptr_null (a);  /* taken */
        if (i == 1)  /* 0 is used again: 1 becomes the least recently used */
            ck_assert_ptr_nonnull (sf_matcache_find (cache, hash[0]));
    }
    ck_assert_int_eq (sf_matcache_count (cache), 2);
    ck_assert_ptr_nonnull (sf_matcache_find (cache, hash[0]));
    ck_assert_ptr_null (sf_matcache_find (cache, hash[1]));  /* evicted */
    sf_matcache_entry_t *e = sf_matcache_find (cache, hash[2]);
    ck_assert_ptr_nonnull (e);
    ck_assert_str_eq (sf_matrix_hash (sf_matcache_matrix (e)), hash[2]);
    ck_assert_int_eq (sf_matrix_rows (sf_matcache_matrix (e)), 10);

    /* the same matrix again: one entry, the copy freed */
    sf_matrix_t *again = sf_matrix_new_random (10, 8, 0.5, 3);
    ck_assert_str_eq (sf_matrix_hash (again), hash[2]);
    int64_t bytes = sf_matcache_bytes (cache);
    ck_assert_int_eq (sf_matcache_add (cache, &again), SF_OK);
    ck_assert_ptr_null (again);
    ck_assert_int_eq (sf_matcache_count (cache), 2);
    ck_assert_int_eq (sf_matcache_bytes (cache), bytes);
    sf_matcache_destroy (&cache);
    sf_matcache_destroy (&cache);  /* safe twice */
    ck_assert_ptr_null (cache);
}
END_TEST

START_TEST (test_matcache_bytes_and_refs)
{
    sf_matrix_t *a = sf_matrix_new_random (32, 32, 0.5, 1), *b = sf_matrix_new_random (32, 32, 0.5, 2);
    int64_t one = s_bytes (a);
    char ha[SF_PROTO_HASH_LEN + 1], hb[SF_PROTO_HASH_LEN + 1];
    snprintf (ha, sizeof ha, "%s", sf_matrix_hash (a));
    snprintf (hb, sizeof hb, "%s", sf_matrix_hash (b));
    /* room for one and a half: the second evicts the first */
    sf_matcache_t *cache = sf_matcache_new (16, one + one / 2);
    ck_assert_int_eq (sf_matcache_add (cache, &a), SF_OK);
    ck_assert_int_eq (sf_matcache_bytes (cache), one);
    /* a job holds a reference: the entry outlives its eviction */
    sf_matcache_entry_t *held = sf_matcache_ref (sf_matcache_find (cache, ha));
    ck_assert_int_eq (sf_matcache_add (cache, &b), SF_OK);
    ck_assert_int_eq (sf_matcache_count (cache), 1);
    ck_assert_ptr_null (sf_matcache_find (cache, ha));
    ck_assert_ptr_nonnull (sf_matcache_find (cache, hb));
    ck_assert_str_eq (sf_matrix_hash (sf_matcache_matrix (held)), ha);
    ck_assert_int_eq (sf_matrix_rows (sf_matcache_matrix (held)), 32);
    sf_matcache_release (&held);
    ck_assert_ptr_null (held);
    sf_matcache_release (&held);  /* NULL is fine */

    /* one matrix larger than the byte bound is kept while it is the newest */
    sf_matrix_t *big = sf_matrix_new_random (64, 64, 0.1, 3);
    ck_assert_int_gt (s_bytes (big), one + one / 2);
    ck_assert_int_eq (sf_matcache_add (cache, &big), SF_OK);
    ck_assert_int_eq (sf_matcache_count (cache), 1);
    ck_assert_ptr_null (sf_matcache_find (cache, hb));

    /* a reference kept past the cache's destruction */
    sf_matrix_t *c = sf_matrix_new_random (8, 8, 0.5, 4);
    char hc[SF_PROTO_HASH_LEN + 1];
    snprintf (hc, sizeof hc, "%s", sf_matrix_hash (c));
    ck_assert_int_eq (sf_matcache_add (cache, &c), SF_OK);
    held = sf_matcache_ref (sf_matcache_find (cache, hc));
    sf_matcache_destroy (&cache);
    ck_assert_str_eq (sf_matrix_hash (sf_matcache_matrix (held)), hc);
    sf_matcache_release (&held);  /* frees it (ASan: no leak, no use after free) */
}
END_TEST

/* ---- sf_jobthread ----------------------------------------------------------------- */

typedef struct {
    int value;
    int sleep_ms;              /* the task's length */
    bool watch_cancel;         /* stops early when cancelled */
    atomic_bool *cancel;
    atomic_int *counter;
    int result;
    bool saw_cancel;
} s_task_t;

static atomic_int s_freed;     /* tasks freed by the job thread's free_task */

static void
s_task_run (void *arg)
{
    s_task_t *t = arg;
    atomic_fetch_add (t->counter, 1);
    for (int ms = 0; ms < t->sleep_ms; ms += 5) {
        if (t->watch_cancel && atomic_load (t->cancel)) {
            t->saw_cancel = true;
            break;
        }
        usleep (5000);
    }
    t->result = t->value * 2;
    atomic_fetch_sub (t->counter, 1);
}

static void
s_task_free (void **task_p)
{
    if (*task_p)
        atomic_fetch_add (&s_freed, 1);
    free (*task_p);
    *task_p = NULL;
}

static s_task_t *
s_task_new (sf_jobthread_t *jt, int value, int sleep_ms, bool watch_cancel)
{
    s_task_t *t = calloc (1, sizeof *t);
    ck_assert_ptr_nonnull (t);
    t->value = value;
    t->sleep_ms = sleep_ms;
    t->watch_cancel = watch_cancel;
    t->cancel = sf_jobthread_cancel (jt);
    t->counter = sf_jobthread_counter (jt);
    return t;
}

/*  Waits (at most 10 s) for the descriptor and collects the task. */
static s_task_t *
s_wait_done (sf_jobthread_t *jt)
{
    for (int i = 0; i < 100; i++) {
        struct pollfd p = { sf_jobthread_fd (jt), POLLIN, 0 };
        ck_assert_int_ge (poll (&p, 1, 100), 0);
        s_task_t *t = sf_jobthread_collect (jt);
        if (t)
            return t;
    }
    ck_abort_msg ("the task did not come back within 10 s");
    return NULL;
}

START_TEST (test_jobthread_round_trip)
{
    atomic_store (&s_freed, 0);
    sf_jobthread_t *jt = sf_jobthread_new (s_task_run, s_task_free, 1000);
    ck_assert_ptr_nonnull (jt);
    ck_assert (!sf_jobthread_busy (jt));
    ck_assert_ptr_null (sf_jobthread_collect (jt));
    for (int i = 1; i <= 3; i++) {  /* one thread, several tasks in turn */
        s_task_t *t = s_task_new (jt, i, 50, false);
        ck_assert_int_eq (sf_jobthread_start (jt, t), SF_OK);
        ck_assert (sf_jobthread_busy (jt));
        s_task_t *back = s_wait_done (jt);
        ck_assert_ptr_eq (back, t);
        ck_assert_int_eq (back->result, 2 * i);
        ck_assert (!back->saw_cancel);
        ck_assert (!sf_jobthread_busy (jt));
        ck_assert_int_eq (atomic_load (sf_jobthread_counter (jt)), 0);
        free (back);
    }
    /* a wake from another thread makes the descriptor readable, no task */
    sf_jobthread_wake (jt);
    struct pollfd p = { sf_jobthread_fd (jt), POLLIN, 0 };
    ck_assert_int_eq (poll (&p, 1, 1000), 1);
    ck_assert_ptr_null (sf_jobthread_collect (jt));
    ck_assert_int_eq (poll (&p, 1, 0), 0);  /* drained */
    ck_assert (!atomic_load (sf_jobthread_cancel (jt)));
    sf_jobthread_stop (jt);
    ck_assert (atomic_load (sf_jobthread_cancel (jt)));
    /* stopped: no task starts any more, it stays the caller's */
    s_task_t *late = s_task_new (jt, 9, 0, false);
    ck_assert_int_eq (sf_jobthread_start (jt, late), SF_ERR_INTERNAL);
    free (late);
    sf_jobthread_destroy (&jt);
    sf_jobthread_destroy (&jt);  /* safe twice */
    ck_assert_ptr_null (jt);
    ck_assert_int_eq (atomic_load (&s_freed), 0);
}
END_TEST

START_TEST (test_jobthread_cancel_on_stop)
{
    /* a task that watches the cancel flag stops within join_ms: joined,
       and the task, never collected, is freed by the thread */
    atomic_store (&s_freed, 0);
    sf_jobthread_t *jt = sf_jobthread_new (s_task_run, s_task_free, 5000);
    s_task_t *t = s_task_new (jt, 1, 60000, true);
    ck_assert_int_eq (sf_jobthread_start (jt, t), SF_OK);
    while (atomic_load (sf_jobthread_counter (jt)) == 0)  /* running */
        usleep (1000);
    int64_t t0 = zclock_mono ();
    sf_jobthread_stop (jt);
    ck_assert_int_lt (zclock_mono () - t0, 5000);
    ck_assert (!sf_jobthread_busy (jt));
    ck_assert_int_eq (atomic_load (&s_freed), 1);
    sf_jobthread_destroy (&jt);
}
END_TEST

START_TEST (test_jobthread_abandoned)
{
    /* a task that ignores the flag: stop returns after join_ms, the thread
       finishes the task, frees it and its state (busy until then) */
    atomic_store (&s_freed, 0);
    sf_jobthread_t *jt = sf_jobthread_new (s_task_run, s_task_free, 100);
    s_task_t *t = s_task_new (jt, 1, 600, false);
    ck_assert_int_eq (sf_jobthread_start (jt, t), SF_OK);
    while (atomic_load (sf_jobthread_counter (jt)) == 0)
        usleep (1000);
    int64_t t0 = zclock_mono ();
    sf_jobthread_stop (jt);
    int64_t took = zclock_mono () - t0;
    ck_assert_int_ge (took, 90);
    ck_assert_int_lt (took, 550);
    ck_assert (sf_jobthread_busy (jt));  /* still running, abandoned */
    ck_assert_int_eq (atomic_load (&s_freed), 0);
    sf_jobthread_destroy (&jt);  /* does not wait: the thread frees it all */
    for (int i = 0; i < 300 && atomic_load (&s_freed) == 0; i++)
        usleep (10000);
    ck_assert_int_eq (atomic_load (&s_freed), 1);
}
END_TEST

START_TEST (test_jobthread_stop_before_start)
{
    sf_jobthread_t *jt = sf_jobthread_new (s_task_run, s_task_free, 100);
    sf_jobthread_stop (jt);  /* no thread yet: nothing to join */
    sf_jobthread_stop (jt);
    sf_jobthread_destroy (&jt);
    ck_assert_ptr_null (jt);
}
END_TEST

/* ---- sf_hello --------------------------------------------------------------------- */

START_TEST (test_hello_sim)
{
    sf_proto_hello_t h;
    memset (&h, 0x55, sizeof h);  /* zeroed by describe */
    ck_assert_int_eq (sf_hello_describe (SF_BACKEND_SIM, 3, 2, 5, NULL, &h), SF_OK);
    ck_assert_str_eq (h.backend, "sim");
    ck_assert_str_eq (h.gpu_type, "sim/h100-model/132sm");
    ck_assert_int_eq (h.sm_count, 132);
    ck_assert_int_eq (h.gpu, 3);
    ck_assert_int_eq (h.compile_threads, 2);
    ck_assert_int_eq (h.capacity, 5);
    ck_assert_int_eq (h.pid, (int32_t) getpid ());
    ck_assert_int_gt (strlen (h.toolkit), 0);
    ck_assert_int_gt (strlen (h.hostname), 0);
    /* the id: SHORTHOST:gpu3:PID */
    char tail[48];
    snprintf (tail, sizeof tail, ":gpu3:%d", (int) getpid ());
    size_t len = strlen (h.worker_id);
    ck_assert_uint_gt (len, strlen (tail));
    ck_assert_str_eq (h.worker_id + len - strlen (tail), tail);
    ck_assert_ptr_null (strchr (h.worker_id, '.'));
    /* the session: 32 hex digits, another one each time */
    ck_assert_uint_eq (strlen (h.session), 32);
    ck_assert_uint_eq (strspn (h.session, "0123456789abcdef"), 32);
    sf_proto_hello_t h2;
    ck_assert_int_eq (sf_hello_describe (SF_BACKEND_SIM, 3, 0, 5, "given id", &h2), SF_OK);
    ck_assert_str_ne (h.session, h2.session);
    ck_assert_str_eq (h2.worker_id, "given-id");  /* a space is no name character */
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq (h2.compile_threads, cpus > 4096 ? 4096 : cpus > 0 ? (int) cpus : 1);
    /* what goes into HELLO encodes */
    zmsg_t *msg = sf_proto_encode (SF_PROTO_HELLO, &h);
    ck_assert_ptr_nonnull (msg);
    zmsg_destroy (&msg);
}
END_TEST

START_TEST (test_hello_names)
{
    char s[] = "ok.A-z_9:@/+-x y\tz\xc3\xa9!";
    sf_hello_name_chars (s);
    ck_assert_str_eq (s, "ok.A-z_9:@/+-x-y-z---");
    char session[9];
    sf_hello_session (session, sizeof session);
    ck_assert_uint_eq (strlen (session), 8);
    ck_assert_uint_eq (strspn (session, "0123456789abcdef"), 8);
    char none[1] = { 'x' };
    sf_hello_session (none, sizeof none);
    ck_assert_int_eq (none[0], '\0');
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("worker_parts");
    TCase *tc = tcase_create ("matcache");
    tcase_add_test (tc, test_matcache_lru_count);
    tcase_add_test (tc, test_matcache_bytes_and_refs);
    suite_add_tcase (s, tc);
    tc = tcase_create ("jobthread");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_jobthread_round_trip);
    tcase_add_test (tc, test_jobthread_cancel_on_stop);
    tcase_add_test (tc, test_jobthread_abandoned);
    tcase_add_test (tc, test_jobthread_stop_before_start);
    suite_add_tcase (s, tc);
    tc = tcase_create ("hello");
    tcase_add_test (tc, test_hello_sim);
    tcase_add_test (tc, test_hello_names);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
