/* sqlite_msg_nf.c — which conversations have no message: a filter that
 * lets the writer's first append to a new conversation skip its max(seq)
 * read (docs/decisions/messaging-c2c-commit.md §21).
 *
 * A blocked Bloom filter over (app, conv) of every conversation that has a
 * message: 64-byte blocks, NF_K bits of a key in one block (one cache line per
 * probe). It has no false negatives, so "not in the filter" is exact once
 * the filter holds every conversation, and a "maybe" (a real one, or a
 * false positive) reads max(seq) as before. It is filled two ways:
 * - the scan (sq__nf_step, run by the writer's merge hook outside any
 *   transaction): c2c_msg's unique key (conv, sdkappid, seq) read in key
 *   order from where the last call stopped, a bounded number of index
 *   entries per call; a conversation with many messages is passed by a
 *   new seek instead of reading them all;
 * - the connection's own appends: a message with seq 1 adds its
 *   conversation (before its COMMIT; a rolled-back one stays: a false
 *   positive).
 * The filter is made by a scan step, outside a transaction, so every
 * append before it is committed (the scan finds it) or rolled back, and
 * every append after it is added. A conversation never loses its last
 * message (the purge keeps each conversation's newest row; nothing else
 * deletes messages), so one that is in the database when a step passes its
 * key stays there. When the scan reaches the end, every conversation with
 * a message is in the filter: `ready`. Past NF_LOAD keys per block the
 * filter is replaced by one four times bigger (up to NF_MAX_BLOCKS) and
 * the scan starts over (not ready meanwhile); at the largest size it only
 * answers "maybe" more often.
 *
 * Another process appending to c2c_msg while this connection runs would
 * make both this filter and the next-seq cache (sqlite_msg.c) wrong; the
 * UNIQUE(conv, sdkappid, seq) key then fails the append (OR FAIL) rather
 * than storing a second seq 1.
 *
 * State: sqnf_t in the connection's struct sqmsg, one thread. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27; x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static uint64_t key_hash(uint32_t app, uint64_t conv) { return mix(conv ^ mix((uint64_t)app + 0x9e3779b97f4a7c15ULL)); }

/* the block (8 words) of key h (its bits 40 and up); the key's NF_K bit positions in it are 9-bit fields of mix(h) */
static uint64_t *block(const sqnf_t *f, uint64_t h) { return f->bits + (size_t)((h >> 40) & (f->nblocks - 1)) * 8; }

int sq__nf_maybe(const sqnf_t *f, uint32_t app, uint64_t conv)
{
  if (!f->bits) return 1;
  uint64_t h = key_hash(app, conv), *b = block(f, h), p = mix(h);
  for (int i = 0; i < NF_K; i++, p >>= 9)
    if (!(b[(p & 511u) >> 6] & (1ULL << (p & 63)))) return 0;
  return 1;
}

void sq__nf_add(sqnf_t *f, uint32_t app, uint64_t conv)
{
  if (!f->bits) return;
  uint64_t h = key_hash(app, conv), *b = block(f, h), p = mix(h);
  int fresh = 0;
  for (int i = 0; i < NF_K; i++, p >>= 9) {
    uint64_t *w = &b[(p & 511u) >> 6], mask = 1ULL << (p & 63);
    fresh |= !(*w & mask);
    *w |= mask;
  }
  f->added += (uint64_t)fresh;
}

/* A new empty filter of n blocks, the scan at its start (not ready). */
static int reset(sqnf_t *f, uint32_t n)
{
  uint64_t *bits = calloc((size_t)n * 8, sizeof *bits);
  if (!bits) return IMC_E_NOMEM;
  free(f->bits);
  f->bits = bits;
  f->nblocks = n;
  f->added = 0;
  f->ready = 0;
  f->cur_conv = INT64_MIN; /* conv is stored as a signed 64-bit integer */
  f->cur_app = INT64_MIN;
  return 0;
}

int sq__nf_step(store_t *s, struct sqmsg *m, int max_rows, int *more)
{
  sqnf_t *f = &m->nf;
  int rc;
  *more = 0;
  if (f->ready && f->added <= (uint64_t)f->nblocks * NF_LOAD) return 0;
  if (!sqlite3_get_autocommit(sq__db(s))) return 0; /* only outside a transaction: see the top */
  if (!f->bits && (rc = reset(f, f->min_blocks ? f->min_blocks : NF_MIN_BLOCKS))) return rc;
  if (f->added > (uint64_t)f->nblocks * NF_LOAD) {
    if (f->nblocks >= NF_MAX_BLOCKS) { f->added = 0; return 0; } /* the largest: answers "maybe" more often, stays exact */
    if ((rc = reset(f, f->nblocks * 4))) return rc;
  }
  sqlite3_stmt *st = sq__msg_stmt(s, M_NF_NEXT);
  if (!st) return IMC_E_IO;
  /* read the key in order from the position; a conversation's further rows are skipped by reading
   * them while few (NF_SKIP_READS), else by a new seek past the conversation (a seek costs ~30 reads) */
  BIND(st, f->cur_conv, f->cur_app);
  int same = 0, r = SQLITE_ROW;
  for (int budget = max_rows; budget > 0; budget--) {
    if ((r = sqlite3_step(st)) != SQLITE_ROW) break;
    int64_t conv = sqlite3_column_int64(st, 0), app = sqlite3_column_int64(st, 1);
    if (conv == f->cur_conv && app == f->cur_app) {
      if (++same < NF_SKIP_READS) continue;
      sqlite3_reset(st); /* a long conversation: seek past it */
      BIND(st, f->cur_conv, f->cur_app);
      same = 0;
      budget -= NF_SEEK_COST;
      continue;
    }
    f->cur_conv = conv;
    f->cur_app = app;
    same = 0;
    sq__nf_add(f, (uint32_t)app, (uint64_t)conv);
  }
  sqlite3_reset(st);
  if (r == SQLITE_DONE) { /* a scan that ended past the load grows and scans again at the next call: say so */
    f->ready = 1;
    *more = f->added > (uint64_t)f->nblocks * NF_LOAD && f->nblocks < NF_MAX_BLOCKS;
    return 0;
  }
  if (r != SQLITE_ROW) return sq__map_rc(r);
  *more = 1;
  return 0;
}

void sq__nf_free(sqnf_t *f)
{
  free(f->bits);
  memset(f, 0, sizeof *f);
}
