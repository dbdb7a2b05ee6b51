/* gcphase.c - the cycle collector's start and stop, for hooks that hold work
 * back until a collection ends.
 *
 * One entry in gc.callbacks, appended the first time a hook needs it (a
 * resource whose type has a finalizer, a task reported from the collector),
 * never before: a program without such objects sees gc.callbacks unchanged.
 * A program that empties gc.callbacks loses the hold-back: resources are
 * then reported without their library's message, and tasks found by the
 * collector each build their own snapshot of the live tasks.
 */
#include "al.h"

static int g_collecting;        /* between "start" and "stop" */
static int g_state;             /* 0 not yet, 1 registered, -1 failed */

/* gc.callbacks entry: (phase, info). */
static PyObject *on_gc_phase(PyObject *self, PyObject *args)
{
    PyObject *phase = args && PyTuple_Check(args) && PyTuple_Size(args) > 0 ? PyTuple_GetItem(args, 0) : NULL;

    if (phase != NULL && PyUnicode_Check(phase)) {
        if (PyUnicode_CompareWithASCIIString(phase, "start") == 0) {
            g_collecting = 1;
        } else if (PyUnicode_CompareWithASCIIString(phase, "stop") == 0) {
            al_exc_state exc;
            g_collecting = 0;
            al_exc_save(&exc);
            al_resources_gc_stop();
            al_tasks_gc_stop();
            al_exc_restore(&exc);
        }
    }
    if (PyErr_Occurred())
        PyErr_Clear();
    Py_INCREF(Py_None);
    return Py_None;
}

static PyMethodDef on_gc_phase_def = {"asyncleak_gc_phase", on_gc_phase, METH_VARARGS, NULL};

int al_gc_watch(void)
{
    PyObject *gc, *list, *fn;

    if (g_state != 0)
        return g_state > 0;
    g_state = -1;
    gc = PyImport_ImportModule("gc");
    list = al_getattr(gc, "callbacks");
    fn = list && PyList_Check(list) ? PyCFunction_New(&on_gc_phase_def, NULL) : NULL;
    if (fn != NULL && PyList_Append(list, fn) == 0)
        g_state = 1;
    Py_XDECREF(fn);
    Py_XDECREF(list);
    Py_XDECREF(gc);
    if (PyErr_Occurred())
        PyErr_Clear();
    return g_state > 0;
}

int al_gc_collecting(void)
{
    return g_collecting;
}
