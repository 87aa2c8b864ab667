/* What http-parser (the installed libhttp-parser, non-strict build) lets
 * through, and that net refuses it anyway. Each row is a request that breaks
 * an RFC 9112 MUST: the first assertion records that http-parser alone
 * accepts it (the gap; if a future http-parser closes one, this row says so),
 * the second that net's strict scanner (src/net/http_strict.c) closes the
 * connection on it. A valid request keeps the connection open. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <http_parser.h>
#include <string.h>

#include "net/net.h"

typedef struct { const char *what, *req; } gap_t;

static const gap_t gaps[] = {
  { "bare LF line ends (§2.2)", "GET / HTTP/1.1\nHost: x\n\n" },
  { "whitespace before the colon (§5.1)", "GET / HTTP/1.1\r\nHost : x\r\n\r\n" },
  { "obs-fold (§5.2)", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n" },
  { "no Host in HTTP/1.1 (§3.2)", "GET / HTTP/1.1\r\n\r\n" },
  { "two Host fields (§3.2)", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" },
  { "invalid Host (§3.2)", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n" },
  { "Transfer-Encoding in HTTP/1.0 (§6.1)", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" },
  { "unknown coding before chunked (§6.1)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" },
  { "space after chunk-size (§7.1)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n" },
  { "malformed chunk extension (§7.1.1)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;;=\"\r\nhello\r\n0\r\n\r\n" },
  { "no CRLF after chunk data (§7.1)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n" },
  { "HTTP/9.9 (RFC 9110 §15.6.6)", "GET / HTTP/9.9\r\nHost: x\r\n\r\n" },
  { "request-target with non-ASCII (§3.2)", "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n" },
  { "two spaces after the method (§3)", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n" },
  { "whitespace line after the start-line (§2.2)", "GET / HTTP/1.1\r\n Host: x\r\n\r\n" },
  { "asterisk-form with GET (§3.2.4)", "GET * HTTP/1.1\r\nHost: x\r\n\r\n" },
  { "trailer obs-fold (§7.1.2)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n" },
};

static int n_complete;
static int on_complete(http_parser *p) { (void)p; n_complete++; return 0; }

/* 1 if http-parser alone parses req to a complete message without error. */
static int parser_accepts(const char *req)
{
  http_parser p;
  http_parser_settings s;
  memset(&s, 0, sizeof s);
  s.on_message_complete = on_complete;
  http_parser_init(&p, HTTP_REQUEST);
  n_complete = 0;
  size_t n = http_parser_execute(&p, &s, req, strlen(req));
  return n == strlen(req) && HTTP_PARSER_ERRNO(&p) == HPE_OK && n_complete == 1;
}

static void test_gaps_exist_and_are_closed(void **st)
{
  (void)st;
  int bad = 0;
  for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
    if (!parser_accepts(gaps[i].req)) { print_error("http-parser now refuses: %s (drop the row)\n", gaps[i].what); bad++; }
    if (net_fuzz_http((const uint8_t *)gaps[i].req, strlen(gaps[i].req)) != 1) { print_error("net accepts: %s\n", gaps[i].what); bad++; }
  }
  assert_int_equal(bad, 0);
}

static void test_valid_request_keeps_connection(void **st)
{
  (void)st;
  const char *ok = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
  assert_true(parser_accepts(ok));
  assert_int_equal(net_fuzz_http((const uint8_t *)ok, strlen(ok)), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gaps_exist_and_are_closed),
    cmocka_unit_test(test_valid_request_keeps_connection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
