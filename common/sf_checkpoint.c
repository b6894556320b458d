/*  sf_checkpoint: a safetensors checkpoint's tensors, one file or sharded. */
#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "common/sf_checkpoint.h"
#include "common/sf_error.h"

#define S_INDEX_NAME "model.safetensors.index.json"
#define S_SINGLE_NAME "model.safetensors"

typedef struct {
    char *name, *dtype;
    int shard;   /* index into shards */
    int ndim;
    int64_t shape[SF_SAFETENSORS_NDIM_MAX];
} s_entry_t;

typedef struct {
    char *name;  /* as the index gives it */
    char *path;  /* to open */
} s_shard_t;

struct _sf_checkpoint_t {
    char *path;
    bool sharded;
    s_shard_t *shards;
    int shard_count;
    s_entry_t *entries;  /* natural name order */
    int count, capacity;
    const sf_checkpoint_tensor_t **by_name;  /* views in strcmp order, for lookups */
    sf_checkpoint_tensor_t *views;
};

int
sf_checkpoint_name_cmp (const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit ((unsigned char) *a) && isdigit ((unsigned char) *b)) {
            const char *a0 = a, *b0 = b;
            while (*a0 == '0' && isdigit ((unsigned char) a0[1]))
                a0++;
            while (*b0 == '0' && isdigit ((unsigned char) b0[1]))
                b0++;
            const char *a1 = a0, *b1 = b0;
            while (isdigit ((unsigned char) *a1))
                a1++;
            while (isdigit ((unsigned char) *b1))
                b1++;
            if (a1 - a0 != b1 - b0)
                return a1 - a0 < b1 - b0 ? -1 : 1;
            int c = strncmp (a0, b0, (size_t) (a1 - a0));
            if (c)
                return c;
            a = a1;
            b = b1;
            continue;
        }
        if (*a != *b)
            return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
        a++;
        b++;
    }
    if (*a || *b)
        return *a ? 1 : -1;
    return 0;
}

void
sf_checkpoint_destroy (sf_checkpoint_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_checkpoint_t *self = *self_p;
    for (int i = 0; i < self->count; i++) {
        free (self->entries[i].name);
        free (self->entries[i].dtype);
    }
    for (int i = 0; i < self->shard_count; i++) {
        free (self->shards[i].name);
        free (self->shards[i].path);
    }
    free (self->entries);
    free (self->shards);
    free (self->by_name);
    free (self->views);
    free (self->path);
    free (self);
    *self_p = NULL;
}

static bool
s_is_dir (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

static bool
s_ends_with (const char *s, const char *suffix)
{
    size_t n = strlen (s), k = strlen (suffix);
    return n >= k && strcmp (s + n - k, suffix) == 0;
}

static char *
s_join (const char *dir, const char *name)
{
    size_t size = strlen (dir) + strlen (name) + 2;
    char *out = malloc (size);
    if (out)
        snprintf (out, size, "%s/%s", dir, name);
    return out;
}

/*  The directory of a path (malloc'ed). */
static char *
s_dirname (const char *path)
{
    char *copy = strdup (path);
    if (!copy)
        return NULL;
    char *dir = strdup (dirname (copy));
    free (copy);
    return dir;
}

static int
s_add_shard (sf_checkpoint_t *self, const char *name, const char *path)
{
    s_shard_t *grown = realloc (self->shards, (size_t) (self->shard_count + 1) * sizeof *grown);
    if (!grown)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    self->shards = grown;
    s_shard_t *s = &self->shards[self->shard_count];
    s->name = strdup (name);
    s->path = strdup (path);
    if (!s->name || !s->path) {
        free (s->name);
        free (s->path);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    return self->shard_count++;
}

/*  One entry of an index's weight_map. */
typedef struct {
    const char *name;  /* owned by the parsed index */
    int shard;
    bool found;        /* its shard holds it */
} s_map_t;

static int
s_cmp_map (const void *a, const void *b)
{
    return strcmp (((const s_map_t *) a)->name, ((const s_map_t *) b)->name);
}

typedef struct {
    sf_checkpoint_t *self;
    int shard;
    s_map_t *map;      /* sorted by name; NULL: take every tensor of the file */
    size_t map_count;
} s_collect_t;

static int
s_collect (void *arg, const char *name, const char *dtype, int ndim, const int64_t *shape)
{
    s_collect_t *c = arg;
    sf_checkpoint_t *self = c->self;
    if (c->map) {
        s_map_t key = { name, 0, false };
        s_map_t *mapped = bsearch (&key, c->map, c->map_count, sizeof key, s_cmp_map);
        if (!mapped || mapped->shard != c->shard || mapped->found)
            return SF_OK;  /* the index is authoritative: not this shard's */
        mapped->found = true;
    }
    if (self->count >= SF_CHECKPOINT_TENSORS_MAX)
        return sf_error_set (SF_ERR_RANGE, "%s: more than %d tensors", self->path, SF_CHECKPOINT_TENSORS_MAX);
    if (self->count == self->capacity) {
        int capacity = self->capacity ? self->capacity * 2 : 64;
        s_entry_t *grown = realloc (self->entries, (size_t) capacity * sizeof *grown);
        if (!grown)
            return sf_error_set (SF_ERR_NOMEM, "out of memory");
        self->entries = grown;
        self->capacity = capacity;
    }
    s_entry_t *e = &self->entries[self->count];
    memset (e, 0, sizeof *e);
    e->name = strdup (name);
    e->dtype = strdup (dtype);
    if (!e->name || !e->dtype) {
        free (e->name);
        free (e->dtype);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    e->shard = c->shard;
    e->ndim = ndim;
    for (int i = 0; i < ndim && i < SF_SAFETENSORS_NDIM_MAX; i++)
        e->shape[i] = shape[i];
    self->count++;
    return SF_OK;
}

/*  A shard's name from the index: relative, not climbing out. */
static int
s_check_shard_name (const char *index, const char *tensor, const char *shard)
{
    size_t n = strlen (shard);
    if (n == 0 || n > SF_CHECKPOINT_SHARD_NAME_MAX)
        return sf_error_set (SF_ERR_FORMAT, "%s: weight_map[\"%s\"]: a shard name of 1..%d bytes is required", index,
                             tensor, SF_CHECKPOINT_SHARD_NAME_MAX);
    if (shard[0] == '/')
        return sf_error_set (SF_ERR_INVALID, "%s: weight_map[\"%s\"]: shard '%s' is an absolute path; shards lie "
                             "beside the index", index, tensor, shard);
    for (const char *p = shard; *p; p = strchr (p, '/') ? strchr (p, '/') + 1 : p + strlen (p))
        if (strncmp (p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return sf_error_set (SF_ERR_INVALID, "%s: weight_map[\"%s\"]: shard '%s' climbs out of the index's "
                                 "directory", index, tensor, shard);
    return SF_OK;
}

static int
s_find_shard (const sf_checkpoint_t *self, const char *name)
{
    for (int i = 0; i < self->shard_count; i++)
        if (strcmp (self->shards[i].name, name) == 0)
            return i;
    return -1;
}

/*  Reads the index's weight_map into a sorted array, opening the list of
    shards as they come. */
static int
s_parse_map (sf_checkpoint_t *self, const cJSON *map, const char *dir, s_map_t **map_p, size_t *count_p)
{
    int total = cJSON_GetArraySize (map);
    if (total > SF_CHECKPOINT_TENSORS_MAX)
        return sf_error_set (SF_ERR_RANGE, "%s: %d tensors, at most %d", self->path, total, SF_CHECKPOINT_TENSORS_MAX);
    s_map_t *out = calloc ((size_t) total, sizeof *out);
    if (!out)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    int rc = SF_OK;
    size_t n = 0;
    const cJSON *item;
    cJSON_ArrayForEach (item, map)
    {
        if (!cJSON_IsString (item)) {
            rc = sf_error_set (SF_ERR_FORMAT, "%s: weight_map[\"%s\"]: the shard must be a string", self->path,
                               item->string);
            break;
        }
        if ((rc = s_check_shard_name (self->path, item->string, item->valuestring)) != SF_OK)
            break;
        int shard = s_find_shard (self, item->valuestring);
        if (shard < 0) {
            char *path = s_join (dir, item->valuestring);
            if (!path)
                rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
            else if (!s_exists (path))
                rc = sf_error_set (SF_ERR_NOTFOUND, "%s: weight_map names shard '%s' (for '%s'), which does not "
                                   "exist: %s", self->path, item->valuestring, item->string, path);
            else
                rc = shard = s_add_shard (self, item->valuestring, path);
            free (path);
            if (rc < 0)
                break;
            rc = SF_OK;
        }
        out[n++] = (s_map_t) { item->string, shard, false };
    }
    if (rc == SF_OK) {
        qsort (out, n, sizeof *out, s_cmp_map);
        for (size_t i = 1; i < n && rc == SF_OK; i++)
            if (strcmp (out[i].name, out[i - 1].name) == 0)
                rc = sf_error_set (SF_ERR_FORMAT, "%s: weight_map names tensor '%s' twice", self->path, out[i].name);
    }
    if (rc != SF_OK) {
        free (out);
        return rc;
    }
    *map_p = out;
    *count_p = n;
    return SF_OK;
}

/*  Reads the index and every shard it names. */
static int
s_read_index (sf_checkpoint_t *self)
{
    int64_t size = 0;
    FILE *probe = sf_matrix_io_open (self->path, &size);
    if (!probe)
        return sf_error_last ();
    fclose (probe);
    if (size > SF_CHECKPOINT_INDEX_MAX)
        return sf_error_set (SF_ERR_RANGE, "%s: %lld bytes, an index is at most %lld", self->path, (long long) size,
                             (long long) SF_CHECKPOINT_INDEX_MAX);
    char *text = NULL;
    size_t len = 0;
    int rc = sf_matrix_io_load (self->path, &text, &len);
    if (rc != SF_OK)
        return rc;
    cJSON *root = cJSON_ParseWithLength (text, len);
    free (text);
    const cJSON *json_map = cJSON_GetObjectItemCaseSensitive (root, "weight_map");
    if (!cJSON_IsObject (root) || !cJSON_IsObject (json_map) || !json_map->child) {
        cJSON_Delete (root);
        return sf_error_set (SF_ERR_FORMAT, "%s: not a safetensors index: a JSON object with a non-empty "
                             "\"weight_map\" object (tensor name -> shard file) is required", self->path);
    }
    char *dir = s_dirname (self->path);
    s_map_t *map = NULL;
    size_t map_count = 0;
    rc = dir ? s_parse_map (self, json_map, dir, &map, &map_count) : sf_error_set (SF_ERR_NOMEM, "out of memory");
    free (dir);
    for (int s = 0; s < self->shard_count && rc == SF_OK; s++) {
        s_collect_t c = { self, s, map, map_count };
        rc = sf_safetensors_each (self->shards[s].path, s_collect, &c);
    }
    /* Every tensor mapped must be in its shard. */
    for (size_t i = 0; i < map_count && rc == SF_OK; i++)
        if (!map[i].found)
            rc = sf_error_set (SF_ERR_FORMAT, "%s: the index maps tensor '%s' to shard '%s', which does not hold it",
                               self->path, map[i].name, self->shards[map[i].shard].name);
    free (map);
    cJSON_Delete (root);
    return rc;
}

static int
s_cmp_natural (const void *a, const void *b)
{
    return sf_checkpoint_name_cmp (((const s_entry_t *) a)->name, ((const s_entry_t *) b)->name);
}

static int
s_cmp_view (const void *a, const void *b)
{
    return strcmp ((*(const sf_checkpoint_tensor_t *const *) a)->name, (*(const sf_checkpoint_tensor_t *const *) b)->name);
}

/*  Sorts, builds the lookup table and the public views. */
static int
s_finish (sf_checkpoint_t *self)
{
    if (self->count == 0)
        return sf_error_set (SF_ERR_FORMAT, "%s: the checkpoint holds no tensor", self->path);
    qsort (self->entries, (size_t) self->count, sizeof *self->entries, s_cmp_natural);
    self->by_name = malloc ((size_t) self->count * sizeof *self->by_name);
    self->views = calloc ((size_t) self->count, sizeof *self->views);
    if (!self->by_name || !self->views)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < self->count; i++) {
        const s_entry_t *e = &self->entries[i];
        sf_checkpoint_tensor_t *v = &self->views[i];
        v->name = e->name;
        v->file = self->shards[e->shard].path;
        v->shard = self->shards[e->shard].name;
        v->dtype = e->dtype;
        v->ndim = e->ndim;
        memcpy (v->shape, e->shape, sizeof v->shape);
        self->by_name[i] = v;
    }
    qsort (self->by_name, (size_t) self->count, sizeof *self->by_name, s_cmp_view);
    return SF_OK;
}

/*  The file to open for a path: a file as is; a directory's index, else its
    model.safetensors. NULL with the error recorded. */
static char *
s_resolve (const char *path)
{
    if (!s_is_dir (path)) {
        if (!s_exists (path)) {
            sf_error_set (SF_ERR_NOTFOUND, "%s: no such file or directory", path);
            return NULL;
        }
        return strdup (path);
    }
    char *index = s_join (path, S_INDEX_NAME);
    if (index && s_exists (index))
        return index;
    free (index);
    char *single = s_join (path, S_SINGLE_NAME);
    if (single && s_exists (single))
        return single;
    free (single);
    sf_error_set (SF_ERR_NOTFOUND, "%s: a directory with neither %s nor %s", path, S_INDEX_NAME, S_SINGLE_NAME);
    return NULL;
}

sf_checkpoint_t *
sf_checkpoint_open (const char *path)
{
    sf_checkpoint_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int rc = (self->path = s_resolve (path)) ? SF_OK : sf_error_last ();
    if (rc == SF_OK && s_ends_with (self->path, ".json")) {
        self->sharded = true;
        rc = s_read_index (self);
    } else if (rc == SF_OK) {
        const char *base = strrchr (self->path, '/');
        rc = s_add_shard (self, base ? base + 1 : self->path, self->path);
        if (rc >= 0) {
            s_collect_t c = { self, rc, NULL, 0 };
            rc = sf_safetensors_each (self->path, s_collect, &c);
        }
    }
    if (rc == SF_OK)
        rc = s_finish (self);
    if (rc != SF_OK)
        sf_checkpoint_destroy (&self);
    return self;
}

const char *
sf_checkpoint_path (const sf_checkpoint_t *self)
{
    return self->path;
}

bool
sf_checkpoint_sharded (const sf_checkpoint_t *self)
{
    return self->sharded;
}

int
sf_checkpoint_shards (const sf_checkpoint_t *self)
{
    return self->shard_count;
}

int
sf_checkpoint_count (const sf_checkpoint_t *self)
{
    return self->count;
}

const sf_checkpoint_tensor_t *
sf_checkpoint_at (const sf_checkpoint_t *self, int index)
{
    return index >= 0 && index < self->count ? &self->views[index] : NULL;
}

const sf_checkpoint_tensor_t *
sf_checkpoint_find (const sf_checkpoint_t *self, const char *name)
{
    int lo = 0, hi = self->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp (self->by_name[mid]->name, name);
        if (c == 0)
            return self->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

bool
sf_checkpoint_matrix_shape (const sf_checkpoint_tensor_t *t, int64_t *rows, int64_t *cols)
{
    static const char *dtypes[] = { "F32", "F16", "BF16", "F64" };
    bool known = false;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        known |= strcmp (t->dtype, dtypes[i]) == 0;
    if (!known || (t->ndim != 2 && t->ndim != 4))
        return false;
    *rows = t->shape[0];
    *cols = t->shape[1];
    for (int i = 2; i < t->ndim; i++)
        *cols *= t->shape[i];
    return *rows >= 1 && *cols >= 1;
}

int
sf_checkpoint_stats (const sf_checkpoint_tensor_t *t, sf_checkpoint_stats_t *out)
{
    memset (out, 0, sizeof *out);
    int rc = sf_safetensors_count_nonzero (t->file, t->name, &out->nonzeros, &out->elements);
    if (rc != SF_OK && rc != SF_ERR_UNSUPPORTED)
        return rc;
    out->counted = rc == SF_OK;
    if (!out->counted)
        out->nonzeros = out->elements = 0;
    if (out->counted && out->elements > 0)
        out->sparsity = 1.0 - (double) out->nonzeros / (double) out->elements;
    out->weight = sf_checkpoint_matrix_shape (t, &out->rows, &out->cols);
    sf_error_clear ();
    return SF_OK;
}
