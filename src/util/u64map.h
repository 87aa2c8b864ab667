/* u64map.h — open-addressing hash map from a non-zero uint64_t key to a
 * pointer (linear probing, backward-shift deletion, power-of-two capacity,
 * load ≤ 0.7). 16 bytes per slot; no allocation per entry. Not thread-safe:
 * one owner thread. Key 0 is reserved (empty slot).
 *
 * Growth is incremental: a full table becomes the old one, a table twice its
 * size takes new keys, and each put or removal moves at least
 * U64MAP_MOVE_STEP old slots (on to the end of their cluster) until the old
 * table is empty and freed. No single call rehashes the whole map (at 10,000
 * online users a one-shot doubling held the loop 1.6–3.1 ms). While a growth
 * lasts both tables exist; every key is in exactly one of them; lookups and
 * removals consult both and are exact.
 *
 * The tables are private: walk a map with u64map_iter_init / u64map_next,
 * which visit both tables. */
#ifndef IMC_UTIL_U64MAP_H
#define IMC_UTIL_U64MAP_H

#include <stddef.h>
#include <stdint.h>

#define U64MAP_MOVE_STEP 64 /* old slots moved per put or removal while a growth lasts (≥ 2) */

typedef struct u64map_slot { uint64_t key; void *val; } u64map_slot_t;
typedef struct u64map {
  size_t len;                  /* entries (both tables); read-only for callers */
  /* private */
  u64map_slot_t *tab; size_t tab_cap; /* the table new keys go to */
  struct u64map_move *mv;             /* the growth under way (old table, next slot to move), or NULL */
} u64map_t;

/* A walk's position; private fields. */
typedef struct u64map_iter { size_t start, i; int table; } u64map_iter_t;

/* Zero-initialise a u64map_t (or use {0}); no allocation until the first put. */
void u64map_init(u64map_t *m);
/* Free the tables (not the values); the map is empty and usable again. */
void u64map_free(u64map_t *m);
/* Call fn(val) for every entry (in no order; fn must not use the map),
 * then free the tables as u64map_free does. */
void u64map_free_each(u64map_t *m, void (*fn)(void *val));
/* Value for key, NULL if absent. */
void *u64map_get(const u64map_t *m, uint64_t key);
/* Insert or replace (may move up to U64MAP_MOVE_STEP old slots plus the
 * rest of a cluster, or begin a growth). 0, IMC_E_INVAL (key 0) or
 * IMC_E_NOMEM (map unchanged). */
int u64map_put(u64map_t *m, uint64_t key, void *val);
/* Remove key (may move old slots as put does); returns its value or NULL if absent. */
void *u64map_del(u64map_t *m, uint64_t key);
/* Bytes of the tables (both while a growth lasts; not the values). */
size_t u64map_bytes(const u64map_t *m);
/* Slot moves of a growth still to do (0 when none is under way): for tests. */
size_t u64map_moves_left(const u64map_t *m);

/* Walk every entry exactly once, in no particular order:
 *
 *     u64map_iter_t it; uint64_t k; void *v;
 *     for (u64map_iter_init(m, &it); u64map_next(m, &it, &k, &v);) …
 *
 * Correct while a growth is under way (both tables are walked). During a
 * walk the map must not change except through u64map_iter_del; key and val
 * may be NULL when not wanted. u64map_next returns 1 with an entry, 0 at
 * the end. */
void u64map_iter_init(const u64map_t *m, u64map_iter_t *it);
int u64map_next(const u64map_t *m, u64map_iter_t *it, uint64_t *key, void **val);
/* Remove the entry the walk returned last (exactly; moves nothing); the
 * walk goes on and still visits every other entry once. Returns its value. */
void *u64map_iter_del(u64map_t *m, u64map_iter_t *it);

#endif
