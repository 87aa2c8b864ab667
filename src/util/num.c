/* num.c — see num.h. */
#include "util/num.h"
#include "util/err.h"

#include <ctype.h>

int imc_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
  int neg = 0;
  uint64_t v = 0;
  if (!s || !*s) return IMC_E_INVAL;
  if (*s == '-') { neg = 1; s++; }
  if (!*s) return IMC_E_INVAL;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s)) return IMC_E_INVAL;
    uint64_t d = (uint64_t)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return IMC_E_RANGE;
    v = v * 10 + d;
  }
  if (!neg && v > (uint64_t)INT64_MAX) return IMC_E_RANGE;
  if (neg && v > (uint64_t)INT64_MAX + 1) return IMC_E_RANGE;
  int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
  if (r < min || r > max) return IMC_E_RANGE;
  *out = r;
  return 0;
}
