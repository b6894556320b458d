/*  sf_progress: terminal progress bars for long commands. */
#include "cli/sf_progress.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_clock.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_phase[64];
static char s_item[48];
static double s_start;      /* the phase's start, sf_clock_mono */
static double s_last_draw;  /* terminal: redraws at most every 0.1 s */
static int s_last_tenth = -1;
static int s_open;

char *
sf_progress_duration (double seconds, char *buf, size_t size)
{
    if (!isfinite (seconds) || seconds < 0)
        snprintf (buf, size, "?");
    else if (seconds < 60)
        snprintf (buf, size, "%.0fs", floor (seconds));
    else if (seconds < 3600)
        snprintf (buf, size, "%dm%02ds", (int) (seconds / 60), (int) fmod (seconds, 60));
    else
        snprintf (buf, size, "%dh%02dm", (int) (seconds / 3600), (int) fmod (seconds / 60, 60));
    return buf;
}

void
sf_progress_set_item (const char *item)
{
    pthread_mutex_lock (&s_lock);
    snprintf (s_item, sizeof s_item, "%.40s", item ? item : "");
    pthread_mutex_unlock (&s_lock);
}

void
sf_progress_draw (void *arg, const char *phase, int done, int total)
{
    if (arg && *(int *) arg)
        return;
    pthread_mutex_lock (&s_lock);
    int tty = isatty (2);
    double now = sf_clock_mono ();
    if (strcmp (phase, s_phase) != 0) {
        if (s_open)
            fputc ('\n', stderr);
        s_open = 0;
        snprintf (s_phase, sizeof s_phase, "%s", phase);
        s_last_tenth = -1;
        s_start = now;
        s_last_draw = 0;
    }
    int tenth = total > 0 ? done * 10 / total : 10;
    bool finished = done >= total;
    if ((!tty && tenth == s_last_tenth) || (tty && !finished && now - s_last_draw < 0.1)) {
        pthread_mutex_unlock (&s_lock);
        return;
    }
    s_last_tenth = tenth;
    s_last_draw = now;
    enum { WIDTH = 30 };
    int fill = total > 0 ? done * WIDTH / total : WIDTH;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    double elapsed = now - s_start;
    char times[64], a[16], b[16];
    if (finished)
        snprintf (times, sizeof times, "%s", sf_progress_duration (elapsed, a, sizeof a));
    else if (done > 0)
        snprintf (times, sizeof times, "%s, ETA %s", sf_progress_duration (elapsed, a, sizeof a),
                  sf_progress_duration (elapsed * (total - done) / done, b, sizeof b));
    else
        snprintf (times, sizeof times, "%s, ETA ?", sf_progress_duration (elapsed, a, sizeof a));
    fprintf (stderr, "%s%-18s [%s] %d/%d  %s%s%s%s", tty ? "\r" : "", phase, bar, done, total, times,
             s_item[0] ? "  " : "", s_item, tty ? "\033[K" : "\n");
    s_open = tty;
    fflush (stderr);
    pthread_mutex_unlock (&s_lock);
}

void
sf_progress_end (void)
{
    pthread_mutex_lock (&s_lock);
    if (s_open)
        fputc ('\n', stderr);
    s_open = 0;
    s_phase[0] = '\0';
    pthread_mutex_unlock (&s_lock);
}
