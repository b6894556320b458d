/*  sf_progress: a one-line progress bar on stderr, redrawn in place when
    stderr is a terminal, printed every tenth otherwise:

      time proxies       [#########.....................] 53/176  4s, ETA 9s  q.mtx

    the phase, the bar, done/total, the phase's elapsed time and, once
    something is done, the time left at the phase's measured rate, then the
    current item (a layer, a problem) when one is set. */
#ifndef SF_PROGRESS_H_INCLUDED
#define SF_PROGRESS_H_INCLUDED

#include <stddef.h>

/*  Draws the bar; matches sf_progress_fn. arg: NULL or a non-zero int* to
    silence it. A new phase starts its clock. */
void sf_progress_draw (void *arg, const char *phase, int done, int total);

/*  The item shown after the times (copied, at most 40 bytes shown); NULL
    or "" shows none. Kept until changed. */
void sf_progress_set_item (const char *item);

/*  Ends the current bar's line. */
void sf_progress_end (void);

/*  "12s", "3m05s", "2h04m" into buf (at least 16 bytes); returns buf. */
char *sf_progress_duration (double seconds, char *buf, size_t size);

#endif
