/*  Check suite of wire/sf_proto (the farm's messages): every message type
    round-trips, a rank JOB carries its model, frames, versions and types are
    checked, truncated and garbage bodies are refused with a detail naming
    the place, the encoder refuses what the decoder would, and
    conf/farm.conf says the protocol's defaults. The bounds of every field
    are tests/check_proto_bounds.c's, real sockets and CurveZMQ
    tests/check_proto_net.c's. Each test is also an example of the API. */
#include "tests/sf_check_proto.h"

/* ---- round trips -------------------------------------------------------- */

START_TEST (test_roundtrip_every_type)
{
    for (int t = 1; t <= SF_PROTO_TYPE_COUNT; t++) {
        sf_proto_type type = (sf_proto_type) t;
        ck_assert_int_eq (sf_proto_type_parse (sf_proto_type_name (type)), t);
        zmsg_t *zmsg = s_encode_sample (type);
        ck_assert_uint_eq (zmsg_size (zmsg), 3);
        ck_assert (zframe_streq (zmsg_first (zmsg), SF_PROTO_VERSION));
        ck_assert (zframe_streq (zmsg_next (zmsg), sf_proto_type_name (type)));
        sf_proto_msg_t *msg = NULL;
        int rc = sf_proto_decode (zmsg, sf_proto_type_directions (type), &msg);
        ck_assert_msg (rc == SF_OK, "%s: %s", sf_proto_type_name (type), sf_error_message ());
        ck_assert_int_eq (msg->type, t);
        /* Encoding is deterministic, so the decoded message encodes to the
           same bytes only if every field came back. */
        zmsg_t *again = sf_proto_encode (msg->type, &msg->hello);
        ck_assert_ptr_nonnull (again);
        ck_assert_msg (zframe_eq (s_body (zmsg), s_body (again)), "%s: re-encoding differs",
                       sf_proto_type_name (type));
        zmsg_destroy (&again);
        sf_proto_msg_destroy (&msg);
        sf_proto_msg_destroy (&msg);  /* safe twice */
        ck_assert_ptr_null (msg);
        zmsg_destroy (&zmsg);
    }
    ck_assert_int_eq (sf_proto_type_parse ("FROB"), -1);
    ck_assert_str_eq (sf_proto_type_name ((sf_proto_type) 99), "?");
}
END_TEST

START_TEST (test_roundtrip_fields)
{
    zmsg_t *zmsg = s_encode_sample (SF_PROTO_RESULT);
    sf_proto_msg_t *msg;
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_FROM_WORKER, &msg), SF_OK);
    const sf_proto_result_t *r = &msg->result;
    ck_assert_uint_eq (r->job_id, 77);
    ck_assert_uint_eq (r->lease_id, 9001);
    ck_assert_uint_eq (r->candidate_count, 2);
    const sf_proto_candidate_t *c = &r->candidates[0];
    ck_assert_str_eq (c->tmpl, "U");
    ck_assert_str_eq (c->config, s_configs[0]);
    ck_assert (c->has_kernel);
    ck_assert_str_eq (c->kernel.launch.entry, "sf_u_kernel");
    ck_assert_int_eq (c->kernel.launch.shared_bytes, 8192);
    ck_assert_int_eq (c->kernel.launch.code_fmas, 123456);
    ck_assert_uint_eq (c->kernel.cubin_size, sizeof s_cubin);
    ck_assert_mem_eq (c->kernel.cubin, s_cubin, sizeof s_cubin);
    ck_assert_mem_eq (c->kernel.data, s_data, sizeof s_data);
    ck_assert_str_eq (c->kernel.source, s_candidates[0].kernel.source);
    ck_assert_double_eq (c->us, 12.5);
    ck_assert (c->cached);
    /* what the search did (tune-local's counts) */
    ck_assert (r->legal == 40 && r->pruned == 12 && r->compiled == 9 && r->timed == 8 && r->failed == 1);
    ck_assert_int_eq (r->restarts, 1);
    ck_assert_double_eq (r->compile_wall_s, 2.25);
    c = &r->candidates[1];
    ck_assert (c->proxy && !c->has_kernel && !c->cached);
    ck_assert_int_eq (c->status, SF_ERR_VERIFY);
    ck_assert (isnan (c->us) && isnan (c->p90_us));
    ck_assert_str_eq (c->detail, "wrong answer: error 0.3 > 1e-05");
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);

    /* SUBMIT: a local command's request key and its own rank model */
    zmsg = s_encode_sample (SF_PROTO_SUBMIT);
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_FROM_CLIENT, &msg), SF_OK);
    ck_assert_str_eq (msg->submit.request_key, "tune-local strategy=rank top-k=10 spmmfarm=0.1.0");
    ck_assert (msg->submit.has_model);
    ck_assert_int_eq (msg->submit.model.version, 0);
    ck_assert_str_eq (msg->submit.model.json, "{\"learner\": {}}");
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);

    /* JOB: the seed's whole 64 bits, and the config list */
    zmsg = s_encode_sample (SF_PROTO_JOB);
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg), SF_OK);
    ck_assert_uint_eq (msg->job.request.seed, UINT64_MAX);
    ck_assert (msg->job.request.bias && !msg->job.request.relu);
    ck_assert_int_eq (msg->job.request.max_configs, 100);
    ck_assert_uint_eq (msg->job.config_count, 2);
    ck_assert_str_eq (msg->job.configs[1], s_configs[1]);
    ck_assert_str_eq (msg->job.kind, "configs");
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);

    /* Optional fields left out get their documented defaults. */
    s_pack_t p;
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 2);
    s_pack_str (&p, "name");
    s_pack_str (&p, "tiny");
    s_pack_str (&p, "layers");
    msgpack_pack_array (&p.pk, 1);
    msgpack_pack_map (&p.pk, 3);
    s_pack_str (&p, "name");
    s_pack_str (&p, "fc1");
    s_pack_str (&p, "matrix_hash");
    s_pack_str (&p, S_HASH);
    s_pack_str (&p, "n");
    msgpack_pack_int (&p.pk, 64);
    zmsg = s_frames (SF_PROTO_VERSION, "SUBMIT", p.sbuf.data, p.sbuf.size);
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_FROM_CLIENT, &msg), SF_OK);
    /* no request: the default one */
    ck_assert_str_eq (msg->submit.kind, "");
    ck_assert_uint_eq (msg->submit.request.seed, 1);
    ck_assert_double_eq (msg->submit.request.tol, 0);
    ck_assert_int_eq (msg->submit.request.strategy, SF_REQUEST_PROXY);
    ck_assert_uint_eq (msg->submit.request.templates, SF_REQUEST_DEFAULT_TEMPLATES);
    ck_assert (msg->submit.request.d_slab);
    ck_assert_str_eq (msg->submit.gpu_type, "");
    ck_assert_uint_eq (msg->submit.matrix_count, 0);
    ck_assert_ptr_null (msg->submit.matrices);
    ck_assert_str_eq (msg->submit.layers[0].name, "fc1");
    ck_assert (!msg->submit.layers[0].bias);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);
    msgpack_sbuffer_destroy (&p.sbuf);
}
END_TEST

START_TEST (test_matrix_view_and_take)
{
    sf_matrix_t *a = sf_matrix_new_random (40, 30, 0.8, 11);
    ck_assert_ptr_nonnull (a);
    sf_proto_matrix_t view;
    sf_proto_matrix_view (a, &view);
    zmsg_t *zmsg = sf_proto_encode (SF_PROTO_MATRIX, &view);
    ck_assert_ptr_nonnull (zmsg);
    sf_proto_msg_t *msg;
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg), SF_OK);
    sf_matrix_t *b = sf_proto_matrix_take (&msg->matrix);
    ck_assert_msg (b, "%s", sf_error_message ());
    ck_assert (sf_matrix_equal (a, b));
    ck_assert_ptr_null (msg->matrix.values);  /* taken */
    sf_proto_msg_destroy (&msg);
    sf_matrix_destroy (&b);

    /* A changed value no longer matches the declared hash. */
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg), SF_OK);
    msg->matrix.values[0] += 1.0f;
    ck_assert_ptr_null (sf_proto_matrix_take (&msg->matrix));
    ck_assert_int_eq (sf_error_last (), SF_ERR_PROTOCOL);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "not the declared"));
    sf_proto_msg_destroy (&msg);

    /* Arrays of the right sizes that are not a canonical CSR matrix. */
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg), SF_OK);
    msg->matrix.col_idx[0] = 30;  /* out of range */
    ck_assert_ptr_null (sf_proto_matrix_take (&msg->matrix));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "not a valid CSR matrix"));
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);
    sf_matrix_destroy (&a);
}
END_TEST

/* ---- a rank JOB's model ------------------------------------------------------ */

#define S_MODEL_JSON "{\"learner\": {}}"

static void
s_rank_job (sf_proto_msg_t *m)
{
    s_sample (SF_PROTO_JOB, m);
    snprintf (m->job.kind, sizeof m->job.kind, "search");
    m->job.request.strategy = SF_REQUEST_RANK;
    m->job.configs = NULL;
    m->job.config_count = 0;
    m->job.request.top_k = 5;
    m->job.has_model = true;
    m->job.model.version = 3;
    snprintf (m->job.model.digest, sizeof m->job.model.digest, "%s", S_HASH);
    m->job.model.json = S_MODEL_JSON;
}

/*  The rank JOB with one field of its model dropped or retyped: refused. */
static void
s_expect_model_field_refused (const char *path, s_action action, const char *want)
{
    sf_proto_msg_t m;
    s_rank_job (&m);
    zmsg_t *zmsg = sf_proto_encode (SF_PROTO_JOB, &m.job);
    ck_assert_ptr_nonnull (zmsg);
    zframe_t *body = s_body (zmsg);
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    ck_assert_int_eq (msgpack_unpack_next (&up, (const char *) zframe_data (body), zframe_size (body), NULL),
                      MSGPACK_UNPACK_SUCCESS);
    s_pack_t p;
    s_pack_init (&p);
    s_copy (&p.pk, &up.data, "", path, action);
    s_expect_refused ("JOB", p.sbuf.data, p.sbuf.size, want);
    msgpack_sbuffer_destroy (&p.sbuf);
    msgpack_unpacked_destroy (&up);
    zmsg_destroy (&zmsg);
}

START_TEST (test_job_model)
{
    sf_proto_msg_t m;
    s_rank_job (&m);
    zmsg_t *zmsg = sf_proto_encode (SF_PROTO_JOB, &m.job);
    ck_assert_msg (zmsg, "%s", sf_error_message ());
    sf_proto_msg_t *msg = NULL;
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg), SF_OK);
    ck_assert (msg->job.has_model);
    ck_assert_int_eq (msg->job.model.version, 3);
    ck_assert_str_eq (msg->job.model.digest, S_HASH);
    ck_assert_str_eq (msg->job.model.json, S_MODEL_JSON);
    ck_assert_int_eq (msg->job.request.top_k, 5);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);

    /* without one: has_model false (an older coordinator's JOB) */
    m.job.has_model = false;
    zmsg = sf_proto_encode (SF_PROTO_JOB, &m.job);
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg), SF_OK);
    ck_assert (!msg->job.has_model);
    ck_assert_ptr_null (msg->job.model.json);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);

    /* the encoder refuses what a worker would */
    s_rank_job (&m);
    m.job.model.version = -1;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "model.version"));
    s_rank_job (&m);
    m.job.model.version = 0;  /* a model that is no store's: a file's (tune-local --model FILE) */
    zmsg = sf_proto_encode (SF_PROTO_JOB, &m.job);
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg), SF_OK);
    ck_assert_int_eq (msg->job.model.version, 0);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);
    s_rank_job (&m);
    m.job.model.digest[0] = 'X';
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "model.digest"));
    s_rank_job (&m);
    m.job.model.json = "{";
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "model.json"));
    s_rank_job (&m);
    m.job.request.strategy = SF_REQUEST_PROXY;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "only with a 'search' job whose request's strategy is 'rank'"));

    /* and the decoder refuses a model missing a part, or of the wrong type */
    s_expect_model_field_refused ("model.json", S_DROP, "JOB: missing required field 'model.json'");
    s_expect_model_field_refused ("model.digest", S_DROP, "JOB: missing required field 'model.digest'");
    s_expect_model_field_refused ("model.version", S_DROP, "JOB: missing required field 'model.version'");
    s_expect_model_field_refused ("model.json", S_WRONG_TYPE, "JOB: field 'model.json'");
    s_expect_model_field_refused ("model", S_WRONG_TYPE, "JOB: field 'model'");
    /* without its strategy the request is proxy's, which takes no model */
    s_expect_model_field_refused ("request.strategy", S_DROP, "JOB: field 'model': a model travels only");
}
END_TEST


START_TEST (test_frames_versions_types)
{
    zmsg_t *good = s_encode_sample (SF_PROTO_HELLO);
    zframe_t *body = s_body (good);
    sf_proto_msg_t *msg = NULL;

    zmsg_t *zmsg = s_frames ("SF1", "HELLO", zframe_data (body), zframe_size (body));
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_ANY, &msg), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (),
                      "protocol version mismatch: the peer speaks 'SF1', this build speaks 'SF2'");
    zmsg_destroy (&zmsg);
    zmsg = s_frames ("GET / HTTP/1.1", "HELLO", zframe_data (body), zframe_size (body));
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_ANY, &msg), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "not an spmmfarm message: first frame 'GET / HTTP/1.1' is not 'SF2'");
    zmsg_destroy (&zmsg);
    zmsg = s_frames (SF_PROTO_VERSION, "FROB\x01", zframe_data (body), zframe_size (body));
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_ANY, &msg), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "unknown message type 'FROB?'");
    zmsg_destroy (&zmsg);

    /* A worker's message arriving where only a client's are accepted. */
    ck_assert_int_eq (sf_proto_decode (good, SF_PROTO_FROM_CLIENT, &msg), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "HELLO: not a message this socket accepts");
    ck_assert_ptr_null (msg);

    /* Two frames, four frames (a ROUTER's routing id left in), no message. */
    zmsg = zmsg_dup (good);
    zframe_t *last = zmsg_last (zmsg);
    zmsg_remove (zmsg, last);
    zframe_destroy (&last);
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_ANY, &msg), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "a message of 2 frames, not 3 (version, type, body)");
    zmsg_destroy (&zmsg);
    zmsg = zmsg_dup (good);
    zmsg_pushstr (zmsg, "peer-id");
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_ANY, &msg), SF_ERR_PROTOCOL);
    zmsg_destroy (&zmsg);
    ck_assert_int_eq (sf_proto_decode (NULL, SF_PROTO_ANY, &msg), SF_ERR_PROTOCOL);

    /* Trailing bytes after the map, a repeated key, a non-string key. */
    size_t size = zframe_size (body);
    unsigned char *longer = malloc (size + 1);
    memcpy (longer, zframe_data (body), size);
    longer[size] = 0xc0;
    s_expect_refused ("HELLO", longer, size + 1, "HELLO: 1 bytes after the body's map");
    free (longer);
    const unsigned char twice[] = { 0x82, 0xa5, 's', 'l', 'o', 't', 's', 0x01, 0xa5, 's', 'l', 'o', 't', 's', 0x02 };
    s_expect_refused ("READY", twice, sizeof twice, "READY: field 'slots': key appears twice");
    const unsigned char intkey[] = { 0x81, 0x01, 0x01 };
    s_expect_refused ("READY", intkey, sizeof intkey, "READY: a key is an integer, not a string");
    const unsigned char array[] = { 0x91, 0x01 };
    s_expect_refused ("READY", array, sizeof array, "READY: expected a map, got an array");
    const unsigned char c1[] = { 0xc1 };
    s_expect_refused ("READY", c1, sizeof c1, "READY: MessagePack: byte 0: type 0xc1 is not accepted");
    s_expect_refused ("READY", "", 0, "READY: MessagePack: truncated at byte 0");

    /* Unknown keys (a newer peer's) are skipped, whatever they hold. */
    s_pack_t p;
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 2);
    s_pack_str (&p, "future");
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "nested");
    msgpack_pack_array (&p.pk, 4);
    msgpack_pack_double (&p.pk, 1.5);
    msgpack_pack_ext (&p.pk, 4, 1);
    msgpack_pack_ext_body (&p.pk, "abcd", 4);
    msgpack_pack_bin (&p.pk, 2);
    msgpack_pack_bin_body (&p.pk, "xy", 2);
    msgpack_pack_map (&p.pk, 0);
    s_pack_str (&p, "slots");
    msgpack_pack_int (&p.pk, 3);
    zmsg = s_frames (SF_PROTO_VERSION, "READY", p.sbuf.data, p.sbuf.size);
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_ANY, &msg), SF_OK);
    ck_assert_int_eq (msg->ready.slots, 3);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);
    msgpack_sbuffer_destroy (&p.sbuf);

    /* Nesting past the skip depth is refused, not recursed into. */
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "deep");
    for (int i = 0; i < 100; i++)
        msgpack_pack_array (&p.pk, 1);
    msgpack_pack_nil (&p.pk);
    s_expect_refused ("READY", p.sbuf.data, p.sbuf.size, "nested deeper than 32");
    msgpack_sbuffer_destroy (&p.sbuf);

    zmsg_destroy (&good);
}
END_TEST

/*  Decodes `size` bytes as `type`; a refusal must be SF_ERR_PROTOCOL. */
static int
s_decode_bytes (const char *type, const void *data, size_t size)
{
    zmsg_t *zmsg = s_frames (SF_PROTO_VERSION, type, data, size);
    sf_proto_msg_t *msg = NULL;
    int rc = sf_proto_decode (zmsg, SF_PROTO_ANY, &msg);
    ck_assert_msg (rc == SF_OK || rc == SF_ERR_PROTOCOL, "%s: status %d", type, rc);
    ck_assert ((rc == SF_OK) == (msg != NULL));
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);
    return rc;
}

START_TEST (test_truncated_and_garbage)
{
    sf_rng_t rng;
    sf_rng_seed (&rng, 5);
    for (int t = 1; t <= SF_PROTO_TYPE_COUNT; t++) {
        const char *name = sf_proto_type_name ((sf_proto_type) t);
        zmsg_t *zmsg = s_encode_sample ((sf_proto_type) t);
        zframe_t *body = s_body (zmsg);
        size_t size = zframe_size (body);
        unsigned char *copy = malloc (size);
        /* every proper prefix is refused */
        for (size_t cut = 0; cut < size; cut++)
            ck_assert_msg (s_decode_bytes (name, zframe_data (body), cut) == SF_ERR_PROTOCOL,
                           "%s cut at %zu accepted", name, cut);
        /* any byte changed: a refusal or a valid message, never a crash */
        static const unsigned char bytes[] = { 0x00, 0xff, 0xc1, 0xdf, 0xdb, 0xc6, 0x7f, 0x80 };
        for (size_t at = 0; at < size; at++)
            for (size_t b = 0; b < sizeof bytes; b++) {
                memcpy (copy, zframe_data (body), size);
                copy[at] = bytes[b];
                s_decode_bytes (name, copy, size);
            }
        /* random bodies */
        for (int round = 0; round < 200; round++) {
            for (size_t i = 0; i < size; i++)
                copy[i] = (unsigned char) sf_rng_below (&rng, 256);
            if (round % 2)
                copy[0] = (unsigned char) (0x80 | sf_rng_below (&rng, 16));  /* a fixmap */
            s_decode_bytes (name, copy, size);
        }
        free (copy);
        zmsg_destroy (&zmsg);
    }
}
END_TEST

START_TEST (test_encode_refusals)
{
    ck_assert_ptr_null (sf_proto_encode ((sf_proto_type) 0, "x"));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_READY, NULL));
    sf_proto_ready_t ready = { .slots = 0 };
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_READY, &ready));
    ck_assert_str_eq (sf_error_message (), "READY: field 'slots': 0 out of range [1, 1024]");
    sf_proto_msg_t m;
    s_sample (SF_PROTO_RESULT, &m);
    s_candidates[0].kernel.launch.vec = 3000;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_RESULT, &m.result));
    ck_assert_str_eq (sf_error_message (),
                      "RESULT: field 'candidates[0].kernel.launch.vec': 3000 out of range [1, 16]");
    s_fill_candidates ();
    s_candidates[1].kernel.cubin = NULL;  /* no kernel: fine, has_kernel is false */
    zmsg_t *zmsg = sf_proto_encode (SF_PROTO_RESULT, &m.result);
    ck_assert_ptr_nonnull (zmsg);
    zmsg_destroy (&zmsg);
    s_candidates[0].kernel.cubin = NULL;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_RESULT, &m.result));
    ck_assert_str_eq (sf_error_message (), "RESULT: field 'candidates[0].kernel.cubin': required field is NULL");
    /* the socket option that enforces the bound on receipt */
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    sf_proto_socket_limits (sock);
    ck_assert_int_eq (zsock_maxmsgsize (sock), SF_PROTO_MSG_MAX);
    zsock_destroy (&sock);
}
END_TEST

/* ---- the example configuration ------------------------------------------ */

START_TEST (test_farm_conf_defaults)
{
    const char *top = getenv ("SF_TOP_SRCDIR");
    char path[4096];
    snprintf (path, sizeof path, "%s/conf/farm.conf", top ? top : ".");
    zconfig_t *conf = zconfig_load (path);
    ck_assert_msg (conf, "cannot read %s", path);
    ck_assert_str_eq (zconfig_get (conf, "coordinator/workers", ""), SF_PROTO_DEFAULT_WORKER_ENDPOINT);
    ck_assert_str_eq (zconfig_get (conf, "coordinator/clients", ""), SF_PROTO_DEFAULT_CLIENT_ENDPOINT);
    ck_assert_int_eq (atoi (zconfig_get (conf, "coordinator/heartbeat_ms", "0")), SF_PROTO_DEFAULT_HEARTBEAT_MS);
    ck_assert_int_eq (atoi (zconfig_get (conf, "coordinator/liveness", "0")), SF_PROTO_DEFAULT_LIVENESS);
    ck_assert_str_eq (zconfig_get (conf, "worker/connect", ""), SF_PROTO_DEFAULT_WORKER_ENDPOINT);
    ck_assert_str_eq (zconfig_get (conf, "client/connect", ""), SF_PROTO_DEFAULT_CLIENT_ENDPOINT);
    ck_assert_int_gt (atoi (zconfig_get (conf, "coordinator/lease_ms", "0")), 0);
    ck_assert_int_gt (atoi (zconfig_get (conf, "coordinator/retries", "0")), 0);
    zconfig_destroy (&conf);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("proto");
    TCase *tc = tcase_create ("codec");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_roundtrip_every_type);
    tcase_add_test (tc, test_roundtrip_fields);
    tcase_add_test (tc, test_matrix_view_and_take);
    tcase_add_test (tc, test_job_model);
    tcase_add_test (tc, test_frames_versions_types);
    tcase_add_test (tc, test_truncated_and_garbage);
    tcase_add_test (tc, test_encode_refusals);
    tcase_add_test (tc, test_farm_conf_defaults);
    suite_add_tcase (s, tc);
    return s;
}


/*  `check_proto --seeds DIR`: the fuzzer's seed corpus (tests/fuzz/proto/):
    every sample message as the harness reads it, a type byte and the
    MessagePack body (tests/fuzz/fuzz_proto.c). */
static int
s_write_seeds (const char *dir)
{
    for (int t = 1; t <= SF_PROTO_TYPE_COUNT; t++) {
        sf_proto_msg_t m;
        s_sample ((sf_proto_type) t, &m);
        zmsg_t *msg = sf_proto_encode ((sf_proto_type) t, &m.hello);
        if (!msg) {
            fprintf (stderr, "check_proto --seeds: %s: %s\n", sf_proto_type_name (t), sf_error_message ());
            return 1;
        }
        zframe_t *body = zmsg_last (msg);
        char path[4200];
        snprintf (path, sizeof path, "%s/%s", dir, sf_proto_type_name (t));
        FILE *f = fopen (path, "wb");
        unsigned char tag = (unsigned char) (t - 1);
        if (!f || fwrite (&tag, 1, 1, f) != 1 || fwrite (zframe_data (body), 1, zframe_size (body), f) != zframe_size (body))
            return 1;
        fclose (f);
        zmsg_destroy (&msg);
    }
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc == 3 && strcmp (argv[1], "--seeds") == 0)
        return s_write_seeds (argv[2]);
    return sf_check_run (s_suite ());
}
