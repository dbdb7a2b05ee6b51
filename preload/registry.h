/* registry.h - the table of live tracked tasks, keyed by object address.
 *
 * Pure C (no CPython): callers hold the GIL, which serializes every access.
 * Records (32 bytes) live inline in an open-addressing table (Robin Hood
 * linear probing, backward-shift deletion, load factor at most 7/8), so a
 * record pointer is valid only until the next insert or remove: copy what
 * you need before calling anything that can run Python (which can free a
 * task and so remove its record).
 *
 * Contract with the hooks: a task's record is removed in the task type's
 * tp_dealloc *before* the memory is freed, so an address in the table always
 * denotes the live object it was recorded for.
 *
 * Memory: 32 bytes per slot.  The table grows by half (not doubling) when it
 * would pass 7/8 full (to 7/12) and shrinks by a third when it falls below
 * 3/8 (to 9/16), so past its 64-slot minimum it costs 37-85 bytes per live
 * task, 55 right after growing.  A resize allocates the new table, moves the
 * records and frees the old one before returning: the old and new table
 * coexist only for that moment.
 */
#ifndef AL_REGISTRY_H
#define AL_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

enum {
    AL_TASK_REPORTED = 1u << 0,          /* a pending/orphaned finding named it */
    AL_TASK_SPAWNED_IN_SHUTDOWN = 1u << 1,
    AL_TASK_BEFORE_ATTACH = 1u << 2,
    AL_TASK_DYING = 1u << 3,             /* inside tp_dealloc: never touch the object */
    AL_TASK_CANCEL_REQUESTED = 1u << 4,  /* has an entry in hooks_cancel.c's table */
};

/* Serials are 48-bit: 2.8e14 tasks, nearly 9 years at a million per second.
 * The task's loop is not stored (read it from the task: the task keeps its
 * loop alive), nor its creator's address (find the creator by its serial). */
#define AL_SERIAL_MAX ((1ull << 48) - 1)

typedef struct al_task_rec {
    const void *task;                /* key: the task object (not owned) */
    uint64_t serial : 48;            /* 1, 2, ... in order of creation in this process */
    uint64_t flags : 16;
    uint64_t creator_serial : 48;    /* serial of the task running when this one was created, 0 = none */
    uint64_t reserved : 16;          /* zero */
    uint32_t origin;                 /* interned stack id, 0 = unknown */
    uint32_t native;                 /* native stack id (native=1), 0 = none */
} al_task_rec;

typedef struct al_registry {
    al_task_rec *slots;      /* capacity entries; task == NULL marks empty */
    size_t capacity;         /* 0, or at least 64 (any size, not a power of two) */
    size_t count;
    uint64_t next_serial;
} al_registry;

void al_registry_init(al_registry *r);
void al_registry_free(al_registry *r);
/* Inserts or replaces the record for rec->task; assigns rec->serial when it
 * is 0.  Returns the stored record, or NULL when memory is exhausted (the
 * task is then simply not tracked). */
al_task_rec *al_registry_put(al_registry *r, const al_task_rec *rec);
al_task_rec *al_registry_get(const al_registry *r, const void *task);
/* Removes the record of task if any.  Returns 1 when one was removed. */
int al_registry_remove(al_registry *r, const void *task);
/* The live record with this serial, or NULL (a scan of the whole table:
 * report paths that look up many serials use a sorted select instead). */
al_task_rec *al_registry_find_serial(const al_registry *r, uint64_t serial);
/* Copies the records for which keep(rec, ctx) is true into a malloc'd array
 * (caller frees), in creation order; *n receives the count.  keep may be NULL (all records).
 * keep must not call anything that can change the table.
 * Returns NULL with *n = 0 when there are none or memory is exhausted. */
al_task_rec *al_registry_select(const al_registry *r,
                                int (*keep)(const al_task_rec *rec, void *ctx),
                                void *ctx, size_t *n);

#endif
