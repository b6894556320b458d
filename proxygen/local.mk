## proxygen/: kernel templates, configs, reordering, code emission, compiles.
## Its library sees proxygen/ and common/ but the driver loader: proxygen
## knows no GPU and no farm.
SF_PARTS_SPEC += proxygen:proxygen,common-sf_cudadrv.h
SF_PART_LIBS += libsf_proxygen.la
noinst_LTLIBRARIES += libsf_proxygen.la
libsf_proxygen_la_CPPFLAGS = -I$(SF_PARTS)/proxygen $(SF_EXT_CPPFLAGS)
$(libsf_proxygen_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_proxygen_la_SOURCES =
libsf_proxygen_la_SOURCES += \
	proxygen/sf_panels.c proxygen/sf_panels.h \
	proxygen/sf_config.c proxygen/sf_config.h \
	proxygen/sf_space.c proxygen/sf_space.h \
	proxygen/sf_emit.c proxygen/sf_emit.h \
	proxygen/sf_emit_cuda.c proxygen/sf_emit_cuda.h \
	proxygen/sf_jit.c proxygen/sf_jit.h \
	proxygen/sf_uparts.c proxygen/sf_uparts.h \
	proxygen/sf_kcache.c proxygen/sf_kcache.h \
	proxygen/sf_cost.c proxygen/sf_cost.h \
	proxygen/sf_dkernel.c proxygen/sf_dkernel.h \
	proxygen/sf_jitcache.c proxygen/sf_jitcache.h \
	proxygen/sf_tcdense.c proxygen/sf_tcdense.h \
	proxygen/sf_wgdense.c proxygen/sf_wgdense.h \
	proxygen/sf_tkernel.c proxygen/sf_tkernel.h \
	proxygen/sf_tprior.c proxygen/sf_tprior.h \
	proxygen/sf_tencode.c proxygen/sf_tencode.h
