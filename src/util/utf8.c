/* utf8.c — strict UTF-8 validation (utf8.h). */
#include "util/utf8.h"

#include <stdint.h>
#include <string.h>

int imc_utf8_valid(const void *v, size_t n)
{
  const unsigned char *s = v;
  size_t i = 0;
  while (i < n) {
    /* ASCII sixteen and eight bytes at once: most text is ASCII (a send
     * frame's ~150 bytes are ten steps instead of nineteen) */
    while (n - i >= 16) {
      uint64_t x, y;
      memcpy(&x, s + i, 8);
      memcpy(&y, s + i + 8, 8);
      if ((x | y) & 0x8080808080808080ull) break;
      i += 16;
    }
    if (n - i >= 8) {
      uint64_t x;
      memcpy(&x, s + i, 8);
      if (!(x & 0x8080808080808080ull)) { i += 8; continue; }
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t need;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
    else return 0;
    for (size_t k = 1; k <= need; k++) {
      if (i + k >= n || (s[i + k] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return 0;
    i += need + 1;
  }
  return 1;
}

int imc_utf8_text(const char *s)
{
  if (!s) return 0;
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
  return imc_utf8_valid(s, n);
}
