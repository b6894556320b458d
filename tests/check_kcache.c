/*  Check suite of proxygen/sf_kcache (the compile cache, issue 22): keys,
    round trips, corrupt and foreign entries, the size bound, threads and
    processes at once, and sf_jit's use of it. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_kcache.h"

static char s_dir[256];

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/sf-kcache-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
}

static void
s_teardown (void)
{
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq (system (cmd), 0);
}

/*  Entry files under the cache directory. */
static int
s_entries (const char *dir, char *first, size_t size)
{
    int n = 0;
    DIR *top = opendir (dir);
    struct dirent *d;
    while (top && (d = readdir (top))) {
        if (d->d_name[0] == '.')
            continue;
        char sub[512];
        snprintf (sub, sizeof sub, "%.300s/%.100s", dir, d->d_name);
        DIR *in = opendir (sub);
        struct dirent *e;
        while (in && (e = readdir (in)))
            if (strstr (e->d_name, ".cubin")) {
                if (first && n == 0)
                    snprintf (first, size, "%.400s/%.100s", sub, e->d_name);
                n++;
            }
        if (in)
            closedir (in);
    }
    if (top)
        closedir (top);
    return n;
}

START_TEST (test_key_depends_on_everything)
{
    char k[8][SF_SHA256_HEX];
    const char *a = "source a", *b = "source b", *ab[2] = { "sour", "ce a" };
    sf_jit_opts_t o3 = { .arch = "sm_90", .opt_level = 3 }, o1 = { .arch = "sm_90", .opt_level = 1 };
    sf_jit_opts_t arch = { .arch = "sm_100", .opt_level = 3 }, reg = { .arch = "sm_90", .opt_level = 3, .max_registers = 64 };
    sf_kcache_key ("ptx", &o3, &a, 1, k[0]);
    sf_kcache_key ("ptx", &o3, &b, 1, k[1]);
    sf_kcache_key ("cuda", &o3, &a, 1, k[2]);
    sf_kcache_key ("ptx", &o1, &a, 1, k[3]);
    sf_kcache_key ("ptx", &arch, &a, 1, k[4]);
    sf_kcache_key ("ptx", &reg, &a, 1, k[5]);
    sf_kcache_key ("ptx", &o3, ab, 2, k[6]);
    sf_kcache_key ("ptx", NULL, &a, 1, k[7]);  /* NULL: the defaults, sm_90 -O3 */
    for (int i = 0; i < 7; i++)
        for (int j = i + 1; j < 7; j++)
            ck_assert_str_ne (k[i], k[j]);
    ck_assert_str_eq (k[0], k[7]);
    char again[SF_SHA256_HEX];
    sf_kcache_key ("ptx", &o3, &a, 1, again);
    ck_assert_str_eq (k[0], again);
    ck_assert_int_eq ((int) strlen (k[0]), 64);
}
END_TEST

START_TEST (test_round_trip_and_corruption)
{
    sf_kcache_t *c = sf_kcache_new (s_dir, 0);
    ck_assert_ptr_nonnull (c);
    char key[SF_SHA256_HEX], path[512];
    const char *src = "a kernel";
    sf_kcache_key ("ptx", NULL, &src, 1, key);
    void *cubin = NULL;
    size_t size = 0;
    sf_jit_stats_t st = { .registers = 72, .spill_stores = 12, .spill_loads = 8, .cubin_bytes = 5000, .seconds = 3.5 };
    ck_assert_int_eq (sf_kcache_get (c, key, &cubin, &size, NULL), SF_ERR_NOTFOUND);
    char data[5000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char) (i * 7);
    ck_assert_int_eq (sf_kcache_put (c, key, data, sizeof data, &st), SF_OK);
    sf_jit_stats_t got;
    ck_assert_int_eq (sf_kcache_get (c, key, &cubin, &size, &got), SF_OK);
    ck_assert_uint_eq (size, sizeof data);
    ck_assert_mem_eq (cubin, data, size);
    ck_assert (got.cached);
    ck_assert_int_eq (got.registers, 72);
    ck_assert_int_eq (got.spill_stores, 12);
    ck_assert_int_eq (got.cubin_bytes, 5000);
    ck_assert_double_lt (got.seconds, 3.0);  /* the lookup's, not the compile's */
    free (cubin);
    /* a reopened cache (another process, a restart) finds it */
    sf_kcache_destroy (&c);
    sf_kcache_destroy (&c);
    c = sf_kcache_new (s_dir, 0);
    ck_assert_int_eq (sf_kcache_get (c, key, &cubin, &size, NULL), SF_OK);
    free (cubin);
    sf_kcache_counters_t kc;
    sf_kcache_counters (c, &kc);
    ck_assert_int_gt (kc.bytes, 5000);
    /* one flipped byte of the cubin: a miss, the entry removed */
    ck_assert_int_eq (s_entries (s_dir, path, sizeof path), 1);
    FILE *f = fopen (path, "r+b");
    ck_assert_ptr_nonnull (f);
    fseek (f, 200, SEEK_SET);
    int ch = fgetc (f);
    fseek (f, 200, SEEK_SET);
    fputc (ch ^ 0x55, f);
    fclose (f);
    ck_assert_int_eq (sf_kcache_get (c, key, &cubin, &size, NULL), SF_ERR_NOTFOUND);
    ck_assert_ptr_null (cubin);
    ck_assert_int_eq (s_entries (s_dir, NULL, 0), 0);
    /* truncated, and a file of another key under this key's name */
    ck_assert_int_eq (sf_kcache_put (c, key, data, sizeof data, &st), SF_OK);
    ck_assert_int_eq (truncate (path, 100), 0);
    ck_assert_int_eq (sf_kcache_get (c, key, &cubin, &size, NULL), SF_ERR_NOTFOUND);
    char other[SF_SHA256_HEX], opath[512];
    const char *src2 = "another kernel";
    sf_kcache_key ("ptx", NULL, &src2, 1, other);
    ck_assert_int_eq (sf_kcache_put (c, other, data, 10, &st), SF_OK);
    snprintf (opath, sizeof opath, "%s/%.2s/%s.cubin", s_dir, other, other);
    char cmd[1200];
    snprintf (cmd, sizeof cmd, "mkdir -p '%s/%.2s' && cp '%s' '%s/%.2s/%s.cubin'", s_dir, key, opath, s_dir, key, key);
    ck_assert_int_eq (system (cmd), 0);
    ck_assert_int_eq (sf_kcache_get (c, key, &cubin, &size, NULL), SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_kcache_get (c, other, &cubin, &size, NULL), SF_OK);
    free (cubin);
    sf_kcache_counters (c, &kc);
    ck_assert_int_eq (kc.errors, 3);
    ck_assert_int_eq (kc.hits, 2);  /* since the reopen */
    /* a malformed key is refused, never a path */
    ck_assert_int_eq (sf_kcache_get (c, "../../etc/passwd", &cubin, &size, NULL), SF_ERR_INVALID);
    ck_assert_int_eq (sf_kcache_put (c, "zz", data, 1, NULL), SF_ERR_INVALID);
    sf_kcache_destroy (&c);
    /* a directory that cannot be one */
    char file[300];
    snprintf (file, sizeof file, "%s/plain", s_dir);
    f = fopen (file, "w");
    fclose (f);
    ck_assert_ptr_null (sf_kcache_new (file, 0));
    ck_assert_int_eq (sf_error_last (), SF_ERR_IO);
}
END_TEST

START_TEST (test_bound_evicts_least_recently_used)
{
    sf_kcache_t *c = sf_kcache_new (s_dir, 1 << 20);   /* 1 MiB */
    static char data[200 * 1024];
    char keys[12][SF_SHA256_HEX];
    for (int i = 0; i < 12; i++) {
        char src[32];
        const char *p = src;
        snprintf (src, sizeof src, "kernel %d", i);
        sf_kcache_key ("ptx", NULL, &p, 1, keys[i]);
        data[0] = (char) i;
        ck_assert_int_eq (sf_kcache_put (c, keys[i], data, sizeof data, NULL), SF_OK);
        if (i >= 1) {  /* kernel 0 stays the most recently used */
            void *cubin;
            size_t size;
            usleep (20000);
            ck_assert_int_eq (sf_kcache_get (c, keys[0], &cubin, &size, NULL), SF_OK);
            free (cubin);
        }
        usleep (20000);
    }
    sf_kcache_counters_t kc;
    sf_kcache_counters (c, &kc);
    ck_assert_int_le (kc.bytes, 1 << 20);
    ck_assert_int_gt (kc.evictions, 0);
    ck_assert_int_le (s_entries (s_dir, NULL, 0), 5);
    void *cubin;
    size_t size;
    ck_assert_int_eq (sf_kcache_get (c, keys[0], &cubin, &size, NULL), SF_OK);   /* kept: used last */
    free (cubin);
    ck_assert_int_eq (sf_kcache_get (c, keys[11], &cubin, &size, NULL), SF_OK);  /* kept: newest */
    free (cubin);
    ck_assert_int_eq (sf_kcache_get (c, keys[1], &cubin, &size, NULL), SF_ERR_NOTFOUND);  /* oldest unused */
    sf_kcache_destroy (&c);
}
END_TEST

typedef struct {
    sf_kcache_t *cache;
    int id;
} s_worker_t;

static void *
s_hammer (void *arg)
{
    s_worker_t *w = arg;
    char data[3000];
    for (int i = 0; i < 40; i++) {
        char src[32], key[SF_SHA256_HEX];
        const char *p = src;
        snprintf (src, sizeof src, "kernel %d", i % 10);  /* all threads use the same ten keys */
        sf_kcache_key ("ptx", NULL, &p, 1, key);
        memset (data, i % 10, sizeof data);
        void *cubin = NULL;
        size_t size = 0;
        if (sf_kcache_get (w->cache, key, &cubin, &size, NULL) == SF_OK) {
            if (size != sizeof data || memcmp (cubin, data, size) != 0)
                w->id = -1;  /* a torn or wrong entry */
            free (cubin);
        } else if (sf_kcache_put (w->cache, key, data, sizeof data, NULL) != SF_OK)
            w->id = -2;
    }
    return NULL;
}

START_TEST (test_threads_and_processes_at_once)
{
    pid_t pid = fork ();
    ck_assert_int_ge (pid, 0);
    sf_kcache_t *c = sf_kcache_new (s_dir, 0);
    ck_assert_ptr_nonnull (c);
    s_worker_t w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (s_worker_t) { c, i };
        pthread_create (&t[i], NULL, s_hammer, &w[i]);
    }
    bool ok = true;
    for (int i = 0; i < 4; i++) {
        pthread_join (t[i], NULL);
        ok = ok && w[i].id >= 0;
    }
    sf_kcache_destroy (&c);
    if (pid == 0)
        _exit (ok ? 0 : 1);
    int status;
    waitpid (pid, &status, 0);
    ck_assert (ok);
    ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ck_assert_int_eq (s_entries (s_dir, NULL, 0), 10);
}
END_TEST

/*  sf_jit consults the process's cache: a second compile of the same PTX
    is a hit with the first one's registers; another option is a miss. */
START_TEST (test_jit_uses_the_cache)
{
    const char *ptx = ".version 8.0\n.target sm_90\n.address_size 64\n"
                      ".visible .entry k(.param .u64 p)\n{\n  .reg .b64 %rd<3>;\n  .reg .f32 %f<2>;\n"
                      "  ld.param.u64 %rd1, [p];\n  cvta.to.global.u64 %rd1, %rd1;\n"
                      "  ld.global.f32 %f1, [%rd1];\n  add.f32 %f1, %f1, 0f3F800000;\n"
                      "  st.global.f32 [%rd1], %f1;\n  ret;\n}\n";
    sf_kcache_t *c = sf_kcache_new (s_dir, 0);
    sf_jit_set_cache (c);
    ck_assert_ptr_eq (sf_jit_cache (), c);
    void *a = NULL, *b = NULL;
    size_t sa = 0, sb = 0;
    sf_jit_stats_t st1, st2, st3;
    ck_assert_int_eq (sf_jit_ptx (ptx, NULL, &a, &sa, &st1), SF_OK);
    ck_assert (!st1.cached);
    ck_assert_int_eq (sf_jit_ptx (ptx, NULL, &b, &sb, &st2), SF_OK);
    ck_assert (st2.cached);
    ck_assert_uint_eq (sa, sb);
    ck_assert_mem_eq (a, b, sa);
    ck_assert_int_eq (st2.registers, st1.registers);
    free (b);
    sf_jit_opts_t o1 = { .opt_level = 1 };
    ck_assert_int_eq (sf_jit_ptx (ptx, &o1, &b, &sb, &st3), SF_OK);
    ck_assert (!st3.cached);
    free (a);
    free (b);
    /* a failed compile is not remembered */
    ck_assert_int_eq (sf_jit_ptx ("bogus", NULL, &a, &sa, NULL), SF_ERR_JITLINK);
    sf_kcache_counters_t kc;
    sf_kcache_counters (c, &kc);
    ck_assert_int_eq (kc.hits, 1);
    ck_assert_int_eq (kc.stores, 2);
    ck_assert_int_eq (kc.misses, 3);
    sf_jit_set_cache (NULL);
    sf_kcache_destroy (&c);
}
END_TEST

/*  The worker's cache: the directory given, else the default one, else none
    (off, or nowhere to put it: a warning, not a failure). */
START_TEST (test_open)
{
    char dir[300], file[300];
    snprintf (dir, sizeof dir, "%s/given", s_dir);
    sf_kcache_t *cache = NULL;
    ck_assert_int_eq (sf_kcache_open (dir, &cache), SF_OK);
    ck_assert_ptr_nonnull (cache);
    ck_assert_str_eq (sf_kcache_dir (cache), dir);
    struct stat st;
    ck_assert_int_eq (stat (dir, &st), 0);
    ck_assert (S_ISDIR (st.st_mode));
    sf_kcache_destroy (&cache);
    /* the default: $XDG_CACHE_HOME/spmmfarm/kernels, made */
    unsetenv ("SPMMFARM_COMPILE_CACHE");
    setenv ("XDG_CACHE_HOME", s_dir, 1);
    ck_assert_int_eq (sf_kcache_open (NULL, &cache), SF_OK);
    ck_assert_ptr_nonnull (cache);
    snprintf (dir, sizeof dir, "%s/spmmfarm/kernels", s_dir);
    ck_assert_str_eq (sf_kcache_dir (cache), dir);
    ck_assert_int_eq (stat (dir, &st), 0);
    sf_kcache_destroy (&cache);
    /* off: none, and no error */
    setenv ("SPMMFARM_COMPILE_CACHE", "off", 1);
    cache = (sf_kcache_t *) 1;
    ck_assert_int_eq (sf_kcache_open (NULL, &cache), SF_OK);
    ck_assert_ptr_null (cache);
    ck_assert_int_eq (sf_error_last (), SF_OK);
    /* nowhere to put it: none, and the reason for a warning */
    unsetenv ("SPMMFARM_COMPILE_CACHE");
    unsetenv ("XDG_CACHE_HOME");
    unsetenv ("HOME");
    ck_assert_int_eq (sf_kcache_open (NULL, &cache), SF_OK);
    ck_assert_ptr_null (cache);
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "no compile cache directory"));
    /* a directory that cannot be made (a file is in the way): an error */
    snprintf (file, sizeof file, "%s/a-file", s_dir);
    FILE *f = fopen (file, "w");
    ck_assert_ptr_nonnull (f);
    fclose (f);
    ck_assert_int_ne (sf_kcache_open (file, &cache), SF_OK);
    ck_assert_ptr_null (cache);
    ck_assert_int_eq (sf_error_last (), SF_ERR_IO);
}
END_TEST

START_TEST (test_default_dir)
{
    setenv ("SPMMFARM_COMPILE_CACHE", "/some/where", 1);
    char *d = sf_kcache_default_dir ();
    ck_assert_str_eq (d, "/some/where");
    free (d);
    setenv ("SPMMFARM_COMPILE_CACHE", "off", 1);
    ck_assert_ptr_null (sf_kcache_default_dir ());
    ck_assert_int_eq (sf_error_last (), SF_OK);
    unsetenv ("SPMMFARM_COMPILE_CACHE");
    setenv ("XDG_CACHE_HOME", "/xdg", 1);
    d = sf_kcache_default_dir ();
    ck_assert_str_eq (d, "/xdg/spmmfarm/kernels");
    free (d);
    unsetenv ("XDG_CACHE_HOME");
    setenv ("HOME", "/home/u", 1);
    d = sf_kcache_default_dir ();
    ck_assert_str_eq (d, "/home/u/.cache/spmmfarm/kernels");
    free (d);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("kcache");
    TCase *tc = tcase_create ("core");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_key_depends_on_everything);
    tcase_add_test (tc, test_round_trip_and_corruption);
    tcase_add_test (tc, test_bound_evicts_least_recently_used);
    tcase_add_test (tc, test_threads_and_processes_at_once);
    tcase_add_test (tc, test_jit_uses_the_cache);
    tcase_add_test (tc, test_default_dir);
    tcase_add_test (tc, test_open);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
