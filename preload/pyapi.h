/* pyapi.h - the CPython API as the preload sees it: one build for 3.8-3.13.
 *
 * Compiled against Debian's Python.h under Py_LIMITED_API=0x03080000; every
 * CPython symbol is made weak after compiling (objcopy --weaken), so nothing
 * here may be called before al_python_present() says the interpreter exists.
 *
 * Hazards:
 *  - Reference counting goes through Py_IncRef/Py_DecRef (functions of the
 *    running interpreter), never the header's inline macros: 3.12+ has
 *    immortal objects whose counts the 3.8 inline arithmetic would corrupt.
 *  - Functions newer than 3.8 or outside the limited API are declared here
 *    and only called behind al_py.minor gates.
 */
#ifndef AL_PYAPI_H
#define AL_PYAPI_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#undef Py_INCREF
#undef Py_DECREF
#undef Py_XINCREF
#undef Py_XDECREF
#undef Py_CLEAR
#define Py_INCREF(o) Py_IncRef((PyObject *)(o))
#define Py_DECREF(o) Py_DecRef((PyObject *)(o))
#define Py_XINCREF(o) Py_IncRef((PyObject *)(o))   /* Py_IncRef accepts NULL */
#define Py_XDECREF(o) Py_DecRef((PyObject *)(o))   /* Py_DecRef accepts NULL */
#define Py_CLEAR(o) do { PyObject *al_tmp_ = (PyObject *)(o); (o) = NULL; Py_DecRef(al_tmp_); } while (0)

/* Not in the 3.8 limited API, present in every 3.8-3.13 build. */
typedef int (*al_audit_hook_fn)(const char *event, PyObject *args, void *data);
PyAPI_FUNC(int) PySys_AddAuditHook(al_audit_hook_fn hook, void *data);
PyAPI_FUNC(PyFrameObject *) PyEval_GetFrame(void);
PyAPI_FUNC(int) PyCode_Addr2Line(PyCodeObject *code, int addr);
PyAPI_FUNC(PyObject *) PyMethod_New(PyObject *func, PyObject *self);
PyAPI_FUNC(PyInterpreterState *) PyInterpreterState_Main(void);
PyAPI_FUNC(PyInterpreterState *) PyInterpreterState_Get(void);
PyAPI_FUNC(int) Py_AtExit(void (*func)(void));
PyAPI_FUNC(int) _Py_IsFinalizing(void);               /* 3.8-3.12 */
PyAPI_FUNC(int) Py_IsFinalizing(void);                /* 3.13+ */
PyAPI_FUNC(const char *) PyUnicode_AsUTF8AndSize(PyObject *unicode, Py_ssize_t *size);
/* 3.9+ (PyFrame_GetCode comes from the header) */
PyAPI_FUNC(PyFrameObject *) PyFrame_GetBack(PyFrameObject *frame);
/* 3.11+ */
PyAPI_FUNC(int) PyFrame_GetLasti(PyFrameObject *frame);

/* Facts about the running interpreter, filled by al_pyapi_init(). */
typedef struct al_python {
    int major, minor;
    char version[32];       /* "3.11.2" */
} al_python;
extern al_python al_py;

/* True when this process has a CPython 3.8+ runtime (the gate symbol is weak
 * at compile time, so the test is real).  Async-signal-safe. */
int al_python_present(void);
/* Reads the version (Py_GetVersion), usable before Py_Initialize.  Returns 0
 * when it is 3.8-3.13, -1 otherwise (unsupported: the caller stays inert). */
int al_pyapi_init(void);
/* True in the main interpreter's threads; false in subinterpreters. GIL held. */
int al_in_main_interpreter(void);
/* True while the interpreter is being finalized. */
int al_py_finalizing(void);

/* Saved exception state of the caller: every hook that may run CPython code
 * brackets it with al_exc_save/al_exc_restore so the program sees exactly the
 * exception state it had. */
typedef struct { PyObject *type, *value, *tb; } al_exc_state;
static inline void al_exc_save(al_exc_state *s) { PyErr_Fetch(&s->type, &s->value, &s->tb); }
static inline void al_exc_restore(al_exc_state *s) { PyErr_Restore(s->type, s->value, s->tb); }

/* Small helpers; all return new references or NULL without an exception set. */
PyObject *al_getattr(PyObject *obj, const char *name);
/* UTF-8 of a str, or NULL (no exception left).  Borrowed from the object. */
const char *al_str_utf8(PyObject *s);
/* True when obj has the attribute (no exception left). */
int al_getattr_exists(PyObject *obj, const char *name);
/* strdup of str(obj) attribute, or NULL. */
char *al_attr_strdup(PyObject *obj, const char *name);

#endif
