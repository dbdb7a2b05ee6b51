/* stacks.c - capture of Python stacks at hooks and their late resolution.
 *
 * 3.8-3.10: frames are always objects; the walk reads f_back, f_code and
 * f_lasti at fixed offsets (the same in every 3.8/3.9 build, f_lasti moved
 * and counts code units in 3.10) after al_stacks_init() has checked them
 * against PyFrame_GetLineNumber.  3.11+: the public frame API
 * (PyEval_GetFrame, PyFrame_GetBack, PyFrame_GetCode, PyFrame_GetLasti).
 */
#include "stacks.h"
#include "al.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "render_text.h"
#include "stackintern.h"
#include "typeslots.h"

static enum { WALK_UNINIT, WALK_NONE, WALK_STRUCT, WALK_API, WALK_IFRAME } g_walk;
enum { OFF_BACK = 24, OFF_CODE = 32 };
static size_t g_off_lasti;
static int g_lasti_scale;

#define FIELD(f, off, type) (*(type *)((char *)(f) + (off)))

static int struct_walk_matches(void)
{
    PyFrameObject *f = PyEval_GetFrame();
    int checked = 0;

    while (f != NULL && checked < 4) {
        PyObject *code = FIELD(f, OFF_CODE, PyObject *);
        int lasti = FIELD(f, g_off_lasti, int);
        if (code == NULL || strcmp(al_type_name(code), "code") != 0)
            return 0;
        if (lasti >= 0 && PyCode_Addr2Line((PyCodeObject *)code, lasti * g_lasti_scale) != PyFrame_GetLineNumber(f))
            return 0;
        f = FIELD(f, OFF_BACK, PyFrameObject *);
        checked++;
    }
    return checked > 0;
}

/* ---- 3.11+: walking _PyInterpreterFrame without making frame objects ----
 * PyFrame_GetBack() materializes a frame object for every frame it passes
 * (an allocation, and later a free, per frame per spawn).  The interpreter
 * frames are read directly instead: offsets of code / previous / instruction
 * pointer / owner per version, the thread state's way to the current frame
 * and the code objects' bytecode offset found by calibration against the
 * public API, and the whole walk checked against it at start-up; any
 * mismatch falls back to the public API. */
typedef struct {
    size_t code, previous, instr, owner;
} iframe_layout;
static const iframe_layout g_layout_311 = {32, 48, 56, 69};
static const iframe_layout g_layout_312 = {0, 8, 56, 70};     /* 3.13 too */
static iframe_layout g_if;
static int g_ts_off = -1;          /* word of PyThreadState leading to the current frame */
static int g_ts_indirect_off = -1; /* >= 0: that word points to a _PyCFrame, frame at this offset */
static ptrdiff_t g_code_bytes_off; /* bytecode start - code object */
static PyObject *g_code_type;
static int g_iframe_checks = 16;   /* captures still cross-checked against the public API */
enum { FRAME_OWNED_BY_CSTACK = 3, FRAME_OBJ_IFRAME_OFF = 24 };

static void *current_iframe(void)
{
    void *ts = PyThreadState_Get();
    void *w;

    if (ts == NULL || g_ts_off < 0)
        return NULL;
    w = FIELD(ts, g_ts_off, void *);
    if (g_ts_indirect_off >= 0)
        w = w ? FIELD(w, g_ts_indirect_off, void *) : NULL;
    return w;
}

/* One step: the code and byte offset of frame f, or 0 to skip it. */
static int iframe_read(void *f, al_raw_frame *out)
{
    PyObject *code = FIELD(f, g_if.code, PyObject *);
    char *instr;

    if (al_py.minor >= 12 && FIELD(f, g_if.owner, char) == FRAME_OWNED_BY_CSTACK)
        return 0;
    if (code == NULL || (PyObject *)Py_TYPE(code) != g_code_type)
        return 0;
    instr = FIELD(f, g_if.instr, char *);
    out->code = code;
    out->lasti = (int)(instr - ((char *)code + g_code_bytes_off));
    return 1;
}

static int iframe_calibrate(void)
{
    PyFrameObject *fo = PyEval_GetFrame();
    void *target, *ts = PyThreadState_Get();
    PyObject *code;
    int i, j, lasti;
    pthread_attr_t attr;
    void *stack_lo = NULL;
    size_t stack_size = 0;

    if (fo == NULL || ts == NULL)
        return -1;
    g_if = al_py.minor == 11 ? g_layout_311 : g_layout_312;
    target = FIELD(fo, FRAME_OBJ_IFRAME_OFF, void *);
    code = (PyObject *)PyFrame_GetCode(fo);
    if (code == NULL || FIELD(target, g_if.code, PyObject *) != code) {
        Py_XDECREF(code);
        return -1;
    }
    g_code_type = (PyObject *)Py_TYPE(code);
    lasti = PyFrame_GetLasti(fo);
    g_code_bytes_off = FIELD(target, g_if.instr, char *) - lasti - (char *)code;
    Py_DECREF(code);
    /* The thread state reaches the current frame directly (3.13) or through
     * a _PyCFrame (3.11, 3.12): find the word, the first match wins. */
    /* 3.11/3.12: tstate->cframe->current_frame (the root _PyCFrame inside
     * the thread state also holds a current_frame, stale in nested calls:
     * the indirect path is looked for first).  3.13: tstate->current_frame. */
    /* Only words pointing into the thread state itself or into this
     * thread's stack are followed: nothing else is known to be mapped. */
    if (al_py.minor <= 12 && pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &stack_lo, &stack_size);
        pthread_attr_destroy(&attr);
    }
    for (i = 0; i < 64 && g_ts_off < 0 && al_py.minor <= 12 && stack_size > 0; i++) {
        void *w = ((void **)ts)[i];
        int in_ts = (char *)w >= (char *)ts && (char *)w + 16 <= (char *)ts + 512;
        int in_stack = (char *)w >= (char *)stack_lo && (char *)w + 16 <= (char *)stack_lo + stack_size;
        if (((uintptr_t)w & 7) != 0 || w == target || !(in_ts || in_stack))
            continue;
        for (j = 0; j < 2; j++)
            if (((void **)w)[j] == target) {
                g_ts_off = i * 8;
                g_ts_indirect_off = j * 8;
                break;
            }
    }
    for (i = 0; i < 64 && g_ts_off < 0 && al_py.minor >= 13; i++)
        if (((void **)ts)[i] == target)
            g_ts_off = i * 8;
    return g_ts_off >= 0 ? 0 : -1;
}

/* The direct walk must give what the public API gives, frame for frame. */
static int iframe_walk_matches(void)
{
    PyFrameObject *fo = PyEval_GetFrame();
    void *f = current_iframe();
    int checked = 0;

    Py_XINCREF(fo);
    while (fo != NULL && f != NULL && checked < 8) {
        al_raw_frame raw;
        PyFrameObject *back;
        PyObject *code = (PyObject *)PyFrame_GetCode(fo);
        int ok = iframe_read(f, &raw) && raw.code == code && raw.lasti == PyFrame_GetLasti(fo);
        Py_XDECREF(code);
        if (!ok)
            break;
        checked++;
        back = PyFrame_GetBack(fo);
        Py_DECREF(fo);
        fo = back;
        do
            f = FIELD(f, g_if.previous, void *);
        while (f != NULL && !iframe_read(f, &raw));
    }
    Py_XDECREF(fo);
    if (PyErr_Occurred())
        PyErr_Clear();
    /* Both walks ended together, or agreed on the first 8 frames. */
    return checked >= 1 && ((fo == NULL && f == NULL) || checked == 8);
}

int al_stacks_init(void)
{
    /* The checks need a Python frame of the calling thread; a thread of the
     * tool (after an attach) has none: decide at the first capture. */
    if (PyEval_GetFrame() == NULL) {
        g_walk = WALK_UNINIT;
        return 0;
    }
    if (al_py.minor <= 10) {
        g_walk = WALK_STRUCT;
        g_off_lasti = al_py.minor == 10 ? 96 : 104;
        g_lasti_scale = al_py.minor == 10 ? 2 : 1;
        if (struct_walk_matches())
            return 0;
        g_walk = WALK_NONE;
        return -1;
    }
    g_walk = WALK_API;
    if (getenv("ASYNCLEAK_PUBLIC_FRAME_API") == NULL && iframe_calibrate() == 0 && iframe_walk_matches())
        g_walk = WALK_IFRAME;
    if (al_opts.verbosity > 1)
        al_diag("frame walk: %s", g_walk == WALK_IFRAME ? "interpreter frames" : "public frame API");
    return 0;
}

/* co_nlocals of a code object: its first co_nlocals local-plus slots are
 * plain local variables (arguments first) on every version.  Read from the
 * PyCodeObject field (offset per version, checked once against the
 * attribute; a mismatch falls back to the attribute for good). */
enum { CO_NLOCALS_38 = 28, CO_NLOCALS_311 = 80 };

static Py_ssize_t code_nlocals_attr(PyObject *code)
{
    PyObject *v = al_getattr(code, "co_nlocals");
    Py_ssize_t n = v != NULL && PyLong_Check(v) ? PyLong_AsSsize_t(v) : -1;

    Py_XDECREF(v);
    if (PyErr_Occurred())
        PyErr_Clear();
    return n;
}

static Py_ssize_t code_nlocals(PyObject *code)
{
    static int field_ok = -1;
    int field = FIELD(code, al_py.minor >= 11 ? CO_NLOCALS_311 : CO_NLOCALS_38, int);

    if (field_ok < 0)
        field_ok = field == code_nlocals_attr(code);
    return field_ok ? field : code_nlocals_attr(code);
}

static void each_slot(PyObject *const *slots, Py_ssize_t n, void (*fn)(PyObject *, void *), void *ctx)
{
    Py_ssize_t i;

    for (i = 0; i < n; i++)
        if (slots[i] != NULL)
            fn(slots[i], ctx);
}

/* 3.8-3.10 frame objects: f_valuestack (the word after f_locals) points just
 * past the local-plus slots, which end the object (ob_size of them). */
enum { OFF_VALUESTACK = 64, LOCALSPLUS_38 = 360, LOCALSPLUS_310 = 352 };
/* 3.11-3.13 _PyInterpreterFrame: localsplus follows the owner byte. */
enum { IFRAME_LOCALSPLUS = 72 };

static Py_ssize_t tuple_attr_len(PyObject *obj, const char *name)
{
    PyObject *v = al_getattr(obj, name);
    Py_ssize_t n = v != NULL && PyTuple_Check(v) ? PyTuple_Size(v) : -1;

    Py_XDECREF(v);
    return n;
}

/* Once per process: the local-plus slots of the first frame seen end exactly
 * where its cells and free variables end, at f_valuestack. */
static int localsplus_offset_checked(PyFrameObject *f, PyObject **slots, PyObject **valuestack,
                                     Py_ssize_t nlocals)
{
    static int verdict = -1;

    if (verdict < 0) {
        PyObject *code = FIELD(f, OFF_CODE, PyObject *);
        Py_ssize_t cells = tuple_attr_len(code, "co_cellvars"), frees = tuple_attr_len(code, "co_freevars");
        verdict = cells >= 0 && frees >= 0 && valuestack - slots == nlocals + cells + frees;
        if (PyErr_Occurred())
            PyErr_Clear();
    }
    return verdict;
}

int al_running_locals(int max_frames, void (*fn)(PyObject *value, void *ctx), void *ctx)
{
    int n = 0;

    if (g_walk == WALK_STRUCT) {
        size_t off = al_py.minor == 10 ? LOCALSPLUS_310 : LOCALSPLUS_38;
        PyFrameObject *f = PyEval_GetFrame();
        for (; f != NULL && n < max_frames; f = FIELD(f, OFF_BACK, PyFrameObject *), n++) {
            PyObject **slots = (PyObject **)((char *)f + off);
            PyObject **valuestack = FIELD(f, OFF_VALUESTACK, PyObject **);
            Py_ssize_t nlocals = code_nlocals(FIELD(f, OFF_CODE, PyObject *));
            /* The slots read must lie before the value stack, inside the
             * frame's own local-plus area. */
            if (nlocals < 0 || valuestack < slots + nlocals || valuestack - slots > Py_SIZE(f)
                || !localsplus_offset_checked(f, slots, valuestack, nlocals))
                return -1;
            each_slot(slots, nlocals, fn, ctx);
        }
    } else if (g_walk == WALK_IFRAME) {
        void *f = current_iframe();
        for (; f != NULL && n < max_frames; f = FIELD(f, g_if.previous, void *)) {
            al_raw_frame raw;
            Py_ssize_t nlocals;
            if (!iframe_read(f, &raw))
                continue;       /* a C entry frame: no locals */
            nlocals = code_nlocals((PyObject *)raw.code);
            if (nlocals < 0)
                return -1;
            each_slot((PyObject **)((char *)f + IFRAME_LOCALSPLUS), nlocals, fn, ctx);
            n++;
        }
    } else {
        return -1;
    }
    return n;
}

static void retain_code(const void *code)
{
    Py_IncRef((PyObject *)code);
}

uint32_t al_stack_capture(int max_depth)
{
    al_raw_frame buf[AL_MAX_STACK_DEPTH];
    uint32_t n = 0;
    int truncated = 0;

    if (max_depth > AL_MAX_STACK_DEPTH)
        max_depth = AL_MAX_STACK_DEPTH;
    if (g_walk == WALK_UNINIT && (PyEval_GetFrame() == NULL || al_stacks_init() < 0))
        return 0;
    if (g_walk == WALK_STRUCT) {
        PyFrameObject *f = PyEval_GetFrame();
        for (; f != NULL && n < (uint32_t)max_depth; f = FIELD(f, OFF_BACK, PyFrameObject *)) {
            int lasti = FIELD(f, g_off_lasti, int);
            buf[n].code = FIELD(f, OFF_CODE, PyObject *);
            buf[n].lasti = lasti >= 0 ? lasti * g_lasti_scale : -1;
            n++;
        }
        truncated = f != NULL;
    } else if (g_walk == WALK_IFRAME) {
        void *f = current_iframe();
        for (; f != NULL && n < (uint32_t)max_depth; f = FIELD(f, g_if.previous, void *))
            if (iframe_read(f, &buf[n]))
                n++;
        truncated = f != NULL;
        /* The first captures are checked against the public API too (the
         * start-up check may have seen a shallow stack); any difference
         * switches to the public API for good. */
        if (g_iframe_checks > 0 && n >= 2) {
            g_iframe_checks--;
            if (!iframe_walk_matches()) {
                g_walk = WALK_API;
                if (al_opts.verbosity > 1)
                    al_diag("frame walk: interpreter frames disagree with the public API; using the API");
                return al_stack_capture(max_depth);
            }
        }
    } else if (g_walk == WALK_API) {
        PyFrameObject *f = PyEval_GetFrame();   /* borrowed */
        Py_XINCREF(f);
        while (f != NULL && n < (uint32_t)max_depth) {
            PyFrameObject *back;
            PyCodeObject *code = PyFrame_GetCode(f);
            /* The executing frame keeps its code alive during the walk. */
            buf[n].code = code;
            buf[n].lasti = PyFrame_GetLasti(f);
            Py_DECREF(code);
            n++;
            back = PyFrame_GetBack(f);
            Py_DECREF(f);
            f = back;
        }
        truncated = f != NULL;
        Py_XDECREF(f);
        /* Materializing a frame object can fail (MemoryError). */
        if (PyErr_Occurred())
            PyErr_Clear();
    }
    if (n == 0)
        return 0;
    return al_stack_intern(buf, n, truncated, retain_code);
}

char *al_str_bytes(PyObject *s)
{
    const char *u = al_str_utf8(s);
    PyObject *b;
    char *r = NULL, *data;
    Py_ssize_t len;

    if (u != NULL)
        return strdup(u);
    if (s == NULL || !PyUnicode_Check(s))
        return NULL;
    b = PyUnicode_AsEncodedString(s, "utf-8", "surrogateescape");
    if (b == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (PyBytes_AsStringAndSize(b, &data, &len) == 0) {
        r = malloc((size_t)len + 1);
        if (r != NULL) {
            memcpy(r, data, (size_t)len);
            r[len] = '\0';
        }
    } else {
        PyErr_Clear();
    }
    Py_DECREF(b);
    return r;
}

al_json *al_frame_json(PyObject *code, int line)
{
    al_json *fr = al_json_object();
    PyObject *file = al_getattr(code, "co_filename");
    PyObject *name = al_py.minor >= 11 ? al_getattr(code, "co_qualname") : NULL;
    char *file_s, *name_s;

    if (name == NULL)
        name = al_getattr(code, "co_name");
    file_s = al_str_bytes(file);
    name_s = al_str_bytes(name);
    al_json_set_str(fr, "file", file_s ? file_s : "?");
    al_json_set_int(fr, "line", line > 0 ? line : 0);
    al_json_set_str(fr, "function", name_s ? name_s : "?");
    free(file_s);
    free(name_s);
    Py_XDECREF(file);
    Py_XDECREF(name);
    return fr;
}

/* The frames of rec, outermost first, cached in the record. */
static const al_json *resolved_frames(al_stack_rec *rec)
{
    uint32_t i;

    if (rec->resolved != NULL)
        return rec->resolved;
    rec->resolved = al_json_array();
    if (rec->resolved == NULL)
        return NULL;
    for (i = rec->depth; i-- > 0;) {
        PyObject *code = (PyObject *)rec->frames[i].code;
        int line = PyCode_Addr2Line((PyCodeObject *)code, rec->frames[i].lasti);
        if (line < 0)
            PyErr_Clear();
        al_json_append(rec->resolved, al_frame_json(code, line));
    }
    return rec->resolved;
}

const al_json *al_stack_innermost(uint32_t id)
{
    al_stack_rec *rec = al_stack_get(id);
    const al_json *all = rec ? resolved_frames(rec) : NULL;
    size_t n = al_json_len(all);

    return n ? al_json_at(all, n - 1) : NULL;
}

al_json *al_stack_resolve(uint32_t id, int trim_asyncio)
{
    al_stack_rec *rec = al_stack_get(id);
    al_json *stack = al_json_object();
    al_json *frames = al_json_array();
    const al_json *all = rec ? resolved_frames(rec) : NULL;
    size_t n = al_json_len(all), i;

    if (trim_asyncio)
        while (n > 0 && al_frame_is_asyncio_internal(al_json_get_str(al_json_at(all, n - 1), "file")))
            n--;
    for (i = 0; i < n; i++)
        al_json_append(frames, al_json_copy(al_json_at(all, i)));
    al_json_set(stack, "frames", frames);
    if (rec != NULL && rec->truncated)
        al_json_set(stack, "truncated", al_json_bool(1));
    return stack;
}

PyObject *al_frame_code(PyFrameObject *f)
{
    PyObject *code;

    if (f == NULL)
        return NULL;
    if (al_py.minor < 9) {
        code = FIELD(f, OFF_CODE, PyObject *);   /* 3.8: no PyFrame_GetCode */
        Py_XINCREF(code);
        return code;
    }
    return (PyObject *)PyFrame_GetCode(f);
}
