/* u64map.h — open-addressing hash map from a non-zero uint64_t key to a
 * pointer (linear probing, backward-shift deletion, power-of-two capacity,
 * load ≤ 0.7). 16 bytes per slot; no allocation per entry. Not thread-safe:
 * one owner thread. Key 0 is reserved (empty slot). */
#ifndef IMC_UTIL_U64MAP_H
#define IMC_UTIL_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct u64map_slot { uint64_t key; void *val; } u64map_slot_t;
typedef struct u64map { u64map_slot_t *slots; size_t cap, len; } u64map_t;

/* Zero-initialise a u64map_t (or use {0}); no allocation until the first put. */
void u64map_init(u64map_t *m);
void u64map_free(u64map_t *m);
/* Value for key, NULL if absent. */
void *u64map_get(const u64map_t *m, uint64_t key);
/* Insert or replace. 0, IMC_E_INVAL (key 0) or IMC_E_NOMEM (map unchanged). */
int u64map_put(u64map_t *m, uint64_t key, void *val);
/* Remove key; returns its value or NULL if absent. */
void *u64map_del(u64map_t *m, uint64_t key);

#endif
