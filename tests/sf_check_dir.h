/*  tests/sf_check_dir.h: a fresh directory per test (Check fixtures). */
#ifndef SF_CHECK_DIR_H_INCLUDED
#define SF_CHECK_DIR_H_INCLUDED

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static inline int
sf_check_rm_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove (path);
}

/*  A new directory TMPDIR/sf-NAME-XXXXXX (caller frees the path). */
static inline char *
sf_check_dir_new (const char *name)
{
    const char *tmp = getenv ("TMPDIR");
    char *dir;
    ck_assert_int_gt (asprintf (&dir, "%s/sf-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name), 0);
    ck_assert_ptr_nonnull (mkdtemp (dir));
    return dir;
}

/*  Removes the directory and what it holds, frees the path. */
static inline void
sf_check_dir_destroy (char **dir_p)
{
    if (*dir_p)
        nftw (*dir_p, sf_check_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free (*dir_p);
    *dir_p = NULL;
}

#endif
