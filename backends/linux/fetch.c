/* fetch.c: see fetch.h. One curl multi handle drives every transfer from a
 * single thread; items waiting for a retry sit in PENDING with a not-before
 * time, so backoff never blocks the other transfers. Each destination's
 * directory is opened once and every later file operation is relative to
 * it (openat, renameat, unlinkat): a directory swapped for a symlink
 * afterwards cannot redirect a write. */
#include "fetch.h"

#include "lazy_curl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_hash.h"
#include "osm_log.h"

enum xstate { X_PENDING, X_ACTIVE, X_DONE };

struct xfer {
    struct osm_fetch_item *it;
    const char *label;
    char *where;             /* "LABEL: URL" or "URL", for messages */
    char *part;              /* DEST.part, for messages */
    int dirfd;               /* DEST's directory, opened once; -1 before */
    char *dir;               /* its path: items in one directory share one fd */
    int owns_dirfd;
    char *base, *partbase;   /* DEST and DEST.part inside it */
    CURL *h;
    FILE *fp;
    curl_off_t resume_from;
    curl_off_t got;          /* bytes written by the current transfer */
    int first_write_seen;
    int write_errno;
    int retries;
    int refetched;
    int64_t not_before_ms;
    enum xstate state;
    uint64_t final_size;
    char errbuf[CURL_ERROR_SIZE];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void global_init(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->first_write_seen) {
        x->first_write_seen = 1;
        long code = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
        /* The server ignored our Range and sent the whole file: start over. */
        if (x->resume_from > 0 && code == 200) {
            if (fflush(x->fp) != 0 || ftruncate(fileno(x->fp), 0) != 0) {
                x->write_errno = errno;
                return 0;
            }
            x->resume_from = 0;
        }
    }
    if (fwrite(data, 1, n, x->fp) != n) {
        x->write_errno = errno ? errno : EIO;
        return 0;
    }
    x->got += (curl_off_t)n;
    return n;
}

static int start_xfer(CURLM *multi, struct xfer *x, const struct osm_fetch_opts *o, struct osm_err *err)
{
    int fd = openat(x->dirfd, x->partbase, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !(x->fp = fdopen(fd, "ab"))) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno = e;
        return osm_err_errno(err, "%s: creating %s", x->label, x->part);
    }
    x->resume_from = st.st_size;
    x->got = 0;
    x->first_write_seen = 0;
    x->write_errno = 0;
    x->errbuf[0] = '\0';
    x->h = curl_easy_init();
    if (!x->h)
        return osm_err_set(err, OSM_EFAIL, "%s: curl_easy_init failed", x->label);
    CURL *h = x->h;
    curl_easy_setopt(h, CURLOPT_URL, x->it->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "osmig/0.1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (x->resume_from > 0)
        curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, x->resume_from);
    if (curl_multi_add_handle(multi, h) != CURLM_OK)
        return osm_err_set(err, OSM_EFAIL, "%s: curl_multi_add_handle failed", x->label);
    x->state = X_ACTIVE;
    x->it->attempts++;
    osm_debug("fetch.start", "url=%s resume_from=%lld", x->it->url, (long long)x->resume_from);
    return 0;
}

static void end_xfer(CURLM *multi, struct xfer *x)
{
    if (x->h) {
        curl_multi_remove_handle(multi, x->h);
        curl_easy_cleanup(x->h);
        x->h = NULL;
    }
    if (x->fp) {
        fclose(x->fp);
        x->fp = NULL;
    }
}

static int is_transient(CURLcode rc, long http)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    case CURLE_HTTP_RETURNED_ERROR:
        return http == 408 || http == 429 || http >= 500;
    default:
        return 0;
    }
}

/* The .part file does not fit the server's copy (416, resume beyond EOF). */
static int is_range_problem(CURLcode rc, long http)
{
    return rc == CURLE_RANGE_ERROR || rc == CURLE_BAD_DOWNLOAD_RESUME ||
           (rc == CURLE_HTTP_RETURNED_ERROR && http == 416);
}

/* 1 when NAME (in the destination's directory) has the item's digest. */
static int verify_digest(const struct xfer *x, const char *name, char got[129], struct osm_err *err)
{
    if (!x->it->checksum_type || !x->it->checksum)
        return 1;
    int fd = openat(x->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "%s/%s", x->it->dest, name);
    int rc = osm_hash_fd(x->it->checksum_type, fd, name, got, err);
    close(fd);
    if (rc < 0)
        return -1;
    return strcasecmp(got, x->it->checksum) == 0;
}

static uint64_t size_of(const struct xfer *x, const char *name)
{
    struct stat st;
    return fstatat(x->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (uint64_t)st.st_size : 0;
}

/* DEST's directory, opened once: inside ROOT by openat2 when the options
 * name one (fetch.h). */
static int open_dest_dir(struct xfer *x, const struct xfer *before, size_t n_before, const struct osm_fetch_opts *o,
                         struct osm_err *err)
{
    const char *dest = x->it->dest, *slash = strrchr(dest, '/');
    char *dir = slash ? osm_xasprintf("%.*s", (int)(slash - dest), dest) : osm_xstrdup(".");
    x->base = osm_xstrdup(slash ? slash + 1 : dest);
    x->partbase = osm_xasprintf("%s.part", x->base);
    if (!*dir) {
        free(dir);
        dir = osm_xstrdup("/");
    }
    x->dir = dir;
    for (size_t i = 0; i < n_before; i++)
        if (before[i].owns_dirfd && strcmp(before[i].dir, dir) == 0) {
            x->dirfd = before[i].dirfd;
            return 0;
        }
    if (o->root) {
        size_t n = strlen(o->root);
        while (n > 0 && o->root[n - 1] == '/')
            n--;
        if (strncmp(dir, o->root, n) != 0 || (dir[n] != '/' && dir[n] != '\0')) {
            return osm_err_set(err, OSM_EINPUT, "%s: destination %s is not inside the root %s", x->label, dest,
                               o->root);
        }
        x->dirfd = osm_root_open(o->root, dir[n] ? dir + n : "/", O_RDONLY | O_DIRECTORY, 0, err);
    } else {
        x->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (x->dirfd < 0)
            osm_err_errno(err, "%s: directory %s", x->label, dir);
    }
    x->owns_dirfd = x->dirfd >= 0;
    return x->dirfd < 0 ? -1 : 0;
}

/* A transfer ended: decide done / retry / fail. Returns -1 on failure. */
static int finish_xfer(CURLM *multi, struct xfer *x, CURLcode rc, const struct osm_fetch_opts *o,
                       struct osm_err *err)
{
    long http = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &http);
    int close_failed = 0;
    if (x->fp) {
        if (fflush(x->fp) != 0 || (rc == CURLE_OK && !o->no_fsync && fsync(fileno(x->fp)) != 0))
            close_failed = errno;
        if (fclose(x->fp) != 0 && !close_failed)
            close_failed = errno;
        x->fp = NULL;
    }
    char cerr[CURL_ERROR_SIZE + 64];
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        snprintf(cerr, sizeof cerr, "HTTP %ld", http);
    else
        snprintf(cerr, sizeof cerr, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    int write_errno = x->write_errno ? x->write_errno : close_failed;
    end_xfer(multi, x);

    if (rc == CURLE_WRITE_ERROR || write_errno) {
        /* Out of space or a broken disk: do not leave a partial file behind. */
        unlinkat(x->dirfd, x->partbase, 0);
        errno = write_errno ? write_errno : EIO;
        return osm_err_errno(err, "%s: writing %s", x->label, x->part);
    }
    if (rc == CURLE_OK) {
        char got[129] = "";
        int ok = verify_digest(x, x->partbase, got, err);
        if (ok < 0)
            return osm_err_prefix(err, "%s", x->label), -1;
        if (!ok) {
            unlinkat(x->dirfd, x->partbase, 0);
            if (!x->refetched) {
                osm_warn("fetch.checksum_mismatch", "url=%s expected=%s got=%s action=refetch", x->it->url,
                         x->it->checksum, got);
                x->refetched = 1;
                x->state = X_PENDING;
                x->not_before_ms = 0;
                return 0;
            }
            return osm_err_set(err, OSM_ECHECKSUM,
                               "%s: checksum mismatch for %s: expected %s:%s, got %s:%s (fetched twice)", x->label,
                               x->it->url, x->it->checksum_type, x->it->checksum, x->it->checksum_type, got);
        }
        x->final_size = size_of(x, x->partbase);
        if (renameat(x->dirfd, x->partbase, x->dirfd, x->base) != 0)
            return osm_err_errno(err, "%s: renaming %s", x->label, x->part);
        if (!o->no_fsync)
            fsync(x->dirfd);
        x->state = X_DONE;
        osm_debug("fetch.done", "url=%s bytes=%llu attempts=%d", x->it->url, (unsigned long long)x->final_size,
                  x->it->attempts);
        return 0;
    }
    if (is_range_problem(rc, http)) {
        unlinkat(x->dirfd, x->partbase, 0);
    } else if (!is_transient(rc, http)) {
        return osm_err_set(err, OSM_ENET, "%s: %s", x->where, cerr);
    }
    if (x->retries >= o->max_retries)
        return osm_err_set(err, OSM_ENET, "%s: giving up after %d attempts: %s", x->where,
                           x->it->attempts, cerr);
    int64_t delay = (int64_t)o->backoff_ms << (x->retries < 16 ? x->retries : 16);
    x->retries++;
    x->state = X_PENDING;
    x->not_before_ms = now_ms() + delay;
    osm_warn("fetch.retry", "url=%s error=\"%s\" http=%ld retry=%d delay_ms=%lld", x->it->url, cerr, http, x->retries,
             (long long)delay);
    return 0;
}

static void report(const struct osm_fetch_opts *o, struct xfer *xs, size_t n, const char *current)
{
    if (!o->progress)
        return;
    struct osm_progress p = {.phase = "download", .pkgs_total = n, .current = current};
    for (size_t i = 0; i < n; i++) {
        p.bytes_total += xs[i].it->size;
        if (xs[i].state == X_DONE) {
            p.pkgs_done++;
            p.bytes_done += xs[i].final_size;
        } else if (xs[i].state == X_ACTIVE) {
            p.bytes_done += (uint64_t)(xs[i].resume_from + xs[i].got);
        }
    }
    o->progress(&p, o->userdata);
}

static struct osm_fetch_opts normalized(const struct osm_fetch_opts *in)
{
    struct osm_fetch_opts o = in ? *in : (struct osm_fetch_opts){0};
    if (o.parallel <= 0)
        o.parallel = 4;
    if (o.max_retries == 0)
        o.max_retries = 5;
    if (o.max_retries < 0)
        o.max_retries = 0;
    if (!o.backoff_ms)
        o.backoff_ms = 500;
    if (!o.connect_timeout_s)
        o.connect_timeout_s = 30;
    if (!o.stall_timeout_s)
        o.stall_timeout_s = 60;
    return o;
}

int osm_fetch_many(struct osm_fetch_item *items, size_t n, const struct osm_fetch_opts *opts_in, struct osm_err *err)
{
    global_init();
    struct osm_fetch_opts o = normalized(opts_in);
    struct xfer *xs = osm_xcalloc(n ? n : 1, sizeof *xs);
    size_t remaining = 0;
    int rc = -1;
    for (size_t i = 0; i < n; i++)
        xs[i].dirfd = -1;
    CURLM *multi = NULL;
    for (size_t i = 0; i < n; i++) {
        struct xfer *x = &xs[i];
        x->it = &items[i];
        x->it->reused = 0;
        x->it->attempts = 0;
        x->label = items[i].label ? items[i].label : items[i].url;
        x->where = items[i].label ? osm_xasprintf("%s: %s", items[i].label, items[i].url) : osm_xstrdup(items[i].url);
        x->part = osm_xasprintf("%s.part", items[i].dest);
        if (open_dest_dir(x, xs, i, &o, err) < 0)
            goto out;
        struct stat st;
        if (fstatat(x->dirfd, x->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && items[i].checksum) {
            char got[129];
            struct osm_err herr = OSM_ERR_INIT;
            if (S_ISREG(st.st_mode) && verify_digest(x, x->base, got, &herr) == 1) {
                x->final_size = (uint64_t)st.st_size;
                x->state = X_DONE;
                x->it->reused = 1;
                continue;
            }
            unlinkat(x->dirfd, x->base, 0); /* stale or corrupt: fetch again */
        }
        x->state = X_PENDING;
        remaining++;
    }
    multi = curl_multi_init();
    int64_t last_report = 0;
    report(&o, xs, n, NULL);
    while (remaining > 0) {
        int64_t t = now_ms(), wait = 1000;
        int active = 0;
        for (size_t i = 0; i < n; i++)
            active += xs[i].state == X_ACTIVE;
        for (size_t i = 0; i < n && active < o.parallel; i++) {
            if (xs[i].state != X_PENDING)
                continue;
            if (xs[i].not_before_ms > t) {
                if (xs[i].not_before_ms - t < wait)
                    wait = xs[i].not_before_ms - t;
                continue;
            }
            if (start_xfer(multi, &xs[i], &o, err) < 0)
                goto out;
            active++;
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode res = msg->data.result;
            if (finish_xfer(multi, x, res, &o, err) < 0)
                goto out;
            if (x->state == X_DONE) {
                remaining--;
                report(&o, xs, n, x->label);
            }
            wait = 0; /* a slot freed up: start the next at once */
        }
        if (now_ms() - last_report >= 250) {
            last_report = now_ms();
            report(&o, xs, n, NULL);
        }
        if (remaining > 0 && wait > 0)
            curl_multi_poll(multi, NULL, 0, (int)(active ? (wait < 200 ? wait : 200) : wait), NULL);
    }
    report(&o, xs, n, NULL);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        if (multi)
            end_xfer(multi, &xs[i]);
        if (xs[i].owns_dirfd)
            close(xs[i].dirfd);
        free(xs[i].dir);
        free(xs[i].part);
        free(xs[i].base);
        free(xs[i].partbase);
        free(xs[i].where);
    }
    if (multi)
        curl_multi_cleanup(multi);
    free(xs);
    return rc;
}

int osm_fetch_file(const char *url, const char *dest, const char *checksum_type, const char *checksum,
                   const struct osm_fetch_opts *opts, struct osm_err *err)
{
    struct osm_fetch_item it = {.url = url, .dest = dest, .checksum_type = checksum_type, .checksum = checksum};
    return osm_fetch_many(&it, 1, opts, err);
}
