/*  libFuzzer harness: the farm's wire decoder (wire/sf_proto).
    Input: one byte choosing the message type, then the MessagePack body;
    the frames decoded are ["SF1", TYPE, body]. A message that decodes is
    encoded again (every decoded message must be encodable: the encoder's
    bounds are the decoder's) and decoded once more. Seeds: tests/fuzz/proto/
    (written by `tests/check_proto --seeds DIR`). docs/RELIABILITY.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <czmq.h>

#include "wire/sf_proto.h"
#include "tests/fuzz/sf_fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    sf_fuzz_setup (false);
    if (size < 1)
        return 0;
    sf_proto_type type = (sf_proto_type) (1 + data[0] % SF_PROTO_TYPE_COUNT);
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, SF_PROTO_VERSION);
    zmsg_addstr (zmsg, sf_proto_type_name (type));
    zmsg_addmem (zmsg, data + 1, size - 1);
    sf_proto_msg_t *msg = NULL;
    if (sf_proto_decode (zmsg, SF_PROTO_ANY, &msg) == 0) {
        zmsg_t *again = sf_proto_encode (msg->type, &msg->hello);
        if (!again)
            abort ();  /* decoded but not encodable: the two disagree */
        sf_proto_msg_t *twice = NULL;
        if (sf_proto_decode (again, SF_PROTO_ANY, &twice) != 0)
            abort ();
        sf_proto_msg_destroy (&twice);
        zmsg_destroy (&again);
    }
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&zmsg);
    return 0;
}
