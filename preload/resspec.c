/* resspec.c - parser of resource kind specs (see resspec.h). */
#include "resspec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_ident_char(int c, int allow_dot)
{
    return isalnum(c) || c == '_' || (allow_dot && c == '.');
}

/* A dotted name: identifiers separated by single dots, none empty. */
static int valid_dotted(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.' || isdigit((unsigned char)s[0]))
        return 0;
    for (i = 0; i < n; i++) {
        if (!is_ident_char((unsigned char)s[i], 1))
            return 0;
        if (s[i] == '.' && (s[i + 1] == '.' || isdigit((unsigned char)s[i + 1])))
            return 0;
    }
    return 1;
}

static char *dup_n(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (r != NULL) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

/* Parses "a,b,c" (method names) into out[], counting them in *count as
 * they are stored (so a failure leaves nothing unowned).  0 or -1. */
static int parse_methods(const char *s, size_t n, char **out, int *count, char *err, unsigned errlen, const char *key)
{
    size_t start = 0, i;

    for (i = 0; i <= n; i++) {
        if (i < n && s[i] != ',')
            continue;
        if (i == start || !valid_dotted(s + start, i - start) || memchr(s + start, '.', i - start)) {
            snprintf(err, errlen, "bad method name '%.*s' in %s=", (int)(i - start), s + start, key);
            return -1;
        }
        if (*count == AL_RES_MAX_METHODS) {
            snprintf(err, errlen, "at most %d methods in %s=", AL_RES_MAX_METHODS, key);
            return -1;
        }
        out[*count] = dup_n(s + start, i - start);
        if (out[*count] == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        (*count)++;
        start = i + 1;
    }
    return 0;
}

void al_resspec_free(al_resspec *spec)
{
    int i;

    free(spec->module);
    free(spec->qualname);
    for (i = 0; i < spec->nopen; i++)
        free(spec->open[i]);
    for (i = 0; i < spec->nclose; i++)
        free(spec->close[i]);
    memset(spec, 0, sizeof *spec);
}

int al_resspec_parse_line(const char *line, al_resspec *out, char *err, unsigned errlen)
{
    const char *p = line, *tok, *colon;
    size_t n;

    memset(out, 0, sizeof *out);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '#' || *p == '\n' || *p == '\r')
        return 0;
    /* module:Class */
    tok = p;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '#' && *p != '\n' && *p != '\r')
        p++;
    n = (size_t)(p - tok);
    colon = memchr(tok, ':', n);
    if (colon == NULL || !valid_dotted(tok, (size_t)(colon - tok))
        || !valid_dotted(colon + 1, n - (size_t)(colon - tok) - 1)) {
        snprintf(err, errlen, "expected module:Class first, got '%.*s'", (int)(n > 80 ? 80 : n), tok);
        return -1;
    }
    out->module = dup_n(tok, (size_t)(colon - tok));
    out->qualname = dup_n(colon + 1, n - (size_t)(colon - tok) - 1);
    if (out->module == NULL || out->qualname == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* key=value items */
    for (;;) {
        const char *eq;
        int is_open;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#' || *p == '\n' || *p == '\r')
            break;
        tok = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '#' && *p != '\n' && *p != '\r')
            p++;
        n = (size_t)(p - tok);
        eq = memchr(tok, '=', n);
        if (eq == NULL) {
            snprintf(err, errlen, "expected open=... or close=..., got '%.*s'", (int)(n > 80 ? 80 : n), tok);
            goto fail;
        }
        if ((size_t)(eq - tok) == 4 && memcmp(tok, "open", 4) == 0)
            is_open = 1;
        else if ((size_t)(eq - tok) == 5 && memcmp(tok, "close", 5) == 0)
            is_open = 0;
        else {
            snprintf(err, errlen, "unknown key '%.*s' (expected open or close)", (int)(eq - tok > 40 ? 40 : eq - tok), tok);
            goto fail;
        }
        if ((is_open ? out->nopen : out->nclose) != 0) {
            snprintf(err, errlen, "%s= given twice", is_open ? "open" : "close");
            goto fail;
        }
        if (parse_methods(eq + 1, n - (size_t)(eq - tok) - 1, is_open ? out->open : out->close,
                          is_open ? &out->nopen : &out->nclose, err, errlen, is_open ? "open" : "close") < 0)
            goto fail;
    }
    if (out->nclose == 0) {
        snprintf(err, errlen, "missing close=METHOD");
        goto fail;
    }
    if (out->nopen == 0) {
        out->open[0] = dup_n("__init__", 8);
        if (out->open[0] == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        out->nopen = 1;
    }
    return 1;
fail:
    al_resspec_free(out);
    return -1;
}
