/*  spmmfarm devices: the GPUs the CUDA driver sees.

    No driver or no GPU is an answer, not a failure: exit 0 and say why. A
    driver that loads and then fails (cuInit error other than "no device", a
    library that is not a driver) is a runtime failure: exit 1. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_cudadrv.h"
#include "common/sf_error.h"

static const char *s_help =
    "usage: spmmfarm devices [--json]\n\n"
    "Lists the GPUs that the CUDA driver sees: index, name, SM count, compute\n"
    "capability, memory, and the GPU type under which the store keeps their\n"
    "results (NAME/sm_XY/Nsm). Without an NVIDIA driver or GPU it says so and\n"
    "exits 0. The driver is loaded at run time (libcuda.so.1, or the library\n"
    "named by SPMMFARM_LIBCUDA).\n\n"
    SF_CLI_HELP_OPTIONS (18);

#define S_GIB (1024.0 * 1024.0 * 1024.0)

/* ---- no GPU ---------------------------------------------------------------- */

/*  The answer when there is nothing to list; driver is "" when unknown. */
static int
s_report_none (bool json, const char *reason, const char *driver)
{
    if (!json) {
        printf ("no CUDA-capable GPU: %s\n", reason);
        return SF_EXIT_OK;
    }
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddItemToObject (root, "devices", cJSON_CreateArray ());
    if (*driver)
        cJSON_AddStringToObject (root, "driver", driver);
    else
        cJSON_AddNullToObject (root, "driver");
    cJSON_AddStringToObject (root, "reason", reason);
    return sf_cli_print_json (&root);
}

/* ---- GPUs ---------------------------------------------------------------- */

static cJSON *
s_device_json (const sf_device_info_t *d)
{
    char cc[16];
    snprintf (cc, sizeof cc, "%d.%d", d->cc_major, d->cc_minor);
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "index", d->ordinal);
    cJSON_AddStringToObject (o, "name", d->name);
    cJSON_AddNumberToObject (o, "sm_count", d->sm_count);
    cJSON_AddStringToObject (o, "compute_capability", cc);
    cJSON_AddNumberToObject (o, "memory_bytes", (double) d->total_mem_bytes);
    cJSON_AddStringToObject (o, "driver_version", d->driver_version_str);
    cJSON_AddStringToObject (o, "gpu_type", d->gpu_type);
    cJSON_AddStringToObject (o, "uuid", d->uuid);
    cJSON_AddStringToObject (o, "pci_bus_id", d->pci_bus_id);
    cJSON_AddNumberToObject (o, "max_threads_per_block", d->max_threads_per_block);
    cJSON_AddNumberToObject (o, "max_threads_per_sm", d->max_threads_per_sm);
    cJSON_AddNumberToObject (o, "max_blocks_per_sm", d->max_blocks_per_sm);
    cJSON_AddNumberToObject (o, "warp_size", d->warp_size);
    cJSON_AddNumberToObject (o, "max_registers_per_block", d->max_regs_per_block);
    cJSON_AddNumberToObject (o, "max_registers_per_sm", d->max_regs_per_sm);
    cJSON_AddNumberToObject (o, "max_shared_per_block", d->max_shared_per_block);
    cJSON_AddNumberToObject (o, "max_shared_per_block_optin", d->max_shared_per_block_optin);
    cJSON_AddNumberToObject (o, "max_shared_per_sm", d->max_shared_per_sm);
    cJSON_AddNumberToObject (o, "l2_bytes", d->l2_bytes);
    cJSON_AddNumberToObject (o, "clock_khz", d->clock_khz);
    cJSON_AddNumberToObject (o, "memory_clock_khz", d->memory_clock_khz);
    cJSON_AddNumberToObject (o, "memory_bus_width_bits", d->memory_bus_width_bits);
    cJSON_AddNumberToObject (o, "compute_mode", d->compute_mode);
    return o;
}

static int
s_print_json (const sf_cudadrv_t *drv, const char *driver, const sf_device_info_t *devices,
              int count)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON *list = cJSON_AddArrayToObject (root, "devices");
    for (int i = 0; i < count; i++)
        cJSON_AddItemToArray (list, s_device_json (&devices[i]));
    cJSON_AddStringToObject (root, "driver", driver);
    cJSON_AddStringToObject (root, "library", sf_cudadrv_path (drv));
    const char *names[64];
    size_t missing = sf_cudadrv_missing (drv, names, 64);
    cJSON *lacks = cJSON_AddArrayToObject (root, "missing_symbols");
    for (size_t i = 0; i < missing && i < 64; i++)
        cJSON_AddItemToArray (lacks, cJSON_CreateString (names[i]));
    cJSON_AddBoolToObject (root, "can_run_kernels", sf_cudadrv_require_compute (drv) == SF_OK);
    return sf_cli_print_json (&root);
}

static void
s_print_text (const sf_cudadrv_t *drv, const char *driver, const sf_device_info_t *devices,
              int count)
{
    int width = (int) strlen ("name");
    for (int i = 0; i < count; i++)
        if ((int) strlen (devices[i].name) > width)
            width = (int) strlen (devices[i].name);
    printf ("CUDA driver %s (%s), %d GPU%s\n", driver, sf_cudadrv_path (drv), count,
            count == 1 ? "" : "s");
    printf ("%-5s  %-*s  %5s  %4s  %10s  %s\n", "index", width, "name", "SMs", "cc", "memory",
            "gpu type");
    for (int i = 0; i < count; i++) {
        const sf_device_info_t *d = &devices[i];
        char cc[16];
        snprintf (cc, sizeof cc, "%d.%d", d->cc_major, d->cc_minor);
        printf ("%-5d  %-*s  %5d  %4s  %6.1f GiB  %s\n", d->ordinal, width, d->name, d->sm_count,
                cc, (double) d->total_mem_bytes / S_GIB, d->gpu_type);
    }
    /* Listing works on an old driver; measuring would not: say it now. */
    if (sf_cudadrv_require_compute (drv) != SF_OK)
        printf ("note: %s\n", sf_error_message ());
}

int
sf_cmd_devices (int argc, char **argv)
{
    bool json = false;
    const sf_cli_opt_t opts[] = { SF_CLI_OPT_FLAG ("json", &json, SF_CLI_JSON_DOC), SF_CLI_OPT_END };
    int rc = sf_cli_options_only ("devices", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    sf_cudadrv_probe_t p;
    if ((rc = sf_cudadrv_probe (NULL, &p)) != SF_OK)
        return sf_cli_fail ("devices", rc);
    if (p.count == 0)
        rc = s_report_none (json, p.why, p.driver);
    else if (json)
        rc = s_print_json (p.drv, p.driver, p.devices, p.count);
    else {
        s_print_text (p.drv, p.driver, p.devices, p.count);
        rc = SF_EXIT_OK;
    }
    sf_cudadrv_probe_fini (&p);
    return rc;
}
