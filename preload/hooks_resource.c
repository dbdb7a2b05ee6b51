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
 */
#include "al.h"
#include "pyapi.h"
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
    "redis.asyncio.client:Redis open=__init__ close=close,aclose",
    "redis.asyncio.connection:ConnectionPool open=__init__ close=disconnect,aclose",
};

#define MAX_KINDS 64

typedef struct kind {
    al_resspec spec;
    int installed;
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
    int kind;
    int closed, reported, before_attach;
    char *type_name;        /* "aiohttp.client.ClientSession" */
    PyObject *weakref;      /* owned; its callback drops this record */
    UT_hash_handle hh;
} resource;

static resource *g_resources;
static uint64_t g_next_serial = 1;

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

/* The origin without the library's own frames (the constructor chain of the
 * resource inside its package) nor asyncio's. */
static al_json *origin_json(const resource *r)
{
    al_json *st = al_stack_resolve(r->origin, 1);
    al_json *frames = al_json_get(st, "frames");
    const char *dir = r->kind >= 0 ? g_kinds[r->kind].package_dir : NULL;
    size_t n = al_json_len(frames);

    if (dir != NULL) {
        size_t len = strlen(dir);
        while (n > 1) {
            const char *file = al_json_get_str(al_json_at(frames, n - 1), "file");
            if (file == NULL || strncmp(file, dir, len) != 0)
                break;
            n--;
        }
        while (al_json_len(frames) > n) {
            al_json_free(frames->u.array.items[--frames->u.array.len]);
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

/* Weak reference callback: the object is being freed. */
static PyObject *on_freed(PyObject *key, PyObject *weakref)
{
    const void *obj = PyLong_AsVoidPtr(key);
    resource *r = find(obj);

    if (PyErr_Occurred())
        PyErr_Clear();
    if (r != NULL && r->weakref == weakref) {
        if (al_active && !r->closed && !r->reported) {
            al_exc_state exc;
            al_exc_save(&exc);
            report(r, "gc", NULL);
            al_report_commit(0);
            al_exc_restore(&exc);
        }
        drop(r);
    }
    Py_INCREF(Py_None);
    return Py_None;
}

static PyMethodDef on_freed_def = {"asyncleak_resource_freed", on_freed, METH_O, NULL};

static char *type_name(PyObject *obj)
{
    return al_type_qualified_name((PyObject *)Py_TYPE(obj));
}

static void record_open(PyObject *obj, int kind_index)
{
    resource *r = find(obj);
    PyObject *key, *cb, *loop;

    if (r != NULL)
        drop(r);        /* __init__ called again, or an address reused after a missed free */
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return;
    key = PyLong_FromVoidPtr(obj);
    cb = key ? PyCFunction_New(&on_freed_def, key) : NULL;
    r->weakref = cb ? PyWeakref_NewRef(obj, cb) : NULL;
    Py_XDECREF(cb);
    Py_XDECREF(key);
    if (r->weakref == NULL) {
        /* Not weak-referenceable: without a way to see it freed, its
         * address could be reused, so it is not tracked. */
        PyErr_Clear();
        free(r);
        return;
    }
    r->obj = obj;
    r->serial = g_next_serial++;
    r->kind = kind_index;
    r->origin = al_stack_capture(al_opts.stack_depth);
    r->type_name = type_name(obj);
    loop = al_instance_attr(obj, "_loop");
    r->loop = loop != Py_None ? loop : NULL;   /* the resource keeps its loop alive */
    Py_XDECREF(loop);
    HASH_ADD_PTR(g_resources, obj, r);
}

static PyObject *self_arg(PyObject *args)
{
    return args != NULL && PyTuple_Check(args) && PyTuple_Size(args) > 0 ? PyTuple_GetItem(args, 0) : NULL;
}

/* Which kind an open/close wrapper belongs to is found from the object's
 * type: the first installed kind whose class is in its MRO. */
static PyObject *g_kind_class[MAX_KINDS];

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

static int close_before(PyObject *args, PyObject *kwargs)
{
    PyObject *self = self_arg(args);
    resource *r = self ? find(self) : NULL;

    if (r != NULL && !r->closed && !called_from_finalizer()) {
        al_json *users;
        r->closed = 1;
        r->closed_at = al_stack_capture(al_opts.stack_depth);
        /* Cause 5: closed while pending tasks still hold it in their frames. */
        if (al_active && (users = al_tasks_using(self, r->loop)) != NULL) {
            al_json *f = resource_finding(r, "closed_while_in_use", "close");
            char msg[96];
            snprintf(msg, sizeof msg, "was closed while %zu pending task%s still used it",
                     al_json_len(users), al_json_len(users) == 1 ? "" : "s");
            al_json_set_str(f, "message", msg);
            al_json_set(f, "tasks", users);
            al_report_add(f);
            al_report_commit(0);
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
    int j, ok = 1;

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
        ok &= al_wrap_attr(cls, k->spec.open[j], NULL, open_after) == 0;
    for (j = 0; j < k->spec.nclose; j++)
        ok &= al_wrap_attr(cls, k->spec.close[j], close_before, NULL) == 0;
    if (!ok)
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
    int n = 0;

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
    static const char *const keys[] = {"client_session", "connector", "transport", NULL};
    int i;

    for (i = 0; keys[i] != NULL; i++) {
        PyObject *obj = PyDict_GetItemString(context, keys[i]);
        resource *r = obj ? find(obj) : NULL;
        if (r != NULL && !r->closed && !r->reported) {
            report(r, "gc", message);
            al_report_commit(0);
        }
    }
}

al_json *al_open_resource_entries(void)
{
    al_json *list = al_json_array();
    resource *r, *tmp;

    HASH_ITER(hh, g_resources, r, tmp) {
        al_json *f;
        if (r->closed)
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
        if (r->closed)
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
        if (!r->closed && r->origin != 0)
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
