/* damaged.h — stored message bodies that do not parse (disk damage, a bug of
 * an older version, a manual edit): the readers deliver such a row with its
 * seq, time, sender and keys and a "damaged" marker instead of its body, so
 * that a sync, history or roaming cursor moves past it, and tell it here
 * (docs/decisions/messaging-c2c-checks3.md §88). A parse that ran out of
 * memory is not damage: the caller answers it as §70 says (the page is
 * refused 70500, read again).
 *
 * The row is logged (level warn, mod=msg) the first time it is met and not
 * again while it stays in a direct-mapped table of the last 1,024 damaged
 * rows met (8 KiB; a row another one pushed out is logged again when met
 * again), and every delivery of one is counted (GET /healthz "damaged").
 * Process-wide state; thread-safe (reader threads build group pages). */
#ifndef IMC_IM_DAMAGED_H
#define IMC_IM_DAMAGED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum { IM_BODY_OK = 0, IM_BODY_DAMAGED = 1 };

/* Parse a stored body (JSON object text). IM_BODY_OK with *out (the caller
 * owns it; NULL when len is 0: no body), IM_BODY_DAMAGED (not a JSON
 * object: *out NULL) or IMC_E_NOMEM (an allocation failed: *out NULL). */
int im_body_load(const char *text, size_t len, json_t **out);

/* Where a damaged row is: a one-to-one message (conv: store_c2c_conv) or a
 * group's (conv: the group number). */
typedef enum { IM_DAMAGED_C2C, IM_DAMAGED_GROUP } im_damaged_kind_t;

typedef struct im_damaged_row {
  im_damaged_kind_t kind;
  uint32_t sdkappid;
  uint64_t conv;
  uint32_t seq;
  const char *from_id;   /* for the log line; may be NULL */
  const char *key;       /* C2C: the MsgKey; may be NULL */
} im_damaged_row_t;

/* A damaged row is delivered: count it, log it the first time. */
void im_damaged_note(const im_damaged_row_t *row);

typedef struct im_damaged_stats {
  uint64_t delivered;    /* deliveries of a damaged row (every page, reply or push that held one) */
  uint64_t logged;       /* log lines written (rows met for the first time, see above) */
} im_damaged_stats_t;
void im_damaged_stats(im_damaged_stats_t *st);

#endif
