/* cmd_sarif.c - `asyncleak sarif` (= `asyncleak report --sarif`): the groups
 * of findings as a SARIF 2.1.0 log, for code-scanning tools.
 *
 * Mapping (docs/reporter.md, "SARIF"): one result per group; ruleId = the
 * kind; the location is the innermost frame of the origin outside the
 * Python standard library and site-packages (else the innermost frame);
 * message = the group's header line and the finding's own message; the
 * whole origin, outermost first, is the result's codeFlow; file names are
 * written as given (absolute paths, percent-encoded where a URI needs it),
 * without uriBaseId.
 */
#include "commands.h"
#include "groups.h"
#include "render_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AL_VERSION
#define AL_VERSION "0.0.0"
#endif

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

void al_cmd_sarif_help(FILE *out)
{
    fputs(
"usage: asyncleak sarif [OPTIONS] FILE|DIR...\n"
"\n"
"Same as 'asyncleak report --sarif': prints the groups of findings of the\n"
"reports as a SARIF 2.1.0 log, one result per group (ruleId = the kind,\n"
"location = the innermost frame of the origin outside the standard library\n"
"and site-packages, the whole origin as a code flow).\n"
"\n"
"Options: --top N, --kind KIND, --min-count N, --suppressions FILE, as for\n"
"'asyncleak report'; -h, --help.\n"
"\n"
"Exit status: 0 when at least one report was read; 2 when none could be,\n"
"on a usage error or an invalid suppressions file.\n",
        out);
}

int al_cmd_sarif(int argc, char **argv)
{
    return al_report_main(argc, argv, 1);
}

/* What each kind means (rules[].shortDescription). */
static const struct { const char *kind, *text; } kind_text[] = {
    { "pending_task", "A task was still pending when its event loop closed (or at exit, for a loop never closed)." },
    { "orphaned_task", "A task was still running when asyncio.run()'s main coroutine returned; the runner cancelled it." },
    { "destroyed_pending_task", "A task was garbage-collected while pending." },
    { "unretrieved_exception", "A task failed and nobody retrieved its exception." },
    { "swallowed_cancel", "A task was cancelled and went on running (it caught CancelledError)." },
    { "shutdown_hang", "Shutdown waited longer than the watchdog for tasks to finish." },
    { "unclosed_resource", "A session, connector, stream, server or client was never closed." },
    { "closed_while_in_use", "A resource was closed while pending tasks still used it." },
    { "signal_exit", "The process was terminated by a signal while work was in flight." },
    { "growing_origin", "The number of live tasks or resources created at one place kept growing." },
};

static const char *describe(const char *kind)
{
    for (size_t i = 0; i < sizeof kind_text / sizeof kind_text[0]; i++)
        if (strcmp(kind, kind_text[i].kind) == 0)
            return kind_text[i].text;
    return "An asyncleak finding.";
}

/* True for frames of the standard library, site-packages / dist-packages,
 * and pseudo-files ("<frozen runpy>", "<string>"). */
static int is_library_file(const char *file)
{
    const char *p;

    if (file == NULL || file[0] == '<')
        return 1;
    if (strstr(file, "/site-packages/") != NULL || strstr(file, "/dist-packages/") != NULL)
        return 1;
    /* .../lib/pythonX.Y/... or .../lib/pythonX/... (the standard library). */
    for (p = file; (p = strstr(p, "/lib/python")) != NULL; p++) {
        const char *q = p + 11;
        if (*q < '0' || *q > '9')
            continue;
        while ((*q >= '0' && *q <= '9') || *q == '.')
            q++;
        if (*q == '/')
            return 1;
    }
    return 0;
}

/* file as a URI reference: bytes outside unreserved characters and
 * "/:@!$&'()*+,;=" percent-encoded ("%20" for a space).  NULL on ENOMEM. */
static char *uri_of(const char *file)
{
    static const char keep[] = "-._~/:@!$&'()*+,;=";
    size_t n = strlen(file), j = 0;
    char *out = malloc(3 * n + 1);

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)file[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c != 0 && strchr(keep, c) != NULL)) {
            out[j++] = (char)c;
        } else {
            snprintf(out + j, 4, "%%%02X", c);
            j += 3;
        }
    }
    out[j] = '\0';
    return out;
}

/* {"physicalLocation": {"artifactLocation": {"uri"}, "region": {"startLine"}}}
 * of a frame (region only for a line >= 1), plus "message" when given. */
static al_json *location_of(const al_json *frame, const char *message)
{
    al_json *loc = al_json_object(), *phys = al_json_object(), *art = al_json_object();
    const char *file = al_json_get_str(frame, "file");
    int64_t line = al_json_get_int(frame, "line", 0);
    char *uri = uri_of(file ? file : "?");
    int ok = loc && phys && art && uri;

    ok = ok && al_json_set_str(art, "uri", uri) == 0;
    ok = ok && al_json_set(phys, "artifactLocation", art) == 0;
    art = NULL;
    if (ok && line >= 1) {
        al_json *region = al_json_object();
        ok = region && al_json_set_int(region, "startLine", line) == 0;
        ok = al_json_set(phys, "region", region) == 0 && ok;
    }
    ok = ok && al_json_set(loc, "physicalLocation", phys) == 0;
    phys = NULL;
    if (ok && message != NULL) {
        al_json *m = al_json_object();
        ok = m && al_json_set_str(m, "text", message) == 0;
        ok = al_json_set(loc, "message", m) == 0 && ok;
    }
    free(uri);
    al_json_free(art);
    al_json_free(phys);
    if (!ok) {
        al_json_free(loc);
        return NULL;
    }
    return loc;
}

/* The frames of the finding's origin, or of its first task's. */
static const al_json *origin_frames(const al_json *finding)
{
    const al_json *origin = al_json_get(finding, "origin");
    const al_json *tasks = al_json_get(finding, "tasks");
    const al_json *frames;

    if (origin == NULL && tasks != NULL && tasks->type == AL_JSON_ARRAY) {
        for (size_t i = 0; i < al_json_len(tasks); i++) {
            frames = al_json_get(al_json_get(al_json_at(tasks, i), "origin"), "frames");
            if (frames != NULL && frames->type == AL_JSON_ARRAY && al_json_len(frames) > 0)
                return frames;
        }
        return NULL;
    }
    frames = al_json_get(origin, "frames");
    return frames != NULL && frames->type == AL_JSON_ARRAY && al_json_len(frames) > 0 ? frames : NULL;
}

/* "HEADER: what the finding says" (the first line of its text rendering,
 * after "asyncleak: KIND: ").  malloc'd; NULL on ENOMEM. */
static char *message_of(const al_group *g)
{
    char *header = al_group_header(g), *text = NULL, *msg = NULL, *first, *nl;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (header == NULL || mem == NULL)
        goto out;
    al_render_finding(mem, g->finding, -1);
    if (fclose(mem) != 0) {
        mem = NULL;
        goto out;
    }
    mem = NULL;
    first = text;
    if ((nl = strchr(first, '\n')) != NULL)
        *nl = '\0';
    if (strncmp(first, "==asyncleak== ", 14) == 0)
        first += 14;
    if (strncmp(first, "asyncleak: ", 11) == 0) {
        char *colon = strchr(first + 11, ':');
        if (colon != NULL && colon[1] == ' ')
            first = colon + 2;
    }
    if (asprintf(&msg, "%s: %s", header, first) < 0)
        msg = NULL;
out:
    if (mem != NULL)
        fclose(mem);
    free(text);
    free(header);
    return msg;
}

/* One result.  rule_index is the kind's index in the run's rules. */
static al_json *result_of(const al_group *g, int rule_index)
{
    al_json *res = al_json_object(), *msg = al_json_object(), *props = al_json_object();
    al_json *pids = al_json_array(), *fp = al_json_object();
    const al_json *frames = origin_frames(g->finding);
    char *text = message_of(g);
    int ok = res && msg && props && pids && fp && text;
    size_t n = al_json_len(frames), i;

    ok = ok && al_json_set_str(res, "ruleId", g->kind) == 0;
    ok = ok && al_json_set_int(res, "ruleIndex", rule_index) == 0;
    ok = ok && al_json_set_str(res, "level", "warning") == 0;
    ok = ok && al_json_set_str(msg, "text", text) == 0;
    ok = ok && al_json_set(res, "message", msg) == 0;
    msg = NULL;
    if (ok && n > 0) {
        const al_json *at = al_json_at(frames, n - 1);
        al_json *locs = al_json_array(), *flow = al_json_object(), *tflow = al_json_object();
        al_json *tlocs = al_json_array(), *flows = al_json_array(), *tflows = al_json_array();
        al_json *loc;
        for (i = n; i-- > 0;) {
            const al_json *f = al_json_at(frames, i);
            if (!is_library_file(al_json_get_str(f, "file"))) {
                at = f;
                break;
            }
        }
        loc = location_of(at, NULL);
        ok = locs && flow && tflow && tlocs && flows && tflows && loc;
        if (ok) {
            const char *fn = al_json_get_str(at, "function");
            if (fn != NULL) {
                al_json *ll = al_json_array(), *l = al_json_object();
                ok = ll && l && al_json_set_str(l, "name", fn) == 0 &&
                     al_json_set_str(l, "kind", "function") == 0;
                ok = al_json_append(ll, l) == 0 && ok;
                ok = al_json_set(loc, "logicalLocations", ll) == 0 && ok;
            }
        }
        ok = al_json_append(locs, loc) == 0 && ok;
        for (i = 0; ok && i < n; i++) {
            const al_json *f = al_json_at(frames, i);
            const char *fn = al_json_get_str(f, "function");
            char *m = NULL;
            al_json *tl = al_json_object();
            if (asprintf(&m, "in %s", fn ? fn : "?") < 0)
                m = NULL;
            ok = tl && m && al_json_set(tl, "location", location_of(f, m)) == 0;
            ok = al_json_append(tlocs, tl) == 0 && ok;
            free(m);
        }
        ok = ok && al_json_set(tflow, "locations", tlocs) == 0;
        tlocs = NULL;
        ok = ok && al_json_append(tflows, tflow) == 0;
        tflow = NULL;
        ok = ok && al_json_set(flow, "threadFlows", tflows) == 0;
        tflows = NULL;
        if (ok) {
            al_json *m = al_json_object();
            ok = m && al_json_set_str(m, "text", "Created at (most recent call last)") == 0;
            ok = al_json_set(flow, "message", m) == 0 && ok;
        }
        ok = ok && al_json_append(flows, flow) == 0;
        flow = NULL;
        ok = ok && al_json_set(res, "locations", locs) == 0;
        locs = NULL;
        ok = ok && al_json_set(res, "codeFlows", flows) == 0;
        flows = NULL;
        al_json_free(locs);
        al_json_free(flow);
        al_json_free(tflow);
        al_json_free(tlocs);
        al_json_free(flows);
        al_json_free(tflows);
    }
    ok = ok && al_json_set_str(fp, "asyncleakGroup/v1", g->id) == 0;
    ok = ok && al_json_set(res, "partialFingerprints", fp) == 0;
    fp = NULL;
    for (i = 0; ok && i < g->npids; i++)
        ok = al_json_append(pids, al_json_int(g->pids[i])) == 0;
    ok = ok && al_json_set_int(props, "count", g->count) == 0;
    ok = ok && al_json_set(props, "pids", pids) == 0;
    pids = NULL;
    ok = ok && al_json_set(res, "properties", props) == 0;
    props = NULL;
    free(text);
    al_json_free(msg);
    al_json_free(props);
    al_json_free(pids);
    al_json_free(fp);
    if (!ok) {
        al_json_free(res);
        return NULL;
    }
    return res;
}

static al_json *rule_of(const char *kind)
{
    al_json *rule = al_json_object(), *sd = al_json_object(), *conf = al_json_object();
    int ok = rule && sd && conf;

    ok = ok && al_json_set_str(rule, "id", kind) == 0;
    ok = ok && al_json_set_str(rule, "name", kind) == 0;
    ok = ok && al_json_set_str(sd, "text", describe(kind)) == 0;
    ok = ok && al_json_set(rule, "shortDescription", sd) == 0;
    sd = NULL;
    ok = ok && al_json_set_str(conf, "level", "warning") == 0;
    ok = ok && al_json_set(rule, "defaultConfiguration", conf) == 0;
    conf = NULL;
    al_json_free(sd);
    al_json_free(conf);
    if (!ok) {
        al_json_free(rule);
        return NULL;
    }
    return rule;
}

int al_sarif_write(FILE *out, struct al_group *const *groups, size_t n)
{
    al_json *log = al_json_object(), *runs = al_json_array(), *run = al_json_object();
    al_json *tool = al_json_object(), *driver = al_json_object(), *rules = al_json_array();
    al_json *results = al_json_array();
    const char **kinds = calloc(n + 1, sizeof *kinds);
    size_t nkinds = 0, i, k;
    int ok = log && runs && run && tool && driver && rules && results && kinds, rc;

    ok = ok && al_json_set_str(log, "$schema", SARIF_SCHEMA) == 0;
    ok = ok && al_json_set_str(log, "version", "2.1.0") == 0;
    /* Rules: the kinds of the groups, in order of first appearance. */
    for (i = 0; ok && i < n; i++) {
        for (k = 0; k < nkinds && strcmp(kinds[k], groups[i]->kind) != 0; k++)
            ;
        if (k == nkinds) {
            kinds[nkinds++] = groups[i]->kind;
            ok = al_json_append(rules, rule_of(groups[i]->kind)) == 0;
        }
        ok = ok && al_json_append(results, result_of(groups[i], (int)k)) == 0;
    }
    ok = ok && al_json_set_str(driver, "name", "asyncleak") == 0;
    ok = ok && al_json_set_str(driver, "version", AL_VERSION) == 0;
    ok = ok && al_json_set_str(driver, "semanticVersion", AL_VERSION) == 0;
    ok = ok && al_json_set(driver, "rules", rules) == 0;
    rules = NULL;
    ok = ok && al_json_set(tool, "driver", driver) == 0;
    driver = NULL;
    ok = ok && al_json_set(run, "tool", tool) == 0;
    tool = NULL;
    ok = ok && al_json_set(run, "results", results) == 0;
    results = NULL;
    ok = ok && al_json_append(runs, run) == 0;
    run = NULL;
    ok = ok && al_json_set(log, "runs", runs) == 0;
    runs = NULL;

    rc = ok ? al_json_write(log, out, 1) : -1;
    if (rc == 0 && fputc('\n', out) == EOF)
        rc = -1;
    if (!ok)
        errno = ENOMEM;
    al_json_free(log);
    al_json_free(runs);
    al_json_free(run);
    al_json_free(tool);
    al_json_free(driver);
    al_json_free(rules);
    al_json_free(results);
    free(kinds);
    return rc;
}
