/* num.c — see num.h. */
#include "util/num.h"

#include <stdio.h>
#include <string.h>
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

char *imc_fmt_group(int64_t v, char *buf, size_t cap)
{
  char tmp[32];
  size_t n, o = 0;
  if (!cap) return buf;
  uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  n = 0; /* the digits, most significant first, without printf (a bill formats several) */
  do { tmp[sizeof tmp - 1 - n++] = (char)('0' + a % 10); a /= 10; } while (a);
  memmove(tmp, tmp + sizeof tmp - n, n);
  if (v < 0 && o + 1 < cap) buf[o++] = '-';
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    buf[o++] = tmp[i];
    if ((n - i - 1) % 3 == 0 && i + 1 < n && o + 1 < cap) buf[o++] = ',';
  }
  buf[o] = 0;
  return buf;
}
