/*  sf_error: status names and the per-thread detail of the last error. */
#include "common/sf_error.h"

#include <stdio.h>
#include <string.h>

#define SF_ERROR_DETAIL_MAX 1024

static _Thread_local char s_detail[SF_ERROR_DETAIL_MAX];
static _Thread_local int s_status;
static _Thread_local int s_origin;

const char *
sf_strerror (int status)
{
    switch (status) {
    case SF_OK: return "success";
    case SF_ERR_NOMEM: return "out of memory";
    case SF_ERR_IO: return "input/output error";
    case SF_ERR_FORMAT: return "malformed input";
    case SF_ERR_RANGE: return "value out of range";
    case SF_ERR_INVALID: return "invalid argument";
    case SF_ERR_NOTFOUND: return "not found";
    case SF_ERR_UNSUPPORTED: return "not supported";
    case SF_ERR_NODEVICE: return "no GPU available";
    case SF_ERR_CUDA: return "CUDA driver error";
    case SF_ERR_NVRTC: return "NVRTC compile error";
    case SF_ERR_JITLINK: return "nvJitLink error";
    case SF_ERR_LMDB: return "LMDB store error";
    case SF_ERR_ZMQ: return "ZeroMQ error";
    case SF_ERR_PROTOCOL: return "protocol error";
    case SF_ERR_TIMEOUT: return "timed out";
    case SF_ERR_VERIFY: return "verification failed";
    case SF_ERR_SCHEMA: return "unknown schema version";
    case SF_ERR_BUSY: return "resource busy";
    case SF_ERR_EXISTS: return "already exists";
    case SF_ERR_CUBLAS: return "cuBLAS error";
    case SF_ERR_CUSPARSE: return "cuSPARSE error";
    case SF_ERR_XGBOOST: return "XGBoost error";
    case SF_ERR_CANCELLED: return "cancelled";
    case SF_ERR_INTERNAL: return "internal error";
    case SF_ERR_DENIED: return "permission denied";
    default: return "unknown error";
    }
}

static void
s_vset (int status, int origin, const char *fmt, va_list ap)
{
    s_status = status;
    s_origin = origin;
    if (fmt)
        vsnprintf (s_detail, sizeof s_detail, fmt, ap);
    else
        s_detail[0] = '\0';
}

int
sf_error_set (int status, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vset (status, 0, fmt, ap);
    va_end (ap);
    return status;
}

int
sf_error_set_origin (int status, int origin, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vset (status, origin, fmt, ap);
    va_end (ap);
    return status;
}

void
sf_error_prefix (const char *fmt, ...)
{
    char prefix[SF_ERROR_DETAIL_MAX];
    char old[SF_ERROR_DETAIL_MAX];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (prefix, sizeof prefix, fmt, ap);
    va_end (ap);
    memcpy (old, s_detail, sizeof old);
    /* Truncation is fine here: the detail is bounded by design. */
    size_t used = strnlen (prefix, sizeof prefix);
    memcpy (s_detail, prefix, used);
    size_t room = sizeof s_detail - 1 - used;
    size_t rest = strnlen (old, room);
    memcpy (s_detail + used, old, rest);
    s_detail[used + rest] = '\0';
}

const char *
sf_error_message (void)
{
    return s_detail;
}

int
sf_error_last (void)
{
    return s_status;
}

int
sf_error_origin (void)
{
    return s_origin;
}

void
sf_error_clear (void)
{
    s_status = SF_OK;
    s_origin = 0;
    s_detail[0] = '\0';
}
