/* cmd_html.c - `asyncleak html -o FILE FILE|DIR...`: the groups of findings as
 * one self-contained HTML page (inline CSS and JavaScript, nothing fetched).
 *
 * The page lists the groups as `report` orders them, each with its header
 * line, what the finding says, and its stacks in <details> elements (frames
 * outermost first, runs of asyncio-internal frames folded as in the text
 * report), each frame followed by its source line when the file is readable
 * while the page is made (embedded, HTML-escaped).  Checkboxes filter the
 * groups by kind (a few lines of inline JavaScript).  Reports that carry
 * "snapshots" (a time series of live objects per origin, interval=) get an
 * inline SVG chart each: live count per origin over time.
 *
 * Everything taken from the reports or from source files is HTML-escaped,
 * with invalid UTF-8 shown as U+FFFD and control characters as \xNN.  A
 * Content-Security-Policy meta tag forbids every network access.
 */
#include "commands.h"
#include "groups.h"
#include "inputs.h"
#include "readjson.h"
#include "render_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "asyncleak"
#ifndef AL_VERSION
#define AL_VERSION "0.0.0"
#endif

#define MAX_CHARTS 12          /* processes with snapshots charted */
#define MAX_SERIES 8           /* origins per chart; the rest is "other" */
#define MAX_SOURCE_BYTES (8u << 20)
#define MAX_SOURCE_FILES 512
#define MAX_SOURCE_LINE 400    /* bytes of a source line shown */

void al_cmd_html_help(FILE *out)
{
    fputs(
"usage: asyncleak html -o FILE [OPTIONS] FILE|DIR...\n"
"\n"
"Writes the groups of findings of the reports (as 'asyncleak report' makes\n"
"them) as one self-contained HTML page: stacks in expandable sections with\n"
"the source line of each frame (when the file is readable now), checkboxes\n"
"to filter by kind, and a chart of live tasks per origin over time for\n"
"reports that have snapshots (option interval=).  Nothing in the page is\n"
"fetched from the network.\n"
"\n"
"Options:\n"
"  -o, --output FILE    write the page to FILE ('-': standard output); required\n"
"  --top N, --kind KIND, --min-count N, --suppressions FILE\n"
"                       as for 'asyncleak report'\n"
"  -h, --help           show this help\n"
"\n"
"Exit status: 0 when the page was written (at least one report read);\n"
"2 when no report could be read, on a usage error, an invalid suppressions\n"
"file, or when FILE cannot be written.\n",
        out);
}

/* ---- escaping ----------------------------------------------------------- */

/* Writes s[0..n) as HTML text (also safe inside a quoted attribute). */
static void esc_n(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, len;

    while (i < n) {
        unsigned char c = p[i];
        switch (c) {
        case '&': fputs("&amp;", out); i++; continue;
        case '<': fputs("&lt;", out); i++; continue;
        case '>': fputs("&gt;", out); i++; continue;
        case '"': fputs("&quot;", out); i++; continue;
        case '\'': fputs("&#39;", out); i++; continue;
        case '\t': fputc('\t', out); i++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\x%02x", c);
            i++;
            continue;
        }
        len = al_utf8_len(p + i, n - i);
        if (len == 0) {
            fputs("\xef\xbf\xbd", out);      /* U+FFFD */
            i++;
            continue;
        }
        fwrite(p + i, 1, len, out);
        i += len;
    }
}

static void esc(FILE *out, const char *s)
{
    if (s != NULL)
        esc_n(out, s, strlen(s));
    else
        fputc('?', out);
}

/* An al_json scalar as escaped text ("?" for anything else). */
static void esc_value(FILE *out, const al_json *v)
{
    if (v != NULL && v->type == AL_JSON_STRING)
        esc_n(out, v->u.string.bytes, v->u.string.len);
    else if (v != NULL && v->type == AL_JSON_INT)
        fprintf(out, "%" PRId64, v->u.integer);
    else
        fputc('?', out);
}

/* ---- source lines ------------------------------------------------------- */

typedef struct source {
    char *path;
    char *text;              /* NULL when unreadable */
    size_t len;
    size_t *lines;           /* offsets of line starts */
    size_t nlines;
    UT_hash_handle hh;
} source_t;

typedef struct {
    source_t *table;
    size_t n;
} sources_t;

static source_t *source_load(sources_t *ss, const char *path)
{
    source_t *s = NULL;
    FILE *f = NULL;
    struct stat st;

    HASH_FIND_STR(ss->table, path, s);
    if (s != NULL)
        return s;
    if (ss->n >= MAX_SOURCE_FILES || (s = calloc(1, sizeof *s)) == NULL)
        return NULL;
    if ((s->path = strdup(path)) == NULL) {
        free(s);
        return NULL;
    }
    HASH_ADD_KEYPTR(hh, ss->table, s->path, strlen(s->path), s);
    ss->n++;
    /* Only regular files: a frame's file could name a FIFO or a device. */
    if (path[0] != '/' || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > MAX_SOURCE_BYTES || (f = fopen(path, "rb")) == NULL)
        return s;
    s->text = malloc((size_t)st.st_size + 1);
    if (s->text != NULL) {
        s->len = fread(s->text, 1, (size_t)st.st_size, f);
        s->text[s->len] = '\0';
    }
    fclose(f);
    if (s->text != NULL) {
        size_t cap = 64;
        s->lines = malloc(cap * sizeof *s->lines);
        if (s->lines != NULL) {
            s->lines[s->nlines++] = 0;
            for (size_t i = 0; i < s->len; i++) {
                if (s->text[i] != '\n' || i + 1 >= s->len)
                    continue;
                if (s->nlines == cap) {
                    size_t *grown = realloc(s->lines, 2 * cap * sizeof *grown);
                    if (grown == NULL)
                        break;
                    s->lines = grown;
                    cap *= 2;
                }
                s->lines[s->nlines++] = i + 1;
            }
        }
    }
    return s;
}

/* Writes line (1-based) of file as <pre class="src">, when readable. */
static void source_line(FILE *out, sources_t *ss, const char *file, int64_t line)
{
    source_t *s;
    const char *start, *end;
    size_t n;

    if (file == NULL || line < 1 || (s = source_load(ss, file)) == NULL || s->lines == NULL ||
        (uint64_t)line > s->nlines)
        return;
    start = s->text + s->lines[line - 1];
    end = memchr(start, '\n', s->len - (size_t)(start - s->text));
    n = end ? (size_t)(end - start) : s->len - (size_t)(start - s->text);
    if (n > 0 && start[n - 1] == '\r')
        n--;
    /* As Python tracebacks do: without the indentation. */
    while (n > 0 && (*start == ' ' || *start == '\t')) {
        start++;
        n--;
    }
    fputs("<pre class=\"src\">", out);
    if (n > MAX_SOURCE_LINE) {
        esc_n(out, start, MAX_SOURCE_LINE);
        fputs(" \xe2\x80\xa6", out);      /* " ..." */
    } else {
        esc_n(out, start, n);
    }
    fputs("</pre>", out);
}

static void sources_free(sources_t *ss)
{
    source_t *s, *tmp;
    HASH_ITER(hh, ss->table, s, tmp) {
        HASH_DEL(ss->table, s);
        free(s->path);
        free(s->text);
        free(s->lines);
        free(s);
    }
}

/* ---- snapshots ---------------------------------------------------------- */

typedef struct {
    char *key;               /* the origin key in the report */
    char *label;             /* what the legend says */
    char *title;             /* tooltip: the whole origin */
    char *okey;              /* al_origin_key of its origin, or NULL */
    size_t okeylen;
    int64_t *counts;         /* one per point */
    int64_t peak;
} series_t;

typedef struct {
    int64_t pid;
    char *path;
    size_t npoints;
    double *t;               /* seconds */
    series_t series[MAX_SERIES + 1];   /* the last one is "other" when used */
    size_t nseries;
    int has_other;
    size_t norigins;         /* distinct origin keys in the report */
} chart_t;

typedef struct {
    chart_t charts[MAX_CHARTS];
    size_t ncharts;
    size_t skipped;          /* processes with snapshots not charted */
    int key_flags;           /* of the groups, for matching origins */
} charts_t;

/* Time of a snapshot in seconds: "t" (seconds) or "t_ms"; -1 when neither. */
static double snap_time(json_t *snap)
{
    json_t *t = json_object_get(snap, "t");
    if (json_is_number(t))
        return json_number_value(t);
    t = json_object_get(snap, "t_ms");
    if (json_is_number(t))
        return json_number_value(t) / 1000.0;
    return -1;
}

typedef struct {
    const char *key;
    int64_t peak;
} peak_t;

static int by_peak(const void *a, const void *b)
{
    const peak_t *x = a, *y = b;
    if (x->peak != y->peak)
        return x->peak > y->peak ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* Legend label and tooltip of an origin key: from "snapshot_origins"
 * (innermost frame "file.py:LINE in FUNC", whole stack as tooltip) when it
 * describes the key, else the key itself. */
static void describe_origin(json_t *origins, const char *key, series_t *s, int key_flags)
{
    char **label = &s->label, **title = &s->title;
    json_t *o = json_object_get(origins, key);
    json_t *frames = json_object_get(json_object_get(o, "origin"), "frames");
    const char *object = json_string_value(json_object_get(o, "object"));
    size_t n = json_array_size(frames);
    char *t = NULL;
    size_t tlen = 0;
    FILE *mem;

    *label = *title = NULL;
    if (n > 0) {
        al_json *stack = al_json_from_jansson(json_object_get(o, "origin"));
        if (stack != NULL && al_origin_key(stack, key_flags, &s->okey, &s->okeylen) < 0)
            s->okey = NULL;
        al_json_free(stack);
    }
    if (n == 0) {
        *label = strdup(key);
        *title = strdup(key);
        return;
    }
    json_t *last = json_array_get(frames, n - 1);
    const char *file = json_string_value(json_object_get(last, "file"));
    const char *base = file && strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    if (asprintf(label, "%s%s%s:%" JSON_INTEGER_FORMAT " in %s", object ? object : "",
                 object ? " at " : "", base ? base : "?",
                 json_integer_value(json_object_get(last, "line")),
                 json_string_value(json_object_get(last, "function")) ?: "?") < 0)
        *label = NULL;
    if ((mem = open_memstream(&t, &tlen)) != NULL) {
        for (size_t i = 0; i < n; i++) {
            json_t *f = json_array_get(frames, i);
            fprintf(mem, "%sFile \"%s\", line %" JSON_INTEGER_FORMAT ", in %s", i ? "\n" : "",
                    json_string_value(json_object_get(f, "file")) ?: "?",
                    json_integer_value(json_object_get(f, "line")),
                    json_string_value(json_object_get(f, "function")) ?: "?");
        }
        if (fclose(mem) != 0) {
            free(t);
            t = NULL;
        }
    }
    *title = t;
}

/* Takes the snapshots of a process report into a chart (al_input_fn). */
static void take_snapshots(const al_report *r, void *ctx)
{
    charts_t *cs = ctx;
    json_t *snaps = json_object_get(r->root, "snapshots"), *origins, *snap, *live, *v;
    size_t nsnaps = json_array_size(snaps), i, j, npeaks = 0;
    peak_t *peaks = NULL;
    const char *key;
    chart_t *c;

    if (r->merged || nsnaps == 0)
        return;
    if (cs->ncharts == MAX_CHARTS) {
        cs->skipped++;
        return;
    }
    origins = json_object_get(r->root, "snapshot_origins");
    /* Peak per origin key. */
    json_array_foreach(snaps, i, snap) {
        live = json_object_get(snap, "live");
        if (snap_time(snap) < 0 || !json_is_object(live))
            continue;
        json_object_foreach(live, key, v) {
            int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
            for (j = 0; j < npeaks && strcmp(peaks[j].key, key) != 0; j++)
                ;
            if (j == npeaks) {
                peak_t *grown = realloc(peaks, (npeaks + 1) * sizeof *grown);
                if (grown == NULL)
                    goto out;
                peaks = grown;
                peaks[npeaks].key = key;    /* borrowed from r->root */
                peaks[npeaks++].peak = 0;
            }
            if (n > peaks[j].peak)
                peaks[j].peak = n;
        }
    }
    c = &cs->charts[cs->ncharts];
    memset(c, 0, sizeof *c);
    c->pid = r->pid;
    c->norigins = npeaks;
    if ((c->path = strdup(r->path)) == NULL || (c->t = calloc(nsnaps, sizeof *c->t)) == NULL)
        goto fail;
    qsort(peaks, npeaks, sizeof *peaks, by_peak);
    c->nseries = npeaks < MAX_SERIES ? npeaks : MAX_SERIES;
    c->has_other = npeaks > MAX_SERIES;
    for (j = 0; j < c->nseries + (size_t)c->has_other; j++) {
        series_t *s = &c->series[j];
        if ((s->counts = calloc(nsnaps, sizeof *s->counts)) == NULL)
            goto fail;
        if (j < c->nseries) {
            s->key = strdup(peaks[j].key);
            describe_origin(origins, peaks[j].key, s, cs->key_flags);
        } else {
            s->key = strdup("other");
            if (asprintf(&s->label, "%zu other origins", npeaks - MAX_SERIES) < 0)
                s->label = NULL;
        }
        if (s->key == NULL)
            goto fail;
    }
    json_array_foreach(snaps, i, snap) {
        double t = snap_time(snap);
        live = json_object_get(snap, "live");
        if (t < 0 || !json_is_object(live))
            continue;
        c->t[c->npoints] = t;
        json_object_foreach(live, key, v) {
            int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
            for (j = 0; j < c->nseries && strcmp(c->series[j].key, key) != 0; j++)
                ;
            if (j == c->nseries && !c->has_other)
                continue;
            int64_t *slot = &c->series[j].counts[c->npoints];
            if (n > 0 && *slot > INT64_MAX - n)
                *slot = INT64_MAX;
            else if (n < 0 && *slot < INT64_MIN - n)
                *slot = INT64_MIN;
            else
                *slot += n;
        }
        c->npoints++;
    }
    for (j = 0; j < c->nseries + (size_t)c->has_other; j++)
        for (i = 0; i < c->npoints; i++)
            if (c->series[j].counts[i] > c->series[j].peak)
                c->series[j].peak = c->series[j].counts[i];
    if (c->npoints > 0)
        cs->ncharts++;
    else
        goto fail;
    goto out;
fail:
    for (j = 0; j <= MAX_SERIES; j++) {
        free(c->series[j].key);
        free(c->series[j].label);
        free(c->series[j].title);
        free(c->series[j].okey);
        free(c->series[j].counts);
    }
    free(c->path);
    free(c->t);
    memset(c, 0, sizeof *c);
out:
    free(peaks);
}

static void charts_free(charts_t *cs)
{
    for (size_t i = 0; i < cs->ncharts; i++) {
        chart_t *c = &cs->charts[i];
        for (size_t j = 0; j <= MAX_SERIES; j++) {
            free(c->series[j].key);
            free(c->series[j].label);
            free(c->series[j].title);
            free(c->series[j].okey);
            free(c->series[j].counts);
        }
        free(c->path);
        free(c->t);
    }
}

/* A "nice" step (1, 2 or 5 times a power of ten) for about `ticks` ticks
 * over span (no libm: the command links only libc and jansson). */
static double nice_step(double span, int ticks)
{
    double raw = span / ticks, mag = 1, f;
    if (!(raw > 1e-9) || !(raw < 1e15))
        return raw > 1 ? raw : 1;
    while (raw >= 10 * mag)
        mag *= 10;
    while (raw < mag)
        mag /= 10;
    f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* The smallest multiple of step that is >= x (x, step > 0, x / step small). */
static double round_up(double x, double step)
{
    double q = x / step;
    long long k = (long long)q;
    if ((double)k < q)
        k++;
    return (double)k * step;
}

static const char *const palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
};

/* The first of groups[0..n) whose finding's origin is the origin with key
 * (okey, len), or -1. */
static long group_of_origin(al_group *const *groups, size_t n, const char *okey, size_t len,
                            int key_flags)
{
    for (size_t i = 0; okey != NULL && i < n; i++) {
        char *k = NULL;
        size_t klen = 0;
        const al_json *origin = al_json_get(groups[i]->finding, "origin");
        int same;
        if (origin == NULL || al_origin_key(origin, key_flags, &k, &klen) < 0)
            continue;
        same = klen == len && memcmp(k, okey, len) == 0;
        free(k);
        if (same)
            return (long)i;
    }
    return -1;
}

static void write_chart(FILE *out, const chart_t *c, al_group *const *groups, size_t ngroups,
                        int key_flags)
{
    const double W = 760, H = 260, L = 56, R = 16, T = 12, B = 34;
    double tmax = 0, ymax = 1, xstep, ystep, v;
    size_t i, j;

    for (i = 0; i < c->npoints; i++)
        if (c->t[i] > tmax)
            tmax = c->t[i];
    if (tmax <= 0)
        tmax = 1;
    for (j = 0; j < c->nseries + (size_t)c->has_other; j++)
        if ((double)c->series[j].peak > ymax)
            ymax = (double)c->series[j].peak;
    xstep = nice_step(tmax, 6);
    ystep = nice_step(ymax, 4);
    if (ystep < 1)
        ystep = 1;
    ymax = round_up(ymax, ystep);
    tmax = round_up(tmax, xstep);

    fprintf(out, "<figure class=\"chart\"><figcaption>Live objects per origin over time, "
            "process %" PRId64 " (", c->pid);
    esc(out, c->path);
    fprintf(out, "; %zu snapshot%s, %zu origin%s)</figcaption>\n", c->npoints,
            c->npoints == 1 ? "" : "s", c->norigins, c->norigins == 1 ? "" : "s");
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
            "width=\"%.0f\" height=\"%.0f\" role=\"img\">\n", W, H, W, H);
    /* Grid and axes. */
    for (v = 0; v <= ymax + ystep / 2; v += ystep) {
        double y = T + (H - T - B) * (1 - v / ymax);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
                L, y, W - R, y, L - 6, y + 4, v);
    }
    for (v = 0; v <= tmax + xstep / 2; v += xstep) {
        double x = L + (W - L - R) * (v / tmax);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g s</text>\n",
                x, T, x, H - B, x, H - B + 16, v);
    }
    fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            L, T, L, H - B, L, H - B, W - R, H - B);
    for (j = 0; j < c->nseries + (size_t)c->has_other; j++) {
        const series_t *s = &c->series[j];
        fprintf(out, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" points=\"",
                palette[j % (sizeof palette / sizeof palette[0])]);
        for (i = 0; i < c->npoints; i++)
            fprintf(out, "%s%.1f,%.1f", i ? " " : "", L + (W - L - R) * (c->t[i] / tmax),
                    T + (H - T - B) * (1 - (double)s->counts[i] / ymax));
        fputs("\"><title>", out);
        esc(out, s->title ? s->title : s->label);
        fputs("</title></polyline>\n", out);
    }
    fputs("</svg>\n<ul class=\"legend\">\n", out);
    for (j = 0; j < c->nseries + (size_t)c->has_other; j++) {
        const series_t *s = &c->series[j];
        fprintf(out, "<li><span class=\"swatch\" style=\"background:%s\"></span>",
                palette[j % (sizeof palette / sizeof palette[0])]);
        fputs("<span class=\"series-label\" title=\"", out);
        esc(out, s->title ? s->title : s->label);
        fputs("\">", out);
        esc(out, s->label);
        fprintf(out, "</span> <span class=\"peak\">(peak %" PRId64 ")</span>", s->peak);
        long gi = group_of_origin(groups, ngroups, s->okey, s->okeylen, key_flags);
        if (gi >= 0)
            fprintf(out, " <a href=\"#g-%s\">group #%ld</a>", groups[gi]->id, gi + 1);
        fputs("</li>\n", out);
    }
    fputs("</ul></figure>\n", out);
}

/* ---- groups ------------------------------------------------------------- */

static void frame_item(FILE *out, sources_t *ss, const al_json *frame, int internal)
{
    const char *file = al_json_get_str(frame, "file");

    fprintf(out, "<li class=\"frame%s\"><span class=\"loc\">File \"<span class=\"file\">",
            internal ? " lib" : "");
    esc_value(out, al_json_get(frame, "file"));
    fputs("</span>\", line <span class=\"line\">", out);
    esc_value(out, al_json_get(frame, "line"));
    fputs("</span>, in <span class=\"func\">", out);
    esc_value(out, al_json_get(frame, "function"));
    fputs("</span></span>", out);
    source_line(out, ss, file, al_json_get_int(frame, "line", 0));
    fputs("</li>\n", out);
}

/* A stack as <details>, frames outermost first, runs of asyncio-internal
 * frames (never the innermost) folded into a nested <details>. */
static void stack_details(FILE *out, sources_t *ss, const al_json *stack, const char *title,
                          int open)
{
    const al_json *frames = al_json_get(stack, "frames");
    const al_json *native = al_json_get(stack, "native");
    size_t n = frames && frames->type == AL_JSON_ARRAY ? al_json_len(frames) : 0;
    size_t nn = native && native->type == AL_JSON_ARRAY ? al_json_len(native) : 0;

    if (n == 0 && nn == 0)
        return;
    fprintf(out, "<details class=\"stack\"%s><summary>", open ? " open" : "");
    esc(out, title);
    fprintf(out, " (most recent call last) <span class=\"nframes\">%zu frame%s</span></summary>\n"
            "<ol class=\"frames\">\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        size_t run = 0;
        while (i + run + 1 < n &&
               al_frame_is_asyncio_internal(al_json_get_str(al_json_at(frames, i + run), "file")))
            run++;
        if (run > 0) {
            fprintf(out, "<li class=\"fold\"><details><summary>%zu asyncio frame%s</summary>"
                    "<ol class=\"frames\">\n", run, run == 1 ? "" : "s");
            for (size_t k = 0; k < run; k++)
                frame_item(out, ss, al_json_at(frames, i + k), 1);
            fputs("</ol></details></li>\n", out);
            i += run - 1;
            continue;
        }
        frame_item(out, ss, al_json_at(frames, i), 0);
    }
    fputs("</ol>\n", out);
    if (nn > 0) {
        fputs("<p class=\"native-title\">Native (most recent call last):</p><ol class=\"native\">\n", out);
        for (size_t i = 0; i < nn; i++) {
            const al_json *nf = al_json_at(native, i);
            fputs("<li>", out);
            esc_value(out, al_json_get(nf, "ip"));
            fputs(" ", out);
            esc_value(out, al_json_get(nf, "symbol"));
            if (al_json_get_str(nf, "object") != NULL) {
                fputs(" (", out);
                esc(out, al_json_get_str(nf, "object"));
                fputs(")", out);
            }
            fputs("</li>\n", out);
        }
        fputs("</ol>\n", out);
    }
    fputs("</details>\n", out);
}

static void task_stacks(FILE *out, sources_t *ss, const al_json *obj, int open_origin)
{
    const al_json *cancel = al_json_get(obj, "cancel");

    stack_details(out, ss, al_json_get(obj, "origin"), "Created at", open_origin);
    stack_details(out, ss, al_json_get(obj, "suspended_at"), "Suspended at", 0);
    stack_details(out, ss, al_json_get(cancel, "origin"), "Cancelled at", 0);
    stack_details(out, ss, al_json_get(obj, "closed_at"), "Closed at", 0);
}

/* The first line of the finding's text, after "asyncleak: KIND: ". */
static void what_line(FILE *out, const al_json *finding)
{
    char *text = NULL, *first, *nl;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (mem == NULL)
        return;
    al_render_finding(mem, finding, -1);
    if (fclose(mem) == 0 && text != NULL) {
        first = text;
        if ((nl = strchr(first, '\n')) != NULL)
            *nl = '\0';
        if (strncmp(first, "==asyncleak== ", 14) == 0)
            first += 14;
        if (strncmp(first, "asyncleak: ", 11) == 0) {
            char *colon = strchr(first + 11, ':');
            if (colon != NULL && colon[1] == ' ')
                first = colon + 2;
        }
        fputs("<p class=\"what\">", out);
        esc(out, first);
        fputs("</p>\n", out);
    }
    free(text);
}

static void full_text(FILE *out, const al_json *finding)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (mem == NULL)
        return;
    al_render_finding(mem, finding, -1);
    if (fclose(mem) == 0 && text != NULL) {
        fputs("<details class=\"text\"><summary>Text report</summary><pre>", out);
        esc_n(out, text, len);
        fputs("</pre></details>\n", out);
    }
    free(text);
}

static void write_group(FILE *out, sources_t *ss, const al_group *g, size_t index)
{
    char *header = al_group_header(g);
    const al_json *tasks = al_json_get(g->finding, "tasks");

    fprintf(out, "<article class=\"group\" id=\"g-%s\" data-kind=\"", g->id);
    esc(out, g->kind);
    fprintf(out, "\" data-count=\"%" PRId64 "\">\n<h2><span class=\"rank\">#%zu</span> ",
            g->count, index + 1);
    esc(out, header ? header : g->kind);
    fputs("</h2>\n", out);
    what_line(out, g->finding);
    task_stacks(out, ss, g->finding, 1);
    if (tasks != NULL && tasks->type == AL_JSON_ARRAY) {
        for (size_t i = 0; i < al_json_len(tasks); i++) {
            const al_json *entry = al_json_at(tasks, i), *task = al_json_get(entry, "task");
            fputs("<div class=\"task\"><h3>Task '", out);
            esc_value(out, al_json_get(task, "name"));
            fputs("' (coroutine ", out);
            esc_value(out, al_json_get(task, "coro"));
            fputs(")</h3>\n", out);
            task_stacks(out, ss, entry, 0);
            fputs("</div>\n", out);
        }
    }
    full_text(out, g->finding);
    fputs("</article>\n", out);
    free(header);
}

/* ---- the page ----------------------------------------------------------- */

static const char css[] =
"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}\n"
"header{background:#20232a;color:#f0f0f0;padding:14px 24px}\n"
"header h1{margin:0 0 4px;font-size:20px}\n"
"header p{margin:2px 0;color:#c8c8c8}\n"
"nav{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid #ddd;padding:8px 24px;display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center}\n"
"nav label{white-space:nowrap;cursor:pointer}\n"
"nav button{font:inherit;padding:2px 10px}\n"
"#shown{color:#666;margin-left:auto}\n"
"main,#charts{padding:8px 24px}\n"
"article.group{background:#fff;border:1px solid #ddd;border-left:5px solid #d62728;border-radius:4px;margin:12px 0;padding:8px 14px}\n"
"article.group[data-kind=unclosed_resource]{border-left-color:#ff7f0e}\n"
"article.group[data-kind=swallowed_cancel],article.group[data-kind=shutdown_hang]{border-left-color:#9467bd}\n"
"article.group[data-kind=unretrieved_exception]{border-left-color:#8c564b}\n"
"h2{font-size:15px;margin:4px 0}\n"
"h3{font-size:14px;margin:8px 0 2px}\n"
".rank{color:#888;font-weight:normal}\n"
".what{margin:2px 0 6px;color:#333}\n"
"details.stack{margin:4px 0}\n"
"summary{cursor:pointer;color:#0b5cad}\n"
".nframes{color:#888;font-size:12px}\n"
"ol.frames{list-style:none;margin:4px 0;padding-left:14px}\n"
"li.frame{margin:2px 0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}\n"
"li.frame.lib{color:#777}\n"
"li.fold>details>summary{font-family:ui-monospace,monospace;font-size:12px;color:#888}\n"
".file{color:#0b5cad}\n"
"pre.src{margin:0 0 0 2em;padding:1px 6px;background:#f3f3f3;border-radius:3px;white-space:pre-wrap;color:#222}\n"
"details.text pre{background:#20232a;color:#e8e8e8;padding:8px;overflow-x:auto;font-size:12px}\n"
"figure.chart{background:#fff;border:1px solid #ddd;border-radius:4px;margin:12px 0;padding:8px 14px}\n"
"figure.chart svg{max-width:100%;height:auto}\n"
"line.grid{stroke:#e4e4e4}\n"
"line.axis{stroke:#555}\n"
"text.tick{font-size:11px;fill:#555}\n"
"polyline.series{stroke-width:2}\n"
"ul.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:2px 16px;font-size:12px}\n"
".swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}\n"
".empty{color:#666;font-style:italic}\n"
"footer{color:#888;font-size:12px;padding:8px 24px 24px}\n";

static const char script[] =
"(function(){\n"
"  var boxes = Array.prototype.slice.call(document.querySelectorAll('nav input[data-kind]'));\n"
"  var groups = Array.prototype.slice.call(document.querySelectorAll('article.group'));\n"
"  var shown = document.getElementById('shown');\n"
"  function apply() {\n"
"    var on = {}, n = 0;\n"
"    boxes.forEach(function(b){ on[b.getAttribute('data-kind')] = b.checked; });\n"
"    groups.forEach(function(g){\n"
"      var keep = on[g.getAttribute('data-kind')] !== false;\n"
"      g.hidden = !keep; if (keep) n++;\n"
"    });\n"
"    shown.textContent = n + ' of ' + groups.length + ' groups shown';\n"
"  }\n"
"  function setAll(open) {\n"
"    Array.prototype.forEach.call(document.querySelectorAll('main details'),\n"
"      function(d){ d.open = open; });\n"
"  }\n"
"  boxes.forEach(function(b){ b.addEventListener('change', apply); });\n"
"  document.getElementById('expand').addEventListener('click', function(){ setAll(true); });\n"
"  document.getElementById('collapse').addEventListener('click', function(){ setAll(false); });\n"
"  apply();\n"
"})();\n";

static void write_page(FILE *out, const al_groupset *set, al_group **groups, size_t n,
                       size_t nmatched, const charts_t *cs)
{
    sources_t ss = { NULL, 0 };
    al_json *summary = al_groups_summary(groups, n);
    size_t i;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"asyncleak " AL_VERSION "\">\n"
          "<title>asyncleak report</title>\n<style>\n", out);
    fputs(css, out);
    fputs("</style>\n</head>\n<body>\n<header>\n<h1>asyncleak report</h1>\n", out);
    fprintf(out, "<p id=\"totals\">%zu report%s of %zu process%s: %" PRId64 " finding%s in "
            "%zu group%s", set->files, set->files == 1 ? "" : "s", set->processes,
            set->processes == 1 ? "" : "es", set->findings, set->findings == 1 ? "" : "s",
            set->ngroups, set->ngroups == 1 ? "" : "s");
    if (set->suppressed > 0)
        fprintf(out, " (%" PRId64 " suppressed)", set->suppressed);
    fputs("</p>\n<p id=\"summary\">", out);
    for (i = 0; summary != NULL && i < summary->u.object.len; i++) {
        fprintf(out, "%s%" PRId64 " ", i ? ", " : "", summary->u.object.values[i]->u.integer);
        esc(out, summary->u.object.keys[i]);
    }
    fputs("</p>\n</header>\n<nav id=\"filters\"><span>Kinds:</span>\n", out);
    for (i = 0; summary != NULL && i < summary->u.object.len; i++) {
        fputs("<label><input type=\"checkbox\" checked data-kind=\"", out);
        esc(out, summary->u.object.keys[i]);
        fputs("\"> ", out);
        esc(out, summary->u.object.keys[i]);
        fprintf(out, " (%" PRId64 ")</label>\n", summary->u.object.values[i]->u.integer);
    }
    fputs("<button type=\"button\" id=\"expand\">Expand all</button>"
          "<button type=\"button\" id=\"collapse\">Collapse all</button>"
          "<span id=\"shown\"></span></nav>\n", out);
    if (cs->ncharts > 0) {
        fputs("<section id=\"charts\">\n<h2>Live objects over time</h2>\n", out);
        for (i = 0; i < cs->ncharts; i++)
            write_chart(out, &cs->charts[i], groups, n, set->key_flags);
        if (cs->skipped > 0)
            fprintf(out, "<p class=\"empty\">%zu more process%s with snapshots not charted.</p>\n",
                    cs->skipped, cs->skipped == 1 ? "" : "es");
        fputs("</section>\n", out);
    }
    fputs("<main id=\"groups\">\n", out);
    if (n == 0)
        fputs("<p class=\"empty\">No findings.</p>\n", out);
    for (i = 0; i < n; i++)
        write_group(out, &ss, groups[i], i);
    if (nmatched > n)
        fprintf(out, "<p class=\"empty\">%zu more group%s not shown (--top).</p>\n",
                nmatched - n, nmatched - n == 1 ? "" : "s");
    fputs("</main>\n<footer>Generated by asyncleak " AL_VERSION ".", out);
    if (set->supp != NULL && al_suppressions_len(set->supp) > 0) {
        fputs(" Suppressions used:", out);
        for (i = 0; i < al_suppressions_len(set->supp); i++) {
            if (al_suppressions_hits(set->supp, i) <= 0)
                continue;
            fprintf(out, " %" PRId64 " \xc3\x97 <code>", al_suppressions_hits(set->supp, i));
            esc(out, al_suppressions_rule(set->supp, i));
            fputs("</code>", out);
        }
    }
    fputs("</footer>\n<script>\n", out);
    fputs(script, out);
    fputs("</script>\n</body>\n</html>\n", out);
    al_json_free(summary);
    sources_free(&ss);
}

int al_cmd_html(int argc, char **argv)
{
    al_cliopts o;
    al_groupset set;
    al_suppressions *supp = NULL;
    al_select sel;
    al_group **groups = NULL;
    charts_t *cs = calloc(1, sizeof *cs);
    const char *output = NULL, *v;
    char *tmp = NULL;
    FILE *out = NULL;
    size_t n = 0, nmatched = 0;
    int i, r, only_files = 0, rc = AL_EXIT_USAGE;

    al_groups_init(&set, NULL);
    if (cs == NULL || al_cliopts_init(&o, argv[0], argc) < 0) {
        free(cs);
        return AL_EXIT_ERROR;
    }
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (al_cliopts_positional(&o, argv[i], &only_files)) {
            continue;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            al_cmd_html_help(stdout);
            rc = 0;
            goto out;
        } else if ((r = al_take_option(o.cmd, "-o", argc, argv, &i, &v)) != 0 ||
                   (r = al_take_option(o.cmd, "--output", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                goto out;
            if (*v == '\0') {
                al_usage_error(o.cmd, "-o needs a file name");
                goto out;
            }
            output = v;
        } else if ((r = al_cliopts_take(&o, argc, argv, &i)) != 0) {
            if (r < 0)
                goto out;
        } else {
            al_usage_error(o.cmd, "unknown option '%s'", arg);
            goto out;
        }
    }
    if (output == NULL) {
        al_usage_error(o.cmd, "no output file given (-o FILE, or -o - for standard output)");
        goto out;
    }
    if (o.npaths == 0) {
        al_usage_error(o.cmd, "no report file or directory given");
        goto out;
    }
    cs->key_flags = o.key_flags;
    if ((rc = al_inputs_load(&o, &set, &supp, take_snapshots, cs)) != 0)
        goto out;
    rc = AL_EXIT_ERROR;
    al_cliopts_select(&o, &sel);
    errno = 0;
    groups = al_groups_select(&set, &sel, &n, &nmatched);
    if (groups == NULL && errno == ENOMEM) {
        fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
        goto out;
    }
    /* Written beside the target and renamed over it: a reader never sees
     * half a page, and a failed run leaves the old page. */
    if (strcmp(output, "-") == 0) {
        out = stdout;
    } else {
        if (asprintf(&tmp, "%s.tmp.%ld", output, (long)getpid()) < 0) {
            tmp = NULL;
            fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
            goto out;
        }
        if ((out = fopen(tmp, "w")) == NULL) {
            fprintf(stderr, PROG ": html: cannot write %s: %s\n", output, strerror(errno));
            goto out;
        }
    }
    write_page(out, &set, groups, n, nmatched, cs);
    if (out == stdout) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, PROG ": html: cannot write the page: %s\n", strerror(errno ? errno : EIO));
            goto out;
        }
    } else {
        int bad = ferror(out);
        int err;
        bad = fclose(out) != 0 || bad;
        err = errno ? errno : EIO;
        out = NULL;
        if (bad || rename(tmp, output) != 0) {
            fprintf(stderr, PROG ": html: cannot write %s: %s\n", output,
                    strerror(bad ? err : errno));
            unlink(tmp);
            goto out;
        }
    }
    rc = 0;
out:
    if (out != NULL && out != stdout) {
        fclose(out);
        unlink(tmp);
    }
    free(tmp);
    free(groups);
    charts_free(cs);
    free(cs);
    al_groups_free(&set);
    al_suppressions_free(supp);
    al_cliopts_free(&o);
    return rc;
}
