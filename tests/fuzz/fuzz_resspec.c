/* fuzz_resspec.c - libFuzzer target of the resource kind spec parser
 * (preload/resspec.c): the input is split into lines at '\n' and each line
 * is handed to al_resspec_parse_line(), with and without its newline, into an
 * error buffer of exactly errlen bytes (heap, so ASan sees an overflow);
 * errlen comes from the first byte of the input (1..256) and is also tried
 * at 1 (the smallest buffer a caller may pass).
 *
 * Beyond ASan/UBSan it checks the contract of resspec.h and aborts when it
 * is broken:
 *   - the result is 1, 0 or -1;
 *   - 1: module and qualname are dotted identifiers, 1..4 open and 1..4
 *     close methods, each a plain identifier;
 *   - 0 and -1: *out is left empty (nothing to free);
 *   - -1: the message is NUL-terminated inside the buffer and not empty
 *     (when the buffer has room for a character).
 * Built and run by `make fuzz-preload` (see the Makefile).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *line)
{
    fprintf(stderr, "fuzz_resspec: contract broken: %s (line '%s')\n", what, line);
    abort();
}

static int ident(const char *s, int allow_dot)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.' || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(isalnum(ch) || ch == '_' || (allow_dot && ch == '.')))
            return 0;
        if (ch == '.' && (s[i + 1] == '.' || isdigit((unsigned char)s[i + 1])))
            return 0;
    }
    return 1;
}

static int empty(const al_resspec *s)
{
    static const al_resspec zero;
    return memcmp(s, &zero, sizeof zero) == 0;
}

static void parse_one(const char *line, unsigned errlen)
{
    al_resspec spec;
    char *err = malloc(errlen);
    int rc;

    if (err == NULL)
        return;
    memset(err, 'X', errlen);
    memset(&spec, 0xA5, sizeof spec);    /* garbage in: the parser must reset it */
    rc = al_resspec_parse_line(line, &spec, err, errlen);
    if (rc == 1) {
        if (!ident(spec.module, 1) || !ident(spec.qualname, 1))
            fail("bad module or class accepted", line);
        if (spec.nopen < 1 || spec.nopen > AL_RES_MAX_METHODS
            || spec.nclose < 1 || spec.nclose > AL_RES_MAX_METHODS)
            fail("method count out of range", line);
        for (int i = 0; i < spec.nopen; i++)
            if (!ident(spec.open[i], 0))
                fail("bad open method accepted", line);
        for (int i = 0; i < spec.nclose; i++)
            if (!ident(spec.close[i], 0))
                fail("bad close method accepted", line);
        al_resspec_free(&spec);
        if (!empty(&spec))
            fail("al_resspec_free did not reset the spec", line);
    } else if (rc == 0 || rc == -1) {
        if (!empty(&spec))
            fail("a blank/comment line or an error left *out non-empty", line);
        if (rc == -1) {
            if (memchr(err, '\0', errlen) == NULL)
                fail("error message not NUL-terminated inside errlen", line);
            if (errlen > 1 && err[0] == '\0')
                fail("empty error message", line);
        }
    } else {
        fail("result not in {-1, 0, 1}", line);
    }
    free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned errlen = size > 0 ? (unsigned)data[0] + 1 : 128;
    size_t start = 0;

    while (start <= size) {
        const uint8_t *nl = start < size ? memchr(data + start, '\n', size - start) : NULL;
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t len = end - start;
        char *line = malloc(len + 2);

        if (line == NULL)
            return 0;
        memcpy(line, data + start, len);
        line[len] = '\0';
        parse_one(line, errlen);
        parse_one(line, 1);
        if (nl != NULL) {                 /* as read by fgets: newline kept */
            line[len] = '\n';
            line[len + 1] = '\0';
            parse_one(line, errlen);
        }
        free(line);
        if (nl == NULL)
            break;
        start = end + 1;
    }
    return 0;
}
