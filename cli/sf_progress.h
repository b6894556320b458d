/*  sf_progress: a one-line progress bar on stderr, redrawn in place when
    stderr is a terminal, printed every tenth otherwise. */
#ifndef SF_PROGRESS_H_INCLUDED
#define SF_PROGRESS_H_INCLUDED

/*  Draws "phase [#####.....] done/total"; matches sf_progress_fn. arg: NULL
    or a non-zero int* to silence it. */
void sf_progress_draw (void *arg, const char *phase, int done, int total);

/*  Ends the current bar's line. */
void sf_progress_end (void);

#endif
