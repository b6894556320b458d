/*  spmmfarm store: look into a store (stat, dump, verify), read-only. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "common/sf_sha256.h"
#include "store/sf_store.h"
#include "store/sf_storecheck.h"

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
    "  --db NAME    dump: only this database (meta, matrices, campaigns, jobs,\n"
    "               results, best, kernels, models)\n"
    "  --json       machine-readable output (dump: one JSON object per line)\n"
    "  -h, --help   this help\n";

/* ---- records as JSON -------------------------------------------------- */

static void
s_add_hash (cJSON *obj, const char *name, const uint8_t *digest)
{
    char hex[SF_SHA256_HEX];
    sf_sha256_hex (digest, hex);
    cJSON_AddStringToObject (obj, name, hex);
}

static void
s_add_config (cJSON *obj, sf_template tmpl, const char *config)
{
    cJSON_AddStringToObject (obj, "template", sf_template_name (tmpl));
    cJSON_AddStringToObject (obj, "config", config);
}

static cJSON *
s_campaign_json (const sf_store_campaign_t *c)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "name", c->name);
    cJSON_AddStringToObject (o, "strategy", c->strategy);
    cJSON_AddStringToObject (o, "state", sf_record_campaign_state_name (c->state));
    cJSON_AddNumberToObject (o, "created_ms", (double) c->created_ms);
    cJSON_AddStringToObject (o, "gpu_type", c->gpu_type);
    cJSON *layers = cJSON_AddArrayToObject (o, "layers");
    for (uint32_t i = 0; i < c->layer_count; i++) {
        cJSON *l = cJSON_CreateObject ();
        cJSON_AddStringToObject (l, "name", c->layers[i].name);
        s_add_hash (l, "matrix", c->layers[i].matrix);
        cJSON_AddNumberToObject (l, "n", (double) c->layers[i].n);
        cJSON_AddBoolToObject (l, "bias", c->layers[i].bias);
        cJSON_AddBoolToObject (l, "relu", c->layers[i].relu);
        cJSON_AddItemToArray (layers, l);
    }
    cJSON *n = cJSON_AddObjectToObject (o, "counters");
    cJSON_AddNumberToObject (n, "jobs_total", (double) c->counters.jobs_total);
    cJSON_AddNumberToObject (n, "jobs_done", (double) c->counters.jobs_done);
    cJSON_AddNumberToObject (n, "jobs_failed", (double) c->counters.jobs_failed);
    cJSON_AddNumberToObject (n, "results", (double) c->counters.results);
    cJSON_AddNumberToObject (n, "wall_s", c->counters.wall_s);
    cJSON_AddNumberToObject (n, "cpu_s", c->counters.cpu_s);
    cJSON_AddNumberToObject (n, "gpu_s", c->counters.gpu_s);
    cJSON *p = cJSON_AddObjectToObject (o, "search");
    cJSON_AddNumberToObject (p, "max_configs", c->search.max_configs);
    cJSON_AddNumberToObject (p, "proxy_top", c->search.proxy_top);
    cJSON_AddNumberToObject (p, "top_k", c->search.top_k);
    cJSON_AddNumberToObject (p, "seed", (double) c->search.seed);
    cJSON_AddNumberToObject (p, "tol", c->search.tol);
    cJSON_AddNumberToObject (p, "model_version", c->search.model_version);
    cJSON_AddBoolToObject (p, "fallback", c->search.fallback);
    cJSON_AddNumberToObject (p, "templates", c->search.templates ? c->search.templates : 3);
    cJSON_AddNumberToObject (p, "max_code_fmas", (double) c->search.max_code_fmas);
    cJSON_AddNumberToObject (p, "run_timeout_s", c->search.run_timeout_s);
    cJSON_AddBoolToObject (p, "u_split", c->search.u_split);
    cJSON_AddBoolToObject (p, "d_union", c->search.d_union);
    cJSON_AddBoolToObject (p, "no_d_slab", c->search.no_d_slab);
    cJSON_AddStringToObject (p, "precision", sf_tier_name (c->search.tier));
    cJSON_AddStringToObject (p, "layout", sf_layout_name (c->search.layout));
    if (c->request[0])
        cJSON_AddStringToObject (o, "request", c->request);
    if (c->owner[0])
        cJSON_AddStringToObject (o, "owner", c->owner);
    return o;
}

static cJSON *
s_job_json (const sf_store_job_t *j)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "state", sf_record_job_state_name (j->state));
    cJSON_AddNumberToObject (o, "layer", j->layer);
    cJSON_AddStringToObject (o, "kind", j->kind);
    cJSON *configs = cJSON_AddArrayToObject (o, "configs");
    for (uint32_t i = 0; i < j->config_count; i++)
        cJSON_AddItemToArray (configs, cJSON_CreateString (j->configs[i]));
    cJSON_AddNumberToObject (o, "attempts", j->attempts);
    if (j->lost)
        cJSON_AddNumberToObject (o, "lost", j->lost);
    cJSON_AddStringToObject (o, "worker", j->worker);
    cJSON_AddNumberToObject (o, "lease_deadline_ms", (double) j->lease_deadline_ms);
    cJSON_AddStringToObject (o, "error", j->error);
    return o;
}

static cJSON *
s_result_json (const sf_store_result_t *r)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "status", r->status);
    cJSON_AddStringToObject (o, "status_text", r->status ? sf_strerror (r->status) : "ok");
    cJSON_AddBoolToObject (o, "simulated", r->simulated);
    cJSON_AddNumberToObject (o, "us", r->us);
    cJSON_AddNumberToObject (o, "spread_us", r->spread_us);
    cJSON_AddNumberToObject (o, "p10_us", r->p10_us);
    cJSON_AddNumberToObject (o, "p90_us", r->p90_us);
    cJSON_AddNumberToObject (o, "err", r->err);
    cJSON_AddNumberToObject (o, "samples", r->samples);
    cJSON *c = cJSON_AddObjectToObject (o, "compile");
    cJSON_AddNumberToObject (c, "seconds", r->compile.seconds);
    cJSON_AddNumberToObject (c, "regs", r->compile.regs);
    cJSON_AddNumberToObject (c, "spills", r->compile.spills);
    cJSON_AddNumberToObject (c, "shared_bytes", r->compile.shared_bytes);
    cJSON_AddNumberToObject (c, "code_bytes", (double) r->compile.code_bytes);
    cJSON_AddStringToObject (o, "worker", r->worker);
    cJSON_AddNumberToObject (o, "recorded_ms", (double) r->recorded_ms);
    if (r->has_kernel)
        s_add_hash (o, "kernel", r->kernel);
    return o;
}

static cJSON *
s_best_json (const sf_store_best_t *b)
{
    cJSON *o = cJSON_CreateObject ();
    s_add_config (o, b->tmpl, b->config);
    cJSON_AddNumberToObject (o, "us", b->us);
    cJSON_AddNumberToObject (o, "err", b->err);
    cJSON_AddBoolToObject (o, "simulated", b->simulated);
    if (b->has_kernel)
        s_add_hash (o, "kernel", b->kernel);
    cJSON_AddNumberToObject (o, "sgemm_us", b->sgemm_us);
    cJSON_AddNumberToObject (o, "tf32_us", b->tf32_us);
    cJSON_AddNumberToObject (o, "cusparse_us", b->cusparse_us);
    cJSON_AddNumberToObject (o, "blas16_us", b->blas16_us);   /* bf16/fp16: cuBLASLt in the type */
    cJSON_AddNumberToObject (o, "blas16_err", b->blas16_err);
    cJSON_AddNumberToObject (o, "recorded_ms", (double) b->recorded_ms);
    if (b->driver[0])
        cJSON_AddStringToObject (o, "driver", b->driver);
    return o;
}

static cJSON *
s_kernel_json (const sf_store_kernel_t *k)
{
    cJSON *o = cJSON_CreateObject ();
    s_add_config (o, k->tmpl, k->config);
    cJSON_AddStringToObject (o, "entry", k->launch.entry);
    cJSON_AddNumberToObject (o, "cubin_bytes", (double) k->cubin_size);
    cJSON_AddNumberToObject (o, "source_bytes", (double) k->source_size);
    cJSON_AddNumberToObject (o, "block_threads", k->launch.block_threads);
    cJSON_AddNumberToObject (o, "cols_per_block", k->launch.cols_per_block);
    cJSON_AddNumberToObject (o, "panel_groups", k->launch.panel_groups);
    cJSON_AddNumberToObject (o, "order", k->launch.order);
    cJSON_AddNumberToObject (o, "vec", k->launch.vec);
    cJSON_AddNumberToObject (o, "shared_bytes", k->launch.shared_bytes);
    cJSON_AddNumberToObject (o, "panels", k->launch.panels);
    cJSON_AddNumberToObject (o, "code_panels", k->launch.code_panels);
    cJSON_AddNumberToObject (o, "code_fmas", (double) k->launch.code_fmas);
    if (k->data)
        cJSON_AddNumberToObject (o, "data_bytes", (double) k->data_size);
    return o;
}

static cJSON *
s_model_json (const sf_store_model_t *m)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "xgboost_bytes", (double) m->xgboost_size);
    cJSON_AddNumberToObject (o, "problems", (double) m->problems);
    cJSON_AddNumberToObject (o, "candidates", (double) m->candidates);
    cJSON_AddNumberToObject (o, "seconds", m->seconds);
    cJSON_AddStringToObject (o, "note", m->note);
    cJSON *metrics = cJSON_AddObjectToObject (o, "metrics");
    for (uint32_t i = 0; i < m->metric_count; i++)
        cJSON_AddNumberToObject (metrics, m->metrics[i].name, m->metrics[i].value);
    cJSON_AddNumberToObject (o, "created_ms", (double) m->created_ms);
    return o;
}

static cJSON *
s_meta_json (const sf_record_meta_t *m)
{
    cJSON *o = cJSON_CreateObject ();
    if (strcmp (m->key, "tool") == 0)
        cJSON_AddStringToObject (o, "value", m->text);
    else
        cJSON_AddNumberToObject (o, "value", strcmp (m->key, "schema") == 0 ? (double) m->u : (double) m->i);
    return o;
}

static cJSON *
s_matrix_json (const sf_matrix_t *m)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "m", sf_matrix_rows (m));
    cJSON_AddNumberToObject (o, "k", sf_matrix_cols (m));
    cJSON_AddNumberToObject (o, "nnz", sf_matrix_nnz (m));
    cJSON_AddNumberToObject (o, "sparsity", sf_matrix_sparsity (m));
    return o;
}

/*  The key's fields, by database. */
static cJSON *
s_key_json (const sf_record_t *r)
{
    cJSON *o = cJSON_CreateObject ();
    switch (r->db) {
    case SF_DB_META: cJSON_AddStringToObject (o, "name", r->u.meta.key); break;
    case SF_DB_MATRICES: s_add_hash (o, "hash", r->u.matrix.hash); break;
    case SF_DB_CAMPAIGNS: cJSON_AddNumberToObject (o, "id", (double) r->u.campaign.id); break;
    case SF_DB_JOBS:
        cJSON_AddNumberToObject (o, "campaign", (double) r->u.job.campaign);
        cJSON_AddNumberToObject (o, "id", (double) r->u.job.id);
        break;
    case SF_DB_RESULTS:
        cJSON_AddStringToObject (o, "gpu_type", r->u.result.key.gpu_type);
        s_add_hash (o, "matrix", r->u.result.key.matrix);
        cJSON_AddNumberToObject (o, "n", (double) r->u.result.key.n);
        s_add_config (o, r->u.result.key.tmpl, r->u.result.key.config);
        cJSON_AddBoolToObject (o, "proxy", r->u.result.key.proxy);
        cJSON_AddStringToObject (o, "precision", sf_tier_name (r->u.result.key.tier));
        cJSON_AddStringToObject (o, "layout", sf_layout_name (r->u.result.key.layout));
        break;
    case SF_DB_BEST:
        cJSON_AddNumberToObject (o, "campaign", (double) r->u.best.campaign);
        cJSON_AddNumberToObject (o, "layer", r->u.best.layer);
        break;
    case SF_DB_KERNELS: s_add_hash (o, "sha256", r->u.kernel.digest); break;
    case SF_DB_MODELS:
        cJSON_AddStringToObject (o, "gpu_type", r->u.model.gpu_type);
        cJSON_AddNumberToObject (o, "version", r->u.model.version);
        break;
    default: break;
    }
    return o;
}

static cJSON *
s_value_json (const sf_record_t *r)
{
    switch (r->db) {
    case SF_DB_META: return s_meta_json (&r->u.meta);
    case SF_DB_MATRICES: return s_matrix_json (r->u.matrix.matrix);
    case SF_DB_CAMPAIGNS: return s_campaign_json (&r->u.campaign);
    case SF_DB_JOBS: return s_job_json (&r->u.job);
    case SF_DB_RESULTS: return s_result_json (&r->u.result.value);
    case SF_DB_BEST: return s_best_json (&r->u.best.value);
    case SF_DB_KERNELS: return s_kernel_json (&r->u.kernel.value);
    case SF_DB_MODELS: return s_model_json (&r->u.model);
    default: return cJSON_CreateObject ();
    }
}

/* ---- text ------------------------------------------------------------- */

/*  One JSON value as text: strings bare, NaN as "nan" (JSON has none). */
static void
s_print_scalar (const cJSON *item)
{
    if (cJSON_IsString (item))
        fputs (item->valuestring, stdout);
    else if (cJSON_IsNumber (item) && isnan (item->valuedouble))
        fputs ("nan", stdout);
    else {
        char *text = cJSON_PrintUnformatted (item);
        fputs (text ? text : "?", stdout);
        free (text);
    }
}

/*  Fields as name=value, nested objects as parent.name=value. */
static void
s_print_fields (const cJSON *obj, const char *prefix, const char *sep)
{
    const cJSON *item;
    cJSON_ArrayForEach (item, obj) {
        if (cJSON_IsObject (item)) {
            char nested[128];
            snprintf (nested, sizeof nested, "%s%s.", prefix, item->string);
            s_print_fields (item, nested, sep);
            continue;
        }
        printf ("%s%s%s=", sep, prefix, item->string);
        s_print_scalar (item);
        sep = " ";
    }
}

/* ---- dump ------------------------------------------------------------- */

typedef struct {
    bool json;
    uint64_t count;
} s_dump_t;

static int
s_dump_record (void *arg, const sf_record_t *r)
{
    s_dump_t *dump = arg;
    cJSON *key = s_key_json (r), *value = s_value_json (r);
    if (dump->json) {
        cJSON *line = cJSON_CreateObject ();
        cJSON_AddStringToObject (line, "db", sf_record_db_name (r->db));
        cJSON_AddItemToObject (line, "key", key);
        cJSON_AddItemToObject (line, "value", value);
        char *text = cJSON_PrintUnformatted (line);
        puts (text ? text : "{}");
        free (text);
        cJSON_Delete (line);
    } else {
        uint8_t raw[SF_RECORD_KEY_MAX];
        char text[512];
        size_t size = sf_record_key_of (r, raw);
        printf ("%s %s:", sf_record_db_name (r->db), sf_record_key_text (r->db, raw, size, text, sizeof text));
        s_print_fields (value, "", " ");
        putchar ('\n');
        cJSON_Delete (key);
        cJSON_Delete (value);
    }
    dump->count++;
    return SF_OK;
}

static int
s_dump (sf_store_t *store, int db, bool json)
{
    s_dump_t dump = { json, 0 };
    for (int d = 0; d < SF_DB_COUNT; d++) {
        if (db >= 0 && d != db)
            continue;
        int rc = sf_store_each (store, d, s_dump_record, &dump);
        if (rc != SF_OK) {
            fflush (stdout);
            sf_error_prefix ("dump stopped (run 'spmmfarm store verify'): ");
            return sf_cli_fail ("store dump", rc);
        }
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

int
sf_cmd_store (int argc, char **argv)
{
    static const struct option options[] = {
        { "db", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)) {
        fputs (s_help, stdout);
        return SF_EXIT_OK;
    }
    if (argc < 2)
        return sf_cli_usage ("store", "expected a command: stat, dump or verify");
    const char *sub = argv[1];
    if (strcmp (sub, "stat") != 0 && strcmp (sub, "dump") != 0 && strcmp (sub, "verify") != 0)
        return sf_cli_usage ("store", "no store command '%s' (stat, dump, verify)", sub);
    int db = -1, opt;
    bool json = false;
    argc--, argv++;  /* getopt sees "SUB DIR --options" */
    while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (strcmp (sub, "dump") != 0)
                return sf_cli_usage ("store", "--db is for 'store dump'");
            if ((db = sf_record_db_parse (optarg)) < 0)
                return sf_cli_usage ("store", "no database '%s' (meta, matrices, campaigns, jobs, results, "
                                     "best, kernels, models)", optarg);
            break;
        case 'j': json = true; break;
        case 'h': fputs (s_help, stdout); return SF_EXIT_OK;
        default: return sf_cli_usage ("store", "unknown option");
        }
    }
    if (optind + 1 < argc)
        return sf_cli_usage ("store", "expected at most one DIR");
    char *dir = optind < argc ? strdup (argv[optind]) : sf_store_default_dir ();
    if (!dir)
        return sf_cli_fail ("store", sf_error_last ());
    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    free (dir);
    if (!store)
        return sf_cli_fail ("store", sf_error_last ());
    int code = strcmp (sub, "stat") == 0 ? s_stat (store, json)
               : strcmp (sub, "dump") == 0 ? s_dump (store, db, json)
                                           : s_verify (store, json);
    sf_store_destroy (&store);
    return code;
}
