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

static int g_pipe[2] = {-1, -1};
static volatile pid_t g_owner;        /* the process whose thread reads the pipe */
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

    /* A forked child without our thread: behave as without the tool. */
    if (getpid() != g_owner || g_pipe[1] < 0 || write(g_pipe[1], &b, 1) != 1) {
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
    for (;;) {
        unsigned char b;
        ssize_t n = read(g_pipe[0], &b, 1);
        int sig = b;
        PyGILState_STATE gs;
        al_exc_state exc;

        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
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

static int open_pipe(void)
{
    if (pipe2(g_pipe, O_CLOEXEC) != 0) {
        g_pipe[0] = g_pipe[1] = -1;
        return -1;
    }
    fcntl(g_pipe[1], F_SETFL, O_NONBLOCK);
    g_owner = getpid();
    start_detached(reader_main, NULL);
    return 0;
}

void al_signals_install(void)
{
    size_t i;

    if (open_pipe() < 0) {
        al_diag("cannot create the signal pipe: %s; signal reports are off", strerror(errno));
        return;
    }
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
