/*  sf_suite: benchmark suite files (ZPL), their problems and filters.

    Loading: common/sf_zpl checks the file line by line and builds the
    zconfig tree; the sections are then walked in document order, and
    sf_zpl_next_line gives each node its line for messages.
*/
#include "common/sf_suite.h"

#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_error.h"
#include "common/sf_sort.h"
#include "common/sf_matrix_io.h"
#include "common/sf_zpl.h"

#define S_PATH_MAX 4096
#define S_SPARSITY_TEXT_MAX 24
#define S_FILTER_TERMS_MAX 32

struct _sf_suite_t {
    char *path;
    char *name;
    char *description;
    sf_problem_t *problems;
    size_t size, alloc;
    char **strings;  /* every string the problems point to, owned here */
    size_t string_count, string_alloc;
};

/* ---- the suite object ---------------------------------------------------- */

static sf_suite_t *
s_suite_new (const char *path, const char *name, const char *description)
{
    sf_suite_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->path = strdup (path);
    self->name = strdup (name);
    self->description = strdup (description);
    if (!self->path || !self->name || !self->description) {
        sf_suite_destroy (&self);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    return self;
}

void
sf_suite_destroy (sf_suite_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_suite_t *self = *self_p;
    for (size_t i = 0; i < self->string_count; i++)
        free (self->strings[i]);
    free (self->strings);
    free (self->problems);
    free (self->path);
    free (self->name);
    free (self->description);
    free (self);
    *self_p = NULL;
}

/*  A copy of text owned by the suite (NULL stays NULL). Returns false when
    out of memory. */
static bool
s_suite_own (sf_suite_t *self, const char *text, const char **copy_p)
{
    *copy_p = NULL;
    if (!text)
        return true;
    if (self->string_count == self->string_alloc) {
        size_t alloc = self->string_alloc ? 2 * self->string_alloc : 64;
        char **strings = realloc (self->strings, alloc * sizeof *strings);
        if (!strings)
            return false;
        self->strings = strings;
        self->string_alloc = alloc;
    }
    char *copy = strdup (text);
    if (!copy)
        return false;
    self->strings[self->string_count++] = copy;
    *copy_p = copy;
    return true;
}

/*  Appends a problem whose strings the suite already owns. The caller has
    checked SF_SUITE_PROBLEMS_MAX. */
static int
s_suite_push (sf_suite_t *self, const sf_problem_t *problem)
{
    assert (self->size < SF_SUITE_PROBLEMS_MAX);
    if (self->size == self->alloc) {
        size_t alloc = self->alloc ? 2 * self->alloc : 64;
        sf_problem_t *problems = realloc (self->problems, alloc * sizeof *problems);
        if (!problems)
            return sf_error_set (SF_ERR_NOMEM, "out of memory");
        self->problems = problems;
        self->alloc = alloc;
    }
    self->problems[self->size++] = *problem;
    return SF_OK;
}

const char *
sf_suite_name (const sf_suite_t *self)
{
    assert (self);
    return self->name;
}

const char *
sf_suite_description (const sf_suite_t *self)
{
    assert (self);
    return self->description;
}

const char *
sf_suite_path (const sf_suite_t *self)
{
    assert (self);
    return self->path;
}

size_t
sf_suite_size (const sf_suite_t *self)
{
    assert (self);
    return self->size;
}

const sf_problem_t *
sf_suite_problem (const sf_suite_t *self, size_t i)
{
    assert (self);
    assert (i < self->size);
    return &self->problems[i];
}

static int
s_compare_dims (const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t
sf_suite_shape_count (const sf_suite_t *self)
{
    assert (self);
    if (self->size == 0)
        return 0;
    int64_t (*dims)[3] = malloc (self->size * sizeof *dims);
    if (!dims)
        return 0;  /* only when out of memory; the count is informative */
    for (size_t i = 0; i < self->size; i++) {
        dims[i][0] = self->problems[i].m;
        dims[i][1] = self->problems[i].k;
        dims[i][2] = self->problems[i].n;
    }
    qsort (dims, self->size, sizeof *dims, s_compare_dims);
    size_t count = 1;
    for (size_t i = 1; i < self->size; i++)
        if (s_compare_dims (dims[i - 1], dims[i]) != 0)
            count++;
    free (dims);
    return count;
}

/* ---- the loader's state and messages -------------------------------------- */

typedef struct {
    const char *path;             /* the suite file */
    char *dir;                    /* its directory with a trailing '/', or "" */
    sf_zpl_t *zpl;                /* the file, checked, and its lines */
    sf_suite_t *suite;
    size_t suite_line;
    double sparsities[SF_SUITE_SPARSITIES_MAX];
    char sparsity_text[SF_SUITE_SPARSITIES_MAX][S_SPARSITY_TEXT_MAX + 1];
    size_t sparsity_count;
    bool has_seed_base;
    uint64_t seed_base;
    size_t shape_count;
    zhashx_t *ids;                /* problem id -> index + 1 */
    zhashx_t *seeds;              /* seed in decimal -> index + 1 */
    zhashx_t *shape_ids;          /* shape id -> line */
    zhashx_t *shape_dims;         /* "MxKxN" -> line of the shape */
} s_loader_t;

/*  A sparsity in [0, 1), written in decimal (no hex, inf or nan). */
static int
s_parse_sparsity (s_loader_t *self, size_t line, const char *what, const char *text, double *out)
{
    char *end = NULL;
    double value = 0.0;
    if (*text && !text[strspn (text, "0123456789.eE+-")])
        value = strtod (text, &end);
    if (!end || *end || !isfinite (value))
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line,
                            "%s: sparsity must be a number, not '%s'", what, text);
    if (value < 0.0 || value >= 1.0)
        return sf_zpl_fail (self->zpl, SF_ERR_RANGE, line, "%s: sparsity %s is outside [0, 1)", what, text);
    *out = value;
    return SF_OK;
}

/*  Ids: 1..SF_SUITE_ID_MAX of [A-Za-z0-9._+-], and '@' where allowed. */
static int
s_check_id (s_loader_t *self, const sf_zpl_field_t *field, const char *what, bool allow_at)
{
    const char *id = field->value;
    size_t len = strlen (id);
    if (len == 0)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, field->line, "%s: %s is empty", what, field->name);
    if (len > SF_SUITE_ID_MAX)
        return sf_zpl_fail (self->zpl, SF_ERR_RANGE, field->line, "%s: %s is longer than %d characters", what,
                            field->name, SF_SUITE_ID_MAX);
    for (const char *p = id; *p; p++)
        if (!isalnum ((unsigned char) *p) && !strchr ("._+-", *p) && !(allow_at && *p == '@'))
            return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, field->line,
                                "%s: %s '%s' may only hold letters, digits and . _ + -%s", what,
                                field->name, id, allow_at ? " @" : "");
    return SF_OK;
}

static int
s_check_text (s_loader_t *self, const sf_zpl_field_t *field, const char *what, bool required)
{
    size_t len = strlen (field->value);
    if (required && len == 0)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, field->line, "%s: %s is empty", what, field->name);
    if (len > SF_SUITE_TEXT_MAX)
        return sf_zpl_fail (self->zpl, SF_ERR_RANGE, field->line, "%s: %s is longer than %d characters", what,
                            field->name, SF_SUITE_TEXT_MAX);
    return SF_OK;
}

/* ---- the suite section ------------------------------------------------------ */

/*  "0.5 0.7, 0.9": separated by spaces or commas, distinct. */
static int
s_parse_sparsities (s_loader_t *self, const sf_zpl_field_t *field)
{
    const char *p = field->value;
    self->sparsity_count = 0;
    while (true) {
        p += strspn (p, " \t,");
        if (!*p)
            break;
        size_t len = strcspn (p, " \t,");
        if (self->sparsity_count == SF_SUITE_SPARSITIES_MAX)
            return sf_zpl_fail (self->zpl, SF_ERR_RANGE, field->line,
                                "suite section: more than %d sparsities",
                                SF_SUITE_SPARSITIES_MAX);
        if (len > S_SPARSITY_TEXT_MAX)
            return sf_zpl_fail (self->zpl, SF_ERR_RANGE, field->line,
                                "suite section: sparsity '%.*s...' is too long",
                                S_SPARSITY_TEXT_MAX, p);
        char *text = self->sparsity_text[self->sparsity_count];
        memcpy (text, p, len);
        text[len] = '\0';
        double value;
        int rc = s_parse_sparsity (self, field->line, "suite section", text, &value);
        if (rc != SF_OK)
            return rc;
        for (size_t i = 0; i < self->sparsity_count; i++)
            if (self->sparsities[i] == value)
                return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, field->line,
                                    "suite section: sparsity %s is listed twice",
                                    text);
        self->sparsities[self->sparsity_count++] = value;
        p += len;
    }
    if (self->sparsity_count == 0)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, field->line, "suite section: sparsities is empty");
    return SF_OK;
}

enum { S_SUITE_NAME, S_SUITE_DESCRIPTION, S_SUITE_SPARSITIES, S_SUITE_MASK, S_SUITE_SEED_BASE };

static int
s_load_suite (s_loader_t *self, zconfig_t *section, size_t line)
{
    sf_zpl_field_t f[] = { { "name", NULL, 0 }, { "description", NULL, 0 }, { "sparsities", NULL, 0 },
                      { "mask", NULL, 0 }, { "seed_base", NULL, 0 } };
    int rc = sf_zpl_read_fields (self->zpl, section, "suite", f, sizeof f / sizeof f[0]);
    if (rc == SF_OK)
        rc = sf_zpl_require (self->zpl, &f[S_SUITE_NAME], "suite section", line);
    if (rc == SF_OK)
        rc = s_check_id (self, &f[S_SUITE_NAME], "suite section", false);
    if (rc == SF_OK && f[S_SUITE_DESCRIPTION].value)
        rc = s_check_text (self, &f[S_SUITE_DESCRIPTION], "suite section", false);
    if (rc == SF_OK && f[S_SUITE_SPARSITIES].value)
        rc = s_parse_sparsities (self, &f[S_SUITE_SPARSITIES]);
    if (rc == SF_OK && f[S_SUITE_MASK].value && !streq (f[S_SUITE_MASK].value, "uniform"))
        rc = sf_zpl_fail (self->zpl, SF_ERR_FORMAT, f[S_SUITE_MASK].line,
                          "suite section: mask '%s' is not known (the one mask is 'uniform')",
                          f[S_SUITE_MASK].value);
    if (rc == SF_OK && f[S_SUITE_SEED_BASE].value) {
        rc = sf_zpl_parse_u64 (self->zpl, &f[S_SUITE_SEED_BASE], "suite section", 0, &self->seed_base);
        self->has_seed_base = rc == SF_OK;
    }
    if (rc != SF_OK)
        return rc;
    const char *description = f[S_SUITE_DESCRIPTION].value ? f[S_SUITE_DESCRIPTION].value : "";
    self->suite = s_suite_new (self->path, f[S_SUITE_NAME].value, description);
    self->suite_line = line;
    return self->suite ? SF_OK : sf_error_last ();
}

/* ---- problems: uniqueness and adding ---------------------------------------- */

/*  Adds a problem whose strings the suite owns, after checking that its id
    and seed are new and that the bound holds. */
static int
s_add_problem (s_loader_t *self, const sf_problem_t *problem, size_t line)
{
    if (self->suite->size == SF_SUITE_PROBLEMS_MAX)
        return sf_zpl_fail (self->zpl, SF_ERR_RANGE, line, "more than %d problems", SF_SUITE_PROBLEMS_MAX);
    void *other = zhashx_lookup (self->ids, problem->id);
    if (other)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line, "problem id '%s' is used twice", problem->id);
    char seed_key[24];
    snprintf (seed_key, sizeof seed_key, "%" PRIu64, problem->seed);
    other = zhashx_lookup (self->seeds, seed_key);
    if (other)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line, "problem '%s' has seed %s, like problem '%s'",
                            problem->id, seed_key,
                            self->suite->problems[(uintptr_t) other - 1].id);
    void *index = (void *) (uintptr_t) (self->suite->size + 1);
    if (zhashx_insert (self->ids, problem->id, index) != 0
        || zhashx_insert (self->seeds, seed_key, index) != 0)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    return s_suite_push (self->suite, problem);
}

static int
s_parse_dims (s_loader_t *self, sf_zpl_field_t *f, const char *what, size_t line, sf_problem_t *problem)
{
    int64_t *dims[3] = { &problem->m, &problem->k, &problem->n };
    for (int i = 0; i < 3; i++) {
        int rc = sf_zpl_require (self->zpl, &f[i], what, line);
        if (rc == SF_OK)
            rc = sf_zpl_parse_int (self->zpl, &f[i], what, 1, SF_MATRIX_DIM_MAX, dims[i]);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

/* ---- shape sections ------------------------------------------------------------ */

enum { S_SHAPE_M, S_SHAPE_K, S_SHAPE_N, S_SHAPE_ID, S_SHAPE_SOURCE };

/*  Problem j of shape i gets seed seed_base + SPARSITIES_MAX * i + j. */
static int
s_expand_shape (s_loader_t *self, sf_problem_t *base, size_t line)
{
    if (self->suite->size + self->sparsity_count > SF_SUITE_PROBLEMS_MAX)
        return sf_zpl_fail (self->zpl, SF_ERR_RANGE, line,
                            "shape '%s': more than %d problems", base->shape_id,
                            SF_SUITE_PROBLEMS_MAX);
    for (size_t j = 0; j < self->sparsity_count; j++) {
        uint64_t offset = (uint64_t) SF_SUITE_SPARSITIES_MAX * self->shape_count + j;
        if (self->seed_base > UINT64_MAX - offset)
            return sf_zpl_fail (self->zpl, SF_ERR_RANGE, line,
                                "shape '%s': its seeds pass 2^64-1 (lower seed_base)",
                                base->shape_id);
        char id[SF_SUITE_ID_MAX + S_SPARSITY_TEXT_MAX + 2];
        snprintf (id, sizeof id, "%s@%s", base->shape_id, self->sparsity_text[j]);
        sf_problem_t problem = *base;
        problem.sparsity = self->sparsities[j];
        problem.seed = self->seed_base + offset;
        if (!s_suite_own (self->suite, id, &problem.id))
            return sf_error_set (SF_ERR_NOMEM, "out of memory");
        int rc = s_add_problem (self, &problem, line);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

static int
s_load_shape (s_loader_t *self, zconfig_t *section, size_t line)
{
    sf_zpl_field_t f[] = { { "m", NULL, 0 }, { "k", NULL, 0 }, { "n", NULL, 0 }, { "id", NULL, 0 },
                      { "source", NULL, 0 } };
    int rc = sf_zpl_read_fields (self->zpl, section, "shape", f, sizeof f / sizeof f[0]);
    if (rc == SF_OK)
        rc = sf_zpl_require (self->zpl, &f[S_SHAPE_ID], "shape section", line);
    if (rc == SF_OK)
        rc = s_check_id (self, &f[S_SHAPE_ID], "shape section", false);
    if (rc != SF_OK)
        return rc;
    char what[SF_SUITE_ID_MAX + 16];
    snprintf (what, sizeof what, "shape '%s'", f[S_SHAPE_ID].value);
    sf_problem_t base = { 0 };
    rc = s_parse_dims (self, f, what, line, &base);
    if (rc == SF_OK)
        rc = sf_zpl_require (self->zpl, &f[S_SHAPE_SOURCE], what, line);
    if (rc == SF_OK)
        rc = s_check_text (self, &f[S_SHAPE_SOURCE], what, true);
    if (rc != SF_OK)
        return rc;
    if (self->sparsity_count == 0 || !self->has_seed_base)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line,
                            "%s: shape sections need the suite section's sparsities and seed_base (line %zu)",
                            what, self->suite_line);

    uintptr_t other = (uintptr_t) zhashx_lookup (self->shape_ids, f[S_SHAPE_ID].value);
    if (other)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line, "shape id '%s' is already used on line %zu",
                            f[S_SHAPE_ID].value, (size_t) other);
    char dims[64];
    snprintf (dims, sizeof dims, "%" PRId64 "x%" PRId64 "x%" PRId64, base.m, base.k, base.n);
    other = (uintptr_t) zhashx_lookup (self->shape_dims, dims);
    if (other)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line,
                            "%s: %s repeats the shape on line %zu", what, dims,
                            (size_t) other);
    if (zhashx_insert (self->shape_ids, f[S_SHAPE_ID].value, (void *) (uintptr_t) line) != 0
        || zhashx_insert (self->shape_dims, dims, (void *) (uintptr_t) line) != 0)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");

    if (!s_suite_own (self->suite, f[S_SHAPE_ID].value, &base.shape_id)
        || !s_suite_own (self->suite, f[S_SHAPE_SOURCE].value, &base.source))
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    rc = s_expand_shape (self, &base, line);
    self->shape_count++;
    return rc;
}

/* ---- problem sections ---------------------------------------------------------- */

enum { S_PROB_M, S_PROB_K, S_PROB_N, S_PROB_ID, S_PROB_SPARSITY, S_PROB_SEED, S_PROB_SOURCE,
       S_PROB_MATRIX };

/*  The matrix file, relative to the suite file's directory unless absolute;
    it must exist (a typo should fail at load, not hours into a run). */
static int
s_resolve_matrix (s_loader_t *self, const sf_zpl_field_t *field, const char *what, char *resolved)
{
    const char *name = field->value;
    if (!*name)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, field->line, "%s: matrix is empty", what);
    const char *dir = name[0] == '/' ? "" : self->dir;
    if (strlen (dir) + strlen (name) >= S_PATH_MAX)
        return sf_zpl_fail (self->zpl, SF_ERR_RANGE, field->line, "%s: matrix path is too long", what);
    snprintf (resolved, S_PATH_MAX, "%s%s", dir, name);
    struct stat st;
    if (stat (resolved, &st) != 0)
        return sf_zpl_fail (self->zpl, errno == ENOENT ? SF_ERR_NOTFOUND : SF_ERR_IO, field->line,
                            "%s: matrix file %s: %s", what, resolved, strerror (errno));
    if (!S_ISREG (st.st_mode))
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, field->line,
                            "%s: matrix %s is not a regular file", what,
                            resolved);
    return SF_OK;
}

static int
s_load_problem (s_loader_t *self, zconfig_t *section, size_t line)
{
    sf_zpl_field_t f[] = { { "m", NULL, 0 }, { "k", NULL, 0 }, { "n", NULL, 0 }, { "id", NULL, 0 },
                      { "sparsity", NULL, 0 }, { "seed", NULL, 0 }, { "source", NULL, 0 },
                      { "matrix", NULL, 0 } };
    int rc = sf_zpl_read_fields (self->zpl, section, "problem", f, sizeof f / sizeof f[0]);
    if (rc == SF_OK)
        rc = sf_zpl_require (self->zpl, &f[S_PROB_ID], "problem section", line);
    if (rc == SF_OK)
        rc = s_check_id (self, &f[S_PROB_ID], "problem section", true);
    if (rc != SF_OK)
        return rc;
    char what[SF_SUITE_ID_MAX + 16];
    snprintf (what, sizeof what, "problem '%s'", f[S_PROB_ID].value);
    sf_problem_t problem = { 0 };
    rc = s_parse_dims (self, f, what, line, &problem);
    if (rc == SF_OK)
        rc = sf_zpl_require (self->zpl, &f[S_PROB_SPARSITY], what, line);
    if (rc == SF_OK)
        rc = s_parse_sparsity (self, f[S_PROB_SPARSITY].line, what, f[S_PROB_SPARSITY].value,
                               &problem.sparsity);
    if (rc == SF_OK)
        rc = sf_zpl_require (self->zpl, &f[S_PROB_SEED], what, line);
    if (rc == SF_OK)  /* 0 is the matrix readers' "default seed" */
        rc = sf_zpl_parse_u64 (self->zpl, &f[S_PROB_SEED], what, 1, &problem.seed);
    if (rc == SF_OK)
        rc = sf_zpl_require (self->zpl, &f[S_PROB_SOURCE], what, line);
    if (rc == SF_OK)
        rc = s_check_text (self, &f[S_PROB_SOURCE], what, true);
    char matrix[S_PATH_MAX] = "";
    if (rc == SF_OK && f[S_PROB_MATRIX].value)
        rc = s_resolve_matrix (self, &f[S_PROB_MATRIX], what, matrix);
    if (rc != SF_OK)
        return rc;
    if (!s_suite_own (self->suite, f[S_PROB_ID].value, &problem.id)
        || !s_suite_own (self->suite, f[S_PROB_SOURCE].value, &problem.source)
        || !s_suite_own (self->suite, *matrix ? matrix : NULL, &problem.matrix))
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    return s_add_problem (self, &problem, line);
}

/* ---- loading ------------------------------------------------------------------ */

static int
s_load_sections (s_loader_t *self, zconfig_t *root)
{
    zconfig_t *section = zconfig_child (root);
    if (!section)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, 0, "no 'suite' section (the file is empty)");
    for (; section; section = zconfig_next (section)) {
        size_t line = sf_zpl_next_line (self->zpl);
        const char *name = zconfig_name (section);
        const char *value = zconfig_value (section);
        int rc;
        if (value && *value)
            rc = sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line,
                              "'%s' is a section: it takes no value, its fields go on indented lines",
                              name);
        else
        if (!self->suite && !streq (name, "suite"))
            rc = sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line,
                              "the first section must be 'suite', not '%s'", name);
        else
        if (streq (name, "suite"))
            rc = self->suite ? sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line,
                                            "a second 'suite' section (the first is on line %zu)",
                                            self->suite_line)
                             : s_load_suite (self, section, line);
        else
        if (streq (name, "shape"))
            rc = s_load_shape (self, section, line);
        else
        if (streq (name, "problem"))
            rc = s_load_problem (self, section, line);
        else
            rc = sf_zpl_fail (self->zpl, SF_ERR_FORMAT, line,
                              "unknown section '%s' (sections: suite, shape, problem)",
                              name);
        if (rc != SF_OK)
            return rc;
    }
    if (self->suite->size == 0)
        return sf_zpl_fail (self->zpl, SF_ERR_FORMAT, 0,
                            "suite '%s' has no problems (no shape or problem sections)",
                            self->suite->name);
    return SF_OK;
}

static void
s_loader_free (s_loader_t *self)
{
    free (self->dir);
    sf_zpl_destroy (&self->zpl);
    zhashx_destroy (&self->ids);
    zhashx_destroy (&self->seeds);
    zhashx_destroy (&self->shape_ids);
    zhashx_destroy (&self->shape_dims);
    sf_suite_destroy (&self->suite);
}

static int
s_loader_init (s_loader_t *self, const char *path)
{
    memset (self, 0, sizeof *self);
    self->path = path;
    const char *slash = strrchr (path, '/');
    size_t dir_len = slash ? (size_t) (slash - path + 1) : 0;
    self->dir = strndup (path, dir_len);
    self->ids = zhashx_new ();
    self->seeds = zhashx_new ();
    self->shape_ids = zhashx_new ();
    self->shape_dims = zhashx_new ();
    if (!self->dir || !self->ids || !self->seeds || !self->shape_ids || !self->shape_dims)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    return SF_OK;
}

sf_suite_t *
sf_suite_load (const char *path)
{
    assert (path);
    s_loader_t loader;
    int rc = s_loader_init (&loader, path);
    if (rc == SF_OK) {
        loader.zpl = sf_zpl_load (path, SF_SUITE_FILE_MAX, "suite file");
        rc = loader.zpl ? SF_OK : sf_error_last ();
    }
    if (rc == SF_OK)
        rc = s_load_sections (&loader, sf_zpl_root (loader.zpl));
    sf_suite_t *suite = NULL;
    if (rc == SF_OK) {
        suite = loader.suite;
        loader.suite = NULL;
    }
    s_loader_free (&loader);
    return suite;
}

/* ---- filters ------------------------------------------------------------------- */

typedef enum { S_F_M, S_F_K, S_F_N, S_F_SPARSITY, S_F_SEED, S_F_ID, S_F_SHAPE, S_F_SOURCE,
               S_F_MATRIX } s_filter_field_t;
typedef enum { S_OP_LE, S_OP_GE, S_OP_NE, S_OP_NOT_HAS, S_OP_EQ, S_OP_LT, S_OP_GT, S_OP_HAS } s_op_t;

static const char *s_field_names[] = { "m", "k", "n", "sparsity", "seed", "id", "shape", "source",
                                       "matrix" };
/*  Two-character operators first, so that "<=" is not read as "<". */
static const char *s_op_names[] = { "<=", ">=", "!=", "!~", "=", "<", ">", "~" };

typedef struct {
    s_filter_field_t field;
    s_op_t op;
    double number;
    uint64_t seed;
    char text[SF_SUITE_FILTER_MAX + 1];
} s_term_t;

static bool
s_is_text_field (s_filter_field_t field)
{
    return field >= S_F_ID;
}

static int
s_parse_value (const char *expr, const char *term, s_term_t *t)
{
    char *end = NULL;
    errno = 0;
    if (s_is_text_field (t->field)) {
        if (t->op != S_OP_EQ && t->op != S_OP_NE && t->op != S_OP_HAS && t->op != S_OP_NOT_HAS)
            return sf_error_set (SF_ERR_INVALID, "filter '%s': term '%s': %s takes = != ~ !~, not %s",
                                 expr, term, s_field_names[t->field], s_op_names[t->op]);
        return SF_OK;
    }
    if (t->op == S_OP_HAS || t->op == S_OP_NOT_HAS)
        return sf_error_set (SF_ERR_INVALID, "filter '%s': term '%s': %s takes = != < <= > >=, not %s",
                             expr, term, s_field_names[t->field], s_op_names[t->op]);
    if (t->field == S_F_SEED) {
        if (t->text[0] && !t->text[strspn (t->text, "0123456789")])
            t->seed = strtoull (t->text, &end, 10);
    }
    else
    if (t->text[0] && !t->text[strspn (t->text, "0123456789.eE+-")])
        t->number = strtod (t->text, &end);
    if (!end || *end || errno == ERANGE || (t->field != S_F_SEED && !isfinite (t->number)))
        return sf_error_set (SF_ERR_INVALID, "filter '%s': term '%s': '%s' is not a %s", expr, term,
                             t->text, t->field == S_F_SEED ? "seed (0..2^64-1)" : "number");
    return SF_OK;
}

/*  One term "FIELD OP VALUE", spaces allowed around each part. */
static int
s_parse_term (const char *expr, const char *term, s_term_t *t)
{
    const char *p = term + strspn (term, " \t");
    size_t name_len = strspn (p, "abcdefghijklmnopqrstuvwxyz_");
    bool found = false;
    for (size_t i = 0; i < sizeof s_field_names / sizeof s_field_names[0] && !found; i++)
        if (strlen (s_field_names[i]) == name_len && strncmp (p, s_field_names[i], name_len) == 0) {
            t->field = (s_filter_field_t) i;
            found = true;
        }
    if (!found)
        return sf_error_set (SF_ERR_INVALID, "filter '%s': term '%s': unknown field '%.*s' "
                             "(fields: m, k, n, sparsity, seed, id, shape, source, matrix)",
                             expr, term, (int) name_len, p);
    p += name_len;
    p += strspn (p, " \t");
    found = false;
    for (size_t i = 0; i < sizeof s_op_names / sizeof s_op_names[0] && !found; i++)
        if (strncmp (p, s_op_names[i], strlen (s_op_names[i])) == 0) {
            t->op = (s_op_t) i;
            p += strlen (s_op_names[i]);
            found = true;
        }
    if (!found)
        return sf_error_set (SF_ERR_INVALID, "filter '%s': term '%s': expected an operator "
                             "(= != < <= > >= ~ !~) after '%s'", expr, term, s_field_names[t->field]);
    p += strspn (p, " \t");
    size_t len = strlen (p);
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    memcpy (t->text, p, len);
    t->text[len] = '\0';
    return s_parse_value (expr, term, t);
}

/*  Splits expr at commas into terms[]; *count_p gets their number. */
static int
s_parse_filter (const char *expr, s_term_t *terms, size_t *count_p)
{
    *count_p = 0;
    size_t expr_len = strlen (expr);
    if (expr_len > SF_SUITE_FILTER_MAX)
        return sf_error_set (SF_ERR_INVALID, "filter is longer than %d characters", SF_SUITE_FILTER_MAX);
    if (expr[strspn (expr, " \t")] == '\0')
        return SF_OK;  /* empty: every problem */
    char term[SF_SUITE_FILTER_MAX + 1];
    for (const char *p = expr;;) {
        size_t len = strcspn (p, ",");
        memcpy (term, p, len);
        term[len] = '\0';
        if (term[strspn (term, " \t")] == '\0')
            return sf_error_set (SF_ERR_INVALID, "filter '%s': empty term (terms are separated by commas)",
                                 expr);
        if (*count_p == S_FILTER_TERMS_MAX)
            return sf_error_set (SF_ERR_INVALID, "filter '%s': more than %d terms", expr,
                                 S_FILTER_TERMS_MAX);
        int rc = s_parse_term (expr, term, &terms[(*count_p)++]);
        if (rc != SF_OK)
            return rc;
        if (!p[len])
            return SF_OK;
        p += len + 1;
    }
}

static bool
s_compare (double a, s_op_t op, double b)
{
    switch (op) {
    case S_OP_EQ: return a == b;
    case S_OP_NE: return a != b;
    case S_OP_LT: return a < b;
    case S_OP_LE: return a <= b;
    case S_OP_GT: return a > b;
    case S_OP_GE: return a >= b;
    default: return false;
    }
}

static bool
s_term_matches (const s_term_t *t, const sf_problem_t *p)
{
    const char *text = NULL;
    switch (t->field) {
    case S_F_M: return s_compare ((double) p->m, t->op, t->number);
    case S_F_K: return s_compare ((double) p->k, t->op, t->number);
    case S_F_N: return s_compare ((double) p->n, t->op, t->number);
    case S_F_SPARSITY: return s_compare (p->sparsity, t->op, t->number);
    case S_F_SEED:
        /* exact in 64 bits: seeds pass 2^53 */
        return t->op == S_OP_EQ ? p->seed == t->seed : t->op == S_OP_NE ? p->seed != t->seed
             : t->op == S_OP_LT ? p->seed < t->seed : t->op == S_OP_LE ? p->seed <= t->seed
             : t->op == S_OP_GT ? p->seed > t->seed : p->seed >= t->seed;
    case S_F_ID: text = p->id; break;
    case S_F_SHAPE: text = p->shape_id; break;
    case S_F_SOURCE: text = p->source; break;
    case S_F_MATRIX: text = p->matrix; break;
    }
    if (!text)
        text = "";
    switch (t->op) {
    case S_OP_EQ: return streq (text, t->text);
    case S_OP_NE: return !streq (text, t->text);
    case S_OP_HAS: return strcasestr (text, t->text) != NULL;
    case S_OP_NOT_HAS: return strcasestr (text, t->text) == NULL;
    default: return false;
    }
}

/*  Appends a copy of problem, sharing the copied strings with the previous
    problem where the originals were shared (a shape's problems). */
static int
s_copy_problem (sf_suite_t *self, const sf_problem_t *problem, const sf_problem_t *prev_original)
{
    const sf_problem_t *prev_copy = self->size ? &self->problems[self->size - 1] : NULL;
    sf_problem_t copy = *problem;
    bool ok = s_suite_own (self, problem->id, &copy.id);
    if (prev_original && prev_copy && problem->source == prev_original->source
        && problem->shape_id == prev_original->shape_id && problem->matrix == prev_original->matrix) {
        copy.source = prev_copy->source;
        copy.shape_id = prev_copy->shape_id;
        copy.matrix = prev_copy->matrix;
    }
    else
        ok = ok && s_suite_own (self, problem->source, &copy.source)
             && s_suite_own (self, problem->shape_id, &copy.shape_id)
             && s_suite_own (self, problem->matrix, &copy.matrix);
    if (!ok)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    return s_suite_push (self, &copy);
}

sf_suite_t *
sf_suite_filter (const sf_suite_t *self, const char *expr)
{
    assert (self);
    assert (expr);
    s_term_t *terms = malloc (S_FILTER_TERMS_MAX * sizeof *terms);
    if (!terms) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    size_t count;
    int rc = s_parse_filter (expr, terms, &count);
    sf_suite_t *result = rc == SF_OK ? s_suite_new (self->path, self->name, self->description) : NULL;
    const sf_problem_t *prev_original = NULL;  /* the last problem copied */
    for (size_t i = 0; result && i < self->size; i++) {
        const sf_problem_t *problem = &self->problems[i];
        bool match = true;
        for (size_t t = 0; t < count && match; t++)
            match = s_term_matches (&terms[t], problem);
        if (!match)
            continue;
        if (s_copy_problem (result, problem, prev_original) != SF_OK)
            sf_suite_destroy (&result);
        prev_original = problem;
    }
    free (terms);
    return result;
}

/* ---- a problem's matrix ----------------------------------------------------------- */

sf_matrix_t *
sf_problem_matrix (const sf_problem_t *problem)
{
    assert (problem);
    if (!problem->matrix)
        return sf_matrix_new_random (problem->m, problem->k, problem->sparsity, problem->seed);
    sf_read_opts_t opts = { NULL, problem->seed };
    sf_matrix_t *matrix = sf_matrix_read (problem->matrix, &opts);
    if (!matrix) {
        sf_error_prefix ("problem '%s': ", problem->id);
        return NULL;
    }
    if (sf_matrix_rows (matrix) != problem->m || sf_matrix_cols (matrix) != problem->k) {
        sf_error_set (SF_ERR_FORMAT, "problem '%s': %s is %d x %d, the suite says %" PRId64 " x %" PRId64,
                      problem->id, problem->matrix, sf_matrix_rows (matrix), sf_matrix_cols (matrix),
                      problem->m, problem->k);
        sf_matrix_destroy (&matrix);
    }
    return matrix;
}

size_t
sf_suite_sparsities (const sf_suite_t *self, double *out, size_t max)
{
    size_t size = sf_suite_size (self), count = 0;
    double *values = malloc ((size ? size : 1) * sizeof *values);
    if (!values)
        return 0;
    for (size_t i = 0; i < size; i++)
        values[i] = sf_suite_problem (self, i)->sparsity;
    sf_sort_doubles (values, size);
    for (size_t i = 0; i < size; i++) {
        if (i && values[i] == values[i - 1])
            continue;
        if (count < max)
            out[count] = values[i];
        count++;
    }
    free (values);
    return count;
}
