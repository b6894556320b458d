## coordinator/: the farm's coordinator; for now its wire protocol
## (sf_proto: messages, schema, bounded MessagePack codec). The CurveZMQ
## layer it uses, common/sf_curve, is listed in common/local.mk.
libspmmfarm_la_SOURCES += \
	coordinator/sf_proto.c coordinator/sf_proto.h
libspmmfarm_la_SOURCES += \
	coordinator/sf_coord.c coordinator/sf_coord.h \
	coordinator/sf_exportjob.c coordinator/sf_exportjob.h
