/*  sf_buf: bounded growable buffer. */
#include "common/sf_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

struct _sf_buf_t {
    char *data;
    size_t size;
    size_t capacity;
    size_t max_bytes;
    int status;
};

sf_buf_t *
sf_buf_new (size_t max_bytes)
{
    sf_buf_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = 4096;
    self->data = malloc (self->capacity);
    if (!self->data) {
        free (self);
        return NULL;
    }
    self->data[0] = '\0';
    self->max_bytes = max_bytes;
    return self;
}

void
sf_buf_destroy (sf_buf_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->data);
    free (*self_p);
    *self_p = NULL;
}

static int
s_reserve (sf_buf_t *self, size_t extra)
{
    if (self->status != SF_OK)
        return self->status;
    if (extra > self->max_bytes || self->size > self->max_bytes - extra)
        return self->status = sf_error_set (SF_ERR_RANGE, "buffer bound of %zu bytes exceeded",
                                            self->max_bytes);
    size_t need = self->size + extra + 1;
    if (need <= self->capacity)
        return SF_OK;
    size_t capacity = self->capacity;
    while (capacity < need)
        capacity = capacity * 2;
    char *data = realloc (self->data, capacity);
    if (!data)
        return self->status = sf_error_set (SF_ERR_NOMEM, "out of memory growing a buffer to %zu bytes",
                                            capacity);
    self->data = data;
    self->capacity = capacity;
    return SF_OK;
}

int
sf_buf_append (sf_buf_t *self, const void *data, size_t size)
{
    int rc = s_reserve (self, size);
    if (rc != SF_OK)
        return rc;
    memcpy (self->data + self->size, data, size);
    self->size += size;
    self->data[self->size] = '\0';
    return SF_OK;
}

int
sf_buf_printf (sf_buf_t *self, const char *fmt, ...)
{
    if (self->status != SF_OK)
        return self->status;
    char small[256];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (small, sizeof small, fmt, ap);
    va_end (ap);
    if (n < 0)
        return self->status = sf_error_set (SF_ERR_INTERNAL, "bad format");
    if ((size_t) n < sizeof small)
        return sf_buf_append (self, small, (size_t) n);
    int rc = s_reserve (self, (size_t) n);
    if (rc != SF_OK)
        return rc;
    va_start (ap, fmt);
    vsnprintf (self->data + self->size, (size_t) n + 1, fmt, ap);
    va_end (ap);
    self->size += (size_t) n;
    return SF_OK;
}

int sf_buf_status (const sf_buf_t *self) { return self->status; }
const char *sf_buf_data (const sf_buf_t *self) { return self->data; }
size_t sf_buf_size (const sf_buf_t *self) { return self->size; }

char *
sf_buf_detach (sf_buf_t *self, size_t *size_p)
{
    if (self->status != SF_OK)
        return NULL;
    char *data = self->data;
    if (size_p)
        *size_p = self->size;
    self->data = malloc (4096);
    self->capacity = self->data ? 4096 : 0;
    self->size = 0;
    if (self->data)
        self->data[0] = '\0';
    else
        self->status = SF_ERR_NOMEM;
    return data;
}
