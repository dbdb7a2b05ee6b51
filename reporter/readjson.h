/* readjson.h - converting jansson values (the reporter's JSON reader) into the
 * al_json model shared with the preload, so findings read from files go
 * through the same renderer and matcher as live ones.
 */
#ifndef AL_READJSON_H
#define AL_READJSON_H

#include <jansson.h>

#include "json.h"

/* A deep copy of v as al_json.  Objects keep jansson's key order (insertion
 * order since jansson 2.8).  A real becomes an integer when it is integral
 * and fits, else a string of its shortest "%.17g" form; NULL (v NULL) gives
 * NULL.  Returns NULL only on ENOMEM (or for v NULL).  Recursion depth is
 * bounded by jansson's own parse depth (2048). */
al_json *al_json_from_jansson(const json_t *v);

#endif
