/* conn_limit.c: see conn_limit.h. The addresses with open connections are
 * few (at most `total`): a small array searched under one lock costs less
 * than the accept() that precedes it. */
#include "conn_limit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

struct addr_count {
    unsigned char addr[16]; /* IPv4 as IPv4-mapped IPv6 */
    unsigned n;
};

struct osm_conn_limit {
    pthread_mutex_t lock;
    unsigned total, per_addr, open;
    struct addr_count *v;
    size_t n, cap;
};

struct osm_conn_limit *osm_conn_limit_new(unsigned total, unsigned per_addr)
{
    struct osm_conn_limit *cl = osm_xcalloc(1, sizeof *cl);
    pthread_mutex_init(&cl->lock, NULL);
    cl->total = total;
    cl->per_addr = per_addr;
    return cl;
}

void osm_conn_limit_free(struct osm_conn_limit *cl)
{
    if (!cl)
        return;
    pthread_mutex_destroy(&cl->lock);
    free(cl->v);
    free(cl);
}

static int addr_key(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
        /* One IPv6 client holds a whole /64 (SLAAC, privacy addresses): it
         * is counted as one, or it could open 64 connections per address of
         * its 2^64. An IPv4-mapped address stays whole. */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(key, mapped, sizeof mapped) != 0)
            memset(key + 8, 0, 8);
        return 0;
    }
    return -1;
}

static struct addr_count *find(struct osm_conn_limit *cl, const unsigned char key[16])
{
    for (size_t i = 0; i < cl->n; i++)
        if (memcmp(cl->v[i].addr, key, 16) == 0)
            return &cl->v[i];
    return NULL;
}

int osm_conn_limit_open(struct osm_conn_limit *cl, const struct sockaddr *sa)
{
    unsigned char key[16];
    addr_key(sa, key); /* an unknown family shares one all-zero entry */
    pthread_mutex_lock(&cl->lock);
    struct addr_count *a = find(cl, key);
    int admit = cl->open < cl->total && (!a || a->n < cl->per_addr);
    if (admit) {
        if (!a) {
            if (cl->n == cl->cap) {
                cl->cap = cl->cap ? 2 * cl->cap : 16;
                cl->v = osm_xrealloc(cl->v, cl->cap * sizeof *cl->v);
            }
            a = &cl->v[cl->n++];
            memcpy(a->addr, key, 16);
            a->n = 0;
        }
        a->n++;
        cl->open++;
    }
    pthread_mutex_unlock(&cl->lock);
    return admit;
}

void osm_conn_limit_close(struct osm_conn_limit *cl, const struct sockaddr *sa)
{
    unsigned char key[16];
    addr_key(sa, key);
    pthread_mutex_lock(&cl->lock);
    struct addr_count *a = find(cl, key);
    if (a) {
        cl->open--;
        if (--a->n == 0)
            *a = cl->v[--cl->n];
    }
    pthread_mutex_unlock(&cl->lock);
}
