/* placeholder, being written. */
#include "cli/sf_cli.h"
#include <stdio.h>
int sf_cmd_devices (int argc, char **argv) { (void) argc; (void) argv; fprintf (stderr, "not yet\n"); return 1; }
