## worker/: measurement on one GPU (and, later, the farm's worker process).
libspmmfarm_la_SOURCES += \
	worker/sf_gpu.c worker/sf_gpu.h worker/sf_gpu_libs.c worker/sf_gpu_priv.h \
	worker/sf_sim.c worker/sf_sim.h \
	worker/sf_search.c worker/sf_search.h worker/sf_tsearch.c worker/sf_tsearch.h worker/sf_densecand.c worker/sf_densecand.h \
	worker/sf_empty.c worker/sf_empty.h \
	worker/sf_measure.c worker/sf_measure.h
libspmmfarm_la_SOURCES += \
	worker/sf_jobrun.c worker/sf_jobrun.h \
	worker/sf_worker.c worker/sf_worker.h \
	worker/sf_matcache.c worker/sf_matcache.h \
	worker/sf_jobthread.c worker/sf_jobthread.h \
	worker/sf_hello.c worker/sf_hello.h
libspmmfarm_la_SOURCES += \
	worker/sf_searchjson.c worker/sf_searchjson.h
