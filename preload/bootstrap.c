/* bootstrap.c - start-up: the constructor, the audit hook that installs the
 * hooks when asyncio (or uvloop) is first imported, fork and exit handling.
 *
 * The constructor runs in every process the library is preloaded into.  In a
 * process without CPython 3.8-3.13, or a setuid one, it returns at once and
 * the library stays inert and silent.  Otherwise it parses the options and
 * registers an audit hook (allowed before Py_Initialize).  Nothing is
 * imported until the program itself imports asyncio: then, inside the hook,
 * the tool imports asyncio first (guarded, exception state preserved),
 * patches it, and the program's own import finds it in sys.modules.
 */
#include "al.h"
#include "pyapi.h"
#include "native.h"
#include "stacks.h"
#include "wrapper.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

al_options al_opts;
al_registry al_tasks;
int al_active;
volatile sig_atomic_t al_fork_generation;

enum { TARGET_ASYNCIO = 1, TARGET_UVLOOP = 2 };
static int g_installed;        /* TARGET_* bits done (or given up) */
static int g_installing;       /* re-entrancy guard (GIL held) */
static int g_refused;          /* free-threaded or otherwise unsupported */
static int g_api_installed;    /* the asyncleak module was put in sys.modules */

static void complain(void *ctx, const char *line)
{
    al_diag("%s", line + (strncmp(line, "asyncleak: ", 11) == 0 ? 11 : 0));
}

void al_check_fork(void)
{
    static sig_atomic_t seen;

    if (seen == al_fork_generation)
        return;
    seen = al_fork_generation;
    al_registry_free(&al_tasks);
    al_registry_init(&al_tasks);
    al_cancel_reset();
    al_resources_reset();
    al_report_reset();
    al_signals_after_fork();
    al_snapshots_after_fork();
}

static void after_fork_child(void)
{
    al_fork_generation++;
}

/* Py_AtExit: the interpreter is gone; write the final report from our own data. */
static void final_report(void)
{
    if (!al_active)
        return;
    al_report_exit();
    al_report_apply_exitcode();
}

static void set_meta(void)
{
    al_json *meta = al_json_object();
    al_json *argv = al_json_array();
    PyObject *sys_argv = PySys_GetObject("argv");   /* borrowed */
    Py_ssize_t i, n = sys_argv && PyList_Check(sys_argv) ? PyList_Size(sys_argv) : 0;

    for (i = 0; i < n; i++) {
        char *s = al_str_bytes(PyList_GetItem(sys_argv, i));
        al_json_append(argv, al_json_string(s ? s : ""));
        free(s);
    }
    al_json_set(meta, "argv", argv);
    al_json_set_str(meta, "python", al_py.version);
    al_report_set_meta(meta);
    if (PyErr_Occurred())
        PyErr_Clear();
}

static int free_threaded(void)
{
    PyObject *flags = PySys_GetObject("abiflags");   /* borrowed */
    const char *s = al_str_utf8(flags);
    return s != NULL && strchr(s, 't') != NULL;
}

static void install_asyncio(void)
{
    PyObject *mod;

    if (free_threaded()) {
        g_refused = 1;
        al_diag("free-threaded CPython builds are not supported yet; not tracking");
        return;
    }
    mod = PyImport_ImportModule("asyncio");
    if (mod == NULL) {
        /* The program's own import will fail the same way and say why. */
        PyErr_Clear();
        g_installed &= ~TARGET_ASYNCIO;
        return;
    }
    Py_DECREF(mod);
    if (al_opts.native && al_native_init() < 0)
        al_opts.native = 0;
    al_render_set_native_text(al_opts.native_text);
    if (al_stacks_init() < 0)
        al_diag("cannot walk Python frames on %s; origins will be empty", al_py.version);
    if (al_wrapper_type_init() < 0 || al_tasks_install() < 0 || al_loop_install() < 0) {
        al_diag("cannot hook asyncio on Python %s; not tracking", al_py.version);
        return;
    }
    set_meta();
    Py_AtExit(final_report);
    al_active = 1;
    al_signals_install();
    al_snapshots_start();
    if (al_opts.verbosity > 0)
        al_diag("tracking asyncio tasks (Python %s, pid %ld)", al_py.version, (long)getpid());
}

static int module_loaded(const char *name)
{
    PyObject *modules = PyImport_GetModuleDict();   /* borrowed */
    return modules != NULL && PyDict_GetItemString(modules, name) != NULL;
}

static void install(int target)
{
    al_exc_state exc;

    g_installing = 1;
    al_exc_save(&exc);
    if (target == TARGET_ASYNCIO || !(g_installed & TARGET_ASYNCIO)) {
        g_installed |= TARGET_ASYNCIO;
        install_asyncio();
    }
    if (al_active && !(g_installed & TARGET_UVLOOP)
        && (target == TARGET_UVLOOP || module_loaded("uvloop"))) {
        PyObject *mod = PyImport_ImportModule("uvloop");
        g_installed |= TARGET_UVLOOP;
        if (mod == NULL)
            g_installed &= ~TARGET_UVLOOP;
        else if (al_uvloop_install() < 0)
            al_diag("cannot hook uvloop; uvloop loops are not reported at close");
        Py_XDECREF(mod);
    }
    if (al_active && al_resources_pending() > 0)
        al_resources_sweep();
    if (al_active)
        al_module_hooks_sweep();
    if (PyErr_Occurred())
        PyErr_Clear();
    al_exc_restore(&exc);
    g_installing = 0;
}

static void install_resources_of(PyObject *name)
{
    const char *module = al_str_utf8(name);
    al_exc_state exc;

    if (module == NULL)
        return;
    g_installing = 1;
    al_exc_save(&exc);
    al_resources_on_import(module);
    /* Modules imported meanwhile raised events we skipped under the guard. */
    if (al_resources_pending() > 0)
        al_resources_sweep();
    al_module_hooks_sweep();
    if (PyErr_Occurred())
        PyErr_Clear();
    al_exc_restore(&exc);
    g_installing = 0;
}

static void route_boot_blocks_home(void);

static int audit_hook(const char *event, PyObject *args, void *data)
{
    PyObject *name;
    int target;

    /* Every audit event comes here (open, sys._getframe, ...): the first
     * test must reject them for the cost of two compares. */
    if (event[0] != 'i' || strcmp(event, "import") != 0) {
        if (event[0] == 'c' && strcmp(event, "cpython._PySys_ClearAuditHooks") == 0)
            route_boot_blocks_home();
        return 0;
    }
    if (g_installing || g_refused)
        return 0;
    if (g_installed == (TARGET_ASYNCIO | TARGET_UVLOOP) && al_resources_pending() == 0 && g_api_installed)
        return 0;
    name = PyTuple_Check(args) && PyTuple_Size(args) > 0 ? PyTuple_GetItem(args, 0) : NULL;
    if (name == NULL || !PyUnicode_Check(name))
        return 0;
    if (PyUnicode_CompareWithASCIIString(name, "asyncio") == 0
        || PyUnicode_CompareWithASCIIString(name, "_asyncio") == 0)
        target = TARGET_ASYNCIO;
    else if (PyUnicode_CompareWithASCIIString(name, "uvloop") == 0)
        target = TARGET_UVLOOP;
    else if (PyUnicode_CompareWithASCIIString(name, "asyncleak") == 0) {
        /* The in-process API: needs the hooks, then the module. */
        if (!al_in_main_interpreter())
            return 0;
        if (!(g_installed & TARGET_ASYNCIO))
            install(TARGET_ASYNCIO);
        if (al_active) {
            al_exc_state exc;
            al_exc_save(&exc);
            g_api_installed = al_pymodule_install() == 0;
            al_exc_restore(&exc);
        }
        return 0;
    }
    else {
        if (al_active && al_resources_pending() > 0 && al_in_main_interpreter())
            install_resources_of(name);
        return 0;
    }
    /* (install_resources_of also sweeps: kinds left pending while their
     * module was still being imported are hooked at a later import.) */
    if ((g_installed & target) || !al_in_main_interpreter())
        return 0;
    install(target);
    return 0;
}

/* The audit hook entry that PySys_AddAuditHook allocates before
 * Py_Initialize comes from the raw allocator of that moment (plain malloc).
 * If the interpreter then switches to its debug allocator (-X dev,
 * PYTHONDEVMODE, PYTHONMALLOC=*debug, an embedding app's PyPreConfig), it
 * frees the entry at exit through the debug one and aborts.  So the blocks
 * allocated during our PySys_AddAuditHook call are recorded, and when
 * CPython announces it is about to free the hook entries (the event
 * "cpython._PySys_ClearAuditHooks", 3.8+) while the raw allocator differs
 * from the boot one, a pass-through allocator is installed that returns
 * those blocks to the allocator that made them.  Ordinary runs pay nothing. */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} al_mem_allocator;                     /* PyMemAllocatorEx, 3.8-3.13 */
enum { AL_MEM_DOMAIN_RAW = 0 };
PyAPI_FUNC(void) PyMem_GetAllocator(int domain, al_mem_allocator *allocator);
PyAPI_FUNC(void) PyMem_SetAllocator(int domain, al_mem_allocator *allocator);
#pragma weak PyMem_GetAllocator
#pragma weak PyMem_SetAllocator

#define MAX_BOOT_BLOCKS 4
static al_mem_allocator g_boot_alloc, g_final_alloc;
static void *g_boot_blocks[MAX_BOOT_BLOCKS];
static int g_nboot_blocks, g_alloc_routed;

static void keep_block(void *p)
{
    if (p != NULL && g_nboot_blocks < MAX_BOOT_BLOCKS)
        g_boot_blocks[g_nboot_blocks++] = p;
}

static int take_block(void *p)
{
    int i;
    for (i = 0; p != NULL && i < g_nboot_blocks; i++)
        if (g_boot_blocks[i] == p) {
            g_boot_blocks[i] = NULL;
            return 1;
        }
    return 0;
}

static void *rec_malloc(void *c, size_t n) { void *p = g_boot_alloc.malloc(g_boot_alloc.ctx, n); keep_block(p); return p; }
static void *rec_calloc(void *c, size_t a, size_t b) { void *p = g_boot_alloc.calloc(g_boot_alloc.ctx, a, b); keep_block(p); return p; }
static void *rec_realloc(void *c, void *p, size_t n) { void *q; take_block(p); q = g_boot_alloc.realloc(g_boot_alloc.ctx, p, n); keep_block(q); return q; }
static void rec_free(void *c, void *p) { take_block(p); g_boot_alloc.free(g_boot_alloc.ctx, p); }

static void *fin_malloc(void *c, size_t n) { return g_final_alloc.malloc(g_final_alloc.ctx, n); }
static void *fin_calloc(void *c, size_t a, size_t b) { return g_final_alloc.calloc(g_final_alloc.ctx, a, b); }
static void *fin_realloc(void *c, void *p, size_t n) { return g_final_alloc.realloc(g_final_alloc.ctx, p, n); }
static void fin_free(void *c, void *p)
{
    if (take_block(p))
        g_boot_alloc.free(g_boot_alloc.ctx, p);
    else
        g_final_alloc.free(g_final_alloc.ctx, p);
}

/* From the audit hook, on "cpython._PySys_ClearAuditHooks". */
static void route_boot_blocks_home(void)
{
    static al_mem_allocator fin = {NULL, fin_malloc, fin_calloc, fin_realloc, fin_free};

    if (g_alloc_routed || g_nboot_blocks == 0)
        return;
    g_alloc_routed = 1;
    PyMem_GetAllocator(AL_MEM_DOMAIN_RAW, &g_final_alloc);
    if (memcmp(&g_final_alloc, &g_boot_alloc, sizeof g_final_alloc) != 0)
        PyMem_SetAllocator(AL_MEM_DOMAIN_RAW, &fin);
}

/* PySys_AddAuditHook before Py_Initialize, its blocks recorded. */
static int add_hook_before_init(al_audit_hook_fn hook)
{
    static al_mem_allocator rec = {NULL, rec_malloc, rec_calloc, rec_realloc, rec_free};
    int rc;

    if (&PyMem_GetAllocator == NULL || &PyMem_SetAllocator == NULL)
        return PySys_AddAuditHook(hook, NULL);
    PyMem_GetAllocator(AL_MEM_DOMAIN_RAW, &g_boot_alloc);
    PyMem_SetAllocator(AL_MEM_DOMAIN_RAW, &rec);
    rc = PySys_AddAuditHook(hook, NULL);
    PyMem_SetAllocator(AL_MEM_DOMAIN_RAW, &g_boot_alloc);
    return rc;
}

int al_bootstrap_add_hook(void)
{
    return PySys_AddAuditHook(audit_hook, NULL);
}

void al_bootstrap_install_present(void)
{
    if (module_loaded("asyncio") && !(g_installed & TARGET_ASYNCIO))
        install(TARGET_ASYNCIO);
}

__attribute__((constructor)) static void al_constructor(void)
{
    const char *spec;

    if (!al_python_present() || getauxval(AT_SECURE) != 0)
        return;
    /* A free-threaded build lays objects out differently: nothing may be
     * touched, not even a type pointer. */
    if (strstr(Py_GetVersion(), "free-threading") != NULL) {
        if (getenv("ASYNCLEAK_OPTIONS") != NULL)
            al_diag("free-threaded CPython builds are not supported yet; not tracking");
        return;
    }
    if (al_pyapi_init() < 0) {
        if (getenv("ASYNCLEAK_OPTIONS") != NULL)
            al_diag("Python %s is not supported (3.8-3.13); not tracking", al_py.version);
        return;
    }
    /* Loaded into a running interpreter (asyncleak attach, dlopen from a
     * stopped thread that may not hold the GIL): nothing here may touch
     * Python; a thread of ours finishes with the GIL. */
    if (Py_IsInitialized()) {
        al_options_defaults(&al_opts);
        al_options_parse(&al_opts, getenv("ASYNCLEAK_OPTIONS"), complain, NULL);
        al_registry_init(&al_tasks);
        al_resources_init();
        al_report_load_suppressions();
        pthread_atfork(NULL, NULL, after_fork_child);
        al_attach_start();
        return;
    }
    al_options_defaults(&al_opts);
    spec = getenv("ASYNCLEAK_OPTIONS");
    al_options_parse(&al_opts, spec, complain, NULL);
    al_registry_init(&al_tasks);
    al_resources_init();
    al_report_load_suppressions();
    pthread_atfork(NULL, NULL, after_fork_child);
    if (add_hook_before_init(audit_hook) < 0)
        al_diag("cannot add the audit hook; not tracking");
}
