/* ws_handshake.c — the server side of the WebSocket opening handshake
 * (RFC 6455 §4.2.1–§4.2.2): which requests on ws_path are accepted, the
 * answer to each that is not, and the Sec-WebSocket-Accept value. Functions
 * of the request (the SHA-1 context is kept for the next one); loop thread
 * only. */
#include "net/net_int.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

/* Does any field line `name` hold `token` in its comma-separated list
 * (case-insensitive, OWS around elements)? */
static int has_token(const net_req_t *r, const char *name, const char *token)
{
  size_t tl = strlen(token);
  const char *v;
  for (size_t i = 0; (v = net__req_field(r, name, i)); i++) {
    for (const char *p = v; *p;) {
      while (*p == ' ' || *p == '\t' || *p == ',') p++;
      const char *e = p;
      while (*e && *e != ',') e++;
      const char *t = e;
      while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
      if ((size_t)(t - p) == tl && !strncasecmp(p, token, tl)) return 1;
      p = e;
    }
  }
  return 0;
}

/* The value of the only field line `name` with OWS trimmed into buf, or
 * NULL when there is none, more than one, or it does not fit. */
static const char *single(const net_req_t *r, const char *name, char *buf, size_t cap)
{
  if (net__req_field_count(r, name) != 1) return NULL;
  const char *v = net__req_field(r, name, 0);
  while (*v == ' ' || *v == '\t') v++;
  size_t n = strlen(v);
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
  if (n >= cap) return NULL;
  memcpy(buf, v, n);
  buf[n] = 0;
  return buf;
}

/* base64 (RFC 4648 §4, canonical) of exactly 16 bytes: 22 characters, the
 * last carrying 2 zero bits, then "==". */
static int key_ok(const char *k)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (strlen(k) != 24 || strcmp(k + 22, "==")) return 0;
  for (int i = 0; i < 22; i++) if (!k[i] || !strchr(alphabet, k[i])) return 0;
  return (strchr(alphabet, k[21]) - alphabet) % 16 == 0;
}

#define REFUSE(st, text) do { *why = (text); return (st); } while (0)

int net__ws_check(const net_req_t *r, const char *ws_path, char *accept_out, const char **why, const char **extra)
{
  char key[64], ver[16];
  *extra = NULL;
  if (strcmp(net_req_path(r), ws_path)) REFUSE(404, "no WebSocket service on this path (RFC 6455 §4.2.1)");
  if (strcmp(net_req_method(r), "GET")) REFUSE(400, "websocket handshake: the method must be GET (RFC 6455 §4.2.1)");
  if (net__req_minor(r) < 1) REFUSE(400, "websocket handshake: HTTP/1.1 or later is required (RFC 6455 §4.2.1)");
  if (net__req_field_count(r, "host") != 1) REFUSE(400, "websocket handshake: exactly one Host field (RFC 6455 §4.2.1)");
  if (!has_token(r, "upgrade", "websocket")) REFUSE(400, "websocket handshake: Upgrade must contain websocket (RFC 6455 §4.2.1)");
  if (!has_token(r, "connection", "upgrade")) REFUSE(400, "websocket handshake: Connection must contain Upgrade (RFC 6455 §4.2.1)");
  if (!single(r, "sec-websocket-key", key, sizeof key) || !key_ok(key))
    REFUSE(400, "websocket handshake: Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 §4.2.1)");
  if (!single(r, "sec-websocket-version", ver, sizeof ver) || strcmp(ver, "13")) {
    *extra = "Sec-WebSocket-Version: 13\r\n";
    REFUSE(426, "websocket handshake: Sec-WebSocket-Version must be 13 (RFC 6455 §4.2.2)");
  }
  /* Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) (§4.2.2 item 5.4) */
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  char buf[24 + sizeof guid];
  memcpy(buf, key, 24);
  memcpy(buf + 24, guid, sizeof guid - 1);
  /* the algorithm fetched and a context allocated once (loop thread): an
   * EVP_Digest with EVP_sha1() fetched, allocated and freed both per upgrade */
  static EVP_MD *sha1;
  static EVP_MD_CTX *ctx;
  if (!sha1) sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
  if (!ctx) ctx = EVP_MD_CTX_new();
  if (!sha1 || !ctx || !EVP_DigestInit_ex2(ctx, sha1, NULL) || !EVP_DigestUpdate(ctx, buf, 24 + sizeof guid - 1) ||
      !EVP_DigestFinal_ex(ctx, md, &n))
    REFUSE(500, "SHA-1 failed");
  EVP_EncodeBlock((unsigned char *)accept_out, md, (int)n);
  return 0;
}
