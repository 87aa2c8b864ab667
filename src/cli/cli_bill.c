/* cli_bill.c — `imcloud bill`: an app's bill for a usage month (the stored,
 * numbered bill after the bill run; a preview marked as such before it),
 * `bill run` (the monthly bill run, idempotent), `bill settle` (pay a
 * customer's open bills from the wallet) and `bill recheck` (queue a billed
 * month for the next correction run, §109). docs/billing.md "Bills". */
#include "billing/billing.h"
#include "cli/cli.h"
#include "meter/meter.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/num.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each form takes exactly the options its usage names (cli_parse_forms). */
enum { F_SHOW, F_RUN, F_SETTLE, F_RECHECK };
static const cli_form_t forms[] = {
  [F_SHOW] = { NULL, "--sdkappid N --month YYYY-MM [--json|--csv] [--pricebooks DIR] [--data DIR]" },
  [F_RUN] = { "run", "run [--month YYYY-MM] [--json] [--pricebooks DIR] [--data DIR]" },
  [F_SETTLE] = { "settle", "settle --customer ID [--json] [--data DIR]" },
  [F_RECHECK] = { "recheck", "recheck --sdkappid N --month YYYY-MM [--json] [--data DIR]" },
};
static const char notes[] =
  "  The --month given is the usage month. Before the bill run the bill is a preview (\"preview\": true,\n"
  "  no number); after it, the stored numbered bill with its status (open, paid, overdue)\n"
  "  and the correction documents that follow it (--json: \"corrections\").\n"
  "  run: bills every app for the month (default: the previous month in the server's billing zone,\n"
  "  serve --billing-tz-offset-s, UTC+8 unless set); running it\n"
  "  again bills nothing twice. settle: pays open bills from the wallet, oldest first.\n"
  "  recheck: queues the app's billed month for the server's next day job, which prices it again as\n"
  "  after a usage import: a correction when the document differs (a damaged one is restated), else\n"
  "  nothing; a month without a bill or not ended is refused; queuing a queued month does nothing.\n"
  "  With --pricebooks DIR the bill uses DIR/<scheme>.json (the operator's prices; default: the built-in\n"
  "  books; the server takes serve --pricebooks-dir DIR). An app whose bill needs a price the book leaves\n"
  "  to the operator (intl Standard/Pro, MAU overage; bandwidth outside china) is refused,\n"
  "  naming what is missing; an app on the original international scheme (P-50) is billed only\n"
  "  with DIR/intl_original.json and refused while there is none.";

#define DEFAULT_TZ cli_billing_tz() /* the server's zone (after cli_store_open) */


static void print_text(json_t *o)
{
  json_t *num = json_object_get(o, "number");
  char total[32];
  /* a stored document that does not parse is listed from its columns (§91, §109): bill_month, no edition, no lines */
  int damaged = json_is_true(json_object_get(o, "damaged"));
  const char *month = json_string_value(json_object_get(o, "bill_month"));
  const char *ed = json_string_value(json_object_get(o, "edition"));
  bill_fen_format(json_integer_value(json_object_get(o, "total_fen")), total, sizeof total);
  printf("%s  app %lld  %s  %s%s  status %s\n", json_is_string(num) ? json_string_value(num) : "PREVIEW (not issued)",
         (long long)json_integer_value(json_object_get(o, "sdkappid")), month ? month : "", damaged ? "damaged" : "edition ",
         damaged ? "" : ed ? ed : "", json_string_value(json_object_get(o, "status")));
  if (damaged) printf("  the stored document does not parse: its lines are lost; the amounts are its stored columns\n");
  json_t *sc = json_object_get(o, "scheme_change");
  if (json_is_object(sc)) /* the month of a move to another scheme (P-07): both books price it */
    printf("  scheme %s until %s, %s from %s (P-07)\n", json_string_value(json_object_get(sc, "from_scheme")),
           json_string_value(json_object_get(sc, "until")), json_string_value(json_object_get(o, "scheme")),
           json_string_value(json_object_get(sc, "day")));
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(o, "lines"), i, l) {
    char amt[32], qty[32], rate[96] = "";
    bill_fen_format(json_integer_value(json_object_get(l, "amount_fen")), amt, sizeof amt);
    json_int_t per = json_integer_value(json_object_get(l, "per"));
    const char *unit = json_string_value(json_object_get(l, "unit"));
    snprintf(qty, sizeof qty, "%lld", (long long)json_integer_value(json_object_get(l, "quantity")));
    if (per > 1) { /* a per-1,000-minute rate: the quantity is minutes; the rate says its block */
      char up[32];
      imc_fmt_group(json_integer_value(json_object_get(l, "quantity")), qty, sizeof qty);
      bill_fen_format(json_integer_value(json_object_get(l, "unit_price_fen")), up, sizeof up);
      snprintf(rate, sizeof rate, "  (%s 元 per %s)", up, unit);
      unit = "min";
    }
    printf("  %-9s %-44s %14s %-10s %14s 元  %s%s\n", json_string_value(json_object_get(l, "kind")),
           json_string_value(json_object_get(l, "name_en")), qty, unit, amt, json_string_value(json_object_get(l, "rule")), rate);
  }
  printf("  total %s 元\n", total);
  json_t *c;
  json_array_foreach(json_object_get(o, "corrections"), i, c) {
    char diff[32], ctotal[32];
    bill_fen_format(json_integer_value(json_object_get(c, "difference_fen")), diff, sizeof diff);
    bill_fen_format(json_integer_value(json_object_get(c, "total_fen")), ctotal, sizeof ctotal);
    printf("  correction %s: corrected total %s 元, difference %s 元, status %s%s\n", json_string_value(json_object_get(c, "number")),
           ctotal, diff, json_string_value(json_object_get(c, "status")),
           json_is_true(json_object_get(c, "damaged")) ? " (damaged: its stored document does not parse, its lines are lost)" : "");
  }
}

/* One CSV field (RFC 4180: quoted when it holds a comma, quote or newline). */
static void csv_str(const char *v, int last)
{
  v = v ? v : "";
  if (strpbrk(v, ",\"\r\n")) {
    putchar('"');
    for (; *v; v++) { if (*v == '"') putchar('"'); putchar(*v); }
    putchar('"');
  } else {
    fputs(v, stdout);
  }
  putchar(last ? '\n' : ',');
}

/* The CSV rows of one document (the bill or a correction): a line each; a
 * damaged document (§91: its lines lost) one row marked `damaged` in kind,
 * its stored total in amount_fen, the other line columns empty (§109). */
static void csv_doc(json_t *o)
{
  static const char *const cols[] = { "code", "kind", "quantity", "unit", "unit_price_fen", "per", "amount_fen", "rule" };
  const size_t ncols = sizeof cols / sizeof *cols;
  json_t *num = json_object_get(o, "number"), *damaged = NULL, *lines = json_object_get(o, "lines");
  if (json_is_true(json_object_get(o, "damaged"))) {
    damaged = json_pack("{s:s,s:I}", "kind", "damaged", "amount_fen", (json_int_t)json_integer_value(json_object_get(o, "total_fen")));
    lines = json_pack("[O]", damaged); /* NULL when out of memory: the header alone, as before */
  }
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) {
    printf("%s,%lld,", json_is_string(num) ? json_string_value(num) : "", (long long)json_integer_value(json_object_get(o, "sdkappid")));
    csv_str(json_string_value(json_object_get(o, "bill_month")), 0);
    csv_str(json_string_value(json_object_get(o, "status")), 0);
    for (size_t c = 0; c < ncols; c++) {
      json_t *v = json_object_get(l, cols[c]);
      char b[32];
      if (json_is_integer(v)) { snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v)); csv_str(b, c + 1 == ncols); }
      else csv_str(json_string_value(v), c + 1 == ncols);
    }
  }
  if (damaged) { json_decref(lines); json_decref(damaged); }
}

/* The bill's lines, then each correction's (each row names its document's number). */
static void print_csv(json_t *o)
{
  printf("number,sdkappid,bill_month,status,code,kind,quantity,unit,unit_price_fen,per,amount_fen,rule\n");
  csv_doc(o);
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(o, "corrections"), i, c) csv_doc(c);
}

static int show(const char *data, uint32_t app, int32_t month, int json, int csv)
{
  store_t *s;
  int rc;
  if ((rc = cli_store_open("bill", data, &s))) return rc;
  int64_t now = imc_clock_now_s();
  json_t *o = NULL, *arr = NULL;
  char err[256] = "";
  rc = meter_bills_json(s, 0, app, month, now, &arr);
  if (!rc) {
    o = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    if (!o) rc = IMC_E_INTERNAL;
  } else if (rc == IMC_E_NOTFOUND) { /* not issued yet: a preview from the usage stored so far */
    char *text;
    int64_t t[3];
    rc = meter_bill_compute(s, app, month, DEFAULT_TZ, meter_orders_tenant, NULL, &text, t, err, sizeof err);
    if (!rc) {
      o = json_loads(text, 0, NULL);
      free(text);
      if (!o) rc = IMC_E_INTERNAL;
      else {
        json_object_set_new(o, "preview", json_true());
        json_object_set_new(o, "number", json_null());
        json_object_set_new(o, "sdkappid", json_integer(app));
        json_object_set_new(o, "status", json_string("preview"));
      }
    }
  }
  store_close(s);
  if (rc) { cli_err("bill", "%s", err[0] ? err : imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) cli_print_json(o);
  else {
    if (csv) print_csv(o);
    else print_text(o);
    json_decref(o);
  }
  return 0;
}

static int run(const char *data, int32_t month, int json)
{
  store_t *s;
  int rc;
  if ((rc = cli_store_open("bill run", data, &s))) return rc;
  int64_t now = imc_clock_now_s();
  if (!month) month = meter_bill_due_month(now, DEFAULT_TZ);
  meter_bill_run_stats_t st;
  char err[256];
  rc = meter_bill_run(s, 0, month, now, DEFAULT_TZ, meter_orders_tenant, NULL, &st, err, sizeof err);
  store_close(s);
  if (rc) { cli_err("bill run", "%s", err); return CLI_EXIT_FAIL; }
  char ms[16];
  snprintf(ms, sizeof ms, "%04d-%02d", month / 100, month % 100);
  if (json)
    cli_print_json(json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:s?}", "month", ms, "apps", st.apps, "issued", st.issued, "existing",
                         st.existing, "paid", st.paid, "failed", st.failed, "later", st.later, "first_failure",
                         st.failed ? err : NULL));
  else printf("%04d-%02d: %d apps, %d bills issued (%d paid from the wallet), %d already issued, %d failed%s%s%s\n",
              month / 100, month % 100, st.apps, st.issued, st.paid, st.existing, st.failed, st.failed ? ": " : "",
              st.failed ? err : "", st.later ? "; apps whose month has not ended in their zone are left for a later run" : "");
  return st.failed ? CLI_EXIT_FAIL : 0;
}

static int recheck(const char *data, uint32_t app, int32_t month, int json)
{
  store_t *s;
  int rc, added;
  char err[256];
  if ((rc = cli_store_open("bill recheck", data, &s))) return rc;
  rc = meter_bill_recheck_queue(s, 0, app, month, imc_clock_now_s(), DEFAULT_TZ, &added, err, sizeof err);
  store_close(s);
  if (rc) { cli_err("bill recheck", "%s", err); return CLI_EXIT_FAIL; }
  meter_bill_recheck_log(app, month, added, "cli");
  char ms[16];
  snprintf(ms, sizeof ms, "%04d-%02d", month / 100, month % 100);
  if (json)
    cli_print_json(json_pack("{s:I,s:s,s:b,s:b}", "sdkappid", (json_int_t)app, "bill_month", ms, "queued", 1, "already_queued", !added));
  else printf("app %u %s: %s for the next day job's correction run\n", app, ms, added ? "queued" : "already queued");
  return 0;
}

int cli_bill(int argc, char **argv)
{
  const char *data = "./var", *month_s = NULL, *books = NULL;
  int64_t app = 0, customer = 0;
  int json = 0, csv = 0, npos = 0, form;
  char *pos[2];
  const unsigned show_run = CLI_FORM(F_SHOW) | CLI_FORM(F_RUN), show_recheck = CLI_FORM(F_SHOW) | CLI_FORM(F_RECHECK);
  const cli_form_opt_t opts[] = {
    { show_recheck, { "--sdkappid", CLI_I64, &app, 1, UINT32_MAX, "N  the app" } },
    { show_run | CLI_FORM(F_RECHECK), { "--month", CLI_STR, &month_s, 0, 0, "YYYY-MM  usage month" } },
    { CLI_FORM(F_SETTLE), { "--customer", CLI_I64, &customer, 1, INT64_MAX, "ID  settle: the customer" } },
    { show_run, { "--pricebooks", CLI_STR, &books, 0, 0, "DIR  the operator's price books (DIR/<scheme>.json)" } },
    { 0, { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" } },
    { 0, { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" } },
    { CLI_FORM(F_SHOW), { "--csv", CLI_FLAG, &csv, 0, 0, "print the lines of the bill and its corrections as CSV" } },
  };
  int rc = cli_parse_forms(argc, argv, "bill", forms, sizeof forms / sizeof *forms, opts, sizeof opts / sizeof *opts, notes,
                           pos, 2, &npos, &form);
  if (rc) return rc > 0 ? 0 : cli_parse_exit(rc);
  int32_t month = 0;
  int y, m;
  if (month_s) {
    if (imc_month_parse(month_s, &y, &m)) { cli_err("bill", "--month must be YYYY-MM"); return CLI_EXIT_FAIL; }
    month = y * 100 + m;
  }
  if (json && csv) { cli_err("bill", "give --json or --csv, not both"); return CLI_EXIT_USAGE; }
  if (books) tenant_pricebooks_dir(books);
  if (npos == 0) {
    if (!app || !month) { cli_err("bill", "--sdkappid and --month are required"); return CLI_EXIT_USAGE; }
    return show(data, (uint32_t)app, month, json, csv);
  }
  if (npos == 1 && !strcmp(pos[0], "run")) return run(data, month, json);
  if (npos == 1 && !strcmp(pos[0], "recheck")) {
    if (!app || !month) { cli_err("bill recheck", "--sdkappid and --month are required"); return CLI_EXIT_USAGE; }
    return recheck(data, (uint32_t)app, month, json);
  }
  if (npos == 1 && !strcmp(pos[0], "settle")) {
    if (!customer) { cli_err("bill settle", "--customer is required"); return CLI_EXIT_USAGE; }
    store_t *s;
    if ((rc = cli_store_open("bill settle", data, &s))) return rc;
    int paid = 0;
    store_customer_t cu;
    meter_arrears_stats_t ar;
    rc = store_customer_get(s, customer, &cu); /* a customer that does not exist has nothing to settle: say so */
    /* pay, then end the arrears the payment ends (the customer's apps resumed, as a top-up does) */
    if (!rc && !(rc = meter_arrears_run(s, customer, 1, imc_clock_now_s(), cli_billing_tz(), &ar))) paid = ar.bills_paid;
    store_close(s);
    if (rc) { cli_err("bill settle", "%s", rc == IMC_E_NOTFOUND ? "no such customer" : imc_strerror(rc)); return CLI_EXIT_FAIL; }
    if (json) cli_print_json(json_pack("{s:I,s:i}", "customer_id", (json_int_t)customer, "paid", paid));
    else printf("customer %lld: %d bills paid from the wallet\n", (long long)customer, paid);
    return 0;
  }
  cli_err("bill", "unknown subcommand '%s' (run, settle, recheck, or none)", pos[0]);
  return CLI_EXIT_USAGE;
}
