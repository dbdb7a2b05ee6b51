// links: preload/options.c
/* test_options.c - unit tests of the ASYNCLEAK_OPTIONS parser, path patterns and signal names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* ---- helpers ---------------------------------------------------------- */

#define MAX_LINES 16

/* Collects the complaint lines of one parse. */
typedef struct {
    char *lines[MAX_LINES];
    int n;
} complaints;

static void collect(void *ctx, const char *line)
{
    complaints *c = ctx;
    assert_non_null(line);
    assert_true(c->n < MAX_LINES);
    c->lines[c->n] = strdup(line);
    assert_non_null(c->lines[c->n]);
    c->n++;
}

static void complaints_free(complaints *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->lines[i]);
    c->n = 0;
}

/* Every complaint is exactly one line. */
static void assert_one_line(const char *line)
{
    for (const char *p = line; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* Parses spec into fresh defaults; returns the count and fills *c. */
static int parse(al_options *o, const char *spec, complaints *c)
{
    al_options_defaults(o);
    memset(c, 0, sizeof *c);
    int n = al_options_parse(o, spec, collect, c);
    assert_int_equal(n, c->n);          /* one complaint per problem */
    for (int i = 0; i < c->n; i++)
        assert_one_line(c->lines[i]);
    return n;
}

/* Asserts that every field except those it is told to skip still holds its
 * default; used after bad values. */
static void assert_defaults(const al_options *o)
{
    assert_null(o->json_path);
    assert_null(o->log_path);
    assert_true(o->watchdog == 10.0);
    assert_int_equal(o->exitcode, -1);
    assert_int_equal(o->stack_depth, 32);
    assert_int_equal(o->native, 0);
    assert_int_equal(o->max_findings, 10000);
    assert_int_equal(o->verbosity, 0);
    assert_null(o->suppressions);
    assert_null(o->resources);
    assert_int_equal(o->dump_signal, SIGUSR2);
    assert_true(o->interval == 0.0);
}

/* Parses "key=value", expects exactly one bad-value complaint naming both,
 * and all options left at their defaults. */
static void expect_bad(const char *key, const char *value)
{
    char spec[256];
    al_options o;
    complaints c;

    snprintf(spec, sizeof spec, "%s=%s", key, value);
    assert_int_equal(parse(&o, spec, &c), 1);
    char want[300];
    snprintf(want, sizeof want, "asyncleak: bad value '%s' for option '%s': ", value, key);
    if (strncmp(c.lines[0], want, strlen(want)) != 0)
        fail_msg("spec '%s': got complaint \"%s\"", spec, c.lines[0]);
    assert_true(strlen(c.lines[0]) > strlen(want) + strlen("expected"));
    assert_defaults(&o);
    complaints_free(&c);
    al_options_free(&o);
}

/* ---- defaults and empty specs ----------------------------------------- */

static void test_defaults(void **state)
{
    al_options o;
    memset(&o, 0x5a, sizeof o);         /* garbage, as on the stack */
    al_options_defaults(&o);
    assert_defaults(&o);
    al_options_free(&o);
}

static void test_null_and_empty_spec(void **state)
{
    al_options o;
    complaints c;

    al_options_defaults(&o);
    assert_int_equal(al_options_parse(&o, NULL, collect, &c), 0);
    assert_defaults(&o);
    assert_int_equal(parse(&o, "", &c), 0);
    assert_defaults(&o);
    assert_int_equal(parse(&o, ":", &c), 0);
    assert_int_equal(parse(&o, ":::", &c), 0);
    assert_defaults(&o);
}

/* ---- each key, valid values ------------------------------------------- */

static void test_string_keys(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, "json_path=/tmp/al.%p.json:log_path=/tmp/al.log:"
                               "suppressions=/etc/supp.txt:resources=res.spec", &c), 0);
    assert_string_equal(o.json_path, "/tmp/al.%p.json");   /* kept as a pattern */
    assert_string_equal(o.log_path, "/tmp/al.log");
    assert_string_equal(o.suppressions, "/etc/supp.txt");
    assert_string_equal(o.resources, "res.spec");
    /* whitespace is not trimmed: it is part of a path */
    al_options_free(&o);
    assert_int_equal(parse(&o, "log_path= x ", &c), 0);
    assert_string_equal(o.log_path, " x ");
    al_options_free(&o);
    assert_null(o.log_path);
    al_options_free(&o);                /* twice is fine */
    al_options_free(NULL);
}

static void test_seconds_keys(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, "watchdog=2.5:interval=30", &c), 0);
    assert_true(o.watchdog == 2.5);
    assert_true(o.interval == 30.0);
    assert_int_equal(parse(&o, "watchdog=0:interval=.25", &c), 0);
    assert_true(o.watchdog == 0.0);
    assert_true(o.interval == 0.25);
    assert_int_equal(parse(&o, "watchdog=1e1:interval=+3.", &c), 0);
    assert_true(o.watchdog == 10.0);
    assert_true(o.interval == 3.0);
    /* huge but finite values are clamped to "never" */
    assert_int_equal(parse(&o, "watchdog=1e300", &c), 0);
    assert_true(o.watchdog == AL_OPTIONS_SECONDS_MAX);
}

static void test_int_keys(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, "exitcode=23:stack_depth=64:max_findings=5:verbosity=2", &c), 0);
    assert_int_equal(o.exitcode, 23);
    assert_int_equal(o.stack_depth, 64);
    assert_int_equal(o.max_findings, 5);
    assert_int_equal(o.verbosity, 2);
    /* bounds, inclusive */
    assert_int_equal(parse(&o, "exitcode=0:stack_depth=1:max_findings=1:verbosity=0", &c), 0);
    assert_int_equal(o.exitcode, 0);
    assert_int_equal(o.stack_depth, 1);
    assert_int_equal(o.max_findings, 1);
    assert_int_equal(o.verbosity, 0);
    assert_int_equal(parse(&o, "exitcode=255:stack_depth=256:max_findings=10000000:verbosity=1",
                           &c), 0);
    assert_int_equal(o.exitcode, 255);
    assert_int_equal(o.stack_depth, 256);
    assert_int_equal(o.max_findings, 10000000);
    assert_int_equal(o.verbosity, 1);
    assert_int_equal(parse(&o, "exitcode=+7:stack_depth=008", &c), 0);
    assert_int_equal(o.exitcode, 7);
    assert_int_equal(o.stack_depth, 8);  /* decimal, not octal */
}

static void test_bool_key(void **state)
{
    static const char *const on[] = { "1", "true", "yes", "TRUE", "Yes" };
    static const char *const off[] = { "0", "false", "no", "False", "NO" };
    al_options o;
    complaints c;
    char spec[64];

    for (size_t i = 0; i < 5; i++) {
        snprintf(spec, sizeof spec, "native=%s", on[i]);
        assert_int_equal(parse(&o, spec, &c), 0);
        assert_int_equal(o.native, 1);
        snprintf(spec, sizeof spec, "native=1:native=%s", off[i]);
        assert_int_equal(parse(&o, spec, &c), 0);
        assert_int_equal(o.native, 0);
    }
}

static void test_signal_key(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, "dump_signal=SIGUSR1", &c), 0);
    assert_int_equal(o.dump_signal, SIGUSR1);
    assert_int_equal(parse(&o, "dump_signal=HUP", &c), 0);
    assert_int_equal(o.dump_signal, SIGHUP);
    assert_int_equal(parse(&o, "dump_signal=10", &c), 0);
    assert_int_equal(o.dump_signal, 10);
    assert_int_equal(parse(&o, "dump_signal=none", &c), 0);
    assert_int_equal(o.dump_signal, 0);
    assert_int_equal(parse(&o, "dump_signal=RTMIN+1", &c), 0);
    assert_int_equal(o.dump_signal, SIGRTMIN + 1);
}

/* ---- bad values ------------------------------------------------------- */

static void test_bad_numbers(void **state)
{
    static const char *const bad_seconds[] = {
        "", "abc", "1x", "x1", " 1", "1 ", "-1", "-0.5", "nan", "NaN", "inf", "-inf",
        "infinity", "0x10", "1e", "e1", ".", "+", "1e400", "1..2", "1e-400",
    };
    static const char *const bad_ints[] = {
        "", "abc", "1x", " 1", "1 ", "1.0", "1e3", "nan", "inf", "0x10", "+", "-",
        "99999999999999999999", "-99999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad_seconds / sizeof *bad_seconds; i++) {
        expect_bad("watchdog", bad_seconds[i]);
        expect_bad("interval", bad_seconds[i]);
    }
    for (size_t i = 0; i < sizeof bad_ints / sizeof *bad_ints; i++) {
        expect_bad("exitcode", bad_ints[i]);
        expect_bad("stack_depth", bad_ints[i]);
        expect_bad("max_findings", bad_ints[i]);
        expect_bad("verbosity", bad_ints[i]);
    }
}

static void test_bad_ranges(void **state)
{
    expect_bad("exitcode", "-1");
    expect_bad("exitcode", "256");
    expect_bad("stack_depth", "0");
    expect_bad("stack_depth", "257");
    expect_bad("stack_depth", "-5");
    expect_bad("max_findings", "0");
    expect_bad("max_findings", "10000001");
    expect_bad("verbosity", "3");
    expect_bad("verbosity", "-1");
}

static void test_bad_other_values(void **state)
{
    expect_bad("native", "");
    expect_bad("native", "2");
    expect_bad("native", "on");
    expect_bad("native", " 1");
    expect_bad("json_path", "");
    expect_bad("log_path", "");
    expect_bad("suppressions", "");
    expect_bad("resources", "");
    expect_bad("dump_signal", "");
    expect_bad("dump_signal", "FOO");
    expect_bad("dump_signal", "SIGKILL");  /* cannot be caught */
    expect_bad("dump_signal", "STOP");
    expect_bad("dump_signal", "9");
    expect_bad("dump_signal", "-1");
    expect_bad("dump_signal", "1000");
}

/* ---- exact complaint texts -------------------------------------------- */

static void test_exact_messages(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, "watchdog=abc", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: bad value 'abc' for option 'watchdog': expected seconds >= 0");
    complaints_free(&c);

    assert_int_equal(parse(&o, "jsonpath=/tmp/x", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: unknown option 'jsonpath' in ASYNCLEAK_OPTIONS (known: json_path, "
        "log_path, watchdog, exitcode, stack_depth, native, native_text, max_findings, verbosity, "
        "suppressions, resources, dump_signal, interval)");
    complaints_free(&c);

    assert_int_equal(parse(&o, "exitcode=300", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: bad value '300' for option 'exitcode': expected an integer 0..255");
    complaints_free(&c);

    assert_int_equal(parse(&o, "native=maybe", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: bad value 'maybe' for option 'native': expected 0, 1, true, false, yes or no");
    complaints_free(&c);

    assert_int_equal(parse(&o, "verbose", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: bad item 'verbose' in ASYNCLEAK_OPTIONS: expected key=value");
    complaints_free(&c);

    assert_int_equal(parse(&o, "=3", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: empty option name in item '=3' in ASYNCLEAK_OPTIONS: expected key=value");
    complaints_free(&c);

    /* keys are case-sensitive and not trimmed */
    assert_int_equal(parse(&o, "Watchdog=1: watchdog=1", &c), 2);
    assert_non_null(strstr(c.lines[0], "unknown option 'Watchdog'"));
    assert_non_null(strstr(c.lines[1], "unknown option ' watchdog'"));
    assert_true(o.watchdog == 10.0);
    complaints_free(&c);
}

/* Control characters in the offending text are escaped, long text is cut:
 * the complaint stays one readable line. */
static void test_message_is_one_line(void **state)
{
    al_options o;
    complaints c;
    char spec[1200];

    assert_int_equal(parse(&o, "watchdog=1\n2\t", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: bad value '1\\x0a2\\x09' for option 'watchdog': expected seconds >= 0");
    complaints_free(&c);

    memset(spec, 0, sizeof spec);
    strcpy(spec, "stack_depth=");
    memset(spec + strlen(spec), '7', 1000);
    assert_int_equal(parse(&o, spec, &c), 1);
    assert_true(strlen(c.lines[0]) < 300);
    assert_non_null(strstr(c.lines[0], "7777...' for option 'stack_depth'"));
    assert_int_equal(o.stack_depth, 32);
    complaints_free(&c);
}

/* ---- combination rules ------------------------------------------------ */

static void test_problems_counted_and_later_pairs_apply(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, "bogus=1:watchdog=-3:stack_depth=16:noequals:native=1", &c), 3);
    assert_non_null(strstr(c.lines[0], "'bogus'"));
    assert_non_null(strstr(c.lines[1], "'-3'"));
    assert_non_null(strstr(c.lines[1], "'watchdog'"));
    assert_non_null(strstr(c.lines[2], "'noequals'"));
    assert_true(o.watchdog == 10.0);
    assert_int_equal(o.stack_depth, 16);
    assert_int_equal(o.native, 1);
    complaints_free(&c);
}

/* native_text: one of three words, any case; a bad one keeps the default
 * and is named in one line. */
static void test_native_text_key(void **state)
{
    al_options o;
    complaints c;

    al_options_defaults(&o);
    assert_int_equal(o.native_text, AL_NATIVE_TEXT_HYBRID);
    assert_int_equal(parse(&o, "native_text=separate", &c), 0);
    assert_int_equal(o.native_text, AL_NATIVE_TEXT_SEPARATE);
    assert_int_equal(parse(&o, "native_text=OFF", &c), 0);
    assert_int_equal(o.native_text, AL_NATIVE_TEXT_OFF);
    assert_int_equal(parse(&o, "native_text=off:native_text=Hybrid", &c), 0);
    assert_int_equal(o.native_text, AL_NATIVE_TEXT_HYBRID);

    assert_int_equal(parse(&o, "native_text=native", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: bad value 'native' for option 'native_text': expected hybrid, separate or off");
    assert_int_equal(o.native_text, AL_NATIVE_TEXT_HYBRID);
    complaints_free(&c);
    assert_int_equal(parse(&o, "native_text=off:native_text=:native_text= off", &c), 2);
    assert_int_equal(o.native_text, AL_NATIVE_TEXT_OFF);   /* the last valid value */
    complaints_free(&c);
}

static void test_null_callback_counts(void **state)
{
    al_options o;
    al_options_defaults(&o);
    assert_int_equal(al_options_parse(&o, "a=1:watchdog=x:exitcode=4:y", NULL, NULL), 3);
    assert_int_equal(o.exitcode, 4);
    assert_true(o.watchdog == 10.0);
    al_options_free(&o);
}

static void test_last_wins(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, "watchdog=1:watchdog=2:exitcode=3:exitcode=4", &c), 0);
    assert_true(o.watchdog == 2.0);
    assert_int_equal(o.exitcode, 4);
    /* strings: the earlier copy is freed (valgrind checks) */
    assert_int_equal(parse(&o, "json_path=a:json_path=b:json_path=c", &c), 0);
    assert_string_equal(o.json_path, "c");
    al_options_free(&o);
    /* a bad repeat keeps the earlier valid value */
    assert_int_equal(parse(&o, "json_path=a:json_path=:stack_depth=8:stack_depth=0", &c), 2);
    assert_string_equal(o.json_path, "a");
    assert_int_equal(o.stack_depth, 8);
    complaints_free(&c);
    al_options_free(&o);
}

static void test_empty_items_ignored(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, ":exitcode=1::native=yes:::log_path=l:", &c), 0);
    assert_int_equal(o.exitcode, 1);
    assert_int_equal(o.native, 1);
    assert_string_equal(o.log_path, "l");
    al_options_free(&o);
}

static void test_equals_inside_value(void **state)
{
    al_options o;
    complaints c;

    assert_int_equal(parse(&o, "json_path=/tmp/a=b.%p.json:log_path==x=", &c), 0);
    assert_string_equal(o.json_path, "/tmp/a=b.%p.json");
    assert_string_equal(o.log_path, "=x=");
    al_options_free(&o);
    /* for a number, the '=' makes the value bad, named whole */
    assert_int_equal(parse(&o, "watchdog=1=2", &c), 1);
    assert_string_equal(c.lines[0],
        "asyncleak: bad value '1=2' for option 'watchdog': expected seconds >= 0");
    complaints_free(&c);
}

/* ---- al_path_expand --------------------------------------------------- */

static void expect_expand(const char *pattern, long pid, const char *want)
{
    char *got = al_path_expand(pattern, pid);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_path_expand(void **state)
{
    expect_expand("/tmp/al.%p.json", 1234, "/tmp/al.1234.json");
    expect_expand("%p", 7, "7");
    expect_expand("%p-%p", 42, "42-42");
    expect_expand("100%%", 1, "100%");
    expect_expand("%%p", 1, "%p");           /* escaped, not a pid */
    expect_expand("%%%p", 9, "%9");
    expect_expand("a%xb%Y", 1, "a%xb%Y");    /* other %X kept literally */
    expect_expand("end%", 1, "end%");        /* trailing % kept */
    expect_expand("%", 1, "%");
    expect_expand("", 1, "");
    expect_expand("plain", 1, "plain");
    expect_expand("%p", 4194304L, "4194304");
    expect_expand("%p", -1, "-1");
    assert_null(al_path_expand(NULL, 1));
}

/* ---- al_parse_signal -------------------------------------------------- */

static void test_parse_signal(void **state)
{
    assert_int_equal(al_parse_signal("SIGUSR2"), SIGUSR2);
    assert_int_equal(al_parse_signal("USR2"), SIGUSR2);
    assert_int_equal(al_parse_signal("usr2"), SIGUSR2);
    assert_int_equal(al_parse_signal("sigusr1"), SIGUSR1);
    assert_int_equal(al_parse_signal("12"), 12);
    assert_int_equal(al_parse_signal("SIGTERM"), SIGTERM);
    assert_int_equal(al_parse_signal("INT"), SIGINT);
    assert_int_equal(al_parse_signal("WINCH"), SIGWINCH);
    assert_int_equal(al_parse_signal("KILL"), SIGKILL);  /* a valid name; the option rejects it */
    assert_int_equal(al_parse_signal("none"), 0);
    assert_int_equal(al_parse_signal("NONE"), 0);
    assert_int_equal(al_parse_signal("0"), 0);
    assert_int_equal(al_parse_signal("SIGRTMIN"), SIGRTMIN);
    assert_int_equal(al_parse_signal("RTMIN+2"), SIGRTMIN + 2);
    assert_int_equal(al_parse_signal("SIGRTMAX"), SIGRTMAX);
    assert_int_equal(al_parse_signal("RTMAX-1"), SIGRTMAX - 1);
    char num[16];
    snprintf(num, sizeof num, "%d", SIGRTMAX);
    assert_int_equal(al_parse_signal(num), SIGRTMAX);

    static const char *const bad[] = {
        "", "SIG", "FOO", "SIGFOO", "12x", "-1", "+12", " 12", "12 ", "USR2 ", "1e1",
        "99999999999999999999", "SIGnone", "RTMIN+", "RTMIN-1", "RTMAX+1", "RTMIN+1000",
        "RTMAX-1000", "RTMIN+x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (al_parse_signal(bad[i]) != -1)
            fail_msg("al_parse_signal(\"%s\") = %d, want -1", bad[i], al_parse_signal(bad[i]));
    snprintf(num, sizeof num, "%d", SIGRTMAX + 1);
    assert_int_equal(al_parse_signal(num), -1);
    assert_int_equal(al_parse_signal(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_null_and_empty_spec),
        cmocka_unit_test(test_string_keys),
        cmocka_unit_test(test_seconds_keys),
        cmocka_unit_test(test_int_keys),
        cmocka_unit_test(test_bool_key),
        cmocka_unit_test(test_signal_key),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_bad_ranges),
        cmocka_unit_test(test_bad_other_values),
        cmocka_unit_test(test_exact_messages),
        cmocka_unit_test(test_message_is_one_line),
        cmocka_unit_test(test_problems_counted_and_later_pairs_apply),
        cmocka_unit_test(test_native_text_key),
        cmocka_unit_test(test_null_callback_counts),
        cmocka_unit_test(test_last_wins),
        cmocka_unit_test(test_empty_items_ignored),
        cmocka_unit_test(test_equals_inside_value),
        cmocka_unit_test(test_path_expand),
        cmocka_unit_test(test_parse_signal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
