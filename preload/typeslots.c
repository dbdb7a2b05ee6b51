/* typeslots.c - the one file that touches PyTypeObject and descriptor internals.
 *
 * PyTypeObject is opaque under the limited API, but its layout is the same in
 * every release build of 3.8-3.13 on x86-64 (checked below at compile time
 * against Debian's 3.11 headers, and al_pyapi_init() refuses other versions).
 * Everything else in the preload uses the limited API through pyapi.h.
 */
#undef Py_LIMITED_API
#include "pyapi.h"
#include "typeslots.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(PyTypeObject, tp_dealloc) == 48, "tp_dealloc offset");
_Static_assert(offsetof(PyTypeObject, tp_flags) == 168, "tp_flags offset");
_Static_assert(offsetof(PyTypeObject, tp_dict) == 264, "tp_dict offset");
_Static_assert(offsetof(PyTypeObject, tp_descr_get) == 272, "tp_descr_get offset");
_Static_assert(offsetof(PyTypeObject, tp_init) == 296, "tp_init offset");
_Static_assert(offsetof(PyTypeObject, tp_finalize) == 392, "tp_finalize offset");
/* wrapper_descriptor: PyDescr_COMMON (head, d_type, d_name, d_qualname), d_base, d_wrapped */
_Static_assert(offsetof(PyWrapperDescrObject, d_wrapped) == 48, "d_wrapped offset");

#define TYPE(t) ((PyTypeObject *)(t))

al_initproc al_type_get_init(PyObject *type) { return (al_initproc)TYPE(type)->tp_init; }
void al_type_set_init(PyObject *type, al_initproc fn) { TYPE(type)->tp_init = (initproc)fn; }
al_destructor al_type_get_dealloc(PyObject *type) { return (al_destructor)TYPE(type)->tp_dealloc; }
void al_type_set_dealloc(PyObject *type, al_destructor fn) { TYPE(type)->tp_dealloc = (destructor)fn; }

al_destructor al_type_get_finalize(PyObject *type) { return (al_destructor)TYPE(type)->tp_finalize; }
void al_type_set_finalize(PyObject *type, al_destructor fn) { TYPE(type)->tp_finalize = (destructor)fn; }

void al_type_set_weaklistoffset(PyObject *type, Py_ssize_t offset)
{
    TYPE(type)->tp_weaklistoffset = offset;
}

PyObject *al_type_dict(PyObject *type)
{
    return TYPE(type)->tp_dict;
}

int al_type_dict_set(PyObject *type, const char *name, PyObject *value)
{
    PyObject *dict = TYPE(type)->tp_dict;
    int rc;

    if (dict == NULL)
        return -1;
    rc = PyDict_SetItemString(dict, name, value);
    if (rc < 0) {
        PyErr_Clear();
        return -1;
    }
    PyType_Modified(TYPE(type));
    return 0;
}

int al_swap_slot_wrapper(PyObject *type, const char *name, void *expected, void *replacement)
{
    PyObject *dict = TYPE(type)->tp_dict;
    PyObject *descr = dict ? PyDict_GetItemString(dict, name) : NULL;   /* borrowed */
    PyWrapperDescrObject *wd;

    if (descr == NULL || Py_TYPE(descr) != &PyWrapperDescr_Type)
        return -1;
    wd = (PyWrapperDescrObject *)descr;
    if (wd->d_wrapped != expected)
        return -1;
    wd->d_wrapped = replacement;
    return 0;
}

PyObject *al_descr_get(PyObject *descr, PyObject *obj)
{
    descrgetfunc get = Py_TYPE(descr)->tp_descr_get;
    PyObject *r;

    if (get == NULL)
        return NULL;
    r = get(descr, obj, (PyObject *)Py_TYPE(obj));
    if (r == NULL)
        PyErr_Clear();
    return r;
}

int al_type_is_subtype(PyObject *obj, PyObject *type)
{
    return PyType_IsSubtype(Py_TYPE(obj), TYPE(type));
}

const char *al_type_name(PyObject *obj)
{
    return Py_TYPE(obj)->tp_name;
}

typedef struct { PyObject *target; int depth; } refers_ctx;

static int refers_visit(PyObject *obj, void *arg)
{
    refers_ctx *c = arg;

    if (obj == c->target)
        return 1;
    /* One level down into frames: before 3.11 a coroutine's locals live in
     * its frame object, which the coroutine's traverse visits. */
    if (c->depth == 0 && obj != NULL && PyFrame_Check(obj)) {
        int r;
        c->depth++;
        r = Py_TYPE(obj)->tp_traverse ? Py_TYPE(obj)->tp_traverse(obj, refers_visit, c) : 0;
        c->depth--;
        return r;
    }
    return 0;
}

int al_refers_to(PyObject *container, PyObject *target)
{
    refers_ctx c = {target, 0};
    traverseproc tr = Py_TYPE(container)->tp_traverse;

    return tr != NULL && tr(container, refers_visit, &c) == 1;
}

int al_traverse(PyObject *container, int (*visit)(PyObject *referent, void *arg), void *arg)
{
    traverseproc tr = Py_TYPE(container)->tp_traverse;

    return tr != NULL ? tr(container, visit, arg) : 0;
}

PyObject *al_instance_attr(PyObject *obj, const char *name)
{
    PyObject *mro = Py_TYPE(obj)->tp_mro, *key, *r;
    Py_ssize_t i;

    /* A class-level attribute may be a property: program code.  Only what
     * lives in the instance's own __dict__ is read. */
    for (i = 0; mro != NULL && i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *dict = ((PyTypeObject *)PyTuple_GET_ITEM(mro, i))->tp_dict;
        if (dict != NULL && PyDict_GetItemString(dict, name) != NULL)
            return NULL;
    }
    key = PyUnicode_FromString(name);
    r = key ? PyObject_GenericGetAttr(obj, key) : NULL;
    Py_XDECREF(key);
    if (r == NULL)
        PyErr_Clear();
    return r;
}

/* type.__dict__[name] or BaseException.__dict__[name] etc.: a descriptor of
 * a static type, found through its __dict__ proxy (3.12+ keeps no tp_dict
 * for static builtin types). */
static PyObject *static_type_descr(PyObject *type, const char *name)
{
    PyObject *proxy = PyObject_GetAttrString(type, "__dict__");
    PyObject *d = proxy ? PyMapping_GetItemString(proxy, name) : NULL;

    Py_XDECREF(proxy);
    if (d == NULL)
        PyErr_Clear();
    return d;
}

char *al_type_qualified_name(PyObject *type)
{
    static PyObject *qual_descr, *mod_descr;
    PyObject *q, *m;
    const char *qs, *ms;
    char *r = NULL;

    /* type's own getsets, called directly: a metaclass's __getattribute__
     * is never involved. */
    if (qual_descr == NULL)
        qual_descr = static_type_descr((PyObject *)&PyType_Type, "__qualname__");
    if (mod_descr == NULL)
        mod_descr = static_type_descr((PyObject *)&PyType_Type, "__module__");
    q = qual_descr ? al_descr_get(qual_descr, type) : NULL;
    m = mod_descr ? al_descr_get(mod_descr, type) : NULL;
    qs = q && PyUnicode_Check(q) ? PyUnicode_AsUTF8(q) : NULL;
    ms = m && PyUnicode_Check(m) ? PyUnicode_AsUTF8(m) : NULL;
    if (PyErr_Occurred())
        PyErr_Clear();
    if (qs == NULL)
        r = strdup(TYPE(type)->tp_name);
    else if (ms == NULL || strcmp(ms, "builtins") == 0)
        r = strdup(qs);
    else if (asprintf(&r, "%s.%s", ms, qs) < 0)
        r = NULL;
    Py_XDECREF(q);
    Py_XDECREF(m);
    return r;
}

PyObject *al_exception_args(PyObject *exc)
{
    static PyObject *descr;

    if (descr == NULL)
        descr = static_type_descr(PyExc_BaseException, "args");
    return descr ? al_descr_get(descr, exc) : NULL;
}
