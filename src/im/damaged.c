/* damaged.c — see damaged.h. */
#include "im/damaged.h"
#include "util/err.h"
#include "util/jsonload.h"
#include "util/log.h"

#include <pthread.h>

/* The damaged rows met, each once: an open-addressed set of exact row identities (linear probing), never
 * evicting; at most IM_DAMAGED_ROWS_MAX rows (3/4 of the slots, so a probe ends soon), 24 bytes a slot (96 KiB). */
#define SEEN_SLOTS 4096
_Static_assert(IM_DAMAGED_ROWS_MAX * 4 <= SEEN_SLOTS * 3, "damaged: the set must keep a quarter of its slots free");

typedef struct seen_row {
  uint64_t conv;
  uint32_t sdkappid, seq;
  uint8_t kind, used;
} seen_row_t;

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static seen_row_t seen[SEEN_SLOTS];
static uint64_t rows, untracked; /* under seen_mu */
static const char *const kind_names[] = { [IM_DAMAGED_C2C] = "c2c", [IM_DAMAGED_GROUP] = "group" };

int im_body_load(const char *text, size_t len, json_t **out)
{
  int oom = 0;
  *out = NULL;
  if (!len) return IM_BODY_OK; /* no body (a recalled group message's): nothing to parse */
  json_t *v = jsonload_b(text ? text : "", text ? len : 0, 0, &oom);
  if (json_is_object(v)) { *out = v; return IM_BODY_OK; }
  json_decref(v);
  return oom ? IMC_E_NOMEM : IM_BODY_DAMAGED;
}

/* A row's slot to start probing at (splitmix64 of its fields). */
static size_t row_slot(const im_damaged_row_t *r)
{
  uint64_t h = r->conv ^ ((uint64_t)r->sdkappid << 32 | r->seq) * 0x9e3779b97f4a7c15ull ^ (uint64_t)r->kind << 62;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return (size_t)((h ^ (h >> 31)) % SEEN_SLOTS);
}

/* What meeting r does to the set: ROW_KNOWN (met before), ROW_NEW (now in it), ROW_FULL (not in it, no room),
 * ROW_FILLS (the first ROW_FULL: the set's room ran out). Under seen_mu. */
enum { ROW_KNOWN, ROW_NEW, ROW_FULL, ROW_FILLS };
static int row_meet(const im_damaged_row_t *r)
{
  size_t i = row_slot(r);
  for (; seen[i].used; i = (i + 1) % SEEN_SLOTS)
    if (seen[i].conv == r->conv && seen[i].sdkappid == r->sdkappid && seen[i].seq == r->seq && seen[i].kind == r->kind)
      return ROW_KNOWN;
  if (rows == IM_DAMAGED_ROWS_MAX) return untracked++ ? ROW_FULL : ROW_FILLS;
  seen[i] = (seen_row_t){ r->conv, r->sdkappid, r->seq, (uint8_t)r->kind, 1 };
  rows++;
  return ROW_NEW;
}

void im_damaged_note(const im_damaged_row_t *r)
{
  pthread_mutex_lock(&seen_mu);
  int met = row_meet(r);
  pthread_mutex_unlock(&seen_mu);
  if (met == ROW_FILLS)
    IMC_WARN("msg", "event=body_damaged_untracked max_rows=%d msg=\"more damaged rows than the server keeps track of:"
             " further ones are delivered marked but not logged, counted in damaged.untracked\"", IM_DAMAGED_ROWS_MAX);
  if (met != ROW_NEW) return;
  char from[160];
  IMC_WARN("msg", "event=body_damaged kind=%s sdkappid=%u conv=%llu seq=%u from=%s msg_key=%s"
           " msg=\"a stored message body does not parse: delivered without its body, marked damaged\"",
           kind_names[r->kind], r->sdkappid, (unsigned long long)r->conv, r->seq,
           imc_log_q(from, sizeof from, r->from_id ? r->from_id : ""), r->key && r->key[0] ? r->key : "-");
}

void im_damaged_stats(im_damaged_stats_t *st)
{
  pthread_mutex_lock(&seen_mu);
  st->rows = rows;
  st->untracked = untracked;
  pthread_mutex_unlock(&seen_mu);
}
