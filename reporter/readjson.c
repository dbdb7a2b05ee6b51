/* readjson.c - jansson values to al_json trees (see readjson.h). */
#include "readjson.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends key/value to object without looking for key first: jansson's keys
 * are already unique, and al_json_set's lookup would make an object of n
 * keys cost n^2.  Takes value (freed on failure).  Returns 0 or -1 (ENOMEM). */
static int push_unique(al_json *object, const char *key, al_json *value)
{
    size_t n = object->u.object.len, cap = object->u.object.cap;
    char *k;

    if (n == cap) {
        size_t ncap = cap ? 2 * cap : 4;
        char **keys;
        al_json **values;
        if (ncap > SIZE_MAX / sizeof(void *))
            goto fail;
        if ((keys = realloc(object->u.object.keys, ncap * sizeof *keys)) == NULL)
            goto fail;
        object->u.object.keys = keys;
        if ((values = realloc(object->u.object.values, ncap * sizeof *values)) == NULL)
            goto fail;
        object->u.object.values = values;
        object->u.object.cap = ncap;
    }
    if ((k = strdup(key)) == NULL)
        goto fail;
    object->u.object.keys[n] = k;
    object->u.object.values[n] = value;
    object->u.object.len = n + 1;
    return 0;
fail:
    al_json_free(value);
    return -1;
}

static al_json *from_real(double d)
{
    char buf[32];

    /* No libm: the command links only libc and jansson. */
    if (d >= -9.2e18 && d <= 9.2e18 && (double)(int64_t)d == d)
        return al_json_int((int64_t)d);
    snprintf(buf, sizeof buf, "%.17g", d);
    return al_json_string(buf);
}

al_json *al_json_from_jansson(const json_t *v)
{
    al_json *out = NULL;
    const char *key;
    json_t *item;
    size_t i;

    if (v == NULL)
        return NULL;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return al_json_null();
    case JSON_TRUE:
        return al_json_bool(1);
    case JSON_FALSE:
        return al_json_bool(0);
    case JSON_INTEGER:
        return al_json_int((int64_t)json_integer_value(v));
    case JSON_REAL:
        return from_real(json_real_value(v));
    case JSON_STRING:
        return al_json_string_len(json_string_value(v), json_string_length(v));
    case JSON_ARRAY:
        if ((out = al_json_array()) == NULL)
            return NULL;
        json_array_foreach(v, i, item) {
            al_json *c = al_json_from_jansson(item);
            if (c == NULL || al_json_append(out, c) < 0)
                goto oom;
        }
        return out;
    case JSON_OBJECT:
        if ((out = al_json_object()) == NULL)
            return NULL;
        /* json_object_foreach wants a non-const object; iteration does not
         * modify it. */
        json_object_foreach((json_t *)v, key, item) {
            al_json *c = al_json_from_jansson(item);
            if (c == NULL || push_unique(out, key, c) < 0)
                goto oom;
        }
        return out;
    }
    return NULL;
oom:
    al_json_free(out);
    return NULL;
}
