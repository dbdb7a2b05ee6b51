/* signames.h - signal names as ASYNCLEAK_OPTIONS and the asyncleak command
 * spell them; shared by the preload (dump_signal=) and `asyncleak dump`. */
#ifndef AL_SIGNAMES_H
#define AL_SIGNAMES_H

#include <stddef.h>

/* Parses a signal name or number: "SIGUSR2", "usr2" (any case, SIG
 * optional), "12", "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N", or "none"
 * (-> 0).  Returns -1 when s is none of these or out of range. */
int al_parse_signal(const char *s);

/* "SIGUSR2", "SIGRTMIN+3", or "signal N", into buf; returns buf. */
const char *al_signal_name(int sig, char *buf, size_t len);

#endif
