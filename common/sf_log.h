/*  sf_log: the one logging facility. Library code never prints otherwise.

    Messages go to stderr (or a sink set by the program) with a level, a
    timestamp and the component's name. The level comes from sf_log_set_level()
    or the SPMMFARM_LOG environment variable (error, warn, info, debug, trace).
*/
#ifndef SF_LOG_H_INCLUDED
#define SF_LOG_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SF_LOG_ERROR = 0,
    SF_LOG_WARN = 1,
    SF_LOG_INFO = 2,
    SF_LOG_DEBUG = 3,
    SF_LOG_TRACE = 4
} sf_log_level;

/*  Sets the threshold: messages above it are dropped. Default SF_LOG_WARN,
    or SPMMFARM_LOG when set. */
void sf_log_set_level (sf_log_level level);
sf_log_level sf_log_get_level (void);

/*  Parses "error", "warn", "info", "debug", "trace" (or 0-4); -1 if unknown. */
int sf_log_level_parse (const char *name);

/*  Sends messages to `stream` instead of stderr (not owned; NULL: stderr). */
void sf_log_set_stream (FILE *stream);

/*  Sets the process's name shown in every line (e.g. "worker 3"); copied. */
void sf_log_set_ident (const char *ident);

void sf_log_write (sf_log_level level, const char *component, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  A rate limit for one kind of message (a peer's bad messages, a failing
    commit): at most one line per interval, and the next line says how many
    were held back. Zero-initialise it; one per kind of message, owned by
    the caller (not thread-safe: one thread uses it).

        static ... sf_log_rate_t bad = { 0 };
        uint64_t held;
        if (sf_log_rate (&bad, 10000, &held))
            sf_log_warn ("x", "dropped a message: %s (and %llu more in 10 s)", why, held);
*/
typedef struct {
    long long next_ms;           /* monotonic ms of the next line allowed */
    unsigned long long held;     /* messages held back since the last line */
    unsigned long long total;    /* every message of the kind */
} sf_log_rate_t;

/*  True if this message may be logged now (then *held gets how many were
    held back before it, and the count restarts); false: count it only. */
bool sf_log_rate (sf_log_rate_t *rate, int interval_ms, unsigned long long *held);

#define sf_log_error(comp, ...) sf_log_write (SF_LOG_ERROR, comp, __VA_ARGS__)
#define sf_log_warn(comp, ...) sf_log_write (SF_LOG_WARN, comp, __VA_ARGS__)
#define sf_log_info(comp, ...) sf_log_write (SF_LOG_INFO, comp, __VA_ARGS__)
#define sf_log_debug(comp, ...) sf_log_write (SF_LOG_DEBUG, comp, __VA_ARGS__)
#define sf_log_trace(comp, ...) sf_log_write (SF_LOG_TRACE, comp, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
