/*  sf_suite: benchmark suites, the fixed lists of problems that benchmarks,
    training sweeps and reports run on (conf/bench/bench205.conf is the
    kernel benchmark).

    A suite file is ZPL (the CZMQ zconfig format): a `suite` section, then
    `shape` sections, each expanded over the suite's sparsities with a seed
    derived from its position, and `problem` sections, each one explicit
    problem that may name a real matrix file. docs/SUITES.md is the format's
    reference: fields, bounds, the seed rule and the filter language.

    A loaded suite is immutable; its problems keep the file's order.
*/
#ifndef SF_SUITE_H_INCLUDED
#define SF_SUITE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "common/sf_matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_suite_t sf_suite_t;

/*  Bounds of a suite file (see docs/SUITES.md). */
#define SF_SUITE_FILE_MAX (16 * 1024 * 1024)  /* bytes */
#define SF_SUITE_LINE_MAX 1024                /* bytes per line (zconfig's) */
#define SF_SUITE_PROBLEMS_MAX 100000          /* problems after expansion */
#define SF_SUITE_SPARSITIES_MAX 100           /* sparsities per suite = seed stride */
#define SF_SUITE_ID_MAX 64                    /* suite name, shape and problem ids */
#define SF_SUITE_TEXT_MAX 512                 /* description, source */
#define SF_SUITE_FILTER_MAX 4096              /* bytes of a filter expression */

/*  One problem: C (M x N) = A (M x K, sparse) x B (K x N). The strings are
    owned by the suite and live as long as it does. */
typedef struct {
    const char *id;        /* unique in the suite: "<shape id>@<sparsity>" or a problem's id */
    int64_t m, k, n;       /* 1..2^31-1 each */
    double sparsity;       /* [0, 1): fraction of zeros (nominal for matrix files) */
    uint64_t seed;         /* draws the matrix, or the values of a value-less file */
    const char *source;    /* where it comes from (network and layers); never empty */
    const char *matrix;    /* matrix file (absolute or relative to the working
                              directory); NULL: generated with uniform pruning */
    const char *shape_id;  /* the shape section it was expanded from; NULL for a
                              problem section */
} sf_problem_t;

/*  Reads and validates a suite file. NULL on failure, with the detail
    ("FILE:LINE: section 'x': what is wrong") in sf_error_message() and the
    status in sf_error_last(): SF_ERR_NOTFOUND (no such file, or a problem's
    matrix file is missing), SF_ERR_IO, SF_ERR_FORMAT (syntax, unknown or
    missing section or field, duplicate id or seed, malformed value),
    SF_ERR_RANGE (a value or count beyond its bound), SF_ERR_NOMEM. Caller
    owns the suite. */
sf_suite_t *sf_suite_load (const char *path);

void sf_suite_destroy (sf_suite_t **self_p);

/*  The suite's name and description ("" when none) and the file it was
    loaded from; owned by the suite. */
const char *sf_suite_name (const sf_suite_t *self);
const char *sf_suite_description (const sf_suite_t *self);
const char *sf_suite_path (const sf_suite_t *self);

/*  Number of problems, and problem i (0 <= i < size; owned by the suite). */
size_t sf_suite_size (const sf_suite_t *self);
const sf_problem_t *sf_suite_problem (const sf_suite_t *self, size_t i);

/*  Number of distinct (M, K, N) among the suite's problems. */
size_t sf_suite_shape_count (const sf_suite_t *self);

/*  The distinct sparsities of the suite's problems, ascending: the first
    `max` of them into out (may be NULL when max is 0); returns how many
    there are. */
size_t sf_suite_sparsities (const sf_suite_t *self, double *out, size_t max);

/*  A new suite with the problems that match a filter expression, in the
    same order (possibly none); same name, description and path. The
    language (docs/SUITES.md): comma-separated terms, all of which must hold,
    each FIELD OP VALUE with FIELD one of m, k, n, sparsity, seed (OP one of
    = != < <= > >=) or id, shape, source, matrix (OP one of = != and ~ !~,
    case-insensitive substring). An empty expression keeps every problem.
    NULL with SF_ERR_INVALID and a detail naming the bad term. Caller owns
    the result. */
sf_suite_t *sf_suite_filter (const sf_suite_t *self, const char *expr);

/*  The problem's weight matrix: generated with sf_matrix_new_random (m, k,
    sparsity, seed), or read from its matrix file (with seed for the values
    of value-less patterns) and checked to be m x k. NULL on failure with
    the detail. Caller owns the matrix. */
sf_matrix_t *sf_problem_matrix (const sf_problem_t *problem);

#ifdef __cplusplus
}
#endif
#endif
