/*  sf_log: levelled, thread-safe log lines on stderr. */
#include "common/sf_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static sf_log_level s_level = SF_LOG_WARN;
static FILE *s_stream;
static char s_ident[64] = "spmmfarm";

static const char *s_names[] = { "error", "warn", "info", "debug", "trace" };

static void
s_init_from_env (void)
{
    const char *env = getenv ("SPMMFARM_LOG");
    int level = env ? sf_log_level_parse (env) : -1;
    if (level >= 0)
        s_level = (sf_log_level) level;
}

int
sf_log_level_parse (const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < 5; i++)
        if (strcasecmp (name, s_names[i]) == 0)
            return i;
    if (name[0] >= '0' && name[0] <= '4' && name[1] == '\0')
        return name[0] - '0';
    return -1;
}

void
sf_log_set_level (sf_log_level level)
{
    pthread_once (&s_once, s_init_from_env);
    s_level = level;
}

sf_log_level
sf_log_get_level (void)
{
    pthread_once (&s_once, s_init_from_env);
    return s_level;
}

void
sf_log_set_stream (FILE *stream)
{
    pthread_mutex_lock (&s_lock);
    s_stream = stream;
    pthread_mutex_unlock (&s_lock);
}

void
sf_log_set_ident (const char *ident)
{
    pthread_mutex_lock (&s_lock);
    snprintf (s_ident, sizeof s_ident, "%s", ident ? ident : "spmmfarm");
    pthread_mutex_unlock (&s_lock);
}

void
sf_log_write (sf_log_level level, const char *component, const char *fmt, ...)
{
    pthread_once (&s_once, s_init_from_env);
    if (level > s_level)
        return;
    char message[2048];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (message, sizeof message, fmt, ap);
    va_end (ap);

    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    localtime_r (&now.tv_sec, &tm);
    char stamp[32];
    strftime (stamp, sizeof stamp, "%H:%M:%S", &tm);

    pthread_mutex_lock (&s_lock);
    FILE *out = s_stream ? s_stream : stderr;
    fprintf (out, "%s.%03ld %s [%s] %s: %s\n", stamp, now.tv_nsec / 1000000L,
             s_ident, s_names[level], component ? component : "-", message);
    fflush (out);
    pthread_mutex_unlock (&s_lock);
}

bool
sf_log_rate (sf_log_rate_t *rate, int interval_ms, unsigned long long *held)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    long long now = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    rate->total++;
    if (now < rate->next_ms) {
        rate->held++;
        return false;
    }
    if (held)
        *held = rate->held;
    rate->held = 0;
    rate->next_ms = now + interval_ms;
    return true;
}
