/* jsonr.h — a zero-allocation JSON reader for hot-path frames: one pass over
 * the input bytes fills a caller-provided array of tokens (type, offset,
 * length, index past the value's subtree); values are read from the input
 * on demand (strings decoded into caller buffers, numbers converted when
 * asked). Nothing is copied and nothing is allocated.
 *
 * The language it accepts is exactly what jansson 2.14's json_loadb(…,
 * JSON_DECODE_ANY | JSON_REJECT_DUPLICATES) accepts (RFC 8259 plus jansson's
 * own refusals): strict UTF-8 (no overlong forms, no encoded surrogates,
 * nothing past U+10FFFF), escapes "\/bfnrtu only, \u surrogates in valid
 * pairs only, no \u0000, no control character in a string, no duplicate
 * key in an object (compared after decoding), integers within int64_t,
 * reals that do not overflow a double, at most JSONR_MAX_DEPTH nested
 * values, nothing but whitespace after the value. And a value read here
 * is the value jansson gives (tests/unit/util/test_jsonr.c checks both
 * against jansson on random and mutated documents; tests/fuzz/fuzz_jsonr.c).
 *
 * One divergence, on the safe side: jansson 2.14 loses a NUL byte that ends
 * a number or a literal ("[1\0]" loads as [1]: its lexer's unget of a 0
 * byte reads past it); jsonr refuses every NUL byte outside a string.
 *
 * Where it cannot decide cheaply it says so (JSONR_LIMIT) instead of
 * guessing: more tokens than the array holds, a number longer than
 * JSONR_NUM_MAX_CHARS, an input over 4 GiB. The caller then falls back to
 * jansson. Not thread-safe per document; the functions are pure. */
#ifndef IMC_UTIL_JSONR_H
#define IMC_UTIL_JSONR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JSONR_MAX_DEPTH 2048      /* jansson's JSON_PARSER_MAX_DEPTH (jansson_config.h) */
#define JSONR_NUM_MAX_CHARS 100   /* a longer number is JSONR_LIMIT */
#define JSONR_NONE UINT32_MAX     /* "no such token" */

enum { JSONR_OK = 0, JSONR_INVALID = 1, JSONR_LIMIT = 2 };

typedef enum {
  JSONR_OBJECT = 1, JSONR_ARRAY, JSONR_STRING, JSONR_INTEGER, JSONR_REAL, JSONR_TRUE, JSONR_FALSE, JSONR_NULL
} jsonr_type_t;

#define JSONR_F_ESCAPED 1         /* a string with at least one backslash escape */

typedef struct jsonr_tok {
  uint32_t start;   /* string: first byte after the opening quote; else the value's first byte */
  uint32_t len;     /* string: raw bytes between the quotes; number: its text; object: members; array: elements */
  uint32_t next;    /* the index of the first token after this value (its whole subtree) */
  uint8_t type;     /* jsonr_type_t */
  uint8_t flags;    /* JSONR_F_* */
} jsonr_tok_t;

/* A parsed document: the input (borrowed: it must outlive the document) and
 * the caller's token array. Token 0 is the top-level value; an object's
 * members follow it as key (a string token), value (its subtree), key, … */
typedef struct jsonr_doc {
  const char *s;
  size_t n;
  jsonr_tok_t *t;
  uint32_t ntok, cap;
  uint8_t spaced;   /* whitespace somewhere between tokens (or around the value) */
} jsonr_doc_t;

/* Parse s[0..n) into toks (cap entries). Returns JSONR_OK (d describes the
 * document), JSONR_INVALID (jansson refuses it too) or JSONR_LIMIT (not
 * decided: too many tokens, a number too long, n over 4 GiB). */
int jsonr_parse(jsonr_doc_t *d, const char *s, size_t n, jsonr_tok_t *toks, uint32_t cap);

/* The value of member key (NUL-terminated, compared with the decoded key)
 * of object token obj, or JSONR_NONE (absent, or obj is not an object). */
uint32_t jsonr_get(const jsonr_doc_t *d, uint32_t obj, const char *key);
/* Whether string token i decodes to exactly key[0..klen) (inline: the
 * unescaped case is one length check and a memcmp). */
int jsonr__str_eq_escaped(const jsonr_doc_t *d, uint32_t i, const char *key, size_t klen);
static inline int jsonr_str_eq(const jsonr_doc_t *d, uint32_t i, const char *key, size_t klen)
{
  const jsonr_tok_t *t = &d->t[i];
  if (t->type != JSONR_STRING) return 0;
  if (!(t->flags & JSONR_F_ESCAPED)) return t->len == klen && !memcmp(d->s + t->start, key, klen);
  return jsonr__str_eq_escaped(d, i, key, klen);
}
/* The offset just past the text of value i (a container: its closing
 * bracket) when the document has no whitespace between tokens (!d->spaced):
 * then the value's text is d->s[start .. end), start being t[i].start for a
 * container, number or literal and t[i].start - 1 (the opening quote) for a
 * string. 0 when the document is spaced (not computed). */
uint32_t jsonr_end_compact(const jsonr_doc_t *d, uint32_t i);
/* Decode string token i into dst (room for at least t[i].len bytes: the
 * decoded text is never longer than the raw one); returns its length. No
 * NUL is added. */
size_t jsonr_str(const jsonr_doc_t *d, uint32_t i, char *dst);
/* The decoded length of string token i (json_string_length). */
size_t jsonr_str_len(const jsonr_doc_t *d, uint32_t i);
/* The value of integer token i (as json_integer_value gives it). */
int64_t jsonr_int(const jsonr_doc_t *d, uint32_t i);
/* The value of integer or real token i (as json_number_value gives it). */
double jsonr_num(const jsonr_doc_t *d, uint32_t i);

#endif
