/*  sf_clock: monotonic and thread CPU clocks in seconds. */
#include "common/sf_clock.h"

#include <time.h>

static double
s_seconds (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

double
sf_clock_mono (void)
{
    return s_seconds (CLOCK_MONOTONIC);
}

double
sf_clock_thread_cpu (void)
{
    return s_seconds (CLOCK_THREAD_CPUTIME_ID);
}
