/* jsonw.h — a JSON text writer for fixed-format hot-path frames: append
 * literal text, escaped strings and integers to one growable buffer, with no
 * allocation per value (the buffer is reused from frame to frame). Strings
 * are escaped as jansson's compact dump escapes them (", \ and control
 * characters; UTF-8 passes through), so a frame written here is byte for
 * byte what json_dumps(…, JSON_COMPACT) gives for the same object.
 *
 * Errors are sticky: a write that would grow the buffer past its cap, or an
 * allocation failure, sets w->failed and makes every later write a no-op;
 * the caller checks it once at the end. Not thread-safe: one owner. */
#ifndef IMC_UTIL_JSONW_H
#define IMC_UTIL_JSONW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct jsonw {
  char *buf;          /* owned; NUL-terminated after every write (buf[len] == 0) unless failed */
  size_t len, cap;    /* text length; bytes allocated */
  size_t max_bytes;   /* the cap: the text never grows beyond this */
  int failed;         /* IMC_E_TOOBIG (cap) or IMC_E_NOMEM; sticky until jsonw_reset */
} jsonw_t;

/* An empty writer whose text may grow to max_bytes; nothing is allocated
 * until the first write. */
void jsonw_init(jsonw_t *w, size_t max_bytes);
/* Empty the text and clear the error; the buffer is kept for the next frame. */
void jsonw_reset(jsonw_t *w);
/* Release the buffer (the writer is then empty, as after jsonw_init). */
void jsonw_free(jsonw_t *w);
/* Append n bytes of text as they are (JSON the caller vouches for). Inline
 * while the bytes fit the buffer already allocated (a frame is a few dozen
 * short appends); jsonw__raw grows it or fails. */
void jsonw__raw(jsonw_t *w, const char *s, size_t n);
static inline void jsonw_raw(jsonw_t *w, const char *s, size_t n)
{
  if (!w->failed && n < w->cap - w->len) { /* cap <= max_bytes + 1: within the cap too */
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
    return;
  }
  jsonw__raw(w, s, n);
}
/* Append a string literal as it is. */
#define jsonw_lit(w, s) jsonw_raw((w), "" s, sizeof(s) - 1)
/* Append s[0..n) as a quoted, escaped JSON string (NUL bytes included).
 * Inline for a short string with nothing to escape that fits the buffer (a
 * UserID in a push); jsonw__str does the rest. */
#define JSONW_STR_INLINE_MAX 32
void jsonw__str(jsonw_t *w, const char *s, size_t n);
static inline void jsonw_str(jsonw_t *w, const char *s, size_t n)
{
  if (!w->failed && n <= JSONW_STR_INLINE_MAX && n + 2 < w->cap - w->len) {
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)s[i];
      if (c < 0x20 || c == '"' || c == '\\') { jsonw__str(w, s, n); return; }
    }
    char *b = w->buf + w->len;
    b[0] = '"';
    memcpy(b + 1, s, n);
    b[n + 1] = '"';
    b[n + 2] = 0;
    w->len += n + 2;
    return;
  }
  jsonw__str(w, s, n);
}
/* Append an integer in decimal. */
void jsonw_i64(jsonw_t *w, int64_t v);
void jsonw_u64(jsonw_t *w, uint64_t v);
/* The decimal text of v, written at the end of buf (at most 21 bytes, a
 * sign included, no NUL): returns its first byte, *n its length. For a
 * number a frame carries more than once (format it once, jsonw_raw it
 * each time). */
#define JSONW_INT_MAX_CHARS 21
const char *jsonw_i64_text(int64_t v, char buf[JSONW_INT_MAX_CHARS], size_t *n);
/* Append a real as jansson's compact dump writes it; a NaN or infinite
 * value fails the writer with IMC_E_INVAL. */
void jsonw_real(jsonw_t *w, double v);

/* Append v as json_dumps(v, JSON_COMPACT) writes it (keys in the object's
 * order, reals as jansson formats them), without its cycle check: v must be
 * a tree (parsed or built without shared containers). A NaN or infinite
 * real fails the writer with IMC_E_INVAL, as json_dumps fails. */
void jsonw_json(jsonw_t *w, const json_t *v);
/* Hand over the text (malloc'd, NUL-terminated; *len its length) and leave
 * the writer empty. NULL (nothing handed over) if the writer failed. */
char *jsonw_take(jsonw_t *w, size_t *len);

#endif
