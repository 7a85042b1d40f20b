/* snap_gc.c: see snap_gc.h. */
#include "snap_gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "snap_index.h"

struct pack_tally {
    uint64_t live_bytes; /* compressed bytes of the referenced chunks it serves */
    uint64_t live_n;
    int action;          /* 0 keep, 1 remove, 2 rewrite then remove */
};

struct gc {
    const struct snap_store *s;
    int (*live)(void *ctx, const unsigned char hash[32]);
    void *ctx;
    struct pack_tally *t;
    /* rewriting */
    struct snap_pack_writer pw;
    char *packs_dir;
    char **made;
    size_t n_made, cap_made;
    unsigned char *frame;
    uint32_t frame_cap;
    int cur_fd;
    uint32_t cur_pack;
    int failed;
    struct osm_err *err;
};

static int keeps(struct gc *g, const struct snap_chunk_loc *l)
{
    return snap_store_is_primary(g->s, l) && g->live(g->ctx, l->hash);
}

static void tally(void *vctx, const struct snap_chunk_loc *l)
{
    struct gc *g = vctx;
    if (keeps(g, l)) {
        g->t[l->pack].live_bytes += l->clen;
        g->t[l->pack].live_n++;
    }
}

static int finish_new(struct gc *g)
{
    if (g->pw.fd < 0)
        return 0;
    char *final = osm_xstrdup(g->pw.final);
    int rc = snap_pack_finish(&g->pw, 1, g->err);
    if (rc == 0) {
        if (g->n_made == g->cap_made) {
            g->cap_made = g->cap_made ? g->cap_made * 2 : 8;
            g->made = osm_xrealloc(g->made, g->cap_made * sizeof *g->made);
        }
        g->made[g->n_made++] = final;
    } else
        free(final);
    return rc;
}

static void copy_live(void *vctx, const struct snap_chunk_loc *l)
{
    struct gc *g = vctx;
    if (g->failed || g->t[l->pack].action != 2 || !keeps(g, l))
        return;
    if (g->cur_fd < 0 || g->cur_pack != l->pack) {
        if (g->cur_fd >= 0)
            close(g->cur_fd);
        char *p = osm_xasprintf("%s/%s", g->packs_dir, snap_store_pack_name(g->s, l->pack, NULL, NULL));
        g->cur_fd = open(p, O_RDONLY | O_CLOEXEC);
        g->cur_pack = l->pack;
        if (g->cur_fd < 0) {
            osm_err_errno(g->err, "repacking %s", p);
            g->failed = 1;
        }
        free(p);
        if (g->failed)
            return;
    }
    if (l->clen > g->frame_cap) {
        g->frame_cap = l->clen;
        g->frame = osm_xrealloc(g->frame, l->clen);
    }
    ssize_t got = pread(g->cur_fd, g->frame, l->clen, (off_t)l->off);
    uint64_t off;
    if (got != (ssize_t)l->clen) {
        osm_err_set(g->err, OSM_EFAIL, "repacking pack %s: short read at offset %u",
                    snap_store_pack_name(g->s, l->pack, NULL, NULL), l->off);
        g->failed = 1;
    } else if (g->pw.fd < 0 && snap_pack_begin(&g->pw, g->packs_dir, g->err) != 0)
        g->failed = 1;
    else if (snap_pack_add(&g->pw, l->hash, l->ulen, g->frame, l->clen, &off, g->err) != 0)
        g->failed = 1;
    else if (g->pw.off >= SNAP_PACK_TARGET && finish_new(g) != 0)
        g->failed = 1;
}

/* Loose chunks (format 1) and leftover temporary files of chunks/. */
static void collect_loose(struct gc *g, uint64_t *freed)
{
    for (int b = 0; b < 256; b++) {
        char *sub = osm_xasprintf("%s/chunks/%02x", g->s->dir, b);
        DIR *d = opendir(sub);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            unsigned char h[32];
            int is_chunk = strlen(de->d_name) == 64;
            for (int i = 0; is_chunk && i < 32; i++) {
                unsigned v;
                if (sscanf(de->d_name + 2 * i, "%2x", &v) != 1)
                    is_chunk = 0;
                h[i] = (unsigned char)v;
            }
            if (is_chunk && g->live(g->ctx, h))
                continue;
            char *p = osm_xasprintf("%s/%s", sub, de->d_name);
            struct stat st;
            if (stat(p, &st) == 0 && unlink(p) == 0)
                *freed += (uint64_t)st.st_size;
            free(p);
        }
        if (d)
            closedir(d);
        free(sub);
    }
}

static void remove_tmp_packs(const char *packs_dir)
{
    DIR *d = opendir(packs_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, ".tmp-", 5) != 0)
            continue;
        char *p = osm_xasprintf("%s/%s", packs_dir, de->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
}

int snap_gc(const struct snap_store *s, int (*live)(void *ctx, const unsigned char hash[32]), void *ctx,
            uint64_t *freed, struct osm_err *err)
{
    if (snap_store_load(s, err) != 0)
        return -1;
    size_t np = snap_store_n_packs(s);
    struct gc g = {.s = s, .live = live, .ctx = ctx, .err = err, .cur_fd = -1};
    g.t = osm_xcalloc(np ? np : 1, sizeof *g.t);
    g.packs_dir = snap_store_packs_dir(s);
    snap_pack_writer_init(&g.pw);
    remove_tmp_packs(g.packs_dir);
    snap_store_each_chunk(s, tally, &g);
    int rewrite = 0;
    for (size_t i = 0; i < np; i++) {
        uint64_t size;
        int bad;
        snap_store_pack_name(s, i, &size, &bad);
        if (bad)
            continue;
        /* What the pack would weigh with only its live chunks. */
        uint64_t need = 8 + SNAP_PACK_FOOTER + g.t[i].live_bytes + g.t[i].live_n * SNAP_PACK_ENTRY;
        uint64_t dead = size > need ? size - need : 0;
        if (g.t[i].live_n == 0)
            g.t[i].action = 1;
        else if (dead * 100 >= size * SNAP_REPACK_DEAD_PERCENT)
            g.t[i].action = rewrite = 2;
    }
    int rc = 0;
    if (rewrite) {
        snap_store_each_chunk(s, copy_live, &g);
        if (g.cur_fd >= 0)
            close(g.cur_fd);
        if (g.failed || finish_new(&g) != 0 || osm_fsync_dir(g.packs_dir) != 0) {
            if (!g.failed && err->code == OSM_OK)
                osm_err_errno(err, "syncing %s", g.packs_dir);
            /* Leave the old packs: the new ones only duplicate chunks. */
            snap_pack_abort(&g.pw);
            for (size_t k = 0; k < g.n_made; k++)
                unlink(g.made[k]);
            rc = -1;
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < np; i++) {
            if (!g.t[i].action)
                continue;
            uint64_t size;
            char *p = osm_xasprintf("%s/%s", g.packs_dir, snap_store_pack_name(s, i, &size, NULL));
            if (unlink(p) == 0)
                *freed += size;
            free(p);
        }
        for (size_t k = 0; k < g.n_made; k++) {
            struct stat st;
            if (stat(g.made[k], &st) == 0)
                *freed -= (uint64_t)st.st_size < *freed ? (uint64_t)st.st_size : *freed;
        }
        osm_fsync_dir(g.packs_dir);
        collect_loose(&g, freed);
    }
    for (size_t k = 0; k < g.n_made; k++)
        free(g.made[k]);
    free(g.made);
    free(g.frame);
    free(g.t);
    free(g.packs_dir);
    snap_pack_writer_free(&g.pw);
    return rc;
}
