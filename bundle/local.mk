## bundle/: kernel bundles (NAME.bundle/) in the main program: the writer
## and the loader (sf_bundle), through the runtime's manifest schema
## (docs/BUNDLES.md). The store's export and `spmmfarm bundle` use it.
## Its library sees bundle/, common/ and the runtime's headers.
SF_PARTS_SPEC += bundle:bundle,common,runtime
SF_PART_LIBS += libsf_bundle.la
noinst_LTLIBRARIES += libsf_bundle.la
libsf_bundle_la_CPPFLAGS = -I$(SF_PARTS)/bundle $(SF_EXT_CPPFLAGS)
$(libsf_bundle_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_bundle_la_SOURCES =
libsf_bundle_la_SOURCES += \
	bundle/sf_bundle.c bundle/sf_bundle.h
