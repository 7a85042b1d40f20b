/* osm_hash: SHA-256 and other repository digests through OpenSSL's EVP. */
#ifndef OSM_HASH_H
#define OSM_HASH_H

#include <stddef.h>

#include "osm_error.h"

/* Hex digest of a file with the named algorithm ("sha256", "sha1", "sha512",
 * "md5" as they appear in repomd.xml). `hex` must hold 129 bytes. */
int osm_hash_file(const char *algo, const char *path, char hex[129], struct osm_err *err);
/* The same over an open file from its current offset; NAME only for errors. */
int osm_hash_fd(const char *algo, int fd, const char *name, char hex[129], struct osm_err *err);
void osm_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
