/* cmd_attach.c - `asyncleak attach PID`: load the preload into a running CPython.
 *
 * gdb attaches, calls setenv(ASYNCLEAK_OPTIONS), dlopen(libasyncleak.so) and
 * unsetenv in the target, and detaches.  The library's constructor sees a
 * running interpreter and finishes on a thread of its own with the GIL
 * (preload/attach.c), then writes a dump report.  Every check that can be
 * made before touching the target is made first, so a refusal leaves it
 * untouched: the pid exists, is CPython 3.8-3.13, ptrace is permitted, gdb
 * is installed, and the library is not loaded already (then only a dump is
 * requested, by a call to its asyncleak_request_dump()).  Every call gdb
 * makes in the target is made from a safe point (gdb_safe_point.c).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "gdb_safe_point.h"
#include "paths.h"

void al_cmd_attach_help(FILE *out)
{
    fputs("usage: asyncleak attach [--json PATTERN] [--log PATTERN] [--option KEY=VALUE]... PID\n"
          "\n"
          "Loads the asyncleak preload into the running CPython 3.8-3.13 process PID\n"
          "(through gdb), records the tasks and resources that already exist (their\n"
          "origin is unknown: \"created before attach\"), writes a dump report, and\n"
          "from then on reports like a process started under the preload.\n"
          "\n"
          "  --json PATTERN      JSON report path (%p = pid); default: a private\n"
          "                      directory under $TMPDIR\n"
          "  --log PATTERN       text report path (default: the process's stderr)\n"
          "  --option KEY=VALUE  any ASYNCLEAK_OPTIONS setting (repeatable)\n"
          "\n"
          "Needs gdb and the right to ptrace PID (root, CAP_SYS_PTRACE, or\n"
          "kernel.yama.ptrace_scope=0 for a process of the same user).  When the\n"
          "library is loaded already, only a dump is requested.  Before calling\n"
          "anything in PID, gdb moves the stopped thread out of the allocator and\n"
          "loader and to a call boundary; when it cannot, nothing is called.\n"
          "\n"
          "Exit status: 0 attached (or dump requested), 1 the attach failed,\n"
          "2 usage error or refused (the target is left untouched).\n", out);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* The CPython minor version of pid from its maps (libpython3.X) or its
 * executable's name (python3.X); -1 when it is not CPython. */
static int python_minor(long pid, const char *maps)
{
    char path[64], exe[4096];
    const char *p;
    ssize_t n;

    if (maps != NULL && (p = strstr(maps, "libpython3.")) != NULL && isdigit((unsigned char)p[11]))
        return atoi(p + 11);
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    n = readlink(path, exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    p = strrchr(exe, '/');
    p = p ? p + 1 : exe;
    if (strncmp(p, "python3.", 8) == 0 && isdigit((unsigned char)p[8]))
        return atoi(p + 8);
    return -1;
}

static char *find_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL, *found = NULL;

    copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
        char *cand = al_path_join(dir, prog);
        if (cand != NULL && access(cand, X_OK) == 0) {
            found = cand;
            break;
        }
        free(cand);
    }
    free(copy);
    return found;
}

/* Refuses (with the reason) when ptrace of another process is not allowed. */
static int ptrace_refusal(char *why, size_t len)
{
    char *s = read_file("/proc/sys/kernel/yama/ptrace_scope", NULL);
    int scope = s ? atoi(s) : 0;

    free(s);
    if (scope >= 3) {
        snprintf(why, len, "ptrace is disabled on this machine (kernel.yama.ptrace_scope=3; only a reboot lowers it)");
        return 1;
    }
    if (scope >= 1 && geteuid() != 0) {
        snprintf(why, len, "ptrace of a non-child process is restricted (kernel.yama.ptrace_scope=%d): "
                 "run as root, give gdb CAP_SYS_PTRACE, or set kernel.yama.ptrace_scope=0", scope);
        return 1;
    }
    return 0;
}

static int quotable(const char *s)
{
    return strpbrk(s, "\"\\\n") == NULL;
}

static char *expand_pid(const char *pattern, long pid)
{
    size_t n = strlen(pattern);
    char *out = malloc(n * 8 + 32), *o = out;
    const char *p;

    if (out == NULL)
        return NULL;
    for (p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += sprintf(o, "%ld", pid);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            *o++ = '%';
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static int run_gdb_argv(const char *gdb, char *const argv[], char **output);

/* gdb -p PID -batch: the safe-point script (gdb_safe_point.c), then each
 * of commands (NULL-terminated, at most 8) in the target, then detach. */
static int run_gdb_commands(const char *gdb, long pid, const char *const commands[], char **output)
{
    char pidbuf[32];
    char *script = al_gdb_safe_point_script();
    const char *argv[32];
    int i, n = 0, rc;

    if (script == NULL) {
        *output = strdup("asyncleak: cannot write gdb's script to a temporary file\n");
        return -1;
    }
    snprintf(pidbuf, sizeof pidbuf, "%ld", pid);
    argv[n++] = gdb;
    argv[n++] = "-p";
    argv[n++] = pidbuf;
    argv[n++] = "-batch";
    argv[n++] = "-nx";
    argv[n++] = "-q";
    argv[n++] = "-ex";
    argv[n++] = "set confirm off";
    argv[n++] = "-x";
    argv[n++] = script;
    for (i = 0; commands[i] != NULL && i < 8; i++) {
        argv[n++] = "-ex";
        argv[n++] = commands[i];
    }
    argv[n++] = "-ex";
    argv[n++] = "detach";
    argv[n] = NULL;
    rc = run_gdb_argv(gdb, (char *const *)argv, output);
    unlink(script);
    free(script);
    return rc;
}

/* Runs gdb with argv, its output (stdout and stderr) in *output.  Returns
 * gdb's exit status, or -1. */
static int run_gdb_argv(const char *gdb, char *const argv[], char **output)
{
    int pipefd[2], status = 0;
    pid_t child;
    size_t cap = 0, n = 0;
    char *buf = NULL;

    if (pipe(pipefd) != 0)
        return -1;
    child = fork();
    if (child < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (child == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        execv(gdb, argv);
        _exit(127);
    }
    close(pipefd[1]);
    for (;;) {
        ssize_t r;
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 16384);
            if (nb == NULL)
                break;
            buf = nb;
        }
        r = read(pipefd[0], buf + n, 4096);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(pipefd[0]);
    if (buf != NULL)
        buf[n] = '\0';
    *output = buf;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* setenv(ASYNCLEAK_OPTIONS), dlopen(lib), unsetenv, in the target. */
static int run_gdb_load(const char *gdb, long pid, const char *options, const char *lib, char **output)
{
    char setenv_cmd[8192], dlopen_cmd[4400];
    const char *commands[] = {setenv_cmd, dlopen_cmd, "call (char*)dlerror()",
                              /* gdb would pick ld.so's own unsetenv: call libc's. */
                              "call (int)((int(*)(const char*))dlsym((void*)0, \"unsetenv\"))(\"ASYNCLEAK_OPTIONS\")",
                              NULL};

    snprintf(setenv_cmd, sizeof setenv_cmd, "call (int)setenv(\"ASYNCLEAK_OPTIONS\", \"%s\", 1)", options);
    snprintf(dlopen_cmd, sizeof dlopen_cmd, "call (void*)dlopen(\"%s\", 2)", lib);
    return run_gdb_commands(gdb, pid, commands, output);
}

/* Why gdb's work in the target failed, and gdb's own output. */
static void say_gdb_failed(long pid, int gdb_rc, const char *what, const char *output)
{
    if (gdb_rc == AL_GDB_NOT_ATTACHED)
        fprintf(stderr, "asyncleak attach: gdb could not attach to %ld (another debugger, or another "
                "attach at the same time?); nothing was done:\n", pid);
    else if (gdb_rc == AL_GDB_NO_SAFE_POINT)
        fprintf(stderr, "asyncleak attach: %ld did not reach a point where a call is safe; "
                "nothing was done (try again):\n", pid);
    else
        fprintf(stderr, "asyncleak attach: gdb %s %ld:\n", what, pid);
    fputs(output ? output : "(no output)\n", stderr);
}

int al_cmd_attach(int argc, char **argv)
{
    const char *json = NULL, *log = NULL;
    char options[4096] = "", why[512], path[64];
    char *maps = NULL, *gdb = NULL, *lib = NULL, *tried = NULL, *dir = NULL, *pattern = NULL;
    char *output = NULL, *report = NULL;
    const char *dump_request[] = {"call (int)asyncleak_request_dump()", NULL};
    long pid;
    int i, minor, gdb_rc, rc = AL_EXIT_USAGE;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            al_cmd_attach_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json = argv[++i];
        } else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
            log = argv[++i];
        } else if (strcmp(argv[i], "--option") == 0 && i + 1 < argc) {
            const char *kv = argv[++i];
            if (strchr(kv, '=') == NULL || strchr(kv, ':') != NULL || !quotable(kv)) {
                fprintf(stderr, "asyncleak attach: bad --option '%s' (KEY=VALUE, no ':', '\"' or '\\')\n", kv);
                return AL_EXIT_USAGE;
            }
            snprintf(options + strlen(options), sizeof options - strlen(options), "%s%s", *options ? ":" : "", kv);
        } else {
            fprintf(stderr, "asyncleak attach: unknown option '%s'\nTry 'asyncleak attach --help'.\n", argv[i]);
            return AL_EXIT_USAGE;
        }
    }
    if (i != argc - 1) {
        fprintf(stderr, "asyncleak attach: expected one PID\nTry 'asyncleak attach --help'.\n");
        return AL_EXIT_USAGE;
    }
    {
        char *end;
        errno = 0;
        pid = strtol(argv[i], &end, 10);
        if (errno != 0 || *end != '\0' || pid <= 0) {
            fprintf(stderr, "asyncleak attach: '%s' is not a process id\n", argv[i]);
            return AL_EXIT_USAGE;
        }
    }
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
        fprintf(stderr, "asyncleak attach: no process %ld\n", pid);
        return AL_EXIT_USAGE;
    }
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    maps = read_file(path, NULL);
    if (maps == NULL) {
        fprintf(stderr, "asyncleak attach: cannot read %s: %s\n", path, strerror(errno));
        goto out;
    }
    if (strstr(maps, "libasyncleak.so") != NULL) {
        /* Already loaded: ask it for a dump through its exported entry
         * point (a signal could be the program's own, or kill it before
         * asyncio is imported). */
        gdb = find_in_path("gdb");
        if (gdb == NULL) {
            fprintf(stderr, "asyncleak attach: the preload is already loaded in %ld, "
                    "but gdb is not installed to ask it for a dump (apt-get install gdb)\n", pid);
            goto out;
        }
        gdb_rc = run_gdb_commands(gdb, pid, dump_request, &output);
        if (gdb_rc != 0 || output == NULL) {
            say_gdb_failed(pid, gdb_rc, "could not ask for a dump from", output);
            rc = 1;
            goto out;
        }
        if (strstr(output, "= 0\n") != NULL) {
            fprintf(stderr, "asyncleak: the preload is already loaded in %ld; asked it for a dump\n", pid);
            rc = 0;
        } else {
            fprintf(stderr, "asyncleak: the preload is already loaded in %ld but not active yet "
                    "(asyncio not imported): nothing to dump\n", pid);
            rc = 1;
        }
        goto out;
    }
    minor = python_minor(pid, maps);
    if (minor < 0) {
        fprintf(stderr, "asyncleak attach: process %ld is not a CPython process\n", pid);
        goto out;
    }
    if (minor < 8 || minor > 13) {
        fprintf(stderr, "asyncleak attach: process %ld runs Python 3.%d; asyncleak supports 3.8-3.13\n", pid, minor);
        goto out;
    }
    if (ptrace_refusal(why, sizeof why)) {
        fprintf(stderr, "asyncleak attach: %s\n", why);
        goto out;
    }
    gdb = find_in_path("gdb");
    if (gdb == NULL) {
        fprintf(stderr, "asyncleak attach: gdb is not installed (apt-get install gdb)\n");
        goto out;
    }
    if (al_path_find_library(&lib, &tried) != 0) {
        fprintf(stderr, "asyncleak attach: cannot find libasyncleak.so (tried %s)\n", tried ? tried : "?");
        goto out;
    }
    if (json != NULL) {
        pattern = al_path_pattern_absolute(json);
    } else {
        dir = al_path_make_private_dir("asyncleak");
        pattern = dir ? al_path_join(dir, "asyncleak.%p.json") : NULL;
    }
    if (pattern == NULL || !quotable(pattern) || strchr(pattern, ':') || !quotable(lib)
        || (log && (!quotable(log) || strchr(log, ':')))) {
        fprintf(stderr, "asyncleak attach: report paths and the library path must not contain ':', '\"' or '\\'\n");
        goto out;
    }
    snprintf(options + strlen(options), sizeof options - strlen(options), "%sjson_path=%s", *options ? ":" : "", pattern);
    if (log != NULL) {
        char *abs = al_path_pattern_absolute(log);
        snprintf(options + strlen(options), sizeof options - strlen(options), ":log_path=%s", abs ? abs : log);
        free(abs);
    }
    report = expand_pid(pattern, pid);
    gdb_rc = run_gdb_load(gdb, pid, options, lib, &output);
    if (gdb_rc != 0 || output == NULL || strstr(output, "= (void *) 0x0\n") != NULL
        || strstr(output, "(void *) 0x") == NULL) {
        say_gdb_failed(pid, gdb_rc, "could not load the library into", output);
        rc = 1;
        goto out;
    }
    /* The dump is written by the library's own thread once it has the GIL. */
    for (i = 0; i < 100; i++) {
        struct stat st;
        struct timespec ts = {0, 50 * 1000000L};
        if (report != NULL && stat(report, &st) == 0)
            break;
        nanosleep(&ts, NULL);
    }
    if (report != NULL && access(report, F_OK) != 0)
        fprintf(stderr, "asyncleak: attached to %ld (Python 3.%d); asyncio is not imported yet, "
                "reports will go to %s\n", pid, minor, report);
    else
        fprintf(stderr, "asyncleak: attached to %ld (Python 3.%d); report: %s\n", pid, minor, report ? report : "?");
    rc = 0;
out:
    free(maps);
    free(gdb);
    free(lib);
    free(tried);
    free(dir);
    free(pattern);
    free(output);
    free(report);
    return rc;
}
