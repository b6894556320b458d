/*  sf_error: the one error enum of spmmfarm, and the detail of the last error.

    Every fallible function returns an sf_status (SF_OK = 0, errors < 0) or
    NULL, and records a human-readable detail (file, place, what is wrong) for
    the calling thread with sf_error_set(). Errors from CUDA, NVRTC, LMDB,
    ZeroMQ... are translated where they enter; the foreign code is kept and
    can be read back with sf_error_origin().
*/
#ifndef SF_ERROR_H_INCLUDED
#define SF_ERROR_H_INCLUDED

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SF_OK = 0,
    SF_ERR_NOMEM = -1,        /* out of memory */
    SF_ERR_IO = -2,           /* file or socket I/O failed */
    SF_ERR_FORMAT = -3,       /* malformed input (file, message, record) */
    SF_ERR_RANGE = -4,        /* a value or size is out of its bound */
    SF_ERR_INVALID = -5,      /* invalid argument or option */
    SF_ERR_NOTFOUND = -6,     /* no such file, tensor, key, device */
    SF_ERR_UNSUPPORTED = -7,  /* valid but not supported (dtype, format...) */
    SF_ERR_NODEVICE = -8,     /* no GPU or no CUDA driver */
    SF_ERR_CUDA = -9,         /* CUDA driver error (origin: CUresult) */
    SF_ERR_NVRTC = -10,       /* NVRTC error (origin: nvrtcResult) */
    SF_ERR_JITLINK = -11,     /* nvJitLink error (origin: nvJitLinkResult) */
    SF_ERR_LMDB = -12,        /* LMDB error (origin: MDB_* code) */
    SF_ERR_ZMQ = -13,         /* ZeroMQ error (origin: errno) */
    SF_ERR_PROTOCOL = -14,    /* a peer broke the protocol */
    SF_ERR_TIMEOUT = -15,     /* a deadline passed */
    SF_ERR_VERIFY = -16,      /* a result failed verification */
    SF_ERR_SCHEMA = -17,      /* unknown store or bundle schema version */
    SF_ERR_BUSY = -18,        /* resource held by another (e.g. store writer) */
    SF_ERR_EXISTS = -19,      /* already exists */
    SF_ERR_CUBLAS = -20,      /* cuBLAS error (origin: cublasStatus_t) */
    SF_ERR_CUSPARSE = -21,    /* cuSPARSE error (origin: cusparseStatus_t) */
    SF_ERR_XGBOOST = -22,     /* XGBoost error */
    SF_ERR_CANCELLED = -23,   /* the work was cancelled */
    SF_ERR_INTERNAL = -24,    /* a bug: please report */
    SF_ERR_DENIED = -25       /* not allowed to this peer (its key, its role) */
} sf_status;

/*  Static English name of a status, e.g. "malformed input". Never NULL. */
const char *sf_strerror (int status);

/*  Records the detail of an error for this thread and returns status, so that
    callers can write `return sf_error_set (SF_ERR_FORMAT, "%s:%d: ...", ...)`.
    A new call replaces the previous detail. */
int sf_error_set (int status, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  Same, keeping the foreign library's own code (CUresult, MDB_*, errno...). */
int sf_error_set_origin (int status, int origin, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Prefixes the current detail with more context ("reading X: " + detail). */
void sf_error_prefix (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/*  The detail of this thread's last error; "" when none. Owned by the thread;
    valid until the next sf_error_* call on this thread. */
const char *sf_error_message (void);

/*  The last status recorded on this thread, and its foreign code (0 if none). */
int sf_error_last (void);
int sf_error_origin (void);

/*  Forgets this thread's last error. */
void sf_error_clear (void);

#ifdef __cplusplus
}
#endif
#endif
