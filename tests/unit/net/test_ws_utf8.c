/* A text frame's UTF-8 check (imc_utf8_valid, with its sixteen- and
 * eight-bytes-at-a-time ASCII paths) through a whole WebSocket connection
 * without a socket (net_fuzz_ws): valid text keeps the connection open,
 * anything else closes it with 1007. Every case is tried at every offset
 * 0..39 behind ASCII filler and followed by 0..17 ASCII bytes, so the bad or
 * multibyte sequence falls inside, across and after every 8- and 16-byte
 * block. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "net/net.h"

/* One masked, final text frame of p[0..n) (n < 126) into out; its length. */
static size_t frame(const char *p, size_t n, uint8_t *out)
{
  static const uint8_t mask[4] = { 0x11, 0x22, 0x33, 0x44 };
  out[0] = 0x81;
  out[1] = (uint8_t)(0x80 | n);
  memcpy(out + 2, mask, 4);
  for (size_t i = 0; i < n; i++) out[6 + i] = (uint8_t)p[i] ^ mask[i % 4];
  return 6 + n;
}

static void test_utf8_every_offset(void **state)
{
  (void)state;
  static const struct { const char *s; int ok; } cases[] = {
    { "", 1 }, { "\xc3\xa9", 1 }, { "\xe4\xb8\x87", 1 }, { "\xf0\x9f\x98\x80", 1 }, { "\x7f", 1 },
    { "\xc2\x80", 1 }, { "\xef\xbf\xbf", 1 }, { "\xf4\x8f\xbf\xbf", 1 },
    { "\x80", 0 }, { "\xff", 0 }, { "\xc0\xaf", 0 }, { "\xc3", 0 }, { "\xe0\x80\xaf", 0 },
    { "\xed\xa0\x80", 0 }, { "\xf4\x90\x80\x80", 0 }, { "\xf0\x9f\x98", 0 }, { "\xc3\x28", 0 },
  };
  char text[100];
  uint8_t buf[128];
  size_t checked = 0;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (size_t at = 0; at < 40; at++)
      for (size_t tail = 0; tail < 18; tail++) {
        size_t n = 0;
        for (size_t i = 0; i < at; i++) text[n++] = (char)('a' + i % 26);
        n += (size_t)snprintf(text + n, sizeof text - n, "%s", cases[c].s);
        for (size_t i = 0; i < tail; i++) text[n++] = 'z';
        size_t len = frame(text, n, buf);
        int closed = net_fuzz_ws(buf, len);
        if (closed == cases[c].ok)
          fail_msg("case %zu at %zu tail %zu: %s", c, at, tail, closed ? "closed on valid text" : "accepted bad UTF-8");
        checked++;
      }
  assert_int_equal(checked, 17 * 40 * 18);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_utf8_every_offset) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
