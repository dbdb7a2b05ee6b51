/* test_render_text.c - unit tests of common/render_text.c: exact text of
 * findings and summaries, frame folding, and robustness to malformed input. */
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

static al_json *task(const char *name, const char *coro, const char *state)
{
    al_json *t = al_json_object();
    al_json_set_str(t, "name", name);
    al_json_set_str(t, "coro", coro);
    if (state)
        al_json_set_str(t, "state", state);
    return t;
}

/* Renders finding (then frees it) and returns the text (caller frees). */
static char *render(al_json *finding, long pid)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(al_render_finding(f, finding, pid), 0);
    fclose(f);
    al_json_free(finding);
    return buf;
}

static char *render_summary(al_json *summary, al_json *dropped, long pid)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(al_render_summary(f, summary, dropped, pid), 0);
    fclose(f);
    al_json_free(summary);
    al_json_free(dropped);
    return buf;
}

static void expect(al_json *finding, long pid, const char *want)
{
    char *got = render(finding, pid);
    assert_string_equal(got, want);
    free(got);
}

static al_json *pending_task(void)
{
    al_json *f = al_json_object();
    al_json_set_str(f, "kind", "pending_task");
    al_json_set_str(f, "when", "loop_close");
    al_json *t = task("Task-2", "poll_forever", "pending");
    al_json_set_int(t, "id", 7);
    al_json_set(f, "task", t);
    al_json_set(f, "origin", stack(frame("/abs/app.py", 20, "<module>"),
                                   frame(ASYNCIO "runners.py", 190, "run"),
                                   frame(ASYNCIO "runners.py", 118, "run"),
                                   frame(ASYNCIO "base_events.py", 653, "run_until_complete"),
                                   frame(ASYNCIO "events.py", 84, "_run"),
                                   frame("/abs/app.py", 9, "main"), NULL));
    al_json_set(f, "suspended_at", stack(frame("/abs/app.py", 4, "poll_forever"), NULL));
    al_json_set(f, "created_by", task("Task-1", "main", NULL));
    return f;
}

static void test_pending_task_golden(void **state)
{
    expect(pending_task(), 1234,
        "==1234== asyncleak: pending_task: task 'Task-2' (coroutine poll_forever) was still pending when its event loop closed\n"
        "==1234==   Created at (most recent call last):\n"
        "==1234==     File \"/abs/app.py\", line 20, in <module>\n"
        "==1234==     [4 asyncio frames]\n"
        "==1234==     File \"/abs/app.py\", line 9, in main\n"
        "==1234==   Suspended at (most recent call last):\n"
        "==1234==     File \"/abs/app.py\", line 4, in poll_forever\n"
        "==1234==   Created by task 'Task-1' (coroutine main)\n"
        "==1234==\n");
}

static void test_message_and_pid_prefix(void **state)
{
    al_json *f = pending_task();
    al_json_set_str(f, "message", "is still here");
    al_json_set(f, "origin", al_json_null());
    al_json_set(f, "suspended_at", al_json_null());
    al_json_set(f, "created_by", al_json_null());
    expect(f, -1,
        "==asyncleak== asyncleak: pending_task: task 'Task-2' (coroutine poll_forever) is still here\n"
        "==asyncleak==\n");
}

static void test_default_messages(void **state)
{
    static const struct { const char *kind, *when, *text; } cases[] = {
        { "pending_task", "exit", "was still pending at exit (its event loop was never closed)" },
        { "pending_task", "gc", "was still pending when its event loop closed" },
        { "orphaned_task", "runner_shutdown",
          "was still running when asyncio.run() finished; the runner cancelled it" },
        { "destroyed_pending_task", "gc", "was destroyed while pending" },
        { "unretrieved_exception", "gc", "failed and its exception was never retrieved" },
        { "swallowed_cancel", "loop_close", "swallowed a cancellation and went on running" },
        { "shutdown_hang", "watchdog", "shutdown is stuck waiting for tasks" },
        { "unclosed_resource", "exit", "was never closed (still open at exit)" },
        { "unclosed_resource", "loop_close", "was never closed (still open when its event loop closed)" },
        { "unclosed_resource", "gc", "was never closed (garbage-collected while open)" },
        { "closed_while_in_use", "close", "was closed while tasks still used it" },
        { "signal_exit", "signal", "the process was terminated by a signal while work was in flight" },
        { "brand_new_kind", "dump", "finding" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        al_json *f = al_json_object();
        al_json_set_str(f, "kind", cases[i].kind);
        al_json_set_str(f, "when", cases[i].when);
        char want[256];
        snprintf(want, sizeof want, "==5== asyncleak: %s: %s\n==5==\n", cases[i].kind, cases[i].text);
        expect(f, 5, want);
    }
}

static void test_resource_header(void **state)
{
    al_json *f = al_json_object(), *r = al_json_object();
    al_json_set_str(f, "kind", "unclosed_resource");
    al_json_set_str(f, "when", "exit");
    al_json_set_str(r, "type", "aiohttp.client.ClientSession");
    al_json_set_int(r, "id", 3);
    al_json_set(f, "resource", r);
    al_json_set(f, "origin", stack(frame("/abs/app.py", 12, "main"), NULL));
    al_json_set(f, "closed_at", stack(frame("/abs/app.py", 30, "stop"), NULL));
    expect(f, 9,
        "==9== asyncleak: unclosed_resource: resource aiohttp.client.ClientSession was never closed (still open at exit)\n"
        "==9==   Created at (most recent call last):\n"
        "==9==     File \"/abs/app.py\", line 12, in main\n"
        "==9==   Closed at (most recent call last):\n"
        "==9==     File \"/abs/app.py\", line 30, in stop\n"
        "==9==\n");
}

/* Every optional line and section of a task finding, in the documented order. */
static void test_all_sections(void **state)
{
    al_json *f = al_json_object();
    al_json_set_str(f, "kind", "unretrieved_exception");
    al_json_set_str(f, "when", "gc");
    al_json_set(f, "task", task("worker", "Job.run", "finished"));
    al_json *exc = al_json_object();
    al_json_set_str(exc, "type", "ValueError");
    al_json_set_str(exc, "message", "boom");
    al_json_set(f, "exception", exc);
    al_json_set_str(f, "asyncio_message", "Task exception was never retrieved");
    al_json_set(f, "spawned_during_shutdown", al_json_bool(1));
    al_json *origin = stack(frame("/abs/app.py", 3, "start"), NULL);
    al_json_set(origin, "truncated", al_json_bool(1));
    al_json *native = al_json_array(), *n1 = al_json_object(), *n2 = al_json_object();
    al_json_set_str(n1, "ip", "0x7f00aa");
    al_json_set_str(n1, "symbol", "_PyEval_EvalFrameDefault");
    al_json_set_str(n1, "object", "/usr/lib/libpython3.11.so");
    al_json_set_str(n2, "ip", "0x4011");
    al_json_set_str(n2, "symbol", "spawn");
    al_json_set_str(n2, "object", "/abs/ext.so");
    al_json_set_str(n2, "file", "ext.c");
    al_json_set_int(n2, "line", 42);
    al_json_append(native, n1);
    al_json_append(native, n2);
    al_json_set(origin, "native", native);
    al_json_set(f, "origin", origin);
    al_json_set(f, "suspended_at", stack(frame("/abs/app.py", 5, "run"), NULL));
    al_json *cancel = al_json_object();
    al_json_set_int(cancel, "requested", 3);
    al_json_set(cancel, "origin", stack(frame("/abs/app.py", 8, "stop"), NULL));
    al_json_set_str(cancel, "message", "bye");
    al_json_set(f, "cancel", cancel);
    al_json_set(f, "closed_at", stack(frame("/abs/app.py", 9, "close"), NULL));
    al_json_set(f, "created_by", task("Task-1", "main", NULL));
    expect(f, 77,
        "==77== asyncleak: unretrieved_exception: task 'worker' (coroutine Job.run) failed and its exception was never retrieved\n"
        "==77==   Exception: ValueError: boom\n"
        "==77==   asyncio said: \"Task exception was never retrieved\"\n"
        "==77==   (created during shutdown, after asyncio.run() had collected the tasks to cancel)\n"
        "==77==   Created at (most recent call last):\n"
        "==77==     [older frames cut at stack_depth]\n"
        "==77==     File \"/abs/app.py\", line 3, in start\n"
        "==77==   Native (most recent call last):\n"
        "==77==     0x7f00aa  _PyEval_EvalFrameDefault  (/usr/lib/libpython3.11.so)\n"
        "==77==     0x4011  spawn  (/abs/ext.so) at ext.c:42\n"
        "==77==   Suspended at (most recent call last):\n"
        "==77==     File \"/abs/app.py\", line 5, in run\n"
        "==77==   Cancelled at (3 times) (most recent call last):\n"
        "==77==     File \"/abs/app.py\", line 8, in stop\n"
        "==77==   Closed at (most recent call last):\n"
        "==77==     File \"/abs/app.py\", line 9, in close\n"
        "==77==   Created by task 'Task-1' (coroutine main)\n"
        "==77==\n");
}

static void test_cancel_once_and_bare_exception(void **state)
{
    al_json *f = al_json_object(), *cancel = al_json_object(), *exc = al_json_object();
    al_json_set_str(f, "kind", "swallowed_cancel");
    al_json_set_str(f, "when", "loop_close");
    al_json_set_int(cancel, "requested", 1);
    al_json_set(cancel, "origin", stack(frame("/a.py", 1, "f"), NULL));
    al_json_set(f, "cancel", cancel);
    al_json_set_str(exc, "type", "KeyError");
    al_json_set(f, "exception", exc);
    expect(f, 1,
        "==1== asyncleak: swallowed_cancel: swallowed a cancellation and went on running\n"
        "==1==   Exception: KeyError\n"
        "==1==   Cancelled at (most recent call last):\n"
        "==1==     File \"/a.py\", line 1, in f\n"
        "==1==\n");
}

static void test_task_list(void **state)
{
    al_json *f = al_json_object(), *tasks = al_json_array();
    al_json_set_str(f, "kind", "shutdown_hang");
    al_json_set_str(f, "when", "watchdog");
    al_json_set_str(f, "message", "shutdown waited 5s for 2 tasks");
    al_json *e1 = al_json_object(), *e2 = al_json_object(), *c = al_json_object();
    al_json_set(e1, "task", task("Task-3", "drain", "pending"));
    al_json_set(e1, "origin", stack(frame("/abs/app.py", 10, "main"), NULL));
    al_json_set(e1, "suspended_at", stack(frame("/abs/app.py", 40, "drain"),
                                          frame(ASYNCIO "queues.py", 158, "get"), NULL));
    al_json_set_int(c, "requested", 2);
    al_json_set(c, "origin", stack(frame(ASYNCIO "runners.py", 60, "close"),
                                   frame(ASYNCIO "runners.py", 200, "_cancel_all_tasks"),
                                   frame(ASYNCIO "tasks.py", 1, "x"), NULL));
    al_json_set(e1, "cancel", c);
    al_json_append(tasks, e1);
    al_json_append(tasks, e2);                            /* an entry with nothing in it */
    al_json_append(tasks, al_json_string("junk"));        /* not an object */
    al_json_set(f, "tasks", tasks);
    expect(f, 2,
        "==2== asyncleak: shutdown_hang: shutdown waited 5s for 2 tasks\n"
        "==2==   Task 'Task-3' (coroutine drain), pending:\n"
        "==2==     Created at (most recent call last):\n"
        "==2==       File \"/abs/app.py\", line 10, in main\n"
        "==2==     Suspended at (most recent call last):\n"
        "==2==       File \"/abs/app.py\", line 40, in drain\n"
        "==2==       File \"" ASYNCIO "queues.py\", line 158, in get\n"
        "==2==     Cancelled at (2 times) (most recent call last):\n"
        "==2==       [2 asyncio frames]\n"
        "==2==       File \"" ASYNCIO "tasks.py\", line 1, in x\n"
        "==2==   Task '?' (coroutine ?), ?:\n"
        "==2==   Task '?' (coroutine ?), ?:\n"
        "==2==\n");
}

/* Folding: maximal runs collapse, a run of one says "frame", the innermost
 * frame is never folded, not even when it is asyncio's. */
static void test_folding(void **state)
{
    al_json *f = al_json_object();
    al_json_set_str(f, "kind", "pending_task");
    al_json_set(f, "origin", stack(frame(ASYNCIO "runners.py", 1, "a"),
                                   frame("/abs/app.py", 2, "b"),
                                   frame(ASYNCIO "tasks.py", 3, "c"),
                                   frame("/abs/app.py", 4, "d"),
                                   frame(ASYNCIO "tasks.py", 5, "e"),
                                   frame(ASYNCIO "tasks.py", 6, "f"),
                                   frame(ASYNCIO "base_events.py", 7, "g"), NULL));
    al_json_set(f, "suspended_at", stack(frame(ASYNCIO "tasks.py", 8, "only"), NULL));
    expect(f, 3,
        "==3== asyncleak: pending_task: was still pending when its event loop closed\n"
        "==3==   Created at (most recent call last):\n"
        "==3==     [1 asyncio frame]\n"
        "==3==     File \"/abs/app.py\", line 2, in b\n"
        "==3==     [1 asyncio frame]\n"
        "==3==     File \"/abs/app.py\", line 4, in d\n"
        "==3==     [2 asyncio frames]\n"
        "==3==     File \"" ASYNCIO "base_events.py\", line 7, in g\n"
        "==3==   Suspended at (most recent call last):\n"
        "==3==     File \"" ASYNCIO "tasks.py\", line 8, in only\n"
        "==3==\n");
}

static void test_asyncio_internal(void **state)
{
    assert_true(al_frame_is_asyncio_internal("/usr/lib/python3.11/asyncio/tasks.py"));
    assert_true(al_frame_is_asyncio_internal("/root/.pyenv/versions/3.8.18/lib/python3.8/asyncio/tasks.py"));
    assert_true(al_frame_is_asyncio_internal("/usr/lib/python311.zip/asyncio/events.py"));
    assert_false(al_frame_is_asyncio_internal("/venv/lib/python3.12/site-packages/x/asyncio/a.py"));
    assert_false(al_frame_is_asyncio_internal("/usr/lib/python3/dist-packages/redis/asyncio/client.py"));
    assert_false(al_frame_is_asyncio_internal("asyncio/base_events.py"));
    assert_false(al_frame_is_asyncio_internal("/asyncio/a.py"));
    assert_false(al_frame_is_asyncio_internal(NULL));
    assert_false(al_frame_is_asyncio_internal(""));
    assert_false(al_frame_is_asyncio_internal("tasks.py"));
    assert_false(al_frame_is_asyncio_internal("/usr/lib/python3.11/asyncio.py"));
    assert_false(al_frame_is_asyncio_internal("/usr/lib/python3.11/asyncio/"));
    assert_false(al_frame_is_asyncio_internal("/usr/lib/python3.11/asyncio/.py"));
    assert_false(al_frame_is_asyncio_internal("/usr/lib/python3.11/asyncio/tasks.pyc"));
    assert_false(al_frame_is_asyncio_internal("/x/asyncio/sub/y.py"));
    assert_false(al_frame_is_asyncio_internal("/x/my_asyncio/y.py"));
    assert_false(al_frame_is_asyncio_internal("/x/asyncio_app/y.py"));
    assert_false(al_frame_is_asyncio_internal("/x/aasyncio/y.py"));
    assert_false(al_frame_is_asyncio_internal("<frozen asyncio.tasks>"));
}

static void test_missing_and_wrong_fields(void **state)
{
    expect(NULL, 4, "==4== asyncleak: ?: finding\n==4==\n");
    expect(al_json_object(), 4, "==4== asyncleak: ?: finding\n==4==\n");
    expect(al_json_array(), 4, "==4== asyncleak: ?: finding\n==4==\n");

    al_json *f = al_json_object();
    al_json_set_int(f, "kind", 12);
    al_json_set(f, "task", al_json_object());
    al_json_set_int(f, "message", 3);                     /* not a string: default text */
    al_json_set(f, "exception", al_json_object());
    al_json_set(f, "spawned_during_shutdown", al_json_string("yes"));
    al_json_set(f, "suspended_at", al_json_array());      /* not a stack */
    al_json_set(f, "closed_at", stack(NULL));             /* empty stack: no section */
    al_json *odd = al_json_object(), *frames = al_json_array(), *nat = al_json_array();
    al_json_append(frames, al_json_int(5));               /* not a frame */
    al_json *fr = al_json_object();
    al_json_set_int(fr, "file", 1);
    al_json_set_str(fr, "line", "ten");
    al_json_append(frames, fr);
    al_json_append(frames, al_json_object());
    al_json_append(nat, al_json_null());
    al_json_set(odd, "frames", frames);
    al_json_set(odd, "native", nat);
    al_json_set(odd, "truncated", al_json_int(1));        /* not a bool: ignored */
    al_json_set(f, "origin", odd);
    al_json *cancel = al_json_object();
    al_json_set_str(cancel, "requested", "many");
    al_json_set(cancel, "origin", stack(frame("/a.py", 1, "f"), NULL));
    al_json_set(f, "cancel", cancel);
    al_json_set(f, "created_by", al_json_object());
    al_json_set(f, "tasks", al_json_object());            /* not an array */
    expect(f, 4,
        "==4== asyncleak: 12: task '?' (coroutine ?) finding\n"
        "==4==   Exception: ?\n"
        "==4==   Created at (most recent call last):\n"
        "==4==     File \"?\", line ?, in ?\n"
        "==4==     File \"1\", line ten, in ?\n"      /* scalars of either type print */
        "==4==     File \"?\", line ?, in ?\n"
        "==4==   Native (most recent call last):\n"
        "==4==     ?  ?\n"
        "==4==   Cancelled at (most recent call last):\n"
        "==4==     File \"/a.py\", line 1, in f\n"
        "==4==   Created by task '?' (coroutine ?)\n"
        "==4==\n");

    assert_int_equal(al_render_finding(NULL, NULL, 1), -1);
    assert_int_equal(al_render_summary(NULL, NULL, NULL, 1), -1);
}

static void test_control_chars_escaped(void **state)
{
    al_json *f = al_json_object();
    al_json_set_str(f, "kind", "pending_task");
    al_json_set(f, "task", task("evil\x1b[2J\r\n", "c\x7f", "pending"));
    al_json_set_str(f, "message", "ok\ttab \xC3\xA9");
    al_json_set(f, "origin", stack(frame("/tmp/a\nb.py", 1, "f\x01"), NULL));
    al_json *exc = al_json_object();
    al_json_set_str(exc, "type", "E");
    al_json_set(exc, "message", al_json_string_len("nul\0byte", 8));
    al_json_set(f, "exception", exc);
    expect(f, 6,
        "==6== asyncleak: pending_task: task 'evil\\x1b[2J\\x0d\\x0a' (coroutine c\\x7f) ok\\x09tab \xC3\xA9\n"
        "==6==   Exception: E: nul\\x00byte\n"
        "==6==   Created at (most recent call last):\n"
        "==6==     File \"/tmp/a\\x0ab.py\", line 1, in f\\x01\n"
        "==6==\n");
}

static void test_summary(void **state)
{
    al_json *s = al_json_object();
    al_json_set_int(s, "pending_task", 2);
    al_json_set_int(s, "orphaned_task", 1);
    char *got = render_summary(s, NULL, 1234);
    assert_string_equal(got, "==1234== SUMMARY: asyncleak: 3 findings (2 pending_task, 1 orphaned_task)\n");
    free(got);

    s = al_json_object();
    al_json_set_int(s, "unclosed_resource", 1);
    al_json_set_int(s, "pending_task", 0);                /* zero counts left out */
    al_json_set_str(s, "bogus", "x");
    got = render_summary(s, NULL, -1);
    assert_string_equal(got, "==asyncleak== SUMMARY: asyncleak: 1 finding (1 unclosed_resource)\n");
    free(got);

    got = render_summary(NULL, NULL, 1);
    assert_string_equal(got, "");
    free(got);
    got = render_summary(al_json_object(), al_json_object(), 1);
    assert_string_equal(got, "");
    free(got);
    s = al_json_object();
    al_json_set_int(s, "pending_task", 0);
    got = render_summary(s, NULL, 1);
    assert_string_equal(got, "");
    free(got);
}

static void test_summary_dropped(void **state)
{
    al_json *s = al_json_object(), *d = al_json_object();
    al_json_set_int(s, "pending_task", 100);
    al_json_set_int(s, "unclosed_resource", 28);
    al_json_set_int(d, "pending_task", 40);
    al_json_set_int(d, "unclosed_resource", 2);
    char *got = render_summary(s, d, 8);
    assert_string_equal(got,
        "==8== SUMMARY: asyncleak: 128 findings (100 pending_task, 28 unclosed_resource)\n"
        "==8== (42 more findings were counted but not listed: max_findings reached)\n");
    free(got);

    s = al_json_object();
    d = al_json_object();
    al_json_set_int(s, "pending_task", 1);
    al_json_set_int(d, "pending_task", 1);
    got = render_summary(s, d, 8);
    assert_string_equal(got,
        "==8== SUMMARY: asyncleak: 1 finding (1 pending_task)\n"
        "==8== (1 more finding was counted but not listed: max_findings reached)\n");
    free(got);

    s = al_json_object();
    d = al_json_object();
    al_json_set_int(s, "pending_task", 1);
    al_json_set_int(d, "pending_task", 0);               /* nothing dropped: no line */
    got = render_summary(s, d, 8);
    assert_string_equal(got, "==8== SUMMARY: asyncleak: 1 finding (1 pending_task)\n");
    free(got);
}

static void test_write_error(void **state)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    al_json *finding = pending_task(), *s = al_json_object();
    al_json_set_int(s, "pending_task", 1);
    assert_int_equal(al_render_finding(f, finding, 1), -1);
    clearerr(f);
    assert_int_equal(al_render_summary(f, s, NULL, 1), -1);
    fclose(f);
    al_json_free(finding);
    al_json_free(s);
}

/* A shared stack (al_json_ref: what the preload gives findings of one
 * origin) is rendered once and copied afterwards: the text is the same as
 * for separate copies, at another indent, under another pid, and for a new
 * stack after the first one was freed by its owners. */
static void test_shared_stack_sections(void **state)
{
    for (int round = 0; round < 3; round++) {
        al_json *origin = stack(frame("/app/main.py", 10 + round, "main"),
                                frame(ASYNCIO "tasks.py", 1, "create_task"),
                                frame(ASYNCIO "base_events.py", 2, "run"),
                                frame("/app/worker.py", 20, "spawn"), NULL);
        for (long pid = 7; pid <= 8; pid++) {
            for (int i = 0; i < 3; i++) {
                al_json *a = al_json_object(), *entry = al_json_object();
                al_json *tasks = al_json_array();
                al_json_set_str(a, "kind", "pending_task");
                al_json_set(a, "task", task("t", "c", NULL));
                al_json_set(a, "origin", al_json_ref(origin));
                al_json_set(entry, "task", task("u", "d", "pending"));
                al_json_set(entry, "origin", al_json_ref(origin));
                al_json_append(tasks, entry);
                al_json_set(a, "tasks", tasks);
                al_json *c = al_json_copy(a);        /* nothing shared in the copy */
                char *shared = render(a, pid), *plain = render(c, pid);
                assert_string_equal(shared, plain);
                char want[64];
                snprintf(want, sizeof want, "==%ld==     File \"/app/main.py\", line %d, in main", pid, 10 + round);
                assert_non_null(strstr(shared, want));            /* indent 4 */
                snprintf(want, sizeof want, "==%ld==       File \"/app/main.py\", line %d", pid, 10 + round);
                assert_non_null(strstr(shared, want));            /* indent 6, in tasks */
                free(shared);
                free(plain);
            }
        }
        al_json_free(origin);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_task_golden),
        cmocka_unit_test(test_message_and_pid_prefix),
        cmocka_unit_test(test_default_messages),
        cmocka_unit_test(test_resource_header),
        cmocka_unit_test(test_all_sections),
        cmocka_unit_test(test_cancel_once_and_bare_exception),
        cmocka_unit_test(test_task_list),
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_asyncio_internal),
        cmocka_unit_test(test_missing_and_wrong_fields),
        cmocka_unit_test(test_control_chars_escaped),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_summary_dropped),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_shared_stack_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
