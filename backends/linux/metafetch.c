/* metafetch.c: see metafetch.h. */
#include "metafetch.h"

#include "lazy_curl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"

static int transient(CURLcode rc, long status)
{
    if (rc == CURLE_OK)
        return status >= 500 || status == 429;
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
           rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
           rc == CURLE_COULDNT_RESOLVE_HOST;
}

/* The local path of a plain file:// URL (empty or "localhost" host, no
 * escapes, query or fragment), else NULL: those are left to libcurl. */
static const char *local_path(const char *url)
{
    if (strncmp(url, "file://", 7) != 0)
        return NULL;
    const char *p = url + 7;
    if (strncmp(p, "localhost/", 10) == 0)
        p += 9;
    return p[0] == '/' && !strpbrk(p, "%?#") ? p : NULL;
}

/* Copy a local file as libcurl's file:// would, without loading libcurl
 * (a warm plan of a local mirror then never does). 0 when copied; -1 when
 * anything failed, and the caller lets libcurl try and report. */
static int copy_local(const char *path, const char *tmp, const char *dest)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int ok = out >= 0;
    while (ok) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            break;
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
            char buf[65536];
            n = read(in, buf, sizeof buf);
            if (n == 0)
                break;
            ok = n > 0 && write(out, buf, (size_t)n) == n;
            continue;
        }
        ok = n > 0;
    }
    close(in);
    if (out >= 0 && close(out) != 0)
        ok = 0;
    if (ok && rename(tmp, dest) == 0)
        return 0;
    if (out >= 0)
        unlink(tmp);
    return -1;
}

int osm_metafetch(const char *url, const char *dest, struct osm_err *err)
{
    const char *local = local_path(url);
    if (local) {
        char *tmp = osm_xasprintf("%s.part.%ld", dest, (long)getpid());
        int r = copy_local(local, tmp, dest);
        free(tmp);
        if (r == 0)
            return 0;
    }
    static int curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = 1;
    }
    char *tmp = osm_xasprintf("%s.part.%ld", dest, (long)getpid());
    int attempts = 4;
    for (int attempt = 1;; attempt++) {
        FILE *fp = fopen(tmp, "we");
        if (!fp) {
            osm_err_errno(err, "creating %s", tmp);
            free(tmp);
            return -1;
        }
        CURL *c = curl_easy_init();
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, fp);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "osmig");
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "file,http,https");
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        int closed = fclose(fp) == 0;
        int http = strncmp(url, "http", 4) == 0;
        if (rc == CURLE_OK && closed && (!http || (status >= 200 && status < 300))) {
            if (rename(tmp, dest) != 0) {
                osm_err_errno(err, "renaming %s", tmp);
                unlink(tmp);
                free(tmp);
                return -1;
            }
            free(tmp);
            return 0;
        }
        unlink(tmp);
        if (attempt < attempts && transient(rc, status)) {
            osm_warn("fetch.retry", "url=%s attempt=%d", url, attempt);
            usleep((useconds_t)(250000u << attempt));
            continue;
        }
        if (rc != CURLE_OK)
            osm_err_set(err, rc == CURLE_FILE_COULDNT_READ_FILE ? OSM_ENOTFOUND : OSM_ENET, "%s: %s", url,
                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
        else
            osm_err_set(err, status == 404 ? OSM_ENOTFOUND : OSM_ENET, "%s: HTTP status %ld", url, status);
        free(tmp);
        return -1;
    }
}
