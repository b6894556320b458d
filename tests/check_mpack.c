/*  check_mpack: the one bounded MessagePack codec (common/sf_mpack: tokens
    and documents; common/sf_mpack_out: the writer) that the wire and the
    store share. msgpack-c is the independent reference here: the writer's
    bytes are msgpack-c's packer's, the reader's values are its unpacker's,
    and every hostile input is refused with a reason, never read past. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/sf_error.h"
#include "common/sf_mpack.h"
#include "common/sf_mpack_out.h"
#include "tests/sf_check.h"

/*  Values of every width and kind, written by both writers. */
static void
s_write_all (sf_mpack_out_t *out, msgpack_packer *pk)
{
    static const uint64_t uints[] = { 0, 127, 128, 255, 256, 65535, 65536, 4294967295ull, 4294967296ull, UINT64_MAX };
    static const int64_t ints[] = { -1, -32, -33, -128, -129, -32768, -32769, -2147483648ll, -2147483649ll, INT64_MIN };
    static const double dbls[] = { 0.0, -1.5, 1e300, NAN };
    size_t nu = sizeof uints / sizeof uints[0], ni = sizeof ints / sizeof ints[0], nd = sizeof dbls / sizeof dbls[0];
    char text[70000];
    memset (text, 'x', sizeof text);
    static const size_t lens[] = { 0, 31, 32, 255, 256, 65535, 65536 };
    size_t nl = sizeof lens / sizeof lens[0];
    uint32_t count = (uint32_t) (nu + ni + nd + 2 * nl + 4);
    sf_mpack_out_array (out, count);
    msgpack_pack_array (pk, count);
    for (size_t i = 0; i < nu; i++) {
        sf_mpack_out_uint (out, uints[i]);
        msgpack_pack_uint64 (pk, uints[i]);
    }
    for (size_t i = 0; i < ni; i++) {
        sf_mpack_out_int (out, ints[i]);
        msgpack_pack_int64 (pk, ints[i]);
    }
    for (size_t i = 0; i < nd; i++) {
        sf_mpack_out_double (out, dbls[i]);
        msgpack_pack_double (pk, dbls[i]);
    }
    for (size_t i = 0; i < nl; i++) {
        sf_mpack_out_strn (out, text, lens[i]);
        msgpack_pack_str_with_body (pk, text, lens[i]);
        sf_mpack_out_bin (out, text, lens[i]);
        msgpack_pack_bin_with_body (pk, text, lens[i]);
    }
    sf_mpack_out_nil (out);
    msgpack_pack_nil (pk);
    sf_mpack_out_bool (out, true);
    msgpack_pack_true (pk);
    sf_mpack_out_map (out, 17);  /* map16 */
    msgpack_pack_map (pk, 17);
    for (int i = 0; i < 17; i++) {
        char key[8];
        snprintf (key, sizeof key, "k%d", i);
        sf_mpack_out_kuint (out, key, (uint64_t) i);
        msgpack_pack_str_with_body (pk, key, strlen (key));
        msgpack_pack_uint64 (pk, (uint64_t) i);
    }
    uint32_t words[3] = { 1, 0x01020304u, UINT32_MAX };
    sf_mpack_out_le32 (out, words, 3);
    const unsigned char le[12] = { 1, 0, 0, 0, 4, 3, 2, 1, 0xff, 0xff, 0xff, 0xff };
    msgpack_pack_bin_with_body (pk, le, sizeof le);
}

/*  The same values by sf_mpack_out (returned) and by msgpack-c (into sb). */
static sf_mpack_out_t *
s_write_both (msgpack_sbuffer *sb)
{
    sf_mpack_out_t *out = sf_mpack_out_new (1 << 20);
    ck_assert_ptr_nonnull (out);
    msgpack_sbuffer_init (sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    s_write_all (out, &pk);
    return out;
}

START_TEST (test_writer_bytes_are_msgpack_c_s)
{
    msgpack_sbuffer sb;
    sf_mpack_out_t *out = s_write_both (&sb);
    ck_assert_int_eq (sf_mpack_out_status (out), SF_OK);
    ck_assert_uint_eq (sf_mpack_out_size (out), sb.size);
    ck_assert_int_eq (memcmp (sf_mpack_out_data (out), sb.data, sb.size), 0);

    /* The bound: a writer of 16 bytes refuses a 17-byte string, sticky. */
    sf_mpack_out_t *small = sf_mpack_out_new (16);
    sf_mpack_out_strn (small, "0123456789abcdefg", 17);
    sf_mpack_out_nil (small);
    ck_assert_int_eq (sf_mpack_out_status (small), SF_ERR_RANGE);
    sf_mpack_out_destroy (&small);
    sf_mpack_out_destroy (&out);
    msgpack_sbuffer_destroy (&sb);
}
END_TEST

/*  Compares one token with msgpack-c's object of the same bytes. */
static void
s_same (const sf_mpack_tok_t *tok, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: ck_assert_int_eq (tok->type, SF_MPACK_NIL); break;
    case MSGPACK_OBJECT_BOOLEAN:
        ck_assert_int_eq (tok->type, SF_MPACK_BOOL);
        ck_assert_int_eq (tok->b, o->via.boolean);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        ck_assert (tok->type == SF_MPACK_INT && !tok->negative);
        ck_assert_uint_eq (tok->u, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        ck_assert (tok->type == SF_MPACK_INT && tok->negative);
        ck_assert_int_eq (tok->i, o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        ck_assert_int_eq (tok->type, SF_MPACK_FLOAT);
        ck_assert (tok->d == o->via.f64 || (isnan (tok->d) && isnan (o->via.f64)));
        break;
    case MSGPACK_OBJECT_STR:
        ck_assert (tok->type == SF_MPACK_STR && tok->len == o->via.str.size);
        ck_assert (tok->len == 0 || memcmp (tok->data, o->via.str.ptr, tok->len) == 0);
        break;
    case MSGPACK_OBJECT_BIN:
        ck_assert (tok->type == SF_MPACK_BIN && tok->len == o->via.bin.size);
        ck_assert (tok->len == 0 || memcmp (tok->data, o->via.bin.ptr, tok->len) == 0);
        break;
    case MSGPACK_OBJECT_ARRAY:
        ck_assert (tok->type == SF_MPACK_ARRAY && tok->len == o->via.array.size);
        break;
    case MSGPACK_OBJECT_MAP:
        ck_assert (tok->type == SF_MPACK_MAP && tok->len == o->via.map.size);
        break;
    default:
        ck_abort_msg ("unexpected msgpack-c type %d", (int) o->type);
    }
}

/*  Walks the document tree and msgpack-c's tree together. */
static void
s_same_tree (const sf_mpack_obj_t *obj, const msgpack_object *o)
{
    s_same (&obj->tok, o);
    if (o->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < o->via.array.size; i++)
            s_same_tree (&obj->items[i], &o->via.array.ptr[i]);
    if (o->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            s_same_tree (&obj->items[2 * i], &o->via.map.ptr[i].key);
            s_same_tree (&obj->items[2 * i + 1], &o->via.map.ptr[i].val);
        }
}

START_TEST (test_reader_values_are_msgpack_c_s)
{
    msgpack_sbuffer sb;
    sf_mpack_out_t *out = s_write_both (&sb);
    /* float32, and the 32-bit forms msgpack-c never writes for small values */
    static const uint8_t extra[] = { 0xca, 0x3f, 0xc0, 0x00, 0x00, 0xdb, 0, 0, 0, 1, 'z', 0xdd, 0, 0, 0, 1, 0x05,
                                     0xdf, 0, 0, 0, 1, 0xa1, 'k', 0xc2, 0xc6, 0, 0, 0, 0 };
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    ck_assert_int_eq (msgpack_unpack_next (&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    sf_mpack_doc_t *doc = sf_mpack_doc_new (sb.data, sb.size, "all");
    ck_assert_ptr_nonnull (doc);
    s_same_tree (sf_mpack_doc_root (doc), &up.data);
    sf_mpack_doc_destroy (&doc);
    sf_mpack_doc_destroy (&doc);

    /* the le32 array reads back as its words */
    const sf_mpack_obj_t *root = NULL;
    doc = sf_mpack_doc_new (sb.data, sb.size, "all");
    root = sf_mpack_doc_root (doc);
    const sf_mpack_obj_t *bin = &root->items[root->tok.len - 1];
    ck_assert_int_eq (bin->tok.len, 12);
    uint32_t *words = sf_mpack_le32_dup (bin->tok.data, 3);
    ck_assert (words && words[0] == 1 && words[1] == 0x01020304u && words[2] == UINT32_MAX);
    free (words);
    sf_mpack_doc_destroy (&doc);

    sf_mpack_reader_t rd;
    sf_mpack_reader_init (&rd, extra, sizeof extra);
    for (size_t off = 0; sf_mpack_reader_left (&rd) > 0;) {
        sf_mpack_tok_t tok;
        ck_assert (sf_mpack_next (&rd, &tok));
        size_t used = (size_t) (rd.p - extra) - off;
        msgpack_unpacked one;
        msgpack_unpacked_init (&one);
        size_t moff = off;
        ck_assert_int_eq (msgpack_unpack_next (&one, (const char *) extra, sizeof extra, &moff), MSGPACK_UNPACK_SUCCESS);
        /* containers: msgpack-c reads their items too; compare the header only */
        if (tok.type != SF_MPACK_ARRAY && tok.type != SF_MPACK_MAP)
            ck_assert_uint_eq (moff - off, used);
        s_same (&tok, &one.data);
        msgpack_unpacked_destroy (&one);
        off = (size_t) (rd.p - extra);
    }
    msgpack_unpacked_destroy (&up);
    msgpack_sbuffer_destroy (&sb);
    sf_mpack_out_destroy (&out);
}
END_TEST

START_TEST (test_hostile_bytes_refused_with_reasons)
{
    struct {
        const char *name;
        uint8_t bytes[8];
        size_t size;
        const char *says;
    } cases[] = {
        { "array32 of a billion", { 0xdd, 0x40, 0, 0, 0 }, 5, "1073741824 elements announced, 0 bytes left" },
        { "map32 of 4G pairs", { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01 }, 6, "elements announced" },
        { "str8 past the end", { 0xd9, 0x10, 'a', 'b' }, 4, "byte 0: 16 bytes announced, 2 left" },
        { "bin32 past the end", { 0xc6, 0x7f, 0xff, 0xff, 0xff }, 5, "bytes announced" },
        { "half a length", { 0xda, 0x01 }, 2, "truncated at byte 2" },
        { "half a float", { 0xcb, 0, 0, 0 }, 4, "truncated" },
        { "0xc1", { 0x91, 0xc1 }, 2, "byte 1: type 0xc1 is not accepted" },
        { "nothing", { 0 }, 0, "truncated at byte 0" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sf_mpack_reader_t rd;
        sf_mpack_reader_init (&rd, cases[c].bytes, cases[c].size);
        ck_assert_msg (!sf_mpack_skip (&rd, 32), "%s read", cases[c].name);
        ck_assert_msg (strstr (rd.why, cases[c].says), "%s: '%s'", cases[c].name, rd.why);
        ck_assert_int_eq (sf_mpack_check (cases[c].bytes, cases[c].size), SF_ERR_FORMAT);
        ck_assert_ptr_null (sf_mpack_doc_new (cases[c].bytes, cases[c].size, "hostile"));
        ck_assert_msg (strstr (sf_error_message (), cases[c].says), "%s: '%s'", cases[c].name,
                       sf_error_message ());
        ck_assert_ptr_nonnull (strstr (sf_error_message (), "hostile: MessagePack: "));
    }

    /* Extensions: skipped as a value, refused in a document. */
    const uint8_t ext[] = { 0xd4, 0x01, 0x00 };
    sf_mpack_reader_t rd;
    sf_mpack_reader_init (&rd, ext, sizeof ext);
    ck_assert (sf_mpack_skip (&rd, 32));
    ck_assert_uint_eq (sf_mpack_reader_left (&rd), 0);
    ck_assert_int_eq (sf_mpack_check (ext, sizeof ext), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "type 0xd4 is not accepted"));
    const uint8_t trailing[] = { 0x01, 0x02 };
    ck_assert_int_eq (sf_mpack_check (trailing, sizeof trailing), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "1 trailing bytes"));

    /* Nesting: 32 non-empty containers are read, 33 are not. */
    uint8_t deep[34];
    memset (deep, 0x91, sizeof deep);
    deep[32] = 0x00;
    ck_assert_int_eq (sf_mpack_check (deep, 33), SF_OK);
    sf_mpack_doc_t *doc = sf_mpack_doc_new (deep, 33, "deep");
    ck_assert_ptr_nonnull (doc);
    const sf_mpack_obj_t *o = sf_mpack_doc_root (doc);
    for (int i = 0; i < 32; i++)
        o = &o->items[0];
    ck_assert (o->tok.type == SF_MPACK_INT && o->tok.u == 0);
    sf_mpack_doc_destroy (&doc);
    deep[32] = 0x91;
    deep[33] = 0x00;
    ck_assert_int_eq (sf_mpack_check (deep, 34), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "byte 32: nested deeper than 32"));
    sf_mpack_reader_init (&rd, deep, 34);
    ck_assert (!sf_mpack_skip (&rd, 32));

    /* Every prefix of a valid document is refused, none read past its end. */
    sf_mpack_out_t *out = sf_mpack_out_new (4096);
    sf_mpack_out_map (out, 3);
    sf_mpack_out_kstr (out, "name", "h\xc3\xa9llo");
    sf_mpack_out_str (out, "list");
    sf_mpack_out_array (out, 2);
    sf_mpack_out_double (out, 2.5);
    sf_mpack_out_int (out, -70000);
    sf_mpack_out_kbin (out, "bin", "\x00\x01", 2);
    size_t size;
    uint8_t *bytes = sf_mpack_out_detach (out, &size);
    ck_assert_ptr_nonnull (bytes);
    ck_assert_int_eq (sf_mpack_check (bytes, size), SF_OK);
    for (size_t n = 0; n < size; n++) {
        uint8_t *copy = malloc (n ? n : 1);  /* exact size: ASan sees any overread */
        memcpy (copy, bytes, n);
        ck_assert_int_eq (sf_mpack_check (copy, n), SF_ERR_FORMAT);
        free (copy);
    }
    free (bytes);
    sf_mpack_out_destroy (&out);
}
END_TEST

START_TEST (test_utf8_and_integers)
{
    ck_assert (sf_mpack_utf8_ok ("h\xc3\xa9llo", 6));
    ck_assert (!sf_mpack_utf8_ok ("a\0b", 3));
    ck_assert (!sf_mpack_utf8_ok ("\xc0\xaf", 2));          /* overlong */
    ck_assert (!sf_mpack_utf8_ok ("\xed\xa0\x80", 3));      /* surrogate */
    ck_assert (!sf_mpack_utf8_ok ("\xf4\x90\x80\x80", 4));  /* past U+10FFFF */
    ck_assert (!sf_mpack_utf8_ok ("\xe2\x82", 2));          /* cut short */
    uint8_t be[8];
    sf_mpack_be_put (be, 0x0102030405060708ull, 8);
    ck_assert (be[0] == 1 && be[7] == 8);
    ck_assert_uint_eq (sf_mpack_be_get (be, 8), 0x0102030405060708ull);
    ck_assert_uint_eq (sf_mpack_be_get (be + 6, 2), 0x0708);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("mpack");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_writer_bytes_are_msgpack_c_s);
    tcase_add_test (tc, test_reader_values_are_msgpack_c_s);
    tcase_add_test (tc, test_hostile_bytes_refused_with_reasons);
    tcase_add_test (tc, test_utf8_and_integers);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
