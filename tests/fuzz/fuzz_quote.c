/* libFuzzer target: arbitrary bytes as `imcloud quote` arguments (split on
 * NUL and newline), then priced on the built-in book of the parsed scheme and
 * rendered both ways (one edition and --compare). Nothing may crash, leak or
 * overflow; an accepted request must give a bill whose lines sum to its total. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "util/jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > 4096) return 0;
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = 0;
  char *argv[64];
  int argc = 0;
  argv[argc++] = "quote";
  char *p = buf, *end = buf + size;
  while (p < end && argc < 64) {
    char *q = p;
    while (q < end && *q && *q != '\n') q++;
    *q = 0;
    argv[argc++] = p;
    p = q + 1;
  }
  static bill_quote_req_t req;
  static bill_t bill;
  static bill_compare_t cmp;
  static char out[1 << 16];
  static jsonw_t w = { .max_bytes = 1 << 20 }; /* its buffer is reused from input to input */
  char err[256];
  int e;
  if (!bill_quote_parse(argc, argv, &req, err, sizeof err)) {
    const bill_book_t *b = bill_book_builtin(req.scheme);
    if (b && !bill_quote_resolve(b, &req, &e, err, sizeof err)) {
      if (e >= 0 && !bill_quote(b, &req, e, &bill, err, sizeof err)) {
        int64_t sum = 0;
        for (int i = 0; i < bill.nlines; i++) sum += bill.lines[i].amount_fen;
        if (sum != bill.total_fen || bill.total_fen < 0) abort();
        bill_render_text(b, &bill, out, sizeof out);
        jsonw_reset(&w);
        bill_render_json(b, &bill, &w);
      }
      bill_quote_compare(b, &req, &cmp);
      bill_render_compare_text(b, &cmp, out, sizeof out);
      jsonw_reset(&w);
      bill_render_compare_json(b, &cmp, &w);
    }
  }
  free(buf);
  return 0;
}
