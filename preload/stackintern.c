/* stackintern.c - interning of raw stacks (see stackintern.h). */
#include "stackintern.h"

#include <stdlib.h>
#include <string.h>


/* Records by id (index id-1), and an open-addressing index of ids by hash.
 * Frames are compared field by field (never as bytes: al_raw_frame has
 * padding), and `truncated` is part of a stack's identity. */
static al_stack_rec **g_by_id;
static uint32_t g_count, g_cap;
static uint32_t *g_index;       /* slot -> id, 0 = empty */
static size_t g_index_cap;      /* power of two */
static al_stack_rec *g_last;    /* most recent hit: tight spawn loops repeat it */

static uint64_t hash_frames(const al_raw_frame *f, uint32_t n, int truncated)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n ^ ((uint64_t)(truncated != 0) << 32);
    uint32_t i;

    for (i = 0; i < n; i++) {
        h ^= (uint64_t)(uintptr_t)f[i].code;
        h *= 0x100000001b3ull;
        h ^= (uint64_t)(uint32_t)f[i].lasti;
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    return h;
}

static int same(const al_stack_rec *r, const al_raw_frame *f, uint32_t n, int truncated, uint64_t h)
{
    uint32_t i;

    if (r->hash != h || r->depth != n || r->truncated != (truncated != 0))
        return 0;
    for (i = 0; i < n; i++)
        if (r->frames[i].code != f[i].code || r->frames[i].lasti != f[i].lasti)
            return 0;
    return 1;
}

static int index_grow(void)
{
    size_t ncap = g_index_cap ? g_index_cap * 2 : 512, i, j;
    uint32_t *nidx = calloc(ncap, sizeof *nidx);

    if (nidx == NULL)
        return -1;
    for (i = 0; i < g_count; i++) {
        for (j = g_by_id[i]->hash & (ncap - 1); nidx[j] != 0; j = (j + 1) & (ncap - 1))
            ;
        nidx[j] = g_by_id[i]->id;
    }
    free(g_index);
    g_index = nidx;
    g_index_cap = ncap;
    return 0;
}

/* Same frames as record r (the hash is not needed to tell). */
static int same_frames(const al_stack_rec *r, const al_raw_frame *f, uint32_t n, int truncated)
{
    uint32_t i;

    if (r->depth != n || r->truncated != (truncated != 0))
        return 0;
    for (i = 0; i < n; i++)
        if (r->frames[i].code != f[i].code || r->frames[i].lasti != f[i].lasti)
            return 0;
    return 1;
}

uint32_t al_stack_intern(const al_raw_frame *frames, uint32_t n, int truncated,
                         void (*retain)(const void *code))
{
    uint64_t h;
    al_stack_rec *rec;
    size_t slot;
    uint32_t i;

    /* A tight spawn loop repeats the last stack: compared before hashing. */
    if (g_last != NULL && same_frames(g_last, frames, n, truncated))
        return g_last->id;
    h = hash_frames(frames, n, truncated);
    if (g_index_cap != 0)
        for (slot = h & (g_index_cap - 1); g_index[slot] != 0; slot = (slot + 1) & (g_index_cap - 1))
            if (same(g_by_id[g_index[slot] - 1], frames, n, truncated, h)) {
                g_last = g_by_id[g_index[slot] - 1];
                return g_last->id;
            }
    /* New stack.  Keep the index at most half full. */
    if ((g_count + 1) * 2 > g_index_cap && index_grow() < 0)
        return 0;
    if (g_count == g_cap) {
        uint32_t ncap = g_cap ? g_cap * 2 : 256;
        al_stack_rec **nids = realloc(g_by_id, ncap * sizeof *nids);
        if (nids == NULL)
            return 0;
        g_by_id = nids;
        g_cap = ncap;
    }
    rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return 0;
    rec->frames = calloc(n ? n : 1, sizeof *rec->frames);
    if (rec->frames == NULL) {
        free(rec);
        return 0;
    }
    for (i = 0; i < n; i++) {
        rec->frames[i].code = frames[i].code;
        rec->frames[i].lasti = frames[i].lasti;
    }
    rec->depth = n;
    rec->truncated = truncated != 0;
    rec->hash = h;
    rec->id = ++g_count;
    g_by_id[rec->id - 1] = rec;
    for (slot = h & (g_index_cap - 1); g_index[slot] != 0; slot = (slot + 1) & (g_index_cap - 1))
        ;
    g_index[slot] = rec->id;
    if (retain != NULL)
        for (i = 0; i < n; i++)
            retain(frames[i].code);
    g_last = rec;
    return rec->id;
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
    uint32_t i;

    for (i = 0; i < g_count; i++) {
        free(g_by_id[i]->frames);
        al_json_free(g_by_id[i]->resolved);
        al_json_free(g_by_id[i]->origin);
        free(g_by_id[i]);
    }
    free(g_by_id);
    free(g_index);
    g_by_id = NULL;
    g_index = NULL;
    g_count = g_cap = 0;
    g_index_cap = 0;
    g_last = NULL;
}
