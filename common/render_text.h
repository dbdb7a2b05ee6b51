/* render_text.h - the one text renderer of findings, shared by the preload and
 * the reporter (format: DESIGN.md section 8, fields: docs/json-report.md).
 *
 * Every line is prefixed "==PID== " ("==asyncleak== " when pid < 0).  Missing
 * or wrongly typed fields never crash: what is there is rendered and unknown
 * values print as "?".  Strings are written as their bytes except control
 * characters (< 0x20, 0x7f), which become \xNN so a report cannot drive the
 * terminal.  The functions flush out; nothing here is async-signal-safe.
 */
#ifndef AL_RENDER_TEXT_H
#define AL_RENDER_TEXT_H

#include <stdio.h>

#include "json.h"

/* Renders one finding (an al_json object shaped as docs/json-report.md says)
 * as text, ending with an empty prefixed line.  Returns 0, or -1 on a write
 * error. */
int al_render_finding(FILE *out, const al_json *finding, long pid);

/* The closing line:
 *   "==PID== SUMMARY: asyncleak: 3 findings (2 pending_task, 1 orphaned_task)"
 * with kinds in the order of the summary object (kinds counted 0 left out);
 * no line when summary is NULL or counts nothing.  When dropped (object
 * kind->count, may be NULL) counts something, a further line
 *   "==PID== (N more findings were counted but not listed: max_findings reached)"
 * follows.  Returns 0, or -1 on a write error. */
int al_render_summary(FILE *out, const al_json *summary, const al_json *dropped, long pid);

/* How the native frames of a stack (recorded with native=1: "native" and
 * "hybrid" next to "frames", docs/native.md) are shown in the text. */
enum {
    AL_NATIVE_TEXT_HYBRID = 0,   /* default: "hybrid" as the one "Created at" list
                                  * (Python frames as File lines, native ones as
                                  * "[native] ..."); without "hybrid", as SEPARATE */
    AL_NATIVE_TEXT_SEPARATE = 1, /* "frames", then every "native" frame in a list
                                  * of its own ("Native (most recent call last):") */
    AL_NATIVE_TEXT_OFF = 2       /* "frames" only (the JSON keeps everything) */
};

/* Sets the mode for every later al_render_finding() of this process (one
 * process-wide setting: call it at start-up, before reports; not
 * thread-safe).  Values outside the enum act as AL_NATIVE_TEXT_HYBRID. */
void al_render_set_native_text(int mode);

/* True when file is a module of the standard library's asyncio: it ends in
 * ".py" and lies directly in a directory "asyncio" whose parent's name
 * starts with "python" (/usr/lib/python3.11/asyncio/tasks.py,
 * .../python311.zip/asyncio/tasks.py).  False for a package's own asyncio
 * subpackage (.../dist-packages/redis/asyncio/client.py) and for NULL. */
int al_frame_is_asyncio_internal(const char *file);

/* Length of the valid UTF-8 sequence at s[0..n) (1-4; n >= 1), or 0 when
 * invalid (overlong forms, surrogates, code points past U+10FFFF). */
size_t al_utf8_len(const unsigned char *s, size_t n);

#endif
