/*  Check suite of the wire's bounds (common/sf_schema.h, wire/sf_mpread.h,
    through wire/sf_proto.h): every required field missing, every wrong
    type, every number out of its range, every string and list past its
    bound is refused by the decoder with a detail naming the field. */
#include "tests/sf_check_proto.h"

/* ---- refusals ----------------------------------------------------------- */

START_TEST (test_missing_and_wrong_typed_fields)
{
    static char paths[128][128];
    for (int t = 1; t <= SF_PROTO_TYPE_COUNT; t++) {
        sf_proto_type type = (sf_proto_type) t;
        const char *name = sf_proto_type_name (type);
        zmsg_t *zmsg = s_encode_sample (type);
        zframe_t *body = s_body (zmsg);
        msgpack_unpacked up;
        msgpack_unpacked_init (&up);
        ck_assert_int_eq (msgpack_unpack_next (&up, (const char *) zframe_data (body), zframe_size (body), NULL),
                          MSGPACK_UNPACK_SUCCESS);
        int count = 0;
        s_key_paths (&up.data, "", paths, &count, 128);
        int required = 0;
        for (int i = 0; i < count; i++) {
            char where[160], want[200];
            s_error_path (paths[i], where, sizeof where);
            for (int action = S_DROP; action <= S_WRONG_TYPE; action++) {
                s_pack_t p;
                s_pack_init (&p);
                s_copy (&p.pk, &up.data, "", paths[i], (s_action) action);
                zmsg_t *mutated = s_frames (SF_PROTO_VERSION, name, p.sbuf.data, p.sbuf.size);
                sf_proto_msg_t *msg = NULL;
                int rc = sf_proto_decode (mutated, SF_PROTO_ANY, &msg);
                if (action == S_DROP && !s_is_required (type, paths[i]))
                    ck_assert_msg (rc == SF_OK, "%s without optional '%s': %s", name, paths[i],
                                   sf_error_message ());
                else {
                    ck_assert_msg (rc == SF_ERR_PROTOCOL, "%s: %s '%s' accepted", name,
                                   action == S_DROP ? "missing" : "retyped", paths[i]);
                    snprintf (want, sizeof want, "%s: %s'%s'", name,
                              action == S_DROP && strcmp (paths[i], "configs") ? "missing required field " : "field ",
                              where);
                    ck_assert_msg (strstr (sf_error_message (), want), "detail \"%s\" lacks \"%s\"",
                                   sf_error_message (), want);
                    required += action == S_DROP;
                }
                sf_proto_msg_destroy (&msg);
                zmsg_destroy (&mutated);
                msgpack_sbuffer_destroy (&p.sbuf);
            }
        }
        /* every listed required field was in the sample, and refused when dropped */
        int listed = 0;
        for (const char *p = s_required[type]; *p; p++)
            listed += p[0] != ' ' && (p == s_required[type] || p[-1] == ' ');
        ck_assert_msg (required == listed, "%s: %d required fields refused, %d listed", name, required, listed);
        msgpack_unpacked_destroy (&up);
        zmsg_destroy (&zmsg);
    }
}
END_TEST

/*  A body of `type` holding the one field `key`, packed by the callback. */
static void
s_expect_field_refused (const char *type, const char *key, void (*pack) (msgpack_packer *),
                        const char *want)
{
    s_pack_t p;
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, key);
    pack (&p.pk);
    s_expect_refused (type, p.sbuf.data, p.sbuf.size, want);
    msgpack_sbuffer_destroy (&p.sbuf);
}

static void s_pk_zero (msgpack_packer *pk) { msgpack_pack_int (pk, 0); }
static void s_pk_big (msgpack_packer *pk) { msgpack_pack_int (pk, 1025); }
static void s_pk_huge (msgpack_packer *pk) { msgpack_pack_uint64 (pk, UINT64_MAX); }
static void s_pk_neg (msgpack_packer *pk) { msgpack_pack_int (pk, -3); }
static void s_pk_nan (msgpack_packer *pk) { msgpack_pack_double (pk, NAN); }
static void s_pk_float (msgpack_packer *pk) { msgpack_pack_double (pk, 2.5); }
static void s_pk_nil (msgpack_packer *pk) { msgpack_pack_nil (pk); }

START_TEST (test_numbers_out_of_range)
{
    s_expect_field_refused ("READY", "slots", s_pk_zero, "READY: field 'slots': 0 out of range [1, 1024]");
    s_expect_field_refused ("READY", "slots", s_pk_big, "field 'slots': 1025 out of range");
    s_expect_field_refused ("READY", "slots", s_pk_huge, "field 'slots': 18446744073709551615 out of range");
    s_expect_field_refused ("READY", "slots", s_pk_float, "field 'slots': expected an integer, got a float");
    s_expect_field_refused ("READY", "slots", s_pk_nil, "field 'slots': expected an integer, got nil");
    s_expect_field_refused ("CANCEL", "job_id", s_pk_neg, "CANCEL: field 'job_id': -3 is negative");
    s_expect_field_refused ("CANCEL", "job_id", s_pk_zero, "CANCEL: field 'job_id': 0 is less than 1");
    s_expect_field_refused ("SUBMIT_OK", "campaign_id", s_pk_float, "expected an integer, got a float");
    s_expect_field_refused ("ERROR", "status", s_pk_zero, "ERROR: field 'status': 0 out of range [-255, -1]");

    /* NaN only where "not measured" is meaningful */
    sf_proto_msg_t m;
    s_sample (SF_PROTO_JOB, &m);
    m.job.request.tol = NAN;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request': tol: nan is out of range 1e-12..1 (0: the default)");
    m.job.request.tol = 2.0;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request': tol: 2 is out of range 1e-12..1 (0: the default)");
    s_sample (SF_PROTO_STATUS, &m);
    s_campaigns[0].eta_s = INFINITY;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_STATUS, &m.status));
    ck_assert_str_eq (sf_error_message (), "STATUS: field 'campaigns[0].eta_s': inf out of range [0, 1e+12]");
    s_expect_field_refused ("STATUS", "campaigns", s_pk_nan, "field 'campaigns': expected an array, got a float");

    /* a number field takes an integer too (eta_s: 60) */
    s_pack_t p;
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 2);
    s_pack_str (&p, "workers");
    msgpack_pack_array (&p.pk, 0);
    s_pack_str (&p, "campaigns");
    msgpack_pack_array (&p.pk, 1);
    msgpack_pack_map (&p.pk, 7);
    const char *keys[] = { "id", "jobs_total", "jobs_done", "jobs_failed", "eta_s" };
    for (int i = 0; i < 5; i++) {
        s_pack_str (&p, keys[i]);
        msgpack_pack_int (&p.pk, 60);
    }
    s_pack_str (&p, "name");
    s_pack_str (&p, "c");
    s_pack_str (&p, "state");
    s_pack_str (&p, "done");
    zmsg_t *zmsg = s_frames (SF_PROTO_VERSION, "STATUS", p.sbuf.data, p.sbuf.size);
    sf_proto_msg_t *msg;
    ck_assert_int_eq (sf_proto_decode (zmsg, SF_PROTO_TO_CLIENT, &msg), SF_OK);
    ck_assert_double_eq (msg->status.campaigns[0].eta_s, 60.0);
    ck_assert_int_eq (msg->status.campaigns[0].candidates, 0);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);
    msgpack_sbuffer_destroy (&p.sbuf);
}
END_TEST

START_TEST (test_strings_checked)
{
    sf_proto_msg_t m;
    char long_host[300];
    memset (long_host, 'h', sizeof long_host - 1);
    long_host[sizeof long_host - 1] = '\0';
    s_pack_t p;

    /* Too long on the wire: the decoder refuses (the struct could not hold it). */
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "hostname");
    s_pack_str (&p, long_host);
    s_expect_refused ("HELLO", p.sbuf.data, p.sbuf.size, "HELLO: field 'hostname': string of 299 bytes, more than 255");
    msgpack_sbuffer_destroy (&p.sbuf);

    /* An array without its NUL, on the encoding side. */
    s_sample (SF_PROTO_HELLO, &m);
    memset (m.hello.hostname, 'h', sizeof m.hello.hostname);
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_HELLO, &m.hello));
    ck_assert_str_eq (sf_error_message (), "HELLO: field 'hostname': string not NUL-terminated");

    struct { const char *field, *value, *want; } cases[] = {
        { "backend", "rocm", "HELLO: field 'backend': 'rocm' is not one of cuda|sim" },
        { "worker_id", "node 17", "HELLO: field 'worker_id': character 0x20 at byte 4 is not allowed in a name" },
        { "worker_id", "", "HELLO: field 'worker_id': empty string" },
        { "gpu_name", "H100\n", "HELLO: field 'gpu_name': control character 0x0a at byte 4" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_sample (SF_PROTO_HELLO, &m);
        char *field = cases[i].field[0] == 'b' ? m.hello.backend
                      : cases[i].field[0] == 'w' ? m.hello.worker_id : m.hello.gpu_name;
        snprintf (field, 16, "%s", cases[i].value);
        ck_assert_ptr_null (sf_proto_encode (SF_PROTO_HELLO, &m.hello));  /* never sent ... */
        ck_assert_str_eq (sf_error_message (), cases[i].want);
        s_pack_init (&p);
        msgpack_pack_map (&p.pk, 1);
        s_pack_str (&p, cases[i].field);
        s_pack_str (&p, cases[i].value);
        s_expect_refused ("HELLO", p.sbuf.data, p.sbuf.size, cases[i].want);  /* ... nor taken */
        msgpack_sbuffer_destroy (&p.sbuf);
    }

    s_sample (SF_PROTO_MATRIX_REQ, &m);
    m.matrix_req.matrix_hash[10] = 'A';
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_MATRIX_REQ, &m.matrix_req));
    ck_assert_str_eq (sf_error_message (),
                      "MATRIX_REQ: field 'matrix_hash': not 64 lowercase hex digits (byte 10 is 0x41)");
    m.matrix_req.matrix_hash[10] = '\0';
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_MATRIX_REQ, &m.matrix_req));
    ck_assert_str_eq (sf_error_message (), "MATRIX_REQ: field 'matrix_hash': string of 10 bytes, fewer than 64");

    s_sample (SF_PROTO_EXPORT_REQ, &m);
    m.export_req.path = "bundles/bert";  /* relative to the coordinator's export directory */
    zmsg_t *relative = sf_proto_encode (SF_PROTO_EXPORT_REQ, &m.export_req);
    ck_assert_ptr_nonnull (relative);
    zmsg_destroy (&relative);
    const char *escapes[] = { "..", "../x", "a/../b", "/srv/x/..", "a/.." };
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        m.export_req.path = (char *) escapes[i];
        ck_assert_ptr_null (sf_proto_encode (SF_PROTO_EXPORT_REQ, &m.export_req));
        ck_assert_str_eq (sf_error_message (), "EXPORT_REQ: field 'path': a '..' component");
    }
    m.export_req.path = "a/..b/c";
    relative = sf_proto_encode (SF_PROTO_EXPORT_REQ, &m.export_req);
    ck_assert_ptr_nonnull (relative);
    zmsg_destroy (&relative);
    m.export_req.path = NULL;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_EXPORT_REQ, &m.export_req));
    ck_assert_str_eq (sf_error_message (), "EXPORT_REQ: field 'path': required field is NULL");

    /* Long texts: 1024 bytes travel, 1025 do not. */
    char text[1026];
    memset (text, 'e', 1025);
    text[1025] = '\0';
    s_sample (SF_PROTO_ERROR, &m);
    m.error.message = text;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_ERROR, &m.error));
    ck_assert_str_eq (sf_error_message (), "ERROR: field 'message': string of 1025 bytes, more than 1024");
    text[1024] = '\0';
    zmsg_t *zmsg = sf_proto_encode (SF_PROTO_ERROR, &m.error);
    ck_assert_ptr_nonnull (zmsg);
    zmsg_destroy (&zmsg);
}
END_TEST

START_TEST (test_lists_and_blobs_bounded)
{
    sf_proto_msg_t m;
    s_pack_t p;

    /* A JOB of kind 'configs' needs configs; a 'search' runs its request. */
    s_sample (SF_PROTO_JOB, &m);
    m.job.config_count = 0;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_str_eq (sf_error_message (), "JOB: field 'configs': kind 'configs' needs at least one config");
    snprintf (m.job.kind, sizeof m.job.kind, "search");
    m.job.request.templates = 0;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request': templates: '?' is not one of U, D, UD, T, UT, DT, UDT");
    m.job.request.templates = SF_REQUEST_U;
    m.job.request.strategy = SF_REQUEST_EXHAUSTIVE;
    zmsg_t *zmsg = sf_proto_encode (SF_PROTO_JOB, &m.job);
    ck_assert_ptr_nonnull (zmsg);
    zmsg_destroy (&zmsg);

    /* More configs than a JOB may carry: the encoder refuses, and so does a
       decoder given a hand-made one (checked at the array's header). */
    m.job.config_count = SF_PROTO_CONFIGS_MAX + 1;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &m.job));
    ck_assert_str_eq (sf_error_message (), "JOB: field 'configs': 65537 items, more than 65536");
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "configs");
    msgpack_pack_array (&p.pk, SF_PROTO_CONFIGS_MAX + 1);
    for (int i = 0; i <= SF_PROTO_CONFIGS_MAX; i++)
        msgpack_pack_nil (&p.pk);
    s_expect_refused ("JOB", p.sbuf.data, p.sbuf.size, "JOB: field 'configs': 65537 items, more than 65536");
    msgpack_sbuffer_destroy (&p.sbuf);

    /* A config text too long, inside the list: the place names the item. */
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "configs");
    msgpack_pack_array (&p.pk, 2);
    s_pack_str (&p, "U:r4");
    s_pack_str (&p, "U:r4.v4.t64.g2.o0.m64.none.and.a.great.deal.more.than.sixty.three.bytes");
    s_expect_refused ("JOB", p.sbuf.data, p.sbuf.size, "JOB: field 'configs[1]': string of 71 bytes, more than 63");
    msgpack_sbuffer_destroy (&p.sbuf);

    /* An array count larger than the bytes that follow is a lie, refused
       before anything is allocated. */
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "candidates");
    msgpack_pack_array (&p.pk, 60000);
    s_expect_refused ("RESULT", p.sbuf.data, p.sbuf.size, "RESULT: field 'candidates': MessagePack: byte 12: 60000 elements announced, 0 bytes left");
    msgpack_sbuffer_destroy (&p.sbuf);

    /* A SUBMIT needs at least one layer. */
    s_sample (SF_PROTO_SUBMIT, &m);
    m.submit.layer_count = 0;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_SUBMIT, &m.submit));
    ck_assert_str_eq (sf_error_message (), "SUBMIT: field 'layers': 0 items, fewer than 1");

    /* MATRIX: arrays must match the shape, and be whole 4-byte entries. */
    s_sample (SF_PROTO_MATRIX, &m);
    m.matrix.row_ptr_count = 3;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_MATRIX, &m.matrix));
    ck_assert_str_eq (sf_error_message (), "MATRIX: field 'row_ptr': 3 entries, rows + 1 is 4");
    s_sample (SF_PROTO_SUBMIT, &m);
    s_matrices[0].nnz = 4;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_SUBMIT, &m.submit));
    ck_assert_str_eq (sf_error_message (), "SUBMIT: field 'matrices[0].col_idx': 5 entries, nnz is 4");
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "values");
    msgpack_pack_bin (&p.pk, 7);
    msgpack_pack_bin_body (&p.pk, "1234567", 7);
    s_expect_refused ("MATRIX", p.sbuf.data, p.sbuf.size,
                      "MATRIX: field 'values': 7 bytes, not a whole number of 4-byte entries");
    msgpack_sbuffer_destroy (&p.sbuf);

    /* A blob past its bound (64 MiB + 1 bytes of cubin), sent whole. */
    size_t big = (size_t) SF_PROTO_CODE_MAX + 1;
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "candidates");
    msgpack_pack_array (&p.pk, 1);
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "kernel");
    msgpack_pack_map (&p.pk, 1);
    s_pack_str (&p, "cubin");
    msgpack_pack_bin (&p.pk, big);
    char *blob = calloc (1, big);
    ck_assert_ptr_nonnull (blob);
    msgpack_pack_bin_body (&p.pk, blob, big);
    free (blob);
    s_expect_refused ("RESULT", p.sbuf.data, p.sbuf.size,
                      "RESULT: field 'candidates[0].kernel.cubin': 67108865 bytes, more than 67108864");
    msgpack_sbuffer_destroy (&p.sbuf);
}
END_TEST


static Suite *
s_suite (void)
{
    Suite *s = suite_create ("proto_bounds");
    TCase *tc = tcase_create ("refusals");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_missing_and_wrong_typed_fields);
    tcase_add_test (tc, test_numbers_out_of_range);
    tcase_add_test (tc, test_strings_checked);
    tcase_add_test (tc, test_lists_and_blobs_bounded);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
