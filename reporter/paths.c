/* paths.c - file-system helpers of the asyncleak command (see paths.h). */
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIBRARY_NAME "libasyncleak.so"

/* asprintf that returns the string, or NULL with errno = ENOMEM. */
static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

char *al_path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir);

    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len == 1 && dir[0] == '/')
        return xasprintf("/%s", name);
    return xasprintf("%.*s/%s", (int)len, dir, name);
}

/* The current directory, malloc'd; NULL with errno set. */
static char *current_dir(void)
{
    char *cwd = getcwd(NULL, 0);

    if (cwd == NULL && errno == 0)
        errno = ENOENT;
    return cwd;
}

char *al_path_absolute(const char *path)
{
    char *cwd, *abs;

    if (path[0] == '/')
        return strdup(path);
    if ((cwd = current_dir()) == NULL)
        return NULL;
    abs = al_path_join(cwd, path);
    free(cwd);
    return abs;
}

char *al_path_self_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    char *slash;

    if (n < 0)
        return NULL;
    if ((size_t)n >= sizeof buf - 1) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    buf[n] = '\0';
    if ((slash = strrchr(buf, '/')) == NULL) {
        errno = ENOENT;
        return NULL;
    }
    if (slash == buf)
        slash++;            /* the executable is in "/" */
    *slash = '\0';
    return strdup(buf);
}

/* 1 when path is a readable regular file, else 0 with errno set. */
static int is_readable_file(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return 0;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return 0;
    }
    return access(path, R_OK) == 0;
}

/* Appends "what (reason)" to the ", "-separated list *tried.  On ENOMEM the
 * list becomes NULL and stays so. */
static void note_tried(char **tried, int *oom, const char *what, int err)
{
    char *s;

    if (*oom)
        return;
    s = *tried ? xasprintf("%s, %s (%s)", *tried, what, strerror(err))
               : xasprintf("%s (%s)", what, strerror(err));
    free(*tried);
    *tried = s;
    if (s == NULL)
        *oom = 1;
}

int al_path_find_library(char **out, char **tried)
{
    const char *env = getenv("ASYNCLEAK_LIBRARY");
    char *dir = NULL, *parent = NULL, *cand = NULL, *slash;
    int oom = 0, rc = -1;

    *out = NULL;
    *tried = NULL;

    if (env != NULL && env[0] != '\0') {
        if ((cand = al_path_absolute(env)) == NULL) {
            note_tried(tried, &oom, "$ASYNCLEAK_LIBRARY", errno);
            goto cleanup;
        }
        if (is_readable_file(cand)) {
            *out = cand;
            cand = NULL;
            rc = 0;
            goto cleanup;
        }
        {
            int err = errno;
            char *what = xasprintf("ASYNCLEAK_LIBRARY=%s", env);
            note_tried(tried, &oom, what ? what : env, err);
            free(what);
        }
        goto cleanup;
    }

    if ((dir = al_path_self_dir()) == NULL) {
        note_tried(tried, &oom, "/proc/self/exe", errno);
        goto cleanup;
    }

    /* The build tree: build/asyncleak beside build/libasyncleak.so. */
    if ((cand = al_path_join(dir, LIBRARY_NAME)) == NULL)
        goto oom;
    if (is_readable_file(cand)) {
        *out = cand;
        cand = NULL;
        rc = 0;
        goto cleanup;
    }
    note_tried(tried, &oom, cand, errno);
    free(cand);
    cand = NULL;

    /* The installed layout: PREFIX/bin/asyncleak, PREFIX/lib/asyncleak/. */
    if ((parent = strdup(dir)) == NULL)
        goto oom;
    slash = strrchr(parent, '/');
    if (slash != NULL)
        slash[slash == parent ? 1 : 0] = '\0';
    if ((cand = al_path_join(parent, "lib/asyncleak/" LIBRARY_NAME)) == NULL)
        goto oom;
    if (is_readable_file(cand)) {
        *out = cand;
        cand = NULL;
        rc = 0;
        goto cleanup;
    }
    note_tried(tried, &oom, cand, errno);
    goto cleanup;

oom:
    free(*tried);
    *tried = NULL;
cleanup:
    free(cand);
    free(parent);
    free(dir);
    return rc;
}

char *al_path_pattern_escape(const char *s)
{
    size_t n = 0;
    const char *p;
    char *out, *q;

    for (p = s; *p; p++)
        n += *p == '%' ? 2 : 1;
    if ((out = malloc(n + 1)) == NULL)
        return NULL;
    for (p = s, q = out; *p; p++) {
        if (*p == '%')
            *q++ = '%';
        *q++ = *p;
    }
    *q = '\0';
    return out;
}

char *al_path_pattern_absolute(const char *pattern)
{
    char *cwd = NULL, *esc = NULL, *abs = NULL;

    if (pattern[0] == '/')
        return strdup(pattern);
    if ((cwd = current_dir()) == NULL)
        goto cleanup;
    if ((esc = al_path_pattern_escape(cwd)) == NULL)
        goto cleanup;
    abs = al_path_join(esc, pattern);
cleanup:
    free(esc);
    free(cwd);
    return abs;
}

char *al_path_pattern_glob(const char *pattern)
{
    /* Each input byte yields at most two output bytes. */
    char *out = malloc(2 * strlen(pattern) + 1), *q = out;
    const char *p;

    if (out == NULL)
        return NULL;
    for (p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            *q++ = '*';
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            *q++ = '%';
            p++;
        } else {
            if (strchr("*?[]\\", *p) != NULL)
                *q++ = '\\';
            *q++ = *p;
        }
    }
    *q = '\0';
    return out;
}

char *al_path_make_private_dir(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char *base = NULL, *tmpl = NULL, *name = NULL;

    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if ((base = al_path_absolute(tmp)) == NULL)
        goto cleanup;
    if ((name = xasprintf("%s.XXXXXX", prefix)) == NULL)
        goto cleanup;
    if ((tmpl = al_path_join(base, name)) == NULL)
        goto cleanup;
    if (mkdtemp(tmpl) == NULL) {
        free(tmpl);
        tmpl = NULL;
    }
cleanup:
    free(name);
    free(base);
    return tmpl;
}

/* Removes every entry of the open directory dirfd (recursively), then
 * closes dirfd.  Records the first failure's errno in *first_err. */
static void remove_entries(int dirfd, int *first_err)
{
    DIR *d = fdopendir(dirfd);
    struct dirent *e;

    if (d == NULL) {
        if (*first_err == 0)
            *first_err = errno;
        close(dirfd);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd, e->d_name, 0) == 0)
            continue;
        if (errno == EISDIR || errno == EPERM) {
            int sub = openat(dirfd, e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                remove_entries(sub, first_err);
                if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0)
                    continue;
            }
        }
        if (*first_err == 0)
            *first_err = errno;
    }
    closedir(d);
}

int al_path_remove_tree(const char *dir)
{
    int first_err = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -1;
    remove_entries(fd, &first_err);
    if (rmdir(dir) < 0 && first_err == 0)
        first_err = errno;
    if (first_err != 0) {
        errno = first_err;
        return -1;
    }
    return 0;
}
