/* wrapper.c - the al_wrapper callable type (see wrapper.h). */
#include "wrapper.h"

#include <stddef.h>
#include <string.h>

#include "typeslots.h"

typedef struct {
    PyObject_HEAD
    PyObject *orig;
    PyObject *weaklist;     /* weak references to the wrapper (WeakMethod, ...) */
    al_before_fn before;
    al_after_fn after;
} al_wrapper;

static PyObject *g_wrapper_type;
static PyObject *g_raised;      /* see al_wrapper_raised(); GIL held */

PyObject *al_wrapper_raised(void)
{
    return g_raised;
}

static PyObject *wrapper_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    al_wrapper *w = (al_wrapper *)self;
    al_exc_state exc;
    PyObject *result;
    int token = 0;

    if (w->before != NULL) {
        token = w->before(args, kwargs);
        if (PyErr_Occurred())
            PyErr_Clear();
    }
    result = PyObject_Call(w->orig, args, kwargs);
    if (w->after != NULL) {
        PyObject *outer = g_raised;

        al_exc_save(&exc);
        g_raised = result == NULL ? exc.type : NULL;
        w->after(args, kwargs, result, token);
        g_raised = outer;
        if (PyErr_Occurred())
            PyErr_Clear();
        al_exc_restore(&exc);
    }
    return result;
}

static PyObject *wrapper_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

/* Pickled and copied by reference, like the function it stands for:
 * pickle saves it as module.qualname (which resolves to the wrapper), copy
 * returns it unchanged. */
static PyObject *wrapper_reduce(PyObject *self, PyObject *unused)
{
    return PyObject_GetAttrString(((al_wrapper *)self)->orig, "__qualname__");
}

static PyMethodDef wrapper_methods[] = {
    {"__reduce__", wrapper_reduce, METH_NOARGS, NULL},
    {"__reduce_ex__", wrapper_reduce, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyObject *wrapper_getattro(PyObject *self, PyObject *name)
{
    al_wrapper *w = (al_wrapper *)self;

    if (PyUnicode_Check(name)) {
        if (PyUnicode_CompareWithASCIIString(name, "__wrapped__") == 0) {
            Py_INCREF(w->orig);
            return w->orig;
        }
        if (PyUnicode_CompareWithASCIIString(name, "__reduce__") == 0
            || PyUnicode_CompareWithASCIIString(name, "__reduce_ex__") == 0)
            return PyObject_GenericGetAttr(self, name);
    }
    return PyObject_GetAttr(w->orig, name);
}

static PyObject *wrapper_repr(PyObject *self)
{
    return PyObject_Repr(((al_wrapper *)self)->orig);
}

static void wrapper_dealloc(PyObject *self)
{
    PyObject *type = (PyObject *)Py_TYPE(self);

    if (((al_wrapper *)self)->weaklist != NULL)
        PyObject_ClearWeakRefs(self);
    Py_CLEAR(((al_wrapper *)self)->orig);
    PyObject_Free(self);
    Py_DECREF(type);
}

static PyType_Slot wrapper_slots[] = {
    {Py_tp_call, (void *)wrapper_call},
    {Py_tp_descr_get, (void *)wrapper_descr_get},
    {Py_tp_getattro, (void *)wrapper_getattro},
    {Py_tp_repr, (void *)wrapper_repr},
    {Py_tp_dealloc, (void *)wrapper_dealloc},
    {Py_tp_methods, (void *)wrapper_methods},
    {0, NULL},
};

/* Py_TPFLAGS_METHOD_DESCRIPTOR (3.8+): calls through an instance pass self
 * as the first argument without creating a bound method. */
#define AL_TPFLAGS_METHOD_DESCRIPTOR (1UL << 17)

static PyType_Spec wrapper_spec = {
    "asyncleak.wrapper", sizeof(al_wrapper), 0,
    Py_TPFLAGS_DEFAULT | AL_TPFLAGS_METHOD_DESCRIPTOR, wrapper_slots,
};

int al_wrapper_type_init(void)
{
    if (g_wrapper_type != NULL)
        return 0;
    g_wrapper_type = PyType_FromSpec(&wrapper_spec);
    if (g_wrapper_type == NULL) {
        PyErr_Clear();
        return -1;
    }
    al_type_set_weaklistoffset(g_wrapper_type, offsetof(al_wrapper, weaklist));
    return 0;
}

int al_wrap_attr(PyObject *owner, const char *name, al_before_fn before, al_after_fn after)
{
    PyObject *orig = NULL, *w = NULL;
    int rc = -1;

    if (g_wrapper_type == NULL || owner == NULL)
        return -1;
    /* The owner's own attribute, not one inherited through the MRO. */
    if (PyType_Check(owner)) {
        PyObject *dict = al_type_dict(owner);
        orig = dict ? PyDict_GetItemString(dict, name) : NULL;
        Py_XINCREF(orig);
        /* Inherited (e.g. a resource class without its own __init__): wrap
         * what the class resolves to, in the class itself. */
        if (orig == NULL)
            orig = al_getattr(owner, name);
    } else {
        orig = al_getattr(owner, name);
    }
    if (orig == NULL || Py_TYPE(orig) == (PyTypeObject *)g_wrapper_type)
        goto out;
    w = PyType_GenericAlloc((PyTypeObject *)g_wrapper_type, 0);
    if (w == NULL)
        goto out;
    Py_INCREF(orig);
    ((al_wrapper *)w)->orig = orig;
    ((al_wrapper *)w)->before = before;
    ((al_wrapper *)w)->after = after;
    /* setattr keeps a Python class's slots (e.g. tp_init for __init__) in
     * step; static and immutable types refuse it and get a dict write. */
    rc = PyObject_SetAttrString(owner, name, w);
    if (rc < 0 && PyType_Check(owner)) {
        PyErr_Clear();
        rc = al_type_dict_set(owner, name, w);
    }
out:
    if (PyErr_Occurred())
        PyErr_Clear();
    Py_XDECREF(w);
    Py_XDECREF(orig);
    return rc < 0 ? -1 : 0;
}
