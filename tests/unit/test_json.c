/* test_json.c - unit tests of common/json.c: the document model and a writer
 * whose output Python's json module must read back as the same values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

#define PY_COMPACT "import json,sys; v=json.load(sys.stdin.buffer); " \
    "sys.stdout.write(json.dumps(v, ensure_ascii=True, separators=(\",\",\":\")))"
#define PY_PRETTY2 "import json,sys; v=json.load(sys.stdin.buffer); " \
    "sys.stdout.write(json.dumps(v, ensure_ascii=False, indent=2))"

/* Feeds data to /usr/bin/python3 -c script and returns its stdout (caller
 * frees); fails the test when Python exits non-zero (e.g. invalid JSON). */
static char *python(const char *script, const char *data)
{
    char path[] = "/tmp/test_json.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(data);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);

    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c '%s' < %s", script, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (cap - n < 4096) {
            cap = cap * 2 + 4096;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        got = fread(out + n, 1, cap - n - 1, p);
        n += got;
    } while (got > 0);
    out[n] = '\0';
    int status = pclose(p);
    unlink(path);
    if (status != 0)
        fail_msg("python rejected: %s", data);
    return out;
}

/* Dumps v compactly, checks the exact text, then that Python reads it back
 * as the value whose ASCII-only compact dump is py_expected. */
static void check(al_json *v, const char *expected, const char *py_expected)
{
    char *s = al_json_dumps(v, -1);
    assert_non_null(s);
    if (expected)
        assert_string_equal(s, expected);
    char *back = python(PY_COMPACT, s);
    assert_string_equal(back, py_expected);
    free(back);
    free(s);
    al_json_free(v);
}

static void test_scalars(void **state)
{
    check(al_json_null(), "null", "null");
    check(al_json_bool(1), "true", "true");
    check(al_json_bool(42), "true", "true");
    check(al_json_bool(0), "false", "false");
    check(al_json_int(0), "0", "0");
    check(al_json_int(-17), "-17", "-17");
    check(al_json_int(INT64_MAX), "9223372036854775807", "9223372036854775807");
    check(al_json_int(INT64_MIN), "-9223372036854775808", "-9223372036854775808");
    check(al_json_string(NULL), "null", "null");
    check(al_json_string_len(NULL, 3), "null", "null");
}

static void test_empty_strings(void **state)
{
    check(al_json_string(""), "\"\"", "\"\"");
    check(al_json_string_len("abc", 0), "\"\"", "\"\"");
    check(al_json_string_len("a\0b", 3), "\"a\\u0000b\"", "\"a\\u0000b\"");
}

static void test_quotes_and_backslashes(void **state)
{
    check(al_json_string("say \"hi\" \\ C:\\dir\\"),
          "\"say \\\"hi\\\" \\\\ C:\\\\dir\\\\\"",
          "\"say \\\"hi\\\" \\\\ C:\\\\dir\\\\\"");
    check(al_json_string("\"\"\\\\/"), "\"\\\"\\\"\\\\\\\\/\"", "\"\\\"\\\"\\\\\\\\/\"");
}

static void test_every_control_char(void **state)
{
    char in[34];
    size_t n = 0;
    for (int c = 0; c < 0x20; c++)
        in[n++] = (char)c;
    in[n++] = 0x7f;
    char *s = NULL;
    al_json *v = al_json_string_len(in, n);
    s = al_json_dumps(v, -1);
    assert_string_equal(s,
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
        "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
        "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
        "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\u007f\"");
    char *back = python("import json,sys; v=json.load(sys.stdin.buffer); "
                        "sys.stdout.write(\",\".join(str(ord(c)) for c in v))", s);
    char want[256] = "";
    for (int c = 0; c < 0x20; c++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%d,", c);
    strcat(want, "127");
    assert_string_equal(back, want);
    free(back);
    free(s);
    al_json_free(v);
}

static void test_valid_utf8_passes_through(void **state)
{
    /* 2-, 3- and 4-byte sequences and the extremes of the valid ranges. */
    const char *in = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xED\x9F\xBF \xEE\x80\x80";
    char *quoted = malloc(strlen(in) + 3);
    sprintf(quoted, "\"%s\"", in);
    check(al_json_string(in), quoted,
          "\"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\udbff\\udfff \\ud7ff \\ue000\"");
    free(quoted);
}

static void test_invalid_utf8_becomes_replacement(void **state)
{
    static const struct { const char *in, *py; } cases[] = {
        { "\xC0\xAF", "\\ufffd\\ufffd" },                          /* overlong 2-byte */
        { "\xC1\xBF", "\\ufffd\\ufffd" },
        { "\xE0\x80\xAF", "\\ufffd\\ufffd\\ufffd" },               /* overlong 3-byte */
        { "\xF0\x80\x80\xAF", "\\ufffd\\ufffd\\ufffd\\ufffd" },    /* overlong 4-byte */
        { "\xED\xA0\x80", "\\ufffd\\ufffd\\ufffd" },               /* surrogate D800 */
        { "\xED\xBF\xBF", "\\ufffd\\ufffd\\ufffd" },               /* surrogate DFFF */
        { "a\xE2\x82", "a\\ufffd" },                               /* truncated at end */
        { "\xE2\x82z", "\\ufffdz" },                               /* truncated mid-string */
        { "\xF0\x9F\x98z", "\\ufffdz" },                           /* truncated 4-byte */
        { "\xC3", "\\ufffd" },
        { "\x80x\xBF", "\\ufffdx\\ufffd" },                        /* lone continuations */
        { "\xF4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },    /* above U+10FFFF */
        { "\xF5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },    /* lead byte > F4 */
        { "\xF8\xFE\xFF", "\\ufffd\\ufffd\\ufffd" },
        { "\xC3\xA9\xFF\xC3\xA9", "\\u00e9\\ufffd\\u00e9" },      /* bad byte between good */
        { "\"\xFF\\", "\\\"\\ufffd\\\\" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "\"%s\"", cases[i].py);
        check(al_json_string(cases[i].in), NULL, want);
    }
    /* The replacement character itself is emitted as UTF-8, not escaped. */
    al_json *v = al_json_string("\xFF");
    char *s = al_json_dumps(v, -1);
    assert_string_equal(s, "\"\xEF\xBF\xBD\"");
    free(s);
    al_json_free(v);
}

/* Random byte strings, biased to UTF-8 lead and continuation bytes: Python
 * must decode each written string exactly as bytes.decode("utf-8", "replace"). */
static void test_random_bytes_match_python_decoder(void **state)
{
    static const unsigned char pool[] = {
        0x00, 0x0a, 0x1b, 0x22, 0x41, 0x5c, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
        0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff,
    };
    unsigned seed = 12345;
    al_json *cases = al_json_array();
    for (int i = 0; i < 500; i++) {
        unsigned char bytes[12];
        char hex[2 * sizeof bytes + 1];
        size_t n = (size_t)(i % (int)sizeof bytes);
        for (size_t j = 0; j < n; j++) {
            seed = seed * 1103515245u + 12345u;
            bytes[j] = pool[(seed >> 16) % sizeof pool];
            sprintf(hex + 2 * j, "%02x", bytes[j]);
        }
        hex[2 * n] = '\0';
        al_json *pair = al_json_array();
        al_json_append(pair, al_json_string(hex));
        al_json_append(pair, al_json_string_len((const char *)bytes, n));
        al_json_append(cases, pair);
    }
    char *s = al_json_dumps(cases, -1);
    char *back = python("import json,sys; v=json.load(sys.stdin.buffer); "
                        "bad=[h for h,t in v if bytes.fromhex(h).decode(\"utf-8\",\"replace\")!=t]; "
                        "sys.stdout.write(\" \".join(bad) or \"ok\")", s);
    assert_string_equal(back, "ok");
    free(back);
    free(s);
    al_json_free(cases);
}

static al_json *nested(void)
{
    al_json *root = al_json_object();
    al_json *frames = al_json_array();
    for (int i = 1; i <= 2; i++) {
        al_json *f = al_json_object();
        al_json_set_str(f, "file", "/abs/app.py");
        al_json_set_int(f, "line", i * 10);
        al_json_set_str(f, "function", i == 1 ? "<module>" : "main");
        al_json_append(frames, f);
    }
    al_json *origin = al_json_object();
    al_json_set(origin, "frames", frames);
    al_json_set(root, "origin", origin);
    al_json_set(root, "empty_a", al_json_array());
    al_json_set(root, "empty_o", al_json_object());
    al_json *mixed = al_json_array();
    al_json_append(mixed, al_json_null());
    al_json_append(mixed, al_json_bool(1));
    al_json_append(mixed, al_json_string("x"));
    al_json *inner = al_json_array();
    al_json_append(inner, al_json_array());
    al_json_append(mixed, inner);
    al_json_set(root, "mixed", mixed);
    return root;
}

static void test_nested_compact(void **state)
{
    const char *want =
        "{\"origin\":{\"frames\":[{\"file\":\"/abs/app.py\",\"line\":10,\"function\":\"<module>\"},"
        "{\"file\":\"/abs/app.py\",\"line\":20,\"function\":\"main\"}]},"
        "\"empty_a\":[],\"empty_o\":{},\"mixed\":[null,true,\"x\",[[]]]}";
    check(nested(), want, want);
}

static void test_nested_pretty_matches_python(void **state)
{
    al_json *v = nested();
    char *s = al_json_dumps(v, 2);
    char *back = python(PY_PRETTY2, s);
    assert_string_equal(s, back);
    assert_non_null(strstr(s, "{\n  \"origin\": {\n    \"frames\": [\n      {\n        \"file\""));
    free(back);
    free(s);
    char *zero = al_json_dumps(v, 0);
    assert_non_null(strstr(zero, "{\n\"origin\": {\n\"frames\": [\n{\n\"file\": \"/abs/app.py\",\n"));
    free(zero);
    al_json_free(v);
}

static void test_set_replaces_in_place(void **state)
{
    al_json *o = al_json_object();
    assert_int_equal(al_json_set_int(o, "a", 1), 0);
    assert_int_equal(al_json_set_int(o, "b", 2), 0);
    assert_int_equal(al_json_set_int(o, "c", 3), 0);
    assert_int_equal(al_json_set_str(o, "b", "two"), 0);
    assert_int_equal(al_json_set(o, "a", al_json_array()), 0);
    assert_int_equal(al_json_len(o), 3);
    assert_string_equal(al_json_get_str(o, "b"), "two");
    al_json *same = al_json_get(o, "c");
    assert_int_equal(al_json_set(o, "c", same), 0);       /* setting the same node again */
    check(o, "{\"a\":[],\"b\":\"two\",\"c\":3}", "{\"a\":[],\"b\":\"two\",\"c\":3}");
}

static void test_growth_and_order(void **state)
{
    al_json *o = al_json_object(), *a = al_json_array();
    char key[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(al_json_set_int(o, key, i), 0);
        assert_int_equal(al_json_append(a, al_json_int(i)), 0);
    }
    assert_int_equal(al_json_len(o), 1000);
    assert_int_equal(al_json_len(a), 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_string_equal(o->u.object.keys[i], key);
        assert_int_equal(al_json_get_int(o, key, -1), i);
        assert_int_equal(al_json_at(a, (size_t)i)->u.integer, i);
    }
    assert_null(al_json_at(a, 1000));
    al_json_free(o);
    al_json_free(a);
}

static void test_lookups(void **state)
{
    al_json *o = nested();
    al_json_set_str(o, "s", "str");
    al_json_set_int(o, "n", -5);
    assert_string_equal(al_json_get_str(o, "s"), "str");
    assert_null(al_json_get_str(o, "n"));
    assert_null(al_json_get_str(o, "missing"));
    assert_int_equal(al_json_get_int(o, "n", 9), -5);
    assert_int_equal(al_json_get_int(o, "s", 9), 9);
    assert_int_equal(al_json_get_int(o, "missing", 9), 9);
    assert_int_equal(al_json_len(al_json_get(o, "mixed")), 4);
    assert_int_equal(al_json_len(al_json_get(o, "s")), 0);
    assert_null(al_json_at(o, 0));                         /* not an array */
    assert_null(al_json_get(al_json_get(o, "mixed"), "x")); /* not an object */
    al_json_free(o);
}

static void test_copy_is_deep(void **state)
{
    al_json *o = nested();
    al_json_set(o, "bytes", al_json_string_len("a\0\xFF", 3));
    al_json *c = al_json_copy(o);
    char *s1 = al_json_dumps(o, -1), *s2 = al_json_dumps(c, -1);
    assert_string_equal(s1, s2);
    al_json_set_int(c, "origin", 1);
    al_json_free(o);                                       /* the copy shares nothing */
    char *s3 = al_json_dumps(c, -1);
    assert_non_null(strstr(s3, "\"origin\":1"));
    assert_non_null(strstr(s3, "\"bytes\":\"a\\u0000\xEF\xBF\xBD\""));
    free(s1);
    free(s2);
    free(s3);
    al_json_free(c);
    assert_null(al_json_copy(NULL));
}

static void test_null_tolerance(void **state)
{
    assert_int_equal(al_json_append(NULL, al_json_int(1)), -1);
    assert_int_equal(al_json_append(NULL, NULL), -1);
    assert_int_equal(al_json_set(NULL, "k", al_json_int(1)), -1);
    assert_int_equal(al_json_set_str(NULL, "k", "v"), -1);
    assert_int_equal(al_json_set_int(NULL, "k", 1), -1);
    assert_null(al_json_get(NULL, "k"));
    assert_null(al_json_get_str(NULL, "k"));
    assert_int_equal(al_json_get_int(NULL, "k", 7), 7);
    assert_int_equal(al_json_len(NULL), 0);
    assert_null(al_json_at(NULL, 0));
    al_json_free(NULL);

    al_json *a = al_json_array(), *o = al_json_object(), *i = al_json_int(1);
    assert_int_equal(al_json_append(a, NULL), -1);
    assert_int_equal(al_json_append(o, al_json_int(1)), -1);   /* wrong type: value freed */
    assert_int_equal(al_json_append(i, al_json_string("x")), -1);
    assert_int_equal(al_json_set(o, NULL, al_json_int(1)), -1);
    assert_int_equal(al_json_set(o, "k", NULL), -1);
    assert_int_equal(al_json_set(a, "k", al_json_int(1)), -1);
    assert_null(al_json_get(o, NULL));
    assert_int_equal(al_json_len(a), 0);
    assert_int_equal(al_json_len(o), 0);
    assert_int_equal(al_json_set_str(o, "n", NULL), 0);        /* NULL string: null */
    assert_int_equal(al_json_get(o, "n")->type, AL_JSON_NULL);
    assert_null(al_json_get_str(o, "n"));

    char *s = al_json_dumps(NULL, -1);
    assert_string_equal(s, "null");
    free(s);
    assert_int_equal(al_json_write(a, NULL, -1), -1);
    al_json_free(a);
    al_json_free(o);
    al_json_free(i);
}

static void test_write_error(void **state)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    setvbuf(f, NULL, _IONBF, 0);
    al_json *v = nested();
    assert_int_equal(al_json_write(v, f, 2), -1);
    fclose(f);
    al_json_free(v);
}

/* One stack object in many findings: each owner frees its share, the tree
 * lives until the last; a shared node refuses to change. */
static void test_shared_nodes(void **state)
{
    al_json *stack = nested();
    al_json *docs[3];
    for (int i = 0; i < 3; i++) {
        docs[i] = al_json_object();
        assert_int_equal(al_json_set(docs[i], "origin", al_json_ref(stack)), 0);
    }
    assert_int_equal(stack->refs, 3);
    /* read-only while shared: the value given is freed, nothing changes */
    assert_int_equal(al_json_set_int(stack, "x", 1), -1);
    assert_null(al_json_get(stack, "x"));
    /* a copy is a tree of its own */
    al_json *copy = al_json_copy(stack);
    assert_int_equal(copy->refs, 0);
    assert_int_equal(al_json_set_int(copy, "x", 1), 0);
    al_json_free(copy);
    char *a = al_json_dumps(docs[0], -1);
    al_json_free(docs[0]);
    al_json_free(docs[1]);
    assert_int_equal(stack->refs, 1);
    char *b = al_json_dumps(docs[2], -1);
    assert_string_equal(a, b);
    al_json_free(docs[2]);                /* one owner left: stack itself */
    assert_int_equal(stack->refs, 0);
    al_json_free(stack);                  /* the last: valgrind/asan see no leak */
    free(a);
    free(b);
    assert_null(al_json_ref(NULL));
}

/* A compact write of a document that holds one shared subtree many times
 * (it is copied from its first serialization) reads exactly like one with
 * separate copies, also when several shared subtrees nest and evict each
 * other, and when written to a FILE in more than one staging buffer. */
static void test_shared_subtrees_write_like_copies(void **state)
{
    al_json *shared_doc = al_json_array(), *plain_doc = al_json_array();
    al_json *stacks[300];
    for (int i = 0; i < 300; i++) {
        stacks[i] = al_json_object();
        al_json *frames = al_json_array();
        for (int k = 0; k <= i % 5; k++) {
            al_json *fr = al_json_object();
            al_json_set_str(fr, "file", i % 2 ? "/a/\"q\".py" : "/b/\xc3\xa9\x01.py");
            al_json_set_int(fr, "line", i * 10 + k);
            al_json_append(frames, fr);
        }
        al_json_set(stacks[i], "frames", frames);
    }
    for (int n = 0; n < 3000; n++) {
        int i = (n * 7919) % 300;
        al_json *f = al_json_object(), *g = al_json_object();
        al_json_set_int(f, "id", n);
        al_json_set(f, "origin", al_json_ref(stacks[i]));
        al_json_set_int(g, "id", n);
        al_json_set(g, "origin", al_json_copy(stacks[i]));
        al_json_append(shared_doc, f);
        al_json_append(plain_doc, g);
    }
    char *a = al_json_dumps(shared_doc, -1), *b = al_json_dumps(plain_doc, -1);
    assert_non_null(a);
    assert_string_equal(a, b);
    assert_true(strlen(a) > 3 * 65536);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_int_equal(al_json_write(shared_doc, mem, -1), 0);
    fclose(mem);
    assert_int_equal(len, strlen(a));
    assert_memory_equal(buf, a, len);
    /* pretty output does not use the memo; still identical */
    char *pa = al_json_dumps(shared_doc, 1), *pb = al_json_dumps(plain_doc, 1);
    assert_string_equal(pa, pb);
    free(buf);
    free(a);
    free(b);
    free(pa);
    free(pb);
    al_json_free(shared_doc);
    al_json_free(plain_doc);
    for (int i = 0; i < 300; i++)
        al_json_free(stacks[i]);
}

/* Keys of the report format are pooled, others copied: both behave alike
 * (lookups, replacement, copies, freeing). */
static void test_pooled_and_copied_keys(void **state)
{
    char key[32];
    al_json *o = al_json_object();
    al_json_set_int(o, "kind", 1);
    snprintf(key, sizeof key, "%s", "frames");     /* a pooled name from a buffer */
    al_json_set_int(o, key, 2);
    snprintf(key, sizeof key, "%s", "not_a_known_key");
    al_json_set_int(o, key, 3);
    memset(key, 'x', sizeof key - 1);             /* the caller's buffer is reused */
    assert_int_equal(al_json_get_int(o, "kind", 0), 1);
    assert_int_equal(al_json_get_int(o, "frames", 0), 2);
    assert_int_equal(al_json_get_int(o, "not_a_known_key", 0), 3);
    al_json_set_int(o, "frames", 4);
    assert_int_equal(al_json_len(o), 3);
    al_json *c = al_json_copy(o);
    al_json_free(o);
    char *s = al_json_dumps(c, -1);
    assert_string_equal(s, "{\"kind\":1,\"frames\":4,\"not_a_known_key\":3}");
    free(s);
    al_json_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_empty_strings),
        cmocka_unit_test(test_quotes_and_backslashes),
        cmocka_unit_test(test_every_control_char),
        cmocka_unit_test(test_valid_utf8_passes_through),
        cmocka_unit_test(test_invalid_utf8_becomes_replacement),
        cmocka_unit_test(test_random_bytes_match_python_decoder),
        cmocka_unit_test(test_nested_compact),
        cmocka_unit_test(test_nested_pretty_matches_python),
        cmocka_unit_test(test_set_replaces_in_place),
        cmocka_unit_test(test_growth_and_order),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_null_tolerance),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_shared_nodes),
        cmocka_unit_test(test_shared_subtrees_write_like_copies),
        cmocka_unit_test(test_pooled_and_copied_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
