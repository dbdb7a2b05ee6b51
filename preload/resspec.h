/* resspec.h - resource kind specs: "module:Class open=m1,m2 close=m3,m4".
 *
 * One kind a line; '#' starts a comment; blank lines are ignored.  Pure C.
 * The built-in kinds (aiohttp, asyncio streams/servers/subprocesses, httpx,
 * asyncpg, redis) are written in this syntax too (hooks_resource.c), and
 * users add theirs with the resources=FILE option.
 */
#ifndef AL_RESSPEC_H
#define AL_RESSPEC_H

#define AL_RES_MAX_METHODS 4

typedef struct al_resspec {
    char *module;                         /* "aiohttp.client" */
    char *qualname;                       /* "ClientSession" (may be dotted: "Outer.Inner") */
    char *open[AL_RES_MAX_METHODS];       /* default {"__init__"} */
    int nopen;
    char *close[AL_RES_MAX_METHODS];      /* at least one */
    int nclose;
} al_resspec;

/* Parses one line.  Returns 1 and fills *out (free with al_resspec_free) for
 * a kind, 0 for a blank or comment line, -1 for an error with a message of
 * at most errlen bytes in err (no file/line prefix: the caller adds it). */
int al_resspec_parse_line(const char *line, al_resspec *out, char *err, unsigned errlen);
void al_resspec_free(al_resspec *spec);

#endif
