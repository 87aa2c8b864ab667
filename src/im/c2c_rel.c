/* c2c_rel.c — relationship changes in the users' inboxes (c2c.h): the
 * relationship code (src/api/rel_*.c) appends one REL event per user that
 * must learn a change, with the change's push frame as payload, in the same
 * writer job that writes the change; once it is durable the event reaches
 * the user's live sessions in useq order like every inbox event, and a sync
 * replays it in order with the messages (c2c_read.c attaches the payloads).
 * Retention purges the payloads with the inbox (c2c_ops.c). */
#include "im/c2c_int.h"
#include "store/store_rel.h"

int im_c2c_rel_append(store_t *s, uint32_t app, uint32_t user, int64_t at_s, const char *payload, uint32_t *useq)
{
  int rc = store_msg_inbox_add(s, app, user, STORE_EV_REL, 0, 0, at_s, useq);
  return rc ? rc : store_rel_event_put(s, app, user, *useq, at_s, payload);
}

void im_c2c_rel_deliver(im_c2c_t *c, uint32_t app, uint32_t user, uint32_t useq, int64_t at_s, const char *payload)
{
  im_event_t ev = { IM_EV_REL, app, user, useq, 0, 0, at_s, "", NULL, payload };
  c2c__publish(c, &ev, 0);
}
