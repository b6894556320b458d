/*  sf_kernel: the one kernel artifact. */
#include "common/sf_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

void
sf_kernel_free (sf_kernel_t *self)
{
    if (!self)
        return;
    free (self->cubin);
    free (self->source);
    free (self->data);
    memset (self, 0, sizeof *self);
}

size_t
sf_kernel_source_len (const sf_kernel_t *self)
{
    return !self->source ? 0 : self->source_size ? self->source_size : strlen (self->source);
}

bool
sf_kernel_present (const sf_kernel_t *self)
{
    return self->cubin && self->cubin_size > 0 && self->launch.entry[0]
           && memchr (self->launch.entry, 0, sizeof self->launch.entry) != NULL;
}

/*  size bytes of p (at least one allocated), plus a NUL when text. */
static void *
s_dup (const void *p, size_t size, int text)
{
    char *copy = malloc (size + (text ? 1 : 0) + (size == 0));
    if (!copy)
        return NULL;
    if (size)
        memcpy (copy, p, size);
    if (text)
        copy[size] = '\0';
    return copy;
}

int
sf_kernel_dup (const sf_kernel_t *src, sf_kernel_t *dst)
{
    sf_kernel_t copy = { .launch = src->launch };
    copy.launch.entry[sizeof copy.launch.entry - 1] = '\0';
    size_t source_len = sf_kernel_source_len (src);
    if ((src->cubin && !(copy.cubin = s_dup (src->cubin, src->cubin_size, 0)))
        || (src->source && !(copy.source = s_dup (src->source, source_len, 1)))
        || (src->data && !(copy.data = s_dup (src->data, src->data_size, 0)))) {
        sf_kernel_free (&copy);
        memset (dst, 0, sizeof *dst);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for a copy of kernel %.*s", (int) SF_ENTRY_MAX - 1,
                             src->launch.entry);
    }
    copy.cubin_size = src->cubin ? src->cubin_size : 0;
    copy.source_size = src->source ? source_len : 0;
    copy.data_size = src->data ? src->data_size : 0;
    *dst = copy;
    return SF_OK;
}

void
sf_kernel_move (sf_kernel_t *dst, sf_kernel_t *src)
{
    if (dst == src)
        return;
    sf_kernel_free (dst);
    *dst = *src;
    memset (src, 0, sizeof *src);
}

/*  Writes size bytes to path. */
static int
s_write (const char *path, const void *data, size_t size)
{
    FILE *f = fopen (path, "wb");
    if (!f || fwrite (data, 1, size, f) != size) {
        if (f)
            fclose (f);
        return sf_error_set (SF_ERR_IO, "cannot write %s", path);
    }
    return fclose (f) == 0 ? SF_OK : sf_error_set (SF_ERR_IO, "cannot write %s", path);
}

int
sf_kernel_save (const sf_kernel_t *self, const char *path, const char *source_ext)
{
    if (!self->cubin || !self->cubin_size)
        return sf_error_set (SF_ERR_INVALID, "%s: the kernel has no cubin to save", path);
    char other[4096];
    int rc = s_write (path, self->cubin, self->cubin_size);
    if (rc == SF_OK && self->source) {
        if ((size_t) snprintf (other, sizeof other, "%s.%s", path, source_ext) >= sizeof other)
            return sf_error_set (SF_ERR_RANGE, "%s: path too long", path);
        rc = s_write (other, self->source, sf_kernel_source_len (self));
    }
    if (rc == SF_OK && self->data) {
        if ((size_t) snprintf (other, sizeof other, "%s.data", path) >= sizeof other)
            return sf_error_set (SF_ERR_RANGE, "%s: path too long", path);
        rc = s_write (other, self->data, self->data_size);
    }
    return rc;
}
