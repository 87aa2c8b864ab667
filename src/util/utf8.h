/* utf8.h — strict UTF-8 validation (no overlongs, surrogates or code points
 * above U+10FFFF): WebSocket text (net/ws.c, RFC 6455 §8.1) and the names
 * and texts the CLI and the tenant layer store, which JSON output must be
 * able to show. Pure. */
#ifndef IMC_UTIL_UTF8_H
#define IMC_UTIL_UTF8_H

#include <stddef.h>

/* 1 if s[0..n) is valid UTF-8, else 0. */
int imc_utf8_valid(const void *s, size_t n);
/* 1 if s is a NUL-terminated string of valid UTF-8 with no control
 * characters (below 0x20, or 0x7f); 0 otherwise (NULL included). */
int imc_utf8_text(const char *s);

#endif
