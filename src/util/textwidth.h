/* textwidth.h — how many terminal columns a UTF-8 string takes, so tables
 * with Chinese text line up (a wcwidth() that does not depend on the C
 * locale). East Asian Wide and Fullwidth characters (Unicode's
 * EastAsianWidth.txt W/F: CJK ideographs, kana, hangul, fullwidth forms,
 * most emoji) take 2 columns; combining marks, zero-width characters and
 * control characters 0; everything else 1, including Ambiguous ones ("—",
 * "·"), as in a non-CJK locale. A byte that is not valid UTF-8 counts as one
 * column. Pure; safe from any thread. */
#ifndef IMC_UTIL_TEXTWIDTH_H
#define IMC_UTIL_TEXTWIDTH_H

#include <stddef.h>
#include <stdint.h>

/* Columns of one code point: 0, 1 or 2. */
int imc_cp_width(uint32_t cp);
/* Columns of a NUL-terminated UTF-8 string (NULL → 0). */
size_t imc_text_width(const char *s);
/* Spaces to add after (or before) s so it fills `width` columns; 0 when it
 * already takes that many or more. */
int imc_text_pad(const char *s, int width);

#endif
