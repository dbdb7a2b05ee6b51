/* threads.c - the tool's own threads: detached, with every signal blocked
 * (signals stay with the program's threads); waiting until one is gone. */
#include "al.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

pid_t al_thread_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

void al_thread_wait_gone(pid_t tid)
{
    char path[64];
    struct stat st;
    struct timespec pause = {0, 100000};
    int i;

    if (tid <= 0)
        return;
    snprintf(path, sizeof path, "/proc/self/task/%ld", (long)tid);
    for (i = 0; i < 500 && stat(path, &st) == 0; i++)
        nanosleep(&pause, NULL);
}

int al_start_thread(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    int rc;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&tid, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc;
}
