/* typeslots.h - narrow access to type slots and descriptors (see typeslots.c).
 * All functions need the GIL; none leaves an exception set. */
#ifndef AL_TYPESLOTS_H
#define AL_TYPESLOTS_H

#include "pyapi.h"

typedef int (*al_initproc)(PyObject *self, PyObject *args, PyObject *kwargs);
typedef void (*al_destructor)(PyObject *self);

al_initproc al_type_get_init(PyObject *type);
void al_type_set_init(PyObject *type, al_initproc fn);
al_destructor al_type_get_dealloc(PyObject *type);
void al_type_set_dealloc(PyObject *type, al_destructor fn);
al_destructor al_type_get_finalize(PyObject *type);
void al_type_set_finalize(PyObject *type, al_destructor fn);
/* Makes instances of a type made by PyType_FromSpec weak-referenceable
 * (the spec's __weaklistoffset__ member needs 3.9+). */
void al_type_set_weaklistoffset(PyObject *type, Py_ssize_t offset);
/* Borrowed tp_dict (may be NULL). */
PyObject *al_type_dict(PyObject *type);
/* Sets name in the type's own dict and invalidates the method cache; works
 * for static and immutable types, where setattr refuses.  0 or -1. */
int al_type_dict_set(PyObject *type, const char *name, PyObject *value);
/* Repoints the slot wrapper type.__dict__[name] (e.g. __init__, which
 * super().__init__ reaches directly) from expected to replacement.
 * Returns -1 and changes nothing when the descriptor is not what we expect. */
int al_swap_slot_wrapper(PyObject *type, const char *name, void *expected, void *replacement);
/* descr.__get__(obj, type(obj)) through the C slot; new ref or NULL. */
PyObject *al_descr_get(PyObject *descr, PyObject *obj);
int al_type_is_subtype(PyObject *obj, PyObject *type);
/* True when container (a coroutine, generator or frame) directly references
 * target, as its tp_traverse reports (locals, value stack; frames one level
 * down).  No Python code runs and nothing is allocated. */
int al_refers_to(PyObject *container, PyObject *target);
/* container's tp_traverse with visit (0 when the type has none): the
 * objects it references directly, as the garbage collector sees them.
 * No Python code runs. */
int al_traverse(PyObject *container, int (*visit)(PyObject *referent, void *arg), void *arg);
/* obj.name read from the instance's own __dict__ only (never a property or
 * __getattr__ of its class): new reference or NULL. */
PyObject *al_instance_attr(PyObject *obj, const char *name);
/* "module.Name" of a type, from tp_name and the type's own __module__
 * entry, without calling any code (malloc'd, or NULL). */
char *al_type_qualified_name(PyObject *type);
/* exc.args through BaseException's own getset (a subclass's property is
 * not called): new reference or NULL. */
PyObject *al_exception_args(PyObject *exc);
/* tp_name of obj's type (borrowed, never NULL). */
const char *al_type_name(PyObject *obj);

#endif
