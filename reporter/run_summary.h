/* run_summary.h - the summary `asyncleak run` prints once CMD has exited: the
 * findings of every process of the tree, per kind and per process, and where
 * the JSON reports are.
 *
 * Format (stderr; nothing at all when no report holds a finding):
 *   ==asyncleak== SUMMARY: 5 findings in 2 of 3 processes (3 pending_task, 2 orphaned_task)
 *   ==asyncleak==   pid 4242 (app.py --workers 2): 3 findings (2 pending_task, 1 orphaned_task), interrupted by SIGINT
 *   ==asyncleak==   pid 4250 (app.py --workers 2): 2 findings (2 orphaned_task)
 *   ==asyncleak== JSON reports: /tmp/asyncleak.Ab12/asyncleak.4242.json /tmp/asyncleak.Ab12/asyncleak.4250.json
 * "of 3" counts the reports read, also those without findings (left out when
 * all had some).  Kinds are ordered by count, then by first appearance;
 * processes by pid.  Counts include findings a process counted but did not
 * list (max_findings).  At most AL_RUN_MAX_PROCS process lines and
 * AL_RUN_MAX_PATHS paths are printed, then "and K more".  argv is the
 * process's sys.argv, joined with spaces, control characters and invalid
 * UTF-8 as \xNN, cut at AL_RUN_MAX_ARGV bytes with "...".
 */
#ifndef AL_RUN_SUMMARY_H
#define AL_RUN_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#define AL_RUN_MAX_PROCS 10
#define AL_RUN_MAX_PATHS 5
#define AL_RUN_MAX_ARGV 100

/* One process whose report holds findings. */
typedef struct al_run_proc {
    int64_t pid;              /* 0 when the report has none */
    char *argv;               /* display form (see above), malloc'd */
    char *path;               /* the report file, malloc'd */
    size_t findings;          /* listed + dropped */
    struct al_kind_count *kinds;
    size_t nkinds;
    int interrupted;          /* the report has "interrupted" (SIGINT) */
} al_run_proc;

typedef struct al_kind_count {
    char *kind;
    size_t count;
} al_kind_count;

typedef struct al_run_tree {
    al_run_proc *procs;       /* reports with findings */
    size_t nprocs, cap;
    size_t clean;             /* reports read without findings */
    size_t findings;          /* over every report */
    al_kind_count *kinds;     /* over every report */
    size_t nkinds;
    int bad_files;            /* files warned about and ignored */
} al_run_tree;

/* Reads the report at path into t.  A file that is not a report gets one
 * warning line on stderr ("asyncleak: warning: ignoring PATH: WHY") and
 * counts in bad_files.  Returns 0, or -1 on ENOMEM. */
int al_run_tree_add(al_run_tree *t, const char *path);

/* Prints the summary to out (nothing when t->findings is 0); privdir, when
 * not NULL, is the private directory holding every report, named when not
 * every path is listed.  Sorts t's lists first. */
void al_run_tree_print(FILE *out, al_run_tree *t, const char *privdir);

/* Frees what t holds and zeroes it.  Can't fail. */
void al_run_tree_free(al_run_tree *t);

#endif
