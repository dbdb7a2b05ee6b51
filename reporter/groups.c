/* groups.c - findings of many reports grouped by kind and origin (see groups.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* uthash aborts on ENOMEM; say so in one line first. */
#define uthash_fatal(msg) do { fputs("asyncleak: out of memory\n", stderr); exit(2); } while (0)

#include "groups.h"
#include "readjson.h"
#include "render_text.h"

/* ---- keys --------------------------------------------------------------- */

/* A growable byte buffer; err is sticky (ENOMEM). */
typedef struct {
    char *p;
    size_t len, cap;
    int err;
} buf_t;

static void put(buf_t *b, const void *s, size_t n)
{
    if (b->err)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *grown;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((grown = realloc(b->p, cap)) == NULL) {
            b->err = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* A field: "<length>:<bytes>" for a string, "i<decimal>;" for an integer,
 * "-" for anything else, so no two different frames encode alike. */
static void put_field(buf_t *b, const al_json *v)
{
    char num[32];
    int n;

    if (v != NULL && v->type == AL_JSON_STRING) {
        n = snprintf(num, sizeof num, "%zu:", v->u.string.len);
        put(b, num, (size_t)n);
        put(b, v->u.string.bytes, v->u.string.len);
    } else if (v != NULL && v->type == AL_JSON_INT) {
        n = snprintf(num, sizeof num, "i%" PRId64 ";", v->u.integer);
        put(b, num, (size_t)n);
    } else {
        put(b, "-", 1);
    }
}

/* The frames of stack: "F" + (file, line, function) per frame, ending "."
 * (or "N" when there is no frame list).  asyncio-internal frames other
 * than the innermost are left out (they are the ones the text report
 * folds, and their paths and lines change with the interpreter); with
 * AL_KEY_IGNORE_LINES, so are line numbers. */
static void put_stack(buf_t *b, const al_json *stack, int flags)
{
    const al_json *frames = al_json_get(stack, "frames");
    size_t n;

    if (frames == NULL || frames->type != AL_JSON_ARRAY) {
        put(b, "N", 1);
        return;
    }
    n = al_json_len(frames);
    for (size_t i = 0; i < n; i++) {
        const al_json *f = al_json_at(frames, i);
        if (i + 1 < n && al_frame_is_asyncio_internal(al_json_get_str(f, "file")))
            continue;
        put(b, "F", 1);
        put_field(b, al_json_get(f, "file"));
        if (!(flags & AL_KEY_IGNORE_LINES))
            put_field(b, al_json_get(f, "line"));
        put_field(b, al_json_get(f, "function"));
    }
    put(b, ".", 1);
}

typedef struct {
    char *p;
    size_t len;
} bytes_t;

static int cmp_bytes(const void *a, const void *b)
{
    const bytes_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The distinct origins of "tasks"[], sorted, as "T" + stack each. */
static void put_task_origins(buf_t *b, const al_json *tasks, int flags)
{
    size_t n = al_json_len(tasks), m = 0, i;
    bytes_t *enc;

    put(b, "T", 1);
    if (n == 0)
        return;
    if ((enc = calloc(n, sizeof *enc)) == NULL) {
        b->err = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        buf_t one = { 0 };
        put_stack(&one, al_json_get(al_json_at(tasks, i), "origin"), flags);
        if (one.err) {
            b->err = 1;
            free(one.p);
            goto out;
        }
        enc[m].p = one.p;
        enc[m].len = one.len;
        m++;
    }
    qsort(enc, m, sizeof *enc, cmp_bytes);
    for (i = 0; i < m; i++) {
        if (i > 0 && cmp_bytes(&enc[i], &enc[i - 1]) == 0)
            continue;
        put(b, "<", 1);
        put(b, enc[i].p, enc[i].len);
    }
out:
    for (i = 0; i < m; i++)
        free(enc[i].p);
    free(enc);
}

int al_group_key(const al_json *finding, int flags, char **key, size_t *keylen)
{
    buf_t b = { 0 };
    const al_json *origin = al_json_get(finding, "origin");
    const al_json *resource = al_json_get(finding, "resource");
    const al_json *tasks = al_json_get(finding, "tasks");

    put(&b, "K", 1);
    put_field(&b, al_json_get(finding, "kind"));
    if (resource != NULL && resource->type == AL_JSON_OBJECT) {
        put(&b, "R", 1);
        put_field(&b, al_json_get(resource, "type"));
    }
    if (origin != NULL && origin->type == AL_JSON_OBJECT) {
        put(&b, "O", 1);
        put_stack(&b, origin, flags);
    } else if (tasks != NULL && tasks->type == AL_JSON_ARRAY) {
        put_task_origins(&b, tasks, flags);
    }
    if (b.err) {
        free(b.p);
        errno = ENOMEM;
        return -1;
    }
    *key = b.p;
    *keylen = b.len;
    return 0;
}

int al_origin_key(const al_json *stack, int flags, char **key, size_t *keylen)
{
    buf_t b = { 0 };

    put_stack(&b, stack, flags);
    if (b.err) {
        free(b.p);
        errno = ENOMEM;
        return -1;
    }
    *key = b.p;
    *keylen = b.len;
    return 0;
}

/* FNV-1a, 64 bits, as 16 hex digits. */
static void key_id(const char *key, size_t len, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ULL;
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

/* ---- the set ------------------------------------------------------------ */

void al_groups_init(al_groupset *set, al_suppressions *supp)
{
    memset(set, 0, sizeof *set);
    set->supp = supp;
}

void al_groups_init_flags(al_groupset *set, al_suppressions *supp, int key_flags)
{
    al_groups_init(set, supp);
    set->key_flags = key_flags;
}

static void group_free(al_group *g)
{
    free(g->key);
    free(g->kind);
    free(g->pids);
    al_json_free(g->finding);
    free(g);
}

void al_groups_free(al_groupset *set)
{
    al_group *g, *tmp;

    HASH_ITER(hh, set->table, g, tmp) {
        HASH_DEL(set->table, g);
        group_free(g);
    }
    al_json_free(set->dropped);
    al_groups_init_flags(set, set->supp, set->key_flags);
}

al_group *al_groups_find(const al_groupset *set, const char *key, size_t keylen)
{
    al_group *g = NULL;
    HASH_FIND(hh, set->table, key, keylen, g);
    return g;
}

/* Inserts pid into g's ascending distinct list.  Returns 0 or -1 (ENOMEM). */
static int add_pid(al_group *g, int64_t pid)
{
    size_t lo = 0, hi = g->npids;

    if (pid <= 0)
        return 0;
    /* The common case is a pid larger than all seen (files sorted by name
     * are not sorted by pid, but repeats of the last one are common). */
    if (g->npids > 0 && g->pids[g->npids - 1] == pid)
        return 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->pids[mid] < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->npids && g->pids[lo] == pid)
        return 0;
    if (g->npids == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 4;
        int64_t *grown = realloc(g->pids, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        g->pids = grown;
        g->cap = cap;
    }
    memmove(g->pids + lo + 1, g->pids + lo, (g->npids - lo) * sizeof *g->pids);
    g->pids[lo] = pid;
    g->npids++;
    return 0;
}

int al_groups_add(al_groupset *set, const al_json *finding, int64_t count,
                  const int64_t *pids, size_t npids)
{
    char *key = NULL;
    size_t keylen;
    al_group *g;
    const char *kind;

    if (count < 1)
        count = 1;
    if (set->supp != NULL && al_suppressions_match_n(set->supp, finding, count) >= 0) {
        set->suppressed += count;
        return 0;
    }
    if (al_group_key(finding, set->key_flags, &key, &keylen) < 0)
        return -1;
    g = al_groups_find(set, key, keylen);
    if (g == NULL) {
        if ((g = calloc(1, sizeof *g)) == NULL)
            goto oom;
        kind = al_json_get_str(finding, "kind");
        g->key = key;
        g->keylen = keylen;
        key = NULL;
        key_id(g->key, g->keylen, g->id);
        g->seq = set->ngroups;
        if ((g->kind = strdup(kind ? kind : "?")) == NULL ||
            (g->finding = al_json_copy(finding)) == NULL) {
            group_free(g);
            goto oom;
        }
        HASH_ADD_KEYPTR(hh, set->table, g->key, g->keylen, g);
        set->ngroups++;
    }
    free(key);
    g->count = g->count <= INT64_MAX - count ? g->count + count : INT64_MAX;
    set->findings = set->findings <= INT64_MAX - count ? set->findings + count : INT64_MAX;
    for (size_t i = 0; i < npids; i++)
        if (add_pid(g, pids[i]) < 0)
            return -1;
    return 0;
oom:
    free(key);
    errno = ENOMEM;
    return -1;
}

/* Adds the "dropped" counts of a document. */
static int add_dropped(al_groupset *set, json_t *dropped)
{
    const char *kind;
    json_t *v;

    if (!json_is_object(dropped))
        return 0;
    json_object_foreach(dropped, kind, v) {
        int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
        if (n <= 0)
            continue;
        if (set->dropped == NULL && (set->dropped = al_json_object()) == NULL)
            return -1;
        int64_t old = al_json_get_int(set->dropped, kind, 0);
        if (al_json_set_int(set->dropped, kind, old <= INT64_MAX - n ? old + n : INT64_MAX) < 0)
            return -1;
    }
    return 0;
}

/* A finding as read from a file: an object with a string "kind". */
static int is_finding(const json_t *v)
{
    return json_is_object(v) && json_is_string(json_object_get(v, "kind"));
}

static int add_merged(al_groupset *set, const al_report *r, size_t *skipped)
{
    json_t *groups = json_object_get(r->root, "groups"), *entry, *v;
    size_t i;

    v = json_object_get(r->root, "processes");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        set->processes += (size_t)json_integer_value(v);
    json_array_foreach(groups, i, entry) {
        json_t *jf = json_object_get(entry, "finding");
        json_t *jc = json_object_get(entry, "count");
        json_t *jp = json_object_get(entry, "pids"), *p;
        int64_t count = json_is_integer(jc) && json_integer_value(jc) > 0
                        ? (int64_t)json_integer_value(jc) : 1;
        int64_t *pids = NULL;
        size_t np = 0, j;
        al_json *f;
        int rc;

        if (!is_finding(jf)) {
            (*skipped)++;
            continue;
        }
        if (json_array_size(jp) > 0) {
            if ((pids = calloc(json_array_size(jp), sizeof *pids)) == NULL)
                return -1;
            json_array_foreach(jp, j, p)
                if (json_is_integer(p))
                    pids[np++] = (int64_t)json_integer_value(p);
        }
        if ((f = al_json_from_jansson(jf)) == NULL) {
            free(pids);
            return -1;
        }
        rc = al_groups_add(set, f, count, pids, np);
        al_json_free(f);
        free(pids);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int al_groups_add_report(al_groupset *set, const al_report *r, size_t *skipped)
{
    json_t *findings, *jf;
    size_t i, dummy = 0;

    if (skipped == NULL)
        skipped = &dummy;
    set->files++;
    if (add_dropped(set, json_object_get(r->root, "dropped")) < 0)
        return -1;
    if (r->merged)
        return add_merged(set, r, skipped);
    set->processes++;
    findings = json_object_get(r->root, "findings");
    json_array_foreach(findings, i, jf) {
        al_json *f;
        int rc;
        if (!is_finding(jf)) {
            (*skipped)++;
            continue;
        }
        if ((f = al_json_from_jansson(jf)) == NULL)
            return -1;
        rc = al_groups_add(set, f, 1, &r->pid, 1);
        al_json_free(f);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- selection and output ----------------------------------------------- */

int al_select_keeps(const al_select *sel, const al_group *g)
{
    if (sel == NULL)
        return 1;
    if (sel->min_count > 0 && g->count < sel->min_count)
        return 0;
    if (sel->nkinds > 0) {
        for (size_t i = 0; i < sel->nkinds; i++)
            if (strcmp(sel->kinds[i], g->kind) == 0)
                return 1;
        return 0;
    }
    return 1;
}

static int kind_rank(const char *kind)
{
    int i = al_kind_index(kind);
    return i < 0 ? 1000 : i;
}

static const char *base_name(const char *file)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    return slash ? slash + 1 : file ? file : "";
}

/* Orders two origins by what does not depend on where the files are:
 * frames from the innermost outwards by (base name, line, function), then
 * fewer frames first.  0 when alike in all that. */
static int cmp_origins(const al_json *x, const al_json *y)
{
    const al_json *fx = al_json_get(al_json_get(x, "origin"), "frames");
    const al_json *fy = al_json_get(al_json_get(y, "origin"), "frames");
    size_t nx = al_json_len(fx), ny = al_json_len(fy), i;
    int c;

    for (i = 1; i <= nx && i <= ny; i++) {
        const al_json *a = al_json_at(fx, nx - i), *b = al_json_at(fy, ny - i);
        int64_t la = al_json_get_int(a, "line", 0), lb = al_json_get_int(b, "line", 0);
        const char *fa = al_json_get_str(a, "function"), *fb = al_json_get_str(b, "function");
        if ((c = strcmp(base_name(al_json_get_str(a, "file")), base_name(al_json_get_str(b, "file")))) != 0)
            return c;
        if (la != lb)
            return la < lb ? -1 : 1;
        if ((c = strcmp(fa ? fa : "", fb ? fb : "")) != 0)
            return c;
    }
    return (nx > ny) - (nx < ny);
}

static int cmp_groups(const void *a, const void *b)
{
    const al_group *x = *(al_group *const *)a, *y = *(al_group *const *)b;
    size_t n;
    int c;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if ((c = kind_rank(x->kind) - kind_rank(y->kind)) != 0)
        return c;
    if ((c = strcmp(x->kind, y->kind)) != 0)
        return c;
    if ((c = cmp_origins(x->finding, y->finding)) != 0)
        return c;
    n = x->keylen < y->keylen ? x->keylen : y->keylen;
    if ((c = memcmp(x->key, y->key, n)) != 0)
        return c;
    return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

al_group **al_groups_select(const al_groupset *set, const al_select *sel,
                            size_t *n, size_t *nmatched)
{
    al_group **list, *g, *tmp;
    size_t m = 0;

    *n = 0;
    if (nmatched != NULL)
        *nmatched = 0;
    errno = 0;
    if (set->ngroups == 0)
        return NULL;
    if ((list = calloc(set->ngroups, sizeof *list)) == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    HASH_ITER(hh, set->table, g, tmp) {
        if (al_select_keeps(sel, g))
            list[m++] = g;
    }
    qsort(list, m, sizeof *list, cmp_groups);
    if (nmatched != NULL)
        *nmatched = m;
    if (sel != NULL && sel->top > 0 && m > sel->top)
        m = sel->top;
    if (m == 0) {
        free(list);
        return NULL;
    }
    *n = m;
    return list;
}

al_json *al_groups_summary(al_group *const *groups, size_t n)
{
    al_json *summary = al_json_object();
    size_t i;
    int k;

    if (summary == NULL)
        return NULL;
    for (k = 0; al_finding_kinds[k] != NULL; k++) {
        int64_t sum = 0;
        for (i = 0; i < n; i++)
            if (strcmp(groups[i]->kind, al_finding_kinds[k]) == 0)
                sum += groups[i]->count;
        if (sum > 0 && al_json_set_int(summary, al_finding_kinds[k], sum) < 0)
            goto oom;
    }
    for (i = 0; i < n; i++) {
        if (al_kind_index(groups[i]->kind) >= 0)
            continue;
        int64_t old = al_json_get_int(summary, groups[i]->kind, 0);
        if (al_json_set_int(summary, groups[i]->kind, old + groups[i]->count) < 0)
            goto oom;
    }
    return summary;
oom:
    al_json_free(summary);
    return NULL;
}

char *al_group_header(const al_group *g)
{
    char *s = NULL;
    size_t len = 0, i, shown;
    FILE *f = open_memstream(&s, &len);

    if (f == NULL)
        return NULL;
    fprintf(f, "%" PRId64 " x ", g->count);
    /* The kind comes from the file: keep control characters out. */
    for (const char *k = g->kind; *k; k++)
        fputc((unsigned char)*k < 0x20 || *k == 0x7f ? '?' : *k, f);
    if (g->npids > 0) {
        shown = g->npids < AL_GROUP_MAX_PIDS ? g->npids : AL_GROUP_MAX_PIDS;
        fprintf(f, " in %zu process%s (pid%s ", g->npids, g->npids == 1 ? "" : "es",
                g->npids == 1 ? "" : "s");
        for (i = 0; i < shown; i++)
            fprintf(f, "%s%" PRId64, i ? ", " : "", g->pids[i]);
        if (g->npids > shown)
            fprintf(f, " and %zu more", g->npids - shown);
        fputc(')', f);
    }
    if (fclose(f) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

int al_group_render_text(FILE *out, const al_group *g)
{
    char *header = al_group_header(g);
    int rc;

    if (header == NULL)
        return -1;
    rc = fprintf(out, "==asyncleak== %s\n", header) < 0 ? -1 : 0;
    free(header);
    if (al_render_finding(out, g->finding, -1) < 0)
        rc = -1;
    return rc;
}

al_json *al_group_json(const al_group *g)
{
    al_json *o = al_json_object(), *pids = al_json_array();

    if (o == NULL || pids == NULL)
        goto oom;
    for (size_t i = 0; i < g->npids; i++)
        if (al_json_append(pids, al_json_int(g->pids[i])) < 0)
            goto oom;
    if (al_json_set_str(o, "kind", g->kind) < 0 || al_json_set_int(o, "count", g->count) < 0)
        goto oom;
    /* From here on, pids belongs to o (al_json_set takes it even on failure). */
    if (al_json_set(o, "pids", pids) < 0 || al_json_set_str(o, "id", g->id) < 0 ||
        al_json_set(o, "finding", al_json_copy(g->finding)) < 0) {
        al_json_free(o);
        return NULL;
    }
    return o;
oom:
    al_json_free(pids);
    al_json_free(o);
    return NULL;
}
