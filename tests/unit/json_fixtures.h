/* json_fixtures.h - builders of report JSON shared by the unit tests:
 * a frame {"file", "line", "function"} and a stack {"frames": [...]}. */
#ifndef AL_TEST_JSON_FIXTURES_H
#define AL_TEST_JSON_FIXTURES_H

#include <stdarg.h>

#include "json.h"

static inline al_json *frame(const char *file, int line, const char *function)
{
    al_json *f = al_json_object();
    al_json_set_str(f, "file", file);
    al_json_set_int(f, "line", line);
    al_json_set_str(f, "function", function);
    return f;
}

/* A stack {"frames": [...]} of the NULL-terminated frame arguments. */
static inline al_json *stack(al_json *first, ...)
{
    al_json *frames = al_json_array(), *s = al_json_object();
    va_list ap;
    va_start(ap, first);
    for (al_json *f = first; f; f = va_arg(ap, al_json *))
        al_json_append(frames, f);
    va_end(ap);
    al_json_set(s, "frames", frames);
    return s;
}

#endif
