// links: preload/resspec.c
/* test_resspec.c - unit tests of preload/resspec.c: the parser of resource
 * kind spec lines "module:Class open=m1,m2 close=m3" (built-in kinds and the
 * lines of a resources=FILE).
 *
 * Every valid line is checked field by field; every error is checked by its
 * exact message (the text a user reads after "FILE:LINE: "), and that a
 * failed parse leaves *out empty (nothing to free, nothing leaked: run under
 * valgrind, see the end of this file). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resspec.h"

/* ---- helpers ---------------------------------------------------------- */

#define ERRLEN 160

/* A parse that must succeed; the caller frees *spec. */
static void parse_ok(const char *line, al_resspec *spec)
{
    char err[ERRLEN] = "";
    int rc = al_resspec_parse_line(line, spec, err, sizeof err);
    if (rc != 1)
        fail_msg("expected a kind from \"%s\", got rc %d, error \"%s\"", line, rc, err);
    assert_string_equal(err, "");
}

/* A parse that must fail with exactly msg; *out must be left empty. */
static void parse_err(const char *line, const char *msg)
{
    char err[ERRLEN];
    al_resspec spec;

    memset(err, 'x', sizeof err);
    err[sizeof err - 1] = '\0';
    memset(&spec, 0x5a, sizeof spec);      /* garbage: the parser must reset it */
    int rc = al_resspec_parse_line(line, &spec, err, sizeof err);
    if (rc != -1)
        fail_msg("expected an error from \"%s\", got rc %d", line, rc);
    if (strcmp(err, msg) != 0)
        fail_msg("error from \"%s\":\n  expected \"%s\"\n  got      \"%s\"", line, msg, err);
    assert_null(spec.module);
    assert_null(spec.qualname);
    assert_int_equal(spec.nopen, 0);
    assert_int_equal(spec.nclose, 0);
    for (int i = 0; i < AL_RES_MAX_METHODS; i++) {
        assert_null(spec.open[i]);
        assert_null(spec.close[i]);
    }
    al_resspec_free(&spec);                /* harmless on an empty spec */
}

/* A line that is no kind at all (blank or comment). */
static void parse_nothing(const char *line)
{
    char err[ERRLEN] = "";
    al_resspec spec;

    memset(&spec, 0x5a, sizeof spec);
    int rc = al_resspec_parse_line(line, &spec, err, sizeof err);
    if (rc != 0)
        fail_msg("expected a blank/comment line from \"%s\", got rc %d, error \"%s\"", line, rc, err);
    assert_null(spec.module);
    assert_null(spec.qualname);
    assert_int_equal(spec.nopen, 0);
    assert_int_equal(spec.nclose, 0);
    al_resspec_free(&spec);
}

/* The methods of a list: n names, NULL after them. */
static void assert_methods(char *const *got, int ngot, const char *const *want, int nwant)
{
    assert_int_equal(ngot, nwant);
    for (int i = 0; i < nwant; i++)
        assert_string_equal(got[i], want[i]);
    for (int i = nwant; i < AL_RES_MAX_METHODS; i++)
        assert_null(got[i]);
}

#define METHODS(...) ((const char *const[]){__VA_ARGS__}), \
    (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void check_kind(const char *line, const char *module, const char *qualname,
                       const char *const *open, int nopen, const char *const *close, int nclose)
{
    al_resspec spec;

    parse_ok(line, &spec);
    assert_string_equal(spec.module, module);
    assert_string_equal(spec.qualname, qualname);
    assert_methods(spec.open, spec.nopen, open, nopen);
    assert_methods(spec.close, spec.nclose, close, nclose);
    al_resspec_free(&spec);
    assert_null(spec.module);
    assert_int_equal(spec.nopen, 0);
    assert_int_equal(spec.nclose, 0);
}

/* ---- valid lines -------------------------------------------------------- */

/* The built-in kinds of hooks_resource.c, as written there. */
static void test_builtin_lines(void **state)
{
    (void)state;
    check_kind("aiohttp.client:ClientSession open=__init__ close=close",
               "aiohttp.client", "ClientSession", METHODS("__init__"), METHODS("close"));
    check_kind("aiohttp.connector:BaseConnector open=__init__ close=close",
               "aiohttp.connector", "BaseConnector", METHODS("__init__"), METHODS("close"));
    check_kind("asyncio.base_subprocess:BaseSubprocessTransport open=__init__ close=close",
               "asyncio.base_subprocess", "BaseSubprocessTransport", METHODS("__init__"), METHODS("close"));
    check_kind("httpx:AsyncClient open=__init__ close=aclose",
               "httpx", "AsyncClient", METHODS("__init__"), METHODS("aclose"));
    check_kind("asyncpg.connection:Connection open=__init__ close=close,terminate",
               "asyncpg.connection", "Connection", METHODS("__init__"), METHODS("close", "terminate"));
    check_kind("redis.asyncio.connection:ConnectionPool open=__init__ close=disconnect,aclose",
               "redis.asyncio.connection", "ConnectionPool", METHODS("__init__"),
               METHODS("disconnect", "aclose"));
}

/* open= left out means open=__init__. */
static void test_default_open(void **state)
{
    (void)state;
    check_kind("mylib:Pool close=shutdown", "mylib", "Pool", METHODS("__init__"), METHODS("shutdown"));
    check_kind("m:C close=c", "m", "C", METHODS("__init__"), METHODS("c"));
}

static void test_several_methods(void **state)
{
    (void)state;
    check_kind("mylib.pool:Pool open=__init__,reopen close=close,terminate",
               "mylib.pool", "Pool", METHODS("__init__", "reopen"), METHODS("close", "terminate"));
    /* AL_RES_MAX_METHODS of each is the limit, not an error */
    check_kind("m:C open=a,b,c,d close=e,f,g,h", "m", "C",
               METHODS("a", "b", "c", "d"), METHODS("e", "f", "g", "h"));
    /* close= may come first */
    check_kind("m:C close=stop open=start", "m", "C", METHODS("start"), METHODS("stop"));
}

/* Class names may be dotted (nested classes); modules are dotted names. */
static void test_dotted_names(void **state)
{
    (void)state;
    check_kind("pkg.sub.mod:Outer.Inner close=release", "pkg.sub.mod", "Outer.Inner",
               METHODS("__init__"), METHODS("release"));
    check_kind("a.b.c.d:E.F.G open=go close=stop", "a.b.c.d", "E.F.G", METHODS("go"), METHODS("stop"));
    check_kind("__main__:Channel open=connect close=disconnect", "__main__", "Channel",
               METHODS("connect"), METHODS("disconnect"));
    check_kind("_m2.x_3:_C4 close=_c5", "_m2.x_3", "_C4", METHODS("__init__"), METHODS("_c5"));
}

static void test_blank_and_comment_lines(void **state)
{
    (void)state;
    parse_nothing("");
    parse_nothing("\n");
    parse_nothing("\r\n");
    parse_nothing("   ");
    parse_nothing("\t\t\n");
    parse_nothing("# a comment");
    parse_nothing("#aiohttp.client:ClientSession close=close");
    parse_nothing("   # indented comment\n");
    parse_nothing("\t# tab-indented comment");
}

/* Line endings of a file read with getline(): "\n" and "\r\n". */
static void test_line_endings(void **state)
{
    (void)state;
    check_kind("m:C close=c\n", "m", "C", METHODS("__init__"), METHODS("c"));
    check_kind("m:C open=o close=c\r\n", "m", "C", METHODS("o"), METHODS("c"));
}

static void test_trailing_comments(void **state)
{
    (void)state;
    check_kind("m:C close=c # closes it", "m", "C", METHODS("__init__"), METHODS("c"));
    check_kind("m:C close=c#no space", "m", "C", METHODS("__init__"), METHODS("c"));
    check_kind("m:C open=a,b close=c,d   # comment, with=signs and:colons\n", "m", "C",
               METHODS("a", "b"), METHODS("c", "d"));
}

static void test_tabs_and_spaces(void **state)
{
    (void)state;
    check_kind("\tm.n:C\topen=a\tclose=b\t", "m.n", "C", METHODS("a"), METHODS("b"));
    check_kind("   m:C    open=a  \t  close=b   \n", "m", "C", METHODS("a"), METHODS("b"));
    check_kind(" \t res_userlib:Pool\topen=__init__,reopen   close=shutdown,terminate   # tabs\n",
               "res_userlib", "Pool", METHODS("__init__", "reopen"), METHODS("shutdown", "terminate"));
}

/* ---- errors ----------------------------------------------------------- */

static void test_missing_colon(void **state)
{
    (void)state;
    parse_err("aiohttp.ClientSession close=close",
              "expected module:Class first, got 'aiohttp.ClientSession'");
    parse_err("close=close", "expected module:Class first, got 'close=close'");
    parse_err("  Pool\tclose=x", "expected module:Class first, got 'Pool'");
    /* the colon must be in the first token */
    parse_err("mod :Class close=x", "expected module:Class first, got 'mod'");
}

static void test_bad_identifiers(void **state)
{
    (void)state;
    parse_err(":C close=c", "expected module:Class first, got ':C'");
    parse_err("m: close=c", "expected module:Class first, got 'm:'");
    parse_err("1mod:C close=c", "expected module:Class first, got '1mod:C'");
    parse_err("m:2C close=c", "expected module:Class first, got 'm:2C'");
    parse_err("m.1x:C close=c", "expected module:Class first, got 'm.1x:C'");
    parse_err("m:C.9 close=c", "expected module:Class first, got 'm:C.9'");
    parse_err(".m:C close=c", "expected module:Class first, got '.m:C'");
    parse_err("m.:C close=c", "expected module:Class first, got 'm.:C'");
    parse_err("m..n:C close=c", "expected module:Class first, got 'm..n:C'");
    parse_err("m:.C close=c", "expected module:Class first, got 'm:.C'");
    parse_err("m:C. close=c", "expected module:Class first, got 'm:C.'");
    parse_err("m:A..B close=c", "expected module:Class first, got 'm:A..B'");
    parse_err("my-lib:C close=c", "expected module:Class first, got 'my-lib:C'");
    parse_err("m:C:D close=c", "expected module:Class first, got 'm:C:D'");
    parse_err("m:C() close=c", "expected module:Class first, got 'm:C()'");
    parse_err("m/x.py:C close=c", "expected module:Class first, got 'm/x.py:C'");
}

/* The token quoted in the message is cut at 80 characters. */
static void test_long_token_is_cut(void **state)
{
    (void)state;
    char line[300], want[200];

    memset(line, 'a', 120);
    strcpy(line + 120, " close=c");              /* 120 letters, no colon */
    snprintf(want, sizeof want, "expected module:Class first, got '%.80s'", line);
    parse_err(line, want);
    assert_int_equal(strlen(want), strlen("expected module:Class first, got ''") + 80);
}

static void test_bad_method_names(void **state)
{
    (void)state;
    parse_err("m:C close=a.b", "bad method name 'a.b' in close=");
    parse_err("m:C open=1a close=c", "bad method name '1a' in open=");
    parse_err("m:C close=a-b", "bad method name 'a-b' in close=");
    parse_err("m:C close=a=b", "bad method name 'a=b' in close=");
    parse_err("m:C close=ok,b@d", "bad method name 'b@d' in close=");
    parse_err("m:C open=x:y close=c", "bad method name 'x:y' in open=");
}

static void test_empty_method(void **state)
{
    (void)state;
    parse_err("m:C close=", "bad method name '' in close=");
    parse_err("m:C close= # nothing", "bad method name '' in close=");
    parse_err("m:C open= close=c", "bad method name '' in open=");
    parse_err("m:C close=a,,b", "bad method name '' in close=");
    parse_err("m:C close=a,", "bad method name '' in close=");
    parse_err("m:C open=,a close=c", "bad method name '' in open=");
    parse_err("m:C close=,", "bad method name '' in close=");
}

static void test_unknown_key(void **state)
{
    (void)state;
    parse_err("m:C opne=x close=c", "unknown key 'opne' (expected open or close)");
    parse_err("m:C close=c timeout=5", "unknown key 'timeout' (expected open or close)");
    parse_err("m:C Open=x close=c", "unknown key 'Open' (expected open or close)");
    parse_err("m:C =x close=c", "unknown key '' (expected open or close)");
    /* a key is cut at 40 characters in the message */
    parse_err("m:C abcdefghijabcdefghijabcdefghijabcdefghijXYZ=1 close=c",
              "unknown key 'abcdefghijabcdefghijabcdefghijabcdefghij' (expected open or close)");
}

static void test_item_without_equals(void **state)
{
    (void)state;
    parse_err("m:C close", "expected open=... or close=..., got 'close'");
    parse_err("m:C close=c extra", "expected open=... or close=..., got 'extra'");
    parse_err("m:C open close=c", "expected open=... or close=..., got 'open'");
}

static void test_duplicate_key(void **state)
{
    (void)state;
    parse_err("m:C close=a close=b", "close= given twice");
    parse_err("m:C open=a open=b close=c", "open= given twice");
    parse_err("m:C open=a close=c open=b", "open= given twice");
}

static void test_missing_close(void **state)
{
    (void)state;
    parse_err("m:C", "missing close=METHOD");
    parse_err("m:C\n", "missing close=METHOD");
    parse_err("mylib:Pool open=start", "missing close=METHOD");
    parse_err("m:C # close=c", "missing close=METHOD");
    parse_err("m:C#close=c", "missing close=METHOD");
}

static void test_too_many_methods(void **state)
{
    (void)state;
    parse_err("m:C close=a,b,c,d,e", "at most 4 methods in close=");
    parse_err("m:C open=a,b,c,d,e close=x", "at most 4 methods in open=");
}

/* The message is cut to errlen bytes, always terminated. */
static void test_short_error_buffer(void **state)
{
    (void)state;
    char err[10];
    al_resspec spec;

    memset(err, 'x', sizeof err);
    assert_int_equal(al_resspec_parse_line("m:C", &spec, err, sizeof err), -1);
    assert_string_equal(err, "missing c");
    assert_int_equal(al_resspec_parse_line("m:C close=a,b,c,d,e", &spec, err, sizeof err), -1);
    assert_string_equal(err, "at most 4");
    assert_null(spec.module);
}

/* free() resets the spec: a second free is harmless. */
static void test_free_twice(void **state)
{
    (void)state;
    al_resspec spec;

    parse_ok("m.n:C.D open=a,b close=c,d", &spec);
    al_resspec_free(&spec);
    assert_null(spec.module);
    assert_null(spec.qualname);
    assert_null(spec.open[0]);
    assert_null(spec.close[0]);
    assert_int_equal(spec.nopen, 0);
    assert_int_equal(spec.nclose, 0);
    al_resspec_free(&spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_lines),
        cmocka_unit_test(test_default_open),
        cmocka_unit_test(test_several_methods),
        cmocka_unit_test(test_dotted_names),
        cmocka_unit_test(test_blank_and_comment_lines),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_trailing_comments),
        cmocka_unit_test(test_tabs_and_spaces),
        cmocka_unit_test(test_missing_colon),
        cmocka_unit_test(test_bad_identifiers),
        cmocka_unit_test(test_long_token_is_cut),
        cmocka_unit_test(test_bad_method_names),
        cmocka_unit_test(test_empty_method),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_item_without_equals),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_missing_close),
        cmocka_unit_test(test_too_many_methods),
        cmocka_unit_test(test_short_error_buffer),
        cmocka_unit_test(test_free_twice),
    };
    /* valgrind --leak-check=full --error-exitcode=1 build/tests/test_resspec */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
