/* store_content.c — a stored message's content for the send dedupe (see
 * store_content.h). */
#include "store/store_content.h"

#include <string.h>

#define PUSH_MEMBER ",\"OfflinePushInfo\":"

/* OfflinePushInfo, an object, is the last member when given: a text that
 * does not end "}}" has none (MsgBody ends "]}", CloudCustomData "\"}"), and
 * most messages are found so without a search. Else the first
 * ,"OfflinePushInfo": is the object's own member: MsgBody's members are
 * checked against their tables (msgbody.c: no such key), and no JSON string
 * holds ," unescaped. */
size_t store_content_len(const char *body, size_t len)
{
  if (len < 2 || body[0] != '{' || body[len - 1] != '}') return len;
  if (body[len - 2] != '}') return len - 1;
  const char *p = memmem(body, len, PUSH_MEMBER, sizeof PUSH_MEMBER - 1);
  return p ? (size_t)(p - body) : len - 1;
}

static uint64_t rotl(uint64_t x, int r) { return x << r | x >> (64 - r); }

/* 8 bytes a step: a multiply, a rotation and a multiply per word (the
 * lanes of xxHash64), then murmur3's finalizer over the length and state */
uint64_t store_content_hash(const char *body, size_t len)
{
  const uint64_t k1 = 0x9E3779B185EBCA87ull, k2 = 0xC2B2AE3D27D4EB4Full;
  size_t n = store_content_len(body, len);
  uint64_t h = 0x27D4EB2F165667C5ull ^ (uint64_t)n * k1, w;
  const char *p = body;
  for (; n >= 8; p += 8, n -= 8) {
    memcpy(&w, p, 8);
    h = rotl(h ^ rotl(w * k2, 31) * k1, 27) * k1 + 0x85EBCA77C2B2AE63ull;
  }
  if (n) {
    w = 0;
    memcpy(&w, p, n);
    h = rotl(h ^ rotl(w * k2, 31) * k1, 27) * k1 + 0x85EBCA77C2B2AE63ull;
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

int store_content_same(const char *a, size_t alen, const char *b, size_t blen)
{
  size_t an = store_content_len(a, alen), bn = store_content_len(b, blen);
  return an == bn && (!an || !memcmp(a, b, an));
}
