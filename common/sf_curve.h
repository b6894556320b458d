/*  sf_curve: CurveZMQ security with CZMQ certificates (DESIGN 8,
    docs/CLUSTER.md).

    A certificate is two ZPL files made by sf_curve_keygen: NAME.cert (the
    public key, safe to copy anywhere) and NAME.cert_secret (both keys, mode
    0600, never leaves its owner). Everywhere a certificate is asked for, the
    path is the public file's, DIR/NAME.cert; the secret is read from
    DIR/NAME.cert_secret next to it when needed.

    The coordinator is the CURVE server: its sockets carry its secret key and
    a zauth actor admits only the clients whose public certificates lie in an
    allow-list directory (re-read when the directory changes, so a worker's
    certificate can be added while the farm runs). Workers and clients carry
    their own secret key and the coordinator's public key.
*/
#ifndef SF_CURVE_H_INCLUDED
#define SF_CURVE_H_INCLUDED

#include <stdbool.h>

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_CURVE_NAME_MAX 64
/*  Longest certificate path: CZMQ reads "PATH_secret" into 256 bytes. */
#define SF_CURVE_PATH_MAX 240
#define SF_CURVE_KEY_TXT 41  /* a Z85 key, 40 characters + NUL */

/*  Writes DIR/NAME.cert and DIR/NAME.cert_secret (mode 0600) for a new key
    pair; creates DIR (mode 0700) if it does not exist (its parent must).
    NAME: 1..SF_CURVE_NAME_MAX of [A-Za-z0-9._-], not starting with '.'.
    Refuses to overwrite an existing secret (SF_ERR_EXISTS); SF_ERR_INVALID
    for a bad name, SF_ERR_RANGE for a path too long, SF_ERR_IO. If
    public_txt is not NULL it receives the public key (SF_CURVE_KEY_TXT). */
int sf_curve_keygen (const char *dir, const char *name, char *public_txt);

/*  The default name of a certificate: this machine's short host name (up
    to its first '.'), or "spmmfarm" when it has none. NUL-terminated in
    out (cut to size). */
void sf_curve_default_name (char *out, size_t size);

/*  Roles of a key (docs/CLUSTER.md, "Roles"), from where its public
    certificate lies in the allow-list directory:
      DIR/workers/NAME.cert   worker: serves jobs (the workers endpoint only)
      DIR/clients/NAME.cert   client: submits, cancels or exports its own
      DIR/admins/NAME.cert    admin: a client that may cancel or export any
      DIR/NAME.cert           worker and client (the layout before roles;
                              a warning says to move it to a role's folder)
    A key found twice counts once (no abort: CZMQ's certificate store
    asserts on duplicates, this list does not use it). */
enum {
    SF_CURVE_WORKER = 1,
    SF_CURVE_CLIENT = 2,
    SF_CURVE_ADMIN = 4
};

/*  The allow-list of one directory, by role. */
typedef struct _sf_curve_allow_t sf_curve_allow_t;

/*  Reads DIR (SF_ERR_NOTFOUND if it is not a directory). Caller owns it. */
sf_curve_allow_t *sf_curve_allow_new (const char *dir);
void sf_curve_allow_destroy (sf_curve_allow_t **self_p);
/*  Reads the directory again if any of its certificates or folders
    changed since; true if the list changed. */
bool sf_curve_allow_reload (sf_curve_allow_t *self);
/*  The roles (SF_CURVE_*) of a Z85 public key; 0 if it is not listed. */
int sf_curve_allow_roles (const sf_curve_allow_t *self, const char *public_txt);
/*  Keys listed. */
size_t sf_curve_allow_size (const sf_curve_allow_t *self);

/*  Starts the authentication actor (process-wide: one per process, before
    any CURVE server socket binds): a ZAP handler that admits a CURVE peer
    whose key has the role its socket asks (sf_curve_server_role; any role
    for a socket without one) in allowed_dir, re-read whenever it changes,
    and gives it its key as ZeroMQ's User-Id (frame metadata "User-Id").
    Refusals are logged at warn (at most one line per 10 s, with counts).
    NULL if the directory does not exist (SF_ERR_NOTFOUND) or the actor
    fails (SF_ERR_ZMQ). Caller owns it: zactor_destroy when the server
    sockets are closed. */
zactor_t *sf_curve_auth_new (const char *allowed_dir);

/*  Makes `sock` a CURVE server with the secret key of cert_path (NAME.cert;
    NAME.cert_secret is read). Call before bind. SF_ERR_NOTFOUND without the
    secret file, SF_ERR_FORMAT if it is not a certificate. */
int sf_curve_server_apply (zsock_t *sock, const char *cert_path);

/*  Admits only keys of `role` (SF_CURVE_WORKER or SF_CURVE_CLIENT, which
    admins have too) on a CURVE server socket; after sf_curve_server_apply,
    before bind. */
void sf_curve_server_role (zsock_t *sock, int role);

/*  Makes `sock` a CURVE client with the secret key of cert_path and the
    server's public key read from server_cert_path (the server's NAME.cert).
    Call before connect. Errors as sf_curve_server_apply. */
int sf_curve_client_apply (zsock_t *sock, const char *cert_path, const char *server_cert_path);

/*  The public key (Z85) of a certificate file into out (SF_CURVE_KEY_TXT). */
int sf_curve_public_key (const char *cert_path, char *out);

#ifdef __cplusplus
}
#endif
#endif
