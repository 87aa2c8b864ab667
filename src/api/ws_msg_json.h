/* ws_msg_json.h — the JSON of messages and events on the client WebSocket
 * (docs/protocol.md): jansson objects for replies that embed them (sync
 * pages, history), and fixed-format text for the two frames every message
 * produces, written without building an object: the push of a message just
 * sent and the sender's send reply. The fixed-format text is byte for byte
 * what json_dumps(…, JSON_COMPACT) makes of the jansson form (unit test
 * test_ws_msg_json). Loop thread only (pure functions of their arguments). */
#ifndef IMC_API_WS_MSG_JSON_H
#define IMC_API_WS_MSG_JSON_H

#include <jansson.h>

#include "im/c2c.h"
#include "util/jsonw.h"

/* A message as the protocol shows it ({"from","to","seq",…,"body",…});
 * NULL when any part of it could not be made (out of memory): never an
 * object without its body — except a stored body that does not parse,
 * given as "damaged":true without it (im/damaged.h, §88). The caller owns
 * the object. */
json_t *wsm_msg_json(const store_msg_t *m);
/* An event as a push / sync entry ({"type",…}); NULL when any part of it
 * could not be made (out of memory, or a relationship event whose stored
 * payload is not an object). Caller owns it. */
json_t *wsm_event_json(const im_event_t *ev);
/* The user number of the event's peer (its "peer_no": the other user of the
 * conversation ev->conv, or ev->user_no itself for the conversation with
 * oneself); 0 for a relationship event or an event without a conversation
 * (then no "peer_no" is written). */
uint32_t wsm_peer_no(const im_event_t *ev);

/* Append the push frame of a message event (IM_EV_MSG or IM_EV_ONLINE_MSG
 * with its message) to w. The message's body must be text made by
 * im_msg_pack ({"MsgBody":…[,"CloudCustomData":…][,"OfflinePushInfo":…]}),
 * as it is for every message pushed at send time; its parts are copied as
 * they are, not parsed. 0, or IMC_E_INVAL when the event is of another kind
 * or the body is not in that form (nothing useful is in w: use
 * wsm_event_json). w's own errors (cap, OOM) are left in w->failed. */
int wsm_push_text(jsonw_t *w, const im_event_t *ev);
/* A request's id as its reply echoes it: json (a string or an integer), or
 * when json is NULL an integer read without jansson (is_num: num), or none
 * (null). */
typedef struct wsm_id {
  const json_t *json;
  int64_t num;
  int is_num;
} wsm_id_t;
/* Append the successful send reply {"id":…,"op":"send","code":0,"msg":"ok",
 * "seq",…,"dup":…,"peer_no":…} to w (peer_no: the recipient's user number; 0:
 * left out). */
void wsm_sent_text(jsonw_t *w, const wsm_id_t *id, const im_sent_t *r, uint32_t peer_no);

#endif
