/* snapshots.c - interval=SECONDS: live tasks and resources per origin over
 * time (a time series in the JSON report) and growing_origin findings.
 *
 * A thread of ours wakes every interval, takes the GIL, counts the live
 * records per origin (registry data only: no program code runs), appends a
 * snapshot {"t": seconds since start, "live": {"<origin id>": count}} to the
 * report's "snapshots" (the last MAX_SNAPSHOTS are kept; "snapshot_origins"
 * maps each id to {"object": "task"|"resource", "origin": stack}), and
 * reports once, as growing_origin, an origin whose live count rose in each
 * of the last GROW_WINDOW snapshots by GROW_MIN or more in all.
 */
#include "al.h"
#include "pyapi.h"
#include "stacks.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SNAPSHOTS 720
#define GROW_WINDOW 5
#define GROW_MIN 10
#define MAX_TRACKED 4096

typedef struct {
    uint32_t origin;
    int is_resource;
    long now;                   /* count in the snapshot being taken */
    long hist[GROW_WINDOW];     /* last counts, oldest first */
    int nhist, reported, seen;
} tracked;

static tracked g_tracked[MAX_TRACKED];
static int g_ntracked;
static al_json *g_series, *g_origins;
static struct timespec g_start;
static pid_t g_thread_pid;

static tracked *track(uint32_t origin, int is_resource)
{
    int i;
    for (i = 0; i < g_ntracked; i++)
        if (g_tracked[i].origin == origin && g_tracked[i].is_resource == is_resource)
            return &g_tracked[i];
    if (g_ntracked == MAX_TRACKED)
        return NULL;
    memset(&g_tracked[g_ntracked], 0, sizeof g_tracked[0]);
    g_tracked[g_ntracked].origin = origin;
    g_tracked[g_ntracked].is_resource = is_resource;
    return &g_tracked[g_ntracked++];
}

static void count(uint32_t origin, long n, int is_resource, void *ctx)
{
    tracked *t = track(origin, is_resource);
    if (t != NULL) {
        t->now += n;
        t->seen = 1;
    }
}

static void origin_key(char *buf, size_t len, const tracked *t)
{
    snprintf(buf, len, "%s%u", t->is_resource ? "r" : "t", t->origin);
}

static void report_growth(tracked *t)
{
    al_json *f = al_json_object(), *counts = al_json_array();
    char msg[160];
    int i;

    t->reported = 1;
    for (i = 0; i < t->nhist; i++)
        al_json_append(counts, al_json_int(t->hist[i]));
    snprintf(msg, sizeof msg, "live %s created here grew in each of the last %d snapshots (%ld -> %ld)",
             t->is_resource ? "resources" : "tasks", GROW_WINDOW, t->hist[0], t->hist[t->nhist - 1]);
    al_json_set_str(f, "kind", "growing_origin");
    al_json_set_str(f, "when", "interval");
    al_json_set_str(f, "message", msg);
    al_json_set_str(f, "object", t->is_resource ? "resource" : "task");
    al_json_set(f, "origin", al_stack_resolve(t->origin, 1));
    al_json_set(f, "counts", counts);
    al_report_add(f);
}

static void take_snapshot(void)
{
    struct timespec now;
    al_json *snap = al_json_object(), *live = al_json_object();
    char key[32];
    int i, k;

    for (i = 0; i < g_ntracked; i++)
        g_tracked[i].now = 0, g_tracked[i].seen = 0;
    al_count_live_tasks(count, NULL);
    al_count_live_resources(count, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (i = 0; i < g_ntracked; i++) {
        tracked *t = &g_tracked[i];
        int rising = 1;
        if (t->nhist == GROW_WINDOW) {
            memmove(t->hist, t->hist + 1, (GROW_WINDOW - 1) * sizeof *t->hist);
            t->nhist--;
        }
        t->hist[t->nhist++] = t->now;
        for (k = 1; k < t->nhist; k++)
            rising &= t->hist[k] > t->hist[k - 1];
        if (!t->reported && t->nhist == GROW_WINDOW && rising && t->hist[GROW_WINDOW - 1] - t->hist[0] >= GROW_MIN)
            report_growth(t);
        if (t->now == 0)
            continue;
        origin_key(key, sizeof key, t);
        al_json_set_int(live, key, t->now);
        if (al_json_get(g_origins, key) == NULL) {
            al_json *o = al_json_object();
            al_json_set_str(o, "object", t->is_resource ? "resource" : "task");
            al_json_set(o, "origin", al_stack_resolve(t->origin, 1));
            al_json_set(g_origins, key, o);
        }
    }
    al_json_set_int(snap, "t_ms", (int64_t)((now.tv_sec - g_start.tv_sec) * 1000 + (now.tv_nsec - g_start.tv_nsec) / 1000000));
    al_json_set(snap, "live", live);
    if (al_json_len(g_series) == MAX_SNAPSHOTS) {
        al_json_free(g_series->u.array.items[0]);
        memmove(g_series->u.array.items, g_series->u.array.items + 1,
                (g_series->u.array.len - 1) * sizeof *g_series->u.array.items);
        g_series->u.array.len--;
    }
    al_json_append(g_series, snap);
    al_report_set_extra("snapshots", al_json_copy(g_series));
    al_report_set_extra("snapshot_origins", al_json_copy(g_origins));
    al_report_commit(0);
}

static void *snapshot_main(void *arg)
{
    double secs = al_opts.interval;
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};

    for (;;) {
        PyGILState_STATE gs;
        al_exc_state exc;

        while (nanosleep(&ts, NULL) != 0)
            ;
        if (g_thread_pid != getpid() || al_py_finalizing())
            return NULL;
        gs = PyGILState_Ensure();
        al_exc_save(&exc);
        al_check_fork();
        if (al_active)
            take_snapshot();
        if (PyErr_Occurred())
            PyErr_Clear();
        al_exc_restore(&exc);
        PyGILState_Release(gs);
    }
}

void al_snapshots_start(void)
{
    if (al_opts.interval <= 0)
        return;
    al_json_free(g_series);
    al_json_free(g_origins);
    g_series = al_json_array();
    g_origins = al_json_object();
    g_ntracked = 0;
    clock_gettime(CLOCK_MONOTONIC, &g_start);
    g_thread_pid = getpid();
    if (al_start_thread(snapshot_main, NULL) != 0)
        al_diag("cannot start the snapshot thread; interval= is off");
}

void al_snapshots_after_fork(void)
{
    /* The parent's thread does not exist here; the child gets its own. */
    if (g_thread_pid != 0)
        al_snapshots_start();
}
