/* signals.c - signal_exit and on-demand dumps.
 *
 * While SIGTERM or SIGHUP has its default disposition, the tool handles it:
 * the handler (async-signal-safe) only writes the signal number to a pipe; a
 * thread of ours reads it, takes the GIL, reports every pending task and
 * open resource (signal_exit), writes the JSON and the summary, then
 * restores the default disposition and sends the same signal again, so the
 * process dies exactly as it would have (same wait status).  Any handler the
 * program installs later (signal.signal, loop.add_signal_handler, sigaction)
 * simply replaces ours; one present at start-up is left alone.  If the GIL
 * cannot be had within FORCE_SECONDS (a thread spinning in C), the default
 * action is taken without a report.
 *
 * The dump signal (dump_signal=, default SIGUSR2, only if it has its default
 * disposition) writes a report of everything pending and open, and the
 * program goes on undisturbed.
 *
 * Fork (3.12+): os.fork() warns "This process is multi-threaded, use of
 * fork() may lead to deadlocks" (a DeprecationWarning: shown for __main__, by
 * -W default, -X dev, pytest) when the process has more than one thread, and
 * the reader is one.
 * So an os.register_at_fork "before" hook stops the reader (a STOP byte, then
 * join, with the GIL released, and until the kernel has removed the thread),
 * and "after_in_parent" starts a new one on the same pipe (3.13: from a
 * pending call, see after_fork_parent): a dump request arriving in between
 * waits in the pipe, an exit signal takes its default action unreported.  The child starts its
 * own pipe and reader at its first report point or task (al_check_fork).
 * The watchdog thread is stopped the same way (watchdog.c); the interval=
 * thread and the attach thread are not.
 */
#include "al.h"
#include "pyapi.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FORCE_SECONDS 5
#define STOP_BYTE 0xff          /* never a signal number (<= SIGRTMAX) nor 0 (dump) */

static int g_pipe[2] = {-1, -1};
static volatile pid_t g_owner;        /* the process whose thread reads the pipe */
/* The reader thread (GIL held to change these): its handle, its kernel
 * thread id, the process it runs in (0 when stopped for a fork). */
static pthread_t g_reader;
static volatile pid_t g_reader_tid;
static pid_t g_reader_pid;
static int g_stopped_for_fork;
/* 0 while the reader is stopped for a fork: an exit signal then takes its
 * default action at once (the restart may wait for the main thread), a
 * dump request waits in the pipe. */
static volatile sig_atomic_t g_reader_running;
static const int g_exit_signals[] = {SIGTERM, SIGHUP};

static int is_exit_signal(int sig)
{
    return sig == SIGTERM || sig == SIGHUP;
}

int asyncleak_request_dump(void);

static void die_by(int sig)
{
    struct sigaction dfl;
    sigset_t set;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    kill(getpid(), sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void handler(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;

    /* A forked child without our thread, or the thread stopped around a
     * fork: an exit signal behaves as without the tool. */
    if (getpid() != g_owner || g_pipe[1] < 0 || (!g_reader_running && is_exit_signal(sig))
        || write(g_pipe[1], &b, 1) != 1) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        raise(sig);     /* delivered with the default action when we return */
    }
    errno = saved;
}

static void *force_main(void *arg)
{
    int sig = (int)(long)arg;
    sleep(FORCE_SECONDS);
    die_by(sig);
    return NULL;
}

static void start_detached(void *(*fn)(void *), void *arg)
{
    if (al_start_thread(fn, arg) != 0)
        al_diag("cannot start a thread for signals");
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "signal";
    }
}

static void report_exit_signal(int sig)
{
    al_json *tasks = al_pending_task_entries();
    al_json *resources = al_open_resource_entries();

    if (al_json_len(tasks) + al_json_len(resources) > 0) {
        al_json *f = al_json_object();
        char msg[160];
        snprintf(msg, sizeof msg, "the process was terminated by %s while %zu task%s and %zu resource%s were in flight",
                 signal_name(sig), al_json_len(tasks), al_json_len(tasks) == 1 ? "" : "s",
                 al_json_len(resources), al_json_len(resources) == 1 ? "" : "s");
        al_json_set_str(f, "kind", "signal_exit");
        al_json_set_str(f, "when", "signal");
        al_json_set_str(f, "message", msg);
        al_json_set_str(f, "signal", signal_name(sig));
        al_json_set(f, "tasks", tasks);
        al_json_set(f, "resources", resources);
        al_report_add(f);
    } else {
        al_json_free(tasks);
        al_json_free(resources);
    }
}

static void *reader_main(void *arg)
{
    g_reader_tid = al_thread_tid();
    for (;;) {
        unsigned char b;
        ssize_t n = read(g_pipe[0], &b, 1);
        int sig = b;
        PyGILState_STATE gs;
        al_exc_state exc;

        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1 || b == STOP_BYTE)
            return NULL;
        if (is_exit_signal(sig))
            start_detached(force_main, (void *)(long)sig);
        if (!al_active || al_py_finalizing()) {
            if (is_exit_signal(sig))
                die_by(sig);
            continue;
        }
        gs = PyGILState_Ensure();
        al_exc_save(&exc);
        al_check_fork();
        if (is_exit_signal(sig)) {
            report_exit_signal(sig);
            al_report_exit();
        } else {
            al_report_dump_tasks();
            al_report_dump_resources();
            al_report_commit(1);
        }
        if (PyErr_Occurred())
            PyErr_Clear();
        al_exc_restore(&exc);
        if (is_exit_signal(sig))
            die_by(sig);    /* with the GIL held: nothing runs after the report */
        PyGILState_Release(gs);
    }
}

static void catch_if_default(int sig)
{
    struct sigaction old, sa;

    if (sig <= 0 || sigaction(sig, NULL, &old) != 0)
        return;
    if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
        return;     /* the program (or its parent) chose a disposition */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* Starts the reader: joinable (stopped and joined around os.fork), every
 * signal blocked like the tool's other threads. */
static void start_reader(void)
{
    sigset_t all, old;
    int rc;

    g_reader_tid = 0;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&g_reader, NULL, reader_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        al_diag("cannot start a thread for signals: %s", strerror(rc));
        g_reader_pid = 0;
        return;
    }
    g_reader_pid = getpid();
    g_reader_running = 1;
}

static int open_pipe(void)
{
    if (pipe2(g_pipe, O_CLOEXEC) != 0) {
        g_pipe[0] = g_pipe[1] = -1;
        return -1;
    }
    fcntl(g_pipe[1], F_SETFL, O_NONBLOCK);
    g_owner = getpid();
    start_reader();
    return 0;
}

/* ---- os.register_at_fork hooks (GIL held) ---- */

static PyObject *before_fork(PyObject *self, PyObject *unused)
{
    unsigned char b = STOP_BYTE;
    PyThreadState *ts;
    pid_t tid;

    g_stopped_for_fork = 0;
    al_watchdog_before_fork();
    if (g_reader_pid == getpid() && g_owner == getpid() && g_pipe[1] >= 0) {
        g_reader_running = 0;
        if (write(g_pipe[1], &b, 1) != 1) {
            g_reader_running = 1;       /* pipe full: leave the reader be */
            goto out;
        }
        /* The reader may be waiting for the GIL to handle a signal first. */
        ts = PyEval_SaveThread();
        pthread_join(g_reader, NULL);
        tid = g_reader_tid;
        al_thread_wait_gone(tid);
        PyEval_RestoreThread(ts);
        g_reader_pid = 0;
        g_stopped_for_fork = 1;
    }
out:
    Py_INCREF(Py_None);
    return Py_None;
}

/* Restarts what before_fork stopped (GIL held). */
static int restart_after_fork(void *unused)
{
    al_watchdog_after_fork_parent();
    if (g_stopped_for_fork && g_owner == getpid()) {
        g_stopped_for_fork = 0;
        start_reader();
    }
    return 0;
}

/* 3.12 warns before the after_in_parent hooks run: restart at once.  3.13
 * warns after them: restart from a pending call, which the main thread runs
 * at its next function call or loop iteration in Python (until then an exit
 * signal takes its default action without a report, see handler()). */
static PyObject *after_fork_parent(PyObject *self, PyObject *unused)
{
    if (al_py.minor < 13 || Py_AddPendingCall(restart_after_fork, NULL) < 0)
        restart_after_fork(NULL);
    Py_INCREF(Py_None);
    return Py_None;
}

static PyMethodDef before_fork_def = {"asyncleak_before_fork", before_fork, METH_NOARGS, NULL};
static PyMethodDef after_fork_parent_def = {"asyncleak_after_fork_parent", after_fork_parent, METH_NOARGS, NULL};

/* posix.register_at_fork(before=..., after_in_parent=...), 3.12+ (where
 * os.fork() warns about threads).  Returns 0 or -1 (no exception left). */
static int register_fork_hooks(void)
{
    PyObject *posix = NULL, *reg = NULL, *before = NULL, *after = NULL;
    PyObject *args = NULL, *kwargs = NULL, *r = NULL;

    if (al_py.minor < 12)
        return 0;
    posix = PyImport_ImportModule("posix");
    reg = al_getattr(posix, "register_at_fork");
    before = PyCFunction_New(&before_fork_def, NULL);
    after = PyCFunction_New(&after_fork_parent_def, NULL);
    args = PyTuple_New(0);
    kwargs = PyDict_New();
    if (reg != NULL && before != NULL && after != NULL && args != NULL && kwargs != NULL
        && PyDict_SetItemString(kwargs, "before", before) == 0
        && PyDict_SetItemString(kwargs, "after_in_parent", after) == 0)
        r = PyObject_Call(reg, args, kwargs);
    Py_XDECREF(r);
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    Py_XDECREF(after);
    Py_XDECREF(before);
    Py_XDECREF(reg);
    Py_XDECREF(posix);
    if (PyErr_Occurred())
        PyErr_Clear();
    return r != NULL ? 0 : -1;
}

void al_signals_install(void)
{
    size_t i;

    if (open_pipe() < 0) {
        al_diag("cannot create the signal pipe: %s; signal reports are off", strerror(errno));
        return;
    }
    if (register_fork_hooks() < 0)
        al_diag("cannot register fork hooks: os.fork() will warn that the process is multi-threaded");
    /* As PID 1 (a container without an init) the kernel drops signals whose
     * action is the default: catching them would report a death that does
     * not happen. */
    for (i = 0; i < sizeof g_exit_signals / sizeof *g_exit_signals && getpid() != 1; i++)
        catch_if_default(g_exit_signals[i]);
    if (al_opts.dump_signal > 0 && !is_exit_signal(al_opts.dump_signal))
        catch_if_default(al_opts.dump_signal);
}

void al_signals_after_fork(void)
{
    g_stopped_for_fork = 0;
    if (g_pipe[0] < 0)
        return;
    close(g_pipe[0]);
    close(g_pipe[1]);
    if (open_pipe() < 0)
        g_owner = 0;
}

/* Exported (the only symbol the library exports on purpose): `asyncleak
 * attach` calls it through gdb to ask an already loaded library for a dump
 * without sending a signal the program may handle itself.  Returns 0 when
 * the request was queued, -1 when the tool is not active yet (asyncio not
 * imported) or this is a forked child without the tool's thread.
 * Async-signal-safe (a write to a pipe). */
__attribute__((visibility("default"))) int asyncleak_request_dump(void)
{
    unsigned char b = 0;    /* 0 = dump (never a signal number) */

    if (!al_active || getpid() != g_owner || g_pipe[1] < 0)
        return -1;
    return write(g_pipe[1], &b, 1) == 1 ? 0 : -1;
}
