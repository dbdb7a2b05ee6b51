/* registry.c - Robin Hood open-addressing table of live tasks (see registry.h).
 *
 * Slot of a key: the high bits of a Fibonacci hash of its address scaled to
 * the capacity (multiply-shift, so any capacity works).  Robin Hood order:
 * along a run of occupied slots, home slots never decrease, so a lookup stops
 * at the first record that is closer to its home than the probe is to the
 * key's, an insert shifts the tail of the run one slot on, and a removal
 * shifts it one slot back, stopping at the first record already at home.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAPACITY 64

_Static_assert(sizeof(al_task_rec) == 32, "a registry record is 32 bytes");

static inline size_t home_of(const void *key, size_t capacity)
{
    /* Objects are 16-byte aligned: the low 4 bits carry nothing.  Two
     * multiply rounds: with one (Fibonacci hashing), objects a Fibonacci
     * number of slots apart, as allocators lay them out (144 x 16 bytes),
     * share their high bits and so their home. */
    uint64_t h = ((uint64_t)(uintptr_t)key >> 4) * 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    return (size_t)(((unsigned __int128)h * capacity) >> 64);
}

static inline size_t next_slot(size_t i, size_t capacity)
{
    return i + 1 == capacity ? 0 : i + 1;
}

static inline size_t prev_slot(size_t i, size_t capacity)
{
    return i == 0 ? capacity - 1 : i - 1;
}

/* How far slot i is from the home of the key it holds. */
static inline size_t distance(size_t i, const void *key, size_t capacity)
{
    size_t home = home_of(key, capacity);
    return i >= home ? i - home : i + capacity - home;
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

static al_task_rec *shift_in(al_task_rec *slots, size_t capacity, size_t i, const al_task_rec *rec);

/* Places rec, whose key is not in the table, at the first slot where the
 * resident is closer to its home than rec would be (shift_in).  The table
 * must have an empty slot. */
static void insert_new(al_task_rec *slots, size_t capacity, const al_task_rec *rec)
{
    size_t i = home_of(rec->task, capacity), d = 0;

    while (slots[i].task != NULL && distance(i, slots[i].task, capacity) >= d) {
        i = next_slot(i, capacity);
        d++;
    }
    if (slots[i].task == NULL)
        slots[i] = *rec;
    else
        shift_in(slots, capacity, i, rec);
}

/* Rebuilds the table at ncap slots (ncap > count).  Returns 0, or -1 when
 * memory is exhausted (the table is then unchanged). */
static int resize(al_registry *r, size_t ncap)
{
    al_task_rec *nslots = calloc(ncap, sizeof *nslots);
    size_t i;

    if (nslots == NULL)
        return -1;
    for (i = 0; i < r->capacity; i++)
        if (r->slots[i].task != NULL)
            insert_new(nslots, ncap, &r->slots[i]);
    free(r->slots);
    r->slots = nslots;
    r->capacity = ncap;
    return 0;
}

al_task_rec *al_registry_get(const al_registry *r, const void *task)
{
    size_t cap = r->capacity, i, d;

    if (r->count == 0 || task == NULL)
        return NULL;
    for (i = home_of(task, cap), d = 0;; i = next_slot(i, cap), d++) {
        const void *t = r->slots[i].task;
        if (t == task)
            return &r->slots[i];
        if (t == NULL || distance(i, t, cap) < d)
            return NULL;
    }
}

/* Puts rec (key absent) at slot i, where the probe for it stopped at a
 * record closer to its home: the run from i to the next empty slot moves
 * one slot on.  Returns the slot. */
static al_task_rec *shift_in(al_task_rec *slots, size_t capacity, size_t i, const al_task_rec *rec)
{
    size_t j;

    for (j = next_slot(i, capacity); slots[j].task != NULL; j = next_slot(j, capacity))
        ;
    while (j != i) {
        size_t p = prev_slot(j, capacity);
        slots[j] = slots[p];
        j = p;
    }
    slots[i] = *rec;
    return &slots[i];
}

al_task_rec *al_registry_put(al_registry *r, const al_task_rec *rec)
{
    const void *key = rec->task;
    al_task_rec *slot = NULL;
    size_t cap, i, d;

    if (key == NULL)
        return NULL;
    /* Keep the load factor at or below 7/8; grow by half. */
    if ((r->count + 1) * 8 > r->capacity * 7 && (slot = al_registry_get(r, key)) == NULL) {
        size_t ncap = r->capacity < MIN_CAPACITY ? MIN_CAPACITY : r->capacity + r->capacity / 2;
        if (resize(r, ncap) < 0)
            return NULL;
    }
    if (slot == NULL) {
        /* One probe finds the key or the place it goes. */
        cap = r->capacity;
        for (i = home_of(key, cap), d = 0;; i = next_slot(i, cap), d++) {
            const void *t = r->slots[i].task;
            if (t == key) {
                slot = &r->slots[i];
                break;
            }
            if (t == NULL) {
                slot = &r->slots[i];
                r->count++;
                break;
            }
            if (distance(i, t, cap) < d) {
                slot = shift_in(r->slots, cap, i, rec);
                r->count++;
                break;
            }
        }
    }
    *slot = *rec;
    if (slot->serial == 0) {
        slot->serial = r->next_serial;
        r->next_serial = r->next_serial >= AL_SERIAL_MAX ? 1 : r->next_serial + 1;
    }
    return slot;
}

int al_registry_remove(al_registry *r, const void *task)
{
    al_task_rec *slot = al_registry_get(r, task);
    size_t cap = r->capacity, hole, i;

    if (slot == NULL)
        return 0;
    hole = (size_t)(slot - r->slots);
    /* Backward shift: the run after the hole moves back one slot, up to
     * an empty slot or a record at its home. */
    for (i = next_slot(hole, cap); r->slots[i].task != NULL && distance(i, r->slots[i].task, cap) > 0;
         i = next_slot(i, cap)) {
        r->slots[hole] = r->slots[i];
        hole = i;
    }
    memset(&r->slots[hole], 0, sizeof r->slots[hole]);
    r->count--;
    /* Shrink by a third below 3/8 full (to 9/16): a burst of live tasks
     * does not keep its table for the life of the process.  Failing to
     * shrink is harmless. */
    if (cap > MIN_CAPACITY && r->count * 8 < cap * 3) {
        size_t ncap = cap - cap / 3;
        resize(r, ncap < MIN_CAPACITY ? MIN_CAPACITY : ncap);
    }
    return 1;
}

al_task_rec *al_registry_find_serial(const al_registry *r, uint64_t serial)
{
    size_t i;

    if (serial == 0 || r->count == 0)
        return NULL;
    for (i = 0; i < r->capacity; i++)
        if (r->slots[i].task != NULL && r->slots[i].serial == serial)
            return &r->slots[i];
    return NULL;
}

static int by_serial(const void *a, const void *b)
{
    uint64_t x = ((const al_task_rec *)a)->serial, y = ((const al_task_rec *)b)->serial;
    return (x > y) - (x < y);
}

/* Sorts by serial: LSD radix sort on bytes of the serial for large arrays
 * (skipping the bytes all records share), qsort for small ones or when no
 * scratch memory can be had. */
static void sort_by_serial(al_task_rec *a, size_t n)
{
    al_task_rec *tmp, *src = a, *dst;
    size_t count[256], i;
    int shift;

    if (n < 1024 || (tmp = malloc(n * sizeof *tmp)) == NULL) {
        qsort(a, n, sizeof *a, by_serial);
        return;
    }
    dst = tmp;
    for (shift = 0; shift < 48; shift += 8) {
        size_t pos = 0;
        memset(count, 0, sizeof count);
        for (i = 0; i < n; i++)
            count[(src[i].serial >> shift) & 0xff]++;
        if (count[(src[0].serial >> shift) & 0xff] == n)
            continue;               /* every record has this byte */
        for (i = 0; i < 256; i++) {
            size_t c = count[i];
            count[i] = pos;
            pos += c;
        }
        for (i = 0; i < n; i++)
            dst[count[(src[i].serial >> shift) & 0xff]++] = src[i];
        al_task_rec *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    free(tmp);
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
    sort_by_serial(out, k);
    *n = k;
    return out;
}
