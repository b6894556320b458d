## tests/: one Check suite per module (check_*.c) and integration scripts
## (*.sh) that run the real program. `make check` runs all of them on a CPU.

## tests/sf_check_farm: the fixtures the suites of the embedded farm, the
## store and the experiments share (this build's program, the test's
## directory and store, sweep and suite files, JSON read back, a
## one-layer search, a committed campaign).
SF_CHECK_FARM = tests/sf_check_farm.c tests/sf_check_farm.h tests/sf_check_dir.h

check_PROGRAMS += tests/check_common tests/check_matrix_io tests/check_suite tests/check_cudadrv
TESTS += tests/check_common tests/check_matrix_io tests/check_suite tests/check_cudadrv \
	tests/cli_basic.sh tests/cli_matrix_io.sh tests/cli_suite.sh tests/cli_devices.sh \
	tests/cli_tune_local.sh
dist_noinst_SCRIPTS += tests/cli_basic.sh tests/cli_matrix_io.sh tests/cli_suite.sh \
	tests/cli_devices.sh tests/cli_tune_local.sh tests/testlib.sh tests/gpu/check-gpu.sh \
	tests/gpu/device-run.sh tests/gpu/ab-slab.sh tests/gpu/tc-bench.sh tests/gpu/memo-check.sh

tests_check_common_SOURCES = tests/check_common.c tests/sf_check.h
tests_check_common_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_common_LDADD = $(CHECK_LDADD)
tests_check_common_LDFLAGS = $(CUDA_LDFLAGS)

## common/sf_mpack and sf_mpack_out: the one MessagePack codec of the wire
## and the store, against msgpack-c as the reference.
check_PROGRAMS += tests/check_mpack
TESTS += tests/check_mpack
tests_check_mpack_SOURCES = tests/check_mpack.c tests/sf_check.h
tests_check_mpack_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_mpack_LDADD = $(CHECK_LDADD) $(MSGPACK_LIBS)
tests_check_mpack_LDFLAGS = $(CUDA_LDFLAGS)

## common/sf_kernel: the one kernel artifact, and its conversions to a
## RESULT's kernel (wire/sf_protokernel) and the store's kernel record
## (store/sf_storekernel), through a real encode/decode and a real store.
check_PROGRAMS += tests/check_kernel
TESTS += tests/check_kernel
tests_check_kernel_SOURCES = tests/check_kernel.c tests/sf_check_dir.h
tests_check_kernel_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_kernel_LDADD = $(CHECK_LDADD) $(LMDB_LIBS) $(MSGPACK_LIBS)
tests_check_kernel_LDFLAGS = $(CUDA_LDFLAGS)

tests_check_matrix_io_SOURCES = tests/check_matrix_io.c tests/sf_check_io.h
tests_check_matrix_io_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_matrix_io_LDADD = $(CHECK_LDADD)
tests_check_matrix_io_LDFLAGS = $(CUDA_LDFLAGS)

tests_check_suite_SOURCES = tests/check_suite.c
tests_check_suite_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_suite_LDADD = $(CHECK_LDADD)
tests_check_suite_LDFLAGS = $(CUDA_LDFLAGS)
check_PROGRAMS += tests/check_suggest
TESTS += tests/check_suggest
tests_check_suggest_SOURCES = tests/check_suggest.c
tests_check_suggest_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_suggest_LDADD = $(CHECK_LDADD)
tests_check_suggest_LDFLAGS = $(CUDA_LDFLAGS)

tests_check_cudadrv_SOURCES = tests/check_cudadrv.c
tests_check_cudadrv_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_cudadrv_LDADD = $(CHECK_LDADD)
tests_check_cudadrv_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_cudadrv_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSF_FAKE_LIBCUDA='"$(abs_top_builddir)/tests/.libs/libfakecuda.so"'
EXTRA_tests_check_cudadrv_DEPENDENCIES = tests/libfakecuda.la

# A fake CUDA driver (two "Fake H100") that check_cudadrv and cli_devices.sh
# load through SPMMFARM_LIBCUDA; built for the tests only, never installed.
check_LTLIBRARIES = tests/libfakecuda.la
tests_libfakecuda_la_SOURCES = tests/fake_libcuda.c
tests_libfakecuda_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

check_PROGRAMS += tests/check_proxygen tests/check_tkernel
TESTS += tests/check_proxygen tests/check_tkernel
tests_check_tkernel_SOURCES = tests/check_tkernel.c
tests_check_tkernel_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_tkernel_LDADD = $(CHECK_LDADD)
tests_check_tkernel_LDFLAGS = $(CUDA_LDFLAGS)
dist_noinst_SCRIPTS += tests/gpu/tnk.sh tests/gpu/t-e2.sh
check_PROGRAMS += tests/check_tnk
TESTS += tests/check_tnk
tests_check_tnk_SOURCES = tests/check_tnk.c
tests_check_tnk_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_tnk_LDADD = $(CHECK_LDADD)
tests_check_tnk_LDFLAGS = $(CUDA_LDFLAGS)
check_PROGRAMS += tests/check_tfeatures
TESTS += tests/check_tfeatures
tests_check_tfeatures_SOURCES = tests/check_tfeatures.c
tests_check_tfeatures_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_tfeatures_LDADD = $(CHECK_LDADD)
tests_check_tfeatures_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_proxygen_SOURCES = tests/check_proxygen.c
tests_check_proxygen_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_proxygen_LDADD = $(CHECK_LDADD)
tests_check_proxygen_LDFLAGS = $(CUDA_LDFLAGS)

check_PROGRAMS += tests/check_uparts
TESTS += tests/check_uparts
tests_check_uparts_SOURCES = tests/check_uparts.c
tests_check_uparts_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_uparts_LDADD = $(CHECK_LDADD)
tests_check_uparts_LDFLAGS = $(CUDA_LDFLAGS)

check_PROGRAMS += tests/check_kcache
TESTS += tests/check_kcache
tests_check_kcache_SOURCES = tests/check_kcache.c
tests_check_kcache_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_kcache_LDADD = $(CHECK_LDADD)
tests_check_kcache_LDFLAGS = $(CUDA_LDFLAGS)

check_PROGRAMS += tests/check_budget
TESTS += tests/check_budget
tests_check_budget_SOURCES = tests/check_budget.c
tests_check_budget_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_budget_LDADD = $(CHECK_LDADD)
tests_check_budget_LDFLAGS = $(CUDA_LDFLAGS)
TESTS += tests/cli_scale.sh
dist_noinst_SCRIPTS += tests/cli_scale.sh

## worker/sf_measure: the measuring child, its crash and hang containment.
check_PROGRAMS += tests/check_measure
TESTS += tests/check_measure
tests_check_measure_SOURCES = tests/check_measure.c
tests_check_measure_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_measure_LDADD = $(CHECK_LDADD)
tests_check_measure_LDFLAGS = $(CUDA_LDFLAGS)

## worker/sf_timememo, sf_searchctx: the timing memo and the measuring
## child kept across a worker's searches (issue 22).
check_PROGRAMS += tests/check_timememo
TESTS += tests/check_timememo
tests_check_timememo_SOURCES = tests/check_timememo.c
tests_check_timememo_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_timememo_LDADD = $(CHECK_LDADD)
tests_check_timememo_LDFLAGS = $(CUDA_LDFLAGS)
TESTS += tests/cli_timememo.sh
dist_noinst_SCRIPTS += tests/cli_timememo.sh

## worker/sf_gpu's cold-L2 timing (an L2 flush and two event nodes per
## timed launch) against the fake driver's synthetic GPU clock.
check_PROGRAMS += tests/check_gpucold
TESTS += tests/check_gpucold
tests_check_gpucold_SOURCES = tests/check_gpucold.c tests/fake_libcuda.h
tests_check_gpucold_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_gpucold_LDADD = $(CHECK_LDADD)
tests_check_gpucold_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_gpucold_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSF_FAKE_LIBCUDAK='"$(abs_top_builddir)/tests/.libs/libfakecudak.so"'
EXTRA_tests_check_gpucold_DEPENDENCIES = tests/libfakecudak.la

## worker/sf_sim's cold-L2 model: warm figures unchanged, cold >= warm,
## a sim search timed cold (all SIMULATED).
check_PROGRAMS += tests/check_simcold
TESTS += tests/check_simcold
tests_check_simcold_SOURCES = tests/check_simcold.c tests/sf_check.h
tests_check_simcold_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_simcold_LDADD = $(CHECK_LDADD)
tests_check_simcold_LDFLAGS = $(CUDA_LDFLAGS)

## store: the LMDB store and its checked MessagePack (check_store also
## writes the fixtures of cli_store.sh: check_store --fill DIR ...).
check_PROGRAMS += tests/check_store
TESTS += tests/check_store tests/cli_store.sh
dist_noinst_SCRIPTS += tests/cli_store.sh
tests_check_store_SOURCES = tests/check_store.c \
	tests/check_store_codec.c \
	tests/check_store_faults.c \
	tests/sf_check_store.c \
	tests/sf_check_store.h \
	tests/sf_check_dir.h
tests_check_store_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_store_LDADD = $(CHECK_LDADD) $(LMDB_LIBS) $(MSGPACK_LIBS)
tests_check_store_LDFLAGS = $(CUDA_LDFLAGS)

## the store's records against golden bytes of the hand-written encoders
## (tests/data/records-golden.txt): old stores keep their bytes.
check_PROGRAMS += tests/check_records
TESTS += tests/check_records
tests_check_records_SOURCES = tests/check_records.c
tests_check_records_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_records_LDADD = $(CHECK_LDADD)
tests_check_records_LDFLAGS = $(CUDA_LDFLAGS)

## wire/ (sf_proto, sf_schema, sf_mpread) and common/sf_curve: the farm's
## messages, their bounds (check_proto_bounds), real sockets and CurveZMQ
## (check_proto_net); cli_keygen.sh runs `spmmfarm keygen`.
check_PROGRAMS += tests/check_proto
check_PROGRAMS += tests/check_proto_bounds
check_PROGRAMS += tests/check_proto_net
TESTS += tests/check_proto tests/cli_keygen.sh
TESTS += tests/check_proto_bounds
TESTS += tests/check_proto_net
dist_noinst_SCRIPTS += tests/cli_keygen.sh
tests_check_proto_SOURCES = tests/check_proto.c tests/sf_check_proto.h
tests_check_proto_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_proto_LDADD = $(CHECK_LDADD)
tests_check_proto_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_proto_bounds_SOURCES = tests/check_proto_bounds.c tests/sf_check_proto.h
tests_check_proto_bounds_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_proto_bounds_LDADD = $(CHECK_LDADD)
tests_check_proto_bounds_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_proto_net_SOURCES = tests/check_proto_net.c tests/sf_check_proto.h
tests_check_proto_net_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_proto_net_LDADD = $(CHECK_LDADD)
tests_check_proto_net_LDFLAGS = $(CUDA_LDFLAGS)

## runtime/ and bundles: the manifest schema, the bundle writer/reader, the
## runtime library against a fake driver with compute entry points, the
## `spmmfarm bundle` commands and the Python binding.
check_LTLIBRARIES += tests/libfakecudak.la
tests_libfakecudak_la_SOURCES = tests/fake_libcuda.c tests/fake_libcuda.h
tests_libfakecudak_la_CPPFLAGS = $(AM_CPPFLAGS) -DSF_FAKE_COMPUTE
tests_libfakecudak_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

check_PROGRAMS += tests/check_bundle tests/check_rt
TESTS += tests/check_bundle tests/check_rt tests/cli_bundle.sh
dist_noinst_SCRIPTS += tests/cli_bundle.sh

tests_check_bundle_SOURCES = tests/check_bundle.c tests/sf_check_bundle.h
tests_check_bundle_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_bundle_LDADD = $(CHECK_LDADD)
tests_check_bundle_LDFLAGS = $(CUDA_LDFLAGS)

# check_rt links the runtime alone (and the bundle writer to make bundles).
tests_check_rt_SOURCES = tests/check_rt.c tests/sf_check_bundle.h
tests_check_rt_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_rt_LDADD = runtime/libspmmfarm-rt.la $(CHECK_LDADD)
tests_check_rt_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_rt_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSF_FAKE_LIBCUDAK='"$(abs_top_builddir)/tests/.libs/libfakecudak.so"'
EXTRA_tests_check_rt_DEPENDENCIES = tests/libfakecudak.la

## coordinator/: the coordinator against hand-driven worker and client sockets
## (real ZeroMQ on loopback, real LMDB store).
check_PROGRAMS += tests/check_coord tests/check_coord_lease
TESTS += tests/check_coord tests/check_coord_lease
tests_check_coord_SOURCES = tests/check_coord.c tests/sf_check_coord.h
tests_check_coord_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_coord_LDADD = $(CHECK_LDADD)
tests_check_coord_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_coord_lease_SOURCES = tests/check_coord_lease.c tests/sf_check_coord.h
tests_check_coord_lease_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_coord_lease_LDADD = $(CHECK_LDADD)
tests_check_coord_lease_LDFLAGS = $(CUDA_LDFLAGS)

## coordinator/sf_plan and sf_training on their own (real LMDB stores)
check_PROGRAMS += tests/check_coord_plan tests/check_coord_training
TESTS += tests/check_coord_plan tests/check_coord_training
tests_check_coord_plan_SOURCES = tests/check_coord_plan.c tests/sf_check_dir.h
tests_check_coord_plan_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_coord_plan_LDADD = $(CHECK_LDADD)
tests_check_coord_plan_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_coord_training_SOURCES = tests/check_coord_training.c $(SF_CHECK_FARM)
tests_check_coord_training_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_coord_training_LDADD = $(CHECK_LDADD)
tests_check_coord_training_LDFLAGS = $(CUDA_LDFLAGS)

## export: bundles from the store (store/sf_export) and tune-local's store;
## cli_export.sh runs tune-local twice on one store, then export and bundle.
check_PROGRAMS += tests/check_export
TESTS += tests/check_export tests/cli_export.sh
dist_noinst_SCRIPTS += tests/cli_export.sh
tests_check_export_SOURCES = tests/check_export.c tests/sf_check_bundle.h
tests_check_export_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_export_LDADD = $(CHECK_LDADD)
tests_check_export_LDFLAGS = $(CUDA_LDFLAGS)

## worker/sf_worker, sf_jobrun and sf_search's farm modes: the worker
## against a ROUTER on loopback playing the coordinator (sim backend);
## cli_worker.sh runs `spmmfarm worker`'s command line.
check_PROGRAMS += tests/check_worker
TESTS += tests/check_worker tests/cli_worker.sh
dist_noinst_SCRIPTS += tests/cli_worker.sh
tests_check_worker_SOURCES = tests/check_worker.c tests/sf_check_worker.h
tests_check_worker_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_worker_LDADD = $(CHECK_LDADD)
tests_check_worker_LDFLAGS = $(CUDA_LDFLAGS)
## the worker's job code (sf_search's farm modes, sf_jobrun) and its
## process's parts on their own (sf_matcache, sf_jobthread, sf_hello)
check_PROGRAMS += tests/check_worker_jobrun tests/check_worker_parts
TESTS += tests/check_worker_jobrun tests/check_worker_parts
tests_check_worker_jobrun_SOURCES = tests/check_worker_jobrun.c tests/sf_check_worker.h
tests_check_worker_jobrun_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_worker_jobrun_LDADD = $(CHECK_LDADD)
tests_check_worker_jobrun_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_worker_parts_SOURCES = tests/check_worker_parts.c
tests_check_worker_parts_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_worker_parts_LDADD = $(CHECK_LDADD)
tests_check_worker_parts_LDFLAGS = $(CUDA_LDFLAGS)

## rankmodel: features, XGBoost training and scoring, models in the store,
## sweeps and the rank strategy (check_rankmodel); cli_rank.sh runs
## sweep-local -> train -> tune-local/bench --strategy rank -> rank-eval.
check_PROGRAMS += tests/check_rankmodel
TESTS += tests/check_rankmodel tests/cli_rank.sh
dist_noinst_SCRIPTS += tests/cli_rank.sh
tests_check_rankmodel_SOURCES = tests/check_rankmodel.c $(SF_CHECK_FARM)
tests_check_rankmodel_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_rankmodel_LDADD = $(CHECK_LDADD)
tests_check_rankmodel_LDFLAGS = $(CUDA_LDFLAGS)
## rankmodel/sf_rankdata: training data on its own (groups, subsets, labels)
check_PROGRAMS += tests/check_rankmodel_data
TESTS += tests/check_rankmodel_data
tests_check_rankmodel_data_SOURCES = tests/check_rankmodel_data.c
tests_check_rankmodel_data_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_rankmodel_data_LDADD = $(CHECK_LDADD)
tests_check_rankmodel_data_LDFLAGS = $(CUDA_LDFLAGS)

## the farm as processes: coordinator, workers, clients, local
TESTS += tests/cli_farm.sh tests/cli_local.sh tests/cli_example.sh tests/cli_slurm.sh tests/cli_metrics.sh
dist_noinst_SCRIPTS += tests/cli_farm.sh tests/cli_local.sh tests/cli_example.sh tests/cli_slurm.sh tests/cli_metrics.sh

## faults (docs/RELIABILITY.md): damaged stores under every tool, a full
## disk (an LD_PRELOAD library makes the store's writes fail), and kill -9
## of workers and the coordinator compared with a fault-free run.
check_LTLIBRARIES += tests/libsffault.la
tests_libsffault_la_SOURCES = tests/fault_inject.c
tests_libsffault_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_libsffault_la_LIBADD = -ldl
## tests/hostile_peer: greedy and hijacking workers, garbage, a client that
## never reads (cli_faults.sh starts them beside the kills).
check_PROGRAMS += tests/hostile_peer
tests_hostile_peer_SOURCES = tests/hostile_peer.c
tests_hostile_peer_CFLAGS = $(SF_CFLAGS)
tests_hostile_peer_LDADD = libspmmfarm.la
tests_hostile_peer_LDFLAGS = $(CUDA_LDFLAGS)
TESTS += tests/cli_store_faults.sh tests/cli_faults.sh tests/cli_auth.sh
dist_noinst_SCRIPTS += tests/cli_store_faults.sh tests/cli_faults.sh tests/cli_auth.sh

## rankfarm: the rank model through the farm: train --coordinator (a sweep
## campaign on 2 sim workers, the coordinator trains and stores the model),
## submit/local --strategy rank with the model and without one (fallback).
TESTS += tests/cli_rankfarm.sh
dist_noinst_SCRIPTS += tests/cli_rankfarm.sh

## bench: compile cost of the U kernel by emission path (issue 3,
## docs/KERNELS.md "Emission path"); a program to run by hand, not a test.
noinst_PROGRAMS += tests/bench/compile_paths tests/bench/rank_scores
## bench: template T against cuBLAS bf16/fp16 on the GPU (issue 20;
## docs/KERNELS.md "Template T"); `tc_bench compile` needs no GPU.
noinst_PROGRAMS += tests/bench/tc_bench
tests_bench_tc_bench_SOURCES = tests/bench/tc_bench.c tests/bench/tc_common.c tests/bench/tc_bench.h
tests_bench_tc_bench_CFLAGS = $(SF_CFLAGS)
tests_bench_tc_bench_LDADD = libspmmfarm.la -lpthread -ldl -lm
tests_bench_tc_bench_LDFLAGS = $(CUDA_LDFLAGS)
tests_bench_rank_scores_SOURCES = tests/bench/rank_scores.c
tests_bench_rank_scores_CFLAGS = $(SF_CFLAGS)
tests_bench_rank_scores_LDADD = libspmmfarm.la
tests_bench_rank_scores_LDFLAGS = $(CUDA_LDFLAGS)
tests_bench_compile_paths_SOURCES = tests/bench/compile_paths.c
tests_bench_compile_paths_CFLAGS = $(SF_CFLAGS)
tests_bench_compile_paths_LDADD = libspmmfarm.la
tests_bench_compile_paths_LDFLAGS = $(CUDA_LDFLAGS)

## sanitizers and fuzzers (docs/RELIABILITY.md): sanitize.sh builds the tree
## again with clang, ASan and UBSan in ./sanitize/ and runs its make check;
## fuzz.sh builds the libFuzzer harnesses there and runs each for
## SF_FUZZ_SECONDS (60) from its seed corpus in tests/fuzz/. Both skip, with
## a message, without clang and its runtimes (quickstart installs them).
TESTS += tests/sanitize.sh tests/fuzz.sh
dist_noinst_SCRIPTS += tests/sanitize.sh tests/fuzz.sh tests/sanitize_build.sh
EXTRA_DIST += tests/fuzz
SF_FUZZERS = tests/fuzz/fuzz_proto tests/fuzz/fuzz_record tests/fuzz/fuzz_manifest tests/fuzz/fuzz_smtx \
	tests/fuzz/fuzz_mtx tests/fuzz/fuzz_npy tests/fuzz/fuzz_safetensors
EXTRA_PROGRAMS = $(SF_FUZZERS)
SF_FUZZ_LD = $(CUDA_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_proto_SOURCES = tests/fuzz/fuzz_proto.c tests/fuzz/sf_fuzz.h
tests_fuzz_fuzz_proto_LDADD = libspmmfarm.la
tests_fuzz_fuzz_proto_LDFLAGS = $(SF_FUZZ_LD)
tests_fuzz_fuzz_record_SOURCES = tests/fuzz/fuzz_record.c
tests_fuzz_fuzz_record_LDADD = libspmmfarm.la
tests_fuzz_fuzz_record_LDFLAGS = $(SF_FUZZ_LD)
tests_fuzz_fuzz_manifest_SOURCES = tests/fuzz/fuzz_manifest.c
tests_fuzz_fuzz_manifest_LDADD = libspmmfarm.la
tests_fuzz_fuzz_manifest_LDFLAGS = $(SF_FUZZ_LD)
tests_fuzz_fuzz_smtx_SOURCES = tests/fuzz/fuzz_matrix.c
tests_fuzz_fuzz_smtx_CPPFLAGS = $(AM_CPPFLAGS) -DSF_FUZZ_EXT='"smtx"'
tests_fuzz_fuzz_smtx_LDADD = libspmmfarm.la
tests_fuzz_fuzz_smtx_LDFLAGS = $(SF_FUZZ_LD)
tests_fuzz_fuzz_mtx_SOURCES = tests/fuzz/fuzz_matrix.c
tests_fuzz_fuzz_mtx_CPPFLAGS = $(AM_CPPFLAGS) -DSF_FUZZ_EXT='"mtx"'
tests_fuzz_fuzz_mtx_LDADD = libspmmfarm.la
tests_fuzz_fuzz_mtx_LDFLAGS = $(SF_FUZZ_LD)
tests_fuzz_fuzz_npy_SOURCES = tests/fuzz/fuzz_matrix.c
tests_fuzz_fuzz_npy_CPPFLAGS = $(AM_CPPFLAGS) -DSF_FUZZ_EXT='"npy"'
tests_fuzz_fuzz_npy_LDADD = libspmmfarm.la
tests_fuzz_fuzz_npy_LDFLAGS = $(SF_FUZZ_LD)
tests_fuzz_fuzz_safetensors_SOURCES = tests/fuzz/fuzz_matrix.c
tests_fuzz_fuzz_safetensors_CPPFLAGS = $(AM_CPPFLAGS) -DSF_FUZZ_EXT='"safetensors"'
tests_fuzz_fuzz_safetensors_LDADD = libspmmfarm.la
tests_fuzz_fuzz_safetensors_LDFLAGS = $(SF_FUZZ_LD)
fuzzers: $(SF_FUZZERS)
.PHONY: fuzzers
## common/sf_sha256: libsodium's SHA-256 (libspmmfarm) against the
## runtime's standalone build of the same file, on every length 0..300 and
## a few large inputs, fed in uneven pieces.
check_PROGRAMS += tests/check_sha256
TESTS += tests/check_sha256
tests_check_sha256_SOURCES = tests/check_sha256.c
tests_check_sha256_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_sha256_LDADD = $(CHECK_LDADD) $(SODIUM_LIBS)
tests_check_sha256_LDFLAGS = $(CUDA_LDFLAGS)

## common/sf_matrix_io's dtypes and shapes: float64, convolutions, checkpoints.
check_PROGRAMS += tests/check_tensor
TESTS += tests/check_tensor
tests_check_tensor_SOURCES = tests/check_tensor.c tests/sf_check_io.h
tests_check_tensor_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_tensor_LDADD = $(CHECK_LDADD)
tests_check_tensor_LDFLAGS = $(CUDA_LDFLAGS)

## wire/sf_request: the one search request (options, bounds, canonical
## text, its wire map, the worker's conversion).
check_PROGRAMS += tests/check_request
TESTS += tests/check_request
tests_check_request_SOURCES = tests/check_request.c
tests_check_request_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_request_LDADD = $(CHECK_LDADD) $(MSGPACK_LIBS)
tests_check_request_LDFLAGS = $(CUDA_LDFLAGS)

## the request end to end: submit and local take every search option of
## tune-local, with the same bounds, and each reaches the worker's search
## (a real coordinator and sim worker; the worker's debug log).
TESTS += tests/cli_request.sh
dist_noinst_SCRIPTS += tests/cli_request.sh

## precision tiers through the commands: tune-local's JSON, a store written
## before requests had a type (tests/data/store-pre-request), bf16 bundle
## layers in the runtime and the Python binding (fake driver).
TESTS += tests/cli_precision.sh
dist_noinst_SCRIPTS += tests/cli_precision.sh

## the tier's baselines in every result table (issue 25): bf16's cuBLASLt
## through the RESULT, the store's best (and an older store without it),
## local's table and JSON, tune-local searched and answered from the store.
TESTS += tests/cli_baselines.sh
dist_noinst_SCRIPTS += tests/cli_baselines.sh

## the parts' arrows as the build enforces them (docs/ARCHITECTURE.md): with
## each part library's own compile command, a crafted include across every
## never-arrow fails and an allowed one compiles; no part library sees the
## root; each part's objects call only the parts it sees (nm).
TESTS += tests/arrows.sh
dist_noinst_SCRIPTS += tests/arrows.sh

## deploy (issue 23): checkpoints (common/sf_checkpoint) and `spmmfarm
## import`; the Python package against real torch where a Python has it
## (py_torch.sh: module replacement, checks, the launch path against the fake
## driver) and the end-to-end benchmark's --dry-run (py_e2e.sh).
check_PROGRAMS += tests/check_checkpoint
TESTS += tests/check_checkpoint tests/cli_import.sh tests/py_torch.sh tests/py_e2e.sh
dist_noinst_SCRIPTS += tests/cli_import.sh tests/ckpt_gen.py tests/py_torch.sh tests/py_torch.py \
	tests/py_e2e.sh tests/bench/e2e.py tests/bench/e2e-run.sh tests/bench/launch_overhead.py
tests_check_checkpoint_SOURCES = tests/check_checkpoint.c
tests_check_checkpoint_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_checkpoint_LDADD = $(CHECK_LDADD)
tests_check_checkpoint_LDFLAGS = $(CUDA_LDFLAGS)

## gpu/tcdense: the tensor-core dense kernels against the tier's libraries
## on a GPU (check-gpu.sh, tc-dense.sh); built here, run on the GPU machine.
noinst_PROGRAMS += tests/gpu/tcdense
tests_gpu_tcdense_SOURCES = tests/gpu/tcdense.c
tests_gpu_tcdense_CFLAGS = $(SF_CFLAGS)
tests_gpu_tcdense_LDADD = libspmmfarm.la
tests_gpu_tcdense_LDFLAGS = $(CUDA_LDFLAGS)

## precision tiers (issue 19): tensor-core dense kernels, the problem's
## rounding and reference, the sim backend and searches in every tier;
## cli_bench.sh: bench --precision, its summary, the llm and large suites.
check_PROGRAMS += tests/check_tiers
TESTS += tests/check_tiers tests/cli_bench.sh
dist_noinst_SCRIPTS += tests/cli_bench.sh tests/gpu/tc-dense.sh
EXTRA_DIST += tests/gpu/tc-dense.cases tests/gpu/tc-dense-2.cases
tests_check_tiers_SOURCES = tests/check_tiers.c
tests_check_tiers_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_tiers_LDADD = $(CHECK_LDADD)
tests_check_tiers_LDFLAGS = $(CUDA_LDFLAGS)

## coordinator/sf_ledger: the one commit path of measurements
check_PROGRAMS += tests/check_ledger
TESTS += tests/check_ledger
tests_check_ledger_SOURCES = tests/check_ledger.c $(SF_CHECK_FARM)
tests_check_ledger_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_ledger_LDADD = $(CHECK_LDADD) $(LMDB_LIBS) $(MSGPACK_LIBS)
tests_check_ledger_LDFLAGS = $(CUDA_LDFLAGS)
## the L2 mode in a result record's identity: a cold and a warm timing of
## one config are two records (key bytes, store, dump, ledger, plan).
check_PROGRAMS += tests/check_l2key
TESTS += tests/check_l2key
tests_check_l2key_SOURCES = tests/check_l2key.c tests/sf_check.h tests/sf_check_dir.h
tests_check_l2key_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_l2key_LDADD = $(CHECK_LDADD) $(LMDB_LIBS) $(MSGPACK_LIBS)
tests_check_l2key_LDFLAGS = $(CUDA_LDFLAGS)
## cli_records.sh: tune-local and the farm make identical records (issue 18)
TESTS += tests/cli_records.sh
dist_noinst_SCRIPTS += tests/cli_records.sh

## experiments/sf_benchrun: the resumable suite runner
check_PROGRAMS += tests/check_benchrun
TESTS += tests/check_benchrun
tests_check_benchrun_SOURCES = tests/check_benchrun.c $(SF_CHECK_FARM)
tests_check_benchrun_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_benchrun_LDADD = $(CHECK_LDADD)
tests_check_benchrun_LDFLAGS = $(CUDA_LDFLAGS)

## experiments/sf_rankeval: rank-eval's study (sim backend)
check_PROGRAMS += tests/check_rankeval
TESTS += tests/check_rankeval
tests_check_rankeval_SOURCES = tests/check_rankeval.c $(SF_CHECK_FARM)
tests_check_rankeval_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_rankeval_LDADD = $(CHECK_LDADD)
tests_check_rankeval_LDFLAGS = $(CUDA_LDFLAGS)

## experiments/sf_bench (and worker/sf_searchjson): bench's and proxy-eval's study (sim backend)
check_PROGRAMS += tests/check_bench
TESTS += tests/check_bench
tests_check_bench_SOURCES = tests/check_bench.c $(SF_CHECK_FARM)
tests_check_bench_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_bench_LDADD = $(CHECK_LDADD)
tests_check_bench_LDFLAGS = $(CUDA_LDFLAGS)

## coordinator/sf_farm: the embedded farm (a real worker process of this build)
check_PROGRAMS += tests/check_farm
TESTS += tests/check_farm
tests_check_farm_SOURCES = tests/check_farm.c $(SF_CHECK_FARM)
tests_check_farm_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_farm_LDADD = $(CHECK_LDADD)
tests_check_farm_LDFLAGS = $(CUDA_LDFLAGS)

## the nk layout (issue 23): every nk kernel variant generated and compiled
## for sm_90, config texts, refusals, sim searches in nk
check_PROGRAMS += tests/check_nk
TESTS += tests/check_nk tests/cli_nk.sh
dist_noinst_SCRIPTS += tests/cli_nk.sh tests/gpu/check-gpu-nk.sh tests/gpu/nk_torch.py
tests_check_nk_SOURCES = tests/check_nk.c
tests_check_nk_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_nk_LDADD = $(CHECK_LDADD)
tests_check_nk_LDFLAGS = $(CUDA_LDFLAGS)

## the wgmma dense kernels in nk (issue 23): texts, shared memory, the configs
## nk offers, every one compiled for sm_90a without spills
check_PROGRAMS += tests/check_wgdense
TESTS += tests/check_wgdense
dist_noinst_SCRIPTS += tests/gpu/wgnk.sh
tests_check_wgdense_SOURCES = tests/check_wgdense.c
tests_check_wgdense_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_wgdense_LDADD = $(CHECK_LDADD)
tests_check_wgdense_LDFLAGS = $(CUDA_LDFLAGS)

## gpu/upartscmp: U kernels in parts against one function, bit for bit (issue 22)
dist_noinst_SCRIPTS += tests/gpu/uparts-check.sh
noinst_PROGRAMS += tests/gpu/upartscmp
tests_gpu_upartscmp_SOURCES = tests/gpu/upartscmp.c
tests_gpu_upartscmp_CFLAGS = $(SF_CFLAGS)
tests_gpu_upartscmp_LDADD = libspmmfarm.la
tests_gpu_upartscmp_LDFLAGS = $(CUDA_LDFLAGS)

## rankmodel/sf_rankfind: the rank model of a GPU type, from the store or shipped
check_PROGRAMS += tests/check_rankfind
TESTS += tests/check_rankfind
tests_check_rankfind_SOURCES = tests/check_rankfind.c
tests_check_rankfind_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_rankfind_LDADD = $(CHECK_LDADD)
tests_check_rankfind_LDFLAGS = $(CUDA_LDFLAGS)

## coordinator/sf_client: the farm's client (requests, manifests, SUBMIT,
## following) against a real embedded farm (sim backend)
check_PROGRAMS += tests/check_client
TESTS += tests/check_client
tests_check_client_SOURCES = tests/check_client.c $(SF_CHECK_FARM)
tests_check_client_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_client_LDADD = $(CHECK_LDADD)
tests_check_client_LDFLAGS = $(CUDA_LDFLAGS)

## experiments/sf_answer: a stored answer as a search's result (a real
## embedded farm records the layer first)
check_PROGRAMS += tests/check_answer
TESTS += tests/check_answer
tests_check_answer_SOURCES = tests/check_answer.c $(SF_CHECK_FARM)
tests_check_answer_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_answer_LDADD = $(CHECK_LDADD)
tests_check_answer_LDFLAGS = $(CUDA_LDFLAGS)

## coordinator/sf_sweeprun: a training sweep planned against a real store
## and run on a real embedded farm (sim backend), then resumed
check_PROGRAMS += tests/check_sweeprun
TESTS += tests/check_sweeprun
tests_check_sweeprun_SOURCES = tests/check_sweeprun.c $(SF_CHECK_FARM)
tests_check_sweeprun_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_sweeprun_LDADD = $(CHECK_LDADD)
tests_check_sweeprun_LDFLAGS = $(CUDA_LDFLAGS)

## store/sf_bundlemake, store/sf_bundlecheck, experiments/sf_bundlerun:
## `spmmfarm bundle create` and `verify`'s library (real files, real bundles).
check_PROGRAMS += tests/check_bundlemake tests/check_bundlecheck tests/check_bundlerun
TESTS += tests/check_bundlemake tests/check_bundlecheck tests/check_bundlerun
tests_check_bundlemake_SOURCES = tests/check_bundlemake.c tests/sf_check_bundle.h
tests_check_bundlemake_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_bundlemake_LDADD = $(CHECK_LDADD)
tests_check_bundlemake_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_bundlecheck_SOURCES = tests/check_bundlecheck.c tests/sf_check_bundle.h
tests_check_bundlecheck_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_bundlecheck_LDADD = $(CHECK_LDADD)
tests_check_bundlecheck_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_bundlerun_SOURCES = tests/check_bundlerun.c tests/sf_check_bundle.h tests/fake_libcuda.h
tests_check_bundlerun_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_bundlerun_LDADD = $(CHECK_LDADD)
tests_check_bundlerun_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_bundlerun_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSF_FAKE_LIBCUDA='"$(abs_top_builddir)/tests/.libs/libfakecuda.so"' \
	-DSF_FAKE_LIBCUDAK='"$(abs_top_builddir)/tests/.libs/libfakecudak.so"'
EXTRA_tests_check_bundlerun_DEPENDENCIES = tests/libfakecuda.la tests/libfakecudak.la

## store/sf_storejson: `store dump`'s lines from a real store.
check_PROGRAMS += tests/check_storejson
TESTS += tests/check_storejson
tests_check_storejson_SOURCES = tests/check_storejson.c tests/sf_check_store.c tests/sf_check_store.h
tests_check_storejson_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_storejson_LDADD = $(CHECK_LDADD)
tests_check_storejson_LDFLAGS = $(CUDA_LDFLAGS)

## store/sf_import: model manifests from checkpoints made by tests/ckpt_gen.py.
check_PROGRAMS += tests/check_import
TESTS += tests/check_import
tests_check_import_SOURCES = tests/check_import.c $(SF_CHECK_FARM)
tests_check_import_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_import_LDADD = $(CHECK_LDADD)
tests_check_import_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_import_CPPFLAGS = $(AM_CPPFLAGS) -DSF_TOP_SRCDIR='"$(abs_top_srcdir)"'

## worker/sf_selftest: `spmmfarm selftest` on a CPU (no GPU, its kernels compile).
check_PROGRAMS += tests/check_selftest
TESTS += tests/check_selftest
tests_check_selftest_SOURCES = tests/check_selftest.c
tests_check_selftest_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_selftest_LDADD = $(CHECK_LDADD)
tests_check_selftest_LDFLAGS = $(CUDA_LDFLAGS)

## experiments/sf_layerrows: local's table rows and speedups, read from a
## real LMDB store
check_PROGRAMS += tests/check_layerrows
TESTS += tests/check_layerrows
tests_check_layerrows_SOURCES = tests/check_layerrows.c tests/sf_check_dir.h
tests_check_layerrows_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_layerrows_LDADD = $(CHECK_LDADD)
tests_check_layerrows_LDFLAGS = $(CUDA_LDFLAGS)

## coordinator/sf_tunerun: tune-local's one-layer search on a real embedded
## farm (sim backend) and store; a temporary store when it cannot be used
check_PROGRAMS += tests/check_tunerun
TESTS += tests/check_tunerun
tests_check_tunerun_SOURCES = tests/check_tunerun.c $(SF_CHECK_FARM)
tests_check_tunerun_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_tunerun_LDADD = $(CHECK_LDADD)
tests_check_tunerun_LDFLAGS = $(CUDA_LDFLAGS)

## coordinator/sf_localdef, coordinator/sf_localrun: local's defaults, and
## its campaign on a real embedded farm (sim backend) and store
check_PROGRAMS += tests/check_localdef tests/check_localrun
TESTS += tests/check_localdef tests/check_localrun
tests_check_localdef_SOURCES = tests/check_localdef.c
tests_check_localdef_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_localdef_LDADD = $(CHECK_LDADD)
tests_check_localdef_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_localrun_SOURCES = tests/check_localrun.c $(SF_CHECK_FARM)
tests_check_localrun_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_localrun_LDADD = $(CHECK_LDADD)
tests_check_localrun_LDFLAGS = $(CUDA_LDFLAGS)

## store/sf_lookup: a one-layer search's stored answer by request key, on a
## real LMDB store
check_PROGRAMS += tests/check_lookup
TESTS += tests/check_lookup
tests_check_lookup_SOURCES = tests/check_lookup.c $(SF_CHECK_FARM)
tests_check_lookup_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_lookup_LDADD = $(CHECK_LDADD)
tests_check_lookup_LDFLAGS = $(CUDA_LDFLAGS)

## experiments/sf_tunestore, experiments/sf_searchsetup: tune-local's store
## around a real embedded farm's search (sim backend, LMDB); where a search
## runs (GPU, device, rank model)
check_PROGRAMS += tests/check_tunestore tests/check_searchsetup
TESTS += tests/check_tunestore tests/check_searchsetup
tests_check_tunestore_SOURCES = tests/check_tunestore.c $(SF_CHECK_FARM)
tests_check_tunestore_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_tunestore_LDADD = $(CHECK_LDADD)
tests_check_tunestore_LDFLAGS = $(CUDA_LDFLAGS)
tests_check_searchsetup_SOURCES = tests/check_searchsetup.c tests/sf_check_dir.h
tests_check_searchsetup_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_searchsetup_LDADD = $(CHECK_LDADD)
tests_check_searchsetup_LDFLAGS = $(CUDA_LDFLAGS)

## coordinator/sf_trainrun: train's farm form (a sweep campaign on a real
## embedded farm, sim backend, then TRAIN_REQ) and its store form
check_PROGRAMS += tests/check_trainrun
TESTS += tests/check_trainrun
tests_check_trainrun_SOURCES = tests/check_trainrun.c $(SF_CHECK_FARM)
tests_check_trainrun_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_trainrun_LDADD = $(CHECK_LDADD)
tests_check_trainrun_LDFLAGS = $(CUDA_LDFLAGS)

check_PROGRAMS += tests/check_sort
TESTS += tests/check_sort
tests_check_sort_SOURCES = tests/check_sort.c
tests_check_sort_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_sort_LDADD = $(CHECK_LDADD)
tests_check_sort_LDFLAGS = $(CUDA_LDFLAGS)

## proxygen/sf_tprior: T's prior order, checked against the H100's
## measured decode problems (docs/bench/h100/tc-sparse/).
check_PROGRAMS += tests/check_tprior
TESTS += tests/check_tprior
tests_check_tprior_SOURCES = tests/check_tprior.c
tests_check_tprior_CPPFLAGS = $(AM_CPPFLAGS) -DSF_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_check_tprior_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_tprior_LDADD = $(CHECK_LDADD)
tests_check_tprior_LDFLAGS = $(CUDA_LDFLAGS)

## cli/ thinned (session 16): coordinator/sf_coord's dispatch figures as
## JSON (`coordinator --stats`), moved out of cli/cmd_coordinator.c
check_PROGRAMS += tests/check_coordstats
TESTS += tests/check_coordstats
tests_check_coordstats_SOURCES = tests/check_coordstats.c
tests_check_coordstats_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_coordstats_LDADD = $(CHECK_LDADD)
tests_check_coordstats_LDFLAGS = $(CUDA_LDFLAGS)

## template T's rank model (issue 20): T sweeps, the T collector and model,
## the rank strategy of a T search (check_trank); cli_trank.sh runs
## sweep-local on a tiny T sweep and train --family T on the sim backend
check_PROGRAMS += tests/check_trank
TESTS += tests/check_trank tests/cli_trank.sh
dist_noinst_SCRIPTS += tests/cli_trank.sh
tests_check_trank_SOURCES = tests/check_trank.c tests/sf_check_dir.h tests/sf_check_trank.h
tests_check_trank_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_trank_LDADD = $(CHECK_LDADD)
tests_check_trank_LDFLAGS = $(CUDA_LDFLAGS)

## template T's rank model on the farm (issue 20): the coordinator sends the
## store's (or a shipped) T model in a bf16 rank JOB, the worker's T search
## ranks with it; without one, the prior's picks and the reason
check_PROGRAMS += tests/check_trankfarm
TESTS += tests/check_trankfarm
tests_check_trankfarm_SOURCES = tests/check_trankfarm.c tests/sf_check_dir.h tests/sf_check_trank.h
tests_check_trankfarm_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_trankfarm_LDADD = $(CHECK_LDADD)
tests_check_trankfarm_LDFLAGS = $(CUDA_LDFLAGS)

## rankmodel: feature versions (version 1 models on version 2's features)
check_PROGRAMS += tests/check_rankmodel_v1
TESTS += tests/check_rankmodel_v1
tests_check_rankmodel_v1_SOURCES = tests/check_rankmodel_v1.c
tests_check_rankmodel_v1_CFLAGS = $(SF_CFLAGS) $(CHECK_CFLAGS)
tests_check_rankmodel_v1_LDADD = $(CHECK_LDADD)
tests_check_rankmodel_v1_LDFLAGS = $(CUDA_LDFLAGS)
