/*  sf_searchbase: a search's baselines and the tier's library dense
    candidate (moved out of worker/sf_search.c), with the timing memo
    (worker/sf_timememo.h, issue 22).

    The baselines are timed twice, before and after the search, and each
    keeps the faster (sf_searchbase.c says why). With a memo, the
    data-independent rows (SGEMM and TF32 in the fp32/tf32 tiers, cuBLASLt
    in bf16/fp16; the library's dense call is one of them) of a key the
    memo holds are run once and verified on this layer but not timed:
    their time is the one the first layer of the key measured (cuBLASLt:
    with the algorithm that timing is of), each reused row counting in
    *reused and logged at info level. cuSPARSE and cuSPARSELt (its 2:4
    matrix is pruned from this layer) are timed on every layer.
*/
#ifndef SF_SEARCHBASE_H_INCLUDED
#define SF_SEARCHBASE_H_INCLUDED

#include <stdbool.h>

#include "worker/sf_measure.h"
#include "worker/sf_search.h"
#include "worker/sf_timememo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    sf_measure_t *gpu;             /* cuda: the measuring child; NULL: sim */
    const sf_device_info_t *sim;   /* sim: the device description */
    sf_timememo_t *memo;           /* NULL: no memo */
    const char *device;            /* the memo keys' device */
    const sf_matrix_t *a;
    int64_t n;
    sf_tier tier;
    sf_layout layout;
    bool bias, relu;
    bool l2_cold;                  /* timed with a cold L2 (memo keys say so) */
    double tol;                    /* the search's bound */
    /* filled by sf_searchbase_before */
    sf_baselines_t before;
    bool have_before;
} sf_searchbase_t;

/*  The memo key of `what` for this search. */
sf_timememo_key_t sf_searchbase_key (const sf_searchbase_t *b, const char *what);

/*  The baselines' first timing (cuda; a failure leaves the second one to
    decide). Seconds spent added to *gpu_s. */
void sf_searchbase_before (sf_searchbase_t *b, double *gpu_s);

/*  The baselines into out (sgemm_us ... lt24_note) and the library dense
    candidate (dense_lib_us, dense_lib_err); rows taken from the memo add
    to *reused. SF_OK or the error that ends the search. */
int sf_searchbase_run (sf_searchbase_t *b, sf_search_result_t *out, int *reused, double *gpu_s);

#ifdef __cplusplus
}
#endif
#endif
