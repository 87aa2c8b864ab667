/* dueheap.h — a binary min-heap of items by due time (unix seconds, uint32)
 * whose items know their own position, so that one can be moved (a new due
 * time) or removed in O(log n) without a search. The earliest is at the top:
 * a periodic check looks at it alone, so items due far in the future cost
 * nothing per check.
 *
 * Entries are 16 bytes in one array (doubled when full, halved when a
 * quarter full), no allocation per entry: { item, due, tag }, tag being the
 * caller's 32 bits carried with the item. Every time an entry moves the heap
 * tells its item where it is now (pos_fn(item, pos), pos 1-based; 0: out of
 * the heap), so the item keeps one uint32_t. Not thread-safe: one owner
 * thread. At most DUEHEAP_MAX entries. */
#ifndef IMC_UTIL_DUEHEAP_H
#define IMC_UTIL_DUEHEAP_H

#include <stddef.h>
#include <stdint.h>

#define DUEHEAP_MAX (1u << 30)

typedef struct dueheap_ent {
  void *item;
  uint32_t due;                /* unix seconds: the order (earliest first) */
  uint32_t tag;                /* the caller's, carried with the item */
} dueheap_ent_t;

typedef void (*dueheap_pos_fn)(void *item, uint32_t pos);

typedef struct dueheap {
  dueheap_ent_t *e;            /* e[0] is position 1 */
  uint32_t len, cap;           /* read-only for callers */
  dueheap_pos_fn pos_fn;
} dueheap_t;

/* An empty heap that reports positions to pos_fn; no allocation yet. */
void dueheap_init(dueheap_t *h, dueheap_pos_fn pos_fn);
/* Free the array (items are the caller's; none is told); empty and usable again. */
void dueheap_free(dueheap_t *h);
/* Room for one more entry, so the next dueheap_push cannot fail: 0, or
 * IMC_E_NOMEM (out of memory, or DUEHEAP_MAX entries already). */
int dueheap_reserve(dueheap_t *h);
/* Add item (after a successful dueheap_reserve). */
void dueheap_push(dueheap_t *h, void *item, uint32_t due, uint32_t tag);
/* The earliest entry, NULL when empty. Valid until the heap changes. */
const dueheap_ent_t *dueheap_top(const dueheap_t *h);
/* The entry at pos (1..len), NULL otherwise. Valid until the heap changes. */
const dueheap_ent_t *dueheap_at(const dueheap_t *h, uint32_t pos);
/* Give the entry at pos (1..len) a new due time. */
void dueheap_update(dueheap_t *h, uint32_t pos, uint32_t due);
/* Remove the entry at pos (1..len) and return it (its item is told 0). */
dueheap_ent_t dueheap_remove(dueheap_t *h, uint32_t pos);

#endif
