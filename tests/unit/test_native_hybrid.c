// links: preload/native.c
/* test_native_hybrid.c - unit tests of preload/native.c: the hybrid merge of
 * native and Python frames (a pure function of resolved frames), the
 * interning of address lists, and resolution/capture inside this binary.
 *
 * The native lists below are shaped after real captures (docs/native.md):
 * 3.8 (one _PyEval_EvalFrameDefault per Python frame), 3.12 (inlined
 * Python calls), Debian's python3 (interpreter in the executable, static
 * functions without names), uvloop and a C extension spawning a task. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "native.h"

/* native.c reports through report.c's al_diag; count the lines here. */
static int g_diags;
void al_diag(const char *fmt, ...)
{
    g_diags++;
    (void)fmt;
}

#define LIBPY "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0"
#define PYEXE "/root/.pyenv/versions/3.12.1/bin/python3.12"
#define DEBPY "/usr/bin/python3.11"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define ASYNCIO_SO "/usr/lib/python3.11/lib-dynload/_asyncio.cpython-311-x86_64-linux-gnu.so"
#define UVLOOP_SO "/usr/lib/python3/dist-packages/uvloop/loop.cpython-311-x86_64-linux-gnu.so"
#define EXT_SO "/tmp/x/alnative.cpython-312-x86_64-linux-gnu.so"
#define EVAL "_PyEval_EvalFrameDefault"
#define ASY "/usr/lib/python3.12/asyncio/"

/* ---- building inputs ---- */

static unsigned g_ip = 0x1000;

static void nat(al_json *list, const char *sym, const char *obj)
{
    al_json *f = al_json_object();
    char ip[32];

    snprintf(ip, sizeof ip, "0x%x", g_ip++);
    al_json_set_str(f, "ip", ip);
    al_json_set(f, "symbol", al_json_string(sym));
    al_json_set(f, "object", al_json_string(obj));
    al_json_append(list, f);
}

static al_json *pyf(const char *file, int line, const char *function)
{
    al_json *f = al_json_object();
    al_json_set_str(f, "file", file);
    al_json_set_int(f, "line", line);
    al_json_set_str(f, "function", function);
    return f;
}

static void py(al_json *list, const char *file, int line, const char *function)
{
    al_json_append(list, pyf(file, line, function));
}

/* "name" of each merged entry: symbol (native, "?" when null) or
 * function (Python, prefixed "py:"), joined by spaces. */
static char *names(const al_json *merged)
{
    static char buf[4096];
    size_t i, len = 0;

    buf[0] = '\0';
    for (i = 0; i < al_json_len(merged); i++) {
        const al_json *f = al_json_at(merged, i);
        const char *s;
        if (al_json_get(f, "ip") != NULL) {
            s = al_json_get_str(f, "symbol");
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", s ? s : "?");
        } else {
            s = al_json_get_str(f, "function");
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%spy:%s", i ? " " : "", s ? s : "?");
        }
        if (len >= sizeof buf)
            break;
    }
    return buf;
}

static void expect_merge(const al_json *native, const al_json *python, int truncated, const char *expected)
{
    al_json *m = al_native_merge_hybrid(native, python, truncated);
    assert_non_null(m);
    assert_int_equal(m->type, AL_JSON_ARRAY);
    assert_string_equal(names(m), expected);
    al_json_free(m);
}

/* Python frames of `asyncio.run`-less code on the default loop:
 * loop.run_until_complete(main()) in <module>, main() spawning. */
static void default_loop_frames(al_json *p, const char *dir)
{
    char f[256];
    py(p, "/app/prog.py", 13, "<module>");
    snprintf(f, sizeof f, "%sbase_events.py", dir);
    py(p, f, 671, "BaseEventLoop.run_until_complete");
    py(p, f, 638, "BaseEventLoop.run_forever");
    py(p, f, 1971, "BaseEventLoop._run_once");
    snprintf(f, sizeof f, "%sevents.py", dir);
    py(p, f, 84, "Handle._run");
}

/* ---- the merge ---- */

/* 3.8: every Python frame has its own _PyEval_EvalFrameDefault; P == E. */
static void test_exact_one_eval_per_frame(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();
    const char *lp = "/root/.pyenv/versions/3.8.18/lib/libpython3.8.so.1.0";
    const char *ay = "/root/.pyenv/versions/3.8.18/lib/python3.8/asyncio/";
    char f[256];

    nat(n, "_start", "/root/.pyenv/versions/3.8.18/bin/python3.8");
    nat(n, "__libc_start_main", LIBC);
    nat(n, "__libc_start_call_main", LIBC);
    nat(n, "Py_BytesMain", lp);
    nat(n, "Py_RunMain", lp);
    nat(n, "run_mod", lp);
    nat(n, "PyEval_EvalCode", lp);
    nat(n, "_PyEval_EvalCodeWithName", lp);
    nat(n, EVAL, lp);                       /* <module> */
    nat(n, "call_function", lp);
    nat(n, "function_code_fastcall", lp);
    nat(n, EVAL, lp);                       /* run_until_complete */
    nat(n, "function_code_fastcall", lp);
    nat(n, EVAL, lp);                       /* run_forever */
    nat(n, "function_code_fastcall", lp);
    nat(n, EVAL, lp);                       /* _run_once */
    nat(n, "function_code_fastcall", lp);
    nat(n, EVAL, lp);                       /* _run */
    nat(n, "cfunction_vectorcall_FASTCALL_KEYWORDS", lp);
    nat(n, "context_run", lp);
    nat(n, "_PyObject_MakeTpCall", lp);
    nat(n, "TaskStepMethWrapper_call", "/root/.pyenv/versions/3.8.18/lib/python3.8/lib-dynload/_asyncio.cpython-38-x86_64-linux-gnu.so");
    nat(n, "task_step_impl", "/root/.pyenv/versions/3.8.18/lib/python3.8/lib-dynload/_asyncio.cpython-38-x86_64-linux-gnu.so");
    nat(n, "gen_send_ex", lp);
    nat(n, EVAL, lp);                       /* main */
    nat(n, "function_code_fastcall", lp);
    nat(n, EVAL, lp);                       /* helper */
    nat(n, "_PyFunction_Vectorcall", lp);
    nat(n, EVAL, lp);                       /* ensure_future */
    nat(n, "_PyObject_MakeTpCall", lp);
    nat(n, "type_call", lp);

    py(p, "/app/prog.py", 13, "<module>");
    snprintf(f, sizeof f, "%sbase_events.py", ay);
    py(p, f, 603, "run_until_complete");
    py(p, f, 570, "run_forever");
    py(p, f, 1859, "_run_once");
    snprintf(f, sizeof f, "%sevents.py", ay);
    py(p, f, 81, "_run");
    py(p, "/app/prog.py", 9, "main");
    py(p, "/app/prog.py", 5, "helper");
    snprintf(f, sizeof f, "%stasks.py", ay);
    py(p, f, 660, "ensure_future");

    /* start-up frames go (python3's main() tail-calls Py_BytesMain),
     * ensure_future is trimmed like in "frames" */
    expect_merge(n, p, 0, "py:<module> py:run_until_complete py:run_forever py:_run_once py:_run "
                          "TaskStepMethWrapper_call task_step_impl py:main py:helper");
    al_json_free(n);
    al_json_free(p);
}

/* 3.12: Python-to-Python calls run inside one _PyEval_EvalFrameDefault;
 * the boundary goes after Handle._run (the loop's task step is between). */
static void test_inlined_calls_split_after_handle_run(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();
    const char *aso = "/root/.pyenv/versions/3.12.1/lib/python3.12/lib-dynload/_asyncio.cpython-312-x86_64-linux-gnu.so";

    nat(n, "_start", PYEXE);
    nat(n, "__libc_start_main", LIBC);
    nat(n, "__libc_start_call_main", LIBC);
    nat(n, "Py_BytesMain", LIBPY);
    nat(n, "pymain_run_python.constprop.0", LIBPY);
    nat(n, "PyEval_EvalCode", LIBPY);
    nat(n, EVAL, LIBPY);
    nat(n, "cfunction_vectorcall_FASTCALL_KEYWORDS", LIBPY);
    nat(n, "context_run", LIBPY);
    nat(n, "_PyObject_MakeTpCall", LIBPY);
    nat(n, "task_step", aso);
    nat(n, "task_step_impl", aso);
    nat(n, "PyGen_am_send", LIBPY);
    nat(n, EVAL, LIBPY);
    nat(n, "_PyObject_MakeTpCall", LIBPY);
    nat(n, "type_call", LIBPY);

    default_loop_frames(p, ASY);
    py(p, "/app/prog.py", 9, "main");
    py(p, "/app/prog.py", 5, "helper");
    py(p, ASY "tasks.py", 689, "ensure_future");
    py(p, ASY "tasks.py", 710, "_ensure_future");
    py(p, ASY "base_events.py", 437, "BaseEventLoop.create_task");

    expect_merge(n, p, 0, "py:<module> py:BaseEventLoop.run_until_complete py:BaseEventLoop.run_forever "
                          "py:BaseEventLoop._run_once py:Handle._run task_step task_step_impl py:main py:helper");
    al_json_free(n);
    al_json_free(p);
}

/* A C extension calls asyncio.ensure_future: the extension's function sits
 * between the coroutine that called it and the spawn machinery, and ends the
 * hybrid stack (the machinery is trimmed). */
static void test_c_extension_spawn(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();

    nat(n, "__libc_start_call_main", LIBC);
    nat(n, NULL, DEBPY);                    /* main, stripped: no name */
    nat(n, "Py_RunMain", DEBPY);
    nat(n, NULL, DEBPY);
    nat(n, "PyEval_EvalCode", DEBPY);
    nat(n, EVAL, DEBPY);
    nat(n, NULL, DEBPY);
    nat(n, "_PyObject_MakeTpCall", DEBPY);
    nat(n, NULL, ASYNCIO_SO);
    nat(n, NULL, ASYNCIO_SO);
    nat(n, "PyIter_Send", DEBPY);
    nat(n, EVAL, DEBPY);
    nat(n, NULL, DEBPY);
    nat(n, "spawn_from_c", EXT_SO);
    nat(n, "PyObject_CallMethod", DEBPY);
    nat(n, NULL, DEBPY);
    nat(n, EVAL, DEBPY);
    nat(n, "_PyObject_MakeTpCall", DEBPY);
    nat(n, NULL, DEBPY);

    default_loop_frames(p, ASY);
    py(p, "/app/prog.py", 9, "main");
    py(p, ASY "tasks.py", 649, "ensure_future");
    py(p, ASY "tasks.py", 670, "_ensure_future");
    py(p, ASY "base_events.py", 436, "BaseEventLoop.create_task");

    expect_merge(n, p, 0, "py:<module> py:BaseEventLoop.run_until_complete "
                          "py:BaseEventLoop.run_forever py:BaseEventLoop._run_once py:Handle._run ? ? "
                          "py:main spawn_from_c");
    al_json_free(n);
    al_json_free(p);
}

/* uvloop: run_until_complete is Cython (no Python frame), the task's
 * coroutine starts the inner run, uvloop's create_task is trimmed at the end. */
static void test_uvloop(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();

    nat(n, "Py_BytesMain", DEBPY);
    nat(n, "PyEval_EvalCode", DEBPY);
    nat(n, EVAL, DEBPY);
    nat(n, "PyObject_Vectorcall", DEBPY);
    nat(n, NULL, UVLOOP_SO);
    nat(n, "uv_run", "/usr/lib/x86_64-linux-gnu/libuv.so.1");
    nat(n, NULL, UVLOOP_SO);
    nat(n, NULL, ASYNCIO_SO);
    nat(n, "PyIter_Send", DEBPY);
    nat(n, EVAL, DEBPY);
    nat(n, "PyObject_Vectorcall", DEBPY);
    nat(n, NULL, UVLOOP_SO);
    nat(n, NULL, UVLOOP_SO);
    nat(n, NULL, DEBPY);

    py(p, "/app/uv.py", 8, "<module>");
    py(p, "/app/uv.py", 5, "main");
    py(p, ASY "tasks.py", 649, "ensure_future");
    py(p, ASY "tasks.py", 670, "_ensure_future");
    expect_merge(n, p, 0, "py:<module> ? uv_run ? ? py:main");
    al_json_free(p);

    /* asyncio.run(main()) with uvloop.install(): the runner's frames stay outside */
    p = al_json_array();
    py(p, "/app/uv.py", 8, "<module>");
    py(p, ASY "runners.py", 190, "run");
    py(p, ASY "runners.py", 118, "Runner.run");
    py(p, "/app/uv.py", 5, "main");
    expect_merge(n, p, 0, "py:<module> py:run py:Runner.run ? uv_run ? ? py:main");
    al_json_free(n);
    al_json_free(p);
}

/* Embedding program: main() and its helpers are kept, the stack starts at main. */
static void test_embedding_main_first(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();

    nat(n, "_start", "/tmp/x/embed");
    nat(n, "__libc_start_main", LIBC);
    nat(n, "__libc_start_call_main", LIBC);
    nat(n, "main", "/tmp/x/embed");
    nat(n, "run_file", "/tmp/x/embed");
    nat(n, "PyRun_SimpleFileExFlags", LIBPY);
    nat(n, "run_mod", LIBPY);
    nat(n, EVAL, LIBPY);
    nat(n, "type_call", LIBPY);
    py(p, "/app/emb.py", 8, "<module>");
    py(p, "/app/emb.py", 3, "spawn");
    expect_merge(n, p, 0, "main run_file py:<module> py:spawn");
    al_json_free(n);
    al_json_free(p);
}

/* The Python stack was cut at stack_depth: aligned innermost first. */
static void test_python_stack_shorter(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();

    nat(n, "main", "/tmp/x/embed");
    nat(n, EVAL, LIBPY);
    nat(n, "ext_outer", EXT_SO);
    nat(n, EVAL, LIBPY);
    nat(n, "function_code_fastcall", LIBPY);
    nat(n, EVAL, LIBPY);
    nat(n, "ext_inner", EXT_SO);
    py(p, "/app/a.py", 2, "f");
    py(p, "/app/a.py", 3, "g");
    expect_merge(n, p, 0, "main ext_outer py:f py:g ext_inner");
    al_json_free(n);
    al_json_free(p);
}

/* The native stack lost its outermost part: inner runs one frame per
 * eval frame, the rest to the outermost run. */
static void test_native_truncated(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();

    nat(n, EVAL, LIBPY);
    nat(n, "ext_outer", EXT_SO);
    nat(n, EVAL, LIBPY);
    nat(n, "ext_inner", EXT_SO);
    py(p, "/app/a.py", 1, "a");
    py(p, "/app/a.py", 2, "b");
    py(p, "/app/a.py", 3, "c");
    py(p, "/app/a.py", 4, "d");
    expect_merge(n, p, 1, "py:a py:b py:c ext_outer py:d ext_inner");
    al_json_free(n);
    al_json_free(p);
}

/* No eval frame recognized: the Python frames are appended. */
static void test_no_eval_frames(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();

    nat(n, "main", "/tmp/x/prog");
    nat(n, NULL, NULL);
    nat(n, "PyObject_Call", NULL);          /* CPython API without object: dropped */
    py(p, "/app/a.py", 1, "a");
    expect_merge(n, p, 0, "main ? py:a");
    al_json_free(n);
    al_json_free(p);
}

/* A frame marked "entry": true fixes the boundary. */
static void test_entry_marker(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array(), *f;

    nat(n, "main", "/tmp/x/embed");
    nat(n, EVAL, LIBPY);
    nat(n, "ext_call", EXT_SO);
    nat(n, EVAL, LIBPY);
    py(p, "/app/a.py", 1, "a");
    py(p, "/app/a.py", 2, "b");
    f = pyf("/app/a.py", 3, "callback");
    al_json_set(f, "entry", al_json_bool(1));
    al_json_append(p, f);
    py(p, "/app/a.py", 4, "d");
    expect_merge(n, p, 0, "main py:a py:b ext_call py:callback py:d");
    /* without the marker, a C extension boundary with no asyncio frames
     * falls back to one frame for the outer run */
    al_json_set(f, "entry", al_json_bool(0));
    expect_merge(n, p, 0, "main py:a ext_call py:b py:callback py:d");
    al_json_free(n);
    al_json_free(p);
}

/* Debian's python3: the interpreter is the executable; its nameless static
 * functions are dropped too, and main() is kept even there. */
static void test_interpreter_in_executable(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array();

    nat(n, "main", DEBPY);
    nat(n, NULL, DEBPY);
    nat(n, EVAL, DEBPY);
    nat(n, NULL, DEBPY);
    nat(n, "ext_fn", EXT_SO);
    nat(n, NULL, DEBPY);
    py(p, "/app/a.py", 1, "<module>");
    expect_merge(n, p, 0, "main py:<module> ext_fn");
    al_json_free(n);
    al_json_free(p);
}

/* A stack object with "frames" is accepted for the Python frames; bad or
 * missing inputs give an empty (or Python-only) list, never a crash. */
static void test_odd_inputs(void **state)
{
    al_json *n = al_json_array(), *p = al_json_array(), *stack = al_json_object(), *m;
    al_json *str = al_json_string("x");

    nat(n, "main", "/tmp/x/embed");
    nat(n, EVAL, LIBPY);
    py(p, "/app/a.py", 1, "<module>");
    al_json_set(stack, "frames", al_json_copy(p));
    expect_merge(n, stack, 0, "main py:<module>");
    expect_merge(n, NULL, 0, "main");
    expect_merge(NULL, p, 0, "py:<module>");
    expect_merge(NULL, NULL, 0, "");
    expect_merge(stack, p, 0, "py:<module>");        /* not an array: no native frames */
    m = al_native_merge_hybrid(n, str, 0);
    assert_non_null(m);
    assert_string_equal(names(m), "main");
    al_json_free(m);
    /* only asyncio frames: all trimmed */
    al_json_free(p);
    p = al_json_array();
    py(p, ASY "tasks.py", 1, "ensure_future");
    expect_merge(NULL, p, 0, "");
    al_json_free(n);
    al_json_free(p);
    al_json_free(stack);
    al_json_free(str);
}

/* ---- interning ---- */

static int reset(void **state)
{
    al_native_reset();
    return 0;
}

static void test_intern(void **state)
{
    uintptr_t a[] = {0x1001, 0x2002, 0x3003}, b[] = {0x1001, 0x2002, 0x3004};
    uint32_t ia, ib;

    assert_int_equal(al_native_intern(a, 0, 0), 0);
    assert_int_equal(al_native_intern(NULL, 3, 0), 0);
    ia = al_native_intern(a, 3, 0);
    assert_int_equal(ia, 1);
    assert_int_equal(al_native_intern(a, 3, 0), ia);
    ib = al_native_intern(b, 3, 0);
    assert_int_equal(ib, 2);
    assert_int_equal(al_native_intern(a, 3, 0), ia);
    assert_int_equal(al_native_intern(a, 3, 1), 3);          /* truncated is part of identity */
    assert_int_equal(al_native_intern(a, 2, 0), 4);
    assert_int_equal(al_native_count(), 4);
}

static void test_intern_many(void **state)
{
    uintptr_t ips[4];
    uint32_t i;

    for (i = 0; i < 5000; i++) {
        ips[0] = 0x400000 + i;
        ips[1] = 0x500000 + i % 7;
        ips[2] = 0x600000;
        ips[3] = i * 16;
        assert_int_equal(al_native_intern(ips, 4, 0), i + 1);
    }
    for (i = 0; i < 5000; i += 97) {
        ips[0] = 0x400000 + i;
        ips[1] = 0x500000 + i % 7;
        ips[2] = 0x600000;
        ips[3] = i * 16;
        assert_int_equal(al_native_intern(ips, 4, 0), i + 1);
    }
    assert_int_equal(al_native_count(), 5000);
}

/* ---- resolution and capture in this binary ---- */

__attribute__((noinline)) static int local_marker_function(int x)
{
    return x * 3 + 1;
}

static const char *self_exe(void)
{
    static char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void test_resolve_static_function(void **state)
{
    /* a "return address" one past the function's entry resolves to it */
    /* libc's abort as the process sees it (dlsym: never a PLT stub) */
    uintptr_t ips[] = {(uintptr_t)local_marker_function + 1, (uintptr_t)dlsym(RTLD_DEFAULT, "abort") + 1};
    uint32_t id = al_native_intern(ips, 2, 0);
    al_json *r = al_native_resolve(id, 0, NULL), *native, *f;
    char hex[32];
    const char *file;

    assert_int_equal(local_marker_function(1), 4);
    assert_non_null(r);
    native = al_json_get(r, "native");
    assert_int_equal(al_json_len(native), 2);
    assert_null(al_json_get(r, "hybrid"));
    assert_null(al_json_get(r, "native_truncated"));
    /* outermost first: strlen's frame (ips[1]) comes first */
    f = al_json_at(native, 1);
    snprintf(hex, sizeof hex, "0x%lx", (unsigned long)ips[0]);
    assert_string_equal(al_json_get_str(f, "ip"), hex);
    /* static: not in .dynsym, found in the executable's .symtab */
    assert_string_equal(al_json_get_str(f, "symbol"), "local_marker_function");
    assert_string_equal(al_json_get_str(f, "object"), self_exe());
    file = al_json_get_str(f, "file");        /* only with libdw.so.1 */
    if (file != NULL) {
        assert_non_null(strstr(file, "test_native_hybrid.c"));
        assert_true(al_json_get_int(f, "line", 0) > 0);
    }
    f = al_json_at(native, 0);
    assert_string_equal(al_json_get_str(f, "symbol"), "abort");
    assert_non_null(strstr(al_json_get_str(f, "object"), "libc.so"));
    al_json_free(r);

    /* cached: the same answer again, also with hybrid */
    r = al_native_resolve(id, 1, NULL);
    assert_string_equal(al_json_get_str(al_json_at(al_json_get(r, "native"), 1), "symbol"), "local_marker_function");
    assert_non_null(al_json_get(r, "hybrid"));
    al_json_free(r);

    /* id 0 and unknown ids: an empty list */
    r = al_native_resolve(0, 1, NULL);
    assert_int_equal(al_json_len(al_json_get(r, "native")), 0);
    assert_null(al_json_get(r, "hybrid"));
    al_json_free(r);
    r = al_native_resolve(999, 0, NULL);
    assert_int_equal(al_json_len(al_json_get(r, "native")), 0);
    al_json_free(r);
}

static void test_resolve_unmapped_address(void **state)
{
    uintptr_t ips[] = {0x10};
    al_json *r = al_native_resolve(al_native_intern(ips, 1, 1), 0, NULL), *f;

    f = al_json_at(al_json_get(r, "native"), 0);
    assert_string_equal(al_json_get_str(f, "ip"), "0x10");
    assert_non_null(al_json_get(f, "symbol"));
    assert_int_equal(al_json_get(f, "symbol")->type, AL_JSON_NULL);
    assert_int_equal(al_json_get(f, "object")->type, AL_JSON_NULL);
    assert_true(al_json_get(r, "native_truncated")->u.boolean);
    al_json_free(r);
}

static void test_add_to_stack(void **state)
{
    uintptr_t ips[] = {(uintptr_t)local_marker_function + 1};
    al_json *stack = al_json_object();

    al_json_set(stack, "frames", al_json_array());
    assert_int_equal(al_native_add_to_stack(stack, 0, 1, NULL), 0);
    assert_null(al_json_get(stack, "native"));
    assert_int_equal(al_native_add_to_stack(stack, al_native_intern(ips, 1, 0), 1, stack), 0);
    assert_int_equal(al_json_len(al_json_get(stack, "native")), 1);
    assert_non_null(al_json_get(stack, "hybrid"));
    assert_string_equal(stack->u.object.keys[0], "frames");
    assert_string_equal(stack->u.object.keys[1], "native");
    al_json_free(stack);
}

__attribute__((noinline)) static uint32_t capture_here(void)
{
    uint32_t id = al_native_capture();
    __asm__ volatile("" ::: "memory");   /* not a tail call */
    return id;
}

/* native.c is linked into this executable, so every frame of it counts as
 * "our own" and is dropped: what is left is libcmocka and libc. */
static void test_capture_drops_own_frames(void **state)
{
    al_json *r, *native;
    size_t i;
    int cmocka = 0;

    if (al_native_init() < 0) {
        assert_int_equal(g_diags, 1);
        skip();
    }
    assert_int_equal(al_native_init(), 0);          /* idempotent */
    assert_true(al_native_available());
    r = al_native_resolve(capture_here(), 1, NULL);
    native = al_json_get(r, "native");
    assert_true(al_json_len(native) > 0);
    for (i = 0; i < al_json_len(native); i++) {
        const char *obj = al_json_get_str(al_json_at(native, i), "object");
        assert_true(obj == NULL || strcmp(obj, self_exe()) != 0);
        assert_true(obj == NULL || strstr(obj, "libunwind") == NULL);
        cmocka |= obj != NULL && strstr(obj, "libcmocka") != NULL;
    }
    assert_true(cmocka);
    assert_int_equal(capture_here(), capture_here());
    al_json_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_one_eval_per_frame),
        cmocka_unit_test(test_inlined_calls_split_after_handle_run),
        cmocka_unit_test(test_c_extension_spawn),
        cmocka_unit_test(test_uvloop),
        cmocka_unit_test(test_embedding_main_first),
        cmocka_unit_test(test_python_stack_shorter),
        cmocka_unit_test(test_native_truncated),
        cmocka_unit_test(test_no_eval_frames),
        cmocka_unit_test(test_entry_marker),
        cmocka_unit_test(test_interpreter_in_executable),
        cmocka_unit_test(test_odd_inputs),
        cmocka_unit_test_setup_teardown(test_intern, reset, reset),
        cmocka_unit_test_setup_teardown(test_intern_many, reset, reset),
        cmocka_unit_test_setup_teardown(test_resolve_static_function, reset, reset),
        cmocka_unit_test_setup_teardown(test_resolve_unmapped_address, reset, reset),
        cmocka_unit_test_setup_teardown(test_add_to_stack, reset, reset),
        cmocka_unit_test_setup_teardown(test_capture_drops_own_frames, reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
