/* holders.c - a reference count account for obj at a call of one of its
 * methods (closed_while_in_use: close()).
 *
 * Every reference to obj is held by something.  Counted here, each exactly
 * once and only when it is certainly there:
 *  - the call's own: the argument tuple and keyword dict CPython built for
 *    the wrapper, and one for the caller's reference to the callee (its
 *    stack slot holding self, or the bound method object);
 *  - the local variables of the Python frames running on this thread
 *    (stacks.c reads their slots; running code, not a suspended task);
 *  - the objects next to obj that point back to it: the objects obj
 *    references (its protocol, transport, reader, ...), the objects the
 *    running frames' locals are (self of self.writer.close()) and, before
 *    3.11, their instance dicts (a StreamReaderProtocol's _stream_writer).
 * Only instances of classes defined in Python (heap types) and their
 * instance dicts are looked into: coroutines, generators and frames, the
 * holders the closed_while_in_use walk looks for, are static types and never
 * counted.  When the count equals Py_REFCNT(obj), no suspended coroutine
 * holds obj and the walk is skipped; otherwise (including an account that
 * comes out too high, which would mean an assumption above failed) the walk
 * runs and stays exact.
 *
 * Hazard: the locals of running frames are dereferenced (to look into the
 * objects they are), so every frame of the chain must hold live references.
 * 3.8-3.10 unlink a frame before freeing it (Py_CLEAR of each slot); 3.11.1+
 * unlink it before clearing it (GH-99729).  3.11.0 cleared a frame still
 * linked, so a finalizer run by that clearing could see freed slots: there
 * the account is not made (the walk runs).
 *
 * Hazard: the caller's reference is assumed, not seen.  C code calling the
 * method with a reference it borrowed would make it one too many; the only
 * case that could hide a finding is a borrowed reference whose owner is a
 * suspended coroutine's frame slot, which C code cannot reach.
 */
#include "holders.h"
#include "al.h"
#include "stacks.h"
#include "typeslots.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Not in the limited API; exported by every 3.8-3.13 build.  Before 3.11 it
 * only reads the instance's dict pointer (3.11+ would build the dict). */
PyAPI_FUNC(PyObject **) _PyObject_GetDictPtr(PyObject *obj);

enum { MAX_NODES = 32, MAX_RUNNING_FRAMES = 8 };

typedef struct {
    PyObject *target;
    PyObject *seen[MAX_NODES];  /* holders traversed, each once */
    int nseen;
    PyObject *next[MAX_NODES];  /* neighbours of target still to traverse */
    int nnext;
    Py_ssize_t refs;            /* references to target found in holders */
    int collect;                /* while traversing target: gather neighbours */
} account;

static int was_seen(const account *a, PyObject *o)
{
    int i;

    for (i = 0; i < a->nseen; i++)
        if (a->seen[i] == o)
            return 1;
    return 0;
}

/* An instance of a class defined in Python: its references are attributes. */
static int is_python_instance(PyObject *o)
{
    return !PyType_Check(o) && (PyType_GetFlags(Py_TYPE(o)) & Py_TPFLAGS_HEAPTYPE) != 0;
}

/* The instance dict of o, before 3.11 (a separate object), or NULL. */
static PyObject *own_dict(PyObject *o)
{
    PyObject **p;

    if (al_py.minor >= 11 || !is_python_instance(o))
        return NULL;
    p = _PyObject_GetDictPtr(o);
    return p != NULL && *p != NULL && PyDict_CheckExact(*p) ? *p : NULL;
}

/* Queues o to have its references back to the target counted. */
static void add_neighbour(account *a, PyObject *o)
{
    if (is_python_instance(o) && a->nnext < MAX_NODES)
        a->next[a->nnext++] = o;
}

static int visit(PyObject *o, void *arg)
{
    account *a = arg;

    if (o == a->target)
        a->refs++;
    else if (a->collect && o != NULL)
        add_neighbour(a, o);
    return 0;
}

/* Counts holder's references to the target (and its instance dict's). */
static void count_in(account *a, PyObject *holder, int collect)
{
    PyObject *dict;

    if (holder == NULL || was_seen(a, holder) || a->nseen >= MAX_NODES - 1)
        return;
    a->seen[a->nseen++] = holder;
    a->collect = collect;
    al_traverse(holder, visit, a);
    dict = own_dict(holder);
    if (dict != NULL && !was_seen(a, dict)) {
        a->seen[a->nseen++] = dict;
        al_traverse(dict, visit, a);
    }
    a->collect = 0;
}

static Py_ssize_t call_refs(PyObject *obj, PyObject *args, PyObject *kwargs)
{
    Py_ssize_t n = 0, i, pos = 0;
    PyObject *key, *value;

    for (i = 0; args != NULL && PyTuple_Check(args) && i < PyTuple_Size(args); i++)
        n += PyTuple_GetItem(args, i) == obj;
    while (kwargs != NULL && PyDict_Check(kwargs) && PyDict_Next(kwargs, &pos, &key, &value))
        n += value == obj;
    return n;
}

typedef struct { account *a; int locals; } locals_ctx;

/* A running frame's local: obj itself, or an object that may point to it. */
static void on_local(PyObject *value, void *arg)
{
    locals_ctx *c = arg;

    if (value == c->a->target)
        c->locals++;
    else
        add_neighbour(c->a, value);
}

/* 3.11.0 exactly ("3.11.0", "3.11.0+", not "3.11.10"). */
static int is_3_11_0(void)
{
    return strncmp(al_py.version, "3.11.0", 6) == 0 && !isdigit((unsigned char)al_py.version[6]);
}

int al_maybe_held_by_suspended_code(PyObject *obj, PyObject *args, PyObject *kwargs)
{
    account a = {obj, {0}, 0, {0}, 0, 0, 0};
    locals_ctx lc = {&a, 0};
    Py_ssize_t refcnt = Py_REFCNT(obj), explained, call;
    int frames, i;

    if (is_3_11_0())
        return 1;
    frames = al_running_locals(MAX_RUNNING_FRAMES, on_local, &lc);
    if (frames <= 0)
        return 1;       /* unknown frame layout, or called from C alone */
    /* obj's own references to itself, then its neighbours' back to it. */
    count_in(&a, obj, 1);
    for (i = 0; i < a.nnext; i++)
        count_in(&a, a.next[i], 0);
    call = call_refs(obj, args, kwargs);
    explained = call + 1 + lc.locals + a.refs;
    if (PyErr_Occurred())
        PyErr_Clear();
    if (al_opts.verbosity > 1)
        al_diag("holders of %s at %p: refcnt %zd = call %zd + caller 1 + locals %d + neighbours %zd (%d looked at)%s",
                al_type_name(obj), (void *)obj, refcnt, call, lc.locals, a.refs,
                a.nseen, refcnt == explained ? "" : ": unexplained, tasks walked");
    return refcnt != explained;
}
