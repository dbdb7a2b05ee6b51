/* fuzz_options.c - libFuzzer target of the ASYNCLEAK_OPTIONS parser
 * (preload/options.c): the input, NUL-terminated, is parsed as the variable's
 * value (twice, the second time over the first result, as a repeated key
 * would), then used as a path pattern for al_path_expand() and as a signal
 * name for al_parse_signal().
 *
 * Beyond memory errors (ASan) and undefined behaviour (UBSan), it checks the
 * contracts of options.h and aborts when one is broken:
 *   - every complaint is ONE line: no control characters, at most 1023 bytes,
 *     starting with "asyncleak: ";
 *   - the return value counts the complaints;
 *   - every field is in its documented range after any input;
 *   - al_path_expand() equals a straightforward reference expansion;
 *   - al_parse_signal() returns -1 or a signal number 0..SIGRTMAX.
 * Built and run by `make fuzz-preload` (see the Makefile).
 */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_options: contract broken: %s: %s\n", what, detail ? detail : "");
    abort();
}

struct complaints {
    int count;
};

static void complain(void *ctx, const char *line)
{
    struct complaints *c = ctx;
    size_t n = strlen(line);

    c->count++;
    if (strncmp(line, "asyncleak: ", 11) != 0)
        fail("complaint does not start with 'asyncleak: '", line);
    if (n > 1023)
        fail("complaint longer than 1023 bytes", line);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch < 0x20 || ch == 0x7f)
            fail("control character in a complaint", line);
    }
}

static void check_string(const char *s, const char *name)
{
    if (s != NULL && *s == '\0')
        fail("empty string kept for", name);
}

static void check_ranges(const al_options *o)
{
    check_string(o->json_path, "json_path");
    check_string(o->log_path, "log_path");
    check_string(o->suppressions, "suppressions");
    check_string(o->resources, "resources");
    if (!isfinite(o->watchdog) || o->watchdog < 0 || o->watchdog > AL_OPTIONS_SECONDS_MAX)
        fail("watchdog out of range", NULL);
    if (!isfinite(o->interval) || o->interval < 0 || o->interval > AL_OPTIONS_SECONDS_MAX)
        fail("interval out of range", NULL);
    if (o->exitcode < -1 || o->exitcode > 255)
        fail("exitcode out of range", NULL);
    if (o->stack_depth < 1 || o->stack_depth > 256)
        fail("stack_depth out of range", NULL);
    if (o->native != 0 && o->native != 1)
        fail("native not 0/1", NULL);
    if (o->max_findings < 1 || o->max_findings > 10000000)
        fail("max_findings out of range", NULL);
    if (o->verbosity < 0 || o->verbosity > 2)
        fail("verbosity out of range", NULL);
    if (o->dump_signal < 0 || o->dump_signal > SIGRTMAX || o->dump_signal == SIGKILL
        || o->dump_signal == SIGSTOP)
        fail("dump_signal out of range", NULL);
}

/* The documented expansion: %p -> pid, %% -> %, anything else as is. */
static char *reference_expand(const char *pattern, long pid)
{
    char pidbuf[32];
    size_t cap = strlen(pattern) * 21 + 1, o = 0;
    char *out = malloc(cap);

    if (out == NULL)
        return NULL;
    snprintf(pidbuf, sizeof pidbuf, "%ld", pid);
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            memcpy(out + o, pidbuf, strlen(pidbuf));
            o += strlen(pidbuf);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            out[o++] = '%';
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long pids[] = { 0, 1, 12345, -1, LONG_MAX, LONG_MIN };
    char *spec = malloc(size + 1);
    al_options opts;
    struct complaints c = { 0 };
    int problems;

    if (spec == NULL)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';

    al_options_defaults(&opts);
    check_ranges(&opts);
    problems = al_options_parse(&opts, spec, complain, &c);
    if (problems != c.count)
        fail("return value is not the number of complaints", spec);
    check_ranges(&opts);
    /* Again over the first result (strings replaced, not leaked), and
     * without a callback (problems only counted). */
    if (al_options_parse(&opts, spec, NULL, NULL) != problems)
        fail("second parse counted differently", spec);
    check_ranges(&opts);
    al_options_free(&opts);
    al_options_free(&opts);     /* safe twice */
    al_options_free(NULL);
    if (opts.json_path || opts.log_path || opts.suppressions || opts.resources)
        fail("al_options_free left a string", NULL);

    for (size_t i = 0; i < sizeof pids / sizeof pids[0]; i++) {
        char *got = al_path_expand(spec, pids[i]);
        char *want = reference_expand(spec, pids[i]);
        if (got == NULL || want == NULL || strcmp(got, want) != 0)
            fail("al_path_expand differs from the documented expansion", spec);
        free(got);
        free(want);
    }
    if (al_path_expand(NULL, 1) != NULL)
        fail("al_path_expand(NULL) is not NULL", NULL);

    {
        int sig = al_parse_signal(spec);
        if (sig < -1 || sig > SIGRTMAX)
            fail("al_parse_signal out of range", spec);
    }
    free(spec);
    return 0;
}
