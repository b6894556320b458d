## experiments/: studies run over suites of problems (docs/ARCHITECTURE.md):
## the resumable suite runner that bench, proxy-eval and rank-eval share
## (sf_benchrun) and bench's charts (sf_benchplot).
## Its library sees the worker, the rank model, the store and proxygen (and
## what they reach), never the coordinator: experiments run searches, not farms.
SF_PARTS_SPEC += experiments:experiments,common,proxygen,worker,wire,rankmodel,store,bundle,runtime
SF_PART_LIBS += libsf_experiments.la
noinst_LTLIBRARIES += libsf_experiments.la
libsf_experiments_la_CPPFLAGS = -I$(SF_PARTS)/experiments $(SF_EXT_CPPFLAGS)
$(libsf_experiments_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_experiments_la_SOURCES =
libsf_experiments_la_SOURCES += \
	experiments/sf_benchrun.c experiments/sf_benchrun.h \
	experiments/sf_benchplot.c experiments/sf_benchplot.h \
	experiments/sf_rankeval.c experiments/sf_rankeval.h \
	experiments/sf_bench.c experiments/sf_bench.h
libsf_experiments_la_SOURCES += \
	experiments/sf_answer.c experiments/sf_answer.h
libsf_experiments_la_SOURCES += experiments/sf_bundlerun.c experiments/sf_bundlerun.h
libsf_experiments_la_SOURCES += experiments/sf_layerrows.c experiments/sf_layerrows.h
libsf_experiments_la_SOURCES += experiments/sf_tunestore.c experiments/sf_tunestore.h
libsf_experiments_la_SOURCES += experiments/sf_searchsetup.c experiments/sf_searchsetup.h
