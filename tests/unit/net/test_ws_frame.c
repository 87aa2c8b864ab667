/* The WebSocket frame codec (ws_frame.c) and the frame path of ws.c.
 *
 * Pure: unmasking at every alignment and length against a byte-by-byte
 * reference; every refusal of §5.2 with its close code; every prefix of a
 * header asks for more; random frames decoded the same as wslay's frame layer
 * decodes them (wslay stays the reference here), and server frame headers
 * written as wslay writes them.
 * Through a socketless connection (the real ws.c path): fragmented messages,
 * control frames between fragments, a stream cut at every byte, oversize
 * messages, bad opcodes and reserved bits close with the right code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "net/net.h"
#include "net/net_int.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

/* A masked client frame into out; its length. */
static size_t client_frame(int b0, const void *payload, size_t n, const uint8_t mask[4], uint8_t *out)
{
  size_t hl;
  out[0] = (uint8_t)b0;
  if (n < 126) { out[1] = (uint8_t)(0x80 | n); hl = 2; }
  else if (n < 65536) { out[1] = 0x80 | 126; out[2] = (uint8_t)(n >> 8); out[3] = (uint8_t)n; hl = 4; }
  else { out[1] = 0x80 | 127; for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i)); hl = 10; }
  memcpy(out + hl, mask, 4);
  for (size_t i = 0; i < n; i++) out[hl + 4 + i] = ((const uint8_t *)payload)[i] ^ mask[i % 4];
  return hl + 4 + n;
}

static void test_unmask_every_offset(void **state)
{
  (void)state;
  uint8_t buf[300 + 8], want[300];
  for (size_t align = 0; align < 8; align++)
    for (size_t n = 0; n <= 300; n += (n < 40 ? 1 : 37)) {
      uint8_t mask[4] = { (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd() };
      uint8_t *p = buf + align;
      for (size_t i = 0; i < n; i++) { want[i] = (uint8_t)rnd(); p[i] = want[i] ^ mask[i % 4]; }
      buf[align + n] = 0xee; /* a byte past the payload stays as it is */
      net__ws_unmask(p, n, mask);
      assert_memory_equal(p, want, n);
      assert_int_equal(buf[align + n], 0xee);
    }
}

static void test_refusals(void **state)
{
  (void)state;
  static const struct { uint8_t h[14]; size_t n; uint64_t max; int res; uint16_t code; } cases[] = {
    { { 0xc1, 0x80 }, 6, 100, NET_WS_HEAD_RSV, 1002 },            /* RSV1 */
    { { 0xa1, 0x80 }, 6, 100, NET_WS_HEAD_RSV, 1002 },            /* RSV2 */
    { { 0x91, 0x80 }, 6, 100, NET_WS_HEAD_RSV, 1002 },            /* RSV3 */
    { { 0x81, 0x05 }, 6, 100, NET_WS_HEAD_UNMASKED, 1002 },
    { { 0x09, 0x80 }, 6, 100, NET_WS_HEAD_CONTROL, 1002 },        /* ping not final */
    { { 0x88, 0xfe, 0x00, 0x7e }, 8, 1000, NET_WS_HEAD_CONTROL, 1002 }, /* close of 126 bytes */
    { { 0x8a, 0xfe }, 2, 1000, NET_WS_HEAD_CONTROL, 1002 },       /* decided before the length */
    { { 0x8b, 0x80 | 126 }, 2, 1000, NET_WS_HEAD_CONTROL, 1002 }, /* a reserved control opcode too */
    { { 0x81, 0xfe, 0x00, 0x05 }, 8, 1000, NET_WS_HEAD_NONMINIMAL, 1002 },
    { { 0x81, 0xfe, 0x00, 0x7d }, 8, 1000, NET_WS_HEAD_NONMINIMAL, 1002 },
    { { 0x81, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 14, 1u << 20, NET_WS_HEAD_NONMINIMAL, 1002 },
    { { 0x81, 0xff, 0x80, 0, 0, 0, 0, 1, 0, 0 }, 14, UINT64_MAX, NET_WS_HEAD_NONMINIMAL, 1002 }, /* top bit */
    { { 0x81, 0x80 | 101 }, 6, 100, NET_WS_HEAD_TOO_BIG, 1009 },
    { { 0x81, 0xfe, 0x01, 0x00 }, 8, 255, NET_WS_HEAD_TOO_BIG, 1009 },
    { { 0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0 }, 14, 65535, NET_WS_HEAD_TOO_BIG, 1009 },
    { { 0x81, 0x80 | 100 }, 6, 100, NET_WS_HEAD_OK, 0 },          /* exactly the cap */
    { { 0x83, 0x80 }, 6, 100, NET_WS_HEAD_OK, 0 },                /* opcode 3: ws.c's to refuse */
    { { 0x80, 0x80 }, 6, 100, NET_WS_HEAD_OK, 0 },                /* a continuation */
    { { 0x89, 0x80 | 125 }, 6, 100, NET_WS_HEAD_TOO_BIG, 1009 },  /* a ping over the frame cap */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    net_ws_head_t fh;
    int r = net__ws_head(cases[i].h, cases[i].n, cases[i].max, &fh);
    if (r != cases[i].res) fail_msg("case %zu: %d, want %d", i, r, cases[i].res);
    if (r == NET_WS_HEAD_OK) continue;
    uint16_t code;
    const char *why;
    net__ws_refusal(r, &code, &why);
    assert_int_equal(code, cases[i].code);
    assert_true(why && *why);
  }
}

static void test_every_prefix_wants_more(void **state)
{
  (void)state;
  static const size_t lens[] = { 0, 5, 125, 126, 300, 65535, 65536, 70000 };
  static uint8_t payload[70000], frame[70000 + 14];
  static const uint8_t mask[4] = { 1, 2, 3, 4 };
  for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
    size_t total = client_frame(0x81, payload, lens[k], mask, frame), hl = total - lens[k];
    net_ws_head_t fh;
    for (size_t n = 0; n < hl; n++) assert_int_equal(net__ws_head(frame, n, 1u << 20, &fh), NET_WS_HEAD_MORE);
    assert_int_equal(net__ws_head(frame, hl, 1u << 20, &fh), NET_WS_HEAD_OK);
    assert_int_equal(fh.head_len, hl);
    assert_int_equal(fh.payload_len, lens[k]);
    assert_memory_equal(fh.mask, mask, 4);
  }
}

/* ---- against wslay's frame layer ---------------------------------------------- */
static struct { const uint8_t *src; size_t left; uint8_t *dst; size_t len; } io;
static ssize_t w_recv(uint8_t *buf, size_t len, int flags, void *ud)
{
  (void)flags; (void)ud;
  size_t n = len < io.left ? len : io.left;
  memcpy(buf, io.src, n);
  io.src += n;
  io.left -= n;
  return (ssize_t)n;
}
static ssize_t w_send(const uint8_t *d, size_t len, int flags, void *ud)
{
  (void)flags; (void)ud;
  memcpy(io.dst + io.len, d, len);
  io.len += len;
  return (ssize_t)len;
}
static int w_mask(uint8_t *b, size_t n, void *ud) { (void)ud; memset(b, 0, n); return 0; }
static const struct wslay_frame_callbacks cbs = { w_send, w_recv, w_mask };

/* wslay's reading of one whole frame: 0 with fin, opcode and the payload,
 * or -1 where it refuses the frame. */
static int wslay_decode(const uint8_t *f, size_t n, int *fin, int *op, uint8_t *out, size_t *plen)
{
  wslay_frame_context_ptr ctx;
  assert_int_equal(wslay_frame_context_init(&ctx, &cbs, NULL), 0);
  io.src = f;
  io.left = n;
  size_t got = 0;
  int rc = -1;
  for (;;) {
    struct wslay_frame_iocb fr;
    ssize_t r = wslay_frame_recv(ctx, &fr);
    if (r < 0) break;
    memcpy(out + got, fr.data, (size_t)r);
    got += (size_t)r;
    if (got == fr.payload_length) { *fin = fr.fin; *op = fr.opcode; *plen = got; rc = 0; break; }
    if (r == 0 && !io.left) break;
  }
  wslay_frame_context_free(ctx);
  return rc;
}

static void test_decode_as_wslay(void **state)
{
  (void)state;
  static const size_t lens[] = { 0, 1, 7, 8, 9, 125, 126, 127, 1000, 65535, 65536, 65537 };
  static uint8_t payload[65537], frame[65537 + 14], ours[65537 + 14], theirs[65537];
  for (int round = 0; round < 600; round++) {
    size_t n = round < 400 ? rnd() % 300 : lens[round % 12];
    for (size_t i = 0; i < n; i++) payload[i] = (uint8_t)rnd();
    uint8_t mask[4] = { (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd() };
    int b0 = (rnd() & 1 ? 0x80 : 0) | (int)(rnd() % 16);
    if (b0 & 8) { b0 |= 0x80; n %= 126; }                  /* a valid control frame */
    size_t total = client_frame(b0, payload, n, mask, frame);
    if (round % 5 == 4 && n >= 126 && n < 65536) {           /* the length re-encoded in 64 bits */
      memmove(frame + 10, frame + 4, total - 4);
      frame[1] = 0x80 | 127;
      for (int i = 0; i < 8; i++) frame[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
      total += 6;
    }
    int wfin = 0, wop = 0;
    size_t wlen = 0;
    int wr = wslay_decode(frame, total, &wfin, &wop, theirs, &wlen);
    memcpy(ours, frame, total);
    net_ws_head_t fh;
    int r = net__ws_head(ours, total, 1u << 20, &fh);
    if (wr) { assert_int_equal(r, NET_WS_HEAD_NONMINIMAL); continue; }
    assert_int_equal(r, NET_WS_HEAD_OK);
    assert_int_equal(fh.head_len + fh.payload_len, total);
    net__ws_unmask(ours + fh.head_len, (size_t)fh.payload_len, fh.mask);
    assert_int_equal(fh.fin, wfin);
    assert_int_equal(fh.op, wop);
    assert_int_equal(fh.payload_len, wlen);
    assert_memory_equal(ours + fh.head_len, theirs, wlen);
    assert_memory_equal(ours + fh.head_len, payload, n);
  }
}

static void test_server_head_as_wslay(void **state)
{
  (void)state;
  static const size_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 100000 };
  static uint8_t data[100000], theirs[100000 + 14], ours[14];
  for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
    for (int op = 1; op <= 10; op += (op == 2 ? 6 : 1)) {
      if (op >= 8 && lens[k] > 125) continue;
      wslay_frame_context_ptr ctx;
      assert_int_equal(wslay_frame_context_init(&ctx, &cbs, NULL), 0);
      struct wslay_frame_iocb fr = { .fin = 1, .opcode = (uint8_t)op, .payload_length = lens[k],
                                     .data = data, .data_length = lens[k] };
      io.dst = theirs;
      io.len = 0;
      assert_int_equal(wslay_frame_send(ctx, &fr), (ssize_t)lens[k]);
      wslay_frame_context_free(ctx);
      size_t hl = net__ws_head_put(op, lens[k], ours);
      assert_int_equal(hl + lens[k], io.len);
      assert_memory_equal(ours, theirs, hl);
    }
}

/* ---- through ws.c (a socketless connection) ---------------------------------- */
static char texts[8192];
static size_t texts_len;
static int n_texts, close_code;
static void on_text(void *ud, net_ws_t *ws, const char *d, size_t n)
{
  (void)ud; (void)ws;
  n_texts++;
  if (texts_len + n + 1 < sizeof texts) { memcpy(texts + texts_len, d, n); texts_len += n; texts[texts_len++] = '|'; }
}
static void on_close(void *ud, net_ws_t *ws, int code) { (void)ud; (void)ws; close_code = code; }

static uv_loop_t loop;
static net_server_t *srv;

static int setup(void **state)
{
  (void)state;
  net_cfg_t cfg;
  net_handlers_t h = { .on_ws_text = on_text, .on_ws_close = on_close };
  uv_loop_init(&loop);
  net_cfg_defaults(&cfg);
  cfg.max_ws_frame_bytes = 1000;
  return net_server_start_socketless(&loop, &cfg, &h, &srv);
}
static void on_closed(void *arg) { (void)arg; }
static int teardown(void **state)
{
  (void)state;
  net_server_close(srv, on_closed, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop);
}

/* Open a WebSocket, feed s in pieces cut at the given points (ascending, the
 * last one its length), run the turn's end; the close code (0: still open). */
static int feed(const uint8_t *s, const size_t *cuts, size_t ncuts)
{
  texts_len = 0;
  n_texts = close_code = 0;
  assert_int_equal(net_socketless_open(srv, 1), 0);
  for (size_t i = 0, at = 0; i < ncuts && net_socketless_ws(srv); at = cuts[i], i++)
    net_socketless_feed(srv, s + at, cuts[i] - at, 0);
  int open = net_socketless_ws(srv) != NULL;
  uv_run(&loop, UV_RUN_NOWAIT);
  if (open) { net_socketless_drop(srv); uv_run(&loop, UV_RUN_NOWAIT); return 0; }
  return close_code;
}
static int feed_all(const uint8_t *s, size_t n) { return feed(s, &n, 1); }

/* A stream of frames: text in three fragments with a ping and a pong between
 * them, then a whole text. */
static size_t stream(uint8_t *out)
{
  static const uint8_t m[4] = { 0x37, 0xfa, 0x21, 0x3d };
  size_t n = 0;
  n += client_frame(0x01, "{\"id\":", 6, m, out + n);
  n += client_frame(0x89, "ping", 4, m, out + n);
  n += client_frame(0x00, "5,\"op\":", 7, m, out + n);
  n += client_frame(0x8a, "", 0, m, out + n);
  n += client_frame(0x80, "\"x\"}", 4, m, out + n);
  n += client_frame(0x81, "whole text of some length", 25, m, out + n);
  return n;
}

static void test_fragments_and_control(void **state)
{
  (void)state;
  uint8_t s[256];
  size_t n = stream(s);
  assert_int_equal(feed_all(s, n), 0);
  assert_int_equal(n_texts, 2);
  assert_memory_equal(texts, "{\"id\":5,\"op\":\"x\"}|whole text of some length|", texts_len);
  /* cut once at every byte, then one byte per read */
  for (size_t cut = 1; cut < n; cut++) {
    size_t cuts[2] = { cut, n };
    assert_int_equal(feed(s, cuts, 2), 0);
    assert_int_equal(n_texts, 2);
    assert_memory_equal(texts, "{\"id\":5,\"op\":\"x\"}|whole text of some length|", texts_len);
  }
  size_t each[256];
  for (size_t i = 0; i < n; i++) each[i] = i + 1;
  assert_int_equal(feed(s, each, n), 0);
  assert_int_equal(n_texts, 2);
}

static void test_bad_streams_close(void **state)
{
  (void)state;
  static const uint8_t m[4] = { 9, 8, 7, 6 };
  uint8_t s[4096];
  char big[1001];
  memset(big, 'a', sizeof big);
  struct { int b0; const char *p; size_t n; int b1; const char *p1; size_t n1; int code; } cases[] = {
    { 0x82, "\x01", 1, -1, NULL, 0, 1003 },           /* binary */
    { 0x83, "x", 1, -1, NULL, 0, 1002 },              /* opcodes 3-7 */
    { 0x87, "x", 1, -1, NULL, 0, 1002 },
    { 0x8b, "", 0, -1, NULL, 0, 1002 },               /* control opcodes B-F */
    { 0x8f, "", 0, -1, NULL, 0, 1002 },
    { 0xc1, "x", 1, -1, NULL, 0, 1002 },              /* RSV1 */
    { 0x91, "x", 1, -1, NULL, 0, 1002 },              /* RSV3 */
    { 0x80, "x", 1, -1, NULL, 0, 1002 },              /* a continuation without a message */
    { 0x01, "ab", 2, 0x81, "c", 1, 1002 },            /* a new text inside a fragmented one */
    { 0x81, big, 1001, -1, NULL, 0, 1009 },           /* one frame over the cap */
    { 0x01, big, 600, 0x80, big, 401, 1009 },         /* a message over the cap in fragments */
    { 0x01, big, 600, 0x80, big, 400, 0 },            /* exactly the cap */
    { 0x81, "\xc3", 1, -1, NULL, 0, 1007 },           /* not UTF-8 */
    { 0x01, "\xc3", 1, 0x80, "\xa9", 1, 0 },          /* UTF-8 cut between fragments */
    { 0x88, "\x03\xe8", 2, -1, NULL, 0, 1000 },       /* a close: answered with its code */
    { 0x88, "\x03", 1, -1, NULL, 0, 1002 },           /* a close of one byte */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = client_frame(cases[i].b0, cases[i].p, cases[i].n, m, s);
    if (cases[i].b1 >= 0) n += client_frame(cases[i].b1, cases[i].p1, cases[i].n1, m, s + n);
    int code = feed_all(s, n);
    if (code != cases[i].code) fail_msg("case %zu: closed with %d, want %d", i, code, cases[i].code);
  }
  /* unmasked, and a non-minimal length, refused before the payload arrives */
  static const uint8_t unmasked[] = { 0x81, 0x02 }, nonminimal[] = { 0x81, 0xfe, 0x00, 0x05 };
  assert_int_equal(feed_all(unmasked, sizeof unmasked), 1002);
  assert_int_equal(feed_all(nonminimal, sizeof nonminimal), 1002);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_unmask_every_offset),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_every_prefix_wants_more),
    cmocka_unit_test(test_decode_as_wslay),
    cmocka_unit_test(test_server_head_as_wslay),
    cmocka_unit_test(test_fragments_and_control),
    cmocka_unit_test(test_bad_streams_close),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
