/* native.h - native (C) origin stacks: captured with libunwind at hooks,
 * interned, resolved at report time, optionally merged with the Python stack
 * into one "hybrid" stack (docs/native.md).
 *
 * Nothing here calls CPython, so the file also links into unit tests.
 * libunwind (libunwind.so.8) and elfutils' libdw (libdw.so.1) are dlopen'ed,
 * never linked: with native=0 nothing is loaded and nothing is paid.
 * Every function needs the GIL (or, in unit tests, one thread), allocates
 * only with malloc, never raises, and degrades instead of failing: an
 * unknown symbol is null, missing debug information means no file/line.
 */
#ifndef AL_NATIVE_H
#define AL_NATIVE_H

#include <stdint.h>

#include "json.h"

/* Return addresses kept per stack (after dropping asyncleak's own frames and
 * libunwind's); deeper stacks keep their innermost part and are marked
 * truncated. */
#define AL_NATIVE_MAX_DEPTH 64

/* Loads libunwind.so.8 and resolves unw_backtrace; finds the address ranges
 * of asyncleak's own object and of libunwind (their frames are dropped).
 * Idempotent (the first result is remembered).  Returns 0, or -1 after one
 * al_diag line when libunwind is unavailable (captures then return 0). */
int al_native_init(void);

/* 1 when al_native_init() succeeded. */
int al_native_available(void);

/* Captures the current native stack (innermost first, at most
 * AL_NATIVE_MAX_DEPTH return addresses, asyncleak's and libunwind's frames
 * dropped) and interns it.  Returns its id (>= 1), or 0 when native stacks
 * are unavailable, the stack is empty or memory ran out.  Cheap when the
 * same stack was seen before: no allocation, no symbol lookup. */
uint32_t al_native_capture(void);

/* Interns a list of return addresses (innermost first) as captured; the
 * building block of al_native_capture, exposed for tests.  n == 0 -> 0. */
uint32_t al_native_intern(const uintptr_t *ips, uint32_t n, int truncated);

/* Number of distinct native stacks interned so far. */
uint32_t al_native_count(void);

/* Resolves stack id at report time into a new object
 *   {"native": [{"ip": "0x...", "symbol": "..."|null, "object": "/path"|null,
 *                "file": "...", "line": N}, ...],          outermost first
 *    "native_truncated": true,                     only when cut at the depth
 *    "hybrid": [...]}                              only when hybrid is set
 * symbol/object come from dladdr, then from the object's ELF .symtab (or its
 * separate debug file under /usr/lib/debug) for static functions; file/line
 * from DWARF through libdw when libdw.so.1 and debug information exist.
 * Each address is resolved once per process and cached.
 * python_frames: the same origin's Python frames, outermost first, NOT
 * trimmed of asyncio's frames (the "frames" of al_stack_resolve(origin, 0);
 * the stack object itself is accepted too); used only for "hybrid".
 * id 0 or an unknown id gives {"native": []}.  NULL only on OOM. */
al_json *al_native_resolve(uint32_t id, int hybrid, const al_json *python_frames);

/* Convenience for report code: resolves id and moves "native" (and
 * "native_truncated", "hybrid") into stack, an existing {"frames": ...}
 * object.  Does nothing for id 0.  Returns 0, or -1 on OOM. */
int al_native_add_to_stack(al_json *stack, uint32_t id, int hybrid,
                           const al_json *python_frames);

/* The hybrid merge (pure: works on resolved frames only, no lookups).
 * native: resolved native frames, outermost first (as in "native").
 * python_frames: Python frames {"file", "line", "function"} outermost first,
 * untrimmed (an object with "frames" is accepted too).
 * native_truncated: the native stack lost its outermost part.
 * Returns a new array, outermost first, where every run of interpreter
 * frames is replaced by the Python frames it was executing, the
 * interpreter's other frames and everything outside main() are dropped, and
 * trailing asyncio-internal Python frames are trimmed (as in "frames").
 * The rules are in native.c and docs/native.md.  NULL only on OOM. */
al_json *al_native_merge_hybrid(const al_json *native, const al_json *python_frames,
                                int native_truncated);

/* The name of the function that executes Python bytecode in CPython
 * 3.8-3.13: one native frame of it runs one Python frame on 3.8-3.10, one
 * or more (inlined Python-to-Python calls) on 3.11+. */
#define AL_NATIVE_EVAL_FUNCTION "_PyEval_EvalFrameDefault"

/* Forgets every interned stack and cached resolution (unit tests). */
void al_native_reset(void);

#endif
