/* stacks.c - capture of Python stacks at hooks and their late resolution.
 *
 * 3.8-3.10: frames are always objects; the walk reads f_back, f_code and
 * f_lasti at fixed offsets (the same in every 3.8/3.9 build, f_lasti moved
 * and counts code units in 3.10) after al_stacks_init() has checked them
 * against PyFrame_GetLineNumber.  3.11+: the public frame API
 * (PyEval_GetFrame, PyFrame_GetBack, PyFrame_GetCode, PyFrame_GetLasti).
 */
#include "stacks.h"

#include <stdlib.h>
#include <string.h>

#include "render_text.h"
#include "stackintern.h"
#include "typeslots.h"

static enum { WALK_NONE, WALK_STRUCT, WALK_API } g_walk;
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

int al_stacks_init(void)
{
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
    return 0;
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
    if (g_walk == WALK_STRUCT) {
        PyFrameObject *f = PyEval_GetFrame();
        for (; f != NULL && n < (uint32_t)max_depth; f = FIELD(f, OFF_BACK, PyFrameObject *)) {
            int lasti = FIELD(f, g_off_lasti, int);
            buf[n].code = FIELD(f, OFF_CODE, PyObject *);
            buf[n].lasti = lasti >= 0 ? lasti * g_lasti_scale : -1;
            n++;
        }
        truncated = f != NULL;
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
