/* hooks_task.c - task spawn and destruction hooks, and task findings.
 *
 * Every task is an _asyncio.Task or a subclass.  Wrapping the type's tp_init
 * catches create_task, ensure_future, gather, TaskGroup, Task(coro), eager
 * tasks and uvloop; repointing the __init__ slot wrapper catches subclasses
 * that call super().__init__.  The registry record is dropped in tp_dealloc
 * (subclasses reach it through subtype_dealloc) before the memory is freed.
 * Tasks stay exact instances of their class: nothing about them changes.
 */
#include "al.h"
#include "pyapi.h"
#include "native.h"
#include "stackintern.h"
#include "stacks.h"
#include "typeslots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PyObject *g_task_type;      /* _asyncio.Task */
static PyObject *g_state_descr;    /* _asyncio.Future._state (getset) */
static PyObject *g_loop_descr;     /* _asyncio.Future._loop (getset) */
static PyObject *g_get_name;       /* _asyncio.Task.get_name (method) */
static PyObject *g_get_coro;       /* _asyncio.Task.get_coro (method) */
static PyObject *g_waiter_descr;   /* _asyncio.Task._fut_waiter (getset) */
static PyObject *g_current_tasks;  /* _asyncio._current_tasks: {loop: task} */
static PyObject *g_coro_type, *g_gen_type;
static al_initproc g_orig_init;
static al_destructor g_orig_dealloc;
static al_destructor g_orig_finalize;

#define MAX_SHUTDOWN_LOOPS 16
static const void *g_shutdown_loops[MAX_SHUTDOWN_LOOPS];
static int g_nshutdown;

static int loop_in_shutdown(const void *loop)
{
    int i;
    for (i = 0; i < g_nshutdown; i++)
        if (g_shutdown_loops[i] == loop)
            return 1;
    return 0;
}

void al_loop_shutdown_begin(const void *loop)
{
    if (!loop_in_shutdown(loop) && g_nshutdown < MAX_SHUTDOWN_LOOPS)
        g_shutdown_loops[g_nshutdown++] = loop;
}

void al_loop_shutdown_end(const void *loop)
{
    int i;
    for (i = 0; i < g_nshutdown; i++)
        if (g_shutdown_loops[i] == loop) {
            g_shutdown_loops[i] = g_shutdown_loops[--g_nshutdown];
            return;
        }
}

static void record(PyObject *task, uint32_t origin, uint32_t native, uint32_t flags)
{
    al_task_rec rec = {0};
    PyObject *loop = al_descr_get(g_loop_descr, task);

    rec.task = task;
    rec.origin = origin;
    rec.native = native;
    rec.flags = flags;
    if (loop != NULL && g_current_tasks != NULL && origin != 0) {
        PyObject *cur = PyDict_GetItem(g_current_tasks, loop);   /* borrowed */
        const al_task_rec *c = cur && cur != task ? al_registry_get(&al_tasks, cur) : NULL;
        if (c != NULL)
            rec.creator_serial = c->serial;
    }
    if (g_nshutdown > 0 && loop_in_shutdown(loop))
        rec.flags |= AL_TASK_SPAWNED_IN_SHUTDOWN;
    Py_XDECREF(loop);
    al_registry_put(&al_tasks, &rec);
}

static unsigned g_spawns_since_sweep;
static int g_gc_batch_open;     /* see al_tasks_gc_finding */

static int task_init_hook(PyObject *self, PyObject *args, PyObject *kwargs)
{
    uint32_t origin = 0, native = 0;
    int rc;

    if (al_active) {
        al_check_fork();
        if (al_report_deferred)
            al_report_commit_soon();
        if (g_gc_batch_open)
            al_tasks_gc_stop();
        if (g_main_pending)
            al_resources_retry_main();
        if (g_module_hooks_pending && (g_spawns_since_sweep++ & 63) == 0)
            al_module_hooks_sweep();
        /* Captured before the original runs: an eager task (3.12+) starts
         * executing its coroutine inside __init__. */
        origin = al_stack_capture(al_opts.stack_depth);
        if (al_opts.native)
            native = al_native_capture();
    }
    rc = g_orig_init(self, args, kwargs);
    if (rc == 0 && al_active)
        record(self, origin, native, 0);
    return rc;
}

/* The record stays while the original dealloc runs its finalizer (which
 * reports "Task was destroyed..." / "exception was never retrieved" through
 * the exception handler, where the origin is looked up), marked DYING so no
 * report point touches the object; it goes right after.  Between the free
 * and the removal nothing can allocate a task at this address except type
 * teardown, at worst losing that new task's record, never a crash. */
static void task_dealloc_hook(PyObject *self)
{
    al_task_rec *rec = al_tasks.count != 0 ? al_registry_get(&al_tasks, self) : NULL;
    uint32_t cancelled;

    if (rec == NULL) {
        g_orig_dealloc(self);
        return;
    }
    rec->flags |= AL_TASK_DYING;
    cancelled = rec->flags & AL_TASK_CANCEL_REQUESTED;
    g_orig_dealloc(self);
    al_registry_remove(&al_tasks, self);
    if (cancelled)
        al_cancel_forget(self);
}

/* A task that swallowed a cancellation and finished normally is seen last
 * here, when it is garbage (the finalizer runs with the object resurrected,
 * so describing it is safe).  Only cancelled tasks pay for the check. */
static void task_finalize_hook(PyObject *self)
{
    al_task_rec *rec = al_active ? al_registry_get(&al_tasks, self) : NULL;

    if (rec != NULL && (rec->flags & AL_TASK_CANCEL_REQUESTED)) {
        al_exc_state exc;
        al_exc_save(&exc);
        if (al_task_is_pending(self) == 0 && al_cancel_swallowed(self, 0)) {
            al_task_rec copy = *rec;
            rec->flags |= AL_TASK_REPORTED;
            al_cancel_mark_swallow_reported(self);
            al_report_add(al_task_finding(&copy, self, "swallowed_cancel", "gc"));
            al_report_commit_soon();
        }
        if (PyErr_Occurred())
            PyErr_Clear();
        al_exc_restore(&exc);
    }
    if (g_orig_finalize != NULL)
        g_orig_finalize(self);
}

static PyObject *dict_item(PyObject *type, const char *name)
{
    PyObject *dict = al_type_dict(type);
    PyObject *v = dict ? PyDict_GetItemString(dict, name) : NULL;
    Py_XINCREF(v);
    return v;
}

int al_tasks_install(void)
{
    PyObject *mod = NULL, *future_type = NULL, *types = NULL;
    int rc = -1;

    if (g_task_type != NULL)
        return 0;
    mod = PyImport_ImportModule("_asyncio");
    if (mod == NULL)
        goto out;
    g_task_type = al_getattr(mod, "Task");
    future_type = al_getattr(mod, "Future");
    g_current_tasks = al_getattr(mod, "_current_tasks");
    if (g_current_tasks != NULL && !PyDict_Check(g_current_tasks))
        Py_CLEAR(g_current_tasks);
    if (g_task_type == NULL || future_type == NULL || !PyType_Check(g_task_type))
        goto out;
    g_state_descr = dict_item(future_type, "_state");
    g_loop_descr = dict_item(future_type, "_loop");
    g_get_name = dict_item(g_task_type, "get_name");
    g_get_coro = dict_item(g_task_type, "get_coro");
    g_waiter_descr = dict_item(g_task_type, "_fut_waiter");
    types = PyImport_ImportModule("types");
    g_coro_type = al_getattr(types, "CoroutineType");
    g_gen_type = al_getattr(types, "GeneratorType");
    if (g_state_descr == NULL || g_loop_descr == NULL)
        goto out;

    g_orig_init = al_type_get_init(g_task_type);
    g_orig_dealloc = al_type_get_dealloc(g_task_type);
    if (g_orig_init == NULL || g_orig_dealloc == NULL)
        goto out;
    g_orig_finalize = al_type_get_finalize(g_task_type);
    al_type_set_dealloc(g_task_type, task_dealloc_hook);
    if (g_orig_finalize != NULL)
        al_type_set_finalize(g_task_type, task_finalize_hook);
    if (al_cancel_install(g_task_type) < 0)
        al_diag("cannot wrap Task.cancel; cancel origins are off");
    al_type_set_init(g_task_type, task_init_hook);
    if (al_swap_slot_wrapper(g_task_type, "__init__", (void *)g_orig_init, (void *)task_init_hook) < 0 && al_opts.verbosity > 0)
        al_diag("Task.__init__ is not the expected slot wrapper; subclasses calling super().__init__ are not tracked");
    rc = 0;
out:
    if (PyErr_Occurred())
        PyErr_Clear();
    Py_XDECREF(mod);
    Py_XDECREF(future_type);
    Py_XDECREF(types);
    if (rc < 0)
        Py_CLEAR(g_task_type);
    return rc;
}

/* ---- describing tasks at report time (no program code is called) ---- */

/* Attribute names, made once: PyObject_GetAttrString makes a str per call. */
enum { N_CR_FRAME, N_CR_AWAIT, N_GI_FRAME, N_GI_YIELDFROM, N_QUALNAME, N_NAMES };
static const char *const g_name_str[N_NAMES] = {
    "cr_frame", "cr_await", "gi_frame", "gi_yieldfrom", "__qualname__",
};
static PyObject *g_names[N_NAMES];

/* The getset descriptors of the coroutine and generator attributes read
 * here (types.CoroutineType.cr_frame, ...), called directly on instances of
 * exactly those types: what a generic attribute lookup would find, without
 * the lookup.  NULL when unavailable (attr() then looks up). */
static PyObject *g_coro_descr[N_NAMES], *g_gen_descr[N_NAMES];
static int g_descr_looked_up;

static void look_up_descriptors(void)
{
    int i;

    g_descr_looked_up = 1;
    for (i = 0; i < N_NAMES; i++) {
        if (i == N_QUALNAME)
            continue;           /* type.__qualname__ would answer instead */
        if (g_coro_type != NULL && (i == N_CR_FRAME || i == N_CR_AWAIT))
            g_coro_descr[i] = al_getattr(g_coro_type, g_name_str[i]);
        if (g_gen_type != NULL && (i == N_GI_FRAME || i == N_GI_YIELDFROM))
            g_gen_descr[i] = al_getattr(g_gen_type, g_name_str[i]);
    }
    /* Only getset descriptors (the type of Future._state's) are used. */
    for (i = 0; i < N_NAMES; i++) {
        if (g_coro_descr[i] != NULL && Py_TYPE(g_coro_descr[i]) != Py_TYPE(g_state_descr))
            Py_CLEAR(g_coro_descr[i]);
        if (g_gen_descr[i] != NULL && Py_TYPE(g_gen_descr[i]) != Py_TYPE(g_state_descr))
            Py_CLEAR(g_gen_descr[i]);
    }
    if (PyErr_Occurred())
        PyErr_Clear();
}

/* obj.NAME (new reference), or NULL with no exception set. */
static PyObject *attr(PyObject *obj, int name)
{
    PyObject *r, *descr = NULL;

    if (obj == NULL)
        return NULL;
    if (!g_descr_looked_up)
        look_up_descriptors();
    if ((PyObject *)Py_TYPE(obj) == g_coro_type)
        descr = g_coro_descr[name];
    else if ((PyObject *)Py_TYPE(obj) == g_gen_type)
        descr = g_gen_descr[name];
    if (descr != NULL)
        return al_descr_get(descr, obj);
    if (g_names[name] == NULL && (g_names[name] = PyUnicode_InternFromString(g_name_str[name])) == NULL) {
        PyErr_Clear();
        return al_getattr(obj, g_name_str[name]);
    }
    r = PyObject_GetAttr(obj, g_names[name]);
    if (r == NULL)
        PyErr_Clear();
    return r;
}

/* The loop of a live task, NULL when it has none.  Not a new reference: the
 * task keeps its loop alive, so the pointer is valid while the task is. */
static const void *loop_of(const void *task)
{
    PyObject *loop = al_descr_get(g_loop_descr, (PyObject *)task);

    Py_XDECREF(loop);
    return loop != Py_None ? loop : NULL;
}

int al_task_is_pending(const void *task)
{
    PyObject *state = al_descr_get(g_state_descr, (PyObject *)task);
    int r = -1;

    if (state != NULL && PyUnicode_Check(state))
        r = PyUnicode_CompareWithASCIIString(state, "PENDING") == 0;
    Py_XDECREF(state);
    return r;
}

static PyObject *call_descr(PyObject *descr, PyObject *self)
{
    PyObject *r;

    if (descr == NULL)
        return NULL;
    r = PyObject_CallFunctionObjArgs(descr, self, NULL);
    if (r == NULL)
        PyErr_Clear();
    return r;
}

static int is_builtin_coroutine(PyObject *obj)
{
    return obj != NULL && ((g_coro_type && (PyObject *)Py_TYPE(obj) == g_coro_type)
                           || (g_gen_type && (PyObject *)Py_TYPE(obj) == g_gen_type));
}

/* ---- the describe batch ----
 * What a report point describing many tasks builds once (describe_begin /
 * describe_end nest; a lone finding makes a batch of its own):
 *  - the waiter index (waiter address -> waiting task) for awaited_by, from
 *    one _fut_waiter read per live task;
 *  - the live records sorted by serial, to find a creator by its serial;
 *  - shared JSON nodes (al_json_ref) for suspended_at frames by (code, line),
 *    coroutine names and states by str object, kind/when strings, so 100k
 *    tasks suspended at one line hold one frame.  A cache entry owns a
 *    reference to its code or str object: its address cannot be reused for
 *    another object while the entry exists.  Entries go at describe_end. */
typedef struct { const void *waiter; const void *task; uint64_t serial; } waiter_entry;
typedef struct { PyObject *key; int line; al_json *json; } cache_entry;
typedef struct { const char *key; al_json *json; } literal_entry;
typedef struct { PyObject *code; int line; } code_line;
typedef struct { uint64_t hash; int n; code_line *pairs; al_json *json; } chain_entry;
typedef struct { uint64_t serial; int alive; al_json *json; } creator_entry;
typedef struct { uint32_t origin, native; al_json *json; } native_entry;

#define FRAME_SLOTS 256
#define NAME_SLOTS 64
#define STATE_SLOTS 8
#define LITERAL_SLOTS 8
#define CHAIN_SLOTS 64
#define CREATOR_SLOTS 64
#define NATIVE_SLOTS 64

static struct {
    int depth;
    int indexed;                /* widx and live are built */
    waiter_entry *widx;
    size_t nwidx;
    al_task_rec *live;          /* sorted by serial */
    size_t nlive;
    uint64_t next_serial;       /* serials below were assigned before live was taken */
    cache_entry frames[FRAME_SLOTS];
    cache_entry names[NAME_SLOTS];
    cache_entry states[STATE_SLOTS];
    literal_entry literals[LITERAL_SLOTS];
    chain_entry chains[CHAIN_SLOTS];        /* suspended_at objects by (code, line) chain */
    creator_entry creators[CREATOR_SLOTS];  /* created_by objects by creator serial */
    native_entry natives[NATIVE_SLOTS];     /* native=1 origins by (origin, native) ids */
} g_batch;

static void chain_entry_clear(chain_entry *e)
{
    code_line *pairs = e->pairs;
    al_json *json = e->json;
    int i, n = e->n;

    e->pairs = NULL;
    e->json = NULL;
    e->n = 0;
    al_json_free(json);
    for (i = 0; i < n; i++)
        Py_DECREF(pairs[i].code);
    free(pairs);
}

static size_t ptr_slot(const void *p, int line, size_t slots)
{
    uint64_t h = (((uint64_t)(uintptr_t)p >> 4) ^ (uint64_t)(unsigned)line * 0x100000001b3ull) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 40) % slots;
}

/* The future a task is blocked on (new reference), or NULL. */
static PyObject *waiter_of(PyObject *task)
{
    PyObject *w = g_waiter_descr ? al_descr_get(g_waiter_descr, task) : NULL;
    if (w == Py_None) {
        Py_DECREF(w);
        return NULL;
    }
    return w;
}

static int by_waiter(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const waiter_entry *)a)->waiter, y = (uintptr_t)((const waiter_entry *)b)->waiter;
    return (x > y) - (x < y);
}

static int live_not_dying(const al_task_rec *rec, void *ctx)
{
    return !(rec->flags & AL_TASK_DYING);
}

static void describe_begin(void)
{
    g_batch.depth++;
}

/* Builds the batch's record snapshot and waiter index on first use (a batch
 * that describes no task, or needs neither, reads no task). */
static void batch_indexes(void)
{
    size_t n = 0, i;
    al_task_rec *recs;

    if (g_batch.indexed)
        return;
    g_batch.indexed = 1;
    g_batch.next_serial = al_tasks.next_serial;
    recs = al_registry_select(&al_tasks, live_not_dying, NULL, &n);
    g_batch.live = recs;
    g_batch.nlive = n;
    g_batch.widx = n ? malloc(n * sizeof *g_batch.widx) : NULL;
    g_batch.nwidx = 0;
    for (i = 0; g_batch.widx != NULL && i < n; i++) {
        PyObject *w = waiter_of((PyObject *)recs[i].task);
        if (w != NULL && al_type_is_subtype(w, g_task_type)) {
            g_batch.widx[g_batch.nwidx].waiter = w;     /* compared only */
            g_batch.widx[g_batch.nwidx].task = recs[i].task;
            g_batch.widx[g_batch.nwidx].serial = recs[i].serial;
            g_batch.nwidx++;
        }
        Py_XDECREF(w);
    }
    if (g_batch.nwidx > 1)
        qsort(g_batch.widx, g_batch.nwidx, sizeof *g_batch.widx, by_waiter);
}

static void cache_clear(cache_entry *tab, size_t slots)
{
    size_t i;

    for (i = 0; i < slots; i++) {
        PyObject *key = tab[i].key;
        al_json_free(tab[i].json);
        tab[i].key = NULL;
        tab[i].json = NULL;
        Py_XDECREF(key);
    }
}

static void describe_end(void)
{
    size_t i;

    if (--g_batch.depth > 0)
        return;
    g_batch.indexed = 0;
    free(g_batch.widx);
    free(g_batch.live);
    g_batch.widx = NULL;
    g_batch.live = NULL;
    g_batch.nwidx = g_batch.nlive = 0;
    cache_clear(g_batch.frames, FRAME_SLOTS);
    cache_clear(g_batch.names, NAME_SLOTS);
    cache_clear(g_batch.states, STATE_SLOTS);
    for (i = 0; i < LITERAL_SLOTS; i++) {
        al_json_free(g_batch.literals[i].json);
        g_batch.literals[i].key = NULL;
        g_batch.literals[i].json = NULL;
    }
    for (i = 0; i < CHAIN_SLOTS; i++)
        chain_entry_clear(&g_batch.chains[i]);
    for (i = 0; i < CREATOR_SLOTS; i++) {
        al_json_free(g_batch.creators[i].json);
        g_batch.creators[i].json = NULL;
    }
    for (i = 0; i < NATIVE_SLOTS; i++) {
        al_json_free(g_batch.natives[i].json);
        g_batch.natives[i].json = NULL;
    }
}

/* A describe batch kept open from the first task finding of a collection
 * to its end.  Safe to keep: no task steps during a collection, so waiters
 * do not change, and every entry is checked against the live record (same
 * serial, not dying) before use.  A task spawned meanwhile (a finalizer's)
 * closes it: the snapshot would not know the new task (g_gc_batch_open
 * is declared with the spawn hook, which reads it).  Hazard: if the
 * collection's "stop" never comes (the program emptied gc.callbacks during
 * it), the batch stays open until the next spawn, and a report point in
 * between would see waiters as they were at that collection. */

void al_tasks_gc_finding(void)
{
    if (!g_gc_batch_open && al_gc_watch() && al_gc_collecting()) {
        g_gc_batch_open = 1;
        describe_begin();
    }
}

void al_tasks_gc_stop(void)
{
    if (g_gc_batch_open) {
        g_gc_batch_open = 0;
        describe_end();
    }
}

/* Stores json (one more owner) under key in e, owning a reference to key. */
static void cache_put(cache_entry *e, PyObject *key, int line, al_json *json)
{
    PyObject *old_key = e->key;
    al_json *old_json = e->json;

    Py_INCREF(key);
    e->key = key;
    e->line = line;
    e->json = al_json_ref(json);
    al_json_free(old_json);
    Py_XDECREF(old_key);
}

/* A string node for a literal such as a kind or a when, shared in a batch. */
static al_json *literal_json(const char *s)
{
    size_t i;
    al_json *j;

    if (g_batch.depth == 0)
        return al_json_string(s);
    for (i = 0; i < LITERAL_SLOTS && g_batch.literals[i].key != NULL; i++)
        if (strcmp(g_batch.literals[i].key, s) == 0)
            return al_json_ref(g_batch.literals[i].json);
    j = al_json_string(s);
    if (i < LITERAL_SLOTS && j != NULL) {
        g_batch.literals[i].json = al_json_ref(j);
        g_batch.literals[i].key = g_batch.literals[i].json->u.string.bytes;
    }
    return j;
}

/* A string node with the bytes of str s ("?" when s is not a str); with
 * lower, ASCII letters lowercased. */
static al_json *str_json(PyObject *s, int lower)
{
    const char *u = al_str_utf8(s);
    char *b = u ? NULL : al_str_bytes(s);
    al_json *j = al_json_string(u ? u : b ? b : "?");
    size_t i;

    free(b);
    if (lower && j != NULL && j->type == AL_JSON_STRING)
        for (i = 0; i < j->u.string.len; i++)
            if (j->u.string.bytes[i] >= 'A' && j->u.string.bytes[i] <= 'Z')
                j->u.string.bytes[i] = (char)(j->u.string.bytes[i] - 'A' + 'a');
    return j;
}

/* str_json(s, lower), shared in a batch through tab (keyed by s itself). */
static al_json *cached_str_json(cache_entry *tab, size_t slots, PyObject *s, int lower)
{
    cache_entry *e;
    al_json *j;

    if (s == NULL || g_batch.depth == 0)
        return str_json(s, lower);
    e = &tab[ptr_slot(s, 0, slots)];
    if (e->key == s && e->json != NULL)
        return al_json_ref(e->json);
    j = str_json(s, lower);
    if (j != NULL)
        cache_put(e, s, 0, j);
    return j;
}

/* {"file", "line", "function"} of code at line, shared in a batch. */
static al_json *frame_json(PyObject *code, int line)
{
    cache_entry *e;
    al_json *j;

    if (g_batch.depth == 0)
        return al_frame_json(code, line);
    e = &g_batch.frames[ptr_slot(code, line, FRAME_SLOTS)];
    if (e->key == code && e->line == line && e->json != NULL)
        return al_json_ref(e->json);
    j = al_frame_json(code, line);
    if (j != NULL)
        cache_put(e, code, line, j);
    return j;
}

/* Qualified name of a coroutine; its type's name for other awaitables. */
static al_json *coro_name_json(PyObject *coro)
{
    PyObject *name;
    al_json *j;

    if (coro == NULL)
        return al_json_string("?");
    if (!is_builtin_coroutine(coro)) {
        char *s = al_type_qualified_name((PyObject *)Py_TYPE(coro));   /* no metaclass code runs */
        j = al_json_string(s ? s : "?");
        free(s);
        return j;
    }
    name = attr(coro, N_QUALNAME);
    j = cached_str_json(g_batch.names, NAME_SLOTS, name, 0);
    Py_XDECREF(name);
    return j;
}

/* {"id", "name", "coro", "state"} of a live task. */
static al_json *task_summary(uint64_t serial, PyObject *task, int with_state)
{
    al_json *t = al_json_object();
    PyObject *name = call_descr(g_get_name, task);
    PyObject *coro = call_descr(g_get_coro, task);

    al_json_set_int(t, "id", (int64_t)serial);
    al_json_set(t, "name", str_json(name, 0));
    al_json_set(t, "coro", coro_name_json(coro));
    if (with_state) {
        PyObject *state = al_descr_get(g_state_descr, task);
        al_json_set(t, "state", cached_str_json(g_batch.states, STATE_SLOTS, state, 1));
        Py_XDECREF(state);
    }
    Py_XDECREF(name);
    Py_XDECREF(coro);
    return t;
}

/* Appends to out[*n..] where the coroutine chain of coro waits now (code
 * objects as new references), outermost coroutine first; returns how many
 * coroutines it walked (at most budget, which out must have room for). */
static int walk_coroutines(PyObject *coro, code_line *out, int *n, int budget)
{
    PyObject *obj = coro;
    int depth;

    Py_XINCREF(obj);
    for (depth = 0; depth < budget && is_builtin_coroutine(obj); depth++) {
        int is_coro = (PyObject *)Py_TYPE(obj) == g_coro_type;
        PyObject *frame = attr(obj, is_coro ? N_CR_FRAME : N_GI_FRAME);
        PyObject *next = attr(obj, is_coro ? N_CR_AWAIT : N_GI_YIELDFROM);
        /* A builtin coroutine's frame is a frame object (or None). */
        PyObject *code = frame && frame != Py_None ? al_frame_code((PyFrameObject *)frame) : NULL;

        if (code != NULL) {
            out[*n].code = code;
            out[*n].line = PyFrame_GetLineNumber((PyFrameObject *)frame);
            (*n)++;
        }
        if (PyErr_Occurred())
            PyErr_Clear();
        Py_XDECREF(frame);
        Py_DECREF(obj);
        obj = next;
        if (code == NULL)
            break;
    }
    Py_XDECREF(obj);
    return depth;
}

static uint64_t chain_hash(const code_line *c, int n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;
    int i;

    for (i = 0; i < n; i++) {
        h = (h ^ (uint64_t)(uintptr_t)c[i].code) * 0x100000001b3ull;
        h = (h ^ (uint64_t)(unsigned)c[i].line) * 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

/* {"frames": [...]} of a chain, shared in a batch by chains of the same
 * (code, line) pairs. */
static al_json *chain_json(const code_line *c, int n)
{
    uint64_t h = chain_hash(c, n);
    chain_entry *e = &g_batch.chains[(h >> 32) % CHAIN_SLOTS];
    al_json *st, *frames;
    code_line *copy;
    int i;

    if (e->json != NULL && e->hash == h && e->n == n) {
        for (i = 0; i < n && e->pairs[i].code == c[i].code && e->pairs[i].line == c[i].line; i++)
            ;
        if (i == n)
            return al_json_ref(e->json);
    }
    st = al_json_object();
    frames = al_json_array();
    for (i = 0; i < n; i++)
        al_json_append(frames, frame_json(c[i].code, c[i].line));
    al_json_set(st, "frames", frames);
    if (st == NULL || g_batch.depth == 0 || (copy = malloc((size_t)n * sizeof *copy)) == NULL)
        return st;
    for (i = 0; i < n; i++) {
        copy[i] = c[i];
        Py_INCREF(copy[i].code);
    }
    chain_entry_clear(e);
    e->hash = h;
    e->n = n;
    e->pairs = copy;
    e->json = al_json_ref(st);
    return st;
}

/* The live record with this serial (not dying), or NULL: looked up in the
 * batch's sorted records, checked against the table (the task may have gone
 * since); only one created after the records were taken is searched for in
 * the table. */
static const al_task_rec *find_by_serial(uint64_t serial)
{
    size_t lo = 0, hi;
    const al_task_rec *r;

    batch_indexes();
    hi = g_batch.nlive;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g_batch.live[mid].serial < serial)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g_batch.nlive && g_batch.live[lo].serial == serial)
        r = al_registry_get(&al_tasks, g_batch.live[lo].task);
    else if (serial < g_batch.next_serial)
        r = NULL;       /* gone (or dying) when the batch began */
    else
        r = al_registry_find_serial(&al_tasks, serial);
    return r != NULL && r->serial == serial && !(r->flags & AL_TASK_DYING) ? r : NULL;
}

/* Where task waits now ({"frames": [...]}, NULL if nowhere known): its
 * coroutine chain and, while it is blocked on another task, that task's
 * chain after it (across `await other_task`).  *awaiting receives the tasks
 * waited on, innermost last (NULL if none). */
#define CHAIN_BUDGET 64
static al_json *await_chain(PyObject *task, al_json **awaiting)
{
    code_line pairs[CHAIN_BUDGET];
    PyObject *cur = task;
    int budget = CHAIN_BUDGET, hops, n = 0, i;
    al_json *st = NULL;

    *awaiting = NULL;
    Py_INCREF(cur);
    for (hops = 0; hops < 16 && budget > 0; hops++) {
        PyObject *coro = call_descr(g_get_coro, cur), *waiter;
        const al_task_rec *rec;
        budget -= walk_coroutines(coro, pairs, &n, budget);
        Py_XDECREF(coro);
        waiter = waiter_of(cur);
        Py_DECREF(cur);
        cur = NULL;
        if (waiter == NULL || !al_type_is_subtype(waiter, g_task_type) || waiter == task) {
            Py_XDECREF(waiter);
            break;
        }
        rec = al_registry_get(&al_tasks, waiter);
        if (*awaiting == NULL)
            *awaiting = al_json_array();
        al_json_append(*awaiting, task_summary(rec ? rec->serial : 0, waiter, 1));
        cur = waiter;
    }
    Py_XDECREF(cur);
    if (n > 0)
        st = chain_json(pairs, n);
    for (i = 0; i < n; i++)
        Py_DECREF(pairs[i].code);
    return st;
}

/* Which tasks are blocked on task (from the batch's waiter index). */
static al_json *awaited_by(PyObject *task)
{
    al_json *list = NULL;
    size_t lo = 0, hi;

    batch_indexes();
    hi = g_batch.nwidx;
    while (lo < hi) {       /* first entry whose waiter >= task */
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)g_batch.widx[mid].waiter < (uintptr_t)task)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < g_batch.nwidx && g_batch.widx[lo].waiter == task; lo++) {
        const al_task_rec *rec = al_registry_get(&al_tasks, g_batch.widx[lo].task);
        if (rec == NULL || rec->serial != g_batch.widx[lo].serial || (rec->flags & AL_TASK_DYING))
            continue;
        if (list == NULL)
            list = al_json_array();
        al_json_append(list, task_summary(rec->serial, (PyObject *)g_batch.widx[lo].task, 1));
    }
    return list;
}

/* created_by: {"id", "name", "coro"} of the creator while it lives, {"id"}
 * once it is gone; shared in a batch by the tasks of one creator. */
static al_json *creator_json(uint64_t serial)
{
    const al_task_rec *creator = find_by_serial(serial);
    creator_entry *e = &g_batch.creators[serial % CREATOR_SLOTS];
    al_json *c;

    if (e->json != NULL && e->serial == serial && e->alive == (creator != NULL))
        return al_json_ref(e->json);
    if (creator != NULL) {
        c = task_summary(creator->serial, (PyObject *)creator->task, 0);
    } else {
        c = al_json_object();
        al_json_set_int(c, "id", (int64_t)serial);
    }
    if (c != NULL) {
        al_json_free(e->json);
        e->serial = serial;
        e->alive = creator != NULL;
        e->json = al_json_ref(c);
    }
    return c;
}

/* The origin stack of a record.  Python-only origins are resolved once per
 * interned stack and shared by every finding (read-only); a native origin
 * (a fresh copy, which the hybrid merge changes) once per (origin, native)
 * pair in a batch. */
static al_json *origin_json(const al_task_rec *rec)
{
    al_stack_rec *st;

    if (rec->native != 0) {
        /* One per (origin, native) pair in a batch: the merge is built,
         * then shared like the Python-only ones. */
        native_entry *e = &g_batch.natives[(rec->origin * 0x9E3779B1u ^ rec->native) % NATIVE_SLOTS];
        al_json *origin, *all;
        if (e->json != NULL && e->origin == rec->origin && e->native == rec->native)
            return al_json_ref(e->json);
        origin = al_stack_resolve(rec->origin, 1);
        /* The hybrid merge needs the untrimmed Python frames. */
        all = al_stack_resolve(rec->origin, 0);
        al_native_add_to_stack(origin, rec->native, 1, all);
        al_json_free(all);
        if (origin != NULL && g_batch.depth > 0) {
            al_json_free(e->json);
            e->origin = rec->origin;
            e->native = rec->native;
            e->json = al_json_ref(origin);
        }
        return origin;
    }
    st = al_stack_get(rec->origin);
    if (st == NULL)
        return al_stack_resolve(rec->origin, 1);
    if (st->origin == NULL)
        st->origin = al_stack_resolve(rec->origin, 1);
    return al_json_ref(st->origin);
}

al_json *al_task_finding(const al_task_rec *rec, const void *task_ptr,
                         const char *kind, const char *when)
{
    PyObject *task = (PyObject *)task_ptr;
    al_json *f = al_json_object();
    al_json *chain, *awaiting, *waited;

    describe_begin();
    if (kind != NULL)
        al_json_set(f, "kind", literal_json(kind));
    if (when != NULL)
        al_json_set(f, "when", literal_json(when));
    al_json_set(f, "task", task_summary(rec->serial, task, 1));
    al_json_set(f, "origin", origin_json(rec));
    chain = await_chain(task, &awaiting);
    if (chain != NULL)
        al_json_set(f, "suspended_at", chain);
    if (awaiting != NULL)
        al_json_set(f, "awaiting", awaiting);
    waited = awaited_by(task);
    if (waited != NULL)
        al_json_set(f, "awaited_by", waited);
    if (rec->creator_serial != 0)
        al_json_set(f, "created_by", creator_json(rec->creator_serial));
    if (rec->flags & AL_TASK_SPAWNED_IN_SHUTDOWN)
        al_json_set(f, "spawned_during_shutdown", al_json_bool(1));
    if (rec->flags & AL_TASK_BEFORE_ATTACH)
        al_json_set(f, "created_before_attach", al_json_bool(1));
    if (rec->flags & AL_TASK_CANCEL_REQUESTED) {
        al_json *cancel = al_cancel_json(task);
        if (cancel != NULL)
            al_json_set(f, "cancel", cancel);
    }
    describe_end();
    if (PyErr_Occurred())
        PyErr_Clear();
    return f;
}

/* ---- report points ---- */

static int unreported(const al_task_rec *rec, void *ctx)
{
    return !(rec->flags & (AL_TASK_REPORTED | AL_TASK_DYING));
}

static int cancelled_not_dying(const al_task_rec *rec, void *ctx)
{
    /* Not filtered on REPORTED: a task reported as orphaned may still be
     * found swallowing; al_cancel_swallowed() reports each task once. */
    return (rec->flags & AL_TASK_CANCEL_REQUESTED) && !(rec->flags & AL_TASK_DYING);
}

/* Records of the live, not dying tasks for which keep is true, in creation
 * order, restricted to those of loop when loop is not NULL.  Only a getset
 * of each task is read: no Python code runs, so the table cannot change
 * meanwhile. */
static al_task_rec *select_tasks(int (*keep)(const al_task_rec *rec, void *ctx),
                                 const void *loop, size_t *n)
{
    al_task_rec *recs = al_registry_select(&al_tasks, keep, NULL, n);
    size_t i, k = 0;

    if (loop == NULL || recs == NULL)
        return recs;
    for (i = 0; i < *n; i++)
        if (loop_of(recs[i].task) == loop)
            recs[k++] = recs[i];
    *n = k;
    return recs;
}

/* For exit: 1 when loop is closed (or cannot be asked), 0 when open.  The
 * answer for the last loop asked is kept during one report point. */
typedef struct { const void *loop; int closed; } closed_memo;

static int loop_is_closed(const void *loop, closed_memo *memo)
{
    PyObject *r;
    int closed = 1;

    if (loop != NULL && memo->loop == loop)
        return memo->closed;
    if (loop == NULL)
        return 1;
    r = PyObject_CallMethod((PyObject *)loop, "is_closed", NULL);
    if (r == NULL)
        PyErr_Clear();
    else
        closed = PyObject_IsTrue(r) != 0;
    Py_XDECREF(r);
    if (PyErr_Occurred())
        PyErr_Clear();
    memo->loop = loop;
    memo->closed = closed;
    return closed;
}

int al_report_pending_tasks(const void *loop, const char *kind, const char *when)
{
    size_t n = 0, i;
    al_task_rec *recs;
    closed_memo memo = {NULL, 0};
    int reported = 0;

    if (g_task_type == NULL)
        return 0;
    recs = select_tasks(unreported, loop, &n);
    /* Keep every selected task alive while Python runs below (describing a
     * task can run a GC that would free another and drop its record). */
    for (i = 0; i < n; i++) {
        if (!al_type_is_subtype((PyObject *)recs[i].task, g_task_type)) {
            recs[i].task = NULL;
            continue;
        }
        Py_INCREF((PyObject *)recs[i].task);
    }
    describe_begin();
    al_report_hold();
    for (i = 0; i < n; i++) {
        al_task_rec *live;
        const char *k = kind;
        if (recs[i].task == NULL || al_task_is_pending(recs[i].task) != 1)
            continue;
        if (loop == NULL && loop_is_closed(loop_of(recs[i].task), &memo))
            continue;
        live = al_registry_get(&al_tasks, recs[i].task);
        if (live == NULL || live->serial != recs[i].serial)
            continue;
        live->flags |= AL_TASK_REPORTED;
        /* At loop close and exit a pending task that swallowed a cancel is
         * reported as that (the root cause), not as merely pending. */
        if (strcmp(kind, "pending_task") == 0 && (recs[i].flags & AL_TASK_CANCEL_REQUESTED)
            && al_cancel_swallowed(recs[i].task, 0)) {
            al_cancel_mark_swallow_reported(recs[i].task);
            k = "swallowed_cancel";
        }
        /* Past max_findings a finding is only counted: not built. */
        if (al_report_wants_detail())
            al_report_add(al_task_finding(&recs[i], recs[i].task, k, when));
        else
            al_report_count_unlisted(k);
        reported++;
    }
    al_report_release();
    describe_end();
    for (i = 0; i < n; i++)
        Py_XDECREF((PyObject *)recs[i].task);
    free(recs);
    return reported;
}

int al_report_swallowed_finished(const void *loop, const char *when)
{
    size_t n = 0, i;
    al_task_rec *recs;
    int reported = 0;

    if (g_task_type == NULL)
        return 0;
    recs = select_tasks(cancelled_not_dying, loop, &n);
    for (i = 0; i < n; i++)
        Py_INCREF((PyObject *)recs[i].task);
    describe_begin();
    al_report_hold();
    for (i = 0; i < n; i++) {
        al_task_rec *live;
        if (al_task_is_pending(recs[i].task) != 0 || !al_cancel_swallowed(recs[i].task, 0))
            continue;
        live = al_registry_get(&al_tasks, recs[i].task);
        if (live == NULL || live->serial != recs[i].serial)
            continue;
        live->flags |= AL_TASK_REPORTED;
        al_cancel_mark_swallow_reported(recs[i].task);
        if (al_report_wants_detail())
            al_report_add(al_task_finding(&recs[i], recs[i].task, "swallowed_cancel", when));
        else
            al_report_count_unlisted("swallowed_cancel");
        reported++;
    }
    al_report_release();
    describe_end();
    for (i = 0; i < n; i++)
        Py_DECREF((PyObject *)recs[i].task);
    free(recs);
    return reported;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Entries {"task", "origin", "suspended_at", "cancel", ...} of the pending
 * tasks of loop (all loops when NULL); with check_swallow, each that
 * swallowed a cancellation is also reported as swallowed_cancel (when). */
static al_json *pending_entries(const void *loop, int check_swallow, const char *when)
{
    size_t n = 0, i;
    al_task_rec *recs = select_tasks(live_not_dying, loop, &n);
    al_json *tasks = al_json_array();

    for (i = 0; i < n; i++)
        Py_INCREF((PyObject *)recs[i].task);
    describe_begin();
    al_report_hold();
    for (i = 0; i < n; i++) {
        PyObject *task = (PyObject *)recs[i].task;
        al_task_rec *live;
        if (al_task_is_pending(task) != 1)
            continue;
        al_json_append(tasks, al_task_finding(&recs[i], task, NULL, NULL));
        live = al_registry_get(&al_tasks, task);
        if (check_swallow && live != NULL && (live->flags & AL_TASK_CANCEL_REQUESTED)
            && al_cancel_swallowed(task, 1)) {
            live->flags |= AL_TASK_REPORTED;
            al_cancel_mark_swallow_reported(task);
            al_report_add(al_task_finding(&recs[i], task, "swallowed_cancel", when));
        }
    }
    al_report_release();
    describe_end();
    for (i = 0; i < n; i++)
        Py_DECREF((PyObject *)recs[i].task);
    free(recs);
    return tasks;
}

al_json *al_pending_task_entries(void)
{
    return pending_entries(NULL, 0, NULL);
}

void al_report_shutdown_hang(const void *loop, double waited)
{
    al_json *f = al_json_object(), *tasks = pending_entries(loop, 1, "watchdog");
    char msg[160];

    snprintf(msg, sizeof msg, "asyncio.run() has waited more than %g s for %zu task%s to finish after cancelling them",
             waited, al_json_len(tasks), al_json_len(tasks) == 1 ? "" : "s");
    al_json_set_str(f, "kind", "shutdown_hang");
    al_json_set_str(f, "when", "watchdog");
    al_json_set_str(f, "message", msg);
    al_json_set(f, "tasks", tasks);
    al_report_add(f);
}

int al_report_dump_tasks(void)
{
    al_json *tasks = pending_entries(NULL, 0, NULL);
    size_t i, n = al_json_len(tasks);

    al_report_hold();
    /* Each entry becomes a finding of its own; the array is emptied first. */
    for (i = 0; i < n; i++) {
        al_json *f = al_json_object();
        al_json *entry = tasks->u.array.items[i];
        size_t k;
        tasks->u.array.items[i] = NULL;
        al_json_set_str(f, "kind", "pending_task");
        al_json_set_str(f, "when", "dump");
        al_json_set_str(f, "message", "is pending (on-demand dump)");
        for (k = 0; k < al_json_len(entry); k++) {
            al_json_set(f, entry->u.object.keys[k], entry->u.object.values[k]);
            entry->u.object.values[k] = NULL;
        }
        al_json_free(entry);
        al_report_add(f);
    }
    al_report_release();
    al_json_free(tasks);
    return (int)n;
}

void al_count_live_tasks(void (*fn)(uint32_t origin, long count, int is_resource, void *ctx), void *ctx)
{
    size_t n = 0, i, j;
    al_task_rec *recs = al_registry_select(&al_tasks, live_not_dying, NULL, &n);

    /* Group by origin: sort a copy of the origins. */
    uint32_t *origins = n ? malloc(n * sizeof *origins) : NULL;
    if (origins == NULL) {
        free(recs);
        return;
    }
    for (i = 0; i < n; i++)
        origins[i] = recs[i].origin;
    free(recs);
    qsort(origins, n, sizeof *origins, cmp_u32);
    for (i = 0; i < n; i = j) {
        for (j = i; j < n && origins[j] == origins[i]; j++)
            ;
        if (origins[i] != 0)
            fn(origins[i], (long)(j - i), 0, ctx);
    }
    free(origins);
}

/* Does any coroutine of task's await chain reference obj? */
static int chain_refers_to(PyObject *task, PyObject *obj)
{
    PyObject *cur = call_descr(g_get_coro, task);
    int depth, found = 0;

    for (depth = 0; depth < 32 && !found && is_builtin_coroutine(cur); depth++) {
        int is_coro = (PyObject *)Py_TYPE(cur) == g_coro_type;
        PyObject *next;
        found = al_refers_to(cur, obj);
        next = attr(cur, is_coro ? N_CR_AWAIT : N_GI_YIELDFROM);
        Py_DECREF(cur);
        cur = next;
    }
    Py_XDECREF(cur);
    if (PyErr_Occurred())
        PyErr_Clear();
    return found;
}

al_json *al_tasks_using(const void *obj, const void *loop)
{
    size_t n = 0, i;
    al_task_rec *recs = select_tasks(live_not_dying, loop, &n);
    PyObject *current = loop && g_current_tasks ? PyDict_GetItem(g_current_tasks, (PyObject *)loop) : NULL;
    al_json *list = NULL;

    if (n > AL_MAX_USERS_CHECKED)
        n = AL_MAX_USERS_CHECKED;
    for (i = 0; i < n; i++)
        Py_INCREF((PyObject *)recs[i].task);
    describe_begin();
    for (i = 0; i < n; i++) {
        PyObject *task = (PyObject *)recs[i].task;
        if (task == current || al_task_is_pending(task) != 1 || !chain_refers_to(task, (PyObject *)obj))
            continue;
        if (list == NULL)
            list = al_json_array();
        al_json_append(list, al_task_finding(&recs[i], task, NULL, NULL));
    }
    describe_end();
    for (i = 0; i < n; i++)
        Py_DECREF((PyObject *)recs[i].task);
    free(recs);
    return list;
}

int al_tasks_adopt_existing(void)
{
    /* 3.8-3.11: asyncio.tasks._all_tasks (WeakSet of every task);
     * 3.12+: _scheduled_tasks (WeakSet) and _eager_tasks (set). */
    static const char *const sets[] = {"_all_tasks", "_scheduled_tasks", "_eager_tasks", NULL};
    PyObject *tasks_mod = PyImport_ImportModule("asyncio.tasks");
    int i, n = 0;

    for (i = 0; tasks_mod != NULL && sets[i] != NULL; i++) {
        PyObject *set = al_getattr(tasks_mod, sets[i]);
        PyObject *list = set ? PySequence_List(set) : NULL;
        Py_ssize_t k, len = list ? PyList_Size(list) : 0;
        for (k = 0; k < len; k++) {
            PyObject *t = PyList_GetItem(list, k);
            if (t != NULL && al_type_is_subtype(t, g_task_type) && al_registry_get(&al_tasks, t) == NULL) {
                record(t, 0, 0, AL_TASK_BEFORE_ATTACH);
                n++;
            }
        }
        Py_XDECREF(list);
        Py_XDECREF(set);
    }
    Py_XDECREF(tasks_mod);
    if (PyErr_Occurred())
        PyErr_Clear();
    return n;
}
