/* paths.h - file-system helpers of the asyncleak command: the preload library,
 * absolute paths, report path patterns and private report directories.
 *
 * Every function returning char * returns a malloc'd string the caller frees,
 * or NULL with errno set (ENOMEM, or the error of the failing system call).
 */
#ifndef AL_PATHS_H
#define AL_PATHS_H

/* "dir/name" (a single '/' between them, whatever dir ends with). */
char *al_path_join(const char *dir, const char *name);

/* path when it is absolute, else the current directory joined with path.
 * Neither normalized nor resolved. */
char *al_path_absolute(const char *path);

/* The directory of the running executable (from /proc/self/exe, so symlinks
 * are resolved). */
char *al_path_self_dir(void);

/* Finds the preload library: $ASYNCLEAK_LIBRARY when set and not empty
 * (then nothing else is tried), else libasyncleak.so in al_path_self_dir()
 * (the build tree), else PARENT/lib/asyncleak/libasyncleak.so where PARENT
 * is the parent of that directory (the `make install` layout).  A candidate
 * is accepted when it is a readable regular file.
 * Returns 0 and the absolute path in *out; or -1 with *tried set to a
 * description of every candidate tried, ", "-separated (NULL on ENOMEM). */
int al_path_find_library(char **out, char **tried);

/* s with every '%' doubled, so it stands for itself inside a json_path or
 * log_path pattern. */
char *al_path_pattern_escape(const char *s);

/* A pattern made independent of the current directory: pattern itself when
 * absolute, else the (escaped) current directory joined with it. */
char *al_path_pattern_absolute(const char *pattern);

/* The glob(3) pattern matching every file the report pattern can name:
 * "%p" becomes "*", "%%" becomes "%", glob metacharacters of the rest are
 * escaped; any other '%' sequence stays literal. */
char *al_path_pattern_glob(const char *pattern);

/* Creates a private directory TMPDIR/PREFIX.XXXXXX (mkdtemp, mode 0700;
 * TMPDIR from the environment, /tmp when unset or empty) and returns its
 * absolute path. */
char *al_path_make_private_dir(const char *prefix);

/* Removes dir with everything in it (recursively, never following symlinks).
 * Goes on past failures; returns 0, or -1 with errno of the first failure. */
int al_path_remove_tree(const char *dir);

#endif
