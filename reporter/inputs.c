/* inputs.c - common options of the reading commands and reading report files
 * and directories into a groupset (see inputs.h). */
#include "inputs.h"
#include "commands.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROG "asyncleak"

int al_cliopts_init(al_cliopts *o, const char *cmd, int argc)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->kinds = calloc((size_t)argc + 1, sizeof *o->kinds);
    o->paths = calloc((size_t)argc + 1, sizeof *o->paths);
    if (o->kinds == NULL || o->paths == NULL) {
        fprintf(stderr, PROG ": %s: %s\n", cmd, strerror(ENOMEM));
        al_cliopts_free(o);
        return -1;
    }
    return 0;
}

void al_cliopts_free(al_cliopts *o)
{
    free(o->kinds);
    free(o->paths);
    o->kinds = NULL;
    o->paths = NULL;
}

int al_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '" PROG " %s --help' for usage.\n", cmd);
    return -1;
}

int al_take_option(const char *cmd, const char *name, int argc, char **argv, int *i,
                   const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return al_usage_error(cmd, "option '%s' needs a value", name);
    *value = argv[++*i];
    return 1;
}

/* A count: decimal digits only, 1 .. 10^12.  Returns it, or -1. */
static long long parse_count(const char *s)
{
    long long n = 0;

    if (*s == '\0' || strlen(s) > 12)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n >= 1 ? n : -1;
}

int al_cliopts_positional(al_cliopts *o, char *arg, int *only_files)
{
    if (*only_files || arg[0] != '-' || arg[1] == '\0') {
        o->paths[o->npaths++] = arg;
        return 1;
    }
    if (strcmp(arg, "--") == 0) {
        *only_files = 1;
        return 1;
    }
    return 0;
}

int al_cliopts_take(al_cliopts *o, int argc, char **argv, int *i)
{
    const char *v;
    int r;

    if ((r = al_take_option(o->cmd, "--kind", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        if (al_kind_index(v) < 0) {
            fprintf(stderr, PROG ": %s: unknown kind '%s'; the kinds are:", o->cmd, v);
            for (int k = 0; al_finding_kinds[k] != NULL; k++)
                fprintf(stderr, " %s", al_finding_kinds[k]);
            fputc('\n', stderr);
            return -1;
        }
        o->kinds[o->nkinds++] = v;
        return 1;
    }
    if (strcmp(argv[*i], "--ignore-lines") == 0) {
        o->key_flags |= AL_KEY_IGNORE_LINES;
        return 1;
    }
    if ((r = al_take_option(o->cmd, "--min-count", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        if ((o->min_count = parse_count(v)) < 0)
            return al_usage_error(o->cmd, "--min-count needs a positive number, not '%s'", v);
        return 1;
    }
    if ((r = al_take_option(o->cmd, "--top", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        if ((o->top = parse_count(v)) < 0)
            return al_usage_error(o->cmd, "--top needs a positive number, not '%s'", v);
        return 1;
    }
    if ((r = al_take_option(o->cmd, "--suppressions", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        if (*v == '\0')
            return al_usage_error(o->cmd, "--suppressions needs a file name");
        o->suppressions = v;
        return 1;
    }
    return 0;
}

void al_cliopts_select(const al_cliopts *o, al_select *sel)
{
    memset(sel, 0, sizeof *sel);
    sel->kinds = o->kinds;
    sel->nkinds = o->nkinds;
    sel->min_count = o->min_count;
    sel->top = (size_t)o->top;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct {
    al_groupset *set;
    al_input_fn fn;
    void *ctx;
    long read;
    size_t *nerrors;
} reader_t;

/* Reads one file.  Returns 0, or -1 on ENOMEM. */
static int read_file(reader_t *rd, const char *path)
{
    al_report r;
    char err[512];
    size_t skipped = 0;

    if (al_report_open(path, AL_REPORT_ACCEPT_MERGED, &r, err, sizeof err) < 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, err);
        (*rd->nerrors)++;
        return 0;
    }
    if (rd->fn != NULL)
        rd->fn(&r, rd->ctx);
    if (al_groups_add_report(rd->set, &r, &skipped) < 0) {
        al_report_free(&r);
        fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
        return -1;
    }
    if (skipped > 0)
        fprintf(stderr, PROG ": warning: %s: %zu entr%s of \"%s\" %s not a finding (ignored)\n",
                path, skipped, skipped == 1 ? "y" : "ies", r.merged ? "groups" : "findings",
                skipped == 1 ? "is" : "are");
    al_report_free(&r);
    rd->read++;
    return 0;
}

static int ends_with_json(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static int name_order(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Reads the *.json files under dir; *found counts them.  Returns 0, or -1
 * on ENOMEM. */
static int read_dir(reader_t *rd, const char *dir, int depth, size_t *found)
{
    struct dirent **names = NULL;
    int n, i, rc = 0;

    n = scandir(dir, &names, NULL, name_order);
    if (n < 0) {
        fprintf(stderr, PROG ": %s: cannot list the directory: %s\n", dir, strerror(errno));
        (*rd->nerrors)++;
        return 0;
    }
    for (i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        struct stat st;
        char *path;

        if (rc < 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (asprintf(&path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0) {
            fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
            rc = -1;
            continue;
        }
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth < AL_INPUTS_MAX_DEPTH)
                rc = read_dir(rd, path, depth + 1, found);
        } else if (ends_with_json(name) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            (*found)++;
            rc = read_file(rd, path);
        }
        free(path);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

long al_inputs_read(al_groupset *set, char *const *paths, size_t npaths,
                    al_input_fn fn, void *ctx, size_t *nerrors)
{
    reader_t rd = { set, fn, ctx, 0, nerrors };
    struct stat st;

    for (size_t i = 0; i < npaths; i++) {
        const char *path = paths[i];
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            size_t found = 0;
            if (read_dir(&rd, path, 0, &found) < 0)
                return -1;
            if (found == 0)
                fprintf(stderr, PROG ": note: %s holds no *.json file\n", path);
        } else if (read_file(&rd, path) < 0) {
            return -1;
        }
    }
    return rd.read;
}

int al_inputs_load(const al_cliopts *o, al_groupset *set, al_suppressions **supp,
                   al_input_fn fn, void *ctx)
{
    char err[512];
    size_t nerrors = 0;
    long nread;

    *supp = NULL;
    if (o->suppressions != NULL) {
        if ((*supp = al_suppressions_load(o->suppressions, err, sizeof err)) == NULL) {
            fprintf(stderr, PROG ": %s\n", err);
            return AL_EXIT_USAGE;
        }
    }
    al_groups_init_flags(set, *supp, o->key_flags);
    nread = al_inputs_read(set, o->paths, o->npaths, fn, ctx, &nerrors);
    if (nread < 0)
        return AL_EXIT_USAGE;
    if (nread == 0 && nerrors > 0) {
        fprintf(stderr, PROG ": %s: no report could be read\n", o->cmd);
        return AL_EXIT_USAGE;
    }
    return 0;
}
