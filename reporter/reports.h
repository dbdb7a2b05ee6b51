/* reports.h - reading asyncleak JSON report files (DESIGN section 6) with jansson.
 *
 * A report is one process's file: an object with "tool": "asyncleak",
 * "schema": 1, "pid" and a "findings" array (plus "summary", "dropped", ...).
 * The reporter's commands also read the merged document that
 * `asyncleak report --json` writes: "tool": "asyncleak", "merged": 1 and a
 * "groups" array (docs/reporter.md).
 */
#ifndef AL_REPORTS_H
#define AL_REPORTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The schema of process reports, and the version of merged documents,
 * this asyncleak reads. */
#define AL_REPORT_SCHEMA 1
#define AL_REPORT_MERGED_VERSION 1

/* Files larger than this are refused ("too large") without being parsed. */
#define AL_REPORT_MAX_BYTES ((size_t)256 << 20)

/* al_report_open flags. */
#define AL_REPORT_ACCEPT_MERGED 1   /* also accept a merged document */

typedef struct al_report {
    char *path;        /* owned copy of the file name */
    json_t *root;      /* owned reference to the whole document */
    int merged;        /* 1 for a merged document, 0 for a process report */
    int64_t pid;       /* "pid"; 0 when absent or not an integer (0 when merged) */
    size_t nlisted;    /* entries in "findings" ("groups" when merged) */
    size_t ndropped;   /* sum of the "dropped" counts (findings not listed) */
} al_report;

/* Reads and checks the process report at path.  Returns 0 with *r filled
 * (free it with al_report_free); or -1 with *r zeroed and a one-line reason
 * (without the path, no trailing newline) in err: the file cannot be read
 * ("cannot read it: REASON"), is too large, is empty, is not valid JSON
 * ("not valid JSON at line L, column C (byte B): WHAT", jansson's
 * position), is not an asyncleak report, or is of another schema
 * ("unsupported schema N (this asyncleak reads schema 1)"). */
int al_report_load(const char *path, al_report *r, char *err, size_t errlen);

/* Same, with flags (AL_REPORT_ACCEPT_MERGED: a merged document is accepted
 * too; "unsupported merged format N" for another version). */
int al_report_open(const char *path, int flags, al_report *r, char *err, size_t errlen);

/* Same from the bytes buf[0..len) (need not be NUL-terminated) instead of
 * a file; name becomes r->path.  For tests and fuzzing. */
int al_report_parse(const char *name, const char *buf, size_t len, int flags,
                    al_report *r, char *err, size_t errlen);

/* Number of findings the process had: listed plus dropped.  Can't fail. */
size_t al_report_findings(const al_report *r);

/* Releases what al_report_load filled; r may be zeroed.  Can't fail. */
void al_report_free(al_report *r);

#endif
