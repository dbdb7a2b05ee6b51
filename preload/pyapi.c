/* pyapi.c - detection of the running CPython and small error-safe helpers. */
#include "pyapi.h"

#include <stdlib.h>
#include <string.h>

/* Declared weak here, at compile time, so the compiler keeps the null tests
 * (a symbol weakened only after compiling is assumed non-null; bash crashes). */
#pragma weak PySys_AddAuditHook
#pragma weak Py_GetVersion
#pragma weak _Py_IsFinalizing
#pragma weak Py_IsFinalizing
#pragma weak PyInterpreterState_Main
#pragma weak PyThreadState_Get

al_python al_py;

int al_python_present(void)
{
    return &PySys_AddAuditHook != NULL && &Py_GetVersion != NULL;
}

int al_pyapi_init(void)
{
    const char *v = Py_GetVersion();
    size_t n = 0;

    if (v == NULL)
        return -1;
    while (n < sizeof al_py.version - 1 && v[n] != '\0' && v[n] != ' ')
        n++;
    memcpy(al_py.version, v, n);
    al_py.version[n] = '\0';
    al_py.major = atoi(al_py.version);
    al_py.minor = strchr(al_py.version, '.') ? atoi(strchr(al_py.version, '.') + 1) : 0;
    if (al_py.major != 3 || al_py.minor < 8 || al_py.minor > 13)
        return -1;
    return 0;
}

int al_in_main_interpreter(void)
{
    /* PyThreadState starts with prev, next, interp in every 3.8-3.13 build. */
    PyThreadState *ts;

    if (&PyInterpreterState_Main == NULL || &PyThreadState_Get == NULL)
        return 0;
    ts = PyThreadState_Get();
    return ts != NULL && ((PyInterpreterState **)ts)[2] == PyInterpreterState_Main();
}

int al_py_finalizing(void)
{
    if (&Py_IsFinalizing != NULL)
        return Py_IsFinalizing();
    if (&_Py_IsFinalizing != NULL)
        return _Py_IsFinalizing();
    return 0;
}

PyObject *al_getattr(PyObject *obj, const char *name)
{
    PyObject *r;

    if (obj == NULL)
        return NULL;
    r = PyObject_GetAttrString(obj, name);
    if (r == NULL)
        PyErr_Clear();
    return r;
}

const char *al_str_utf8(PyObject *s)
{
    const char *u;

    if (s == NULL || !PyUnicode_Check(s))
        return NULL;
    u = PyUnicode_AsUTF8AndSize(s, NULL);
    if (u == NULL) {
        /* Lone surrogates (from undecodable file names) cannot be UTF-8. */
        PyErr_Clear();
    }
    return u;
}

char *al_attr_strdup(PyObject *obj, const char *name)
{
    PyObject *v = al_getattr(obj, name);
    const char *u = al_str_utf8(v);
    char *r = u ? strdup(u) : NULL;

    Py_XDECREF(v);
    return r;
}

int al_getattr_exists(PyObject *obj, const char *name)
{
    PyObject *v = al_getattr(obj, name);
    Py_XDECREF(v);
    return v != NULL;
}
