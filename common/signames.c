/* signames.c - signal names and numbers (see signames.h). */
#include "signames.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct { const char *name; int num; } sig_table[] = {
    { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT },
    { "ILL", SIGILL },   { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
    { "IOT", SIGABRT },  { "BUS", SIGBUS },   { "FPE", SIGFPE },
    { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
    { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
    { "TERM", SIGTERM },
#ifdef SIGSTKFLT
    { "STKFLT", SIGSTKFLT },
#endif
    { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
    { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
    { "URG", SIGURG },   { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
    { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
    { "IO", SIGIO },
#ifdef SIGPOLL
    { "POLL", SIGPOLL },
#endif
#ifdef SIGPWR
    { "PWR", SIGPWR },
#endif
    { "SYS", SIGSYS },
};

/* Strict decimal digits only (no sign, no blanks); 0 or -1. */
static int parse_digits(const char *s, long *out)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Offset after RTMIN/RTMAX: "" -> 0; sign followed by decimal N <= 1000 -> +-N
 * (sign is '+' for RTMIN, '-' for RTMAX); anything else -> -1000, which puts
 * the result out of the real-time range. */
static int rt_offset(const char *s, char sign)
{
    long v;
    if (*s == '\0')
        return 0;
    if (*s != sign || parse_digits(s + 1, &v) != 0 || v > 1000)
        return -1000;
    return sign == '+' ? (int)v : -(int)v;
}

int al_parse_signal(const char *s)
{
    const char *n;
    long v;

    if (!s || !*s)
        return -1;
    if (strcasecmp(s, "none") == 0)
        return 0;
    if (isdigit((unsigned char)s[0])) {
        if (parse_digits(s, &v) != 0 || v > SIGRTMAX)
            return -1;
        return (int)v;
    }
    n = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < sizeof sig_table / sizeof sig_table[0]; i++)
        if (strcasecmp(n, sig_table[i].name) == 0)
            return sig_table[i].num;
    if (strncasecmp(n, "RTMIN", 5) == 0 || strncasecmp(n, "RTMAX", 5) == 0) {
        int is_min = (n[4] == 'N' || n[4] == 'n');
        int sig = is_min ? SIGRTMIN + rt_offset(n + 5, '+') : SIGRTMAX + rt_offset(n + 5, '-');
        if (sig >= SIGRTMIN && sig <= SIGRTMAX)
            return sig;
    }
    return -1;
}

const char *al_signal_name(int sig, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof sig_table / sizeof sig_table[0]; i++)
        if (sig_table[i].num == sig && strcmp(sig_table[i].name, "IOT") != 0) {
            snprintf(buf, len, "SIG%s", sig_table[i].name);
            return buf;
        }
    if (sig == SIGRTMIN)
        snprintf(buf, len, "SIGRTMIN");
    else if (sig > SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
    else
        snprintf(buf, len, "signal %d", sig);
    return buf;
}
