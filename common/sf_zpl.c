/*  sf_zpl: ZPL files checked line by line, then read with zconfig. */
#include "common/sf_zpl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

/*  Named lines (nodes) in one file: a 16 MiB file of short lines stays
    under it, and the line table under 8 MB. */
#define S_NODES_MAX (2u * 1024 * 1024)

struct _sf_zpl_t {
    char *path;                   /* for messages */
    zconfig_t *root;
    uint32_t *lines;              /* line of each node, document order */
    size_t line_count, line_alloc;
    size_t cursor;                /* index in lines of the next node */
};

int
sf_zpl_fail (const sf_zpl_t *self, int status, size_t line, const char *fmt, ...)
             {
             char detail[768];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (detail, sizeof detail, fmt, ap);
    va_end (ap);
    if (line)
        return sf_error_set (status, "%s:%zu: %s", self->path, line, detail);
    return sf_error_set (status, "%s: %s", self->path, detail);
}

size_t
sf_zpl_next_line (sf_zpl_t *self)
{
    return self->cursor < self->line_count ? self->lines[self->cursor++] : 0;
}

size_t
sf_zpl_peek_line (const sf_zpl_t *self)
{
    return self->cursor < self->line_count ? self->lines[self->cursor] : 0;
}

zconfig_t *
sf_zpl_root (const sf_zpl_t *self)
{
    return self->root;
}

const char *
sf_zpl_path (const sf_zpl_t *self)
{
    return self->path;
}

/* ---- reading and linting the text ----------------------------------------- */

static int
s_read_file (const char *path, size_t max_bytes, const char *what, char **text_p)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        if (errno == ENOENT || errno == ENOTDIR)
            return sf_error_set (SF_ERR_NOTFOUND, "%s: no such file", path);
        return sf_error_set (SF_ERR_IO, "%s: %s", path, strerror (errno));
    }
    char *text = malloc (max_bytes + 2);
    if (!text) {
        fclose (file);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    size_t size = fread (text, 1, max_bytes + 1, file);
    int read_errno = ferror (file) ? errno : 0;
    fclose (file);
    if (read_errno) {
        free (text);
        if (read_errno == EISDIR)
            return sf_error_set (SF_ERR_FORMAT, "%s: a directory, not a %s", path, what);
        return sf_error_set (SF_ERR_IO, "%s: %s", path, strerror (read_errno));
    }
    if (size > max_bytes) {
        free (text);
        return sf_error_set (SF_ERR_RANGE, "%s: larger than %zu bytes", path, max_bytes);
    }
    const char *nul = memchr (text, '\0', size);
    if (nul) {
        size_t offset = (size_t) (nul - text);
        free (text);
        return sf_error_set (SF_ERR_FORMAT, "%s: byte %zu: NUL byte: not a text file", path, offset);
    }
    text[size] = '\0';
    *text_p = text;
    return SF_OK;
}

/*  zconfig's name characters (s_is_namechar), in ASCII only. */
static bool
s_is_namechar (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c != '\0' && strchr ("$-_@.&+/", c) != NULL);
}

/*  True when what is left of a line is blank or a comment. */
static bool
s_rest_is_empty (const char *p, const char *end)
{
    while (p < end && isspace ((unsigned char) *p))
        p++;
    return p == end || *p == '#';
}

static int
s_record_line (sf_zpl_t *self, size_t line)
{
    if (self->line_count == S_NODES_MAX)
        return sf_zpl_fail (self, SF_ERR_RANGE, line, "more than %u entries", S_NODES_MAX);
    if (self->line_count == self->line_alloc) {
        size_t alloc = self->line_alloc ? 2 * self->line_alloc : 256;
        uint32_t *lines = realloc (self->lines, alloc * sizeof *lines);
        if (!lines)
            return sf_error_set (SF_ERR_NOMEM, "out of memory");
        self->lines = lines;
        self->line_alloc = alloc;
    }
    self->lines[self->line_count++] = (uint32_t) line;
    return SF_OK;
}

/*  The value part of a named line, after the name: nothing, a comment,
    "= value" or "= \"quoted value\"" (then nothing or a comment). */
static int
s_lint_value (sf_zpl_t *self, size_t line, const char *p, const char *end, const char *name,
              size_t name_len)
{
    while (p < end && isspace ((unsigned char) *p))
        p++;
    if (p == end || *p == '#')
        return SF_OK;
    if (*p != '=')
        return sf_zpl_fail (self, SF_ERR_FORMAT, line, "expected '=' after '%.*s'", (int) name_len, name);
    p++;
    while (p < end && isspace ((unsigned char) *p))
        p++;
    if (p < end && (*p == '"' || *p == '\'')) {
        const char *close = memchr (p + 1, *p, (size_t) (end - p - 1));
        if (!close)
            return sf_zpl_fail (self, SF_ERR_FORMAT, line, "missing closing %c", *p);
        if (!s_rest_is_empty (close + 1, end))
            return sf_zpl_fail (self, SF_ERR_FORMAT, line, "unexpected text after the closing %c", *p);
    }
    else
    if (p < end && *p == '#')
        /* zconfig would take "# ..." itself as the value */
        return sf_zpl_fail (self, SF_ERR_FORMAT, line, "value of '%.*s' missing before '#' (write \"\")",
                            (int) name_len, name);
    return SF_OK;
}

/*  One line: indentation by 4 spaces, then a name and its value, or a
    comment, or nothing. Returns the line's level (>= 0) in *level_p, or -1
    for a line without a name. */
static int
s_lint_line (sf_zpl_t *self, size_t line, const char *p, const char *end, int prev_level,
             int *level_p)
{
    *level_p = -1;
    if (end - p > SF_ZPL_LINE_MAX)
        return sf_zpl_fail (self, SF_ERR_RANGE, line, "longer than %d bytes", SF_ZPL_LINE_MAX);
    while (end > p && isspace ((unsigned char) end[-1]))
        end--;
    const char *start = p;
    while (p < end && *p == ' ')
        p++;
    if ((p - start) % 4 != 0)
        return sf_zpl_fail (self, SF_ERR_FORMAT, line, "indent by multiples of 4 spaces");
    int level = (int) ((p - start) / 4);
    const char *name = p;
    while (p < end && s_is_namechar (*p))
        p++;
    size_t name_len = (size_t) (p - name);
    if (name_len == 0) {
        if (!s_rest_is_empty (p, end))
            return sf_zpl_fail (self, SF_ERR_FORMAT, line, "unexpected '%.*s'%s",
                                (int) (end - p < 20 ? end - p : 20), p,
                                *p == '\t' ? " (indent with spaces, not tabs)" : "");
        return SF_OK;
    }
    if (name[0] == '/' || name[name_len - 1] == '/')
        return sf_zpl_fail (self, SF_ERR_FORMAT, line, "'/' cannot start or end a name");
    if (level > prev_level + 1)
        return sf_zpl_fail (self, SF_ERR_FORMAT, line, "'%.*s' is indented more than one level below the line above",
                            (int) name_len, name);
    *level_p = level;
    return s_lint_value (self, line, p, end, name, name_len);
}

static int
s_lint (sf_zpl_t *self, const char *text)
{
    int prev_level = -1;
    size_t line = 0;
    for (const char *p = text; *p;) {
        line++;
        const char *eol = strchr (p, '\n');
        const char *end = eol ? eol : p + strlen (p);
        int level;
        int rc = s_lint_line (self, line, p, end, prev_level, &level);
        if (rc == SF_OK && level >= 0) {
            rc = s_record_line (self, line);
            prev_level = level;
        }
        if (rc != SF_OK)
            return rc;
        p = eol ? eol + 1 : end;
    }
    return SF_OK;
}

/* ---- fields and values ---------------------------------------------------- */

/*  Fills fields[] (names preset) from a section's children; an unknown,
    repeated or nested field is an error. */
int
sf_zpl_read_fields (sf_zpl_t *self, zconfig_t *section, const char *kind, sf_zpl_field_t *fields,
                    size_t count)
{
    for (zconfig_t *node = zconfig_child (section); node; node = zconfig_next (node)) {
        size_t line = sf_zpl_next_line (self);
        const char *name = zconfig_name (node);
        if (zconfig_child (node))
            return sf_zpl_fail (self, SF_ERR_FORMAT, sf_zpl_peek_line (self),
                                "%s section: field '%s' cannot have indented lines below it", kind, name);
        sf_zpl_field_t *field = NULL;
        for (size_t i = 0; i < count && !field; i++)
            if (streq (fields[i].name, name))
                field = &fields[i];
        if (!field) {
            char known[256] = "";
            for (size_t i = 0; i < count; i++)
                snprintf (known + strlen (known), sizeof known - strlen (known), "%s%s",
                          i ? ", " : "", fields[i].name);
            return sf_zpl_fail (self, SF_ERR_FORMAT, line, "%s section: unknown field '%s' (fields: %s)",
                                kind, name, known);
        }
        if (field->value)
            return sf_zpl_fail (self, SF_ERR_FORMAT, line, "%s section: field '%s' repeats line %zu",
                                kind, name, field->line);
        field->value = zconfig_value (node);
        field->line = line;
    }
    return SF_OK;
}

int
sf_zpl_require (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what,
                size_t section_line)
{
    if (!field->value)
        return sf_zpl_fail (self, SF_ERR_FORMAT, section_line, "%s: missing field '%s'", what,
                            field->name);
    return SF_OK;
}

/*  SF_ERR_FORMAT unless the value is decimal digits, with a '-' allowed
    (so that a negative value is reported as out of range, not malformed). */
static int
s_check_integer (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what)
{
    const char *text = field->value;
    const char *digits = *text == '-' ? text + 1 : text;
    if (!*digits || digits[strspn (digits, "0123456789")])
        return sf_zpl_fail (self, SF_ERR_FORMAT, field->line, "%s: %s must be an integer, not '%s'",
                            what, field->name, text);
    return SF_OK;
}

/*  A decimal integer in [min, max]: malformed is SF_ERR_FORMAT, outside
    the bounds (negative included) SF_ERR_RANGE. */
int
sf_zpl_parse_int (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what, int64_t min,
                  int64_t max, int64_t *out)
{
    const char *text = field->value;
    int rc = s_check_integer (self, field, what);
    if (rc != SF_OK)
        return rc;
    errno = 0;
    long long value = strtoll (text, NULL, 10);
    if (errno == ERANGE || value < min || value > max)
        return sf_zpl_fail (self, SF_ERR_RANGE, field->line,
                            "%s: %s = %s is outside %" PRId64 "..%" PRId64, what, field->name, text,
                            min, max);
    *out = value;
    return SF_OK;
}

int
sf_zpl_parse_u64 (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what, uint64_t min,
                  uint64_t *out)
{
    const char *text = field->value;
    int rc = s_check_integer (self, field, what);
    if (rc != SF_OK)
        return rc;
    errno = 0;
    unsigned long long value = strtoull (*text == '-' ? text + 1 : text, NULL, 10);
    if (*text == '-' || errno == ERANGE || value < min)
        return sf_zpl_fail (self, SF_ERR_RANGE, field->line,
                            "%s: %s = %s is outside %" PRIu64 "..%" PRIu64, what, field->name, text,
                            min, UINT64_MAX);
    *out = value;
    return SF_OK;
}

int
sf_zpl_parse_double (const sf_zpl_t *self, const sf_zpl_field_t *field, const char *what, double min,
                     double max, double *out)
{
    const char *text = field->value;
    char *end = NULL;
    double value = 0.0;
    if (*text && !text[strspn (text, "0123456789.eE+-")])
        value = strtod (text, &end);
    if (!end || *end || !isfinite (value))
        return sf_zpl_fail (self, SF_ERR_FORMAT, field->line, "%s: %s must be a number, not '%s'", what,
                            field->name, text);
    if (value < min || value > max)
        return sf_zpl_fail (self, SF_ERR_RANGE, field->line, "%s: %s = %s is outside %g..%g", what,
                            field->name, text, min, max);
    *out = value;
    return SF_OK;
}

/* ---- loading ------------------------------------------------------------------ */

void
sf_zpl_destroy (sf_zpl_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_zpl_t *self = *self_p;
    zconfig_destroy (&self->root);
    free (self->lines);
    free (self->path);
    free (self);
    *self_p = NULL;
}

sf_zpl_t *
sf_zpl_load_text (const char *name, const char *text)
{
    sf_zpl_t *self = calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (name))) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int rc = s_lint (self, text);
    if (rc == SF_OK) {
        self->root = zconfig_str_load (text);
        if (!self->root)  /* the lint accepts only what zconfig reads */
            rc = sf_zpl_fail (self, SF_ERR_INTERNAL, 0, "zconfig rejected a file the lint accepted");
    }
    if (rc != SF_OK)
        sf_zpl_destroy (&self);
    return self;
}

sf_zpl_t *
sf_zpl_load (const char *path, size_t max_bytes, const char *what)
{
    char *text = NULL;
    if (s_read_file (path, max_bytes, what, &text) != SF_OK)
        return NULL;
    sf_zpl_t *self = sf_zpl_load_text (path, text);
    free (text);
    return self;
}
