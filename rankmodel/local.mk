## rankmodel/: the rank model (features, XGBoost training and scoring, the
## models in the store) and training sweeps (docs/RANKMODEL.md).
## Its library sees proxygen and the store (and what they reach), never the
## worker: the rank model is plugged into the search, not the reverse.
SF_PARTS_SPEC += rankmodel:rankmodel,common,proxygen,store,bundle,runtime
SF_PART_LIBS += libsf_rankmodel.la
noinst_LTLIBRARIES += libsf_rankmodel.la
libsf_rankmodel_la_CPPFLAGS = -I$(SF_PARTS)/rankmodel $(SF_EXT_CPPFLAGS) -I$(top_builddir)/rankmodel \
	-DSF_RANKMODELS_DIR='"$(rankmodelsdir)"' -DSF_SOURCE_DIR='"$(abs_top_srcdir)"'
$(libsf_rankmodel_la_OBJECTS): $(SF_PARTS)/.stamp
libsf_rankmodel_la_SOURCES =
libsf_rankmodel_la_SOURCES += \
	rankmodel/sf_features.c rankmodel/sf_features.h \
	rankmodel/sf_rankmodel.c rankmodel/sf_rankmodel.h \
	rankmodel/sf_rankdata.c rankmodel/sf_rankdata.h \
	rankmodel/sf_rankstore.c rankmodel/sf_rankstore.h \
	rankmodel/sf_rankfind.c rankmodel/sf_rankfind.h \
	rankmodel/sf_sweep.c rankmodel/sf_sweep.h \
	rankmodel/sf_tsweep.c rankmodel/sf_tsweep.h \
	rankmodel/sf_modelsource.c rankmodel/sf_modelsource.h \
	rankmodel/sf_tfeatures.c rankmodel/sf_tfeatures.h
nodist_libsf_rankmodel_la_SOURCES = rankmodel/sf_rankmodel_conf.inc

# conf/rankmodel.conf built into the program as the default settings: the
# file stays the one place the hyperparameters are written.
BUILT_SOURCES = rankmodel/sf_rankmodel_conf.inc
CLEANFILES = rankmodel/sf_rankmodel_conf.inc
rankmodel/sf_rankmodel_conf.inc: $(srcdir)/conf/rankmodel.conf
	$(AM_V_GEN)$(MKDIR_P) rankmodel && \
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(srcdir)/conf/rankmodel.conf > $@.tmp && \
	mv $@.tmp $@

# The settings and sweeps, installed beside the program's data.
rankmodelconfdir = $(pkgdatadir)
dist_rankmodelconf_DATA = conf/rankmodel.conf
sweepsdir = $(pkgdatadir)/sweeps
dist_sweeps_DATA = conf/sweeps/default.conf

# Trained rank models shipped with the program (rankmodel/sf_rankfind.h):
# a first campaign on a known GPU type ranks with one (SF_RANKMODELS_DIR,
# SF_SOURCE_DIR in libsf_rankmodel_la_CPPFLAGS above).
rankmodelsdir = $(pkgdatadir)/rankmodels
dist_rankmodels_DATA = conf/rankmodels/h100-sxm-80gb-v2.json
