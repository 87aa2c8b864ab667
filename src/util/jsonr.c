/* jsonr.c — see jsonr.h. One iterative pass (no recursion: the open
 * containers are chained through their tokens' next field until they close),
 * one check per byte class; the refusals follow jansson 2.14's load.c and
 * utf.c rule for rule. */
#include "util/jsonr.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int hexval(unsigned char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The 4 hex digits at s[i..i+4) (i + 4 <= n checked by the caller), or -1. */
static int32_t hex4(const char *s)
{
  int32_t v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval((unsigned char)s[k]);
    if (h < 0) return -1;
    v = v << 4 | h;
  }
  return v;
}

/* The length of the valid UTF-8 sequence at s[i..n) starting with a byte
 * >= 0x80, or 0 (jansson utf8_check_first / utf8_check_full: no overlong
 * form, no surrogate, nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t i, size_t n)
{
  unsigned char c = s[i];
  size_t len;
  uint32_t v;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; }
  else return 0;
  if (n - i < len) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((s[i + k] & 0xC0) != 0x80) return 0;
    v = v << 6 | (s[i + k] & 0x3F);
  }
  if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000)) return 0;
  return len;
}

/* Bytes a string holds as they are: printable ASCII but the quote and the backslash. */
static const uint8_t plain[256] = {
  [0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,              /* 0x22 '"' */
  [0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  [0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  [0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,              /* 0x5C '\\' */
  [0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  [0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* The offset of the first byte of s[0..16) that is not plain (a quote, a
 * backslash, a control byte or a byte >= 0x80), or 16: one SSE2 compare per
 * class (signed bytes: >= 0x80 is negative, so "< 0x20" takes both). The
 * caller guarantees 16 readable bytes. */
#ifdef __SSE2__
static unsigned special16(const unsigned char *s)
{
  __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
  __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                           _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
  unsigned bits = (unsigned)_mm_movemask_epi8(m);
  return bits ? (unsigned)__builtin_ctz(bits) : 16;
}
#endif

/* Scan the string whose opening quote is at s[*p - 1]; on success *p is past
 * the closing quote and tok is filled. Plain bytes go sixteen per step where
 * sixteen remain in the input (SSE2), else one table load each. */
static int scan_string(const char *str, size_t n, size_t *p, jsonr_tok_t *tok)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = *p;
  tok->type = JSONR_STRING;
  tok->start = (uint32_t)i;
  tok->flags = 0;
  for (;;) {
#ifdef __SSE2__
    for (unsigned k; n - i >= 16; i += 16)
      if ((k = special16(s + i)) < 16) { i += k; break; }
#endif
    while (i < n && plain[s[i]]) i++; /* the common bytes (the last < 16 of the input), one table load each */
    if (i >= n) return JSONR_INVALID;
    unsigned char c = s[i];
    if (c == '"') break;
    if (c < 0x20) return JSONR_INVALID;
    if (c >= 0x80) {
      size_t l = utf8_len(s, i, n);
      if (!l) return JSONR_INVALID;
      i += l;
      continue;
    }
    tok->flags |= JSONR_F_ESCAPED;
    if (++i >= n) return JSONR_INVALID;
    c = s[i];
    if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') { i++; continue; }
    if (c != 'u' || n - i < 5) return JSONR_INVALID;
    int32_t v = hex4(str + i + 1);
    if (v < 0) return JSONR_INVALID;
    i += 5;
    if (v == 0) return JSONR_INVALID;                  /* \u0000: jansson without JSON_ALLOW_NUL */
    if (v >= 0xDC00 && v <= 0xDFFF) return JSONR_INVALID; /* a lone second surrogate */
    if (v >= 0xD800 && v <= 0xDBFF) {                  /* a first surrogate: its pair must follow */
      if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u') return JSONR_INVALID;
      int32_t v2 = hex4(str + i + 2);
      if (v2 < 0xDC00 || v2 > 0xDFFF) return JSONR_INVALID;
      i += 6;
    }
  }
  tok->len = (uint32_t)(i - tok->start);
  *p = i + 1;
  return JSONR_OK;
}

/* scan_string, with the common case inlined: a string of plain bytes that
 * ends within the next sixteen (a key, a short value) is found by one SSE2
 * step without a call. */
static inline __attribute__((always_inline)) int scan_str(const char *s, size_t n, size_t *p, jsonr_tok_t *tok)
{
#ifdef __SSE2__
  size_t i = *p;
  if (n - i >= 16) {
    unsigned k = special16((const unsigned char *)s + i);
    if (k < 16 && s[i + k] == '"') {
      tok->type = JSONR_STRING;
      tok->flags = 0;
      tok->start = (uint32_t)i;
      tok->len = k;
      *p = i + k + 1;
      return JSONR_OK;
    }
  }
#endif
  return scan_string(s, n, p, tok);
}

/* Integer text s[0..n) (grammar already checked) into *v; 0, or -1 when out of int64_t. */
static int int_of(const char *s, size_t n, int64_t *v)
{
  int neg = s[0] == '-';
  uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (size_t i = (size_t)neg; i < n; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (u > (lim - d) / 10) return -1;
    u = u * 10 + d;
  }
  *v = neg ? (int64_t)(0 - u) : (int64_t)u;
  return 0;
}

/* strtod of the real text s[0..n) (n <= JSONR_NUM_MAX_CHARS); *overflow as jansson's jsonp_strtod sees it. */
static double real_of(const char *s, size_t n, int *overflow)
{
  char b[JSONR_NUM_MAX_CHARS + 1];
  memcpy(b, s, n);
  b[n] = 0;
  errno = 0;
  double v = strtod(b, NULL);
  *overflow = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
  return v;
}

/* Scan the number at s[*p] (jansson lex_scan_number). */
static int scan_number(const char *s, size_t n, size_t *p, jsonr_tok_t *tok)
{
  size_t i = *p;
  tok->start = (uint32_t)i;
  tok->flags = 0;
  if (s[i] == '-') i++;
  if (i < n && s[i] == '0') {
    i++;
    if (i < n && is_digit((unsigned char)s[i])) return JSONR_INVALID;
  } else if (i < n && is_digit((unsigned char)s[i])) {
    while (i < n && is_digit((unsigned char)s[i])) i++;
  } else {
    return JSONR_INVALID;
  }
  int real = 0;
  if (i < n && s[i] == '.') {
    real = 1;
    if (++i >= n || !is_digit((unsigned char)s[i])) return JSONR_INVALID;
    while (i < n && is_digit((unsigned char)s[i])) i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    real = 1;
    if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || !is_digit((unsigned char)s[i])) return JSONR_INVALID;
    while (i < n && is_digit((unsigned char)s[i])) i++;
  }
  size_t len = i - tok->start;
  if (len > JSONR_NUM_MAX_CHARS) return JSONR_LIMIT;
  tok->type = real ? JSONR_REAL : JSONR_INTEGER;
  tok->len = (uint32_t)len;
  if (real) {
    int overflow;
    real_of(s + tok->start, len, &overflow);
    if (overflow) return JSONR_INVALID;                /* "real number overflow" */
  } else {
    int64_t v;
    if (int_of(s + tok->start, len, &v)) return JSONR_INVALID; /* "too big integer" */
  }
  *p = i;
  return JSONR_OK;
}

/* One decoded unit of string source s at *i (a plain byte, an escape, or a
 * surrogate pair: the text was validated): its UTF-8 bytes into out, their count. */
static size_t dec_unit(const char *s, size_t *i, char out[4])
{
  if (s[*i] != '\\') { out[0] = s[(*i)++]; return 1; }
  char c = s[*i + 1];
  *i += 2;
  switch (c) {
  case 'b': out[0] = '\b'; return 1;
  case 'f': out[0] = '\f'; return 1;
  case 'n': out[0] = '\n'; return 1;
  case 'r': out[0] = '\r'; return 1;
  case 't': out[0] = '\t'; return 1;
  case 'u': break;
  default: out[0] = c; return 1;                        /* " \ / */
  }
  uint32_t v = (uint32_t)hex4(s + *i);
  *i += 4;
  if (v >= 0xD800 && v <= 0xDBFF) {
    v = ((v - 0xD800) << 10) + ((uint32_t)hex4(s + *i + 2) - 0xDC00) + 0x10000;
    *i += 6;
  }
  if (v < 0x80) { out[0] = (char)v; return 1; }
  if (v < 0x800) { out[0] = (char)(0xC0 | v >> 6); out[1] = (char)(0x80 | (v & 0x3F)); return 2; }
  if (v < 0x10000) {
    out[0] = (char)(0xE0 | v >> 12); out[1] = (char)(0x80 | ((v >> 6) & 0x3F)); out[2] = (char)(0x80 | (v & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | v >> 18); out[1] = (char)(0x80 | ((v >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((v >> 6) & 0x3F)); out[3] = (char)(0x80 | (v & 0x3F));
  return 4;
}

/* Whether string tokens a and b decode to the same bytes. */
static int str_tok_eq(const jsonr_doc_t *d, const jsonr_tok_t *a, const jsonr_tok_t *b)
{
  if (!((a->flags | b->flags) & JSONR_F_ESCAPED)) /* length, then first byte, before a memcmp */
    return a->len == b->len && (!a->len || (d->s[a->start] == d->s[b->start] &&
                                            !memcmp(d->s + a->start, d->s + b->start, a->len)));
  size_t i = a->start, ie = a->start + a->len, j = b->start, je = b->start + b->len;
  char ua[4], ub[4];
  size_t na = 0, nb = 0, ka = 0, kb = 0;
  for (;;) {
    if (ka == na) { if (i == ie) break; na = dec_unit(d->s, &i, ua); ka = 0; }
    if (kb == nb) { if (j == je) return 0; nb = dec_unit(d->s, &j, ub); kb = 0; }
    if (ua[ka++] != ub[kb++]) return 0;
  }
  return kb == nb && j == je;
}

int jsonr__str_eq_escaped(const jsonr_doc_t *d, uint32_t i, const char *key, size_t klen)
{
  const jsonr_tok_t *t = &d->t[i];
  if (klen > t->len) return 0;
  size_t p = t->start, e = t->start + t->len, k = 0;
  char u[4];
  while (p < e) {
    size_t m = dec_unit(d->s, &p, u);
    if (m > klen - k || memcmp(u, key + k, m)) return 0;
    k += m;
  }
  return k == klen;
}

size_t jsonr_str(const jsonr_doc_t *d, uint32_t i, char *dst)
{
  const jsonr_tok_t *t = &d->t[i];
  if (!(t->flags & JSONR_F_ESCAPED)) { memcpy(dst, d->s + t->start, t->len); return t->len; }
  size_t p = t->start, e = t->start + t->len, k = 0;
  while (p < e) k += dec_unit(d->s, &p, dst + k);
  return k;
}

size_t jsonr_str_len(const jsonr_doc_t *d, uint32_t i)
{
  const jsonr_tok_t *t = &d->t[i];
  if (!(t->flags & JSONR_F_ESCAPED)) return t->len;
  size_t p = t->start, e = t->start + t->len, k = 0;
  char u[4];
  while (p < e) k += dec_unit(d->s, &p, u);
  return k;
}

int64_t jsonr_int(const jsonr_doc_t *d, uint32_t i)
{
  int64_t v = 0;
  (void)int_of(d->s + d->t[i].start, d->t[i].len, &v); /* in range: checked by the parse */
  return v;
}

double jsonr_num(const jsonr_doc_t *d, uint32_t i)
{
  int overflow;
  if (d->t[i].type == JSONR_INTEGER) return (double)jsonr_int(d, i);
  return real_of(d->s + d->t[i].start, d->t[i].len, &overflow);
}

uint32_t jsonr_get(const jsonr_doc_t *d, uint32_t obj, const char *key)
{
  if (obj >= d->ntok || d->t[obj].type != JSONR_OBJECT) return JSONR_NONE;
  size_t klen = strlen(key);
  uint32_t k = obj + 1;
  for (uint32_t m = 0; m < d->t[obj].len; m++, k = d->t[k + 1].next) {
    if (jsonr_str_eq(d, k, key, klen)) return k + 1;
  }
  return JSONR_NONE;
}

/* Whether key token k repeats a key of its object (container token obj). */
static int dup_key(const jsonr_doc_t *d, uint32_t obj, uint32_t k)
{
  for (uint32_t j = obj + 1; j < k; j = d->t[j + 1].next)
    if (str_tok_eq(d, &d->t[j], &d->t[k])) return 1;
  return 0;
}

/* Past the whitespace at s[i..n) (noted in d->spaced). Inlined: compact
 * text has none, and then this is one compare. */
static inline __attribute__((always_inline)) size_t skip_ws(jsonr_doc_t *d, const char *s, size_t n, size_t i)
{
  if (i < n && (unsigned char)s[i] > ' ') return i;
  size_t from = i;
  while (i < n && is_ws((unsigned char)s[i])) i++;
  if (i != from) d->spaced = 1;
  return i;
}

uint32_t jsonr_end_compact(const jsonr_doc_t *d, uint32_t i)
{
  if (d->spaced) return 0;
  uint32_t end = d->t[i].next, last = end - 1;
  const jsonr_tok_t *t = &d->t[last]; /* the subtree's last token: a leaf, or an empty container */
  uint32_t e = t->start + t->len + (t->type == JSONR_STRING); /* a string's closing quote */
  if (t->type == JSONR_OBJECT || t->type == JSONR_ARRAY) e = t->start + 1;
  for (uint32_t k = i; k <= last; k++) /* the containers closing at the subtree's end: brackets one after another */
    if ((d->t[k].type == JSONR_OBJECT || d->t[k].type == JSONR_ARRAY) && d->t[k].next == end) e++;
  return e;
}

int jsonr_parse(jsonr_doc_t *d, const char *s, size_t n, jsonr_tok_t *toks, uint32_t cap)
{
  d->s = s;
  d->n = n;
  d->t = toks;
  d->ntok = 0;
  d->cap = cap;
  d->spaced = 0;
  if (n >= UINT32_MAX) return JSONR_LIMIT;
  uint32_t cur = JSONR_NONE; /* the innermost open container; its next holds its parent's index until it closes */
  uint32_t depth = 0;        /* open containers */
  size_t p = 0;
  int rc;
value:
  p = skip_ws(d, s, n, p);
  if (p >= n || depth + 1 > JSONR_MAX_DEPTH) return JSONR_INVALID; /* jansson: "maximum parsing depth reached" */
  if (d->ntok == cap) return JSONR_LIMIT;
  {
    uint32_t ti = d->ntok++;
    jsonr_tok_t *t = &toks[ti];
    if (cur != JSONR_NONE && toks[cur].type == JSONR_ARRAY) toks[cur].len++;
    unsigned char c = (unsigned char)s[p];
    switch (c) {
    case '{':
    case '[':
      *t = (jsonr_tok_t){ (uint32_t)p, 0, cur, c == '{' ? JSONR_OBJECT : JSONR_ARRAY, 0 };
      cur = ti;
      depth++;
      p = skip_ws(d, s, n, p + 1);
      if (p < n && s[p] == (c == '{' ? '}' : ']')) { p++; goto close; }
      if (c == '{') goto key;
      goto value;
    case '"':
      p++;
      if ((rc = scan_str(s, n, &p, t))) return rc;
      break;
    case 't': case 'f': case 'n': {
      static const char *const lit[] = { "true", "false", "null" };
      static const uint8_t type[] = { JSONR_TRUE, JSONR_FALSE, JSONR_NULL };
      int k = c == 't' ? 0 : c == 'f' ? 1 : 2;
      size_t l = strlen(lit[k]);
      if (n - p < l || memcmp(s + p, lit[k], l)) return JSONR_INVALID;
      *t = (jsonr_tok_t){ (uint32_t)p, (uint32_t)l, 0, type[k], 0 };
      p += l;
      break;
    }
    default:
      if (c != '-' && !is_digit(c)) return JSONR_INVALID;
      if ((rc = scan_number(s, n, &p, t))) return rc;
    }
    t->next = ti + 1;
  }
after:
  if (cur == JSONR_NONE) return skip_ws(d, s, n, p) == n ? JSONR_OK : JSONR_INVALID; /* "end of file expected" */
  p = skip_ws(d, s, n, p);
  if (p >= n) return JSONR_INVALID;
  if (s[p] == ',') { p++; if (toks[cur].type == JSONR_OBJECT) goto key; goto value; }
  if (s[p] != (toks[cur].type == JSONR_OBJECT ? '}' : ']')) return JSONR_INVALID;
  p++;
close: {
    uint32_t parent = toks[cur].next;
    toks[cur].next = d->ntok;
    cur = parent;
    depth--;
    goto after;
  }
key:
  p = skip_ws(d, s, n, p);
  if (p >= n || s[p] != '"') return JSONR_INVALID;
  if (d->ntok == cap) return JSONR_LIMIT;
  {
    uint32_t ki = d->ntok++;
    p++;
    if ((rc = scan_str(s, n, &p, &toks[ki]))) return rc;
    toks[ki].next = ki + 1;
    if (dup_key(d, cur, ki)) return JSONR_INVALID;    /* JSON_REJECT_DUPLICATES */
    toks[cur].len++;
  }
  p = skip_ws(d, s, n, p);
  if (p >= n || s[p] != ':') return JSONR_INVALID;
  p++;
  goto value;
}
