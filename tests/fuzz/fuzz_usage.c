/* libFuzzer target: arbitrary bytes as a usage-import document, parsed
 * against the s2022 book for October 2026 and, when accepted, billed on
 * every edition (non-strict, as a bill run would). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "billing/billing.h"
#include "util/date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const bill_book_t *b = bill_book_builtin(BILL_SCHEME_S2022);
  if (!b) abort();
  bill_usage_t u;
  char err[256];
  if (bill_usage_parse_json((const char *)data, size, b, 202610, &u, err, sizeof err)) return 0;
  static bill_t bill;
  for (int e = 0; e < bill_book_editions(b); e++) {
    bill_order_t o = { .edition = e, .start_day = imc_days_from_civil(2026, 10, 1), .periods = 1 };
    bill_input_t in = { .month = 202610, .orders = &o, .norders = 1, .usage = &u };
    if (!bill_compute(b, &in, &bill, err, sizeof err) && bill.total_fen < 0) abort();
  }
  return 0;
}
