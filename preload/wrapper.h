/* wrapper.h - transparent C wrappers around Python callables (methods, functions).
 *
 * A wrapper calls before(), then the original with the same arguments, then
 * after() with the result (NULL when the original raised), and returns the
 * original's result or exception unchanged.  It adds no Python frame to
 * tracebacks, binds like a method when stored in a class, and forwards every
 * attribute (__name__, __doc__, __wrapped__, __class__, ...) to the original,
 * so introspection sees the original function.
 *
 * Hook contract: called with the GIL, with no exception pending; anything a
 * hook leaves pending is cleared (and the original's exception restored).
 * Hooks must not call the wrapped function themselves.
 */
#ifndef AL_WRAPPER_H
#define AL_WRAPPER_H

#include "pyapi.h"

/* args is the positional tuple (self first for methods); kwargs may be NULL.
 * The int returned by before is handed to after as `token`. */
typedef int (*al_before_fn)(PyObject *args, PyObject *kwargs);
typedef void (*al_after_fn)(PyObject *args, PyObject *kwargs, PyObject *result, int token);

int al_wrapper_type_init(void);
/* Inside an after() hook: the type of the exception the original raised
 * (borrowed), or NULL when it returned.  Read it first thing: it is only
 * valid until the hook runs Python code (which may switch threads). */
PyObject *al_wrapper_raised(void);
/* Replaces owner.name (a class, static/immutable types included, or a module)
 * by a wrapper of its current value.  Returns 0, or -1 (nothing changed)
 * when the attribute is missing or already wrapped by us. */
int al_wrap_attr(PyObject *owner, const char *name, al_before_fn before, al_after_fn after);

#endif
