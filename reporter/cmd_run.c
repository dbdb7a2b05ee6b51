/* cmd_run.c - `asyncleak run`: runs a program under the preload, then summarizes its JSON reports.
 *
 * Flow: parse the command line; find the preload library; choose the report
 * pattern (the user's --json, or a fresh private directory); export
 * LD_PRELOAD and ASYNCLEAK_OPTIONS; fork + execvp the program and wait for it
 * (ignoring SIGINT/SIGQUIT, forwarding SIGTERM/SIGHUP/SIGUSR1/SIGUSR2); read
 * the reports of every process of the tree (run_summary.c); print one
 * summary when they hold findings; exit like the program did (or with
 * --exitcode N when any process of the tree had findings).
 */
#include "commands.h"
#include "paths.h"
#include "run_summary.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG "asyncleak"

/* What the command line asked for.  Strings point into argv. */
typedef struct {
    const char *json;        /* --json PATTERN, or NULL */
    const char *log;         /* --log PATTERN, or NULL */
    int exitcode;            /* --exitcode N, or -1 */
    const char **options;    /* --option KEY=VALUE, in order (malloc'd array) */
    size_t noptions;
    char **cmd;              /* CMD ARGS..., NULL-terminated */
} run_args;

void al_cmd_run_help(FILE *out)
{
    fputs(
"usage: asyncleak run [OPTIONS] [--] CMD [ARGS...]\n"
"\n"
"Runs CMD with the asyncleak preload library (LD_PRELOAD), which every\n"
"process CMD starts inherits (subprocesses, multiprocessing children with any\n"
"start method, forked workers); once CMD has exited, reads the JSON reports\n"
"of that process tree and, when they hold findings, prints one summary:\n"
"  ==asyncleak== SUMMARY: 5 findings in 2 of 3 processes (3 pending_task, 2 orphaned_task)\n"
"  ==asyncleak==   pid 4242 (app.py): 3 findings (2 pending_task, 1 orphaned_task)\n"
"  ==asyncleak==   pid 4250 (app.py): 2 findings (2 orphaned_task), interrupted by SIGINT\n"
"  ==asyncleak== JSON reports: PATH...\n"
"and nothing when there are none.  The findings themselves are printed by\n"
"the processes as they find them (stderr by default).\n"
"\n"
"Options:\n"
"  --json PATTERN      write the JSON reports to PATTERN (%p = process id,\n"
"                      %% = %); relative patterns are taken from the current\n"
"                      directory.  Default: a private directory\n"
"                      $TMPDIR/asyncleak.XXXXXX, kept when there are findings,\n"
"                      removed otherwise\n"
"  --log PATTERN       write the text reports to PATTERN instead of stderr\n"
"  --exitcode N        exit with status N (0-255) when any process of the\n"
"                      tree had findings\n"
"  --option KEY=VALUE  pass KEY=VALUE to the preload (repeatable), e.g.\n"
"                      --option watchdog=5 --option native=1\n"
"  -h, --help          show this help\n"
"\n"
"Environment:\n"
"  ASYNCLEAK_LIBRARY   the preload library; by default libasyncleak.so beside\n"
"                      this program, then ../lib/asyncleak/libasyncleak.so\n"
"  ASYNCLEAK_OPTIONS   preload options (key=value:...); the options above are\n"
"                      appended to it and take precedence\n"
"  LD_PRELOAD          kept; the library is put in front of it\n"
"  TMPDIR              where the private directory is made (default /tmp)\n"
"  PYTEST_PLUGINS, PYTHONPATH\n"
"                      when CMD is pytest (or python -m pytest), the plugin\n"
"                      asyncleak.pytest is added to them: each test that leaks\n"
"                      fails (opt out: --asyncleak=off or -p no:asyncleak.pytest)\n"
"\n"
"Exit status:\n"
"  CMD's exit status; when CMD was killed by a signal, asyncleak kills itself\n"
"  with the same signal (a shell sees the same status as without asyncleak)\n"
"  N     with --exitcode N, when the report of any process holds findings\n"
"  2     usage error\n"
"  126   CMD was found but could not be executed\n"
"  127   CMD was not found, or asyncleak could not start it (no preload\n"
"        library, no report directory, fork failed)\n",
        out);
}

/* Prints "asyncleak: run: MESSAGE" and the usage hint.  Returns -1. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": run: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " run --help' for usage.\n", stderr);
    return -1;
}

/* Parses N of --exitcode: decimal digits only, 0..255.  Returns N or -1. */
static int parse_exitcode(const char *s)
{
    int n = 0;

    if (*s == '\0' || strlen(s) > 3)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n <= 255 ? n : -1;
}

/* Returns 1 when arg is the option name (then its value is the next
 * argument, stored in *value and *i advanced) or "name=VALUE" (value
 * after '='); 0 when arg is another option; -1 (usage error printed) when
 * the value is missing. */
static int take_option(const char *name, int argc, char **argv, int *i,
                       const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return usage_error("option '%s' needs a value", name);
    *value = argv[++*i];
    return 1;
}

/* A preload option value ends at ':' (ASYNCLEAK_OPTIONS separates pairs
 * with it).  Returns 0 when s has none, else -1 with a usage error. */
static int check_no_colon(const char *what, const char *s)
{
    if (strchr(s, ':') == NULL)
        return 0;
    fprintf(stderr, PROG ": run: %s may not contain ':' (ASYNCLEAK_OPTIONS "
            "separates options with it): %s\n", what, s);
    return -1;
}

/* Fills a from argv (argv[0] is "run").  Returns 0 to run, 1 when help
 * was printed, -1 on a usage error (message printed).  On 0, a->options
 * must be freed by the caller; otherwise it is freed here. */
static int parse_args(int argc, char **argv, run_args *a)
{
    const char *v;
    int i, r;

    memset(a, 0, sizeof *a);
    a->exitcode = -1;
    if ((a->options = calloc((size_t)argc, sizeof *a->options)) == NULL) {
        perror(PROG ": run");
        return -1;
    }

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break;          /* the command ("-" alone is a command name too) */
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            al_cmd_run_help(stdout);
            goto stop;
        }
        if ((r = take_option("--json", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                goto error;
            if (*v == '\0') {
                usage_error("--json needs a non-empty pattern");
                goto error;
            }
            a->json = v;
        } else if ((r = take_option("--log", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                goto error;
            if (*v == '\0') {
                usage_error("--log needs a non-empty pattern");
                goto error;
            }
            a->log = v;
        } else if ((r = take_option("--exitcode", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                goto error;
            if ((a->exitcode = parse_exitcode(v)) < 0) {
                usage_error("--exitcode needs a number from 0 to 255, not '%s'", v);
                goto error;
            }
        } else if ((r = take_option("--option", argc, argv, &i, &v)) != 0) {
            const char *eq;

            if (r < 0)
                goto error;
            eq = strchr(v, '=');
            if (eq == NULL || eq == v) {
                usage_error("--option needs KEY=VALUE, not '%s'", v);
                goto error;
            }
            if (check_no_colon("an --option", v) < 0)
                goto error;
            /* The report paths are the launcher's business: take them as
             * --json / --log so the reports are found afterwards. */
            if (strncmp(v, "json_path=", 10) == 0 && v[10] != '\0')
                a->json = v + 10;
            else if (strncmp(v, "log_path=", 9) == 0 && v[9] != '\0')
                a->log = v + 9;
            else
                a->options[a->noptions++] = v;
        } else {
            usage_error("unknown option '%s'", arg);
            goto error;
        }
    }

    if (i >= argc) {
        usage_error("no command given");
        goto error;
    }
    if ((a->json && check_no_colon("the --json pattern", a->json) < 0) ||
        (a->log && check_no_colon("the --log pattern", a->log) < 0))
        goto error;
    a->cmd = argv + i;
    return 0;

stop:
    free(a->options);
    a->options = NULL;
    return 1;
error:
    free(a->options);
    a->options = NULL;
    return -1;
}

/* Appends "sep item" to the malloc'd string *s (just item when *s is NULL
 * or empty).  Returns 0, or -1 on ENOMEM (*s unchanged). */
static int append(char **s, char sep, const char *item)
{
    char *n;
    int r;

    if (*s == NULL || **s == '\0')
        r = asprintf(&n, "%s", item);
    else
        r = asprintf(&n, "%s%c%s", *s, sep, item);
    if (r < 0)
        return -1;
    free(*s);
    *s = n;
    return 0;
}

/* Exports LD_PRELOAD (lib in front of any existing value) and
 * ASYNCLEAK_OPTIONS (the existing value, then the --option pairs, then
 * json_path and log_path).  Returns 0, or -1 with errno set. */
static int export_environment(const char *lib, const run_args *a,
                              const char *json_pattern, const char *log_pattern)
{
    const char *old;
    char *preload = NULL, *opts = NULL, *pair = NULL;
    size_t i, n;
    int rc = -1;

    if ((preload = strdup(lib)) == NULL)
        goto cleanup;
    old = getenv("LD_PRELOAD");
    if (old != NULL && old[strspn(old, ": ")] != '\0' &&
        append(&preload, ':', old) < 0)
        goto cleanup;

    old = getenv("ASYNCLEAK_OPTIONS");
    if (old != NULL) {
        /* Drop separators at the end so no empty pair is added. */
        for (n = strlen(old); n > 0 && old[n - 1] == ':'; n--)
            ;
        if (n > 0 && (opts = strndup(old, n)) == NULL)
            goto cleanup;
    }
    for (i = 0; i < a->noptions; i++)
        if (append(&opts, ':', a->options[i]) < 0)
            goto cleanup;
    if (asprintf(&pair, "json_path=%s", json_pattern) < 0) {
        pair = NULL;
        goto cleanup;
    }
    if (append(&opts, ':', pair) < 0)
        goto cleanup;
    free(pair);
    pair = NULL;
    if (log_pattern != NULL) {
        if (asprintf(&pair, "log_path=%s", log_pattern) < 0) {
            pair = NULL;
            goto cleanup;
        }
        if (append(&opts, ':', pair) < 0)
            goto cleanup;
    }

    if (setenv("LD_PRELOAD", preload, 1) < 0 ||
        setenv("ASYNCLEAK_OPTIONS", opts, 1) < 0)
        goto cleanup;
    rc = 0;

cleanup:
    if (rc < 0 && errno == 0)
        errno = ENOMEM;
    free(pair);
    free(opts);
    free(preload);
    return rc;
}

/* ---- running the program ------------------------------------------------ */

static const int forwarded_signals[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
#define NFORWARDED (sizeof forwarded_signals / sizeof forwarded_signals[0])

/* The child to forward signals to; 0 while there is none. */
static volatile sig_atomic_t g_child;

/* Async-signal-safe: passes the signal on to the child. */
static void forward_signal(int sig)
{
    int saved = errno;
    pid_t pid = (pid_t)g_child;

    if (pid > 0)
        kill(pid, sig);
    errno = saved;
}

/* Runs cmd in a child process and waits for it; *status gets its wait
 * status.  Returns 0, or -1 (message printed) when it could not be forked
 * or waited for.  The dispositions of SIGINT, SIGQUIT, SIGCHLD and the
 * forwarded signals, and the signal mask, are as before on return; the
 * child starts with them as they were when asyncleak started. */
static int run_child(char **cmd, int *status)
{
    struct sigaction ign, fwd, dfl;
    struct sigaction old_int, old_quit, old_chld, old_fwd[NFORWARDED];
    sigset_t block, old_mask;
    pid_t pid;
    size_t i;
    int rc = -1, err;

    memset(&ign, 0, sizeof ign);
    memset(&fwd, 0, sizeof fwd);
    memset(&dfl, 0, sizeof dfl);
    ign.sa_handler = SIG_IGN;
    dfl.sa_handler = SIG_DFL;
    fwd.sa_handler = forward_signal;   /* no SA_RESTART: waitpid sees EINTR */
    sigemptyset(&ign.sa_mask);
    sigemptyset(&dfl.sa_mask);
    sigemptyset(&fwd.sa_mask);

    /* Block everything touched here until the child's pid is known (parent)
     * or the original dispositions are back (child), so no signal is lost
     * or handled with the wrong disposition in between. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGCHLD);
    for (i = 0; i < NFORWARDED; i++)
        sigaddset(&block, forwarded_signals[i]);
    sigprocmask(SIG_BLOCK, &block, &old_mask);

    /* The terminal sends SIGINT/SIGQUIT to the child too: let it decide. */
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    /* waitpid needs SIGCHLD not ignored (else children are reaped away). */
    sigaction(SIGCHLD, &dfl, &old_chld);
    /* Forward the rest, except signals ignored on purpose (nohup). */
    for (i = 0; i < NFORWARDED; i++) {
        sigaction(forwarded_signals[i], NULL, &old_fwd[i]);
        if (old_fwd[i].sa_handler != SIG_IGN)
            sigaction(forwarded_signals[i], &fwd, NULL);
    }

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigaction(SIGCHLD, &old_chld, NULL);
        for (i = 0; i < NFORWARDED; i++)
            sigaction(forwarded_signals[i], &old_fwd[i], NULL);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        execvp(cmd[0], cmd);
        err = errno;
        fprintf(stderr, PROG ": cannot run '%s': %s\n", cmd[0], strerror(err));
        _exit(err == ENOENT || err == ENOTDIR ? AL_EXIT_CANNOT_RUN
                                              : AL_EXIT_CANNOT_EXEC);
    }
    if (pid < 0) {
        fprintf(stderr, PROG ": cannot run '%s': fork: %s\n", cmd[0],
                strerror(errno));
        goto restore;
    }

    g_child = pid;
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, PROG ": waiting for '%s': %s\n", cmd[0],
                    strerror(errno));
            g_child = 0;
            goto restore;
        }
    }
    g_child = 0;
    rc = 0;

restore:
    sigprocmask(SIG_BLOCK, &block, NULL);
    for (i = 0; i < NFORWARDED; i++)
        sigaction(forwarded_signals[i], &old_fwd[i], NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}

/* Kills the process with sig, as the child was killed, so the caller sees
 * the same wait status.  Returns only if that did not happen. */
static void reraise(int sig)
{
    struct sigaction dfl;
    struct rlimit rl;
    sigset_t set;

    fflush(NULL);
    /* The child dumped core if it was going to; asyncleak's own core would
     * only overwrite it. */
    if (getrlimit(RLIMIT_CORE, &rl) == 0) {
        rl.rlim_cur = 0;
        setrlimit(RLIMIT_CORE, &rl);
    }
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    kill(getpid(), sig);
}

/* ---- reading the reports ------------------------------------------------ */

/* 1 when ts is before since. */
static int older(const struct timespec *ts, const struct timespec *since)
{
    return ts->tv_sec < since->tv_sec ||
           (ts->tv_sec == since->tv_sec && ts->tv_nsec < since->tv_nsec);
}

/* Reads every regular file matching glob_pattern into t; with since, only
 * those modified at or after it.  Returns 0, or -1 (message printed). */
static int collect_reports(al_run_tree *t, const char *glob_pattern,
                           const struct timespec *since)
{
    glob_t g;
    struct stat st;
    size_t i;
    int r, rc = 0;

    memset(&g, 0, sizeof g);
    r = glob(glob_pattern, 0, NULL, &g);
    if (r == GLOB_NOMATCH)
        return 0;
    if (r != 0) {
        fprintf(stderr, PROG ": warning: cannot list the reports %s: %s\n",
                glob_pattern, r == GLOB_NOSPACE ? strerror(ENOMEM)
                                                : "read error");
        rc = r == GLOB_NOSPACE ? -1 : 0;
        goto cleanup;
    }
    for (i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];

        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (since != NULL && older(&st.st_mtim, since))
            continue;
        if (al_run_tree_add(t, path) < 0) {
            fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
            rc = -1;
            goto cleanup;
        }
    }
cleanup:
    globfree(&g);
    return rc;
}

/* ---- the command -------------------------------------------------------- */

int al_cmd_run(int argc, char **argv)
{
    run_args a;
    al_run_tree sum;
    struct timespec start;
    char *lib = NULL, *tried = NULL, *privdir = NULL, *escaped = NULL;
    char *json_pattern = NULL, *log_pattern = NULL, *glob_pattern = NULL;
    int rc = AL_EXIT_CANNOT_RUN, status = 0, sig = 0, keep_privdir = 0, r;

    memset(&sum, 0, sizeof sum);
    if ((r = parse_args(argc, argv, &a)) != 0)
        return r > 0 ? 0 : AL_EXIT_USAGE;

    if (al_path_find_library(&lib, &tried) < 0) {
        fprintf(stderr, PROG ": cannot find the preload library libasyncleak.so; "
                "tried: %s; set ASYNCLEAK_LIBRARY to its path\n",
                tried ? tried : strerror(ENOMEM));
        goto cleanup;
    }
    if (strpbrk(lib, ": ") != NULL) {
        fprintf(stderr, PROG ": the preload library's path may not contain "
                "':' or ' ' (LD_PRELOAD separators): %s\n", lib);
        goto cleanup;
    }

    /* Report patterns are made absolute so a program that changes its
     * directory still writes where the reports are looked for. */
    if (a.json != NULL) {
        if ((json_pattern = al_path_pattern_absolute(a.json)) == NULL)
            goto syserr;
    } else {
        if ((privdir = al_path_make_private_dir(PROG)) == NULL) {
            fprintf(stderr, PROG ": cannot create a report directory in %s: %s\n",
                    getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR")
                                                         : "/tmp",
                    strerror(errno));
            goto cleanup;
        }
        if ((escaped = al_path_pattern_escape(privdir)) == NULL ||
            (json_pattern = al_path_join(escaped, PROG ".%p.json")) == NULL)
            goto syserr;
    }
    if (a.log != NULL && (log_pattern = al_path_pattern_absolute(a.log)) == NULL)
        goto syserr;
    if (check_no_colon("the JSON report path", json_pattern) < 0 ||
        (log_pattern && check_no_colon("the log path", log_pattern) < 0))
        goto cleanup;
    if (export_environment(lib, &a, json_pattern, log_pattern) < 0 ||
        al_export_pytest_plugin(a.cmd, lib) < 0)
        goto syserr;

    /* The clock file-system timestamps come from, so a report written right
     * after the start is never older than it. */
    if (clock_gettime(CLOCK_REALTIME_COARSE, &start) < 0)
        clock_gettime(CLOCK_REALTIME, &start);

    if (run_child(a.cmd, &status) < 0)
        goto cleanup;

    /* From here on, the program's status is the default result. */
    if (WIFEXITED(status)) {
        rc = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        sig = WTERMSIG(status);
        rc = 128 + sig;
    }
    /* If the reports cannot be read, they are kept for the user. */
    keep_privdir = 1;

    /* The private directory holds only this run's reports; a user pattern
     * may match older files, so there only files modified since count. */
    if (privdir != NULL) {
        /* escaped is privdir as a pattern; as a glob, it matches privdir
         * only, whatever characters TMPDIR holds. */
        char *dirglob = al_path_pattern_glob(escaped);

        glob_pattern = dirglob ? al_path_join(dirglob, "*.json") : NULL;
        free(dirglob);
        if (glob_pattern == NULL)
            goto syserr;
        if (collect_reports(&sum, glob_pattern, NULL) < 0)
            goto cleanup;
    } else {
        if ((glob_pattern = al_path_pattern_glob(json_pattern)) == NULL)
            goto syserr;
        if (collect_reports(&sum, glob_pattern, &start) < 0)
            goto cleanup;
    }
    al_run_tree_print(stderr, &sum, privdir);

    /* The private directory stays when the summary names files in it, or
     * when a warning named a file there; else cleanup removes it. */
    keep_privdir = sum.findings > 0 || sum.bad_files > 0;
    if (privdir != NULL && keep_privdir && sum.findings == 0)
        fprintf(stderr, PROG ": warning: kept %s for the file(s) above\n",
                privdir);

    if (a.exitcode >= 0 && sum.findings > 0) {
        rc = a.exitcode;
        sig = 0;
    }
    goto cleanup;

syserr:
    fprintf(stderr, PROG ": run: %s\n", strerror(errno ? errno : ENOMEM));
cleanup:
    if (privdir != NULL && !keep_privdir && al_path_remove_tree(privdir) < 0)
        fprintf(stderr, PROG ": warning: cannot remove %s: %s\n", privdir,
                strerror(errno));
    al_run_tree_free(&sum);
    free(glob_pattern);
    free(log_pattern);
    free(json_pattern);
    free(escaped);
    free(privdir);
    free(tried);
    free(lib);
    free(a.options);
    if (sig != 0)
        reraise(sig);
    return rc;
}
