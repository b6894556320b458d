/*  sf_buf: a growable byte buffer with a hard bound, for generated code and
    encoded messages. Appends past the bound fail (SF_ERR_RANGE) and leave the
    buffer marked as overflowed, so a long chain of appends is checked once. */
#ifndef SF_BUF_H_INCLUDED
#define SF_BUF_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_buf_t sf_buf_t;

/*  A buffer that may grow to max_bytes. NULL when out of memory. */
sf_buf_t *sf_buf_new (size_t max_bytes);
void sf_buf_destroy (sf_buf_t **self_p);

/*  Appends; returns SF_OK, or SF_ERR_RANGE/SF_ERR_NOMEM and marks the buffer
    failed (later appends are ignored). */
int sf_buf_append (sf_buf_t *self, const void *data, size_t size);
int sf_buf_printf (sf_buf_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  SF_OK if every append so far succeeded, else the first failure's status. */
int sf_buf_status (const sf_buf_t *self);

/*  Contents (always NUL-terminated; owned by the buffer) and size. */
const char *sf_buf_data (const sf_buf_t *self);
size_t sf_buf_size (const sf_buf_t *self);

/*  Hands the contents to the caller (malloc'ed, NUL-terminated) and empties
    the buffer. NULL if the buffer failed. */
char *sf_buf_detach (sf_buf_t *self, size_t *size_p);

#ifdef __cplusplus
}
#endif
#endif
