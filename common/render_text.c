/* render_text.c - renders findings and the summary as sanitizer-style text
 * with Python-traceback stacks (contracts in render_text.h). */
#include "render_text.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Output state; err is sticky so callers check it once at the end.  Text is
 * staged in buf and reaches f in few large fwrites (at most sizeof buf
 * late; finish() writes the rest). */
typedef struct {
    FILE *f;
    long pid;
    int err;
    char prefix[32];        /* "==PID== " */
    size_t prefix_len;
    size_t len;
    char buf[4096];
} out_t;

static void out_init(out_t *o, FILE *f, long pid)
{
    int n;

    o->f = f;
    o->pid = pid;
    o->err = 0;
    o->len = 0;
    if (pid < 0)
        n = snprintf(o->prefix, sizeof o->prefix, "==asyncleak== ");
    else
        n = snprintf(o->prefix, sizeof o->prefix, "==%ld== ", pid);
    o->prefix_len = n > 0 && (size_t)n < sizeof o->prefix ? (size_t)n : 0;
}

static void stage_flush(out_t *o)
{
    if (!o->err && o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->err = 1;
    o->len = 0;
}

static void raw(out_t *o, const char *s, size_t n)
{
    if (o->err || n == 0)
        return;
    if (sizeof o->buf - o->len < n) {
        stage_flush(o);
        if (n > sizeof o->buf) {
            if (!o->err && fwrite(s, 1, n, o->f) != n)
                o->err = 1;
            return;
        }
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void text(out_t *o, const char *s) { raw(o, s, strlen(s)); }

static void fmt(out_t *o, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void fmt(out_t *o, const char *format, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(line, sizeof line, format, ap);
    va_end(ap);
    if (n < 0)
        o->err = 1;
    else if ((size_t)n < sizeof line)
        raw(o, line, (size_t)n);
    else {
        stage_flush(o);
        va_start(ap, format);
        if (!o->err && vfprintf(o->f, format, ap) < 0)
            o->err = 1;
        va_end(ap);
    }
}

static void integer(out_t *o, int64_t v)
{
    char buf[AL_INT_DECIMAL_MAX];
    char *p = al_int_decimal(v, buf + sizeof buf);
    raw(o, p, (size_t)(buf + sizeof buf - p));
}

/* Length of the valid UTF-8 sequence at s[0..n) (1-4), or 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
size_t al_utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Writes s[0..n) with control characters and bytes that are not valid
 * UTF-8 as \xNN, so a report can neither drive a terminal nor break a
 * UTF-8 reader. */
static void safe(out_t *o, const char *s, size_t n)
{
    size_t start = 0, i = 0;
    while (i < n) {
        /* Eight printable ASCII bytes at a time (a false alarm only sends
         * that word through the byte loop). */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if ((((x - 0x2020202020202020ull) & ~x) | ((x + 0x0101010101010101ull) | x)) & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {       /* printable ASCII: as is */
            i++;
            continue;
        }
        size_t len = al_utf8_len((const unsigned char *)s + i, n - i);
        if (len == 0 || c < 0x20 || c == 0x7f) {
            raw(o, s + start, i - start);
            fmt(o, "\\x%02x", c);
            start = ++i;
        } else {
            i += len;
        }
    }
    raw(o, s + start, n - start);
}

/* Writes a scalar value: a string safely, an integer in decimal, else "?". */
static void value(out_t *o, const al_json *v)
{
    if (v && v->type == AL_JSON_STRING)
        safe(o, v->u.string.bytes, v->u.string.len);
    else if (v && v->type == AL_JSON_INT)
        integer(o, v->u.integer);
    else
        text(o, "?");
}

static void field(out_t *o, const al_json *obj, const char *key)
{
    value(o, al_json_get(obj, key));
}

/* Starts a line: the prefix, then indent spaces. */
static void begin(out_t *o, int indent)
{
    static const char spaces[] = "                ";
    raw(o, o->prefix, o->prefix_len);
    for (; indent > 0; indent -= (int)sizeof spaces - 1)
        raw(o, spaces, indent < (int)sizeof spaces - 1 ? (size_t)indent : sizeof spaces - 1);
}

static void end(out_t *o) { raw(o, "\n", 1); }

static int finish(out_t *o)
{
    stage_flush(o);
    if (!o->err && fflush(o->f) != 0)
        o->err = 1;
    return o->err ? -1 : 0;
}

/* Borrowed child of the given type, or NULL. */
static const al_json *get_typed(const al_json *obj, const char *key, al_json_type type)
{
    const al_json *v = al_json_get(obj, key);
    return v && v->type == type ? v : NULL;
}

int al_frame_is_asyncio_internal(const char *file)
{
    if (!file)
        return 0;
    const char *base = strrchr(file, '/');
    if (!base)
        return 0;
    size_t blen = strlen(base + 1);
    if (blen < 4 || strcmp(base + 1 + blen - 3, ".py") != 0)
        return 0;
    const char *dir = base;            /* the component before base is [dir, base) */
    while (dir > file && dir[-1] != '/')
        dir--;
    if (base - dir != 7 || memcmp(dir, "asyncio", 7) != 0 || dir == file)
        return 0;
    /* The standard library's asyncio sits in lib/pythonX.Y/ (or pythonXY.zip);
     * a package's own asyncio subpackage (redis/asyncio/) is program code. */
    const char *lib = dir - 1;         /* the '/' before "asyncio" */
    while (lib > file && lib[-1] != '/')
        lib--;
    return dir - 1 - lib >= 6 && memcmp(lib, "python", 6) == 0;
}

static const struct { const char *kind, *message; } default_messages[] = {
    { "pending_task", "was still pending when its event loop closed" },
    { "orphaned_task", "was still running when asyncio.run() finished; the runner cancelled it" },
    { "destroyed_pending_task", "was destroyed while pending" },
    { "unretrieved_exception", "failed and its exception was never retrieved" },
    { "swallowed_cancel", "swallowed a cancellation and went on running" },
    { "shutdown_hang", "shutdown is stuck waiting for tasks" },
    { "unclosed_resource", "was never closed" },
    { "closed_while_in_use", "was closed while tasks still used it" },
    { "signal_exit", "the process was terminated by a signal while work was in flight" },
};

static const char *default_message(const char *kind, const char *when)
{
    if (!kind)
        return "finding";
    if (strcmp(kind, "pending_task") == 0 && when && strcmp(when, "exit") == 0)
        return "was still pending at exit (its event loop was never closed)";
    if (strcmp(kind, "pending_task") == 0 && when && strcmp(when, "check") == 0)
        return "is still pending on its event loop (asyncleak.check)";
    if (strcmp(kind, "unclosed_resource") == 0 && when) {
        if (strcmp(when, "loop_close") == 0)
            return "was never closed (still open when its event loop closed)";
        if (strcmp(when, "gc") == 0)
            return "was never closed (garbage-collected while open)";
        if (strcmp(when, "exit") == 0)
            return "was never closed (still open at exit)";
    }
    for (size_t i = 0; i < sizeof default_messages / sizeof default_messages[0]; i++)
        if (strcmp(kind, default_messages[i].kind) == 0)
            return default_messages[i].message;
    return "finding";
}

/* "'NAME' (coroutine CORO)" of a task object (NULL gives "'?' (coroutine ?)"). */
static void task_ident(out_t *o, const al_json *task)
{
    text(o, "'");
    field(o, task, "name");
    text(o, "' (coroutine ");
    field(o, task, "coro");
    text(o, ")");
}

static void frame_line(out_t *o, const al_json *frame, int indent)
{
    begin(o, indent);
    text(o, "File \"");
    field(o, frame, "file");
    text(o, "\", line ");
    field(o, frame, "line");
    text(o, ", in ");
    field(o, frame, "function");
    end(o);
}

static int frame_is_internal(const al_json *frame)
{
    return al_frame_is_asyncio_internal(al_json_get_str(frame, "file"));
}

static void native_line(out_t *o, const al_json *nf, int indent)
{
    begin(o, indent);
    field(o, nf, "ip");
    text(o, "  ");
    field(o, nf, "symbol");
    const al_json *obj = get_typed(nf, "object", AL_JSON_STRING);
    if (obj) {
        text(o, "  (");
        value(o, obj);
        text(o, ")");
    }
    const al_json *file = get_typed(nf, "file", AL_JSON_STRING);
    if (file) {
        text(o, " at ");
        value(o, file);
        if (get_typed(nf, "line", AL_JSON_INT)) {
            text(o, ":");
            field(o, nf, "line");
        }
    }
    end(o);
}

/* al_render_set_native_text(); read by stack_section. */
static int g_native_text = AL_NATIVE_TEXT_HYBRID;

void al_render_set_native_text(int mode)
{
    g_native_text = mode;
}

/* A native entry of "hybrid": it has "ip" (Python entries never do). */
static int is_native_entry(const al_json *e)
{
    return al_json_get(e, "ip") != NULL;
}

/* A native frame of CPython's _asyncio accelerator module (the C side of
 * asyncio's task steps): folded like asyncio's Python frames. */
static int native_is_asyncio(const al_json *e)
{
    const char *obj = al_json_get_str(e, "object");
    const char *base = obj ? strrchr(obj, '/') : NULL;
    return obj != NULL && strncmp(base ? base + 1 : obj, "_asyncio.", 9) == 0;
}

/* What a hybrid list never shows: the interpreter's bytecode loop, in case
 * the merge left one (a custom frame evaluator). */
static int native_is_eval(const al_json *e)
{
    const char *sym = al_json_get_str(e, "symbol");
    return sym != NULL && strcmp(sym, "_PyEval_EvalFrameDefault") == 0;
}

static int hybrid_is_internal(const al_json *e)
{
    return is_native_entry(e) ? native_is_asyncio(e) : frame_is_internal(e);
}

/* "[native] SYMBOL (OBJECT) FILE:LINE"; the ip stands in for an unknown
 * symbol, and unknown parts are left out. */
static void hybrid_native_line(out_t *o, const al_json *nf, int indent)
{
    const al_json *sym = get_typed(nf, "symbol", AL_JSON_STRING);
    const al_json *obj = get_typed(nf, "object", AL_JSON_STRING);
    const al_json *file = get_typed(nf, "file", AL_JSON_STRING);

    begin(o, indent);
    text(o, "[native] ");
    value(o, sym ? sym : al_json_get(nf, "ip"));
    if (obj) {
        text(o, " (");
        value(o, obj);
        text(o, ")");
    }
    if (file) {
        text(o, " ");
        value(o, file);
        if (get_typed(nf, "line", AL_JSON_INT)) {
            text(o, ":");
            field(o, nf, "line");
        }
    }
    end(o);
}

/* Native entry without a symbol whose object is obj (a string). */
static int unnamed_in(const al_json *e, const al_json *obj)
{
    const al_json *o2 = get_typed(e, "object", AL_JSON_STRING);
    return is_native_entry(e) && get_typed(e, "symbol", AL_JSON_STRING) == NULL && o2 != NULL
        && o2->u.string.len == obj->u.string.len
        && memcmp(o2->u.string.bytes, obj->u.string.bytes, obj->u.string.len) == 0;
}

/* The entries of a hybrid list, outermost first: runs of asyncio frames
 * (Python, and _asyncio's C frames) folded, never the innermost entry;
 * runs of native frames without a symbol in one object folded into one
 * line; eval-loop frames left out. */
static void hybrid_frames(out_t *o, const al_json *hybrid, int indent)
{
    size_t n = al_json_len(hybrid);
    for (size_t i = 0; i < n; i++) {
        const al_json *e = al_json_at(hybrid, i);
        const al_json *obj = get_typed(e, "object", AL_JSON_STRING);
        size_t run = 0;
        if (is_native_entry(e) && native_is_eval(e))
            continue;
        while (i + run + 1 < n && hybrid_is_internal(al_json_at(hybrid, i + run)))
            run++;
        if (run) {
            begin(o, indent);
            fmt(o, "[%zu asyncio frame%s]", run, run == 1 ? "" : "s");
            end(o);
            i += run - 1;
            continue;
        }
        if (obj != NULL && unnamed_in(e, obj)) {
            while (i + run + 1 < n && unnamed_in(al_json_at(hybrid, i + run + 1), obj))
                run++;
            if (run) {
                begin(o, indent);
                fmt(o, "[native] %zu frames without symbols (", run + 1);
                value(o, obj);
                text(o, ")");
                end(o);
                i += run;
                continue;
            }
        }
        if (is_native_entry(e))
            hybrid_native_line(o, e, indent);
        else
            frame_line(o, e, indent);
    }
}

static int flag(const al_json *stack, const char *key)
{
    const al_json *v = get_typed(stack, key, AL_JSON_BOOL);
    return v != NULL && v->u.boolean;
}

/* One stack section: a title line at indent, then at indent + 2 either the
 * "hybrid" list (native_text=hybrid and the stack has one), or the Python
 * frames outermost first with runs of asyncio frames folded (never the
 * innermost), followed, unless native_text=off, by the native frames under
 * a title of their own.  Nothing when there is nothing to show.  times > 1
 * is written after the title. */
static void stack_section_plain(out_t *o, const al_json *stack, const char *title,
                                int64_t times, int indent)
{
    const al_json *frames = get_typed(stack, "frames", AL_JSON_ARRAY);
    const al_json *native = get_typed(stack, "native", AL_JSON_ARRAY);
    const al_json *hybrid = get_typed(stack, "hybrid", AL_JSON_ARRAY);
    int mode = g_native_text;
    if (mode != AL_NATIVE_TEXT_SEPARATE && mode != AL_NATIVE_TEXT_OFF)
        mode = AL_NATIVE_TEXT_HYBRID;
    if (mode == AL_NATIVE_TEXT_OFF || (mode == AL_NATIVE_TEXT_HYBRID && al_json_len(hybrid) > 0))
        native = NULL;
    if (mode != AL_NATIVE_TEXT_HYBRID)
        hybrid = NULL;
    size_t nf = al_json_len(frames), nn = al_json_len(native), nh = al_json_len(hybrid);
    if (nf == 0 && nn == 0 && nh == 0)
        return;
    begin(o, indent);
    text(o, title);
    if (times > 1)
        fmt(o, " (%" PRId64 " times)", times);
    text(o, " (most recent call last):");
    end(o);
    if (flag(stack, "truncated")) {
        begin(o, indent + 2);
        text(o, nh ? "[older Python frames cut at stack_depth]" : "[older frames cut at stack_depth]");
        end(o);
    }
    if (nh) {
        if (flag(stack, "native_truncated")) {
            begin(o, indent + 2);
            text(o, "[older native frames cut]");
            end(o);
        }
        hybrid_frames(o, hybrid, indent + 2);
        return;
    }
    for (size_t i = 0; i < nf; i++) {
        size_t run = 0;
        while (i + run + 1 < nf && frame_is_internal(al_json_at(frames, i + run)))
            run++;
        if (run) {
            begin(o, indent + 2);
            text(o, "[");
            integer(o, (int64_t)run);
            text(o, run == 1 ? " asyncio frame]" : " asyncio frames]");
            end(o);
            i += run - 1;
            continue;
        }
        frame_line(o, al_json_at(frames, i), indent + 2);
    }
    if (nn) {
        begin(o, indent);
        text(o, "Native (most recent call last):");
        end(o);
        if (flag(stack, "native_truncated")) {
            begin(o, indent + 2);
            text(o, "[older native frames cut]");
            end(o);
        }
        for (size_t i = 0; i < nn; i++)
            native_line(o, al_json_at(native, i), indent + 2);
    }
}

/* Sections of shared stacks (al_json_ref: the preload gives the findings of
 * one origin the same read-only stack object), rendered once and copied
 * from here, by address.  An entry owns a reference to its stack, so the
 * address cannot name another node while the entry exists. */
#define SECTION_MEMO_SLOTS 64
static struct {
    al_json *stack;
    const char *title;
    int64_t times;
    int indent;
    long pid;
    char *bytes;
    size_t len;
} section_memo[SECTION_MEMO_SLOTS];
static pthread_mutex_t section_memo_lock = PTHREAD_MUTEX_INITIALIZER;

static void stack_section(out_t *o, const al_json *stack, const char *title,
                          int64_t times, int indent)
{
    if (!stack || __atomic_load_n(&stack->refs, __ATOMIC_RELAXED) == 0) {
        stack_section_plain(o, stack, title, times, indent);
        return;
    }
    size_t slot = (((uintptr_t)stack >> 4) * 0x9E3779B97F4A7C15ull) >> 58;
    pthread_mutex_lock(&section_memo_lock);
    __typeof__(section_memo[0]) *e = &section_memo[slot];
    if (e->stack == stack && e->title == title && e->times == times && e->indent == indent
        && e->pid == o->pid) {
        raw(o, e->bytes, e->len);
        pthread_mutex_unlock(&section_memo_lock);
        return;
    }
    char *bytes = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&bytes, &len);
    out_t *sub = mem ? malloc(sizeof *sub) : NULL;
    int ok = 0;
    if (sub) {
        out_init(sub, mem, o->pid);
        stack_section_plain(sub, stack, title, times, indent);
        ok = finish(sub) == 0;
        free(sub);
    }
    if (mem && fclose(mem) != 0)
        ok = 0;
    if (!ok) {
        free(bytes);
        pthread_mutex_unlock(&section_memo_lock);
        stack_section_plain(o, stack, title, times, indent);
        return;
    }
    raw(o, bytes, len);
    al_json *old = e->stack;
    free(e->bytes);
    e->stack = al_json_ref((al_json *)stack);
    e->title = title;
    e->times = times;
    e->indent = indent;
    e->pid = o->pid;
    e->bytes = bytes;
    e->len = len;
    pthread_mutex_unlock(&section_memo_lock);
    al_json_free(old);
}

/* "Awaiting task 'A' (coroutine a), 'B' (coroutine b)" from a list of tasks. */
static void task_list_line(out_t *o, const al_json *list, const char *title, int indent)
{
    if (al_json_len(list) == 0)
        return;
    begin(o, indent);
    text(o, title);
    for (size_t i = 0; i < al_json_len(list); i++) {
        if (i > 0)
            text(o, ", ");
        task_ident(o, al_json_at(list, i));
    }
    end(o);
}

/* The stacks and creator of a task finding or of one entry of "tasks". */
static void task_sections(out_t *o, const al_json *obj, int indent)
{
    const al_json *before = get_typed(obj, "created_before_attach", AL_JSON_BOOL);
    if (before != NULL && before->u.boolean) {
        begin(o, indent);
        text(o, "Created before asyncleak was attached: origin unknown");
        end(o);
    }
    stack_section(o, get_typed(obj, "origin", AL_JSON_OBJECT), "Created at", 0, indent);
    stack_section(o, get_typed(obj, "suspended_at", AL_JSON_OBJECT), "Suspended at", 0, indent);
    task_list_line(o, get_typed(obj, "awaiting", AL_JSON_ARRAY), "Awaiting task ", indent);
    task_list_line(o, get_typed(obj, "awaited_by", AL_JSON_ARRAY), "Awaited by task ", indent);
    const al_json *cancel = get_typed(obj, "cancel", AL_JSON_OBJECT);
    stack_section(o, get_typed(cancel, "origin", AL_JSON_OBJECT), "Cancelled at",
                  al_json_get_int(cancel, "requested", 0), indent);
    if (get_typed(cancel, "via", AL_JSON_STRING) != NULL) {
        begin(o, indent);
        text(o, "  (requested through ");
        field(o, cancel, "via");
        text(o, ")");
        end(o);
    }
    stack_section(o, get_typed(obj, "closed_at", AL_JSON_OBJECT), "Closed at", 0, indent);
    const al_json *creator = get_typed(obj, "created_by", AL_JSON_OBJECT);
    if (creator) {
        begin(o, indent);
        text(o, "Created by task ");
        if (get_typed(creator, "name", AL_JSON_STRING) != NULL
            || get_typed(creator, "id", AL_JSON_INT) == NULL) {
            task_ident(o, creator);
        } else {
            /* Only the id is known when the creator no longer exists. */
            text(o, "#");
            integer(o, al_json_get_int(creator, "id", 0));
            text(o, " (finished and gone)");
        }
        end(o);
    }
}

static void header(out_t *o, const al_json *finding)
{
    const al_json *task = get_typed(finding, "task", AL_JSON_OBJECT);
    const al_json *resource = get_typed(finding, "resource", AL_JSON_OBJECT);
    const al_json *message = get_typed(finding, "message", AL_JSON_STRING);
    begin(o, 0);
    text(o, "asyncleak: ");
    field(o, finding, "kind");
    text(o, ": ");
    if (task) {
        text(o, "task ");
        task_ident(o, task);
        text(o, " ");
    } else if (resource) {
        text(o, "resource ");
        field(o, resource, "type");
        text(o, " ");
    }
    if (message)
        value(o, message);
    else
        text(o, default_message(al_json_get_str(finding, "kind"),
                                al_json_get_str(finding, "when")));
    end(o);
}

int al_render_finding(FILE *out, const al_json *finding, long pid)
{
    if (!out)
        return -1;
    out_t o;
    out_init(&o, out, pid);
    header(&o, finding);

    const al_json *exc = get_typed(finding, "exception", AL_JSON_OBJECT);
    if (exc) {
        const al_json *msg = get_typed(exc, "message", AL_JSON_STRING);
        begin(&o, 2);
        text(&o, "Exception: ");
        field(&o, exc, "type");
        if (msg && msg->u.string.len) {
            text(&o, ": ");
            value(&o, msg);
        }
        end(&o);
    }
    const al_json *said = get_typed(finding, "asyncio_message", AL_JSON_STRING);
    if (said) {
        begin(&o, 2);
        text(&o, "asyncio said: \"");
        value(&o, said);
        text(&o, "\"");
        end(&o);
    }
    const al_json *late = get_typed(finding, "spawned_during_shutdown", AL_JSON_BOOL);
    if (late && late->u.boolean) {
        begin(&o, 2);
        text(&o, "(created during shutdown, after asyncio.run() had collected the tasks to cancel)");
        end(&o);
    }

    task_sections(&o, finding, 2);

    const al_json *tasks = get_typed(finding, "tasks", AL_JSON_ARRAY);
    for (size_t i = 0; i < al_json_len(tasks); i++) {
        const al_json *entry = al_json_at(tasks, i);
        const al_json *task = get_typed(entry, "task", AL_JSON_OBJECT);
        begin(&o, 2);
        text(&o, "Task ");
        task_ident(&o, task);
        text(&o, ", ");
        field(&o, task, "state");
        text(&o, ":");
        end(&o);
        task_sections(&o, entry, 4);
    }
    /* signal_exit and similar: the resources still open. */
    const al_json *resources = get_typed(finding, "resources", AL_JSON_ARRAY);
    for (size_t i = 0; i < al_json_len(resources); i++) {
        const al_json *entry = al_json_at(resources, i);
        begin(&o, 2);
        text(&o, "Resource ");
        field(&o, get_typed(entry, "resource", AL_JSON_OBJECT), "type");
        text(&o, ", open:");
        end(&o);
        task_sections(&o, entry, 4);
    }

    /* "==PID==" alone: the prefix without its blank. */
    raw(&o, o.prefix, o.prefix_len ? o.prefix_len - 1 : 0);
    end(&o);
    return finish(&o);
}

/* Sum of the positive integer values of an object (0 for NULL). */
static int64_t total(const al_json *counts)
{
    int64_t sum = 0;
    if (!counts || counts->type != AL_JSON_OBJECT)
        return 0;
    for (size_t i = 0; i < counts->u.object.len; i++) {
        const al_json *v = counts->u.object.values[i];
        if (v && v->type == AL_JSON_INT && v->u.integer > 0 && sum <= INT64_MAX - v->u.integer)
            sum += v->u.integer;
    }
    return sum;
}

int al_render_summary(FILE *out, const al_json *summary, const al_json *dropped, long pid)
{
    if (!out)
        return -1;
    out_t o;
    out_init(&o, out, pid);
    int64_t n = total(summary);
    if (n > 0) {
        begin(&o, 0);
        fmt(&o, "SUMMARY: asyncleak: %" PRId64 " finding%s (", n, n == 1 ? "" : "s");
        const char *sep = "";
        for (size_t i = 0; i < summary->u.object.len; i++) {
            const al_json *v = summary->u.object.values[i];
            if (!v || v->type != AL_JSON_INT || v->u.integer <= 0)
                continue;
            fmt(&o, "%s%" PRId64 " ", sep, v->u.integer);
            safe(&o, summary->u.object.keys[i], strlen(summary->u.object.keys[i]));
            sep = ", ";
        }
        text(&o, ")");
        end(&o);
    }
    int64_t d = total(dropped);
    if (d > 0) {
        begin(&o, 0);
        fmt(&o, "(%" PRId64 " more finding%s counted but not listed: max_findings reached)",
            d, d == 1 ? " was" : "s were");
        end(&o);
    }
    return finish(&o);
}
