/*  Check suite of the wire on real sockets (wire/sf_proto.h) and of
    common/sf_curve (CurveZMQ): a ROUTER and a DEALER talk
    HELLO/WELCOME/READY/JOB/RESULT, ZMQ_MAXMSGSIZE drops an oversized frame,
    and a CURVE server admits only allow-listed clients. */
#include "tests/sf_check_proto.h"

/* ---- real sockets ---------------------------------------------------------- */

/*  Receives one message within timeout_ms (NULL if none came). */
static zmsg_t *
s_recv (zsock_t *sock, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    void *which = zpoller_wait (poller, timeout_ms);
    zpoller_destroy (&poller);
    return which ? zmsg_recv (sock) : NULL;
}

/*  The coordinator's side: pops the routing id, decodes a worker's message. */
static sf_proto_msg_t *
s_router_recv (zsock_t *router, zframe_t **id_p, int timeout_ms)
{
    zmsg_t *zmsg = s_recv (router, timeout_ms);
    if (!zmsg)
        return NULL;
    *id_p = zmsg_pop (zmsg);
    sf_proto_msg_t *msg;
    int rc = sf_proto_decode (zmsg, SF_PROTO_FROM_WORKER, &msg);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    zmsg_destroy (&zmsg);
    return msg;
}

static void
s_router_send (zsock_t *router, zframe_t *id, sf_proto_type type, const void *body)
{
    zmsg_t *zmsg = sf_proto_encode (type, body);
    ck_assert_ptr_nonnull (zmsg);
    zframe_t *copy = zframe_dup (id);
    zmsg_prepend (zmsg, &copy);
    ck_assert_int_eq (zmsg_send (&zmsg, router), 0);
}

static void
s_dealer_send (zsock_t *dealer, sf_proto_type type, const void *body)
{
    zmsg_t *zmsg = sf_proto_encode (type, body);
    ck_assert_ptr_nonnull (zmsg);
    ck_assert_int_eq (zmsg_send (&zmsg, dealer), 0);
}

static sf_proto_msg_t *
s_dealer_recv (zsock_t *dealer, int timeout_ms)
{
    zmsg_t *zmsg = s_recv (dealer, timeout_ms);
    if (!zmsg)
        return NULL;
    sf_proto_msg_t *msg;
    int rc = sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    zmsg_destroy (&zmsg);
    return msg;
}

START_TEST (test_zmq_router_dealer)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    sf_proto_socket_limits (router);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    sf_proto_socket_limits (dealer);
    ck_assert_int_eq (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);

    sf_proto_msg_t m;
    s_sample (SF_PROTO_HELLO, &m);
    s_dealer_send (dealer, SF_PROTO_HELLO, &m.hello);
    zframe_t *id = NULL;
    sf_proto_msg_t *got = s_router_recv (router, &id, 5000);
    ck_assert_ptr_nonnull (got);
    ck_assert_int_eq (got->type, SF_PROTO_HELLO);
    ck_assert_str_eq (got->hello.worker_id, "node17:gpu3:4242");
    sf_proto_msg_destroy (&got);

    sf_proto_welcome_t welcome = { SF_PROTO_DEFAULT_HEARTBEAT_MS, SF_PROTO_DEFAULT_LIVENESS, SF_PROTO_MSG_MAX };
    s_router_send (router, id, SF_PROTO_WELCOME, &welcome);
    got = s_dealer_recv (dealer, 5000);
    ck_assert_ptr_nonnull (got);
    ck_assert_int_eq (got->type, SF_PROTO_WELCOME);
    ck_assert_int_eq (got->welcome.liveness, SF_PROTO_DEFAULT_LIVENESS);
    sf_proto_msg_destroy (&got);

    sf_proto_ready_t ready = { 2 };
    s_dealer_send (dealer, SF_PROTO_READY, &ready);
    zframe_destroy (&id);
    got = s_router_recv (router, &id, 5000);
    ck_assert_ptr_nonnull (got);
    ck_assert_int_eq (got->ready.slots, 2);
    sf_proto_msg_destroy (&got);

    s_sample (SF_PROTO_JOB, &m);
    s_router_send (router, id, SF_PROTO_JOB, &m.job);
    got = s_dealer_recv (dealer, 5000);
    ck_assert_ptr_nonnull (got);
    ck_assert_int_eq (got->type, SF_PROTO_JOB);
    uint64_t job_id = got->job.job_id, lease_id = got->job.lease_id;
    ck_assert_str_eq (got->job.configs[0], s_configs[0]);
    sf_proto_msg_destroy (&got);

    s_sample (SF_PROTO_RESULT, &m);
    m.result.job_id = job_id;
    m.result.lease_id = lease_id;
    s_dealer_send (dealer, SF_PROTO_RESULT, &m.result);
    zframe_destroy (&id);
    got = s_router_recv (router, &id, 5000);
    ck_assert_ptr_nonnull (got);
    ck_assert_int_eq (got->type, SF_PROTO_RESULT);
    ck_assert_uint_eq (got->result.lease_id, 9001);
    ck_assert_uint_eq (got->result.candidates[0].kernel.cubin_size, sizeof s_cubin);
    sf_proto_msg_destroy (&got);
    zframe_destroy (&id);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}
END_TEST

START_TEST (test_zmq_maxmsgsize_drops)
{
    /* A small cap stands in for SF_PROTO_MSG_MAX: the mechanism is the same. */
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_maxmsgsize (router, 4096);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_reconnect_ivl (dealer, 50);
    ck_assert_int_eq (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);

    char reason[1000];
    memset (reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    sf_proto_bye_t small = { reason };
    s_dealer_send (dealer, SF_PROTO_BYE, &small);
    zframe_t *id = NULL;
    sf_proto_msg_t *got = s_router_recv (router, &id, 5000);
    ck_assert_ptr_nonnull (got);  /* under the cap: delivered */
    sf_proto_msg_destroy (&got);
    zframe_destroy (&id);

    /* 8 KiB of body: the router drops the frame (and the connection) */
    sf_proto_msg_t m;
    s_sample (SF_PROTO_RESULT, &m);
    char source[8192];
    memset (source, 's', sizeof source - 1);
    source[sizeof source - 1] = '\0';
    s_candidates[0].kernel.source = source;
    s_dealer_send (dealer, SF_PROTO_RESULT, &m.result);
    got = s_router_recv (router, &id, 500);
    ck_assert_ptr_null (got);

    /* the dealer reconnects; a message of the right size gets through again */
    bool through = false;
    for (int i = 0; i < 40 && !through; i++) {
        sf_proto_ready_t ready = { 1 };
        s_dealer_send (dealer, SF_PROTO_READY, &ready);
        got = s_router_recv (router, &id, 250);
        if (got) {
            ck_assert_int_eq (got->type, SF_PROTO_READY);
            through = true;
        }
        sf_proto_msg_destroy (&got);
        zframe_destroy (&id);
    }
    ck_assert (through);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}
END_TEST

/* ---- CurveZMQ ----------------------------------------------------------- */

static char s_dir[64];

static void
s_tmpdir_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/sf-proto-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
}

static void
s_tmpdir_teardown (void)
{
    zdir_t *dir = zdir_new (s_dir, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
}

START_TEST (test_curve_keygen)
{
    char certs[128], pub[200], sec[200], key[SF_CURVE_KEY_TXT], again[SF_CURVE_KEY_TXT];
    snprintf (certs, sizeof certs, "%s/certs", s_dir);
    ck_assert_int_eq (sf_curve_keygen (certs, "coordinator", key), SF_OK);
    ck_assert_uint_eq (strlen (key), 40);
    snprintf (pub, sizeof pub, "%s/coordinator.cert", certs);
    snprintf (sec, sizeof sec, "%s/coordinator.cert_secret", certs);
    struct stat st;
    ck_assert_int_eq (stat (sec, &st), 0);
    ck_assert_int_eq (st.st_mode & 0777, 0600);
    ck_assert_int_eq (stat (certs, &st), 0);
    ck_assert_int_eq (st.st_mode & 0777, 0700);
    ck_assert_int_eq (sf_curve_public_key (pub, again), SF_OK);
    ck_assert_str_eq (key, again);
    /* the public file holds no secret */
    zconfig_t *conf = zconfig_load (pub);
    ck_assert_ptr_nonnull (conf);
    ck_assert_ptr_null (zconfig_get (conf, "curve/secret-key", NULL));
    ck_assert_str_eq (zconfig_get (conf, "metadata/name", ""), "coordinator");
    zconfig_destroy (&conf);
    /* never overwrite a secret */
    ck_assert_int_eq (sf_curve_keygen (certs, "coordinator", NULL), SF_ERR_EXISTS);
    ck_assert_int_eq (sf_curve_public_key (pub, again), SF_OK);
    ck_assert_str_eq (key, again);
    ck_assert_int_eq (sf_curve_keygen (certs, "../evil", NULL), SF_ERR_INVALID);
    ck_assert_int_eq (sf_curve_keygen (certs, ".hidden", NULL), SF_ERR_INVALID);
    ck_assert_int_eq (sf_curve_keygen (certs, "", NULL), SF_ERR_INVALID);
    /* a server needs the secret half */
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    char missing[200];
    snprintf (missing, sizeof missing, "%s/nobody.cert", certs);
    ck_assert_int_eq (sf_curve_server_apply (sock, missing), SF_ERR_NOTFOUND);
    unlink (sec);
    ck_assert_int_eq (sf_curve_server_apply (sock, pub), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "the secret half"));
    zsock_destroy (&sock);
    ck_assert_ptr_null (sf_curve_auth_new (missing));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
}
END_TEST

static void
s_copy_file (const char *from, const char *to)
{
    char buf[4096];
    FILE *in = fopen (from, "rb"), *out = fopen (to, "wb");
    ck_assert (in && out);
    size_t n;
    while ((n = fread (buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq (fwrite (buf, 1, n, out), n);
    fclose (in);
    fclose (out);
}

/*  A CURVE worker socket: its certificate, the server's public one. */
static zsock_t *
s_curve_dealer (const char *cert, const char *server_cert, int port)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    ck_assert_int_eq (sf_curve_client_apply (dealer, cert, server_cert), SF_OK);
    ck_assert_int_eq (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);
    return dealer;
}

START_TEST (test_curve_allow_list)
{
    char certs[128], allowed[128], server[200], good[200], bad[200], copy[200];
    snprintf (certs, sizeof certs, "%s/certs", s_dir);
    snprintf (allowed, sizeof allowed, "%s/allowed", s_dir);
    ck_assert_int_eq (sf_curve_keygen (certs, "coordinator", NULL), SF_OK);
    ck_assert_int_eq (sf_curve_keygen (certs, "worker", NULL), SF_OK);
    ck_assert_int_eq (sf_curve_keygen (certs, "stranger", NULL), SF_OK);
    snprintf (server, sizeof server, "%s/coordinator.cert", certs);
    snprintf (good, sizeof good, "%s/worker.cert", certs);
    snprintf (bad, sizeof bad, "%s/stranger.cert", certs);
    /* the allow-list: the worker's public certificate only */
    ck_assert_int_eq (mkdir (allowed, 0700), 0);
    snprintf (copy, sizeof copy, "%s/worker.cert", allowed);
    s_copy_file (good, copy);

    zactor_t *auth = sf_curve_auth_new (allowed);
    ck_assert_ptr_nonnull (auth);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    ck_assert_int_eq (sf_curve_server_apply (router, server), SF_OK);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);

    /* the listed worker is admitted and answered */
    zsock_t *dealer = s_curve_dealer (good, server, port);
    sf_proto_ready_t ready = { 1 };
    s_dealer_send (dealer, SF_PROTO_READY, &ready);
    zframe_t *id = NULL;
    sf_proto_msg_t *got = s_router_recv (router, &id, 5000);
    ck_assert_msg (got != NULL, "the allow-listed worker was not admitted");
    sf_proto_msg_destroy (&got);
    sf_proto_heartbeat_t beat = { 0 };
    s_router_send (router, id, SF_PROTO_HEARTBEAT, &beat);
    zframe_destroy (&id);
    got = s_dealer_recv (dealer, 5000);
    ck_assert_ptr_nonnull (got);
    ck_assert_int_eq (got->type, SF_PROTO_HEARTBEAT);
    sf_proto_msg_destroy (&got);

    /* a stranger with a valid certificate, not listed: nothing gets through */
    zsock_t *stranger = s_curve_dealer (bad, server, port);
    s_dealer_send (stranger, SF_PROTO_READY, &ready);
    ck_assert_ptr_null (s_router_recv (router, &id, 1500));
    ck_assert_ptr_null (s_recv (stranger, 200));
    /* a plain (no CURVE) peer: nothing either */
    zsock_t *plain = zsock_new (ZMQ_DEALER);
    ck_assert_int_eq (zsock_connect (plain, "tcp://127.0.0.1:%d", port), 0);
    s_dealer_send (plain, SF_PROTO_READY, &ready);
    ck_assert_ptr_null (s_router_recv (router, &id, 1000));
    /* a client that trusts another server key: nothing either */
    zsock_t *confused = s_curve_dealer (good, bad, port);
    s_dealer_send (confused, SF_PROTO_READY, &ready);
    ck_assert_ptr_null (s_router_recv (router, &id, 1000));
    /* and the admitted worker still is */
    s_dealer_send (dealer, SF_PROTO_READY, &ready);
    got = s_router_recv (router, &id, 5000);
    ck_assert_ptr_nonnull (got);
    sf_proto_msg_destroy (&got);
    zframe_destroy (&id);

    zsock_destroy (&confused);
    zsock_destroy (&plain);
    zsock_destroy (&stranger);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    zactor_destroy (&auth);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("proto_net");
    TCase *tc = tcase_create ("sockets");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, s_tmpdir_setup, s_tmpdir_teardown);
    tcase_add_test (tc, test_zmq_router_dealer);
    tcase_add_test (tc, test_zmq_maxmsgsize_drops);
    tcase_add_test (tc, test_curve_keygen);
    tcase_add_test (tc, test_curve_allow_list);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
