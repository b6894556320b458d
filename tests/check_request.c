/*  Check suite of wire/sf_request, the one search request: its canonical
    text is the store key tune-local's stores were written with; every
    option goes command line -> SUBMIT and JOB on the wire -> decoded ->
    canonical text unchanged; every bound is refused with a message naming
    the option and the bound, on the command line and on the wire; the
    worker's conversion (sf_jobrun_search_opts) takes every option. */
#include <check.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "config.h"
#include "wire/sf_proto.h"
#include "wire/sf_request.h"
#include "worker/sf_jobrun.h"
#include "worker/sf_search.h"

#define S_HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/*  The default request's text, as tune-local wrote it into stores before
    requests had a type (cli/sf_tune_store.c at 132dfaf, now coordinator/sf_ledger.c). */
#define S_DEFAULT_TEXT "strategy=proxy max-configs=all proxy-top=4 templates=UD+e2 max-code-fmas=160000"
#define S_BF16_TEXT "strategy=proxy max-configs=all proxy-top=4 templates=UDT+e2 max-code-fmas=160000 precision=bf16"

static char *
s_canonical (const sf_request_t *r)
{
    static char buf[SF_REQUEST_TEXT_MAX];
    return sf_request_canonical (r, buf, sizeof buf);
}

static void
s_set (sf_request_t *r, const char *name, const char *value)
{
    int rc = sf_request_set_option (r, name, value);
    ck_assert_msg (rc == SF_OK, "--%s %s: %s", name, value ? value : "", sf_error_message ());
}

/*  Every option of a and b equal. */
static void
s_assert_same (const sf_request_t *a, const sf_request_t *b, const char *what)
{
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    for (size_t i = 0; i < count; i++) {
        sf_request_value_t va, vb;
        sf_request_get (a, i, &va);
        sf_request_get (b, i, &vb);
        ck_assert_msg (va.flag == vb.flag && va.i == vb.i && va.u == vb.u && strcmp (va.word, vb.word) == 0
                           && (va.num == vb.num || (isnan (va.num) && isnan (vb.num))),
                       "%s: option %s changed", what, opts[i].name);
    }
    ck_assert_str_eq (s_canonical (a), s_canonical (b));
}

/*  r through a SUBMIT and a JOB: both decode to the same request. */
static void
s_wire_roundtrip (const sf_request_t *r, const char *what)
{
    sf_proto_layer_t layer = { .name = "l", .matrix_hash = S_HASH, .n = 64 };
    sf_proto_submit_t sub = { .name = "c", .layers = &layer, .layer_count = 1 };
    sub.request = *r;
    zmsg_t *z = sf_proto_encode (SF_PROTO_SUBMIT, &sub);
    ck_assert_msg (z != NULL, "%s: SUBMIT: %s", what, sf_error_message ());
    sf_proto_msg_t *msg = NULL;
    ck_assert_msg (sf_proto_decode (z, SF_PROTO_FROM_CLIENT, &msg) == SF_OK, "%s: %s", what, sf_error_message ());
    s_assert_same (r, &msg->submit.request, what);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&z);

    sf_proto_job_t job = { .job_id = 1, .lease_id = 2, .deadline_ms = 1000, .campaign_id = 3, .matrix_hash = S_HASH,
                           .m = 8, .k = 8, .n = 8, .kind = "search" };
    job.request = *r;
    z = sf_proto_encode (SF_PROTO_JOB, &job);
    ck_assert_msg (z != NULL, "%s: JOB: %s", what, sf_error_message ());
    ck_assert_msg (sf_proto_decode (z, SF_PROTO_TO_WORKER, &msg) == SF_OK, "%s: %s", what, sf_error_message ());
    s_assert_same (r, &msg->job.request, what);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&z);
}

/* ---- the canonical text -------------------------------------------------------- */

START_TEST (test_default_text)
{
    sf_request_t r;
    sf_request_init (&r);
    ck_assert_str_eq (s_canonical (&r), S_DEFAULT_TEXT);
    char key[SF_REQUEST_TEXT_MAX + 64];
    /* tune-local's store key, with and without GPU timing */
    ck_assert_str_eq (sf_request_store_key (&r, NULL, key, sizeof key), "tune-local " S_DEFAULT_TEXT " spmmfarm=" PACKAGE_VERSION);
    ck_assert_str_eq (sf_request_store_key (&r, "graph", key, sizeof key),
                      "tune-local " S_DEFAULT_TEXT " timing=graph spmmfarm=" PACKAGE_VERSION);
    /* spelling the defaults out is the same request */
    s_set (&r, "strategy", "proxy");
    s_set (&r, "templates", "DU");
    s_set (&r, "proxy-top", "4");
    s_set (&r, "max-code-fmas", "160000");
    s_set (&r, "seed", "1");
    s_set (&r, "tol", "1e-5");
    s_set (&r, "run-timeout", "30");
    s_set (&r, "precision", "fp32");
    s_set (&r, "layout", "kn");
    s_set (&r, "d-slab", NULL);
    s_set (&r, "top-k", "77");  /* proxy has no top k */
    ck_assert_str_eq (s_canonical (&r), S_DEFAULT_TEXT);
    /* the epilogue is the layer's, matched on the layer record */
    s_set (&r, "bias", NULL);
    s_set (&r, "relu", NULL);
    ck_assert_str_eq (s_canonical (&r), S_DEFAULT_TEXT);
}
END_TEST

START_TEST (test_older_texts)
{
    /* requests the pre-request code wrote with other options: same text */
    sf_request_t r;
    sf_request_init (&r);
    s_set (&r, "strategy", "exhaustive");
    s_set (&r, "max-configs", "16");
    s_set (&r, "templates", "U");
    ck_assert_str_eq (s_canonical (&r), "strategy=exhaustive max-configs=16 templates=U max-code-fmas=160000");
    sf_request_init (&r);
    s_set (&r, "proxy-top", "2");
    s_set (&r, "d-union", NULL);
    s_set (&r, "no-d-slab", NULL);
    s_set (&r, "u-split", NULL);
    s_set (&r, "max-code-fmas", "50000");
    ck_assert_str_eq (s_canonical (&r), "strategy=proxy max-configs=all proxy-top=2 templates=UD+e1 u-split "
                                        "max-code-fmas=50000");
    sf_request_init (&r);
    s_set (&r, "templates", "D");
    s_set (&r, "u-split", NULL);  /* no U: nothing split */
    ck_assert_str_eq (s_canonical (&r), "strategy=proxy max-configs=all proxy-top=4 templates=D+e2 max-code-fmas=160000");
    /* rank: no slab, no split (the model has no feature for them); its
       defaults resolved */
    sf_request_init (&r);
    s_set (&r, "strategy", "rank");
    s_set (&r, "u-split", NULL);
    ck_assert_str_eq (s_canonical (&r), "strategy=rank max-configs=all top-k=10 proxy-top=3 templates=UD "
                                        "max-code-fmas=160000");
}
END_TEST

START_TEST (test_new_fields_in_text)
{
    sf_request_t r;
    sf_request_init (&r);
    s_set (&r, "precision", "bf16");
    ck_assert_str_eq (s_canonical (&r), S_BF16_TEXT);
    /* bf16's own bound is its default: not in the text */
    s_set (&r, "tol", "1e-2");
    ck_assert_str_eq (s_canonical (&r), S_BF16_TEXT);
    s_set (&r, "tol", "1e-3");
    s_set (&r, "layout", "nk");
    s_set (&r, "seed", "42");
    s_set (&r, "run-timeout", "5");
    ck_assert_str_eq (s_canonical (&r),
                      S_BF16_TEXT " layout=nk tol=0.001 seed=42 run-timeout=5");
}
END_TEST

/*  Template T: in the text of the 16-bit tiers only (where it runs), so
    that fp32 texts stay as they were and a 16-bit search without T is
    another request. */
START_TEST (test_template_t_text)
{
    sf_request_t r;
    sf_request_init (&r);
    ck_assert_uint_eq (r.templates, SF_REQUEST_U | SF_REQUEST_D | SF_REQUEST_T);
    s_set (&r, "templates", "TDU");
    ck_assert_str_eq (s_canonical (&r), S_DEFAULT_TEXT);
    s_set (&r, "templates", "UD");
    ck_assert_str_eq (s_canonical (&r), S_DEFAULT_TEXT);
    s_set (&r, "precision", "fp16");
    ck_assert_str_eq (s_canonical (&r), "strategy=proxy max-configs=all proxy-top=4 templates=UD+e2 "
                                        "max-code-fmas=160000 precision=fp16");
    s_set (&r, "templates", "t");
    ck_assert_uint_eq (r.templates, SF_REQUEST_T);
    ck_assert_str_eq (s_canonical (&r), "strategy=proxy max-configs=all proxy-top=4 templates=T "
                                        "max-code-fmas=160000 precision=fp16");
    bool negated;
    int index = sf_request_option_find ("templates", strlen ("templates"), &negated);
    ck_assert_int_ge (index, 0);
    sf_request_value_t v;
    sf_request_get (&r, (size_t) index, &v);
    ck_assert_str_eq (v.word, "T");
}
END_TEST

/* ---- every option through the command line and the wire ------------------------- */

typedef struct {
    const char *name, *value;  /* the option and a value that is not its default */
    const char *strategy;      /* the strategy it shows under (NULL: proxy) */
    const char *text;          /* what the canonical text gains (NULL: the epilogue) */
} s_case_t;

static const s_case_t s_cases[] = {
    { "strategy", "exhaustive", NULL, "strategy=exhaustive" },
    { "templates", "U", NULL, "templates=U " },
    { "max-configs", "1048576", NULL, "max-configs=1048576" },
    { "proxy-top", "1024", NULL, "proxy-top=1024" },
    { "top-k", "4096", "rank", "top-k=4096" },
    { "max-code-fmas", "100000000", NULL, "max-code-fmas=100000000" },
    { "run-timeout", "0.1", NULL, "run-timeout=0.1" },
    { "budget", "30m", NULL, "budget=1800" },
    { "seed", "18446744073709551615", NULL, "seed=18446744073709551615" },
    { "tol", "1e-12", NULL, "tol=1e-12" },
    { "precision", "fp16", NULL, "precision=fp16" },
    { "layout", "nk", NULL, "layout=nk" },
    { "l2", "cold", NULL, " l2=cold" },
    { "bias", NULL, NULL, NULL },
    { "relu", NULL, NULL, NULL },
    { "u-split", NULL, NULL, " u-split" },
    { "d-union", NULL, NULL, "+e1" },
    { "no-d-slab", NULL, NULL, "templates=UD " },
};

START_TEST (test_every_option_roundtrips)
{
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    uint64_t covered = 0;
    for (size_t c = 0; c < sizeof s_cases / sizeof s_cases[0]; c++) {
        const s_case_t *k = &s_cases[c];
        sf_request_t base, r;
        sf_request_init (&base);
        if (k->strategy)
            s_set (&base, "strategy", k->strategy);
        r = base;
        s_set (&r, k->name, k->value);
        int index = sf_request_option_find (k->name, strlen (k->name), NULL);
        ck_assert_int_ge (index, 0);
        covered |= 1ull << index;
        /* the option changed the request, and the text shows it */
        char before[SF_REQUEST_TEXT_MAX];
        snprintf (before, sizeof before, "%s", s_canonical (&base));
        sf_request_value_t v0, v1;
        sf_request_get (&base, (size_t) index, &v0);
        sf_request_get (&r, (size_t) index, &v1);
        ck_assert_msg (memcmp (&v0, &v1, sizeof v0) != 0, "--%s did not change the request", k->name);
        if (k->text) {
            ck_assert_msg (strstr (s_canonical (&r), k->text), "--%s: '%s' not in '%s'", k->name, k->text,
                           s_canonical (&r));
            ck_assert_str_ne (s_canonical (&r), before);
        } else
            ck_assert_str_eq (s_canonical (&r), before);
        /* through the wire: the same request comes out */
        s_wire_roundtrip (&r, k->name);
    }
    /* every option of the table has a case */
    ck_assert_uint_eq (covered, (1ull << count) - 1);
    /* and all of them at once */
    sf_request_t all;
    sf_request_init (&all);
    for (size_t c = 1; c < sizeof s_cases / sizeof s_cases[0]; c++)
        s_set (&all, s_cases[c].name, s_cases[c].value);
    s_wire_roundtrip (&all, "all options");
    (void) opts;
}
END_TEST

START_TEST (test_getopt_and_help)
{
    struct option table[SF_REQUEST_GETOPT_MAX + 1];
    size_t n = sf_request_getopt (table, SF_REQUEST_GETOPT_MAX, 500);
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    ck_assert_uint_gt (n, count);
    for (size_t i = 0; i < n; i++) {
        const char *name = sf_request_getopt_name (table[i].val, 500);
        ck_assert_ptr_nonnull (name);
        ck_assert_str_eq (name, table[i].name);
        bool negated;
        int index = sf_request_option_find (name, strlen (name), &negated);
        ck_assert_int_ge (index, 0);
        ck_assert_int_eq (table[i].has_arg, opts[index].type == SF_REQUEST_T_FLAG ? no_argument : required_argument);
    }
    ck_assert_ptr_null (sf_request_getopt_name (499, 500));
    ck_assert_ptr_null (sf_request_getopt_name (500 + 2 * (int) count, 500));

    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream (&text, &size);
    sf_request_help (f);
    fclose (f);
    for (size_t i = 0; i < count; i++) {
        char want[48];
        snprintf (want, sizeof want, "  --%s%s", opts[i].shown_negated ? "no-" : "", opts[i].name);
        ck_assert_msg (strstr (text, want), "help lacks %s", want);
    }
    ck_assert_ptr_nonnull (strstr (text, "[1..1048576]"));
    ck_assert_ptr_nonnull (strstr (text, "--precision P"));
    ck_assert_ptr_nonnull (strstr (text, "--no-d-slab"));
    free (text);
}
END_TEST

/* ---- bounds ----------------------------------------------------------------------- */

static void
s_refused (const char *name, const char *value, int status, const char *message)
{
    sf_request_t r, before;
    sf_request_init (&r);
    before = r;
    int rc = sf_request_set_option (&r, name, value);
    ck_assert_msg (rc == status, "--%s %s: %d, not %d", name, value ? value : "", rc, status);
    ck_assert_str_eq (sf_error_message (), message);
    s_assert_same (&r, &before, name);  /* nothing changed */
}

START_TEST (test_command_line_bounds)
{
    s_refused ("max-configs", "1048577", SF_ERR_RANGE, "--max-configs: 1048577 is out of range 1..1048576 (0: the default)");
    s_refused ("max-configs", "-1", SF_ERR_RANGE, "--max-configs: -1 is out of range 1..1048576 (0: the default)");
    s_refused ("proxy-top", "1025", SF_ERR_RANGE, "--proxy-top: 1025 is out of range 1..1024 (0: the default)");
    s_refused ("top-k", "4097", SF_ERR_RANGE, "--top-k: 4097 is out of range 1..4096 (0: the default)");
    s_refused ("max-code-fmas", "100000001", SF_ERR_RANGE,
               "--max-code-fmas: 100000001 is out of range 1..100000000 (0: the default)");
    s_refused ("run-timeout", "0.05", SF_ERR_RANGE, "--run-timeout: 0.05 is out of range 0.1..86400 (0: the default)");
    s_refused ("run-timeout", "1e6", SF_ERR_RANGE, "--run-timeout: 1e+06 is out of range 0.1..86400 (0: the default)");
    s_refused ("tol", "2", SF_ERR_RANGE, "--tol: 2 is out of range 1e-12..1 (0: the default)");
    s_refused ("budget", "0.5", SF_ERR_RANGE, "--budget: 0.5 is out of range 1..604800 (0: the default)");
    s_refused ("budget", "8d", SF_ERR_INVALID, "--budget: '8d' is not a duration (90s, 30m, 2h, seconds)");
    s_refused ("budget", "200h", SF_ERR_RANGE, "--budget: 720000 is out of range 1..604800 (0: the default)");
    s_refused ("budget", "m", SF_ERR_INVALID, "--budget: 'm' is not a duration (90s, 30m, 2h, seconds)");
    s_refused ("run-timeout", "5m", SF_ERR_INVALID, "--run-timeout: '5m' is not a number");
    s_refused ("tol", "nan", SF_ERR_INVALID, "--tol: 'nan' is not a number");
    s_refused ("seed", "-1", SF_ERR_INVALID, "--seed: '-1' is not an integer in 0..18446744073709551615");
    s_refused ("seed", "18446744073709551616", SF_ERR_INVALID,
               "--seed: '18446744073709551616' is not an integer in 0..18446744073709551615");
    s_refused ("top-k", "ten", SF_ERR_INVALID, "--top-k: 'ten' is not an integer");
    s_refused ("top-k", "10x", SF_ERR_INVALID, "--top-k: '10x' is not an integer");
    s_refused ("strategy", "sweep", SF_ERR_INVALID, "--strategy: 'sweep' is not one of exhaustive, proxy, rank");
    s_refused ("templates", "UX", SF_ERR_INVALID, "--templates: 'UX' is not one of U, D, UD, T, UT, DT, UDT");
    s_refused ("templates", "UU", SF_ERR_INVALID, "--templates: 'UU' is not one of U, D, UD, T, UT, DT, UDT");
    s_refused ("precision", "fp8", SF_ERR_INVALID, "--precision: 'fp8' is not one of fp32, tf32, bf16, fp16");
    s_refused ("layout", "mn", SF_ERR_INVALID, "--layout: 'mn' is not one of kn, nk");
    s_refused ("l2", "hot", SF_ERR_INVALID, "--l2: 'hot' is not one of auto, warm, cold");
    s_refused ("l2", "", SF_ERR_INVALID, "--l2: '' is not one of auto, warm, cold");
    s_refused ("bias", "maybe", SF_ERR_INVALID, "--bias: takes no value, not 'maybe'");
    s_refused ("gpu", "0", SF_ERR_NOTFOUND, "--gpu: not a search option");
    s_refused ("no-top-k", NULL, SF_ERR_NOTFOUND, "--no-top-k: not a search option");
    /* the bounds themselves are accepted, and 0 means the default */
    sf_request_t r;
    sf_request_init (&r);
    s_set (&r, "max-configs", "1");
    s_set (&r, "max-configs", "0");
    ck_assert_int_eq (r.max_configs, 0);
    s_set (&r, "run-timeout", "86400");
    s_set (&r, "tol", "1");
}
END_TEST

START_TEST (test_validate)
{
    sf_request_t r;
    sf_request_init (&r);
    ck_assert_int_eq (sf_request_validate (&r), SF_OK);
    r.tier = (sf_tier) 9;
    ck_assert_int_eq (sf_request_validate (&r), SF_ERR_INVALID);
    ck_assert_str_eq (sf_error_message (), "precision: '?' is not one of fp32, tf32, bf16, fp16");
    sf_request_init (&r);
    r.templates = 0;
    ck_assert_int_ne (sf_request_validate (&r), SF_OK);
    sf_request_init (&r);
    r.top_k = 5000;
    ck_assert_int_eq (sf_request_validate (&r), SF_ERR_RANGE);
    ck_assert_str_eq (sf_error_message (), "top_k: 5000 is out of range 1..4096 (0: the default)");
    /* the encoder refuses what a decoder would */
    sf_proto_job_t job = { .job_id = 1, .lease_id = 2, .deadline_ms = 1000, .campaign_id = 3, .matrix_hash = S_HASH,
                           .m = 8, .k = 8, .n = 8, .kind = "search", .request = r };
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &job));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request': top_k: 5000 is out of range 1..4096 (0: the default)");
}
END_TEST

/*  A JOB body whose request map is one key and a value packed by `pack`. */
typedef void (*s_pack_fn) (msgpack_packer *pk);

static void
s_str (msgpack_packer *pk, const char *s)
{
    msgpack_pack_str (pk, strlen (s));
    msgpack_pack_str_body (pk, s, strlen (s));
}

static int
s_decode_job_with (const char *key, s_pack_fn pack, bool twice, sf_request_t *out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 10);
    const char *ints[] = { "job_id", "lease_id", "deadline_ms", "campaign_id", "m", "k", "n" };
    for (int i = 0; i < 7; i++) {
        s_str (&pk, ints[i]);
        msgpack_pack_int (&pk, 8);
    }
    s_str (&pk, "matrix_hash");
    s_str (&pk, S_HASH);
    s_str (&pk, "kind");
    s_str (&pk, "search");
    s_str (&pk, "request");
    msgpack_pack_map (&pk, twice ? 3 : 2);
    s_str (&pk, "from_a_newer_peer");  /* unknown keys are skipped */
    msgpack_pack_array (&pk, 1);
    msgpack_pack_nil (&pk);
    for (int i = 0; i < (twice ? 2 : 1); i++) {
        s_str (&pk, key);
        pack (&pk);
    }
    zmsg_t *z = zmsg_new ();
    zmsg_addstr (z, SF_PROTO_VERSION);
    zmsg_addstr (z, "JOB");
    zmsg_addmem (z, sb.data, sb.size);
    sf_proto_msg_t *msg = NULL;
    int rc = sf_proto_decode (z, SF_PROTO_TO_WORKER, &msg);
    if (rc == SF_OK && out)
        *out = msg->job.request;
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&z);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

static void s_pk_5000 (msgpack_packer *pk) { msgpack_pack_int (pk, 5000); }
static void s_pk_neg (msgpack_packer *pk) { msgpack_pack_int (pk, -1); }
static void s_pk_seven (msgpack_packer *pk) { msgpack_pack_int (pk, 7); }
static void s_pk_fp8 (msgpack_packer *pk) { s_str (pk, "fp8"); }
static void s_pk_str_true (msgpack_packer *pk) { s_str (pk, "true"); }
static void s_pk_big_tol (msgpack_packer *pk) { msgpack_pack_double (pk, 3.0); }

START_TEST (test_wire_bounds)
{
    sf_request_t r;
    ck_assert_int_eq (s_decode_job_with ("seed", s_pk_seven, false, &r), SF_OK);
    ck_assert_uint_eq (r.seed, 7);
    ck_assert_int_eq (s_decode_job_with ("top_k", s_pk_5000, false, NULL), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request.top_k': 5000 is out of range 1..4096 (0: the default)");
    ck_assert_int_eq (s_decode_job_with ("seed", s_pk_neg, false, NULL), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request.seed': expected a non-negative integer, got an integer");
    ck_assert_int_eq (s_decode_job_with ("precision", s_pk_fp8, false, NULL), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request.precision': 'fp8' is not one of fp32, tf32, bf16, fp16");
    ck_assert_int_eq (s_decode_job_with ("bias", s_pk_str_true, false, NULL), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request.bias': expected a boolean, got a string");
    ck_assert_int_eq (s_decode_job_with ("tol", s_pk_big_tol, false, NULL), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request.tol': 3 is out of range 1e-12..1 (0: the default)");
    ck_assert_int_eq (s_decode_job_with ("top_k", s_pk_seven, true, NULL), SF_ERR_PROTOCOL);
    ck_assert_str_eq (sf_error_message (), "JOB: field 'request.top_k': key appears twice");
    /* a long option name is not a wire key: skipped like any unknown key */
    ck_assert_int_eq (s_decode_job_with ("top-k", s_pk_5000, false, &r), SF_OK);
    ck_assert_int_eq (r.top_k, 0);
}
END_TEST

/* ---- the worker's conversion ------------------------------------------------------- */

START_TEST (test_search_opts)
{
    sf_request_t r;
    sf_request_init (&r);
    sf_search_opts_t o;
    memset (&o, 0, sizeof o);
    o.gpu = 3;  /* not the request's: kept */
    sf_jobrun_search_opts (&r, &o);
    ck_assert_int_eq (o.gpu, 3);
    ck_assert_int_eq (o.strategy, SF_STRATEGY_PROXY);
    ck_assert_uint_eq (o.templates, SF_SEARCH_U | SF_SEARCH_D | SF_SEARCH_T);
    ck_assert_uint_eq (o.seed, 1);
    ck_assert_double_eq (o.tol, 1e-5);
    ck_assert (!o.no_d_slab && !o.u_split && !o.d_union && !o.bias && !o.relu);
    for (size_t c = 0; c < sizeof s_cases / sizeof s_cases[0]; c++)
        s_set (&r, s_cases[c].name, s_cases[c].value);
    s_set (&r, "strategy", "rank");
    sf_jobrun_search_opts (&r, &o);
    ck_assert_int_eq (o.strategy, SF_STRATEGY_RANK);
    ck_assert_uint_eq (o.templates, SF_SEARCH_U);
    ck_assert_int_eq (o.max_configs, 1048576);
    ck_assert_int_eq (o.proxy_top, 1024);
    ck_assert_int_eq (o.top_k, 4096);
    ck_assert_int_eq (o.max_code_fmas, 100000000);
    ck_assert_double_eq (o.run_timeout_s, 0.1);
    ck_assert_uint_eq (o.seed, UINT64_MAX);
    ck_assert_double_eq (o.tol, 1e-12);
    ck_assert_int_eq (o.tier, SF_TIER_FP16);
    ck_assert_int_eq (o.layout, SF_LAYOUT_NK);
    ck_assert_int_eq (o.l2, SF_SEARCH_L2_COLD);
    ck_assert (o.bias && o.relu && o.u_split && o.d_union && o.no_d_slab);
    /* tol 0: the tier's bound */
    sf_request_init (&r);
    s_set (&r, "precision", "bf16");
    sf_jobrun_search_opts (&r, &o);
    ck_assert_double_eq (o.tol, sf_tier_tol (SF_TIER_BF16));
    /* what the canonical text says is searched is what the search takes */
    for (int s = 0; s < 3; s++)
        for (int bits = 0; bits < 4; bits++) {
            sf_request_init (&r);
            r.strategy = s == 0 ? SF_REQUEST_EXHAUSTIVE : s == 1 ? SF_REQUEST_PROXY : SF_REQUEST_RANK;
            r.d_slab = bits & 1;
            r.u_split = bits & 2;
            sf_jobrun_search_opts (&r, &o);
            ck_assert_int_eq (sf_request_takes_slab (&r), sf_search_takes_slab (&o));
            ck_assert_int_eq (sf_request_takes_u_split (&r), sf_search_takes_u_split (&o));
            ck_assert_int_eq (strstr (s_canonical (&r), "+e2") != NULL, sf_search_takes_slab (&o));
            ck_assert_int_eq (strstr (s_canonical (&r), "u-split") != NULL, sf_search_takes_u_split (&o));
        }
}
END_TEST

/*  --l2: auto is cold for N <= 256 only once resolved against the layer;
    a warm search keeps the text of the searches timed before cold L2
    existed, byte for byte; a cold one gains " l2=cold". */
START_TEST (test_l2)
{
    sf_request_t r;
    sf_request_init (&r);
    ck_assert_int_eq (r.l2, SF_REQUEST_L2_AUTO);
    ck_assert (sf_request_l2_cold (&r, 1) && sf_request_l2_cold (&r, 16) && sf_request_l2_cold (&r, 256));
    ck_assert (!sf_request_l2_cold (&r, 257) && !sf_request_l2_cold (&r, 4096));
    ck_assert (!sf_request_l2_cold (&r, 0));  /* N unknown: warm */
    ck_assert_str_eq (s_canonical (&r), S_DEFAULT_TEXT);  /* not resolved: nothing said */

    /* prefill (N = 512): warm, the old text and the old store key */
    sf_request_t prefill = r;
    sf_request_resolve_l2 (&prefill, 512);
    ck_assert_int_eq (prefill.l2, SF_REQUEST_L2_WARM);
    ck_assert_str_eq (s_canonical (&prefill), S_DEFAULT_TEXT);
    char key[SF_REQUEST_TEXT_MAX + 64];
    ck_assert_str_eq (sf_request_store_key (&prefill, "graph", key, sizeof key),
                      "tune-local " S_DEFAULT_TEXT " timing=graph spmmfarm=" PACKAGE_VERSION);
    /* explicit warm, at any N: the same text */
    sf_request_t warm = r;
    s_set (&warm, "l2", "warm");
    sf_request_resolve_l2 (&warm, 16);
    ck_assert_int_eq (warm.l2, SF_REQUEST_L2_WARM);
    ck_assert (!sf_request_l2_cold (&warm, 16));
    ck_assert_str_eq (s_canonical (&warm), S_DEFAULT_TEXT);

    /* decode (N = 16): cold, said after the layout */
    sf_request_t decode = r;
    sf_request_resolve_l2 (&decode, 16);
    ck_assert_int_eq (decode.l2, SF_REQUEST_L2_COLD);
    ck_assert_str_eq (s_canonical (&decode), S_DEFAULT_TEXT " l2=cold");
    ck_assert_str_eq (sf_request_store_key (&decode, "graph", key, sizeof key),
                      "tune-local " S_DEFAULT_TEXT " l2=cold timing=graph spmmfarm=" PACKAGE_VERSION);
    s_set (&decode, "precision", "bf16");
    ck_assert_str_eq (s_canonical (&decode), S_BF16_TEXT " l2=cold");
    s_set (&decode, "layout", "nk");
    s_set (&decode, "seed", "7");
    ck_assert_str_eq (s_canonical (&decode), S_BF16_TEXT " layout=nk l2=cold seed=7");
    /* explicit cold stays cold at N = 4096; resolving twice changes nothing */
    sf_request_t cold = r;
    s_set (&cold, "l2", "cold");
    sf_request_resolve_l2 (&cold, 4096);
    ck_assert_int_eq (cold.l2, SF_REQUEST_L2_COLD);
    ck_assert (sf_request_l2_cold (&cold, 4096));
    ck_assert_str_eq (s_canonical (&cold), S_DEFAULT_TEXT " l2=cold");
    sf_request_resolve_l2 (&prefill, 16);
    ck_assert_int_eq (prefill.l2, SF_REQUEST_L2_WARM);
    /* auto is a value of its own on the command line and the wire */
    s_set (&cold, "l2", "auto");
    ck_assert_int_eq (cold.l2, SF_REQUEST_L2_AUTO);
    s_wire_roundtrip (&decode, "l2 cold");
    s_wire_roundtrip (&warm, "l2 warm");
    /* out of its enum: refused, naming the wire key */
    r.l2 = (sf_request_l2) 7;
    ck_assert_int_eq (sf_request_validate (&r), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "l2: "));
    ck_assert_str_eq (sf_request_l2_name ((sf_request_l2) 7), "?");
    ck_assert_int_eq (sf_request_l2_parse ("warm"), SF_REQUEST_L2_WARM);
    ck_assert_int_eq (sf_request_l2_parse (NULL), -1);
    /* the worker takes the mode as asked (it resolves auto with its N) */
    sf_search_opts_t o;
    memset (&o, 0, sizeof o);
    sf_request_init (&r);
    sf_jobrun_search_opts (&r, &o);
    ck_assert_int_eq (o.l2, SF_SEARCH_L2_AUTO);
    s_set (&r, "l2", "warm");
    sf_jobrun_search_opts (&r, &o);
    ck_assert_int_eq (o.l2, SF_SEARCH_L2_WARM);
}
END_TEST

START_TEST (test_search_refuses_unsupported_tiers)
{
    /* the request's tier reaches the search (a bf16 search runs, in the sim
       backend, and says it ran in bf16); so does its layout (nk: the dense
       nk kernels, issue 23), and a layout out of range is refused */
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.5, 1);
    sf_request_t r;
    sf_request_init (&r);
    s_set (&r, "precision", "bf16");
    sf_search_opts_t o = { .backend = SF_BACKEND_SIM };
    sf_jobrun_search_opts (&r, &o);
    ck_assert_int_eq (o.tier, SF_TIER_BF16);
    sf_search_result_t res;
    int rc = sf_search_run (a, 16, &o, &res);
    ck_assert_msg (rc == SF_OK, "bf16 search: %s", sf_error_message ());
    ck_assert_int_eq (res.tier, SF_TIER_BF16);
    ck_assert (res.simulated);
    sf_search_result_free (&res);
    s_set (&r, "layout", "nk");
    sf_jobrun_search_opts (&r, &o);
    ck_assert_int_eq (o.layout, SF_LAYOUT_NK);
    rc = sf_search_run (a, 16, &o, &res);
    ck_assert_msg (rc == SF_OK, "bf16 nk search: %s", sf_error_message ());
    ck_assert_ptr_nonnull (strstr (res.dense_own, ".nk"));
    sf_search_result_free (&res);
    o.layout = (sf_layout) 2;
    rc = sf_search_run (a, 16, &o, &res);
    sf_search_result_free (&res);
    sf_matrix_destroy (&a);
    ck_assert_int_eq (rc, SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "layout 2"));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("request");
    TCase *tc = tcase_create ("request");
    tcase_add_test (tc, test_default_text);
    tcase_add_test (tc, test_older_texts);
    tcase_add_test (tc, test_new_fields_in_text);
    tcase_add_test (tc, test_template_t_text);
    tcase_add_test (tc, test_every_option_roundtrips);
    tcase_add_test (tc, test_getopt_and_help);
    tcase_add_test (tc, test_command_line_bounds);
    tcase_add_test (tc, test_validate);
    tcase_add_test (tc, test_wire_bounds);
    tcase_add_test (tc, test_search_opts);
    tcase_add_test (tc, test_l2);
    tcase_add_test (tc, test_search_refuses_unsupported_tiers);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
