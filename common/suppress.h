/* suppress.h - suppression rules (DESIGN section 6): "KIND:PATTERN" lines that
 * hide findings whose origin matches, as LeakSanitizer's "leak:PATTERN" does.
 *
 * Pure C on the al_json finding model (no jansson, no CPython), shared by the
 * preload (option suppressions=FILE) and the reporter (--suppressions FILE).
 *
 * Syntax, one rule a line:
 *     KIND:PATTERN          # comment
 *   - '#' starts a comment anywhere on a line; blank lines are ignored;
 *     spaces and tabs around KIND and PATTERN are ignored; "\r\n" is fine.
 *   - KIND is a finding kind (al_kind_index() knows it) or "*" (every kind).
 *   - PATTERN is not empty; '*' matches any run of bytes (also none); every
 *     other byte stands for itself.  A pattern matches a name as a whole
 *     (unlike LeakSanitizer, there is no implicit substring match: write
 *     "*db*" for that).
 *   - Anything else is an error: a line without ':', an unknown or malformed
 *     KIND, an empty PATTERN, a NUL byte.
 *
 * What a pattern is matched against (a finding matches a rule when its kind
 * matches KIND and PATTERN matches one of these):
 *   - for every frame of the finding's "origin" (when the finding has no
 *     origin: of the origin of every entry of its "tasks" array):
 *       * the function: the whole "function" string ("Client.fetch",
 *         "main.<locals>.worker") and its last dotted part ("fetch");
 *       * the file: the whole "file" string and its base name ("client.py");
 *       * the module: see al_suppress_module_matches();
 *   - the task's coroutine ("task"."coro"; entries of "tasks" too), as a
 *     function;
 *   - the resource's type ("resource"."type", e.g.
 *     "aiohttp.client.ClientSession"), as a dotted name: the whole string or
 *     any run of consecutive dotted parts ("aiohttp", "ClientSession").
 *
 * Nothing here is thread-safe or async-signal-safe: matching counts hits in
 * the set, so the caller serializes calls on one set.
 */
#ifndef AL_SUPPRESS_H
#define AL_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"

typedef struct al_suppressions al_suppressions;

/* Every finding kind this build knows (DESIGN section 5, plus
 * growing_origin of interval=), in their canonical order, then NULL.  A kind
 * the preload starts reporting must be added here (and to the message of
 * al_suppressions_parse), or rules naming it are refused. */
extern const char *const al_finding_kinds[];

/* Index of kind in al_finding_kinds, or -1 when unknown or NULL. */
int al_kind_index(const char *kind);

/* Parses the rules in text[0..len) (need not be NUL-terminated).  name is
 * what error messages call the text (a file name).  Returns a set (possibly
 * of no rule), or NULL with a one-line message "NAME:LINE: what is wrong"
 * (no trailing newline, at most errlen bytes) in err; on ENOMEM the
 * message is "NAME: out of memory". */
al_suppressions *al_suppressions_parse(const char *text, size_t len, const char *name,
                                       char *err, size_t errlen);

/* Reads and parses the file at path (at most AL_SUPPRESS_MAX_FILE bytes).
 * Returns a set, or NULL with a message in err as al_suppressions_parse
 * gives, or "PATH: cannot read: REASON". */
#define AL_SUPPRESS_MAX_FILE (16u << 20)
al_suppressions *al_suppressions_load(const char *path, char *err, size_t errlen);

/* The index of the first rule (in file order) matching finding, or -1.
 * Adds 1 to that rule's hit count.  s or finding NULL: -1. */
int al_suppressions_match(al_suppressions *s, const al_json *finding);

/* Same, adding n (>= 1) hits: finding stands for n identical findings. */
int al_suppressions_match_n(al_suppressions *s, const al_json *finding, int64_t n);

/* Number of rules; 0 for NULL. */
size_t al_suppressions_len(const al_suppressions *s);
/* Rule i as "KIND:PATTERN" (trimmed, without comment); NULL when out of range. */
const char *al_suppressions_rule(const al_suppressions *s, size_t i);
/* Hits of rule i so far; 0 when out of range. */
int64_t al_suppressions_hits(const al_suppressions *s, size_t i);
/* Line of rule i in its file (1-based); 0 when out of range. */
int al_suppressions_line(const al_suppressions *s, size_t i);

/* Prints the rules that matched anything, as LeakSanitizer does:
 *   ==PID== -----------------------------------------------------
 *   ==PID== Suppressions used:
 *   ==PID==   count rule
 *   ==PID==       3 pending_task:heartbeat
 *   ==PID== -----------------------------------------------------
 * ("==asyncleak== " when pid < 0; control characters as \xNN).  Nothing
 * when no rule matched.  Returns 0, or -1 on a write error. */
int al_suppressions_render_used(FILE *out, const al_suppressions *s, long pid);

/* Frees the set; NULL is fine. */
void al_suppressions_free(al_suppressions *s);

/* True when pattern ('*' wildcards) matches s[0..n) as a whole.  Runs in
 * O(strlen(pattern) * n) at worst. */
int al_suppress_glob(const char *pattern, const char *s, size_t n);

/* True when pattern matches the module of the frame file `file`:
 *   1. file must end in ".py"; the extension is dropped, and a last part
 *      "__init__" too (".../aiohttp/__init__.py" is module "aiohttp");
 *   2. the path is cut after its last directory named "site-packages",
 *      "dist-packages" or "pythonX" / "pythonX.Y" (the standard library),
 *      when it has one: /usr/lib/python3/dist-packages/aiohttp/client.py is
 *      aiohttp.client, /usr/lib/python3.11/asyncio/tasks.py is
 *      asyncio.tasks; otherwise every directory counts:
 *      /srv/app/db/pool.py is srv.app.db.pool;
 *   3. only the last 16 parts are kept;
 *   4. pattern matches when it matches (as a whole) the parts joined with
 *      dots, or any run of consecutive parts: "aiohttp", "client",
 *      "aiohttp.client"; "app", "app.db", "db.pool", ...
 * False for NULL. */
int al_suppress_module_matches(const char *pattern, const char *file);

#endif
