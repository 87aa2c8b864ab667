/* group_conv.c — a user's group conversations for the conversation lists
 * (recentcontact/get_list and the WebSocket conversations op, conv_list.c;
 * docs/decisions/groups-conversations.md §13).
 *
 * A group conversation is a non-live group the user is a member of; its
 * last message is the group's newest message that counts
 * (STORE_GMSG_COUNTS_RECENT: not a notice, not NoLastMsg, not imported
 * without RecentContactFlag), which the group keeps in memory (conv_seq,
 * conv_s: read at start, moved by each counted message and by
 * delete_group_msg_by_sender). The user's groups come from its member rows
 * (store_grp_convs, read by the list's reader job: conv_list.c): the group
 * numbers from the (sdkappid, user_no) index, the state of pinned or deleted
 * ones from a partial index; each is checked again in memory on the loop
 * thread (im_group_conv_rows), so a group dissolved or left while the read
 * ran is not listed. Live rooms (AVChatRoom) are no conversations: no
 * stored members, no stored messages.
 *
 * A member deletes its conversation (recentcontact/delete Type 2): its
 * member row keeps the group's last seq then (conv_hidden, migration 40,
 * written by one writer job that reads the last seq itself, so a message
 * committed before the delete is hidden too); the conversation is left out
 * until a message that counts comes after it. The delete unpins it and the
 * user's devices get a conv_delete event of its inbox (with group_id), in the
 * same job. Leaving the group deletes the row: joining again starts with
 * nothing hidden.
 *
 * A member pins its conversation (the WebSocket op pin with group_id): its
 * member row keeps the pin's time and pin order (pinned_at, pin_seq,
 * migration 41), the order shared with its C2C pins; the pin limit counts
 * both kinds in the writer job that pins (im_c2c_pinned_count), and the
 * user's devices learn it from a conv_pin event of its inbox, as a C2C pin.
 * The pin goes with the member row: leaving the group, or its dissolution,
 * drops it.
 */
#include "im/group_int.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

size_t im_group_conv_rows(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const store_grp_conv_t *rows, size_t n,
                          im_gconv_t *out)
{
  size_t k = 0;
  int64_t since = im_group_since(G, sdkappid);
  for (size_t i = 0; i < n; i++) {
    const store_grp_conv_t *m = &rows[i];
    const im_group_t *g = grp__by_no(G, sdkappid, m->group_no);
    /* an application or a live room's mute is a row but no membership; a group dissolved or left after the read */
    if (!g || g->creating || g->dissolving || im_gtype_info(g->type)->live) continue;
    if (im_group_role(g, user_no) == IM_GR_NONE) continue;
    /* deleted: no message since (a pin made after the delete lists it again, as a C2C pin does) */
    if (m->hidden_seq && g->conv_seq <= m->hidden_seq && !m->pinned_at_s) continue;
    /* a last message past retention is no message: the conversation is empty */
    int listed = g->conv_seq && g->conv_s >= since;
    out[k++] = (im_gconv_t){ g->group_no, g->group_id, listed ? g->conv_seq : 0, listed ? g->conv_s : 0, m->pinned_at_s,
                             m->pin_seq, im_gtype_info(g->type)->unread, g->last_seq };
  }
  return k;
}

/* ---- conversation events (delete, pin) ---------------------------------------------------------- */
/* A job of user_no's on its conversation of g whose writer job appends the event
 * {"type":type,"group_id",flag:value,"time"} to the user's inbox (j->body; time never before the group was
 * created: grp__event_s) and whose done() hands it to the user's live sessions once durable. NULL when it
 * could not be made (cb told). */
static void done_conv_event(gjob_t *j, int rc)
{
  if (!rc && j->useq && j->G->c2c) im_c2c_rel_deliver(j->G->c2c, j->sdkappid, j->actor_no, j->useq, j->now_s, j->body);
  grp__finish(j, rc);
}

static gjob_t *conv_event_job(im_groups_t *G, uint32_t sdkappid, const im_group_t *g, uint32_t user_no, const char *type,
                              const char *flag, int value, im_gdone_cb cb, void *ud)
{
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  int64_t now_s = imc_clock_now_s(); /* a pin's time */
  json_t *ev = j ? json_pack("{s:s,s:s,s:b,s:I}", "type", type, "group_id", g->group_id, flag, value != 0, "time",
                             (json_int_t)grp__event_s(g, now_s))
                 : NULL;
  if (j) j->body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
  json_decref(ev);
  if (!j || !j->body) {
    if (j) grp__finish(j, IMC_E_NOMEM);
    else grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return NULL;
  }
  j->group_no = g->group_no;
  j->actor_no = user_no;
  j->now_s = now_s;
  j->done = done_conv_event;
  return j;
}

/* ---- delete ------------------------------------------------------------------------------------- */
/* j->body: the conv_delete event, appended to the user's inbox in the job that deletes */
static int run_conv_delete(store_t *s, gjob_t *j)
{
  uint32_t last = 0;
  int rc = store_grp_msg_last_seq(s, j->sdkappid, j->group_no, &last);
  if (rc) return rc;
  /* a delete also unpins, as a C2C conv_delete does: the event tells the devices that had a conv_pin */
  if ((rc = store_grp_member_set(s, j->sdkappid, j->group_no, j->actor_no, "conv_hidden", last, NULL))) return rc;
  if ((rc = store_grp_member_pin(s, j->sdkappid, j->group_no, j->actor_no, 0))) return rc;
  return im_c2c_rel_append(s, j->sdkappid, j->actor_no, j->now_s, j->body, &j->useq);
}

void im_group_conv_delete(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const char *group_id, im_gdone_cb cb,
                          void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g || im_gtype_info(g->type)->live || im_group_role(g, user_no) == IM_GR_NONE) {
    grp__fail(cb, ud, IMC_E_CONV_PARAM, "ToGroupid must name a group From_Account is a member of (not an AVChatRoom)");
    return;
  }
  gjob_t *j = conv_event_job(G, sdkappid, g, user_no, "conv_delete", "cleared", 0, cb, ud);
  if (!j) return;
  j->run = run_conv_delete;
  grp__submit(j, 0);
}

/* ---- pin ---------------------------------------------------------------------------------------- */
static void member_pinned(void *ud, uint32_t sdkappid, uint32_t group_no, const store_grp_member_t *m)
{
  (void)sdkappid;
  (void)group_no;
  *(int64_t *)ud = m->pinned_at_s;
}

/* j->mode: 1 pin, 0 unpin; j->value: the bound on pinned conversations (0: none); j->body: the event. */
static int run_conv_pin(store_t *s, gjob_t *j)
{
  int rc;
  if (!j->mode) { /* an unpin of what is not pinned changes nothing: no event */
    int64_t at = 0;
    rc = store_grp_member_get(s, j->sdkappid, j->group_no, j->actor_no, member_pinned, &at);
    if (rc == IMC_E_NOTFOUND) return IMC_E_GROUP_NOT_MEMBER; /* it left, or the group went, while the job waited */
    if (rc) return rc;
    if (!at) return 0; /* j->useq stays 0: nothing to deliver */
  }
  if (j->mode && j->value) {
    uint32_t n;
    if ((rc = im_c2c_pinned_count(s, j->sdkappid, j->actor_no, 0, j->group_no, &n))) return rc;
    if (n >= j->value) return IMC_E_CONV_PINNED;
  }
  rc = store_grp_member_pin(s, j->sdkappid, j->group_no, j->actor_no, j->mode ? j->now_s : 0);
  if (rc == IMC_E_NOTFOUND) return IMC_E_GROUP_NOT_MEMBER; /* it left, or the group went, while the job waited */
  return rc ? rc : im_c2c_rel_append(s, j->sdkappid, j->actor_no, j->now_s, j->body, &j->useq);
}

void im_group_conv_pin(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const char *group_id, int pin,
                       uint32_t max_pinned, im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  if (im_gtype_info(g->type)->live) {
    grp__fail(cb, ud, IMC_E_GROUP_TYPE_OP, "an AVChatRoom is no conversation: it cannot be pinned");
    return;
  }
  if (im_group_role(g, user_no) == IM_GR_NONE) { grp__fail(cb, ud, IMC_E_GROUP_NOT_MEMBER, NULL); return; }
  gjob_t *j = conv_event_job(G, sdkappid, g, user_no, "conv_pin", "pinned", pin, cb, ud);
  if (!j) return;
  j->mode = pin != 0;
  j->value = max_pinned;
  j->run = run_conv_pin;
  grp__submit(j, 0);
}
