/* hash.c: see osm_hash.h. */
#include "osm_hash.h"
#include "osm_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void to_hex(const unsigned char *md, unsigned len, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * len] = '\0';
}

static int digest_update(void *ctx, const void *data, size_t n)
{
    EVP_DigestUpdate(ctx, data, n);
    return 0;
}

int osm_hash_fd(const char *algo, int fd, const char *name_for_errors, char hex[129], struct osm_err *err)
{
    const char *name = strcmp(algo, "sha") == 0 ? "sha1" : algo;
    const EVP_MD *md = EVP_get_digestbyname(name);
    if (!md)
        return osm_err_set(err, OSM_EUNSUPPORTED, "unsupported checksum type '%s'", algo);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, md, NULL);
    if (osm_read_blocks(fd, name_for_errors, digest_update, ctx, err) != 0) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    to_hex(out, len, hex);
    return 0;
}

int osm_hash_file(const char *algo, const char *path, char hex[129], struct osm_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "%s", path);
    int rc = osm_hash_fd(algo, fd, path, hex, err);
    close(fd);
    return rc;
}

void osm_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
    to_hex(out, n, hex);
}
