## runtime/: libspmmfarm-rt, the installed deployment library. It depends on
## nothing but libc, libsodium (to check a bundle's ed25519 signature) and
## the CUDA driver (dlopen'ed): it does not link libspmmfarm.la, CZMQ,
## cJSON... Only the sfrt_ API is exported.
lib_LTLIBRARIES = runtime/libspmmfarm-rt.la
include_HEADERS = runtime/spmmfarm_rt.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = runtime/spmmfarm-rt.pc
EXTRA_DIST += runtime/spmmfarm-rt.pc.in

runtime_libspmmfarm_rt_la_SOURCES = \
	runtime/sfrt.c runtime/spmmfarm_rt.h \
	runtime/sf_manifest.c runtime/sf_manifest.h \
	runtime/sf_json.c runtime/sf_json.h \
	common/sf_sha256.c common/sf_sha256.h \
	common/sf_tier.c common/sf_tier.h
# SF_SHA256_STANDALONE: the runtime's own SHA-256; libsodium only for the
# bundle signature's ed25519 check (docs/DECISIONS.md, issue 24).
## It sees runtime/ and the two libc-only leaves of common/ it is built with
## (docs/ARCHITECTURE.md: the runtime stands alone).
SF_PARTS_SPEC += runtime:runtime,common/sf_sha256.h,common/sf_tier.h
runtime_libspmmfarm_rt_la_CPPFLAGS = -I$(SF_PARTS)/runtime $(CUDA_CFLAGS) $(SODIUM_CFLAGS) -DSF_SHA256_STANDALONE
$(runtime_libspmmfarm_rt_la_OBJECTS): $(SF_PARTS)/.stamp
runtime_libspmmfarm_rt_la_CFLAGS = $(SF_CFLAGS)
# Interface version current:revision:age (libtool's rules, not the package's).
runtime_libspmmfarm_rt_la_LDFLAGS = -version-info 1:0:1 -export-symbols-regex '^sfrt_' \
	-no-undefined
runtime_libspmmfarm_rt_la_LIBADD = $(SODIUM_LIBS) -lpthread -ldl

## The manifest schema is one implementation shared with the main library,
## which also holds the bundle writer and reader (bundle/sf_bundle.c) and,
## for `spmmfarm bundle verify`, the runtime itself (no shared-library
## dependency of the program): the runtime part's library, the same sources
## under the same include tree.
SF_PART_LIBS += libsf_runtime.la
noinst_LTLIBRARIES += libsf_runtime.la
libsf_runtime_la_CPPFLAGS = -I$(SF_PARTS)/runtime $(SF_EXT_CPPFLAGS)
$(libsf_runtime_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_runtime_la_SOURCES = \
	runtime/sfrt.c runtime/spmmfarm_rt.h \
	runtime/sf_manifest.c runtime/sf_manifest.h \
	runtime/sf_json.c runtime/sf_json.h

## Examples (built, not installed): the C runtime demo; the Python binding
## and the PyTorch demo ship in the tarball.
noinst_PROGRAMS = examples/rt_demo
examples_rt_demo_SOURCES = examples/rt_demo.c
examples_rt_demo_CPPFLAGS = -I$(top_srcdir)/runtime $(CUDA_CFLAGS)
examples_rt_demo_CFLAGS = $(SF_CFLAGS)
examples_rt_demo_LDADD = runtime/libspmmfarm-rt.la -ldl -lm

# The Python binding, installed as a plain module next to the data files.
pythonmoddir = $(pkgdatadir)/python
dist_pythonmod_DATA = python/spmmfarm_rt.py
EXTRA_DIST += examples/torch_demo.py examples/README.md
