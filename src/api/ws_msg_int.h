/* ws_msg_int.h — what the messaging ops of the client WebSocket share
 * (ws_msg.c: send, recall, read, pin, conv_delete, typing, the pushes;
 * ws_msg_read.c: sync, history, conversations): a request's pending reply
 * and the readers of its fields. Loop thread only. */
#ifndef IMC_API_WS_MSG_INT_H
#define IMC_API_WS_MSG_INT_H

#include "api/api_int.h"

/* A pending reply: a hold on the connection and what to echo. */
typedef struct pending {
  api_srv_t *srv;
  cws_conn_t *c;               /* held */
  uint32_t sid;                /* the login the request came from */
  uint8_t rereads;             /* history: times run again for a deletion committed meanwhile (§115) */
  json_t *id;                  /* a reference, or NULL (then id_num if id_is_num) */
  int64_t id_num;              /* an integer id the send fast path read (no jansson value made) */
  int id_is_num;
  uint32_t peer_no;            /* send, history: the peer's user number, echoed as "peer_no" */
  const char *op;
  json_t *req;                 /* history: the request (a reference), to run it again (§115, §121) */
  uint64_t epoch;              /* history: srv->rel_gate.committed when it was accepted (§115) */
} pending_t;

/* A pending reply of c's request (id: a reference is taken; op: a literal): c is held until
 * wsm_pending_free. NULL on OOM. Freed ones are pooled per thread (at most 16,384). */
pending_t *wsm_pending_new(api_srv_t *srv, cws_conn_t *c, json_t *id, const char *op);
/* The pending reply's id as a jansson value (a new reference, or NULL). */
json_t *wsm_pending_id(const pending_t *p);
/* Release the connection, drop the references, pool or free p. */
void wsm_pending_free(pending_t *p);
/* The connection to answer on if it is still open and still the same login, else NULL. */
net_ws_t *wsm_pending_ws(pending_t *p);
/* Reply (rc, msg, extra: owned) if the connection is still open and still the same login; free p. fields: the op's
 * answer has fields (cws_reply_fields: extra NULL with rc 0 is one that could not be made). */
void wsm_pending_answer(pending_t *p, int rc, const char *msg, json_t *extra, int fields);
void wsm_reply_msg(pending_t *p, int rc, const char *msg, json_t *extra);
void wsm_reply(pending_t *p, int rc, json_t *extra);
void wsm_reply_fields(pending_t *p, int rc, json_t *extra);

/* An optional unsigned 32-bit member name of req into *out (present: whether it was given; may be NULL).
 * 0, or IMC_E_INVAL (not an integer in range; *out unchanged). */
int wsm_opt_u32(json_t *req, const char *name, uint32_t *out, int *present);
/* The peer named by member name ("peer" or "to") of req: its UserID (borrowed from req) and user number.
 * gone: a deleted account's too (history reads only). 0, IMC_E_MSG_TO, IMC_E_MSG_TO_UNKNOWN. */
int wsm_peer_lookup(api_srv_t *srv, cws_conn_t *c, json_t *req, const char *name, int gone, const char **id,
                    uint32_t *no);

#endif
