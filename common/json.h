/* json.h - a tiny JSON document model shared by the preload and the reporter.
 *
 * Findings are built as al_json trees (objects keep insertion order), written
 * by al_json_write() and rendered as text by render_text.c.  The preload never
 * parses JSON; the reporter reads files with jansson and converts them into
 * this model (reporter/readjson.c), so both print through the same renderer.
 *
 * Contracts:
 *  - Every constructor returns NULL only when memory is exhausted; every
 *    function taking an al_json * accepts NULL and then does nothing (adders
 *    return -1), so a failed allocation degrades a report, never crashes.
 *  - Strings are copied.  They may hold any bytes (file names from the
 *    program are not always UTF-8); the writer emits valid JSON whatever they
 *    hold: invalid UTF-8 bytes become U+FFFD, control characters \uXXXX.
 *  - An object or array owns its children: al_json_free() frees the tree.
 *  - A node can have several owners (al_json_ref): each owner's
 *    al_json_free() drops one, the last frees the tree.  A shared tree is
 *    read-only: adders refuse to change a node that has more than one owner
 *    (copy it with al_json_copy first); its descendants are the callers'
 *    duty (the writer and the text renderer reuse what they rendered of it).  Owner counts are atomic, but a tree
 *    must not be read while another thread may free its last owner.
 *  - Nothing here is async-signal-safe (it allocates).
 */
#ifndef AL_JSON_H
#define AL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    AL_JSON_NULL,
    AL_JSON_BOOL,
    AL_JSON_INT,
    AL_JSON_STRING,
    AL_JSON_ARRAY,
    AL_JSON_OBJECT
} al_json_type;

typedef struct al_json al_json;

struct al_json {
    al_json_type type;
    unsigned refs;      /* owners beyond the first (al_json_ref); 0 = one owner */
    union {
        int boolean;
        int64_t integer;
        struct { char *bytes; size_t len; } string;
        struct { al_json **items; size_t len, cap; } array;
        struct { char **keys; al_json **values; size_t len, cap; } object;
    } u;
};

al_json *al_json_null(void);
al_json *al_json_bool(int value);
al_json *al_json_int(int64_t value);
/* s may be NULL: then a JSON null is made. */
al_json *al_json_string(const char *s);
al_json *al_json_string_len(const char *s, size_t len);
al_json *al_json_array(void);
al_json *al_json_object(void);

/* Adders take ownership of value (also on failure, when they free it).
 * al_json_set replaces an existing key in place (order kept). */
int al_json_append(al_json *array, al_json *value);
int al_json_set(al_json *object, const char *key, al_json *value);
int al_json_set_str(al_json *object, const char *key, const char *s);
int al_json_set_int(al_json *object, const char *key, int64_t value);

/* Borrowed lookups; NULL when absent or of another type. */
al_json *al_json_get(const al_json *object, const char *key);
const char *al_json_get_str(const al_json *object, const char *key);
/* Returns dflt when absent or not an integer. */
int64_t al_json_get_int(const al_json *object, const char *key, int64_t dflt);
size_t al_json_len(const al_json *v);            /* array or object length */
al_json *al_json_at(const al_json *array, size_t i);

al_json *al_json_copy(const al_json *v);
/* Adds an owner to v and returns v (NULL for NULL): the same tree can then be
 * a member of several documents without being copied. */
al_json *al_json_ref(al_json *v);
void al_json_free(al_json *v);

/* Serializes v.  indent < 0: compact on one line; otherwise pretty with that
 * many spaces per level.  Returns 0, or -1 on a write error (errno set).
 * Output goes to out in large writes (the writer buffers on its own); a
 * shared subtree (al_json_ref) met again in the same compact write is
 * copied from its first serialization rather than walked again. */
int al_json_write(const al_json *v, FILE *out, int indent);
/* Same into a malloc'd NUL-terminated buffer (caller frees); NULL on OOM. */
char *al_json_dumps(const al_json *v, int indent);

/* Writes v in decimal just before end, without a terminating NUL, and
 * returns where it starts; end needs AL_INT_DECIMAL_MAX bytes before it. */
#define AL_INT_DECIMAL_MAX 24
char *al_int_decimal(int64_t v, char *end);

#endif
