/* run_summary.c - the process-tree summary of `asyncleak run` (see run_summary.h). */
#include "run_summary.h"
#include "render_text.h"
#include "reports.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PROG "asyncleak"

/* Adds n to kind's count in *list (appended when new).  Returns 0 or -1. */
static int count_kind(al_kind_count **list, size_t *len, const char *kind, size_t n)
{
    al_kind_count *grown;
    size_t i;

    for (i = 0; i < *len; i++)
        if (strcmp((*list)[i].kind, kind) == 0) {
            (*list)[i].count += n;
            return 0;
        }
    if ((grown = realloc(*list, (*len + 1) * sizeof *grown)) == NULL)
        return -1;
    *list = grown;
    if ((grown[*len].kind = strdup(kind)) == NULL)
        return -1;
    grown[*len].count = n;
    (*len)++;
    return 0;
}

static void free_kinds(al_kind_count *list, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        free(list[i].kind);
    free(list);
}

/* Appends s[0..n) to out (room for cap bytes plus the NUL), escaping
 * control characters and invalid UTF-8; stops (returns 1) when the next
 * piece would not fit.  *used is the length so far. */
static int append_safe(char *out, size_t cap, size_t *used, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        const unsigned char *p = (const unsigned char *)s + i;
        size_t len = al_utf8_len(p, n - i);

        if (len == 0 || p[0] < 0x20 || p[0] == 0x7f) {
            if (*used + 4 > cap)
                return 1;
            snprintf(out + *used, 5, "\\x%02x", p[0]);
            *used += 4;
            i++;
        } else {
            if (*used + len > cap)
                return 1;
            memcpy(out + *used, p, len);
            *used += len;
            i += len;
        }
    }
    out[*used] = '\0';
    return 0;
}

/* The display form of a report's "argv" (malloc'd), "?" without one. */
static char *argv_display(json_t *argv)
{
    char buf[AL_RUN_MAX_ARGV + 4];
    size_t used = 0, i;
    json_t *v;
    int cut = 0;

    buf[0] = '\0';
    if (!json_is_array(argv) || json_array_size(argv) == 0)
        return strdup("?");
    json_array_foreach(argv, i, v) {
        const char *s = json_is_string(v) ? json_string_value(v) : "?";
        size_t n = json_is_string(v) ? json_string_length(v) : 1;

        if ((i > 0 && append_safe(buf, AL_RUN_MAX_ARGV, &used, " ", 1))
            || append_safe(buf, AL_RUN_MAX_ARGV, &used, s, n)) {
            cut = 1;
            break;
        }
    }
    if (cut)
        memcpy(buf + used, "...", 4);
    return strdup(buf);
}

/* Counts per kind of one report: its findings, then its "dropped". */
static int count_report(const al_report *r, al_run_proc *p)
{
    json_t *findings = json_object_get(r->root, "findings");
    json_t *dropped = json_object_get(r->root, "dropped");
    json_t *f, *v;
    const char *key;
    size_t i;

    json_array_foreach(findings, i, f) {
        json_t *kind = json_object_get(f, "kind");
        if (count_kind(&p->kinds, &p->nkinds, json_is_string(kind) ? json_string_value(kind) : "?", 1) < 0)
            return -1;
    }
    if (json_is_object(dropped)) {
        json_object_foreach(dropped, key, v) {
            if (json_is_integer(v) && json_integer_value(v) > 0
                && count_kind(&p->kinds, &p->nkinds, key, (size_t)json_integer_value(v)) < 0)
                return -1;
        }
    }
    return 0;
}

static void free_proc(al_run_proc *p)
{
    free(p->argv);
    free(p->path);
    free_kinds(p->kinds, p->nkinds);
    memset(p, 0, sizeof *p);
}

int al_run_tree_add(al_run_tree *t, const char *path)
{
    al_report r;
    al_run_proc p;
    char err[512];
    size_t i;

    if (al_report_load(path, &r, err, sizeof err) < 0) {
        fprintf(stderr, PROG ": warning: ignoring %s: %s\n", path, err);
        t->bad_files++;
        return 0;
    }
    memset(&p, 0, sizeof p);
    p.findings = al_report_findings(&r);
    if (p.findings == 0) {
        al_report_free(&r);
        t->clean++;
        return 0;
    }
    p.pid = r.pid;
    p.interrupted = json_object_get(r.root, "interrupted") != NULL;
    if ((p.argv = argv_display(json_object_get(r.root, "argv"))) == NULL
        || (p.path = strdup(path)) == NULL || count_report(&r, &p) < 0)
        goto nomem;
    al_report_free(&r);

    if (t->nprocs == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        al_run_proc *grown = realloc(t->procs, cap * sizeof *grown);
        if (grown == NULL)
            goto nomem_proc;
        t->procs = grown;
        t->cap = cap;
    }
    for (i = 0; i < p.nkinds; i++)
        if (count_kind(&t->kinds, &t->nkinds, p.kinds[i].kind, p.kinds[i].count) < 0)
            goto nomem_proc;
    t->procs[t->nprocs++] = p;
    t->findings += p.findings;
    return 0;

nomem:
    al_report_free(&r);
nomem_proc:
    free_proc(&p);
    errno = ENOMEM;
    return -1;
}

/* By count, larger first; equal counts keep their order (index tiebreak). */
static void sort_kinds(al_kind_count *list, size_t len)
{
    size_t i, j;

    for (i = 1; i < len; i++) {     /* insertion sort: stable, lists are short */
        al_kind_count k = list[i];
        for (j = i; j > 0 && list[j - 1].count < k.count; j--)
            list[j] = list[j - 1];
        list[j] = k;
    }
}

static int by_pid(const void *a, const void *b)
{
    int64_t x = ((const al_run_proc *)a)->pid, y = ((const al_run_proc *)b)->pid;
    return (x > y) - (x < y);
}

/* Writes s with control characters and invalid UTF-8 as \xNN. */
static void print_safe(FILE *out, const char *s)
{
    char buf[256];
    size_t n = strlen(s), used;

    while (n > 0) {
        size_t take = n < 60 ? n : 60;
        /* Never split a UTF-8 sequence between two pieces. */
        while (take < n && take > 0 && ((unsigned char)s[take] & 0xc0) == 0x80)
            take--;
        if (take == 0)
            take = n < 60 ? n : 60;
        used = 0;
        append_safe(buf, sizeof buf - 1, &used, s, take);
        fputs(buf, out);
        s += take;
        n -= take;
    }
}

static void print_kinds(FILE *out, const al_kind_count *list, size_t len)
{
    size_t i;

    fputs(" (", out);
    for (i = 0; i < len; i++) {
        fprintf(out, "%s%zu ", i ? ", " : "", list[i].count);
        print_safe(out, list[i].kind);
    }
    fputc(')', out);
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void al_run_tree_print(FILE *out, al_run_tree *t, const char *privdir)
{
    size_t i, shown;

    if (t->findings == 0)
        return;
    sort_kinds(t->kinds, t->nkinds);
    for (i = 0; i < t->nprocs; i++)
        sort_kinds(t->procs[i].kinds, t->procs[i].nkinds);
    qsort(t->procs, t->nprocs, sizeof *t->procs, by_pid);

    fprintf(out, "==" PROG "== SUMMARY: %zu %s in ", t->findings,
            plural(t->findings, "finding", "findings"));
    if (t->clean > 0)
        fprintf(out, "%zu of %zu processes", t->nprocs, t->nprocs + t->clean);
    else
        fprintf(out, "%zu %s", t->nprocs, plural(t->nprocs, "process", "processes"));
    print_kinds(out, t->kinds, t->nkinds);
    fputc('\n', out);

    shown = t->nprocs < AL_RUN_MAX_PROCS ? t->nprocs : AL_RUN_MAX_PROCS;
    for (i = 0; i < shown; i++) {
        const al_run_proc *p = &t->procs[i];
        fprintf(out, "==" PROG "==   pid %" PRId64 " (%s): %zu %s", p->pid, p->argv,
                p->findings, plural(p->findings, "finding", "findings"));
        print_kinds(out, p->kinds, p->nkinds);
        if (p->interrupted)
            fputs(", interrupted by SIGINT", out);
        fputc('\n', out);
    }
    if (t->nprocs > shown) {
        size_t rest = 0;
        for (i = shown; i < t->nprocs; i++)
            rest += t->procs[i].findings;
        fprintf(out, "==" PROG "==   and %zu more %s with %zu %s\n", t->nprocs - shown,
                plural(t->nprocs - shown, "process", "processes"), rest,
                plural(rest, "finding", "findings"));
    }

    shown = t->nprocs < AL_RUN_MAX_PATHS ? t->nprocs : AL_RUN_MAX_PATHS;
    fprintf(out, "==" PROG "== JSON %s:", plural(t->nprocs, "report", "reports"));
    for (i = 0; i < shown; i++)
        fprintf(out, " %s", t->procs[i].path);
    if (t->nprocs > shown) {
        fprintf(out, " and %zu more", t->nprocs - shown);
        if (privdir != NULL)
            fprintf(out, " in %s", privdir);
    }
    fputc('\n', out);
    fflush(out);
}

void al_run_tree_free(al_run_tree *t)
{
    size_t i;

    for (i = 0; i < t->nprocs; i++)
        free_proc(&t->procs[i]);
    free(t->procs);
    free_kinds(t->kinds, t->nkinds);
    memset(t, 0, sizeof *t);
}
