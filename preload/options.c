/* options.c - parses ASYNCLEAK_OPTIONS (key=value:key=value) into al_options.
 *
 * Pure C (no CPython), no global state: the option table below is constant.
 * Contracts are in options.h.
 */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- option table ----------------------------------------------------- */

enum opt_kind {
    K_STRING,   /* char *, non-empty, copied */
    K_SECONDS,  /* double, finite, >= 0 */
    K_INT,      /* int, decimal, min..max */
    K_BOOL,     /* int, 0|1|true|false|yes|no */
    K_SIGNAL,   /* int, al_parse_signal() minus uncatchable signals */
    K_CHOICE    /* int, the index of the word in choices (case-insensitive) */
};

struct opt_desc {
    const char *name;
    enum opt_kind kind;
    size_t offset;          /* of the field in al_options */
    long min, max;          /* K_INT only */
    const char *expect;     /* tail of the complaint: what is accepted */
    const char *const *choices;   /* K_CHOICE only: the words, NULL-terminated */
};

#define OPT(name, kind, min, max, expect) \
    { #name, kind, offsetof(al_options, name), min, max, expect, NULL }
#define OPT_CHOICE(name, choices, expect) \
    { #name, K_CHOICE, offsetof(al_options, name), 0, 0, expect, choices }

/* native_text: indexes are the AL_NATIVE_TEXT_* values of render_text.h. */
static const char *const native_text_words[] = { "hybrid", "separate", "off", NULL };
_Static_assert(AL_NATIVE_TEXT_HYBRID == 0 && AL_NATIVE_TEXT_SEPARATE == 1 && AL_NATIVE_TEXT_OFF == 2,
               "native_text_words follows the AL_NATIVE_TEXT_* values");

static const struct opt_desc opt_table[] = {
    OPT(json_path,    K_STRING,  0, 0,        "expected a non-empty path pattern (%p = pid)"),
    OPT(log_path,     K_STRING,  0, 0,        "expected a non-empty path pattern (%p = pid)"),
    OPT(watchdog,     K_SECONDS, 0, 0,        "expected seconds >= 0"),
    OPT(exitcode,     K_INT,     0, 255,      "expected an integer 0..255"),
    OPT(stack_depth,  K_INT,     1, 256,      "expected an integer 1..256"),
    OPT(native,       K_BOOL,    0, 0,        "expected 0, 1, true, false, yes or no"),
    OPT_CHOICE(native_text, native_text_words, "expected hybrid, separate or off"),
    OPT(max_findings, K_INT,     1, 10000000, "expected an integer 1..10000000"),
    OPT(verbosity,    K_INT,     0, 2,        "expected 0, 1 or 2"),
    OPT(suppressions, K_STRING,  0, 0,        "expected a non-empty file path"),
    OPT(resources,    K_STRING,  0, 0,        "expected a non-empty file path"),
    OPT(dump_signal,  K_SIGNAL,  0, 0,
        "expected a catchable signal name or number (e.g. SIGUSR2, USR2, 12) or none"),
    OPT(interval,     K_SECONDS, 0, 0,        "expected seconds >= 0"),
};

#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

void al_options_defaults(al_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->json_path = NULL;
    opts->log_path = NULL;
    opts->watchdog = 10.0;
    opts->exitcode = -1;
    opts->stack_depth = 32;
    opts->native = 0;
    opts->native_text = AL_NATIVE_TEXT_HYBRID;
    opts->max_findings = 10000;
    opts->verbosity = 0;
    opts->suppressions = NULL;
    opts->resources = NULL;
    opts->dump_signal = SIGUSR2;
    opts->interval = 0.0;
}

void al_options_free(al_options *opts)
{
    if (!opts)
        return;
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opt_table[i].kind == K_STRING) {
            char **field = (char **)((char *)opts + opt_table[i].offset);
            free(*field);
            *field = NULL;
        }
    }
}

/* ---- complaints ------------------------------------------------------- */

/* Longest piece of user text (key, value, item) quoted in a complaint,
 * before escaping. */
#define QUOTE_MAX 120

struct reporter {
    void (*complain)(void *ctx, const char *line);
    void *ctx;
    int count;
};

/* Counts one problem and, when there is a callback, hands it one line. */
__attribute__((format(printf, 2, 3)))
static void report(struct reporter *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    r->count++;
    if (!r->complain)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->complain(r->ctx, line);
}

/* Copies s[0..n) into out (size >= QUOTE_MAX * 4 + 4) so that it fits on one
 * line: control bytes and DEL become \xNN, text longer than QUOTE_MAX bytes
 * is cut (not inside a UTF-8 sequence) and ends with "...". */
static void quote(char *out, size_t outsz, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t take = n, o = 0;
    int cut = 0;

    if (take > QUOTE_MAX) {
        take = QUOTE_MAX;
        while (take > 0 && ((unsigned char)s[take] & 0xC0) == 0x80)
            take--;                     /* do not split a UTF-8 sequence */
        cut = 1;
    }
    for (size_t i = 0; i < take && o + 5 < outsz; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    if (cut && o + 4 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

#define QBUF (QUOTE_MAX * 4 + 4)

/* "json_path, log_path, ..." into out. */
static void known_list(char *out, size_t outsz)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_OPTS && o < outsz; i++) {
        int w = snprintf(out + o, outsz - o, "%s%s", i ? ", " : "", opt_table[i].name);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* ---- value parsers: return 0 and store *out, or -1 -------------------- */

/* Strict decimal long: optional sign, digits, nothing else, no overflow. */
static int parse_long(const char *s, long *out)
{
    const char *d = (s[0] == '+' || s[0] == '-') ? s + 1 : s;
    char *end;
    long v;

    if (!isdigit((unsigned char)d[0]))
        return -1;                      /* "", " 1", "+", "x1" */
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Strict decimal seconds: [+]digits[.digits][e[+-]digits], finite, >= 0.
 * Letters other than e/E (nan, inf, 0x...) and blanks are rejected up front
 * because strtod would accept them. */
static int parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    if (*s == '\0')
        return -1;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789.eE+-", *p))
            return -1;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || v < 0)
        return -1;
    if (v == 0)
        v = 0.0;                        /* "-0" */
    if (v > AL_OPTIONS_SECONDS_MAX)
        v = AL_OPTIONS_SECONDS_MAX;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "1", "true", "yes" };
    static const char *const no[] = { "0", "false", "no" };
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* ---- path patterns ---------------------------------------------------- */

char *al_path_expand(const char *pattern, long pid)
{
    char pidbuf[24];
    size_t pidlen, need = 1;
    char *out, *o;

    if (!pattern)
        return NULL;
    pidlen = (size_t)snprintf(pidbuf, sizeof pidbuf, "%ld", pid);
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            need += pidlen;
            p++;
        } else {
            need++;                     /* "%%" -> 1 byte is <= 2; over-estimate is fine */
        }
    }
    out = malloc(need);
    if (!out)
        return NULL;
    o = out;
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            memcpy(o, pidbuf, pidlen);
            o += pidlen;
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            *o++ = '%';
            p++;
        } else {
            *o++ = *p;                  /* includes "%X" and a trailing '%' */
        }
    }
    *o = '\0';
    return out;
}

/* ---- the parser ------------------------------------------------------- */

/* Applies one non-empty item s[0..n) (no ':' inside). */
static void parse_item(al_options *opts, const char *s, size_t n, struct reporter *r)
{
    const char *eq = memchr(s, '=', n);
    const struct opt_desc *d = NULL;
    char qkey[QBUF], qval[QBUF];
    size_t klen;
    char *val;
    int bad = 0;

    if (!eq) {
        quote(qval, sizeof qval, s, n);
        report(r, "asyncleak: bad item '%s' in ASYNCLEAK_OPTIONS: expected key=value", qval);
        return;
    }
    klen = (size_t)(eq - s);
    if (klen == 0) {
        quote(qval, sizeof qval, s, n);
        report(r, "asyncleak: empty option name in item '%s' in ASYNCLEAK_OPTIONS: "
                  "expected key=value", qval);
        return;
    }
    quote(qkey, sizeof qkey, s, klen);
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strlen(opt_table[i].name) == klen && memcmp(opt_table[i].name, s, klen) == 0) {
            d = &opt_table[i];
            break;
        }
    }
    if (!d) {
        char known[512];
        known_list(known, sizeof known);
        report(r, "asyncleak: unknown option '%s' in ASYNCLEAK_OPTIONS (known: %s)", qkey, known);
        return;
    }
    val = strndup(eq + 1, n - klen - 1);
    if (!val) {
        report(r, "asyncleak: out of memory while parsing option '%s' in ASYNCLEAK_OPTIONS",
               qkey);
        return;
    }

    void *field = (char *)opts + d->offset;
    switch (d->kind) {
    case K_STRING:
        if (*val == '\0') {
            bad = 1;
            break;
        }
        free(*(char **)field);
        *(char **)field = val;
        val = NULL;                     /* ownership moved to opts */
        break;
    case K_SECONDS: {
        double v;
        if (parse_seconds(val, &v) != 0)
            bad = 1;
        else
            *(double *)field = v;
        break;
    }
    case K_INT: {
        long v;
        if (parse_long(val, &v) != 0 || v < d->min || v > d->max)
            bad = 1;
        else
            *(int *)field = (int)v;
        break;
    }
    case K_BOOL: {
        int v;
        if (parse_bool(val, &v) != 0)
            bad = 1;
        else
            *(int *)field = v;
        break;
    }
    case K_CHOICE: {
        size_t k = 0;
        while (d->choices[k] != NULL && strcasecmp(val, d->choices[k]) != 0)
            k++;
        if (d->choices[k] == NULL)
            bad = 1;
        else
            *(int *)field = (int)k;
        break;
    }
    case K_SIGNAL: {
        int v = al_parse_signal(val);
        if (v < 0 || v == SIGKILL || v == SIGSTOP)
            bad = 1;
        else
            *(int *)field = v;
        break;
    }
    }
    if (bad) {
        quote(qval, sizeof qval, eq + 1, n - klen - 1);
        report(r, "asyncleak: bad value '%s' for option '%s': %s", qval, qkey, d->expect);
    }
    free(val);
}

int al_options_parse(al_options *opts, const char *spec,
                     void (*complain)(void *ctx, const char *line), void *ctx)
{
    struct reporter r = { complain, ctx, 0 };
    const char *p = spec;

    if (!opts || !spec)
        return 0;
    while (*p) {
        const char *end = strchr(p, ':');
        if (!end)
            end = p + strlen(p);
        if (end > p)
            parse_item(opts, p, (size_t)(end - p), &r);
        p = *end ? end + 1 : end;
    }
    return r.count;
}
