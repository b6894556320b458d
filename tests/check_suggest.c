/*  Check suite of common/sf_suggest: the edit distance of two words and
    the "did you mean" candidate that `spmmfarm` offers for a mistyped
    command or option. Each test is also an example of the API. */
#include <check.h>
#include <string.h>

#include "common/sf_suggest.h"
#include "tests/sf_check.h"

static const char *const s_commands[] = { "gen", "inspect", "reference", "suite", "devices", "tune-local",
                                          "bench", "store", "status", "submit", "local", "export", "help" };
#define S_COMMANDS ((int) (sizeof s_commands / sizeof s_commands[0]))

START_TEST (test_distance)
{
    ck_assert_int_eq (sf_suggest_distance ("", ""), 0);
    ck_assert_int_eq (sf_suggest_distance ("json", "json"), 0);
    ck_assert_int_eq (sf_suggest_distance ("", "json"), 4);
    ck_assert_int_eq (sf_suggest_distance ("jsn", "json"), 1);        /* a deletion */
    ck_assert_int_eq (sf_suggest_distance ("jsoon", "json"), 1);      /* an insertion */
    ck_assert_int_eq (sf_suggest_distance ("jsan", "json"), 1);       /* a substitution */
    ck_assert_int_eq (sf_suggest_distance ("jsno", "json"), 1);       /* a transposition counts once */
    ck_assert_int_eq (sf_suggest_distance ("kitten", "sitting"), 3);
    ck_assert_int_eq (sf_suggest_distance ("sitting", "kitten"), 3); /* symmetric */
    ck_assert_int_eq (sf_suggest_distance ("abc", "xyz"), 3);
}
END_TEST

START_TEST (test_distance_bounds)
{
    char longer[SF_SUGGEST_WORD_MAX + 2], longest[SF_SUGGEST_WORD_MAX + 1];
    memset (longer, 'a', SF_SUGGEST_WORD_MAX + 1);
    longer[SF_SUGGEST_WORD_MAX + 1] = '\0';
    memset (longest, 'a', SF_SUGGEST_WORD_MAX);
    longest[SF_SUGGEST_WORD_MAX] = '\0';
    /* 64 bytes are compared; 65 are too long to be a typo of anything */
    ck_assert_int_eq (sf_suggest_distance (longest, longest), 0);
    ck_assert_int_eq (sf_suggest_distance (longest, "a"), SF_SUGGEST_WORD_MAX - 1);
    ck_assert_int_eq (sf_suggest_distance (longer, longer), SF_SUGGEST_FAR);
    ck_assert_int_eq (sf_suggest_distance ("a", longer), SF_SUGGEST_FAR);
    /* one edit apart, but too long to compare: no suggestion */
    char other[SF_SUGGEST_WORD_MAX + 2];
    memcpy (other, longer, sizeof other);
    other[0] = 'b';
    const char *cands[] = { other };
    ck_assert_ptr_null (sf_suggest_closest (longer, cands, 1));
}
END_TEST

START_TEST (test_closest)
{
    ck_assert_str_eq (sf_suggest_closest ("stauts", s_commands, S_COMMANDS), "status");
    ck_assert_str_eq (sf_suggest_closest ("refrence", s_commands, S_COMMANDS), "reference");
    ck_assert_str_eq (sf_suggest_closest ("tune-locl", s_commands, S_COMMANDS), "tune-local");
    ck_assert_str_eq (sf_suggest_closest ("gne", s_commands, S_COMMANDS), "gen");
    /* short words: one edit at most */
    ck_assert_str_eq (sf_suggest_closest ("hepl", s_commands, S_COMMANDS), "help");
    ck_assert_ptr_null (sf_suggest_closest ("xyz", s_commands, S_COMMANDS));
    /* nothing near: no suggestion */
    ck_assert_ptr_null (sf_suggest_closest ("frobnicate", s_commands, S_COMMANDS));
    ck_assert_ptr_null (sf_suggest_closest ("stats", s_commands, 0));
}
END_TEST

START_TEST (test_prefix)
{
    /* too far by edits, but the prefix of exactly one candidate */
    ck_assert_str_eq (sf_suggest_closest ("insp", s_commands, S_COMMANDS), "inspect");
    ck_assert_str_eq (sf_suggest_closest ("devi", s_commands, S_COMMANDS), "devices");
    /* the prefix of several ("su": suite, submit) and too far from each: none */
    const char *const opts[] = { "strategy", "store", "seed" };
    ck_assert_ptr_null (sf_suggest_closest ("st", opts, 3));
    ck_assert_ptr_null (sf_suggest_closest ("su", s_commands, S_COMMANDS));
    /* one byte is no prefix hint */
    const char *const one[] = { "output" };
    ck_assert_ptr_null (sf_suggest_closest ("o", one, 1));
    ck_assert_str_eq (sf_suggest_closest ("ou", one, 1), "output");
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("suggest");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_distance);
    tcase_add_test (tc, test_distance_bounds);
    tcase_add_test (tc, test_closest);
    tcase_add_test (tc, test_prefix);
    suite_add_tcase (suite, tc);
    return sf_check_run (suite);
}
