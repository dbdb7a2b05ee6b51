/* al.h - state and entry points shared by the preload's files.
 *
 * Data flows one way: hooks (hooks_*.c) record into the registry and stack
 * tables; report points build findings (hooks_*.c) and hand them to the
 * writers (report.c).  Every function here needs the GIL unless it says so.
 */
#ifndef AL_AL_H
#define AL_AL_H

#include <signal.h>

#include "pyapi.h"

#include "json.h"
#include "options.h"
#include "registry.h"

#define AL_HIDDEN __attribute__((visibility("hidden")))

extern al_options al_opts;
extern al_registry al_tasks;
/* Set once the task hooks are in place; hooks do nothing while it is 0. */
extern int al_active;
/* Bumped in a forked child (async-signal-safe); al_check_fork() reacts. */
extern volatile sig_atomic_t al_fork_generation;

/* After a fork, forgets the parent's tasks and findings (the child reports
 * only its own) and reopens the outputs for the new pid.  Cheap when nothing
 * happened: call it at the top of report points and rare hooks. */
void al_check_fork(void);

/* threads.c: starts fn(arg) on a detached thread with every signal
 * blocked.  Returns 0 or the pthread_create error. */
int al_start_thread(void *(*fn)(void *), void *arg);
/* The calling thread's kernel id.  Async-signal-safe. */
pid_t al_thread_tid(void);
/* Waits (at most about 50 ms) until the kernel has removed thread tid of
 * this process, after it returned: a joined or finished thread can still be
 * counted in /proc/self/stat for a moment, which os.fork() (3.12+) reads to
 * warn about threads.  No GIL needed; do not hold it. */
void al_thread_wait_gone(pid_t tid);

/* One diagnostic line "asyncleak: ..." on stderr (not part of a report). */
void al_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* report.c: findings of this process and their writers. */
/* Takes ownership of finding; prints it as text right away (or, between
 * al_report_hold and al_report_release, with the next large write). */
void al_report_add(al_json *finding);
/* 0 when a finding added now would only be counted (max_findings reached,
 * no suppressions to match): the caller may then call
 * al_report_count_unlisted(kind) instead of building it. */
int al_report_wants_detail(void);
void al_report_count_unlisted(const char *kind);
/* Text of findings added in between is written in large writes (whole
 * findings, at most 64 KiB late); nests.  GIL held. */
void al_report_hold(void);
void al_report_release(void);
/* Rewrites the JSON report (atomically) when findings were added since the
 * last write, or always when force is set. */
void al_report_commit(int force);
/* The same for a finding that comes alone, at any time and possibly by the
 * thousand (a task or resource the garbage collector found, a close): the
 * JSON is rewritten at most once per AL_COMMIT_SOON_MS, and findings added
 * within that window go out with the next write (the next one of these, any
 * report point, a dump or exit).  The text is written at once either way. */
#define AL_COMMIT_SOON_MS 1000
void al_report_commit_soon(void);
/* Set while findings wait for such a write; the task spawn hook retries it,
 * so a live process's JSON lags a burst by about AL_COMMIT_SOON_MS. */
extern volatile int al_report_deferred;
/* At exit: final JSON, then the SUMMARY line when there were findings. */
void al_report_exit(void);
/* Number of findings so far (listed and dropped). */
long al_report_count(void);
/* Takes ownership of an object whose members (argv, python) go into the JSON. */
void al_report_set_meta(al_json *meta);
/* Sets (replaces) a further top-level member of the JSON report, e.g.
 * "snapshots"; takes ownership of value. */
void al_report_set_extra(const char *key, al_json *value);
void al_report_reset(void);
/* While set (fn not NULL), fn(finding, ctx) may add fields to each finding
 * that the calling thread adds, before it is matched against suppressions,
 * printed and stored; other threads' findings are left alone.  fn must not
 * call back into the report.  Set and clear it around one report point. */
typedef void (*al_report_annotate_fn)(al_json *finding, void *ctx);
void al_report_annotate(al_report_annotate_fn fn, void *ctx);
/* Copies of the listed findings from index start on (an array). */
al_json *al_report_findings_since(size_t start);
/* Number of listed findings (the index the next one will get). */
size_t al_report_listed(void);
/* Loads suppressions=FILE (one line on stderr when it is invalid). */
void al_report_load_suppressions(void);
/* Calls _exit(exitcode) when findings exist and exitcode= was given. */
void al_report_apply_exitcode(void);

/* hooks_task.c */
int al_tasks_install(void);
/* 1 pending, 0 done, -1 unknown. */
int al_task_is_pending(const void *task);
/* A task finding {"kind", "when", "task", "origin", ...} for a live task. */
al_json *al_task_finding(const al_task_rec *rec, const void *task,
                         const char *kind, const char *when);
/* Before a finding about a task the garbage collector found: inside a
 * collection, the findings share one snapshot of the live tasks (built at
 * the first, dropped at the collection's end, al_tasks_gc_stop) instead of
 * one snapshot each. */
void al_tasks_gc_finding(void);
void al_tasks_gc_stop(void);
/* Reports every still-pending task of loop (all loops when loop is NULL and
 * only those whose loop is not closed, for exit) that was not reported yet.
 * Returns how many were reported. */
int al_report_pending_tasks(const void *loop, const char *kind, const char *when);
/* Reports tasks of loop (all when NULL) that swallowed a cancellation and
 * then finished normally (pending ones are reported by
 * al_report_pending_tasks with the kind swallowed_cancel). */
int al_report_swallowed_finished(const void *loop, const char *when);
/* Marks loop as shutting down (tasks it spawns from now on are flagged) or
 * forgets it (loop closed). */
void al_loop_shutdown_begin(const void *loop);
void al_loop_shutdown_end(const void *loop);

/* hooks_cancel.c */
int al_cancel_install(PyObject *task_type);
/* {"requested", "origin", "message"?} of the counted cancel requests of a
 * live task, or NULL when it was never cancelled. */
al_json *al_cancel_json(const void *task);
/* 1 when the task swallowed a delivered cancellation (see hooks_cancel.c);
 * strict asks for stronger evidence (used while shutdown may still be in
 * progress, by the watchdog). */
int al_cancel_swallowed(const void *task, int strict);
void al_cancel_mark_swallow_reported(const void *task);
void al_cancel_forget(const void *task);
void al_cancel_reset(void);

/* Reports a shutdown_hang finding listing the still-pending tasks of loop
 * (and a swallowed_cancel finding for each that swallowed a cancellation). */
void al_report_shutdown_hang(const void *loop, double waited);

/* Entries of the pending tasks of loop (other than the running one) whose
 * coroutine chain references obj; NULL when none.  At most
 * AL_MAX_USERS_CHECKED tasks are examined. */
#define AL_MAX_USERS_CHECKED 20000
al_json *al_tasks_using(const void *obj, const void *loop);
/* Entries {"task", "origin", "suspended_at", ...} of every pending task. */
al_json *al_pending_task_entries(void);
/* On-demand dump: one pending_task finding (when="dump") per pending task;
 * tasks are not marked reported.  Returns how many. */
int al_report_dump_tasks(void);

/* watchdog.c: shutdown phases (GIL held by the caller). */
void al_watchdog_begin(const void *loop);
void al_watchdog_end(const void *loop);
/* Around os.fork() (signals.c's at-fork hooks, GIL held): stops the
 * watchdog thread, so the process forks with no thread of ours; after the
 * fork, the parent starts it again when a phase is in progress (else the
 * next phase does). */
void al_watchdog_before_fork(void);
void al_watchdog_after_fork_parent(void);

/* hooks_resource.c */
/* Loads the built-in resource kinds and the resources=FILE ones. */
void al_resources_init(void);
/* Number of kinds whose module was not imported yet. */
int al_resources_pending(void);
/* Hooks the kinds of module (just being imported) / of every module
 * already in sys.modules. */
void al_resources_on_import(const char *module);
void al_resources_sweep(void);
/* Set while a resources=FILE kind of __main__ waits for the script to define
 * its class; the spawn hook then retries (one load and branch otherwise). */
extern int g_main_pending;
void al_resources_retry_main(void);
/* Reports unclosed resources of loop (all when NULL).  Returns how many. */
int al_report_unclosed_resources(const void *loop, const char *when);
/* From the exception handler: aiohttp's "Unclosed ..." messages name the
 * object in the context. */
void al_resources_exception_context(PyObject *context, const char *message);
void al_resources_reset(void);
/* A collection ended: the records held back during it are reported. */
void al_resources_gc_stop(void);
/* Entries {"resource", "origin"} of every open resource. */
al_json *al_open_resource_entries(void);
/* On-demand dump: one unclosed_resource finding (when="dump") per open one. */
int al_report_dump_resources(void);

/* gcphase.c: gc.callbacks "start"/"stop", appended on first need.
 * al_gc_watch registers (once) and says whether it is registered. */
int al_gc_watch(void);
int al_gc_collecting(void);

/* snapshots.c: interval=SECONDS live counts per origin, growing_origin. */
void al_snapshots_start(void);
void al_snapshots_after_fork(void);
/* Live objects per origin id (resources counted under their own origins):
 * calls fn(origin, count, is_resource, ctx) once per origin. */
void al_count_live_tasks(void (*fn)(uint32_t origin, long count, int is_resource, void *ctx), void *ctx);
void al_count_live_resources(void (*fn)(uint32_t origin, long count, int is_resource, void *ctx), void *ctx);

/* attach.c: loaded into a running interpreter (asyncleak attach). */
/* Registers tasks that existed before the attach (no origin; flagged). */
int al_tasks_adopt_existing(void);
/* Registers open resources of the hooked kinds found by gc.get_objects(). */
int al_resources_adopt_existing(void);
/* From the constructor when Python is already running: finishes start-up on
 * a thread of ours holding the GIL, then writes a dump report. */
void al_attach_start(void);
/* bootstrap.c, for attach.c (GIL held): add the audit hook now; install the
 * hooks for whatever is already imported. */
int al_bootstrap_add_hook(void);
void al_bootstrap_install_present(void);

/* pymodule.c: the in-process API, module "asyncleak". */
/* Puts the module in sys.modules (when the program imports asyncleak). */
int al_pymodule_install(void);

/* signals.c */
/* Catches SIGTERM/SIGHUP while they have their default disposition (and the
 * dump signal): a handler that only wakes a thread, which reports and then
 * lets the signal take its default effect.  Call once hooks are active. */
void al_signals_install(void);
/* In a forked child: a new thread and pipe for this process. */
void al_signals_after_fork(void);

/* interrupt.c: KeyboardInterrupt (SIGINT) escaping a loop or asyncio.Runner. */
/* Hooks run_forever of a loop type / Runner.run of asyncio.runners (3.11+). */
int al_interrupt_wrap_loop_type(PyObject *loop_type);
void al_interrupt_install(PyObject *runners);
/* Around a report point about loop (NULL: every loop, at exit): task
 * findings of tasks that existed when a KeyboardInterrupt escaped that loop
 * say so ("interrupted", message naming runner, e.g. "asyncio.run()"). */
void al_interrupt_report_begin(const void *loop, const char *runner);
void al_interrupt_report_end(void);
/* loop closed: its mark goes (its address may be reused). */
void al_interrupt_forget(const void *loop);

/* hooks_loop.c */
int al_loop_install(void);
int al_uvloop_install(void);
/* Hooks functions of libraries already imported: aiohttp.web's
 * _cancel_tasks (web.run_app's cancel-all step). */
void al_module_hooks_sweep(void);
extern int g_module_hooks_pending;

#endif
