/* gdb_safe_point.h - the gdb script `asyncleak attach` runs before it calls
 * anything in the target: it brings the stopped thread to a point where a
 * call made by gdb can neither corrupt the heap nor lose a register.
 */
#ifndef AL_GDB_SAFE_POINT_H
#define AL_GDB_SAFE_POINT_H

/* gdb's exit status when the script refused: the thread did not reach a
 * safe point (gdb detached, nothing was called), or gdb did not attach. */
#define AL_GDB_NO_SAFE_POINT 3
#define AL_GDB_NOT_ATTACHED 4

/* Writes the script (Python, for gdb -x) to a private temporary file under
 * $TMPDIR or /tmp.  Returns its malloc'd path (the caller unlinks and
 * frees it), or NULL. */
char *al_gdb_safe_point_script(void);

#endif
