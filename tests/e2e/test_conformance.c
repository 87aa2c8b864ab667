/* End-to-end conformance: every MUST of RFC 9112 (HTTP/1.1 message syntax
 * and framing) and RFC 6455 §4.2.1–§4.2.2 (WebSocket opening handshake) that
 * the server implements, one raw-socket request each, with its exact answer:
 * status line, the reason in the v4 error envelope, extra header lines, and
 * the connection closed after it. After each case a good request on a fresh
 * connection proves the server still serves.
 *
 * Each row names the clause it walks; `grep "§6.1"` finds scanner, row and
 * reason text together (src/net/http_strict.c, src/net/ws_handshake.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static e2e_server_t srv;

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, NULL, NULL, NULL, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

typedef struct conf_case {
  const char *clause;   /* what is walked */
  const char *req;      /* raw bytes sent */
  int status;           /* expected status code */
  const char *why;      /* expected reason after "HTTP parse error: " (NULL: not an error envelope) */
  const char *header;   /* an extra header line the answer must carry, or NULL */
} conf_case_t;

static const char *status_line(int status)
{
  switch (status) {
  case 200: return "HTTP/1.1 200 OK\r\n";
  case 400: return "HTTP/1.1 400 Bad Request\r\n";
  case 404: return "HTTP/1.1 404 Not Found\r\n";
  case 413: return "HTTP/1.1 413 Content Too Large\r\n";
  case 414: return "HTTP/1.1 414 URI Too Long\r\n";
  case 426: return "HTTP/1.1 426 Upgrade Required\r\n";
  case 431: return "HTTP/1.1 431 Request Header Fields Too Large\r\n";
  case 501: return "HTTP/1.1 501 Not Implemented\r\n";
  case 505: return "HTTP/1.1 505 HTTP Version Not Supported\r\n";
  default: return "?";
  }
}

/* GET /healthz on a fresh connection answers 200 {"status":"ok",…}. */
static void still_healthy(const char *after)
{
  char body[16384];
  int s = e2e_http(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body);
  if (s != 200 || strncmp(body, "{\"status\":\"ok\"", 14)) fail_msg("after \"%s\": /healthz gave %d %s", after, s, body);
}

/* Send the case, read until the server closes, compare the whole answer. */
static void run_case(const conf_case_t *k)
{
  static char out[65536];
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, k->req, strlen(k->req)), 0);
  size_t n = e2e_recv_all(fd, out, sizeof out, 3000); /* returns when the server closes */
  close(fd);
  const char *sl = status_line(k->status);
  if (strncmp(out, sl, strlen(sl))) fail_msg("%s: want %.*s, got %.200s", k->clause, (int)strlen(sl) - 2, sl, out);
  if (!strstr(out, "\r\nConnection: close\r\n")) fail_msg("%s: no Connection: close in %s", k->clause, out);
  if (k->header && !strstr(out, k->header)) fail_msg("%s: no \"%s\" in %s", k->clause, k->header, out);
  char *body = strstr(out, "\r\n\r\n");
  assert_non_null(body);
  body += 4;
  if (k->why) {
    char want[512];
    int code = k->status == 413 ? 93000 : 60002;
    const char *what = k->status == 413 ? "request too large" : "HTTP parse error";
    snprintf(want, sizeof want, "{\"ActionStatus\":\"FAIL\",\"ErrorCode\":%d,\"ErrorInfo\":\"%s: %s\"}", code, what, k->why);
    if (strcmp(body, want)) fail_msg("%s:\n want %s\n got  %s", k->clause, want, body);
  }
  /* exactly one answer, then the server closed: nothing follows the body */
  const char *cl = strstr(out, "Content-Length: ");
  assert_non_null(cl);
  if ((size_t)(body - out) + strtoul(cl + 16, NULL, 10) != n) fail_msg("%s: bytes after the answer: %s", k->clause, out);
  still_healthy(k->clause);
}

static void run_table(const conf_case_t *t, size_t n)
{
  for (size_t i = 0; i < n; i++) run_case(&t[i]);
}

#define RUN(t) run_table(t, sizeof t / sizeof t[0])
#define GOOD_WS_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

/* RFC 9112 §2.2, §2.3, §3: message and request-line syntax. */
static void test_rfc9112_request_line(void **st)
{
  (void)st;
  static const conf_case_t t[] = {
    { "§2.2 bare LF", "GET /healthz HTTP/1.1\nHost: x\n\n", 400, "bare LF: lines must end with CRLF (RFC 9112 §2.2)", NULL },
    { "§2.2 bare CR", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400, "bare CR in a field value (RFC 9112 §2.2)", NULL },
    { "§3 one SP after method", "GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: the request-target must be visible ASCII followed by one space (RFC 9112 §3)", NULL },
    { "§3 HTAB is not SP", "GET\t/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: the method must be a token followed by one space (RFC 9112 §3)", NULL },
    { "§3 method is a token", "GE(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: the method must be a token followed by one space (RFC 9112 §3)", NULL },
    { "§3 target has no CTL", "GET /heal\x01thz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: the request-target must be visible ASCII followed by one space (RFC 9112 §3)", NULL },
    { "§3 target is ASCII", "GET /h\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: the request-target must be visible ASCII followed by one space (RFC 9112 §3)", NULL },
    { "§2.3 HTTP-name is case-sensitive", "GET /healthz http/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: the version must be HTTP/DIGIT.DIGIT (RFC 9112 §2.3)", NULL },
    { "§2.3 one digit each", "GET /healthz HTTP/1.10\r\nHost: x\r\n\r\n", 400,
      "request-line: the version must be HTTP/DIGIT.DIGIT (RFC 9112 §2.3)", NULL },
    { "§2.3 no trailing space", "GET /healthz HTTP/1.1 \r\nHost: x\r\n\r\n", 400,
      "request-line: the version must be HTTP/DIGIT.DIGIT (RFC 9112 §2.3)", NULL },
    { "§2.3 HTTP/0.9 request", "GET /healthz\r\n\r\n", 400,
      "request-line: the request-target must be visible ASCII followed by one space (RFC 9112 §3)", NULL },
    { "RFC 9110 §15.6.6 major version 2", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, "only HTTP/1.x is served (RFC 9110 §15.6.6)", NULL },
    { "RFC 9110 §15.6.6 major version 9", "POST /v4/a/b HTTP/9.9\r\n\r\n", 505, "only HTTP/1.x is served (RFC 9110 §15.6.6)", NULL },
    { "RFC 9110 §9.1 unknown method", "FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 501, "method not implemented (RFC 9110 §9.1)", NULL },
    { "RFC 9110 §9.1 CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 501, "method not implemented (RFC 9110 §9.1)", NULL },
    { "§3.2.4 asterisk-form", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: asterisk-form is for OPTIONS only (RFC 9112 §3.2.4)", NULL },
    { "§3.2 request-target form", "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: the request-target must be origin-form or absolute-form (RFC 9112 §3.2)", NULL },
    { "RFC 9110 §4.2.1 http URI without a host", "GET http:///healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: an http(s) URI must have a host (RFC 9110 §4.2.1)", NULL },
    { "RFC 9110 §4.2.1 https URI with a port only", "GET https://:443/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "request-line: an http(s) URI must have a host (RFC 9110 §4.2.1)", NULL },
  };
  RUN(t);
  /* §3: a request-line longer than the server accepts is answered 414, not 431 */
  size_t n = 20000;
  char *req = malloc(n + 64);
  assert_non_null(req);
  int h = sprintf(req, "GET /healthz?");
  memset(req + h, 'a', n);
  strcpy(req + h + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
  const conf_case_t long_line = { "§3 request-line too long", req, 414, "request-line too long (RFC 9112 §3)", NULL };
  run_case(&long_line);
  free(req);
}

/* RFC 9112 §5: field lines. */
static void test_rfc9112_fields(void **st)
{
  (void)st;
  static const conf_case_t t[] = {
    { "§5.1 no whitespace before the colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400,
      "whitespace between a field name and the colon (RFC 9112 §5.1)", NULL },
    { "§5.2 obs-fold", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400,
      "obs-fold (a field line starting with whitespace) is not accepted (RFC 9112 §5.2)", NULL },
    { "§2.2 whitespace after the start-line", "GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n", 400,
      "obs-fold (a field line starting with whitespace) is not accepted (RFC 9112 §5.2)", NULL },
    { "§5 field name is a token", "GET /healthz HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n", 400,
      "field line: the name must be a token followed by a colon (RFC 9112 §5)", NULL },
    { "§5 empty field name", "GET /healthz HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n", 400,
      "field line: the name must be a token followed by a colon (RFC 9112 §5)", NULL },
    { "RFC 9110 §5.5 NUL in a value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n", 400,
      "control character in a field value (RFC 9110 §5.5)", NULL },
    /* RFC 9110 §5.6.1.2: empty list elements are ignored; §9.6: nothing after "close" is processed */
    { "§9.6 close behind an empty element", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: , close\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, NULL },
    { "§9.6 close in a second Connection field", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"
      "Connection: ,Close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, NULL },
  };
  RUN(t);
}

/* RFC 9112 §3.2: Host. */
static void test_rfc9112_host(void **st)
{
  (void)st;
  static const conf_case_t t[] = {
    { "§3.2 HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\n\r\n", 400,
      "an HTTP/1.1 request must have a Host field (RFC 9112 §3.2)", NULL },
    { "§3.2 two Host fields", "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", 400, "more than one Host field (RFC 9112 §3.2)", NULL },
    { "§3.2 two Host fields in HTTP/1.0", "GET /healthz HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n", 400,
      "more than one Host field (RFC 9112 §3.2)", NULL },
    { "§3.2 invalid Host value", "GET /healthz HTTP/1.1\r\nHost: x/y\r\n\r\n", 400, "invalid Host field value (RFC 9112 §3.2)", NULL },
    { "§3.2 invalid Host port", "GET /healthz HTTP/1.1\r\nHost: x:8o\r\n\r\n", 400, "invalid Host field value (RFC 9112 §3.2)", NULL },
  };
  RUN(t);
}

/* RFC 9112 §6: message body framing. */
static void test_rfc9112_framing(void **st)
{
  (void)st;
  static const conf_case_t t[] = {
    { "§6.1 Transfer-Encoding and Content-Length",
      "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
      "both Transfer-Encoding and Content-Length (RFC 9112 §6.1)", NULL },
    { "§6.1 Transfer-Encoding in HTTP/1.0", "POST /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
      "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)", NULL },
    { "§6.3 chunked not final", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
      "chunked must be the final transfer coding of a request (RFC 9112 §6.3)", NULL },
    { "§6.3 chunked not final (two lines)",
      "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
      "chunked must be the final transfer coding of a request (RFC 9112 §6.3)", NULL },
    { "§6.1 chunked twice", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400,
      "chunked applied more than once (RFC 9112 §6.1)", NULL },
    /* RFC 9110 §5.6.1.2: empty list elements are accepted (http-parser alone refuses them) */
    { "§6.1 chunked, (an empty element after)", "POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Transfer-Encoding: chunked,\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, NULL, NULL },
    { "§6.1 , chunked (an empty element before)", "POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Transfer-Encoding: , chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, NULL, NULL },
    { "§6.1 a field of empty elements beside chunked", "POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Transfer-Encoding: ,\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, NULL, NULL },
    { "§6.1 whitespace after chunked", "POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Transfer-Encoding: chunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, NULL, NULL },
    { "RFC 9110 §10.1.4 a quoted transfer-parameter holding a comma", "POST /healthz HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\nTransfer-Encoding: chunked;x=\"a,b\"\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, NULL, NULL },
    /* not the grammar: refused, not read as chunked (a hop that does not see chunked would frame it otherwise) */
    { "§6.1 two words", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked gzip\r\n\r\n0\r\n\r\n", 400,
      "Transfer-Encoding: not a list of transfer codings (RFC 9112 §6.1)", NULL },
    { "RFC 9110 §10.1.4 a parameter without a value", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;\r\n"
      "\r\n0\r\n\r\n", 400, "Transfer-Encoding: malformed transfer-parameter (RFC 9110 §10.1.4)", NULL },
    { "RFC 9110 §10.1.4 an unclosed quoted parameter", "POST /healthz HTTP/1.1\r\nHost: x\r\n"
      "Transfer-Encoding: chunked;x=\"a\r\n\r\n0\r\n\r\n", 400,
      "Transfer-Encoding: malformed transfer-parameter (RFC 9110 §10.1.4)", NULL },
    { "§6.1 empty Transfer-Encoding", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n", 400,
      "empty Transfer-Encoding (RFC 9112 §6.1)", NULL },
    { "§6.1 unknown transfer coding", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
      "transfer coding not implemented (RFC 9112 §6.1)", NULL },
    { "§6.3 duplicate Content-Length", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", 400,
      "more than one Content-Length field (RFC 9112 §6.3)", NULL },
    { "§6.3 Content-Length list", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab", 400,
      "invalid Content-Length (RFC 9112 §6.3)", NULL },
    { "§6.3 negative Content-Length", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400,
      "invalid Content-Length (RFC 9112 §6.3)", NULL },
    { "§6.3 signed Content-Length", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nab", 400,
      "invalid Content-Length (RFC 9112 §6.3)", NULL },
    { "§6.3 empty Content-Length", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400,
      "invalid Content-Length (RFC 9112 §6.3)", NULL },
    { "body cap from Content-Length", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
      "request body too large", NULL },
  };
  RUN(t);
}

/* RFC 9112 §7.1: chunked transfer coding. */
static void test_rfc9112_chunked(void **st)
{
  (void)st;
#define CH "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
  static const conf_case_t t[] = {
    { "§7.1 chunk-size is HEXDIG", CH "zz\r\nhello\r\n0\r\n\r\n", 400, "chunk-size must be hexadecimal digits (RFC 9112 §7.1)", NULL },
    { "§7.1 chunk-size signed", CH "-5\r\nhello\r\n0\r\n\r\n", 400, "chunk-size must be hexadecimal digits (RFC 9112 §7.1)", NULL },
    { "§7.1.1 whitespace without extension", CH "5 \r\nhello\r\n0\r\n\r\n", 400, "malformed chunk extension (RFC 9112 §7.1.1)", NULL },
    { "§7.1.1 extension without a name", CH "5;\r\nhello\r\n0\r\n\r\n", 400, "malformed chunk extension (RFC 9112 §7.1.1)", NULL },
    { "§7.1.1 extension value", CH "5;a=\r\nhello\r\n0\r\n\r\n", 400, "malformed chunk extension (RFC 9112 §7.1.1)", NULL },
    { "§7.1.1 unterminated quoted extension", CH "5;a=\"b\r\nhello\r\n0\r\n\r\n", 400, "malformed chunk extension (RFC 9112 §7.1.1)", NULL },
    { "§7.1 CRLF after chunk data", CH "5\r\nhelloXX0\r\n\r\n", 400, "chunk data must be followed by CRLF (RFC 9112 §7.1)", NULL },
    { "§7.1 bare LF after chunk data", CH "5\r\nhello\n0\r\n\r\n", 400, "chunk data must be followed by CRLF (RFC 9112 §7.1)", NULL },
    { "§7.1 bare LF after chunk-size", CH "5\nhello\r\n0\r\n\r\n", 400, "bare LF: lines must end with CRLF (RFC 9112 §2.2)", NULL },
    { "§7.1.2 trailer obs-fold", CH "0\r\nX-T: a\r\n b\r\n\r\n", 400,
      "obs-fold (a field line starting with whitespace) is not accepted (RFC 9112 §5.2)", NULL },
    { "§7.1.2 trailer field syntax", CH "0\r\nX-T : a\r\n\r\n", 400, "whitespace between a field name and the colon (RFC 9112 §5.1)", NULL },
    /* past max_body_bytes 0: the larger of 1 MiB and the largest message route cap (1.47 MiB at msg_max_bytes 12 KiB) */
    { "body cap from chunk sizes", CH "200001\r\n", 413, "request body too large", NULL },
  };
#undef CH
  RUN(t);
}

/* RFC 6455 §4.2.1–§4.2.2: the opening handshake. */
static void test_rfc6455_handshake(void **st)
{
  (void)st;
#define UP "Upgrade: websocket\r\nConnection: Upgrade\r\n"
  static const conf_case_t t[] = {
    { "6455 §4.2.1 method GET", "POST /ws HTTP/1.1\r\nHost: x\r\n" UP GOOD_WS_KEY "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
      400, "websocket handshake: the method must be GET (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 HTTP/1.1 or later", "GET /ws HTTP/1.0\r\nHost: x\r\n" UP GOOD_WS_KEY "Sec-WebSocket-Version: 13\r\n\r\n", 400,
      "websocket handshake: HTTP/1.1 or later is required (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 Host", "GET /ws HTTP/1.1\r\n" UP GOOD_WS_KEY "Sec-WebSocket-Version: 13\r\n\r\n", 400,
      "an HTTP/1.1 request must have a Host field (RFC 9112 §3.2)", NULL },
    { "6455 §4.2.1 Upgrade missing", "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n" GOOD_WS_KEY "Sec-WebSocket-Version: 13\r\n\r\n",
      400, "websocket handshake: Upgrade must contain websocket (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 Upgrade other protocol",
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websockets\r\nConnection: Upgrade\r\n" GOOD_WS_KEY "Sec-WebSocket-Version: 13\r\n\r\n", 400,
      "websocket handshake: Upgrade must contain websocket (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 plain GET on the WebSocket path", "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", 400,
      "websocket handshake: Upgrade must contain websocket (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 Connection token",
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n" GOOD_WS_KEY "Sec-WebSocket-Version: 13\r\n\r\n", 400,
      "websocket handshake: Connection must contain Upgrade (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 key missing", "GET /ws HTTP/1.1\r\nHost: x\r\n" UP "Sec-WebSocket-Version: 13\r\n\r\n", 400,
      "websocket handshake: Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 key not base64", "GET /ws HTTP/1.1\r\nHost: x\r\n" UP "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      400, "websocket handshake: Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 key of 15 bytes", "GET /ws HTTP/1.1\r\nHost: x\r\n" UP "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n\r\n",
      400, "websocket handshake: Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 key of 17 bytes",
      "GET /ws HTTP/1.1\r\nHost: x\r\n" UP "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Version: 13\r\n\r\n",
      400, "websocket handshake: Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.1 two keys", "GET /ws HTTP/1.1\r\nHost: x\r\n" UP GOOD_WS_KEY GOOD_WS_KEY "Sec-WebSocket-Version: 13\r\n\r\n", 400,
      "websocket handshake: Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 §4.2.1)", NULL },
    { "6455 §4.2.2 version 8", "GET /ws HTTP/1.1\r\nHost: x\r\n" UP GOOD_WS_KEY "Sec-WebSocket-Version: 8\r\n\r\n", 426,
      "websocket handshake: Sec-WebSocket-Version must be 13 (RFC 6455 §4.2.2)", "\r\nSec-WebSocket-Version: 13\r\n" },
    { "6455 §4.2.2 version missing", "GET /ws HTTP/1.1\r\nHost: x\r\n" UP GOOD_WS_KEY "\r\n", 426,
      "websocket handshake: Sec-WebSocket-Version must be 13 (RFC 6455 §4.2.2)", "\r\nSec-WebSocket-Version: 13\r\n" },
  };
#undef UP
  RUN(t);
}

/* What must be accepted: the same checks do not refuse valid input. */
static void test_accepted(void **st)
{
  (void)st;
  char out[8192];
  /* empty lines before the request line (§2.2), a chunked body with valid
   * extensions and a trailer (§7.1), an absolute-form target (§3.2.2),
   * HTTP/1.0 without Host, then a pipelined request: framing stays in sync */
  const char *req = "\r\nPOST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5;a=b ; c=\"d \\\" e\"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
                    "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /healthz HTTP/1.0\r\n\r\n";
  int fd = e2e_connect(srv.port);
  assert_int_equal(e2e_send(fd, req, strlen(req)), 0);
  int s = e2e_http_read(fd, out, sizeof out, 3000);
  assert_true(s > 0 && s != 400 && s != 411 && s != 501);
  assert_int_equal(e2e_http_read(fd, out, sizeof out, 3000), 200);
  assert_int_equal(strncmp(out, "{\"status\":\"ok\"", 14), 0);
  assert_int_equal(e2e_http_read(fd, out, sizeof out, 3000), 200); /* HTTP/1.0: then closed */
  assert_int_equal(e2e_recv_all(fd, out, sizeof out, 3000), 0);
  close(fd);
  /* the handshake with list values, mixed case and OWS */
  fd = e2e_connect(srv.port);
  const char *ws = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:80\r\nUpgrade: foo, WebSocket\r\nConnection: keep-alive,  upgrade\r\n"
                   "Sec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ== \r\nSec-WebSocket-Version: 13\r\n\r\n";
  assert_int_equal(e2e_send(fd, ws, strlen(ws)), 0);
  size_t n = 0;
  while (n < 4 || memcmp(out + n - 4, "\r\n\r\n", 4)) {
    char ch;
    if (read(fd, &ch, 1) != 1) fail_msg("no handshake answer: %.*s", (int)n, out);
    out[n++] = ch;
  }
  out[n] = 0;
  assert_non_null(strstr(out, "HTTP/1.1 101 Switching Protocols\r\n"));
  assert_non_null(strstr(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  close(fd);
  still_healthy("accepted cases");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rfc9112_request_line), cmocka_unit_test(test_rfc9112_fields),
    cmocka_unit_test(test_rfc9112_host), cmocka_unit_test(test_rfc9112_framing),
    cmocka_unit_test(test_rfc9112_chunked), cmocka_unit_test(test_rfc6455_handshake),
    cmocka_unit_test(test_accepted),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
