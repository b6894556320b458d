/*  sf_client: requests to the coordinator and model manifests. */
#include "cli/sf_client.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <czmq.h>

#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "common/sf_curve.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"

#define S_MANIFEST_MAX ((size_t) 16 << 20)   /* a model manifest: 16 MiB of JSON */
#define S_INLINE_MAX ((int64_t) 192 << 20)   /* matrices sent inside one SUBMIT */

void
sf_client_init (sf_client_t *client)
{
    memset (client, 0, sizeof *client);
    snprintf (client->endpoint, sizeof client->endpoint, "%s", SF_PROTO_DEFAULT_CLIENT_ENDPOINT);
    client->timeout_ms = 10000;
}

static int
s_path_opt (const char *command, const char *flag, const char *arg, char *buf, size_t size)
{
    if (strlen (arg) >= size)
        return sf_cli_usage (command, "%s: path too long", flag);
    snprintf (buf, size, "%s", arg);
    return 1;
}

int
sf_client_option (const char *command, int opt, const char *arg, sf_client_t *client)
{
    int64_t v;
    switch (opt - SF_CLIENT_OPT_BASE) {
    case 0: return s_path_opt (command, "--coordinator", arg, client->endpoint, sizeof client->endpoint);
    case 1:
        if (strlen (arg) > SF_CURVE_PATH_MAX - 24)
            return sf_cli_usage (command, "--curve-dir: path too long");
        snprintf (client->cert, sizeof client->cert, "%s/client.cert", arg);
        snprintf (client->server_cert, sizeof client->server_cert, "%s/coordinator.cert", arg);
        return 1;
    case 2: return s_path_opt (command, "--cert", arg, client->cert, sizeof client->cert);
    case 3: return s_path_opt (command, "--server-cert", arg, client->server_cert, sizeof client->server_cert);
    case 4:
        if (!sf_cli_parse_int (arg, 1, 86400000, &v))
            return sf_cli_usage (command, "--timeout: milliseconds, 1..86400000");
        client->timeout_ms = (int) v;
        return 1;
    default: return 0;
    }
}

static zsock_t *
s_connect (const sf_client_t *client)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock) {
        sf_error_set (SF_ERR_ZMQ, "cannot create a socket");
        return NULL;
    }
    sf_proto_socket_limits (sock);
    zsock_set_linger (sock, 0);
    if (client->cert[0] && (!client->server_cert[0]
                            || sf_curve_client_apply (sock, client->cert, client->server_cert) != SF_OK)) {
        if (!client->server_cert[0])
            sf_error_set (SF_ERR_INVALID, "CurveZMQ needs the coordinator's certificate (--server-cert)");
        zsock_destroy (&sock);
        return NULL;
    }
    if (zsock_connect (sock, "%s", client->endpoint) < 0) {
        sf_error_set_origin (SF_ERR_ZMQ, zmq_errno (), "cannot connect to %s: %s", client->endpoint,
                             zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

int
sf_client_request (const sf_client_t *client, sf_proto_type type, const void *body, sf_proto_msg_t **reply_p)
{
    *reply_p = NULL;
    zmsg_t *msg = sf_proto_encode (type, body);
    if (!msg)
        return sf_error_last ();
    zsock_t *sock = s_connect (client);
    if (!sock) {
        zmsg_destroy (&msg);
        return sf_error_last ();
    }
    /* A DEALER that speaks like REQ (empty delimiter), without REQ's lock-up
       when no reply comes. */
    zmsg_pushmem (msg, NULL, 0);
    int rc = zmsg_send (&msg, sock) == 0 ? SF_OK
           : sf_error_set (SF_ERR_ZMQ, "cannot send to %s", client->endpoint);
    zmsg_destroy (&msg);
    zpoller_t *poller = rc == SF_OK ? zpoller_new (sock, NULL) : NULL;
    if (rc == SF_OK && (!poller || !zpoller_wait (poller, client->timeout_ms)))
        rc = zsys_interrupted ? sf_error_set (SF_ERR_CANCELLED, "interrupted")
           : sf_error_set (SF_ERR_TIMEOUT,
                           "no answer from the coordinator at %s within %d ms (is it running%s?)",
                           client->endpoint, client->timeout_ms,
                           client->cert[0] ? ", and is this client's certificate in its allow-list" : "");
    zmsg_t *reply = rc == SF_OK ? zmsg_recv (sock) : NULL;
    if (rc == SF_OK && !reply)
        rc = sf_error_set (SF_ERR_ZMQ, "no reply from %s", client->endpoint);
    if (reply && zmsg_size (reply) > 0 && zframe_size (zmsg_first (reply)) == 0) {
        zframe_t *empty = zmsg_pop (reply);
        zframe_destroy (&empty);
    }
    sf_proto_msg_t *decoded = NULL;
    if (rc == SF_OK)
        rc = sf_proto_decode (reply, SF_PROTO_TO_CLIENT, &decoded);
    if (rc == SF_OK && decoded->type == SF_PROTO_ERROR) {
        rc = sf_error_set (decoded->error.status, "coordinator: %s", decoded->error.message);
        sf_proto_msg_destroy (&decoded);
    }
    *reply_p = decoded;
    zmsg_destroy (&reply);
    zpoller_destroy (&poller);
    zsock_destroy (&sock);
    return rc;
}

/* ---- models ------------------------------------------------------------- */

static void
s_layer_name (const char *path, const char *tensor, char *out, size_t size)
{
    if (tensor && tensor[0]) {
        snprintf (out, size, "%.*s", (int) size - 1, tensor);
        return;
    }
    const char *base = strrchr (path, '/');
    base = base ? base + 1 : path;
    snprintf (out, size, "%.*s", (int) size - 1, base);
    char *dot = strrchr (out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

int
sf_client_model_add (sf_client_model_t *model, const char *path, const char *tensor, int64_t n, bool bias,
                     bool relu)
{
    if (model->count >= SF_PROTO_LAYERS_MAX)
        return sf_error_set (SF_ERR_RANGE, "more than %d layers", SF_PROTO_LAYERS_MAX);
    if (n < 1 || n > SF_PROTO_N_MAX)
        return sf_error_set (SF_ERR_RANGE, "%s: n = %lld, not in 1..%lld", path, (long long) n,
                             (long long) SF_PROTO_N_MAX);
    sf_read_opts_t ro = { tensor, 0 };
    sf_matrix_t *m = sf_matrix_read (path, &ro);
    if (!m)
        return sf_error_last ();
    sf_client_layer_t *grown = realloc (model->layers, (size_t) (model->count + 1) * sizeof *grown);
    if (!grown) {
        sf_matrix_destroy (&m);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    model->layers = grown;
    sf_client_layer_t *l = &model->layers[model->count++];
    memset (l, 0, sizeof *l);
    s_layer_name (path, tensor, l->name, sizeof l->name);
    l->matrix = m;
    l->n = n;
    l->bias = bias;
    l->relu = relu;
    return SF_OK;
}

void
sf_client_model_free (sf_client_model_t *model)
{
    for (int i = 0; i < model->count; i++)
        sf_matrix_destroy (&model->layers[i].matrix);
    free (model->layers);
    model->layers = NULL;
    model->count = 0;
}

/*  The keys a manifest may hold (docs/FARM.md, "Model manifests"): any
    other key is refused by name, since a misspelled "relu" would silently
    give a kernel without ReLU. */
static const char *const s_root_keys[] = { "name", "n", "layers", NULL };
static const char *const s_layer_keys[] = { "file", "name", "tensor", "n", "bias", "relu", NULL };

/*  The first member of obj whose key is not in `known`, or NULL. */
static const cJSON *
s_unknown_key (const cJSON *obj, const char *const *known)
{
    const cJSON *item;
    cJSON_ArrayForEach (item, obj)
    {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = item->string && strcmp (item->string, *k) == 0;
        if (!ok)
            return item;
    }
    return NULL;
}

/*  The keys of `known` as "a, b, c" (for messages). */
static const char *
s_key_list (const char *const *known, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *const *k = known; *k && used < size; k++)
        used += (size_t) snprintf (buf + used, size - used, "%s\"%s\"", used ? ", " : "", *k);
    return buf;
}

/*  An optional boolean member: *out, or SF_ERR_FORMAT if it is there and
    not true or false. */
static int
s_json_bool (const cJSON *obj, const char *key, bool *out, const char *manifest, int index)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);
    if (item && !cJSON_IsBool (item))
        return sf_error_set (SF_ERR_FORMAT, "%s: layers[%d]: \"%s\" must be true or false", manifest, index, key);
    *out = item && cJSON_IsTrue (item);
    return SF_OK;
}

static int
s_manifest_layer (sf_client_model_t *model, const char *manifest, const char *dir, const cJSON *item, int index,
                  const cJSON *root)
{
    char keys[128];
    const cJSON *unknown = cJSON_IsObject (item) ? s_unknown_key (item, s_layer_keys) : NULL;
    if (unknown)
        return sf_error_set (SF_ERR_FORMAT, "%s: layers[%d]: unknown key \"%.64s\" (a layer has %s)", manifest, index,
                             unknown->string, s_key_list (s_layer_keys, keys, sizeof keys));
    bool bias = false, relu = false;
    int rc = cJSON_IsObject (item) ? s_json_bool (item, "bias", &bias, manifest, index) : SF_OK;
    if (rc == SF_OK && cJSON_IsObject (item))
        rc = s_json_bool (item, "relu", &relu, manifest, index);
    if (rc != SF_OK)
        return rc;
    const cJSON *file = cJSON_GetObjectItemCaseSensitive (item, "file");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive (item, "name");
    const cJSON *tensor = cJSON_GetObjectItemCaseSensitive (item, "tensor");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive (item, "n");
    if (!n)
        n = cJSON_GetObjectItemCaseSensitive (root, "n");
    if (!cJSON_IsObject (item) || !cJSON_IsString (file) || (name && !cJSON_IsString (name))
        || (tensor && !cJSON_IsString (tensor)) || !cJSON_IsNumber (n))
        return sf_error_set (SF_ERR_FORMAT,
                             "%s: layers[%d]: needs \"file\" (string) and \"n\" (number, here or at the top); "
                             "\"name\" and \"tensor\" are strings",
                             manifest, index);
    if (n->valuedouble != (double) (int64_t) n->valuedouble)
        return sf_error_set (SF_ERR_FORMAT, "%s: layers[%d]: n is not an integer", manifest, index);
    char path[4096];
    if (file->valuestring[0] == '/')
        snprintf (path, sizeof path, "%s", file->valuestring);
    else if ((size_t) snprintf (path, sizeof path, "%s/%s", dir, file->valuestring) >= sizeof path)
        return sf_error_set (SF_ERR_RANGE, "%s: layers[%d]: path too long", manifest, index);
    rc = sf_client_model_add (model, path, tensor ? tensor->valuestring : NULL, (int64_t) n->valuedouble, bias,
                              relu);
    if (rc != SF_OK) {
        sf_error_prefix ("%s: layers[%d]", manifest, index);
        return rc;
    }
    if (name) {
        if (!name->valuestring[0] || strlen (name->valuestring) > SF_PROTO_NAME_MAX)
            return sf_error_set (SF_ERR_FORMAT, "%s: layers[%d]: name: 1..%d bytes", manifest, index,
                                 SF_PROTO_NAME_MAX);
        snprintf (model->layers[model->count - 1].name, sizeof model->layers[0].name, "%s", name->valuestring);
    }
    return SF_OK;
}

int
sf_client_model_read (const char *path, sf_client_model_t *model)
{
    char *text = NULL;
    size_t size = 0;
    int rc = sf_matrix_io_load (path, &text, &size);
    if (rc != SF_OK)
        return rc;
    if (size > S_MANIFEST_MAX) {
        free (text);
        return sf_error_set (SF_ERR_RANGE, "%s: %zu bytes, a manifest is at most %zu", path, size, S_MANIFEST_MAX);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts (text, size, &end, false);
    if (!root) {
        /* where it stopped, as line:column (1-based) */
        size_t at = end && end >= text && end <= text + size ? (size_t) (end - text) : 0;
        int line = 1, column = 1;
        for (size_t i = 0; i < at; i++)
            if (text[i] == '\n')
                line++, column = 1;
            else
                column++;
        free (text);
        return sf_error_set (SF_ERR_FORMAT, "%s:%d:%d: invalid JSON (see docs/FARM.md, model manifests)", path,
                             line, column);
    }
    free (text);
    if (!cJSON_IsObject (root)) {
        cJSON_Delete (root);
        return sf_error_set (SF_ERR_FORMAT, "%s: not a JSON object (see docs/FARM.md, model manifests)", path);
    }
    char keys[128];
    const cJSON *unknown = s_unknown_key (root, s_root_keys);
    if (unknown) {
        int rc_unknown = sf_error_set (SF_ERR_FORMAT, "%s: unknown key \"%.64s\" (a manifest has %s)", path,
                                       unknown->string, s_key_list (s_root_keys, keys, sizeof keys));
        cJSON_Delete (root);
        return rc_unknown;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive (root, "name");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive (root, "layers");
    if (cJSON_IsString (name))
        snprintf (model->name, sizeof model->name, "%.*s", (int) sizeof model->name - 1, name->valuestring);
    if (!cJSON_IsArray (layers) || cJSON_GetArraySize (layers) == 0) {
        cJSON_Delete (root);
        return sf_error_set (SF_ERR_FORMAT, "%s: \"layers\": a non-empty array is required", path);
    }
    char *copy = strdup (path);
    const char *dir = copy ? dirname (copy) : ".";
    rc = SF_OK;
    int index = 0;
    const cJSON *item;
    cJSON_ArrayForEach (item, layers)
    {
        if (rc == SF_OK)
            rc = s_manifest_layer (model, path, dir, item, index, root);
        index++;
    }
    free (copy);
    cJSON_Delete (root);
    return rc;
}

/* ---- submit ------------------------------------------------------------- */

static int64_t
s_matrix_bytes (const sf_matrix_t *m)
{
    return (int64_t) (sf_matrix_rows (m) + 1) * 4 + (int64_t) sf_matrix_nnz (m) * 8 + 256;
}

/*  True if an earlier layer has the same matrix (sent once). */
static bool
s_seen (const sf_client_model_t *model, int upto, const sf_matrix_t *m)
{
    for (int i = 0; i < upto; i++)
        if (strcmp (sf_matrix_hash (model->layers[i].matrix), sf_matrix_hash (m)) == 0)
            return true;
    return false;
}

int
sf_client_submit (const sf_client_t *client, const sf_client_model_t *model, sf_proto_submit_t *submit,
                  uint64_t *campaign_p)
{
    int64_t total = 0;
    for (int i = 0; i < model->count; i++)
        total += s_matrix_bytes (model->layers[i].matrix);
    bool inline_ok = total <= S_INLINE_MAX;
    sf_proto_layer_t *layers = calloc ((size_t) model->count, sizeof *layers);
    sf_proto_matrix_t *mats = calloc ((size_t) model->count, sizeof *mats);
    if (!layers || !mats) {
        free (layers);
        free (mats);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    int rc = SF_OK;
    size_t nmat = 0;
    for (int i = 0; i < model->count && rc == SF_OK; i++) {
        const sf_client_layer_t *l = &model->layers[i];
        snprintf (layers[i].name, sizeof layers[i].name, "%s", l->name);
        snprintf (layers[i].matrix_hash, sizeof layers[i].matrix_hash, "%s", sf_matrix_hash (l->matrix));
        layers[i].n = (int32_t) l->n;
        layers[i].bias = l->bias;
        layers[i].relu = l->relu;
        if (s_seen (model, i, l->matrix))
            continue;
        if (inline_ok)
            sf_proto_matrix_view (l->matrix, &mats[nmat++]);
        else {
            /* Too big for one message: one MATRIX request each. */
            sf_proto_matrix_t wire;
            sf_proto_matrix_view (l->matrix, &wire);
            sf_proto_msg_t *reply = NULL;
            rc = sf_client_request (client, SF_PROTO_MATRIX, &wire, &reply);
            sf_proto_msg_destroy (&reply);
        }
    }
    if (rc == SF_OK) {
        submit->layers = layers;
        submit->layer_count = (size_t) model->count;
        submit->matrices = mats;
        submit->matrix_count = nmat;
        sf_proto_msg_t *reply = NULL;
        rc = sf_client_request (client, SF_PROTO_SUBMIT, submit, &reply);
        if (rc == SF_OK && reply->type != SF_PROTO_SUBMIT_OK)
            rc = sf_error_set (SF_ERR_PROTOCOL, "coordinator answered SUBMIT with %s",
                               sf_proto_type_name (reply->type));
        if (rc == SF_OK)
            *campaign_p = reply->submit_ok.campaign_id;
        sf_proto_msg_destroy (&reply);
        submit->layers = NULL;
        submit->matrices = NULL;
        submit->layer_count = submit->matrix_count = 0;
    }
    free (layers);
    free (mats);
    return rc;
}

int
sf_client_follow (const sf_client_t *cl, uint64_t id, const char *phase, bool quiet, sf_proto_campaign_t *out)
{
    sf_proto_status_req_t req = { id };
    for (;;) {
        sf_proto_msg_t *reply = NULL;
        int rc = sf_client_request (cl, SF_PROTO_STATUS_REQ, &req, &reply);
        if (rc == SF_OK && (reply->type != SF_PROTO_STATUS || reply->status.campaign_count != 1))
            rc = sf_error_set (SF_ERR_PROTOCOL, "unexpected STATUS reply");
        if (rc != SF_OK) {
            sf_proto_msg_destroy (&reply);
            return rc;
        }
        *out = reply->status.campaigns[0];
        sf_proto_msg_destroy (&reply);
        int ended = (int) (out->jobs_done + out->jobs_failed);
        if (!quiet)
            sf_progress_draw (NULL, phase, ended, (int) out->jobs_total);
        if (strcmp (out->state, "queued") != 0 && strcmp (out->state, "running") != 0)
            break;
        if (zsys_interrupted)
            return sf_error_set (SF_ERR_CANCELLED, "interrupted");
        zclock_sleep (200);
    }
    if (!quiet)
        sf_progress_end ();
    return SF_OK;
}
