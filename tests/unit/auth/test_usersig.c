/* Unit tests for src/auth: UserSig vectors V1–V3 (rest-api-reference §4.3),
 * round trips, every error code, deflate block kinds, bombs; operator tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "auth/optoken.h"
#include "auth/usersig.h"
#include "util/err.h"

static const char *KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
static const char *V1 = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwhWZiflZpXlQqeKU7MSCgswUJStDEwMogMiUZOamKlkZmqGKplYUZBaBxE1NTY3gosWZ6UpWSoZRpgF56S5Z7omlaanBmQH5TqUVKR6R5q7exl4hKY5ZvgGWxsEm3mVhxr62SrUAnj0xuw__";
static const char *V3 = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl*UVQBcUp2YkFBZkpSlaGJgZQAJEpycxNVbIyNEcVTa0oyCxKVbKyMDOBCRVnpitZKVX6OKZql5uHh6aGlhYmhVlm6IdEmFuUGhnmh7hnamdaRhUYlhoHFORFmhnYKtUCAK0SM5I_";

/* Encode JSON as a token with the given zlib level/strategy. */
static void make_token(const char *json, int level, int strategy, char *out, size_t cap)
{
  unsigned char z[4096];
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, level, Z_DEFLATED, 15, 8, strategy), Z_OK);
  zs.next_in = (unsigned char *)json;
  zs.avail_in = (uInt)strlen(json);
  zs.next_out = z;
  zs.avail_out = sizeof z;
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  size_t zl = sizeof z - zs.avail_out;
  deflateEnd(&zs);
  assert_true(cap > 4 * ((zl + 2) / 3));
  int n = EVP_EncodeBlock((unsigned char *)out, z, (int)zl);
  for (int i = 0; i < n; i++) out[i] = out[i] == '+' ? '*' : out[i] == '/' ? '-' : out[i] == '=' ? '_' : out[i];
  out[n] = 0;
}

static void sig_of(const char *id, long long app, long long t, long long exp, char *out)
{
  char text[256];
  unsigned char mac[64];
  unsigned int ml;
  int n = snprintf(text, sizeof text, "TLS.identifier:%s\nTLS.sdkappid:%lld\nTLS.time:%lld\nTLS.expire:%lld\n", id, app, t, exp);
  HMAC(EVP_sha256(), KEY, (int)strlen(KEY), (unsigned char *)text, (size_t)n, mac, &ml);
  EVP_EncodeBlock((unsigned char *)out, mac, (int)ml);
}

static void test_vectors(void **st)
{
  (void)st;
  char s[64];
  sig_of("xiaojun", 1400000000, 1600000000, 15552000, s);
  assert_string_equal(s, "1Z5PngDjGaufeSiPoBuxdHY7EK3JTdAjMP93S4KvV3M="); /* V1 */
  sig_of("administrator", 1400000000, 1700000000, 86400, s);
  assert_string_equal(s, "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="); /* V3 */
  auth_usersig_info_t info;
  /* V1: valid until 1615552000 (inclusive), expired after */
  assert_int_equal(auth_usersig_verify(V1, 1400000000, KEY, "xiaojun", 1600000001, &info), 0);
  assert_int_equal(info.time, 1600000000);
  assert_int_equal(info.expire, 15552000);
  assert_string_equal(info.identifier, "xiaojun");
  assert_int_equal(auth_usersig_verify(V1, 1400000000, KEY, "xiaojun", 1615552000, NULL), 0);
  assert_int_equal(auth_usersig_verify(V1, 1400000000, KEY, "xiaojun", 1615552001, NULL), IMC_E_SIG_EXPIRED);
  assert_int_equal(auth_usersig_verify(V1, 1400000000, KEY, "xiaojun", 1763880000, NULL), IMC_E_SIG_EXPIRED);
  /* V3 uses '*' and a trailing '_' */
  assert_int_equal(auth_usersig_verify(V3, 1400000000, KEY, "administrator", 1700000100, NULL), 0);
  assert_int_equal(auth_usersig_peek(V3, &info), 0);
  assert_int_equal(info.sdkappid, 1400000000);
  /* V2 HMAC with userbuf (TRTC only) is reproducible; such tokens are refused */
  char text[256];
  unsigned char mac[64];
  unsigned int ml;
  int n = snprintf(text, sizeof text, "TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1600000000\nTLS.expire:15552000\nTLS.userbuf:YWJj\n");
  HMAC(EVP_sha256(), KEY, (int)strlen(KEY), (unsigned char *)text, (size_t)n, mac, &ml);
  EVP_EncodeBlock((unsigned char *)s, mac, (int)ml);
  assert_string_equal(s, "9tvdyuu11RSxrIwX0xC05oW7LdPxVnzkzBpcRT/UqfM=");
  char json[512], tok[1024];
  snprintf(json, sizeof json, "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"xiaojun\",\"TLS.sdkappid\":1400000000,\"TLS.time\":1600000000,\"TLS.expire\":15552000,\"TLS.userbuf\":\"YWJj\",\"TLS.sig\":\"%s\"}", s);
  make_token(json, 6, Z_DEFAULT_STRATEGY, tok, sizeof tok);
  assert_int_equal(auth_usersig_verify(tok, 1400000000, KEY, "xiaojun", 1600000001, NULL), IMC_E_SIG_MALFORMED);
}

static void test_round_trip_and_errors(void **st)
{
  (void)st;
  char tok[AUTH_USERSIG_MAX];
  assert_int_equal(auth_usersig_gen(1400000001, KEY, "alice", 1000, 3600, tok, sizeof tok), 0);
  assert_int_equal(auth_usersig_verify(tok, 1400000001, KEY, "alice", 1000, NULL), 0);
  assert_int_equal(auth_usersig_verify(tok, 1400000002, KEY, "alice", 1000, NULL), IMC_E_SIG_SDKAPPID);
  assert_int_equal(auth_usersig_verify(tok, 1400000001, KEY, "bob", 1000, NULL), IMC_E_SIG_IDENTIFIER);
  assert_int_equal(auth_usersig_verify(tok, 1400000001, "otherkey", "alice", 1000, NULL), IMC_E_SIG_MISMATCH);
  assert_int_equal(auth_usersig_verify(tok, 1400000001, KEY, "alice", 4600, NULL), 0);
  assert_int_equal(auth_usersig_verify(tok, 1400000001, KEY, "alice", 4601, NULL), IMC_E_SIG_EXPIRED);
  /* a forged token with a later expiry still fails the signature first */
  assert_int_equal(auth_usersig_verify(tok, 1400000001, "otherkey", "alice", 999999, NULL), IMC_E_SIG_MISMATCH);
  assert_int_equal(auth_usersig_verify("", 1, KEY, "a", 0, NULL), IMC_E_SIG_EMPTY);
  assert_int_equal(auth_usersig_verify("!!!!", 1, KEY, "a", 0, NULL), IMC_E_SIG_DECODE);
  assert_int_equal(auth_usersig_verify("AAAA", 1, KEY, "a", 0, NULL), IMC_E_SIG_DECODE);
  char trunc[AUTH_USERSIG_MAX];
  snprintf(trunc, sizeof trunc, "%.*s", (int)strlen(tok) / 2, tok);
  assert_int_equal(auth_usersig_verify(trunc, 1400000001, KEY, "alice", 1000, NULL), IMC_E_SIG_DECODE);
  assert_int_equal(auth_usersig_gen(1, KEY, "", 0, 1, tok, sizeof tok), IMC_E_INVAL);
  assert_int_equal(auth_usersig_gen(1, KEY, "has space", 0, 1, tok, sizeof tok), IMC_E_INVAL);
  assert_int_equal(auth_usersig_gen(1, KEY, "a23456789012345678901234567890123", 0, 1, tok, sizeof tok), IMC_E_INVAL);
  assert_int_equal(auth_usersig_gen(1, KEY, "a", 0, 1, tok, 10), IMC_E_TOOBIG);
}

static void test_deflate_kinds_and_malformed(void **st)
{
  (void)st;
  char s[64], json[512], tok[2048];
  sig_of("u1", 1400000009, 5000, 100, s);
  snprintf(json, sizeof json, "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":\"1400000009\",\"TLS.time\":\"5000\",\"TLS.expire\":100,\"TLS.sig\":\"%s\",\"extra\":1}", s);
  const int levels[] = { 0, 1, 9 };
  for (int i = 0; i < 3; i++) {
    make_token(json, levels[i], Z_DEFAULT_STRATEGY, tok, sizeof tok); /* level 0 = stored blocks (Go) */
    assert_int_equal(auth_usersig_verify(tok, 1400000009, KEY, "u1", 5000, NULL), 0);
  }
  make_token(json, 6, Z_FIXED, tok, sizeof tok); /* fixed Huffman blocks */
  assert_int_equal(auth_usersig_verify(tok, 1400000009, KEY, "u1", 5050, NULL), 0);
  const char *bad[] = {
    "[1,2]", "{}", "{\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":1,\"TLS.time\":1}",
    "{\"TLS.identifier\":5,\"TLS.sdkappid\":1,\"TLS.time\":1,\"TLS.expire\":1,\"TLS.sig\":\"x\"}",
    "{\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":\"12x\",\"TLS.time\":1,\"TLS.expire\":1,\"TLS.sig\":\"x\"}",
    "not json",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    make_token(bad[i], 6, Z_DEFAULT_STRATEGY, tok, sizeof tok);
    assert_int_equal(auth_usersig_verify(tok, 1, KEY, "u1", 0, NULL), IMC_E_SIG_MALFORMED);
  }
  /* TLS.ver must be "2.0": a correctly signed token of another (or no)
   * version is another format */
  const char *vers[] = { "\"TLS.ver\":\"1.0\",", "\"TLS.ver\":2.0,", "" };
  for (size_t i = 0; i < sizeof vers / sizeof vers[0]; i++) {
    snprintf(json, sizeof json, "{%s\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":1,\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.sig\":\"%s\"}", vers[i], s);
    make_token(json, 6, Z_DEFAULT_STRATEGY, tok, sizeof tok);
    assert_int_equal(auth_usersig_verify(tok, 1, KEY, "u1", 0, NULL), IMC_E_SIG_MALFORMED);
  }
  /* a compressed bomb (1 MB of spaces) fails cleanly */
  static char bomb[1 << 20];
  memset(bomb, ' ', sizeof bomb - 1);
  bomb[0] = '{';
  make_token(bomb, 9, Z_DEFAULT_STRATEGY, tok, sizeof tok);
  assert_int_equal(auth_usersig_verify(tok, 1, KEY, "u1", 0, NULL), IMC_E_SIG_DECODE);
  /* over-long token */
  static char longtok[4000];
  memset(longtok, 'A', sizeof longtok - 1);
  assert_int_equal(auth_usersig_verify(longtok, 1, KEY, "u1", 0, NULL), IMC_E_SIG_DECODE);
}

/* The token's JSON is read by jsonr, or by jansson when jsonr does not
 * accept it (duplicate keys): both give what jansson alone gave. */
static void test_json_readers_agree(void **st)
{
  (void)st;
  char s[64], s32[64], json[1024], tok[2048];
  auth_usersig_info_t info;
  sig_of("u1", 1400000009, 5000, 100, s);
  const char *a32 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  sig_of(a32, 1400000009, 5000, 100, s32);
  struct { const char *fmt; const char *sig; const char *id; int rc; } cases[] = {
    /* escapes decode before the checks: identifier "u1", time "5000" */
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"u\\u0031\",\"TLS.sdkappid\":1400000009,\"TLS.time\":\"\\u0035000\",\"TLS.expire\":100,\"TLS.sig\":\"%s\"}", s, "u1", 0 },
    /* duplicate keys: jansson keeps the last (jsonr refuses them: jansson decides) */
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"zz\",\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":1400000009,\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.sig\":\"%s\"}", s, "u1", 0 },
    /* whitespace, nested values and unknown members are fine */
    { " {\n\"x\":[1,{\"y\":null}], \"TLS.ver\" : \"2.0\",\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":\"1400000009\",\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.sig\":\"%s\"}\t", s, "u1", 0 },
    /* the identifier's limit counts decoded bytes: 32 escaped 'a' pass, 33 do not */
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061aaaaaaaaaaaaaaaa\",\"TLS.sdkappid\":1400000009,\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.sig\":\"%s\"}", s32, a32, 0 },
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061\\u0061aaaaaaaaaaaaaaaaa\",\"TLS.sdkappid\":1400000009,\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.sig\":\"%s\"}", s32, NULL, IMC_E_SIG_MALFORMED },
    /* refused: a 64-byte TLS.sig, a negative or real sdkappid, a string
     * that is not a whole number, a non-object document, a TLS.userbuf */
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":1400000009,\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.sig\":\"%s01234567890123456789\"}", s, NULL, IMC_E_SIG_MALFORMED },
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":-1,\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.sig\":\"%s\"}", s, NULL, IMC_E_SIG_MALFORMED },
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":1400000009.0,\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.sig\":\"%s\"}", s, NULL, IMC_E_SIG_MALFORMED },
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":1400000009,\"TLS.time\":\"5000 \",\"TLS.expire\":100,\"TLS.sig\":\"%s\"}", s, NULL, IMC_E_SIG_MALFORMED },
    { "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"u1\",\"TLS.sdkappid\":1400000009,\"TLS.time\":5000,\"TLS.expire\":100,\"TLS.userbuf\":null,\"TLS.sig\":\"%s\"}", s, NULL, IMC_E_SIG_MALFORMED },
    { "\"%s\"", s, NULL, IMC_E_SIG_MALFORMED },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(json, sizeof json, cases[i].fmt, cases[i].sig);
    make_token(json, 6, Z_DEFAULT_STRATEGY, tok, sizeof tok);
    memset(&info, 0, sizeof info);
    int rc = auth_usersig_peek(tok, &info);
    if (rc != cases[i].rc) print_error("case %zu: %d\n", i, rc); /* which case, when it fails */
    assert_int_equal(rc, cases[i].rc);
    if (cases[i].rc) continue;
    assert_string_equal(info.identifier, cases[i].id);
    assert_int_equal(info.sdkappid, 1400000009);
    assert_int_equal(info.time, 5000);
    assert_int_equal(info.expire, 100);
    assert_int_equal(auth_usersig_verify(tok, 1400000009, KEY, cases[i].id, 5000, NULL), 0); /* the TLS.sig read back */
  }
}

static void test_optoken(void **st)
{
  (void)st;
  char tok[80], hash[65], hash2[65];
  assert_int_equal(auth_optoken_new(tok, sizeof tok, hash, sizeof hash), 0);
  assert_int_equal(strncmp(tok, "imc_op_", 7), 0);
  assert_int_equal(strlen(tok), 71);
  assert_int_equal(strlen(hash), 64);
  assert_int_equal(auth_optoken_check(tok, hash), 0);
  tok[10] ^= 1;
  assert_int_equal(auth_optoken_check(tok, hash), IMC_E_OP_AUTH);
  assert_int_equal(auth_optoken_check("", hash), IMC_E_OP_AUTH);
  assert_int_equal(auth_optoken_check(NULL, hash), IMC_E_OP_AUTH);
  assert_int_equal(auth_optoken_new(tok, sizeof tok, hash2, sizeof hash2), 0);
  assert_string_not_equal(hash, hash2);
  assert_int_equal(auth_optoken_hash("abc", hash, sizeof hash), 0);
  assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  char r[65];
  assert_int_equal(auth_random_hex(r, 32), 0);
  assert_int_equal(strlen(r), 64);
  assert_int_equal(strspn(r, "0123456789abcdef"), 64);
}

/* The per-thread HMAC context keeps the last key: a token checks against the
 * key passed now, never against the cached one (keys alternate, a wrong key
 * right after the right one), and a thread's state works on a second thread
 * and is freed when that thread exits (the sanitizer build checks leaks). */
static const char *KEY2 = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000";

static void check_two_keys(void)
{
  char a[AUTH_USERSIG_MAX + 1], b[AUTH_USERSIG_MAX + 1];
  assert_int_equal(auth_usersig_gen(1400000001, KEY, "alice", 1000, 3600, a, sizeof a), 0);
  assert_int_equal(auth_usersig_gen(1400000002, KEY2, "alice", 1000, 3600, b, sizeof b), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(auth_usersig_verify(a, 1400000001, KEY, "alice", 1000, NULL), 0);
    assert_int_equal(auth_usersig_verify(a, 1400000001, KEY2, "alice", 1000, NULL), IMC_E_SIG_MISMATCH);
    assert_int_equal(auth_usersig_verify(b, 1400000002, KEY2, "alice", 1000, NULL), 0);
    assert_int_equal(auth_usersig_verify(b, 1400000002, KEY2, "alice", 1000, NULL), 0);
    assert_int_equal(auth_usersig_verify(b, 1400000002, KEY, "alice", 1000, NULL), IMC_E_SIG_MISMATCH);
    /* a key that is a prefix of the cached one is another key */
    assert_int_equal(auth_usersig_verify(a, 1400000001, "5bd2850fff3ecb11", "alice", 1000, NULL), IMC_E_SIG_MISMATCH);
  }
}

static void *two_keys_thread(void *arg) { (void)arg; check_two_keys(); return NULL; }

static void test_key_cache(void **st)
{
  (void)st;
  check_two_keys();
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, two_keys_thread, NULL), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  check_two_keys();
}

/* The HMAC matches OpenSSL's one-shot HMAC() for keys shorter than, equal
 * to and longer than SHA-256's 64-byte block (RFC 2104 hashes a longer key
 * first): a token signed by HMAC() verifies under its key, and the token
 * auth_usersig_gen makes carries HMAC()'s signature. Keys of one length
 * differ in their last byte only, checked one after the other. */
static void test_hmac_key_lengths(void **st)
{
  (void)st;
  static const size_t lens[] = { 1, 16, 63, 64, 65, 100, 200 };
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    char k1[256], k2[256], text[256], sig[64], json[512], tok[AUTH_USERSIG_MAX + 1];
    unsigned char mac[64];
    unsigned int ml = 0;
    for (size_t j = 0; j < lens[i]; j++) k1[j] = k2[j] = (char)('a' + (j * 7 + i) % 26);
    k1[lens[i]] = k2[lens[i]] = 0;
    k2[lens[i] - 1] = k2[lens[i] - 1] == 'z' ? 'y' : 'z';
    int n = snprintf(text, sizeof text, "TLS.identifier:bob\nTLS.sdkappid:1400000001\nTLS.time:1000\nTLS.expire:3600\n");
    assert_non_null(HMAC(EVP_sha256(), k1, (int)lens[i], (unsigned char *)text, (size_t)n, mac, &ml));
    EVP_EncodeBlock((unsigned char *)sig, mac, (int)ml);
    snprintf(json, sizeof json, "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"bob\",\"TLS.sdkappid\":1400000001,\"TLS.expire\":3600,\"TLS.time\":1000,\"TLS.sig\":\"%s\"}", sig);
    make_token(json, Z_DEFAULT_COMPRESSION, Z_DEFAULT_STRATEGY, tok, sizeof tok);
    assert_int_equal(auth_usersig_verify(tok, 1400000001, k1, "bob", 1000, NULL), 0);
    assert_int_equal(auth_usersig_verify(tok, 1400000001, k2, "bob", 1000, NULL), IMC_E_SIG_MISMATCH);
    assert_int_equal(auth_usersig_verify(tok, 1400000001, k1, "bob", 1000, NULL), 0);
    assert_int_equal(auth_usersig_gen(1400000001, k1, "bob", 1000, 3600, tok, sizeof tok), 0);
    assert_int_equal(auth_usersig_verify(tok, 1400000001, k1, "bob", 1000, NULL), 0);
    assert_int_equal(auth_usersig_verify(tok, 1400000001, k2, "bob", 1000, NULL), IMC_E_SIG_MISMATCH);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_vectors), cmocka_unit_test(test_round_trip_and_errors),
    cmocka_unit_test(test_deflate_kinds_and_malformed), cmocka_unit_test(test_optoken),
    cmocka_unit_test(test_key_cache), cmocka_unit_test(test_json_readers_agree), cmocka_unit_test(test_hmac_key_lengths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
