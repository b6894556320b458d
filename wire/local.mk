## wire/: what travels between the farm's processes: the protocol (sf_proto:
## messages and their schema tables, run by the table engine
## common/sf_schema, and sf_mpread: the wire's dialect of its decoder and
## the request's hooks) and the one search request
## (sf_request: every search option, its bounds, its canonical text, its
## command-line options and help). The CurveZMQ layer the sockets use,
## common/sf_curve, is listed in common/local.mk.
## Its library sees wire/ and common/: the wire knows no component.
SF_PARTS_SPEC += wire:wire,common
SF_PART_LIBS += libsf_wire.la
noinst_LTLIBRARIES += libsf_wire.la
libsf_wire_la_CPPFLAGS = -I$(SF_PARTS)/wire $(SF_EXT_CPPFLAGS)
$(libsf_wire_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_wire_la_SOURCES =
libsf_wire_la_SOURCES += \
	wire/sf_proto.c wire/sf_proto.h \
	wire/sf_mpread.c wire/sf_mpread.h \
	wire/sf_request.c wire/sf_request.h
libsf_wire_la_SOURCES += wire/sf_protokernel.c wire/sf_protokernel.h
libsf_wire_la_SOURCES += wire/sf_baseline.h
