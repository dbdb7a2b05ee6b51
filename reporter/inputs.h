/* inputs.h - what `report`, `diff`, `html` and `sarif` share: their common
 * options (--kind, --min-count, --top, --suppressions), and reading the
 * report files and directories named on the command line into a groupset.
 */
#ifndef AL_INPUTS_H
#define AL_INPUTS_H

#include <stddef.h>

#include "groups.h"
#include "reports.h"
#include "suppress.h"

/* Directory trees are scanned this deep at most (the named directory is 0). */
#define AL_INPUTS_MAX_DEPTH 16

/* Options of the reading commands.  Strings point into argv. */
typedef struct al_cliopts {
    const char *cmd;             /* "report", "diff", ... (for messages) */
    const char **kinds;          /* --kind K (repeatable); malloc'd array */
    size_t nkinds;
    long long min_count;         /* --min-count N, 0 when not given */
    long long top;               /* --top N, 0 when not given */
    const char *suppressions;    /* --suppressions FILE, or NULL */
    int key_flags;               /* AL_KEY_IGNORE_LINES with --ignore-lines */
    char **paths;                /* positional arguments; malloc'd array */
    size_t npaths;
} al_cliopts;

/* Prepares o for argc arguments.  Returns 0, or -1 (ENOMEM, message printed). */
int al_cliopts_init(al_cliopts *o, const char *cmd, int argc);
void al_cliopts_free(al_cliopts *o);

/* Prints "asyncleak: CMD: MESSAGE" and "Try 'asyncleak CMD --help'".
 * Returns -1. */
int al_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* When argv[*i] is option `name` ("--name VALUE" or "--name=VALUE"):
 * returns 1 with *value set (and *i advanced past a separate value); 0 when
 * it is another argument; -1 (usage error printed) when the value is
 * missing. */
int al_take_option(const char *cmd, const char *name, int argc, char **argv, int *i,
                   const char **value);

/* Handles arg when it names an input: a positional argument (anything not
 * starting with '-', "-" itself, or everything after "--") is appended to
 * o->paths; "--" itself sets *only_files.  Returns 1 when arg was taken, 0
 * when it is an option for the caller to handle. */
int al_cliopts_positional(al_cliopts *o, char *arg, int *only_files);

/* Handles argv[*i] when it is one of the common options (--kind,
 * --min-count, --top, --suppressions, --ignore-lines).  Returns 1 when it was (*i
 * advanced past its value), 0 when it is not one of them, -1 on a usage
 * error (printed).  --kind accepts the kinds of al_finding_kinds only. */
int al_cliopts_take(al_cliopts *o, int argc, char **argv, int *i);

/* Fills sel from o (sel's arrays borrow o's). */
void al_cliopts_select(const al_cliopts *o, al_select *sel);

/* Called for every report read, before its findings are added. */
typedef void (*al_input_fn)(const al_report *r, void *ctx);

/* Reads the reports named by paths[0..npaths) into set, in order:
 * a file is read whatever its name; a directory is scanned for files
 * named *.json, recursively (AL_INPUTS_MAX_DEPTH deep, symbolic links to
 * directories not followed), in name order.  Process reports and merged
 * documents are accepted.  Every problem gets one line on stderr:
 *   asyncleak: PATH: REASON              (the file is skipped; *nerrors++)
 *   asyncleak: warning: PATH: ...        (entries that are not findings)
 *   asyncleak: note: DIR holds no *.json file
 * fn (may be NULL) sees each report read.  Returns the number of files
 * read, or -1 on ENOMEM (message printed). */
long al_inputs_read(al_groupset *set, char *const *paths, size_t npaths,
                    al_input_fn fn, void *ctx, size_t *nerrors);

/* What the reading commands do first: loads o->suppressions (when given)
 * into *supp, initializes set with it (and o->key_flags) and reads
 * o->paths into it.
 * Returns 0 when the command can go on, or the exit status to return: 2
 * when the suppressions file is invalid (message "asyncleak: FILE:LINE:
 * ...") or when files were named and none could be read. */
int al_inputs_load(const al_cliopts *o, al_groupset *set, al_suppressions **supp,
                   al_input_fn fn, void *ctx);

#endif
