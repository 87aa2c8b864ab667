/* render.c — bills and comparisons as a readable table (Chinese and English
 * item names) and as JSON (integer fen). Writes into a caller buffer and
 * returns the length it needed, like snprintf; never allocates. */
#include "billing/billing_int.h"
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

void bill__put_json_str(bill_buf_t *b, const char *s)
{
  put_raw(b, "\"", 1);
  const unsigned char *p = (const unsigned char *)(s ? s : ""), *run = p;
  for (; *p; p++) {
    if (*p != '"' && *p != '\\' && *p >= 0x20) continue;
    put_raw(b, (const char *)run, (size_t)(p - run)); /* the plain bytes before it, in one piece */
    if (*p == '"' || *p == '\\') bill__put(b, "\\%c", *p);
    else bill__put(b, "\\u%04x", *p);
    run = p + 1;
  }
  put_raw(b, (const char *)run, (size_t)(p - run));
  put_raw(b, "\"", 1);
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
  snprintf(qty, qcap, "%lld", (long long)l->quantity);
  snprintf(unit, ucap, "%s / %s", l->unit_zh, l->unit_en);
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
static void json_bill_fields(bill_buf_t *o, const bill_book_t *b, const bill_t *bill)
{
  const book_edition_t *ed = &b->editions[bill->edition];
  bill__put(o, "\"edition\":");
  bill__put_json_str(o, ed->code);
  bill__put(o, ",\"edition_name_zh\":");
  bill__put_json_str(o, ed->name_zh);
  bill__put(o, ",\"edition_name_en\":");
  bill__put_json_str(o, ed->name_en);
  bill__put(o, ",\"total_fen\":%lld,\"prepaid_fen\":%lld,\"postpaid_fen\":%lld,\"lines\":[",
            (long long)bill->total_fen, (long long)bill->prepaid_fen, (long long)bill->postpaid_fen);
  for (int i = 0; i < bill->nlines; i++) {
    const bill_line_t *l = &bill->lines[i];
    bill__put(o, "%s{\"code\":", i ? "," : "");
    bill__put_json_str(o, l->code);
    bill__put(o, ",\"kind\":\"%s\",\"name_zh\":", kind_name(l->kind));
    bill__put_json_str(o, l->name_zh);
    bill__put(o, ",\"name_en\":");
    bill__put_json_str(o, l->name_en);
    bill__put(o, ",\"quantity\":%lld,\"unit\":", (long long)l->quantity);
    bill__put_json_str(o, l->unit_en);
    bill__put(o, ",\"unit_zh\":");
    bill__put_json_str(o, l->unit_zh);
    bill__put(o, ",\"unit_price_fen\":%lld,\"per\":%lld,\"rule\":", (long long)l->unit_price_fen, (long long)l->per);
    bill__put_json_str(o, l->rule);
    bill__put(o, ",\"amount_fen\":%lld,\"included\":%s,\"detail\":", (long long)l->amount_fen, l->included ? "true" : "false");
    bill__put_json_str(o, l->detail);
    bill__put(o, "}");
  }
  bill__put(o, "],\"limit_breaks\":[");
  for (int i = 0; i < bill->nbreaks; i++) {
    if (i) bill__put(o, ",");
    bill__put_json_str(o, bill->breaks[i]);
  }
  bill__put(o, "]");
}

static void json_head(bill_buf_t *o, const bill_book_t *b, int32_t month)
{
  bill__put(o, "{\"scheme\":\"%s\",\"bill_month\":\"%04d-%02d\",\"currency\":\"CNY\",\"operator_config\":%s,",
            bill_scheme_name(b->scheme), (int)(month / 100), (int)(month % 100), b->operator_config ? "true" : "false");
}

size_t bill_render_json(const bill_book_t *b, const bill_t *bill, char *buf, size_t cap)
{
  bill_buf_t o = { buf, cap, 0 };
  json_head(&o, b, bill->month);
  json_bill_fields(&o, b, bill);
  bill__put(&o, "}");
  return finish(&o);
}

size_t bill_render_compare_json(const bill_book_t *b, const bill_compare_t *c, char *buf, size_t cap)
{
  bill_buf_t o = { buf, cap, 0 };
  int32_t month = c->month;
  json_head(&o, b, month);
  bill__put(&o, "\"editions\":[");
  for (int e = 0; e < c->n; e++) {
    bill__put(&o, "%s{\"priced\":%s,\"breaks_limits\":%s,", e ? "," : "", c->e[e].ok ? "true" : "false",
              c->e[e].breaks ? "true" : "false");
    if (c->e[e].ok) {
      json_bill_fields(&o, b, &c->e[e].bill);
    } else {
      bill__put(&o, "\"edition\":");
      bill__put_json_str(&o, b->editions[e].code);
      bill__put(&o, ",\"reason\":");
      bill__put_json_str(&o, c->e[e].reason);
    }
    bill__put(&o, "}");
  }
  bill__put(&o, "],\"cheapest\":");
  if (c->cheapest >= 0) bill__put_json_str(&o, b->editions[c->cheapest].code);
  else bill__put(&o, "null");
  bill__put(&o, "}");
  return finish(&o);
}
