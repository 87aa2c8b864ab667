/* placeholder.c — the prices of a book that are the operator's to set
 * (bill_book_placeholders): the seeds give none for the international
 * Standard and Pro packages and MAU overage (P-59), nor for bandwidth outside
 * the China data center (P-20, "请咨询客服"). A built-in book carries stand-in
 * values marked "operator_config" / "overseas_operator_config" so quotes can
 * show them labelled; a bill must not be priced with them. An item's mark
 * counts in a book that is itself marked "operator_config" (intl): S-2022's
 * call-minute rates carry the mark as recorded defaults (P-46 decision,
 * the public list prices) and are billed. Pure. */
#include "billing/billing_int.h"

#include <stdio.h>
#include <string.h>

static void add(char *out, size_t cap, size_t *len, int *n, const char *fmt, const char *a, const char *b)
{
  char one[160];
  snprintf(one, sizeof one, fmt, a, b);
  int w = snprintf(*len < cap ? out + *len : NULL, *len < cap ? cap - *len : 0, "%s%s", *n ? "; " : "", one);
  if (w > 0) *len += (size_t)w;
  (*n)++;
}

int bill_book_placeholders(const bill_book_t *b, const char *edition, const char *region, char *out, size_t cap)
{
  size_t len = 0;
  int n = 0;
  if (cap) out[0] = 0;
  int e = bill_book_edition_find(b, edition);
  if (e < 0) return 0;
  const book_edition_t *ed = &b->editions[e];
  if (ed->has_package && ed->package_placeholder)
    add(out, cap, &len, &n, "the %s package price (%s)", ed->code, ed->package_rule ? ed->package_rule : "P-59");
  if (!ed->overage) return n; /* a capped edition is billed for nothing beyond its package */
  int overseas = bill_region_overseas(region);
  for (int i = 0; i < b->nitems; i++) {
    const book_item_t *it = &b->items[i];
    if (it->placeholder && b->operator_config) add(out, cap, &len, &n, "the %s rate (%s)", it->name_en, it->rule);
    else if (overseas && it->overseas_placeholder)
      add(out, cap, &len, &n, "the %s rate outside china (%s)", it->name_en, it->rule);
  }
  if (cap && len >= cap) out[cap - 1] = 0;
  return n;
}
