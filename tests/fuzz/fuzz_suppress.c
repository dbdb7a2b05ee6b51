/* fuzz_suppress.c - libFuzzer target of the suppressions parser and matcher
 * (common/suppress.c): the input is parsed as a suppressions file; when it
 * parses, its rules are matched against a few fixed findings and the table
 * of used rules is printed.  The input is also used, as a string, for the
 * file, function, coroutine and resource type of a finding matched against
 * fixed rules (module derivation, wildcards).  Built and run by `make fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "suppress.h"

static FILE *devnull;
static al_json *fixed[3];
static al_suppressions *fixed_rules;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static al_json *frame(const char *file, int line, const char *function)
{
    al_json *f = al_json_object();
    al_json_set_str(f, "file", file);
    al_json_set_int(f, "line", line);
    al_json_set_str(f, "function", function);
    return f;
}

/* A finding of kind with one frame (file, function), coro and resource type. */
static al_json *finding(const char *kind, const char *file, const char *function,
                        const char *coro, const char *type)
{
    al_json *f = al_json_object(), *origin = al_json_object(), *frames = al_json_array();
    al_json *task = al_json_object(), *res = al_json_object();
    al_json_set_str(f, "kind", kind);
    al_json_append(frames, frame("/srv/app/main.py", 3, "<module>"));
    al_json_append(frames, frame(file, 7, function));
    al_json_set(origin, "frames", frames);
    al_json_set(f, "origin", origin);
    al_json_set_str(task, "coro", coro);
    al_json_set(f, "task", task);
    al_json_set_str(res, "type", type);
    al_json_set(f, "resource", res);
    return f;
}

static void init(void)
{
    static const char rules[] =
        "*:aiohttp\n*:a*b*c*d\npending_task:*.*.*\nunclosed_resource:Client*\n*:*/x/*.py\n*:main.<locals>.*\n";
    char err[256];

    if ((devnull = fopen("/dev/null", "w")) == NULL)
        abort();
    fixed[0] = finding("pending_task", "/usr/lib/python3/dist-packages/aiohttp/client.py",
                       "ClientSession._request", "poll", "aiohttp.client.ClientSession");
    fixed[1] = finding("unclosed_resource", "/srv/app/db/pool.py", "Pool.start", "x", "httpx.AsyncClient");
    fixed[2] = finding("shutdown_hang", "/usr/lib/python3.11/asyncio/tasks.py", "sleep", "main.<locals>.w", "");
    if ((fixed_rules = al_suppressions_parse(rules, sizeof rules - 1, "fixed", err, sizeof err)) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    al_suppressions *s;
    char *str;

    if (devnull == NULL)
        init();
    s = al_suppressions_parse((const char *)data, size, "fuzz.supp", err, sizeof err);
    if (s != NULL) {
        for (int i = 0; i < 3; i++)
            al_suppressions_match_n(s, fixed[i], 1 + i);
        for (size_t i = 0; i < al_suppressions_len(s); i++)
            if (al_suppressions_rule(s, i) == NULL || al_suppressions_line(s, i) < 1)
                abort();
        al_suppressions_render_used(devnull, s, 42);
        al_suppressions_free(s);
    } else if (strlen(err) == 0) {
        abort();                 /* an error must say what is wrong */
    }

    /* The input as the names of a finding. */
    if ((str = malloc(size + 1)) == NULL)
        return 0;
    memcpy(str, data, size);
    str[size] = '\0';
    al_json *f = finding("pending_task", str, str, str, str);
    al_suppressions_match(fixed_rules, f);
    al_suppress_module_matches("a.b", str);
    al_suppress_glob(str, "aiohttp.client.ClientSession", 28);
    al_json_free(f);
    free(str);
    return 0;
}
