/* num.h — strict number parsing (never atoi): the whole string must be a
 * decimal integer within [min, max]; leading '+', spaces, trailing garbage,
 * empty strings and overflow are errors. And the one digit-grouping
 * formatter every human table uses. Pure. */
#ifndef IMC_UTIL_NUM_H
#define IMC_UTIL_NUM_H

#include <stddef.h>
#include <stdint.h>

/* 0 and *out set, or IMC_E_INVAL (not a number) / IMC_E_RANGE (out of range). */
int imc_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Ceil division for non-negative a and positive b: the "partial block rounds
 * up" rule used throughout pricing.md. */
static inline int64_t imc_ceil_div(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

/* Format v with thousands separators ("-1,234,567") into buf (truncated to
 * cap - 1 bytes, always NUL-terminated when cap > 0); returns buf. */
char *imc_fmt_group(int64_t v, char *buf, size_t cap);

#endif
