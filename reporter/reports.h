/* reports.h - reading asyncleak JSON report files (DESIGN section 6) with jansson.
 *
 * A report is one process's file: an object with "tool": "asyncleak",
 * "schema": 1, "pid" and a "findings" array (plus "summary", "dropped", ...).
 */
#ifndef AL_REPORTS_H
#define AL_REPORTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct al_report {
    char *path;        /* owned copy of the file name */
    json_t *root;      /* owned reference to the whole document */
    int64_t pid;       /* "pid"; 0 when absent or not an integer */
    size_t nlisted;    /* entries in "findings" */
    size_t ndropped;   /* sum of the "dropped" counts (findings not listed) */
} al_report;

/* Reads and checks the report at path.  Returns 0 with *r filled (free it
 * with al_report_free); or -1 with *r zeroed and a one-line reason (without
 * the path, no trailing newline) in err: the file cannot be read, is not
 * valid JSON, or is not an asyncleak report of schema 1. */
int al_report_load(const char *path, al_report *r, char *err, size_t errlen);

/* Number of findings the process had: listed plus dropped.  Can't fail. */
size_t al_report_findings(const al_report *r);

/* Releases what al_report_load filled; r may be zeroed.  Can't fail. */
void al_report_free(al_report *r);

#endif
