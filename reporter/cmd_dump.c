/* cmd_dump.c - `asyncleak dump [--signal SIG] PID`: ask a process running
 * under the preload for an on-demand report (pending tasks and open
 * resources, findings with "when": "dump"), without disturbing it.
 *
 * Entry points, for reporter/commands.h and the table in reporter/main.c:
 *
 *     int al_cmd_dump(int argc, char **argv);
 *     void al_cmd_dump_help(FILE *out);
 *
 *     { "dump", al_cmd_dump, "ask a running process for a report of its pending tasks and open resources" },
 *
 * What it does: checks that PID exists (kill 0); reads /proc/PID/environ for
 * LD_PRELOAD (must name libasyncleak.so) and ASYNCLEAK_OPTIONS (dump_signal,
 * json_path, log_path, parsed as the preload does: the last valid value
 * wins); refuses when the process handles no dump signal: dump_signal=none,
 * an exit signal, or a signal the process does not catch according to
 * /proc/PID/status (e.g. before the program imported asyncio: sending it
 * would kill the process).  Whether a caught signal is caught by the
 * preload or by a handler the program installed later cannot be seen from
 * outside.  Then it sends the signal, waits up to 2 s for the JSON report
 * (json_path, %p expanded, relative paths taken from the process's current
 * directory) to be rewritten, and prints
 *
 *     asyncleak: dump of PID written to PATH
 *
 * Without json_path the dump is only text, on the process's stderr or in
 * its log_path file: the command says so once the signal is sent.
 *
 * Exit status: 0 the dump was written (or requested, without json_path);
 * 1 the signal was sent but no report appeared in time, or it could not be
 * sent; 2 usage error or refused (the process is left untouched).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "signames.h"
#include "paths.h"

#define DUMP_WAIT_MS 2000
#define POLL_MS 20

void al_cmd_dump_help(FILE *out)
{
    fputs("usage: asyncleak dump [--signal SIG] PID\n"
          "\n"
          "Asks PID, a process running under the asyncleak preload, for a report of\n"
          "every task still pending and every resource still open (findings with\n"
          "\"when\": \"dump\"); the program goes on undisturbed.  The signal is the\n"
          "process's dump_signal (default SIGUSR2), read from its ASYNCLEAK_OPTIONS\n"
          "in /proc/PID/environ.  With json_path set, waits up to 2 s for the JSON\n"
          "report to be rewritten and prints its path; otherwise the dump is text on\n"
          "the process's stderr (or in its log_path file).\n"
          "\n"
          "  --signal SIG   the dump signal, when it is not visible in the process's\n"
          "                 environment (a preload loaded by 'asyncleak attach');\n"
          "                 otherwise it must match dump_signal\n"
          "\n"
          "Refuses, leaving the process untouched, when it is not running under the\n"
          "preload, has dump_signal=none, or does not catch the dump signal (e.g.\n"
          "before the program imported asyncio: the signal would kill it).  It cannot\n"
          "tell the preload's handler from one the program installed for the same\n"
          "signal (gunicorn's master re-executes itself on SIGUSR2): give such\n"
          "services a dump_signal nothing else uses, e.g. dump_signal=RTMIN+1.\n"
          "\n"
          "Exit status: 0 dump written (or requested, without json_path), 1 no report\n"
          "within 2 s or the signal could not be sent, 2 usage error or refused.\n", out);
}

/* Strict decimal digits up to max (the pid argument); 0 or -1. */
static int parse_decimal(const char *s, long max, long *out)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ---- signals -------------------------------------------------------------- */

/* The preload's spelling (common/signames.c), minus SIGKILL/SIGSTOP, which
 * can never be a dump signal: -1 for those too. */
static int parse_signal(const char *s)
{
    int sig = al_parse_signal(s);
    return sig == SIGKILL || sig == SIGSTOP ? -1 : sig;
}

static const char *signal_name(int sig, char *buf, size_t len)
{
    return al_signal_name(sig, buf, len);
}

/* ---- /proc ------------------------------------------------------------------ */

/* The whole file (NUL-terminated; *len without the terminator), or NULL with errno. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;
        if (n + 4097 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 16384);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int err = errno;
        free(buf);
        fclose(f);
        errno = err ? err : EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* The value of NAME in an environ block (NUL-separated), or NULL. */
static const char *env_get(const char *env, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = env, *end = env + len;

    while (p < end) {
        size_t l = strnlen(p, (size_t)(end - p));
        if (l > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
            return p + nl + 1;
        p += l + 1;
    }
    return NULL;
}

/* Whether an LD_PRELOAD value (entries separated by ':' or blanks) names
 * a file called libasyncleak.so. */
static int preload_names_us(const char *value)
{
    const char *p = value;

    while (p != NULL && *p) {
        size_t l = strcspn(p, ": \t");
        const char *slash;
        size_t bl;
        if (l > 0) {
            slash = memrchr(p, '/', l);
            bl = slash ? l - (size_t)(slash + 1 - p) : l;
            if (bl == strlen("libasyncleak.so") && strncmp(slash ? slash + 1 : p, "libasyncleak.so", bl) == 0)
                return 1;
        }
        p += l;
        p += strspn(p, ": \t");
    }
    return 0;
}

/* 1 when the "Sig<field>:" mask of /proc/PID/status has sig, 0 when not, -1 unknown. */
static int status_has(const char *status, const char *field, int sig)
{
    char key[16];
    const char *p;
    unsigned long long mask;

    if (status == NULL || sig <= 0 || sig > 64)
        return -1;
    snprintf(key, sizeof key, "\n%s:", field);
    p = strstr(status, key);
    if (p == NULL)
        return -1;
    p += strlen(key);
    while (*p == ' ' || *p == '\t')
        p++;
    if (sscanf(p, "%llx", &mask) != 1)
        return -1;
    return (mask >> (sig - 1)) & 1ULL ? 1 : 0;
}

/* ---- options ------------------------------------------------------------------ */

typedef struct {
    int dump_signal;            /* SIGUSR2 unless set; 0 = none */
    char *json_path, *log_path; /* patterns, or NULL */
} target_opts;

/* ASYNCLEAK_OPTIONS as the preload reads it: key=value items separated by
 * ':', the value is everything after the first '=', the last valid value of
 * a key wins (an invalid one leaves the previous value). */
static void parse_options(const char *spec, target_opts *o)
{
    const char *p = spec;

    while (p != NULL && *p) {
        size_t l = strcspn(p, ":");
        const char *eq = memchr(p, '=', l);
        if (eq != NULL && eq > p) {
            size_t kl = (size_t)(eq - p);
            char *val = strndup(eq + 1, l - kl - 1);
            if (val != NULL) {
                if (kl == 11 && strncmp(p, "dump_signal", kl) == 0) {
                    int sig = parse_signal(val);
                    if (sig >= 0)
                        o->dump_signal = sig;
                } else if (kl == 9 && strncmp(p, "json_path", kl) == 0 && *val) {
                    free(o->json_path);
                    o->json_path = val;
                    val = NULL;
                } else if (kl == 8 && strncmp(p, "log_path", kl) == 0 && *val) {
                    free(o->log_path);
                    o->log_path = val;
                    val = NULL;
                }
                free(val);
            }
        }
        p += l;
        if (*p == ':')
            p++;
    }
}

/* pattern with %p -> pid and %% -> %, made absolute from the target's
 * current directory (cwd may be NULL: then left relative). */
static char *expand_path(const char *pattern, long pid, const char *cwd)
{
    char pidbuf[24], *out, *o, *abs;
    size_t need = 1;
    const char *s;

    snprintf(pidbuf, sizeof pidbuf, "%ld", pid);
    for (s = pattern; *s; s++)
        need += (s[0] == '%' && s[1] == 'p') ? strlen(pidbuf) : 1;
    out = o = malloc(need);
    if (out == NULL)
        return NULL;
    for (s = pattern; *s; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            o = stpcpy(o, pidbuf);
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            *o++ = '%';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    if (out[0] == '/' || cwd == NULL)
        return out;
    abs = al_path_join(cwd, out);
    free(out);
    return abs;
}

/* ---- waiting for the report ---------------------------------------------------- */

typedef struct {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_state;

static file_state state_of(const char *path)
{
    file_state fs;
    struct stat st;

    memset(&fs, 0, sizeof fs);
    if (path != NULL && stat(path, &st) == 0) {
        fs.exists = 1;
        fs.dev = st.st_dev;
        fs.ino = st.st_ino;
        fs.size = st.st_size;
        fs.mtime = st.st_mtim;
    }
    return fs;
}

/* A rewrite is a rename over the old file: a new inode, or at least a new mtime or size. */
static int changed(const file_state *a, const file_state *b)
{
    if (a->exists != b->exists)
        return b->exists;
    if (!b->exists)
        return 0;
    return a->dev != b->dev || a->ino != b->ino || a->size != b->size ||
           a->mtime.tv_sec != b->mtime.tv_sec || a->mtime.tv_nsec != b->mtime.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the command ---------------------------------------------------------------- */

static int usage(const char *fmt, const char *arg)
{
    fputs("asyncleak dump: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'asyncleak dump --help'.\n", stderr);
    return AL_EXIT_USAGE;
}

/* Whether /proc/PID/exe is the asyncleak command itself (the launcher of `asyncleak run`). */
static int is_launcher(long pid)
{
    char path[64], exe[PATH_MAX];
    ssize_t n;
    const char *base;

    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    n = readlink(path, exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    base = strrchr(exe, '/');
    return strcmp(base ? base + 1 : exe, "asyncleak") == 0;
}

int al_cmd_dump(int argc, char **argv)
{
    const char *sigarg = NULL, *pidarg = NULL, *preload, *options;
    char *environ_buf = NULL, *maps = NULL, *status = NULL, *cwd = NULL, *json = NULL, *log = NULL;
    char path[64], name[32], name2[32];
    size_t envlen = 0;
    target_opts opts = { SIGUSR2, NULL, NULL };
    int i, sig = -1, given = -1, visible = 0, rc = AL_EXIT_USAGE, caught;
    long pid;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            al_cmd_dump_help(stdout);
            return 0;
        } else if (strcmp(a, "--signal") == 0 || strncmp(a, "--signal=", 9) == 0) {
            if (a[8] == '=') {
                sigarg = a + 9;
            } else if (i + 1 < argc) {
                sigarg = argv[++i];
            } else {
                return usage("option '%s' needs a value", a);
            }
            given = parse_signal(sigarg);
            if (given <= 0)
                return usage("bad signal '%s' (e.g. SIGUSR2, USR2, 12, RTMIN+1)", sigarg);
        } else if (strcmp(a, "--") == 0) {
            if (i + 1 < argc && pidarg == NULL)
                pidarg = argv[++i];
            if (i + 1 < argc)
                return usage("unexpected argument '%s': one PID only", argv[i + 1]);
            break;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage("unknown option '%s'", a);
        } else if (pidarg == NULL) {
            pidarg = a;
        } else {
            return usage("unexpected argument '%s': one PID only", a);
        }
    }
    if (pidarg == NULL)
        return usage("%s", "no PID given");
    if (parse_decimal(pidarg, INT_MAX, &pid) != 0 || pid <= 0)
        return usage("'%s' is not a process id", pidarg);

    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
        fprintf(stderr, "asyncleak dump: no process %ld\n", pid);
        return AL_EXIT_USAGE;
    }
    snprintf(path, sizeof path, "/proc/%ld/environ", pid);
    environ_buf = slurp(path, &envlen);
    if (environ_buf == NULL) {
        fprintf(stderr, "asyncleak dump: cannot read %s: %s%s\n", path, strerror(errno),
                errno == EACCES || errno == EPERM ? " (run as the process's user, or as root)" : "");
        goto out;
    }
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    maps = slurp(path, NULL);
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    status = slurp(path, NULL);
    snprintf(path, sizeof path, "/proc/%ld/cwd", pid);
    cwd = realpath(path, NULL);

    preload = env_get(environ_buf, envlen, "LD_PRELOAD");
    options = env_get(environ_buf, envlen, "ASYNCLEAK_OPTIONS");
    if (preload != NULL && preload_names_us(preload)) {
        visible = 1;
        if (maps != NULL && strstr(maps, "libasyncleak") == NULL) {
            fprintf(stderr, "asyncleak dump: the LD_PRELOAD of %ld names libasyncleak.so, but the library is not "
                    "loaded in it (a wrong path, or a setuid program?)\n", pid);
            goto out;
        }
        if (options != NULL)
            parse_options(options, &opts);
    } else if (maps != NULL && strstr(maps, "/libasyncleak.so") != NULL) {
        /* Loaded by `asyncleak attach`: its options were set after exec and
         * are not in /proc/PID/environ. */
        if (given <= 0) {
            fprintf(stderr, "asyncleak dump: the preload was loaded into %ld after it started (asyncleak attach), so "
                    "its options are not visible: give the dump signal with --signal SIG\n", pid);
            goto out;
        }
    } else {
        fprintf(stderr, "asyncleak dump: %ld is not running under asyncleak (its LD_PRELOAD has no libasyncleak.so)%s\n",
                pid, is_launcher(pid) ? "; it is the asyncleak launcher: give the pid of the program it runs" : "");
        goto out;
    }

    if (visible) {
        if (opts.dump_signal == 0) {
            fprintf(stderr, "asyncleak dump: %ld runs with dump_signal=none: it handles no dump signal\n", pid);
            goto out;
        }
        if (given > 0 && given != opts.dump_signal) {
            fprintf(stderr, "asyncleak dump: the dump signal of %ld is %s (dump_signal), not %s; not sending %s\n",
                    pid, signal_name(opts.dump_signal, name, sizeof name), signal_name(given, name2, sizeof name2),
                    name2);
            goto out;
        }
        sig = opts.dump_signal;
    } else {
        sig = given;
    }
    signal_name(sig, name, sizeof name);
    if (sig == SIGTERM || sig == SIGHUP) {
        fprintf(stderr, "asyncleak dump: the dump signal of %ld is %s, which ends the process; not sending it\n",
                pid, name);
        goto out;
    }
    caught = status_has(status, "SigCgt", sig);
    if (caught == 0) {
        if (status_has(status, "SigIgn", sig) == 1)
            fprintf(stderr, "asyncleak dump: %ld ignores %s: no dump would be written\n", pid, name);
        else
            fprintf(stderr, "asyncleak dump: %ld does not catch %s (the preload installs its handler when the "
                    "program imports asyncio, and only while the signal has its default action): sending it "
                    "would end the process\n", pid, name);
        goto out;
    }

    if (opts.json_path != NULL && (json = expand_path(opts.json_path, pid, cwd)) == NULL) {
        fprintf(stderr, "asyncleak dump: out of memory\n");
        goto out;
    }
    {
        file_state before = state_of(json);
        long waited;

        if (kill((pid_t)pid, sig) != 0) {
            fprintf(stderr, "asyncleak dump: cannot send %s to %ld: %s\n", name, pid, strerror(errno));
            rc = 1;
            goto out;
        }
        if (!visible) {
            printf("asyncleak: dump of %ld requested (%s); the preload was attached, so its report paths are not "
                   "visible here: the report goes where 'asyncleak attach' said\n", pid, name);
            rc = 0;
            goto out;
        }
        if (json == NULL) {
            if (opts.log_path != NULL && (log = expand_path(opts.log_path, pid, cwd)) != NULL)
                printf("asyncleak: dump of %ld requested (%s); no json_path is set: the text report goes to %s "
                       "(log_path)\n", pid, name, log);
            else
                printf("asyncleak: dump of %ld requested (%s); no json_path is set: the text report goes to "
                       "the process's stderr\n", pid, name);
            rc = 0;
            goto out;
        }
        for (waited = 0; waited <= DUMP_WAIT_MS; waited += POLL_MS) {
            file_state now = state_of(json);
            if (changed(&before, &now)) {
                printf("asyncleak: dump of %ld written to %s\n", pid, json);
                rc = 0;
                goto out;
            }
            if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
                fprintf(stderr, "asyncleak dump: %ld ended after %s, without a new report at %s\n", pid, name, json);
                rc = 1;
                goto out;
            }
            sleep_ms(POLL_MS);
        }
        fprintf(stderr, "asyncleak dump: sent %s to %ld, but %s was not rewritten within %d s (the program may be "
                "holding the GIL, or have a %s handler of its own)\n", name, pid, json, DUMP_WAIT_MS / 1000, name);
        rc = 1;
    }
out:
    free(environ_buf);
    free(maps);
    free(status);
    free(cwd);
    free(json);
    free(log);
    free(opts.json_path);
    free(opts.log_path);
    return rc;
}
