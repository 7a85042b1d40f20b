/* snap_arena.c: see snap_arena.h.
 *
 * Blocks grow from 64 KiB to 4 MiB (requests over a quarter of the block
 * size get a block of their own), so a small index stays small. The 4 MiB
 * blocks are mapped on a 2 MiB boundary, asked for transparent huge pages
 * and populated at once (MADV_POPULATE_WRITE): a big index fills them all
 * anyway, and taking a page fault for each 4 KiB page costs several times
 * more (measured: about 20 us per fault on a virtual machine). Both advices
 * are hints; a kernel without them faults pages in as usual. */
#include "snap_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "osm_buf.h"

#define FIRST_BLOCK ((size_t)64 << 10)
#define BIG_BLOCK ((size_t)4 << 20)
#define HUGE_PAGE ((size_t)2 << 20)
#define ALIGN 8

struct snap_arena_block {
    struct snap_arena_block *prev;
    void *owned;    /* a buffer handed over with own(), or NULL */
    size_t map_len; /* mapped with mmap (munmap on free), or 0: malloc */
    _Alignas(16) char data[];
};

void snap_arena_init(struct snap_arena *a)
{
    memset(a, 0, sizeof *a);
}

void snap_arena_free(struct snap_arena *a)
{
    for (struct snap_arena_block *b = a->head; b;) {
        struct snap_arena_block *p = b->prev;
        free(b->owned);
        if (b->map_len)
            munmap(b, b->map_len);
        else
            free(b);
        b = p;
    }
    memset(a, 0, sizeof *a);
}

/* Link `b` behind the head, so the head keeps its free space. */
static void link_behind(struct snap_arena *a, struct snap_arena_block *b)
{
    if (a->head) {
        b->prev = a->head->prev;
        a->head->prev = b;
    } else {
        b->prev = NULL;
        a->head = b;
        a->next = a->end = b->data; /* no free space: the next alloc starts a block */
    }
}

static struct snap_arena_block *big_block(void)
{
    char *m = mmap(NULL, BIG_BLOCK + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    char *p = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (p > m)
        munmap(m, (size_t)(p - m));
    if (m + HUGE_PAGE > p)
        munmap(p + BIG_BLOCK, (size_t)(m + HUGE_PAGE - p));
    madvise(p, BIG_BLOCK, MADV_HUGEPAGE);
    madvise(p, BIG_BLOCK, MADV_POPULATE_WRITE);
    struct snap_arena_block *b = (struct snap_arena_block *)p;
    b->map_len = BIG_BLOCK;
    return b;
}

void *snap_arena_alloc(struct snap_arena *a, size_t n)
{
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (a->next && (size_t)(a->end - a->next) >= n) {
        void *p = a->next;
        a->next += n;
        return p;
    }
    size_t size = a->block_size ? a->block_size : FIRST_BLOCK;
    if (n > size / 4) {
        struct snap_arena_block *b = osm_xmalloc(sizeof *b + n);
        b->owned = NULL;
        b->map_len = 0;
        link_behind(a, b);
        return b->data;
    }
    struct snap_arena_block *b = size == BIG_BLOCK ? big_block() : NULL;
    if (!b) {
        b = osm_xmalloc(size);
        b->map_len = 0;
    }
    b->owned = NULL;
    b->prev = a->head;
    a->head = b;
    a->next = b->data + n;
    a->end = (char *)b + size;
    a->block_size = size < BIG_BLOCK ? size * 2 : BIG_BLOCK;
    return b->data;
}

void *snap_arena_calloc(struct snap_arena *a, size_t n)
{
    return memset(snap_arena_alloc(a, n), 0, n);
}

void *snap_arena_memdup(struct snap_arena *a, const void *p, size_t n)
{
    void *d = snap_arena_alloc(a, n ? n : 1);
    if (n)
        memcpy(d, p, n);
    return d;
}

char *snap_arena_strndup(struct snap_arena *a, const char *s, size_t n)
{
    char *d = snap_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *snap_arena_strdup(struct snap_arena *a, const char *s)
{
    return snap_arena_strndup(a, s, strlen(s));
}

void snap_arena_own(struct snap_arena *a, void *buf)
{
    struct snap_arena_block *b = osm_xmalloc(sizeof *b);
    b->owned = buf;
    b->map_len = 0;
    link_behind(a, b);
}

void snap_arena_adopt(struct snap_arena *a, struct snap_arena *from)
{
    if (!from->head)
        return;
    if (!a->head) {
        *a = *from;
    } else {
        struct snap_arena_block *tail = from->head;
        while (tail->prev)
            tail = tail->prev;
        tail->prev = a->head->prev;
        a->head->prev = from->head;
    }
    memset(from, 0, sizeof *from);
}
