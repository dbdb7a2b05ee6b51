// links: -Ireporter reporter/readjson.c reporter/reports.c reporter/groups.c -ljansson
/* test_readjson.c - unit tests of the reporter's reading side: reports.c
 * (errors with positions, schemas, merged documents), readjson.c (jansson
 * to al_json) and groups.c (keys, merging, order, header lines). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groups.h"
#include "readjson.h"
#include "reports.h"

static const char *parse_err(const char *text)
{
    static char err[512];
    al_report r;
    err[0] = '\0';
    assert_int_equal(al_report_parse("x.json", text, strlen(text), AL_REPORT_ACCEPT_MERGED,
                                     &r, err, sizeof err), -1);
    assert_null(r.root);
    return err;
}

static void test_report_errors(void **state)
{
    (void)state;
    assert_string_equal(parse_err(""), "empty file");
    assert_string_equal(parse_err("{\"tool\": \"asyncleak\", \"sch"),
                        "truncated JSON: the file ends at line 1, column 26 (byte 26): "
                        "premature end of input near '\"sch'");
    assert_string_equal(parse_err("{\n  \"tool\": x}"),
                        "not valid JSON at line 2, column 11 (byte 13): invalid token near 'x'");
    assert_string_equal(parse_err("[1, 2]"), "not an asyncleak report (not a JSON object)");
    assert_string_equal(parse_err("{\"tool\": \"other\"}"),
                        "not an asyncleak report (no \"tool\": \"asyncleak\")");
    assert_string_equal(parse_err("{\"tool\": \"asyncleak\"}"),
                        "not an asyncleak report (no integer \"schema\")");
    assert_string_equal(parse_err("{\"tool\": \"asyncleak\", \"schema\": 2, \"findings\": []}"),
                        "unsupported schema 2 (this asyncleak reads schema 1)");
    assert_string_equal(parse_err("{\"tool\": \"asyncleak\", \"schema\": 1}"),
                        "not an asyncleak report (no \"findings\" array)");
    assert_string_equal(parse_err("{\"tool\": \"asyncleak\", \"merged\": 7, \"groups\": []}"),
                        "unsupported merged format 7 (this asyncleak reads merged format 1)");
    assert_string_equal(parse_err("{\"tool\": \"asyncleak\", \"merged\": 1}"),
                        "not an asyncleak merged report (no \"groups\" array)");
}

static void test_report_deep_nesting_is_an_error(void **state)
{
    (void)state;
    size_t n = 100000;
    char *text = malloc(n + 1);
    memset(text, '[', n);
    text[n] = '\0';
    const char *err = parse_err(text);
    assert_non_null(strstr(err, "maximum parsing depth reached"));
    free(text);
}

static void test_report_ok_and_merged_flag(void **state)
{
    (void)state;
    const char *doc = "{\"tool\":\"asyncleak\",\"schema\":1,\"pid\":77,\"findings\":[{\"kind\":\"pending_task\"}],"
                      "\"dropped\":{\"pending_task\":3,\"x\":\"y\"}}";
    al_report r;
    char err[256];
    assert_int_equal(al_report_parse("a.json", doc, strlen(doc), 0, &r, err, sizeof err), 0);
    assert_int_equal(r.pid, 77);
    assert_int_equal(r.nlisted, 1);
    assert_int_equal(r.ndropped, 3);
    assert_int_equal(r.merged, 0);
    assert_string_equal(r.path, "a.json");
    al_report_free(&r);

    const char *merged = "{\"tool\":\"asyncleak\",\"merged\":1,\"groups\":[]}";
    /* Without the flag a merged document is no process report. */
    assert_int_equal(al_report_parse("m.json", merged, strlen(merged), 0, &r, err, sizeof err), -1);
    assert_string_equal(err, "not an asyncleak report (no integer \"schema\")");
    assert_int_equal(al_report_parse("m.json", merged, strlen(merged), AL_REPORT_ACCEPT_MERGED,
                                     &r, err, sizeof err), 0);
    assert_int_equal(r.merged, 1);
    al_report_free(&r);

    assert_int_equal(al_report_load("/nonexistent/al.json", &r, err, sizeof err), -1);
    assert_string_equal(err, "cannot read it: No such file or directory");
    assert_int_equal(al_report_load("/", &r, err, sizeof err), -1);
    assert_string_equal(err, "cannot read it: Is a directory");
}

static void test_readjson_types(void **state)
{
    (void)state;
    json_error_t e;
    json_t *j = json_loads("{\"b\":1,\"a\":[true,false,null,1.5,2.0,\"s\\u00e9\",-3],\"c\":{}}", 0, &e);
    assert_non_null(j);
    al_json *v = al_json_from_jansson(j);
    json_decref(j);
    char *text = al_json_dumps(v, -1);
    assert_string_equal(text, "{\"b\":1,\"a\":[true,false,null,\"1.5\",2,\"s\xc3\xa9\",-3],\"c\":{}}");
    free(text);
    al_json_free(v);
    assert_null(al_json_from_jansson(NULL));
}

/* ---- groups ------------------------------------------------------------- */

static al_json *parse_finding(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL)
        fail_msg("bad test JSON: %s", e.text);
    al_json *v = al_json_from_jansson(j);
    json_decref(j);
    return v;
}

#define FRAME(f, l, fn) "{\"file\":\"" f "\",\"line\":" #l ",\"function\":\"" fn "\"}"

static int same_key(const char *a, const char *b, int flags)
{
    al_json *x = parse_finding(a), *y = parse_finding(b);
    char *kx, *ky;
    size_t lx, ly;
    assert_int_equal(al_group_key(x, flags, &kx, &lx), 0);
    assert_int_equal(al_group_key(y, flags, &ky, &ly), 0);
    int same = lx == ly && memcmp(kx, ky, lx) == 0;
    free(kx);
    free(ky);
    al_json_free(x);
    al_json_free(y);
    return same;
}

static void test_group_keys(void **state)
{
    (void)state;
    const char *a = "{\"kind\":\"pending_task\",\"when\":\"loop_close\",\"task\":{\"name\":\"Task-2\"},"
                    "\"origin\":{\"frames\":[" FRAME("/a.py", 1, "<module>") ","
                    FRAME("/usr/lib/python3.11/asyncio/base_events.py", 640, "run") ","
                    FRAME("/a.py", 9, "main") "]}}";
    /* Another process, other task name, other when, other asyncio lines. */
    const char *b = "{\"kind\":\"pending_task\",\"when\":\"gc\",\"task\":{\"name\":\"Task-9\"},"
                    "\"origin\":{\"frames\":[" FRAME("/a.py", 1, "<module>") ","
                    FRAME("/opt/py/lib/python3.12/asyncio/base_events.py", 701, "run") ","
                    FRAME("/a.py", 9, "main") "], \"native\": [{\"ip\":\"0x1\"}]}}";
    const char *other_line = "{\"kind\":\"pending_task\",\"origin\":{\"frames\":["
                             FRAME("/a.py", 1, "<module>") "," FRAME("/a.py", 10, "main") "]}}";
    const char *other_kind = "{\"kind\":\"orphaned_task\",\"origin\":{\"frames\":["
                             FRAME("/a.py", 1, "<module>") "," FRAME("/a.py", 9, "main") "]}}";
    assert_true(same_key(a, b, 0));
    assert_false(same_key(a, other_line, 0));
    assert_true(same_key(a, other_line, AL_KEY_IGNORE_LINES));
    assert_false(same_key(a, other_kind, 0));

    /* The innermost frame counts even when it is asyncio's. */
    assert_false(same_key("{\"kind\":\"pending_task\",\"origin\":{\"frames\":["
                          FRAME("/usr/lib/python3.11/asyncio/tasks.py", 1, "x") "]}}",
                          "{\"kind\":\"pending_task\",\"origin\":{\"frames\":[]}}", 0));
    /* Resource type is part of the key. */
    assert_false(same_key("{\"kind\":\"unclosed_resource\",\"resource\":{\"type\":\"A\"},"
                          "\"origin\":{\"frames\":[" FRAME("/a.py", 1, "f") "]}}",
                          "{\"kind\":\"unclosed_resource\",\"resource\":{\"type\":\"B\"},"
                          "\"origin\":{\"frames\":[" FRAME("/a.py", 1, "f") "]}}", 0));
    /* No origin: the sorted, distinct origins of the tasks. */
    assert_true(same_key("{\"kind\":\"shutdown_hang\",\"tasks\":["
                         "{\"origin\":{\"frames\":[" FRAME("/a.py", 1, "f") "]}},"
                         "{\"origin\":{\"frames\":[" FRAME("/a.py", 2, "g") "]}},"
                         "{\"origin\":{\"frames\":[" FRAME("/a.py", 2, "g") "]}}]}",
                         "{\"kind\":\"shutdown_hang\",\"tasks\":["
                         "{\"origin\":{\"frames\":[" FRAME("/a.py", 2, "g") "]}},"
                         "{\"origin\":{\"frames\":[" FRAME("/a.py", 1, "f") "]}}]}", 0));
    assert_false(same_key("{\"kind\":\"shutdown_hang\",\"tasks\":["
                          "{\"origin\":{\"frames\":[" FRAME("/a.py", 1, "f") "]}}]}",
                          "{\"kind\":\"shutdown_hang\",\"tasks\":["
                          "{\"origin\":{\"frames\":[" FRAME("/a.py", 2, "f") "]}}]}", 0));
    /* Field boundaries cannot be confused. */
    assert_false(same_key("{\"kind\":\"k\",\"origin\":{\"frames\":[" FRAME("/a1", 2, "f") "]}}",
                          "{\"kind\":\"k\",\"origin\":{\"frames\":[" FRAME("/a", 12, "f") "]}}", 0));
}

static void add(al_groupset *set, const char *text, int64_t pid)
{
    al_json *f = parse_finding(text);
    assert_int_equal(al_groups_add(set, f, 1, &pid, 1), 0);
    al_json_free(f);
}

static void test_groups_merge_order_header(void **state)
{
    (void)state;
    const char *a = "{\"kind\":\"pending_task\",\"task\":{\"name\":\"first\"},\"origin\":{\"frames\":["
                    FRAME("/a.py", 9, "main") "]}}";
    const char *a2 = "{\"kind\":\"pending_task\",\"task\":{\"name\":\"second\"},\"origin\":{\"frames\":["
                     FRAME("/a.py", 9, "main") "]}}";
    const char *b = "{\"kind\":\"swallowed_cancel\",\"origin\":{\"frames\":[" FRAME("/b.py", 1, "w") "]}}";
    const char *c = "{\"kind\":\"unclosed_resource\",\"resource\":{\"type\":\"S\"},\"origin\":{\"frames\":["
                    FRAME("/c.py", 1, "w") "]}}";
    al_groupset set;
    al_groups_init(&set, NULL);
    for (int64_t pid = 20; pid >= 10; pid--)
        add(&set, pid % 2 ? a : a2, pid);
    add(&set, a, 15);
    add(&set, c, 3);
    add(&set, b, 3);
    assert_int_equal(set.ngroups, 3);
    assert_int_equal(set.findings, 14);

    size_t n, nmatched;
    al_group **list = al_groups_select(&set, NULL, &n, &nmatched);
    assert_int_equal(n, 3);
    assert_string_equal(list[0]->kind, "pending_task");
    assert_int_equal(list[0]->count, 12);
    assert_int_equal(list[0]->npids, 11);
    /* The first finding stays the group's representative. */
    assert_string_equal(al_json_get_str(al_json_get(list[0]->finding, "task"), "name"), "second");
    /* Ties: kind order of al_finding_kinds. */
    assert_string_equal(list[1]->kind, "swallowed_cancel");
    assert_string_equal(list[2]->kind, "unclosed_resource");
    char *h = al_group_header(list[0]);
    assert_string_equal(h, "12 x pending_task in 11 processes (pids 10, 11, 12, 13, 14, 15, 16, 17 and 3 more)");
    free(h);
    h = al_group_header(list[1]);
    assert_string_equal(h, "1 x swallowed_cancel in 1 process (pid 3)");
    free(h);
    al_json *summary = al_groups_summary(list, n);
    char *st = al_json_dumps(summary, -1);
    assert_string_equal(st, "{\"pending_task\":12,\"swallowed_cancel\":1,\"unclosed_resource\":1}");
    free(st);
    al_json_free(summary);
    al_json *gj = al_group_json(list[1]);
    assert_int_equal(al_json_get_int(gj, "count", 0), 1);
    assert_string_equal(al_json_get_str(gj, "id"), list[1]->id);
    al_json_free(gj);
    free(list);

    const char *kinds[] = { "unclosed_resource", "pending_task" };
    al_select sel = { kinds, 2, 0, 1 };
    list = al_groups_select(&set, &sel, &n, &nmatched);
    assert_int_equal(n, 1);
    assert_int_equal(nmatched, 2);
    assert_string_equal(list[0]->kind, "pending_task");
    free(list);
    al_select big = { NULL, 0, 13, 0 };
    assert_null(al_groups_select(&set, &big, &n, &nmatched));
    assert_int_equal(n, 0);
    al_groups_free(&set);
}

static void test_groups_from_reports_and_suppressions(void **state)
{
    (void)state;
    const char *doc = "{\"tool\":\"asyncleak\",\"schema\":1,\"pid\":5,\"findings\":["
                      "{\"kind\":\"pending_task\",\"origin\":{\"frames\":[" FRAME("/a.py", 9, "main") "]}},"
                      "{\"kind\":\"pending_task\",\"origin\":{\"frames\":[" FRAME("/a.py", 9, "main") "]}},"
                      "{\"kind\":\"pending_task\",\"origin\":{\"frames\":[" FRAME("/a.py", 3, "noise") "]}},"
                      "7, {\"when\":\"gc\"}],"
                      "\"dropped\":{\"pending_task\":4}}";
    al_report r;
    char err[256];
    size_t skipped = 0;
    al_groupset set;
    al_suppressions *supp = al_suppressions_parse("pending_task:noise\n", 19, "s", err, sizeof err);
    assert_non_null(supp);
    al_groups_init(&set, supp);
    assert_int_equal(al_report_parse("a.json", doc, strlen(doc), 0, &r, err, sizeof err), 0);
    assert_int_equal(al_groups_add_report(&set, &r, &skipped), 0);
    al_report_free(&r);
    assert_int_equal(skipped, 2);
    assert_int_equal(set.ngroups, 1);
    assert_int_equal(set.findings, 2);
    assert_int_equal(set.suppressed, 1);
    assert_int_equal(al_json_get_int(set.dropped, "pending_task", 0), 4);
    assert_int_equal(al_suppressions_hits(supp, 0), 1);

    /* The merged document of that set, read back, keeps the groups. */
    size_t n;
    al_group **list = al_groups_select(&set, NULL, &n, NULL);
    al_json *m = al_json_object(), *groups = al_json_array();
    al_json_set_str(m, "tool", "asyncleak");
    al_json_set_int(m, "merged", 1);
    al_json_set_int(m, "processes", 1);
    al_json_append(groups, al_group_json(list[0]));
    al_json_set(m, "groups", groups);
    char *text = al_json_dumps(m, -1);
    al_json_free(m);
    al_groupset again;
    al_groups_init(&again, NULL);
    assert_int_equal(al_report_parse("m.json", text, strlen(text), AL_REPORT_ACCEPT_MERGED,
                                     &r, err, sizeof err), 0);
    assert_int_equal(al_groups_add_report(&again, &r, &skipped), 0);
    al_report_free(&r);
    assert_int_equal(again.ngroups, 1);
    assert_int_equal(again.processes, 1);
    al_group *g = al_groups_find(&again, list[0]->key, list[0]->keylen);
    assert_non_null(g);
    assert_int_equal(g->count, 2);
    assert_int_equal(g->npids, 1);
    assert_int_equal(g->pids[0], 5);
    free(text);
    free(list);
    al_groups_free(&again);
    al_groups_free(&set);
    al_suppressions_free(supp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_errors),
        cmocka_unit_test(test_report_deep_nesting_is_an_error),
        cmocka_unit_test(test_report_ok_and_merged_flag),
        cmocka_unit_test(test_readjson_types),
        cmocka_unit_test(test_group_keys),
        cmocka_unit_test(test_groups_merge_order_header),
        cmocka_unit_test(test_groups_from_reports_and_suppressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
