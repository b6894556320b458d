## worker/: measuring on one GPU, the sim model, the search strategies, the
## farm's job code and worker process (docs/ARCHITECTURE.md).
## Its library sees the wire, proxygen, the rank model (and what they
## reach), never the coordinator.
SF_PARTS_SPEC += worker:worker,common,proxygen,wire,rankmodel,store,bundle,runtime
SF_PART_LIBS += libsf_worker.la
noinst_LTLIBRARIES += libsf_worker.la
libsf_worker_la_CPPFLAGS = -I$(SF_PARTS)/worker $(SF_EXT_CPPFLAGS)
$(libsf_worker_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_worker_la_SOURCES =
libsf_worker_la_SOURCES += \
	worker/sf_gpu.c worker/sf_gpu.h worker/sf_gpu_libs.c worker/sf_gpu_priv.h \
	worker/sf_sim.c worker/sf_sim.h \
	worker/sf_search.c worker/sf_search.h worker/sf_tsearch.c worker/sf_tsearch.h worker/sf_densecand.c worker/sf_densecand.h \
	worker/sf_empty.c worker/sf_empty.h \
	worker/sf_measure.c worker/sf_measure.h \
	worker/sf_timememo.c worker/sf_timememo.h worker/sf_searchctx.c worker/sf_searchctx.h \
	worker/sf_searchbase.c worker/sf_searchbase.h
libsf_worker_la_SOURCES += \
	worker/sf_jobrun.c worker/sf_jobrun.h \
	worker/sf_worker.c worker/sf_worker.h \
	worker/sf_matcache.c worker/sf_matcache.h \
	worker/sf_jobthread.c worker/sf_jobthread.h \
	worker/sf_hello.c worker/sf_hello.h
libsf_worker_la_SOURCES += \
	worker/sf_searchjson.c worker/sf_searchjson.h
libsf_worker_la_SOURCES += worker/sf_selftest.c worker/sf_selftest.h
