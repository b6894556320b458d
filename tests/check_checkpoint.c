/*  Check suite of sf_checkpoint: a safetensors checkpoint's tensors, one
    file or sharded through its index, natural name order, lookups, and the
    refusals of a bad index (missing shard, tensor not in its shard, paths
    out of the directory, malformed JSON). sf_safetensors_each too. Files are
    written here; each test is also an example of the API. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_checkpoint.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"

static char s_dir[256];

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "%s/sf-ckpt-XXXXXX", getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
}

static void
s_teardown (void)
{
    char cmd[512];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq (system (cmd), 0);
}

static const char *
s_path (const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf (p, sizeof path[0], "%s/%s", s_dir, name);
    return p;
}

/*  A tensor to write: name, dtype, shape, and float32 values (F32 only;
    other dtypes get zero bytes of the right size). */
typedef struct {
    const char *name, *dtype;
    int ndim;
    int64_t shape[4];
} s_spec_t;

static size_t
s_elem (const char *dtype)
{
    return strcmp (dtype, "F32") == 0 || strcmp (dtype, "I32") == 0 ? 4 : strcmp (dtype, "I64") == 0 ? 8 : 2;
}

/*  Writes a .safetensors file; F32 matrices hold 1.0 on their diagonal. */
static void
s_write (const char *name, const s_spec_t *specs, int count)
{
    char header[4096];
    size_t len = (size_t) snprintf (header, sizeof header, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t offset = 0;
    for (int i = 0; i < count; i++) {
        uint64_t elems = 1;
        len += (size_t) snprintf (header + len, sizeof header - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                  specs[i].name, specs[i].dtype);
        for (int d = 0; d < specs[i].ndim; d++) {
            len += (size_t) snprintf (header + len, sizeof header - len, "%s%lld", d ? "," : "",
                                      (long long) specs[i].shape[d]);
            elems *= (uint64_t) specs[i].shape[d];
        }
        uint64_t bytes = elems * s_elem (specs[i].dtype);
        len += (size_t) snprintf (header + len, sizeof header - len, "],\"data_offsets\":[%llu,%llu]}",
                                  (unsigned long long) offset, (unsigned long long) (offset + bytes));
        offset += bytes;
    }
    len += (size_t) snprintf (header + len, sizeof header - len, "}");
    FILE *f = fopen (s_path (name), "wb");
    ck_assert_ptr_nonnull (f);
    uint64_t hl = len;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char) (hl >> (8 * i));
    fwrite (le, 1, 8, f);
    fwrite (header, 1, len, f);
    for (int i = 0; i < count; i++) {
        int64_t rows = specs[i].ndim > 0 ? specs[i].shape[0] : 1;
        int64_t cols = specs[i].ndim > 1 ? specs[i].shape[1] : 1;
        for (int d = 2; d < specs[i].ndim; d++)
            cols *= specs[i].shape[d];
        size_t item = s_elem (specs[i].dtype);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) {
                float v = (r == c && strcmp (specs[i].dtype, "F32") == 0) ? 1.0f : 0.0f;
                unsigned char zero[8] = { 0 };
                fwrite (item == 4 && v != 0.0f ? (const void *) &v : (const void *) zero, 1, item, f);
            }
    }
    ck_assert_int_eq (fclose (f), 0);
}

static void
s_write_text (const char *name, const char *text)
{
    FILE *f = fopen (s_path (name), "w");
    ck_assert_ptr_nonnull (f);
    fputs (text, f);
    ck_assert_int_eq (fclose (f), 0);
}

static const s_spec_t s_shard1[] = {
    { "layers.10.fc.weight", "F32", 2, { 8, 4 } },
    { "layers.2.fc.weight", "BF16", 2, { 8, 4 } },
    { "layers.2.fc.bias", "F32", 1, { 8 } },
};
static const s_spec_t s_shard2[] = {
    { "norm.weight", "F32", 1, { 4 } },
    { "conv.weight", "F32", 4, { 2, 3, 3, 3 } },
    { "step", "I64", 0, { 0 } },
};

static const char *s_index =
    "{\"metadata\": {\"total_size\": 1},\n \"weight_map\": {\n"
    "  \"layers.10.fc.weight\": \"model-1.safetensors\", \"layers.2.fc.weight\": \"model-1.safetensors\",\n"
    "  \"layers.2.fc.bias\": \"model-1.safetensors\", \"norm.weight\": \"model-2.safetensors\",\n"
    "  \"conv.weight\": \"model-2.safetensors\", \"step\": \"model-2.safetensors\"}}\n";

START_TEST (test_name_order)
{
    ck_assert_int_lt (sf_checkpoint_name_cmp ("layers.2.fc", "layers.10.fc"), 0);
    ck_assert_int_gt (sf_checkpoint_name_cmp ("layers.10", "layers.9"), 0);
    ck_assert_int_eq (sf_checkpoint_name_cmp ("a.01", "a.1"), 0);
    ck_assert_int_lt (sf_checkpoint_name_cmp ("a", "a.0"), 0);
    ck_assert_int_lt (sf_checkpoint_name_cmp ("a.b", "a.c"), 0);
    ck_assert_int_eq (sf_checkpoint_name_cmp ("", ""), 0);
}
END_TEST

typedef struct {
    int count, ranks[8];
    char names[8][64];
} s_seen_t;

static int
s_seen (void *arg, const char *name, const char *dtype, int ndim, const int64_t *shape)
{
    s_seen_t *s = arg;
    (void) dtype;
    (void) shape;
    if (s->count < 8) {
        snprintf (s->names[s->count], sizeof s->names[0], "%s", name);
        s->ranks[s->count] = ndim;
    }
    return s->count++ == 1 ? SF_ERR_CANCELLED : SF_OK;  /* stop at the second */
}

START_TEST (test_each)
{
    s_write ("two.safetensors", s_shard2, 3);
    s_seen_t seen;
    memset (&seen, 0, sizeof seen);
    ck_assert_int_eq (sf_safetensors_each (s_path ("two.safetensors"), s_seen, &seen), SF_ERR_CANCELLED);
    ck_assert_int_eq (seen.count, 2);  /* stopped where the callback said */
    ck_assert_str_eq (seen.names[0], "norm.weight");
    ck_assert_int_eq (seen.ranks[0], 1);
    ck_assert_int_eq (seen.ranks[1], 4);
}
END_TEST

START_TEST (test_one_file)
{
    s_write ("model.safetensors", s_shard1, 3);
    sf_checkpoint_t *ck = sf_checkpoint_open (s_path ("model.safetensors"));
    ck_assert_msg (ck != NULL, "%s", sf_error_message ());
    ck_assert (!sf_checkpoint_sharded (ck));
    ck_assert_int_eq (sf_checkpoint_shards (ck), 1);
    ck_assert_int_eq (sf_checkpoint_count (ck), 3);
    /* natural order: layers.2 before layers.10 */
    ck_assert_str_eq (sf_checkpoint_at (ck, 0)->name, "layers.2.fc.bias");
    ck_assert_str_eq (sf_checkpoint_at (ck, 1)->name, "layers.2.fc.weight");
    ck_assert_str_eq (sf_checkpoint_at (ck, 2)->name, "layers.10.fc.weight");
    ck_assert_ptr_null (sf_checkpoint_at (ck, 3));
    const sf_checkpoint_tensor_t *t = sf_checkpoint_find (ck, "layers.10.fc.weight");
    ck_assert_ptr_nonnull (t);
    ck_assert_str_eq (t->dtype, "F32");
    ck_assert_int_eq (t->ndim, 2);
    ck_assert_int_eq (t->shape[0], 8);
    ck_assert_int_eq (t->shape[1], 4);
    ck_assert_str_eq (t->shard, "model.safetensors");
    ck_assert_ptr_null (sf_checkpoint_find (ck, "layers.3.fc.weight"));
    int64_t rows = 0, cols = 0;
    ck_assert (sf_checkpoint_matrix_shape (t, &rows, &cols));
    ck_assert_int_eq (rows, 8);
    ck_assert_int_eq (cols, 4);
    /* a bias (1-D) is no matrix; a convolution is its im2col matrix; integers are none */
    ck_assert (!sf_checkpoint_matrix_shape (sf_checkpoint_find (ck, "layers.2.fc.bias"), &rows, &cols));
    sf_checkpoint_tensor_t conv = { "c", "f", "f", "BF16", 4, { 16, 3, 3, 3 } };
    ck_assert (sf_checkpoint_matrix_shape (&conv, &rows, &cols));
    ck_assert_int_eq (rows, 16);
    ck_assert_int_eq (cols, 27);
    conv.dtype = "I64";
    ck_assert (!sf_checkpoint_matrix_shape (&conv, &rows, &cols));
    conv.dtype = "F32";
    conv.ndim = 3;
    ck_assert (!sf_checkpoint_matrix_shape (&conv, &rows, &cols));
    /* the tensor reads through the matrix reader with its file and name */
    sf_read_opts_t ro = { t->name, 0 };
    sf_matrix_t *m = sf_matrix_read (t->file, &ro);
    ck_assert_ptr_nonnull (m);
    ck_assert_int_eq (sf_matrix_nnz (m), 4);
    sf_matrix_destroy (&m);
    sf_checkpoint_destroy (&ck);
    sf_checkpoint_destroy (&ck);  /* safe twice */
    /* a directory with model.safetensors */
    ck = sf_checkpoint_open (s_dir);
    ck_assert_msg (ck != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_checkpoint_count (ck), 3);
    sf_checkpoint_destroy (&ck);
}
END_TEST

START_TEST (test_sharded)
{
    s_write ("model-1.safetensors", s_shard1, 3);
    s_write ("model-2.safetensors", s_shard2, 3);
    s_write_text ("model.safetensors.index.json", s_index);
    /* the directory prefers its index */
    s_write ("model.safetensors", s_shard2, 1);
    sf_checkpoint_t *ck = sf_checkpoint_open (s_dir);
    ck_assert_msg (ck != NULL, "%s", sf_error_message ());
    ck_assert (sf_checkpoint_sharded (ck));
    ck_assert_int_eq (sf_checkpoint_shards (ck), 2);
    ck_assert_int_eq (sf_checkpoint_count (ck), 6);
    ck_assert_str_eq (sf_checkpoint_at (ck, 0)->name, "conv.weight");
    ck_assert_str_eq (sf_checkpoint_at (ck, 5)->name, "step");
    const sf_checkpoint_tensor_t *conv = sf_checkpoint_find (ck, "conv.weight");
    ck_assert_int_eq (conv->ndim, 4);
    ck_assert_int_eq (conv->shape[3], 3);
    ck_assert_str_eq (conv->shard, "model-2.safetensors");
    ck_assert_str_eq (conv->file, s_path ("model-2.safetensors"));
    ck_assert_int_eq (sf_checkpoint_find (ck, "step")->ndim, 0);
    ck_assert_str_eq (sf_checkpoint_find (ck, "layers.2.fc.weight")->dtype, "BF16");
    /* what `inspect` lists: zeros counted in each shard's data, the matrix read */
    sf_checkpoint_stats_t st;
    ck_assert_int_eq (sf_checkpoint_stats (sf_checkpoint_find (ck, "layers.10.fc.weight"), &st), SF_OK);
    ck_assert (st.counted);
    ck_assert_int_eq (st.elements, 32);
    ck_assert_int_eq (st.nonzeros, 4);  /* the diagonal of 8 x 4 */
    ck_assert_double_eq (st.sparsity, 1.0 - 4.0 / 32.0);
    ck_assert (st.weight);
    ck_assert_int_eq (st.rows, 8);
    ck_assert_int_eq (st.cols, 4);
    ck_assert_int_eq (sf_checkpoint_stats (sf_checkpoint_find (ck, "layers.2.fc.weight"), &st), SF_OK);
    ck_assert_int_eq (st.nonzeros, 0);  /* written as zeros */
    ck_assert_double_eq (st.sparsity, 1.0);
    ck_assert_int_eq (sf_checkpoint_stats (sf_checkpoint_find (ck, "conv.weight"), &st), SF_OK);
    ck_assert_int_eq (st.elements, 54);
    ck_assert_int_eq (st.nonzeros, 2);
    ck_assert (st.weight);
    ck_assert_int_eq (st.cols, 27);      /* im2col: I * kh * kw */
    ck_assert_int_eq (sf_checkpoint_stats (sf_checkpoint_find (ck, "norm.weight"), &st), SF_OK);
    ck_assert (st.counted);
    ck_assert (!st.weight);             /* 1-D: no layer */
    /* a shard cut short: its tensor's data is not its shape's size */
    sf_checkpoint_tensor_t cut = *sf_checkpoint_find (ck, "layers.2.fc.bias");  /* the file's last data */
    FILE *f = fopen (cut.file, "r+");
    ck_assert_ptr_nonnull (f);
    ck_assert_int_eq (fseek (f, 0, SEEK_END), 0);
    long size = ftell (f);
    fclose (f);
    ck_assert_int_eq (truncate (cut.file, size - 60), 0);
    ck_assert_int_ne (sf_checkpoint_stats (&cut, &st), SF_OK);
    sf_checkpoint_destroy (&ck);
}
END_TEST

/*  Opening the index fails with status, and the message holds `needle`. */
static void
s_refused (const char *index_text, int status, const char *needle)
{
    s_write_text ("bad.index.json", index_text);
    sf_checkpoint_t *ck = sf_checkpoint_open (s_path ("bad.index.json"));
    ck_assert_msg (ck == NULL, "opened: %s", index_text);
    ck_assert_int_eq (sf_error_last (), status);
    ck_assert_msg (strstr (sf_error_message (), needle) != NULL, "'%s' lacks '%s'", sf_error_message (), needle);
}

START_TEST (test_refusals)
{
    s_write ("model-1.safetensors", s_shard1, 3);
    s_refused ("{\"weight_map\": {\"a\": \"model-9.safetensors\"}}", SF_ERR_NOTFOUND,
               "names shard 'model-9.safetensors' (for 'a'), which does not exist");
    s_refused ("{\"weight_map\": {\"layers.99.w\": \"model-1.safetensors\"}}", SF_ERR_FORMAT,
               "maps tensor 'layers.99.w' to shard 'model-1.safetensors', which does not hold it");
    s_refused ("{\"weight_map\": {\"a\": \"../x.safetensors\"}}", SF_ERR_INVALID, "climbs out");
    s_refused ("{\"weight_map\": {\"a\": \"sub/../../x\"}}", SF_ERR_INVALID, "climbs out");
    s_refused ("{\"weight_map\": {\"a\": \"/etc/passwd\"}}", SF_ERR_INVALID, "absolute path");
    s_refused ("{\"weight_map\": {\"a\": 3}}", SF_ERR_FORMAT, "the shard must be a string");
    s_refused ("{\"weight_map\": {\"a\": \"\"}}", SF_ERR_FORMAT, "a shard name of 1..");
    s_refused ("{\"weight_map\": {}}", SF_ERR_FORMAT, "not a safetensors index");
    s_refused ("[1, 2]", SF_ERR_FORMAT, "not a safetensors index");
    s_refused ("{\"weight_map\": {\"layers.2.fc.weight\": \"model-1.safetensors\", \"layers.2.fc.weight\": "
               "\"model-1.safetensors\"}}", SF_ERR_FORMAT, "names tensor 'layers.2.fc.weight' twice");
    /* a shard that is not safetensors: the reader's message */
    s_write_text ("junk.safetensors", "junk");
    s_refused ("{\"weight_map\": {\"a\": \"junk.safetensors\"}}", SF_ERR_FORMAT, "too short");
    /* no such path; an empty directory */
    ck_assert_ptr_null (sf_checkpoint_open (s_path ("nothing")));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    mkdir (s_path ("empty"), 0700);
    ck_assert_ptr_null (sf_checkpoint_open (s_path ("empty")));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    ck_assert (strstr (sf_error_message (), "neither model.safetensors.index.json nor model.safetensors"));
    /* a header with no tensor at all */
    s_write ("none.safetensors", s_shard1, 0);
    ck_assert_ptr_null (sf_checkpoint_open (s_path ("none.safetensors")));
    ck_assert (strstr (sf_error_message (), "holds no tensor"));
}
END_TEST

/*  A shard listed by the index may hold more tensors than the index maps to
    it: the index decides which file a tensor comes from. */
START_TEST (test_index_decides)
{
    s_write ("model-1.safetensors", s_shard1, 3);
    s_write ("model-2.safetensors", s_shard1, 3);
    s_write_text ("i.json", "{\"weight_map\": {\"layers.2.fc.weight\": \"model-2.safetensors\", "
                            "\"layers.10.fc.weight\": \"model-1.safetensors\"}}");
    sf_checkpoint_t *ck = sf_checkpoint_open (s_path ("i.json"));
    ck_assert_msg (ck != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_checkpoint_count (ck), 2);
    ck_assert_str_eq (sf_checkpoint_find (ck, "layers.2.fc.weight")->shard, "model-2.safetensors");
    ck_assert_str_eq (sf_checkpoint_find (ck, "layers.10.fc.weight")->shard, "model-1.safetensors");
    ck_assert_ptr_null (sf_checkpoint_find (ck, "layers.2.fc.bias"));
    sf_checkpoint_destroy (&ck);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sf_checkpoint");
    TCase *tc = tcase_create ("checkpoint");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_name_order);
    tcase_add_test (tc, test_each);
    tcase_add_test (tc, test_one_file);
    tcase_add_test (tc, test_sharded);
    tcase_add_test (tc, test_refusals);
    tcase_add_test (tc, test_index_decides);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
