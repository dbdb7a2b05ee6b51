/* pytest_env.c - `asyncleak run -- pytest ...` enables the asyncleak pytest plugin.
 *
 * When the command is pytest (pytest, py.test, pytest-3, pytest-3.N, or a
 * python interpreter run with -m pytest / -m py.test before any script), the
 * plugin module asyncleak.pytest is added to PYTEST_PLUGINS and the directory
 * holding it (found from the library: LIBDIR/../python in the build tree,
 * LIBDIR/python when installed) is appended to PYTHONPATH, so it also loads
 * (and says it is disabled) when the preload stays inactive.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

static int is_pytest_name(const char *base)
{
    return strcmp(base, "pytest") == 0 || strcmp(base, "py.test") == 0
        || strncmp(base, "pytest-3", 8) == 0 || strncmp(base, "py.test-3", 9) == 0;
}

int al_command_is_pytest(char **cmd)
{
    const char *base;
    int i;

    if (cmd == NULL || cmd[0] == NULL)
        return 0;
    base = strrchr(cmd[0], '/') ? strrchr(cmd[0], '/') + 1 : cmd[0];
    if (is_pytest_name(base))
        return 1;
    if (strncmp(base, "python", 6) != 0)
        return 0;
    for (i = 1; cmd[i] != NULL && cmd[i][0] == '-'; i++) {
        const char *mod = NULL;
        if (strcmp(cmd[i], "-m") == 0)
            mod = cmd[i + 1];
        else if (strncmp(cmd[i], "-m", 2) == 0)
            mod = cmd[i] + 2;
        if (mod != NULL)
            return strcmp(mod, "pytest") == 0 || strcmp(mod, "py.test") == 0;
        if (strcmp(cmd[i], "-c") == 0)
            return 0;
    }
    return 0;
}

/* The directory holding asyncleak/pytest.py, malloc'd, or NULL. */
static char *plugin_dir(const char *lib)
{
    static const char *const rel[] = {"/../python", "/python"};
    char dir[PATH_MAX], cand[PATH_MAX + 64], *slash, *real;
    size_t i;

    snprintf(dir, sizeof dir, "%s", lib);
    if ((slash = strrchr(dir, '/')) == NULL)
        return NULL;
    *slash = '\0';
    for (i = 0; i < sizeof rel / sizeof *rel; i++) {
        snprintf(cand, sizeof cand, "%s%s/asyncleak/pytest.py", dir, rel[i]);
        if ((real = realpath(cand, NULL)) != NULL) {
            *strrchr(real, '/') = '\0';     /* .../asyncleak */
            *strrchr(real, '/') = '\0';     /* .../python */
            return real;
        }
    }
    return NULL;
}

static int has_entry(const char *list, const char *entry)
{
    const char *p = list;
    size_t n = strlen(entry);

    while (p != NULL && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncmp(p, entry, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return 1;
        p = strchr(p, ',');
    }
    return 0;
}

int al_export_pytest_plugin(char **cmd, const char *lib)
{
    const char *plugins = getenv("PYTEST_PLUGINS"), *path = getenv("PYTHONPATH");
    char *dir, *value = NULL;
    int rc = 0;

    if (!al_command_is_pytest(cmd) || (dir = plugin_dir(lib)) == NULL)
        return 0;
    if (plugins == NULL || *plugins == '\0')
        rc |= setenv("PYTEST_PLUGINS", "asyncleak.pytest", 1);
    else if (!has_entry(plugins, "asyncleak.pytest")) {
        if (asprintf(&value, "%s,asyncleak.pytest", plugins) < 0)
            value = NULL, rc = -1;
        else
            rc |= setenv("PYTEST_PLUGINS", value, 1);
        free(value);
        value = NULL;
    }
    if (path == NULL || *path == '\0')
        rc |= setenv("PYTHONPATH", dir, 1);
    else if (asprintf(&value, "%s:%s", path, dir) >= 0) {
        rc |= setenv("PYTHONPATH", value, 1);
        free(value);
    }
    free(dir);
    return rc < 0 ? -1 : 0;
}
