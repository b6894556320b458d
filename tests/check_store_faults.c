/*  check_store's fault tests (one program with check_store.c): a writer
    killed mid-batch keeps whole batches, a reader process during writes,
    `verify` on malformed records written raw with LMDB. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "tests/sf_check_store.h"

/* ---- crashes and concurrent readers ---------------------------------------- */

#define S_BATCH_RESULTS 40
static const uint8_t s_crash_matrix[SF_STORE_HASH_BYTES] = { 0xcc };

/*  Batch b: S_BATCH_RESULTS results at N = b + 1, a 256 KiB kernel that
    they name, and best (b, 0) naming it too. */
static void
s_put_numbered_batch (sf_store_batch_t *batch, int b)
{
    uint8_t *cubin = sf_check_store_blob (256 << 10, (unsigned) b + 100);
    sf_store_kernel_t k = sf_check_store_kernel (cubin, 256 << 10);
    uint8_t digest[SF_STORE_HASH_BYTES];
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &k, digest), SF_OK);
    for (int i = 0; i < S_BATCH_RESULTS; i++) {
        char config[32];
        snprintf (config, sizeof config, "U:i%d", i);
        sf_store_result_key_t rk = sf_check_store_rkey ("crash", s_crash_matrix, b + 1, SF_TEMPLATE_U, config, false);
        sf_store_result_t r = sf_check_store_result (b);
        r.has_kernel = true;
        memcpy (r.kernel, digest, SF_STORE_HASH_BYTES);
        ck_assert_int_eq (sf_store_batch_put_result (batch, &rk, &r), SF_OK);
    }
    sf_store_best_t best = { .tmpl = SF_TEMPLATE_U, .config = "U:i0", .us = b, .err = NAN, .has_kernel = true,
                             .sgemm_us = NAN, .tf32_us = NAN, .cusparse_us = NAN };
    memcpy (best.kernel, digest, SF_STORE_HASH_BYTES);
    ck_assert_int_eq (sf_store_batch_put_best (batch, (uint64_t) b + 1, 0, &best), SF_OK);
    free (cubin);
}

typedef struct {
    sf_store_t *store;
    int bad;
} s_batch_check_t;

static int
s_check_result (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    s_batch_check_t *check = arg;
    check->bad += !r->has_kernel || !sf_store_has_kernel (check->store, r->kernel);
    return 0;
}

/*  How many numbered batches the store holds; fails if any is partial or
    if they are not batches 0 .. n-1. */
static int
s_complete_batches (sf_store_t *store, int limit)
{
    int done = 0;
    for (int b = 0; b < limit; b++) {
        s_batch_check_t check = { store, 0 };
        int seen = 0;
        ck_assert_int_eq (sf_store_each_result (store, "crash", s_crash_matrix, b + 1,
                                                sf_check_store_count_results, &seen),
                          SF_OK);
        ck_assert_int_eq (sf_store_each_result (store, "crash", s_crash_matrix, b + 1, s_check_result, &check),
                          SF_OK);
        sf_store_best_t best;
        int has_best = sf_store_get_best (store, (uint64_t) b + 1, 0, &best) == SF_OK;
        if (seen == 0 && !has_best) {
            done = b;
            for (int later = b + 1; later < limit; later++) {  /* nothing after a gap */
                int after = 0;
                sf_store_each_result (store, "crash", s_crash_matrix, later + 1, sf_check_store_count_results, &after);
                ck_assert_int_eq (after, 0);
            }
            return done;
        }
        ck_assert_int_eq (seen, S_BATCH_RESULTS);
        ck_assert (has_best);
        ck_assert_int_eq (check.bad, 0);
    }
    return limit;
}

START_TEST (test_crash_mid_batch_keeps_whole_batches)
{
    const char *dir = sf_check_store_dir;
    int fds[2];
    ck_assert_int_eq (pipe (fds), 0);
    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0) {
        /* The writer: numbered batches as fast as it can, from a small
           map so that growth (abort, grow, replay) happens too. */
        close (fds[0]);
        sf_store_opts_t opts = { 256 << 10, 0 };
        sf_store_t *store = sf_store_open_ex (dir, SF_STORE_WRITER, &opts);
        sf_store_batch_t *batch = sf_store_batch_new ();
        for (int b = 0; store && b < 10000; b++) {
            s_put_numbered_batch (batch, b);
            if (sf_store_commit (store, batch) != SF_OK)
                _exit (3);
            if (write (fds[1], &b, sizeof b) != sizeof b)
                _exit (4);
        }
        _exit (5);
    }
    close (fds[1]);
    /* Kill it at a varying point after a few commits: most kills land
       inside a transaction, since that is where the writer spends its time. */
    int b = -1, last = -1;
    srand ((unsigned) time (NULL));
    int stop_after = 4 + rand () % 6;
    while (last < stop_after && read (fds[0], &b, sizeof b) == sizeof b)
        last = b;
    usleep ((useconds_t) (rand () % 3000));
    kill (child, SIGKILL);
    int status;
    ck_assert_int_eq (waitpid (child, &status, 0), child);
    ck_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    while (read (fds[0], &b, sizeof b) == sizeof b)
        last = b;  /* commits reported before the kill */
    close (fds[0]);

    /* The lock went with the process; every reported batch is whole, and
       at most the one in flight may also be (committed, not reported). */
    sf_store_t *store = sf_check_store_writer (dir, 0, 0);
    int done = s_complete_batches (store, last + 10);
    ck_assert_int_ge (done, last + 1);
    ck_assert_int_le (done, last + 2);
    uint64_t checked, bad;
    ck_assert_int_eq (sf_store_verify (store, NULL, NULL, &checked, &bad), SF_OK);
    ck_assert_uint_eq (bad, 0);
    ck_assert_uint_eq (checked, 3 + (uint64_t) done * (S_BATCH_RESULTS + 2));
    /* And it takes new batches. */
    sf_store_batch_t *batch = sf_store_batch_new ();
    s_put_numbered_batch (batch, done);
    sf_check_store_commit (store, batch);
    ck_assert_int_eq (s_complete_batches (store, done + 5), done + 1);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

/*  The reader process: snapshots until it sees the campaign that marks the
    end; each snapshot must hold whole batches 0 .. n-1. Exit 0 if it saw
    several different snapshots and all were whole. */
static int
s_reader_main (const char *dir, int batches)
{
    sf_store_t *store = NULL;
    for (int i = 0; i < 600 && !store; i++) {
        store = sf_store_open (dir, SF_STORE_READONLY);
        if (!store)
            usleep (10000);
    }
    if (!store)
        return 10;
    int snapshots = 0, previous = -1;
    sf_store_campaign_t c;
    for (int i = 0; i < 60000; i++) {
        bool end = sf_store_get_campaign (store, 1, &c) == SF_OK;
        sf_record_campaign_free (&c);
        int seen = 0;
        if (sf_store_each_result (store, "crash", s_crash_matrix, 0, sf_check_store_count_results, &seen) != SF_OK)
            return 11;
        if (seen % S_BATCH_RESULTS != 0 || seen / S_BATCH_RESULTS < previous)
            return 12;  /* a partial batch, or time went backwards */
        snapshots += seen / S_BATCH_RESULTS != previous;
        previous = seen / S_BATCH_RESULTS;
        if (end)
            break;
        usleep (1000);
    }
    sf_store_stat_t st;
    if (sf_store_stat (store, &st) != SF_OK || st.db[SF_DB_RESULTS].entries != (uint64_t) batches * S_BATCH_RESULTS)
        return 13;
    sf_store_destroy (&store);
    return snapshots >= 2 ? 0 : 14;
}

START_TEST (test_reader_process_during_writes)
{
    const char *dir = sf_check_store_dir;
    sf_store_t *store = sf_check_store_writer (dir, 128 << 10, 0);
    sf_store_destroy (&store);  /* never fork with an open environment */
    const int batches = 25;
    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0)
        _exit (s_reader_main (dir, batches));
    store = sf_check_store_writer (dir, 128 << 10, 0);
    sf_store_batch_t *batch = sf_store_batch_new ();
    for (int b = 0; b < batches; b++) {
        s_put_numbered_batch (batch, b);
        sf_check_store_commit (store, batch);
        usleep (2000);
    }
    sf_store_campaign_t end = { .id = 1, .name = "end", .strategy = "test", .state = SF_CAMPAIGN_DONE };
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &end), SF_OK);
    sf_check_store_commit (store, batch);
    int status;
    ck_assert_int_eq (waitpid (child, &status, 0), child);
    ck_assert (WIFEXITED (status));
    ck_assert_int_eq (WEXITSTATUS (status), 0);
    sf_store_stat_t st;
    ck_assert_int_eq (sf_store_stat (store, &st), SF_OK);
    ck_assert_uint_gt (st.map_bytes, 128 << 10);  /* it grew under the reader */
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

/* ---- verify on malformed records ------------------------------------------- */

typedef struct {
    int count;
    bool saw[SF_DB_COUNT];
    char reasons[4096];
} s_bad_t;

static void
s_collect_bad (void *arg, sf_store_db db, const void *key, size_t key_size, const char *reason)
{
    s_bad_t *bad = arg;
    bad->count++;
    bad->saw[db] = true;
    size_t used = strlen (bad->reasons);
    snprintf (bad->reasons + used, sizeof bad->reasons - used, "%s\n", reason);
}

START_TEST (test_verify_reports_malformed_records)
{
    const char *dir = sf_check_store_dir;
    uint8_t hash[SF_STORE_HASH_BYTES];
    sf_check_store_filled (dir, hash);
    int garbage = sf_check_store_write_garbage (dir, hash);

    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (store);
    s_bad_t bad = { 0 };
    uint64_t checked, nbad;
    ck_assert_int_eq (sf_store_verify (store, s_collect_bad, &bad, &checked, &nbad), SF_OK);
    ck_assert_uint_eq (nbad, (uint64_t) garbage);
    ck_assert_int_eq (bad.count, garbage);
    ck_assert_uint_eq (checked, 10 + (uint64_t) garbage);
    for (int db = 0; db < SF_DB_COUNT; db++)
        ck_assert_msg (bad.saw[db], "no bad record reported in %s", sf_record_db_name (db));
    const char *expect[] = { "type 0xc1 is not accepted", "campaigns key: wrong length", "missing field 'state'",
                             "content hash", "kernel's digest does not match",
                             "elements announced", "us: -5 out of range", "unknown meta entry" };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        ck_assert_msg (strstr (bad.reasons, expect[i]), "no '%s' in:\n%s", expect[i], bad.reasons);

    /* Typed reads of a bad record fail with its name, never misread it. */
    sf_store_result_key_t rk = sf_check_store_rkey ("H100", hash, 64, SF_TEMPLATE_U, "U:garbage", false);
    sf_store_result_t r;
    ck_assert_int_eq (sf_store_get_result (store, &rk, &r), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "results H100 | "));
    int seen = 0;
    ck_assert_int_eq (sf_store_each_result (store, NULL, NULL, 0, sf_check_store_count_results, &seen), SF_ERR_FORMAT);
    sf_store_destroy (&store);
}
END_TEST

void
sf_check_store_faults (TCase *tc)
{
    tcase_add_test (tc, test_crash_mid_batch_keeps_whole_batches);
    tcase_add_test (tc, test_reader_process_during_writes);
    tcase_add_test (tc, test_verify_reports_malformed_records);
}
