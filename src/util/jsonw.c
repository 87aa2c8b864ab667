/* jsonw.c — see jsonw.h. */
#include "util/jsonw.h"
#include "util/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(jsonw_t *w, size_t max_bytes)
{
  memset(w, 0, sizeof *w);
  w->max_bytes = max_bytes;
}

void jsonw_reset(jsonw_t *w)
{
  w->len = 0;
  w->failed = 0;
  if (w->buf) w->buf[0] = 0;
}

void jsonw_free(jsonw_t *w)
{
  free(w->buf);
  jsonw_init(w, w->max_bytes);
}

/* Room for n more bytes and the NUL; 0, or -1 after setting failed. */
static int room(jsonw_t *w, size_t n)
{
  if (w->failed) return -1;
  if (n > w->max_bytes - w->len) { w->failed = IMC_E_TOOBIG; return -1; }
  size_t need = w->len + n + 1;
  if (need <= w->cap) return 0;
  size_t ncap = w->cap ? w->cap : 256;
  while (ncap < need) ncap *= 2;
  if (ncap > w->max_bytes + 1) ncap = w->max_bytes + 1;
  char *b = realloc(w->buf, ncap);
  if (!b) { w->failed = IMC_E_NOMEM; return -1; }
  w->buf = b;
  w->cap = ncap;
  return 0;
}

void jsonw__raw(jsonw_t *w, const char *s, size_t n)
{
  if (room(w, n)) return;
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = 0;
}

void jsonw__str(jsonw_t *w, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF"; /* jansson writes \u%04X */
  if (room(w, n + 2)) return;
  w->buf[w->len++] = '"';
  size_t run = 0; /* bytes of s[run..i) not yet copied need no escape */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    char esc[6] = { '\\', 0 };
    size_t el = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default: memcpy(esc + 1, "u00", 3); esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; el = 6;
    }
    /* the run before it, then the escape (which is longer than the byte by el - 1) */
    memcpy(w->buf + w->len, s + run, i - run);
    w->len += i - run;
    run = i + 1;
    if (room(w, (n - i) + el + 1)) return;
    memcpy(w->buf + w->len, esc, el);
    w->len += el;
  }
  memcpy(w->buf + w->len, s + run, n - run);
  w->len += n - run;
  w->buf[w->len++] = '"';
  w->buf[w->len] = 0;
}

/* The digits of v ending at end (20 bytes before it at most); returns the first. */
static char *u64_digits(uint64_t v, char *end)
{
  /* two digits per division (a message's frames carry a dozen numbers) */
  static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                              "8081828384858687888990919293949596979899";
  char *at = end;
  while (v > UINT32_MAX) { /* 64-bit divisions only for the high digits of a big value */
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    at -= 2;
    memcpy(at, pairs + 2 * r, 2);
  }
  uint32_t x = (uint32_t)v; /* a message's numbers (seq, random, time) fit 32 bits: cheaper divisions */
  while (x >= 100) {
    unsigned r = x % 100;
    x /= 100;
    at -= 2;
    memcpy(at, pairs + 2 * r, 2);
  }
  if (x >= 10) { at -= 2; memcpy(at, pairs + 2 * x, 2); }
  else *--at = (char)('0' + x);
  return at;
}

void jsonw_u64(jsonw_t *w, uint64_t v)
{
  char tmp[20], *at = u64_digits(v, tmp + sizeof tmp);
  jsonw_raw(w, at, (size_t)(tmp + sizeof tmp - at));
}

const char *jsonw_i64_text(int64_t v, char buf[JSONW_INT_MAX_CHARS], size_t *n)
{
  char *end = buf + JSONW_INT_MAX_CHARS, *at = u64_digits(v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, end);
  if (v < 0) *--at = '-';
  *n = (size_t)(end - at);
  return at;
}

void jsonw_i64(jsonw_t *w, int64_t v)
{
  char tmp[JSONW_INT_MAX_CHARS];
  size_t n;
  const char *at = jsonw_i64_text(v, tmp, &n);
  jsonw_raw(w, at, n);
}

/* A real as jansson 2.14 writes it at its default precision (strconv.c
 * jsonp_dtostr): "%.17g", ".0" added when it would read back as an integer,
 * the exponent without '+' and leading zeros. */
void jsonw_real(jsonw_t *w, double v)
{
  char b[40];
  if (!isfinite(v)) { if (!w->failed) w->failed = IMC_E_INVAL; return; }
  int n = snprintf(b, sizeof b - 3, "%.17g", v);
  if (n < 0 || (size_t)n >= sizeof b - 3) { if (!w->failed) w->failed = IMC_E_INVAL; return; }
  size_t len = (size_t)n;
  if (!strchr(b, '.') && !strchr(b, 'e')) { memcpy(b + len, ".0", 3); len += 2; }
  char *e = strchr(b, 'e');
  if (e) {
    char *start = e + 1, *end = e + 2;
    if (*start == '-') start++;
    while (*end == '0') end++;
    if (end != start) {
      memmove(start, end, len - (size_t)(end - b) + 1);
      len -= (size_t)(end - start);
    }
  }
  jsonw_raw(w, b, len);
}

void jsonw_json(jsonw_t *w, const json_t *v)
{
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    const char *k;
    json_t *x;
    int first = 1;
    jsonw_lit(w, "{");
    json_object_foreach((json_t *)v, k, x) {
      if (!first) jsonw_lit(w, ",");
      first = 0;
      jsonw_str(w, k, strlen(k));
      jsonw_lit(w, ":");
      jsonw_json(w, x);
    }
    jsonw_lit(w, "}");
    return;
  }
  case JSON_ARRAY:
    jsonw_lit(w, "[");
    for (size_t i = 0, n = json_array_size(v); i < n; i++) {
      if (i) jsonw_lit(w, ",");
      jsonw_json(w, json_array_get(v, i));
    }
    jsonw_lit(w, "]");
    return;
  case JSON_STRING: jsonw_str(w, json_string_value(v), json_string_length(v)); return;
  case JSON_INTEGER: jsonw_i64(w, json_integer_value(v)); return;
  case JSON_REAL: jsonw_real(w, json_real_value(v)); return;
  case JSON_TRUE: jsonw_lit(w, "true"); return;
  case JSON_FALSE: jsonw_lit(w, "false"); return;
  case JSON_NULL: jsonw_lit(w, "null"); return;
  }
}

char *jsonw_take(jsonw_t *w, size_t *len)
{
  if (w->failed || (!w->buf && room(w, 0))) return NULL;
  char *t = w->buf;
  *len = w->len;
  size_t max = w->max_bytes;
  jsonw_init(w, max);
  return t;
}
