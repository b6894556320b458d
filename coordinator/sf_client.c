/*  sf_client: the farm's client: requests to the coordinator, model
    manifests, SUBMIT, following a campaign. */
#include "coordinator/sf_client.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <czmq.h>

#include "common/sf_curve.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
#include "common/sf_sha256.h"
#include "rankmodel/sf_modelsource.h"
#include "rankmodel/sf_rankstore.h"

#define S_MANIFEST_MAX ((size_t) 16 << 20)   /* a model manifest: 16 MiB of JSON */
#define S_INLINE_MAX ((int64_t) 192 << 20)   /* matrices sent inside one SUBMIT */

void
sf_client_init (sf_client_t *client)
{
    memset (client, 0, sizeof *client);
    snprintf (client->endpoint, sizeof client->endpoint, "%s", SF_PROTO_DEFAULT_CLIENT_ENDPOINT);
    client->timeout_ms = 10000;
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

/*  A convolution layer's geometry (the manifest's "conv"): N of its im2col
    product is batch x out_h x out_w. */
typedef struct {
    int64_t input[2], stride[2], padding[2], dilation[2], kernel[2], batch;
    bool has_kernel;
} s_conv_t;

/*  N of a convolution whose weight was read as `info` says; an error names
    the layer. */
static int
s_conv_n (const s_conv_t *conv, const sf_read_info_t *info, const char *path, int64_t *n_p)
{
    int64_t kernel[2];
    if (info->ndim == 4) {
        kernel[0] = info->dims[2];
        kernel[1] = info->dims[3];
        if (conv->has_kernel && (conv->kernel[0] != kernel[0] || conv->kernel[1] != kernel[1]))
            return sf_error_set (SF_ERR_INVALID, "%s: conv.kernel [%lld, %lld], but the weight is "
                                 "%lld x %lld x %lld x %lld", path, (long long) conv->kernel[0],
                                 (long long) conv->kernel[1], (long long) info->dims[0],
                                 (long long) info->dims[1], (long long) kernel[0], (long long) kernel[1]);
    } else if (conv->has_kernel) {
        kernel[0] = conv->kernel[0];
        kernel[1] = conv->kernel[1];
        if (info->dims[1] % (kernel[0] * kernel[1]) != 0)
            return sf_error_set (SF_ERR_INVALID, "%s: %lld columns are not I x %lld x %lld (conv.kernel)",
                                 path, (long long) info->dims[1], (long long) kernel[0], (long long) kernel[1]);
    } else
        return sf_error_set (SF_ERR_INVALID, "%s: a 2-D weight with \"conv\" needs conv.kernel "
                             "[kh, kw] (a 4-D weight O x I x kh x kw gives it)", path);
    int64_t n = conv->batch;
    for (int d = 0; d < 2; d++) {
        int64_t span = conv->dilation[d] * (kernel[d] - 1) + 1;
        int64_t room = conv->input[d] + 2 * conv->padding[d] - span;
        if (room < 0)
            return sf_error_set (SF_ERR_INVALID, "%s: conv: the %s kernel extent %lld exceeds the padded "
                                 "input %lld", path, d ? "horizontal" : "vertical", (long long) span,
                                 (long long) (conv->input[d] + 2 * conv->padding[d]));
        int64_t out = room / conv->stride[d] + 1;
        if (n > SF_PROTO_N_MAX / out)
            return sf_error_set (SF_ERR_RANGE, "%s: conv: N = batch x out_h x out_w exceeds %lld", path,
                                 (long long) SF_PROTO_N_MAX);
        n *= out;
    }
    *n_p = n;
    return SF_OK;
}

static int
s_model_add (sf_client_model_t *model, const char *path, const char *tensor, int64_t n, bool bias,
             bool relu, const s_conv_t *conv)
{
    if (model->count >= SF_PROTO_LAYERS_MAX)
        return sf_error_set (SF_ERR_RANGE, "more than %d layers", SF_PROTO_LAYERS_MAX);
    if (!conv && (n < 1 || n > SF_PROTO_N_MAX))
        return sf_error_set (SF_ERR_RANGE, "%s: n = %lld, not in 1..%lld", path, (long long) n,
                             (long long) SF_PROTO_N_MAX);
    sf_read_opts_t ro = { tensor, 0 };
    sf_read_info_t info;
    sf_matrix_t *m = sf_matrix_read_info (path, &ro, &info);
    if (!m)
        return sf_error_last ();
    int rc = conv ? s_conv_n (conv, &info, path, &n) : SF_OK;
    sf_client_layer_t *grown = rc == SF_OK ? realloc (model->layers, (size_t) (model->count + 1) * sizeof *grown)
                                           : NULL;
    if (!grown) {
        sf_matrix_destroy (&m);
        return rc != SF_OK ? rc : sf_error_set (SF_ERR_NOMEM, "out of memory");
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

int
sf_client_model_add (sf_client_model_t *model, const char *path, const char *tensor, int64_t n, bool bias,
                     bool relu)
{
    return s_model_add (model, path, tensor, n, bias, relu, NULL);
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
    give a kernel without ReLU. "source", "m", "k", "dtype" and "sparsity"
    are spmmfarm import's notes for people, read by nobody. */
static const char *const s_root_keys[] = { "name", "n", "layers", "precision", "layout", "source", NULL };
static const char *const s_layer_keys[] = { "file", "name", "tensor", "n", "bias", "relu", "conv", "precision",
                                            "layout", "m", "k", "dtype", "sparsity", NULL };

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

/*  One or two integers in [min, max] (a number, or [h, w]); absent: fallback. */
static bool
s_conv_pair (const cJSON *conv, const char *key, int64_t min, int64_t max, int64_t fallback, int64_t out[2])
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (conv, key);
    out[0] = out[1] = fallback;
    if (!item)
        return fallback >= min;
    int count = cJSON_IsArray (item) ? cJSON_GetArraySize (item) : 1;
    if (count != 1 && count != 2)
        return false;
    for (int i = 0; i < count; i++) {
        const cJSON *v = cJSON_IsArray (item) ? cJSON_GetArrayItem (item, i) : item;
        if (!cJSON_IsNumber (v) || v->valuedouble < (double) min || v->valuedouble > (double) max
            || v->valuedouble != (double) (int64_t) v->valuedouble)
            return false;
        out[i] = (int64_t) v->valuedouble;
    }
    if (count == 1)
        out[1] = out[0];
    return true;
}

/*  The manifest's "conv" object of a layer (docs/FARM.md). */
static int
s_conv_parse (const cJSON *obj, const char *manifest, int index, s_conv_t *conv)
{
    int64_t batch[2];
    if (!cJSON_IsObject (obj) || !cJSON_GetObjectItemCaseSensitive (obj, "input")
        || !s_conv_pair (obj, "input", 1, 1 << 20, 0, conv->input)
        || !s_conv_pair (obj, "stride", 1, 1024, 1, conv->stride)
        || !s_conv_pair (obj, "padding", 0, 1 << 16, 0, conv->padding)
        || !s_conv_pair (obj, "dilation", 1, 1024, 1, conv->dilation)
        || !s_conv_pair (obj, "kernel", 1, 1024, 1, conv->kernel)
        || !s_conv_pair (obj, "batch", 1, 1 << 20, 1, batch) || batch[0] != batch[1])
        return sf_error_set (SF_ERR_FORMAT,
                             "%s: layers[%d]: conv: {\"input\": H or [H, W] (1..1048576, required), "
                             "\"batch\" (1..1048576, default 1), \"stride\" (1..1024, default 1), "
                             "\"padding\" (0..65536, default 0), \"dilation\" (1..1024, default 1), "
                             "\"kernel\" [kh, kw] (a 2-D weight's)}; pairs as N or [h, w]",
                             manifest, index);
    conv->batch = batch[0];
    conv->has_kernel = cJSON_GetObjectItemCaseSensitive (obj, "kernel") != NULL;
    return SF_OK;
}

/*  A layer's "precision" or "layout" (its own, else the manifest's, else
    the default: fp32, kn), into *out (an sf_tier or sf_layout). */
static int
s_manifest_word (const char *manifest, int index, const cJSON *item, const cJSON *root, const char *key,
                 void *out)
{
    const cJSON *word = cJSON_GetObjectItemCaseSensitive (item, key);
    if (!word)
        word = cJSON_GetObjectItemCaseSensitive (root, key);
    if (!word)
        return SF_OK;
    bool tier = strcmp (key, "precision") == 0;
    int value = cJSON_IsString (word) ? (tier ? sf_tier_parse (word->valuestring) : sf_layout_parse (word->valuestring))
                                      : -1;
    if (value < 0)
        return sf_error_set (SF_ERR_FORMAT, "%s: layers[%d]: %s: %s", manifest, index, key,
                             tier ? "\"fp32\", \"tf32\", \"bf16\" or \"fp16\"" : "\"kn\" or \"nk\"");
    if (tier)
        *(sf_tier *) out = (sf_tier) value;
    else
        *(sf_layout *) out = (sf_layout) value;
    return SF_OK;
}

static int
s_manifest_layer (sf_client_model_t *model, const char *manifest, const char *dir, const cJSON *item, int index,
                  const cJSON *root)
{
    char keys[256];
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
    const cJSON *conv_obj = cJSON_GetObjectItemCaseSensitive (item, "conv");
    s_conv_t conv;
    if (conv_obj && n)
        return sf_error_set (SF_ERR_FORMAT, "%s: layers[%d]: give \"n\" or \"conv\" (N from the input "
                             "size), not both", manifest, index);
    if (conv_obj && s_conv_parse (conv_obj, manifest, index, &conv) != SF_OK)
        return sf_error_last ();
    if (!n && !conv_obj)
        n = cJSON_GetObjectItemCaseSensitive (root, "n");
    if (!cJSON_IsObject (item) || !cJSON_IsString (file) || (name && !cJSON_IsString (name))
        || (tensor && !cJSON_IsString (tensor)) || (!conv_obj && !cJSON_IsNumber (n)))
        return sf_error_set (SF_ERR_FORMAT,
                             "%s: layers[%d]: needs \"file\" (string) and \"n\" (number, here or at the top) "
                             "or \"conv\" (an object); \"name\" and \"tensor\" are strings",
                             manifest, index);
    if (!conv_obj && n->valuedouble != (double) (int64_t) n->valuedouble)
        return sf_error_set (SF_ERR_FORMAT, "%s: layers[%d]: n is not an integer", manifest, index);
    char path[4096];
    if (file->valuestring[0] == '/')
        snprintf (path, sizeof path, "%s", file->valuestring);
    else if ((size_t) snprintf (path, sizeof path, "%s/%s", dir, file->valuestring) >= sizeof path)
        return sf_error_set (SF_ERR_RANGE, "%s: layers[%d]: path too long", manifest, index);
    rc = s_model_add (model, path, tensor ? tensor->valuestring : NULL, conv_obj ? 0 : (int64_t) n->valuedouble,
                      bias, relu, conv_obj ? &conv : NULL);
    if (rc != SF_OK) {
        sf_error_prefix ("%s: layers[%d]: ", manifest, index);
        return rc;
    }
    sf_client_layer_t *l = &model->layers[model->count - 1];
    if ((rc = s_manifest_word (manifest, index, item, root, "precision", &l->tier)) != SF_OK
        || (rc = s_manifest_word (manifest, index, item, root, "layout", &l->layout)) != SF_OK)
        return rc;
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
    char keys[256];
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
    /* One precision and one layout per campaign: the search request
       carries them (sf_client_model_request). */
    for (int i = 1; i < model->count && rc == SF_OK; i++)
        if (model->layers[i].tier != model->layers[0].tier || model->layers[i].layout != model->layers[0].layout)
            rc = sf_error_set (SF_ERR_UNSUPPORTED, "%s: layer %s is %s, %s but layer %s is %s, %s: one campaign "
                               "has one precision and one layout (submit the others as a campaign of their own)",
                               path, model->layers[i].name, sf_tier_name (model->layers[i].tier),
                               sf_layout_name (model->layers[i].layout), model->layers[0].name,
                               sf_tier_name (model->layers[0].tier), sf_layout_name (model->layers[0].layout));
    return rc;
}

int
sf_client_model_request (const sf_client_model_t *model, sf_request_t *request)
{
    if (model->count == 0)
        return SF_OK;
    sf_tier tier = model->layers[0].tier;
    sf_layout layout = model->layers[0].layout;
    if (tier != SF_TIER_FP32) {
        if (request->tier != SF_TIER_FP32 && request->tier != tier)
            return sf_error_set (SF_ERR_INVALID, "--precision %s, but the manifest's layers are %s",
                                 sf_tier_name (request->tier), sf_tier_name (tier));
        request->tier = tier;
    }
    if (layout != SF_LAYOUT_KN) {
        if (request->layout != SF_LAYOUT_KN && request->layout != layout)
            return sf_error_set (SF_ERR_INVALID, "--layout %s, but the manifest's layers are %s",
                                 sf_layout_name (request->layout), sf_layout_name (layout));
        request->layout = layout;
    }
    return SF_OK;
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
sf_client_has_worker (const sf_client_t *client, const char *gpu_type, bool *found)
{
    *found = false;
    sf_proto_status_req_t req = { 0 };
    sf_proto_msg_t *reply = NULL;
    int rc = sf_client_request (client, SF_PROTO_STATUS_REQ, &req, &reply);
    if (rc == SF_OK && reply->type != SF_PROTO_STATUS)
        rc = sf_error_set (SF_ERR_PROTOCOL, "coordinator answered STATUS_REQ with %s",
                           sf_proto_type_name (reply->type));
    for (size_t i = 0; rc == SF_OK && i < reply->status.worker_count; i++)
        if (strcmp (reply->status.workers[i].gpu_type, gpu_type) == 0
            && strcmp (reply->status.workers[i].state, "lost") != 0)
            *found = true;
    sf_proto_msg_destroy (&reply);
    return rc;
}

/* ---- a rank model ------------------------------------------------------ */

/*  A model as the wire's (its JSON then the caller's). */
static int
s_model_wire (sf_rankmodel_t *ranker, uint32_t version, sf_proto_model_t *out)
{
    char *json = NULL;
    size_t size = 0;
    int rc = sf_rankmodel_save_json (ranker, &json, &size);
    if (rc != SF_OK)
        return rc;
    if ((int64_t) size > SF_PROTO_MODEL_MAX) {
        free (json);
        return sf_error_set (SF_ERR_RANGE, "the rank model is %zu bytes, a SUBMIT carries at most %lld", size,
                             (long long) SF_PROTO_MODEL_MAX);
    }
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256 (json, size, digest);
    sf_sha256_hex (digest, out->digest);
    out->version = (int32_t) (version <= INT32_MAX ? version : 0);
    out->json = json;
    return SF_OK;
}

int
sf_client_model_attach (sf_proto_submit_t *submit, sf_rankmodel_t *ranker, uint32_t version)
{
    int rc = s_model_wire (ranker, version, &submit->model);
    submit->has_model = rc == SF_OK;
    return rc;
}

/*  bf16/fp16: template T's model of submit->gpu_type from source (a T
    model file, or a store's latest under the T key) as submit->tmodel;
    *tfile: source is a T model file (no U/D model comes from it). A store
    without one is no error: the coordinator looks in its own. */
static int
s_attach_tmodel (sf_proto_submit_t *submit, const char *source, bool is_dir, bool *tfile)
{
    *tfile = !is_dir && sf_modelsource_is_t_file (source);
    if (!is_dir && !*tfile)
        return SF_OK;  /* a U/D model's file (or none): the U/D path says */
    sf_store_model_t record;
    bool soft = false;
    sf_rankmodel_t *m = sf_modelsource_load_t (source, submit->gpu_type, &record, &soft);
    int rc = m ? s_model_wire (m, record.version, &submit->tmodel) : is_dir && soft ? SF_OK : sf_error_last ();
    submit->has_tmodel = m && rc == SF_OK;
    sf_rankmodel_destroy (&m);
    sf_record_model_free (&record);
    return rc;
}

int
sf_client_rank_model (sf_proto_submit_t *submit, const char *source)
{
    struct stat st;
    if (stat (source, &st) != 0)
        return sf_error_set (SF_ERR_NOTFOUND, "%s: no such model file or store", source);
    if (!submit->gpu_type[0]) {
        /* the file says whose model it is: the campaign is for that type */
        sf_store_model_t rec;
        sf_rankmodel_t *m = S_ISDIR (st.st_mode) ? NULL : sf_rankmodel_load_file (source);
        if (!m && !S_ISDIR (st.st_mode))
            return sf_error_last ();
        int rc = !m ? SF_ERR_INVALID : sf_rankmodel_provenance (m, &rec);
        sf_rankmodel_destroy (&m);
        if (rc != SF_OK || !rec.gpu_type[0])
            return sf_error_set (SF_ERR_INVALID, "%s: %s: name the campaign's GPU type (--gpu-type)", source,
                                 S_ISDIR (st.st_mode) ? "a store holds models of many GPU types"
                                                      : "the model does not say which GPU type it is for");
        /* a T model's provenance is its key, "TYPE+T" */
        size_t len = strlen (rec.gpu_type), suffix = strlen (SF_RANKSTORE_T_SUFFIX);
        if (len > suffix && strcmp (rec.gpu_type + len - suffix, SF_RANKSTORE_T_SUFFIX) == 0)
            rec.gpu_type[len - suffix] = '\0';
        snprintf (submit->gpu_type, sizeof submit->gpu_type, "%.*s", (int) sizeof submit->gpu_type - 1,
                  rec.gpu_type);
    }
    bool sixteen = submit->request.tier == SF_TIER_BF16 || submit->request.tier == SF_TIER_FP16, tfile = false;
    if (sixteen) {
        int trc = s_attach_tmodel (submit, source, S_ISDIR (st.st_mode), &tfile);
        if (trc != SF_OK || tfile)
            return trc;
    }
    sf_store_model_t record;
    memset (&record, 0, sizeof record);
    bool soft = false;
    sf_rankmodel_t *ranker = sf_modelsource_load (source, submit->gpu_type, &record, &soft);
    /* bf16/fp16 with template T's model: U and D do not run there, no U/D model is needed */
    int rc = ranker || (sixteen && submit->has_tmodel) ? SF_OK : sf_error_last ();
    if (rc == SF_OK && ranker && !sf_rankmodel_has_features (ranker))
        rc = sf_error_set (SF_ERR_SCHEMA, "%s: the model was not trained on this build's features", source);
    if (rc == SF_OK && ranker)
        rc = sf_client_model_attach (submit, ranker, record.version);
    sf_rankmodel_destroy (&ranker);
    sf_record_model_free (&record);
    return rc;
}

int
sf_client_wait (const sf_client_t *cl, uint64_t id, sf_client_status_fn *on_status, void *arg,
                sf_proto_campaign_t *out)
{
    memset (out, 0, sizeof *out);
    sf_proto_status_req_t req = { id };
    for (;;) {
        sf_proto_msg_t *reply = NULL;
        int rc = sf_client_request (cl, SF_PROTO_STATUS_REQ, &req, &reply);
        if (rc == SF_OK && (reply->type != SF_PROTO_STATUS || reply->status.campaign_count != 1
                            || reply->status.campaigns[0].id != id))
            rc = sf_error_set (SF_ERR_PROTOCOL, "unexpected STATUS reply");
        if (rc != SF_OK) {
            sf_proto_msg_destroy (&reply);
            return rc;
        }
        /* the reply's failures text becomes out's (the reply frees the rest) */
        free (out->failures);
        *out = reply->status.campaigns[0];
        reply->status.campaigns[0].failures = NULL;
        /* model scale (issue 22): the workers' compile queue */
        int compiles = 0;
        for (size_t i = 0; i < reply->status.worker_count; i++)
            compiles += reply->status.workers[i].compiles_left;
        sf_proto_msg_destroy (&reply);
        if (on_status)
            on_status (out, compiles, arg);
        if (sf_client_campaign_ended (out))
            return SF_OK;
        if (zsys_interrupted)
            return sf_error_set (SF_ERR_CANCELLED, "interrupted");
        zclock_sleep (200);
    }
}

bool
sf_client_campaign_ended (const sf_proto_campaign_t *c)
{
    return strcmp (c->state, "queued") != 0 && strcmp (c->state, "running") != 0;
}

/*  A request whose reply must be of type `want`. */
static int
s_request_reply (const sf_client_t *cl, sf_proto_type type, const void *body, sf_proto_type want,
                 sf_proto_msg_t **reply_p)
{
    int rc = sf_client_request (cl, type, body, reply_p);
    if (rc == SF_OK && (*reply_p)->type != want) {
        rc = sf_error_set (SF_ERR_PROTOCOL, "coordinator answered with %s", sf_proto_type_name ((*reply_p)->type));
        sf_proto_msg_destroy (reply_p);
    }
    return rc;
}

int
sf_client_status (const sf_client_t *cl, uint64_t campaign, sf_proto_msg_t **reply_p)
{
    sf_proto_status_req_t req = { campaign };
    return s_request_reply (cl, SF_PROTO_STATUS_REQ, &req, SF_PROTO_STATUS, reply_p);
}

sf_client_outcome
sf_client_status_outcome (const sf_proto_status_t *st)
{
    sf_client_outcome outcome = SF_CLIENT_DONE;
    for (size_t i = 0; i < st->campaign_count; i++) {
        const sf_proto_campaign_t *c = &st->campaigns[i];
        if (!sf_client_campaign_ended (c))
            return SF_CLIENT_RUNNING;
        if (strcmp (c->state, "done") != 0 || c->jobs_failed > 0)
            outcome = SF_CLIENT_FAILED;
    }
    return outcome;
}

int
sf_client_metrics (const sf_client_t *cl, bool bare, char **text_p)
{
    *text_p = NULL;
    sf_proto_metrics_req_t req = { bare };
    sf_proto_msg_t *reply = NULL;
    int rc = s_request_reply (cl, SF_PROTO_METRICS_REQ, &req, SF_PROTO_METRICS, &reply);
    if (rc == SF_OK && !(*text_p = strdup (reply->metrics.text ? reply->metrics.text : "")))
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    sf_proto_msg_destroy (&reply);
    return rc;
}
