/* watchdog.c - shutdown_hang: a thread that notices when a shutdown phase
 * (asyncio.run()'s cancel-and-wait step) takes longer than watchdog=SECONDS.
 *
 * Phases are begun and ended by hooks on the loop's thread (GIL held).  The
 * watchdog thread sleeps on a condition variable; when a phase outlives its
 * deadline it takes the GIL itself (PyGILState_Ensure: it gets it when the
 * loop thread sleeps in select or at the next switch interval while it spins
 * in Python), reports the stuck tasks once, and lets the program go on.  It
 * never runs Python during finalization and blocks every signal.  Around
 * os.fork() it is stopped and started again (al_watchdog_before_fork).
 */
#include "al.h"
#include "pyapi.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PHASES 8

typedef struct {
    const void *loop;          /* not owned: only compared, and used while the phase lasts */
    unsigned long generation;  /* identifies this phase */
    struct timespec deadline;
    int fired;
} phase;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static phase g_phases[MAX_PHASES];
static int g_nphases;
static unsigned long g_generation;
static int g_thread_started;
static pid_t g_thread_pid;
static int g_stop;              /* under g_mu: the thread is asked to exit */
static pid_t g_exited_tid;      /* under g_mu: the kernel id of the thread that exited */

static void fire(const void *loop, unsigned long generation)
{
    PyGILState_STATE gs;

    if (al_py_finalizing())
        return;
    gs = PyGILState_Ensure();
    /* The phase may have ended while we waited for the GIL. */
    pthread_mutex_lock(&g_mu);
    int still = 0;
    for (int i = 0; i < g_nphases; i++)
        if (g_phases[i].generation == generation)
            still = 1;
    pthread_mutex_unlock(&g_mu);
    if (still && al_active) {
        al_exc_state exc;
        al_exc_save(&exc);
        al_check_fork();
        al_report_shutdown_hang(loop, al_opts.watchdog);
        al_report_commit(0);
        if (PyErr_Occurred())
            PyErr_Clear();
        al_exc_restore(&exc);
    }
    PyGILState_Release(gs);
}

static void *watchdog_main(void *arg)
{
    pthread_mutex_lock(&g_mu);
    for (;;) {
        struct timespec now, next = {0, 0};
        int have_next = 0, i;

        if (g_stop) {
            g_exited_tid = al_thread_tid();
            g_thread_started = 0;
            pthread_cond_broadcast(&g_cv);
            pthread_mutex_unlock(&g_mu);
            return NULL;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (i = 0; i < g_nphases; i++) {
            phase *p = &g_phases[i];
            if (p->fired)
                continue;
            if (now.tv_sec > p->deadline.tv_sec
                || (now.tv_sec == p->deadline.tv_sec && now.tv_nsec >= p->deadline.tv_nsec)) {
                const void *loop = p->loop;
                unsigned long gen = p->generation;
                p->fired = 1;
                pthread_mutex_unlock(&g_mu);
                fire(loop, gen);
                pthread_mutex_lock(&g_mu);
                i = -1;         /* the table may have changed: rescan */
                clock_gettime(CLOCK_MONOTONIC, &now);
                have_next = 0;
                continue;
            }
            if (!have_next || p->deadline.tv_sec < next.tv_sec
                || (p->deadline.tv_sec == next.tv_sec && p->deadline.tv_nsec < next.tv_nsec)) {
                next = p->deadline;
                have_next = 1;
            }
        }
        if (have_next)
            pthread_cond_timedwait(&g_cv, &g_mu, &next);
        else
            pthread_cond_wait(&g_cv, &g_mu);
    }
    return NULL;
}

static int start_thread(void)
{
    pthread_condattr_t ca;
    int rc;

    if (g_thread_started && g_thread_pid == getpid())
        return 0;
    /* After fork the child has no watchdog thread: start a new one. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = al_start_thread(watchdog_main, NULL);
    if (rc != 0) {
        al_diag("cannot start the watchdog thread: %s; shutdown_hang is off", strerror(rc));
        return -1;
    }
    g_thread_started = 1;
    g_thread_pid = getpid();
    return 0;
}

void al_watchdog_begin(const void *loop)
{
    struct timespec now;
    double secs = al_opts.watchdog;

    if (secs <= 0)
        return;
    if (g_thread_pid != getpid()) {
        /* Fresh process (or forked child): the mutex may be held by a thread
         * that does not exist here. */
        pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
        g_mu = fresh;
        g_nphases = 0;
    }
    pthread_mutex_lock(&g_mu);
    if (start_thread() == 0 && g_nphases < MAX_PHASES) {
        phase *p = &g_phases[g_nphases++];
        clock_gettime(CLOCK_MONOTONIC, &now);
        p->loop = loop;
        p->generation = ++g_generation;
        p->fired = 0;
        p->deadline.tv_sec = now.tv_sec + (time_t)secs;
        p->deadline.tv_nsec = now.tv_nsec + (long)((secs - (double)(time_t)secs) * 1e9);
        if (p->deadline.tv_nsec >= 1000000000L) {
            p->deadline.tv_sec++;
            p->deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_signal(&g_cv);
    }
    pthread_mutex_unlock(&g_mu);
}

void al_watchdog_end(const void *loop)
{
    int i;

    if (al_opts.watchdog <= 0 || g_thread_pid != getpid())
        return;
    pthread_mutex_lock(&g_mu);
    for (i = g_nphases; i-- > 0;)
        if (g_phases[i].loop == loop) {
            g_phases[i] = g_phases[--g_nphases];
            break;
        }
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

void al_watchdog_before_fork(void)
{
    PyThreadState *ts;
    pid_t tid;

    if (!g_thread_started || g_thread_pid != getpid())
        return;
    /* Without the GIL: the thread may be waiting for it in fire(). */
    ts = PyEval_SaveThread();
    pthread_mutex_lock(&g_mu);
    g_stop = 1;
    pthread_cond_broadcast(&g_cv);
    while (g_thread_started)
        pthread_cond_wait(&g_cv, &g_mu);
    g_stop = 0;
    tid = g_exited_tid;
    pthread_mutex_unlock(&g_mu);
    al_thread_wait_gone(tid);
    PyEval_RestoreThread(ts);
}

void al_watchdog_after_fork_parent(void)
{
    if (g_thread_pid != getpid())
        return;
    pthread_mutex_lock(&g_mu);
    if (g_nphases > 0)
        start_thread();
    pthread_mutex_unlock(&g_mu);
}
