/* reports.c - reading asyncleak JSON report files with jansson (see reports.h). */
#include "reports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* State of the size-limited reader handed to json_load_callback. */
typedef struct {
    FILE *f;                 /* reading from a file, or */
    const char *buf;         /* from memory */
    size_t len, pos;
    size_t total;            /* bytes handed to jansson so far */
    int too_large, read_errno;
} source_t;

static size_t read_source(void *out, size_t size, void *data)
{
    source_t *s = data;
    size_t n;

    if (s->total >= AL_REPORT_MAX_BYTES) {
        /* One more byte would be past the limit: is there one? */
        if (s->f != NULL ? fgetc(s->f) != EOF : s->pos < s->len) {
            s->too_large = 1;
            return (size_t)-1;
        }
        return 0;
    }
    if (size > AL_REPORT_MAX_BYTES - s->total)
        size = AL_REPORT_MAX_BYTES - s->total;
    if (s->f != NULL) {
        n = fread(out, 1, size, s->f);
        if (n == 0 && ferror(s->f)) {
            s->read_errno = errno ? errno : EIO;
            return (size_t)-1;
        }
    } else {
        n = s->len - s->pos < size ? s->len - s->pos : size;
        memcpy(out, s->buf + s->pos, n);
        s->pos += n;
    }
    s->total += n;
    return n;
}

/* Checks the parsed document and fills *r (root taken).  Returns 0 or -1. */
static int check_document(const char *name, json_t *root, int flags, al_report *r,
                          char *err, size_t errlen)
{
    json_t *v, *items, *dropped;
    const char *key;
    size_t ndropped = 0;

    if (!json_is_object(root)) {
        snprintf(err, errlen, "not an asyncleak report (not a JSON object)");
        goto fail;
    }
    v = json_object_get(root, "tool");
    if (!json_is_string(v) || strcmp(json_string_value(v), "asyncleak") != 0) {
        snprintf(err, errlen, "not an asyncleak report (no \"tool\": \"asyncleak\")");
        goto fail;
    }
    v = json_object_get(root, "merged");
    if (v != NULL && (flags & AL_REPORT_ACCEPT_MERGED)) {
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "not an asyncleak merged report (\"merged\" is not an integer)");
            goto fail;
        }
        if (json_integer_value(v) != AL_REPORT_MERGED_VERSION) {
            snprintf(err, errlen, "unsupported merged format %" JSON_INTEGER_FORMAT
                     " (this asyncleak reads merged format %d)",
                     json_integer_value(v), AL_REPORT_MERGED_VERSION);
            goto fail;
        }
        items = json_object_get(root, "groups");
        if (!json_is_array(items)) {
            snprintf(err, errlen, "not an asyncleak merged report (no \"groups\" array)");
            goto fail;
        }
        r->merged = 1;
    } else {
        v = json_object_get(root, "schema");
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "not an asyncleak report (no integer \"schema\")");
            goto fail;
        }
        if (json_integer_value(v) != AL_REPORT_SCHEMA) {
            snprintf(err, errlen, "unsupported schema %" JSON_INTEGER_FORMAT
                     " (this asyncleak reads schema %d)",
                     json_integer_value(v), AL_REPORT_SCHEMA);
            goto fail;
        }
        items = json_object_get(root, "findings");
        if (!json_is_array(items)) {
            snprintf(err, errlen, "not an asyncleak report (no \"findings\" array)");
            goto fail;
        }
        v = json_object_get(root, "pid");
        r->pid = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
    }
    /* "dropped" is optional; entries that are not counts are ignored. */
    dropped = json_object_get(root, "dropped");
    if (json_is_object(dropped)) {
        json_object_foreach(dropped, key, v) {
            if (json_is_integer(v) && json_integer_value(v) > 0 &&
                (size_t)json_integer_value(v) <= SIZE_MAX - ndropped)
                ndropped += (size_t)json_integer_value(v);
        }
    }
    if ((r->path = strdup(name)) == NULL) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        goto fail;
    }
    r->nlisted = json_array_size(items);
    r->ndropped = ndropped;
    r->root = root;
    return 0;
fail:
    json_decref(root);
    memset(r, 0, sizeof *r);
    return -1;
}

/* Parses from s; fills *r or err. */
static int load_source(const char *name, source_t *s, int flags, al_report *r,
                       char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;

    memset(r, 0, sizeof *r);
    root = json_load_callback(read_source, s, 0, &jerr);
    if (root == NULL) {
        if (s->too_large)
            snprintf(err, errlen, "too large: more than %zu bytes (the limit)",
                     (size_t)AL_REPORT_MAX_BYTES);
        else if (s->read_errno)
            snprintf(err, errlen, "cannot read it: %s", strerror(s->read_errno));
        else if (s->total == 0)
            snprintf(err, errlen, "empty file");
        else if (jerr.position >= 0 && (size_t)jerr.position >= s->total &&
                 strncmp(jerr.text, "end of file expected", 20) != 0)
            snprintf(err, errlen, "truncated JSON: the file ends at line %d, column %d "
                     "(byte %d): %s", jerr.line, jerr.column, jerr.position, jerr.text);
        else
            snprintf(err, errlen, "not valid JSON at line %d, column %d (byte %d): %s",
                     jerr.line, jerr.column, jerr.position, jerr.text);
        return -1;
    }
    return check_document(name, root, flags, r, err, errlen);
}

int al_report_open(const char *path, int flags, al_report *r, char *err, size_t errlen)
{
    source_t s;
    struct stat st;
    int rc;

    memset(r, 0, sizeof *r);
    memset(&s, 0, sizeof s);
    if ((s.f = fopen(path, "rb")) == NULL) {
        snprintf(err, errlen, "cannot read it: %s", strerror(errno));
        return -1;
    }
    if (fstat(fileno(s.f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "cannot read it: %s", strerror(EISDIR));
            fclose(s.f);
            return -1;
        }
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > AL_REPORT_MAX_BYTES) {
            snprintf(err, errlen, "too large: %lld bytes (the limit is %zu bytes)",
                     (long long)st.st_size, (size_t)AL_REPORT_MAX_BYTES);
            fclose(s.f);
            return -1;
        }
    }
    rc = load_source(path, &s, flags, r, err, errlen);
    fclose(s.f);
    return rc;
}

int al_report_load(const char *path, al_report *r, char *err, size_t errlen)
{
    return al_report_open(path, 0, r, err, errlen);
}

int al_report_parse(const char *name, const char *buf, size_t len, int flags,
                    al_report *r, char *err, size_t errlen)
{
    source_t s;

    memset(&s, 0, sizeof s);
    s.buf = buf ? buf : "";
    s.len = buf ? len : 0;
    return load_source(name, &s, flags, r, err, errlen);
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
