/*  sf_safetensors: one weight tensor of a .safetensors file (2-D, or a 4-D
    convolution weight read as its im2col matrix), a tensor's nonzeros, and
    every tensor's header (sharded checkpoints: common/sf_checkpoint).

    Layout: an 8-byte little-endian header length N, N bytes of JSON
    {"name": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin,
    end]}, ..., "__metadata__": {...}}, then the data; offsets count from the
    first byte after the header. Every entry of the header is checked; only
    the chosen tensor's data is read (streamed into CSR, zeros pruned).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/sf_error.h"
#include "common/sf_matrix_io.h"

/*  The format's own bound on the header (safetensors refuses more). */
#define S_HEADER_MAX (100 * 1000 * 1000)
/*  Largest integer a JSON number (a double) holds exactly. */
#define S_JSON_INT_MAX 9007199254740992.0
/*  How much of a message a list of tensor names may take. */
#define S_NAMES_MAX 400

typedef struct {
    const char *path;
    FILE *file;
    int64_t size;        /* of the file */
    char *header;        /* the JSON text, NUL-terminated */
    uint64_t header_len;
    int64_t data_start;  /* 8 + header_len */
    cJSON *root;
} s_file_t;

typedef struct {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t dims[SF_SAFETENSORS_NDIM_MAX];  /* the first SF_SAFETENSORS_NDIM_MAX */
    uint64_t begin, end;     /* relative to data_start */
} s_tensor_t;

/*  A weight tensor: one the readers take as a matrix. */
static bool
s_is_weight (const s_tensor_t *t)
{
    return t->ndim == 2 || t->ndim == 4;
}

/*  "[2, 3]": per-thread storage, valid until the next call. */
static const char *
s_shape_text (const s_tensor_t *t)
{
    static _Thread_local char text[200];
    size_t n = (size_t) snprintf (text, sizeof text, "[");
    for (int i = 0; i < t->ndim && i < SF_SAFETENSORS_NDIM_MAX; i++)
        n += (size_t) snprintf (text + n, sizeof text - n, "%s%lld", i ? ", " : "",
                                (long long) t->dims[i]);
    snprintf (text + n, sizeof text - n, "%s]", t->ndim > SF_SAFETENSORS_NDIM_MAX ? ", ..." : "");
    return text;
}

static void
s_close (s_file_t *f)
{
    if (f->file)
        fclose (f->file);
    free (f->header);
    cJSON_Delete (f->root);
    memset (f, 0, sizeof *f);
}

/*  File offset of a tensor's key in the header, for messages: where
    "name": is written (8, the header's start, when it cannot be found). */
static int64_t
s_key_at (const s_file_t *f, const char *name)
{
    size_t n = strlen (name);
    for (const char *p = f->header; (p = strchr (p, '"')) != NULL; p++) {
        if (strncmp (p + 1, name, n) != 0 || p[1 + n] != '"')
            continue;
        const char *q = p + n + 2;
        while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
            q++;
        if (*q == ':')
            return 8 + (int64_t) (p - f->header);
    }
    return 8;
}

static bool
s_json_uint (const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber (item))
        return false;
    double v = item->valuedouble;
    if (!(v >= 0.0 && v <= S_JSON_INT_MAX && v == floor (v)))
        return false;
    *out = (uint64_t) v;
    return true;
}

/*  Checks one header entry and describes it in *t. */
static int
s_tensor (const s_file_t *f, const cJSON *entry, s_tensor_t *t)
{
    memset (t, 0, sizeof *t);
    t->name = entry->string;
    int64_t at = s_key_at (f, t->name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive (entry, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive (entry, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive (entry, "data_offsets");
    if (!cJSON_IsObject (entry) || !cJSON_IsString (dtype) || !cJSON_IsArray (shape)
        || !cJSON_IsArray (offsets))
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, f->path, at, "tensor '%s': expected an "
                                     "object with \"dtype\" (a string), \"shape\" and "
                                     "\"data_offsets\" (arrays)", t->name);
    t->dtype = dtype->valuestring;
    const cJSON *dim;
    cJSON_ArrayForEach (dim, shape) {
        uint64_t value;
        if (!s_json_uint (dim, &value))
            return sf_matrix_io_fail_at (SF_ERR_FORMAT, f->path, at, "tensor '%s': the shape "
                                         "holds something other than a non-negative integer",
                                         t->name);
        if (value > INT64_MAX / 2)
            return sf_matrix_io_fail_at (SF_ERR_RANGE, f->path, at, "tensor '%s': a dimension "
                                         "of the shape is too large", t->name);
        if (t->ndim < SF_SAFETENSORS_NDIM_MAX)
            t->dims[t->ndim] = (int64_t) value;
        if (t->ndim < INT32_MAX)
            t->ndim++;
    }
    if (cJSON_GetArraySize (offsets) != 2
        || !s_json_uint (cJSON_GetArrayItem (offsets, 0), &t->begin)
        || !s_json_uint (cJSON_GetArrayItem (offsets, 1), &t->end) || t->begin > t->end)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, f->path, at, "tensor '%s': data_offsets "
                                     "must be [begin, end] with 0 <= begin <= end", t->name);
    uint64_t data_size = (uint64_t) (f->size - f->data_start);
    if (t->end > data_size)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, f->path, f->size, "tensor '%s': "
                                     "data_offsets [%llu, %llu] run past the %llu bytes of "
                                     "data (truncated)", t->name,
                                     (unsigned long long) t->begin, (unsigned long long) t->end,
                                     (unsigned long long) data_size);
    return SF_OK;
}

static int
s_cmp_names (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/*  Every entry well-formed, no name twice. */
static int
s_check_entries (const s_file_t *f)
{
    int count = cJSON_GetArraySize (f->root);
    const char **names = malloc ((size_t) (count ? count : 1) * sizeof *names);
    if (!names)
        return sf_error_set (SF_ERR_NOMEM, "%s: out of memory", f->path);
    int n = 0, status = SF_OK;
    const cJSON *entry;
    cJSON_ArrayForEach (entry, f->root) {
        if (strcmp (entry->string, "__metadata__") == 0)
            continue;
        s_tensor_t t;
        if ((status = s_tensor (f, entry, &t)) != SF_OK)
            break;
        names[n++] = entry->string;
    }
    if (status == SF_OK) {
        qsort (names, (size_t) n, sizeof *names, s_cmp_names);
        for (int i = 1; i < n; i++)
            if (strcmp (names[i], names[i - 1]) == 0) {
                status = sf_matrix_io_fail_at (SF_ERR_FORMAT, f->path, s_key_at (f, names[i]),
                                               "tensor '%s' appears twice in the header",
                                               names[i]);
                break;
            }
    }
    free (names);
    return status;
}

static int
s_open (const char *path, s_file_t *f)
{
    memset (f, 0, sizeof *f);
    f->path = path;
    f->file = sf_matrix_io_open (path, &f->size);
    if (!f->file)
        return sf_error_last ();
    unsigned char len[8];
    if (f->size < 8 || fread (len, 1, 8, f->file) != 8)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, 0, "a %lld-byte file is too short "
                                     "for the 8-byte header length (truncated)",
                                     (long long) f->size);
    for (int i = 7; i >= 0; i--)
        f->header_len = f->header_len << 8 | len[i];
    if (f->header_len > S_HEADER_MAX)
        return sf_matrix_io_fail_at (SF_ERR_RANGE, path, 0, "header length %llu exceeds the "
                                     "format's bound of %d bytes",
                                     (unsigned long long) f->header_len, S_HEADER_MAX);
    if ((int64_t) f->header_len > f->size - 8)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, 0, "header length %llu runs past the "
                                     "end of the %lld-byte file (truncated)",
                                     (unsigned long long) f->header_len, (long long) f->size);
    f->data_start = 8 + (int64_t) f->header_len;
    f->header = malloc (f->header_len + 1);
    if (!f->header)
        return sf_error_set (SF_ERR_NOMEM, "%s: out of memory for a %llu-byte header", path,
                             (unsigned long long) f->header_len);
    if (fread (f->header, 1, f->header_len, f->file) != f->header_len)
        return sf_error_set (SF_ERR_IO, "%s: cannot read the header", path);
    f->header[f->header_len] = '\0';
    const char *end = NULL;
    f->root = cJSON_ParseWithLengthOpts (f->header, f->header_len, &end, 0);
    if (!f->root)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, 8 + (end ? end - f->header : 0),
                                     "the header is not valid JSON");
    /* The header may be padded with spaces, and nothing else. */
    for (; end && end < f->header + f->header_len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n' && *end != '\0')
            return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, 8 + (end - f->header),
                                         "unexpected bytes after the header's JSON");
    if (!cJSON_IsObject (f->root))
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, 8, "the header is not a JSON object");
    return s_check_entries (f);
}

/*  The tensors' names (only the weight tensors, or all), comma-separated,
    bounded. */
static void
s_list (const s_file_t *f, bool only_weights, char *out, size_t size)
{
    size_t n = 0;
    int listed = 0, skipped = 0;
    out[0] = '\0';
    const cJSON *entry;
    cJSON_ArrayForEach (entry, f->root) {
        s_tensor_t t;
        if (strcmp (entry->string, "__metadata__") == 0 || s_tensor (f, entry, &t) != SF_OK
            || (only_weights && !s_is_weight (&t)))
            continue;
        if (n + strlen (t.name) + 40 > size || n > S_NAMES_MAX) {
            skipped++;
            continue;
        }
        n += (size_t) snprintf (out + n, size - n, "%s%s", listed ? ", " : "", t.name);
        listed++;
    }
    if (skipped)
        snprintf (out + n, size - n, " and %d more", skipped);
    if (!listed && !skipped)
        snprintf (out, size, "none");
}

/*  Finds the tensor to read: by name, or the only weight tensor. */
static int
s_choose (const s_file_t *f, const char *name, s_tensor_t *t)
{
    char names[S_NAMES_MAX + 64];
    if (name) {
        const cJSON *entry = strcmp (name, "__metadata__") == 0
                           ? NULL : cJSON_GetObjectItemCaseSensitive (f->root, name);
        if (!entry) {
            s_list (f, false, names, sizeof names);
            return sf_matrix_io_fail_at (SF_ERR_NOTFOUND, f->path, 8, "no tensor '%s' in the "
                                         "header (tensors: %s)", name, names);
        }
        return s_tensor (f, entry, t);
    }
    int found = 0;
    const cJSON *entry;
    cJSON_ArrayForEach (entry, f->root) {
        s_tensor_t candidate;
        if (strcmp (entry->string, "__metadata__") == 0 || s_tensor (f, entry, &candidate) != SF_OK
            || !s_is_weight (&candidate))
            continue;
        if (found++ == 0)
            *t = candidate;
    }
    if (found == 1)
        return SF_OK;
    if (found == 0) {
        s_list (f, false, names, sizeof names);
        return sf_matrix_io_fail_at (SF_ERR_NOTFOUND, f->path, 8, "no weight tensor (2-D, or "
                                     "4-D convolution) in the header (tensors: %s)", names);
    }
    s_list (f, true, names, sizeof names);
    return sf_matrix_io_fail_at (SF_ERR_INVALID, f->path, 8, "the file holds %d weight tensors "
                                 "(2-D or 4-D); name the one to read: %s", found, names);
}

static int
s_check_chosen (const s_file_t *f, const s_tensor_t *t, sf_matrix_io_dtype *dtype,
                int64_t *rows_p, int64_t *cols_p)
{
    int64_t at = s_key_at (f, t->name);
    char what[160];
    snprintf (what, sizeof what, "tensor '%.120s': ", t->name);
    int status = sf_matrix_io_lower_shape (f->path, at, what, t->ndim, t->dims, rows_p, cols_p);
    if (status != SF_OK)
        return status;
    size_t item;
    if (strcmp (t->dtype, "F32") == 0) {
        *dtype = SF_MATRIX_IO_F32;
        item = 4;
    } else if (strcmp (t->dtype, "F16") == 0) {
        *dtype = SF_MATRIX_IO_F16;
        item = 2;
    } else if (strcmp (t->dtype, "BF16") == 0) {
        *dtype = SF_MATRIX_IO_BF16;
        item = 2;
    } else if (strcmp (t->dtype, "F64") == 0) {
        *dtype = SF_MATRIX_IO_F64;
        item = 8;
    } else {
        return sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, f->path, at, "tensor '%s' has dtype "
                                     "%s; only F32, F16, BF16 and F64 are read", t->name,
                                     t->dtype);
    }
    /* rows, cols < 2^31: the product times 8 fits in 64 bits. */
    uint64_t need = (uint64_t) *rows_p * (uint64_t) *cols_p * item;
    if (t->end - t->begin != need)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, f->path, f->data_start + (int64_t) t->begin,
                                     "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, "
                                     "but shape %s of %s needs %llu", t->name,
                                     (unsigned long long) t->begin, (unsigned long long) t->end,
                                     (unsigned long long) (t->end - t->begin),
                                     s_shape_text (t), t->dtype, (unsigned long long) need);
    return SF_OK;
}

sf_matrix_t *
sf_safetensors_read (const char *path, const char *tensor)
{
    return sf_safetensors_read_info (path, tensor, NULL);
}

sf_matrix_t *
sf_safetensors_read_info (const char *path, const char *tensor, sf_read_info_t *info)
{
    s_file_t f;
    s_tensor_t t;
    sf_matrix_io_dtype dtype = SF_MATRIX_IO_F32;
    sf_matrix_t *matrix = NULL;
    int64_t rows = 0, cols = 0;
    if (s_open (path, &f) == SF_OK && s_choose (&f, tensor, &t) == SF_OK
        && s_check_chosen (&f, &t, &dtype, &rows, &cols) == SF_OK) {
        char what[160];
        snprintf (what, sizeof what, "tensor '%.120s': ", t.name);
        matrix = sf_matrix_io_read_dense (f.file, path, f.data_start + (int64_t) t.begin,
                                          rows, cols, dtype, what, info);
        if (matrix && info) {
            info->ndim = t.ndim;
            for (int i = 0; i < t.ndim && i < 4; i++)
                info->dims[i] = t.dims[i];
        }
    }
    s_close (&f);
    return matrix;
}

int
sf_safetensors_list (const char *path, char ***names_p, int *count_p)
{
    *names_p = NULL;
    *count_p = 0;
    s_file_t f;
    int status = s_open (path, &f);
    if (status != SF_OK) {
        s_close (&f);
        return status;
    }
    int size = cJSON_GetArraySize (f.root);
    char **names = calloc ((size_t) (size ? size : 1), sizeof *names);
    int count = 0;
    bool out_of_memory = !names;
    const cJSON *entry;
    cJSON_ArrayForEach (entry, f.root) {
        s_tensor_t t;
        if (out_of_memory || strcmp (entry->string, "__metadata__") == 0
            || s_tensor (&f, entry, &t) != SF_OK || !s_is_weight (&t))
            continue;
        if (!(names[count] = strdup (t.name)))
            out_of_memory = true;
        else
            count++;
    }
    s_close (&f);
    if (out_of_memory) {
        for (int i = 0; names && i < count; i++)
            free (names[i]);
        free (names);
        return sf_error_set (SF_ERR_NOMEM, "%s: out of memory listing tensors", path);
    }
    *names_p = names;
    *count_p = count;
    return SF_OK;
}

/* ---- a tensor's nonzeros --------------------------------------------------- */

/*  Item size and kind of a safetensors dtype; 0 if unknown. */
static size_t
s_item_size (const char *dtype, bool *is_float)
{
    static const struct { const char *name; size_t size; bool fp; } known[] = {
        { "BOOL", 1, false }, { "U8", 1, false }, { "I8", 1, false },
        { "F8_E5M2", 1, true }, { "F8_E4M3", 1, true }, { "I16", 2, false },
        { "U16", 2, false }, { "F16", 2, true }, { "BF16", 2, true }, { "I32", 4, false },
        { "U32", 4, false }, { "F32", 4, true }, { "F64", 8, true }, { "I64", 8, false },
        { "U64", 8, false },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp (dtype, known[i].name) == 0) {
            *is_float = known[i].fp;
            return known[i].size;
        }
    return 0;
}

/*  The tensor's data must be as large as its shape and dtype say. */
static int
s_check_size (const s_file_t *f, const s_tensor_t *t, size_t item)
{
    uint64_t need = item;
    bool over = t->ndim > SF_SAFETENSORS_NDIM_MAX;
    for (int i = 0; i < t->ndim && !over; i++) {
        if (t->dims[i] != 0 && need > UINT64_MAX / (uint64_t) t->dims[i])
            over = true;
        else
            need *= (uint64_t) t->dims[i];
    }
    if (over || t->end - t->begin != need)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, f->path, f->data_start + (int64_t) t->begin,
                                     "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, "
                                     "but shape %s of %s needs %s%llu", t->name,
                                     (unsigned long long) t->begin, (unsigned long long) t->end,
                                     (unsigned long long) (t->end - t->begin),
                                     s_shape_text (t), t->dtype, over ? "more than " : "",
                                     (unsigned long long) need);
    return SF_OK;
}

int
sf_safetensors_count_nonzero (const char *path, const char *tensor, int64_t *nonzeros_p,
                              int64_t *elements_p)
{
    s_file_t f;
    s_tensor_t t;
    bool is_float = false;
    size_t item = 0;
    int status = s_open (path, &f);
    if (status == SF_OK)
        status = s_choose (&f, tensor, &t);
    if (status == SF_OK && (item = s_item_size (t.dtype, &is_float)) == 0)
        status = sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, path, s_key_at (&f, t.name), "tensor "
                                       "'%s': dtype %s has no known element size", t.name, t.dtype);
    if (status == SF_OK)
        status = s_check_size (&f, &t, item);
    unsigned char *chunk = status == SF_OK ? malloc (1 << 20) : NULL;
    if (status == SF_OK && !chunk)
        status = sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (status == SF_OK && fseeko (f.file, f.data_start + (int64_t) t.begin, SEEK_SET) != 0)
        status = sf_error_set (SF_ERR_IO, "%s: cannot seek to tensor '%s'", path, t.name);
    int64_t left = (int64_t) (t.end - t.begin), nonzeros = 0;
    while (status == SF_OK && left > 0) {
        size_t want = left < (1 << 20) ? (size_t) left : (size_t) (1 << 20);
        if (fread (chunk, 1, want, f.file) != want) {
            status = sf_error_set (SF_ERR_IO, "%s: tensor '%s': read failed", path, t.name);
            break;
        }
        for (size_t i = 0; i < want; i += item) {
            bool zero = true;
            /* little-endian: the sign bit is the top bit of the last byte */
            for (size_t b = 0; b < item && zero; b++) {
                unsigned char byte = chunk[i + b];
                if (is_float && b == item - 1)
                    byte &= 0x7f;
                zero = byte == 0;
            }
            nonzeros += !zero;
        }
        left -= (int64_t) want;
    }
    if (status == SF_OK) {
        *nonzeros_p = nonzeros;
        *elements_p = (int64_t) ((t.end - t.begin) / item);
    }
    free (chunk);
    s_close (&f);
    return status;
}

int
sf_safetensors_each (const char *path, sf_safetensors_each_fn fn, void *arg)
{
    s_file_t f;
    int status = s_open (path, &f);
    const cJSON *entry;
    if (status == SF_OK)
        cJSON_ArrayForEach (entry, f.root) {
            s_tensor_t t;
            if (strcmp (entry->string, "__metadata__") == 0)
                continue;
            if ((status = s_tensor (&f, entry, &t)) != SF_OK
                || (status = fn (arg, t.name, t.dtype, t.ndim, t.dims)) != SF_OK)
                break;
        }
    s_close (&f);
    return status;
}
