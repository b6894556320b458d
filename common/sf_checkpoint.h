/*  sf_checkpoint: the tensors of a model checkpoint in safetensors form, as
    PyTorch and Hugging Face write them:

      - one .safetensors file;
      - a sharded checkpoint: its index, model.safetensors.index.json,
        {"metadata": {...}, "weight_map": {"TENSOR": "SHARD.safetensors", ...}},
        and the shards beside it;
      - a directory holding either (the index first, else model.safetensors).

    Only headers are read (names, dtypes, shapes, which file holds each
    tensor); a tensor's values are read with sf_matrix_read (its `file` and
    `name`). Every shard the index names is opened and must hold the tensors
    mapped to it. Tensors are listed in natural name order (digit runs
    compare as numbers: layer.2 before layer.10).

        sf_checkpoint_t *ck = sf_checkpoint_open ("bert/model.safetensors.index.json");
        if (!ck) ... sf_error_last (), sf_error_message ()
        for (int i = 0; i < sf_checkpoint_count (ck); i++) {
            const sf_checkpoint_tensor_t *t = sf_checkpoint_at (ck, i);
            ... t->name, t->file, t->dtype, t->ndim, t->shape
        }
        sf_checkpoint_destroy (&ck);

    Errors (NULL from open, detail in sf_error_message): SF_ERR_NOTFOUND (no
    such file; an index that names a shard that does not exist; a directory
    with neither file), SF_ERR_FORMAT (a malformed index or header; a shard
    that lacks a tensor the index maps to it), SF_ERR_RANGE (an index or a
    tensor count over its bound), SF_ERR_INVALID (a shard path that is
    absolute or climbs out of the index's directory).
*/
#ifndef SF_CHECKPOINT_H_INCLUDED
#define SF_CHECKPOINT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Bounds: the index's bytes, tensors in a checkpoint, a shard's name. */
#define SF_CHECKPOINT_INDEX_MAX ((int64_t) 64 << 20)
#define SF_CHECKPOINT_TENSORS_MAX (1 << 20)
#define SF_CHECKPOINT_SHARD_NAME_MAX 1024

typedef struct _sf_checkpoint_t sf_checkpoint_t;

/*  One tensor; strings are owned by the checkpoint. */
typedef struct {
    const char *name;   /* PyTorch's name, "encoder.layer.0.attention.self.query.weight" */
    const char *file;   /* the .safetensors file that holds it, as a path to open */
    const char *shard;  /* that file as the index names it (one file: its base name) */
    const char *dtype;  /* as the file spells it: "F32", "BF16", "F16", "I64"... */
    int ndim;
    int64_t shape[SF_SAFETENSORS_NDIM_MAX];  /* the first min(ndim, 8) dimensions */
} sf_checkpoint_tensor_t;

/*  Opens a checkpoint (a .safetensors file, an index .json, or a directory);
    NULL on failure. Caller owns the result. */
sf_checkpoint_t *sf_checkpoint_open (const char *path);
void sf_checkpoint_destroy (sf_checkpoint_t **self_p);

/*  The file opened: the .safetensors file or the index. */
const char *sf_checkpoint_path (const sf_checkpoint_t *self);
/*  Whether it is sharded (read through an index), and how many files. */
bool sf_checkpoint_sharded (const sf_checkpoint_t *self);
int sf_checkpoint_shards (const sf_checkpoint_t *self);

int sf_checkpoint_count (const sf_checkpoint_t *self);
/*  The index-th tensor (0 .. count-1) in natural name order. */
const sf_checkpoint_tensor_t *sf_checkpoint_at (const sf_checkpoint_t *self, int index);
/*  The tensor called name, or NULL. */
const sf_checkpoint_tensor_t *sf_checkpoint_find (const sf_checkpoint_t *self, const char *name);

/*  Whether the matrix reader takes the tensor as a layer's weight: a
    floating-point dtype (F32, F16, BF16, F64) and 2 dimensions, or 4 (a
    convolution, read as its im2col matrix O x I*kh*kw); its matrix shape
    into *rows, *cols. */
bool sf_checkpoint_matrix_shape (const sf_checkpoint_tensor_t *t, int64_t *rows, int64_t *cols);

/*  What `inspect` shows of a tensor: its zeros counted by streaming its
    data, and the matrix it is read as. */
typedef struct {
    bool counted;       /* false: a dtype whose zeros are not counted (integers...) */
    int64_t elements;   /* counted: the elements ... */
    int64_t nonzeros;   /* ... and the nonzero ones */
    double sparsity;    /* counted: 1 - nonzeros / elements (0 for no element); else 0 */
    bool weight;        /* sf_checkpoint_matrix_shape: a layer's weight ... */
    int64_t rows, cols; /* ... read as a rows x cols matrix */
} sf_checkpoint_stats_t;

/*  The tensor's stats: SF_OK (a dtype that cannot be counted included), or
    the read's error (SF_ERR_FORMAT: the data is not its shape's size,
    SF_ERR_IO). */
int sf_checkpoint_stats (const sf_checkpoint_tensor_t *t, sf_checkpoint_stats_t *out);

/*  Natural order of two names (digit runs as numbers), for sorting. */
int sf_checkpoint_name_cmp (const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
