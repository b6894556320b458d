/*  check_kernel: common/sf_kernel, the one kernel artifact (release, deep
    copy, hand-over, the source's length, presence, saved as files); the artifact on the
    wire (wire/sf_protokernel's bounds, then a real RESULT encoded and
    decoded: the same kernel comes back) and in the store
    (store/sf_storekernel, through a real LMDB store: the record written
    from an artifact reads back as the same artifact). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_kernel.h"
#include "store/sf_store.h"
#include "store/sf_storekernel.h"
#include "tests/sf_check_dir.h"
#include "wire/sf_proto.h"
#include "wire/sf_protokernel.h"

/*  An owning artifact: entry "sf_u_k", a 5-byte cubin, source "// ptx\n",
    4 bytes of data (or none), a launch with every field set. */
static sf_kernel_t
s_artifact (bool data)
{
    sf_kernel_t k = { .launch = { .block_threads = 128, .cols_per_block = 256, .panel_groups = 3, .order = 1,
                                  .vec = 4, .shared_bytes = 8192, .panels = 12, .code_panels = 10,
                                  .code_fmas = 123456789012LL } };
    snprintf (k.launch.entry, sizeof k.launch.entry, "sf_u_k");
    k.cubin = malloc (5);
    memcpy (k.cubin, "\177ELF\002", 5);
    k.cubin_size = 5;
    k.source = strdup ("// ptx\n");
    if (data) {
        k.data = malloc (4);
        memcpy (k.data, "\001\002\003\004", 4);
        k.data_size = 4;
    }
    ck_assert (k.cubin && k.source && (!data || k.data));
    return k;
}

/*  a and b hold the same kernel (their own buffers or not). */
static void
s_assert_same (const sf_kernel_t *a, const sf_kernel_t *b)
{
    ck_assert_mem_eq (&a->launch, &b->launch, sizeof a->launch);
    ck_assert_uint_eq (a->cubin_size, b->cubin_size);
    ck_assert_mem_eq (a->cubin, b->cubin, a->cubin_size);
    ck_assert_uint_eq (sf_kernel_source_len (a), sf_kernel_source_len (b));
    ck_assert_mem_eq (a->source, b->source, sf_kernel_source_len (a));
    ck_assert_uint_eq (a->data_size, b->data_size);
    ck_assert ((a->data == NULL) == (b->data == NULL));
    if (a->data)
        ck_assert_mem_eq (a->data, b->data, a->data_size);
}

START_TEST (test_free_twice)
{
    sf_kernel_t zero = { 0 };
    sf_kernel_free (&zero);   /* a zeroed one */
    sf_kernel_free (NULL);
    sf_kernel_t k = s_artifact (true);
    ck_assert (sf_kernel_present (&k));
    sf_kernel_free (&k);
    ck_assert_ptr_null (k.cubin);
    ck_assert_ptr_null (k.source);
    ck_assert_ptr_null (k.data);
    ck_assert_uint_eq (k.cubin_size + k.source_size + k.data_size, 0);
    ck_assert_str_eq (k.launch.entry, "");
    ck_assert (!sf_kernel_present (&k));
    sf_kernel_free (&k);   /* twice */
}
END_TEST

START_TEST (test_dup)
{
    sf_kernel_t k = s_artifact (true), copy;
    ck_assert_int_eq (sf_kernel_dup (&k, &copy), SF_OK);
    s_assert_same (&k, &copy);
    ck_assert_ptr_ne (copy.cubin, k.cubin);
    ck_assert_ptr_ne (copy.source, k.source);
    ck_assert_ptr_ne (copy.data, k.data);
    ck_assert_uint_eq (copy.source_size, strlen ("// ptx\n"));   /* exact in a copy */
    sf_kernel_free (&k);   /* the copy owns its own buffers */
    ck_assert_str_eq (copy.source, "// ptx\n");
    ck_assert_int_eq (((unsigned char *) copy.cubin)[0], 0177);
    sf_kernel_free (&copy);

    /* a source_size shorter than the text: that many bytes, NUL-terminated */
    k = s_artifact (false);
    k.source_size = 2;
    ck_assert_int_eq (sf_kernel_dup (&k, &copy), SF_OK);
    ck_assert_str_eq (copy.source, "//");
    ck_assert_ptr_null (copy.data);
    ck_assert_uint_eq (copy.data_size, 0);
    sf_kernel_free (&copy);
    sf_kernel_free (&k);

    /* an empty artifact copies as an empty one */
    sf_kernel_t empty = { 0 };
    ck_assert_int_eq (sf_kernel_dup (&empty, &copy), SF_OK);
    ck_assert (!copy.cubin && !copy.source && !copy.data && !sf_kernel_present (&copy));
}
END_TEST

START_TEST (test_move)
{
    sf_kernel_t a = s_artifact (true), b = s_artifact (false), want;
    ck_assert_int_eq (sf_kernel_dup (&a, &want), SF_OK);
    sf_kernel_move (&b, &a);   /* b's own buffers are freed (the sanitizer build sees a leak otherwise) */
    s_assert_same (&b, &want);
    ck_assert_ptr_null (a.cubin);
    ck_assert_ptr_null (a.data);
    ck_assert_str_eq (a.launch.entry, "");
    sf_kernel_move (&b, &b);   /* itself: nothing happens */
    s_assert_same (&b, &want);
    sf_kernel_t z = { 0 };
    sf_kernel_move (&b, &z);   /* an empty one over a full one releases it */
    ck_assert (!b.cubin && !b.source && !b.data);
    sf_kernel_free (&want);
}
END_TEST

START_TEST (test_source_len_present)
{
    sf_kernel_t k = { 0 };
    ck_assert_uint_eq (sf_kernel_source_len (&k), 0);
    k.source = (char *) "abcdef";
    ck_assert_uint_eq (sf_kernel_source_len (&k), 6);   /* 0: strlen */
    k.source_size = 4;
    ck_assert_uint_eq (sf_kernel_source_len (&k), 4);
    /* present: a cubin of at least a byte and a terminated, non-empty entry */
    unsigned char cubin[1] = { 1 };
    k.cubin = cubin;
    ck_assert (!sf_kernel_present (&k));   /* no entry */
    snprintf (k.launch.entry, sizeof k.launch.entry, "e");
    ck_assert (!sf_kernel_present (&k));   /* no size */
    k.cubin_size = 1;
    ck_assert (sf_kernel_present (&k));
    memset (k.launch.entry, 'x', sizeof k.launch.entry);   /* not terminated */
    ck_assert (!sf_kernel_present (&k));
}
END_TEST

/* ---- wire/sf_protokernel ------------------------------------------------------- */

/*  The artifact in a RESULT's candidate, encoded and decoded: the same
    kernel comes back (a decoded source has source_size 0: its strlen). */
START_TEST (test_wire_round_trip)
{
    sf_kernel_t k = s_artifact (true);
    sf_proto_candidate_t cand = { .tmpl = "U", .config = "U:r16.v4.t32.g2.o1.m64", .status = SF_OK,
                                  .us = 10, .spread_us = 1, .p10_us = 9.5, .p90_us = 10.5, .err = 1e-7,
                                  .samples = 3, .code_bytes = 5, .has_kernel = true };
    ck_assert (sf_protokernel_borrow (&k, &cand.kernel));
    ck_assert_ptr_eq (cand.kernel.cubin, k.cubin);   /* borrowed */
    sf_proto_result_t res = { .job_id = 1, .lease_id = 2, .candidates = &cand, .candidate_count = 1 };
    zmsg_t *msg = sf_proto_encode (SF_PROTO_RESULT, &res);
    ck_assert_msg (msg != NULL, "%s", sf_error_message ());
    sf_proto_msg_t *back = NULL;
    ck_assert_int_eq (sf_proto_decode (msg, SF_PROTO_FROM_WORKER, &back), SF_OK);
    zmsg_destroy (&msg);
    ck_assert_uint_eq (back->result.candidate_count, 1);
    const sf_kernel_t *got = &back->result.candidates[0].kernel;
    s_assert_same (got, &k);
    ck_assert_uint_eq (got->source_size, 0);
    sf_proto_msg_destroy (&back);

    /* without data or source: they stay absent */
    sf_kernel_t bare = k;
    bare.data = NULL;
    bare.data_size = 0;
    bare.source = NULL;
    ck_assert (sf_protokernel_borrow (&bare, &cand.kernel));
    ck_assert ((msg = sf_proto_encode (SF_PROTO_RESULT, &res)) != NULL);
    ck_assert_int_eq (sf_proto_decode (msg, SF_PROTO_FROM_WORKER, &back), SF_OK);
    zmsg_destroy (&msg);
    got = &back->result.candidates[0].kernel;
    ck_assert (!got->data && !got->source && got->data_size == 0);
    ck_assert_str_eq (got->launch.entry, "sf_u_k");
    sf_proto_msg_destroy (&back);

    /* an entry that is not an identifier is refused by the wire */
    snprintf (k.launch.entry, sizeof k.launch.entry, "not an identifier");
    ck_assert (sf_protokernel_borrow (&k, &cand.kernel));
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_RESULT, &res));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "entry"));
    sf_kernel_free (&k);
}
END_TEST

START_TEST (test_wire_bounds)
{
    sf_kernel_t k = s_artifact (true);
    sf_kernel_t out;
    /* sizes past the bound are refused before a byte is read */
    size_t cubin_size = k.cubin_size;
    k.cubin_size = (size_t) SF_PROTO_CODE_MAX + 1;
    ck_assert (!sf_protokernel_borrow (&k, &out));
    ck_assert_int_eq (sf_error_last (), SF_ERR_RANGE);
    ck_assert_ptr_null (out.cubin);
    k.cubin_size = cubin_size;
    k.data_size = (size_t) SF_PROTO_CODE_MAX + 1;
    ck_assert (!sf_protokernel_borrow (&k, &out));
    k.data_size = 4;
    /* a source over the bound travels without it */
    k.source_size = (size_t) SF_PROTO_CODE_MAX + 1;
    ck_assert (sf_protokernel_borrow (&k, &out));
    ck_assert_ptr_null (out.source);
    ck_assert_uint_eq (out.source_size, 0);
    ck_assert_ptr_eq (out.cubin, k.cubin);
    ck_assert_ptr_eq (out.data, k.data);
    k.source_size = 0;
    /* no kernel: nothing to send */
    sf_kernel_t empty = { 0 };
    ck_assert (!sf_protokernel_borrow (&empty, &out));
    sf_kernel_free (&k);
}
END_TEST

/* ---- store/sf_storekernel ------------------------------------------------------- */

START_TEST (test_store_round_trip)
{
    char *dir = sf_check_dir_new ("kernel");
    sf_store_t *store = sf_store_open (dir, SF_STORE_WRITER);
    ck_assert_msg (store != NULL, "%s", sf_error_message ());
    sf_kernel_t k = s_artifact (true);
    sf_store_kernel_t rec;
    sf_storekernel_record (&k, SF_TEMPLATE_D, "D:config", &rec);
    ck_assert_ptr_eq (rec.cubin, k.cubin);   /* borrowed */
    ck_assert_uint_eq (rec.source_size, strlen (k.source));
    ck_assert_str_eq (rec.config, "D:config");
    sf_store_batch_t *batch = sf_store_batch_new ();
    uint8_t digest[SF_STORE_HASH_BYTES];
    ck_assert_int_eq (sf_store_batch_put_kernel (batch, &rec, digest), SF_OK);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
    sf_store_batch_destroy (&batch);

    sf_store_kernel_t got;
    ck_assert_int_eq (sf_store_get_kernel (store, digest, &got), SF_OK);
    ck_assert_int_eq (got.tmpl, SF_TEMPLATE_D);
    ck_assert_str_eq (got.config, "D:config");
    sf_kernel_t view;
    sf_storekernel_view (&got, &view);
    s_assert_same (&view, &k);
    ck_assert_ptr_eq (view.cubin, got.cubin);   /* a view borrows */
    sf_kernel_t owned = s_artifact (false);   /* its old buffers are freed by take */
    sf_storekernel_take (&got, &owned);
    s_assert_same (&owned, &k);
    ck_assert (!got.cubin && !got.source && !got.data);
    ck_assert_str_eq (got.config, "D:config");   /* the record keeps what it was compiled from */
    sf_record_kernel_free (&got);   /* nothing left to free */
    sf_kernel_free (&owned);
    sf_kernel_free (&k);
    sf_store_destroy (&store);
    sf_check_dir_destroy (&dir);
}
END_TEST

/*  The bytes of the file at path are want[size]. */
static void
s_assert_file (const char *path, const void *want, size_t size)
{
    FILE *f = fopen (path, "rb");
    ck_assert_msg (f != NULL, "%s not written", path);
    char buf[64];
    size_t got = fread (buf, 1, sizeof buf, f);
    fclose (f);
    ck_assert_uint_eq (got, size);
    ck_assert_mem_eq (buf, want, size);
}

START_TEST (test_save)
{
    char *dir = sf_check_dir_new ("kernel");
    char path[4096], other[4200];
    snprintf (path, sizeof path, "%s/k.cubin", dir);
    sf_kernel_t k = s_artifact (true);
    ck_assert_int_eq (sf_kernel_save (&k, path, "cu"), SF_OK);
    s_assert_file (path, "\177ELF\002", 5);
    snprintf (other, sizeof other, "%s.cu", path);
    s_assert_file (other, "// ptx\n", 7);
    snprintf (other, sizeof other, "%s.data", path);
    s_assert_file (other, "\001\002\003\004", 4);
    sf_kernel_free (&k);

    /* no data: no .data file; the source under the extension given */
    snprintf (path, sizeof path, "%s/u.cubin", dir);
    k = s_artifact (false);
    ck_assert_int_eq (sf_kernel_save (&k, path, "ptx"), SF_OK);
    snprintf (other, sizeof other, "%s.ptx", path);
    s_assert_file (other, "// ptx\n", 7);
    snprintf (other, sizeof other, "%s.data", path);
    FILE *f = fopen (other, "rb");
    ck_assert_ptr_null (f);

    /* a folder that does not exist: an I/O error naming the file */
    snprintf (path, sizeof path, "%s/missing/k.cubin", dir);
    ck_assert_int_eq (sf_kernel_save (&k, path, "ptx"), SF_ERR_IO);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "missing/k.cubin"));
    sf_kernel_free (&k);

    /* nothing to save */
    sf_kernel_t zero = { 0 };
    ck_assert_int_eq (sf_kernel_save (&zero, path, "ptx"), SF_ERR_INVALID);
    sf_check_dir_destroy (&dir);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("kernel");
    TCase *tc = tcase_create ("artifact");
    tcase_add_test (tc, test_free_twice);
    tcase_add_test (tc, test_dup);
    tcase_add_test (tc, test_move);
    tcase_add_test (tc, test_source_len_present);
    tcase_add_test (tc, test_save);
    suite_add_tcase (s, tc);
    tc = tcase_create ("wire");
    tcase_add_test (tc, test_wire_round_trip);
    tcase_add_test (tc, test_wire_bounds);
    suite_add_tcase (s, tc);
    tc = tcase_create ("store");
    tcase_add_test (tc, test_store_round_trip);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? 1 : 0;
}
