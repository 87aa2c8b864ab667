/* damaged.h — stored message bodies that do not parse (disk damage, a bug of
 * an older version, a manual edit): the readers deliver such a row with its
 * seq, time, sender and keys and a "damaged" marker instead of its body, so
 * that a sync, history or roaming cursor moves past it, and tell it here
 * (docs/decisions/messaging-c2c-checks3.md §88). A parse that ran out of
 * memory is not damage: the caller answers it as §70 says (the page is
 * refused 70500, read again).
 *
 * Each damaged row is logged (level warn, mod=msg) and counted once per
 * process, the first time a reader meets it (GET /healthz "damaged"
 * "rows"), however often it is read again or its page is built again
 * (§95). The rows met are kept exactly, up to IM_DAMAGED_ROWS_MAX (96 KiB,
 * never grows); past that, a row not kept is not logged and each reading of
 * it is counted in "untracked" (one warn line when that starts).
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

#define IM_DAMAGED_ROWS_MAX 3072 /* damaged rows kept track of (logged and counted once each) */

/* A reader met a damaged row (and delivers it marked): the first time, log
 * it and count it. Idempotent for a row already met. */
void im_damaged_note(const im_damaged_row_t *row);

typedef struct im_damaged_stats {
  uint64_t rows;         /* damaged rows met since the start, each once (at most IM_DAMAGED_ROWS_MAX) */
  uint64_t untracked;    /* readings of a damaged row not kept track of (the set was full): 0 unless over the max */
} im_damaged_stats_t;
void im_damaged_stats(im_damaged_stats_t *st);

#endif
