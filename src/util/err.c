/* err.c — lookups into the IMC_ERR_TABLE rows (see err.h). Pure, no state. */
#include <stdarg.h>
#include <stdio.h>
#include "util/err.h"

struct err_row { const char *name; int compat; const char *msg; };

static const struct err_row rows[] = {
#define IMC_ERR_ROW(name, compat, msg) { #name, compat, msg },
  IMC_ERR_TABLE(IMC_ERR_ROW)
#undef IMC_ERR_ROW
};

static const struct err_row *row_of(int err)
{
  int i = err - (IMC__ERR_BASE + 1);
  if (err >= 0 || i < 0 || i >= (int)(sizeof rows / sizeof rows[0])) return 0;
  return &rows[i];
}

const char *imc_strerror(int err)
{
  const struct err_row *r = row_of(err);
  if (err == 0) return "ok";
  return r ? r->msg : "unknown error";
}

const char *imc_err_name(int err)
{
  const struct err_row *r = row_of(err);
  if (err == 0) return "OK";
  return r ? r->name : "UNKNOWN";
}

int imc_err_compat(int err)
{
  const struct err_row *r = row_of(err);
  if (err == 0) return 0;
  return r ? r->compat : 70500;
}

int imc_errf(char *buf, size_t cap, int code, const char *fmt, ...)
{
  if (cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
  }
  return code;
}
