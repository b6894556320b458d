/*  sf_clock: the clocks that time compiles, searches and runs.

    Seconds as doubles: sf_clock_mono for wall time (monotonic: never jumps
    with the system clock), sf_clock_thread_cpu for the calling thread's CPU
    time (what a compile on a pool thread cost, whatever else runs). */
#ifndef SF_CLOCK_H_INCLUDED
#define SF_CLOCK_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

/*  Monotonic seconds since an arbitrary start; only differences mean anything. */
double sf_clock_mono (void);

/*  CPU seconds the calling thread has used. */
double sf_clock_thread_cpu (void);

#ifdef __cplusplus
}
#endif
#endif
