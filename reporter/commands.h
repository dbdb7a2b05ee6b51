/* commands.h - the subcommands of the asyncleak command and the exit statuses they share. */
#ifndef AL_COMMANDS_H
#define AL_COMMANDS_H

#include <stdio.h>

/* Exit statuses of the command itself (a run otherwise exits with the
 * status of the program it ran; see al_cmd_run). */
#define AL_EXIT_USAGE       2    /* bad command line */
#define AL_EXIT_ERROR       2    /* report/diff/html/sarif: nothing could be read, bad suppressions, write error */
#define AL_EXIT_NEW_LEAKS   1    /* diff: NEW has groups BASE has not */
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

/* `asyncleak report FILE|DIR...`: merges reports, groups findings by kind
 * and origin, prints them as text, merged JSON (--json) or SARIF (--sarif).
 * Returns 0 when at least one file was read (or none was named), 2 when
 * none could be read or on a usage error or bad suppressions file. */
int al_cmd_report(int argc, char **argv);
void al_cmd_report_help(FILE *out);

/* The body of `report`; sarif != 0 makes SARIF the output format and
 * --help print the help of `sarif` (al_cmd_sarif). */
int al_report_main(int argc, char **argv, int sarif);

/* `asyncleak sarif FILE|DIR...`: `asyncleak report --sarif`. */
int al_cmd_sarif(int argc, char **argv);
void al_cmd_sarif_help(FILE *out);

/* Writes groups[0..n) as one SARIF 2.1.0 log (docs/reporter.md, "SARIF").
 * Returns 0, or -1 on a write error or ENOMEM. */
struct al_group;
int al_sarif_write(FILE *out, struct al_group *const *groups, size_t n);

/* `asyncleak diff BASE NEW`: groups in NEW and not in BASE (new leaks) and
 * the reverse (gone).  Returns 1 when there are new ones, 0 when not, 2 on
 * errors. */
int al_cmd_diff(int argc, char **argv);
void al_cmd_diff_help(FILE *out);

/* `asyncleak html -o FILE FILE|DIR...`: one self-contained HTML page.
 * Returns 0, or 2 on errors. */
int al_cmd_html(int argc, char **argv);
void al_cmd_html_help(FILE *out);

/* pytest_env.c: with a pytest command, exports PYTEST_PLUGINS and
 * PYTHONPATH so the asyncleak.pytest plugin loads.  0, or -1 (errno). */
int al_command_is_pytest(char **cmd);
int al_export_pytest_plugin(char **cmd, const char *lib);

/* `asyncleak dump [--signal SIG] PID` (cmd_dump.c). */
int al_cmd_dump(int argc, char **argv);
void al_cmd_dump_help(FILE *out);

/* `asyncleak attach PID` (cmd_attach.c). */
int al_cmd_attach(int argc, char **argv);
void al_cmd_attach_help(FILE *out);

#endif
