/*  sf_mpread: the wire's dialect of the table engine and the search
    request's hooks (wire/sf_mpread.h). */
#include "wire/sf_mpread.h"

#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_schema_read.h"
#include "wire/sf_request.h"

static const sf_schema_dialect_t s_wire_in = { SF_ERR_PROTOCOL, SF_ERR_PROTOCOL, false, false };

int
sf_mpread_body (const sf_schema_t *sc, const char *msg, const uint8_t *data, size_t size, void *body)
{
    return sf_schema_read (sc, &s_wire_in, msg, data, size, body);
}

/* ---- the search request's map ------------------------------------------- */

static void
s_request_init (void *at)
{
    sf_request_init (at);
}

/*  Every option of the request, each with its wire key, after checking
    them all (sf_request_validate). */
static int
s_request_write (const void *at, sf_mpack_out_t *out, char *why, size_t size)
{
    const sf_request_t *req = at;
    if (sf_request_validate (req) != SF_OK) {
        snprintf (why, size, "%s", sf_error_message ());
        return SF_SCHEMA_BAD;
    }
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    sf_mpack_out_map (out, (uint32_t) count);
    for (size_t i = 0; i < count; i++) {
        sf_request_value_t v;
        sf_request_get (req, i, &v);
        sf_mpack_out_str (out, opts[i].key);
        switch (v.type) {
        case SF_REQUEST_T_FLAG: sf_mpack_out_bool (out, v.flag); break;
        case SF_REQUEST_T_INT: sf_mpack_out_int (out, v.i); break;
        case SF_REQUEST_T_U64: sf_mpack_out_uint (out, v.u); break;
        case SF_REQUEST_T_NUM: sf_mpack_out_double (out, v.num); break;
        case SF_REQUEST_T_WORD: sf_mpack_out_str (out, v.word); break;
        }
    }
    return SF_OK;
}

/*  A wire key (a long option name is not one): its option's index, or -1. */
static int
s_request_find (const char *key, size_t len)
{
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    int index = sf_request_option_find (key, len, NULL);
    if (index >= 0 && (strlen (opts[index].key) != len || memcmp (opts[index].key, key, len)))
        index = -1;
    return index;
}

static const char *
s_request_key (int index)
{
    size_t count;
    return sf_request_options (&count)[index].key;
}

/*  One option's value token as the option's type; NULL, or what is wrong. */
static const char *
s_request_value (const sf_request_option_t *o, const sf_mpack_tok_t *tok, sf_request_value_t *v)
{
    memset (v, 0, sizeof *v);
    v->type = o->type;
    switch (o->type) {
    case SF_REQUEST_T_FLAG:
        v->flag = tok->b;
        return tok->type == SF_MPACK_BOOL ? NULL : "expected a boolean";
    case SF_REQUEST_T_INT:
        if (tok->type != SF_MPACK_INT)
            return "expected an integer";
        if (!tok->negative && tok->u > (uint64_t) INT64_MAX)
            return "integer out of range";
        v->i = tok->negative ? tok->i : (int64_t) tok->u;
        return NULL;
    case SF_REQUEST_T_U64:
        if (tok->type != SF_MPACK_INT || tok->negative)
            return "expected a non-negative integer";
        v->u = tok->u;
        return NULL;
    case SF_REQUEST_T_NUM:
        if (tok->type != SF_MPACK_FLOAT && tok->type != SF_MPACK_INT)
            return "expected a number";
        v->num = tok->type == SF_MPACK_FLOAT ? tok->d : tok->negative ? (double) tok->i : (double) tok->u;
        return NULL;
    case SF_REQUEST_T_WORD:
        if (tok->type != SF_MPACK_STR)
            return "expected a string";
        if (tok->len >= sizeof v->word || memchr (tok->data, '\0', tok->len))
            return "not one of its words";
        memcpy (v->word, tok->data, tok->len);
        return NULL;
    }
    return "unknown option type";
}

static const char *
s_request_put (void *at, int index, const sf_mpack_tok_t *tok, char *why, size_t size)
{
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    sf_request_value_t v;
    const char *bad = s_request_value (&opts[index], tok, &v);
    if (bad) {
        bool expected = strncmp (bad, "expected", 8) == 0;
        snprintf (why, size, "%s%s%s", bad, expected ? ", got " : "", expected ? sf_mpack_type_name (tok->type) : "");
        return why;
    }
    if (sf_request_put (at, (size_t) index, &v) != SF_OK) {
        snprintf (why, size, "%s", sf_error_message ());
        return why;
    }
    return NULL;
}

const sf_schema_hooks_t sf_mpread_request_hooks = {
    .init = s_request_init,
    .write = s_request_write,
    .find = s_request_find,
    .key = s_request_key,
    .put = s_request_put,
};
