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

/*  How many public certificates an allow-list holds; warns about secrets. */
static int
s_count_certs (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (d))) {
        if (s_ends_with (entry->d_name, ".cert"))
            count++;
        else if (s_ends_with (entry->d_name, S_SECRET_SUFFIX))
            sf_log_warn ("curve", "%s/%s: a secret key in an allow-list (only NAME.cert belongs there)",
                         dir, entry->d_name);
    }
    closedir (d);
    return count;
}

zactor_t *
sf_curve_auth_new (const char *allowed_dir)
{
    struct stat st;
    if (!allowed_dir || stat (allowed_dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
        sf_error_set (SF_ERR_NOTFOUND, "%s: no such allow-list directory", allowed_dir ? allowed_dir : "(null)");
        return NULL;
    }
    int count = s_count_certs (allowed_dir);
    if (count == 0)
        sf_log_warn ("curve", "%s: no certificates: no worker or client can connect until one is added",
                     allowed_dir);
    else
        sf_log_info ("curve", "%s: %d allowed certificate(s)", allowed_dir, count);
    zactor_t *auth = zactor_new (zauth, NULL);
    if (!auth) {
        sf_error_set_origin (SF_ERR_ZMQ, zmq_errno (), "cannot start the authentication actor: %s",
                             zmq_strerror (zmq_errno ()));
        return NULL;
    }
    if (sf_log_get_level () >= SF_LOG_DEBUG) {
        zstr_send (auth, "VERBOSE");
        zsock_wait (auth);
    }
    /* zauth re-reads the directory whenever it changes */
    zstr_sendx (auth, "CURVE", allowed_dir, NULL);
    zsock_wait (auth);
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
    zsock_set_zap_domain (sock, "spmmfarm");
    zcert_destroy (&cert);
    return SF_OK;
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
