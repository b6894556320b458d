/*  sf_sign: a store's ed25519 bundle-signing key pair. */
#include "common/sf_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

#define S_PATH_MAX 4200

static int
s_path (const char *dir, const char *file, char *out)
{
    if ((size_t) snprintf (out, S_PATH_MAX, "%s/%s", dir, file) >= S_PATH_MAX)
        return sf_error_set (SF_ERR_RANGE, "%s: path too long", dir);
    return SF_OK;
}

/*  Reads exactly `size` bytes of hex text (a newline may follow) into out
    (NUL-terminated); SF_ERR_NOTFOUND when the file does not exist. */
static int
s_read_hex (const char *path, char *out, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? sf_error_set (SF_ERR_NOTFOUND, "%s: no such key file", path)
                               : sf_error_set_origin (SF_ERR_IO, errno, "%s: %s", path, strerror (errno));
    char buf[260];
    ssize_t got = read (fd, buf, sizeof buf);
    close (fd);
    if (got < (ssize_t) size || got > (ssize_t) size + 1 || (got == (ssize_t) size + 1 && buf[size] != '\n'))
        return sf_error_set (SF_ERR_FORMAT, "%s: not %zu hex digits", path, size);
    for (size_t i = 0; i < size; i++)
        if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f')))
            return sf_error_set (SF_ERR_FORMAT, "%s: not %zu hex digits", path, size);
    memcpy (out, buf, size);
    out[size] = '\0';
    return SF_OK;
}

/*  Writes text to path, created (never replaced) with mode. */
static int
s_write_new (const char *path, const char *text, mode_t mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return errno == EEXIST ? SF_ERR_EXISTS : sf_error_set_origin (SF_ERR_IO, errno, "%s: %s", path, strerror (errno));
    size_t len = strlen (text);
    bool ok = write (fd, text, len) == (ssize_t) len && fsync (fd) == 0;
    int err = errno;
    close (fd);
    if (!ok) {
        unlink (path);
        return sf_error_set_origin (SF_ERR_IO, err, "%s: %s", path, strerror (err));
    }
    return SF_OK;
}

int
sf_sign_pub_load (const char *dir, char pub[SF_SIGN_PUB_HEX])
{
    char path[S_PATH_MAX];
    int rc = s_path (dir, SF_SIGN_PUB_FILE, path);
    return rc == SF_OK ? s_read_hex (path, pub, 64) : rc;
}

int
sf_sign_key_load (const char *dir, sf_sign_key_t *key)
{
    char path[S_PATH_MAX], hex[129];
    int rc = s_path (dir, SF_SIGN_KEY_FILE, path);
    if (rc == SF_OK)
        rc = s_read_hex (path, hex, 128);
    if (rc == SF_OK && sodium_hex2bin (key->sk, sizeof key->sk, hex, 128, NULL, NULL, NULL) != 0)
        rc = sf_error_set (SF_ERR_FORMAT, "%s: not a key", path);
    if (rc == SF_OK)
        rc = sf_sign_pub_load (dir, key->pub);
    unsigned char pk[32];
    if (rc == SF_OK && (sodium_hex2bin (pk, sizeof pk, key->pub, 64, NULL, NULL, NULL) != 0
                        || memcmp (pk, key->sk + 32, 32) != 0))
        rc = sf_error_set (SF_ERR_FORMAT, "%s: its public half is not %s/%s", path, dir, SF_SIGN_PUB_FILE);
    sodium_memzero (hex, sizeof hex);
    if (rc != SF_OK)
        sodium_memzero (key->sk, sizeof key->sk);
    return rc;
}

int
sf_sign_key_ensure (const char *dir)
{
    char key_path[S_PATH_MAX], pub_path[S_PATH_MAX];
    int rc = s_path (dir, SF_SIGN_KEY_FILE, key_path);
    if (rc == SF_OK)
        rc = s_path (dir, SF_SIGN_PUB_FILE, pub_path);
    struct stat st;
    if (rc != SF_OK || lstat (key_path, &st) == 0)
        return rc;
    if (sodium_init () < 0)
        return sf_error_set (SF_ERR_INTERNAL, "libsodium cannot start");
    unsigned char pk[32], sk[64];
    char sk_hex[130], pk_hex[66];
    crypto_sign_keypair (pk, sk);
    sodium_bin2hex (sk_hex, 129, sk, sizeof sk);
    sodium_bin2hex (pk_hex, 65, pk, sizeof pk);
    strcat (sk_hex, "\n");
    strcat (pk_hex, "\n");
    unlink (pub_path);  /* a public half without its secret is nothing to keep */
    rc = s_write_new (key_path, sk_hex, 0600);
    if (rc == SF_OK && (rc = s_write_new (pub_path, pk_hex, 0644)) != SF_OK)
        unlink (key_path);
    sodium_memzero (sk, sizeof sk);
    sodium_memzero (sk_hex, sizeof sk_hex);
    if (rc == SF_ERR_EXISTS)
        return SF_OK;  /* another process made it meanwhile */
    if (rc == SF_OK)
        sf_log_info ("sign", "%s: a new bundle-signing key %.16s... (%s)", dir, pk_hex, SF_SIGN_PUB_FILE);
    return rc;
}
