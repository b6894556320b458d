/*  tests/sf_check_worker.h: JOBs and RESULT checks that the worker's suites
    share (check_worker.c, check_worker_jobrun.c). */
#ifndef SF_CHECK_WORKER_H_INCLUDED
#define SF_CHECK_WORKER_H_INCLUDED

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "wire/sf_proto.h"
#include "wire/sf_request.h"

#define SF_CHECK_U "U:r4.v1.t32.g1.o0.m64.none"
#define SF_CHECK_D "D:r2.v1.t64.g1.o0.none"

/*  A `configs` JOB's texts: U, dense, a U knob out of range, D, garbage. */
static char *sf_check_texts[] __attribute__ ((unused)) = { SF_CHECK_U, "dense", "U:r4.v3.t32.g1.o0.m64.none",
                                                           SF_CHECK_D, "nonsense" };

/*  A JOB of `kind` ("search": max_configs 2; else "configs" of
    sf_check_texts) for matrix a at N = 16, lease 100 + id. */
static inline void
sf_check_job (sf_proto_job_t *job, const sf_matrix_t *a, const char *kind, uint64_t id)
{
    memset (job, 0, sizeof *job);
    job->job_id = id;
    job->lease_id = 100 + id;
    job->deadline_ms = 600000;
    job->campaign_id = 1;
    snprintf (job->layer, sizeof job->layer, "layer%llu", (unsigned long long) id);
    snprintf (job->matrix_hash, sizeof job->matrix_hash, "%s", sf_matrix_hash (a));
    job->m = sf_matrix_rows (a);
    job->k = sf_matrix_cols (a);
    job->n = 16;
    snprintf (job->kind, sizeof job->kind, "%s", kind);
    sf_request_init (&job->request);
    if (strcmp (kind, "search") == 0)
        job->request.max_configs = 2;
    else {
        job->configs = sf_check_texts;
        job->config_count = 5;
    }
}

/*  The candidate of a RESULT with this template and config, or NULL. */
static inline const sf_proto_candidate_t *
sf_check_find (const sf_proto_result_t *r, const char *tmpl, const char *config, bool proxy)
{
    for (size_t i = 0; i < r->candidate_count; i++)
        if (strcmp (r->candidates[i].tmpl, tmpl) == 0 && strcmp (r->candidates[i].config, config) == 0
            && r->candidates[i].proxy == proxy)
            return &r->candidates[i];
    return NULL;
}

/*  Every `configs` RESULT: the listed texts in order, then dense and the
    baselines, then each of our dense kernels measured (1 or 2 with the sim;
    none in a dry run). */
static inline void
sf_check_configs_result (const sf_proto_result_t *r, bool proxy)
{
    ck_assert (r->simulated);
    ck_assert_msg (r->candidate_count >= 4 + 4 && r->candidate_count <= 4 + 4 + 2, "%zu candidates",
                   (size_t) r->candidate_count);
    for (size_t i = 8; i < r->candidate_count; i++)
        ck_assert_str_eq (r->candidates[i].tmpl, "dense");
    ck_assert_str_eq (r->candidates[0].config, SF_CHECK_U);
    ck_assert (r->candidates[0].proxy == proxy);
    ck_assert_int_eq (r->candidates[0].status, 0);
    ck_assert (r->candidates[0].us > 0);
    /* a knob out of range: one candidate, SF_ERR_INVALID, with the reason */
    ck_assert_str_eq (r->candidates[1].config, "U:r4.v3.t32.g1.o0.m64.none");
    ck_assert_str_eq (r->candidates[1].tmpl, "U");
    ck_assert_int_eq (r->candidates[1].status, SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (r->candidates[1].detail, "out of range"));
    ck_assert (isnan (r->candidates[1].us));
    ck_assert_str_eq (r->candidates[2].config, SF_CHECK_D);
    ck_assert (!r->candidates[2].proxy);  /* D has no proxy */
    ck_assert_str_eq (r->candidates[3].tmpl, "invalid");
    ck_assert_int_eq (r->candidates[3].status, SF_ERR_INVALID);
    const sf_proto_candidate_t *dense = sf_check_find (r, "dense", "dense", false);
    ck_assert_ptr_nonnull (dense);
    ck_assert (dense->us > 0);
    const char *baselines[] = { "baseline:sgemm", "baseline:tf32", "baseline:cusparse" };
    for (int i = 0; i < 3; i++) {
        const sf_proto_candidate_t *b = sf_check_find (r, "dense", baselines[i], false);
        ck_assert_ptr_nonnull (b);
        ck_assert_int_eq (b->status, 0);
        ck_assert (b->us > 0 && isnan (b->err));
    }
}

#endif
