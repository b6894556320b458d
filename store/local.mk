## store/: the LMDB store (records, keys, batches) and the checked
## MessagePack helpers it shares with the farm's protocol; bundles from the
## store (sf_export).
libspmmfarm_la_SOURCES += \
	store/sf_mpack.c store/sf_mpack.h \
	store/sf_record.c store/sf_record.h \
	store/sf_record_decode.c \
	store/sf_record_encode.c \
	store/sf_record_priv.h \
	store/sf_store.c store/sf_store.h \
	store/sf_store_batch.c \
	store/sf_store_read.c \
	store/sf_store_priv.h \
	store/sf_storecheck.c store/sf_storecheck.h \
	store/sf_export.c store/sf_export.h
