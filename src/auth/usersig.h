/* usersig.h — UserSig tokens (TLSSigAPIv2), wire-compatible with the
 * commercial service and its official generators (rest-api-reference §4).
 *
 * Token = base64(zlib(JSON)) with '+' → '*', '/' → '-', '=' → '_'. The JSON
 * holds TLS.ver "2.0", TLS.identifier, TLS.sdkappid, TLS.time, TLS.expire and
 * TLS.sig = base64(HMAC-SHA256(key bytes, "TLS.identifier:…\nTLS.sdkappid:…\n
 * TLS.time:…\nTLS.expire:…\n")). The caller passes "now"; thread-safe.
 * Each thread that calls these keeps the HMAC keyed with the last key it
 * used (two SHA-256 states and a copy of the key, re-keyed when the key
 * passed differs: a changed app secret counts from the next call) and one
 * inflate stream (~7 KiB, ~39 KiB after a token that inflates beyond the
 * cap), freed when the thread exits.
 */
#ifndef IMC_AUTH_USERSIG_H
#define IMC_AUTH_USERSIG_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_USERSIG_MAX 1024      /* longest token we generate or accept */
#define AUTH_IDENTIFIER_MAX 32

typedef struct auth_usersig_info {
  char identifier[AUTH_IDENTIFIER_MAX + 1];
  uint64_t sdkappid;
  int64_t time;                    /* TLS.time, unix seconds */
  int64_t expire;                  /* TLS.expire, seconds */
} auth_usersig_info_t;

/* Generate a token into out (cap bytes incl. NUL). 0, IMC_E_INVAL (bad
 * identifier or empty key), IMC_E_TOOBIG (cap too small), IMC_E_INTERNAL. */
int auth_usersig_gen(uint64_t sdkappid, const char *key, const char *identifier, int64_t now_s, int64_t expire_s,
                     char *out, size_t cap);

/* Decode without checking the signature (to learn which app a token claims).
 * 0, IMC_E_SIG_EMPTY, IMC_E_SIG_DECODE (base64/zlib), IMC_E_SIG_MALFORMED
 * (JSON fields missing or mistyped). */
int auth_usersig_peek(const char *sig, auth_usersig_info_t *info);

/* Verify sig for (expected_sdkappid, expected_identifier) with key at now_s.
 * Checks in this order, so a forged token never learns more than "forged":
 * decode (70002/70003/70005) → app (IMC_E_SIG_SDKAPPID, 70014) → identifier
 * (IMC_E_SIG_IDENTIFIER, 70013) → HMAC, constant time (IMC_E_SIG_MISMATCH,
 * 70009) → expiry: expired iff now_s > time + expire (IMC_E_SIG_EXPIRED,
 * 70001). Tokens carrying TLS.userbuf are rejected (IMC_E_SIG_MALFORMED): IM
 * does not use them. info_out (may be NULL) is filled on success. */
int auth_usersig_verify(const char *sig, uint64_t expected_sdkappid, const char *key,
                        const char *expected_identifier, int64_t now_s, auth_usersig_info_t *info_out);

#endif
