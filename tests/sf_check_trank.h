/*  tests/sf_check_trank.h: what the T rank model's suites share
    (check_trank.c, check_trankfarm.c). */
#ifndef SF_CHECK_TRANK_H_INCLUDED
#define SF_CHECK_TRANK_H_INCLUDED

#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "common/sf_matrix.h"
#include "proxygen/sf_tkernel.h"
#include "rankmodel/sf_rankmodel.h"

/*  The texts of model m's top k T configs of a at n on a 132-SM GPU, in
    score order (ties: the space's order, as the T search breaks them);
    returns the legal count, which must exceed k. */
static inline int
sf_check_trank_top (sf_rankmodel_t *m, const sf_matrix_t *a, int64_t n, int k,
                    char (*texts)[SF_TCONFIG_TEXT_MAX])
{
    static sf_tconfig_t legal[16384];
    static double scores[16384];
    static bool taken[16384];
    sf_tspace_problem_t tp = { sf_matrix_rows (a), sf_matrix_cols (a), n, sf_matrix_nnz (a), 132 };
    int all = sf_tkernel_space (&tp, legal, 16384, NULL);
    ck_assert_int_gt (all, k);
    ck_assert_int_eq (sf_rankmodel_rank_t (m, a, n, 132, legal, all, scores), SF_OK);
    memset (taken, 0, sizeof taken);
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < all; i++)
            if (!taken[i] && (best < 0 || scores[i] > scores[best]))
                best = i;
        taken[best] = true;
        sf_tconfig_text (&legal[best], texts[j]);
    }
    return all;
}

#endif
