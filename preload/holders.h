/* holders.h - can a suspended task still reference an object?  A reference
 * count account that lets the closed_while_in_use check skip its walk over
 * every pending task (see holders.c).  GIL held; no exception left set. */
#ifndef AL_HOLDERS_H
#define AL_HOLDERS_H

#include "pyapi.h"

/* Called from a wrapper's before-hook of a method of obj, with the call's
 * args and kwargs.  Returns 0 when every reference to obj is accounted for
 * by holders that are not suspended coroutines (so no pending task's frames
 * can hold it), 1 when some reference is unexplained and the caller must
 * look at the pending tasks. */
int al_maybe_held_by_suspended_code(PyObject *obj, PyObject *args, PyObject *kwargs);

#endif
