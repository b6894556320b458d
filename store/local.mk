## store/: the LMDB store (records, keys, batches; the records' values are
## schema tables run by common/sf_schema, the engine of the wire's messages
## too); bundles from the store (sf_export).
## Its library sees proxygen and the bundle format (and what they reach):
## the store knows no farm.
SF_PARTS_SPEC += store:store,common,proxygen,bundle,runtime
SF_PART_LIBS += libsf_store.la
noinst_LTLIBRARIES += libsf_store.la
libsf_store_la_CPPFLAGS = -I$(SF_PARTS)/store $(SF_EXT_CPPFLAGS)
$(libsf_store_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_store_la_SOURCES =
libsf_store_la_SOURCES += \
	store/sf_record.c store/sf_record.h \
	store/sf_record_codec.c \
	store/sf_record_priv.h \
	store/sf_store.c store/sf_store.h \
	store/sf_store_batch.c \
	store/sf_store_read.c \
	store/sf_store_priv.h \
	store/sf_storecheck.c store/sf_storecheck.h \
	store/sf_export.c store/sf_export.h
libsf_store_la_SOURCES += \
	store/sf_bundlemake.c store/sf_bundlemake.h \
	store/sf_bundlecheck.c store/sf_bundlecheck.h
libsf_store_la_SOURCES += store/sf_storekernel.c store/sf_storekernel.h
libsf_store_la_SOURCES += store/sf_storejson.c store/sf_storejson.h
libsf_store_la_SOURCES += store/sf_import.c store/sf_import.h
libsf_store_la_SOURCES += store/sf_lookup.c store/sf_lookup.h
