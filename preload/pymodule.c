/* pymodule.c - the in-process API: a module "asyncleak" made by the
 * library itself, so nothing has to be installed.  When the program imports
 * asyncleak and the preload is active, the audit hook puts this module in
 * sys.modules first (the pure-Python shim in python/asyncleak offers the
 * same functions, disabled, when the preload is absent).
 *
 *   enabled() -> True
 *   findings() -> [dict]            every finding so far (JSON shape)
 *   mark() -> int                   a position in the findings
 *   findings_since(mark) -> [dict]
 *   snapshot() -> {"tasks": [...], "resources": [...]}   pending and open now
 *   check(mark=None, loop=None)     AssertionError with the text report when
 *                                   findings exist since mark (default: the
 *                                   last mark()); with loop, its pending
 *                                   tasks count too (reported as pending_task,
 *                                   when "check")
 *   report_text(mark) -> str        the text rendering of the findings since mark
 *
 * Findings cross into Python as JSON text parsed by the json module.
 */
#include "al.h"
#include "pyapi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_text.h"
#include "typeslots.h"

static Py_ssize_t g_last_mark;

static PyObject *to_python(al_json *v)
{
    char *text = al_json_dumps(v, -1);
    PyObject *json = text ? PyImport_ImportModule("json") : NULL;
    PyObject *r = json ? PyObject_CallMethod(json, "loads", "s", text) : NULL;

    Py_XDECREF(json);
    free(text);
    al_json_free(v);
    if (r == NULL && !PyErr_Occurred())
        PyErr_NoMemory();
    return r;
}

static PyObject *py_enabled(PyObject *self, PyObject *unused)
{
    PyObject *r = al_active ? Py_True : Py_False;
    Py_INCREF(r);
    return r;
}

static PyObject *py_findings(PyObject *self, PyObject *unused)
{
    return to_python(al_report_findings_since(0));
}

static PyObject *py_mark(PyObject *self, PyObject *unused)
{
    g_last_mark = (Py_ssize_t)al_report_listed();
    return PyLong_FromSsize_t(g_last_mark);
}

static PyObject *py_findings_since(PyObject *self, PyObject *arg)
{
    Py_ssize_t m = PyLong_AsSsize_t(arg);
    if (m < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "mark must be a value returned by mark()");
        return NULL;
    }
    return to_python(al_report_findings_since((size_t)m));
}

static PyObject *py_snapshot(PyObject *self, PyObject *unused)
{
    al_json *o = al_json_object();
    al_json_set(o, "tasks", al_pending_task_entries());
    al_json_set(o, "resources", al_open_resource_entries());
    return to_python(o);
}

static char *render(const al_json *findings)
{
    char *buf = NULL;
    size_t len = 0, i;
    FILE *mem = open_memstream(&buf, &len);

    if (mem == NULL)
        return NULL;
    for (i = 0; i < al_json_len(findings); i++)
        al_render_finding(mem, al_json_at(findings, i), -1);
    fclose(mem);
    return buf;
}

static PyObject *py_check(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"mark", "loop", NULL};
    PyObject *mark = Py_None, *loop = Py_None;
    Py_ssize_t m = g_last_mark;
    al_json *found;
    char *text;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OO:check", kwlist, &mark, &loop))
        return NULL;
    if (mark != Py_None && (m = PyLong_AsSsize_t(mark)) < 0)
        return PyErr_Occurred() ? NULL : (PyErr_SetString(PyExc_ValueError, "bad mark"), NULL);
    if (loop != Py_None)
        al_report_pending_tasks(loop, "pending_task", "check");
    found = al_report_findings_since((size_t)m);
    if (al_json_len(found) == 0) {
        al_json_free(found);
        Py_RETURN_NONE;
    }
    text = render(found);
    PyErr_Format(PyExc_AssertionError, "asyncleak: %zu finding%s\n%s", al_json_len(found),
                 al_json_len(found) == 1 ? "" : "s", text ? text : "");
    free(text);
    al_json_free(found);
    return NULL;
}

/* report_text(mark) -> str: the findings since mark, rendered as text. */
static PyObject *py_report_text(PyObject *self, PyObject *arg)
{
    Py_ssize_t m = PyLong_AsSsize_t(arg);
    al_json *found;
    char *text;
    PyObject *r;

    if (m < 0)
        return PyErr_Occurred() ? NULL : (PyErr_SetString(PyExc_ValueError, "bad mark"), NULL);
    found = al_report_findings_since((size_t)m);
    text = render(found);
    al_json_free(found);
    r = PyUnicode_DecodeUTF8(text ? text : "", text ? (Py_ssize_t)strlen(text) : 0, "replace");
    free(text);
    return r;
}

static PyMethodDef methods[] = {
    {"enabled", py_enabled, METH_NOARGS, "True: the asyncleak preload is active in this process."},
    {"findings", py_findings, METH_NOARGS, "Every finding so far, as dicts shaped like the JSON report."},
    {"mark", py_mark, METH_NOARGS, "A position in the findings, for findings_since() and check()."},
    {"findings_since", py_findings_since, METH_O, "The findings added since mark."},
    {"snapshot", py_snapshot, METH_NOARGS, "Pending tasks and open resources right now, with origins."},
    {"check", (PyCFunction)(void (*)(void))py_check, METH_VARARGS | METH_KEYWORDS,
     "check(mark=None, loop=None): raise AssertionError with the text report when anything leaked since mark."},
    {"report_text", py_report_text, METH_O, "report_text(mark) -> the text report of the findings since mark."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "asyncleak",
    "asyncleak's in-process API (provided by the preloaded library).", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* Submodules (asyncleak.pytest) come from the pure-Python package shipped
 * beside the library: build/../python/asyncleak in the build tree,
 * lib/asyncleak/python/asyncleak when installed. */
static void add_package_path(PyObject *mod)
{
    Dl_info info;
    char dir[4096], cand[4200];
    const char *suffixes[] = {"/../python/asyncleak", "/python/asyncleak"};
    PyObject *path = PyList_New(0);
    char *slash;
    size_t i;

    if (path == NULL || dladdr((void *)add_package_path, &info) == 0 || info.dli_fname == NULL)
        goto out;
    snprintf(dir, sizeof dir, "%s", info.dli_fname);
    if ((slash = strrchr(dir, '/')) == NULL)
        goto out;
    *slash = '\0';
    for (i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char *real;
        snprintf(cand, sizeof cand, "%s%s/pytest.py", dir, suffixes[i]);
        if ((real = realpath(cand, NULL)) == NULL)
            continue;
        *strrchr(real, '/') = '\0';
        PyObject *s = PyUnicode_DecodeFSDefault(real);
        free(real);
        if (s != NULL) {
            PyList_Append(path, s);
            Py_DECREF(s);
        }
        break;
    }
    PyModule_AddObject(mod, "__path__", path);  /* steals path */
    path = NULL;
out:
    Py_XDECREF(path);
    if (PyErr_Occurred())
        PyErr_Clear();
}

int al_pymodule_install(void)
{
    PyObject *modules = PyImport_GetModuleDict();   /* borrowed */
    PyObject *mod;
    int rc;

    if (modules == NULL || PyDict_GetItemString(modules, "asyncleak") != NULL)
        return 0;
    mod = PyModule_Create(&module_def);
    if (mod == NULL) {
        PyErr_Clear();
        return -1;
    }
    PyModule_AddStringConstant(mod, "__version__", AL_VERSION);
    PyModule_AddStringConstant(mod, "__file__", "<asyncleak preload>");
    add_package_path(mod);
    rc = PyDict_SetItemString(modules, "asyncleak", mod);
    Py_DECREF(mod);
    if (rc < 0)
        PyErr_Clear();
    return rc;
}
