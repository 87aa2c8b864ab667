/* damaged.c — see damaged.h. */
#include "im/damaged.h"
#include "util/err.h"
#include "util/jsonload.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>

#define SEEN_SLOTS 1024 /* the last damaged rows met, by hash (a bound: the table never grows) */

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seen[SEEN_SLOTS];
static _Atomic uint64_t delivered, logged;
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

/* A row's identity as a non-zero 64-bit hash (splitmix64 of its fields). */
static uint64_t row_hash(const im_damaged_row_t *r)
{
  uint64_t h = r->conv ^ ((uint64_t)r->sdkappid << 32 | r->seq) * 0x9e3779b97f4a7c15ull ^ (uint64_t)r->kind << 62;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h ? h : 1;
}

void im_damaged_note(const im_damaged_row_t *r)
{
  atomic_fetch_add_explicit(&delivered, 1, memory_order_relaxed);
  uint64_t h = row_hash(r);
  pthread_mutex_lock(&seen_mu);
  int fresh = seen[h % SEEN_SLOTS] != h;
  seen[h % SEEN_SLOTS] = h;
  pthread_mutex_unlock(&seen_mu);
  if (!fresh) return;
  atomic_fetch_add_explicit(&logged, 1, memory_order_relaxed);
  char from[160];
  IMC_WARN("msg", "event=body_damaged kind=%s sdkappid=%u conv=%llu seq=%u from=%s msg_key=%s"
           " msg=\"a stored message body does not parse: delivered without its body, marked damaged\"",
           kind_names[r->kind], r->sdkappid, (unsigned long long)r->conv, r->seq,
           imc_log_q(from, sizeof from, r->from_id ? r->from_id : ""), r->key && r->key[0] ? r->key : "-");
}

void im_damaged_stats(im_damaged_stats_t *st)
{
  st->delivered = atomic_load_explicit(&delivered, memory_order_relaxed);
  st->logged = atomic_load_explicit(&logged, memory_order_relaxed);
}
