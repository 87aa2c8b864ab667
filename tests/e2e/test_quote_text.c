/* End-to-end: `imcloud quote`'s human table (issue 17) — every line fits 100
 * terminal columns on every book and edition, columns with Chinese text line
 * up by display width (the unit column of each item row starts where its
 * header does), the international note is a user-facing sentence, and a
 * usage month before the book was in force is refused. Runs the real binary;
 * widths are measured with util/textwidth. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"
#include "e2e_cli.h"
#include "util/textwidth.h"

static e2e_server_t box; /* only its directory: no server needed */
static char out[1 << 17], err[2048];

static int quote(const char *args)
{
  return e2e_cli_run(box.dir, "", out, sizeof out, err, sizeof err, "quote %s", args);
}

/* Usage that makes every item of each book appear, with long quantities. */
static const struct { const char *scheme, *month, *usage; } cases[] = {
  { "legacy", "2022-06", "--peak-dau 123456789 --peak-groups 98765432" },
  { "s2019", "2020-03", "--peak-dau 9999999 --peak-groups 9999999 --bandwidth-mbps 100,2000,30000" },
  { "s2020", "2021-03", "--peak-dau 9999999 --peak-groups 9999999 --bandwidth-mbps 100,2000,30000" },
  { "s2022", "2026-10", "--peak-dau 9999999 --peak-groups 9999999 --history-days 360 --addon av_call=advanced "
                        "--call-minutes video_fhd=1234567,video_hd=100" },
  { "intl", "2026-10", "--mau 99999999 --history-days 30" },
};

static void assert_fits(const char *text, const char *what)
{
  const char *p = text;
  int n = 0;
  while (*p) {
    char line[2048];
    size_t len = strcspn(p, "\n");
    size_t c = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, p, c);
    line[c] = 0;
    if (imc_text_width(line) > 100) fail_msg("%s: line %d is %zu columns: %s", what, n, imc_text_width(line), line);
    p += len + (p[len] == '\n');
    n++;
  }
}

static void test_every_book_fits_100_columns(void **st)
{
  (void)st;
  char args[1024];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(args, sizeof args, "--scheme %s --compare --bill-month %s %s", cases[i].scheme, cases[i].month, cases[i].usage);
    if (quote(args)) fail_msg("quote %s: %s", args, err);
    assert_fits(out, args);
    assert_non_null(strstr(out, "item 项目"));
  }
}

/* Column of the display width of the text before `at` on its line. */
static size_t col_of(const char *line_start, const char *at)
{
  char buf[2048];
  size_t n = (size_t)(at - line_start) < sizeof buf - 1 ? (size_t)(at - line_start) : sizeof buf - 1;
  memcpy(buf, line_start, n);
  buf[n] = 0;
  return imc_text_width(buf);
}

static void test_columns_align_by_display_width(void **st)
{
  (void)st;
  char args[1024];
  static const char *const editions[] = { "legacy", "pro", "pro", "pro", "pro" };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(args, sizeof args, "--scheme %s --edition %s --bill-month %s %s --json", cases[i].scheme, editions[i],
             cases[i].month, cases[i].usage);
    if (quote(args)) fail_msg("quote %s: %s", args, err);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    args[strlen(args) - strlen(" --json")] = 0;
    if (quote(args)) fail_msg("quote %s: %s", args, err);
    assert_fits(out, args);
    const char *hdr = strstr(out, "  item 项目");
    assert_non_null(hdr);
    const char *hdr_end = strchr(hdr, '\n');
    char header[1024];
    memcpy(header, hdr, (size_t)(hdr_end - hdr));
    header[hdr_end - hdr] = 0;
    size_t unit_col = col_of(header, strstr(header, "unit 单位")), width = imc_text_width(header);
    json_t *lines = json_object_get(j, "lines");
    assert_true(json_array_size(lines) > 0);
    const char *p = hdr_end + 1;
    size_t k;
    json_t *l;
    json_array_foreach(lines, k, l) {
      char unit[256], row[1024];
      if (json_integer_value(json_object_get(l, "per")) > 1) snprintf(unit, sizeof unit, "分钟 / min"); /* minutes, rate per 1,000 */
      else snprintf(unit, sizeof unit, "%s / %s", json_string_value(json_object_get(l, "unit_zh")),
                    json_string_value(json_object_get(l, "unit")));
      const char *e = strchr(p, '\n');
      assert_non_null(e);
      memcpy(row, p, (size_t)(e - p));
      row[e - p] = 0;
      const char *u = strstr(row, unit);
      if (!u && e[1] == ' ') { /* an item wider than its column has a row of its own; the cells follow */
        p = e + 1;
        e = strchr(p, '\n');
        assert_non_null(e);
        memcpy(row, p, (size_t)(e - p));
        row[e - p] = 0;
        u = strstr(row, unit);
      }
      if (!u) fail_msg("%s: row %zu has no unit %s: %s", args, k, unit, row);
      if (col_of(row, u) != unit_col) fail_msg("%s: unit of row %zu at column %zu, header at %zu\n%s\n%s", args, k, col_of(row, u), unit_col, header, row);
      if (imc_text_width(row) != width) fail_msg("%s: row %zu is %zu columns, header %zu\n%s\n%s", args, k, imc_text_width(row), width, header, row);
      /* then the indented detail rows of that item */
      p = e + 1;
      while (!strncmp(p, "      ", 6)) p = strchr(p, '\n') + 1;
    }
    json_decref(j);
  }
}

static void test_international_note_is_a_sentence(void **st)
{
  (void)st;
  assert_int_equal(quote("--scheme intl --edition standard --bill-month 2026-10 --mau 1000"), 0);
  const char *note = strstr(out, "Note: ");
  assert_non_null(note);
  static const char *const jargon[] = { "NOT FROM THE SEEDS", "seed", "this file", ".json", " open)" };
  const char *end = strstr(note, "\nEdition");
  assert_non_null(end);
  char text[2048];
  memcpy(text, note, (size_t)(end - note));
  text[end - note] = 0;
  for (size_t i = 0; i < sizeof jargon / sizeof *jargon; i++)
    if (strstr(text, jargon[i])) fail_msg("note says \"%s\": %s", jargon[i], text);
  assert_non_null(strstr(text, "(P-59)"));
  assert_non_null(strstr(text, "--pricebooks DIR"));
}

static void test_month_before_the_book_is_refused(void **st)
{
  (void)st;
  assert_int_equal(quote("--scheme s2022 --edition pro --bill-month 1999-01"), 1);
  assert_string_equal(out, "");
  assert_non_null(strstr(err, "--bill-month: \"1999-01\" is before the s2022 price book was in force (from 2022-06-01)"));
  assert_int_equal(quote("--scheme intl --edition pro --bill-month 2022-11"), 1);
  assert_non_null(strstr(err, "from 2022-12-26"));
  assert_int_equal(quote("--scheme s2019 --compare --bill-month 2019-11"), 1);
  /* the month the book starts in, and any later month, are priced */
  assert_int_equal(quote("--scheme intl --edition pro --bill-month 2022-12"), 0);
  assert_int_equal(quote("--scheme s2019 --edition pro --bill-month 2026-10"), 0); /* grandfathered apps keep their book */
}

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&box);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  e2e_dir_remove(&box);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_book_fits_100_columns), cmocka_unit_test(test_columns_align_by_display_width),
    cmocka_unit_test(test_international_note_is_a_sentence), cmocka_unit_test(test_month_before_the_book_is_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
