/* cmd_report.c - `asyncleak report`: merges the JSON reports of many processes
 * and runs, groups their findings by kind and origin, and prints each group
 * once, biggest first: as text (like the preload's own report), as one
 * merged JSON document (--json) or as SARIF (--sarif).
 *
 * Flow: parse the command line; load the suppressions; read every file
 * (inputs.c), converting findings to al_json and grouping them (groups.c);
 * select and sort the groups; write them.
 */
#include "commands.h"
#include "groups.h"
#include "inputs.h"
#include "render_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "asyncleak"

enum { OUT_TEXT, OUT_JSON, OUT_SARIF };

void al_cmd_report_help(FILE *out)
{
    fputs(
"usage: asyncleak report [OPTIONS] FILE|DIR...\n"
"\n"
"Reads the JSON reports of many processes and runs (files; directories are\n"
"scanned for *.json, recursively; merged documents of 'report --json' too),\n"
"groups the findings by kind and origin (the same creating stack, whatever\n"
"the process) and prints each group once, biggest first:\n"
"  ==asyncleak== 12 x pending_task in 3 processes (pids 101, 102, 103)\n"
"followed by its first finding as the preload prints it, and a SUMMARY line.\n"
"\n"
"Options:\n"
"  --top N              print the N biggest groups only\n"
"  --kind KIND          only findings of this kind (repeatable)\n"
"  --min-count N        only groups of at least N findings\n"
"  --suppressions FILE  leave out findings matching a rule of FILE\n"
"                       (KIND:PATTERN lines; see docs/reporter.md) and print\n"
"                       the rules used\n"
"  --ignore-lines       group by file and function of the origin's frames only\n"
"  --json               print the merged result as one JSON document\n"
"  --sarif              print SARIF 2.1.0 (one result per group)\n"
"  -h, --help           show this help\n"
"\n"
"Exit status:\n"
"  0  at least one report was read (problems with other files are printed)\n"
"  2  no file could be read, a usage error, or an invalid suppressions file\n",
        out);
}

/* Parses argv into o and *format.  Returns 0, 1 (help printed), -1. */
static int parse_args(int argc, char **argv, al_cliopts *o, int *format, int sarif_cmd)
{
    int i, r, only_files = 0;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (al_cliopts_positional(o, argv[i], &only_files))
            continue;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            if (sarif_cmd)
                al_cmd_sarif_help(stdout);
            else
                al_cmd_report_help(stdout);
            return 1;
        } else if (strcmp(arg, "--json") == 0) {
            if (*format == OUT_SARIF)
                return al_usage_error(o->cmd, "--json and --sarif exclude each other");
            *format = OUT_JSON;
        } else if (strcmp(arg, "--sarif") == 0) {
            if (*format == OUT_JSON)
                return al_usage_error(o->cmd, "--json and --sarif exclude each other");
            *format = OUT_SARIF;
        } else if ((r = al_cliopts_take(o, argc, argv, &i)) != 0) {
            if (r < 0)
                return -1;
        } else {
            return al_usage_error(o->cmd, "unknown option '%s'", arg);
        }
    }
    if (o->npaths == 0)
        return al_usage_error(o->cmd, "no report file or directory given");
    return 0;
}

/* "dropped" restricted to the kinds selected (all when none is). */
static al_json *dropped_of(const al_groupset *set, const al_cliopts *o)
{
    al_json *out;

    if (set->dropped == NULL)
        return NULL;
    if (o->nkinds == 0)
        return al_json_copy(set->dropped);
    if ((out = al_json_object()) == NULL)
        return NULL;
    for (size_t k = 0; k < o->nkinds; k++) {
        int64_t n = al_json_get_int(set->dropped, o->kinds[k], 0);
        if (n > 0)
            al_json_set_int(out, o->kinds[k], n);
    }
    return out;
}

static int write_text(FILE *out, const al_groupset *set, al_group **groups, size_t n,
                      size_t nmatched, const al_cliopts *o)
{
    al_json *summary = al_groups_summary(groups, n), *dropped = dropped_of(set, o);
    int rc = 0;

    fprintf(out, "==" PROG "== %zu report%s of %zu process%s: %lld finding%s in %zu group%s",
            set->files, set->files == 1 ? "" : "s", set->processes,
            set->processes == 1 ? "" : "es", (long long)set->findings,
            set->findings == 1 ? "" : "s", set->ngroups, set->ngroups == 1 ? "" : "s");
    if (set->suppressed > 0)
        fprintf(out, " (%lld suppressed)", (long long)set->suppressed);
    fputc('\n', out);
    fputs("==" PROG "==\n", out);
    for (size_t i = 0; i < n; i++)
        if (al_group_render_text(out, groups[i]) < 0)
            rc = -1;
    if (nmatched > n)
        fprintf(out, "==" PROG "== (%zu more group%s not shown: --top %lld)\n",
                nmatched - n, nmatched - n == 1 ? "" : "s", o->top);
    if (n == 0)
        fputs("==" PROG "== no findings\n", out);
    else if (al_render_summary(out, summary, dropped, -1) < 0)
        rc = -1;
    if (al_suppressions_render_used(out, set->supp, -1) < 0)
        rc = -1;
    al_json_free(summary);
    al_json_free(dropped);
    return rc;
}

/* The merged document (docs/reporter.md).  NULL on ENOMEM. */
static al_json *merged_json(const al_groupset *set, al_group **groups, size_t n,
                            const al_cliopts *o)
{
    al_json *doc = al_json_object(), *list = al_json_array(), *supp = al_json_array();
    al_json *dropped = dropped_of(set, o);
    int ok = doc && list && supp;

    ok = ok && al_json_set_str(doc, "tool", "asyncleak") == 0;
    ok = ok && al_json_set_int(doc, "merged", AL_REPORT_MERGED_VERSION) == 0;
    ok = ok && al_json_set_int(doc, "files", (int64_t)set->files) == 0;
    ok = ok && al_json_set_int(doc, "processes", (int64_t)set->processes) == 0;
    ok = ok && al_json_set_int(doc, "findings", set->findings) == 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = al_json_append(list, al_group_json(groups[i])) == 0;
    ok = ok && al_json_set(doc, "groups", list) == 0;
    list = NULL;
    ok = ok && al_json_set(doc, "summary", al_groups_summary(groups, n)) == 0;
    if (ok && dropped != NULL && al_json_len(dropped) > 0) {
        ok = al_json_set(doc, "dropped", dropped) == 0;
        dropped = NULL;
    }
    for (size_t i = 0; ok && i < al_suppressions_len(set->supp); i++) {
        al_json *e;
        if (al_suppressions_hits(set->supp, i) <= 0)
            continue;
        e = al_json_object();
        ok = e && al_json_set_str(e, "rule", al_suppressions_rule(set->supp, i)) == 0 &&
             al_json_set_int(e, "count", al_suppressions_hits(set->supp, i)) == 0;
        ok = al_json_append(supp, e) == 0 && ok;
    }
    ok = ok && al_json_set(doc, "suppressed", supp) == 0;
    supp = NULL;
    al_json_free(list);
    al_json_free(supp);
    al_json_free(dropped);
    if (!ok) {
        al_json_free(doc);
        return NULL;
    }
    return doc;
}

int al_report_main(int argc, char **argv, int sarif)
{
    int format = sarif ? OUT_SARIF : OUT_TEXT;
    al_cliopts o;
    al_groupset set;
    al_suppressions *supp = NULL;
    al_select sel;
    al_group **groups = NULL;
    size_t n = 0, nmatched = 0;
    int rc, r;

    if (al_cliopts_init(&o, argv[0], argc) < 0)
        return AL_EXIT_ERROR;
    al_groups_init(&set, NULL);
    if ((r = parse_args(argc, argv, &o, &format, sarif)) != 0) {
        al_cliopts_free(&o);
        return r > 0 ? 0 : AL_EXIT_USAGE;
    }
    if ((rc = al_inputs_load(&o, &set, &supp, NULL, NULL)) != 0)
        goto out;

    al_cliopts_select(&o, &sel);
    groups = al_groups_select(&set, &sel, &n, &nmatched);
    if (groups == NULL && errno == ENOMEM) {
        fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
        rc = AL_EXIT_ERROR;
        goto out;
    }
    if (format == OUT_TEXT) {
        r = write_text(stdout, &set, groups, n, nmatched, &o);
    } else if (format == OUT_SARIF) {
        r = al_sarif_write(stdout, groups, n);
    } else {
        al_json *doc = merged_json(&set, groups, n, &o);
        r = doc ? al_json_write(doc, stdout, 1) : -1;
        if (r == 0 && fputc('\n', stdout) == EOF)
            r = -1;
        al_json_free(doc);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        r = -1;
    if (r < 0) {
        fprintf(stderr, PROG ": %s: cannot write the output: %s\n", o.cmd,
                strerror(errno ? errno : EIO));
        rc = AL_EXIT_ERROR;
    }
out:
    free(groups);
    al_groups_free(&set);
    al_suppressions_free(supp);
    al_cliopts_free(&o);
    return rc;
}

int al_cmd_report(int argc, char **argv)
{
    return al_report_main(argc, argv, 0);
}
