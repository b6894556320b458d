## coordinator/: the farm's coordinator; for now its wire protocol
## (sf_proto: messages, schema, bounded MessagePack codec) and the CurveZMQ
## layer it uses (common/sf_curve, listed here to keep common/local.mk as is).
libspmmfarm_la_SOURCES += \
	coordinator/sf_proto.c coordinator/sf_proto.h \
	common/sf_curve.c common/sf_curve.h
