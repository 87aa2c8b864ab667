/* optoken.c — see optoken.h. */
#include "auth/optoken.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static void hex(const unsigned char *b, size_t n, char *out)
{
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) { out[2 * i] = d[b[i] >> 4]; out[2 * i + 1] = d[b[i] & 15]; }
  out[2 * n] = 0;
}

int auth_random_hex(char *out, size_t nbytes)
{
  unsigned char buf[64];
  if (nbytes > sizeof buf || RAND_bytes(buf, (int)nbytes) != 1) return IMC_E_INTERNAL;
  hex(buf, nbytes, out);
  return 0;
}

int auth_optoken_hash(const char *token, char *hash, size_t hcap)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (hcap < 65) return IMC_E_TOOBIG;
  if (!EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL)) return IMC_E_INTERNAL;
  hex(md, n, hash);
  return 0;
}

int auth_optoken_new(char *token, size_t tcap, char *hash, size_t hcap)
{
  char r[65];
  if (tcap < 72 || hcap < 65) return IMC_E_TOOBIG;
  if (auth_random_hex(r, 32)) return IMC_E_INTERNAL;
  snprintf(token, tcap, "imc_op_%s", r);
  return auth_optoken_hash(token, hash, hcap);
}

int auth_optoken_check(const char *presented, const char *stored_hash)
{
  char h[65];
  if (!presented || !stored_hash || strlen(stored_hash) != 64 || auth_optoken_hash(presented, h, sizeof h)) return IMC_E_OP_AUTH;
  return CRYPTO_memcmp(h, stored_hash, 64) == 0 ? 0 : IMC_E_OP_AUTH;
}
