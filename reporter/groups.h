/* groups.h - grouping the findings of many reports by kind and origin, the
 * model shared by `asyncleak report`, `diff`, `html` and `sarif`.
 *
 * A group is every finding with the same key (docs/reporter.md, "Groups"):
 *   - the finding's kind;
 *   - for resource findings, "resource"."type";
 *   - the (file, line, function) of every frame of its "origin", in order,
 *     except asyncio-internal frames (al_frame_is_asyncio_internal) other
 *     than the innermost: the frames the text report folds, whose paths and
 *     lines differ between interpreters (native frames, "truncated" and
 *     everything else are not part of it either);
 *   - for a finding without "origin" (shutdown_hang), the distinct origins
 *     of the tasks it lists ("tasks"[]."origin"), sorted, instead.
 * With AL_KEY_IGNORE_LINES (--ignore-lines), line numbers are left out too,
 * so origins still match after edits moved the lines.
 * Findings are compared through al_json (converted from jansson), so a
 * group read back from a merged document (`report --json`) has the same key
 * as the findings it was made from.
 */
#ifndef AL_GROUPS_H
#define AL_GROUPS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uthash.h>

#include "json.h"
#include "reports.h"
#include "suppress.h"

typedef struct al_group {
    char *key;               /* canonical key (binary, keylen bytes) */
    size_t keylen;
    char id[17];             /* 16 hex digits: FNV-1a 64 of the key */
    char *kind;              /* the finding's kind ("?" when it has none) */
    al_json *finding;        /* the first finding of the group (owned) */
    int64_t count;           /* findings in the group */
    int64_t *pids;           /* distinct process ids, ascending */
    size_t npids, cap;
    size_t seq;              /* order of first appearance */
    UT_hash_handle hh;
} al_group;

typedef struct al_groupset {
    al_group *table;         /* uthash head, by key */
    size_t ngroups;
    al_suppressions *supp;   /* borrowed; NULL: nothing is suppressed */
    size_t files;            /* reports and merged documents added */
    size_t processes;        /* process reports + "processes" of merged documents */
    int64_t findings;        /* findings grouped (suppressed ones not counted) */
    int64_t suppressed;      /* findings a suppression rule matched */
    al_json *dropped;        /* kind -> findings counted but not listed */
    int key_flags;           /* AL_KEY_* */
} al_groupset;

#define AL_KEY_IGNORE_LINES 1

/* Selection of groups for output: every filter is off when zero/NULL. */
typedef struct al_select {
    const char **kinds;      /* keep only these kinds (--kind) */
    size_t nkinds;
    int64_t min_count;       /* keep groups of at least this many findings */
    size_t top;              /* keep the first top groups (after the filters) */
} al_select;

/* Initializes an empty set; supp may be NULL.  Can't fail. */
void al_groups_init(al_groupset *set, al_suppressions *supp);
/* Same, with AL_KEY_* flags for the keys of the groups. */
void al_groups_init_flags(al_groupset *set, al_suppressions *supp, int key_flags);

/* Frees every group (not the suppressions); set is empty afterwards. */
void al_groups_free(al_groupset *set);

/* Computes the canonical key of finding (flags: AL_KEY_*) into a malloc'd
 * buffer (*key, *keylen).  Returns 0, or -1 on ENOMEM. */
int al_group_key(const al_json *finding, int flags, char **key, size_t *keylen);

/* The part of a key that a stack makes ({"frames": [...]}, as in
 * al_group_key): two origins are the same when their keys are.  Returns 0
 * with a malloc'd *key, or -1 on ENOMEM. */
int al_origin_key(const al_json *stack, int flags, char **key, size_t *keylen);

/* Adds one finding standing for count (>= 1) findings of the processes
 * pids[0..npids) (pids <= 0 are ignored), unless a suppression matches it
 * (then only the rule's hits and set->suppressed grow).  The finding is
 * copied when it starts a group.  Returns 0, or -1 on ENOMEM. */
int al_groups_add(al_groupset *set, const al_json *finding, int64_t count,
                  const int64_t *pids, size_t npids);

/* Adds every finding of a report read by al_report_open (a process report
 * or a merged document), and its "dropped" counts.  Entries that are not
 * findings (not an object with a string "kind"; in a merged document, a
 * group without a "finding" object) are skipped and counted in *skipped.
 * Returns 0, or -1 on ENOMEM. */
int al_groups_add_report(al_groupset *set, const al_report *r, size_t *skipped);

/* The group with this key, or NULL. */
al_group *al_groups_find(const al_groupset *set, const char *key, size_t keylen);

/* The groups passing sel (NULL: all), biggest first (count descending,
 * then kind in al_finding_kinds order, then the origins' frames from the
 * innermost outwards by base name, line and function, then key: an order
 * that does not change when the files move), cut at sel->top.  *n gets
 * their number and *nmatched (may be NULL) the number before the cut.
 * Returns a malloc'd array of borrowed pointers (free it, not them), or
 * NULL with *n = 0 when there is none or on ENOMEM (errno says which: 0
 * or ENOMEM). */
al_group **al_groups_select(const al_groupset *set, const al_select *sel,
                            size_t *n, size_t *nmatched);

/* True when g passes the kind and min-count filters of sel. */
int al_select_keeps(const al_select *sel, const al_group *g);

/* Object kind -> findings of groups[0..n), kinds in al_finding_kinds order
 * (unknown kinds after them, in order of appearance).  NULL on ENOMEM. */
al_json *al_groups_summary(al_group *const *groups, size_t n);

/* The line that introduces a group, without prefix or newline:
 *   "12 x pending_task in 3 processes (pids 101, 102, 103)"
 * at most AL_GROUP_MAX_PIDS pids, then " and N more"; "in 1 process (pid
 * 7)"; no process part when no pid is known.  malloc'd; NULL on ENOMEM. */
#define AL_GROUP_MAX_PIDS 8
char *al_group_header(const al_group *g);

/* Writes "==asyncleak== HEADER" and the group's first finding rendered by
 * al_render_finding (pid -1).  Returns 0, or -1 on a write error. */
int al_group_render_text(FILE *out, const al_group *g);

/* {"kind", "count", "pids", "id", "finding"} of a group (the merged
 * document's "groups" entries).  NULL on ENOMEM. */
al_json *al_group_json(const al_group *g);

#endif
