/* hooks_loop.c - report points: loop close, the runner's cancel-all step,
 * asyncio's exception handler (garbage-collected tasks) and interpreter exit.
 *
 * Wrapped (wrapper.h, transparent to the program):
 *   asyncio.base_events.BaseEventLoop.close / .call_exception_handler
 *   uvloop.loop.Loop.close / .call_exception_handler
 *   asyncio.runners._cancel_all_tasks   (3.8-3.13 asyncio.run and Runner)
 *   aiohttp.web._cancel_tasks            (web.run_app's cancel step)
 * and, for interrupt.c, run_forever of both loop types and Runner.run: the
 * report points of a loop a KeyboardInterrupt escaped say so.
 */
#include "al.h"
#include "pyapi.h"
#include "typeslots.h"
#include "wrapper.h"

#include <stdlib.h>
#include <string.h>

static PyObject *arg(PyObject *args, Py_ssize_t i)
{
    return args != NULL && PyTuple_Check(args) && PyTuple_Size(args) > i ? PyTuple_GetItem(args, i) : NULL;
}

/* ---- loop.close() ---- */

static int close_before(PyObject *args, PyObject *kwargs)
{
    PyObject *loop = arg(args, 0), *r;
    int was_closed = 1;

    if (loop == NULL || !al_active)
        return 1;
    r = PyObject_CallMethod(loop, "is_closed", NULL);
    if (r != NULL)
        was_closed = PyObject_IsTrue(r) != 0;
    Py_XDECREF(r);
    return was_closed;
}

static void close_after(PyObject *args, PyObject *kwargs, PyObject *result, int was_closed)
{
    PyObject *loop = arg(args, 0);

    /* Only the first close that succeeded: a running loop refuses to close. */
    if (result == NULL || was_closed || loop == NULL)
        return;
    al_check_fork();
    al_loop_shutdown_end(loop);
    al_interrupt_report_begin(loop, NULL);
    if (al_report_pending_tasks(loop, "pending_task", "loop_close")
        + al_report_swallowed_finished(loop, "loop_close")
        + al_report_unclosed_resources(loop, "loop_close") > 0)
        al_report_commit(0);
    al_interrupt_report_end();
    al_interrupt_forget(loop);
}

/* ---- asyncio.runners._cancel_all_tasks(loop) ---- */

static int cancel_all_before(PyObject *args, PyObject *kwargs)
{
    PyObject *loop = arg(args, 0);

    if (loop == NULL || !al_active)
        return 0;
    al_check_fork();
    /* The main coroutine has returned (or Ctrl-C stopped it): whatever
     * still runs is cut short. */
    al_interrupt_report_begin(loop, "asyncio.run()");
    if (al_report_pending_tasks(loop, "orphaned_task", "runner_shutdown") > 0)
        al_report_commit(0);
    al_interrupt_report_end();
    al_loop_shutdown_begin(loop);
    al_watchdog_begin(loop);
    return 1;
}

static void cancel_all_after(PyObject *args, PyObject *kwargs, PyObject *result, int began)
{
    PyObject *loop = arg(args, 0);

    if (began && loop != NULL)
        al_watchdog_end(loop);
}

/* ---- aiohttp.web._cancel_tasks(to_cancel, loop) ----
 * web.run_app() cancels what is left itself: first its main task, then
 * every other task of the loop.  The second call is the runner_shutdown
 * point (the first cancels the app's own main task, which is no leak). */
#define MAX_RUN_APP_LOOPS 8
static const void *g_run_app_loops[MAX_RUN_APP_LOOPS];
static int g_nrun_app_loops;

static int web_cancel_before(PyObject *args, PyObject *kwargs)
{
    PyObject *loop = arg(args, 1);
    int i;

    if (loop == NULL && kwargs != NULL)
        loop = PyDict_GetItemString(kwargs, "loop");
    if (loop == NULL || !al_active)
        return 0;
    for (i = 0; i < g_nrun_app_loops; i++)
        if (g_run_app_loops[i] == loop) {
            g_run_app_loops[i] = g_run_app_loops[--g_nrun_app_loops];
            al_check_fork();
            al_interrupt_report_begin(loop, "aiohttp.web.run_app()");
            if (al_report_pending_tasks(loop, "orphaned_task", "runner_shutdown") > 0)
                al_report_commit(0);
            al_interrupt_report_end();
            al_loop_shutdown_begin(loop);
            return 0;
        }
    if (g_nrun_app_loops < MAX_RUN_APP_LOOPS)
        g_run_app_loops[g_nrun_app_loops++] = loop;
    return 0;
}

int g_module_hooks_pending;

void al_module_hooks_sweep(void)
{
    static int web_done;
    PyObject *modules = PyImport_GetModuleDict();   /* borrowed */
    PyObject *web;

    if (web_done || modules == NULL)
        return;
    web = PyDict_GetItemString(modules, "aiohttp.web");
    /* aiohttp imported, its web module not (fully) yet: look again later
     * (the spawn hook does, now and then: web.run_app creates a task). */
    g_module_hooks_pending = PyDict_GetItemString(modules, "aiohttp") != NULL;
    if (web != NULL && al_getattr_exists(web, "run_app")) {
        web_done = 1;
        g_module_hooks_pending = 0;
        al_wrap_attr(web, "_cancel_tasks", web_cancel_before, NULL);
    }
}

/* ---- loop.call_exception_handler(context) ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* {"type", "message"} of an exception without running its __str__: the
 * message is shown only when args is a single str. */
static al_json *exception_json(PyObject *exc)
{
    al_json *e = al_json_object();
    char *t = al_type_qualified_name((PyObject *)Py_TYPE(exc));
    PyObject *args = al_exception_args(exc);

    /* Named as Python's tracebacks name it: no "__main__." prefix. */
    al_json_set_str(e, "type", t ? (strncmp(t, "__main__.", 9) == 0 ? t + 9 : t) : al_type_name(exc));
    free(t);
    if (args != NULL && PyTuple_Check(args) && PyTuple_Size(args) == 1
        && PyUnicode_Check(PyTuple_GetItem(args, 0)))
        al_json_set_str(e, "message", al_str_utf8(PyTuple_GetItem(args, 0)));
    else
        al_json_set_str(e, "message", "");
    Py_XDECREF(args);
    if (PyErr_Occurred())
        PyErr_Clear();
    return e;
}

static void report_gc_task(PyObject *task, const char *kind, const char *asyncio_msg, PyObject *exc)
{
    al_task_rec *live = al_registry_get(&al_tasks, task);
    al_task_rec rec;
    al_json *f;

    if (live == NULL)
        return;
    if (exc == NULL && (live->flags & AL_TASK_REPORTED))
        return;         /* already reported as pending at loop close or exit */
    live->flags |= AL_TASK_REPORTED;
    rec = *live;
    al_tasks_gc_finding();
    f = al_task_finding(&rec, task, kind, "gc");
    al_json_set_str(f, "asyncio_message", asyncio_msg);
    if (exc != NULL)
        al_json_set(f, "exception", exception_json(exc));
    al_report_add(f);
    al_report_commit_soon();
}

static void exception_handler_after(PyObject *args, PyObject *kwargs, PyObject *result, int token)
{
    PyObject *context = arg(args, 1);
    PyObject *msg_obj, *task;
    const char *msg;

    if (!al_active)
        return;
    if (context == NULL && kwargs != NULL)
        context = PyDict_GetItemString(kwargs, "context");
    if (context == NULL || !PyDict_Check(context))
        return;
    msg_obj = PyDict_GetItemString(context, "message");
    msg = al_str_utf8(msg_obj);
    if (msg == NULL)
        return;
    al_check_fork();
    if (strncmp(msg, "Unclosed ", 9) == 0)
        al_resources_exception_context(context, msg);
    else if (strcmp(msg, "Task was destroyed but it is pending!") == 0
        && (task = PyDict_GetItemString(context, "task")) != NULL)
        report_gc_task(task, "destroyed_pending_task", msg, NULL);
    else if (ends_with(msg, "exception was never retrieved")
             && (task = PyDict_GetItemString(context, "future")) != NULL) {
        PyObject *exc = PyDict_GetItemString(context, "exception");
        if (exc != NULL)
            report_gc_task(task, "unretrieved_exception", msg, exc);
    }
}

/* ---- exit ---- */

static PyObject *at_exit(PyObject *self, PyObject *unused)
{
    al_exc_state exc;

    al_exc_save(&exc);
    if (al_active) {
        al_check_fork();
        al_interrupt_report_begin(NULL, NULL);
        al_report_pending_tasks(NULL, "pending_task", "exit");
        al_report_swallowed_finished(NULL, "exit");
        al_report_unclosed_resources(NULL, "exit");
        al_interrupt_report_end();
        al_report_commit(0);
    }
    if (PyErr_Occurred())
        PyErr_Clear();
    al_exc_restore(&exc);
    Py_INCREF(Py_None);
    return Py_None;
}

static PyMethodDef at_exit_def = {"asyncleak_exit_report", at_exit, METH_NOARGS, NULL};

static int register_atexit(void)
{
    PyObject *mod = PyImport_ImportModule("atexit");
    PyObject *fn = mod ? PyCFunction_New(&at_exit_def, NULL) : NULL;
    PyObject *r = fn ? PyObject_CallMethod(mod, "register", "O", fn) : NULL;

    Py_XDECREF(r);
    Py_XDECREF(fn);
    Py_XDECREF(mod);
    if (r == NULL) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

static PyObject *import_attr(const char *module, const char *name)
{
    PyObject *mod = PyImport_ImportModule(module);
    PyObject *v = al_getattr(mod, name);

    if (mod == NULL)
        PyErr_Clear();
    Py_XDECREF(mod);
    return v;
}

static int wrap_loop_type(PyObject *loop_type)
{
    int rc = 0;

    rc |= al_wrap_attr(loop_type, "close", close_before, close_after);
    rc |= al_wrap_attr(loop_type, "call_exception_handler", NULL, exception_handler_after);
    if (al_interrupt_wrap_loop_type(loop_type) < 0)
        al_diag("run_forever cannot be hooked: findings after Ctrl-C will not say so");
    return rc;
}

int al_loop_install(void)
{
    PyObject *base = import_attr("asyncio.base_events", "BaseEventLoop");
    PyObject *runners = PyImport_ImportModule("asyncio.runners");
    int rc = 0;

    if (runners == NULL)
        PyErr_Clear();
    if (al_wrapper_type_init() < 0 || base == NULL || wrap_loop_type(base) < 0) {
        rc = -1;
        goto out;
    }
    if (runners == NULL || al_wrap_attr(runners, "_cancel_all_tasks", cancel_all_before, cancel_all_after) < 0)
        al_diag("asyncio.runners._cancel_all_tasks not found: orphaned_task findings are off");
    if (runners != NULL)
        al_interrupt_install(runners);
    if (register_atexit() < 0)
        al_diag("cannot register the exit report");
out:
    Py_XDECREF(base);
    Py_XDECREF(runners);
    return rc;
}

int al_uvloop_install(void)
{
    PyObject *loop_type = import_attr("uvloop.loop", "Loop");
    int rc = -1;

    if (loop_type != NULL && PyType_Check(loop_type))
        rc = wrap_loop_type(loop_type);
    Py_XDECREF(loop_type);
    return rc;
}
