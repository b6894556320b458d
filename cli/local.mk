## cli/: the spmmfarm program; one file per subcommand.
spmmfarm_SOURCES += \
	cli/spmmfarm.c cli/sf_cli.c cli/sf_cli.h \
	cli/cmd_gen.c cli/cmd_inspect.c cli/cmd_reference.c \
	cli/cmd_suite.c cli/cmd_devices.c cli/cmd_tune_local.c \
	cli/sf_progress.c cli/sf_progress.h
spmmfarm_SOURCES += cli/cmd_bundle.c
