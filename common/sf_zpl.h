/*  sf_zpl: strict reading of ZPL files (CZMQ zconfig) with line numbers.

    Every spmmfarm file in ZPL (suites, sweeps, the rank model's settings)
    is read through here, so that all of them report a mistake the same way:
    "FILE:LINE: what is wrong", with the SF_ERR_* status that says its kind.

    zconfig alone logs a syntax error on stdout and forgets line numbers.
    sf_zpl_load therefore first checks every line against the grammar that
    zconfig accepts (4-space indents, `name = value`, quotes, comments) and
    records the line of every named line; zconfig then builds the tree,
    which has exactly one node per named line, in document order. A reader
    that visits the nodes in document order (depth first) gets each node's
    line from sf_zpl_next_line().
*/
#ifndef SF_ZPL_H_INCLUDED
#define SF_ZPL_H_INCLUDED

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_zpl_t sf_zpl_t;

#define SF_ZPL_LINE_MAX 1024   /* bytes per line (zconfig's own limit) */

/*  Reads and checks the file at path (at most max_bytes). `what` names the
    kind of file in messages ("suite file"). NULL on failure with the detail
    ("FILE:LINE: ...") and the status: SF_ERR_NOTFOUND, SF_ERR_IO,
    SF_ERR_FORMAT (syntax, a NUL byte, a directory), SF_ERR_RANGE (size,
    line length), SF_ERR_NOMEM. Caller owns the result. */
sf_zpl_t *sf_zpl_load (const char *path, size_t max_bytes, const char *what);

/*  The same from text in memory; `name` stands for the path in messages. */
sf_zpl_t *sf_zpl_load_text (const char *name, const char *text);

void sf_zpl_destroy (sf_zpl_t **self_p);

/*  The tree's root (its children are the top-level sections); owned. */
zconfig_t *sf_zpl_root (const sf_zpl_t *self);

/*  The path (or name) given at load; owned. */
const char *sf_zpl_path (const sf_zpl_t *self);

/*  The line of the next node in document order, and a peek at it (0 past
    the end). */
size_t sf_zpl_next_line (sf_zpl_t *self);
size_t sf_zpl_peek_line (const sf_zpl_t *self);

/*  Records "FILE:LINE: detail" (or "FILE: detail" when line is 0) and
    returns status. */
int sf_zpl_fail (const sf_zpl_t *self, int status, size_t line, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/*  One field of a section: the caller presets the names; the reader fills
    value (NULL: absent) and line. */
typedef struct {
    const char *name;
    const char *value;
    size_t line;
} sf_zpl_field_t;

/*  Fills fields[] from a section's children, consuming their lines; an
    unknown, repeated or nested field is SF_ERR_FORMAT naming the known
    ones. `kind` names the section in messages ("shape"). */
int sf_zpl_read_fields (sf_zpl_t *self, zconfig_t *section, const char *kind,
                        sf_zpl_field_t *fields, size_t count);

/*  SF_ERR_FORMAT "WHAT: missing field 'NAME'" unless the field is set. */
int sf_zpl_require (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what,
                    size_t section_line);

/*  A decimal integer in [min, max]: malformed is SF_ERR_FORMAT, out of the
    bounds SF_ERR_RANGE; messages start with `what`. */
int sf_zpl_parse_int (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what,
                      int64_t min, int64_t max, int64_t *out);

/*  A decimal unsigned 64-bit integer >= min (seeds). */
int sf_zpl_parse_u64 (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what,
                      uint64_t min, uint64_t *out);

/*  A decimal number (no hex, inf or nan) in [min, max]. */
int sf_zpl_parse_double (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what,
                         double min, double max, double *out);

#ifdef __cplusplus
}
#endif
#endif
