/* Unit test for src/auth/usersig.c auth__sig_b64_decode: the one-pass
 * decoder of a UserSig token's base64 gives exactly what the previous
 * decoding gave — the token mapped to standard base64 (* - _ for + / =),
 * padded with '=' to a multiple of 4, OpenSSL's EVP_DecodeBlock, less one
 * byte per '=' at the end — for 200,000 pseudo-random tokens over the
 * alphabet ('=' and '_' anywhere, missing padding, lengths 0-400) and with
 * bytes outside it: the same refusals, lengths and bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <string.h>

#include "auth/auth_int.h"
#include "util/err.h"

/* The decoding before the one-pass decoder (usersig.c at 4e11f03). */
static int reference(const char *tok, size_t n, unsigned char *raw, long *len)
{
  char b64[1024];
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)tok[i];
    char t = (char)((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
                    c == '=' ? c : c == '*' ? '+' : c == '-' ? '/' : c == '_' ? '=' : 0);
    if (!t) return IMC_E_SIG_DECODE;
    b64[m++] = t;
  }
  while (m % 4) b64[m++] = '=';
  int rlen = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)m);
  if (rlen < 0) return IMC_E_SIG_DECODE;
  for (size_t i = m; i > 0 && b64[i - 1] == '='; i--) rlen--;
  *len = rlen;
  return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static void check(const char *tok, size_t n)
{
  unsigned char a[800], b[800];
  long la = -999, lb = -999;
  memset(a, 0xa5, sizeof a);
  memset(b, 0xa5, sizeof b);
  int ra = auth__sig_b64_decode(tok, n, a, &la);
  int rb = reference(tok, n, b, &lb);
  if (ra != rb) fail_msg("token %.*s: rc %d, reference %d", (int)n, tok, ra, rb);
  if (ra) return;
  if (la != lb) fail_msg("token %.*s: length %ld, reference %ld", (int)n, tok, la, lb);
  if (memcmp(a, b, (n + 3) / 4 * 3)) fail_msg("token %.*s: bytes differ", (int)n, tok);
}

static void test_same_as_evp_decodeblock(void **st)
{
  (void)st;
  static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/*-_=";
  static const char odd[] = " \t\r\n.~!\"#$%&'(),:;<>?@[\\]^`{|}\x80\xff";
  char tok[512];
  check("", 0);
  static const char v1[] = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwhWZiflZpXlQqeKU7MSCgswUJStDEwMogMiUZOamKlkZmqGKplYUZBaBxE1NTY3gosWZ6UpWSoZRpgF56S5Z7omlaanBmQH5TqUVKR6R5q7exl4hKY5ZvgGWxsEm3mVhxr62SrUAnj0xuw__";
  check(v1, sizeof v1 - 1); /* vector V1 (test_usersig.c) */
  for (int k = 0; k < 200000; k++) {
    size_t n = next() % 401;
    uint32_t mode = next() % 8;
    for (size_t i = 0; i < n; i++) {
      uint32_t r = next();
      if (mode == 0 && r % 97 == 0) tok[i] = odd[r % (sizeof odd - 1)];  /* now and then outside the alphabet */
      else if (mode == 1 && i + 3 >= n) tok[i] = (r & 1) ? '=' : '_';   /* padding of either spelling at the end */
      else tok[i] = alpha[r % (mode == 2 ? 68 : 66)];                    /* mode 2: '_' and '=' anywhere */
    }
    check(tok, n);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_same_as_evp_decodeblock) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
