/* hooks_resource.c - sessions, connectors, streams, servers and other
 * resources: where each was opened and closed; unclosed_resource findings.
 *
 * Every kind is one spec line (resspec.h): built in below, or added with the
 * resources=FILE option.  A kind is hooked only once its module is imported
 * (al_resources_on_import, from the audit hook, and a sweep of sys.modules
 * after each install).  Open methods are wrapped to record the object (a
 * weak reference with a callback notices when it is freed), close methods to
 * record where it was closed.  Reported: at loop close for the resources of
 * that loop, when freed unclosed (gc; for aiohttp, its own "Unclosed client
 * session" message still reaches the exception handler first), and at exit.
 *
 * Seeing an object freed: a weak reference with a callback; for instances
 * that take none (a class with __slots__ and no __weakref__, such as
 * asyncpg's Pool), a tp_finalize of ours set on their Python class when it
 * has none.  The cycle collector calls weakref callbacks before finalizers
 * (__del__), so a resource whose __del__ may still report through the
 * exception handler is held back until the collection ends (gc.callbacks
 * "stop") and then reported with the library's message when one came.
 */
#include "al.h"
#include "holders.h"
#include "pyapi.h"
#include "render_text.h"
#include "resspec.h"
#include "stacks.h"
#include "typeslots.h"
#include "wrapper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

static const char *const builtin_specs[] = {
    "aiohttp.client:ClientSession open=__init__ close=close",
    "aiohttp.connector:BaseConnector open=__init__ close=close",
    "asyncio.streams:StreamWriter open=__init__ close=close",
    "asyncio.base_events:Server open=__init__ close=close",
    "asyncio.base_subprocess:BaseSubprocessTransport open=__init__ close=close",
    "httpx:AsyncClient open=__init__ close=aclose,__aexit__",
    "asyncpg.connection:Connection open=__init__ close=close,terminate",
    "asyncpg.pool:Pool open=__init__ close=close,terminate",
    /* redis-py 4.2-4.x: close / disconnect; 5.x adds aclose to both. */
    "redis.asyncio.client:Redis open=__init__ close=close,aclose",
    "redis.asyncio.connection:ConnectionPool open=__init__ close=disconnect,aclose",
};

#define MAX_KINDS 64

typedef struct kind {
    al_resspec spec;
    int installed;
    int builtin;            /* one of builtin_specs: its methods vary by version */
    char *package_dir;      /* ".../aiohttp/": frames inside are the library's own */
} kind;

static kind g_kinds[MAX_KINDS];
static int g_nkinds, g_pending;
int g_main_pending;     /* a kind of __main__ waits for its class (see al.h) */

typedef struct resource {
    const void *obj;        /* key (not owned) */
    uint64_t serial;
    const void *loop;       /* not owned; alive while obj is */
    uint32_t origin, closed_at;
    uint32_t task_origin;   /* origin of the task that opened it, 0 = none */
    int kind;
    int closed, reported, before_attach;
    int has_finalizer;      /* its type has a tp_finalize (__del__) */
    int dying;              /* freed by the cycle collector, report held back */
    char *type_name;        /* "aiohttp.client.ClientSession" */
    PyObject *weakref;      /* owned; its callback drops this record; NULL
                             * when res_finalize does (no weakref support) */
    UT_hash_handle hh;
} resource;

static resource *g_resources;
static uint64_t g_next_serial = 1;
static int g_ndying;            /* records with dying set */

static void add_kind(const char *line, const char *file, int lineno)
{
    char err[160];
    al_resspec spec;
    int rc = al_resspec_parse_line(line, &spec, err, sizeof err);

    if (rc < 0) {
        if (file != NULL)
            al_diag("%s:%d: %s (line ignored)", file, lineno, err);
        return;
    }
    if (rc == 0)
        return;
    if (g_nkinds == MAX_KINDS) {
        al_diag("%s:%d: more than %d resource kinds (line ignored)", file ? file : "built-in", lineno, MAX_KINDS);
        al_resspec_free(&spec);
        return;
    }
    g_kinds[g_nkinds].spec = spec;
    g_kinds[g_nkinds].builtin = file == NULL;
    g_nkinds++;
    g_pending++;
}

void al_resources_init(void)
{
    size_t i;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;

    for (i = 0; i < sizeof builtin_specs / sizeof *builtin_specs; i++)
        add_kind(builtin_specs[i], NULL, 0);
    if (al_opts.resources == NULL)
        return;
    f = fopen(al_opts.resources, "r");
    if (f == NULL) {
        al_diag("cannot read resources file '%s': %s", al_opts.resources, strerror(errno));
        return;
    }
    while (getline(&line, &cap, f) >= 0)
        add_kind(line, al_opts.resources, ++lineno);
    free(line);
    fclose(f);
}

/* ---- records ---- */

static resource *find(const void *obj)
{
    resource *r = NULL;
    HASH_FIND_PTR(g_resources, &obj, r);
    return r;
}

static void drop(resource *r)
{
    if (r->dying)
        g_ndying--;
    HASH_DEL(g_resources, r);
    Py_XDECREF(r->weakref);
    free(r->type_name);
    free(r);
}

void al_resources_reset(void)
{
    resource *r, *tmp;
    HASH_ITER(hh, g_resources, r, tmp)
        drop(r);
}

static int in_dir(const char *file, const char *dir)
{
    return file != NULL && dir != NULL && strncmp(file, dir, strlen(dir)) == 0;
}

/* The loop handing control to a callback or a task step: Handle._run in
 * asyncio/events.py ("_run" before 3.11). */
static int is_dispatch(const al_json *frame)
{
    const char *file = al_json_get_str(frame, "file");
    const char *fn = al_json_get_str(frame, "function");
    size_t n = fn ? strlen(fn) : 0;

    return al_frame_is_asyncio_internal(file) && strstr(file, "/events.py") != NULL
        && n >= 4 && strcmp(fn + n - 4, "_run") == 0;
}

/* Drops the trailing frames of st that are inside dir (when not NULL) or
 * asyncio's own, in any mix (a library calling asyncio calling the library);
 * the outermost frame always stays.  Returns 1 when no frame of the program
 * lies between the loop and the open: the loop's dispatch was among the
 * frames dropped, or (uvloop dispatches from C) only library and asyncio
 * frames were there at all. */
static int trim_origin(al_json *st, const char *dir)
{
    al_json *frames = al_json_get(st, "frames");
    size_t n = al_json_len(frames);
    int by_loop = 0;
    const char *file;

    while (n > 1) {
        file = al_json_get_str(al_json_at(frames, n - 1), "file");
        if (!in_dir(file, dir) && !al_frame_is_asyncio_internal(file))
            break;
        by_loop |= is_dispatch(al_json_at(frames, n - 1));
        n--;
    }
    file = n > 0 ? al_json_get_str(al_json_at(frames, 0), "file") : NULL;
    if (n == 1 && (in_dir(file, dir) || al_frame_is_asyncio_internal(file)))
        by_loop = 1;
    while (al_json_len(frames) > n)
        al_json_free(frames->u.array.items[--frames->u.array.len]);
    return by_loop;
}

/* The origin without the library's own frames (the constructor chain of the
 * resource inside its package) nor asyncio's.  An object that a library
 * opened inside a task of its own (asyncpg's pool connects its connections
 * from tasks made by gather) takes that task's origin instead: the line of
 * the program that led to the task. */
static al_json *origin_json(const resource *r)
{
    const char *dir = r->kind >= 0 ? g_kinds[r->kind].package_dir : NULL;
    al_json *st = al_stack_resolve(r->origin, 0);

    if (st != NULL && trim_origin(st, dir) && r->task_origin != 0) {
        al_json *task_st = al_stack_resolve(r->task_origin, 0);
        if (task_st != NULL) {
            al_json_free(st);
            st = task_st;
            trim_origin(st, dir);
        }
    }
    return st;
}

static al_json *resource_finding(const resource *r, const char *kind, const char *when)
{
    al_json *f = al_json_object(), *res = al_json_object();

    if (kind != NULL)
        al_json_set_str(f, "kind", kind);
    if (when != NULL)
        al_json_set_str(f, "when", when);
    al_json_set_str(res, "type", r->type_name ? r->type_name : "?");
    al_json_set_int(res, "id", (int64_t)r->serial);
    al_json_set(f, "resource", res);
    al_json_set(f, "origin", origin_json(r));
    if (r->closed && r->closed_at != 0)
        al_json_set(f, "closed_at", al_stack_resolve(r->closed_at, 0));
    if (r->before_attach)
        al_json_set(f, "created_before_attach", al_json_bool(1));
    return f;
}

static void report(resource *r, const char *when, const char *asyncio_msg)
{
    al_json *f;

    r->reported = 1;
    f = resource_finding(r, "unclosed_resource", when);
    if (asyncio_msg != NULL)
        al_json_set_str(f, "asyncio_message", asyncio_msg);
    al_report_add(f);
}

/* ---- seeing resources freed ---- */

static void report_freed(resource *r)
{
    if (al_active && !r->closed && !r->reported) {
        report(r, "gc", NULL);
        al_report_commit_soon();
    }
}

/* Reports the records held back during a collection (no message came from
 * their __del__) and drops them.  Returns how many were reported. */
static int flush_dying(void)
{
    resource *r, *tmp;
    int n = 0;

    if (g_ndying == 0)
        return 0;
    HASH_ITER(hh, g_resources, r, tmp) {
        if (!r->dying)
            continue;
        if (al_active && !r->closed && !r->reported) {
            report(r, "gc", NULL);
            n++;
        }
        drop(r);
    }
    return n;
}

void al_resources_gc_stop(void)
{
    if (flush_dying() > 0)
        al_report_commit_soon();
}

/* Weak reference callback: the object is being freed.  Reference counting
 * runs __del__ first (its message, if any, was handled already); the cycle
 * collector runs it after this callback, so such a record waits for the
 * end of the collection (the object is still alive in between). */
static PyObject *on_freed(PyObject *key, PyObject *weakref)
{
    const void *obj = PyLong_AsVoidPtr(key);
    resource *r = find(obj);

    if (PyErr_Occurred())
        PyErr_Clear();
    if (r != NULL && r->weakref == weakref && !r->dying) {
        al_exc_state exc;
        al_exc_save(&exc);
        if (al_gc_collecting() && r->has_finalizer && al_active && !r->closed && !r->reported) {
            r->dying = 1;
            g_ndying++;
        } else {
            report_freed(r);
            drop(r);
        }
        al_exc_restore(&exc);
    }
    Py_INCREF(Py_None);
    return Py_None;
}

static PyMethodDef on_freed_def = {"asyncleak_resource_freed", on_freed, METH_O, NULL};

/* tp_finalize of a resource class whose instances take no weak reference.
 * Contract of tp_finalize: no exception left, the caller's kept. */
static void res_finalize(PyObject *self)
{
    resource *r = find(self);

    if (r != NULL && r->weakref == NULL) {
        al_exc_state exc;
        al_exc_save(&exc);
        report_freed(r);
        drop(r);
        al_exc_restore(&exc);
    }
}

/* 1 when instances of type can be seen freed through res_finalize: it is
 * set already, or the type is a Python class without a finalizer of its own
 * (it gets ours; its subclasses made later inherit it). */
static int finalizer_watch(PyObject *type)
{
    al_destructor fin = al_type_get_finalize(type);

    if (fin == (al_destructor)res_finalize)
        return 1;
    if (fin != NULL || !(PyType_GetFlags((PyTypeObject *)type) & Py_TPFLAGS_HEAPTYPE))
        return 0;
    al_type_set_finalize(type, (al_destructor)res_finalize);
    return 1;
}

static char *type_name(PyObject *obj)
{
    return al_type_qualified_name((PyObject *)Py_TYPE(obj));
}

static PyObject *g_kind_class[MAX_KINDS];

/* The object's event loop: its _loop from the instance dict, or from a
 * __slots__ member of the kind's class (asyncpg), read by the member
 * descriptor itself (no program code runs).  New reference or NULL. */
static PyObject *loop_of(PyObject *obj, int kind_index)
{
    PyObject *dict = g_kind_class[kind_index] ? al_type_dict(g_kind_class[kind_index]) : NULL;
    PyObject *d = dict ? PyDict_GetItemString(dict, "_loop") : NULL;   /* borrowed */
    PyObject *loop;

    if (d != NULL && strcmp(al_type_name(d), "member_descriptor") == 0)
        loop = al_descr_get(d, obj);
    else
        loop = al_instance_attr(obj, "_loop");
    if (loop == Py_None) {
        Py_DECREF(loop);
        loop = NULL;
    }
    if (PyErr_Occurred())
        PyErr_Clear();
    return loop;
}

/* _asyncio.NAME() of the running thread (a C function: no program code):
 * new reference, or NULL for None or when there is no running loop. */
static PyObject *asyncio_c_call(PyObject **cache, const char *name)
{
    PyObject *r = NULL;

    if (*cache == NULL) {
        PyObject *mod = PyImport_ImportModule("_asyncio");
        *cache = al_getattr(mod, name);     /* kept for good */
        Py_XDECREF(mod);
    }
    if (*cache != NULL && PyCFunction_Check(*cache))
        r = PyObject_CallObject(*cache, NULL);
    if (r == Py_None) {
        Py_DECREF(r);
        r = NULL;
    }
    if (PyErr_Occurred())
        PyErr_Clear();
    return r;
}

static PyObject *running_loop(void)
{
    static PyObject *fn;
    return asyncio_c_call(&fn, "_get_running_loop");
}

/* The task running now on this thread's loop (new reference) or NULL:
 * _asyncio._current_tasks[loop], a dict of the C module on 3.8-3.13. */
static PyObject *current_task(void)
{
    static PyObject *tasks;
    PyObject *loop, *task = NULL;

    if (tasks == NULL) {
        PyObject *mod = PyImport_ImportModule("_asyncio");
        tasks = al_getattr(mod, "_current_tasks");      /* kept for good */
        Py_XDECREF(mod);
        if (PyErr_Occurred())
            PyErr_Clear();
    }
    if (tasks == NULL || !PyDict_Check(tasks) || (loop = running_loop()) == NULL)
        return NULL;
    task = PyDict_GetItem(tasks, loop);     /* borrowed; no exception set */
    Py_XINCREF(task);
    Py_DECREF(loop);
    return task;
}

/* Origin of the task running now, if the tool knows it (0 otherwise). */
static uint32_t current_task_origin(void)
{
    PyObject *task = current_task();
    al_task_rec *rec = task ? al_registry_get(&al_tasks, task) : NULL;
    uint32_t origin = rec ? rec->origin : 0;

    Py_XDECREF(task);
    return origin;
}

static void record_open(PyObject *obj, int kind_index)
{
    resource *r = find(obj);
    PyObject *key, *cb, *loop, *type = (PyObject *)Py_TYPE(obj);

    if (r != NULL) {
        /* __init__ called again, or an address reused: by an object freed
         * during a collection still in progress, or after a missed free. */
        if (r->dying)
            report_freed(r);
        drop(r);
    }
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return;
    key = PyLong_FromVoidPtr(obj);
    cb = key ? PyCFunction_New(&on_freed_def, key) : NULL;
    r->weakref = cb ? PyWeakref_NewRef(obj, cb) : NULL;
    Py_XDECREF(cb);
    Py_XDECREF(key);
    if (r->weakref == NULL) {
        PyErr_Clear();
        /* No weak reference: without a way to see it freed, its address
         * could be reused, so it is tracked only through res_finalize. */
        if (!finalizer_watch(type)) {
            free(r);
            return;
        }
    } else if (al_type_get_finalize(type) != NULL) {
        r->has_finalizer = 1;
        al_gc_watch();
    }
    r->obj = obj;
    r->serial = g_next_serial++;
    r->kind = kind_index;
    r->origin = al_stack_capture(al_opts.stack_depth);
    r->task_origin = current_task_origin();
    r->type_name = type_name(obj);
    loop = loop_of(obj, kind_index);
    r->loop = loop;             /* the resource keeps its loop alive */
    Py_XDECREF(loop);
    HASH_ADD_PTR(g_resources, obj, r);
}

static PyObject *self_arg(PyObject *args)
{
    return args != NULL && PyTuple_Check(args) && PyTuple_Size(args) > 0 ? PyTuple_GetItem(args, 0) : NULL;
}

/* Which kind an open/close wrapper belongs to is found from the object's
 * type: the first installed kind whose class is in its MRO. */

static int kind_of(PyObject *obj)
{
    int i;
    for (i = 0; i < g_nkinds; i++)
        if (g_kind_class[i] != NULL && al_type_is_subtype(obj, g_kind_class[i]))
            return i;
    return -1;
}

static void open_after(PyObject *args, PyObject *kwargs, PyObject *result, int token)
{
    PyObject *self = self_arg(args);
    int k;

    if (!al_active || result == NULL || self == NULL)
        return;
    al_check_fork();    /* a child's first hook forgets the parent's records */
    k = kind_of(self);
    if (k >= 0)
        record_open(self, k);
}

/* A close() made by the object's own __del__ (StreamWriter on 3.11.7+) is
 * the garbage collector's, not the program's: the object was left open. */
static int called_from_finalizer(void)
{
    PyFrameObject *f = PyEval_GetFrame();   /* borrowed */
    PyObject *code, *name;
    int r;

    if (f == NULL)
        return 0;
    code = al_frame_code(f);
    name = al_getattr(code, "co_name");
    r = name != NULL && PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "__del__") == 0;
    Py_XDECREF(name);
    Py_XDECREF(code);
    return r;
}

/* 1 when close() is called by asyncio's own code outside any task (a loop
 * callback): the object's own life cycle, such as a subprocess transport
 * that asyncio closes once the child has exited while a task still waits
 * in proc.wait(), not an order the program chose. */
static int closed_by_asyncio_callback(void)
{
    PyFrameObject *f = PyEval_GetFrame();   /* borrowed: the caller of close */
    PyObject *code = f ? al_frame_code(f) : NULL;
    PyObject *file = al_getattr(code, "co_filename");
    const char *path = al_str_utf8(file);
    PyObject *task;
    int r = path != NULL && al_frame_is_asyncio_internal(path);

    Py_XDECREF(file);
    Py_XDECREF(code);
    if (PyErr_Occurred())
        PyErr_Clear();
    if (!r)
        return 0;
    task = current_task();
    Py_XDECREF(task);
    return task == NULL;
}

static int close_before(PyObject *args, PyObject *kwargs)
{
    PyObject *self = self_arg(args);
    resource *r;

    if (al_active)
        al_check_fork();
    r = self ? find(self) : NULL;
    if (r != NULL && !r->closed && !r->dying && !called_from_finalizer()) {
        al_json *users;
        /* A resource without _loop (redis, httpx) is used from the loop
         * running now: its tasks are the ones to look at, and the task
         * closing it is not one of its users. */
        PyObject *loop = r->loop == NULL ? running_loop() : NULL;
        r->closed = 1;
        r->closed_at = al_stack_capture(al_opts.stack_depth);
        /* Cause 5: closed while pending tasks still hold it in their frames. */
        users = al_active && !closed_by_asyncio_callback() && al_maybe_held_by_suspended_code(self, args, kwargs)
            ? al_tasks_using(self, r->loop ? r->loop : loop) : NULL;
        Py_XDECREF(loop);
        if (users != NULL) {
            al_json *f = resource_finding(r, "closed_while_in_use", "close");
            char msg[96];
            snprintf(msg, sizeof msg, "was closed while %zu pending task%s still used it",
                     al_json_len(users), al_json_len(users) == 1 ? "" : "s");
            al_json_set_str(f, "message", msg);
            al_json_set(f, "tasks", users);
            al_report_add(f);
            al_report_commit_soon();
        }
    }
    return 0;
}

static char *package_dir(const char *module)
{
    char top[128];
    const char *dot = strchr(module, '.');
    size_t n = dot ? (size_t)(dot - module) : strlen(module);
    PyObject *mod, *file;
    char *path, *slash;

    if (n >= sizeof top)
        return NULL;
    memcpy(top, module, n);
    top[n] = '\0';
    mod = PyImport_ImportModule(top);
    file = al_getattr(mod, "__file__");
    path = al_str_bytes(file);
    Py_XDECREF(file);
    Py_XDECREF(mod);
    if (PyErr_Occurred())
        PyErr_Clear();
    /* A package's __init__.py: its directory; a plain module: nothing. */
    if (path == NULL || (slash = strrchr(path, '/')) == NULL || strcmp(slash + 1, "__init__.py") != 0) {
        free(path);
        return NULL;
    }
    slash[1] = '\0';
    return path;
}

/* True while a module is being executed by the import system. */
static int module_initializing(PyObject *mod)
{
    PyObject *spec = al_getattr(mod, "__spec__");
    PyObject *init = spec && spec != Py_None ? al_getattr(spec, "_initializing") : NULL;
    int r = init != NULL && PyObject_IsTrue(init) == 1;

    Py_XDECREF(init);
    Py_XDECREF(spec);
    if (PyErr_Occurred())
        PyErr_Clear();
    return r;
}

static void install_kind(int i)
{
    kind *k = &g_kinds[i];
    PyObject *mod = PyImport_ImportModule(k->spec.module);
    PyObject *cls = mod;
    char *q = strdup(k->spec.qualname), *part, *save = NULL;
    int j, nopen = 0, nclose = 0;

    Py_XINCREF(cls);
    for (part = q ? strtok_r(q, ".", &save) : NULL; part && cls; part = strtok_r(NULL, ".", &save)) {
        PyObject *next = al_getattr(cls, part);
        Py_DECREF(cls);
        cls = next;
    }
    free(q);
    if (cls == NULL || !PyType_Check(cls)) {
        /* A module still being imported (aiohttp imports asyncio before it
         * defines its classes), or the main script before it reaches the
         * class: try again later.  Otherwise the class does not exist. */
        if (mod != NULL && (module_initializing(mod) || strcmp(k->spec.module, "__main__") == 0)) {
            if (strcmp(k->spec.module, "__main__") == 0)
                g_main_pending = 1;
            goto out;
        }
        k->installed = 1;
        g_pending--;
        al_diag("resource kind %s:%s: no such class; not tracked", k->spec.module, k->spec.qualname);
        goto out;
    }
    k->installed = 1;
    g_pending--;
    k->package_dir = strcmp(k->spec.module, "asyncio") == 0 || strncmp(k->spec.module, "asyncio.", 8) == 0
        ? NULL : package_dir(k->spec.module);
    for (j = 0; j < k->spec.nopen; j++)
        nopen += al_wrap_attr(cls, k->spec.open[j], NULL, open_after) == 0;
    for (j = 0; j < k->spec.nclose; j++)
        nclose += al_wrap_attr(cls, k->spec.close[j], close_before, NULL) == 0;
    /* A built-in kind lists the methods of several releases (redis-py 4
     * has close, 5 adds aclose): only one of each kind is needed there. */
    if (k->builtin ? nopen == 0 || nclose == 0 : nopen < k->spec.nopen || nclose < k->spec.nclose)
        al_diag("resource kind %s:%s: a method to wrap is missing", k->spec.module, k->spec.qualname);
    g_kind_class[i] = cls;
    cls = NULL;
out:
    Py_XDECREF(cls);
    Py_XDECREF(mod);
    if (PyErr_Occurred())
        PyErr_Clear();
}

int al_resources_pending(void)
{
    return g_pending;
}

void al_resources_on_import(const char *module)
{
    int i;
    for (i = 0; i < g_nkinds; i++)
        if (!g_kinds[i].installed && strcmp(g_kinds[i].spec.module, module) == 0)
            install_kind(i);
}

void al_resources_retry_main(void)
{
    int i;
    al_exc_state exc;

    g_main_pending = 0;
    al_exc_save(&exc);
    for (i = 0; i < g_nkinds; i++)
        if (!g_kinds[i].installed && strcmp(g_kinds[i].spec.module, "__main__") == 0)
            install_kind(i);     /* sets g_main_pending again while still missing */
    if (PyErr_Occurred())
        PyErr_Clear();
    al_exc_restore(&exc);
}

void al_resources_sweep(void)
{
    PyObject *modules = PyImport_GetModuleDict();   /* borrowed */
    int i;

    for (i = 0; i < g_nkinds && modules != NULL; i++)
        if (!g_kinds[i].installed && PyDict_GetItemString(modules, g_kinds[i].spec.module) != NULL)
            install_kind(i);
}

/* ---- report points ---- */

int al_report_unclosed_resources(const void *loop, const char *when)
{
    resource *r, *tmp;
    int n = flush_dying();      /* a collection whose "stop" never came */

    HASH_ITER(hh, g_resources, r, tmp) {
        if (r->closed || r->reported || (loop != NULL && r->loop != loop))
            continue;
        report(r, when, NULL);
        n++;
    }
    return n;
}

void al_resources_exception_context(PyObject *context, const char *message)
{
    /* aiohttp: client_session, connector; redis-py: client. */
    static const char *const keys[] = {"client_session", "connector", "transport", "client", NULL};
    int i;

    for (i = 0; keys[i] != NULL; i++) {
        PyObject *obj = PyDict_GetItemString(context, keys[i]);
        resource *r = obj ? find(obj) : NULL;
        if (r != NULL && !r->closed && !r->reported) {
            report(r, "gc", message);
            al_report_commit_soon();
        }
        if (r != NULL && r->dying)
            drop(r);        /* its weak reference is dead already */
    }
}

al_json *al_open_resource_entries(void)
{
    al_json *list = al_json_array();
    resource *r, *tmp;

    HASH_ITER(hh, g_resources, r, tmp) {
        al_json *f;
        if (r->closed || r->dying)
            continue;
        /* The object's description only: kind/when belong to the caller. */
        f = resource_finding(r, NULL, NULL);
        al_json_append(list, f);
    }
    return list;
}

int al_report_dump_resources(void)
{
    resource *r, *tmp;
    int n = 0;

    HASH_ITER(hh, g_resources, r, tmp) {
        al_json *f;
        if (r->closed || r->dying)
            continue;
        f = resource_finding(r, "unclosed_resource", "dump");
        al_json_set_str(f, "message", "is open (on-demand dump)");
        al_report_add(f);
        n++;
    }
    return n;
}

void al_count_live_resources(void (*fn)(uint32_t origin, long count, int is_resource, void *ctx), void *ctx)
{
    resource *r, *tmp;

    /* Few resources: one callback per open object; the caller adds up. */
    HASH_ITER(hh, g_resources, r, tmp)
        if (!r->closed && !r->dying && r->origin != 0)
            fn(r->origin, 1, 1, ctx);
}

/* Registers open resources of the hooked kinds found by gc.get_objects()
 * (asyncleak attach): their origin is unknown. */
int al_resources_adopt_existing(void)
{
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *objs = gc ? PyObject_CallMethod(gc, "get_objects", NULL) : NULL;
    Py_ssize_t i, len = objs && PyList_Check(objs) ? PyList_Size(objs) : 0;
    int n = 0;

    for (i = 0; i < len; i++) {
        PyObject *o = PyList_GetItem(objs, i);
        int k = o && !PyType_Check(o) ? kind_of(o) : -1;
        resource *r;
        if (k < 0 || find(o) != NULL)
            continue;
        record_open(o, k);
        if ((r = find(o)) != NULL) {
            r->origin = 0;      /* opened before the attach: unknown */
            r->before_attach = 1;
            n++;
        }
    }
    Py_XDECREF(objs);
    Py_XDECREF(gc);
    if (PyErr_Occurred())
        PyErr_Clear();
    return n;
}
