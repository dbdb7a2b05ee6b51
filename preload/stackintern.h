/* stackintern.h - one record per distinct raw stack (pure C, GIL serializes).
 *
 * A raw stack is an array of (code object, instruction byte offset) pairs,
 * innermost first, as captured by stacks.c.  Interning returns a small id;
 * a million tasks created at one line share one record.  Records are never
 * freed while the process runs (memory is O(distinct stacks)); the first
 * time a stack is seen, retain() is called on each code pointer so it stays
 * alive (and its address unique) as long as the record.
 */
#ifndef AL_STACKINTERN_H
#define AL_STACKINTERN_H

#include <stdint.h>

#include "json.h"

typedef struct al_raw_frame {
    const void *code;   /* code object */
    int lasti;          /* byte offset of the current instruction, or -1 */
} al_raw_frame;

typedef struct al_stack_rec {
    uint32_t id;
    uint32_t depth;
    int truncated;           /* the walk stopped at stack_depth */
    uint64_t hash;
    al_raw_frame *frames;    /* innermost first */
    al_json *resolved;       /* cache owned by the record, filled by stacks.c */
    al_json *origin;         /* the trimmed stack object findings share (al_json_ref),
                              * owned by the record, filled by hooks_task.c */
} al_stack_rec;

/* Returns the id (>= 1) of the record equal to frames[0..n), creating it when
 * new; 0 when memory is exhausted.  retain may be NULL. */
uint32_t al_stack_intern(const al_raw_frame *frames, uint32_t n, int truncated,
                         void (*retain)(const void *code));
/* The record of id, or NULL for 0 and unknown ids. */
al_stack_rec *al_stack_get(uint32_t id);
uint32_t al_stack_count(void);
/* Forgets every record (unit tests only: codes are not released). */
void al_stack_reset(void);

#endif
