/* commands.h - the subcommands of the asyncleak command and the exit statuses they share. */
#ifndef AL_COMMANDS_H
#define AL_COMMANDS_H

#include <stdio.h>

/* Exit statuses of the command itself (a run otherwise exits with the
 * status of the program it ran; see al_cmd_run). */
#define AL_EXIT_USAGE       2    /* bad command line */
#define AL_EXIT_CANNOT_EXEC 126  /* the program exists but could not be executed */
#define AL_EXIT_CANNOT_RUN  127  /* the program was not found, or asyncleak could not start it */

/* A subcommand gets its own name as argv[0] and the arguments after it, and
 * returns the exit status of the process. */
typedef int (*al_command_fn)(int argc, char **argv);

/* `asyncleak run`: runs a program under the preload and summarizes its
 * reports.  Returns the exit status; when the program was killed by a
 * signal it kills asyncleak with the same signal and does not return. */
int al_cmd_run(int argc, char **argv);
/* Prints the usage and help text of `asyncleak run` to out.  Can't fail. */
void al_cmd_run_help(FILE *out);

/* `asyncleak attach PID` (cmd_attach.c). */
int al_cmd_attach(int argc, char **argv);
void al_cmd_attach_help(FILE *out);

#endif
