/*  Check suite of common/sf_suite: the bench205 suite file, the loader's
    checks, filters and problem matrices. Each test is also an example of
    the API. */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "common/sf_suite.h"

/*  A file under the source tree (SF_TOP_SRCDIR, set by `make check`). */
static char *
s_srcdir_path (const char *relative)
{
    const char *top = getenv ("SF_TOP_SRCDIR");
    char *path = malloc (4096);
    snprintf (path, 4096, "%s/%s", top ? top : ".", relative);
    return path;
}

static sf_suite_t *
s_load_bench205 (void)
{
    char *path = s_srcdir_path ("conf/bench/bench205.conf");
    sf_suite_t *suite = sf_suite_load (path);
    if (!suite)
        fprintf (stderr, "%s\n", sf_error_message ());
    free (path);
    ck_assert_ptr_nonnull (suite);
    return suite;
}

/* ---- bench205 ------------------------------------------------------------ */

/*  The 41 shapes (M x K x N) and the network each comes from. */
static const struct {
    int64_t m, k, n;
    const char *network;
} s_bench205_shapes[] = {
    { 768, 768, 512, "BERT-base" }, { 768, 3072, 512, "BERT-base" }, { 3072, 768, 512, "BERT-base" },
    { 64, 192, 784, "MobileNetV2" }, { 64, 384, 784, "MobileNetV2" }, { 96, 384, 784, "MobileNetV2" },
    { 96, 576, 784, "MobileNetV2" }, { 116, 116, 784, "ShuffleNetV2" }, { 232, 232, 784, "ShuffleNetV2" },
    { 256, 1024, 784, "ResNet-50" }, { 256, 2304, 784, "ResNet-50" }, { 384, 64, 784, "MobileNetV2" },
    { 512, 1024, 784, "ResNet-50" }, { 576, 96, 784, "MobileNetV2" }, { 1024, 256, 784, "ResNet-50" },
    { 1024, 512, 784, "ResNet-50" }, { 32, 144, 3136, "MobileNetV2" }, { 32, 192, 3136, "MobileNetV2" },
    { 58, 24, 3136, "ShuffleNetV2" }, { 58, 58, 3136, "ShuffleNetV2" }, { 116, 116, 3136, "ShuffleNetV2" },
    { 128, 512, 3136, "ResNet-50" }, { 128, 1152, 3136, "ResNet-50" }, { 192, 32, 3136, "MobileNetV2" },
    { 256, 512, 3136, "ResNet-50" }, { 512, 128, 3136, "ResNet-50" }, { 512, 256, 3136, "ResNet-50" },
    { 24, 96, 12544, "MobileNetV2" }, { 24, 144, 12544, "MobileNetV2" }, { 58, 24, 12544, "ShuffleNetV2" },
    { 64, 64, 12544, "ResNet-50" }, { 64, 256, 12544, "ResNet-50" }, { 64, 576, 12544, "ResNet-50" },
    { 128, 256, 12544, "ResNet-50" }, { 144, 24, 12544, "MobileNetV2" }, { 256, 64, 12544, "ResNet-50" },
    { 16, 32, 50176, "MobileNetV2" }, { 24, 27, 50176, "ShuffleNetV2" }, { 32, 27, 50176, "MobileNetV2" },
    { 64, 147, 50176, "ResNet-50" }, { 96, 16, 50176, "MobileNetV2" },
};
#define S_SHAPES (sizeof s_bench205_shapes / sizeof s_bench205_shapes[0])
static const double s_sparsities[] = { 0.5, 0.7, 0.8, 0.9, 0.95 };

START_TEST (test_bench205_problems)
{
    sf_suite_t *suite = s_load_bench205 ();
    ck_assert_str_eq (sf_suite_name (suite), "bench205");
    ck_assert_uint_eq (sf_suite_size (suite), 205);
    ck_assert_uint_eq (sf_suite_shape_count (suite), 41);
    ck_assert_uint_eq (S_SHAPES, 41);

    /* Every listed shape is there with all five sparsities, and its source
       names the right network. */
    for (size_t s = 0; s < S_SHAPES; s++) {
        int found[5] = { 0 };
        for (size_t i = 0; i < sf_suite_size (suite); i++) {
            const sf_problem_t *p = sf_suite_problem (suite, i);
            if (p->m != s_bench205_shapes[s].m || p->k != s_bench205_shapes[s].k
                || p->n != s_bench205_shapes[s].n)
                continue;
            ck_assert_ptr_nonnull (strstr (p->source, s_bench205_shapes[s].network));
            for (int j = 0; j < 5; j++)
                found[j] += p->sparsity == s_sparsities[j];
        }
        for (int j = 0; j < 5; j++)
            ck_assert_msg (found[j] == 1, "%" PRId64 "x%" PRId64 "x%" PRId64 " at %g: %d problems",
                           s_bench205_shapes[s].m, s_bench205_shapes[s].k, s_bench205_shapes[s].n,
                           s_sparsities[j], found[j]);
    }
    /* Ids and seeds are unique; sources are never empty; problems are
       generated (no matrix file). */
    for (size_t i = 0; i < sf_suite_size (suite); i++) {
        const sf_problem_t *a = sf_suite_problem (suite, i);
        ck_assert (a->source && *a->source);
        ck_assert_ptr_null (a->matrix);
        ck_assert_ptr_nonnull (a->shape_id);
        for (size_t j = i + 1; j < sf_suite_size (suite); j++) {
            const sf_problem_t *b = sf_suite_problem (suite, j);
            ck_assert_str_ne (a->id, b->id);
            ck_assert_uint_ne (a->seed, b->seed);
        }
    }
    sf_suite_destroy (&suite);
    sf_suite_destroy (&suite);  /* safe twice */
    ck_assert_ptr_null (suite);
}
END_TEST

START_TEST (test_bench205_order_ids_and_seeds)
{
    /* Shape-major in file order, sparsities in the suite's order; id
       "<shape>@<sparsity>"; seed = seed_base + 100 * shape + sparsity. */
    sf_suite_t *suite = s_load_bench205 ();
    for (size_t i = 0; i < sf_suite_size (suite); i++) {
        const sf_problem_t *p = sf_suite_problem (suite, i);
        size_t shape = i / 5, j = i % 5;
        ck_assert_int_eq (p->m, s_bench205_shapes[shape].m);
        ck_assert_int_eq (p->k, s_bench205_shapes[shape].k);
        ck_assert_int_eq (p->n, s_bench205_shapes[shape].n);
        ck_assert_double_eq (p->sparsity, s_sparsities[j]);
        ck_assert_uint_eq (p->seed, 205000 + 100 * shape + j);
        char id[128];
        snprintf (id, sizeof id, "%s@%g", p->shape_id, s_sparsities[j]);
        ck_assert_str_eq (p->id, id);
    }
    /* Pinned: these identify results across runs. */
    const sf_problem_t *first = sf_suite_problem (suite, 0);
    ck_assert_str_eq (first->id, "bert-qkvo@0.5");
    const sf_problem_t *last = sf_suite_problem (suite, 204);
    ck_assert_str_eq (last->id, "mbv2-f2-expand@0.95");
    ck_assert_uint_eq (last->seed, 209004);
    sf_suite_t *conv1 = sf_suite_filter (suite, "id=rn50-conv1@0.9");
    ck_assert_uint_eq (sf_suite_size (conv1), 1);
    ck_assert_uint_eq (sf_suite_problem (conv1, 0)->seed, 208903);
    ck_assert_ptr_nonnull (strstr (sf_suite_problem (conv1, 0)->source, "ResNet-50 conv1"));
    sf_suite_destroy (&conv1);
    sf_suite_destroy (&suite);
}
END_TEST

START_TEST (test_problem_matrix_generated)
{
    /* A generated problem's matrix is sf_matrix_new_random of its fields. */
    sf_suite_t *suite = s_load_bench205 ();
    sf_suite_t *one = sf_suite_filter (suite, "shape=rn50-conv1, sparsity=0.9");
    ck_assert_uint_eq (sf_suite_size (one), 1);
    const sf_problem_t *p = sf_suite_problem (one, 0);
    sf_matrix_t *a = sf_problem_matrix (p);
    ck_assert_ptr_nonnull (a);
    ck_assert_int_eq (sf_matrix_rows (a), 64);
    ck_assert_int_eq (sf_matrix_cols (a), 147);
    ck_assert_int_eq (sf_matrix_nnz (a), 941);  /* round (0.1 * 64 * 147) */
    sf_matrix_t *b = sf_matrix_new_random (64, 147, 0.9, 208903);
    ck_assert (sf_matrix_equal (a, b));
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
    sf_suite_destroy (&one);
    sf_suite_destroy (&suite);
}
END_TEST

/* ---- filters --------------------------------------------------------------- */

static size_t
s_count (const sf_suite_t *suite, const char *expr)
{
    sf_suite_t *filtered = sf_suite_filter (suite, expr);
    ck_assert_msg (filtered != NULL, "%s: %s", expr, sf_error_message ());
    size_t size = sf_suite_size (filtered);
    sf_suite_destroy (&filtered);
    return size;
}

/*  bench205's five sparsities, ascending, each once; a filter's own. */
START_TEST (test_sparsities)
{
    sf_suite_t *suite = s_load_bench205 ();
    double got[8];
    ck_assert_uint_eq (sf_suite_sparsities (suite, got, 8), 5);
    const double want[] = { 0.5, 0.7, 0.8, 0.9, 0.95 };
    for (int i = 0; i < 5; i++)
        ck_assert_double_eq (got[i], want[i]);
    ck_assert_uint_eq (sf_suite_sparsities (suite, NULL, 0), 5);  /* counted only */
    got[2] = -1;
    ck_assert_uint_eq (sf_suite_sparsities (suite, got, 2), 5);   /* the first two written */
    ck_assert_double_eq (got[1], 0.7);
    ck_assert_double_eq (got[2], -1);
    sf_suite_t *some = sf_suite_filter (suite, "sparsity>=0.9");
    ck_assert_ptr_nonnull (some);
    ck_assert_uint_eq (sf_suite_sparsities (some, got, 8), 2);
    ck_assert_double_eq (got[0], 0.9);
    ck_assert_double_eq (got[1], 0.95);
    sf_suite_destroy (&some);
    some = sf_suite_filter (suite, "m=1");
    ck_assert_uint_eq (sf_suite_sparsities (some, got, 8), 0);  /* none */
    sf_suite_destroy (&some);
    sf_suite_destroy (&suite);
}
END_TEST

START_TEST (test_filter_counts)
{
    sf_suite_t *suite = s_load_bench205 ();
    ck_assert_uint_eq (s_count (suite, ""), 205);
    ck_assert_uint_eq (s_count (suite, "sparsity=0.9"), 41);
    ck_assert_uint_eq (s_count (suite, "n=50176"), 25);
    ck_assert_uint_eq (s_count (suite, "n=50176,sparsity>=0.9"), 10);
    ck_assert_uint_eq (s_count (suite, " n = 50176 , sparsity >= 0.9 "), 10);
    ck_assert_uint_eq (s_count (suite, "shape~bert"), 15);
    ck_assert_uint_eq (s_count (suite, "shape~BERT"), 15);  /* ~ ignores case */
    ck_assert_uint_eq (s_count (suite, "source~ResNet-50"), 80);
    ck_assert_uint_eq (s_count (suite, "source!~ResNet-50"), 125);
    ck_assert_uint_eq (s_count (suite, "sparsity!=0.5,sparsity<0.95"), 123);
    ck_assert_uint_eq (s_count (suite, "seed>=209000"), 5);
    ck_assert_uint_eq (s_count (suite, "id=bert-qkvo@0.9"), 1);
    ck_assert_uint_eq (s_count (suite, "matrix="), 205);  /* all generated */
    ck_assert_uint_eq (s_count (suite, "m=1"), 0);

    /* The filter agrees with the same condition written in C. */
    size_t want = 0;
    for (size_t i = 0; i < sf_suite_size (suite); i++) {
        const sf_problem_t *p = sf_suite_problem (suite, i);
        want += p->m <= 1024 && p->k > 100 && p->n < 12544 && p->sparsity > 0.7;
    }
    ck_assert_uint_eq (s_count (suite, "m<=1024,k>100,n<12544,sparsity>0.7"), want);
    ck_assert_uint_gt (want, 0);

    /* A filtered suite owns its problems: it outlives the original, keeps
       the order, and filters again. */
    sf_suite_t *bert = sf_suite_filter (suite, "shape~bert");
    sf_suite_destroy (&suite);
    ck_assert_str_eq (sf_suite_name (bert), "bench205");
    ck_assert_str_eq (sf_suite_problem (bert, 0)->id, "bert-qkvo@0.5");
    ck_assert_str_eq (sf_suite_problem (bert, 14)->id, "bert-intermediate@0.95");
    ck_assert_ptr_nonnull (strstr (sf_suite_problem (bert, 14)->source, "intermediate.dense"));
    ck_assert_uint_eq (sf_suite_shape_count (bert), 3);
    ck_assert_uint_eq (s_count (bert, "m=3072"), 5);
    sf_suite_destroy (&bert);
}
END_TEST

START_TEST (test_filter_rejects_bad_expressions)
{
    sf_suite_t *suite = s_load_bench205 ();
    const struct {
        const char *expr, *says;
    } bad[] = {
        { "foo=1", "unknown field 'foo'" },
        { "m~5", "m takes = != < <= > >=" },
        { "shape<bert", "shape takes = != ~ !~" },
        { "sparsity=abc", "'abc' is not a number" },
        { "m=", "'' is not a number" },
        { "m 5", "expected an operator" },
        { "sparsity=0.9,", "empty term" },
        { ",", "empty term" },
        { "seed=-1", "is not a seed" },
        { "seed=99999999999999999999", "is not a seed" },
        { "n=1e999", "is not a number" },
        { "sparsity==0.9", "is not a number" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sf_error_clear ();
        ck_assert_ptr_null (sf_suite_filter (suite, bad[i].expr));
        ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
        ck_assert_msg (strstr (sf_error_message (), bad[i].says) != NULL, "'%s': %s", bad[i].expr,
                       sf_error_message ());
        ck_assert_ptr_nonnull (strstr (sf_error_message (), bad[i].expr));
    }
    char *long_expr = malloc (SF_SUITE_FILTER_MAX + 2);
    memset (long_expr, 'm', SF_SUITE_FILTER_MAX + 1);
    long_expr[SF_SUITE_FILTER_MAX + 1] = '\0';
    ck_assert_ptr_null (sf_suite_filter (suite, long_expr));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    free (long_expr);
    sf_suite_destroy (&suite);
}
END_TEST

/* ---- malformed files --------------------------------------------------------- */

static char s_dir[64];

static void
s_make_dir (void)
{
    strcpy (s_dir, "/tmp/check_suite.XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
}

static void
s_remove_dir (void)
{
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq (system (cmd), 0);
}

/*  Writes text to DIR/name; returns the path (caller frees). */
static char *
s_write (const char *name, const char *text)
{
    char *path = malloc (256);
    snprintf (path, 256, "%s/%s", s_dir, name);
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
    return path;
}

#define S_HEAD "suite\n    name = t\n    sparsities = \"0.5 0.9\"\n    seed_base = 10\n"
#define S_SHAPE(id, m, k, n) "shape\n    id = " id "\n    m = " m "\n    k = " k "\n    n = " n \
                             "\n    source = \"made up\"\n"
#define S_PROBLEM(id, seed) "problem\n    id = " id "\n    m = 4\n    k = 4\n    n = 4\n" \
                            "    sparsity = 0.5\n    seed = " seed "\n    source = \"made up\"\n"

START_TEST (test_malformed_files_rejected)
{
    const struct {
        const char *text;
        int status;
        const char *says;  /* in the message, after "FILE" */
    } cases[] = {
        { "", SF_ERR_FORMAT, ": no 'suite' section" },
        { "# nothing but a comment\n\n", SF_ERR_FORMAT, ": no 'suite' section" },
        { S_HEAD "shape\n    id = a\n    k = 4\n    n = 4\n    source = s\n", SF_ERR_FORMAT,
          ":5: shape 'a': missing field 'm'" },
        { S_HEAD S_SHAPE ("a", "4", "-4", "4"), SF_ERR_RANGE, ":8: shape 'a': k = -4 is outside" },
        { S_HEAD S_SHAPE ("a", "4", "4", "2147483648"), SF_ERR_RANGE, ":9: shape 'a': n = 2147483648" },
        { S_HEAD S_SHAPE ("a", "4", "4", "0"), SF_ERR_RANGE, ":9: shape 'a': n = 0 is outside" },
        { S_HEAD S_SHAPE ("a", "4x", "4", "4"), SF_ERR_FORMAT, ":7: shape 'a': m must be an integer" },
        { "suite\n    name = t\n    sparsities = \"0.5 1.5\"\n    seed_base = 1\n", SF_ERR_RANGE,
          ":3: suite section: sparsity 1.5 is outside [0, 1)" },
        { "suite\n    name = t\n    sparsities = \"0.5 1\"\n    seed_base = 1\n", SF_ERR_RANGE,
          ":3: suite section: sparsity 1 is outside [0, 1)" },
        { "suite\n    name = t\n    sparsities = \"0.5 nan\"\n", SF_ERR_FORMAT, ":3: suite section: sparsity must be a number, not 'nan'" },
        { "suite\n    name = t\n    sparsities = \"0.5 0.50\"\n", SF_ERR_FORMAT, ":3: suite section: sparsity 0.50 is listed twice" },
        { S_HEAD "layer\n    id = a\n", SF_ERR_FORMAT, ":5: unknown section 'layer'" },
        { S_HEAD S_SHAPE ("a", "4", "4", "4") S_SHAPE ("a", "8", "4", "4"), SF_ERR_FORMAT,
          ":11: shape id 'a' is already used on line 5" },
        { S_HEAD S_SHAPE ("a", "4", "4", "4") S_SHAPE ("b", "4", "4", "4"), SF_ERR_FORMAT,
          ":11: shape 'b': 4x4x4 repeats the shape on line 5" },
        { S_HEAD "shape\n    id = a\n    m = 4\n    m = 5\n", SF_ERR_FORMAT,
          ":8: shape section: field 'm' repeats line 7" },
        { S_HEAD "shape\n    id = a\n    rows = 4\n", SF_ERR_FORMAT, ":7: shape section: unknown field 'rows'" },
        { S_HEAD "shape\n    id = a b\n", SF_ERR_FORMAT, ":6: shape section: id 'a b' may only hold" },
        { S_HEAD "shape\n    id = a@b\n", SF_ERR_FORMAT, ":6: shape section: id 'a@b' may only hold" },
        { S_HEAD S_PROBLEM ("p", "7") S_PROBLEM ("q", "7"), SF_ERR_FORMAT,
          ":13: problem 'q' has seed 7, like problem 'p'" },
        { S_HEAD S_PROBLEM ("p", "7") S_PROBLEM ("p", "8"), SF_ERR_FORMAT,
          ":13: problem id 'p' is used twice" },
        { S_HEAD S_PROBLEM ("p", "0"), SF_ERR_RANGE, ":11: problem 'p': seed = 0 is outside 1.." },
        { S_HEAD S_PROBLEM ("p", "10") S_SHAPE ("a", "4", "4", "4"), SF_ERR_FORMAT,
          ":13: problem 'a@0.5' has seed 10, like problem 'p'" },
        { "suite\n    name = t\n" S_SHAPE ("a", "4", "4", "4"), SF_ERR_FORMAT,
          ":3: shape 'a': shape sections need the suite section's sparsities and seed_base" },
        { "suite\n    name = t\n    sparsities = 0.5\n    seed_base = 18446744073709551615\n"
          S_SHAPE ("a", "4", "4", "4") S_SHAPE ("b", "8", "4", "4"), SF_ERR_RANGE, ":11: shape 'b': its seeds pass" },
        { "suite\n    name = t\n    mask = magnitude\n", SF_ERR_FORMAT, ":3: suite section: mask 'magnitude'" },
        { "suite\n    name = t\n", SF_ERR_FORMAT, ": suite 't' has no problems" },
        { S_SHAPE ("a", "4", "4", "4"), SF_ERR_FORMAT, ":1: the first section must be 'suite'" },
        { S_HEAD "suite\n    name = u\n", SF_ERR_FORMAT, ":5: a second 'suite' section (the first is on line 1)" },
        { "suite = bench\n", SF_ERR_FORMAT, ":1: 'suite' is a section: it takes no value" },
        { "suite\n    description = x\n", SF_ERR_FORMAT, ":1: suite section: missing field 'name'" },
        /* syntax: zconfig's grammar, reported with the line */
        { "suite\n  name = t\n", SF_ERR_FORMAT, ":2: indent by multiples of 4 spaces" },
        { "suite\n\tname = t\n", SF_ERR_FORMAT, ":2: unexpected" },
        { "suite\n    name = \"t\n", SF_ERR_FORMAT, ":2: missing closing \"" },
        { "suite\n    name = \"t\" x\n", SF_ERR_FORMAT, ":2: unexpected text after the closing \"" },
        { "suite\n    name t\n", SF_ERR_FORMAT, ":2: expected '=' after 'name'" },
        { "suite\n        name = t\n", SF_ERR_FORMAT, ":2: 'name' is indented more than one level below" },
        { "suite\n    name = t\n        x = 1\n", SF_ERR_FORMAT, ":3: suite section: field 'name' cannot have" },
        { "suite\n    name = # no value\n", SF_ERR_FORMAT, ":2: value of 'name' missing before '#'" },
    };
    s_make_dir ();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = s_write ("bad.conf", cases[i].text);
        sf_error_clear ();
        sf_suite_t *suite = sf_suite_load (path);
        ck_assert_msg (suite == NULL, "case %zu loaded", i);
        ck_assert_msg (sf_error_last () == cases[i].status, "case %zu: status %d, not %d (%s)", i,
                       sf_error_last (), cases[i].status, sf_error_message ());
        char want[512];
        snprintf (want, sizeof want, "%s%s", path, cases[i].says);
        ck_assert_msg (strstr (sf_error_message (), want) != NULL, "case %zu: '%s' does not hold '%s'", i,
                       sf_error_message (), want);
        free (path);
    }
    s_remove_dir ();
}
END_TEST

START_TEST (test_missing_files_and_bounds)
{
    s_make_dir ();
    /* No such suite file; no such matrix file (named with its resolved path). */
    char *missing = s_srcdir_path ("conf/bench/no-such-suite.conf");
    ck_assert_ptr_null (sf_suite_load (missing));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), missing));
    free (missing);
    char *path = s_write ("m.conf", S_HEAD S_PROBLEM ("p", "7") "    matrix = layers/p.smtx\n");
    ck_assert_ptr_null (sf_suite_load (path));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    char want[256];
    snprintf (want, sizeof want, "%s:13: problem 'p': matrix file %s/layers/p.smtx", path, s_dir);
    ck_assert_msg (strstr (sf_error_message (), want) != NULL, "%s", sf_error_message ());
    free (path);
    ck_assert_ptr_null (sf_suite_load (s_dir));  /* a directory */
    ck_assert_int_eq (sf_error_last (), SF_ERR_FORMAT);

    /* A line longer than zconfig reads; more than 100000 problems. */
    char *text = malloc (2 * 1024 * 1024);
    snprintf (text, 2048, S_HEAD "shape\n    source = \"%01100d\"\n", 0);
    path = s_write ("long.conf", text);
    ck_assert_ptr_null (sf_suite_load (path));
    ck_assert_int_eq (sf_error_last (), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), ":6: longer than 1024 bytes"));
    free (path);

    strcpy (text, "suite\n    name = big\n    seed_base = 0\n    sparsities = \"");
    for (int j = 0; j < 100; j++)
        sprintf (text + strlen (text), "%s0.%02d", j ? " " : "", j);
    strcat (text, "\"\n");
    for (int s = 0; s < 1001; s++)  /* 1001 x 100 > 100000 */
        sprintf (text + strlen (text), "shape\n    id = s%d\n    m = %d\n    k = 1\n    n = 1\n"
                                       "    source = x\n", s, s + 1);
    path = s_write ("big.conf", text);
    ck_assert_ptr_null (sf_suite_load (path));
    ck_assert_int_eq (sf_error_last (), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "shape 's1000'"));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "more than 100000 problems"));
    free (path);
    free (text);
    s_remove_dir ();
}
END_TEST

/* ---- explicit problems and matrix files ---------------------------------------- */

START_TEST (test_mixed_suite)
{
    char *path = s_srcdir_path ("tests/data/suites/mixed.conf");
    sf_suite_t *suite = sf_suite_load (path);
    ck_assert_msg (suite != NULL, "%s", sf_error_message ());
    ck_assert_str_eq (sf_suite_name (suite), "mixed");
    ck_assert_str_eq (sf_suite_description (suite), "test suite: shapes and explicit problems");
    ck_assert_str_eq (sf_suite_path (suite), path);
    /* File order: shape small, problem tiny-pattern, shape wide, problem. */
    const char *ids[] = { "small@0.5", "small@0.9", "tiny-pattern", "wide@0.5", "wide@0.9",
                          "small-again@0.3" };
    const uint64_t seeds[] = { 100, 101, 3, 200, 201, 7 };
    ck_assert_uint_eq (sf_suite_size (suite), 6);
    for (size_t i = 0; i < 6; i++) {
        ck_assert_str_eq (sf_suite_problem (suite, i)->id, ids[i]);
        ck_assert_uint_eq (sf_suite_problem (suite, i)->seed, seeds[i]);
    }
    /* A problem section: no shape; its matrix resolved next to the suite. */
    const sf_problem_t *tiny = sf_suite_problem (suite, 2);
    ck_assert_ptr_null (tiny->shape_id);
    ck_assert_int_eq (tiny->n, 64);
    ck_assert_double_eq (tiny->sparsity, 0.75);
    char *matrix = s_srcdir_path ("tests/data/suites/tiny.smtx");
    ck_assert_str_eq (tiny->matrix, matrix);
    free (matrix);
    ck_assert_str_eq (sf_suite_problem (suite, 3)->source, "made up: a \"wide\" layer");
    /* Shapes count distinct dimensions: small-again is small's. */
    ck_assert_uint_eq (sf_suite_shape_count (suite), 3);
    ck_assert_uint_eq (s_count (suite, "matrix~smtx"), 1);
    ck_assert_uint_eq (s_count (suite, "matrix="), 5);
    ck_assert_uint_eq (s_count (suite, "shape="), 2);  /* the problem sections */
    sf_suite_destroy (&suite);
    free (path);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("suite");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_bench205_problems);
    tcase_add_test (tc, test_bench205_order_ids_and_seeds);
    tcase_add_test (tc, test_problem_matrix_generated);
    tcase_add_test (tc, test_filter_counts);
    tcase_add_test (tc, test_sparsities);
    tcase_add_test (tc, test_filter_rejects_bad_expressions);
    tcase_add_test (tc, test_malformed_files_rejected);
    tcase_add_test (tc, test_missing_files_and_bounds);
    tcase_add_test (tc, test_mixed_suite);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
