/* cli_usage.c — `imcloud usage`: an app's metered month (days and month
 * figures, docs/metering.md), `usage import` of a usage document, and
 * `usage record-minutes` of identified call minutes (M-6). Works with or
 * without a server on the same data directory. */
#include "cli/cli.h"
#include "meter/meter.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each form takes exactly the options its usage names (cli_parse_forms). */
enum { F_SHOW, F_IMPORT, F_RECORD };
static const cli_form_t forms[] = {
  [F_SHOW] = { NULL, "--sdkappid N --month YYYY-MM [--json|--csv] [--data DIR]" },
  [F_IMPORT] = { "import", "import --sdkappid N [--month YYYY-MM] FILE [--json] [--data DIR]" },
  [F_RECORD] = { "record-minutes", "record-minutes --sdkappid N --kind KIND --minutes N --event-id ID\n"
                                   "                                    [--date YYYY-MM-DD] [--json] [--data DIR]" },
};
static const char notes[] =
  "  Days and months are natural days in the app's billing zone (M-1, default UTC+8).\n"
  "  import: a usage document (the format of `imcloud quote --usage`), kept as imported and\n"
  "  merged with metered figures (max for DAU, MAU, groups, bandwidth; call minutes added).\n"
  "  record-minutes: KIND is audio, video_sd, video_hd or video_fhd; an event id counts once;\n"
  "  the --date of a call defaults to today and may be at most 35 days back.";

#define DEFAULT_TZ cli_billing_tz() /* the server's zone (after cli_store_open) */


static char *read_file(const char *path, size_t max, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
  int bad = !buf || ferror(f) || n > max;
  fclose(f);
  if (bad) { free(buf); return NULL; }
  buf[n] = 0;
  *len = n;
  return buf;
}

static void print_csv(const meter_report_t *r)
{
  printf("date,dau,groups,net_new_groups,bandwidth_peak_mbps,c2c_msgs,group_msgs");
  for (int k = 0; k < METER_CALL_KINDS; k++) printf(",call_minutes_%s", meter_call_kinds[k]);
  printf(",live_groups,rest_calls,conn_peak,registrations,imported\n");
  for (int i = 0; i < r->ndays; i++) {
    const meter_day_row_t *d = &r->days[i];
    printf("%04d-%02d-%02d,%lld,%lld,%lld,%lld,%lld,%lld", d->date / 10000, d->date / 100 % 100, d->date % 100,
           (long long)d->dau, (long long)d->groups, (long long)d->net_new_groups, (long long)d->bandwidth_peak_mbps,
           (long long)d->c2c_msgs, (long long)d->group_msgs);
    for (int k = 0; k < METER_CALL_KINDS; k++) printf(",%lld", (long long)d->call_minutes[k]);
    printf(",%lld,%lld,%lld,%lld,%d\n", (long long)d->live_groups_peak, (long long)d->rest_calls, (long long)d->conn_peak,
           (long long)d->registrations, d->imported);
  }
  /* the month's figures: a second table, after an empty line */
  char date[16] = "";
  if (r->peak_dau_date) snprintf(date, sizeof date, "%04d-%02d-%02d", r->peak_dau_date / 10000, r->peak_dau_date / 100 % 100, r->peak_dau_date % 100);
  printf("\nmonth,peak_dau,peak_dau_date,mau,peak_groups,accumulated_groups,bandwidth_mbps_days");
  for (int k = 0; k < METER_CALL_KINDS; k++) printf(",call_minutes_%s", meter_call_kinds[k]);
  printf(",c2c_msgs,group_msgs,imported_docs\n%04d-%02d,%lld,%s,%lld,%lld,%lld,%lld", r->month / 100, r->month % 100,
         (long long)r->peak_dau, date, (long long)r->mau, (long long)r->peak_groups, (long long)r->accumulated_groups,
         (long long)r->bandwidth_mbps_days);
  for (int k = 0; k < METER_CALL_KINDS; k++) printf(",%lld", (long long)r->call_minutes[k]);
  printf(",%lld,%lld,%d\n", (long long)r->c2c_msgs, (long long)r->group_msgs, r->imported_docs);
}

static void print_text(const meter_report_t *r)
{
  printf("app %u, %04d-%02d (UTC%+d:%02d)\n", r->app, r->month / 100, r->month % 100, r->tz_offset_s / 3600,
         abs(r->tz_offset_s) % 3600 / 60);
  printf("%-10s %10s %8s %8s %6s %10s %10s %8s %8s %8s %8s\n", "DATE", "DAU", "GROUPS", "NETNEW", "MBPS", "C2C", "GROUP",
         "AUDIO", "SD", "HD", "FHD");
  for (int i = 0; i < r->ndays; i++) {
    const meter_day_row_t *d = &r->days[i];
    printf("%04d-%02d-%02d %10lld %8lld %8lld %6lld %10lld %10lld %8lld %8lld %8lld %8lld%s\n", d->date / 10000,
           d->date / 100 % 100, d->date % 100, (long long)d->dau, (long long)d->groups, (long long)d->net_new_groups,
           (long long)d->bandwidth_peak_mbps, (long long)d->c2c_msgs, (long long)d->group_msgs,
           (long long)d->call_minutes[0], (long long)d->call_minutes[1], (long long)d->call_minutes[2],
           (long long)d->call_minutes[3], d->imported ? "  (imported)" : "");
  }
  printf("peak DAU %lld", (long long)r->peak_dau);
  if (r->peak_dau_date) printf(" on %04d-%02d-%02d", r->peak_dau_date / 10000, r->peak_dau_date / 100 % 100, r->peak_dau_date % 100);
  printf(", MAU %lld, peak groups %lld, accumulated groups %lld, bandwidth %lld Mbps-days\n", (long long)r->mau,
         (long long)r->peak_groups, (long long)r->accumulated_groups, (long long)r->bandwidth_mbps_days);
  printf("call minutes:");
  for (int k = 0; k < METER_CALL_KINDS; k++) printf(" %s %lld", meter_call_kinds[k], (long long)r->call_minutes[k]);
  printf("; imported documents %d\n", r->imported_docs);
}

static int parse_month(const char *verb, const char *s, int32_t *out)
{
  int y, m;
  if (imc_month_parse(s, &y, &m)) { cli_err(verb, "--month must be YYYY-MM"); return CLI_EXIT_FAIL; }
  *out = y * 100 + m;
  return 0;
}

static int show(const char *data, uint32_t app, const char *month, int json, int csv)
{
  int32_t mo;
  if (!month) { cli_err("usage", "--month is required"); return CLI_EXIT_USAGE; }
  if (json && csv) { cli_err("usage", "give --json or --csv, not both"); return CLI_EXIT_USAGE; }
  int rc = parse_month("usage", month, &mo);
  if (rc) return rc;
  store_t *s;
  if ((rc = cli_store_open("usage", data, &s))) return rc;
  static meter_report_t r;
  rc = meter_report(s, app, mo, DEFAULT_TZ, &r);
  store_close(s);
  if (rc) {
    cli_err("usage", "%s", rc == IMC_E_NOTFOUND ? "no such app" : rc == IMC_E_CONFIG ? "the billing_tz setting of the app's region is invalid" : imc_strerror(rc));
    return CLI_EXIT_FAIL;
  }
  if (json) cli_print_json(meter_report_json(&r));
  else if (csv) print_csv(&r);
  else print_text(&r);
  return 0;
}

static int import(const char *data, uint32_t app, const char *month, const char *file, int json)
{
  int32_t mo = 0;
  int rc;
  if (month && (rc = parse_month("usage import", month, &mo))) return rc;
  size_t len;
  char *text = read_file(file, 1 << 20, &len);
  if (!text) { cli_err("usage import", "cannot read %s (missing, unreadable or over 1 MiB)", file); return CLI_EXIT_FAIL; }
  store_t *s;
  if ((rc = cli_store_open("usage import", data, &s))) { free(text); return rc; }
  char err[256];
  int64_t id = 0;
  rc = meter_import(s, app, mo, file, text, len, imc_clock_now_s(), &id, err, sizeof err);
  store_close(s);
  free(text);
  if (rc) { cli_err("usage import", "%s: %s", file, err); return CLI_EXIT_FAIL; }
  if (json) cli_print_json(json_pack("{s:I,s:I,s:s}", "sdkappid", (json_int_t)app, "document", (json_int_t)id, "source", file));
  else printf("imported %s for app %u (document %lld)\n", file, app, (long long)id);
  return 0;
}

static int record_minutes(const char *data, uint32_t app, const char *kind, int64_t minutes, const char *event_id,
                          const char *date, int json)
{
  const char *verb = "usage record-minutes";
  if (!kind) { cli_err(verb, "--kind is required (audio, video_sd, video_hd or video_fhd)"); return CLI_EXIT_USAGE; }
  if (meter_call_kind(kind) < 0) { cli_err(verb, "--kind must be audio, video_sd, video_hd or video_fhd"); return CLI_EXIT_FAIL; }
  if (!event_id) { cli_err(verb, "--event-id is required (1-64 bytes of UTF-8 text, no control characters)"); return CLI_EXIT_USAGE; }
  if (!event_id[0] || strlen(event_id) > 64 || !imc_utf8_text(event_id)) {
    cli_err(verb, "--event-id must be 1-64 bytes of UTF-8 text (no control characters)");
    return CLI_EXIT_FAIL;
  }
  if (minutes <= 0) { cli_err(verb, "--minutes is required"); return CLI_EXIT_USAGE; }
  int y, m, d;
  if (date && imc_date_parse(date, &y, &m, &d)) { cli_err(verb, "--date must be YYYY-MM-DD"); return CLI_EXIT_FAIL; }
  store_t *s;
  int rc, replayed = 0;
  int32_t day;
  char err[256];
  if ((rc = cli_store_open(verb, data, &s))) return rc;
  rc = meter_record_minutes(s, app, kind, minutes, event_id, date, imc_clock_now_s(), DEFAULT_TZ, &day, &replayed, err, sizeof err);
  store_close(s);
  if (rc) { cli_err(verb, "%s", err); return CLI_EXIT_FAIL; }
  char ds[16];
  snprintf(ds, sizeof ds, "%04d-%02d-%02d", day / 10000, day / 100 % 100, day % 100);
  if (json)
    cli_print_json(json_pack("{s:I,s:s,s:s,s:I,s:s,s:b}", "sdkappid", (json_int_t)app, "date", ds, "kind", kind,
                         "minutes", (json_int_t)minutes, "event_id", event_id, "replayed", replayed));
  else printf("%s %lld %s minutes on %s for app %u%s\n", replayed ? "already recorded:" : "recorded", (long long)minutes, kind,
              ds, app, replayed ? " (nothing added)" : "");
  return 0;
}

int cli_usage(int argc, char **argv)
{
  const char *data = "./var", *month = NULL, *kind = NULL, *event_id = NULL, *date = NULL;
  int64_t app = 0, minutes = 0;
  int json = 0, csv = 0, npos = 0, form;
  char *pos[3];
  const unsigned rec = CLI_FORM(F_RECORD);
  const cli_form_opt_t opts[] = {
    { 0, { "--sdkappid", CLI_I64, &app, 1, UINT32_MAX, "N  the app" } },
    { CLI_FORM(F_SHOW) | CLI_FORM(F_IMPORT), { "--month", CLI_STR, &month, 0, 0, "YYYY-MM  usage month (import: default from the document's days)" } },
    { rec, { "--kind", CLI_STR, &kind, 0, 0, "KIND  record-minutes: audio, video_sd, video_hd, video_fhd" } },
    { rec, { "--minutes", CLI_I64, &minutes, 1, 1000000000, "N  record-minutes: minutes" } },
    { rec, { "--event-id", CLI_STR, &event_id, 0, 0, "ID  record-minutes: unique id of the call (a replay counts once)" } },
    { rec, { "--date", CLI_STR, &date, 0, 0, "YYYY-MM-DD  record-minutes: day of the call (default today)" } },
    { 0, { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" } },
    { 0, { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" } },
    { CLI_FORM(F_SHOW), { "--csv", CLI_FLAG, &csv, 0, 0, "print CSV (days, then the month after an empty line)" } },
  };
  int rc = cli_parse_forms(argc, argv, "usage", forms, sizeof forms / sizeof *forms, opts, sizeof opts / sizeof *opts, notes,
                           pos, 3, &npos, &form);
  if (rc) return rc > 0 ? 0 : cli_parse_exit(rc);
  if (!app) { cli_err("usage", "--sdkappid is required"); return CLI_EXIT_USAGE; }
  if (npos == 0) return show(data, (uint32_t)app, month, json, csv);
  if (!strcmp(pos[0], "import")) {
    if (npos != 2) { cli_err("usage import", "expected one FILE"); return CLI_EXIT_USAGE; }
    return import(data, (uint32_t)app, month, pos[1], json);
  }
  if (!strcmp(pos[0], "record-minutes")) {
    if (npos != 1) { cli_err("usage record-minutes", "unexpected argument '%s'", pos[1]); return CLI_EXIT_USAGE; }
    return record_minutes(data, (uint32_t)app, kind, minutes, event_id, date, json);
  }
  cli_err("usage", "unknown subcommand '%s' (import, record-minutes, or none)", pos[0]);
  return CLI_EXIT_USAGE;
}
