## coordinator/: the farm's coordinator (leases, campaigns, the store's
## writer). It speaks to workers and clients through wire/ only.
## Its library sees the wire, the store, proxygen and the rank model (and
## what they reach), never the worker.
SF_PARTS_SPEC += coordinator:coordinator,common,wire,store,proxygen,rankmodel,bundle,runtime
SF_PART_LIBS += libsf_coordinator.la
noinst_LTLIBRARIES += libsf_coordinator.la
libsf_coordinator_la_CPPFLAGS = -I$(SF_PARTS)/coordinator $(SF_EXT_CPPFLAGS)
$(libsf_coordinator_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_coordinator_la_SOURCES =
libsf_coordinator_la_SOURCES += \
	coordinator/sf_coord.c coordinator/sf_coord.h coordinator/sf_coord_private.h \
	coordinator/sf_peers.c coordinator/sf_peers.h \
	coordinator/sf_lease.c coordinator/sf_lease.h \
	coordinator/sf_plan.c coordinator/sf_plan.h \
	coordinator/sf_clients.c coordinator/sf_clients.h \
	coordinator/sf_training.c coordinator/sf_training.h \
	coordinator/sf_exportjob.c coordinator/sf_exportjob.h
libsf_coordinator_la_SOURCES += \
	coordinator/sf_budget.c coordinator/sf_budget.h \
	coordinator/sf_campaign.c coordinator/sf_campaign.h
libsf_coordinator_la_SOURCES += \
	coordinator/sf_metrics.c coordinator/sf_metrics.h
libsf_coordinator_la_SOURCES += \
	coordinator/sf_ledger.c coordinator/sf_ledger.h
libsf_coordinator_la_SOURCES += \
	coordinator/sf_farm.c coordinator/sf_farm.h
libsf_coordinator_la_SOURCES += \
	coordinator/sf_client.c coordinator/sf_client.h
libsf_coordinator_la_SOURCES += \
	coordinator/sf_sweeprun.c coordinator/sf_sweeprun.h
libsf_coordinator_la_SOURCES += coordinator/sf_tunerun.c coordinator/sf_tunerun.h
libsf_coordinator_la_SOURCES += \
	coordinator/sf_localdef.c coordinator/sf_localdef.h \
	coordinator/sf_localrun.c coordinator/sf_localrun.h
libsf_coordinator_la_SOURCES += coordinator/sf_trainrun.c coordinator/sf_trainrun.h
