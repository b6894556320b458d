/*  sf_curve: CurveZMQ certificates, the coordinator's allow-list, and the
    socket options of both ends. */
#include "common/sf_curve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

#define S_SECRET_SUFFIX "_secret"

static bool
s_ends_with (const char *s, const char *suffix)
{
    size_t n = strlen (s), m = strlen (suffix);
    return n >= m && strcmp (s + n - m, suffix) == 0;
}

static int
s_check_name (const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > SF_CURVE_NAME_MAX)
        return sf_error_set (SF_ERR_INVALID, "certificate name must be 1 to %d characters",
                             SF_CURVE_NAME_MAX);
    if (name[0] == '.')
        return sf_error_set (SF_ERR_INVALID, "certificate name '%s' starts with '.'", name);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '.' || c == '_' || c == '-';
        if (!ok)
            return sf_error_set (SF_ERR_INVALID,
                                 "certificate name '%s': only letters, digits, '.', '_' and '-'", name);
    }
    return SF_OK;
}

/*  Creates dir (0700) unless it exists; its parent must exist. */
static int
s_make_dir (const char *dir)
{
    struct stat st;
    if (stat (dir, &st) == 0)
        return S_ISDIR (st.st_mode) ? SF_OK : sf_error_set (SF_ERR_INVALID, "%s: not a directory", dir);
    if (errno != ENOENT)
        return sf_error_set_origin (SF_ERR_IO, errno, "%s: %s", dir, strerror (errno));
    if (mkdir (dir, 0700) != 0)
        return sf_error_set_origin (SF_ERR_IO, errno, "cannot create %s: %s", dir, strerror (errno));
    return SF_OK;
}

int
sf_curve_keygen (const char *dir, const char *name, char *public_txt)
{
    int rc = s_check_name (name);
    if (rc != SF_OK)
        return rc;
    char pub[SF_CURVE_PATH_MAX + 1], sec[SF_CURVE_PATH_MAX + sizeof S_SECRET_SUFFIX];
    int n = snprintf (pub, sizeof pub, "%s/%s.cert", dir, name);
    if (n < 0 || (size_t) n >= sizeof pub)
        return sf_error_set (SF_ERR_RANGE, "%s/%s.cert: path longer than %d bytes", dir, name,
                             SF_CURVE_PATH_MAX);
    snprintf (sec, sizeof sec, "%s" S_SECRET_SUFFIX, pub);
    if ((rc = s_make_dir (dir)) != SF_OK)
        return rc;
    /* Claim the secret's name first, with its final mode: O_EXCL makes
       "never overwrite a secret" atomic, and CZMQ then writes into it. */
    int fd = open (sec, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return sf_error_set (SF_ERR_EXISTS, "%s exists: refusing to overwrite a secret key", sec);
        return sf_error_set_origin (SF_ERR_IO, errno, "cannot create %s: %s", sec, strerror (errno));
    }
    close (fd);
    zcert_t *cert = zcert_new ();
    if (!cert) {
        unlink (sec);
        return sf_error_set (SF_ERR_ZMQ, "cannot make a key pair: libzmq without CURVE support?");
    }
    char created[32];
    time_t now = time (NULL);
    struct tm tm;
    strftime (created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r (&now, &tm));
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "created", "%s", created);
    zcert_set_meta (cert, "generator", "spmmfarm keygen");
    rc = zcert_save (cert, pub);
    if (rc != 0) {
        int err = errno;
        zcert_destroy (&cert);
        unlink (sec);
        return sf_error_set_origin (SF_ERR_IO, err, "cannot write %s and %s", pub, sec);
    }
    if (public_txt)
        snprintf (public_txt, SF_CURVE_KEY_TXT, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    sf_log_info ("curve", "wrote %s and %s", pub, sec);
    return SF_OK;
}

/*  Loads a certificate. With `secret`, from NAME.cert_secret (next to
    cert_path, or cert_path itself if it names the secret file), which must
    hold a secret key. */
static int
s_load (const char *cert_path, bool secret, zcert_t **cert_p)
{
    *cert_p = NULL;
    if (strlen (cert_path) > SF_CURVE_PATH_MAX)
        return sf_error_set (SF_ERR_RANGE, "%s: certificate path longer than %d bytes", cert_path,
                             SF_CURVE_PATH_MAX);
    char path[SF_CURVE_PATH_MAX + sizeof S_SECRET_SUFFIX];
    if (secret && !s_ends_with (cert_path, S_SECRET_SUFFIX))
        snprintf (path, sizeof path, "%s" S_SECRET_SUFFIX, cert_path);
    else
        snprintf (path, sizeof path, "%s", cert_path);
    struct stat st;
    if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
        return sf_error_set (SF_ERR_NOTFOUND, "%s: no such certificate file%s", path,
                             secret ? " (the secret half, made by spmmfarm keygen)" : "");
    if (secret && (st.st_mode & 077))
        sf_log_warn ("curve", "%s: a secret key readable by others (mode %03o); chmod 600 it", path,
                     (unsigned) (st.st_mode & 0777));
    zcert_t *cert = zcert_load (path);
    if (!cert)
        return sf_error_set (SF_ERR_FORMAT, "%s: not a CZMQ certificate (no curve/public-key)", path);
    if (secret) {
        const byte *key = zcert_secret_key (cert);
        bool zero = true;
        for (int i = 0; i < 32; i++)
            zero = zero && key[i] == 0;
        if (zero) {
            zcert_destroy (&cert);
            return sf_error_set (SF_ERR_FORMAT, "%s: no curve/secret-key in the certificate", path);
        }
    }
    *cert_p = cert;
    return SF_OK;
}

/* ---- the allow-list, by role --------------------------------------------- */

#define S_CERTS_MAX 65536  /* certificates read from one folder */

static const struct {
    const char *sub;        /* "" for the folder itself */
    int roles;
} s_role_dirs[] = {
    { "", SF_CURVE_WORKER | SF_CURVE_CLIENT },
    { "workers", SF_CURVE_WORKER },
    { "clients", SF_CURVE_CLIENT },
    { "admins", SF_CURVE_CLIENT | SF_CURVE_ADMIN },
};
#define S_ROLE_DIRS (sizeof s_role_dirs / sizeof s_role_dirs[0])

struct _sf_curve_allow_t {
    char dir[SF_CURVE_PATH_MAX + 1];
    zhashx_t *keys;         /* Z85 public key -> roles (as a pointer, never NULL) */
    uint64_t signature;     /* of the folders' certificates: names, sizes, times */
    bool legacy_warned;
};

static uint64_t
s_fnv (uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/*  Calls fn for every NAME.cert of DIR/sub (none if it does not exist). */
static void
s_each_cert (const char *dir, const char *sub, void (*fn) (void *, const char *, const struct stat *), void *arg)
{
    char folder[SF_CURVE_PATH_MAX + 16];
    snprintf (folder, sizeof folder, "%s%s%s", dir, sub[0] ? "/" : "", sub);
    DIR *d = opendir (folder);
    if (!d)
        return;
    struct dirent *entry;
    int count = 0;
    while ((entry = readdir (d)) && count < S_CERTS_MAX) {
        if (entry->d_name[0] == '.')
            continue;
        char path[SF_CURVE_PATH_MAX + 300];
        snprintf (path, sizeof path, "%s/%s", folder, entry->d_name);
        struct stat st;
        if (s_ends_with (entry->d_name, S_SECRET_SUFFIX))
            fn (arg, path, NULL);  /* a secret in an allow-list: said by the caller */
        else if (s_ends_with (entry->d_name, ".cert") && stat (path, &st) == 0 && S_ISREG (st.st_mode)) {
            fn (arg, path, &st);
            count++;
        }
    }
    closedir (d);
}

static void
s_sign_cert (void *arg, const char *path, const struct stat *st)
{
    uint64_t *h = arg;
    *h = s_fnv (*h, path, strlen (path) + 1);
    if (st) {
        int64_t facts[3] = { (int64_t) st->st_size, (int64_t) st->st_mtim.tv_sec, (int64_t) st->st_mtim.tv_nsec };
        *h = s_fnv (*h, facts, sizeof facts);
    }
}

static uint64_t
s_signature (const char *dir)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < S_ROLE_DIRS; i++)
        s_each_cert (dir, s_role_dirs[i].sub, s_sign_cert, &h);
    return h;
}

typedef struct {
    zhashx_t *keys;
    int roles;
    int legacy;             /* certificates at the top of the folder */
} s_load_t;

static void
s_load_cert (void *arg, const char *path, const struct stat *st)
{
    s_load_t *ld = arg;
    if (!st) {
        sf_log_warn ("curve", "%s: a secret key in an allow-list (only NAME.cert belongs there)", path);
        return;
    }
    zcert_t *cert = zcert_load (path);
    if (!cert) {
        sf_log_warn ("curve", "%s: not a CZMQ certificate: ignored", path);
        return;
    }
    const char *key = zcert_public_txt (cert);
    uintptr_t roles = (uintptr_t) zhashx_lookup (ld->keys, key);
    if (roles & (uintptr_t) ld->roles)
        sf_log_info ("curve", "%s: a key listed twice for the same role: counted once", path);
    roles |= (uintptr_t) ld->roles;
    zhashx_update (ld->keys, key, (void *) roles);
    ld->legacy += ld->roles == (SF_CURVE_WORKER | SF_CURVE_CLIENT);
    zcert_destroy (&cert);
}

static zhashx_t *
s_load_keys (const char *dir, int *legacy)
{
    zhashx_t *keys = zhashx_new ();
    if (!keys)
        return NULL;
    s_load_t ld = { keys, 0, 0 };
    for (size_t i = 0; i < S_ROLE_DIRS; i++) {
        ld.roles = s_role_dirs[i].roles;
        s_each_cert (dir, s_role_dirs[i].sub, s_load_cert, &ld);
    }
    *legacy = ld.legacy;
    return keys;
}

static bool
s_load_into (sf_curve_allow_t *self)
{
    uint64_t signature = s_signature (self->dir);
    if (self->keys && signature == self->signature)
        return false;
    int legacy = 0;
    zhashx_t *keys = s_load_keys (self->dir, &legacy);
    if (!keys)
        return false;
    zhashx_destroy (&self->keys);
    self->keys = keys;
    self->signature = signature;
    if (legacy && !self->legacy_warned) {
        sf_log_warn ("curve", "%s: %d certificate(s) at the top of the allow-list count as worker and client: "
                     "move each to %s/workers/, %s/clients/ or %s/admins/", self->dir, legacy, self->dir, self->dir,
                     self->dir);
        self->legacy_warned = true;
    }
    return true;
}

sf_curve_allow_t *
sf_curve_allow_new (const char *dir)
{
    struct stat st;
    if (!dir || stat (dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
        sf_error_set (SF_ERR_NOTFOUND, "%s: no such allow-list directory", dir ? dir : "(null)");
        return NULL;
    }
    if (strlen (dir) > SF_CURVE_PATH_MAX) {
        sf_error_set (SF_ERR_RANGE, "%s: allow-list path longer than %d bytes", dir, SF_CURVE_PATH_MAX);
        return NULL;
    }
    sf_curve_allow_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf (self->dir, sizeof self->dir, "%s", dir);
    s_load_into (self);
    if (!self->keys) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return self;
}

void
sf_curve_allow_destroy (sf_curve_allow_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->keys);
    free (*self_p);
    *self_p = NULL;
}

bool
sf_curve_allow_reload (sf_curve_allow_t *self)
{
    return s_load_into (self);
}

int
sf_curve_allow_roles (const sf_curve_allow_t *self, const char *public_txt)
{
    return public_txt ? (int) (uintptr_t) zhashx_lookup (self->keys, public_txt) : 0;
}

size_t
sf_curve_allow_size (const sf_curve_allow_t *self)
{
    return zhashx_size (self->keys);
}

/* ---- the ZAP handler ------------------------------------------------------- */

#define S_DOMAIN "spmmfarm"
#define S_DOMAIN_WORKERS "spmmfarm-workers"
#define S_DOMAIN_CLIENTS "spmmfarm-clients"

static int
s_domain_role (const char *domain)
{
    return strcmp (domain, S_DOMAIN_WORKERS) == 0   ? SF_CURVE_WORKER
           : strcmp (domain, S_DOMAIN_CLIENTS) == 0 ? SF_CURVE_CLIENT
                                                    : SF_CURVE_WORKER | SF_CURVE_CLIENT;
}

/*  Answers one ZAP request (RFC 27): version, request id, domain, address,
    identity, mechanism, credentials. */
static void
s_zap_answer (zsock_t *handler, sf_curve_allow_t *allow, sf_log_rate_t *refusals)
{
    zmsg_t *req = zmsg_recv (handler);
    if (!req)
        return;
    char *version = zmsg_popstr (req), *request_id = zmsg_popstr (req), *domain = zmsg_popstr (req);
    char *address = zmsg_popstr (req), *identity = zmsg_popstr (req), *mechanism = zmsg_popstr (req);
    zframe_t *key = zmsg_pop (req);
    char txt[SF_CURVE_KEY_TXT] = "";
    bool curve = mechanism && strcmp (mechanism, "CURVE") == 0 && key && zframe_size (key) == 32;
    if (curve)
        zmq_z85_encode (txt, zframe_data (key), 32);
    sf_curve_allow_reload (allow);
    int want = s_domain_role (domain ? domain : "");
    int roles = curve ? sf_curve_allow_roles (allow, txt) : 0;
    bool ok = version && strcmp (version, "1.0") == 0 && (roles & want) != 0;
    unsigned long long held = 0;
    if (!ok && sf_log_rate (refusals, 10000, &held))
        sf_log_warn ("curve", "refused a %s peer from %s: %s%s%s (%llu more refusals in the last 10 s)",
                     mechanism ? mechanism : "?", address ? address : "?",
                     !curve ? "not a CURVE key" : roles ? "its key lacks the role " : "key ", curve ? txt : "",
                     !curve ? ""
                     : roles ? (want == SF_CURVE_WORKER ? " (worker)" : " (client)")
                             : " is in no allow-list",
                     held);
    zstr_sendm (handler, "1.0");
    zstr_sendm (handler, request_id ? request_id : "");
    zstr_sendm (handler, ok ? "200" : "400");
    zstr_sendm (handler, ok ? "OK" : "not allowed");
    zstr_sendm (handler, ok ? txt : "");
    zstr_send (handler, "");
    zframe_destroy (&key);
    zstr_free (&version);
    zstr_free (&request_id);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&identity);
    zstr_free (&mechanism);
    zmsg_destroy (&req);
}

static void
s_zap_actor (zsock_t *pipe, void *args)
{
    char *dir = args;
    sf_curve_allow_t *allow = sf_curve_allow_new (dir);
    zsock_t *handler = allow ? zsock_new (ZMQ_REP) : NULL;
    if (!handler || zsock_bind (handler, "inproc://zeromq.zap.01") != 0) {
        sf_log_error ("curve", "cannot start the ZAP handler: %s", zmq_strerror (zmq_errno ()));
        zsock_destroy (&handler);
        sf_curve_allow_destroy (&allow);
        free (dir);
        zsock_signal (pipe, 1);
        return;
    }
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, handler, NULL);
    zpoller_set_nonstop (poller, true);
    sf_log_rate_t refusals = { 0 };
    for (;;) {
        void *which = zpoller_wait (poller, -1);
        if (which == handler)
            s_zap_answer (handler, allow, &refusals);
        else if (which == pipe) {
            char *cmd = zstr_recv (pipe);
            bool stop = !cmd || strcmp (cmd, "$TERM") == 0;
            zstr_free (&cmd);
            if (stop)
                break;
        } else if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&handler);
    sf_curve_allow_destroy (&allow);
    free (dir);
}

zactor_t *
sf_curve_auth_new (const char *allowed_dir)
{
    sf_curve_allow_t *allow = sf_curve_allow_new (allowed_dir);
    if (!allow)
        return NULL;
    size_t count = sf_curve_allow_size (allow);
    sf_curve_allow_destroy (&allow);
    if (count == 0)
        sf_log_warn ("curve", "%s: no certificates: no worker or client can connect until one is added",
                     allowed_dir);
    else
        sf_log_info ("curve", "%s: %zu allowed key(s)", allowed_dir, count);
    char *dir = strdup (allowed_dir);
    zactor_t *auth = dir ? zactor_new (s_zap_actor, dir) : NULL;
    if (!auth) {
        free (dir);
        sf_error_set_origin (SF_ERR_ZMQ, zmq_errno (), "cannot start the authentication actor: %s",
                             zmq_strerror (zmq_errno ()));
        return NULL;
    }
    return auth;
}

int
sf_curve_server_apply (zsock_t *sock, const char *cert_path)
{
    zcert_t *cert;
    int rc = s_load (cert_path, true, &cert);
    if (rc != SF_OK)
        return rc;
    zcert_apply (cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, S_DOMAIN);
    zcert_destroy (&cert);
    return SF_OK;
}

void
sf_curve_server_role (zsock_t *sock, int role)
{
    zsock_set_zap_domain (sock, role == SF_CURVE_WORKER ? S_DOMAIN_WORKERS : S_DOMAIN_CLIENTS);
}

int
sf_curve_client_apply (zsock_t *sock, const char *cert_path, const char *server_cert_path)
{
    zcert_t *cert, *server;
    int rc = s_load (cert_path, true, &cert);
    if (rc != SF_OK)
        return rc;
    if ((rc = s_load (server_cert_path, false, &server)) != SF_OK) {
        zcert_destroy (&cert);
        return rc;
    }
    zcert_apply (cert, sock);
    zsock_set_curve_serverkey (sock, zcert_public_txt (server));
    zcert_destroy (&server);
    zcert_destroy (&cert);
    return SF_OK;
}

int
sf_curve_public_key (const char *cert_path, char *out)
{
    zcert_t *cert;
    int rc = s_load (cert_path, false, &cert);
    if (rc != SF_OK)
        return rc;
    snprintf (out, SF_CURVE_KEY_TXT, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return SF_OK;
}

void
sf_curve_default_name (char *out, size_t size)
{
    char host[256] = "";
    if (gethostname (host, sizeof host - 1) != 0 || !host[0])
        snprintf (host, sizeof host, "spmmfarm");
    host[strcspn (host, ".")] = '\0';
    snprintf (out, size, "%s", host[0] ? host : "spmmfarm");
}
