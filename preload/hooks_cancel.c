/* hooks_cancel.c - who cancelled a task, and whether the task swallowed it.
 *
 * Task.cancel is wrapped in the type (wrapper.h), so every request made
 * through a method call is seen: program code, TaskGroup, asyncio.timeout,
 * wait_for, the runner, uvloop, a cancel propagated to an awaited task.  A
 * request that took effect (cancel() returned True) is kept in a side table
 * keyed by task address (few tasks are ever cancelled: the spawn path pays
 * nothing), removed when the task is freed.
 *
 * Swallowed: the cancellation was delivered and the task went on running
 * without re-raising: still pending but suspended somewhere new (its
 * _fut_waiter changed and _must_cancel is clear), or finished normally.
 * Only requests the program itself made count.  Requests by machinery that
 * turns the cancellation into something else are not: asyncio.timeout,
 * async_timeout (TimeoutError), anyio cancel scopes, a TaskGroup cancelling its parent task
 * (ExceptionGroup).  A counted request undone by the program's own
 * Task.uncancel() (3.11+) is not swallowed either.
 */
#include "al.h"
#include "render_text.h"
#include "pyapi.h"
#include "stacks.h"
#include "typeslots.h"
#include "wrapper.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>

typedef struct cancel_info {
    const void *task;          /* key */
    uint64_t serial;           /* the task's serial when recorded */
    uint32_t origin;           /* first counted request */
    uint32_t requests;         /* counted requests */
    uint32_t converted;        /* requests by converting machinery (not counted) */
    uint32_t uncancels;        /* uncancel() calls by the program */
    PyObject *waiter_ref;      /* weakref to _fut_waiter when first requested, or NULL
                                  (weak: the waiter's lifetime must not change) */
    PyObject *seen_ref;        /* weakref to the first waiter seen after delivery */
    char *message;             /* msg= of the first request, or NULL */
    int swallow_reported;
    UT_hash_handle hh;
} cancel_info;

static cancel_info *g_cancels;
static PyObject *g_task_type;
static PyObject *g_waiter_descr, *g_must_cancel_descr, *g_cancelling;
static PyObject *g_state_descr, *g_exception_descr;   /* Future getsets, via the MRO */

static cancel_info *find(const void *task)
{
    cancel_info *ci = NULL;
    HASH_FIND_PTR(g_cancels, &task, ci);
    return ci;
}

static void drop(cancel_info *ci)
{
    HASH_DEL(g_cancels, ci);
    Py_XDECREF(ci->waiter_ref);
    Py_XDECREF(ci->seen_ref);
    free(ci->message);
    free(ci);
}

void al_cancel_forget(const void *task)
{
    cancel_info *ci = find(task);
    if (ci != NULL)
        drop(ci);
}

void al_cancel_reset(void)
{
    cancel_info *ci, *tmp;
    HASH_ITER(hh, g_cancels, ci, tmp)
        drop(ci);
}

static PyObject *getset(PyObject *descr, const void *task)
{
    return descr != NULL ? al_descr_get(descr, (PyObject *)task) : NULL;
}

/* True when the innermost frame of stack belongs to machinery that turns a
 * cancellation into another outcome (see the top of this file). */
static int from_converting_machinery(uint32_t stack)
{
    const al_json *last = al_stack_innermost(stack);
    const char *file = al_json_get_str(last, "file");
    const char *func = al_json_get_str(last, "function");
    size_t n = file ? strlen(file) : 0;

#define ENDS(s) (n >= sizeof(s) - 1 && strcmp(file + n - (sizeof(s) - 1), s) == 0)
    if (file == NULL)
        return 0;
    return strstr(file, "/async_timeout/") != NULL || strstr(file, "/anyio/") != NULL
        || ENDS("/asyncio/timeouts.py")
        /* TaskGroup._abort cancels the children: those are real requests. */
        || (ENDS("/asyncio/taskgroups.py") && !(func && strstr(func, "_abort")));
#undef ENDS
}

/* before -> after of one cancel() call; a stack because cancel() nests (a
 * task cancels the task it awaits).  The token is the depth (GIL held). */
typedef struct { uint32_t stack; PyObject *waiter_ref; } pending_request;
#define MAX_NESTED_CANCELS 16
static pending_request g_reqs[MAX_NESTED_CANCELS];
static int g_depth;

static int cancel_before(PyObject *args, PyObject *kwargs)
{
    PyObject *task = PyTuple_Check(args) && PyTuple_Size(args) > 0 ? PyTuple_GetItem(args, 0) : NULL;
    PyObject *waiter;

    pending_request *req;

    if (!al_active || task == NULL || g_depth == MAX_NESTED_CANCELS)
        return 0;
    req = &g_reqs[g_depth++];
    req->stack = al_stack_capture(al_opts.stack_depth);
    req->waiter_ref = NULL;
    waiter = getset(g_waiter_descr, task);
    if (waiter != NULL && waiter != Py_None) {
        req->waiter_ref = PyWeakref_NewRef(waiter, NULL);
        if (req->waiter_ref == NULL)
            PyErr_Clear();
    }
    Py_XDECREF(waiter);
    return g_depth;
}

static char *message_arg(PyObject *args, PyObject *kwargs)
{
    PyObject *msg = PyTuple_Size(args) > 1 ? PyTuple_GetItem(args, 1) : NULL;

    if (msg == NULL && kwargs != NULL)
        msg = PyDict_GetItemString(kwargs, "msg");
    return msg != NULL && PyUnicode_Check(msg) ? al_str_bytes(msg) : NULL;
}

static void record_request(PyObject *task, PyObject *args, PyObject *kwargs, pending_request *req, int nested)
{
    al_task_rec *rec = al_registry_get(&al_tasks, task);
    cancel_info *ci;

    if (rec == NULL)
        return;
    ci = find(task);
    if (ci != NULL && ci->serial != rec->serial) {
        drop(ci);       /* a stale entry of an earlier object at this address */
        ci = NULL;
    }
    if (ci == NULL) {
        ci = calloc(1, sizeof *ci);
        if (ci == NULL)
            return;
        ci->task = task;
        ci->serial = rec->serial;
        HASH_ADD_PTR(g_cancels, task, ci);
        rec->flags |= AL_TASK_CANCEL_REQUESTED;
    }
    /* A nested request is a cancel propagated to the awaited task: the
     * machinery converts the outer task's cancellation, not this one's. */
    if (!nested && from_converting_machinery(req->stack)) {
        ci->converted++;
        return;
    }
    if (ci->requests++ == 0) {
        ci->origin = req->stack;
        ci->waiter_ref = req->waiter_ref;
        req->waiter_ref = NULL;
        ci->message = message_arg(args, kwargs);
    }
}

static void cancel_after(PyObject *args, PyObject *kwargs, PyObject *result, int token)
{
    PyObject *task = PyTuple_GetItem(args, 0);
    pending_request *req;

    if (token <= 0 || token != g_depth)
        return;
    req = &g_reqs[--g_depth];
    /* cancel() returned False: the task was already done. */
    if (result == Py_True && task != NULL)
        record_request(task, args, kwargs, req, g_depth > 0);
    Py_CLEAR(req->waiter_ref);
}

static int uncancel_before(PyObject *args, PyObject *kwargs)
{
    PyObject *task = PyTuple_Check(args) && PyTuple_Size(args) > 0 ? PyTuple_GetItem(args, 0) : NULL;
    cancel_info *ci = task ? find(task) : NULL;

    if (ci != NULL && ci->requests > ci->uncancels
        && !from_converting_machinery(al_stack_capture(al_opts.stack_depth)))
        ci->uncancels++;
    return 0;
}

int al_cancel_install(PyObject *task_type)
{
    PyObject *dict = al_type_dict(task_type);

    g_task_type = task_type;
    g_waiter_descr = dict ? PyDict_GetItemString(dict, "_fut_waiter") : NULL;
    g_must_cancel_descr = dict ? PyDict_GetItemString(dict, "_must_cancel") : NULL;
    g_cancelling = dict ? PyDict_GetItemString(dict, "cancelling") : NULL;  /* 3.11+ */
    Py_XINCREF(g_waiter_descr);
    Py_XINCREF(g_must_cancel_descr);
    Py_XINCREF(g_cancelling);
    g_state_descr = al_getattr(task_type, "_state");
    g_exception_descr = al_getattr(task_type, "_exception");
    if (g_cancelling != NULL)   /* 3.11+ */
        al_wrap_attr(task_type, "uncancel", uncancel_before, NULL);
    return al_wrap_attr(task_type, "cancel", cancel_before, cancel_after);
}

al_json *al_cancel_json(const void *task)
{
    cancel_info *ci = find(task);
    al_json *c;

    if (ci == NULL || ci->requests == 0)
        return NULL;
    c = al_json_object();
    al_json_set_int(c, "requested", ci->requests);
    /* Like every origin, the last frame is the program's line; when asyncio
     * itself asked (the runner, wait_for, a TaskGroup), "via" names it. */
    al_json_set(c, "origin", al_stack_resolve(ci->origin, 1));
    {
        const al_json *last = al_stack_innermost(ci->origin);
        const char *file = al_json_get_str(last, "file");
        if (file != NULL && al_frame_is_asyncio_internal(file)) {
            const char *slash = strrchr(file, '/');
            const char *func = al_json_get_str(last, "function");
            char via[256];
            snprintf(via, sizeof via, "asyncio/%s:%s", slash ? slash + 1 : file, func ? func : "?");
            al_json_set_str(c, "via", via);
        }
    }
    if (ci->message != NULL)
        al_json_set_str(c, "message", ci->message);
    return c;
}

static int is_true(PyObject *v)
{
    int r = v != NULL && PyObject_IsTrue(v) == 1;
    Py_XDECREF(v);
    return r;
}

int al_cancel_swallowed(const void *task, int strict)
{
    cancel_info *ci = find(task);
    PyObject *waiter;
    int pending, moved, swallowed;

    if (ci == NULL || ci->requests <= ci->uncancels || ci->swallow_reported)
        return 0;
    pending = al_task_is_pending(task);
    if (pending == 0) {
        /* Finished: swallowed when it ended normally: not cancelled and
         * without an exception (read through the _exception getset, which,
         * unlike exception(), does not mark it retrieved). */
        PyObject *state = getset(g_state_descr, task), *exc;
        int finished = state != NULL && PyUnicode_Check(state)
            && PyUnicode_CompareWithASCIIString(state, "FINISHED") == 0;
        Py_XDECREF(state);
        if (!finished)
            return 0;
        exc = getset(g_exception_descr, task);
        finished = exc == Py_None;
        Py_XDECREF(exc);
        return finished;
    }
    if (pending != 1 || is_true(getset(g_must_cancel_descr, task)))
        return 0;       /* not delivered yet */
    waiter = getset(g_waiter_descr, task);
    /* Suspended on something else than when it was cancelled (compared
     * through weak references: a freed waiter cannot be confused with a new
     * object at the same address).  Moving once is not enough: a task may
     * await cleanup in `finally` before re-raising.  Only a task seen
     * suspended on one waiter after the delivery, and later on another, has
     * gone on running. */
    moved = waiter != NULL && waiter != Py_None
        && (ci->waiter_ref == NULL || PyWeakref_GetObject(ci->waiter_ref) != waiter);
    swallowed = 0;
    if (moved && ci->seen_ref == NULL) {
        ci->seen_ref = PyWeakref_NewRef(waiter, NULL);
        if (ci->seen_ref == NULL)
            PyErr_Clear();
    } else if (moved) {
        swallowed = PyWeakref_GetObject(ci->seen_ref) != waiter;
    }
    /* At loop close and exit a task still pending after a delivered cancel
     * has outlived its loop: one move is enough evidence there.  The
     * watchdog (strict) may be looking at a slow cleanup in progress. */
    if (moved && !strict)
        swallowed = 1;
    Py_XDECREF(waiter);
    return swallowed;
}

void al_cancel_mark_swallow_reported(const void *task)
{
    cancel_info *ci = find(task);
    if (ci != NULL)
        ci->swallow_reported = 1;
}
