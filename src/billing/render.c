/* render.c — bills and comparisons as a readable table (Chinese and English
 * item names), written into a caller buffer (returns the length it needed,
 * like snprintf; never allocates), and as JSON (integer fen), appended to a
 * caller's JSON writer (util/jsonw.h, which grows its buffer up to its cap). */
#include "billing/billing_int.h"
#include "util/jsonw.h"
#include "util/num.h"
#include "util/textwidth.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Append n bytes as they are (the length counts even when they do not fit). */
static void put_raw(bill_buf_t *b, const char *s, size_t n)
{
  if (b->len < b->cap) {
    size_t room = b->cap - b->len - 1; /* keep the NUL vsnprintf would write */
    size_t k = n < room ? n : room;
    memcpy(b->p + b->len, s, k);
    b->p[b->len + k] = 0;
  }
  b->len += n;
}

void bill__put(bill_buf_t *b, const char *fmt, ...)
{
  if (!strchr(fmt, '%')) { put_raw(b, fmt, strlen(fmt)); return; } /* a literal: no vsnprintf */
  va_list ap;
  va_start(ap, fmt);
  size_t room = b->len < b->cap ? b->cap - b->len : 0;
  int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0) b->len += (size_t)n;
}

void bill_fen_format(int64_t fen, char *out, size_t cap)
{
  uint64_t a = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
  char yuan[40], tmp[48];
  imc_fmt_group((int64_t)(a / 100), yuan, sizeof yuan);
  int n = snprintf(tmp, sizeof tmp, "%s%s.%02u", fen < 0 ? "-" : "", yuan, (unsigned)(a % 100));
  size_t len = n < 0 ? 0 : (size_t)n;
  if (!cap) return;
  if (len >= cap) len = cap - 1; /* truncated, as snprintf would */
  memcpy(out, tmp, len);
  out[len] = 0;
}

static const char *kind_name(bill_kind_t k) { return k == BILL_PREPAID ? "prepaid" : "postpaid"; }

static size_t finish(bill_buf_t *b)
{
  if (b->cap) b->p[b->len < b->cap ? b->len : b->cap - 1] = 0;
  return b->len;
}

/* ---- text ------------------------------------------------------------------- */
/* The table fits BILL_TEXT_COLS terminal columns, measured by display width
 * (Chinese takes two columns, util/textwidth.h). Each line item is two rows:
 * item, quantity, unit and amount in aligned columns, then an indented row
 * with the code, the kind, the unit price, the rule and the detail, wrapped. */
#define BILL_TEXT_COLS 100

/* Put s padded to width columns (left-aligned, or right-aligned when right). */
static void put_cell(bill_buf_t *o, const char *s, int width, int right)
{
  int pad = imc_text_pad(s, width);
  if (right) bill__put(o, "%*s%s", pad, "", s);
  else bill__put(o, "%s%*s", s, pad, "");
}

/* Put text word-wrapped to BILL_TEXT_COLS: the first row after `first`
 * (already-formatted prefix), continuation rows indented by `indent` spaces.
 * A word wider than a row is split at a character boundary. */
static void put_wrapped(bill_buf_t *o, const char *first, int indent, const char *text)
{
  size_t col = imc_text_width(first);
  bill__put(o, "%s", first);
  const char *p = text;
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    size_t wlen = strcspn(p, " ");
    char word[512];
    size_t n = wlen < sizeof word - 1 ? wlen : sizeof word - 1;
    memcpy(word, p, n);
    word[n] = 0;
    size_t ww = imc_text_width(word);
    int at_start = col <= (size_t)indent;
    if (!at_start && col + 1 + ww > BILL_TEXT_COLS) { bill__put(o, "\n%*s", indent, ""); col = (size_t)indent; at_start = 1; }
    if (!at_start) { bill__put(o, " "); col++; }
    if (col + ww <= BILL_TEXT_COLS) { bill__put(o, "%s", word); col += ww; p += wlen; continue; }
    /* a word longer than a row: put what fits, code point by code point */
    const unsigned char *q = (const unsigned char *)p;
    while (q < (const unsigned char *)p + wlen) {
      int len = *q < 0x80 ? 1 : (*q & 0xE0) == 0xC0 ? 2 : (*q & 0xF0) == 0xE0 ? 3 : (*q & 0xF8) == 0xF0 ? 4 : 1;
      char cp[5] = { 0 };
      memcpy(cp, q, (size_t)len);
      size_t cw = imc_text_width(cp);
      if (col + cw > BILL_TEXT_COLS) { bill__put(o, "\n%*s", indent, ""); col = (size_t)indent; }
      bill__put(o, "%s", cp);
      col += cw;
      q += len;
    }
    p += wlen;
  }
  bill__put(o, "\n");
}

static void line_cells(const bill_line_t *l, char *item, size_t icap, char *qty, size_t qcap, char *unit, size_t ucap,
                       char *amt, size_t acap)
{
  snprintf(item, icap, "%s / %s", l->name_zh, l->name_en);
  if (l->per > 1) { /* a per-1,000-minute rate (the only per > 1): the quantity is minutes, the
                     * rate's block is named on the price row ("7.00 元 per 1,000 min") */
    imc_fmt_group(l->quantity, qty, qcap);
    snprintf(unit, ucap, "分钟 / min");
  } else {
    snprintf(qty, qcap, "%lld", (long long)l->quantity);
    snprintf(unit, ucap, "%s / %s", l->unit_zh, l->unit_en);
  }
  bill_fen_format(l->amount_fen, amt, acap);
}

static void text_lines(bill_buf_t *o, const bill_t *bill)
{
  static const char h_item[] = "item 项目", h_qty[] = "quantity", h_unit[] = "unit 单位", h_amt[] = "amount 元";
  int w_item = (int)imc_text_width(h_item), w_qty = (int)imc_text_width(h_qty);
  int w_unit = (int)imc_text_width(h_unit), w_amt = (int)imc_text_width(h_amt);
  char item[160], qty[32], unit[96], amt[32], up[32];
  for (int i = 0; i < bill->nlines; i++) {
    line_cells(&bill->lines[i], item, sizeof item, qty, sizeof qty, unit, sizeof unit, amt, sizeof amt);
    if ((int)imc_text_width(item) > w_item) w_item = (int)imc_text_width(item);
    if ((int)imc_text_width(qty) > w_qty) w_qty = (int)imc_text_width(qty);
    if ((int)imc_text_width(unit) > w_unit) w_unit = (int)imc_text_width(unit);
    if ((int)imc_text_width(amt) > w_amt) w_amt = (int)imc_text_width(amt);
  }
  /* columns: 2 + item + 2 + quantity + 2 + unit + 2 + amount; the item column gives way if too wide */
  int over = 2 + w_item + 2 + w_qty + 2 + w_unit + 2 + w_amt - BILL_TEXT_COLS;
  if (over > 0) w_item = w_item - over > (int)imc_text_width(h_item) ? w_item - over : (int)imc_text_width(h_item);
  bill__put(o, "  ");
  put_cell(o, h_item, w_item, 0);
  bill__put(o, "  ");
  put_cell(o, h_qty, w_qty, 1);
  bill__put(o, "  ");
  put_cell(o, h_unit, w_unit, 0);
  bill__put(o, "  ");
  put_cell(o, h_amt, w_amt, 1);
  bill__put(o, "\n");
  for (int i = 0; i < bill->nlines; i++) {
    const bill_line_t *l = &bill->lines[i];
    line_cells(l, item, sizeof item, qty, sizeof qty, unit, sizeof unit, amt, sizeof amt);
    bill__put(o, "  ");
    if ((int)imc_text_width(item) > w_item) { bill__put(o, "%s\n  ", item); put_cell(o, "", w_item, 0); } /* own row */
    else put_cell(o, item, w_item, 0);
    bill__put(o, "  ");
    put_cell(o, qty, w_qty, 1);
    bill__put(o, "  ");
    put_cell(o, unit, w_unit, 0);
    bill__put(o, "  ");
    put_cell(o, amt, w_amt, 1);
    bill__put(o, "\n");
    char more[512];
    bill_fen_format(l->unit_price_fen, up, sizeof up);
    /* the unit names the priced block ("1,000 min" when per is 1000) */
    int n = snprintf(more, sizeof more, "%s, %s, %s 元 per %s, %s", l->code, kind_name(l->kind), up, l->unit_en, l->rule);
    if (l->detail[0] && n > 0 && (size_t)n < sizeof more) snprintf(more + n, sizeof more - (size_t)n, ": %s", l->detail);
    put_wrapped(o, "      ", 6, more);
  }
  if (!bill->nlines) bill__put(o, "  (no charges: nothing used beyond the free quotas, nothing billed)\n");
}

static void text_totals(bill_buf_t *o, const bill_t *bill)
{
  char p[32], q[32], t[32], line[256];
  bill_fen_format(bill->prepaid_fen, p, sizeof p);
  bill_fen_format(bill->postpaid_fen, q, sizeof q);
  bill_fen_format(bill->total_fen, t, sizeof t);
  bill__put(o, "  prepaid 预付费 %s 元   postpaid 后付费 %s 元   total 合计 %s 元\n", p, q, t);
  for (int i = 0; i < bill->nbreaks; i++) {
    snprintf(line, sizeof line, "hard limit broken 超出版本限制: %s", bill->breaks[i]);
    put_wrapped(o, "  ! ", 4, line);
  }
}

static void text_head(bill_buf_t *o, const bill_book_t *b, int32_t month)
{
  char title[512];
  bill__put(o, "Price book %s, usage month %04d-%02d\n", bill_scheme_name(b->scheme), (int)(month / 100), (int)(month % 100));
  snprintf(title, sizeof title, "%s / %s", b->title_zh, b->title_en);
  put_wrapped(o, "  ", 2, title);
  if (b->operator_config) /* the book says which prices and why (e.g. P-59) */
    put_wrapped(o, "Note: ", 6, b->config_note ? b->config_note : "some prices of this book are set by the operator, not published.");
}

size_t bill_render_text(const bill_book_t *b, const bill_t *bill, char *buf, size_t cap)
{
  bill_buf_t o = { buf, cap, 0 };
  char ed_line[256];
  text_head(&o, b, bill->month);
  const book_edition_t *ed = &b->editions[bill->edition];
  snprintf(ed_line, sizeof ed_line, "Edition %s %s / %s", ed->code, ed->name_zh, ed->name_en);
  put_wrapped(&o, "", 0, ed_line);
  text_lines(&o, bill);
  text_totals(&o, bill);
  return finish(&o);
}

size_t bill_render_compare_text(const bill_book_t *b, const bill_compare_t *c, char *buf, size_t cap)
{
  bill_buf_t o = { buf, cap, 0 };
  int32_t month = c->month;
  char line[512];
  text_head(&o, b, month);
  for (int e = 0; e < c->n; e++) {
    const book_edition_t *ed = &b->editions[e];
    snprintf(line, sizeof line, "%s %s / %s%s%s", ed->code, ed->name_zh, ed->name_en,
             c->cheapest == e ? "  <- cheapest 最便宜" : "", c->e[e].breaks ? "  [breaks hard limits 超出限制]" : "");
    bill__put(&o, "\n");
    put_wrapped(&o, "== ", 3, line);
    if (!c->e[e].ok) {
      snprintf(line, sizeof line, "not priced 无法报价: %s", c->e[e].reason);
      put_wrapped(&o, "  ", 4, line);
      continue;
    }
    text_lines(&o, &c->e[e].bill);
    text_totals(&o, &c->e[e].bill);
  }
  if (c->cheapest >= 0)
    bill__put(&o, "\ncheapest 最便宜: %s %s / %s\n", b->editions[c->cheapest].code, b->editions[c->cheapest].name_zh,
              b->editions[c->cheapest].name_en);
  else
    bill__put(&o, "\ncheapest 最便宜: none — every edition breaks a hard limit or cannot be bought\n");
  return finish(&o);
}

/* ---- JSON ------------------------------------------------------------------- */
/* Through the fixed-format writer (util/jsonw.h): strings escaped as jansson
 * escapes them, integers without printf. */
static void put_str(jsonw_t *w, const char *s) { jsonw_str(w, s ? s : "", s ? strlen(s) : 0); }

static void json_bill_fields(jsonw_t *w, const bill_book_t *b, const bill_t *bill)
{
  const book_edition_t *ed = &b->editions[bill->edition];
  jsonw_lit(w, "\"edition\":");
  put_str(w, ed->code);
  jsonw_lit(w, ",\"edition_name_zh\":");
  put_str(w, ed->name_zh);
  jsonw_lit(w, ",\"edition_name_en\":");
  put_str(w, ed->name_en);
  jsonw_lit(w, ",\"total_fen\":");
  jsonw_i64(w, bill->total_fen);
  jsonw_lit(w, ",\"prepaid_fen\":");
  jsonw_i64(w, bill->prepaid_fen);
  jsonw_lit(w, ",\"postpaid_fen\":");
  jsonw_i64(w, bill->postpaid_fen);
  jsonw_lit(w, ",\"lines\":[");
  for (int i = 0; i < bill->nlines; i++) {
    const bill_line_t *l = &bill->lines[i];
    if (i) jsonw_lit(w, ",");
    jsonw_lit(w, "{\"code\":");
    put_str(w, l->code);
    jsonw_lit(w, ",\"kind\":");
    put_str(w, kind_name(l->kind));
    jsonw_lit(w, ",\"name_zh\":");
    put_str(w, l->name_zh);
    jsonw_lit(w, ",\"name_en\":");
    put_str(w, l->name_en);
    jsonw_lit(w, ",\"quantity\":");
    jsonw_i64(w, l->quantity);
    jsonw_lit(w, ",\"unit\":");
    put_str(w, l->unit_en);
    jsonw_lit(w, ",\"unit_zh\":");
    put_str(w, l->unit_zh);
    jsonw_lit(w, ",\"unit_price_fen\":");
    jsonw_i64(w, l->unit_price_fen);
    jsonw_lit(w, ",\"per\":");
    jsonw_i64(w, l->per);
    jsonw_lit(w, ",\"rule\":");
    put_str(w, l->rule);
    jsonw_lit(w, ",\"amount_fen\":");
    jsonw_i64(w, l->amount_fen);
    if (l->included) jsonw_lit(w, ",\"included\":true,\"detail\":");
    else jsonw_lit(w, ",\"included\":false,\"detail\":");
    put_str(w, l->detail);
    jsonw_lit(w, "}");
  }
  jsonw_lit(w, "],\"limit_breaks\":[");
  for (int i = 0; i < bill->nbreaks; i++) {
    if (i) jsonw_lit(w, ",");
    put_str(w, bill->breaks[i]);
  }
  jsonw_lit(w, "]");
}

static void json_head(jsonw_t *w, const bill_book_t *b, int32_t month)
{
  char m[32];
  int y = (int)(month / 100), mm = (int)(month % 100);
  if (y >= 1000 && y <= 9999 && mm >= 0 && mm <= 99) { /* "%04d-%02d" without printf */
    char t[8] = { (char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10), (char)('0' + y % 10), '-',
                  (char)('0' + mm / 10), (char)('0' + mm % 10), 0 };
    memcpy(m, t, sizeof t);
  } else {
    snprintf(m, sizeof m, "%04d-%02d", y, mm);
  }
  jsonw_lit(w, "{\"scheme\":");
  put_str(w, bill_scheme_name(b->scheme));
  jsonw_lit(w, ",\"bill_month\":");
  put_str(w, m);
  if (b->operator_config) jsonw_lit(w, ",\"currency\":\"CNY\",\"operator_config\":true,");
  else jsonw_lit(w, ",\"currency\":\"CNY\",\"operator_config\":false,");
}

void bill_render_json(const bill_book_t *b, const bill_t *bill, jsonw_t *w)
{
  json_head(w, b, bill->month);
  json_bill_fields(w, b, bill);
  jsonw_lit(w, "}");
}

void bill_render_compare_json(const bill_book_t *b, const bill_compare_t *c, jsonw_t *w)
{
  json_head(w, b, c->month);
  jsonw_lit(w, "\"editions\":[");
  for (int e = 0; e < c->n; e++) {
    if (e) jsonw_lit(w, ",");
    jsonw_lit(w, "{\"priced\":");
    if (c->e[e].ok) jsonw_lit(w, "true");
    else jsonw_lit(w, "false");
    if (c->e[e].breaks) jsonw_lit(w, ",\"breaks_limits\":true,");
    else jsonw_lit(w, ",\"breaks_limits\":false,");
    if (c->e[e].ok) {
      json_bill_fields(w, b, &c->e[e].bill);
    } else {
      jsonw_lit(w, "\"edition\":");
      put_str(w, b->editions[e].code);
      jsonw_lit(w, ",\"reason\":");
      put_str(w, c->e[e].reason);
    }
    jsonw_lit(w, "}");
  }
  jsonw_lit(w, "],\"cheapest\":");
  if (c->cheapest >= 0) put_str(w, b->editions[c->cheapest].code);
  else jsonw_lit(w, "null");
  jsonw_lit(w, "}");
}
