/* cli_quote.c — `imcloud quote`: price a month of usage on a price book
 * without an app (docs/billing.md "Quotes"). The argument contract lives in
 * billing/quote.c (bill_quote_parse); this file only does the I/O: reading
 * --usage and --pricebooks files, printing the bill. Exit 0 with a bill on
 * stdout, or non-zero with one line on stderr and nothing on stdout. */
#include "billing/billing.h"
#include "cli/cli.h"
#include "util/date.h"
#include "util/err.h"
#include "util/jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
  "usage: imcloud quote --scheme legacy|s2019|s2020|s2022|intl --edition EDITION --bill-month YYYY-MM\n"
  "                     [--peak-dau N] [--mau N] [--peak-groups N] [--bandwidth-mbps N,N,...]\n"
  "                     [--c2c-roaming-months N] [--history-days N]\n"
  "                     [--addon NAME[=VALUE]]... [--json] [--compare]\n"
  "                     [--call-minutes KIND=N,...] [--usage FILE] [--pricebooks DIR] [--data DIR]\n"
  "\n"
  "  editions: legacy: legacy; s2019, s2020: trial, pro; s2022: trial, pro, ultimate;\n"
  "            intl: developer, standard, pro\n"
  "  add-ons:  avchatroom_unlimited, member_cap=N, groups_per_user=N, local_audit,\n"
  "            av_call=basic|advanced|premium\n"
  "  --bill-month is the usage month. --compare prices the usage on every edition of the\n"
  "  scheme, marks editions whose hard limits it breaks and names the cheapest.\n"
  "  --usage FILE reads a usage document (docs/billing.md); --pricebooks DIR uses DIR/<scheme>.json\n"
  "  instead of the built-in price book. Money is printed in 元 (JSON: integer fen). --data DIR is\n"
  "  accepted as by every command and unused (a quote reads no data).\n";

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

/* Merge a usage document under the flags: a metric may come from one only. */
static int merge_usage(bill_usage_t *flags, const bill_usage_t *doc)
{
  if (flags->given & doc->given) return -1;
  bill_usage_t u = *doc;
  if (flags->given & (1u << BILL_M_PEAK_DAU)) u.peak_dau = flags->peak_dau;
  if (flags->given & (1u << BILL_M_MAU)) u.mau = flags->mau;
  if (flags->given & (1u << BILL_M_PEAK_GROUPS)) u.peak_groups = flags->peak_groups;
  if (flags->given & (1u << BILL_M_ROAMING_MONTHS)) u.c2c_roaming_months = flags->c2c_roaming_months;
  if (flags->given & (1u << BILL_M_HISTORY_DAYS)) u.history_days = flags->history_days;
  if (flags->given & (1u << BILL_M_BANDWIDTH)) {
    u.bw_days = flags->bw_days;
    memcpy(u.bw_mbps, flags->bw_mbps, sizeof u.bw_mbps);
  }
  u.given |= flags->given;
  *flags = u;
  return 0;
}

int cli_quote(int argc, char **argv)
{
  static bill_quote_req_t req; /* large; one per process */
  char err[256];
  int rc = bill_quote_parse(argc, argv, &req, err, sizeof err);
  if (rc == 1) { fputs(usage, stdout); printf("\n%s", cli_exit_help); return 0; }
  if (rc) { cli_err("quote", "%s", err); return rc == IMC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL; }

  bill_book_t *own = NULL;
  const bill_book_t *book;
  if (req.pricebooks) {
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/%s.json", req.pricebooks, bill_scheme_name(req.scheme));
    char *text = read_file(path, 1 << 20, &len);
    if (!text) { cli_err("quote", "cannot read price book %s", path); return CLI_EXIT_FAIL; }
    rc = bill_book_load(text, len, &own, err, sizeof err);
    free(text);
    if (rc) { cli_err("quote", "%s: %s", path, err); return CLI_EXIT_FAIL; }
    if (bill_book_scheme(own) != req.scheme) {
      cli_err("quote", "%s is the %s book, not %s", path, bill_scheme_name(bill_book_scheme(own)), bill_scheme_name(req.scheme));
      bill_book_free(own);
      return CLI_EXIT_FAIL;
    }
    book = own;
  } else {
    book = bill_book_builtin(req.scheme);
    if (!book) { cli_err("quote", "built-in %s price book: %s", bill_scheme_name(req.scheme), bill_book_builtin_error(req.scheme)); return CLI_EXIT_FAIL; }
  }

  /* a month that ends before the book was first offered cannot be billed on it */
  int64_t from = bill_book_effective_from(book);
  int my = req.month / 100, mm = req.month % 100;
  if (from != INT64_MIN && imc_days_from_civil(my, mm, imc_days_in_month(my, mm)) < from) {
    int fy, fm, fd;
    imc_civil_from_days(from, &fy, &fm, &fd);
    cli_err("quote", "--bill-month: \"%04d-%02d\" is before the %s price book was in force (from %04d-%02d-%02d)", my, mm,
            bill_scheme_name(req.scheme), fy, fm, fd);
    bill_book_free(own);
    return CLI_EXIT_FAIL;
  }
  int edition = -1;
  rc = bill_quote_resolve(book, &req, &edition, err, sizeof err);
  if (!rc && req.usage_file) {
    size_t len;
    char *text = read_file(req.usage_file, 1 << 20, &len);
    bill_usage_t doc;
    if (!text) { snprintf(err, sizeof err, "cannot read usage file %s", req.usage_file); rc = IMC_E_IO; }
    else if ((rc = bill_usage_parse_json(text, len, book, req.month, &doc, err, sizeof err))) { /* err set */ }
    else if (merge_usage(&req.usage, &doc)) { snprintf(err, sizeof err, "a metric is given both by a flag and in %s", req.usage_file); rc = IMC_E_BILL_USAGE; }
    free(text);
  }
  static char out[1 << 16];
  jsonw_t w;
  jsonw_init(&w, 1 << 20);
  if (!rc && req.compare) {
    static bill_compare_t cmp;
    bill_quote_compare(book, &req, &cmp);
    if (req.json) bill_render_compare_json(book, &cmp, &w);
    else bill_render_compare_text(book, &cmp, out, sizeof out);
  } else if (!rc) {
    static bill_t bill;
    rc = bill_quote(book, &req, edition, &bill, err, sizeof err);
    if (!rc) {
      if (req.json) bill_render_json(book, &bill, &w);
      else bill_render_text(book, &bill, out, sizeof out);
    }
  }
  bill_book_free(own);
  if (!rc && req.json && w.failed) snprintf(err, sizeof err, "rendering the quote: %s", imc_strerror(rc = w.failed));
  if (rc) { jsonw_free(&w); cli_err("quote", "%s", err); return CLI_EXIT_FAIL; }
  fputs(req.json ? w.buf : out, stdout);
  jsonw_free(&w);
  if (req.json) fputc('\n', stdout);
  return 0;
}
