/* reports.c - reading asyncleak JSON report files with jansson (see reports.h). */
#include "reports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AL_REPORT_SCHEMA 1

int al_report_load(const char *path, al_report *r, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = NULL, *v, *findings, *dropped;
    const char *key;
    size_t ndropped = 0;

    memset(r, 0, sizeof *r);

    if ((root = json_load_file(path, 0, &jerr)) == NULL) {
        /* jansson reports an unreadable file as line -1. */
        if (jerr.line < 0)
            snprintf(err, errlen, "cannot read it: %s", jerr.text);
        else
            snprintf(err, errlen, "not valid JSON (line %d, column %d: %s)",
                     jerr.line, jerr.column, jerr.text);
        goto fail;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "not an asyncleak report (not a JSON object)");
        goto fail;
    }
    v = json_object_get(root, "tool");
    if (!json_is_string(v) || strcmp(json_string_value(v), "asyncleak") != 0) {
        snprintf(err, errlen, "not an asyncleak report (no \"tool\": \"asyncleak\")");
        goto fail;
    }
    v = json_object_get(root, "schema");
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "not an asyncleak report (no integer \"schema\")");
        goto fail;
    }
    if (json_integer_value(v) != AL_REPORT_SCHEMA) {
        snprintf(err, errlen, "unsupported report schema %" JSON_INTEGER_FORMAT
                 " (this asyncleak reads schema %d)",
                 json_integer_value(v), AL_REPORT_SCHEMA);
        goto fail;
    }
    findings = json_object_get(root, "findings");
    if (!json_is_array(findings)) {
        snprintf(err, errlen, "not an asyncleak report (no \"findings\" array)");
        goto fail;
    }
    /* "dropped" is optional; entries that are not counts are ignored. */
    dropped = json_object_get(root, "dropped");
    if (json_is_object(dropped)) {
        json_object_foreach(dropped, key, v) {
            if (json_is_integer(v) && json_integer_value(v) > 0)
                ndropped += (size_t)json_integer_value(v);
        }
    }

    if ((r->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        goto fail;
    }
    v = json_object_get(root, "pid");
    r->pid = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
    r->nlisted = json_array_size(findings);
    r->ndropped = ndropped;
    r->root = root;
    return 0;

fail:
    json_decref(root);
    return -1;
}

size_t al_report_findings(const al_report *r)
{
    return r->nlisted + r->ndropped;
}

void al_report_free(al_report *r)
{
    json_decref(r->root);
    free(r->path);
    memset(r, 0, sizeof *r);
}
