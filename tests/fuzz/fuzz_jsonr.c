/* libFuzzer target: util/jsonr against jansson, the reference it mirrors.
 * Arbitrary bytes are parsed by both (jansson with JSON_DECODE_ANY |
 * JSON_REJECT_DUPLICATES): jsonr must never accept what jansson refuses,
 * must refuse only what jansson refuses (but for jansson's NUL quirk,
 * jsonr.h), and what both accept must read back as the same values in the
 * same order. Then, on an object, the send path's message check: the token
 * walker (im_msg_pack_tok) accepts only what im_msg_pack accepts, packs the
 * same bytes, and refuses nothing im_msg_pack accepts (relay elements
 * included). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "im/msgbody.h"
#include "util/jsonr.h"
#include "util/jsonw.h"

#define CAP 4096
static jsonr_tok_t toks[CAP];

static json_t *tree(const jsonr_doc_t *d, uint32_t i)
{
  const jsonr_tok_t *t = &d->t[i];
  uint32_t k = i + 1;
  switch (t->type) {
  case JSONR_OBJECT: {
    json_t *o = json_object();
    for (uint32_t m = 0; m < t->len; m++, k = d->t[k + 1].next) {
      char *key = malloc(d->t[k].len + 1);
      key[jsonr_str(d, k, key)] = 0;
      if (jsonr_get(d, i, key) != k + 1) abort();
      json_object_set_new(o, key, tree(d, k + 1));
      free(key);
    }
    return o;
  }
  case JSONR_ARRAY: {
    json_t *a = json_array();
    for (uint32_t m = 0; m < t->len; m++, k = d->t[k].next) json_array_append_new(a, tree(d, k));
    return a;
  }
  case JSONR_STRING: {
    char *b = malloc(t->len + 1);
    size_t n = jsonr_str(d, i, b);
    if (n != jsonr_str_len(d, i) || !jsonr_str_eq(d, i, b, n)) abort();
    json_t *s = json_stringn(b, n);
    free(b);
    if (!s) abort(); /* not valid UTF-8 */
    return s;
  }
  case JSONR_INTEGER: return json_integer(jsonr_int(d, i));
  case JSONR_REAL: return json_real(jsonr_num(d, i));
  case JSONR_TRUE: return json_true();
  case JSONR_FALSE: return json_false();
  case JSONR_NULL: return json_null();
  }
  abort();
}

static char *dump(const json_t *v)
{
  jsonw_t w;
  size_t n;
  jsonw_init(&w, 1u << 26);
  jsonw_json(&w, v);
  return jsonw_take(&w, &n);
}

/* jansson 2.14 loses a NUL byte ending a number or literal (jsonr.h). */
static int nul_quirk(const uint8_t *s, size_t n)
{
  if (!memchr(s, 0, n)) return 0;
  char *b = malloc(n ? n : 1);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!s[i] && m && ((b[m - 1] >= '0' && b[m - 1] <= '9') || (b[m - 1] >= 'a' && b[m - 1] <= 'z'))) continue;
    b[m++] = (char)s[i];
  }
  jsonr_doc_t d;
  int ok = jsonr_parse(&d, b, m, toks, CAP) == JSONR_OK;
  free(b);
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  jsonr_doc_t d;
  int rc = jsonr_parse(&d, s, size, toks, CAP);
  json_t *j = json_loadb(s, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
  if (rc == JSONR_OK && !j) abort();                           /* accepts what jansson refuses */
  if (rc == JSONR_INVALID && j && !nul_quirk(data, size)) abort(); /* refuses what jansson accepts */
  if (rc != JSONR_OK || !j) { json_decref(j); return 0; }
  json_t *mine = tree(&d, 0);
  char *a = dump(mine), *b = dump(j);
  if (!a || !b || strcmp(a, b) || !json_equal(mine, j)) abort();
  free(a);
  free(b);
  json_decref(mine);
  if (json_is_object(j)) {
    char *p1 = NULL, *p2 = NULL;
    size_t l1 = 0, l2 = 0;
    char why[256];
    int r1 = im_msg_pack(json_object_get(j, "MsgBody"), json_object_get(j, "CloudCustomData"),
                         json_object_get(j, "OfflinePushInfo"), 12288, &p1, &l1, why, sizeof why);
    int r2 = im_msg_pack_tok(&d, jsonr_get(&d, 0, "MsgBody"), jsonr_get(&d, 0, "CloudCustomData"),
                             jsonr_get(&d, 0, "OfflinePushInfo"), 12288, &p2, &l2);
    if (!r2 && (r1 || l1 != l2 || memcmp(p1, p2, l1))) abort();
    if (!r1 && r2) abort();
    free(p1);
    free(p2);
  }
  json_decref(j);
  return 0;
}
