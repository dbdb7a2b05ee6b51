/* options.h - ASYNCLEAK_OPTIONS: the preload's settings, their defaults and parser.
 *
 * Pure C, no CPython, no global state: the caller owns one al_options, fills
 * it with al_options_defaults(), hands it to al_options_parse() and releases
 * it with al_options_free().  DESIGN.md section 7 is the contract for the
 * option names; docs/ holds the user-facing reference.
 *
 * Nothing here is async-signal-safe (the parser allocates).
 */
#ifndef AL_OPTIONS_H
#define AL_OPTIONS_H

#include "render_text.h"   /* AL_NATIVE_TEXT_* */
#include "signames.h"

/* Largest number of seconds kept for watchdog/interval: larger values are
 * accepted and clamped to it (about 31 years, i.e. "never"), so a consumer
 * can convert them to time_t / timespec without overflow. */
#define AL_OPTIONS_SECONDS_MAX 1e9

typedef struct al_options {
    char *json_path;      /* pattern (see al_path_expand), NULL = no JSON report */
    char *log_path;       /* pattern, NULL = stderr */
    double watchdog;      /* seconds, default 10; 0 = off */
    int exitcode;         /* -1 = unchanged (default); else 0..255 */
    int stack_depth;      /* default 32, 1..256 */
    int native;           /* 0|1, default 0 */
    int native_text;      /* AL_NATIVE_TEXT_* (render_text.h), default hybrid */
    int max_findings;     /* default 10000, 1..10000000 */
    int verbosity;        /* 0|1|2 default 0: 1 prints one line when hooks are installed */
    char *suppressions;   /* file path or NULL */
    char *resources;      /* file path or NULL */
    int dump_signal;      /* signal number, default SIGUSR2; 0 = none */
    double interval;      /* seconds, default 0 = off */
} al_options;

/* Fills *opts with defaults (all strings NULL, nothing allocated).  Does not
 * free what *opts held: use it on fresh or freed storage only. */
void al_options_defaults(al_options *opts);

/* Parses ASYNCLEAK_OPTIONS syntax into *opts, which must hold defaults or an
 * earlier parse's result; only the keys present in spec are changed.
 *
 *  - key=value pairs separated by ':' (as sanitizers); the value is
 *    everything after the first '=' and may itself contain '='.  A value
 *    cannot contain ':'.
 *  - Empty items ("a=1::b=2", leading or trailing ':') are ignored.
 *  - Keys are matched exactly (case-sensitive); nothing is trimmed, so
 *    whitespace inside a number makes it invalid.
 *  - A repeated key: the last valid value wins.
 *  - For every problem (item without '=', empty key, unknown key, bad value)
 *    complain(ctx, line) is called once with ONE line (no trailing newline,
 *    no control characters: those in the offending text are shown as \xNN,
 *    and long text is cut with "...") naming the key, the value and what is
 *    accepted.  The key then keeps the value it had (the default, or an
 *    earlier valid setting in the same spec); later pairs still apply.
 *    complain may be NULL: problems are then only counted.
 *
 * Values:
 *   json_path, log_path, suppressions, resources: non-empty string (copied)
 *   watchdog, interval: decimal seconds >= 0, finite (no nan/inf/hex);
 *                       clamped to AL_OPTIONS_SECONDS_MAX
 *   exitcode 0..255, stack_depth 1..256, max_findings 1..10000000,
 *   verbosity 0..2: decimal integers (optional '+'), no surrounding blanks
 *   native: 0|1|true|false|yes|no (case-insensitive)
 *   native_text: hybrid|separate|off (case-insensitive), stored as the
 *                AL_NATIVE_TEXT_* value of render_text.h
 *   dump_signal: as al_parse_signal(), except SIGKILL/SIGSTOP (uncatchable)
 *
 * Numbers are read with strtod/strtol, i.e. in the C locale's syntax ('.' as
 * the decimal point) as long as nobody changed LC_NUMERIC, which holds where
 * the preload parses (its constructor).
 *
 * Returns the number of problems reported (0 = all good).  spec may be NULL
 * or "".  If memory runs out, the item being parsed is reported as a problem
 * and skipped. */
int al_options_parse(al_options *opts, const char *spec,
                     void (*complain)(void *ctx, const char *line), void *ctx);

/* Frees the strings *opts owns and sets them to NULL (other fields are left
 * as they are).  Safe to call twice; opts may be NULL. */
void al_options_free(al_options *opts);

/* Expands a path pattern: %p -> pid (decimal), %% -> %, any other %X is kept
 * literally ("%x" stays "%x"), and so is a trailing lone '%'.
 * Returns a malloc'd string, or NULL when pattern is NULL or memory runs out. */
char *al_path_expand(const char *pattern, long pid);

/* al_parse_signal() lives in common/signames.h (shared with the command). */


#endif /* AL_OPTIONS_H */
