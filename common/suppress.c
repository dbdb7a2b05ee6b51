/* suppress.c - parsing and matching of suppression rules (contracts in suppress.h). */
#include "suppress.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const al_finding_kinds[] = {
    "pending_task",
    "orphaned_task",
    "destroyed_pending_task",
    "unretrieved_exception",
    "swallowed_cancel",
    "shutdown_hang",
    "unclosed_resource",
    "closed_while_in_use",
    "signal_exit",
    "growing_origin",
    NULL,
};

#define MODULE_MAX_PARTS 16

typedef struct {
    char *text;      /* "KIND:PATTERN" */
    char *kind;      /* NULL for "*" */
    char *pattern;
    int line;
    int64_t hits;
} rule_t;

struct al_suppressions {
    rule_t *rules;
    size_t n, cap;
};

int al_kind_index(const char *kind)
{
    if (kind == NULL)
        return -1;
    for (int i = 0; al_finding_kinds[i] != NULL; i++)
        if (strcmp(kind, al_finding_kinds[i]) == 0)
            return i;
    return -1;
}

/* ---- matching ----------------------------------------------------------- */

int al_suppress_glob(const char *pattern, const char *s, size_t n)
{
    const char *p = pattern, *star = NULL;
    size_t i = 0, mark = 0;

    if (pattern == NULL || s == NULL)
        return 0;
    /* Greedy with one backtrack point: the last star seen.  Each byte of s
     * is retried at most once per star, hence O(|pattern| * n). */
    while (i < n) {
        if (*p == '*') {
            star = ++p;
            mark = i;
        } else if (*p != '\0' && *p == s[i]) {
            p++;
            i++;
        } else if (star != NULL) {
            p = star;
            i = ++mark;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static int glob_str(const char *pattern, const char *s)
{
    return s != NULL && al_suppress_glob(pattern, s, strlen(s));
}

/* Splits s[0..len) at '.' into its non-empty parts, keeping the last
 * MODULE_MAX_PARTS: part k is s[start[k], end[k]).  Returns their number. */
static size_t split_parts(const char *s, size_t len, size_t *start, size_t *end)
{
    size_t n = 0, b = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (i > b) {
            if (n == MODULE_MAX_PARTS) {
                memmove(start, start + 1, (n - 1) * sizeof *start);
                memmove(end, end + 1, (n - 1) * sizeof *end);
                n--;
            }
            start[n] = b;
            end[n] = i;
            n++;
        }
        b = i + 1;
    }
    return n;
}

/* True when pattern matches a run of consecutive parts (as split_parts
 * gives them) written with single dots between them; runs across an empty
 * part ("a..b") are not names and are skipped. */
static int runs_match(const char *pattern, const char *s,
                      const size_t *start, const size_t *end, size_t n)
{
    for (size_t a = 0; a < n; a++)
        for (size_t b = a; b < n; b++) {
            if (b > a && end[b - 1] + 1 != start[b])
                break;
            if (al_suppress_glob(pattern, s + start[a], end[b] - start[a]))
                return 1;
        }
    return 0;
}

/* True for "pythonX" or "pythonX.Y" (digits). */
static int is_stdlib_dir(const char *s, size_t n)
{
    size_t i = 6, digits = 0;

    if (n < 7 || memcmp(s, "python", 6) != 0)
        return 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (digits == 0)
        return 0;
    if (i == n)
        return 1;
    if (s[i] != '.')
        return 0;
    i++;
    digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    return digits > 0 && i == n;
}

/* A dotted name (a resource type): pattern against the whole name or any
 * run of its parts. */
static int dotted_matches(const char *pattern, const char *name)
{
    size_t start[MODULE_MAX_PARTS], end[MODULE_MAX_PARTS], len, n;

    if (name == NULL)
        return 0;
    len = strlen(name);
    if (al_suppress_glob(pattern, name, len))
        return 1;
    n = split_parts(name, len, start, end);
    return runs_match(pattern, name, start, end, n);
}

int al_suppress_module_matches(const char *pattern, const char *file)
{
    size_t len, n, root = 0, i, s;
    size_t start[MODULE_MAX_PARTS], end[MODULE_MAX_PARTS];
    char *dotted;
    int hit;

    if (pattern == NULL || file == NULL)
        return 0;
    len = strlen(file);
    if (len < 4 || strcmp(file + len - 3, ".py") != 0)
        return 0;
    len -= 3;

    /* The module path starts after the last root directory. */
    s = 0;
    for (i = 0; i < len; i++) {
        if (file[i] != '/')
            continue;
        if ((i - s == 13 && (memcmp(file + s, "site-packages", 13) == 0 ||
                             memcmp(file + s, "dist-packages", 13) == 0)) ||
            is_stdlib_dir(file + s, i - s))
            root = i + 1;
        s = i + 1;
    }
    /* The module text: file[root..len) with '/' turned into '.'. */
    if ((dotted = malloc(len - root + 1)) == NULL)
        return 0;
    for (i = root; i < len; i++)
        dotted[i - root] = file[i] == '/' ? '.' : file[i];
    dotted[len - root] = '\0';

    n = split_parts(dotted, len - root, start, end);
    if (n > 0 && end[n - 1] - start[n - 1] == 8 && memcmp(dotted + start[n - 1], "__init__", 8) == 0)
        n--;
    hit = runs_match(pattern, dotted, start, end, n);
    free(dotted);
    return hit;
}

/* The part of a function name after its last '.', or NULL when none. */
static const char *last_dotted(const char *s)
{
    const char *dot = s ? strrchr(s, '.') : NULL;
    return dot && dot[1] ? dot + 1 : NULL;
}

static int function_matches(const char *pattern, const char *function)
{
    const char *last;

    if (function == NULL)
        return 0;
    if (glob_str(pattern, function))
        return 1;
    last = last_dotted(function);
    return last != NULL && glob_str(pattern, last);
}

static int frame_matches(const char *pattern, const al_json *frame)
{
    const char *file = al_json_get_str(frame, "file");
    const char *base;

    if (function_matches(pattern, al_json_get_str(frame, "function")))
        return 1;
    if (file == NULL)
        return 0;
    if (glob_str(pattern, file))
        return 1;
    base = strrchr(file, '/');
    if (base != NULL && base[1] && glob_str(pattern, base + 1))
        return 1;
    return al_suppress_module_matches(pattern, file);
}

static int stack_matches(const char *pattern, const al_json *stack)
{
    const al_json *frames = al_json_get(stack, "frames");

    if (frames == NULL || frames->type != AL_JSON_ARRAY)
        return 0;
    for (size_t i = 0; i < al_json_len(frames); i++)
        if (frame_matches(pattern, al_json_at(frames, i)))
            return 1;
    return 0;
}

static int task_matches(const char *pattern, const al_json *obj)
{
    const al_json *task = al_json_get(obj, "task");
    return function_matches(pattern, al_json_get_str(task, "coro"));
}

static int finding_matches(const char *pattern, const al_json *finding)
{
    const al_json *origin = al_json_get(finding, "origin");
    const al_json *resource = al_json_get(finding, "resource");

    if (origin != NULL && origin->type == AL_JSON_OBJECT) {
        if (stack_matches(pattern, origin))
            return 1;
    } else {
        const al_json *tasks = al_json_get(finding, "tasks");
        if (tasks != NULL && tasks->type == AL_JSON_ARRAY) {
            for (size_t i = 0; i < al_json_len(tasks); i++) {
                const al_json *entry = al_json_at(tasks, i);
                if (stack_matches(pattern, al_json_get(entry, "origin")) ||
                    task_matches(pattern, entry))
                    return 1;
            }
        }
    }
    if (task_matches(pattern, finding))
        return 1;
    return dotted_matches(pattern, al_json_get_str(resource, "type"));
}

int al_suppressions_match_n(al_suppressions *s, const al_json *finding, int64_t n)
{
    const char *kind;

    if (s == NULL || finding == NULL || finding->type != AL_JSON_OBJECT)
        return -1;
    kind = al_json_get_str(finding, "kind");
    for (size_t i = 0; i < s->n; i++) {
        rule_t *r = &s->rules[i];
        if (r->kind != NULL && (kind == NULL || strcmp(r->kind, kind) != 0))
            continue;
        if (finding_matches(r->pattern, finding)) {
            if (n > 0 && r->hits <= INT64_MAX - n)
                r->hits += n;
            return (int)i;
        }
    }
    return -1;
}

int al_suppressions_match(al_suppressions *s, const al_json *finding)
{
    return al_suppressions_match_n(s, finding, 1);
}

/* ---- parsing ------------------------------------------------------------ */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Trims spaces around [*s, *e). */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space(**s))
        (*s)++;
    while (*e > *s && is_space((*e)[-1]))
        (*e)--;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* At most 60 bytes of [s, e) for a message, as printable text: other bytes
 * become '?'.  out must hold 64 bytes. */
static const char *excerpt(const char *s, const char *e, char *out)
{
    size_t n = (size_t)(e - s), i;
    int cut = n > 60;
    if (cut)
        n = 57;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (cut) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static int valid_kind_syntax(const char *s, const char *e)
{
    if (s == e || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (; s < e; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_' || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

static int add_rule(al_suppressions *set, const char *ks, const char *ke,
                    const char *ps, const char *pe, int line)
{
    rule_t r;

    memset(&r, 0, sizeof r);
    r.line = line;
    if (!(ke - ks == 1 && *ks == '*') && (r.kind = strndup(ks, (size_t)(ke - ks))) == NULL)
        goto oom;
    if ((r.pattern = strndup(ps, (size_t)(pe - ps))) == NULL)
        goto oom;
    if (asprintf(&r.text, "%.*s:%s", (int)(ke - ks), ks, r.pattern) < 0) {
        r.text = NULL;
        goto oom;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 8;
        rule_t *grown = realloc(set->rules, cap * sizeof *grown);
        if (grown == NULL)
            goto oom;
        set->rules = grown;
        set->cap = cap;
    }
    set->rules[set->n++] = r;
    return 0;
oom:
    free(r.kind);
    free(r.pattern);
    free(r.text);
    return -1;
}

al_suppressions *al_suppressions_parse(const char *text, size_t len, const char *name,
                                       char *err, size_t errlen)
{
    al_suppressions *set = calloc(1, sizeof *set);
    const char *p = text, *end = text + len;
    int line = 0;
    char ex[64];

    if (name == NULL)
        name = "<suppressions>";
    if (set == NULL) {
        set_err(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    if (text == NULL)
        p = end = "";
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *s = p, *e, *colon, *ks, *ke, *ps, *pe;
        const char *hash;

        line++;
        p = nl ? nl + 1 : end;
        if (memchr(s, '\0', (size_t)(le - s)) != NULL) {
            set_err(err, errlen, "%s:%d: NUL byte in the line", name, line);
            goto fail;
        }
        hash = memchr(s, '#', (size_t)(le - s));
        e = hash ? hash : le;
        trim(&s, &e);
        if (s == e)
            continue;
        colon = memchr(s, ':', (size_t)(e - s));
        if (colon == NULL) {
            set_err(err, errlen, "%s:%d: missing ':' in '%s' (expected KIND:PATTERN)",
                    name, line, excerpt(s, e, ex));
            goto fail;
        }
        ks = s;
        ke = colon;
        ps = colon + 1;
        pe = e;
        trim(&ks, &ke);
        trim(&ps, &pe);
        if (ks == ke) {
            set_err(err, errlen, "%s:%d: empty KIND before ':' (expected KIND:PATTERN, KIND may be *)",
                    name, line);
            goto fail;
        }
        if (!(ke - ks == 1 && *ks == '*')) {
            char kind[64];
            if (!valid_kind_syntax(ks, ke) || ke - ks >= (long)sizeof kind) {
                set_err(err, errlen, "%s:%d: malformed KIND '%s' (expected a finding kind such as "
                        "pending_task, or *)", name, line, excerpt(ks, ke, ex));
                goto fail;
            }
            memcpy(kind, ks, (size_t)(ke - ks));
            kind[ke - ks] = '\0';
            if (al_kind_index(kind) < 0) {
                set_err(err, errlen, "%s:%d: unknown KIND '%s' (known: pending_task, orphaned_task, "
                        "destroyed_pending_task, unretrieved_exception, swallowed_cancel, "
                        "shutdown_hang, unclosed_resource, closed_while_in_use, signal_exit, "
                        "growing_origin, or *)",
                        name, line, kind);
                goto fail;
            }
        }
        if (ps == pe) {
            set_err(err, errlen, "%s:%d: empty PATTERN after '%.*s:'", name, line,
                    (int)(ke - ks), ks);
            goto fail;
        }
        if (add_rule(set, ks, ke, ps, pe, line) < 0) {
            set_err(err, errlen, "%s: out of memory", name);
            goto fail;
        }
    }
    return set;
fail:
    al_suppressions_free(set);
    return NULL;
}

al_suppressions *al_suppressions_load(const char *path, char *err, size_t errlen)
{
    FILE *f;
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    al_suppressions *set = NULL;

    if (path == NULL) {
        set_err(err, errlen, "(null): cannot read: %s", strerror(EINVAL));
        return NULL;
    }
    if ((f = fopen(path, "r")) == NULL) {
        set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (len == cap) {
            char *grown;
            if (cap >= AL_SUPPRESS_MAX_FILE) {
                set_err(err, errlen, "%s: too large (more than %u bytes)", path,
                        (unsigned)AL_SUPPRESS_MAX_FILE);
                goto out;
            }
            cap = cap ? 2 * cap : 4096;
            if ((grown = realloc(buf, cap + 1)) == NULL) {
                set_err(err, errlen, "%s: out of memory", path);
                goto out;
            }
            buf = grown;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
                goto out;
            }
            break;
        }
    }
    set = al_suppressions_parse(buf ? buf : "", len, path, err, errlen);
out:
    fclose(f);
    free(buf);
    return set;
}

/* ---- accessors and output ----------------------------------------------- */

size_t al_suppressions_len(const al_suppressions *s)
{
    return s ? s->n : 0;
}

const char *al_suppressions_rule(const al_suppressions *s, size_t i)
{
    return s && i < s->n ? s->rules[i].text : NULL;
}

int64_t al_suppressions_hits(const al_suppressions *s, size_t i)
{
    return s && i < s->n ? s->rules[i].hits : 0;
}

int al_suppressions_line(const al_suppressions *s, size_t i)
{
    return s && i < s->n ? s->rules[i].line : 0;
}

static void prefix(FILE *out, long pid)
{
    if (pid < 0)
        fputs("==asyncleak== ", out);
    else
        fprintf(out, "==%ld== ", pid);
}

int al_suppressions_render_used(FILE *out, const al_suppressions *s, long pid)
{
    static const char rule_line[] = "-----------------------------------------------------";
    size_t i, used = 0;

    if (out == NULL)
        return -1;
    for (i = 0; s != NULL && i < s->n; i++)
        if (s->rules[i].hits > 0)
            used++;
    if (used == 0)
        return 0;
    prefix(out, pid);
    fprintf(out, "%s\n", rule_line);
    prefix(out, pid);
    fputs("Suppressions used:\n", out);
    prefix(out, pid);
    fputs("  count rule\n", out);
    for (i = 0; i < s->n; i++) {
        const char *t;
        if (s->rules[i].hits <= 0)
            continue;
        prefix(out, pid);
        fprintf(out, "%7" PRId64 " ", s->rules[i].hits);
        for (t = s->rules[i].text; *t; t++) {
            unsigned char c = (unsigned char)*t;
            if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\x%02x", c);
            else
                fputc(c, out);
        }
        fputc('\n', out);
    }
    prefix(out, pid);
    fprintf(out, "%s\n", rule_line);
    if (fflush(out) != 0 || ferror(out))
        return -1;
    return 0;
}

void al_suppressions_free(al_suppressions *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->rules[i].text);
        free(s->rules[i].kind);
        free(s->rules[i].pattern);
    }
    free(s->rules);
    free(s);
}
