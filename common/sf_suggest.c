/*  sf_suggest: the closest known word to a mistyped one (see sf_suggest.h). */
#include "common/sf_suggest.h"

#include <string.h>

int
sf_suggest_distance (const char *a, const char *b)
{
    enum { MAX = SF_SUGGEST_WORD_MAX };
    size_t n = strlen (a), m = strlen (b);
    if (n > MAX || m > MAX)
        return SF_SUGGEST_FAR;
    /* three rows of the optimal string alignment distance */
    int rows[3][MAX + 1];
    int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = (int) j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int) i;
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        int *spare = prev2;
        prev2 = prev;
        prev = cur;
        cur = spare;
    }
    return prev[m];
}

const char *
sf_suggest_closest (const char *word, const char *const *candidates, int count)
{
    const char *best = NULL, *prefixed = NULL;
    int best_d = 1 << 20, prefixes = 0;
    size_t len = strlen (word);
    for (int i = 0; i < count; i++) {
        int d = sf_suggest_distance (word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
        if (len >= 2 && strncmp (word, candidates[i], len) == 0) {
            prefixes++;
            prefixed = candidates[i];
        }
    }
    int limit = len <= 4 ? 1 : 2;
    if (best && best_d <= limit)
        return best;
    return prefixes == 1 ? prefixed : NULL;
}
