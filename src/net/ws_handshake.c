/* ws_handshake.c — the server side of the WebSocket opening handshake
 * (RFC 6455 §4.2.1–§4.2.2): which requests on ws_path are accepted, the
 * answer to each that is not, and the Sec-WebSocket-Accept value. Functions
 * of the request, no state; loop thread only. */
#include "net/net_int.h"

/* SHA1_Init/_Update/_Final: deprecated in OpenSSL 3 in favour of EVP, as in
 * auth/usersig.c; the build's -Werror would refuse the deprecation attribute */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

/* Does the comma-separated list v hold token (lower-case, tl bytes;
 * case-insensitive, OWS around elements)? */
static int list_has(const char *v, const char *token, size_t tl)
{
  for (const char *p = v; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
    if ((size_t)(t - p) == tl && !strncasecmp(p, token, tl)) return 1;
    p = e;
  }
  return 0;
}

/* v with OWS trimmed: *n bytes from the returned pointer. */
static const char *trim(const char *v, size_t *n)
{
  while (*v == ' ' || *v == '\t') v++;
  size_t k = strlen(v);
  while (k && (v[k - 1] == ' ' || v[k - 1] == '\t')) k--;
  *n = k;
  return v;
}

/* the base64 alphabet (RFC 4648 §4) */
static const unsigned char is_b64[256] = { ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1, ['+'] = 1, ['/'] = 1 };

/* accept_out = base64 (RFC 4648 §4) of the 20 bytes of a SHA-1: 27
 * characters, "=", then a NUL (EVP_EncodeBlock's output for the same input) */
static void b64_20(const unsigned char md[20], char *out)
{
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int o = 0;
  for (int i = 0; i < 18; i += 3) {
    unsigned v = (unsigned)md[i] << 16 | (unsigned)md[i + 1] << 8 | md[i + 2];
    out[o++] = abc[v >> 18];
    out[o++] = abc[v >> 12 & 63];
    out[o++] = abc[v >> 6 & 63];
    out[o++] = abc[v & 63];
  }
  unsigned v = (unsigned)md[18] << 16 | (unsigned)md[19] << 8;
  out[o++] = abc[v >> 18];
  out[o++] = abc[v >> 12 & 63];
  out[o++] = abc[v >> 6 & 63];
  out[o++] = '=';
  out[o] = 0;
}

/* base64 (RFC 4648 §4, canonical) of exactly 16 bytes: 22 characters, the
 * last carrying 2 zero bits (A, Q, g or w), then "==". */
static int key_ok(const char *k, size_t n)
{
  if (n != 24 || k[22] != '=' || k[23] != '=') return 0;
  for (int i = 0; i < 22; i++) if (!is_b64[(unsigned char)k[i]]) return 0;
  return k[21] == 'A' || k[21] == 'Q' || k[21] == 'g' || k[21] == 'w';
}

/* The fields the handshake reads, collected in one pass over the header
 * block (a lookup per check scanned it once per name). */
enum { HF_HOST, HF_UPGRADE, HF_CONNECTION, HF_KEY, HF_VERSION, HF_N };
static const struct { const char *name; size_t len; } hfields[HF_N] = {
  [HF_HOST] = { "host", 4 }, [HF_UPGRADE] = { "upgrade", 7 }, [HF_CONNECTION] = { "connection", 10 },
  [HF_KEY] = { "sec-websocket-key", 17 }, [HF_VERSION] = { "sec-websocket-version", 21 },
};

typedef struct hs_fields {
  unsigned count[HF_N];
  const char *last[HF_N];   /* the value of the last field line of each name */
  int upgrade_ws, connection_upgrade;
} hs_fields_t;

static void collect(const net_req_t *r, hs_fields_t *f)
{
  const char *k, *v;
  memset(f, 0, sizeof *f);
  for (size_t o = 0; (k = net__req_field_next(r, &o, &v));) {
    size_t kl = strlen(k);
    for (int i = 0; i < HF_N; i++) {
      if (hfields[i].len != kl || memcmp(k, hfields[i].name, kl)) continue; /* names are stored lower-case */
      f->count[i]++;
      f->last[i] = v;
      if (i == HF_UPGRADE && !f->upgrade_ws) f->upgrade_ws = list_has(v, "websocket", 9);
      if (i == HF_CONNECTION && !f->connection_upgrade) f->connection_upgrade = list_has(v, "upgrade", 7);
      break;
    }
  }
}

#define REFUSE(st, text) do { *why = (text); return (st); } while (0)

int net__ws_check(const net_req_t *r, const char *ws_path, char *accept_out, const char **why, const char **extra)
{
  hs_fields_t f;
  const char *key = NULL, *ver = NULL;
  size_t key_len = 0, ver_len = 0;
  *extra = NULL;
  if (strcmp(net_req_path(r), ws_path)) REFUSE(404, "no WebSocket service on this path (RFC 6455 §4.2.1)");
  if (strcmp(net_req_method(r), "GET")) REFUSE(400, "websocket handshake: the method must be GET (RFC 6455 §4.2.1)");
  if (net__req_minor(r) < 1) REFUSE(400, "websocket handshake: HTTP/1.1 or later is required (RFC 6455 §4.2.1)");
  collect(r, &f);
  if (f.count[HF_HOST] != 1) REFUSE(400, "websocket handshake: exactly one Host field (RFC 6455 §4.2.1)");
  if (!f.upgrade_ws) REFUSE(400, "websocket handshake: Upgrade must contain websocket (RFC 6455 §4.2.1)");
  if (!f.connection_upgrade) REFUSE(400, "websocket handshake: Connection must contain Upgrade (RFC 6455 §4.2.1)");
  if (f.count[HF_KEY] == 1) key = trim(f.last[HF_KEY], &key_len);
  if (!key || !key_ok(key, key_len))
    REFUSE(400, "websocket handshake: Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 §4.2.1)");
  if (f.count[HF_VERSION] == 1) ver = trim(f.last[HF_VERSION], &ver_len);
  if (!ver || ver_len != 2 || memcmp(ver, "13", 2)) {
    *extra = "Sec-WebSocket-Version: 13\r\n";
    REFUSE(426, "websocket handshake: Sec-WebSocket-Version must be 13 (RFC 6455 §4.2.2)");
  }
  /* Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) (§4.2.2 item 5.4) */
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA_CTX c;
  /* OpenSSL's SHA-1 itself, without the EVP layer, and the base64 by hand:
   * under callgrind (bench/login_cost.sh) EVP_DigestInit_ex2 alone was 562
   * instructions per upgrade and EVP_EncodeBlock 590; the loop thread's
   * instructions per login fell by 750-880 (docs/decisions/login-cost.md) */
  if (!SHA1_Init(&c) || !SHA1_Update(&c, key, 24) || !SHA1_Update(&c, guid, sizeof guid - 1) || !SHA1_Final(md, &c))
    REFUSE(500, "SHA-1 failed");
  b64_20(md, accept_out);
  return 0;
}
