/* cmd_diff.c - `asyncleak diff BASE NEW`: the groups of findings (kind +
 * origin, as `report` makes them) present in NEW and not in BASE (new leaks)
 * and those in BASE and not in NEW (gone), as text or JSON; exits 1 when
 * there are new ones, so a CI job can fail on them.
 *
 * BASE and NEW are each a report file, a directory of reports or a merged
 * document of `asyncleak report --json` (a baseline kept in the
 * repository).  Suppressions and --kind apply to both sides alike.
 */
#include "commands.h"
#include "groups.h"
#include "inputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "asyncleak"

void al_cmd_diff_help(FILE *out)
{
    fputs(
"usage: asyncleak diff [OPTIONS] BASE NEW\n"
"\n"
"Compares two sets of reports (each a report file, a directory scanned for\n"
"*.json, or the output of 'asyncleak report --json'), grouped by kind and\n"
"origin as 'asyncleak report' groups them, and prints the groups found in\n"
"NEW and not in BASE (new leaks) and those found in BASE and not in NEW\n"
"(gone), each with its first finding.\n"
"\n"
"Options:\n"
"  --kind KIND          compare findings of this kind only (repeatable)\n"
"  --min-count N        a group of NEW counts as new only with N findings or more\n"
"  --suppressions FILE  leave out findings matching a rule of FILE (both sides)\n"
"  --ignore-lines       match origins by file and function only, so edits that\n"
"                       moved lines between BASE and NEW do not make groups new\n"
"  --json               print the result as one JSON document\n"
"  -h, --help           show this help\n"
"\n"
"Exit status:\n"
"  0  no new group in NEW\n"
"  1  NEW has groups BASE has not\n"
"  2  BASE or NEW could not be read, a usage error, or an invalid\n"
"     suppressions file\n",
        out);
}

/* One side of the comparison. */
typedef struct {
    const char *path;
    al_groupset set;
} side_t;

/* Reads side->path into side->set.  Returns 0, or 2 (message printed). */
static int read_side(side_t *side, const char *what, al_suppressions *supp, int key_flags)
{
    size_t nerrors = 0;
    char *paths[1];
    long nread;

    paths[0] = (char *)side->path;
    al_groups_init_flags(&side->set, supp, key_flags);
    nread = al_inputs_read(&side->set, paths, 1, NULL, NULL, &nerrors);
    if (nread < 0)
        return AL_EXIT_ERROR;
    if (nread == 0 && nerrors > 0) {
        fprintf(stderr, PROG ": diff: no report of %s (%s) could be read\n", what, side->path);
        return AL_EXIT_ERROR;
    }
    return 0;
}

/* The groups of a that pass sel and are not in b (b NULL: all of a's),
 * biggest first.  *n gets their number.  NULL with *n = 0 when none, or
 * on ENOMEM (errno). */
static al_group **only_in(const al_groupset *a, const al_groupset *b,
                          const al_select *sel, size_t *n)
{
    size_t all, m = 0;
    al_group **list = al_groups_select(a, sel, &all, NULL);

    *n = 0;
    if (list == NULL)
        return NULL;
    for (size_t i = 0; i < all; i++)
        if (b == NULL || al_groups_find(b, list[i]->key, list[i]->keylen) == NULL)
            list[m++] = list[i];
    if (m == 0) {
        free(list);
        errno = 0;
        return NULL;
    }
    *n = m;
    return list;
}

static int64_t total(al_group *const *groups, size_t n)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += groups[i]->count;
    return sum;
}

static void text_section(FILE *out, const char *title, const char *where,
                         al_group *const *groups, size_t n)
{
    int64_t f = total(groups, n);

    fprintf(out, "==" PROG "== %s: %zu group%s (%lld finding%s) %s\n", title, n,
            n == 1 ? "" : "s", (long long)f, f == 1 ? "" : "s", where);
    fputs("==" PROG "==\n", out);
    for (size_t i = 0; i < n; i++)
        al_group_render_text(out, groups[i]);
}

static al_json *side_json(const side_t *side)
{
    al_json *o = al_json_object();
    if (o == NULL)
        return NULL;
    if (al_json_set_str(o, "path", side->path) < 0 ||
        al_json_set_int(o, "files", (int64_t)side->set.files) < 0 ||
        al_json_set_int(o, "processes", (int64_t)side->set.processes) < 0 ||
        al_json_set_int(o, "findings", side->set.findings) < 0 ||
        al_json_set_int(o, "groups", (int64_t)side->set.ngroups) < 0) {
        al_json_free(o);
        return NULL;
    }
    return o;
}

static al_json *groups_json(al_group *const *groups, size_t n)
{
    al_json *list = al_json_array();
    for (size_t i = 0; list != NULL && i < n; i++)
        if (al_json_append(list, al_group_json(groups[i])) < 0) {
            al_json_free(list);
            return NULL;
        }
    return list;
}

int al_cmd_diff(int argc, char **argv)
{
    al_cliopts o;
    al_suppressions *supp = NULL;
    side_t base, cur;
    al_select sel, sel_base;
    al_group **added = NULL, **gone = NULL;
    size_t nadded = 0, ngone = 0, nbase_sel = 0, unchanged;
    int i, r, json = 0, only_files = 0, rc = AL_EXIT_ERROR;
    char err[512];

    memset(&base, 0, sizeof base);
    memset(&cur, 0, sizeof cur);
    al_groups_init(&base.set, NULL);
    al_groups_init(&cur.set, NULL);
    if (al_cliopts_init(&o, argv[0], argc) < 0)
        return AL_EXIT_ERROR;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (al_cliopts_positional(&o, argv[i], &only_files)) {
            continue;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            al_cmd_diff_help(stdout);
            rc = 0;
            goto out;
        } else if (strcmp(arg, "--json") == 0) {
            json = 1;
        } else if (strncmp(arg, "--top", 5) == 0) {
            al_usage_error(o.cmd, "--top does not apply to diff");
            goto out;
        } else if ((r = al_cliopts_take(&o, argc, argv, &i)) != 0) {
            if (r < 0)
                goto out;
        } else {
            al_usage_error(o.cmd, "unknown option '%s'", arg);
            goto out;
        }
    }
    if (o.npaths != 2) {
        al_usage_error(o.cmd, "expected two arguments, BASE and NEW (got %zu)", o.npaths);
        goto out;
    }
    if (o.suppressions != NULL &&
        (supp = al_suppressions_load(o.suppressions, err, sizeof err)) == NULL) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    base.path = o.paths[0];
    cur.path = o.paths[1];
    if (read_side(&base, "BASE", supp, o.key_flags) != 0 ||
        read_side(&cur, "NEW", supp, o.key_flags) != 0)
        goto out;

    al_cliopts_select(&o, &sel);
    sel.top = 0;
    sel_base = sel;
    sel_base.min_count = 0;     /* a BASE group of any size covers a NEW one */
    errno = 0;
    added = only_in(&cur.set, &base.set, &sel, &nadded);
    if (added == NULL && errno == ENOMEM)
        goto oom;
    gone = only_in(&base.set, &cur.set, &sel_base, &ngone);
    if (gone == NULL && errno == ENOMEM)
        goto oom;
    {
        al_group **all = al_groups_select(&base.set, &sel_base, &nbase_sel, NULL);
        if (all == NULL && errno == ENOMEM)
            goto oom;
        free(all);
    }
    unchanged = nbase_sel - ngone;

    if (json) {
        al_json *doc = al_json_object();
        int ok = doc != NULL;
        ok = ok && al_json_set_str(doc, "tool", "asyncleak") == 0;
        ok = ok && al_json_set_int(doc, "diff", 1) == 0;
        ok = ok && al_json_set(doc, "base", side_json(&base)) == 0;
        ok = ok && al_json_set(doc, "new", side_json(&cur)) == 0;
        ok = ok && al_json_set(doc, "new_leaks", groups_json(added, nadded)) == 0;
        ok = ok && al_json_set(doc, "gone", groups_json(gone, ngone)) == 0;
        ok = ok && al_json_set_int(doc, "unchanged", (int64_t)unchanged) == 0;
        r = ok ? al_json_write(doc, stdout, 1) : -1;
        if (r == 0)
            fputc('\n', stdout);
        al_json_free(doc);
        if (!ok)
            goto oom;
    } else {
        text_section(stdout, "new leaks", "in NEW and not in BASE", added, nadded);
        text_section(stdout, "gone", "in BASE and not in NEW", gone, ngone);
        printf("==" PROG "== SUMMARY: asyncleak diff: %zu new, %zu gone, %zu in both "
               "(BASE: %zu report%s, NEW: %zu report%s)\n", nadded, ngone, unchanged,
               base.set.files, base.set.files == 1 ? "" : "s",
               cur.set.files, cur.set.files == 1 ? "" : "s");
        if (supp != NULL)
            al_suppressions_render_used(stdout, supp, -1);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": diff: cannot write the output: %s\n", strerror(errno ? errno : EIO));
        goto out;
    }
    rc = nadded > 0 ? AL_EXIT_NEW_LEAKS : 0;
    goto out;
oom:
    fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
    rc = AL_EXIT_ERROR;
out:
    free(added);
    free(gone);
    al_groups_free(&base.set);
    al_groups_free(&cur.set);
    al_suppressions_free(supp);
    al_cliopts_free(&o);
    return rc;
}
