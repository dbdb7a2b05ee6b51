/* alnative.c - a tiny CPython extension for the native-stack tests
 * (tests/integration/test_native.py): it creates asyncio tasks from C, so a
 * task's origin runs through a C function of a library loaded late.
 *
 *   alnative.spawn_from_c(coro)        asyncio.ensure_future(coro), called from C
 *   alnative.create_task_from_c(coro)  asyncio.get_running_loop().create_task(coro)
 *   alnative.call_from_c(func)         func(), called from C (a Python callback)
 *
 * Lines the tests look for carry a "SPAWN:name" or "CALL:name" marker.  Built by build.sh
 * with -g -O0 against the headers of the interpreter that imports it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *spawn_from_c(PyObject *self, PyObject *coro)
{
    PyObject *asyncio, *task;

    asyncio = PyImport_ImportModule("asyncio");
    if (asyncio == NULL)
        return NULL;
    task = PyObject_CallMethod(asyncio, "ensure_future", "O", coro);   /* SPAWN:spawn_from_c */
    Py_DECREF(asyncio);
    return task;
}

static PyObject *create_task_from_c(PyObject *self, PyObject *coro)
{
    PyObject *asyncio, *loop, *task;

    asyncio = PyImport_ImportModule("asyncio");
    if (asyncio == NULL)
        return NULL;
    loop = PyObject_CallMethod(asyncio, "get_running_loop", NULL);
    Py_DECREF(asyncio);
    if (loop == NULL)
        return NULL;
    task = PyObject_CallMethod(loop, "create_task", "O", coro);   /* SPAWN:create_task_from_c */
    Py_DECREF(loop);
    return task;
}

static PyObject *call_from_c(PyObject *self, PyObject *func)
{
    return PyObject_CallObject(func, NULL);   /* CALL:call_from_c */
}

static PyMethodDef methods[] = {
    {"spawn_from_c", spawn_from_c, METH_O, "asyncio.ensure_future(coro), called from C."},
    {"create_task_from_c", create_task_from_c, METH_O, "get_running_loop().create_task(coro), from C."},
    {"call_from_c", call_from_c, METH_O, "func(), called from C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "alnative", "asyncleak native-stack test helper", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_alnative(void)
{
    return PyModule_Create(&module);
}
