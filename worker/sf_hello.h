/*  sf_hello: what a worker says of itself in HELLO (docs/PROTOCOL.md):
    its id, host, GPU, toolchain, compile threads, capacity and session.

    The GPU is learnt from the backend: the sim backend's modelled GPU, or
    the real one through a measuring child started once (worker/sf_measure.h:
    this process never calls cuInit itself).
*/
#ifndef SF_HELLO_H_INCLUDED
#define SF_HELLO_H_INCLUDED

#include <stddef.h>

#include "wire/sf_proto.h"
#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Fills *out (zeroed first) for a worker on GPU `gpu` of `backend` with
    compile_threads (0: one per online CPU, at most 4096) and capacity.
    worker_id NULL: "SHORTHOST:gpuI:PID" (cut to SF_PROTO_ID_MAX); either
    way characters that a wire name cannot hold become '-'. The session is
    32 random hex digits, new for each call. SF_ERR_NODEVICE (and the
    measuring child's errors) with the cuda backend and no GPU. */
int sf_hello_describe (sf_backend backend, int gpu, int compile_threads, int capacity, const char *worker_id,
                       sf_proto_hello_t *out);

/*  Replaces every character of s outside a wire name's [A-Za-z0-9._:@/+-]
    with '-'. */
void sf_hello_name_chars (char *s);

/*  size - 1 (at most 32) random hex digits of this process into out. */
void sf_hello_session (char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
