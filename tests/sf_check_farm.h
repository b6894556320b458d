/*  tests/sf_check_farm: what the suites of the embedded farm, its store
    and the experiments share (check_answer, check_bench, check_benchrun,
    check_client, check_coord_training, check_farm, check_import,
    check_ledger, check_localrun, check_lookup, check_rankeval,
    check_rankmodel, check_sweeprun, check_trainrun, check_tunerun,
    check_tunestore): this build's program (the farm's worker), the test's
    directory and store, files written to and read from it, the one-layer
    search the local commands run, and a campaign committed. Failures are
    Check assertions; what a function returns malloc'ed, the caller frees. */
#ifndef SF_CHECK_FARM_H_INCLUDED
#define SF_CHECK_FARM_H_INCLUDED

#include <check.h>
#include <cJSON.h>
#include <stddef.h>

#include "common/sf_matrix.h"
#include "common/sf_suite.h"
#include "store/sf_store.h"
#include "wire/sf_request.h"
#include "worker/sf_sim.h"

/*  This build's program, $SF_TOP_BUILDDIR/spmmfarm (./spmmfarm without
    it), into buf. */
void sf_check_farm_program (char *buf, size_t size);

/*  A fresh directory TMPDIR/sf-NAME-XXXXXX (free it with
    sf_check_dir_destroy), its store path DIR/store into store and this
    build's program into program. */
char *sf_check_farm_dir (const char *name, char *store, size_t store_size, char *program, size_t program_size);

/*  Writes text to DIR/NAME; returns the path. */
char *sf_check_farm_write (const char *dir, const char *name, const char *text);

/*  Reads path, which must hold JSON (cJSON_Delete it). */
cJSON *sf_check_farm_read_json (const char *path);

/*  A suite file of text written to DIR/tiny.conf and loaded. */
sf_suite_t *sf_check_farm_suite (const char *dir, const char *text);

/*  A sweep file at path of `problems` small problems (6 U configs each,
    seed 11) named name. */
void sf_check_farm_sweep (const char *path, const char *name, const char *description, int problems);

/*  The one-layer search of the local commands' suites: a 64 x 48 matrix
    of sparsity 0.8 (seed 5), the default request of at most 3 configs,
    the sim device. */
void sf_check_farm_layer (sf_matrix_t **a, sf_request_t *req, sf_device_info_t *dev);

/*  Sets c's strategy, GPU type and request key (each NULL: as c has it),
    puts c into batch and commits the batch, which is destroyed. */
void sf_check_farm_commit_campaign (sf_store_t *store, sf_store_batch_t **batch_p, sf_store_campaign_t *c,
                                    const char *strategy, const char *gpu_type, const char *request);

#endif
