/* preinit_audit_hook.c - the root cause of the -X dev abort, without asyncleak,
 * and a fix that keeps tracking in dev mode.
 *
 * A preload whose constructor calls PySys_AddAuditHook() before Py_Initialize:
 * CPython allocates the hook entry with PyMem_RawMalloc while the raw allocator
 * is still plain malloc; Py_PreInitialize then installs the debug hooks (-X dev,
 * PYTHONDEVMODE, PYTHONMALLOC=*debug, an embedding app's PyPreConfig.allocator,
 * a debug build) and at exit _PySys_ClearAuditHooks() frees the entry with
 * PyMem_RawFree through them: "bad ID: Allocated using API '!', verified using
 * API 'r'", abort().
 *
 * With -DFIXED: the constructor records the blocks PySys_AddAuditHook allocates
 * (a recording raw allocator around the call: PyMem_SetAllocator is allowed
 * before Py_Initialize), and the hook, on the "cpython._PySys_ClearAuditHooks"
 * event that CPython raises right before freeing the entries (3.8+), wraps the
 * current raw allocator (allowed after init: a hook that calls the previous
 * allocator) only when it differs from the boot one, sending those blocks back
 * to the allocator that made them.  Public API only, every version, no guess
 * about the command line, zero cost on ordinary runs.
 *
 *   gcc -shared -fPIC -o /tmp/h.so preinit_audit_hook.c
 *   LD_PRELOAD=/tmp/h.so python3 -X dev -c pass          # aborts, exit 134
 *   gcc -DFIXED -shared -fPIC -o /tmp/h.so preinit_audit_hook.c
 *   LD_PRELOAD=/tmp/h.so python3 -X dev -c pass          # exit 0
 */
#include <stddef.h>
#include <string.h>

typedef struct _object PyObject;
typedef int (*hookfn)(const char *, PyObject *, void *);
extern int PySys_AddAuditHook(hookfn, void *) __attribute__((weak));

#ifndef FIXED
static int hook(const char *event, PyObject *args, void *data) { return 0; }

__attribute__((constructor)) static void init(void)
{
    if (PySys_AddAuditHook)
        PySys_AddAuditHook(hook, NULL);
}
#else
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} PyMemAllocatorEx;                             /* cpython/pymem.h, 3.8-3.13 */
enum { PYMEM_DOMAIN_RAW = 0 };
extern void PyMem_GetAllocator(int, PyMemAllocatorEx *) __attribute__((weak));
extern void PyMem_SetAllocator(int, PyMemAllocatorEx *) __attribute__((weak));

#define MAX_BOOT 4
static PyMemAllocatorEx g_boot, g_final;
static void *g_blocks[MAX_BOOT];
static int g_nblocks, g_routed;

static void keep(void *p) { if (p != NULL && g_nblocks < MAX_BOOT) g_blocks[g_nblocks++] = p; }
static int take(void *p)
{
    for (int i = 0; p != NULL && i < g_nblocks; i++)
        if (g_blocks[i] == p) { g_blocks[i] = NULL; return 1; }
    return 0;
}

/* Around PySys_AddAuditHook in the constructor: plain allocator, blocks recorded. */
static void *rec_malloc(void *c, size_t n) { void *p = g_boot.malloc(g_boot.ctx, n); keep(p); return p; }
static void *rec_calloc(void *c, size_t a, size_t b) { void *p = g_boot.calloc(g_boot.ctx, a, b); keep(p); return p; }
static void *rec_realloc(void *c, void *p, size_t n) { take(p); void *q = g_boot.realloc(g_boot.ctx, p, n); keep(q); return q; }
static void rec_free(void *c, void *p) { take(p); g_boot.free(g_boot.ctx, p); }

/* From the ClearAuditHooks event on: the final allocator, but boot blocks go home. */
static void *fin_malloc(void *c, size_t n) { return g_final.malloc(g_final.ctx, n); }
static void *fin_calloc(void *c, size_t a, size_t b) { return g_final.calloc(g_final.ctx, a, b); }
static void *fin_realloc(void *c, void *p, size_t n) { return g_final.realloc(g_final.ctx, p, n); }
static void fin_free(void *c, void *p)
{
    if (take(p))
        g_boot.free(g_boot.ctx, p);
    else
        g_final.free(g_final.ctx, p);
}

static int hook(const char *event, PyObject *args, void *data)
{
    static PyMemAllocatorEx fin = {NULL, fin_malloc, fin_calloc, fin_realloc, fin_free};

    if (event[0] == 'c' && !g_routed && strcmp(event, "cpython._PySys_ClearAuditHooks") == 0) {
        g_routed = 1;
        PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &g_final);
        if (g_nblocks > 0 && memcmp(&g_final, &g_boot, sizeof g_final) != 0)
            PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &fin);
    }
    return 0;
}

__attribute__((constructor)) static void init(void)
{
    static PyMemAllocatorEx rec = {NULL, rec_malloc, rec_calloc, rec_realloc, rec_free};

    if (!PySys_AddAuditHook || !PyMem_GetAllocator || !PyMem_SetAllocator)
        return;
    PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &g_boot);
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &rec);
    PySys_AddAuditHook(hook, NULL);
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &g_boot);
}
#endif
