/* http.c — HTTP/1.1 on top of http-parser: every byte passes the strict
 * RFC 9112 scanner (http_strict.c) first (an upgrade request in the plain
 * shape clients send is then read without http-parser: "Upgrade requests
 * read directly" below); requests are assembled, handed to
 * on_http, and answered in request order even when the application replies
 * asynchronously. Every reply, an error reply included, is an entry of the
 * connection's pipeline: an error on a later request is queued behind the
 * replies still pending and goes out after them, then the connection closes
 * (lingering, linger.c: the client still sending its body gets the reply).
 * A client that half-closes still gets the replies to what it sent. */
#include "net/net_int.h"
#include "util/err.h"
#include "util/turnlog.h"

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct net_req {
  struct net_req *next;
  struct net_conn *conn;        /* NULL once the connection is gone */
  char *url; size_t url_len, url_cap;
  char *hdrs; size_t hdrs_len, hdrs_cap;  /* "name\0value\0"…, names lower-case */
  char *body; size_t body_len, body_cap;
  char *path, *query;           /* split copy of url */
  char *resp; size_t resp_len;  /* reply bytes waiting for earlier replies */
  uint8_t replied, keep_alive, last_was_value, counted, hdrs_done, minor;
  uint32_t trace;               /* its id in the turn log (util/turnlog.h), 0 = none */
  char method[12];
  char remote[NET_PEER_MAX]; /* "[ipv6]:port" fits: 1 + 45 + 2 + 5 + NUL */
};

struct http_state {
  http_parser parser;
  http_scan_t scan;
  net_req_t *cur;               /* being read */
  net_req_t *head, *tail;       /* handed to the application (or answered by net), in order */
  net_req_t *ws;                /* a request on ws_path: the parser is paused behind it */
  int npending;
  uint8_t failed;               /* an error reply is queued: read nothing more */
  uint8_t stop;                 /* a request without keep-alive: read nothing more */
  uint8_t eof;                  /* the client half-closed: close once all is answered */
  uint8_t perr;                 /* http-parser refused what the scanner let through */
  uint8_t linger;               /* the reply that closes the connection is queued, the client may still be
                                   sending: linger once it is written (linger.c) */
  uint8_t late;                 /* the request being read met its deadline once and had the input waiting for
                                   it read then (read_late): its next deadline answers 408 */
  uint32_t trace_out;           /* the turn log's id of the last reply queued, until written (net__http_written) */
};

static int grow(char **buf, size_t *len, size_t add, size_t *cap_io, size_t limit)
{
  size_t cap = cap_io ? *cap_io : (*len ? *len + 1 : 0);
  if (*len + add > limit) return -1;
  if (*len + add + 1 > cap) {
    size_t ncap = cap ? cap * 2 : 256;
    while (ncap < *len + add + 1) ncap *= 2;
    char *n = realloc(*buf, ncap);
    if (!n) return -1;
    *buf = n;
    if (cap_io) *cap_io = ncap;
  }
  return 0;
}

/* Append data[0..n) to a NUL-terminated buffer of capacity *cap (grown as grow does). */
static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n, size_t limit)
{
  if (*len + n + 1 > *cap && grow(buf, len, n, cap, limit)) return -1;
  if (*len + n > limit) return -1;
  memcpy(*buf + *len, data, n);
  *len += n;
  (*buf)[*len] = 0;
  return 0;
}

/* Append one NUL (the end of a name or value in hdrs). */
static int append_nul(net_req_t *r)
{
  if (r->hdrs_len + 2 > r->hdrs_cap && grow(&r->hdrs, &r->hdrs_len, 1, &r->hdrs_cap, SIZE_MAX)) return -1;
  r->hdrs[r->hdrs_len] = 0;
  r->hdrs[++r->hdrs_len] = 0;
  return 0;
}

static void req_free(net_req_t *r)
{
  free(r->url); free(r->hdrs); free(r->body); free(r->path); free(r->resp);
  free(r);
}

static struct net_conn *conn_of(http_parser *p) { return p->data; }

static int on_begin(http_parser *p)
{
  struct net_conn *c = conn_of(p);
  http_state_t *h = c->u.http;
  net_req_t *r = malloc(sizeof *r); /* malloc, then a struct assignment (GCC turns malloc + memset into calloc): glibc's calloc skips its per-thread cache */
  if (!r) return -1;
  *r = (net_req_t){ 0 };
  r->conn = c;
  h->cur = r;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
  struct net_conn *c = conn_of(p);
  net_req_t *r = c->u.http->cur;
  return append(&r->url, &r->url_len, &r->url_cap, at, n, c->srv->cfg.max_header_bytes);
}

static int on_field(http_parser *p, const char *at, size_t n)
{
  struct net_conn *c = conn_of(p);
  net_req_t *r = c->u.http->cur;
  if (r->hdrs_done) return 0; /* a trailer field: never merged into the headers (RFC 9112 §7.1.2) */
  if (r->last_was_value || !r->hdrs_len) {
    if (r->hdrs_len && append_nul(r)) return -1; /* end of the previous value */
    r->last_was_value = 0;
  }
  size_t start = r->hdrs_len;
  if (append(&r->hdrs, &r->hdrs_len, &r->hdrs_cap, at, n, SIZE_MAX)) return -1;
  for (size_t i = start; i < r->hdrs_len; i++) { /* a token (the scanner checked): ASCII, as tolower in the C locale */
    unsigned char ch = (unsigned char)r->hdrs[i];
    r->hdrs[i] = (char)(ch | (unsigned char)((unsigned char)(ch - 'A') < 26u) << 5);
  }
  return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
  struct net_conn *c = conn_of(p);
  net_req_t *r = c->u.http->cur;
  if (r->hdrs_done) return 0;
  if (!r->last_was_value) { if (append_nul(r)) return -1; r->last_was_value = 1; }
  return append(&r->hdrs, &r->hdrs_len, &r->hdrs_cap, at, n, SIZE_MAX);
}

static int on_headers_complete(http_parser *p)
{
  struct net_conn *c = conn_of(p);
  net_req_t *r = c->u.http->cur;
  if (r->hdrs_len && append_nul(r)) return -1;
  if (r->hdrs_len && !r->last_was_value && append_nul(r)) return -1;
  r->hdrs_done = 1;
  r->minor = (uint8_t)p->http_minor;
  const char *m = http_method_str((enum http_method)p->method);
  size_t k = strlen(m);
  if (k >= sizeof r->method) k = sizeof r->method - 1; /* as snprintf truncated */
  memcpy(r->method, m, k);
  r->method[k] = 0;
  /* RFC 9110 §10.1.1: a client that expects 100-continue waits for it before
   * its body. Sent when nothing earlier is unanswered (an interim answer
   * must not pass their replies); otherwise the client sends the body after
   * its own wait, which the RFC allows it. */
  const char *ex = net__req_field(r, "expect", 0);
  http_state_t *h = c->u.http;
  if (ex && !strcasecmp(ex, "100-continue") && r->minor >= 1 && !h->head &&
      ((p->flags & F_CHUNKED) || (p->content_length > 0 && p->content_length != ULLONG_MAX)))
    net__queue(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  return 0; /* version, framing and caps were checked by the scanner */
}

static int on_body(http_parser *p, const char *at, size_t n)
{
  struct net_conn *c = conn_of(p);
  net_req_t *r = c->u.http->cur;
  if (r->body_len + n > c->srv->cfg.max_body_bytes) return -1; /* the scanner refuses these first */
  if (grow(&r->body, &r->body_len, n, &r->body_cap, c->srv->cfg.max_body_bytes)) return -1;
  memcpy(r->body + r->body_len, at, n);
  r->body_len += n;
  r->body[r->body_len] = 0;
  return 0;
}

static void split_url(net_req_t *r)
{
  const char *u = r->url ? r->url : "/";
  const char *scheme = strstr(u, "://");
  if (u[0] != '/' && scheme) { /* absolute-form (RFC 9112 §3.2.2): the path starts after the authority */
    u = strpbrk(scheme + 3, "/?");
    if (!u) u = "/";
  }
  size_t n = strlen(u);
  r->path = malloc(n + 2);
  if (!r->path) return;
  if (u[0] == '?') { r->path[0] = '/'; memcpy(r->path + 1, u, n + 1); } /* "http://h?q": the path is "/" */
  else memcpy(r->path, u, n + 1);
  char *q = strchr(r->path, '?');
  if (q) { *q = 0; r->query = q + 1; } else r->query = r->path + strlen(r->path);
  char *frag = strchr(r->query, '#');
  if (frag) *frag = 0;
}

/* Whether a Connection field of r lists "close" (RFC 9110 §7.6.1: a list of
 * tokens; empty elements and OWS are ignored, §5.6.1.2). http-parser misses
 * it behind an empty element (", close"). */
static int asks_close(const net_req_t *r)
{
  const char *k, *v;
  for (size_t o = 0; (k = net__req_field_next(r, &o, &v));) /* one pass over the fields */
    for (const char *e = strcasecmp(k, "connection") ? "" : v; *e;) {
      while (*e == ' ' || *e == '\t' || *e == ',') e++;
      const char *t = e;
      while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
      if (e - t == 5 && !strncasecmp(t, "close", 5)) return 1;
    }
  return 0;
}

static int on_complete(http_parser *p)
{
  struct net_conn *c = conn_of(p);
  http_state_t *h = c->u.http;
  net_req_t *r = h->cur;
  h->cur = NULL;
  r->keep_alive = (uint8_t)(http_should_keep_alive(p) && !asks_close(r));
  split_url(r);
  if (!r->path) { req_free(r); return -1; }
  if (h->tail) h->tail->next = r; else h->head = r;
  h->tail = r;
  h->npending++;
  net__set_deadline(c, 0); /* the application is working on it */
  if (!r->keep_alive) { h->stop = 1; http_parser_pause(p, 1); } /* no request after a "close" is processed (RFC 9112 §9.6) */
  if (!strcmp(r->path, c->srv->cfg.ws_path)) { h->ws = r; http_parser_pause(p, 1); return 0; } /* the feed loop answers it */
  net__peer_name(c, r->remote, sizeof r->remote); /* for the application (access log); an upgrade never reaches it */
  if (imc_turnlog_on()) {
    const char *colon = strrchr(r->remote, ':');
    r->trace = imc_turnlog_req(c->srv->read_at_ns, colon ? atoi(colon + 1) : 0);
  }
  r->counted = 1;
  c->srv->requests_in_flight++;
  c->flags &= (uint16_t)~CF_FRESH; /* a served client: its next requests are not opening work (conn.c) */
  c->srv->h.on_http(c->srv->h.ud, r);
  return 0;
}

static const http_parser_settings settings = {
  .on_message_begin = on_begin, .on_url = on_url, .on_header_field = on_field, .on_header_value = on_value,
  .on_headers_complete = on_headers_complete, .on_body = on_body, .on_message_complete = on_complete,
};

/* Reading resumes once the pipeline has room and the replies queued are
 * under NET_HTTP_MAX_QUEUED: a client that sends requests and never reads
 * its replies is not read either (its requests wait in the kernel), so its
 * replies cannot grow the server's memory without bound. */
static void resume_if_room(struct net_conn *c)
{
  http_state_t *h = c->u.http;
  if (h && h->npending < NET_MAX_PIPELINE && net__queued(c) < NET_HTTP_MAX_QUEUED && (c->flags & CF_READ_PAUSED) &&
      !h->failed && !h->stop && !h->eof && !(c->flags & (CF_FAKE | CF_CLOSE_AFTER_WRITE))) {
    c->flags &= (uint16_t)~CF_READ_PAUSED;
    net__resume_read(c);
    /* a request cut by the pause gets its time again, and its late read: the server, not the client, held
     * it; otherwise the deadline is the one drain gives (the pause's was the client's time to read) */
    if (!net__scan_idle(&h->scan)) {
      h->late = 0;
      net__set_deadline(c, net__now(c->srv) + c->srv->cfg.request_timeout_ms);
    } else {
      net__set_deadline(c, h->head ? 0 : net__now(c->srv) + c->srv->cfg.keepalive_idle_ms);
    }
  }
}

/* Stop reading c until its pipeline has room (resume_if_room). Its
 * deadline: the client's keepalive_idle_ms to take its replies when they
 * pass NET_HTTP_MAX_QUEUED (net__http_deadline), or none while only the
 * requests the application holds keep it paused: a request cut by the
 * pause does not time out while the server holds it (decision 68). */
static void pause_read(struct net_conn *c)
{
  c->flags |= CF_READ_PAUSED;
  net__read_stop(c);
  net__set_deadline(c, net__queued(c) >= NET_HTTP_MAX_QUEUED ? net__now(c->srv) + c->srv->cfg.keepalive_idle_ms : 0);
}

/* Close c once its replies are written. A client that takes none of them
 * for keepalive_idle_ms is cut off then (net__http_deadline), its unsent
 * output dropped: a closing connection holds its output and descriptor no
 * longer than a paused reader's. A client that takes some of them in that
 * time gets it again (net__http_deadline). */
static void close_after_replies(struct net_conn *c)
{
  net__close(c);
  net__set_deadline(c, net__now(c->srv) + c->srv->cfg.keepalive_idle_ms);
}

/* Queue every reply that is ready at the head of the pipeline. */
static void drain(struct net_conn *c)
{
  http_state_t *h = c->u.http;
  uint32_t queued_before = net__queued(c);
  while (h && h->head && h->head->replied) {
    net_req_t *r = h->head;
    h->head = r->next;
    if (!h->head) h->tail = NULL;
    h->npending--;
    if (r->trace) { imc_turnlog_req_mark(r->trace, IMC_TL_QUEUED); h->trace_out = r->trace; }
    net__queue(c, r->resp, r->resp_len);
    int keep = r->keep_alive;
    req_free(r);
    if (!keep) { h->linger = !h->eof; close_after_replies(c); return; }
  }
  if (!h || (c->flags & CF_CLOSE_AFTER_WRITE)) return;
  if (!h->head && h->eof) { close_after_replies(c); return; } /* everything the client sent is answered */
  if (!h->head && net__scan_idle(&h->scan)) net__set_deadline(c, net__now(c->srv) + c->srv->cfg.keepalive_idle_ms);
  resume_if_room(c);
  /* paused, its replies now pass the cap: from here the client has keepalive_idle_ms to take them, whatever the
   * pause's deadline was (none for a full pipeline: pause_read) */
  if ((c->flags & CF_READ_PAUSED) && queued_before < NET_HTTP_MAX_QUEUED && net__queued(c) >= NET_HTTP_MAX_QUEUED)
    net__set_deadline(c, net__now(c->srv) + c->srv->cfg.keepalive_idle_ms);
}

static const struct { int status; const char *reason; } reasons[] = {
  { 101, "Switching Protocols" }, { 200, "OK" }, { 201, "Created" }, { 204, "No Content" }, { 400, "Bad Request" },
  { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
  { 408, "Request Timeout" }, { 411, "Length Required" }, { 413, "Content Too Large" }, { 414, "URI Too Long" },
  { 426, "Upgrade Required" }, { 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
  { 501, "Not Implemented" }, { 503, "Service Unavailable" }, { 505, "HTTP Version Not Supported" },
};

/* Build r's reply bytes (kept until the replies before it are out). */
static int build_reply(net_req_t *r, int status, const char *content_type, const char *body, size_t len, const char *extra)
{
  const char *reason = "OK";
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) if (reasons[i].status == status) reason = reasons[i].reason;
  char head[512];
  int hl = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n"
                    "Access-Control-Allow-Origin: *\r\n%s\r\n", status, reason, content_type ? content_type : "text/plain",
                    len, r->keep_alive ? "keep-alive" : "close", extra ? extra : "");
  if (hl < 0 || (size_t)hl >= sizeof head) return IMC_E_INVAL;
  int is_head = !strcmp(r->method, "HEAD");
  size_t total = (size_t)hl + (is_head ? 0 : len);
  r->resp = malloc(total ? total : 1);
  if (!r->resp) return IMC_E_NOMEM;
  memcpy(r->resp, head, (size_t)hl);
  if (!is_head && len) memcpy(r->resp + hl, body, len);
  r->resp_len = total;
  r->replied = 1;
  return 0;
}

int net_req_reply(net_req_t *r, int status, const char *content_type, const char *body, size_t len, const char *extra)
{
  struct net_conn *c = r->conn;
  if (!c) { req_free(r); return 0; } /* the client is gone (orphan) */
  if (r->counted) { c->srv->requests_in_flight--; r->counted = 0; }
  int rc = build_reply(r, status, content_type, body, len, extra);
  if (rc) return rc;
  drain(c);
  return 0;
}

/* Answer r with an error in the v4 envelope (ErrorInfo says why), or in the
 * operator API's shape when plain, and close after it; nothing more is read
 * from the connection. */
int net__error_body(char *body, size_t cap, int err, const char *why, int plain)
{
  int bl = plain ? snprintf(body, cap, "{\"error\":{\"code\":\"%s\",\"message\":\"%s%s%s\"}}", imc_err_name(err),
                            imc_strerror(err), why ? ": " : "", why ? why : "")
                 : snprintf(body, cap, "{\"ActionStatus\":\"FAIL\",\"ErrorCode\":%d,\"ErrorInfo\":\"%s%s%s\"}",
                            imc_err_compat(err), imc_strerror(err), why ? ": " : "", why ? why : "");
  return bl < 0 || (size_t)bl >= cap ? 0 : bl;
}

static void fail_req(struct net_conn *c, net_req_t *r, int status, int err, const char *why, const char *extra, int plain)
{
  http_state_t *h = c->u.http;
  char body[400];
  int bl = net__error_body(body, sizeof body, err, why, plain);
  h->failed = 1;
  net__read_stop(c);
  net__set_deadline(c, 0);
  r->keep_alive = 0;
  if (build_reply(r, status, "application/json", body, (size_t)bl, extra)) { net__close(c); return; }
  drain(c);
}

/* An error on the request being read: its answer joins the pipeline after
 * the replies still pending (RFC 9112 §9.3.2: responses in request order). */
static void http_fail(struct net_conn *c, int status, int err, const char *why)
{
  http_state_t *h = c->u.http;
  if (h->failed) return;
  const char *pre = c->srv->cfg.plain_error_prefix; /* the request line read so far names the API */
  int plain = pre && h->cur && h->cur->url && h->cur->url_len >= strlen(pre) && !strncmp(h->cur->url, pre, strlen(pre));
  if (h->cur) { req_free(h->cur); h->cur = NULL; }
  net_req_t *r = calloc(1, sizeof *r);
  if (!r) { h->failed = 1; net__close(c); return; }
  r->conn = c;
  if (h->tail) h->tail->next = r; else h->head = r;
  h->tail = r;
  h->npending++;
  fail_req(c, r, status, err, why, NULL, plain);
}

static void ws_upgrade(struct net_conn *c, net_req_t *r, char *rest, size_t rest_len)
{
  http_state_t *h = c->u.http;
  char accept[64], resp[256];
  const char *why = NULL, *extra = NULL;
  int status = net__ws_check(r, c->srv->cfg.ws_path, accept, &why, &extra);
  if (!status && (h->head != r || h->npending != 1)) { status = 400; why = "a WebSocket handshake must not be pipelined behind unanswered requests"; }
  if (!status && h->stop) { status = 400; why = "websocket handshake: Connection: close"; }
  if (!status && net__ws_full(c->srv)) { /* the descriptors left serve HTTP (fdlimit.c) */
    fail_req(c, r, 503, IMC_E_WS_FULL, NULL, "Retry-After: 1\r\n", 0);
    return;
  }
  if (status) { fail_req(c, r, status, IMC_E_HTTP_PARSE, why, extra, 0); return; }
  static const char head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: ";
  size_t al = strlen(accept), n = sizeof head - 1; /* accept: 28 base64 bytes (net__ws_check) */
  _Static_assert(sizeof head - 1 + sizeof accept + 4 <= sizeof resp, "the 101 fits");
  memcpy(resp, head, n);
  memcpy(resp + n, accept, al);
  memcpy(resp + n + al, "\r\n\r\n", 4);
  net__queue(c, resp, n + al + 4);
  net__http_free(c);
  net__ws_start(c, rest, rest_len);
}

/* ---- Upgrade requests read directly ----------------------------------------
 * http-parser was a third of an upgrade request's instructions, repeating
 * what the strict scanner had just checked byte by byte. A request the
 * scanner accepted whole, in one run (request line to empty line, every line
 * in place), is read here instead when its shape leaves http-parser nothing
 * to decide: GET, HTTP/1.1, an origin-form target that is ws_path or ws_path
 * "?" query, of RFC 3986 pchar and "/?" only, no Content-Length,
 * Transfer-Encoding or Proxy-Connection, every Connection field a list of
 * "upgrade" and "keep-alive" only (so it keeps the connection alive, as
 * http-parser would say), no empty value and no whitespace after a value
 * (http-parser's value bytes would be the same). Anything else goes to
 * http-parser as before, with nothing changed: the request built is the one
 * its callbacks build (method, url, lower-case names, values, minor,
 * keep-alive), handed on as on_complete does for ws_path. */
static uint64_t upgrades_direct;
uint64_t net_upgrades_direct(void) { return upgrades_direct; }

/* RFC 3986 pchar (unreserved, sub-delims, ":", "@", "%") and "/", "?" */
static const unsigned char target_ok[256] = {
  ['0' ... '9'] = 1, ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['!'] = 1,
  ['$'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1,
  [':'] = 1, ['@'] = 1, ['%'] = 1, ['/'] = 1, ['?'] = 1,
};

/* A Connection value that is a list of "upgrade" and "keep-alive" only
 * (elements separated by "," and spaces). */
static int connection_plain(const char *v, size_t n)
{
  size_t i = 0, tokens = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == ',')) i++;
    size_t t0 = i;
    while (i < n && v[i] != ' ' && v[i] != ',') i++;
    size_t tl = i - t0;
    if (!tl) break;
    if (!(tl == 7 && !strncasecmp(v + t0, "upgrade", 7)) && !(tl == 10 && !strncasecmp(v + t0, "keep-alive", 10)))
      return 0;
    tokens++;
  }
  return tokens > 0;
}

/* The request p[0..n) in the plain shape above, built; NULL if it is not
 * (or on OOM: http-parser then reads it and fails the same way). */
static net_req_t *upgrade_direct(struct net_conn *c, const char *p, size_t n)
{
  const char *ws = c->srv->cfg.ws_path, *end = p + n;
  size_t wl = strlen(ws);
  if (n > HTTP_MAX_HEADER_SIZE || n < 4 || memcmp(p, "GET ", 4) || ws[0] != '/') return NULL;
  const char *t = p + 4, *sp = memchr(t, ' ', (size_t)(end - t)); /* the scanner checked: one space each side */
  if (!sp || (size_t)(sp - t) < wl || memcmp(t, ws, wl) || ((size_t)(sp - t) > wl && t[wl] != '?')) return NULL;
  for (const char *q = t; q < sp; q++) if (!target_ok[(unsigned char)*q]) return NULL;
  if (end - sp < 11 || memcmp(sp, " HTTP/1.1\r\n", 11)) return NULL;
  net_req_t *r = malloc(sizeof *r); /* as on_begin */
  if (!r) return NULL;
  *r = (net_req_t){ 0 };
  r->conn = c;
  if (append(&r->url, &r->url_len, &r->url_cap, t, (size_t)(sp - t), SIZE_MAX)) goto no;
  r->hdrs_cap = (size_t)(end - sp) + 1; /* names and values with a NUL each: fewer bytes than their lines */
  if (!(r->hdrs = malloc(r->hdrs_cap))) goto no;
  for (const char *l = sp + 11;;) {
    const char *lf = memchr(l, '\n', (size_t)(end - l));
    if (!lf) goto no;
    if (lf == l + 1) { if (lf + 1 != end) goto no; break; } /* the empty line ends the run: no body, nothing after */
    const char *colon = memchr(l, ':', (size_t)(lf - l)), *v = colon + 1, *ve = lf - 1; /* CR LF; the name is a token */
    if (!colon) goto no;
    while (v < ve && (*v == ' ' || *v == '\t')) v++;
    if (v == ve || ve[-1] == ' ' || ve[-1] == '\t') goto no;
    size_t nl = (size_t)(colon - l), vl = (size_t)(ve - v);
    if ((nl == 14 && !strncasecmp(l, "content-length", 14)) || (nl == 17 && !strncasecmp(l, "transfer-encoding", 17)) ||
        (nl == 16 && !strncasecmp(l, "proxy-connection", 16)) ||
        (nl == 10 && !strncasecmp(l, "connection", 10) && !connection_plain(v, vl)))
      goto no;
    char *d = r->hdrs + r->hdrs_len;
    for (size_t i = 0; i < nl; i++) { /* as on_field */
      unsigned char ch = (unsigned char)l[i];
      d[i] = (char)(ch | (unsigned char)((unsigned char)(ch - 'A') < 26u) << 5);
    }
    d[nl] = 0;
    memcpy(d + nl + 1, v, vl);
    d[nl + 1 + vl] = 0;
    r->hdrs_len += nl + vl + 2;
    l = lf + 1;
  }
  r->hdrs[r->hdrs_len] = 0;
  r->hdrs_done = 1;
  r->keep_alive = 1;
  r->minor = 1;
  memcpy(r->method, "GET", 4);
  split_url(r);
  if (!r->path) goto no;
  upgrades_direct++;
  return r;
no:
  req_free(r);
  return NULL;
}

/* Scanner output → http-parser (or upgrade_direct). Nonzero stops the scan. */
static int emit(void *ud, const char *p, size_t n)
{
  struct net_conn *c = ud;
  http_state_t *h = c->u.http;
  net_req_t *d = !h->cur && !c->srv->cfg.upgrade_parser_only ? upgrade_direct(c, p, n) : NULL;
  if (d) { /* as on_complete for a request on ws_path */
    if (h->tail) h->tail->next = d; else h->head = d;
    h->tail = d;
    h->npending++;
    net__set_deadline(c, 0);
    h->ws = d;
    return 1;
  }
  size_t k = http_parser_execute(&h->parser, &settings, p, n);
  if (h->ws || h->stop) return 1;
  if (HTTP_PARSER_ERRNO(&h->parser) != HPE_OK || k != n) { h->perr = 1; return 1; }
  return h->failed || (c->flags & CF_CLOSE_AFTER_WRITE);
}

static void begin(void *ud)
{
  struct net_conn *c = ud;
  c->u.http->late = 0;
  net__set_deadline(c, net__now(c->srv) + c->srv->cfg.request_timeout_ms);
}

void net__http_feed(struct net_conn *c, char *data, size_t len)
{
  if (c->flags & CF_CLOSE_AFTER_WRITE) return;
  if (!c->u.http) {
    http_state_t *h = malloc(sizeof *h); /* as on_begin */
    if (!h) { net__close(c); return; }
    *h = (http_state_t){ 0 };
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = c;
    c->u.http = h;
  }
  http_state_t *h = c->u.http;
  if (h->failed || h->stop || h->eof) return;
  const net_scan_cb_t cb = { c, emit, begin };
  size_t used = 0;
  const char *why = NULL;
  int st = net__scan(&h->scan, &c->srv->cfg, data, len, &cb, &used, &why);
  if (h->failed || (c->flags & CF_CLOSE_AFTER_WRITE)) return;
  if (h->ws) {
    net_req_t *r = h->ws;
    h->ws = NULL;
    ws_upgrade(c, r, data + used, len - used);
    return;
  }
  if (st) { http_fail(c, st, st == 413 ? IMC_E_TOOBIG : IMC_E_HTTP_PARSE, why); return; }
  if (h->perr) { http_fail(c, 400, IMC_E_HTTP_PARSE, http_errno_description(HTTP_PARSER_ERRNO(&h->parser))); return; }
  if (h->stop) {
    net__read_stop(c);
    return;
  }
  if ((h->npending >= NET_MAX_PIPELINE || net__queued(c) >= NET_HTTP_MAX_QUEUED) && !(c->flags & CF_FAKE)) pause_read(c);
}

int net__http_wants_linger(const struct net_conn *c) { return c->u.http && c->u.http->linger; }

void net__http_written(struct net_conn *c)
{
  http_state_t *h = c->u.http;
  if (!h) return;
  resume_if_room(c); /* everything queued is written */
  if (!h->trace_out) return;
  imc_turnlog_req_mark(h->trace_out, IMC_TL_WRITTEN);
  h->trace_out = 0;
}

/* Whether c's deadline, armed, is keepalive_idle_ms: the client's time to
 * take its replies (paused past NET_HTTP_MAX_QUEUED: pause_read and drain
 * arm no other; closing after them: close_after_replies) or to send its
 * next request (idle: nothing with the application, no request begun).
 * Otherwise it is a request's (request_timeout_ms). */
static int keep_deadline(const struct net_conn *c)
{
  const http_state_t *h = c->u.http;
  return (c->flags & (CF_CLOSE_AFTER_WRITE | CF_READ_PAUSED)) || !h || (!h->head && net__scan_idle(&h->scan));
}

/* A keep-alive deadline of c passed: whether output waits for its client
 * (queued here, or held by the kernel unacknowledged) and the client took
 * some of it since its last such deadline (what its kernel acknowledged
 * grew: c->acked). 1 it took some, 0 it took none, -1 nothing waits. The
 * kernel counts while the loop stalls: what a client took meanwhile
 * counts. */
static int client_took(struct net_conn *c)
{
  uint32_t unacked = 0;
  uint64_t acked = 0;
  if (net__tcp_out(c->fd, &unacked, &acked)) return net__queued(c) ? 0 : -1;
  if (!net__queued(c) && !unacked) return -1;
  int took = (uint32_t)acked != c->acked;
  c->acked = (uint32_t)acked;
  return took;
}

/* The request being read met its deadline. A loop stalled past it (CPU
 * starvation, a long turn) runs the deadline wheel before it polls the
 * sockets, while the rest of the request may have been waiting in the kernel
 * since before the deadline: that input is read first, to EAGAIN or the
 * request's end, once per request (a client dripping bytes gains nothing
 * from it: its next deadline is the 408). 1 if the request was completed,
 * refused or paused by it, or the connection closed or upgraded (each of
 * which sets its own deadline); 0 if it is still incomplete: 408
 * (decision 68). */
static int read_late(struct net_conn *c)
{
  http_state_t *h = c->u.http;
  if (h->late) return 0;
  h->late = 1;
  while (net__read_waiting(c)) {
    if ((c->flags & (CF_CLOSED | CF_WS | CF_CLOSE_AFTER_WRITE | CF_READ_PAUSED)) || !(h = c->u.http)) return 1;
    if (!h->late || h->failed || h->stop || h->eof || net__scan_idle(&h->scan)) return 1;
  }
  return 0;
}

/* c's deadline (decision 71 for the keep-alive ones). A keep-alive
 * deadline with output waiting for the client: one it took some of since
 * the last such deadline is re-armed (the deadline is about progress, not
 * total time); one it took none of for the whole period is cut off if
 * replies are still queued here (a 408 or a close that waits for them
 * would wait as long as the client likes), closed as an idle one if only
 * the kernel holds them. An idle connection's: a request that arrived
 * while the loop stalled is read first (it arms its own deadline; read
 * once, so a client gains nothing from it), else it is closed. */
void net__http_deadline(struct net_conn *c)
{
  http_state_t *h = c->u.http;
  int took;
  if ((c->flags & CF_CLOSE_AFTER_WRITE) && c->srv->closing) {
    net__really_close(c); /* the stop's grace is over (net_server_close) */
  } else if (keep_deadline(c) && (took = client_took(c)) >= 0) {
    if (took) net__set_deadline(c, net__now(c->srv) + c->srv->cfg.keepalive_idle_ms);
    else if (net__queued(c)) net__really_close(c);
    else net__close(c);
  } else if (c->flags & CF_CLOSE_AFTER_WRITE) {
    net__really_close(c);
  } else if (h && !h->failed && !net__scan_idle(&h->scan)) {
    if (!read_late(c)) http_fail(c, 408, IMC_E_TIMEOUT, "the request was not complete in time");
  } else if (!net__read_late(c)) {
    net__close(c);
  }
}

void net__http_eof(struct net_conn *c)
{
  http_state_t *h = c->u.http;
  net__read_stop(c);
  if (!h || !h->head) { net__close(c); return; }
  /* answer what was sent, then close; an incomplete request is dropped */
  h->eof = 1;
  if (h->cur) { req_free(h->cur); h->cur = NULL; }
  net__set_deadline(c, 0);
}

void net__http_orphan(struct net_conn *c)
{
  http_state_t *h = c->u.http;
  if (!h) return;
  for (net_req_t *r = h->head, *next; r; r = next) {
    next = r->next;
    if (r->replied || !r->counted) { req_free(r); continue; } /* nobody else holds it */
    r->conn = NULL;          /* the application still owns it: net_req_reply frees it */
    r->next = NULL;
    c->srv->requests_in_flight--;
    r->counted = 0;
  }
  h->head = h->tail = NULL;
  h->npending = 0;
}

void net__http_free(struct net_conn *c)
{
  http_state_t *h = c->u.http;
  if (!h) return;
  net__http_orphan(c);
  if (h->cur) req_free(h->cur);
  net__scan_free(&h->scan);
  free(h);
  c->u.http = NULL;
}

/* ---- request accessors -------------------------------------------------------- */
const char *net_req_method(const net_req_t *r) { return r->method; }
const char *net_req_path(const net_req_t *r) { return r->path; }
const char *net_req_query(const net_req_t *r) { return r->query; }
uint64_t net_req_conn_id(const net_req_t *r) { return (uint64_t)(uintptr_t)r->conn; }
const char *net_req_remote(const net_req_t *r) { return r->remote; }
const char *net_req_body(const net_req_t *r, size_t *len) { *len = r->body_len; return r->body ? r->body : ""; }

const char *net_req_header(const net_req_t *r, const char *name) { return net__req_field(r, name, 0); }

const char *net__req_field_next(const net_req_t *r, size_t *off, const char **value)
{
  if (*off >= r->hdrs_len) return NULL;
  const char *k = r->hdrs + *off;
  size_t kl = strlen(k);
  const char *v = k + kl + 1;
  if (v >= r->hdrs + r->hdrs_len) { *off = r->hdrs_len; return NULL; }
  *off += kl + 1 + strlen(v) + 1;
  *value = v;
  return k;
}

const char *net__req_field(const net_req_t *r, const char *name, size_t i)
{
  const char *k, *v;
  for (size_t o = 0; (k = net__req_field_next(r, &o, &v));)
    if (!strcasecmp(k, name) && i-- == 0) return v;
  return NULL;
}

int net__req_minor(const net_req_t *r) { return r->minor; }

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int net_req_query_param(const net_req_t *r, const char *name, char *buf, size_t cap)
{
  size_t nl = strlen(name);
  for (const char *p = r->query; p && *p;) {
    const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *kend = eq ? eq : end;
    if ((size_t)(kend - p) == nl && !memcmp(p, name, nl)) {
      size_t o = 0;
      for (const char *v = eq ? eq + 1 : end; v < end; v++) {
        char ch = *v;
        if (ch == '%') {
          if (end - v < 3) return -2;
          int hi = hexval(v[1]), lo = hexval(v[2]);
          if (hi < 0 || lo < 0) return -2;
          ch = (char)(hi * 16 + lo);
          if (!ch) return -2; /* %00 would cut the C string short: "administrator%00x" read as administrator */
          v += 2;
        } else if (ch == '+') ch = ' ';
        if (o + 1 >= cap) return -2;
        buf[o++] = ch;
      }
      buf[o] = 0;
      return (int)o;
    }
    p = amp ? amp + 1 : end;
  }
  return -1;
}
