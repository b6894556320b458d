/*  check_client: coordinator/sf_client, the farm's client, against real
    parts: a real embedded farm (coordinator thread, a worker process of
    this build on the sim backend, a real LMDB store, ZeroMQ over TCP
    loopback), real weight files and manifests on disk. A request without
    a coordinator times out, an ERROR reply becomes its status, manifests
    are read (relative paths, shared files, conv layers' N, precision) or
    refused by name, a rank model is attached to a SUBMIT (or refused for
    another GPU type), a model is submitted and followed to its end, its
    matrices sent once, its RESULTs recorded. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"
#include "coordinator/sf_client.h"
#include "coordinator/sf_farm.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "wire/sf_proto.h"

static char *s_dir;
static char s_program[4096];

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("client");
    sf_check_farm_program (s_program, sizeof s_program);
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

/*  s_dir/NAME with `text` in it. */
static void
s_write (const char *name, const char *text)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    ck_assert_int_eq (fputs (text, f) >= 0, 1);
    ck_assert_int_eq (fclose (f), 0);
}

/*  A random rows x cols weight file s_dir/NAME (its format from the name). */
static void
s_weight (const char *name, int rows, int cols, uint64_t seed)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    sf_matrix_t *m = sf_matrix_new_random (rows, cols, 0.7, seed);
    ck_assert_ptr_nonnull (m);
    ck_assert_msg (sf_matrix_write (m, path) == SF_OK, "%s", sf_error_message ());
    sf_matrix_destroy (&m);
}

/*  Reads s_dir/NAME as a manifest: its status (the model freed unless *keep). */
static int
s_read (const char *name, sf_client_model_t *keep)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    int rc = sf_client_model_read (path, &model);
    if (keep)
        *keep = model;
    else
        sf_client_model_free (&model);
    return rc;
}

START_TEST (test_no_coordinator)
{
    /* a port nobody listens on: the request times out, with the endpoint */
    zsock_t *probe = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (probe, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);
    zsock_destroy (&probe);
    sf_client_t cl;
    sf_client_init (&cl);
    ck_assert_int_eq (cl.timeout_ms, 10000);
    snprintf (cl.endpoint, sizeof cl.endpoint, "tcp://127.0.0.1:%d", port);
    cl.timeout_ms = 300;
    sf_proto_status_req_t req = { 0 };
    sf_proto_msg_t *reply = (sf_proto_msg_t *) 1;
    int64_t t0 = zclock_mono ();
    ck_assert_int_eq (sf_client_request (&cl, SF_PROTO_STATUS_REQ, &req, &reply), SF_ERR_TIMEOUT);
    ck_assert_int_ge (zclock_mono () - t0, 250);
    ck_assert_ptr_null (reply);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), cl.endpoint));
    /* a client certificate without the server's is a usage error, not a hang */
    snprintf (cl.cert, sizeof cl.cert, "%s/client.cert", s_dir);
    ck_assert_int_eq (sf_client_request (&cl, SF_PROTO_STATUS_REQ, &req, &reply), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "--server-cert"));
    /* a bad endpoint is the socket's error */
    cl.cert[0] = '\0';
    snprintf (cl.endpoint, sizeof cl.endpoint, "not-an-endpoint");
    ck_assert_int_eq (sf_client_request (&cl, SF_PROTO_STATUS_REQ, &req, &reply), SF_ERR_ZMQ);
}
END_TEST

START_TEST (test_manifest)
{
    s_weight ("a.mtx", 32, 48, 1);
    s_weight ("b.mtx", 16, 32, 2);
    s_weight ("conv.mtx", 8, 18, 3);   /* 2 input channels x 3 x 3 */
    s_write ("m.json",
             "{\"name\": \"net\", \"n\": 64, \"precision\": \"bf16\", \"source\": \"a note\",\n"
             " \"layers\": [{\"file\": \"a.mtx\", \"relu\": true},\n"
             "            {\"file\": \"b.mtx\", \"name\": \"proj\", \"n\": 8, \"bias\": true},\n"
             "            {\"file\": \"conv.mtx\", \"conv\": {\"input\": 8, \"padding\": 1, \"kernel\": [3, 3],"
             " \"batch\": 2}}]}\n");
    sf_client_model_t model;
    ck_assert_msg (s_read ("m.json", &model) == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (model.name, "net");
    ck_assert_int_eq (model.count, 3);
    ck_assert_str_eq (model.layers[0].name, "a");          /* named after its file */
    ck_assert_int_eq (model.layers[0].n, 64);               /* the manifest's n */
    ck_assert (model.layers[0].relu && !model.layers[0].bias);
    ck_assert_int_eq (sf_matrix_rows (model.layers[0].matrix), 32);
    ck_assert_int_eq (sf_matrix_cols (model.layers[0].matrix), 48);
    ck_assert_str_eq (model.layers[1].name, "proj");
    ck_assert_int_eq (model.layers[1].n, 8);                /* its own n */
    ck_assert (model.layers[1].bias && !model.layers[1].relu);
    ck_assert_int_eq (model.layers[2].n, 2 * 8 * 8);        /* batch x out_h x out_w */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq (model.layers[i].tier, SF_TIER_BF16);
        ck_assert_int_eq (model.layers[i].layout, SF_LAYOUT_KN);
    }
    /* the request takes the manifest's precision; a different one is refused */
    sf_request_t req;
    sf_request_init (&req);
    ck_assert_int_eq (sf_client_model_request (&model, &req), SF_OK);
    ck_assert_int_eq (req.tier, SF_TIER_BF16);
    req.tier = SF_TIER_FP16;
    ck_assert_int_eq (sf_client_model_request (&model, &req), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "--precision fp16"));
    /* a weight file added beside the manifest's layers */
    char path[4096];
    snprintf (path, sizeof path, "%s/b.mtx", s_dir);
    ck_assert_int_eq (sf_client_model_add (&model, path, NULL, 0, false, false), SF_ERR_RANGE);
    ck_assert_int_eq (sf_client_model_add (&model, path, NULL, 16, false, false), SF_OK);
    ck_assert_int_eq (model.count, 4);
    ck_assert_str_eq (model.layers[3].name, "b");
    sf_client_model_free (&model);
    ck_assert_int_eq (model.count, 0);
    ck_assert_ptr_null (model.layers);
    sf_client_model_free (&model);   /* safe twice */

    /* refusals: each names what is wrong */
    s_write ("typo.json", "{\"n\": 8, \"layers\": [{\"file\": \"a.mtx\", \"rleu\": true}]}");
    ck_assert_int_eq (s_read ("typo.json", NULL), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "\"rleu\""));
    s_write ("root.json", "{\"n\": 8, \"layer\": []}");
    ck_assert_int_eq (s_read ("root.json", NULL), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "\"layer\""));
    s_write ("bad.json", "{\"n\": 8,\n \"layers\": [}");
    ck_assert_int_eq (s_read ("bad.json", NULL), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "bad.json:2:"));
    s_write ("empty.json", "{\"n\": 8, \"layers\": []}");
    ck_assert_int_eq (s_read ("empty.json", NULL), SF_ERR_FORMAT);
    s_write ("both.json", "{\"layers\": [{\"file\": \"conv.mtx\", \"n\": 4, \"conv\": {\"input\": 8}}]}");
    ck_assert_int_eq (s_read ("both.json", NULL), SF_ERR_FORMAT);
    s_write ("nokernel.json", "{\"layers\": [{\"file\": \"conv.mtx\", \"conv\": {\"input\": 8}}]}");
    ck_assert_int_eq (s_read ("nokernel.json", NULL), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "conv.kernel"));
    s_write ("big.json", "{\"n\": 0, \"layers\": [{\"file\": \"a.mtx\"}]}");
    ck_assert_int_eq (s_read ("big.json", NULL), SF_ERR_RANGE);
    s_write ("frac.json", "{\"n\": 2.5, \"layers\": [{\"file\": \"a.mtx\"}]}");
    ck_assert_int_eq (s_read ("frac.json", NULL), SF_ERR_FORMAT);
    s_write ("tier.json", "{\"n\": 8, \"layers\": [{\"file\": \"a.mtx\", \"precision\": \"fp8\"}]}");
    ck_assert_int_eq (s_read ("tier.json", NULL), SF_ERR_FORMAT);
    s_write ("mixed.json", "{\"n\": 8, \"layers\": [{\"file\": \"a.mtx\", \"precision\": \"fp16\"},"
                           " {\"file\": \"b.mtx\"}]}");
    ck_assert_int_eq (s_read ("mixed.json", NULL), SF_ERR_UNSUPPORTED);
    s_write ("missing.json", "{\"n\": 8, \"layers\": [{\"file\": \"nope.mtx\"}]}");
    ck_assert_int_ne (s_read ("missing.json", NULL), SF_OK);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "layers[0]"));
    ck_assert_int_ne (s_read ("no-such-manifest.json", NULL), SF_OK);
}
END_TEST

START_TEST (test_rank_model)
{
    /* the committed H100 model (docs/bench/h100/rank): its file says its GPU type */
    const char *top = getenv ("SF_TOP_SRCDIR");
    char path[4096];
    snprintf (path, sizeof path, "%s/docs/bench/h100/rank/model.json", top && *top ? top : ".");
    static sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    ck_assert_int_eq (sf_client_rank_model (&sub, "/no/such/model.json"), SF_ERR_NOTFOUND);
    ck_assert (!sub.has_model);
    /* a store holds many GPU types' models: the campaign must name one */
    ck_assert_int_eq (sf_client_rank_model (&sub, s_dir), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "--gpu-type"));
    /* a model of another GPU type is refused, nothing attached */
    snprintf (sub.gpu_type, sizeof sub.gpu_type, "sim/h100-model/132sm");
    ck_assert_int_eq (sf_client_rank_model (&sub, path), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "not of this GPU type"));
    ck_assert (!sub.has_model);
    ck_assert_ptr_null (sub.model.json);
    /* without a GPU type the file's becomes the campaign's */
    sub.gpu_type[0] = '\0';
    ck_assert_msg (sf_client_rank_model (&sub, path) == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (sub.gpu_type, "NVIDIA H100 80GB HBM3/sm_90/132sm");
    ck_assert (sub.has_model);
    ck_assert_ptr_nonnull (sub.model.json);
    ck_assert_int_eq (strncmp (sub.model.json, "{\"learner\":", 11), 0);
    ck_assert_int_eq (strlen (sub.model.digest), 64);
    /* the digest is the JSON's (the workers cache the model by it) */
    sf_rankmodel_t *again = sf_rankmodel_load_json (sub.model.json, strlen (sub.model.json));
    ck_assert_ptr_nonnull (again);
    static sf_proto_submit_t other;
    memset (&other, 0, sizeof other);
    ck_assert_int_eq (sf_client_model_attach (&other, again, 7), SF_OK);
    ck_assert_int_eq (other.model.version, 7);
    ck_assert_str_eq (other.model.digest, sub.model.digest);
    sf_rankmodel_destroy (&again);
    free (other.model.json);
    free (sub.model.json);
}
END_TEST

typedef struct {
    int calls;
    int64_t last_done;
    bool went_backwards;
} s_seen_t;

static void
s_on_status (const sf_proto_campaign_t *c, int compiles, void *arg)
{
    s_seen_t *seen = arg;
    ck_assert_int_ge (compiles, 0);
    if (c->jobs_done < seen->last_done)
        seen->went_backwards = true;
    seen->last_done = c->jobs_done;
    seen->calls++;
}

START_TEST (test_submit_and_wait)
{
    char store[4096];
    snprintf (store, sizeof store, "%s/store", s_dir);
    sf_farm_opts_t o = { .store_dir = store, .backend = "sim", .workers = 1, .compile_threads = 2,
                         .program = s_program, .keep_results = true };
    sf_farm_t *farm = sf_farm_new (&o);
    ck_assert_msg (farm != NULL, "%s", sf_error_message ());
    sf_client_t cl;
    sf_client_init (&cl);
    snprintf (cl.endpoint, sizeof cl.endpoint, "%s", sf_farm_clients_endpoint (farm));

    /* the farm's worker, by its GPU type, once its HELLO is in */
    bool found = false;
    for (int i = 0; i < 100 && !found; i++) {
        ck_assert_int_eq (sf_client_has_worker (&cl, "sim/h100-model/132sm", &found), SF_OK);
        if (!found)
            zclock_sleep (200);
    }
    ck_assert (found);
    ck_assert_int_eq (sf_client_has_worker (&cl, "NVIDIA Absent GPU/sm_90/132sm", &found), SF_OK);
    ck_assert (!found);

    /* an ERROR reply is its status, with the coordinator's message */
    sf_proto_status_req_t unknown = { 987654 };
    sf_proto_msg_t *reply = NULL;
    int rc = sf_client_request (&cl, SF_PROTO_STATUS_REQ, &unknown, &reply);
    ck_assert_int_ne (rc, SF_OK);
    ck_assert_int_ne (rc, SF_ERR_TIMEOUT);
    ck_assert_ptr_null (reply);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "coordinator: "));
    sf_proto_campaign_t last;
    ck_assert_int_eq (sf_client_wait (&cl, 987654, NULL, NULL, &last), rc);

    /* two layers of one weight file: the matrix travels once */
    s_weight ("w.mtx", 32, 32, 7);
    s_write ("m.json", "{\"name\": \"twice\", \"layers\": [{\"file\": \"w.mtx\", \"n\": 16},"
                       " {\"file\": \"w.mtx\", \"name\": \"again\", \"n\": 8, \"relu\": true}]}");
    sf_client_model_t model;
    ck_assert_msg (s_read ("m.json", &model) == SF_OK, "%s", sf_error_message ());
    static sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    snprintf (sub.name, sizeof sub.name, "%s", model.name);
    sf_request_init (&sub.request);
    sub.request.max_configs = 2;
    ck_assert_int_eq (sf_client_model_request (&model, &sub.request), SF_OK);
    uint64_t id = 0;
    ck_assert_msg (sf_client_submit (&cl, &model, &sub, &id) == SF_OK, "%s", sf_error_message ());
    ck_assert_uint_gt (id, 0);
    ck_assert_ptr_null (sub.layers);    /* the caller's submit is as it was */
    ck_assert_int_eq (sub.layer_count, 0);

    s_seen_t seen = { 0 };
    ck_assert_msg (sf_client_wait (&cl, id, s_on_status, &seen, &last) == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (last.state, "done");
    ck_assert_uint_eq (last.id, id);
    ck_assert_str_eq (last.name, "twice");
    ck_assert_int_eq (last.jobs_total, 2);
    ck_assert_int_eq (last.jobs_done, 2);
    ck_assert_int_eq (last.jobs_failed, 0);
    ck_assert_ptr_null (last.failures);
    ck_assert_int_ge (seen.calls, 1);
    ck_assert (!seen.went_backwards);
    ck_assert_int_eq (seen.last_done, 2);
    for (uint32_t layer = 0; layer < 2; layer++) {
        sf_proto_result_t res;
        ck_assert_msg (sf_farm_take_result (farm, id, layer, &res) == SF_OK, "layer %u: %s", layer,
                       sf_error_message ());
        ck_assert (res.simulated);
        ck_assert_int_gt (res.timed, 0);
        sf_proto_body_free (SF_PROTO_RESULT, &res);
    }
    /* the STATUS of that campaign, of all, and what they came to */
    ck_assert (sf_client_campaign_ended (&last));
    ck_assert_msg (sf_client_status (&cl, id, &reply) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (reply->type, SF_PROTO_STATUS);
    ck_assert_uint_eq (reply->status.campaign_count, 1);
    ck_assert_uint_eq (reply->status.campaigns[0].id, id);
    ck_assert_uint_eq (reply->status.worker_count, 1);
    ck_assert_int_eq (sf_client_status_outcome (&reply->status), SF_CLIENT_DONE);
    /* one campaign still running, or one failed: not done */
    snprintf (reply->status.campaigns[0].state, sizeof reply->status.campaigns[0].state, "running");
    ck_assert (!sf_client_campaign_ended (&reply->status.campaigns[0]));
    ck_assert_int_eq (sf_client_status_outcome (&reply->status), SF_CLIENT_RUNNING);
    snprintf (reply->status.campaigns[0].state, sizeof reply->status.campaigns[0].state, "cancelled");
    ck_assert_int_eq (sf_client_status_outcome (&reply->status), SF_CLIENT_FAILED);
    snprintf (reply->status.campaigns[0].state, sizeof reply->status.campaigns[0].state, "done");
    reply->status.campaigns[0].jobs_failed = 1;  /* an older coordinator's "done" with a failed job */
    ck_assert_int_eq (sf_client_status_outcome (&reply->status), SF_CLIENT_FAILED);
    sf_proto_msg_destroy (&reply);
    ck_assert_int_eq (sf_client_status (&cl, 0, &reply), SF_OK);
    ck_assert_uint_eq (reply->status.campaign_count, 1);
    sf_proto_msg_destroy (&reply);
    ck_assert_int_ne (sf_client_status (&cl, 987654, &reply), SF_OK);
    ck_assert_ptr_null (reply);

    /* the counters, with and without their # HELP lines */
    char *text = NULL;
    ck_assert_msg (sf_client_metrics (&cl, false, &text) == SF_OK, "%s", sf_error_message ());
    ck_assert_ptr_nonnull (strstr (text, "# HELP spmmfarm_up "));
    ck_assert_ptr_nonnull (strstr (text, "\nspmmfarm_up 1"));
    free (text);
    ck_assert_int_eq (sf_client_metrics (&cl, true, &text), SF_OK);
    ck_assert_ptr_null (strstr (text, "# HELP"));
    ck_assert_ptr_nonnull (strstr (text, "spmmfarm_up 1"));
    free (text);

    /* a second wait on an ended campaign returns at once */
    seen.calls = 0;
    ck_assert_int_eq (sf_client_wait (&cl, id, s_on_status, &seen, &last), SF_OK);
    ck_assert_int_eq (seen.calls, 1);
    free (last.failures);
    sf_client_model_free (&model);
    sf_farm_destroy (&farm);

    /* the coordinator's ledger recorded both layers */
    sf_store_t *st = sf_store_open (store, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (st);
    sf_store_best_t best;
    ck_assert_int_eq (sf_store_get_best (st, id, 0, &best), SF_OK);
    ck_assert_int_eq (sf_store_get_best (st, id, 1, &best), SF_OK);
    ck_assert_int_eq (sf_store_get_best (st, id, 2, &best), SF_ERR_NOTFOUND);
    sf_store_destroy (&st);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("client");
    TCase *tc = tcase_create ("client");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_no_coordinator);
    tcase_add_test (tc, test_manifest);
    tcase_add_test (tc, test_rank_model);
    tcase_add_test (tc, test_submit_and_wait);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
