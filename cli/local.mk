## cli/: the spmmfarm program; one file per subcommand.
spmmfarm_SOURCES += \
	cli/spmmfarm.c cli/sf_cli.c cli/sf_cli.h \
	cli/cmd_gen.c cli/cmd_inspect.c cli/cmd_reference.c \
	cli/cmd_suite.c cli/cmd_devices.c cli/cmd_tune_local.c cli/cmd_bench.c cli/cmd_selftest.c \
	cli/sf_progress.c cli/sf_progress.h \
	cli/sf_tune.c cli/sf_tune.h
spmmfarm_SOURCES += cli/cmd_store.c
spmmfarm_SOURCES += cli/cmd_keygen.c
spmmfarm_SOURCES += cli/cmd_bundle.c
spmmfarm_SOURCES += cli/sf_client.c cli/sf_client.h cli/cmd_coordinator.c cli/cmd_submit.c cli/cmd_status.c cli/cmd_local.c
spmmfarm_SOURCES += cli/cmd_export.c
spmmfarm_SOURCES += cli/cmd_import.c
spmmfarm_SOURCES += cli/cmd_worker.c
spmmfarm_SOURCES += cli/sf_benchopts.c cli/sf_benchopts.h \
	cli/cmd_train.c cli/cmd_sweep_local.c cli/cmd_rank_eval.c
spmmfarm_SOURCES += cli/sf_layer_table.c cli/sf_layer_table.h
spmmfarm_SOURCES += cli/cmd_metrics.c
