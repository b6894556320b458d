/*  tests/hostile_peer: a misbehaving peer of a farm, for the fault
    injection run (tests/cli_faults.sh, docs/RELIABILITY.md). One mode a
    process, for SECONDS, then it prints what it did and exits 0:

      greedy EP GPU_TYPE ID SECONDS   a worker that says HELLO (capacity 2,
          a session of its own), READY 1024, takes what it is given, never
          answers nor heartbeats, and sends for each JOB a forged RESULT on a
          lease it does not hold (absurd times). With ID a live worker's id
          (status shows it) it is also a hijack attempt.
      garbage EP SECONDS              random frames, valid messages with
          flipped bytes and cut short, as a worker and as a client.
      flood EP SECONDS                a client that sends STATUS_REQ as fast
          as it can and never reads a reply.

    Exit 2 on bad usage, 1 if the endpoint cannot be used. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "common/sf_error.h"
#include "wire/sf_proto.h"

static zsock_t *
s_dealer (const char *ep, int sndhwm)
{
    zsock_t *s = zsock_new (ZMQ_DEALER);
    if (!s)
        return NULL;
    zsock_set_linger (s, 0);
    zsock_set_sndhwm (s, sndhwm);
    zsock_set_sndtimeo (s, 0);
    if (zsock_connect (s, "%s", ep) != 0)
        zsock_destroy (&s);
    return s;
}

static int
s_send (zsock_t *s, sf_proto_type type, const void *body, bool client)
{
    zmsg_t *msg = sf_proto_encode (type, body);
    if (!msg)
        return -1;
    if (client)
        zmsg_pushmem (msg, NULL, 0);
    int rc = zmsg_send (&msg, s);
    zmsg_destroy (&msg);
    return rc;
}

static int
s_greedy (const char *ep, const char *gpu_type, const char *id, double seconds)
{
    zsock_t *s = s_dealer (ep, 1000);
    if (!s)
        return 1;
    sf_proto_hello_t h;
    memset (&h, 0, sizeof h);
    snprintf (h.worker_id, sizeof h.worker_id, "%s", id);
    snprintf (h.hostname, sizeof h.hostname, "hostile");
    h.pid = (int32_t) getpid ();
    snprintf (h.gpu_type, sizeof h.gpu_type, "%s", gpu_type);
    snprintf (h.gpu_name, sizeof h.gpu_name, "model");
    h.sm_count = 132;
    h.cc_major = 9;
    snprintf (h.backend, sizeof h.backend, "sim");
    h.compile_threads = 1;
    h.capacity = 2;
    snprintf (h.session, sizeof h.session, "hostile-%d-%ld", (int) getpid (), (long) zclock_usecs ());
    s_send (s, SF_PROTO_HELLO, &h, false);
    sf_proto_ready_t ready = { 1024 };
    s_send (s, SF_PROTO_READY, &ready, false);
    int jobs = 0, forged = 0, refused = 0;
    int64_t end = zclock_mono () + (int64_t) (seconds * 1000);
    zsock_set_rcvtimeo (s, 50);
    while (zclock_mono () < end && !zsys_interrupted) {
        zmsg_t *msg = zmsg_recv (s);
        if (!msg)
            continue;
        sf_proto_msg_t *m = NULL;
        if (sf_proto_decode (msg, SF_PROTO_TO_WORKER, &m) == SF_OK) {
            if (m->type == SF_PROTO_JOB) {
                jobs++;
                /* a RESULT on a lease it does not hold, with absurd times */
                sf_proto_candidate_t c;
                memset (&c, 0, sizeof c);
                snprintf (c.tmpl, sizeof c.tmpl, "U");
                snprintf (c.config, sizeof c.config, "%s",
                          m->job.config_count ? m->job.configs[0] : "U:r4.v4.t128.g1.o0.none");
                c.proxy = m->job.proxy;
                c.us = 0.001;
                c.err = 0.0;
                c.spread_us = c.p10_us = c.p90_us = NAN;
                sf_proto_result_t r = { .job_id = m->job.job_id, .lease_id = m->job.lease_id + 1,
                                        .simulated = true, .candidates = &c, .candidate_count = 1 };
                forged += s_send (s, SF_PROTO_RESULT, &r, false) == 0;
            } else if (m->type == SF_PROTO_ERROR)
                refused++;
            sf_proto_msg_destroy (&m);
        }
        zmsg_destroy (&msg);
    }
    printf ("hostile greedy %s: %d jobs taken and held, %d forged results sent, %d errors received\n", id, jobs,
            forged, refused);
    zsock_destroy (&s);
    return 0;
}

/*  A random-looking message: a valid one damaged, cut, or noise. */
static zmsg_t *
s_garbage (uint64_t *seed, bool client)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t r = *seed >> 17;
    zmsg_t *msg = NULL;
    if (r % 3 == 0) {
        uint8_t noise[512];
        size_t n = (size_t) (r >> 8) % sizeof noise;
        for (size_t i = 0; i < n; i++)
            noise[i] = (uint8_t) ((r >> (i % 40)) ^ (i * 131));
        msg = zmsg_new ();
        zmsg_addmem (msg, noise, n);
    } else {
        sf_proto_hello_t h;
        memset (&h, 0, sizeof h);
        snprintf (h.worker_id, sizeof h.worker_id, "noise");
        snprintf (h.gpu_type, sizeof h.gpu_type, "sim/x/1sm");
        h.capacity = 1;
        sf_proto_status_req_t st = { 0 };
        msg = client ? sf_proto_encode (SF_PROTO_STATUS_REQ, &st) : sf_proto_encode (SF_PROTO_HELLO, &h);
        if (!msg)
            return NULL;
        zframe_t *f = zmsg_last (msg);
        size_t size = zframe_size (f);
        if (size) {
            uint8_t *d = zframe_data (f);
            if (r % 3 == 1)
                for (int i = 0; i < 4; i++)
                    d[(r >> (8 * i)) % size] ^= (uint8_t) (1u << (i + 1));
            else {  /* cut short */
                size_t keep = (r >> 8) % size;
                uint8_t *copy = malloc (keep + 1);
                if (copy) {
                    memcpy (copy, d, keep);
                    zframe_reset (f, copy, keep);
                    free (copy);
                }
            }
        }
    }
    if (client)
        zmsg_pushmem (msg, NULL, 0);
    return msg;
}

static int
s_noise (const char *ep, double seconds, bool flood)
{
    zsock_t *w = s_dealer (ep, flood ? 0 : 1000), *c = flood ? NULL : s_dealer (ep, 1000);
    if (!w || (!flood && !c)) {
        zsock_destroy (&w);
        zsock_destroy (&c);
        return 1;
    }
    uint64_t seed = (uint64_t) getpid () * 2654435761u, sent = 0;
    int64_t end = zclock_mono () + (int64_t) (seconds * 1000);
    sf_proto_status_req_t st = { 0 };
    while (zclock_mono () < end && !zsys_interrupted) {
        for (int i = 0; i < 100; i++) {
            if (flood)
                sent += s_send (w, SF_PROTO_STATUS_REQ, &st, true) == 0;
            else {
                bool client = (seed >> 40) & 1;
                zmsg_t *msg = s_garbage (&seed, client);
                sent += msg && zmsg_send (&msg, client ? c : w) == 0;
                zmsg_destroy (&msg);
            }
        }
        if (!flood)
            zclock_sleep (1);
    }
    printf ("hostile %s: %llu messages sent\n", flood ? "flood" : "garbage", (unsigned long long) sent);
    zsock_destroy (&w);
    zsock_destroy (&c);
    return 0;
}

int
main (int argc, char **argv)
{
    zsys_init ();
    if (argc == 6 && strcmp (argv[1], "greedy") == 0)
        return s_greedy (argv[2], argv[3], argv[4], atof (argv[5]));
    if (argc == 4 && (strcmp (argv[1], "garbage") == 0 || strcmp (argv[1], "flood") == 0))
        return s_noise (argv[2], atof (argv[3]), strcmp (argv[1], "flood") == 0);
    fprintf (stderr, "usage: hostile_peer greedy EP GPU_TYPE ID SECONDS | garbage EP SECONDS | flood EP SECONDS\n");
    return 2;
}
