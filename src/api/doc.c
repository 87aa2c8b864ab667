/* doc.c — the declarative tables rendered as Markdown: docs/rest-api.md's
 * endpoint index and docs/protocol.md's op index are this output, pasted
 * between "generated" markers; tests/e2e/test_docs.c fails when a table and
 * its document disagree. */
#include "api/api_int.h"
#include "util/err.h"

#include <string.h>

static void rest_routes_md(FILE *f)
{
  fprintf(f, "| command | who | rate limit | body cap | edition gate | metered | full reader queue | what |\n"
             "|---|---|---|---|---|---|---|---|\n");
  for (const rest_route_t *r = rest_routes; r->service; r++) {
    char rate[32], meter[80];
    if (r->freq_per_s) snprintf(rate, sizeof rate, "%lld/s", (long long)r->freq_per_s);
    else snprintf(rate, sizeof rate, "app rate");
    char cap[64];
    if (r->max_body_bytes > REST_BODY_MSGS_MAX) snprintf(cap, sizeof cap, "%zu KiB", r->max_body_bytes / 1024);
    else if (r->max_body_bytes == 1) snprintf(cap, sizeof cap, "6 × msg_max_bytes + %d KiB", REST_MSG_BODY_ENVELOPE_BYTES / 1024);
    else snprintf(cap, sizeof cap, "%zu × 6 × msg_max_bytes + %d KiB", r->max_body_bytes, REST_MSG_BODY_ENVELOPE_BYTES / 1024);
    fprintf(f, "| `%s/%s` | %s | %s | %s | %s | %s | %s | %s |\n", r->service, r->command, api_auth_name(r->auth), rate,
            cap, api_gate_name(r->gate), api_meter_names(r->meter, meter, sizeof meter),
            r->read_wait == REST_READ_WAITS ? "waits (§125)" : "-", r->doc);
  }
}

static void ws_ops_md(FILE *f)
{
  char meter[80];
  fprintf(f, "| op | who | frame cap | edition gate | metered | what |\n|---|---|---|---|---|---|\n");
  for (const cws_op_t *o = cws_ops; o->name; o++) {
    char cap[64];
    if (o->max_frame_bytes) snprintf(cap, sizeof cap, "%zu KiB", o->max_frame_bytes / 1024);
    else snprintf(cap, sizeof cap, "6 × msg_max_bytes + %d KiB", CWS_MSG_FRAME_ENVELOPE_BYTES / 1024);
    fprintf(f, "| `%s` | %s | %s | %s | %s | %s |\n", o->name, o->auth == API_AUTH_NONE ? "anyone" : "logged-in user",
            cap, api_gate_name(o->gate), api_meter_names(o->meter, meter, sizeof meter), o->doc);
  }
}

static const struct { const char *name; void (*fn)(FILE *); const char *what; } docs[] = {
  { "rest-routes", rest_routes_md, "the REST v4 endpoint index (docs/rest-api.md)" },
  { "ws-ops",      ws_ops_md,      "the client WebSocket op index (docs/protocol.md)" },
};

int api_doc_print(FILE *f, const char *which)
{
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
    if (!strcmp(docs[i].name, which)) { docs[i].fn(f); return 0; }
  return IMC_E_INVAL;
}

void api_doc_list(FILE *f)
{
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) fprintf(f, "  %-12s %s\n", docs[i].name, docs[i].what);
}
