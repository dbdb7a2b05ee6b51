/* stacks.h - Python stacks: captured cheaply at hooks, resolved late.
 * Every function needs the GIL and leaves no exception set; callers that may
 * run with an exception pending save and restore it around them. */
#ifndef AL_STACKS_H
#define AL_STACKS_H

#include <stdint.h>

#include "json.h"
#include "pyapi.h"

#define AL_MAX_STACK_DEPTH 256

/* Chooses the frame walk for the running version and checks it against the
 * interpreter's own line numbers.  Call once, from Python code (a frame must
 * exist).  Returns -1 when no walk can be trusted (stacks are then empty). */
int al_stacks_init(void);
/* Interns the current Python stack (at most max_depth frames, innermost
 * first) and returns its id; 0 when there is no frame or memory ran out. */
uint32_t al_stack_capture(int max_depth);
/* A new stack object {"frames": [...]} of id, outermost first, with the
 * trailing (innermost) frames of asyncio's own machinery removed when
 * trim_asyncio is set; {"frames": []} for id 0; NULL on OOM. */
al_json *al_stack_resolve(uint32_t id, int trim_asyncio);
/* The innermost frame {"file", "line", "function"} of stack id, borrowed
 * from the record's cache of resolved frames (valid while the process runs;
 * resolved once per distinct stack), or NULL for 0 or an empty stack. */
const al_json *al_stack_innermost(uint32_t id);
/* Calls fn(value, ctx) for each bound local variable of the Python frames
 * running on this thread (innermost first, at most max_frames): references
 * of running code, never of a suspended coroutine.  Returns the number of
 * frames looked at, or -1 when the running version's frame layout is not
 * known to this build (the caller must then assume nothing). */
int al_running_locals(int max_frames, void (*fn)(PyObject *value, void *ctx), void *ctx);
/* A frame object {"file", "line", "function"} for a code object and line. */
al_json *al_frame_json(PyObject *code, int line);
/* The code object of a frame (new reference), on every version. */
PyObject *al_frame_code(PyFrameObject *f);
/* The bytes of a str (surrogate-escaped bytes restored), malloc'd, or NULL. */
char *al_str_bytes(PyObject *s);

#endif
