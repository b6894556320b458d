/*  spmmfarm keygen: a CurveZMQ certificate for a coordinator, a worker or a
    client (docs/CLUSTER.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_curve.h"
#include "common/sf_error.h"

static const char *s_help =
    "usage: spmmfarm keygen DIR [--name NAME] [--json]\n\n"
    "Makes a CurveZMQ key pair as two CZMQ certificate files:\n"
    "  DIR/NAME.cert         the public key: copy it to the coordinator's\n"
    "                        allow-list (a worker's or a client's), or to the\n"
    "                        workers and clients (the coordinator's)\n"
    "  DIR/NAME.cert_secret  the secret key (mode 0600): it never leaves DIR\n"
    "DIR is created (mode 0700) if it does not exist. An existing secret is\n"
    "never overwritten (exit 2). See docs/CLUSTER.md for a farm's setup.\n\n"
    SF_CLI_HELP_OPTIONS (18);

int
sf_cmd_keygen (int argc, char **argv)
{
    char name[SF_CURVE_NAME_MAX + 2];  /* one more: an overlong name is reported, not cut */
    sf_curve_default_name (name, sizeof name);
    const char *given = NULL;
    bool json = false;
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_STRLEN ("name", &given, 0, SF_CURVE_NAME_MAX, "--name is longer than 64 characters",
                           SF_CLI_DOC ("NAME", "the certificate's name: letters, digits, '.', '_', '-'\n"
                                               "(default: this machine's short host name)")),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_JSON_DOC),
        SF_CLI_OPT_END
    };
    _Static_assert (SF_CURVE_NAME_MAX == 64, "--name's message says the bound");
    int rc = sf_cli_options ("keygen", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    if (given)
        snprintf (name, sizeof name, "%s", given);
    if (optind + 1 != argc)
        return sf_cli_usage ("keygen", "expected exactly one DIR");
    const char *dir = argv[optind];
    char public_txt[SF_CURVE_KEY_TXT];
    rc = sf_curve_keygen (dir, name, public_txt);
    if (rc == SF_ERR_EXISTS) {
        sf_cli_fail ("keygen", rc);
        return SF_EXIT_USAGE;  /* the user named an existing key: bad input */
    }
    if (rc != SF_OK)
        return sf_cli_fail ("keygen", rc);
    char pub[SF_CURVE_PATH_MAX + 1];
    snprintf (pub, sizeof pub, "%s/%s.cert", dir, name);
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "name", name);
        cJSON_AddStringToObject (root, "public", pub);
        char sec[SF_CURVE_PATH_MAX + 16];
        snprintf (sec, sizeof sec, "%s_secret", pub);
        cJSON_AddStringToObject (root, "secret", sec);
        cJSON_AddStringToObject (root, "public_key", public_txt);
        return sf_cli_print_json (&root);
    }
    printf ("public:     %s  (copy it where it must be trusted)\n", pub);
    printf ("secret:     %s_secret  (keep it here)\n", pub);
    printf ("public key: %s\n", public_txt);
    return SF_EXIT_OK;
}
