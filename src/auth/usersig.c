/* usersig.c — TLSSigAPIv2 generation and verification (usersig.h).
 * Inflation is capped (AUTH_JSON_MAX) so a compressed bomb fails cleanly; the
 * token length is capped before any decoding.
 *
 * Per-thread state (a pthread key, freed when the thread exits): the HMAC
 * keyed with the last secret key used, as two SHA-256 states that have
 * absorbed the key's inner and outer pad blocks (RFC 2104); a verification
 * copies them onto the stack and hashes only the signed text and the inner
 * digest (three SHA-256 blocks, no allocation: OpenSSL's EVP_MAC restart
 * duplicated a provider context twice per call, a sixth of the HMAC's
 * instructions); and one inflate stream, reset per token instead of
 * allocated. A different key (an app's secret changed, or another app)
 * re-keys the states before use: the key bytes are compared on each call.
 * Without that state, or when it cannot be keyed (out of memory), a call
 * falls back to OpenSSL's one-shot HMAC().
 */
#include "auth/usersig.h"
#include "auth/auth_int.h"
#include "util/err.h"
#include "util/jsonr.h"

#include <jansson.h>
/* SHA256_Init/_Update/_Final: deprecated in OpenSSL 3 in favour of EVP, but
 * the only interface whose state can be copied without an allocation; the
 * build's -Werror would refuse the declarations' deprecation attribute. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define AUTH_JSON_MAX 2048

static int identifier_ok(const char *id)
{
  size_t n = strlen(id);
  if (n == 0 || n > AUTH_IDENTIFIER_MAX) return 0;
  for (size_t i = 0; i < n; i++) if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e) return 0;
  return 1;
}

/* ---- per-thread state ------------------------------------------------------- */
typedef struct tstate {
  SHA256_CTX inner, outer; /* after (key ^ ipad), (key ^ opad): valid when key != NULL */
  char *key;
  size_t key_len;
  z_stream zs;           /* valid when zs_ok */
  int zs_ok;
} tstate_t;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t tkey;
static int tkey_ok;

static void forget_key(tstate_t *t)
{
  if (t->key) { OPENSSL_cleanse(t->key, t->key_len); free(t->key); }
  t->key = NULL;
  t->key_len = 0;
  OPENSSL_cleanse(&t->inner, sizeof t->inner);
  OPENSSL_cleanse(&t->outer, sizeof t->outer);
}

static void tstate_free(void *p)
{
  tstate_t *t = p;
  forget_key(t);
  if (t->zs_ok) inflateEnd(&t->zs);
  free(t);
}

/* The token's alphabet, each byte mapped to its six bits (B64_BAD: not in
 * it): base64's own, with * - _ standing for + / = (TLSSigAPIv2's URL-safe
 * form); '=' and '_' are B64_PAD, six zero bits counted as padding at the
 * end. One lookup per byte of the token. */
#define B64_BAD 0xff
#define B64_PAD 64
static unsigned char b64_val[256];

static void init_once(void)
{
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  memset(b64_val, B64_BAD, sizeof b64_val);
  for (int i = 0; i < 64; i++) b64_val[(unsigned char)digits[i]] = (unsigned char)i;
  b64_val['*'] = 62;
  b64_val['-'] = 63;
  b64_val['='] = b64_val['_'] = B64_PAD;
  tkey_ok = pthread_key_create(&tkey, tstate_free) == 0;
}

/* This thread's state, made on first use; NULL if it cannot be. */
static tstate_t *tstate(void)
{
  pthread_once(&once, init_once);
  if (!tkey_ok) return NULL;
  tstate_t *t = pthread_getspecific(tkey);
  if (t) return t;
  if (!(t = calloc(1, sizeof *t))) return NULL;
  if (pthread_setspecific(tkey, t)) { free(t); return NULL; }
  return t;
}

#define HMAC_BLOCK 64 /* SHA-256's block */

/* t's inner and outer states keyed with key (klen bytes, RFC 2104: a key
 * longer than a block is hashed first, a shorter one padded with zeros),
 * and key remembered; 0, or IMC_E_INTERNAL (t then holds no key). */
static int rekey(tstate_t *t, const char *key, size_t klen)
{
  unsigned char k[HMAC_BLOCK] = { 0 }, pad[HMAC_BLOCK];
  forget_key(t);
  if (klen > HMAC_BLOCK) SHA256((const unsigned char *)key, klen, k);
  else memcpy(k, key, klen);
  int ok = (t->key = malloc(klen + 1)) != NULL;
  for (int i = 0; i < HMAC_BLOCK; i++) pad[i] = k[i] ^ 0x36;
  ok = ok && SHA256_Init(&t->inner) && SHA256_Update(&t->inner, pad, HMAC_BLOCK);
  for (int i = 0; i < HMAC_BLOCK; i++) pad[i] = k[i] ^ 0x5c;
  ok = ok && SHA256_Init(&t->outer) && SHA256_Update(&t->outer, pad, HMAC_BLOCK);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  if (!ok) { forget_key(t); return IMC_E_INTERNAL; }
  memcpy(t->key, key, klen + 1);
  t->key_len = klen;
  return 0;
}

/* HMAC-SHA256 of text under key into mac (32 bytes); 0 or IMC_E_INTERNAL. */
static int hmac_sha256(const char *key, const char *text, size_t n, unsigned char mac[EVP_MAX_MD_SIZE], size_t *mlen)
{
  tstate_t *t = tstate();
  size_t klen = strlen(key);
  if (t && !(t->key && t->key_len == klen && !memcmp(t->key, key, klen)) && rekey(t, key, klen)) t = NULL;
  if (!t) { /* no state, or it could not be keyed (out of memory): the one-shot function */
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)text, n, mac, &len)) return IMC_E_INTERNAL;
    *mlen = len;
    return 0;
  }
  SHA256_CTX c = t->inner; /* the keyed states are copied, never advanced */
  unsigned char ih[SHA256_DIGEST_LENGTH];
  int ok = SHA256_Update(&c, text, n) && SHA256_Final(ih, &c);
  c = t->outer;
  ok = ok && SHA256_Update(&c, ih, sizeof ih) && SHA256_Final(mac, &c);
  OPENSSL_cleanse(&c, sizeof c);
  if (!ok) return IMC_E_INTERNAL;
  *mlen = SHA256_DIGEST_LENGTH;
  return 0;
}

/* base64 of the HMAC over the four-line string (44 chars + NUL). */
/* Append s (n bytes) at *p if it fits before end; 0 if it does not. */
static int put_bytes(char **p, const char *end, const char *s, size_t n)
{
  if ((size_t)(end - *p) < n) return 0;
  memcpy(*p, s, n);
  *p += n;
  return 1;
}

/* Append v in decimal, as %lld / %llu would print it. */
static int put_int(char **p, const char *end, int neg, uint64_t v)
{
  char d[24];
  size_t k = sizeof d;
  do { d[--k] = (char)('0' + v % 10); v /= 10; } while (v);
  if (neg) d[--k] = '-';
  return put_bytes(p, end, d + k, sizeof d - k);
}

static int put_i64(char **p, const char *end, int64_t v)
{
  return put_int(p, end, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

static int sign(const char *key, const char *identifier, uint64_t sdkappid, int64_t t, int64_t expire, char out[64])
{
  char text[256], *p = text;
  const char *end = text + sizeof text;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mlen = 0;
  /* "TLS.identifier:%s\nTLS.sdkappid:%llu\nTLS.time:%lld\nTLS.expire:%lld\n", without printf (a
   * tenth of the UserSig check's instructions) */
  if (!put_bytes(&p, end, "TLS.identifier:", 15) || !put_bytes(&p, end, identifier, strlen(identifier)) ||
      !put_bytes(&p, end, "\nTLS.sdkappid:", 14) || !put_int(&p, end, 0, sdkappid) ||
      !put_bytes(&p, end, "\nTLS.time:", 10) || !put_i64(&p, end, t) ||
      !put_bytes(&p, end, "\nTLS.expire:", 12) || !put_i64(&p, end, expire) || !put_bytes(&p, end, "\n", 1) || p == end)
    return IMC_E_INVAL; /* as snprintf's truncation was: the text must leave room for its NUL */
  size_t n = (size_t)(p - text);
  int rc = hmac_sha256(key, text, n, mac, &mlen);
  if (rc) return rc;
  EVP_EncodeBlock((unsigned char *)out, mac, (int)mlen);
  return 0;
}

int auth_usersig_gen(uint64_t sdkappid, const char *key, const char *identifier, int64_t now_s, int64_t expire_s,
                     char *out, size_t cap)
{
  char sig[64], json[512];
  unsigned char z[600];
  if (!key || !*key || !identifier || !identifier_ok(identifier)) return IMC_E_INVAL;
  int rc = sign(key, identifier, sdkappid, now_s, expire_s, sig);
  if (rc) return rc;
  int n = snprintf(json, sizeof json,
                   "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"%s\",\"TLS.sdkappid\":%llu,\"TLS.expire\":%lld,\"TLS.time\":%lld,\"TLS.sig\":\"%s\"}",
                   identifier, (unsigned long long)sdkappid, (long long)expire_s, (long long)now_s, sig);
  if (n < 0 || (size_t)n >= sizeof json) return IMC_E_INVAL;
  uLongf zlen = sizeof z;
  if (compress2(z, &zlen, (unsigned char *)json, (uLong)n, Z_DEFAULT_COMPRESSION) != Z_OK) return IMC_E_INTERNAL;
  if (cap < 4 * ((zlen + 2) / 3) + 1) return IMC_E_TOOBIG;
  int blen = EVP_EncodeBlock((unsigned char *)out, z, (int)zlen);
  for (int i = 0; i < blen; i++) out[i] = out[i] == '+' ? '*' : out[i] == '/' ? '-' : out[i] == '=' ? '_' : out[i];
  out[blen] = 0;
  return 0;
}

/* Four characters' values (each 0-63, B64_PAD or B64_BAD) into three bytes;
 * 0, or -1 if one was not in the alphabet. */
static inline int quad(const unsigned char *v, unsigned char *out)
{
  if ((v[0] | v[1] | v[2] | v[3]) & 0x80) return -1; /* B64_BAD */
  uint32_t x = (uint32_t)(v[0] & 63) << 18 | (uint32_t)(v[1] & 63) << 12 | (uint32_t)(v[2] & 63) << 6 | (v[3] & 63u);
  out[0] = (unsigned char)(x >> 16);
  out[1] = (unsigned char)(x >> 8);
  out[2] = (unsigned char)x;
  return 0;
}

int auth__sig_b64_decode(const char *tok, size_t n, unsigned char *raw, long *len)
{
  pthread_once(&once, init_once); /* b64_val */
  const unsigned char *t = (const unsigned char *)tok;
  size_t full = n / 4 * 4, o = 0;
  for (size_t i = 0; i < full; i += 4, o += 3) {
    const unsigned char v[4] = { b64_val[t[i]], b64_val[t[i + 1]], b64_val[t[i + 2]], b64_val[t[i + 3]] };
    if (quad(v, raw + o)) return IMC_E_SIG_DECODE;
  }
  size_t pads = 0;
  if (full < n) { /* missing padding is tolerated (Node re-pads): the rest as if '='-padded */
    unsigned char v[4] = { B64_PAD, B64_PAD, B64_PAD, B64_PAD };
    for (size_t i = full; i < n; i++) v[i - full] = b64_val[t[i]];
    if (quad(v, raw + o)) return IMC_E_SIG_DECODE;
    o += 3;
    pads = 4 - (n - full);
  }
  for (size_t i = n; i > 0 && b64_val[t[i - 1]] == B64_PAD; i--) pads++; /* the token's own '=' at its end */
  *len = (long)o - (long)pads;
  return 0;
}

/* Token → inflated JSON text (NUL-terminated). */
static int decode(const char *sig, char *json, size_t cap, size_t *len)
{
  size_t n = strlen(sig);
  if (n == 0) return IMC_E_SIG_EMPTY;
  if (n > AUTH_USERSIG_MAX) return IMC_E_SIG_DECODE;
  unsigned char raw[AUTH_USERSIG_MAX + 3];
  long rlen;
  if (auth__sig_b64_decode(sig, n, raw, &rlen) || rlen <= 2) return IMC_E_SIG_DECODE;
  tstate_t *t = tstate();
  z_stream own, *zs = &own; /* this thread's stream, or a stream of this call */
  if (t && !t->zs_ok) {
    memset(&t->zs, 0, sizeof t->zs);
    t->zs_ok = inflateInit(&t->zs) == Z_OK;
  }
  if (t && t->zs_ok) {
    zs = &t->zs;
    if (inflateReset(zs) != Z_OK) return IMC_E_INTERNAL;
  } else {
    memset(&own, 0, sizeof own);
    if (inflateInit(&own) != Z_OK) return IMC_E_INTERNAL;
  }
  zs->next_in = raw;
  zs->avail_in = (uInt)rlen;
  zs->next_out = (unsigned char *)json;
  zs->avail_out = (uInt)(cap - 1);
  int zr = inflate(zs, Z_FINISH);
  size_t out = cap - 1 - zs->avail_out;
  if (zs == &own) inflateEnd(&own);
  if (zr != Z_STREAM_END) return IMC_E_SIG_DECODE; /* corrupt, truncated, or larger than cap */
  json[out] = 0;
  *len = out;
  return 0;
}

/* Integer field that may also be given as a decimal string. */
static int int_field(json_t *o, const char *name, int64_t *out)
{
  json_t *v = json_object_get(o, name);
  if (json_is_integer(v)) { *out = json_integer_value(v); return 0; }
  if (json_is_string(v)) {
    char *end;
    const char *s = json_string_value(v);
    long long x = strtoll(s, &end, 10);
    if (*s && !*end) { *out = x; return 0; }
  }
  return IMC_E_SIG_MALFORMED;
}

/* The token's JSON read with jansson: any document json_loadb (flags 0)
 * accepts, duplicate keys included (the last one counts). */
static int parse_jansson(const char *json, size_t len, auth_usersig_info_t *info, char tls_sig[64])
{
  json_t *o = json_loadb(json, len, 0, NULL);
  if (!json_is_object(o)) { json_decref(o); return IMC_E_SIG_MALFORMED; }
  int64_t app = 0;
  json_t *id = json_object_get(o, "TLS.identifier"), *s = json_object_get(o, "TLS.sig");
  json_t *ver = json_object_get(o, "TLS.ver");
  int rc = IMC_E_SIG_MALFORMED;
  /* TLSSigAPIv2 writes "TLS.ver":"2.0"; anything else is another format. */
  if (json_is_string(ver) && !strcmp(json_string_value(ver), "2.0") && json_is_string(id) && json_string_length(id) <= AUTH_IDENTIFIER_MAX && json_is_string(s) &&
      json_string_length(s) < 64 && !json_object_get(o, "TLS.userbuf") && !int_field(o, "TLS.sdkappid", &app) &&
      app >= 0 && !int_field(o, "TLS.time", &info->time) && !int_field(o, "TLS.expire", &info->expire)) {
    snprintf(info->identifier, sizeof info->identifier, "%s", json_string_value(id));
    info->sdkappid = (uint64_t)app;
    if (tls_sig) snprintf(tls_sig, 64, "%s", json_string_value(s));
    rc = 0;
  }
  json_decref(o);
  return rc;
}

/* int_field over a jsonr document (member absent: JSONR_NONE). */
static int int_tok(const jsonr_doc_t *d, uint32_t i, char *scratch, int64_t *out)
{
  if (i == JSONR_NONE) return IMC_E_SIG_MALFORMED;
  if (d->t[i].type == JSONR_INTEGER) { *out = jsonr_int(d, i); return 0; }
  if (d->t[i].type == JSONR_STRING) {
    char *end;
    scratch[jsonr_str(d, i, scratch)] = 0;
    long long x = strtoll(scratch, &end, 10);
    if (*scratch && !*end) { *out = x; return 0; }
  }
  return IMC_E_SIG_MALFORMED;
}

#define PARSE_UNDECIDED 1
#define PARSE_TOKENS 32  /* a TLSSigAPIv2 token has 6 members (13 tokens) */

/* The same reading with jsonr (no allocation; jansson's loader was a sixth
 * of a login's loop instructions). PARSE_UNDECIDED when jsonr does not
 * accept the document (duplicate keys, which json_loadb with flags 0 takes,
 * or more tokens than PARSE_TOKENS): parse_jansson decides. Otherwise the
 * same result as parse_jansson, since a document jsonr accepts is one
 * jansson loads with the same values and no duplicate key. */
static int parse_jsonr(const char *json, size_t len, auth_usersig_info_t *info, char tls_sig[64])
{
  jsonr_tok_t t[PARSE_TOKENS];
  jsonr_doc_t d;
  char buf[AUTH_JSON_MAX];     /* a decoded string is never longer than the document */
  if (jsonr_parse(&d, json, len, t, PARSE_TOKENS) != JSONR_OK) return PARSE_UNDECIDED;
  if (t[0].type != JSONR_OBJECT) return IMC_E_SIG_MALFORMED;
  /* the members read, in one walk over the object (a jsonr_get each walked it seven times); jsonr
   * refused duplicate keys, so each name matches at most once */
  enum { M_VER, M_ID, M_SIG, M_USERBUF, M_APP, M_TIME, M_EXPIRE, M__COUNT };
  static const struct { const char *name; size_t len; } names[M__COUNT] = {
    [M_VER] = { "TLS.ver", 7 }, [M_ID] = { "TLS.identifier", 14 }, [M_SIG] = { "TLS.sig", 7 },
    [M_USERBUF] = { "TLS.userbuf", 11 }, [M_APP] = { "TLS.sdkappid", 12 }, [M_TIME] = { "TLS.time", 8 },
    [M_EXPIRE] = { "TLS.expire", 10 },
  };
  uint32_t m[M__COUNT];
  for (int f = 0; f < M__COUNT; f++) m[f] = JSONR_NONE;
  for (uint32_t k = 1, i = 0; i < t[0].len; i++, k = t[k + 1].next)
    for (int f = 0; f < M__COUNT; f++)
      if (jsonr_str_eq(&d, k, names[f].name, names[f].len)) { m[f] = k + 1; break; }
  uint32_t ver = m[M_VER], id = m[M_ID], s = m[M_SIG];
  if (ver == JSONR_NONE || t[ver].type != JSONR_STRING || !jsonr_str_eq(&d, ver, "2.0", 3)) return IMC_E_SIG_MALFORMED;
  if (id == JSONR_NONE || t[id].type != JSONR_STRING || s == JSONR_NONE || t[s].type != JSONR_STRING)
    return IMC_E_SIG_MALFORMED;
  if (m[M_USERBUF] != JSONR_NONE) return IMC_E_SIG_MALFORMED;
  int64_t app = 0, tm = 0, ex = 0;
  if (int_tok(&d, m[M_APP], buf, &app) || app < 0 || int_tok(&d, m[M_TIME], buf, &tm) || int_tok(&d, m[M_EXPIRE], buf, &ex))
    return IMC_E_SIG_MALFORMED;
  size_t n = jsonr_str(&d, s, buf);
  if (n >= 64) return IMC_E_SIG_MALFORMED;
  buf[n] = 0;
  if (tls_sig) memcpy(tls_sig, buf, n + 1);
  if ((n = jsonr_str(&d, id, buf)) > AUTH_IDENTIFIER_MAX) return IMC_E_SIG_MALFORMED;
  memcpy(info->identifier, buf, n);
  info->identifier[n] = 0;
  info->sdkappid = (uint64_t)app;
  info->time = tm;
  info->expire = ex;
  return 0;
}

static int parse(const char *sig, auth_usersig_info_t *info, char tls_sig[64])
{
  char json[AUTH_JSON_MAX];
  size_t len;
  int rc = decode(sig, json, sizeof json, &len);
  if (rc) return rc;
  rc = parse_jsonr(json, len, info, tls_sig);
  return rc == PARSE_UNDECIDED ? parse_jansson(json, len, info, tls_sig) : rc;
}

int auth_usersig_peek(const char *sig, auth_usersig_info_t *info)
{
  auth_usersig_info_t tmp;
  return parse(sig ? sig : "", info ? info : &tmp, NULL);
}

int auth_usersig_verify(const char *sig, uint64_t expected_sdkappid, const char *key,
                        const char *expected_identifier, int64_t now_s, auth_usersig_info_t *info_out)
{
  auth_usersig_info_t info;
  char tls_sig[64], want[64];
  int rc = parse(sig ? sig : "", &info, tls_sig);
  if (rc) return rc;
  if (info.sdkappid != expected_sdkappid) return IMC_E_SIG_SDKAPPID;
  if (strcmp(info.identifier, expected_identifier)) return IMC_E_SIG_IDENTIFIER;
  if (!key || !*key) return IMC_E_SIG_NO_KEY;
  if ((rc = sign(key, info.identifier, info.sdkappid, info.time, info.expire, want))) return IMC_E_SIG_MISMATCH;
  size_t wl = strlen(want);
  if (strlen(tls_sig) != wl || CRYPTO_memcmp(tls_sig, want, wl) != 0) return IMC_E_SIG_MISMATCH;
  /* expired iff now > time + expire (strict), computed without overflow */
  if (info.expire < 0 || now_s - info.time > info.expire) return IMC_E_SIG_EXPIRED;
  if (info_out) *info_out = info;
  return 0;
}
