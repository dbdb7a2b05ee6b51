/* test_render_native.c - unit tests of how common/render_text.c shows native
 * and hybrid origin stacks (native=1) in each native_text mode: exact text,
 * folding, and what a hybrid list never shows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json_fixtures.h"
#include "render_text.h"

#define ASYNCIO "/usr/lib/python3.11/asyncio/"
#define EXT "/ext/alnative.cpython-311-x86_64-linux-gnu.so"
#define LOOP_SO "/usr/lib/python3/dist-packages/uvloop/loop.cpython-311-x86_64-linux-gnu.so"
#define ASYNCIO_SO "/usr/lib/python3.11/lib-dynload/_asyncio.cpython-311-x86_64-linux-gnu.so"

/* A native frame; symbol, object and file may be NULL (line then unused). */
static al_json *nat(const char *ip, const char *symbol, const char *object, const char *file, int line)
{
    al_json *f = al_json_object();
    al_json_set_str(f, "ip", ip);
    if (symbol)
        al_json_set_str(f, "symbol", symbol);
    else
        al_json_set(f, "symbol", al_json_null());
    if (object)
        al_json_set_str(f, "object", object);
    else
        al_json_set(f, "object", al_json_null());
    if (file) {
        al_json_set_str(f, "file", file);
        al_json_set_int(f, "line", line);
    }
    return f;
}

static al_json *list(al_json *first, ...)
{
    al_json *a = al_json_array();
    va_list ap;
    va_start(ap, first);
    for (al_json *f = first; f; f = va_arg(ap, al_json *))
        al_json_append(a, f);
    va_end(ap);
    return a;
}

/* A pending_task finding named "t" whose origin is {frames, native, hybrid}
 * (each may be NULL). */
static al_json *finding(al_json *frames, al_json *native, al_json *hybrid)
{
    al_json *f = al_json_object(), *t = al_json_object(), *origin = al_json_object();
    al_json_set_str(f, "kind", "pending_task");
    al_json_set_str(f, "when", "loop_close");
    al_json_set_str(t, "name", "t");
    al_json_set_str(t, "coro", "forever");
    al_json_set_str(t, "state", "pending");
    al_json_set(f, "task", t);
    if (frames)
        al_json_set(origin, "frames", frames);
    if (native)
        al_json_set(origin, "native", native);
    if (hybrid)
        al_json_set(origin, "hybrid", hybrid);
    al_json_set(f, "origin", origin);
    return f;
}

/* Renders f (then frees it) in mode; returns the text (caller frees). */
static char *render(al_json *f, int mode)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    al_render_set_native_text(mode);
    assert_int_equal(al_render_finding(out, f, 9), 0);
    al_render_set_native_text(AL_NATIVE_TEXT_HYBRID);
    fclose(out);
    al_json_free(f);
    return buf;
}

#define HEAD "==9== asyncleak: pending_task: task 't' (coroutine forever) was still pending when its event loop closed\n"
#define TAIL "==9==\n"

/* The C-extension case: <module> -> loop -> main -> the C function. */
static al_json *ext_finding(void)
{
    return finding(
        list(frame("/app/prog.py", 19, "<module>"), frame(ASYNCIO "base_events.py", 640, "run_until_complete"),
             frame("/app/prog.py", 13, "main"), NULL),
        list(nat("0x401000", "_start", "/usr/bin/python3.11", NULL, 0),
             nat("0x402000", "_PyEval_EvalFrameDefault", "/usr/bin/python3.11", NULL, 0),
             nat("0x7f0001", "spawn_from_c", EXT, "/src/alnative.c", 20), NULL),
        list(frame("/app/prog.py", 19, "<module>"), frame(ASYNCIO "base_events.py", 640, "run_until_complete"),
             nat("0x7f1001", "task_step", ASYNCIO_SO, "./Modules/_asynciomodule.c", 3127),
             frame("/app/prog.py", 13, "main"),
             nat("0x7f0001", "spawn_from_c", EXT, "/src/alnative.c", 20), NULL));
}

static void test_hybrid_is_the_default(void **state)
{
    char *s = render(ext_finding(), AL_NATIVE_TEXT_HYBRID);
    assert_string_equal(s,
        HEAD
        "==9==   Created at (most recent call last):\n"
        "==9==     File \"/app/prog.py\", line 19, in <module>\n"
        "==9==     [2 asyncio frames]\n"
        "==9==     File \"/app/prog.py\", line 13, in main\n"
        "==9==     [native] spawn_from_c (" EXT ") /src/alnative.c:20\n"
        TAIL);
    free(s);
}

static void test_separate_lists_everything(void **state)
{
    char *s = render(ext_finding(), AL_NATIVE_TEXT_SEPARATE);
    assert_string_equal(s,
        HEAD
        "==9==   Created at (most recent call last):\n"
        "==9==     File \"/app/prog.py\", line 19, in <module>\n"
        "==9==     [1 asyncio frame]\n"
        "==9==     File \"/app/prog.py\", line 13, in main\n"
        "==9==   Native (most recent call last):\n"
        "==9==     0x401000  _start  (/usr/bin/python3.11)\n"
        "==9==     0x402000  _PyEval_EvalFrameDefault  (/usr/bin/python3.11)\n"
        "==9==     0x7f0001  spawn_from_c  (" EXT ") at /src/alnative.c:20\n"
        TAIL);
    free(s);
}

static void test_off_shows_python_frames_only(void **state)
{
    char *s = render(ext_finding(), AL_NATIVE_TEXT_OFF);
    assert_string_equal(s,
        HEAD
        "==9==   Created at (most recent call last):\n"
        "==9==     File \"/app/prog.py\", line 19, in <module>\n"
        "==9==     [1 asyncio frame]\n"
        "==9==     File \"/app/prog.py\", line 13, in main\n"
        TAIL);
    free(s);
    /* out-of-range modes act as hybrid */
    s = render(ext_finding(), 42);
    assert_non_null(strstr(s, "[native] spawn_from_c"));
    assert_null(strstr(s, "Native (most recent call last)"));
    free(s);
}

/* Without "hybrid" (an older report), hybrid mode shows the separate lists. */
static void test_hybrid_mode_without_hybrid_list(void **state)
{
    char *s = render(finding(list(frame("/app/prog.py", 13, "main"), NULL),
                             list(nat("0x7f0001", "spawn_from_c", EXT, NULL, 0), NULL), NULL),
                     AL_NATIVE_TEXT_HYBRID);
    assert_string_equal(s,
        HEAD
        "==9==   Created at (most recent call last):\n"
        "==9==     File \"/app/prog.py\", line 13, in main\n"
        "==9==   Native (most recent call last):\n"
        "==9==     0x7f0001  spawn_from_c  (" EXT ")\n"
        TAIL);
    free(s);
    /* an empty hybrid list too */
    s = render(finding(list(frame("/app/prog.py", 13, "main"), NULL),
                       list(nat("0x7f0001", "spawn_from_c", EXT, NULL, 0), NULL), al_json_array()),
               AL_NATIVE_TEXT_HYBRID);
    assert_non_null(strstr(s, "Native (most recent call last):"));
    free(s);
}

/* Eval-loop frames never show; unknown symbols show their ip, and a run
 * of them in one object is one line; unknown objects are left out; a
 * native frame can be the innermost entry and is never folded. */
static void test_hybrid_details(void **state)
{
    al_json *h = list(
        nat("0x10", "main", "/opt/app/embed", "/src/embed.c", 40),
        nat("0x20", "_PyEval_EvalFrameDefault", "/usr/lib/libpython3.12.so.1.0", NULL, 0),
        frame("/app/prog.py", 16, "<module>"),
        nat("0x30", NULL, LOOP_SO, NULL, 0),
        nat("0x31", NULL, LOOP_SO, NULL, 0),
        nat("0x32", NULL, LOOP_SO, NULL, 0),
        nat("0x40", "uv_run", "/lib/x86_64-linux-gnu/libuv.so.1", NULL, 0),
        nat("0x41", NULL, "/lib/x86_64-linux-gnu/libuv.so.1", NULL, 0),
        nat("0x50", NULL, NULL, NULL, 0),
        frame("/app/prog.py", 11, "main"),
        nat("0x60", NULL, ASYNCIO_SO, NULL, 0), NULL);
    char *s = render(finding(list(frame("/app/prog.py", 11, "main"), NULL), NULL, h), AL_NATIVE_TEXT_HYBRID);
    assert_string_equal(s,
        HEAD
        "==9==   Created at (most recent call last):\n"
        "==9==     [native] main (/opt/app/embed) /src/embed.c:40\n"
        "==9==     File \"/app/prog.py\", line 16, in <module>\n"
        "==9==     [native] 3 frames without symbols (" LOOP_SO ")\n"
        "==9==     [native] uv_run (/lib/x86_64-linux-gnu/libuv.so.1)\n"
        "==9==     [native] 0x41 (/lib/x86_64-linux-gnu/libuv.so.1)\n"
        "==9==     [native] 0x50\n"
        "==9==     File \"/app/prog.py\", line 11, in main\n"
        "==9==     [native] 0x60 (" ASYNCIO_SO ")\n"
        TAIL);
    free(s);
}

/* Truncation notes; control characters in native fields are escaped. */
static void test_hybrid_truncated_and_escaped(void **state)
{
    al_json *f = finding(list(frame("/app/prog.py", 13, "main"), NULL), NULL,
                         list(frame("/app/prog.py", 13, "main"),
                              nat("0x7f0001", "evil\x1b[2J", "/x/\x07.so", "/src/a\nb.c", 3), NULL));
    al_json *origin = (al_json *)al_json_get(f, "origin");
    al_json_set(origin, "truncated", al_json_bool(1));
    al_json_set(origin, "native_truncated", al_json_bool(1));
    char *s = render(f, AL_NATIVE_TEXT_HYBRID);
    assert_string_equal(s,
        HEAD
        "==9==   Created at (most recent call last):\n"
        "==9==     [older Python frames cut at stack_depth]\n"
        "==9==     [older native frames cut]\n"
        "==9==     File \"/app/prog.py\", line 13, in main\n"
        "==9==     [native] evil\\x1b[2J (/x/\\x07.so) /src/a\\x0ab.c:3\n"
        TAIL);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hybrid_is_the_default),
        cmocka_unit_test(test_separate_lists_everything),
        cmocka_unit_test(test_off_shows_python_frames_only),
        cmocka_unit_test(test_hybrid_mode_without_hybrid_list),
        cmocka_unit_test(test_hybrid_details),
        cmocka_unit_test(test_hybrid_truncated_and_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
