/* ws_frame.c — RFC 6455 frame headers and masking, pure (no connection, no
 * state, no allocation): read a client frame's header and refuse what §5.2
 * forbids, unmask a payload in place, write a server frame's header.
 *
 * ws.c finds frame boundaries with net__ws_head, buffers a frame only once
 * its header passed, and unmasks the complete payload with net__ws_unmask:
 * eight bytes per step, where wslay's frame layer (which did this before)
 * copied the frame through its 4 KiB buffer and unmasked byte by byte.
 * tests/unit/net/test_ws_frame.c checks both against wslay's frame layer,
 * which stays the reference there. */
#include "net/net_int.h"

#include <string.h>

/* What a refused header closes the connection with (§7.4.1), by result. */
static const struct { uint16_t code; const char *why; } refusals[] = {
  [NET_WS_HEAD_RSV]        = { 1002, "reserved bits set" },
  [NET_WS_HEAD_UNMASKED]   = { 1002, "client frames must be masked" },
  [NET_WS_HEAD_CONTROL]    = { 1002, "bad control frame" },
  [NET_WS_HEAD_NONMINIMAL] = { 1002, "bad payload length encoding" },
  [NET_WS_HEAD_TOO_BIG]    = { 1009, "frame too big" },
};

int net__ws_head(const uint8_t *h, size_t avail, uint64_t max, net_ws_head_t *out)
{
  if (avail < 2) return NET_WS_HEAD_MORE;
  unsigned fin = h[0] >> 7, op = h[0] & 0x0f;
  uint64_t plen = h[1] & 0x7f;
  size_t hl = 2;
  /* the order of the checks is the order a byte stream reveals them */
  if (h[0] & 0x70) return NET_WS_HEAD_RSV;                       /* no extension negotiated */
  if (!(h[1] & 0x80)) return NET_WS_HEAD_UNMASKED;               /* §5.1: clients mask */
  if (op >= 0x8 && (!fin || plen > 125)) return NET_WS_HEAD_CONTROL; /* §5.5 */
  if (plen == 126) {
    if (avail < 4) return NET_WS_HEAD_MORE;
    plen = (uint64_t)h[2] << 8 | h[3];
    if (plen < 126) return NET_WS_HEAD_NONMINIMAL;
    hl = 4;
  } else if (plen == 127) {
    if (avail < 10) return NET_WS_HEAD_MORE;
    plen = 0;
    for (int i = 0; i < 8; i++) plen = plen << 8 | h[2 + i];
    if (plen < 65536 || plen >> 63) return NET_WS_HEAD_NONMINIMAL; /* §5.2: and its top bit 0 */
    hl = 10;
  }
  if (plen > max) return NET_WS_HEAD_TOO_BIG;
  if (avail < hl + 4) return NET_WS_HEAD_MORE;
  memcpy(out->mask, h + hl, 4);
  out->fin = (uint8_t)fin;
  out->op = (uint8_t)op;
  out->head_len = hl + 4;
  out->payload_len = plen;
  return NET_WS_HEAD_OK;
}

void net__ws_refusal(int res, uint16_t *code, const char **why)
{
  *code = refusals[res].code;
  *why = refusals[res].why;
}

void net__ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4])
{
  /* byte i is XORed with mask[i % 4]: eight bytes from any i % 8 == 0 use
   * the mask twice over, whatever the byte order or the alignment of p */
  uint8_t m8[8] = { mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3] };
  uint64_t m;
  memcpy(&m, m8, 8);
  size_t i = 0;
  for (; n - i >= 8; i += 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    x ^= m;
    memcpy(p + i, &x, 8);
  }
  for (; i < n; i++) p[i] ^= mask[i & 3];
}

size_t net__ws_head_put(int opcode, size_t len, uint8_t *dst)
{
  dst[0] = (uint8_t)(0x80 | opcode);   /* final, no reserved bits, unmasked (§5.1: servers do not mask) */
  if (len < 126) { dst[1] = (uint8_t)len; return 2; }
  if (len < 65536) { dst[1] = 126; dst[2] = (uint8_t)(len >> 8); dst[3] = (uint8_t)len; return 4; }
  dst[1] = 127;
  for (int i = 0; i < 8; i++) dst[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  return 10;
}
