/* embed.c - a C program embedding CPython (linked against a libpython), for
 * tests/integration/test_native.py: runs the Python file named by argv[1]
 * with sys.argv = argv[1:], then finalizes.  Exit status: 0, 1 when the
 * script raised, 2 on usage or open errors, 120 when finalization failed. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");

    if (fp == NULL) {
        perror(path);
        return 2;
    }
    /* closeit=1: the file is closed by CPython */
    return PyRun_SimpleFileExFlags(fp, path, 1, NULL) == 0 ? 0 : 1;   /* RUN:embed */
}

int main(int argc, char **argv)
{
    PyConfig config;
    PyStatus status;
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT.py [ARG...]\n", argv[0]);
        return 2;
    }
    PyConfig_InitPythonConfig(&config);
    config.parse_argv = 0;
    status = PyConfig_SetBytesArgv(&config, argc - 1, argv + 1);
    if (!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status))
        Py_ExitStatusException(status);
    rc = run_file(argv[1]);   /* RUN:main */
    if (Py_FinalizeEx() < 0 && rc == 0)
        rc = 120;
    return rc;
}
