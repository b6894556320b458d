## common/: errors, logging, hashing, random numbers, sparse matrices and
## their files, the CPU reference, benchmark suites, the CUDA driver loader,
## CurveZMQ certificates and allow-lists, and the one bounded MessagePack
## codec that the wire and the store share (sf_mpack: the reader, tokens and
## documents; sf_mpack_out: the writer; sf_schema, sf_schema_read: the table
## engine that runs the wire's messages and the store's records).
## Its library sees common/ only: common knows no component.
SF_PARTS_SPEC += common:common
SF_PART_LIBS += libsf_common.la
noinst_LTLIBRARIES += libsf_common.la
libsf_common_la_CPPFLAGS = -I$(SF_PARTS)/common $(SF_EXT_CPPFLAGS)
$(libsf_common_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_common_la_SOURCES =
libsf_common_la_SOURCES += common/sf_kernel.c common/sf_kernel.h
libsf_common_la_SOURCES += \
	common/sf_error.c common/sf_error.h \
	common/sf_log.c common/sf_log.h \
	common/sf_clock.c common/sf_clock.h \
	common/sf_sha256.c common/sf_sha256.h \
	common/sf_rng.c common/sf_rng.h \
	common/sf_buf.c common/sf_buf.h \
	common/sf_mpack.c common/sf_mpack.h \
	common/sf_mpack_out.c common/sf_mpack_out.h \
	common/sf_schema.c common/sf_schema.h \
	common/sf_schema_read.c common/sf_schema_read.h \
	common/sf_matrix.c common/sf_matrix.h \
	common/sf_matrix_io.c common/sf_matrix_io.h \
	common/sf_smtx.c common/sf_mtx.c common/sf_npy.c common/sf_safetensors.c \
	common/sf_reference.c common/sf_reference.h \
	common/sf_suite.c common/sf_suite.h common/sf_zpl.c common/sf_zpl.h \
	common/sf_cudadrv.c common/sf_cudadrv.h \
	common/sf_curve.c common/sf_curve.h \
	common/sf_sign.c common/sf_sign.h \
	common/sf_suggest.c common/sf_suggest.h \
	common/sf_tier.c common/sf_tier.h \
	common/sf_checkpoint.c common/sf_checkpoint.h \
	common/sf_sort.c common/sf_sort.h
