## experiments/: studies run over suites of problems (docs/ARCHITECTURE.md):
## the resumable suite runner that bench, proxy-eval and rank-eval share
## (sf_benchrun) and bench's charts (sf_benchplot).
libspmmfarm_la_SOURCES += \
	experiments/sf_benchrun.c experiments/sf_benchrun.h \
	experiments/sf_benchplot.c experiments/sf_benchplot.h \
	experiments/sf_rankeval.c experiments/sf_rankeval.h \
	experiments/sf_bench.c experiments/sf_bench.h
