/*  sf_safetensors: one 2-D tensor of a .safetensors file.

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
    int64_t rows, cols;      /* when ndim == 2 */
    uint64_t begin, end;     /* relative to data_start */
} s_tensor_t;

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
        if (t->ndim == 0)
            t->rows = (int64_t) value;
        else if (t->ndim == 1)
            t->cols = (int64_t) value;
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

/*  The tensors' names (only the 2-D ones, or all), comma-separated,
    bounded. */
static void
s_list (const s_file_t *f, bool only_2d, char *out, size_t size)
{
    size_t n = 0;
    int listed = 0, skipped = 0;
    out[0] = '\0';
    const cJSON *entry;
    cJSON_ArrayForEach (entry, f->root) {
        s_tensor_t t;
        if (strcmp (entry->string, "__metadata__") == 0 || s_tensor (f, entry, &t) != SF_OK
            || (only_2d && t.ndim != 2))
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

/*  Finds the tensor to read: by name, or the only 2-D one. */
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
            || candidate.ndim != 2)
            continue;
        if (found++ == 0)
            *t = candidate;
    }
    if (found == 1)
        return SF_OK;
    if (found == 0) {
        s_list (f, false, names, sizeof names);
        return sf_matrix_io_fail_at (SF_ERR_NOTFOUND, f->path, 8, "no 2-D tensor in the header "
                                     "(tensors: %s)", names);
    }
    s_list (f, true, names, sizeof names);
    return sf_matrix_io_fail_at (SF_ERR_INVALID, f->path, 8, "the file holds %d 2-D tensors; "
                                 "name the one to read: %s", found, names);
}

static int
s_check_chosen (const s_file_t *f, const s_tensor_t *t, sf_matrix_io_dtype *dtype)
{
    int64_t at = s_key_at (f, t->name);
    if (t->ndim != 2)
        return sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, f->path, at, "tensor '%s' has %d "
                                     "dimension%s; a weight matrix has 2", t->name, t->ndim,
                                     t->ndim == 1 ? "" : "s");
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
    } else {
        return sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, f->path, at, "tensor '%s' has dtype "
                                     "%s; only F32, F16 and BF16 are read", t->name, t->dtype);
    }
    if (t->rows < 1 || t->cols < 1 || t->rows > SF_MATRIX_DIM_MAX || t->cols > SF_MATRIX_DIM_MAX)
        return sf_matrix_io_fail_at (SF_ERR_RANGE, f->path, at, "tensor '%s': shape [%lld, "
                                     "%lld] out of range: each dimension must be in 1..%d",
                                     t->name, (long long) t->rows, (long long) t->cols,
                                     SF_MATRIX_DIM_MAX);
    /* rows, cols < 2^31: the product times 4 fits in 64 bits. */
    uint64_t need = (uint64_t) t->rows * (uint64_t) t->cols * item;
    if (t->end - t->begin != need)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, f->path, f->data_start + (int64_t) t->begin,
                                     "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, "
                                     "but shape [%lld, %lld] of %s needs %llu", t->name,
                                     (unsigned long long) t->begin, (unsigned long long) t->end,
                                     (unsigned long long) (t->end - t->begin),
                                     (long long) t->rows, (long long) t->cols, t->dtype,
                                     (unsigned long long) need);
    return SF_OK;
}

sf_matrix_t *
sf_safetensors_read (const char *path, const char *tensor)
{
    s_file_t f;
    s_tensor_t t;
    sf_matrix_io_dtype dtype = SF_MATRIX_IO_F32;
    sf_matrix_t *matrix = NULL;
    if (s_open (path, &f) == SF_OK && s_choose (&f, tensor, &t) == SF_OK
        && s_check_chosen (&f, &t, &dtype) == SF_OK) {
        char what[160];
        snprintf (what, sizeof what, "tensor '%.120s': ", t.name);
        matrix = sf_matrix_io_read_dense (f.file, path, f.data_start + (int64_t) t.begin,
                                          t.rows, t.cols, dtype, what);
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
            || s_tensor (&f, entry, &t) != SF_OK || t.ndim != 2)
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
            if ((status = s_tensor (&f, entry, &t)) != SF_OK)
                break;
            int64_t shape[SF_SAFETENSORS_NDIM_MAX];
            int i = 0;
            const cJSON *dim;
            cJSON_ArrayForEach (dim, cJSON_GetObjectItemCaseSensitive (entry, "shape"))
                if (i < SF_SAFETENSORS_NDIM_MAX)
                    shape[i++] = (int64_t) dim->valuedouble;  /* checked by s_tensor */
            if ((status = fn (arg, t.name, t.dtype, t.ndim, shape)) != SF_OK)
                break;
        }
    s_close (&f);
    return status;
}
