/*  sf_progress: terminal progress bars for long commands. */
#include "cli/sf_progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char s_phase[64];
static int s_last_tenth = -1;
static int s_open;

void
sf_progress_draw (void *arg, const char *phase, int done, int total)
{
    if (arg && *(int *) arg)
        return;
    int tty = isatty (2);
    if (strcmp (phase, s_phase) != 0) {
        if (s_open)
            fputc ('\n', stderr);
        snprintf (s_phase, sizeof s_phase, "%s", phase);
        s_last_tenth = -1;
    }
    int tenth = total > 0 ? done * 10 / total : 10;
    if (!tty && tenth == s_last_tenth)
        return;
    s_last_tenth = tenth;
    enum { WIDTH = 30 };
    int fill = total > 0 ? done * WIDTH / total : WIDTH;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf (stderr, "%s%-18s [%s] %d/%d%s", tty ? "\r" : "", phase, bar, done, total, tty ? "" : "\n");
    s_open = tty;
    fflush (stderr);
}

void
sf_progress_end (void)
{
    if (s_open)
        fputc ('\n', stderr);
    s_open = 0;
    s_phase[0] = '\0';
}
