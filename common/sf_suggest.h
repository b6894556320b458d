/*  sf_suggest: "did you mean ...?" for a mistyped word among known ones
    (a command, an option): the edit distance of two words and the closest
    candidate when it is close enough to be a likely typo. Pure functions
    of their arguments; nothing is kept. */
#ifndef SF_SUGGEST_H_INCLUDED
#define SF_SUGGEST_H_INCLUDED

/*  Words compared up to this length; a longer one is SF_SUGGEST_FAR away. */
#define SF_SUGGEST_WORD_MAX 64
#define SF_SUGGEST_FAR (SF_SUGGEST_WORD_MAX + 1)

/*  The optimal string alignment distance of a and b (Levenshtein with
    adjacent transpositions: "jsno" is 1 from "json"); SF_SUGGEST_FAR when
    either is longer than SF_SUGGEST_WORD_MAX bytes. */
int sf_suggest_distance (const char *a, const char *b);

/*  The candidate closest to `word` if it is close enough to be a likely
    typo: distance <= 1 for a word of up to 4 bytes, else <= 2; failing
    that, the one candidate that `word` (2 bytes or more) is a prefix of.
    NULL otherwise. The result points into candidates. */
const char *sf_suggest_closest (const char *word, const char *const *candidates, int count);

#endif
