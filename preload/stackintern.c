/* stackintern.c - interning of raw stacks (see stackintern.h). */
#include "stackintern.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>

typedef struct entry {
    al_stack_rec rec;
    UT_hash_handle hh;
} entry;

static entry *g_table;          /* uthash by (frames bytes, precomputed hash) */
static al_stack_rec **g_by_id;  /* index id-1 -> record */
static uint32_t g_count, g_cap;
static entry *g_last;           /* most recent hit: tight spawn loops repeat it */

static uint64_t hash_frames(const al_raw_frame *f, uint32_t n, int truncated)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n ^ ((uint64_t)truncated << 63);
    uint32_t i;

    for (i = 0; i < n; i++) {
        h ^= (uint64_t)(uintptr_t)f[i].code;
        h *= 0x100000001b3ull;
        h ^= (uint64_t)(uint32_t)f[i].lasti;
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

static int same(const entry *e, const al_raw_frame *f, uint32_t n, int truncated, uint64_t h)
{
    return e->rec.hash == h && e->rec.depth == n && e->rec.truncated == truncated
        && memcmp(e->rec.frames, f, n * sizeof *f) == 0;
}

uint32_t al_stack_intern(const al_raw_frame *frames, uint32_t n, int truncated,
                         void (*retain)(const void *code))
{
    uint64_t h = hash_frames(frames, n, truncated);
    size_t keylen = n * sizeof *frames;
    entry *e = NULL;
    uint32_t i;

    if (g_last != NULL && same(g_last, frames, n, truncated, h))
        return g_last->rec.id;
    /* uthash compares the frame bytes (an empty stack uses a one-byte key);
     * `truncated` is part of the hash, hence of the identity. */
    HASH_FIND_BYHASHVALUE(hh, g_table, n ? (const void *)frames : "", n ? keylen : 1, (unsigned)h, e);
    if (e != NULL) {
        g_last = e;
        return e->rec.id;
    }
    if (g_count == g_cap) {
        uint32_t ncap = g_cap ? g_cap * 2 : 256;
        al_stack_rec **nidx = realloc(g_by_id, ncap * sizeof *nidx);
        if (nidx == NULL)
            return 0;
        g_by_id = nidx;
        g_cap = ncap;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return 0;
    e->rec.frames = malloc(n ? keylen : 1);
    if (e->rec.frames == NULL) {
        free(e);
        return 0;
    }
    memcpy(e->rec.frames, frames, keylen);
    e->rec.depth = n;
    e->rec.truncated = truncated;
    e->rec.hash = h;
    e->rec.id = ++g_count;
    g_by_id[e->rec.id - 1] = &e->rec;
    if (retain != NULL)
        for (i = 0; i < n; i++)
            retain(frames[i].code);
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, g_table, n ? (const void *)e->rec.frames : "", n ? keylen : 1, (unsigned)h, e);
    g_last = e;
    return e->rec.id;
}

al_stack_rec *al_stack_get(uint32_t id)
{
    if (id == 0 || id > g_count)
        return NULL;
    return g_by_id[id - 1];
}

uint32_t al_stack_count(void)
{
    return g_count;
}

void al_stack_reset(void)
{
    entry *e, *tmp;

    HASH_ITER(hh, g_table, e, tmp) {
        HASH_DEL(g_table, e);
        free(e->rec.frames);
        al_json_free(e->rec.resolved);
        free(e);
    }
    free(g_by_id);
    g_by_id = NULL;
    g_count = g_cap = 0;
    g_last = NULL;
}
