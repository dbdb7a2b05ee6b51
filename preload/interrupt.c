/* interrupt.c - KeyboardInterrupt (SIGINT, Ctrl-C) escaping an event loop:
 * which loops it interrupted, and what the findings that follow say.
 *
 * Python turns SIGINT into a KeyboardInterrupt in the main thread; the tool
 * leaves that alone and watches where the exception goes instead, through
 * two transparent wrappers (wrapper.h), never by calling program code:
 *   BaseEventLoop.run_forever / uvloop.Loop.run_forever (run_until_complete
 *       and asyncio.run() on 3.8-3.10 run through it): raised out of it;
 *   asyncio.runners.Runner.run (3.11+): asyncio.run()'s own SIGINT handler
 *       cancels the main task, and Runner.run raises the KeyboardInterrupt.
 * The loop is then marked with the serial of the next task to be created.
 * A report point about that loop (the runner's cancel-all step, loop.close,
 * exit for loops never closed) runs with an annotation (al_report_annotate):
 * each task finding about a task created before the mark gets
 *   "interrupted": {"by": "KeyboardInterrupt", "signal": "SIGINT"}
 * and a message that says so ("was still running when SIGINT
 * (KeyboardInterrupt) arrived; asyncio.run() cancelled it"); the report gets
 * the same "interrupted" member at top level.  Resource findings are left
 * as they are (when a resource was opened relative to the interrupt is not
 * known).  A KeyboardInterrupt raised by the program itself counts the same:
 * it is what Python raises on SIGINT.
 */
#include "al.h"
#include "pyapi.h"
#include "wrapper.h"

#include <stdio.h>
#include <string.h>

/* Loops a KeyboardInterrupt escaped from, in this process (a forked child
 * starts without any: entries of another fork generation are stale). */
#define MAX_MARKS 16
typedef struct {
    const void *loop;           /* not owned; forgotten when it closes */
    uint64_t serial;            /* tasks with a smaller serial existed then */
    sig_atomic_t generation;    /* al_fork_generation when marked */
} mark_t;

static mark_t g_marks[MAX_MARKS];
static int g_nmarks;

/* The report point in progress (GIL held): its runner's name, the serial
 * its findings are compared with. */
static const char *g_runner;
static uint64_t g_report_serial;

static void drop_stale(void)
{
    int i = 0;

    while (i < g_nmarks) {
        if (g_marks[i].generation != al_fork_generation)
            g_marks[i] = g_marks[--g_nmarks];
        else
            i++;
    }
}

static mark_t *find(const void *loop)
{
    int i;

    for (i = 0; i < g_nmarks; i++)
        if (g_marks[i].loop == loop)
            return &g_marks[i];
    return NULL;
}

static void mark(const void *loop)
{
    mark_t *m;

    if (loop == NULL)
        return;
    drop_stale();
    if ((m = find(loop)) == NULL) {
        if (g_nmarks == MAX_MARKS)      /* full: the oldest goes */
            memmove(g_marks, g_marks + 1, sizeof g_marks[0] * --g_nmarks);
        m = &g_marks[g_nmarks++];
        m->loop = loop;
    }
    /* Interrupted again (a loop restarted after the first Ctrl-C): tasks
     * made in between were running at this one. */
    m->serial = al_tasks.next_serial;
    m->generation = al_fork_generation;
}

static int raised_keyboard_interrupt(void)
{
    PyObject *type = al_wrapper_raised();     /* borrowed */

    return type != NULL && PyErr_GivenExceptionMatches(type, PyExc_KeyboardInterrupt);
}

/* ---- the wrappers ---- */

static void run_forever_after(PyObject *args, PyObject *kwargs, PyObject *result, int token)
{
    if (result == NULL && raised_keyboard_interrupt() && al_active
        && PyTuple_Check(args) && PyTuple_Size(args) > 0)
        mark(PyTuple_GetItem(args, 0));
}

/* Runner.run(self, coro): the loop is self._loop, read from the instance
 * dict (no __getattr__/__getattribute__ of a subclass runs). */
static void runner_run_after(PyObject *args, PyObject *kwargs, PyObject *result, int token)
{
    PyObject *runner, *name, *dict;

    if (result != NULL || !raised_keyboard_interrupt() || !al_active
        || !PyTuple_Check(args) || PyTuple_Size(args) < 1)
        return;
    runner = PyTuple_GetItem(args, 0);
    name = PyUnicode_FromString("__dict__");
    dict = name != NULL ? PyObject_GenericGetAttr(runner, name) : NULL;
    if (dict != NULL && PyDict_Check(dict))
        mark(PyDict_GetItemString(dict, "_loop"));
    Py_XDECREF(dict);
    Py_XDECREF(name);
    if (PyErr_Occurred())
        PyErr_Clear();
}

int al_interrupt_wrap_loop_type(PyObject *loop_type)
{
    return al_wrap_attr(loop_type, "run_forever", NULL, run_forever_after);
}

void al_interrupt_install(PyObject *runners)
{
    PyObject *runner = al_getattr(runners, "Runner");    /* 3.11+ */

    if (runner != NULL && PyType_Check(runner)
        && al_wrap_attr(runner, "run", NULL, runner_run_after) < 0)
        al_diag("asyncio.Runner.run cannot be hooked: findings after Ctrl-C will not say so");
    Py_XDECREF(runner);
}

/* ---- annotating the findings of a report point ---- */

static const char *message_for(const char *kind, const char *when, char *buf, size_t len)
{
    if (strcmp(kind, "orphaned_task") == 0) {
        snprintf(buf, len, "was still running when SIGINT (KeyboardInterrupt) arrived; "
                 "%s cancelled it", g_runner ? g_runner : "the runner");
        return buf;
    }
    if (strcmp(kind, "pending_task") == 0 && strcmp(when, "exit") == 0)
        return "was still running when SIGINT (KeyboardInterrupt) arrived, and still pending "
               "at exit (its event loop was never closed)";
    if (strcmp(kind, "pending_task") == 0)
        return "was still running when SIGINT (KeyboardInterrupt) arrived, and still pending "
               "when its event loop closed";
    if (strcmp(kind, "swallowed_cancel") == 0)
        return "swallowed a cancellation and went on running (it was running when SIGINT "
               "(KeyboardInterrupt) arrived)";
    return NULL;
}

static al_json *interrupted_json(void)
{
    al_json *i = al_json_object();

    al_json_set_str(i, "by", "KeyboardInterrupt");
    al_json_set_str(i, "signal", "SIGINT");
    return i;
}

/* A runner other than asyncio.run() (aiohttp's web.run_app) names itself in
 * the message of the tasks it cancels, interrupted or not. */
static void annotate_runner(al_json *finding, const char *kind)
{
    char buf[160];

    if (g_runner == NULL || strcmp(g_runner, "asyncio.run()") == 0 || kind == NULL
        || strcmp(kind, "orphaned_task") != 0 || al_json_get(finding, "message") != NULL)
        return;
    snprintf(buf, sizeof buf, "was still running when %s shut down; it cancelled the task", g_runner);
    al_json_set_str(finding, "message", buf);
}

static void annotate(al_json *finding, void *ctx)
{
    static sig_atomic_t said_generation = -1;
    const al_json *task = al_json_get(finding, "task");
    const char *kind = al_json_get_str(finding, "kind");
    const char *when = al_json_get_str(finding, "when");
    int64_t id = al_json_get_int(task, "id", 0);
    const char *msg;
    char buf[160];

    if (task == NULL || kind == NULL || when == NULL || id <= 0 || (uint64_t)id >= g_report_serial) {
        annotate_runner(finding, kind);
        return;
    }
    al_json_set(finding, "interrupted", interrupted_json());
    if (al_json_get(finding, "message") == NULL && (msg = message_for(kind, when, buf, sizeof buf)) != NULL)
        al_json_set_str(finding, "message", msg);
    if (said_generation != al_fork_generation) {
        said_generation = al_fork_generation;
        al_report_set_extra("interrupted", interrupted_json());
    }
}

void al_interrupt_report_begin(const void *loop, const char *runner)
{
    const mark_t *m;
    int i;

    g_report_serial = 0;
    drop_stale();
    if (loop != NULL) {
        if ((m = find(loop)) != NULL)
            g_report_serial = m->serial;
    } else {
        for (i = 0; i < g_nmarks; i++)
            if (g_marks[i].serial > g_report_serial)
                g_report_serial = g_marks[i].serial;
    }
    g_runner = runner;
    if (g_report_serial == 0 && (runner == NULL || strcmp(runner, "asyncio.run()") == 0)) {
        g_runner = NULL;
        return;
    }
    if (g_report_serial == 0)
        g_report_serial = 1;            /* no task is older than serial 1: runner names only */
    al_report_annotate(annotate, NULL);
}

void al_interrupt_report_end(void)
{
    if (g_report_serial == 0)
        return;
    al_report_annotate(NULL, NULL);
    g_report_serial = 0;
    g_runner = NULL;
}

void al_interrupt_forget(const void *loop)
{
    mark_t *m = find(loop);

    if (m != NULL)
        *m = g_marks[--g_nmarks];
}
