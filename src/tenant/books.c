/* books.c — the price book of an app, the one its orders are priced with
 * (orders.c) and its bills are computed with (meter/bills.c, meter/orders.c):
 * DIR/<scheme>.json when the
 * operator gave a directory of books (`imcloud bill --pricebooks DIR`,
 * `imcloud serve --pricebooks-dir DIR`: tenant_pricebooks_dir; else the meta
 * row "pricebooks_dir", which `serve` writes at every start with its own
 * directory or "" (tenant_pricebooks_dir_record): the CLI's orders and bills
 * on a data directory use the books of the server last started on it), else
 * the built-in book.
 * An operator sets the prices the seeds leave open (P-59, P-20) in such a
 * copy. A file is loaded once per process and kept for its life (a server
 * picks up an edited book at restart); a directory without the scheme's file
 * falls back to the built-in book. An intl app of a customer that created
 * an app before 2022-12-26 is on the original international scheme (P-50),
 * which no seed prices: it is billed only with the operator's book
 * DIR/intl_original.json (an intl-format book, "scheme": "intl") and refused
 * while there is none. Thread-safe (a mutex around the cache). */
#include "billing/billing.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/err.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOOKS_CACHED 16

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char override_dir[512];
static struct { char path[600]; bill_book_t *book; } cache[BOOKS_CACHED];
static __thread struct { int on; char dir[512]; } pinned; /* tenant_books_pin */

/* The setting "pricebooks_dir" ("" when unset) into dir. */
static int setting_dir(store_t *s, char *dir, size_t cap)
{
  int r = store_meta_get(s, "pricebooks_dir", dir, cap);
  if (r == IMC_E_NOTFOUND) dir[0] = 0;
  return r == IMC_E_NOTFOUND ? 0 : r;
}

int tenant_books_pin(store_t *s)
{
  int rc = setting_dir(s, pinned.dir, sizeof pinned.dir);
  pinned.on = !rc;
  return rc;
}

void tenant_books_unpin(void) { pinned.on = 0; }

void tenant_pricebooks_dir(const char *dir)
{
  pthread_mutex_lock(&mu);
  snprintf(override_dir, sizeof override_dir, "%s", dir ? dir : "");
  pthread_mutex_unlock(&mu);
}

int tenant_pricebooks_dir_record(store_t *s, const char *dir)
{
  char abs[PATH_MAX] = "";
  if (dir && dir[0] && !realpath(dir, abs)) return IMC_E_CONFIG;
  if (strlen(abs) >= sizeof override_dir) return IMC_E_CONFIG; /* longer than any reader takes */
  return store_meta_set(s, "pricebooks_dir", abs);
}

/* Load path (cached). NULL with *rc: IMC_E_NOTFOUND (no such file), else
 * IMC_E_BILL_BOOK with err. */
static const bill_book_t *load_cached(const char *path, int *rc, char *err, size_t cap)
{
  for (int i = 0; i < BOOKS_CACHED && cache[i].book; i++)
    if (!strcmp(cache[i].path, path)) return cache[i].book;
  FILE *f = fopen(path, "rb");
  if (!f) { *rc = IMC_E_NOTFOUND; return NULL; }
  char *text = NULL;
  size_t len = 0, got;
  char chunk[8192];
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    char *t = realloc(text, len + got + 1);
    if (!t) { free(text); fclose(f); *rc = IMC_E_NOMEM; return NULL; }
    memcpy((text = t) + len, chunk, got);
    len += got;
  }
  fclose(f);
  bill_book_t *b = NULL;
  char why[200];
  *rc = bill_book_load(text ? text : "", len, &b, why, sizeof why);
  free(text);
  if (*rc) { imc_errf(err, cap, IMC_E_BILL_BOOK, "price book %s: %s", path, why); *rc = IMC_E_BILL_BOOK; return NULL; }
  for (int i = 0; i < BOOKS_CACHED; i++)
    if (!cache[i].book) {
      snprintf(cache[i].path, sizeof cache[i].path, "%s", path);
      return cache[i].book = b;
    }
  bill_book_free(b);
  *rc = imc_errf(err, cap, IMC_E_BILL_BOOK, "more than %d operator price books", BOOKS_CACHED);
  return NULL;
}

/* dst = src, both 512 bytes (a bill run looks its book up per app: no printf) */
static void copy_dir(char dst[512], const char src[512])
{
  size_t n = strnlen(src, 511);
  memcpy(dst, src, n);
  dst[n] = 0;
}

/* P-50: whether app is on the original international scheme (*orig). */
static int original_intl(store_t *s, const store_app_t *a, bill_scheme_t scheme, int *orig)
{
  *orig = 0;
  if (scheme != BILL_SCHEME_INTL || !s) return 0;
  int64_t first;
  int rc = store_customer_first_app_created(s, a->customer_id, &first);
  if (!rc) *orig = bill_scheme_original_intl(first);
  return rc;
}

/* The book, or NULL with *rc and err. */
static const bill_book_t *resolve(store_t *s, const store_app_t *a, int *rc, char *err, size_t cap)
{
  bill_scheme_t scheme;
  if ((*rc = bill_scheme_parse(a->scheme, &scheme))) {
    imc_errf(err, cap, *rc, "app %u has an unknown scheme \"%s\"", a->sdkappid, a->scheme);
    return NULL;
  }
  int orig;
  if ((*rc = original_intl(s, a, scheme, &orig))) {
    imc_errf(err, cap, *rc, "the first app of customer %lld: %s", (long long)a->customer_id, imc_strerror(*rc));
    return NULL;
  }
  const char *file = orig ? "intl_original" : a->scheme;
  char dir[512] = "", path[600];
  pthread_mutex_lock(&mu);
  copy_dir(dir, override_dir);
  pthread_mutex_unlock(&mu);
  if (!dir[0] && pinned.on) copy_dir(dir, pinned.dir);
  else if (!dir[0] && s && (*rc = setting_dir(s, dir, sizeof dir))) return NULL;
  if (dir[0]) {
    snprintf(path, sizeof path, "%s/%s.json", dir, file);
    pthread_mutex_lock(&mu);
    const bill_book_t *b = load_cached(path, rc, err, cap);
    pthread_mutex_unlock(&mu);
    if (b) {
      if (bill_book_scheme(b) == scheme) return b;
      *rc = imc_errf(err, cap, IMC_E_BILL_BOOK, "price book %s is not a %s book", path, a->scheme);
      return NULL;
    }
    if (*rc != IMC_E_NOTFOUND) return NULL;
  }
  if (orig) {
    *rc = imc_errf(err, cap, IMC_E_BILL_BOOK,
                   "app %u is on the original international scheme (its customer %lld created an app before 2022-12-26, P-50): "
                   "no seed gives its prices; it is billed once the operator puts its book at %s/intl_original.json%s",
                   a->sdkappid, (long long)a->customer_id, dir[0] ? dir : "DIR",
                   dir[0] ? "" : " (DIR: imcloud serve --pricebooks-dir DIR, or imcloud bill --pricebooks DIR)");
    return NULL;
  }
  const bill_book_t *b = bill_book_builtin(scheme);
  *rc = b ? 0 : imc_errf(err, cap, IMC_E_BILL_BOOK, "built-in %s price book: %s", a->scheme, bill_book_builtin_error(scheme));
  return b;
}

int tenant_app_book(store_t *s, const store_app_t *a, const bill_book_t **book, char *err, size_t errcap)
{
  int rc = 0;
  if (errcap) err[0] = 0;
  *book = resolve(s, a, &rc, err, errcap);
  return *book ? 0 : rc ? rc : IMC_E_BILL_BOOK;
}

int tenant_book_is_operator(const bill_book_t *b)
{
  return b != bill_book_builtin(bill_book_scheme(b));
}
