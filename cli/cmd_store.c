/*  spmmfarm store: look into a store (stat, dump, verify), read-only. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "store/sf_store.h"
#include "store/sf_storecheck.h"
#include "store/sf_storejson.h"

static const char *s_help =
    "usage: spmmfarm store stat [DIR] [--json]\n"
    "       spmmfarm store dump [DIR] [--db NAME] [--json]\n"
    "       spmmfarm store verify [DIR] [--json]\n\n"
    "Looks into a spmmfarm store: an LMDB directory of matrices, campaigns, jobs,\n"
    "results, best kernels per layer, kernels and rank models (docs/STORE.md).\n"
    "The store is opened read-only, so this works while the coordinator writes.\n\n"
    "  stat     records and bytes per database, file and map size, readers\n"
    "  dump     every record, one per line (blobs shown as their sizes)\n"
    "  verify   decodes every record and checks keys, bounds and digests;\n"
    "           lists the records it cannot read and exits 1 if there are any\n\n"
    "  DIR          the store (default: $SPMMFARM_STORE, else\n"
    "               $XDG_CACHE_HOME/spmmfarm/store, else ~/.cache/spmmfarm/store)\n"
    SF_CLI_HELP_OPTIONS (15);

/* ---- dump ------------------------------------------------------------- */

static int
s_dump (sf_store_t *store, int db, bool json)
{
    int rc = sf_storejson_dump (store, db, json, stdout, NULL);
    if (rc != SF_OK) {
        fflush (stdout);
        sf_error_prefix ("dump stopped (run 'spmmfarm store verify'): ");
        return sf_cli_fail ("store dump", rc);
    }
    return SF_EXIT_OK;
}

/* ---- stat ------------------------------------------------------------- */

static const char *
s_size (uint64_t bytes, char *buf, size_t size)
{
    if (bytes >= (1u << 20))
        snprintf (buf, size, "%.1f MiB", (double) bytes / (1 << 20));
    else if (bytes >= 1024)
        snprintf (buf, size, "%.1f KiB", (double) bytes / 1024);
    else
        snprintf (buf, size, "%llu B", (unsigned long long) bytes);
    return buf;
}

static int
s_stat (sf_store_t *store, bool json)
{
    sf_store_stat_t st;
    int rc = sf_store_stat (store, &st);
    if (rc != SF_OK)
        return sf_cli_fail ("store stat", rc);
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "dir", sf_store_dir (store));
        cJSON_AddNumberToObject (root, "schema", st.meta.schema);
        cJSON_AddNumberToObject (root, "created_ms", (double) st.meta.created_ms);
        cJSON_AddStringToObject (root, "tool", st.meta.tool);
        cJSON_AddNumberToObject (root, "file_bytes", (double) st.file_bytes);
        cJSON_AddNumberToObject (root, "used_bytes", (double) st.used_bytes);
        cJSON_AddNumberToObject (root, "map_bytes", (double) st.map_bytes);
        cJSON_AddNumberToObject (root, "page_bytes", st.page_bytes);
        cJSON_AddNumberToObject (root, "readers", st.readers);
        cJSON_AddNumberToObject (root, "max_readers", st.max_readers);
        cJSON *dbs = cJSON_AddObjectToObject (root, "databases");
        for (int db = 0; db < SF_DB_COUNT; db++) {
            cJSON *d = cJSON_AddObjectToObject (dbs, sf_record_db_name (db));
            cJSON_AddNumberToObject (d, "entries", (double) st.db[db].entries);
            cJSON_AddNumberToObject (d, "bytes", (double) st.db[db].bytes);
        }
        return sf_cli_print_json (&root);
    }
    char when[64] = "?", a[32], b[32], c[32];
    time_t secs = (time_t) (st.meta.created_ms / 1000);
    struct tm tm;
    if (gmtime_r (&secs, &tm))
        strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf ("store:     %s\n", sf_store_dir (store));
    printf ("schema:    %u (created %s by spmmfarm %s)\n", st.meta.schema, when, st.meta.tool);
    printf ("size:      %s on disk, %s used, map %s (pages of %u B)\n", s_size (st.file_bytes, a, sizeof a),
            s_size (st.used_bytes, b, sizeof b), s_size (st.map_bytes, c, sizeof c), st.page_bytes);
    printf ("readers:   %u active (of %u slots)\n", st.readers, st.max_readers);
    printf ("\n%-10s %12s %12s\n", "database", "records", "bytes");
    for (int db = 0; db < SF_DB_COUNT; db++)
        printf ("%-10s %12llu %12s\n", sf_record_db_name (db), (unsigned long long) st.db[db].entries,
                s_size (st.db[db].bytes, a, sizeof a));
    return SF_EXIT_OK;
}

/* ---- verify ----------------------------------------------------------- */

typedef struct {
    bool json;
    cJSON *problems;
} s_verify_t;

static void
s_bad (void *arg, sf_store_db db, const void *key, size_t key_size, const char *reason)
{
    s_verify_t *v = arg;
    char text[512];
    const char *db_name = db == SF_DB_COUNT ? "(environment)" : sf_record_db_name (db);
    sf_record_key_text (db == SF_DB_COUNT ? SF_DB_META : db, key, key_size, text, sizeof text);
    if (v->json) {
        cJSON *p = cJSON_CreateObject ();
        cJSON_AddStringToObject (p, "db", db_name);
        cJSON_AddStringToObject (p, "key", text);
        cJSON_AddStringToObject (p, "reason", reason);
        cJSON_AddItemToArray (v->problems, p);
    } else
        printf ("bad: %s %s: %s\n", db_name, text, reason);
}

static int
s_verify (sf_store_t *store, bool json)
{
    s_verify_t v = { json, cJSON_CreateArray () };
    uint64_t checked = 0, bad = 0;
    /* in a child: LMDB may crash on a corrupt page, and that is a finding */
    int rc = sf_storecheck_verify (sf_store_dir (store), s_bad, &v, &checked, &bad);
    if (rc != SF_OK) {
        cJSON_Delete (v.problems);
        return sf_cli_fail ("store verify", rc);
    }
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "dir", sf_store_dir (store));
        cJSON_AddNumberToObject (root, "checked", (double) checked);
        cJSON_AddNumberToObject (root, "bad", (double) bad);
        cJSON_AddItemToObject (root, "problems", v.problems);
        sf_cli_print_json (&root);
    } else {
        cJSON_Delete (v.problems);
        printf ("%s: %llu records checked, %llu bad\n", sf_store_dir (store), (unsigned long long) checked,
                (unsigned long long) bad);
    }
    if (bad)
        fprintf (stderr, "spmmfarm store verify: %llu records cannot be read\n", (unsigned long long) bad);
    return bad ? SF_EXIT_FAILURE : SF_EXIT_OK;
}

/* ---- the command ------------------------------------------------------ */

typedef struct {
    const char *sub;  /* stat, dump, verify */
    int db;           /* dump --db, or -1 */
} s_verb_t;

/*  --db NAME of 'store dump'. */
static int
s_db (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    s_verb_t *verb = opt->dest;
    if (strcmp (verb->sub, "dump") != 0)
        return sf_cli_usage (cmd, "--db is for 'store dump'");
    if ((verb->db = sf_record_db_parse (arg)) < 0)
        return sf_cli_usage (cmd, "no database '%s' (meta, matrices, campaigns, jobs, results, best, kernels, "
                                  "models)", arg);
    return SF_EXIT_OK;
}

int
sf_cmd_store (int argc, char **argv)
{
    s_verb_t verb = { argc >= 2 ? argv[1] : "", -1 };
    bool json = false;
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_CALL ("db", &verb, s_db,
                         SF_CLI_DOC ("NAME", "dump: only this database (meta, matrices, campaigns, jobs,\n"
                                             "results, best, kernels, models)")),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_DOC (NULL, "machine-readable output (dump: one JSON object per line)")),
        SF_CLI_OPT_END
    };
    if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)) {
        sf_cli_help (stdout, s_help, opts);
        return SF_EXIT_OK;
    }
    if (argc < 2)
        return sf_cli_usage ("store", "expected a command: stat, dump or verify");
    if (strcmp (verb.sub, "stat") != 0 && strcmp (verb.sub, "dump") != 0 && strcmp (verb.sub, "verify") != 0)
        return sf_cli_usage ("store", "no store command '%s' (stat, dump, verify)", verb.sub);
    argc--, argv++;  /* getopt sees "SUB DIR --options" */
    int rc = sf_cli_options ("store", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    if (optind + 1 < argc)
        return sf_cli_usage ("store", "expected at most one DIR");
    char *dir = optind < argc ? strdup (argv[optind]) : sf_store_default_dir ();
    if (!dir)
        return sf_cli_fail ("store", sf_error_last ());
    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    free (dir);
    if (!store)
        return sf_cli_fail ("store", sf_error_last ());
    int code = strcmp (verb.sub, "stat") == 0 ? s_stat (store, json)
               : strcmp (verb.sub, "dump") == 0 ? s_dump (store, verb.db, json)
                                           : s_verify (store, json);
    sf_store_destroy (&store);
    return code;
}
