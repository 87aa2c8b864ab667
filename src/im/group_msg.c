/* group_msg.c — group messages: send (stored, online-only, live, import),
 * system notifications, recall, modify, delete by sender, and the reads of
 * the reader pool (members, joined groups, history, unread).
 *
 * A stored message is appended with the group's next seq inside one writer
 * job and pushed to the members' sessions only after the commit; the
 * sending session gets the reply instead of a push. A live-room message is
 * never stored: it is encoded once and queued to every joined session in
 * the same loop turn (group.c grp__deliver).
 */
#include "im/group_int.h"
#include "im/msgbody.h"
#include "meter/meter.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/faultsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- send ------------------------------------------------------------------------------- */
static int run_send(store_t *s, gjob_t *j)
{
  int rc = store_grp_msg_append(s, &j->msg, j->dedupe_since_s, &j->dup);
  if (rc || j->dup) return rc;
  if (j->day && (rc = store_usage_add(s, j->sdkappid, j->day, METER_M_GROUP_MSGS, 1))) return rc;
  if (!j->put_row) return 0;
  return store_grp_put(s, &j->row); /* the first message activates a Work group (LastMsgTime) */
}

static void done_send(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (rc) {
    if (g && j->put_row) g->last_msg_s = 0;
    grp__finish(j, rc);
    return;
  }
  j->res.seq = j->msg.seq;
  j->res.time_s = j->msg.time_s;
  j->res.dup = (uint8_t)j->dup;
  if (g && !j->dup) {
    if (j->msg.seq > g->last_seq) g->last_seq = j->msg.seq;
    /* the store's rule (msg_append), so LastMsgTime is the same after a restart */
    if (STORE_GMSG_MOVES_LAST_MSG(j->msg.flags) && j->msg.time_s > g->last_msg_s) g->last_msg_s = j->msg.time_s;
    if (STORE_GMSG_COUNTS_RECENT(j->msg.flags) && j->msg.seq > g->conv_seq) {
      g->conv_seq = j->msg.seq;
      g->conv_s = j->msg.time_s;
    }
    if (!j->mode) { /* not an import */
      im_gevent_t ev = { IM_GEV_MSG, g->sdkappid, g->group_id, g->type, &j->msg, NULL, 0, 0, 0, NULL, 0 };
      grp__deliver(j->G, g, &ev, j->to, j->to ? j->n_to[0] : 0, j->from_sid);
    }
  }
  grp__finish(j, 0);
}

/* To_Account: every recipient a member, no live room; then j (if any)
 * gets the push list: the recipients and the sender. 0 or the refusal. */
static int targets(const im_group_t *g, const im_gsend_t *in, gjob_t *j, char *why, size_t cap)
{
  if (im_gtype_info(g->type)->live)
    return imc_errf(why, cap, IMC_E_GROUP_TYPE_OP, "an AVChatRoom has no targeted messages (To_Account)");
  if (in->import) return imc_errf(why, cap, IMC_E_GROUP_PARAM, "an imported message has no To_Account");
  for (size_t i = 0; i < in->n_to; i++)
    if (im_group_role(g, in->to[i]) == IM_GR_NONE)
      return imc_errf(why, cap, IMC_E_GROUP_NOT_MEMBER, "To_Account[%zu] is not a member of the group", i);
  if (!j) return 0;
  if (!(j->to = malloc((in->n_to + 1) * sizeof *j->to)) || !(j->n_to = malloc(sizeof *j->n_to)) ||
      !(j->to_json = strdup(in->to_json ? in->to_json : "[]")))
    return IMC_E_NOMEM;
  memcpy(j->to, in->to, in->n_to * sizeof *j->to);
  j->to[in->n_to] = in->from_no; /* the sender's other devices (0: the system, nobody) */
  j->n_to[0] = in->n_to + 1;
  j->msg.to = j->to;
  j->msg.n_to = in->n_to;
  j->msg.to_json = j->to_json;
  return 0;
}

/* P-54: every element of a live-room message must be an allowed type. */
static int live_elements(const plan_app_t *plan, json_t *body, char *why, size_t cap)
{
  size_t i;
  json_t *e;
  plan_verdict_t v;
  json_array_foreach(body, i, e) {
    const char *t = json_string_value(json_object_get(e, "MsgType"));
    if (plan_check_live_element(plan, t ? t : "", &v)) return imc_errf(why, cap, IMC_E_PLAN_LIVE_ELEMENT, "%s", v.msg);
  }
  return 0;
}

void im_group_send(im_groups_t *G, im_gsend_t *in, int64_t now_s, im_gdone_cb cb, void *ud)
{
  char why[320] = "";
  int rc = 0;
  char *body = in->body;
  in->body = NULL;
  im_group_t *g = grp__usable(G, in->sdkappid, in->group_id);
  if (!g) { free(body); grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  const im_gtype_info_t *ti = im_gtype_info(g->type);
  /* live rooms: the sending session must have joined (an O(1) look-up, not a scan of the room) */
  im_grole_t r = !ti->live ? im_group_role(g, in->from_no)
                 : in->from_no && in->from_no == g->owner_no ? IM_GR_OWNER
                 : in->from_sid && gset_get(&g->live, in->from_sid) ? IM_GR_MEMBER : IM_GR_NONE;
  if (ti->live && r == IM_GR_OWNER && !in->admin && !gset_get(&g->live, in->from_sid)) r = IM_GR_NONE;
  if (in->import && ti->live) rc = imc_errf(why, sizeof why, IMC_E_GROUP_TYPE_OP, "an AVChatRoom keeps no history to import into");
  else if (!in->admin && r == IM_GR_NONE)
    rc = imc_errf(why, sizeof why, IMC_E_GROUP_NOT_MEMBER, "only members may send to this group");
  else if (in->admin && in->from_named && !ti->live && !in->import && r == IM_GR_NONE)
    rc = imc_errf(why, sizeof why, IMC_E_GROUP_NOT_MEMBER, "From_Account is not a member of the group");
  else if (!in->import && in->from_no) {
    /* a member's own mute holds whatever its role (the API accepted it, groups.md §1); MuteAllMember
     * leaves the owner and admins free */
    int64_t until = im_group_muted_until(g, in->from_no, now_s);
    const char *all = json_string_value(json_object_get(g->info, "MuteAllMember"));
    if (until) rc = imc_errf(why, sizeof why, IMC_E_GROUP_MUTED, "muted in this group until %lld", (long long)until);
    else if (all && !strcmp(all, "On") && !in->admin && r != IM_GR_OWNER && r != IM_GR_ADMIN)
      rc = imc_errf(why, sizeof why, IMC_E_GROUP_MUTED, "the whole group is muted (MuteAllMember)");
  }
  if (!rc) rc = grp__community_gate(grp__plan(G, in->sdkappid), g, now_s, why, sizeof why);
  if (!rc && ti->live && in->body_json) rc = live_elements(grp__plan(G, in->sdkappid), in->body_json, why, sizeof why);
  if (!rc && in->n_to) rc = targets(g, in, NULL, why, sizeof why);
  if (rc) { free(body); grp__fail(cb, ud, rc, why); return; }
  if (in->n_to) in->flags |= STORE_GMSG_TARGETED | STORE_GMSG_NO_UNREAD | STORE_GMSG_NO_LAST;
  store_grp_msg_t m = { .sdkappid = in->sdkappid, .group_no = g->group_no, .from_no = in->from_no,
                        .time_s = in->import ? in->time_s : grp__event_s(g, now_s), .random = in->random, .flags = in->flags,
                        .priority = in->priority, .body = body, .body_len = in->body_len, .from_id = in->from_id };
  if (ti->live || in->online_only) {
    /* online only: seq 0, never stored (targeted: to its recipients and the sender) */
    uint32_t to[STORE_GMSG_TARGETS_MAX + 1];
    size_t n_to = in->n_to <= STORE_GMSG_TARGETS_MAX ? in->n_to : STORE_GMSG_TARGETS_MAX;
    if (n_to) memcpy(to, in->to, n_to * sizeof *to);
    to[n_to] = in->from_no;
    m.to_json = in->to_json;
    im_gevent_t ev = { IM_GEV_MSG, g->sdkappid, g->group_id, g->type, &m, NULL, 0, 0, 0, NULL, 0 };
    grp__deliver(G, g, &ev, n_to ? to : NULL, n_to + 1, in->from_sid);
    im_gres_t res;
    memset(&res, 0, sizeof res);
    res.time_s = m.time_s;
    free(body);
    cb(ud, &res);
    return;
  }
  gjob_t *j = grp__job(G, in->sdkappid, cb, ud);
  if (!j) { free(body); grp__fail(cb, ud, IMC_E_NOMEM, NULL); return; }
  j->group_no = g->group_no;
  j->now_s = now_s;
  j->msg = m;
  snprintf(j->from_id, sizeof j->from_id, "%s", in->from_id);
  j->msg.from_id = j->from_id;
  j->body = body;
  j->mode = in->import;
  j->from_sid = in->from_sid;
  if (!in->import && G->h.day_of) j->day = G->h.day_of(G->h.ud, in->sdkappid, now_s);
  j->msg.flags = m.flags | (in->import ? STORE_GMSG_IMPORTED : 0);
  if (in->n_to && targets(g, in, j, why, sizeof why)) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); grp__fail(cb, ud, IMC_E_NOMEM, NULL); return; }
  j->dedupe_since_s = in->import ? 0 : now_s - im_limit(G->lim, in->sdkappid, IM_LIMIT_DEDUPE_WINDOW_S);
  if (!g->last_msg_s) { /* any first stored message activates the group, NoLastMsg too (groups.md §1) */
    g->last_msg_s = m.time_s;
    if (!(j->info_text = grp__info_text(g))) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); g->last_msg_s = 0; grp__fail(cb, ud, IMC_E_NOMEM, NULL); return; }
    grp__row(g, j->info_text, &j->row);
    snprintf(j->group_id, sizeof j->group_id, "%s", g->group_id);
    j->row.group_id = j->group_id;
    j->put_row = 1;
  }
  j->run = run_send;
  j->done = done_send;
  j->job.bytes = (uint32_t)m.body_len; /* admission weighs it (store_job_t.bytes) */
  grp__submit(j, 0);
}

int im_group_notify(im_groups_t *G, uint32_t sdkappid, const char *group_id, const uint32_t *to, size_t n,
                    const char *content, int64_t now_s, char *why, size_t cap)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) return IMC_E_GROUP_GONE;
  if (to && n && im_gtype_info(g->type)->live)
    return imc_errf(why, cap, IMC_E_GROUP_TYPE_OP, "an AVChatRoom's system notifications go to all members");
  int rc = grp__community_gate(grp__plan(G, sdkappid), g, now_s, why, cap); /* P-57: a community takes no message */
  if (rc) return rc;
  im_gevent_t ev = { IM_GEV_SYSTEM, sdkappid, g->group_id, g->type, NULL, content, 0, 0, 0, NULL, 0 };
  grp__deliver(G, g, &ev, to && n ? to : NULL, n, 0);
  return 0;
}

/* ---- recall, modify, delete by sender ----------------------------------------------------------- */
typedef struct one_msg { int found; store_grp_msg_t m; char *body; } one_msg_t;

/* Writer: who gets the push about a change of message m: a targeted
 * message's recipients and its sender into to (STORE_GMSG_TARGETS_MAX + 1),
 * *n how many; 0 = every member. */
static int push_list(store_t *s, const store_grp_msg_t *m, uint32_t *to, size_t *n)
{
  *n = 0;
  if (!(m->flags & STORE_GMSG_TARGETED)) return 0;
  int rc = store_grp_msg_targets(s, m->sdkappid, m->group_no, m->seq, to, n);
  if (!rc) to[(*n)++] = m->from_no;
  return rc;
}

static void one_row(void *ud, const store_grp_msg_t *m)
{
  one_msg_t *o = ud;
  o->found = 1;
  o->m = *m;
}

static int run_recall(store_t *s, gjob_t *j)
{
  for (size_t i = 0; i < j->n_users; i++) {
    one_msg_t o = { 0 };
    uint32_t seq = j->users[i];
    int rc = seq ? store_grp_msg_history(s, j->sdkappid, j->group_no, seq - 1, seq, j->since_s, 0, 1, one_row, &o) : 0;
    if (rc) return rc;
    if (!o.found || (o.m.flags & STORE_GMSG_SYSTEM)) { j->res.codes[i] = IMC_E_GROUP_MSG_NOT_FOUND; continue; }
    if (o.m.flags & STORE_GMSG_RECALLED) { j->res.codes[i] = IMC_E_GROUP_MSG_RECALLED; continue; }
    if (j->actor_no && !j->mode) { /* an ordinary member recalls only its own, within the window */
      if (o.m.from_no != j->actor_no) { j->res.codes[i] = IMC_E_GROUP_PERM; continue; }
      if (o.m.time_s < j->value) { j->res.codes[i] = IMC_E_GROUP_RECALL_LATE; continue; }
    }
    if ((rc = store_grp_msg_set_flags(s, j->sdkappid, j->group_no, seq, STORE_GMSG_RECALLED))) return rc;
    if ((rc = store_grp_msg_change(s, j->sdkappid, j->group_no, seq, &j->chg[i]))) return rc;
    if ((rc = push_list(s, &o.m, &j->to[i * (STORE_GMSG_TARGETS_MAX + 1)], &j->n_to[i]))) return rc;
    j->res.codes[i] = 0;
  }
  return 0;
}

static void done_recall(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (!rc && g) {
    for (size_t i = 0; i < j->n_users; i++) {
      if (j->res.codes[i]) continue;
      store_grp_msg_t m = { .sdkappid = j->sdkappid, .group_no = j->group_no, .seq = j->users[i],
                            .flags = STORE_GMSG_RECALLED, .body = "", .body_len = 0 };
      im_gevent_t ev = { IM_GEV_RECALL, g->sdkappid, g->group_id, g->type, &m, NULL, 0, 0, j->chg[i], NULL, 0 };
      if (j->chg[i] > g->last_chg) g->last_chg = j->chg[i]; /* committed: group_sync may hand it over */
      grp__deliver(j->G, g, &ev, j->n_to[i] ? &j->to[i * (STORE_GMSG_TARGETS_MAX + 1)] : NULL, j->n_to[i], 0);
    }
  }
  grp__finish(j, rc);
}

void im_group_recall(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, const uint32_t *seqs,
                     size_t n, int64_t now_s, im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  if (!im_gtype_info(g->type)->history) { grp__fail(cb, ud, IMC_E_GROUP_RECALL_TYPE, NULL); return; }
  im_grole_t r = im_group_role(g, actor_no);
  if (actor_no && r == IM_GR_NONE) { grp__fail(cb, ud, IMC_E_GROUP_NOT_MEMBER, NULL); return; }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (!j || !(j->users = calloc(n ? n : 1, sizeof *j->users)) || !(j->res.codes = calloc(n ? n : 1, sizeof *j->res.codes)) ||
      !(j->to = calloc((n ? n : 1) * (STORE_GMSG_TARGETS_MAX + 1), sizeof *j->to)) ||
      !(j->n_to = calloc(n ? n : 1, sizeof *j->n_to)) || !(j->chg = calloc(n ? n : 1, sizeof *j->chg))) {
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  memcpy(j->users, seqs, n * sizeof *seqs);
  j->n_users = j->res.n = n;
  j->group_no = g->group_no;
  j->actor_no = actor_no;
  j->mode = r == IM_GR_OWNER || r == IM_GR_ADMIN;  /* may recall anyone's */
  j->value = now_s - im_limit(G->lim, sdkappid, IM_LIMIT_RECALL_WINDOW_S);
  j->since_s = im_group_since(G, sdkappid);
  j->run = run_recall;
  j->done = done_recall;
  grp__submit(j, 0);
}

/* The message being modified, with copies of what its row points to. */
typedef struct mod_msg {
  int found, oom;
  store_grp_msg_t m;
  char *body, *to_json;
  char from_id[33];
} mod_msg_t;

static void mod_row(void *ud, const store_grp_msg_t *m)
{
  mod_msg_t *o = ud;
  o->found = 1;
  o->m = *m;
  snprintf(o->from_id, sizeof o->from_id, "%s", m->from_id ? m->from_id : "");
  o->body = malloc(m->body_len + 1);
  o->to_json = m->to_json ? strdup(m->to_json) : NULL;
  if (!o->body || (m->to_json && !o->to_json)) { o->oom = 1; return; }
  memcpy(o->body, m->body, m->body_len);
  o->body[m->body_len] = 0;
}

/* The members named replace the stored ones, the others stay (as
 * modify_c2c_msg: im_msg_merge). A message past retention is not found (no
 * read shows it; the purge may not have deleted it yet). The push carries
 * the whole message as stored now (sender, time, random, targets). */
static int run_modify(store_t *s, gjob_t *j)
{
  mod_msg_t o = { 0 };
  char *merged = NULL;
  size_t mlen = 0;
  int rc = j->msg.seq ? store_grp_msg_history(s, j->sdkappid, j->group_no, j->msg.seq - 1, j->msg.seq, j->since_s, 0, 1,
                                              mod_row, &o)
                      : 0;
  if (!rc && o.oom) rc = IMC_E_NOMEM;
  if (!rc && (!o.found || (o.m.flags & STORE_GMSG_SYSTEM))) rc = IMC_E_GROUP_MSG_NOT_FOUND; /* as recall: not notices */
  if (!rc && (o.m.flags & STORE_GMSG_RECALLED)) rc = IMC_E_GROUP_MSG_RECALLED; /* as C2C's 20023: it stays recalled */
  if (!rc) rc = im_msg_merge(o.body, o.m.body_len, j->body, j->msg.body_len, (size_t)j->value, &merged, &mlen);
  if (rc == IMC_E_MSG_TOO_BIG) rc = IMC_E_GROUP_MSG_TOO_LONG;
  if (!rc) rc = store_grp_msg_set_body(s, j->sdkappid, j->group_no, j->msg.seq, merged, mlen);
  if (!rc) rc = store_grp_msg_change(s, j->sdkappid, j->group_no, j->msg.seq, &j->chg[0]);
  if (rc == IMC_E_NOTFOUND) rc = IMC_E_GROUP_MSG_NOT_FOUND;
  if (!rc) rc = push_list(s, &o.m, j->to, j->n_to);
  free(o.body);
  if (rc) { free(merged); free(o.to_json); return rc; }
  free(j->body);
  j->body = merged;
  free(j->to_json);
  j->to_json = o.to_json;
  snprintf(j->from_id, sizeof j->from_id, "%s", o.from_id);
  j->msg = o.m;
  j->msg.body = j->body;
  j->msg.body_len = mlen;
  j->msg.from_id = j->from_id;
  j->msg.to_json = j->to_json;
  j->msg.to = NULL;
  j->msg.n_to = 0;
  return 0;
}

static void done_modify_msg(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (!rc && g) {
    j->msg.flags |= STORE_GMSG_MODIFIED;
    j->msg.change = j->chg[0];
    if (j->chg[0] > g->last_chg) g->last_chg = j->chg[0]; /* committed: group_sync may hand it over */
    im_gevent_t ev = { IM_GEV_MODIFY, g->sdkappid, g->group_id, g->type, &j->msg, NULL, 0, 0, j->chg[0], NULL, 0 };
    grp__deliver(j->G, g, &ev, j->n_to[0] ? j->to : NULL, j->n_to[0], 0);
  }
  grp__finish(j, rc);
}

void im_group_msg_modify(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t seq, char *body,
                         size_t len, im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { free(body); grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  if (!im_gtype_info(g->type)->history) { free(body); grp__fail(cb, ud, IMC_E_GROUP_NO_HISTORY, NULL); return; }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (j && (!(j->to = calloc(STORE_GMSG_TARGETS_MAX + 1, sizeof *j->to)) || !(j->n_to = calloc(1, sizeof *j->n_to)) ||
            !(j->chg = calloc(1, sizeof *j->chg)))) {
    j->cb = NULL;
    grp__finish(j, IMC_E_NOMEM);
    j = NULL;
  }
  if (!j) { free(body); grp__fail(cb, ud, IMC_E_NOMEM, NULL); return; }
  j->group_no = g->group_no;
  j->body = body;
  j->msg = (store_grp_msg_t){ .sdkappid = sdkappid, .group_no = g->group_no, .seq = seq, .body_len = len };
  j->since_s = im_group_since(G, sdkappid);
  j->value = im_limit(G->lim, sdkappid, IM_LIMIT_MSG_MAX_BYTES); /* the merged message's bound */
  j->run = run_modify;
  j->done = done_modify_msg;
  j->job.bytes = (uint32_t)len;
  grp__submit(j, 0);
}

/* delete_group_msg_by_sender, one job per step (§19): the messages deleted, in change order, into j->users
 * (seqs) and j->chg; n_to[i] SIZE_MAX marks a targeted one, whose push list run_del_sender reads next. */
static void del_row(void *ud, const store_grp_msg_t *m)
{
  gjob_t *j = ud;
  size_t i = j->n_users;
  if (i >= IM_GROUP_DEL_BATCH) return; /* cannot be: the step's limit */
  j->users[i] = m->seq;
  j->chg[i] = m->change;
  j->n_to[i] = (m->flags & STORE_GMSG_TARGETED) ? SIZE_MAX : 0;
  j->n_users++;
}

/* The group's conversation message is read again after each step (it may have been one of the sender's):
 * into msg.seq / msg.time_s. The last seq is read by the first step: every message stored before it. */
static int run_del_sender(store_t *s, gjob_t *j)
{
  int rc = j->del_upto ? 0 : store_grp_msg_last_seq(s, j->sdkappid, j->group_no, &j->del_upto);
  uint32_t upto = j->del_upto - j->del_after > IM_GROUP_DEL_SPAN ? j->del_after + IM_GROUP_DEL_SPAN : j->del_upto;
  j->n_users = 0;
  if (!rc) rc = store_grp_msg_del_sender(s, j->sdkappid, j->group_no, j->actor_no, j->del_after, upto,
                                         IM_GROUP_DEL_BATCH, del_row, j);
  for (size_t i = 0; !rc && i < j->n_users; i++) {
    if (j->n_to[i] != SIZE_MAX) continue;
    store_grp_msg_t m = { .sdkappid = j->sdkappid, .group_no = j->group_no, .seq = j->users[i],
                          .from_no = j->actor_no, .flags = STORE_GMSG_TARGETED };
    rc = push_list(s, &m, &j->to[i * (STORE_GMSG_TARGETS_MAX + 1)], &j->n_to[i]);
  }
  /* a full step stopped at its last message; another read its whole span */
  if (!rc) j->value = j->n_users == IM_GROUP_DEL_BATCH ? j->users[j->n_users - 1] : upto;
  return rc ? rc : store_grp_msg_last_listed(s, j->sdkappid, j->group_no, &j->msg.seq, &j->msg.time_s);
}

/* The step's deletions to the members online, in change order: a run of messages for every member as one
 * frame, a targeted one to its recipients and sender alone (as its recall would go). */
static void del_push(gjob_t *j, im_group_t *g)
{
  size_t from = 0;
  for (size_t i = 0; i <= j->n_users; i++) {
    int alone = i < j->n_users && j->n_to[i];
    if ((i == j->n_users || alone) && i > from) { /* the run [from, i) */
      store_grp_msg_t m = { .sdkappid = j->sdkappid, .group_no = j->group_no, .seq = j->users[from] };
      im_gevent_t ev = { IM_GEV_DELETE, g->sdkappid, g->group_id, g->type, &m, NULL, 0, 0, j->chg[i - 1],
                         &j->users[from], i - from };
      grp__deliver(j->G, g, &ev, NULL, 0, 0);
    }
    if (!alone) continue;
    store_grp_msg_t m = { .sdkappid = j->sdkappid, .group_no = j->group_no, .seq = j->users[i],
                          .flags = STORE_GMSG_TARGETED };
    im_gevent_t ev = { IM_GEV_DELETE, g->sdkappid, g->group_id, g->type, &m, NULL, 0, 0, j->chg[i], &j->users[i], 1 };
    grp__deliver(j->G, g, &ev, &j->to[i * (STORE_GMSG_TARGETS_MAX + 1)], j->n_to[i], 0);
    from = i + 1;
  }
}

static void done_del_sender(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  /* the writer runs jobs in submit order and they complete in it: what the job read is the state now */
  if (!rc && g) {
    g->conv_seq = j->msg.seq;
    g->conv_s = j->msg.time_s;
    if (j->n_users && j->chg[j->n_users - 1] > g->last_chg) g->last_chg = j->chg[j->n_users - 1];
    del_push(j, g);
    j->res.count += (int64_t)j->n_users;
    j->del_after = (uint32_t)j->value;
  }
  if (rc || !g || j->del_after >= j->del_upto) { grp__finish(j, rc); return; }
  /* the next step (a full queue: here again with IMC_E_OVERLOADED, the steps done stay done) */
  if (imc_fault(IMC_FAULT_GROUP_DEL_STEP)) done_del_sender(j, IMC_E_OVERLOADED); /* as grp__submit would */
  else grp__submit(j, 0);
}

void im_group_delete_by_sender(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t from_no,
                               im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  if (!im_gtype_info(g->type)->history) { grp__fail(cb, ud, IMC_E_GROUP_NO_HISTORY, NULL); return; }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (j && (!(j->users = calloc(IM_GROUP_DEL_BATCH, sizeof *j->users)) ||
            !(j->chg = calloc(IM_GROUP_DEL_BATCH, sizeof *j->chg)) ||
            !(j->n_to = calloc(IM_GROUP_DEL_BATCH, sizeof *j->n_to)) ||
            !(j->to = calloc(IM_GROUP_DEL_BATCH * (STORE_GMSG_TARGETS_MAX + 1), sizeof *j->to)))) {
    j->cb = NULL;
    grp__finish(j, IMC_E_NOMEM);
    j = NULL;
  }
  if (!j) { grp__fail(cb, ud, IMC_E_NOMEM, NULL); return; }
  j->group_no = g->group_no;
  j->actor_no = from_no;
  j->run = run_del_sender;
  j->done = done_del_sender;
  grp__submit(j, 0);
}

/* ---- reads ---------------------------------------------------------------------------------------- */
typedef struct rjob {
  store_job_t job;
  im_groups_t *G;
  uint32_t sdkappid, group_no, user_no, after, upto;  /* user_no: history reads: the viewer */
  int64_t offset, since;        /* since: the app's retention horizon (history reads) */
  int limit, newest, kind;
  store_grp_member_cb mrow;
  store_grp_msg_cb hrow;
  store_grp_msg_cb crow;        /* R_SYNC: the changes' rows (NULL: none asked), after chg_after */
  uint32_t chg_after;
  void (*done)(void *ud, int rc);
  void (*ndone)(void *ud, int rc, int64_t n);
  void *ud;
  int64_t n;
} rjob_t;

enum { R_MEMBERS, R_MEMBER, R_JOINED, R_HISTORY, R_UNREAD, R_EXPIRED, R_APPLICATIONS, R_SYNC };

static int rjob_run(store_t *s, void *arg)
{
  rjob_t *r = arg;
  switch (r->kind) {
  case R_MEMBERS: /* a test's storage error (util/faultsim.h) */
    if (imc_fault(IMC_FAULT_GROUP_MEMBERS_READ)) return IMC_E_IO;
    return store_grp_member_each(s, r->sdkappid, r->group_no, r->offset, r->limit, r->mrow, r->ud);
  case R_APPLICATIONS:
    return store_grp_applications(s, r->sdkappid, r->group_no, r->offset, r->limit, r->mrow, r->ud);
  case R_MEMBER: return store_grp_member_get(s, r->sdkappid, r->group_no, r->user_no, r->mrow, r->ud);
  case R_JOINED: return store_grp_joined(s, r->sdkappid, r->user_no, r->mrow, r->ud);
  case R_HISTORY:
    return store_grp_msg_history_as(s, r->sdkappid, r->group_no, r->after, r->upto, r->since, r->newest, r->limit,
                                    r->user_no, r->hrow, r->ud);
  case R_SYNC: { /* one read transaction (store_reader.h): the changes are of the messages' snapshot */
    int rc = store_grp_msg_history_as(s, r->sdkappid, r->group_no, r->after, 0, r->since, 0, r->limit, r->user_no,
                                      r->hrow, r->ud);
    if (rc || !r->crow) return rc;
    return store_grp_msg_changes(s, r->sdkappid, r->group_no, r->chg_after, r->after, r->since, r->limit, r->user_no,
                                 r->crow, r->ud);
  }
  case R_UNREAD: return store_grp_msg_unread(s, r->sdkappid, r->group_no, r->user_no, r->after, UINT32_MAX, r->since, &r->n);
  case R_EXPIRED: {
    int expired = 0, rc = store_grp_msg_expired(s, r->sdkappid, r->group_no, r->after, r->since, &expired);
    r->n = expired;
    return rc;
  }
  }
  return IMC_E_INTERNAL;
}

static void rjob_done(void *arg, int rc)
{
  rjob_t *r = arg;
  r->G->in_flight--;
  if (r->ndone) r->ndone(r->ud, rc, r->n);
  else r->done(r->ud, rc);
  free(r);
}

static void rsubmit(rjob_t *r)
{
  r->job.run = rjob_run;
  r->job.done = rjob_done;
  r->job.arg = r;
  r->G->in_flight++;
  if (store_reader_submit(r->G->r, &r->job)) rjob_done(r, IMC_E_OVERLOADED);
}

static rjob_t *rnew(im_groups_t *G, int kind, uint32_t sdkappid, void (*done)(void *, int), void *ud)
{
  rjob_t *r = calloc(1, sizeof *r);
  if (!r) { done(ud, IMC_E_NOMEM); return NULL; }
  r->G = G;
  r->kind = kind;
  r->sdkappid = sdkappid;
  r->done = done;
  r->ud = ud;
  return r;
}

/* A page of a group's member rows of one kind (members, applications). */
static void rows_read(im_groups_t *G, int kind, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                      store_grp_member_cb row, void (*done)(void *, int), void *ud)
{
  rjob_t *r = rnew(G, kind, sdkappid, done, ud);
  if (!r) return;
  r->group_no = group_no;
  r->offset = offset;
  r->limit = limit;
  r->mrow = row;
  rsubmit(r);
}

void im_group_members_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                           store_grp_member_cb row, void (*done)(void *, int), void *ud)
{
  rows_read(G, R_MEMBERS, sdkappid, group_no, offset, limit, row, done, ud);
}

void im_group_applications_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                                store_grp_member_cb row, void (*done)(void *, int), void *ud)
{
  rows_read(G, R_APPLICATIONS, sdkappid, group_no, offset, limit, row, done, ud);
}

void im_group_member_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t user_no,
                          store_grp_member_cb row, void (*done)(void *, int), void *ud)
{
  rjob_t *r = rnew(G, R_MEMBER, sdkappid, done, ud);
  if (!r) return;
  r->group_no = group_no;
  r->user_no = user_no;
  r->mrow = row;
  rsubmit(r);
}

void im_group_joined_read(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, store_grp_member_cb row,
                          void (*done)(void *, int), void *ud)
{
  rjob_t *r = rnew(G, R_JOINED, sdkappid, done, ud);
  if (!r) return;
  r->user_no = user_no;
  r->mrow = row;
  rsubmit(r);
}

void im_group_history_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t viewer, uint32_t after_seq,
                           uint32_t upto_seq, int newest_first, int limit, store_grp_msg_cb row,
                           void (*done)(void *, int), void *ud)
{
  rjob_t *r = rnew(G, R_HISTORY, sdkappid, done, ud);
  if (!r) return;
  r->group_no = group_no;
  r->user_no = viewer;
  r->after = after_seq;
  r->upto = upto_seq;
  r->newest = newest_first;
  r->since = im_group_since(G, sdkappid);
  r->limit = limit;
  r->hrow = row;
  rsubmit(r);
}

void im_group_sync_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t viewer, uint32_t after_seq,
                        int limit, store_grp_msg_cb row, uint32_t after_change, store_grp_msg_cb change_row,
                        void (*done)(void *, int), void *ud)
{
  rjob_t *r = rnew(G, R_SYNC, sdkappid, done, ud);
  if (!r) return;
  r->group_no = group_no;
  r->user_no = viewer;
  r->after = after_seq;
  r->chg_after = after_change;
  r->since = im_group_since(G, sdkappid); /* a change of a message past retention is gone with it */
  r->limit = limit;
  r->hrow = row;
  r->crow = change_row;
  rsubmit(r);
}

int64_t im_group_since(const im_groups_t *G, uint32_t sdkappid)
{
  return imc_clock_now_s() - im_limit(G->lim, sdkappid, IM_LIMIT_GROUP_RETENTION_S); /* as C2C: c2c__since */
}

static void no_done(void *ud, int rc) { (void)ud; (void)rc; }

/* A read answered with a number (ndone). */
static rjob_t *rnew_n(im_groups_t *G, int kind, uint32_t sdkappid, uint32_t group_no, uint32_t after,
                      void (*done)(void *, int, int64_t), void *ud)
{
  rjob_t *r = calloc(1, sizeof *r);
  if (!r) { done(ud, IMC_E_NOMEM, 0); return NULL; }
  r->G = G;
  r->kind = kind;
  r->sdkappid = sdkappid;
  r->group_no = group_no;
  r->after = after;
  r->done = no_done;
  r->ndone = done;
  r->ud = ud;
  return r;
}

void im_group_unread_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, uint32_t after_seq,
                          void (*done)(void *, int, int64_t), void *ud)
{
  rjob_t *r = rnew_n(G, R_UNREAD, sdkappid, group_no, after_seq, done, ud);
  if (!r) return;
  r->user_no = user_no;
  r->since = im_group_since(G, sdkappid); /* messages past retention are not read back, so not unread */
  rsubmit(r);
}

void im_group_expired_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t seq,
                           void (*done)(void *, int, int64_t), void *ud)
{
  rjob_t *r = rnew_n(G, R_EXPIRED, sdkappid, group_no, seq, done, ud);
  if (!r) return;
  r->since = im_group_since(G, sdkappid);
  rsubmit(r);
}
