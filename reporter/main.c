/* main.c - the asyncleak command: global options and dispatch to one subcommand. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#ifndef AL_VERSION
#define AL_VERSION "0.0.0"
#endif

typedef struct {
    const char *name;
    al_command_fn run;
    const char *summary;
} al_command;

/* Every subcommand, in the order --help lists them. */
static const al_command commands[] = {
    { "run", al_cmd_run, "run a program under the preload and summarize its reports" },
    { "report", al_cmd_report, "merge reports of many processes and runs, grouped by origin" },
    { "diff", al_cmd_diff, "the groups of findings new in one set of reports, and those gone" },
    { "html", al_cmd_html, "write the merged reports as one self-contained HTML page" },
    { "sarif", al_cmd_sarif, "write the merged reports as SARIF 2.1.0 (= report --sarif)" },
    { "attach", al_cmd_attach, "load the preload into a running CPython process" },
    { "dump", al_cmd_dump, "ask a process running under the preload for a dump report" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
    size_t i;

    fputs("usage: asyncleak COMMAND [ARGS...]\n"
          "       asyncleak --help | --version\n"
          "\n"
          "Finds the asyncio tasks and sessions a Python program leaves behind.\n"
          "\n"
          "Commands:\n", out);
    for (i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Options:\n"
          "  -h, --help   show this help ('asyncleak COMMAND --help' for a command)\n"
          "  --version    print the version\n"
          "\n", out);
    al_cmd_run_help(out);
}

static int usage_hint(void)
{
    fputs("Try 'asyncleak --help' for usage.\n", stderr);
    return AL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *arg;
    size_t i;

    if (argc < 2) {
        fputs("asyncleak: no command given\n", stderr);
        return usage_hint();
    }
    arg = argv[1];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 ||
        strcmp(arg, "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(arg, "--version") == 0) {
        printf("asyncleak %s\n", AL_VERSION);
        return 0;
    }
    for (i = 0; i < NCOMMANDS; i++)
        if (strcmp(arg, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);

    if (arg[0] == '-')
        fprintf(stderr, "asyncleak: unknown option '%s'\n", arg);
    else
        fprintf(stderr, "asyncleak: unknown command '%s'\n", arg);
    return usage_hint();
}
