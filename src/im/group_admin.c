/* group_admin.c — changes to a group's profile and to its members' roles
 * and settings: modify (profile), member_modify, mute, transfer, set_read.
 * Same discipline as group_ops.c: checked and applied on the loop thread at
 * submit, written by the writer, undone by the completion on failure,
 * pushed and answered after the commit. */
#include "im/group_int.h"
#include "store/store_msg.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- profile ----------------------------------------------------------------------------- */
static int run_row(store_t *s, gjob_t *j)
{
  int rc;
  if (j->put_row && (rc = store_grp_put(s, &j->row))) return rc;
  for (size_t i = 0; i < j->n_mem; i++) {
    const store_grp_member_t *m = &j->mem[i];
    if ((rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "role", m->role, NULL))) return rc;
  }
  return grp__run_notice(s, j);
}

static int prepare_row(gjob_t *j, im_group_t *g)
{
  if (!(j->info_text = grp__info_text(g))) return IMC_E_NOMEM;
  grp__row(g, j->info_text, &j->row);
  snprintf(j->group_id, sizeof j->group_id, "%s", g->group_id);
  j->row.group_id = j->group_id;
  j->put_row = 1;
  return 0;
}

/* j->changes holds the previous info (modify) to restore on failure. */
static void done_modify(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (rc) {
    if (g && j->changes) { json_decref(g->info); g->info = j->changes; j->changes = NULL; g->info_seq--; }
    grp__finish(j, rc);
    return;
  }
  grp__deliver_notice(j, g);
  grp__finish(j, 0);
}

/* next[k] = changes[k] for every key of changes but skip. 0 or -1 (OOM). */
static int update_but(json_t *next, json_t *changes, const char *skip)
{
  const char *k;
  json_t *v;
  json_object_foreach(changes, k, v)
    if (strcmp(k, skip) && json_object_set(next, k, v)) return -1;
  return 0;
}

void im_group_modify(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, json_t *changes,
                     int64_t max_members, int64_t now_s, im_gdone_cb cb, void *ud)
{
  plan_verdict_t v;
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { json_decref(changes); grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  const im_gtype_info_t *ti = im_gtype_info(g->type);
  im_grole_t r = im_group_role(g, actor_no);
  if (actor_no) {
    int privileged = r == IM_GR_OWNER || r == IM_GR_ADMIN;
    if (r == IM_GR_NONE || (!privileged && !ti->member_edit) ||
        (!privileged && json_object_get(changes, "MuteAllMember"))) {
      json_decref(changes);
      grp__fail(cb, ud, IMC_E_GROUP_PERM, "you may not change this group's profile");
      return;
    }
  }
  if (max_members) {
    int rc = 0;
    if (!ti->live) rc = plan_check(grp__plan(G, sdkappid), now_s, PLAN_L_MEMBERS_INITIAL, 0, max_members, &v);
    if (!rc && !ti->live && !grp__is_big(G, g)) /* P-17: becoming big takes a place */
      rc = grp__big_check(G, sdkappid, max_members, 0, now_s, v.msg, sizeof v.msg);
    if (!rc && max_members < (int64_t)g->members.len) {
      rc = IMC_E_GROUP_PARAM;
      snprintf(v.msg, sizeof v.msg, "MaxMemberNum %lld is below the %u members the group has", (long long)max_members,
               g->members.len);
    }
    if (rc) { json_decref(changes); grp__fail(cb, ud, rc, v.msg); return; }
    json_object_set_new(changes, "MaxMemberNum", json_integer(max_members));
  }
  json_t *ad = json_object_get(changes, "AppDefinedData");
  if (ad) { /* per key: an empty Value deletes (the notice keeps the request's change) */
    json_t *merged;
    int rc = im_group_kv_merge(json_object_get(g->info, "AppDefinedData"), ad, 0, &merged, v.msg, sizeof v.msg);
    if (rc) { json_decref(changes); grp__fail(cb, ud, rc, rc == IMC_E_NOMEM ? NULL : v.msg); return; }
    ad = merged;
  }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  json_t *next = json_deep_copy(g->info);
  if (next && ad && json_array_size(ad) && json_object_set_new(next, "AppDefinedData", ad)) { json_decref(next); next = NULL; }
  else if (next && ad && !json_array_size(ad)) { json_object_del(next, "AppDefinedData"); json_decref(ad); }
  else if (!next) json_decref(ad);
  if (!j || !next || update_but(next, changes, "AppDefinedData")) {
    json_decref(next);
    json_decref(changes);
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  j->group_no = g->group_no;
  j->now_s = now_s;
  j->changes = g->info;          /* the previous profile, restored on failure */
  g->info = next;
  g->info_seq++;
  g->info_time_s = grp__event_s(g, now_s); /* never before created */
  if (prepare_row(j, g)) { done_modify(j, IMC_E_NOMEM); json_decref(changes); return; }
  grp__notice(j, g, "GroupInfoChanged", actor_no, NULL, 0, json_pack("{s:o}", "Changes", changes));
  j->run = run_row;
  j->done = done_modify;
  grp__submit(j, 0);
}

/* ---- member settings ------------------------------------------------------------------------ */
static void data_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *m)
{
  (void)app, (void)gno;
  *(json_t **)ud = m->data && m->data[0] ? json_loads(m->data, 0, NULL) : NULL;
}

/* AppMemberDefinedData changes key by key (im_group_kv_merge) over the stored set, in the job (store
 * thread): an empty Value deletes its key; the merged set is checked against the key limit. */
static int member_data_merge(store_t *s, gjob_t *j)
{
  const store_grp_member_t *m = &j->mem[0];
  json_t *old = NULL, *chg = json_loads(m->data, 0, NULL), *merged = NULL;
  int rc = store_grp_member_get(s, j->sdkappid, j->group_no, m->user_no, data_row, &old);
  if (!rc && !chg) rc = IMC_E_NOMEM;
  if (!rc) rc = im_group_kv_merge(old, chg, 1, &merged, j->res.why, sizeof j->res.why);
  char *text = NULL;
  if (!rc && json_array_size(merged) && !(text = json_dumps(merged, JSON_COMPACT))) rc = IMC_E_NOMEM;
  if (!rc) rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "data", 0, text ? text : "");
  free(text);
  json_decref(old);
  json_decref(chg);
  json_decref(merged);
  return rc;
}

static int run_member_mod(store_t *s, gjob_t *j)
{
  const store_grp_member_t *m = &j->mem[0];
  int rc = grp__members_live(s, j); /* mem[0]'s account deleted meanwhile: 10019, nothing written */
  if (rc) return rc;
  /* mem[0]: new values; mem[1].role/msg_flag: which fields change (1 = yes) */
  if (j->mem[1].role && (rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "role", m->role, NULL)))
    return rc;
  if (j->mem[1].msg_flag &&
      (rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "msg_flag", m->msg_flag, NULL)))
    return rc;
  if (j->mem[1].mute_until_s &&
      (rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "mute_until", m->mute_until_s, NULL)))
    return rc;
  if (m->name_card && (rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "name_card", 0, m->name_card)))
    return rc;
  if (m->data && (rc = member_data_merge(s, j))) return rc;
  if ((rc = grp__run_notice(s, j))) return rc;
  /* an admin made an ordinary member was told of every application waiting now: marked (its notice) */
  uint32_t mark;
  if (j->mem[1].role && j->mem[2].role == IM_GR_ADMIN && m->role == IM_GR_MEMBER &&
      ((rc = grp__mark_now(s, j, &mark)) ||
       (rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "apply_seq", mark, NULL))))
    return rc;
  if ((rc = grp__replay_run(s, j))) return rc; /* made admin: the applications waiting */
  return grp__apply_run(s, j);
}

static void done_member_mod(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (rc) {
    /* mem[2]: the previous role and mute deadline */
    /* a member removed meanwhile (its account deleted) is not put back */
    if (g && j->mem[1].role && im_group_role(g, j->mem[0].user_no) != IM_GR_NONE)
      grp__member_put(j->G, g, j->mem[0].user_no, (im_grole_t)j->mem[2].role);
    if (g && j->mem[1].mute_until_s) grp__set_muted(g, j->mem[0].user_no, j->mem[2].mute_until_s);
    if (g && j->mem[1].msg_flag) grp__set_discard(g, j->mem[0].user_no, j->mem[2].msg_flag);
    grp__finish(j, rc);
    return;
  }
  grp__deliver_notice(j, g);
  grp__apply_deliver(j);
  grp__finish(j, 0);
}

void im_group_member_modify(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no,
                            const im_gmember_mod_t *mod, int64_t now_s, im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  const im_gtype_info_t *ti = im_gtype_info(g->type);
  if (ti->live) { grp__fail(cb, ud, IMC_E_GROUP_TYPE_OP, "an AVChatRoom has no stored members (use forbid_send_msg to mute)"); return; }
  im_grole_t tr = im_group_role(g, mod->user_no), ar = im_group_role(g, actor_no);
  if (tr == IM_GR_NONE) { grp__fail(cb, ud, IMC_E_GROUP_NOT_MEMBER, "the account is not a member"); return; }
  int self = actor_no == mod->user_no;
  int over = !actor_no || (ar == IM_GR_OWNER && tr != IM_GR_OWNER) || (ar == IM_GR_ADMIN && tr == IM_GR_MEMBER);
  if (mod->role >= 0) {
    if (actor_no && ar != IM_GR_OWNER) { grp__fail(cb, ud, IMC_E_GROUP_PERM, "only the owner may change roles"); return; }
    if (tr == IM_GR_OWNER) { grp__fail(cb, ud, IMC_E_GROUP_PERM, "the owner's role changes only by transfer"); return; }
    if (mod->role == IM_GR_ADMIN && !ti->admins) {
      grp__fail(cb, ud, IMC_E_GROUP_TYPE_OP, "a Work (Private) group has no admins");
      return;
    }
  }
  if ((mod->msg_flag >= 0 || mod->name_card || mod->data) && !self && !over) {
    grp__fail(cb, ud, IMC_E_GROUP_PERM, "you may change only your own member settings");
    return;
  }
  if (mod->mute_s >= 0 && !over) { grp__fail(cb, ud, IMC_E_GROUP_PERM, "you may not mute this member"); return; }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (!j || !(j->mem = calloc(3, sizeof *j->mem))) {
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  j->group_no = g->group_no;
  j->now_s = now_s;
  if ((mod->name_card && !(j->name_card = strdup(mod->name_card))) || (mod->data && !(j->data = strdup(mod->data)))) {
    j->cb = NULL;
    grp__finish(j, IMC_E_NOMEM);
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  j->mem[0] = (store_grp_member_t){ .user_no = mod->user_no, .role = mod->role, .msg_flag = mod->msg_flag,
                                    .name_card = j->name_card, .data = j->data };
  j->n_mem = 1; /* the member changed; mem[1] and mem[2] describe the change */
  j->mem[1] = (store_grp_member_t){ .role = mod->role >= 0, .msg_flag = mod->msg_flag >= 0, .mute_until_s = mod->mute_s >= 0 };
  j->mem[2] = (store_grp_member_t){ .role = tr, .mute_until_s = im_group_muted_until(g, mod->user_no, 0),
                                    .msg_flag = (gset_get(&g->members, mod->user_no) & GM_DISCARD) != 0 };
  if (mod->msg_flag >= 0) grp__set_discard(g, mod->user_no, mod->msg_flag == 2);
  if (mod->role >= 0) grp__member_put(G, g, mod->user_no, (im_grole_t)mod->role);
  if (mod->mute_s >= 0) {
    j->mem[0].mute_until_s = mod->mute_s ? now_s + mod->mute_s : 0;
    grp__set_muted(g, mod->user_no, j->mem[0].mute_until_s);
  }
  uint32_t u = mod->user_no;
  /* an ordinary member made admin learns of the applications waiting, as the admins did (§14) */
  if (mod->role == IM_GR_ADMIN && tr == IM_GR_MEMBER && g->pending.len && grp__replay_prepare(j, g, u)) {
    done_member_mod(j, IMC_E_NOMEM);
    return;
  }
  if (mod->role >= 0)
    grp__notice(j, g, "MemberRoleChanged", actor_no, &u, 1, json_pack("{s:s}", "Role", im_grole_name((im_grole_t)mod->role)));
  else if (mod->mute_s >= 0)
    grp__notice(j, g, "MemberMuted", actor_no, &u, 1, json_pack("{s:I}", "MuteTime", (json_int_t)mod->mute_s));
  j->run = run_member_mod;
  j->done = done_member_mod;
  grp__submit(j, 0);
}

/* ---- mute ------------------------------------------------------------------------------------------ */
static int run_mute(store_t *s, gjob_t *j)
{
  /* an account deleted meanwhile: 10019, nothing written (a live room's mute row would outlive it) */
  int rc = grp__members_live(s, j);
  if (rc) return rc;
  for (size_t i = 0; i < j->n_mem; i++) {
    const store_grp_member_t *m = &j->mem[i];
    if (j->mode) { /* live group: a row records only the mute */
      store_grp_member_t row = *m;
      if (!m->mute_until_s) rc = store_grp_member_del(s, j->sdkappid, j->group_no, m->user_no);
      else rc = store_grp_member_put(s, j->sdkappid, j->group_no, &row);
      if (rc == IMC_E_NOTFOUND) rc = 0;
    } else {
      rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "mute_until", m->mute_until_s, NULL);
    }
    if (rc) return rc;
  }
  return grp__run_notice(s, j);
}

static void done_mute(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (rc) {
    for (size_t i = 0; g && i < j->n_mem; i++) {
      if (j->gone && j->gone[i]) continue; /* deleted meanwhile: nothing to give back */
      if (j->mode) {
        if (j->mem[i].join_s) u64map_put(&g->muted, j->mem[i].user_no, (void *)(uintptr_t)j->mem[i].join_s);
        else u64map_del(&g->muted, j->mem[i].user_no);
      } else {
        grp__set_muted(g, j->mem[i].user_no, j->mem[i].join_s);
      }
    }
    grp__finish(j, rc);
    return;
  }
  grp__deliver_notice(j, g);
  grp__finish(j, 0);
}

void im_group_mute(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, const uint32_t *users,
                   size_t n, int64_t seconds, int64_t now_s, im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  int live = im_gtype_info(g->type)->live;
  im_grole_t ar = im_group_role(g, actor_no);
  if (actor_no && ar != IM_GR_OWNER && ar != IM_GR_ADMIN) {
    grp__fail(cb, ud, IMC_E_GROUP_PERM, "only the owner, admins and the App admin may mute");
    return;
  }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (!j || !(j->mem = calloc(n ? n : 1, sizeof *j->mem)) || !(j->users = calloc(n ? n : 1, sizeof *j->users))) {
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  j->group_no = g->group_no;
  j->now_s = now_s;
  j->mode = live;
  int64_t until = seconds ? now_s + seconds : 0;
  for (size_t i = 0; i < n; i++) {
    im_grole_t tr = live ? (users[i] == g->owner_no ? IM_GR_OWNER : IM_GR_MEMBER) : im_group_role(g, users[i]);
    if (tr == IM_GR_NONE) {
      j->cb = NULL;
      grp__finish(j, IMC_E_GROUP_NOT_MEMBER);
      grp__fail(cb, ud, IMC_E_GROUP_NOT_MEMBER, "an account in the list is not a member");
      return;
    }
    if (actor_no && tr >= ar) {
      j->cb = NULL;
      grp__finish(j, IMC_E_GROUP_PERM);
      grp__fail(cb, ud, IMC_E_GROUP_PERM, "you may mute only members below your role");
      return;
    }
  }
  for (size_t i = 0; i < n; i++) {
    /* join_s carries the previous deadline for the undo */
    j->mem[j->n_mem] = (store_grp_member_t){ .user_no = users[i], .mute_until_s = until, .join_s = im_group_muted_until(g, users[i], 0),
                                             .name_card = "", .data = "" };
    if (live) {
      j->mem[j->n_mem].join_s = (int64_t)(uintptr_t)u64map_get(&g->muted, users[i]);
      if (until) u64map_put(&g->muted, users[i], (void *)(uintptr_t)until);
      else u64map_del(&g->muted, users[i]);
    } else {
      grp__set_muted(g, users[i], until);
    }
    j->users[j->n_users++] = users[i];
    j->n_mem++;
  }
  if (!j->n_mem) { grp__finish(j, 0); return; }
  grp__notice(j, g, "MemberMuted", actor_no, j->users, j->n_users, json_pack("{s:I}", "MuteTime", (json_int_t)seconds));
  j->run = run_mute;
  j->done = done_mute;
  grp__submit(j, 0);
}

/* ---- transfer -------------------------------------------------------------------------------------- */
/* j->value: the previous owner (0: none); j->mem: the previous owner (when there was one), then the new
 * owner, each with role the new role (written) and msg_flag the previous one (for the undo); j->mode: a
 * live room (no member rows: nothing but the group's row is written). */
static int has_prev(const gjob_t *j) { return j->value && j->n_mem == 2; }

/* Writer thread: the accounts are checked again first. A deletion submitted before this job ran first
 * (docs/decisions/groups.md §1): a deleted new owner refuses the change (10019, nothing written); a
 * deleted previous owner left the group ownerless, so the App admin's transfer goes on without its row
 * (the previous owner's own transfer is refused: its account is gone). */
static int run_transfer(store_t *s, gjob_t *j)
{
  size_t n_gone;
  int rc = grp__mem_gone(s, j, &n_gone);
  if (rc) return rc;
  if (j->gone && j->gone[j->n_mem - 1]) {
    snprintf(j->res.why, sizeof j->res.why, "the new owner's account was deleted before the change was written");
    return IMC_E_GROUP_USER;
  }
  if (j->gone && has_prev(j) && j->gone[0] && j->actor_no) {
    snprintf(j->res.why, sizeof j->res.why, "your account was deleted before the change was written");
    return IMC_E_GROUP_USER;
  }
  for (size_t i = 0; !j->mode && i < j->n_mem; i++) {
    const store_grp_member_t *m = &j->mem[i];
    if (j->gone && j->gone[i]) continue; /* its row went with the account */
    if ((rc = store_grp_member_set(s, j->sdkappid, j->group_no, m->user_no, "role", m->role, NULL))) return rc;
  }
  if ((rc = store_grp_put(s, &j->row))) return rc;
  if ((rc = grp__run_notice(s, j))) return rc;
  /* the previous owner, an ordinary member now, was told of every application waiting: marked (the notice) */
  uint32_t mark;
  if (!j->mode && has_prev(j) && !(j->gone && j->gone[0]) &&
      ((rc = grp__mark_now(s, j, &mark)) ||
       (rc = store_grp_member_set(s, j->sdkappid, j->group_no, j->mem[0].user_no, "apply_seq", mark, NULL))))
    return rc;
  if ((rc = grp__replay_run(s, j))) return rc; /* a member made owner: the applications waiting */
  return grp__apply_run(s, j);
}

/* The undo gives back the previous owner and roles, but never to an account deleted meanwhile: the
 * deletion (completed first) took it out of the group in memory, as in storage. */
static void done_transfer(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (rc) {
    if (g) {
      int live = im_gtype_info(g->type)->live;
      uint32_t prev = (uint32_t)j->value;
      int prev_gone = prev && ((has_prev(j) && j->gone && j->gone[0]) || (!live && im_group_role(g, prev) == IM_GR_NONE));
      g->owner_no = prev_gone ? 0 : prev;
      snprintf(g->owner_id, sizeof g->owner_id, "%s", prev_gone ? "" : j->prev_owner_id);
      for (size_t i = 0; !live && i < j->n_mem; i++) {
        uint32_t u = j->mem[i].user_no;
        if ((j->gone && j->gone[i]) || im_group_role(g, u) == IM_GR_NONE) continue;
        grp__member_put(j->G, g, u, (im_grole_t)j->mem[i].msg_flag);
      }
    }
    grp__finish(j, rc);
    return;
  }
  grp__deliver_notice(j, g);
  grp__apply_deliver(j);
  grp__finish(j, 0);
}

void im_group_transfer(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, uint32_t new_owner,
                       const char *new_owner_id, int64_t now_s, im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  int live = im_gtype_info(g->type)->live;
  if (actor_no && g->owner_no != actor_no) { grp__fail(cb, ud, IMC_E_GROUP_PERM, "only the owner may transfer the group"); return; }
  if (!live && im_group_role(g, new_owner) == IM_GR_NONE) {
    grp__fail(cb, ud, IMC_E_GROUP_NOT_MEMBER, "the new owner must be a member");
    return;
  }
  if (new_owner == g->owner_no) { grp__fail(cb, ud, 0, NULL); return; }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (!j || !(j->mem = calloc(2, sizeof *j->mem))) {
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  j->group_no = g->group_no;
  j->now_s = now_s;
  j->actor_no = actor_no;
  j->value = g->owner_no;
  j->mode = live;
  if (g->owner_no) {
    j->mem[j->n_mem++] = (store_grp_member_t){ .user_no = g->owner_no, .role = IM_GR_MEMBER, .msg_flag = IM_GR_OWNER };
    if (!live) grp__member_put(G, g, g->owner_no, IM_GR_MEMBER);
  }
  j->mem[j->n_mem++] = (store_grp_member_t){ .user_no = new_owner, .role = IM_GR_OWNER,
                                             .msg_flag = live ? IM_GR_MEMBER : im_group_role(g, new_owner) };
  if (!live) grp__member_put(G, g, new_owner, IM_GR_OWNER);
  snprintf(j->prev_owner_id, sizeof j->prev_owner_id, "%s", g->owner_id);
  g->owner_no = new_owner;
  snprintf(g->owner_id, sizeof g->owner_id, "%s", new_owner_id);
  if (prepare_row(j, g)) { done_transfer(j, IMC_E_NOMEM); return; }
  /* an ordinary member made owner learns of the applications waiting, as the owner and admins did (§14) */
  if (!live && j->mem[j->n_mem - 1].msg_flag == IM_GR_MEMBER && g->pending.len && grp__replay_prepare(j, g, new_owner)) {
    done_transfer(j, IMC_E_NOMEM);
    return;
  }
  grp__notice(j, g, "OwnerChanged", actor_no, &new_owner, 1, NULL);
  j->run = run_transfer;
  j->done = done_transfer;
  grp__submit(j, 0);
}

/* ---- read position ---------------------------------------------------------------------------------- */
/* Walking back from the newest message within retention: the read
 * position that leaves exactly `want` messages counted as unread
 * (store_grp_msg_unread's rule). oldest: the lowest seq visited. */
typedef struct unread_walk { uint32_t user_no; int64_t want, seen; uint32_t at, last, oldest; } unread_walk_t;

static void walk_row(void *ud, const store_grp_msg_t *m)
{
  unread_walk_t *w = ud;
  w->last = m->seq;
  if (!w->oldest || m->seq < w->oldest) w->oldest = m->seq;
  if (w->seen >= w->want || m->from_no == w->user_no ||
      (m->flags & (STORE_GMSG_RECALLED | STORE_GMSG_NO_UNREAD | STORE_GMSG_SYSTEM)))
    return;
  if (++w->seen == w->want) w->at = m->seq - 1;
}

int grp__unread_position(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, int64_t want,
                         int64_t since_s, uint32_t *at)
{
  unread_walk_t w = { user_no, want, 0, 0, 0, 0 };
  uint32_t upto = 0;
  int rc = 0;
  if (want) {
    do {
      w.last = 0;
      if ((rc = store_grp_msg_history(s, sdkappid, group_no, 0, upto, since_s, 1, 200, walk_row, &w))) return rc;
      upto = w.last ? w.last - 1 : 0;
    } while (w.seen < w.want && w.last > 1);
  }
  /* fewer countable messages within retention than asked (or none asked):
   * every one of them is unread, and nothing past retention — a read
   * position among expired messages would count them again if the horizon
   * moved back (a longer retention) before the purge removed them */
  if (w.seen < w.want || !want) {
    if (w.oldest) w.at = w.oldest - 1;
    else rc = store_grp_msg_last_seq(s, sdkappid, group_no, &w.at);
  }
  if (!rc) *at = w.at;
  return rc;
}

/* Writer thread. A deletion of the member's account submitted before this job ran first
 * (docs/decisions/groups.md §1): its member rows are gone, so the change is refused as the request would
 * be answered now (10019; it answered 70107, the storage's "no such row"). */
static int run_read(store_t *s, gjob_t *j)
{
  char id[64];
  int rc = store_msg_account_id(s, j->sdkappid, (uint32_t)j->users[0], id, sizeof id);
  if (rc == IMC_E_NOTFOUND) {
    snprintf(j->res.why, sizeof j->res.why, "the member's account was deleted before the change was written");
    return IMC_E_GROUP_USER;
  }
  if (rc) return rc;
  if (j->mode) { /* set_unread_msg_num: find the position */
    uint32_t at;
    if ((rc = grp__unread_position(s, j->sdkappid, j->group_no, j->users[0], j->value, j->since_s, &at))) return rc;
    j->value = at;
  }
  return store_grp_member_set(s, j->sdkappid, j->group_no, (uint32_t)j->users[0], "read_seq", j->value, NULL);
}

static void done_plain(gjob_t *j, int rc) { grp__finish(j, rc); }

void im_group_set_read(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t user_no, int64_t unread,
                       uint32_t seq, im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  if (!im_gtype_info(g->type)->unread) { grp__fail(cb, ud, IMC_E_GROUP_TYPE_OP, "this group type keeps no unread counts"); return; }
  if (im_group_role(g, user_no) == IM_GR_NONE) { grp__fail(cb, ud, IMC_E_GROUP_NOT_MEMBER, NULL); return; }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (!j || !(j->users = calloc(1, sizeof *j->users))) {
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  j->group_no = g->group_no;
  j->users[0] = user_no;
  j->mode = unread >= 0;
  j->value = unread >= 0 ? unread : (seq > g->last_seq ? g->last_seq : seq);
  j->since_s = im_group_since(G, sdkappid); /* only messages a read can return are counted */
  j->run = run_read;
  j->done = done_plain;
  grp__submit(j, 0);
}
