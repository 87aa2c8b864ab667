/* books.c — the built-in price books: data/pricebooks/<scheme>.json compiled into
 * the binary by scripts/embed.sh, parsed once (pthread_once) on first use and
 * kept for the life of the process. */
#include "billing/billing_int.h"

#include <pthread.h>
#include <string.h>

extern const struct { const char *name; const char *text; size_t size; } imc_embedded_pricebooks[];

static bill_book_t *builtin[BILL_SCHEME__COUNT];
static char load_err[BILL_SCHEME__COUNT][200];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load_all(void)
{
  for (int i = 0; imc_embedded_pricebooks[i].name; i++) {
    bill_scheme_t s;
    if (bill_scheme_parse(imc_embedded_pricebooks[i].name, &s)) continue;
    bill_book_t *b = NULL;
    if (bill_book_load(imc_embedded_pricebooks[i].text, imc_embedded_pricebooks[i].size, &b, load_err[s], sizeof load_err[s]))
      continue;
    if (bill_book_scheme(b) != s) { bill_book_free(b); strcpy(load_err[s], "scheme does not match the file name"); continue; }
    builtin[s] = b;
  }
}

const bill_book_t *bill_book_builtin(bill_scheme_t s)
{
  if ((unsigned)s >= BILL_SCHEME__COUNT) return NULL;
  pthread_once(&once, load_all);
  return builtin[s];
}

const char *bill_book_builtin_error(bill_scheme_t s)
{
  if ((unsigned)s >= BILL_SCHEME__COUNT) return "unknown scheme";
  pthread_once(&once, load_all);
  return builtin[s] ? NULL : load_err[s][0] ? load_err[s] : "no built-in book";
}
