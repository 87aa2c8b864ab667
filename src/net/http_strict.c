/* http_strict.c — the strict RFC 9112 gate in front of http-parser.
 *
 * http-parser is lenient where leniency lets one request be read two ways
 * (request smuggling): it accepts bare LF and bare CR as line ends, obs-fold,
 * any two bytes after chunk data, anything in a chunk extension, a space
 * after a chunk size, trailer fields merged into the header list. So every
 * byte of a connection passes through this scanner first: it cuts the stream
 * into lines (request line, field lines, chunk-size lines, trailer lines) and
 * counted spans (Content-Length bodies, chunk data), checks each against the
 * RFC 9112 grammar, decides the message framing itself (§6.3), and hands
 * only the bytes it accepted to http-parser, in order. A violation stops the
 * scan with the HTTP status the RFC asks for and a reason; everything before
 * it has already been handed on, so earlier pipelined requests complete.
 *
 * Lines normally lie whole in one read buffer and are checked in place; only
 * a line cut by a read boundary is carried over in s->line (capped). Loop
 * thread only; the state lives in the connection's http_state. */
#include "net/net_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { HS_START, HS_FIELDS, HS_BODY, HS_CHUNK_SIZE, HS_CHUNK_DATA, HS_CHUNK_CRLF, HS_TRAILERS };

#define CHUNK_LINE_MAX 1024

/* Byte classes, one table lookup per byte (strchr over a set per byte was a
 * tenth of an upgrade's scan). */
enum { C_TCHAR = 1, C_HOST = 2, C_HEX = 4, C_CTL = 8 };
#define ALNUM(x) ['0' ... '9'] = (x) | C_HEX, ['a' ... 'f'] = (x) | C_HEX, ['A' ... 'F'] = (x) | C_HEX, \
                 ['g' ... 'z'] = (x), ['G' ... 'Z'] = (x)
static const unsigned char cls[256] = {
  ALNUM(C_TCHAR | C_HOST),
  /* tchar (RFC 9110 §5.6.2) and uri-host's reg-name (RFC 3986: unreserved, sub-delims, pct-encoded) */
  ['!'] = C_TCHAR | C_HOST, ['#'] = C_TCHAR, ['$'] = C_TCHAR | C_HOST, ['%'] = C_TCHAR | C_HOST,
  ['&'] = C_TCHAR | C_HOST, ['\''] = C_TCHAR | C_HOST, ['*'] = C_TCHAR | C_HOST, ['+'] = C_TCHAR | C_HOST,
  ['-'] = C_TCHAR | C_HOST, ['.'] = C_TCHAR | C_HOST, ['^'] = C_TCHAR, ['_'] = C_TCHAR | C_HOST,
  ['`'] = C_TCHAR, ['|'] = C_TCHAR, ['~'] = C_TCHAR | C_HOST,
  ['('] = C_HOST, [')'] = C_HOST, [','] = C_HOST, [';'] = C_HOST, ['='] = C_HOST,
  /* not allowed in a field value (RFC 9110 §5.5): controls but HTAB, and DEL */
  [0x00 ... 0x08] = C_CTL, [0x0a ... 0x1f] = C_CTL, [0x7f] = C_CTL,
};
#undef ALNUM
static int is_tchar(unsigned char c) { return cls[c] & C_TCHAR; }
static int is_ws(unsigned char c) { return c == ' ' || c == '\t'; }
static int is_hex(unsigned char c) { return cls[c] & C_HEX; }
static int hexv(unsigned char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

#define FAIL(st, text) do { *why = (text); return (st); } while (0)

/* Methods http-parser knows, except CONNECT (tunnels are not served). */
static int method_known(const char *m, size_t n)
{
  static const char *const names[] = {
#define XX(num, name, string) #string,
    HTTP_METHOD_MAP(XX)
#undef XX
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i]) == n && !memcmp(names[i], m, n)) return strcmp(names[i], "CONNECT") != 0;
  return 0;
}

/* request-line = method SP request-target SP HTTP-version (§3), l without CRLF. */
static int check_request_line(http_scan_t *s, const char *l, size_t n, const char **why)
{
  size_t i = 0;
  while (i < n && is_tchar((unsigned char)l[i])) i++;
  if (i == 0 || i >= n || l[i] != ' ') FAIL(400, "request-line: the method must be a token followed by one space (RFC 9112 §3)");
  size_t mlen = i;
  size_t t0 = ++i;
  while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f) i++;
  if (i == t0 || i >= n || l[i] != ' ')
    FAIL(400, "request-line: the request-target must be visible ASCII followed by one space (RFC 9112 §3)");
  size_t tlen = i - t0;
  const char *t = l + t0, *v = l + i + 1;
  if (n - i - 1 != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
    FAIL(400, "request-line: the version must be HTTP/DIGIT.DIGIT (RFC 9112 §2.3)");
  if (v[5] != '1') FAIL(505, "only HTTP/1.x is served (RFC 9110 §15.6.6)");
  if (!method_known(l, mlen)) FAIL(501, "method not implemented (RFC 9110 §9.1)");
  if (t[0] == '*') {
    if (tlen != 1 || mlen != 7 || memcmp(l, "OPTIONS", 7)) FAIL(400, "request-line: asterisk-form is for OPTIONS only (RFC 9112 §3.2.4)");
  } else if (t[0] != '/' && !(tlen > 7 && !strncasecmp(t, "http://", 7)) && !(tlen > 8 && !strncasecmp(t, "https://", 8))) {
    FAIL(400, "request-line: the request-target must be origin-form or absolute-form (RFC 9112 §3.2)");
  } else if (t[0] != '/') {
    size_t a = t[4] == ':' ? 7 : 8; /* the authority's first byte */
    if (t[a] == '/' || t[a] == '?' || t[a] == '#' || t[a] == ':')
      FAIL(400, "request-line: an http(s) URI must have a host (RFC 9110 §4.2.1)");
  }
  s->minor = (uint8_t)(v[7] - '0');
  return 0;
}

/* Host = uri-host [ ":" port ] (RFC 9110 §7.2; uri-host per RFC 3986). */
static int host_ok(const char *v, size_t n)
{
  size_t i = 0;
  if (n && v[0] == '[') {
    while (i < n && v[i] != ']') {
      unsigned char c = (unsigned char)v[i++];
      if (i > 1 && !is_hex(c) && c != ':' && c != '.' && c != 'v' && c != 'V') return 0;
    }
    if (i >= n) return 0;
    i++;
  } else {
    while (i < n && v[i] != ':') {
      unsigned char c = (unsigned char)v[i++];
      if (!(cls[c] & C_HOST)) return 0;
    }
  }
  if (i == n) return 1;
  if (v[i++] != ':') return 0;
  for (; i < n; i++) if (v[i] < '0' || v[i] > '9') return 0;
  return 1;
}

/* quoted-string (RFC 9110 §5.6.4) at l[*i] == '"': *i past its closing
 * quote. 0, or -1 when it is not one. */
static int skip_quoted(const char *l, size_t n, size_t *i)
{
  for ((*i)++;; (*i)++) {
    if (*i >= n) return -1;
    unsigned char c = (unsigned char)l[*i];
    if (c == '"') { (*i)++; return 0; }
    if (c == '\\') { if (++*i >= n) return -1; c = (unsigned char)l[*i]; }
    if ((c < 0x20 && c != '\t') || c == 0x7f) return -1;
  }
}

/* One parameter after its ";" (chunk-ext, RFC 9112 §7.1.1; transfer-parameter,
 * RFC 9110 §10.1.4): BWS name [ BWS "=" BWS ( token / quoted-string ) ],
 * the value required when need_value. *i: past it. 0, or -1 when malformed. */
static int skip_param(const char *l, size_t n, size_t *i, int need_value)
{
  while (*i < n && is_ws((unsigned char)l[*i])) (*i)++;
  size_t t0 = *i;
  while (*i < n && is_tchar((unsigned char)l[*i])) (*i)++;
  if (*i == t0) return -1;
  size_t j = *i;
  while (j < n && is_ws((unsigned char)l[j])) j++;
  if (j >= n || l[j] != '=') return need_value ? -1 : 0;
  *i = j + 1;
  while (*i < n && is_ws((unsigned char)l[*i])) (*i)++;
  if (*i < n && l[*i] == '"') return skip_quoted(l, n, i);
  t0 = *i;
  while (*i < n && is_tchar((unsigned char)l[*i])) (*i)++;
  return *i == t0 ? -1 : 0;
}

/* What http-parser is handed for a Transfer-Encoding line. It takes only a
 * value that is exactly "chunked": empty list elements (RFC 9110 §5.6.1.2:
 * a recipient MUST accept them), as in "chunked," or ", chunked", it reads as
 * an unknown coding and refuses, and it does not take whitespace after the
 * value. The value is checked here against the whole grammar (codings and
 * their parameters) and the framing decided here (head_done), so a line
 * whose one coding is chunked is handed on in its canonical form and a line
 * of empty elements not at all; a line with any other coding is handed on
 * as it is and the request ends at head_done (400 or 501) before a body is
 * read. */
enum { HS_TE_AS_IS, HS_TE_CANONICAL, HS_TE_DROP };
static const char te_canonical[] = "Transfer-Encoding: chunked\r\n";

/* One Transfer-Encoding field value: #transfer-coding (RFC 9112 §6.1), each
 * token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) )
 * (RFC 9110 §10.1.4), empty elements allowed. */
static int note_te(http_scan_t *s, const char *v, size_t n, const char **why)
{
  size_t i = 0;
  int here = 0, chunked_here = 0; /* codings in this field, of which chunked */
  for (;;) {
    while (i < n && (is_ws((unsigned char)v[i]) || v[i] == ',')) i++; /* empty list elements are allowed */
    if (i >= n) break;
    size_t t0 = i;
    while (i < n && is_tchar((unsigned char)v[i])) i++;
    if (i == t0) FAIL(400, "Transfer-Encoding: not a list of transfer codings (RFC 9112 §6.1)");
    int chunked = i - t0 == 7 && !strncasecmp(v + t0, "chunked", 7);
    for (;;) { /* transfer-parameters, then the end of the element */
      while (i < n && is_ws((unsigned char)v[i])) i++;
      if (i >= n || v[i] == ',') break;
      if (v[i++] != ';') FAIL(400, "Transfer-Encoding: not a list of transfer codings (RFC 9112 §6.1)");
      if (skip_param(v, n, &i, 1)) FAIL(400, "Transfer-Encoding: malformed transfer-parameter (RFC 9110 §10.1.4)");
    }
    s->te_codings++;
    here++;
    chunked_here += chunked;
    if (chunked) { s->te_chunked++; s->te_last_chunked = 1; }
    else { s->te_unknown = 1; s->te_last_chunked = 0; }
  }
  s->te_line = !here ? HS_TE_DROP : here == 1 && chunked_here ? HS_TE_CANONICAL : HS_TE_AS_IS;
  return 0;
}

/* field-line = field-name ":" OWS field-value OWS (§5), l without CRLF. */
static int check_field(http_scan_t *s, const net_cfg_t *cfg, const char *l, size_t n, int trailer, const char **why)
{
  if (n && is_ws((unsigned char)l[0])) FAIL(400, "obs-fold (a field line starting with whitespace) is not accepted (RFC 9112 §5.2)");
  size_t i = 0;
  while (i < n && is_tchar((unsigned char)l[i])) i++;
  if (i < n && is_ws((unsigned char)l[i]) && memchr(l + i, ':', n - i))
    FAIL(400, "whitespace between a field name and the colon (RFC 9112 §5.1)");
  if (i == 0 || i >= n || l[i] != ':') FAIL(400, "field line: the name must be a token followed by a colon (RFC 9112 §5)");
  size_t nl = i++;
  for (size_t k = i; k < n; k++) {
    unsigned char c = (unsigned char)l[k];
    if (!(cls[c] & C_CTL)) continue;
    if (c == '\r') FAIL(400, "bare CR in a field value (RFC 9112 §2.2)");
    FAIL(400, "control character in a field value (RFC 9110 §5.5)");
  }
  if (trailer) return 0;
  while (i < n && is_ws((unsigned char)l[i])) i++;
  while (n > i && is_ws((unsigned char)l[n - 1])) n--;
  const char *v = l + i;
  size_t vl = n - i;
  if (nl == 4 && !strncasecmp(l, "host", 4)) {
    if (++s->n_host > 1) FAIL(400, "more than one Host field (RFC 9112 §3.2)");
    if (!host_ok(v, vl)) FAIL(400, "invalid Host field value (RFC 9112 §3.2)");
  } else if (nl == 14 && !strncasecmp(l, "content-length", 14)) {
    if (++s->n_cl > 1) FAIL(400, "more than one Content-Length field (RFC 9112 §6.3)");
    if (!vl) FAIL(400, "invalid Content-Length (RFC 9112 §6.3)");
    uint64_t cl = 0;
    for (size_t k = 0; k < vl; k++) {
      if (v[k] < '0' || v[k] > '9') FAIL(400, "invalid Content-Length (RFC 9112 §6.3)");
      cl = cl > (UINT64_MAX - 9) / 10 ? UINT64_MAX : cl * 10 + (uint64_t)(v[k] - '0');
    }
    /* refused here, before http-parser sees a length it cannot hold */
    if (cl > cfg->max_body_bytes) FAIL(413, "request body too large");
    s->left = cl;
  } else if (nl == 17 && !strncasecmp(l, "transfer-encoding", 17)) {
    if (s->n_te < UINT8_MAX) s->n_te++;
    return note_te(s, v, vl, why);
  }
  return 0;
}

/* End of the header section: decide the framing (§6.1, §6.3). */
static int head_done(http_scan_t *s, const char **why)
{
  if (s->minor >= 1 && !s->n_host) FAIL(400, "an HTTP/1.1 request must have a Host field (RFC 9112 §3.2)");
  if (s->n_te) {
    if (s->minor == 0) FAIL(400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)");
    if (s->n_cl) FAIL(400, "both Transfer-Encoding and Content-Length (RFC 9112 §6.1)");
    if (!s->te_codings) FAIL(400, "empty Transfer-Encoding (RFC 9112 §6.1)");
    if (!s->te_last_chunked) FAIL(400, "chunked must be the final transfer coding of a request (RFC 9112 §6.3)");
    if (s->te_chunked > 1) FAIL(400, "chunked applied more than once (RFC 9112 §6.1)");
    if (s->te_unknown) FAIL(501, "transfer coding not implemented (RFC 9112 §6.1)");
    s->mode = HS_CHUNK_SIZE;
    s->left = 0;
    return 0;
  }
  s->mode = s->n_cl && s->left ? HS_BODY : HS_START;
  return 0;
}

/* chunk-size [ chunk-ext ] (§7.1), l without CRLF. */
static int check_chunk_line(http_scan_t *s, const net_cfg_t *cfg, const char *l, size_t n, const char **why)
{
  size_t i = 0;
  uint64_t size = 0;
  while (i < n && is_hex((unsigned char)l[i])) {
    if (size >> 56) FAIL(413, "request body too large");
    size = size << 4 | (uint64_t)hexv((unsigned char)l[i++]);
  }
  if (i == 0) FAIL(400, "chunk-size must be hexadecimal digits (RFC 9112 §7.1)");
  while (i < n) { /* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
    while (i < n && is_ws((unsigned char)l[i])) i++;
    if (i >= n || l[i++] != ';' || skip_param(l, n, &i, 0)) FAIL(400, "malformed chunk extension (RFC 9112 §7.1.1)");
  }
  s->body_total += size;
  if (s->body_total > cfg->max_body_bytes) FAIL(413, "request body too large");
  s->left = size;
  s->mode = size ? HS_CHUNK_DATA : HS_TRAILERS;
  s->head_bytes = 0; /* the trailer section gets its own max_header_bytes */
  return 0;
}

/* The message ended: forget it (and the carry buffer: an idle keep-alive
 * connection holds nothing here). */
static void message_reset(http_scan_t *s)
{
  free(s->line);
  memset(s, 0, sizeof *s);
}

/* A complete line l (CRLF stripped) in the current mode. */
static int on_line(http_scan_t *s, const net_cfg_t *cfg, const char *l, size_t n, const char **why)
{
  switch (s->mode) {
  case HS_START: /* empty lines before a request line are ignored (§2.2) */
    if (!n) return 0;
    int st = check_request_line(s, l, n, why);
    if (!st) s->mode = HS_FIELDS;
    return st;
  case HS_FIELDS: return n ? check_field(s, cfg, l, n, 0, why) : head_done(s, why);
  case HS_CHUNK_SIZE: return check_chunk_line(s, cfg, l, n, why);
  case HS_TRAILERS: if (!n) { s->mode = HS_START; return 0; } return check_field(s, cfg, l, n, 1, why);
  default: FAIL(400, "internal: line in a counted state");
  }
}

static size_t line_cap(const http_scan_t *s, const net_cfg_t *cfg)
{
  if (s->mode == HS_CHUNK_SIZE) return CHUNK_LINE_MAX;
  return cfg->max_header_bytes > s->head_bytes ? cfg->max_header_bytes - s->head_bytes : 0;
}

static int too_long(const http_scan_t *s, const char **why)
{
  if (s->mode == HS_CHUNK_SIZE) FAIL(400, "chunk-size line too long");
  if (s->mode == HS_START) FAIL(414, "request-line too long (RFC 9112 §3)"); /* the request-target is what grows it */
  FAIL(431, "request header section too large");
}

/* Accepted bytes not yet handed on: a run of consecutive in-place spans of
 * the read buffer, handed to cb->emit in one call (one http_parser_execute
 * per message instead of one per line: each call's setup and the field and
 * value marks it re-opens were about half of an upgrade request's parse).
 * A run never crosses a message's end, so an earlier pipelined request is
 * complete before a later one is scanned, as with a call per line. */
typedef struct { const char *p; size_t n; } run_t;

/* Hand the run on; nonzero: emit stopped the scan. */
static int run_flush(run_t *r, const net_scan_cb_t *cb)
{
  if (!r->n) return 0;
  size_t n = r->n;
  r->n = 0;
  return cb->emit(cb->ud, r->p, n);
}

/* Add the in-place span p[0..n) (it follows the run, or starts a new one). */
static int run_add(run_t *r, const net_scan_cb_t *cb, const char *p, size_t n)
{
  if (r->n && r->p + r->n == p) { r->n += n; return 0; }
  int stop = run_flush(r, cb);
  r->p = p;
  r->n = n;
  return stop;
}

int net__scan(http_scan_t *s, const net_cfg_t *cfg, const char *data, size_t len, const net_scan_cb_t *cb, size_t *used,
              const char **why)
{
  size_t o = 0;
  run_t run = { NULL, 0 };
  *used = 0;
  /* a violation: what was accepted before it is handed on first, and if that
   * stops the scan (http-parser refused it), that answer stands, as when
   * each line was handed on at once */
#define SCAN_FAIL(expr) do { int st_ = (expr); if (run_flush(&run, cb)) { *used = o; return 0; } return st_; } while (0)
  while (o < len) {
    if (s->mode == HS_BODY || s->mode == HS_CHUNK_DATA) {
      size_t k = len - o < s->left ? len - o : (size_t)s->left;
      s->left -= k;
      int end = 0;
      if (s->mode == HS_CHUNK_DATA && !s->left) { s->mode = HS_CHUNK_CRLF; s->crlf = 0; }
      else if (s->mode == HS_BODY && !s->left) { message_reset(s); end = 1; }
      o += k;
      if (run_add(&run, cb, data + o - k, k) || (end && run_flush(&run, cb))) { *used = o; return 0; }
      continue;
    }
    if (s->mode == HS_CHUNK_CRLF) {
      if (data[o] != (s->crlf ? '\n' : '\r')) { *why = "chunk data must be followed by CRLF (RFC 9112 §7.1)"; SCAN_FAIL(400); }
      o++;
      if (s->crlf++) s->mode = HS_CHUNK_SIZE;
      if (run_add(&run, cb, data + o - 1, 1)) { *used = o; return 0; }
      continue;
    }
    /* line modes */
    if (s->mode == HS_START && !s->started) {
      s->started = 1;
      if (cb->begin) cb->begin(cb->ud);
    }
    const char *lf = memchr(data + o, '\n', len - o);
    size_t avail = (lf ? (size_t)(lf - (data + o)) + 1 : len - o);
    size_t cap = line_cap(s, cfg);
    if (s->line_len + avail > cap) SCAN_FAIL(too_long(s, why));
    if (!lf) { /* carry the partial line over */
      if (s->line_len + avail > s->line_cap) {
        size_t nc = s->line_cap ? s->line_cap : 256;
        while (nc < s->line_len + avail) nc *= 2;
        char *nl = realloc(s->line, nc);
        if (!nl) { *why = "out of memory"; SCAN_FAIL(500); }
        s->line = nl;
        s->line_cap = (uint32_t)nc;
      }
      memcpy(s->line + s->line_len, data + o, avail);
      s->line_len += (uint32_t)avail;
      o = len;
      break;
    }
    const char *l = data + o;
    size_t n = avail;
    if (s->line_len) { /* complete the carried line */
      if (s->line_len + avail > s->line_cap) {
        char *nl = realloc(s->line, s->line_len + avail);
        if (!nl) { *why = "out of memory"; SCAN_FAIL(500); }
        s->line = nl;
        s->line_cap = s->line_len + (uint32_t)avail;
      }
      memcpy(s->line + s->line_len, data + o, avail);
      l = s->line;
      n = s->line_len + avail;
    }
    if (n < 2 || l[n - 2] != '\r') { *why = "bare LF: lines must end with CRLF (RFC 9112 §2.2)"; SCAN_FAIL(400); }
    if (s->mode == HS_START || s->mode == HS_FIELDS || s->mode == HS_TRAILERS) s->head_bytes += (uint32_t)n;
    int ended = (s->mode == HS_FIELDS || s->mode == HS_TRAILERS) && n == 2;
    s->te_line = HS_TE_AS_IS;
    int st = on_line(s, cfg, l, n - 2, why);
    if (st) SCAN_FAIL(st);
    o += avail;
    int stop;
    if (s->te_line != HS_TE_AS_IS) { /* a Transfer-Encoding line http-parser would misread: its canonical form, or nothing */
      s->line_len = 0;
      stop = run_flush(&run, cb) || (s->te_line == HS_TE_CANONICAL && cb->emit(cb->ud, te_canonical, sizeof te_canonical - 1));
    } else if (s->line_len) { /* the carried line: not in place, handed on alone */
      s->line_len = 0;
      stop = run_flush(&run, cb) || cb->emit(cb->ud, l, n);
    } else {
      stop = run_add(&run, cb, l, n);
    }
    if (ended && s->mode == HS_START) {
      /* the message's last line: hand it on before the next one is scanned, the scanner idle first (as after a
       * body): a reply the application gives at once finds the connection idle and arms its keep-alive
       * deadline (http.c drain; the run points into data, never into the line freed here) */
      message_reset(s);
      stop = stop || run_flush(&run, cb);
    }
    if (stop) { *used = o; return 0; }
  }
#undef SCAN_FAIL
  if (run_flush(&run, cb)) { *used = o; return 0; }
  *used = o;
  return 0;
}

int net__scan_idle(const http_scan_t *s) { return s->mode == HS_START && !s->started; }

void net__scan_free(http_scan_t *s)
{
  free(s->line);
  memset(s, 0, sizeof *s);
}
