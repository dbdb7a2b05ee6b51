/* test_suppress.c - unit tests of common/suppress.c: rule syntax and errors,
 * wildcard, function / file / module / resource matching, hit counts and the
 * "Suppressions used" table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "json_fixtures.h"
#include "suppress.h"

/* A pending_task created by app.py main -> aiohttp client code. */
static al_json *task_finding(const char *kind)
{
    al_json *f = al_json_object(), *t = al_json_object();
    al_json_set_str(f, "kind", kind);
    al_json_set_str(f, "when", "loop_close");
    al_json_set_str(t, "name", "Task-2");
    al_json_set_str(t, "coro", "Poller.poll_forever");
    al_json_set(f, "task", t);
    al_json_set(f, "origin", stack(
        frame("/srv/app/main.py", 40, "<module>"),
        frame("/usr/lib/python3.11/asyncio/base_events.py", 640, "BaseEventLoop.run_until_complete"),
        frame("/usr/lib/python3/dist-packages/aiohttp/client.py", 120, "ClientSession._request"),
        frame("/srv/app/db/pool.py", 9, "Pool.start"),
        NULL));
    return f;
}

static al_json *resource_finding(void)
{
    al_json *f = al_json_object(), *r = al_json_object();
    al_json_set_str(f, "kind", "unclosed_resource");
    al_json_set_str(f, "when", "gc");
    al_json_set_str(r, "type", "aiohttp.client.ClientSession");
    al_json_set(f, "resource", r);
    al_json_set(f, "origin", stack(frame("/srv/app/fetch.py", 45, "fetch_price"), NULL));
    return f;
}

static al_suppressions *parse_ok(const char *text)
{
    char err[256] = "";
    al_suppressions *s = al_suppressions_parse(text, strlen(text), "supp.txt", err, sizeof err);
    if (s == NULL)
        fail_msg("unexpected error: %s", err);
    return s;
}

/* The error message of parsing text (static buffer). */
static const char *parse_err(const char *text, size_t len)
{
    static char err[256];
    err[0] = '\0';
    al_suppressions *s = al_suppressions_parse(text, len, "supp.txt", err, sizeof err);
    assert_null(s);
    return err;
}

/* One rule against one finding: the rule index or -1 (finding freed). */
static int match1(const char *rule, al_json *finding)
{
    al_suppressions *s = parse_ok(rule);
    int r = al_suppressions_match(s, finding);
    al_suppressions_free(s);
    al_json_free(finding);
    return r;
}

/* ---- syntax ------------------------------------------------------------- */

static void test_parse_rules_comments_blanks(void **state)
{
    (void)state;
    al_suppressions *s = parse_ok(
        "# a comment\n"
        "\n"
        "   pending_task : heartbeat   # trailing comment\r\n"
        "*:aiohttp.*\n"
        "\t\n"
        "unclosed_resource:ClientSession");
    assert_int_equal(al_suppressions_len(s), 3);
    assert_string_equal(al_suppressions_rule(s, 0), "pending_task:heartbeat");
    assert_int_equal(al_suppressions_line(s, 0), 3);
    assert_string_equal(al_suppressions_rule(s, 1), "*:aiohttp.*");
    assert_int_equal(al_suppressions_line(s, 1), 4);
    assert_string_equal(al_suppressions_rule(s, 2), "unclosed_resource:ClientSession");
    assert_int_equal(al_suppressions_line(s, 2), 6);
    assert_null(al_suppressions_rule(s, 3));
    assert_int_equal(al_suppressions_hits(s, 0), 0);
    al_suppressions_free(s);
}

static void test_parse_empty_and_comment_only(void **state)
{
    (void)state;
    al_suppressions *s = parse_ok("");
    assert_int_equal(al_suppressions_len(s), 0);
    al_suppressions_free(s);
    s = parse_ok("# nothing\n\n   # more\n");
    assert_int_equal(al_suppressions_len(s), 0);
    al_suppressions_free(s);
}

static void test_parse_errors_name_file_and_line(void **state)
{
    (void)state;
    assert_string_equal(parse_err("pending_task:x\nno colon here\n", 30),
                        "supp.txt:2: missing ':' in 'no colon here' (expected KIND:PATTERN)");
    assert_string_equal(parse_err("pending_task:   # nothing\n", 26),
                        "supp.txt:1: empty PATTERN after 'pending_task:'");
    assert_string_equal(parse_err("\n\n:foo\n", 7),
                        "supp.txt:3: empty KIND before ':' (expected KIND:PATTERN, KIND may be *)");
    assert_non_null(strstr(parse_err("leak:foo\n", 9), "supp.txt:1: unknown KIND 'leak' (known: pending_task"));
    assert_non_null(strstr(parse_err("Pending_Task:foo\n", 17), "supp.txt:1: malformed KIND 'Pending_Task'"));
    assert_non_null(strstr(parse_err("pending task:foo\n", 16), "supp.txt:1: malformed KIND"));
    assert_non_null(strstr(parse_err("pend*:foo\n", 10), "malformed KIND"));
    assert_string_equal(parse_err("pending_task:a\0b\n", 17), "supp.txt:1: NUL byte in the line");
}

static void test_parse_error_excerpt_is_printable_and_short(void **state)
{
    (void)state;
    char line[300];
    memset(line, 'x', sizeof line);
    line[5] = '\x1b';
    const char *err = parse_err(line, sizeof line);
    assert_non_null(strstr(err, "supp.txt:1: missing ':' in 'xxxxx?xxx"));
    assert_non_null(strstr(err, "...'"));
    assert_true(strlen(err) < 140);
}

static void test_load_file_and_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/test_suppress.XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "swallowed_cancel:stubborn_worker\nbad line\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_null(al_suppressions_load(path, err, sizeof err));
    char want[300];
    snprintf(want, sizeof want, "%s:2: missing ':' in 'bad line' (expected KIND:PATTERN)", path);
    assert_string_equal(err, want);

    FILE *f = fopen(path, "w");
    fputs("swallowed_cancel:stubborn_worker\n", f);
    fclose(f);
    al_suppressions *s = al_suppressions_load(path, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(al_suppressions_len(s), 1);
    al_suppressions_free(s);
    unlink(path);

    assert_null(al_suppressions_load("/nonexistent/supp.txt", err, sizeof err));
    assert_string_equal(err, "/nonexistent/supp.txt: cannot read: No such file or directory");
}

/* ---- wildcards and modules ---------------------------------------------- */

static int g(const char *pattern, const char *s)
{
    return al_suppress_glob(pattern, s, strlen(s));
}

static void test_glob(void **state)
{
    (void)state;
    assert_true(g("abc", "abc"));
    assert_false(g("abc", "abcd"));
    assert_false(g("abc", "xabc"));
    assert_true(g("*", ""));
    assert_true(g("*", "anything"));
    assert_true(g("a*", "a"));
    assert_true(g("*db*", "my_db_pool"));
    assert_true(g("a*b*c", "aXXbYYc"));
    assert_false(g("a*b*c", "aXXbYY"));
    assert_true(g("**x", "x"));
    assert_true(g("*.py", "/x/y.py"));
    assert_false(g("?", "a"));          /* only '*' is special */
    assert_true(g("?", "?"));
    assert_false(g("", "a"));
    assert_true(g("", ""));
}

static void test_glob_is_not_exponential(void **state)
{
    (void)state;
    char s[20001];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    clock_t start = clock();
    assert_false(g("*a*a*a*a*a*a*a*a*a*a*b", s));
    assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 2.0);
}

static void test_module_names(void **state)
{
    (void)state;
    const char *client = "/usr/lib/python3/dist-packages/aiohttp/client.py";
    assert_true(al_suppress_module_matches("aiohttp.client", client));
    assert_true(al_suppress_module_matches("aiohttp", client));
    assert_true(al_suppress_module_matches("client", client));
    assert_true(al_suppress_module_matches("aiohttp.*", client));
    assert_false(al_suppress_module_matches("dist-packages.aiohttp", client));
    assert_false(al_suppress_module_matches("python3.aiohttp", client));
    assert_false(al_suppress_module_matches("aiohttp.cli", client));

    const char *site = "/root/.pyenv/versions/3.12.1/lib/python3.12/site-packages/httpx/_client.py";
    assert_true(al_suppress_module_matches("httpx", site));
    assert_true(al_suppress_module_matches("httpx._client", site));
    assert_false(al_suppress_module_matches("versions", site));

    const char *stdlib = "/usr/lib/python3.11/asyncio/tasks.py";
    assert_true(al_suppress_module_matches("asyncio.tasks", stdlib));
    assert_true(al_suppress_module_matches("asyncio", stdlib));
    assert_false(al_suppress_module_matches("lib.asyncio", stdlib));

    const char *init = "/usr/lib/python3/dist-packages/aiohttp/__init__.py";
    assert_true(al_suppress_module_matches("aiohttp", init));
    assert_false(al_suppress_module_matches("__init__", init));
    assert_false(al_suppress_module_matches("aiohttp.__init__", init));

    /* No root directory: every directory counts. */
    const char *app = "/srv/app/db/pool.py";
    assert_true(al_suppress_module_matches("app.db.pool", app));
    assert_true(al_suppress_module_matches("db", app));
    assert_true(al_suppress_module_matches("app.db", app));
    assert_true(al_suppress_module_matches("srv.app.db.pool", app));
    assert_false(al_suppress_module_matches("app.pool", app));

    /* Not Python source, or empty parts. */
    assert_false(al_suppress_module_matches("runpy", "<frozen runpy>"));
    assert_false(al_suppress_module_matches("x", "/a/x.pyc"));
    assert_false(al_suppress_module_matches("a.b", "/a//b.py"));
    assert_true(al_suppress_module_matches("b", "/a//b.py"));
    assert_false(al_suppress_module_matches("x", NULL));
}

static void test_module_keeps_last_16_parts(void **state)
{
    (void)state;
    char path[512] = "";
    for (int i = 0; i < 20; i++) {
        char part[16];
        snprintf(part, sizeof part, "/d%d", i);
        strcat(path, part);
    }
    strcat(path, "/m.py");
    assert_true(al_suppress_module_matches("d5.d6", path));
    assert_false(al_suppress_module_matches("d4.d5", path));   /* d4 is part 17 from the end */
    assert_false(al_suppress_module_matches("d0", path));
}

/* ---- matching findings -------------------------------------------------- */

static void test_match_function_file_module(void **state)
{
    (void)state;
    assert_int_equal(match1("pending_task:Pool.start", task_finding("pending_task")), 0);
    assert_int_equal(match1("pending_task:start", task_finding("pending_task")), 0);       /* last part */
    assert_int_equal(match1("pending_task:<module>", task_finding("pending_task")), 0);
    assert_int_equal(match1("pending_task:Pool.*", task_finding("pending_task")), 0);
    assert_int_equal(match1("pending_task:Pool", task_finding("pending_task")), -1);
    assert_int_equal(match1("pending_task:pool.py", task_finding("pending_task")), 0);     /* basename */
    assert_int_equal(match1("pending_task:/srv/app/db/pool.py", task_finding("pending_task")), 0);
    assert_int_equal(match1("pending_task:*/db/*", task_finding("pending_task")), 0);
    assert_int_equal(match1("pending_task:db/pool.py", task_finding("pending_task")), -1); /* not a suffix match */
    assert_int_equal(match1("pending_task:aiohttp", task_finding("pending_task")), 0);     /* module of any frame */
    assert_int_equal(match1("pending_task:aiohttp.client", task_finding("pending_task")), 0);
    assert_int_equal(match1("pending_task:run_until_complete", task_finding("pending_task")), 0);
    assert_int_equal(match1("pending_task:nothing_like_it", task_finding("pending_task")), -1);
}

static void test_match_kind(void **state)
{
    (void)state;
    assert_int_equal(match1("orphaned_task:start", task_finding("pending_task")), -1);
    assert_int_equal(match1("*:start", task_finding("pending_task")), 0);
    assert_int_equal(match1("*:start", task_finding("orphaned_task")), 0);
    al_json *nokind = task_finding("pending_task");
    al_json_set(nokind, "kind", al_json_null());
    assert_int_equal(match1("pending_task:start", nokind), -1);
}

static void test_match_coro_and_resource_type(void **state)
{
    (void)state;
    assert_int_equal(match1("pending_task:poll_forever", task_finding("pending_task")), 0);
    assert_int_equal(match1("pending_task:Poller.poll_forever", task_finding("pending_task")), 0);
    assert_int_equal(match1("unclosed_resource:ClientSession", resource_finding()), 0);
    assert_int_equal(match1("unclosed_resource:aiohttp", resource_finding()), 0);
    assert_int_equal(match1("unclosed_resource:aiohttp.client.ClientSession", resource_finding()), 0);
    assert_int_equal(match1("unclosed_resource:client.ClientSession", resource_finding()), 0);
    assert_int_equal(match1("unclosed_resource:fetch_price", resource_finding()), 0);
    assert_int_equal(match1("unclosed_resource:httpx", resource_finding()), -1);
}

static void test_match_tasks_without_origin(void **state)
{
    (void)state;
    al_json *f = al_json_object(), *tasks = al_json_array(), *entry = al_json_object();
    al_json *t = al_json_object();
    al_json_set_str(f, "kind", "shutdown_hang");
    al_json_set_str(f, "when", "watchdog");
    al_json_set_str(t, "name", "stubborn");
    al_json_set_str(t, "coro", "stubborn");
    al_json_set(entry, "task", t);
    al_json_set(entry, "origin", stack(frame("/srv/app/w.py", 3, "spawn_workers"), NULL));
    al_json_append(tasks, entry);
    al_json_set(f, "tasks", tasks);
    al_json *copy = al_json_copy(f);
    assert_int_equal(match1("shutdown_hang:spawn_workers", f), 0);
    assert_int_equal(match1("shutdown_hang:stubborn", copy), 0);
}

static void test_match_malformed_findings(void **state)
{
    (void)state;
    al_suppressions *s = parse_ok("*:*\n");
    assert_int_equal(al_suppressions_match(s, NULL), -1);
    al_json *arr = al_json_array();
    assert_int_equal(al_suppressions_match(s, arr), -1);
    al_json_free(arr);
    /* Frames of the wrong types are skipped, not crashed on. */
    al_json *f = al_json_object(), *st = al_json_object(), *frames = al_json_array();
    al_json_set_str(f, "kind", "pending_task");
    al_json_append(frames, al_json_int(3));
    al_json *bad = al_json_object();
    al_json_set_int(bad, "file", 7);
    al_json_set(bad, "function", al_json_array());
    al_json_append(frames, bad);
    al_json_set(st, "frames", frames);
    al_json_set(f, "origin", st);
    al_suppressions_free(s);
    s = parse_ok("*:x*\n");
    assert_int_equal(al_suppressions_match(s, f), -1);
    al_suppressions_free(s);
    s = parse_ok("*:*\n");    /* nothing to match against: not even "*" matches */
    assert_int_equal(al_suppressions_match(s, f), -1);
    al_json_free(f);
    al_suppressions_free(s);
    assert_int_equal(al_suppressions_match(NULL, NULL), -1);
}

static void test_first_rule_wins_and_hits(void **state)
{
    (void)state;
    al_suppressions *s = parse_ok("unclosed_resource:nothing\n"
                                  "pending_task:start\n"
                                  "*:aiohttp\n");
    al_json *f = task_finding("pending_task");
    assert_int_equal(al_suppressions_match(s, f), 1);
    assert_int_equal(al_suppressions_match(s, f), 1);
    assert_int_equal(al_suppressions_match_n(s, f, 5), 1);
    al_json_free(f);
    f = task_finding("orphaned_task");
    assert_int_equal(al_suppressions_match(s, f), 2);
    al_json_free(f);
    assert_int_equal(al_suppressions_hits(s, 0), 0);
    assert_int_equal(al_suppressions_hits(s, 1), 7);
    assert_int_equal(al_suppressions_hits(s, 2), 1);
    al_suppressions_free(s);
}

/* ---- the table ---------------------------------------------------------- */

static char *render_used(al_suppressions *s, long pid)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(al_suppressions_render_used(f, s, pid), 0);
    fclose(f);
    return buf;
}

static void test_render_used(void **state)
{
    (void)state;
    al_suppressions *s = parse_ok("pending_task:start\nunclosed_resource:x\n*:aiohttp\n");
    char *text = render_used(s, 42);
    assert_string_equal(text, "");
    free(text);
    al_json *f = task_finding("pending_task");
    al_suppressions_match_n(s, f, 12);
    al_json_free(f);
    f = task_finding("orphaned_task");
    al_suppressions_match(s, f);
    al_json_free(f);
    text = render_used(s, 42);
    assert_string_equal(text,
        "==42== -----------------------------------------------------\n"
        "==42== Suppressions used:\n"
        "==42==   count rule\n"
        "==42==      12 pending_task:start\n"
        "==42==       1 *:aiohttp\n"
        "==42== -----------------------------------------------------\n");
    free(text);
    text = render_used(s, -1);
    assert_non_null(strstr(text, "==asyncleak== Suppressions used:\n"));
    free(text);
    al_suppressions_free(s);
    assert_int_equal(al_suppressions_render_used(stdout, NULL, 1), 0);
}

static void test_render_used_escapes_control_characters(void **state)
{
    (void)state;
    al_suppressions *s = parse_ok("*:a\x1b[31m*\n");
    al_json *f = resource_finding();
    al_json_set_str(f, "kind", "unclosed_resource");
    al_json_set(al_json_get(f, "resource"), "type", al_json_string("a\x1b[31mX"));
    assert_int_equal(al_suppressions_match(s, f), 0);
    al_json_free(f);
    char *text = render_used(s, 1);
    assert_non_null(strstr(text, "*:a\\x1b[31m*\n"));
    free(text);
    al_suppressions_free(s);
}

static void test_kind_index(void **state)
{
    (void)state;
    assert_int_equal(al_kind_index("pending_task"), 0);
    assert_true(al_kind_index("unclosed_resource") > 0);
    assert_int_equal(al_kind_index("leak"), -1);
    assert_int_equal(al_kind_index(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rules_comments_blanks),
        cmocka_unit_test(test_parse_empty_and_comment_only),
        cmocka_unit_test(test_parse_errors_name_file_and_line),
        cmocka_unit_test(test_parse_error_excerpt_is_printable_and_short),
        cmocka_unit_test(test_load_file_and_errors),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_glob_is_not_exponential),
        cmocka_unit_test(test_module_names),
        cmocka_unit_test(test_module_keeps_last_16_parts),
        cmocka_unit_test(test_match_function_file_module),
        cmocka_unit_test(test_match_kind),
        cmocka_unit_test(test_match_coro_and_resource_type),
        cmocka_unit_test(test_match_tasks_without_origin),
        cmocka_unit_test(test_match_malformed_findings),
        cmocka_unit_test(test_first_rule_wins_and_hits),
        cmocka_unit_test(test_render_used),
        cmocka_unit_test(test_render_used_escapes_control_characters),
        cmocka_unit_test(test_kind_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
