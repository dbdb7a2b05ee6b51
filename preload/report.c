/* report.c - the findings of this process and their two writers.
 *
 * Text: each finding is rendered (common/render_text.c) as soon as it is
 * added, to log_path or stderr, with one write(2) per finding so lines of
 * concurrent processes do not interleave.  JSON: the whole report is
 * rewritten atomically (temporary file + rename) at every report point, so a
 * process that dies keeps its last complete report.
 *
 * Nothing here calls CPython: the final write runs from Py_AtExit, after the
 * interpreter is gone.  A mutex serializes writers (report points hold the
 * GIL, but the final write and signal-time dumps may not).
 */
#include "al.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "render_text.h"
#include "suppress.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static al_json *g_findings;     /* array of findings, owned */
static al_json *g_summary;      /* kind -> count of listed findings */
static al_json *g_dropped;      /* kind -> count beyond max_findings */
static al_json *g_meta;         /* {"argv": [...], "python": "..."} from report.h setters */
static al_suppressions *g_supp;  /* suppressions=FILE, or NULL */
static long g_suppressed;
static al_json *g_extra;        /* further top-level members (snapshots), owned */
static long g_total;
static int g_dirty;
static int g_log_fd = -1;       /* opened log_path, or -1 for stderr */
static char *g_log_file;        /* its expanded path */
static pid_t g_log_pid;
static int g_json_failed_once, g_log_failed_once, g_drop_said;
/* al_report_annotate(): set and read by threads holding the GIL. */
static al_report_annotate_fn g_annotate;
static void *g_annotate_ctx;
static pthread_t g_annotate_thread;
static int g_hold;              /* al_report_hold depth (text written late) */
static pid_t g_hold_pid;        /* getpid() when the hold began (no fork while held) */
static int g_hold_regular;      /* the text goes to a regular file (-1: not known yet) */

void al_diag(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n = snprintf(line, sizeof line, "asyncleak: ");

    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(2, line, (size_t)n) < 0) {
        /* Nothing better to do: stderr itself is gone. */
    }
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            /* Say so once, on stderr, unless stderr is what failed. */
            if (fd != 2 && !g_log_failed_once) {
                g_log_failed_once = 1;
                al_diag("cannot write the text report to log_path '%s': %s",
                        g_log_file ? g_log_file : "?", strerror(errno));
            }
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

/* The text output's fd for this process (opened on first use). */
static int log_fd(void)
{
    char *path;

    if (al_opts.log_path == NULL)
        return 2;
    if (g_log_fd >= 0 && g_log_pid == (g_hold > 0 ? g_hold_pid : getpid()))
        return g_log_fd;
    if (g_log_fd >= 0)
        close(g_log_fd);
    g_log_fd = -1;
    path = al_path_expand(al_opts.log_path, (long)getpid());
    if (path != NULL)
        g_log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    free(g_log_file);
    g_log_file = path ? strdup(path) : NULL;
    if (g_log_fd < 0 && !g_log_failed_once) {
        g_log_failed_once = 1;
        al_diag("cannot open log_path '%s': %s; writing the report to stderr", path ? path : "?", strerror(errno));
    }
    free(path);
    g_log_pid = getpid();
    return g_log_fd >= 0 ? g_log_fd : 2;
}

/* Text waiting to be written: whole findings, rendered through g_text_file
 * (a stdio stream whose writes append to g_text).  Written at once, except
 * while held (a report point describing many findings): then several
 * findings go in one write(2), of up to TEXT_FLUSH bytes to a regular file
 * (opened O_APPEND: writes do not interleave) and up to PIPE_BUF bytes to a
 * pipe or terminal (larger writes there may interleave with other
 * processes'), and the rest at release.  A finding is never split between
 * writes.  All under g_lock. */
#define TEXT_FLUSH 65536
static char *g_text;
static size_t g_text_len, g_text_cap;
static FILE *g_text_file;

static ssize_t text_append(void *cookie, const char *buf, size_t n)
{
    if (g_text_cap - g_text_len < n) {
        size_t ncap = g_text_cap ? g_text_cap : 2 * TEXT_FLUSH;
        char *p;
        while (ncap - g_text_len < n)
            ncap *= 2;
        p = realloc(g_text, ncap);
        if (p == NULL)
            return -1;
        g_text = p;
        g_text_cap = ncap;
    }
    memcpy(g_text + g_text_len, buf, n);
    g_text_len += n;
    return (ssize_t)n;
}

static FILE *text_file(void)
{
    if (g_text_file == NULL) {
        cookie_io_functions_t io = {NULL, text_append, NULL, NULL};
        g_text_file = fopencookie(NULL, "w", io);
        if (g_text_file != NULL)
            setvbuf(g_text_file, NULL, _IOFBF, 16384);
    }
    return g_text_file;
}

static void text_flush(void)
{
    if (g_text_len > 0)
        write_all(log_fd(), g_text, g_text_len);
    g_text_len = 0;
}

static void emit_text(const al_json *finding, const al_json *summary, const al_json *dropped)
{
    FILE *out = text_file();
    size_t mark = g_text_len;
    long pid = g_hold > 0 ? (long)g_hold_pid : (long)getpid();
    int rc;

    if (out == NULL)
        return;
    if (finding != NULL)
        rc = al_render_finding(out, finding, pid);
    else
        rc = al_render_summary(out, summary, dropped, pid);
    if (rc < 0) {
        /* Out of memory: drop this finding's text, whole. */
        fflush(out);
        clearerr(out);
        g_text_len = mark;
        return;
    }
    if (g_hold == 0) {
        text_flush();
        return;
    }
    if (g_hold_regular < 0) {
        struct stat st;
        g_hold_regular = fstat(log_fd(), &st) == 0 && S_ISREG(st.st_mode);
    }
    if (g_hold_regular) {
        /* O_APPEND writes to a file do not interleave: large ones. */
        if (g_text_len >= TEXT_FLUSH)
            text_flush();
    } else if (g_text_len > PIPE_BUF && mark > 0) {
        /* A pipe or terminal: only writes of at most PIPE_BUF bytes are
         * atomic, so the findings before this one go now, and this one
         * waits for company (one larger than PIPE_BUF goes alone). */
        write_all(log_fd(), g_text, mark);
        memmove(g_text, g_text + mark, g_text_len - mark);
        g_text_len -= mark;
    }
}

void al_report_hold(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_hold++ == 0) {
        g_hold_pid = getpid();
        g_hold_regular = -1;
    }
    pthread_mutex_unlock(&g_lock);
}

void al_report_release(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_hold > 0 && --g_hold == 0)
        text_flush();
    pthread_mutex_unlock(&g_lock);
}

static void bump(al_json **counts, const char *kind)
{
    if (*counts == NULL)
        *counts = al_json_object();
    al_json_set_int(*counts, kind, al_json_get_int(*counts, kind, 0) + 1);
}

/* A finding beyond max_findings: counted in "dropped" only. */
static void count_unlisted_locked(const char *kind)
{
    bump(&g_dropped, kind);
    if (!g_drop_said) {
        g_drop_said = 1;
        al_diag("max_findings=%d reached: further findings are counted, not listed", al_opts.max_findings);
    }
}

void al_report_add(al_json *finding)
{
    const char *kind = al_json_get_str(finding, "kind");

    if (finding == NULL || kind == NULL) {
        al_json_free(finding);
        return;
    }
    if (g_annotate != NULL && pthread_equal(g_annotate_thread, pthread_self()))
        g_annotate(finding, g_annotate_ctx);
    pthread_mutex_lock(&g_lock);
    if (g_supp != NULL && al_suppressions_match(g_supp, finding) >= 0) {
        /* Suppressed: counted in the "Suppressions used" table only. */
        g_suppressed++;
        g_dirty = 1;
        pthread_mutex_unlock(&g_lock);
        al_json_free(finding);
        return;
    }
    if (g_findings == NULL)
        g_findings = al_json_array();
    g_total++;
    g_dirty = 1;
    if (al_json_len(g_findings) < (size_t)al_opts.max_findings) {
        bump(&g_summary, kind);
        emit_text(finding, NULL, NULL);
        al_json_append(g_findings, finding);
    } else {
        count_unlisted_locked(kind);
        al_json_free(finding);
    }
    pthread_mutex_unlock(&g_lock);
}

void al_report_annotate(al_report_annotate_fn fn, void *ctx)
{
    /* Another thread's report point may have taken over meanwhile (the GIL
     * can change hands inside one): a clear only undoes one's own. */
    if (fn == NULL && !pthread_equal(g_annotate_thread, pthread_self()))
        return;
    g_annotate_thread = pthread_self();
    g_annotate_ctx = ctx;
    g_annotate = fn;
}

int al_report_wants_detail(void)
{
    int r;

    pthread_mutex_lock(&g_lock);
    r = g_supp != NULL || al_json_len(g_findings) < (size_t)al_opts.max_findings;
    pthread_mutex_unlock(&g_lock);
    return r;
}

void al_report_count_unlisted(const char *kind)
{
    pthread_mutex_lock(&g_lock);
    if (g_findings == NULL)
        g_findings = al_json_array();
    g_total++;
    g_dirty = 1;
    count_unlisted_locked(kind);
    pthread_mutex_unlock(&g_lock);
}

void al_report_set_meta(al_json *meta)
{
    pthread_mutex_lock(&g_lock);
    al_json_free(g_meta);
    g_meta = meta;
    pthread_mutex_unlock(&g_lock);
}

void al_report_set_extra(const char *key, al_json *value)
{
    pthread_mutex_lock(&g_lock);
    if (g_extra == NULL)
        g_extra = al_json_object();
    al_json_set(g_extra, key, value);
    g_dirty = 1;
    pthread_mutex_unlock(&g_lock);
}

/* Writes the report document to fd; findings are borrowed, not copied. */
static int write_document(FILE *out, pid_t pid)
{
    al_json *doc = al_json_object();
    size_t i;
    int rc;

    al_json_set_str(doc, "tool", "asyncleak");
    al_json_set_int(doc, "schema", 1);
    al_json_set_int(doc, "pid", (int64_t)pid);
    for (i = 0; i < al_json_len(g_meta); i++)
        al_json_set(doc, g_meta->u.object.keys[i], al_json_copy(g_meta->u.object.values[i]));
    al_json_set(doc, "findings", al_json_array());
    al_json_set(doc, "summary", g_summary ? al_json_copy(g_summary) : al_json_object());
    if (g_dropped != NULL)
        al_json_set(doc, "dropped", al_json_copy(g_dropped));
    for (i = 0; i < al_json_len(g_extra); i++)
        al_json_set(doc, g_extra->u.object.keys[i], al_json_copy(g_extra->u.object.values[i]));
    if (g_supp != NULL && g_suppressed > 0) {
        al_json *used = al_json_array();
        for (i = 0; i < al_suppressions_len(g_supp); i++) {
            if (al_suppressions_hits(g_supp, i) > 0) {
                al_json *u = al_json_object();
                al_json_set_str(u, "rule", al_suppressions_rule(g_supp, i));
                al_json_set_int(u, "count", al_suppressions_hits(g_supp, i));
                al_json_append(used, u);
            }
        }
        al_json_set(doc, "suppressions_used", used);
    }
    /* Lend the findings array to the document for the write, then take it
     * back, so a report of a million findings is not copied. */
    if (g_findings != NULL) {
        al_json **slot = &doc->u.object.values[3 + al_json_len(g_meta)];
        al_json_free(*slot);
        *slot = g_findings;
        rc = al_json_write(doc, out, -1);
        *slot = NULL;
    } else {
        rc = al_json_write(doc, out, -1);
    }
    if (fputc('\n', out) == EOF)
        rc = -1;
    al_json_free(doc);
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t g_last_commit_ms = INT64_MIN / 2;

static void commit_locked(void)
{
    pid_t pid = getpid();
    char *path = al_path_expand(al_opts.json_path, (long)pid);
    char *tmp = NULL;
    FILE *out = NULL;
    int fd = -1, ok = 0;

    if (path == NULL || asprintf(&tmp, "%s.tmp.%ld", path, (long)pid) < 0) {
        tmp = NULL;
        goto out;
    }
    /* O_EXCL|O_NOFOLLOW: never write through a planted file or symlink. */
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        goto out;
    out = fdopen(fd, "w");
    if (out == NULL)
        goto out;
    fd = -1;
    ok = write_document(out, pid) == 0;
    ok = (fclose(out) == 0) && ok;
    out = NULL;
    ok = ok && rename(tmp, path) == 0;
out:
    if (!ok) {
        int err = errno;
        if (tmp != NULL)
            unlink(tmp);
        if (!g_json_failed_once) {
            g_json_failed_once = 1;
            al_diag("cannot write the JSON report '%s': %s", path ? path : "?", strerror(err));
        }
    } else {
        g_dirty = 0;
        al_report_deferred = 0;
    }
    g_last_commit_ms = now_ms();
    if (out != NULL)
        fclose(out);
    if (fd >= 0)
        close(fd);
    free(tmp);
    free(path);
}

volatile int al_report_deferred;

void al_report_commit_soon(void)
{
    if (al_opts.json_path == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    /* Each write copies every listed finding: one per finding of a burst
     * would make the burst quadratic. */
    if (g_dirty && now_ms() - g_last_commit_ms >= AL_COMMIT_SOON_MS)
        commit_locked();
    al_report_deferred = g_dirty;
    pthread_mutex_unlock(&g_lock);
}

void al_report_commit(int force)
{
    if (al_opts.json_path == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    if (g_dirty || force)
        commit_locked();
    pthread_mutex_unlock(&g_lock);
}

void al_report_exit(void)
{
    al_report_commit(1);
    pthread_mutex_lock(&g_lock);
    text_flush();
    if (g_total > 0)
        emit_text(NULL, g_summary, g_dropped);
    if (g_supp != NULL && g_suppressed > 0) {
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        if (mem != NULL) {
            al_suppressions_render_used(mem, g_supp, (long)getpid());
            if (fclose(mem) == 0 && len > 0)
                write_all(log_fd(), buf, len);
            free(buf);
        }
    }
    pthread_mutex_unlock(&g_lock);
}

long al_report_count(void)
{
    return g_total;
}

void al_report_apply_exitcode(void)
{
    if (al_opts.exitcode >= 0 && g_total > 0) {
        fflush(NULL);
        _exit(al_opts.exitcode);
    }
}

void al_report_reset(void)
{
    pthread_mutex_lock(&g_lock);
    al_json_free(g_findings);
    al_json_free(g_summary);
    al_json_free(g_dropped);
    al_json_free(g_extra);
    g_findings = g_summary = g_dropped = g_extra = NULL;
    g_total = 0;
    g_suppressed = 0;
    g_dirty = 0;
    g_drop_said = g_json_failed_once = g_log_failed_once = 0;
    g_text_len = 0;
    g_hold = 0;
    if (g_log_fd >= 0)
        close(g_log_fd);
    g_log_fd = -1;
    pthread_mutex_unlock(&g_lock);
}

al_json *al_report_findings_since(size_t start)
{
    al_json *out = al_json_array();
    size_t i;

    pthread_mutex_lock(&g_lock);
    for (i = start; i < al_json_len(g_findings); i++)
        al_json_append(out, al_json_copy(al_json_at(g_findings, i)));
    pthread_mutex_unlock(&g_lock);
    return out;
}

size_t al_report_listed(void)
{
    size_t n;
    pthread_mutex_lock(&g_lock);
    n = al_json_len(g_findings);
    pthread_mutex_unlock(&g_lock);
    return n;
}

void al_report_load_suppressions(void)
{
    char err[512];

    if (al_opts.suppressions == NULL)
        return;
    g_supp = al_suppressions_load(al_opts.suppressions, err, sizeof err);
    if (g_supp == NULL)
        al_diag("%s; no finding is suppressed", err);
}
