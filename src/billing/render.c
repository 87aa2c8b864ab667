/* render.c — bills and comparisons as a readable table (Chinese and English
 * item names) and as JSON (integer fen). Writes into a caller buffer and
 * returns the length it needed, like snprintf; never allocates. */
#include "billing/billing_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void bill__put(bill_buf_t *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  size_t room = b->len < b->cap ? b->cap - b->len : 0;
  int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0) b->len += (size_t)n;
}

void bill__put_json_str(bill_buf_t *b, const char *s)
{
  bill__put(b, "\"");
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') bill__put(b, "\\%c", *p);
    else if (*p < 0x20) bill__put(b, "\\u%04x", *p);
    else bill__put(b, "%c", *p);
  }
  bill__put(b, "\"");
}

void bill_fen_format(int64_t fen, char *out, size_t cap)
{
  uint64_t a = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
  char digits[32];
  snprintf(digits, sizeof digits, "%llu", (unsigned long long)(a / 100));
  size_t n = strlen(digits), o = 0;
  char tmp[48];
  if (fen < 0) tmp[o++] = '-';
  for (size_t i = 0; i < n; i++) {
    tmp[o++] = digits[i];
    if ((n - i - 1) % 3 == 0 && i + 1 < n) tmp[o++] = ',';
  }
  snprintf(tmp + o, sizeof tmp - o, ".%02llu", (unsigned long long)(a % 100));
  snprintf(out, cap, "%s", tmp);
}

static const char *kind_name(bill_kind_t k) { return k == BILL_PREPAID ? "prepaid" : "postpaid"; }

static size_t finish(bill_buf_t *b)
{
  if (b->cap) b->p[b->len < b->cap ? b->len : b->cap - 1] = 0;
  return b->len;
}

/* ---- text ------------------------------------------------------------------- */
static void text_lines(bill_buf_t *o, const bill_t *bill)
{
  char up[32], amt[32];
  bill__put(o, "  %-22s %-8s %-44s %14s  %-22s %16s %14s  %s\n", "code", "kind", "item 项目", "quantity",
            "unit 单位", "unit price 元", "amount 元", "rule");
  for (int i = 0; i < bill->nlines; i++) {
    const bill_line_t *l = &bill->lines[i];
    char item[160], unit[96], price[48];
    snprintf(item, sizeof item, "%s / %s", l->name_zh, l->name_en);
    snprintf(unit, sizeof unit, "%s / %s", l->unit_zh, l->unit_en);
    bill_fen_format(l->unit_price_fen, up, sizeof up);
    if (l->per != 1) snprintf(price, sizeof price, "%s per %lld", up, (long long)l->per);
    else snprintf(price, sizeof price, "%s", up);
    bill_fen_format(l->amount_fen, amt, sizeof amt);
    bill__put(o, "  %-22s %-8s %-44s %14lld  %-22s %16s %14s  %s%s%s%s\n", l->code, kind_name(l->kind), item,
              (long long)l->quantity, unit, price, amt, l->rule, l->detail[0] ? "  (" : "", l->detail,
              l->detail[0] ? ")" : "");
  }
  if (!bill->nlines) bill__put(o, "  (no charges: nothing used beyond the free quotas, nothing billed)\n");
}

static void text_totals(bill_buf_t *o, const bill_t *bill)
{
  char p[32], q[32], t[32];
  bill_fen_format(bill->prepaid_fen, p, sizeof p);
  bill_fen_format(bill->postpaid_fen, q, sizeof q);
  bill_fen_format(bill->total_fen, t, sizeof t);
  bill__put(o, "  prepaid 预付费 %s 元   postpaid 后付费 %s 元   total 合计 %s 元\n", p, q, t);
  for (int i = 0; i < bill->nbreaks; i++) bill__put(o, "  ! hard limit broken 超出版本限制: %s\n", bill->breaks[i]);
}

static void text_head(bill_buf_t *o, const bill_book_t *b, int32_t month)
{
  bill__put(o, "Price book %s — %s / %s — usage month %04d-%02d\n", bill_scheme_name(b->scheme), b->title_zh,
            b->title_en, (int)(month / 100), (int)(month % 100));
  if (b->operator_config) /* the book says which prices and why (e.g. P-59) */
    bill__put(o, "Note: %s\n", b->config_note ? b->config_note : "some prices of this book are operator configuration, not from the seeds.");
}

size_t bill_render_text(const bill_book_t *b, const bill_t *bill, char *buf, size_t cap)
{
  bill_buf_t o = { buf, cap, 0 };
  text_head(&o, b, bill->month);
  const book_edition_t *ed = &b->editions[bill->edition];
  bill__put(&o, "Edition %s %s / %s\n", ed->code, ed->name_zh, ed->name_en);
  text_lines(&o, bill);
  text_totals(&o, bill);
  return finish(&o);
}

size_t bill_render_compare_text(const bill_book_t *b, const bill_compare_t *c, char *buf, size_t cap)
{
  bill_buf_t o = { buf, cap, 0 };
  int32_t month = c->month;
  text_head(&o, b, month);
  for (int e = 0; e < c->n; e++) {
    const book_edition_t *ed = &b->editions[e];
    bill__put(&o, "\n== %s %s / %s%s%s\n", ed->code, ed->name_zh, ed->name_en,
              c->cheapest == e ? "  <- cheapest 最便宜" : "", c->e[e].breaks ? "  [breaks hard limits 超出限制]" : "");
    if (!c->e[e].ok) { bill__put(&o, "  not priced 无法报价: %s\n", c->e[e].reason); continue; }
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
