/* registry.c - open-addressing table of live tasks (see registry.h). */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAPACITY 64

static size_t slot_of(const void *key, size_t capacity)
{
    /* Fibonacci hashing of the address; objects are 16-byte aligned. */
    uint64_t h = ((uint64_t)(uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (capacity - 1);
}

void al_registry_init(al_registry *r)
{
    memset(r, 0, sizeof *r);
    r->next_serial = 1;
}

void al_registry_free(al_registry *r)
{
    free(r->slots);
    r->slots = NULL;
    r->capacity = r->count = 0;
}

static int grow(al_registry *r)
{
    size_t ncap = r->capacity ? r->capacity * 2 : MIN_CAPACITY;
    al_task_rec *nslots = calloc(ncap, sizeof *nslots);
    size_t i;

    if (nslots == NULL)
        return -1;
    for (i = 0; i < r->capacity; i++) {
        const al_task_rec *old = &r->slots[i];
        size_t j;
        if (old->task == NULL)
            continue;
        for (j = slot_of(old->task, ncap); nslots[j].task != NULL; j = (j + 1) & (ncap - 1))
            ;
        nslots[j] = *old;
    }
    free(r->slots);
    r->slots = nslots;
    r->capacity = ncap;
    return 0;
}

al_task_rec *al_registry_get(const al_registry *r, const void *task)
{
    size_t i;

    if (r->capacity == 0 || task == NULL)
        return NULL;
    for (i = slot_of(task, r->capacity); r->slots[i].task != NULL; i = (i + 1) & (r->capacity - 1))
        if (r->slots[i].task == task)
            return &r->slots[i];
    return NULL;
}

al_task_rec *al_registry_put(al_registry *r, const al_task_rec *rec)
{
    al_task_rec *slot = al_registry_get(r, rec->task);
    size_t i;

    if (rec->task == NULL)
        return NULL;
    if (slot == NULL) {
        /* Keep the load factor at or below 3/4. */
        if ((r->count + 1) * 4 > r->capacity * 3 && grow(r) < 0)
            return NULL;
        for (i = slot_of(rec->task, r->capacity); r->slots[i].task != NULL; i = (i + 1) & (r->capacity - 1))
            ;
        slot = &r->slots[i];
        r->count++;
    }
    *slot = *rec;
    if (slot->serial == 0)
        slot->serial = r->next_serial++;
    return slot;
}

int al_registry_remove(al_registry *r, const void *task)
{
    al_task_rec *slot = al_registry_get(r, task);
    size_t hole, i, mask;

    if (slot == NULL)
        return 0;
    mask = r->capacity - 1;
    hole = (size_t)(slot - r->slots);
    /* Backward-shift deletion keeps every probe chain unbroken. */
    for (i = (hole + 1) & mask; r->slots[i].task != NULL; i = (i + 1) & mask) {
        size_t home = slot_of(r->slots[i].task, r->capacity);
        /* Move i into the hole unless its home lies cyclically in (hole, i]. */
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            r->slots[hole] = r->slots[i];
            hole = i;
        }
    }
    memset(&r->slots[hole], 0, sizeof r->slots[hole]);
    r->count--;
    return 1;
}

static int by_serial(const void *a, const void *b)
{
    uint64_t x = ((const al_task_rec *)a)->serial, y = ((const al_task_rec *)b)->serial;
    return (x > y) - (x < y);
}

al_task_rec *al_registry_select(const al_registry *r,
                                int (*keep)(const al_task_rec *rec, void *ctx),
                                void *ctx, size_t *n)
{
    al_task_rec *out = NULL;
    size_t i, k = 0;

    *n = 0;
    if (r->count == 0)
        return NULL;
    out = malloc(r->count * sizeof *out);
    if (out == NULL)
        return NULL;
    for (i = 0; i < r->capacity; i++)
        if (r->slots[i].task != NULL && (keep == NULL || keep(&r->slots[i], ctx)))
            out[k++] = r->slots[i];
    if (k == 0) {
        free(out);
        return NULL;
    }
    qsort(out, k, sizeof *out, by_serial);
    *n = k;
    return out;
}
