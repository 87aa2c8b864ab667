/* read_wait.h — the two lists of reads waiting for room in the reader pool's queue: WebSocket reads
 * (ws_read_wait.c) and REST requests (rest_read_wait.c). Both are members of api_srv_t (api_int.h), used on the loop
 * thread only; each list owns its nodes until their turn, a drop or the stop. */
#ifndef IMC_API_READ_WAIT_H
#define IMC_API_READ_WAIT_H

#include <stddef.h>
#include <stdint.h>

#include "util/u64map.h"

/* WebSocket reads waiting for room in the reader pool's queue (ws_read_wait.c, decisions §120): in arrival order;
 * one per connection from its frames (it is not read meanwhile), more from the deletion gate or a completion's
 * rerun (§121) or its refused later read (a continuation, §124). */
typedef struct cws_read_wait {
  struct cws_read_node *head, *tail;
  u64map_t of_conn;              /* the cws_conn_t's address → its first waiting request (the others: their ->same
                                  * chain; dropped when its session ends) */
  size_t parked;                 /* waiting now (GET /healthz admission.read_parked) */
  uint64_t waits;                /* that ever waited (admission.read_waits) */
} cws_read_wait_t;

/* A set of keys one turn of the REST list passed over (rest_read_wait.c rest_next): open addressing, a slot valid
 * while its gen is the turn's (no clearing per turn). REST_PASS_SLOTS: a power of two, twice the walk's bound. */
#define REST_PASS_SLOTS 2048
typedef struct rest_pass_slot {
  uint64_t key;
  uint32_t gen;
} rest_pass_slot_t;

/* REST requests waiting for room in the reader pool's queue (rest_read_wait.c, decisions §125): in arrival order;
 * a REST_READ_WAITS route's request met a full queue (or earlier ones waiting), and any request of a connection
 * that has one waiting here waits behind it (its replies and effects keep the connection's order); at most the
 * HTTP pipeline's cap per connection (NET_MAX_PIPELINE: a connection with that many unanswered is not read). */
typedef struct rest_read_wait {
  struct rest_read_node *head, *tail;
  rest_pass_slot_t pass_conn[REST_PASS_SLOTS]; /* a turn's connections passed over */
  rest_pass_slot_t pass_app[REST_PASS_SLOTS];  /* a turn's apps found at their share */
  uint32_t pass_gen;                           /* the turn's generation (0: none yet) */
  u64map_t of_conn;              /* net_req_conn_id → its requests waiting here (rest_read_wait.c conn_entry_t: count, last) */
  size_t parked;                 /* waiting now (GET /healthz admission.rest_read_parked) */
  uint64_t waits;                /* that ever waited (admission.rest_read_waits) */
  uint64_t expired;              /* answered 60018 after rest_read_wait_max_ms (admission.rest_read_expired) */
} rest_read_wait_t;

#endif
