/* metafetch.c: see metafetch.h. */
#include "metafetch.h"

#include <curl/curl.h>
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

int osm_metafetch(const char *url, const char *dest, struct osm_err *err)
{
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
