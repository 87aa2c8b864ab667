/* Unit tests for util/jsonr: the reader against jansson 2.14, the reference
 * it must agree with. Every document is parsed by both (jansson with
 * JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, the flags the reader mirrors):
 * accept/refuse must agree, and when both accept, the values read through
 * jsonr_get/jsonr_str/jsonr_int/jsonr_num must build the same tree in the
 * same member order. Cases: a table of the edges (each refusal rule of
 * jsonr.h and its accepted neighbour), then random documents and random
 * mutations of them (byte flips, inserted structural characters, cuts). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/jsonr.h"
#include "util/jsonw.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP 8192
static jsonr_tok_t toks[CAP];

/* The jansson tree of token i (test-side converter through the public reading functions). */
static json_t *tree(const jsonr_doc_t *d, uint32_t i)
{
  const jsonr_tok_t *t = &d->t[i];
  switch (t->type) {
  case JSONR_OBJECT: {
    json_t *o = json_object();
    uint32_t k = i + 1;
    for (uint32_t m = 0; m < t->len; m++, k = d->t[k + 1].next) {
      char *key = malloc(d->t[k].len + 1);
      size_t n = jsonr_str(d, k, key);
      key[n] = 0;
      assert_int_equal(strlen(key), n); /* no NUL in a key */
      assert_int_equal(jsonr_get(d, i, key), k + 1);
      json_object_set_new(o, key, tree(d, k + 1));
      free(key);
    }
    assert_int_equal(k, t->next);
    return o;
  }
  case JSONR_ARRAY: {
    json_t *a = json_array();
    uint32_t k = i + 1;
    for (uint32_t m = 0; m < t->len; m++, k = d->t[k].next) json_array_append_new(a, tree(d, k));
    assert_int_equal(k, t->next);
    return a;
  }
  case JSONR_STRING: {
    char *b = malloc(t->len + 1);
    size_t n = jsonr_str(d, i, b);
    assert_true(jsonr_str_eq(d, i, b, n));
    assert_int_equal(jsonr_str_len(d, i), n);
    json_t *s = json_stringn(b, n);
    assert_non_null(s); /* valid UTF-8 */
    free(b);
    return s;
  }
  case JSONR_INTEGER: return json_integer(jsonr_int(d, i));
  case JSONR_REAL: return json_real(jsonr_num(d, i));
  case JSONR_TRUE: return json_true();
  case JSONR_FALSE: return json_false();
  case JSONR_NULL: return json_null();
  }
  fail_msg("bad token type %d", t->type);
  return NULL;
}

static char *dump(const json_t *v)
{
  jsonw_t w;
  jsonw_init(&w, 1 << 26);
  jsonw_json(&w, v);
  size_t n;
  char *s = jsonw_take(&w, &n);
  assert_non_null(s);
  return s;
}

/* jansson 2.14 loses a NUL byte that ends a number or a literal (its
 * lexer's unget of a 0 byte reads past it: "[1\0]" loads as [1]); jsonr
 * refuses every NUL byte outside a string, as RFC 8259 does. Whether s is
 * such a case: it holds a NUL, and is accepted once the NUL bytes that follow
 * a digit or a letter are taken out. */
static int nul_quirk(const char *s, size_t n)
{
  if (!memchr(s, 0, n)) return 0;
  char *b = malloc(n);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!s[i] && m && ((b[m - 1] >= '0' && b[m - 1] <= '9') || (b[m - 1] >= 'a' && b[m - 1] <= 'z'))) continue;
    b[m++] = s[i];
  }
  jsonr_doc_t d;
  int rc = jsonr_parse(&d, b, m, toks, CAP);
  free(b);
  return rc == JSONR_OK;
}

/* Parse s[0..n) with both; assert they agree. Returns jsonr's verdict. */
static int agree(const char *s, size_t n)
{
  jsonr_doc_t d;
  int rc = jsonr_parse(&d, s, n, toks, CAP);
  json_error_t err;
  json_t *j = json_loadb(s, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
  if (rc == JSONR_LIMIT) { json_decref(j); return rc; }
  if (rc == JSONR_INVALID && j && nul_quirk(s, n)) { json_decref(j); return rc; }
  if ((rc == JSONR_OK) != (j != NULL)) {
    for (size_t i = 0; i < n && i < 200; i++) fprintf(stderr, "%02x ", (unsigned char)s[i]);
    fprintf(stderr, "\n");
    fail_msg("disagree on %.*s: jsonr %d, jansson %s (%s)", (int)(n > 200 ? 200 : n), s, rc, j ? "accepts" : "refuses",
             j ? "" : err.text);
  }
  if (j) {
    json_t *mine = tree(&d, 0);
    assert_int_equal(d.t[0].next, d.ntok);
    char *a = dump(mine), *b = dump(j);
    if (strcmp(a, b)) fail_msg("values differ on %.*s: %s vs %s", (int)(n > 200 ? 200 : n), s, a, b);
    assert_true(json_equal(mine, j));
    free(a);
    free(b);
    json_decref(mine);
    json_decref(j);
  }
  return rc;
}

/* A string's special bytes at every offset 0..23 behind plain filler and
 * before 0..9 more (where a scan by blocks of 8 would cross a block edge): a quote
 * ending it early, an escape, a control character, valid and broken UTF-8,
 * the bytes next to the special ones ('!' 0x21, '#' 0x23, '[' 0x5b, ']'
 * 0x5d, 0x1f, 0x7f). Both readers agree on each, and the decoded value. */
static void test_string_blocks(void **st)
{
  (void)st;
  static const char *const special[] = { "\"", "\\n", "\\\"", "\x01", "\x1f", "\t", "\xc3\xa9", "\xe4\xb8\x87",
                                         "\xc3", "\xff", "!", "#", "[", "]", "\x7f", "\\u00e9", "\\", "\x20" };
  char doc[80];
  size_t checked = 0, ok = 0;
  for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
    for (size_t at = 0; at < 24; at++)
      for (size_t tail = 0; tail < 10; tail++) {
        size_t n = 0;
        doc[n++] = '"';
        for (size_t i = 0; i < at; i++) doc[n++] = (char)('a' + i % 26);
        size_t sl = strlen(special[k]);
        memcpy(doc + n, special[k], sl);
        n += sl;
        for (size_t i = 0; i < tail; i++) doc[n++] = 'z';
        doc[n++] = '"';
        ok += agree(doc, n) == JSONR_OK;
        checked++;
      }
  assert_int_equal(checked, 18 * 24 * 10);
  assert_int_equal(ok, 11 * 24 * 10); /* a bare quote, a lone backslash, 0x01, 0x1f, a tab, 0xc3, 0xff refused */
}

/* The sixteen-byte scan (SSE2) and its inlined short-string case: a string
 * with a special byte at every offset 0..39, inside a document that goes on
 * for 0..19 bytes after it (so that a window of sixteen crosses the closing
 * quote into what follows: spaces, or more members whose bytes are special
 * themselves), as a value and as a key. */
static void test_string_windows(void **st)
{
  (void)st;
  static const char *const special[] = { "\"", "\\n", "\\\"", "\x01", "\x1f", "\xc3\xa9", "\xf0\x9f\x98\x80",
                                         "\xc3", "\xff", "\x7f", "\\u00e9", "\x20", "" };
  static const char *const after[] = { "", " ", "                   ", ",\"\\\"q\":1", ",\"\xc3\xa9\\n\":\"\x01\"" };
  char doc[160];
  size_t checked = 0, ok = 0;
  for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
    for (size_t at = 0; at < 40; at++)
      for (size_t a = 0; a < sizeof after / sizeof after[0]; a++)
        for (int as_key = 0; as_key < 2; as_key++) {
          size_t n = 0;
          n += (size_t)sprintf(doc + n, as_key ? "{\"" : "{\"v\":\"");
          for (size_t i = 0; i < at; i++) doc[n++] = (char)('a' + i % 26);
          n += (size_t)sprintf(doc + n, "%s\"", special[k]);
          if (as_key) n += (size_t)sprintf(doc + n, ":0");
          n += (size_t)sprintf(doc + n, "%s}", after[a]);
          ok += agree(doc, n) == JSONR_OK;
          checked++;
        }
  assert_int_equal(checked, 13 * 40 * 5 * 2);
  /* refused: a bare quote, 0x01, 0x1f, 0xc3, 0xff; and every document whose
   * tail holds the raw 0x01 */
  assert_int_equal(ok, 8 * 40 * 4 * 2);
}

static void test_edges(void **st)
{
  (void)st;
  static const struct { const char *doc; int ok; } cases[] = {
    { "{}", 1 }, { "[]", 1 }, { " {\"a\" : [ 1 , 2 ] } \n", 1 }, { "1", 1 }, { "\"x\"", 1 }, { "null", 1 },
    { "", 0 }, { " ", 0 }, { "{", 0 }, { "}", 0 }, { "[1,]", 0 }, { "{\"a\":1,}", 0 }, { "{,}", 0 }, { "[,]", 0 },
    { "{\"a\"}", 0 }, { "{\"a\":}", 0 }, { "{1:2}", 0 }, { "[1 2]", 0 }, { "{} {}", 0 }, { "{}x", 0 },
    { "tru", 0 }, { "truex", 0 }, { "[true1]", 0 }, { "nul", 0 }, { "True", 0 }, { "\v1", 0 }, { "\f[]", 0 },
    /* numbers */
    { "0", 1 }, { "-0", 1 }, { "-", 0 }, { "01", 0 }, { "-01", 0 }, { "1.", 0 }, { ".5", 0 }, { "+1", 0 },
    { "1e", 0 }, { "1e+", 0 }, { "1E+2", 1 }, { "1e-2", 1 }, { "0.5e0", 1 }, { "1.5.3", 0 }, { "0x1", 0 },
    { "9223372036854775807", 1 }, { "9223372036854775808", 0 }, { "-9223372036854775808", 1 },
    { "-9223372036854775809", 0 }, { "99999999999999999999999", 0 }, { "1e308", 1 }, { "1e309", 0 },
    { "-1e309", 0 }, { "1e-400", 1 }, { "123456789012345678901234567890.5", 1 }, { "Infinity", 0 }, { "NaN", 0 },
    /* strings */
    { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 1 }, { "\"\\x\"", 0 }, { "\"\\'\"", 0 }, { "\"\\u00e9\"", 1 },
    { "\"\\u00E9\"", 1 }, { "\"\\u00g9\"", 0 }, { "\"\\u00e\"", 0 }, { "\"\\u0000\"", 0 }, { "\"\\u0001\"", 1 },
    { "\"\\ud83d\\ude00\"", 1 }, { "\"\\ud83d\"", 0 }, { "\"\\ude00\"", 0 }, { "\"\\ud83d\\u0041\"", 0 },
    { "\"\\ud83dx\"", 0 }, { "\"\\ud83d\\ud83d\"", 0 }, { "\"\\uDBFF\\uDFFF\"", 1 }, { "\"a\nb\"", 0 },
    { "\"a\tb\"", 0 }, { "\"a\x1f\"", 0 }, { "\"a\x7f\"", 1 }, { "\"abc", 0 }, { "\"\\", 0 }, { "\"\\u12", 0 },
    /* UTF-8 */
    { "\"\xc3\xa9\"", 1 }, { "\"\xe4\xb8\x87\"", 1 }, { "\"\xf0\x9f\x98\x80\"", 1 }, { "\"\xc0\xaf\"", 0 },
    { "\"\xc1\xbf\"", 0 }, { "\"\xe0\x80\xaf\"", 0 }, { "\"\xf0\x80\x80\xaf\"", 0 }, { "\"\xed\xa0\x80\"", 0 },
    { "\"\xf4\x90\x80\x80\"", 0 }, { "\"\xf5\x80\x80\x80\"", 0 }, { "\"\x80\"", 0 }, { "\"\xc3\"", 0 },
    { "\"\xc3\x28\"", 0 }, { "\"\xef\xbf\xbf\"", 1 }, { "\"\xf4\x8f\xbf\xbf\"", 1 }, { "\xc3\xa9", 0 },
    { "\xef\xbb\xbf{}", 0 },
    /* keys */
    { "{\"a\":1,\"a\":2}", 0 }, { "{\"a\":1,\"\\u0061\":2}", 0 }, { "{\"\\u00e9\":1,\"\xc3\xa9\":2}", 0 },
    { "{\"a\":1,\"b\":{\"a\":2}}", 1 }, { "{\"\":1}", 1 }, { "{\"\":1,\"\":2}", 0 }, { "{\"a\\u0000\":1}", 0 },
    { "{\"ab\":1,\"a\":2,\"abc\":3}", 1 }, { "[{\"a\":1},{\"a\":1}]", 1 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = agree(cases[i].doc, strlen(cases[i].doc));
    if ((rc == JSONR_OK) != cases[i].ok) fail_msg("case %zu %s: jsonr %d", i, cases[i].doc, rc);
  }
  /* a NUL byte anywhere */
  assert_int_equal(agree("\"a\0b\"", 5), JSONR_INVALID);
  assert_int_equal(agree("[1]\0", 4), JSONR_INVALID);
  assert_int_equal(agree("[1\0]", 4), JSONR_INVALID);   /* jansson's quirk: it loads [1] */
  assert_int_equal(agree("[true\0]", 7), JSONR_INVALID);
}

/* JSONR_MAX_DEPTH: a value nested in 2047 arrays is accepted, in 2048 refused (jansson counts the value itself). */
static void test_depth(void **st)
{
  (void)st;
  static char b[2 * 2100 + 8];
  for (int levels = 2046; levels <= 2049; levels++) {
    for (int scalar = 0; scalar < 2; scalar++) {
      size_t n = 0;
      for (int i = 0; i < levels; i++) b[n++] = '[';
      if (scalar) b[n++] = '1';
      for (int i = 0; i < levels; i++) b[n++] = ']';
      int rc = agree(b, n);
      int want = scalar ? levels + 1 <= JSONR_MAX_DEPTH : levels <= JSONR_MAX_DEPTH;
      assert_int_equal(rc == JSONR_OK, want);
    }
  }
}

static void test_limits(void **st)
{
  (void)st;
  jsonr_doc_t d;
  jsonr_tok_t few[3];
  assert_int_equal(jsonr_parse(&d, "[1,2]", 5, few, 3), JSONR_OK);
  assert_int_equal(jsonr_parse(&d, "[1,2,3]", 7, few, 3), JSONR_LIMIT);
  assert_int_equal(jsonr_parse(&d, "[1,2,", 5, few, 3), JSONR_INVALID);
  char num[JSONR_NUM_MAX_CHARS + 2];
  memset(num, '1', sizeof num);
  assert_int_equal(jsonr_parse(&d, num, JSONR_NUM_MAX_CHARS + 1, few, 3), JSONR_LIMIT);
  memcpy(num, "0.", 2);
  assert_int_equal(jsonr_parse(&d, num, JSONR_NUM_MAX_CHARS, few, 3), JSONR_OK);
  /* lookups */
  const char *doc = "{\"op\":\"send\",\"o\\u0070\\u0031\":2,\"\\u00e9\":[true]}";
  assert_int_equal(jsonr_parse(&d, doc, strlen(doc), toks, CAP), JSONR_OK);
  assert_int_equal(jsonr_get(&d, 0, "op"), 2);
  assert_true(jsonr_str_eq(&d, 2, "send", 4));
  assert_false(jsonr_str_eq(&d, 2, "sen", 3));
  assert_false(jsonr_str_eq(&d, 2, "sends", 5));
  assert_int_equal(jsonr_int(&d, jsonr_get(&d, 0, "op1")), 2);
  assert_int_equal(jsonr_get(&d, 0, "op2"), JSONR_NONE);
  assert_int_equal(d.t[jsonr_get(&d, 0, "\xc3\xa9")].type, JSONR_ARRAY);
  assert_int_equal(jsonr_get(&d, 2, "op"), JSONR_NONE); /* not an object */
}

/* ---- random documents ------------------------------------------------------------ */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
  rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
  return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

typedef struct { char *b; size_t n, cap; } buf_t;
static void put(buf_t *b, const char *s, size_t n)
{
  if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 64; b->b = realloc(b->b, b->cap); }
  memcpy(b->b + b->n, s, n);
  b->n += n;
}
static void put_str(buf_t *b, const char *s) { put(b, s, strlen(s)); }

static void ws(buf_t *b)
{
  static const char *const w[] = { "", "", "", " ", "\n", "\t ", "\r\n" };
  put_str(b, w[rnd(7)]);
}

static void gen_string(buf_t *b)
{
  static const char *const parts[] = { "a", "b", "ab", "MsgType", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\u0041",
                                       "\\u00e9", "\xc3\xa9", "\xe4\xb8\x87", "\xf0\x9f\x98\x80", "\\ud83d\\ude00",
                                       "\\u0061", " ", "\x7f", "\\uFFFF", "\\u001f" };
  put_str(b, "\"");
  for (uint32_t i = 0, n = rnd(5); i < n; i++) put_str(b, parts[rnd(sizeof parts / sizeof parts[0])]);
  put_str(b, "\"");
}

static void gen_value(buf_t *b, int depth)
{
  static const char *const scalars[] = { "0", "-0", "1", "-1", "42", "2147483647", "4294967295", "-9223372036854775808",
                                         "9223372036854775807", "1.5", "-0.25", "1e3", "2E-3", "1.0", "6.02e23",
                                         "true", "false", "null" };
  uint32_t k = depth > 4 ? rnd(3) : rnd(6);
  if (k == 0) { gen_string(b); return; }
  if (k <= 2) { put_str(b, scalars[rnd(sizeof scalars / sizeof scalars[0])]); return; }
  int obj = k == 3 || k == 5;
  put_str(b, obj ? "{" : "[");
  uint32_t n = rnd(5);
  char used[8][16];
  for (uint32_t i = 0; i < n; i++) {
    const char *key = NULL;
    if (obj) { /* keys mostly distinct ("\u0061" is "a"): a duplicate now and then */
      static const char *const keys[] = { "a", "b", "c", "MsgType", "MsgContent", "Text", "\\u0061", "id", "" };
      key = keys[rnd(sizeof keys / sizeof keys[0])];
      const char *plain = strcmp(key, "\\u0061") ? key : "a";
      int dup = 0;
      for (uint32_t j = 0; j < i && j < 8; j++) dup |= !strcmp(used[j], plain);
      if (dup && rnd(8)) { i--; n--; continue; }
      if (i < 8) snprintf(used[i], sizeof used[i], "%s", plain);
    }
    ws(b);
    if (i) { put_str(b, ","); ws(b); }
    if (obj) {
      put_str(b, "\""); put_str(b, key); put_str(b, "\""); ws(b); put_str(b, ":"); ws(b);
    }
    gen_value(b, depth + 1);
  }
  ws(b);
  put_str(b, obj ? "}" : "]");
}

static void mutate(buf_t *b)
{
  static const char alphabet[] = "{}[],:\"\\u0123456789abcdefABCDEF-+.eEtrnl \t\n\x00\x01\x1f\x7f\x80\xbf\xc0\xc3\xe0\xed\xf0\xf4\xf5\xff";
  for (uint32_t m = 0, n = 1 + rnd(3); m < n && b->n; m++) {
    size_t at = rnd((uint32_t)b->n);
    switch (rnd(4)) {
    case 0: b->b[at] = alphabet[rnd(sizeof alphabet - 1)]; break;
    case 1: memmove(b->b + at, b->b + at + 1, b->n - at - 1); b->n--; break;
    case 2: { char c = alphabet[rnd(sizeof alphabet - 1)]; put(b, "", 0); put(b, &c, 1);
              memmove(b->b + at + 1, b->b + at, b->n - at - 1); b->b[at] = c; break; }
    default: b->n = at; break;
    }
  }
}

static void test_random(void **st)
{
  (void)st;
  buf_t b = { 0 };
  size_t ok = 0, bad = 0;
  for (int i = 0; i < 60000; i++) {
    b.n = 0;
    gen_value(&b, 0);
    if (agree(b.b, b.n) == JSONR_OK) ok++;
    mutate(&b);
    if (agree(b.b, b.n) == JSONR_INVALID) bad++;
  }
  print_message("random: %zu of 60000 generated accepted, %zu mutated refused\n", ok, bad);
  /* both outcomes are exercised */
  assert_true(ok > 40000);
  assert_true(bad > 10000);
  free(b.b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_string_blocks),
    cmocka_unit_test(test_string_windows),
    cmocka_unit_test(test_edges),
    cmocka_unit_test(test_depth),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
