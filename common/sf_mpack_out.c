/*  sf_mpack_out: the bounded MessagePack writer (common/sf_mpack_out.h). */
#include "common/sf_mpack_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/sf_buf.h"
#include "common/sf_error.h"
#include "common/sf_mpack.h"


struct _sf_mpack_out_t {
    sf_buf_t *buf;
    size_t max_bytes;
    msgpack_packer packer;
    int status;                                 /* first failure */
    uint64_t pending[SF_MPACK_DEPTH_MAX];       /* elements still due per open container */
    int depth;                                  /* open containers */
    bool root_done;                             /* the top-level object has started */
};

static int
s_packer_write (void *data, const char *bytes, size_t size)
{
    sf_mpack_out_t *self = data;
    return sf_buf_append (self->buf, bytes, size) == SF_OK ? 0 : -1;
}

sf_mpack_out_t *
sf_mpack_out_new (size_t max_bytes)
{
    sf_mpack_out_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory for a MessagePack writer");
        return NULL;
    }
    self->max_bytes = max_bytes;
    self->buf = sf_buf_new (max_bytes);
    if (!self->buf) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory for a MessagePack writer");
        return NULL;
    }
    msgpack_packer_init (&self->packer, self, s_packer_write);
    return self;
}

void
sf_mpack_out_destroy (sf_mpack_out_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_buf_destroy (&(*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

void
sf_mpack_out_reset (sf_mpack_out_t *self)
{
    /* sf_buf has no reset: a fresh buffer also drops a sticky failure. */
    sf_buf_t *buf = sf_buf_new (self->max_bytes);
    if (!buf) {
        self->status = sf_error_set (SF_ERR_NOMEM, "out of memory for a MessagePack writer");
        return;
    }
    sf_buf_destroy (&self->buf);
    self->buf = buf;
    self->status = SF_OK;
    self->depth = 0;
    self->root_done = false;
}

static void
s_out_fail (sf_mpack_out_t *self, int status, const char *what)
{
    if (self->status == SF_OK)
        self->status = sf_error_set (status, "MessagePack writer: %s", what);
}

/*  Accounts one element about to be written, in the innermost container
    (or as the top-level object). False if it must not be written. */
static bool
s_out_item (sf_mpack_out_t *self)
{
    if (self->status != SF_OK)
        return false;
    if (self->depth == 0) {
        if (self->root_done) {
            s_out_fail (self, SF_ERR_INTERNAL, "a second top-level object");
            return false;
        }
        self->root_done = true;
        return true;
    }
    self->pending[self->depth - 1]--;
    return true;
}

/*  Closes every container whose elements are all written. */
static void
s_out_close (sf_mpack_out_t *self)
{
    while (self->depth > 0 && self->pending[self->depth - 1] == 0)
        self->depth--;
}

static void
s_out_done (sf_mpack_out_t *self, int rc)
{
    if (rc != 0 && self->status == SF_OK)
        self->status = sf_buf_status (self->buf) != SF_OK ? sf_buf_status (self->buf)
                                                         : sf_error_set (SF_ERR_INTERNAL, "msgpack-c packer failed");
    s_out_close (self);
}

static void
s_out_container (sf_mpack_out_t *self, uint64_t elements, bool map, uint32_t count)
{
    if (!s_out_item (self))
        return;
    if (elements > 0 && self->depth == SF_MPACK_DEPTH_MAX) {
        s_out_fail (self, SF_ERR_RANGE, "containers nested too deep");
        return;
    }
    int rc = map ? msgpack_pack_map (&self->packer, count) : msgpack_pack_array (&self->packer, count);
    if (rc == 0 && elements > 0)
        self->pending[self->depth++] = elements;
    s_out_done (self, rc);
}

void
sf_mpack_out_map (sf_mpack_out_t *self, uint32_t pairs)
{
    s_out_container (self, 2 * (uint64_t) pairs, true, pairs);
}

void
sf_mpack_out_array (sf_mpack_out_t *self, uint32_t count)
{
    s_out_container (self, count, false, count);
}

void
sf_mpack_out_nil (sf_mpack_out_t *self)
{
    if (s_out_item (self))
        s_out_done (self, msgpack_pack_nil (&self->packer));
}

void
sf_mpack_out_bool (sf_mpack_out_t *self, bool value)
{
    if (s_out_item (self))
        s_out_done (self, value ? msgpack_pack_true (&self->packer) : msgpack_pack_false (&self->packer));
}

void
sf_mpack_out_uint (sf_mpack_out_t *self, uint64_t value)
{
    if (s_out_item (self))
        s_out_done (self, msgpack_pack_uint64 (&self->packer, value));
}

void
sf_mpack_out_int (sf_mpack_out_t *self, int64_t value)
{
    if (s_out_item (self))
        s_out_done (self, msgpack_pack_int64 (&self->packer, value));
}

void
sf_mpack_out_double (sf_mpack_out_t *self, double value)
{
    if (s_out_item (self))
        s_out_done (self, msgpack_pack_double (&self->packer, value));
}

void
sf_mpack_out_strn (sf_mpack_out_t *self, const char *value, size_t size)
{
    if (size > UINT32_MAX) {
        s_out_fail (self, SF_ERR_RANGE, "string longer than 4 GiB");
        return;
    }
    if (!s_out_item (self))
        return;
    int rc = msgpack_pack_str (&self->packer, size);
    if (rc == 0 && size > 0)
        rc = msgpack_pack_str_body (&self->packer, value, size);
    s_out_done (self, rc);
}

void
sf_mpack_out_str (sf_mpack_out_t *self, const char *value)
{
    sf_mpack_out_strn (self, value ? value : "", value ? strlen (value) : 0);
}

void
sf_mpack_out_bin (sf_mpack_out_t *self, const void *data, size_t size)
{
    if (size > UINT32_MAX) {
        s_out_fail (self, SF_ERR_RANGE, "binary longer than 4 GiB");
        return;
    }
    if (!s_out_item (self))
        return;
    int rc = msgpack_pack_bin (&self->packer, size);
    if (rc == 0 && size > 0)
        rc = msgpack_pack_bin_body (&self->packer, data, size);
    s_out_done (self, rc);
}

void
sf_mpack_out_le32 (sf_mpack_out_t *self, const void *words, size_t count)
{
    if (count > UINT32_MAX / 4) {
        s_out_fail (self, SF_ERR_RANGE, "binary longer than 4 GiB");
        return;
    }
    if (!s_out_item (self))
        return;
    int rc = msgpack_pack_bin (&self->packer, count * 4);
    uint8_t chunk[4096];
    size_t used = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        uint32_t w;
        memcpy (&w, (const char *) words + 4 * i, 4);
        for (int b = 0; b < 4; b++)
            chunk[used++] = (uint8_t) (w >> (8 * b));
        if (used == sizeof chunk || i + 1 == count) {
            rc = msgpack_pack_bin_body (&self->packer, chunk, used);
            used = 0;
        }
    }
    s_out_done (self, rc);
}

void
sf_mpack_out_kbool (sf_mpack_out_t *self, const char *key, bool value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_bool (self, value);
}

void
sf_mpack_out_kuint (sf_mpack_out_t *self, const char *key, uint64_t value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_uint (self, value);
}

void
sf_mpack_out_kint (sf_mpack_out_t *self, const char *key, int64_t value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_int (self, value);
}

void
sf_mpack_out_kdouble (sf_mpack_out_t *self, const char *key, double value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_double (self, value);
}

void
sf_mpack_out_kstr (sf_mpack_out_t *self, const char *key, const char *value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_str (self, value);
}

void
sf_mpack_out_kbin (sf_mpack_out_t *self, const char *key, const void *data, size_t size)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_bin (self, data, size);
}

int
sf_mpack_out_status (const sf_mpack_out_t *self)
{
    if (self->status != SF_OK)
        return self->status;
    if (!self->root_done)
        return sf_error_set (SF_ERR_INTERNAL, "MessagePack writer: nothing written");
    if (self->depth > 0)
        return sf_error_set (SF_ERR_INTERNAL, "MessagePack writer: a container lacks %llu elements",
                             (unsigned long long) self->pending[self->depth - 1]);
    return SF_OK;
}

const void *
sf_mpack_out_data (const sf_mpack_out_t *self)
{
    return sf_buf_data (self->buf);
}

size_t
sf_mpack_out_size (const sf_mpack_out_t *self)
{
    return sf_buf_size (self->buf);
}

void *
sf_mpack_out_detach (sf_mpack_out_t *self, size_t *size_p)
{
    if (sf_mpack_out_status (self) != SF_OK)
        return NULL;
    void *data = sf_buf_detach (self->buf, size_p);
    sf_mpack_out_reset (self);
    return data;
}

