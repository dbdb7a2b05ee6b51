/* fuzz_report.c - libFuzzer target of the reporter's reading side: the input
 * is a report file (process report or merged document).  It is parsed
 * (reports.c, jansson), its findings converted (readjson.c), suppressed and
 * grouped (suppress.c, groups.c), and every group rendered as text, merged
 * JSON and SARIF, as `asyncleak report` would.  Built and run by
 * `make fuzz`; crashes, leaks and sanitizer reports are failures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "groups.h"
#include "render_text.h"
#include "reports.h"
#include "suppress.h"

static FILE *devnull;
static al_suppressions *supp;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    al_report r;
    al_groupset set;
    al_group **groups;
    size_t n = 0, nmatched = 0, skipped = 0;
    char err[512];
    static const char rules[] = "pending_task:noise*\n*:aiohttp\nunclosed_resource:*Session\n";

    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
        abort();
    if (supp == NULL && (supp = al_suppressions_parse(rules, sizeof rules - 1, "rules", err, sizeof err)) == NULL)
        abort();

    if (al_report_parse("fuzz.json", (const char *)data, size, AL_REPORT_ACCEPT_MERGED,
                        &r, err, sizeof err) < 0)
        return 0;
    al_groups_init_flags(&set, supp, size % 2 ? AL_KEY_IGNORE_LINES : 0);
    if (al_groups_add_report(&set, &r, &skipped) == 0) {
        groups = al_groups_select(&set, NULL, &n, &nmatched);
        for (size_t i = 0; i < n; i++) {
            al_json *j = al_group_json(groups[i]);
            al_group_render_text(devnull, groups[i]);
            al_json_write(j, devnull, 1);
            al_json_free(j);
        }
        al_json *summary = al_groups_summary(groups, n);
        al_render_summary(devnull, summary, set.dropped, -1);
        al_json_free(summary);
        al_sarif_write(devnull, groups, n);
        al_suppressions_render_used(devnull, supp, -1);
        free(groups);
    }
    al_groups_free(&set);
    al_report_free(&r);
    return 0;
}
