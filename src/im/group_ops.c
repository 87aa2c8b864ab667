/* group_ops.c — the store-job machinery of the group core and the
 * membership changes: create, dissolve, add (admin add, import, invite,
 * join/apply, approve), reject, remove (kick, quit).
 *
 * Memory runs ahead of storage by the jobs in flight: a change is checked
 * and applied to the loop thread's state when it is submitted (so the next
 * request sees it: limits stay exact under concurrency), written by the
 * writer thread, and undone by the job's own completion if the write failed.
 * The writer runs jobs in submit order, so storage ends in the state memory
 * shows. Pushes and callbacks run only after the commit.
 */
#include "im/group_int.h"
#include "store/store_msg.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- jobs ---------------------------------------------------------------------------- */
static int job_run(store_t *s, void *arg)
{
  gjob_t *j = arg;
  return j->run(s, j);
}

static void job_done(void *arg, int rc)
{
  gjob_t *j = arg;
  j->G->in_flight--;
  j->G->jobs_done++;
  j->done(j, rc);
}

gjob_t *grp__job(im_groups_t *G, uint32_t sdkappid, im_gdone_cb cb, void *ud)
{
  gjob_t *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  j->G = G;
  j->sdkappid = sdkappid;
  j->cb = cb;
  j->ud = ud;
  return j;
}

void grp__submit(gjob_t *j, int readonly)
{
  j->job.run = job_run;
  j->job.done = job_done;
  j->job.arg = j;
  int rc = readonly ? store_reader_submit(j->G->r, &j->job) : store_writer_submit(j->G->w, &j->job);
  if (rc) { j->done(j, rc); return; }
  j->G->in_flight++;
}

void grp__finish(gjob_t *j, int rc)
{
  j->res.rc = rc;
  if (j->cb) j->cb(j->ud, &j->res);
  free(j->res.results);
  free(j->res.codes);
  free(j->info_text);
  free(j->mem);
  free(j->users);
  free(j->nbody);
  free(j->body);
  free(j->name_card);
  free(j->data);
  free(j->to);
  free(j->n_to);
  free(j->chg);
  free(j->to_json);
  grp__apply_free(j);
  free(j->gone);
  json_decref(j->changes);
  free(j);
}

void grp__fail(im_gdone_cb cb, void *ud, int rc, const char *why)
{
  im_gres_t r;
  memset(&r, 0, sizeof r);
  r.rc = rc;
  if (why) snprintf(r.why, sizeof r.why, "%s", why);
  cb(ud, &r);
}

/* ---- system notices --------------------------------------------------------------------- */
void grp__notice(gjob_t *j, im_group_t *g, const char *kind, uint32_t actor_no, const uint32_t *users, size_t n,
                 json_t *extra)
{
  if (!im_gtype_info(g->type)->history) { json_decref(extra); return; } /* live rooms store nothing */
  json_t *o = extra ? extra : json_object();
  json_object_set_new(o, "Notice", json_string(kind));
  json_object_set_new(o, "@actor", json_integer(actor_no));
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_integer(users[i]));
  json_object_set_new(o, "@users", arr);
  j->nbody = json_dumps(o, JSON_COMPACT);  /* numbers: turned into UserIDs by grp__run_notice */
  json_decref(o);
  if (!j->nbody) return;
  j->notice = 1;
  /* never before the life it is part of (grp__event_s: a life moved ahead of the clock) */
  j->nmsg = (store_grp_msg_t){ .sdkappid = g->sdkappid, .group_no = g->group_no, .time_s = grp__event_s(g, j->now_s),
                               .flags = STORE_GMSG_SYSTEM | STORE_GMSG_NO_UNREAD };
}

/* Writer thread: the notice's user numbers become UserIDs, then it is appended. */
int grp__run_notice(store_t *s, gjob_t *j)
{
  if (!j->notice) return 0;
  json_t *o = json_loads(j->nbody, 0, NULL);
  if (!o) return IMC_E_NOMEM;
  char id[64];
  json_int_t actor = json_integer_value(json_object_get(o, "@actor"));
  json_t *users = json_object_get(o, "@users"), *ids = json_array(), *v;
  size_t i;
  if (actor && !store_msg_account_id(s, j->sdkappid, (uint32_t)actor, id, sizeof id))
    json_object_set_new(o, "Operator_Account", json_string(id));
  else json_object_set_new(o, "Operator_Account", json_string(""));
  json_array_foreach(users, i, v) {
    if (!store_msg_account_id(s, j->sdkappid, (uint32_t)json_integer_value(v), id, sizeof id))
      json_array_append_new(ids, json_string(id));
  }
  json_object_del(o, "@actor");
  json_object_del(o, "@users");
  json_object_set_new(o, "Members_Account", ids);
  json_t *wrap = json_pack("{s:o}", "SystemNotice", o);
  free(j->nbody);
  j->nbody = json_dumps(wrap, JSON_COMPACT);
  json_decref(wrap);
  if (!j->nbody) return IMC_E_NOMEM;
  j->nmsg.body = j->nbody;
  j->nmsg.body_len = strlen(j->nbody);
  int dup;
  return store_grp_msg_append(s, &j->nmsg, 0, &dup);
}

void grp__deliver_notice(gjob_t *j, im_group_t *g)
{
  if (!j->notice || !g) return;
  if (j->nmsg.seq > g->last_seq) g->last_seq = j->nmsg.seq;
  im_gevent_t ev = { IM_GEV_MSG, g->sdkappid, g->group_id, g->type, &j->nmsg, NULL, 0, 0, 0, NULL, 0 };
  grp__deliver(j->G, g, &ev, NULL, 0, 0);
}

/* ---- create ------------------------------------------------------------------------------ */
static const char b32[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/* Backend-assigned ids: "@TGS#" + a letter for the type + base-34 of the
 * group number mixed with a random salt ("@TGS#_" for Community). */
static void assign_id(im_groups_t *G, im_gtype_t t, uint32_t sdkappid, char *out, size_t cap)
{
  do {
    G->rng ^= G->rng << 13; G->rng ^= G->rng >> 7; G->rng ^= G->rng << 17;
    uint64_t v = (uint64_t)G->next_no << 24 ^ (G->rng & 0xFFFFFF);
    char digits[16];
    int n = 0;
    do { digits[n++] = b32[v % 34]; v /= 34; } while (v && n < 15);
    digits[n] = 0;
    snprintf(out, cap, "%s%c%s", t == IM_GT_COMMUNITY ? "@TGS#_" : "@TGS#", "2AB3C"[t], digits);
  } while (grp__find(G, sdkappid, out));
}

/* Writer thread: which members of the job are no longer accounts. A
 * deletion (account_delete) submitted before this job ran first: its
 * account row and group rows are gone (the request saw the account before
 * the deletion committed, docs/decisions/groups.md §1). j->gone[i] = 1 for
 * each such j->mem[i] (j->gone allocated when there is one; user number 0
 * is skipped), their number into *n_gone. 0 or a storage error. */
int grp__mem_gone(store_t *s, gjob_t *j, size_t *n_gone)
{
  char id[64];
  *n_gone = 0;
  for (size_t i = 0; i < j->n_mem; i++) {
    if (!j->mem[i].user_no) continue;
    int rc = store_msg_account_id(s, j->sdkappid, j->mem[i].user_no, id, sizeof id);
    if (rc == IMC_E_NOTFOUND) {
      if (!j->gone && !(j->gone = calloc(j->n_mem, 1))) return IMC_E_NOMEM;
      j->gone[i] = 1;
      ++*n_gone;
      continue;
    }
    if (rc) return rc;
  }
  return 0;
}

int grp__members_live(store_t *s, gjob_t *j)
{
  size_t n_gone;
  int rc = grp__mem_gone(s, j, &n_gone);
  if (!rc && n_gone) {
    snprintf(j->res.why, sizeof j->res.why, "an account in the request was deleted before the change was written");
    rc = IMC_E_GROUP_USER;
  }
  return rc;
}

static int run_create(store_t *s, gjob_t *j)
{
  int rc;
  if ((rc = grp__members_live(s, j))) return rc;
  /* the owner's UserID from storage (a client creating a group knows its user number only), which also
   * checks that the owner of a live room, which stores no members, is still an account */
  if (j->row.owner_no &&
      (rc = store_msg_account_id(s, j->sdkappid, j->row.owner_no, j->prev_owner_id, sizeof j->prev_owner_id))) {
    if (rc == IMC_E_NOTFOUND) {
      snprintf(j->res.why, sizeof j->res.why, "the owner's account was deleted before the group was written");
      rc = IMC_E_GROUP_USER;
    }
    return rc;
  }
  /* the life starts after every earlier life of its id (docs/decisions/groups-events.md): now, or one second after
   * a life created in this second (or later: the clock went back), so two lives of an id never share `created`
   * (which every group event carries) nor their metered row (usage_group is keyed by the start) */
  int64_t last = 0, start = j->now_s;
  if ((rc = store_usage_group_last(s, j->sdkappid, j->row.group_id, &last))) return rc;
  if (last >= start) start = last + 1;
  if (!j->keep_created) { /* the creation time is the start: CreateTime, the owner's join, the GroupCreated notice */
    j->row.created_s = j->nmsg.time_s = j->row.info_time_s = start; /* LastInfoTime too: never before created */
    for (size_t i = 0; i < j->n_mem; i++) j->mem[i].join_s = start;
  }
  if ((rc = store_grp_put(s, &j->row))) return rc;
  for (size_t i = 0; i < j->n_mem; i++)
    if ((rc = store_grp_member_put(s, j->sdkappid, j->group_no, &j->mem[i]))) return rc;
  /* the metered life begins at start, for an imported group too (its CreateTime is history, not a day of use here) */
  if ((rc = store_usage_group(s, j->sdkappid, j->row.group_id, im_gtype_info((im_gtype_t)j->row.type)->live,
                              start, 0)))
    return rc;
  return grp__run_notice(s, j);
}

static void done_create(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (!g) { grp__finish(j, rc ? rc : IMC_E_INTERNAL); return; }
  if (rc) {
    grp__day_net(j->G, j->sdkappid, j->now_s, -1, g->counted_s);
    grp__remove(j->G, g);
    grp__finish(j, rc);
    return;
  }
  g->creating = 0;
  g->created_s = j->row.created_s; /* run_create's: after every earlier life of the id */
  if (j->row.info_time_s > g->info_time_s) g->info_time_s = j->row.info_time_s;
  if (g->owner_no && !g->owner_id[0]) snprintf(g->owner_id, sizeof g->owner_id, "%s", j->prev_owner_id);
  snprintf(j->res.group_id, sizeof j->res.group_id, "%s", g->group_id);
  grp__deliver_notice(j, g);
  grp__finish(j, 0);
}

void im_group_create(im_groups_t *G, im_gcreate_t *in, int64_t now_s, im_gdone_cb cb, void *ud)
{
  const im_gtype_info_t *ti = im_gtype_info(in->type);
  const plan_app_t *plan = grp__plan(G, in->sdkappid);
  plan_verdict_t v;
  char why[320] = "";
  int rc;
  json_t *info = in->info;
  in->info = NULL;
  /* edition gates and counts, cheapest first */
  if (in->type == IM_GT_COMMUNITY && (rc = plan_check(plan, now_s, PLAN_F_COMMUNITY, 0, 0, &v))) goto refuse_v;
  if (ti->live) { if ((rc = plan_check(plan, now_s, PLAN_L_AVCHATROOMS, im_groups_count(G, in->sdkappid, 1), 1, &v))) goto refuse_v; }
  else if ((rc = plan_check(plan, now_s, PLAN_L_GROUPS, im_groups_count(G, in->sdkappid, 0), 1, &v))) goto refuse_v;
  if ((rc = plan_check(plan, now_s, PLAN_L_DAILY_NEW_GROUPS, grp__day_net(G, in->sdkappid, now_s, 0, 0), 1, &v)))
    goto refuse_v;
  size_t n_initial = in->n_members + (in->owner_no ? 1 : 0);
  if (ti->live && in->n_members) {
    rc = imc_errf(why, sizeof why, IMC_E_GROUP_TYPE_OP, "an AVChatRoom has no member list: members join online");
    goto refuse;
  }
  if (!ti->live && (rc = plan_check(plan, now_s, PLAN_L_MEMBERS_INITIAL, 0, (int64_t)n_initial, &v))) goto refuse_v;
  if (in->max_members && !ti->live && (rc = plan_check(plan, now_s, PLAN_L_MEMBERS_INITIAL, 0, in->max_members, &v)))
    goto refuse_v;
  if (!ti->live && (rc = grp__big_check(G, in->sdkappid, in->max_members, (int64_t)n_initial, now_s, why, sizeof why)))
    goto refuse; /* P-17 */
  if (!ti->live) {
    for (size_t i = 0; i <= in->n_members; i++) {
      uint32_t u = i < in->n_members ? in->members[i].user_no : in->owner_no;
      if (u && (rc = plan_check(plan, now_s, PLAN_L_GROUPS_PER_USER, im_groups_of_user(G, in->sdkappid, u), 1, &v)))
        goto refuse_v;
    }
  }
  /* the id */
  char id[64];
  if (in->group_id[0]) {
    if ((rc = im_group_id_check(in->type, in->group_id, why, sizeof why))) goto refuse;
    im_group_t *old = grp__find(G, in->sdkappid, in->group_id);
    if (old) {
      rc = old->owner_no && old->owner_no == (in->owner_no ? in->owner_no : in->actor_no) ? IMC_E_GROUP_ID_YOURS
                                                                                          : IMC_E_GROUP_ID_TAKEN;
      snprintf(why, sizeof why, "GroupId %.48s is already in use", in->group_id);
      goto refuse;
    }
    snprintf(id, sizeof id, "%s", in->group_id);
  } else {
    assign_id(G, in->type, in->sdkappid, id, sizeof id);
  }
  /* defaults of the profile */
  if (!json_object_get(info, "ApplyJoinOption"))
    json_object_set_new(info, "ApplyJoinOption", json_string(im_gjoin_name((im_gjoin_t)ti->join_default)));
  json_object_set_new(info, "MuteAllMember", json_string("Off"));
  if (in->max_members) json_object_set_new(info, "MaxMemberNum", json_integer(in->max_members));
  gjob_t *j = grp__job(G, in->sdkappid, cb, ud);
  im_group_t *g = j ? grp__add(G, in->sdkappid, G->next_no, id, in->type, info) : NULL;
  info = NULL;
  if (!g) { free(j); rc = IMC_E_NOMEM; goto refuse; }
  g->creating = 1;
  g->owner_no = in->owner_no;
  snprintf(g->owner_id, sizeof g->owner_id, "%s", in->owner_no ? in->owner_id : "");
  snprintf(j->prev_owner_id, sizeof j->prev_owner_id, "%s", g->owner_id);
  g->created_s = in->import && in->created_s ? in->created_s : now_s; /* not an import's: run_create may move it on */
  j->keep_created = in->import && in->created_s;
  g->counted_s = now_s; /* P-53: an import is a new group of today, whatever its CreateTime */
  g->info_time_s = now_s;
  g->info_seq = 1;
  j->group_no = g->group_no;
  j->now_s = now_s;
  grp__day_net(G, in->sdkappid, now_s, +1, g->counted_s);
  /* members: the owner first, then the list */
  j->mem = calloc(n_initial ? n_initial : 1, sizeof *j->mem);
  j->users = calloc(n_initial ? n_initial : 1, sizeof *j->users);
  if (!j->mem || !j->users) { rc = IMC_E_NOMEM; goto undo; }
  if (!ti->live) {
    for (size_t i = 0; i < n_initial; i++) {
      int owner = in->owner_no && i == 0;
      const im_gmember_in_t *m = owner ? NULL : &in->members[i - (in->owner_no ? 1 : 0)];
      uint32_t u = owner ? in->owner_no : m->user_no;
      im_grole_t role = owner ? IM_GR_OWNER : (m->role == IM_GR_ADMIN && ti->admins ? IM_GR_ADMIN : IM_GR_MEMBER);
      if (im_group_role(g, u) != IM_GR_NONE) continue; /* listed twice, or the owner listed again */
      if (grp__member_put(G, g, u, role)) { rc = IMC_E_NOMEM; goto undo; }
      j->mem[j->n_mem] = (store_grp_member_t){ .user_no = u, .role = role, .join_s = g->created_s,
                                               .name_card = "", .data = owner || !m->data ? "" : m->data };
      j->users[j->n_mem++] = u;
    }
  } /* a live group stores no members; its owner is the row's owner_no */
  if (!(j->info_text = grp__info_text(g))) { rc = IMC_E_NOMEM; goto undo; }
  grp__row(g, j->info_text, &j->row);
  snprintf(j->group_id, sizeof j->group_id, "%s", id);
  j->row.group_id = j->group_id;
  grp__notice(j, g, "GroupCreated", in->actor_no ? in->actor_no : in->owner_no, j->users, j->n_mem, NULL);
  j->nmsg.time_s = g->created_s; /* import_group: seq 1 is as old as the imported CreateTime */
  j->run = run_create;
  j->done = done_create;
  grp__submit(j, 0);
  return;
undo:
  grp__day_net(G, in->sdkappid, now_s, -1, g->counted_s);
  grp__remove(G, g);
  j->cb = NULL;
  grp__finish(j, rc);
  grp__fail(cb, ud, rc, NULL);
  return;
refuse_v:
  snprintf(why, sizeof why, "%s", v.msg);
refuse:
  json_decref(info);
  grp__fail(cb, ud, rc, why[0] ? why : NULL);
}

/* ---- dissolve -------------------------------------------------------------------------------- */
static int run_dissolve(store_t *s, gjob_t *j)
{
  int64_t at = j->now_s, start = 0;
  int rc = store_grp_del(s, j->sdkappid, j->group_no);
  /* a life that started after the clock (run_create: a second life of the id in one second) ends at its start */
  if (!rc) rc = store_usage_group_last(s, j->sdkappid, j->group_id, &start);
  if (!rc) rc = store_usage_group(s, j->sdkappid, j->group_id, j->mode, start > at ? start : at, 1);
  if (!rc) rc = grp__apply_run(s, j); /* the members' group_dissolved; the applications went with the group */
  return rc;
}

static void done_dissolve(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (!g) { grp__finish(j, rc ? rc : IMC_E_INTERNAL); return; }
  if (rc) { g->dissolving = 0; grp__finish(j, rc); return; }
  if (im_gtype_info(g->type)->live) { /* a live room's members are its sessions now: told live only */
    im_gevent_t ev = { IM_GEV_DISSOLVED, g->sdkappid, g->group_id, g->type, NULL, NULL, g->created_s,
                       grp__event_s(g, j->now_s), 0, NULL, 0 };
    grp__deliver(j->G, g, &ev, NULL, 0, 0);
  }
  grp__apply_deliver(j);
  if (j->due) { /* the members' group_dissolved, in chunks (group_due.c) */
    j->G->due_chunks += j->due;
    grp__due_start(j->G);
  }
  grp__day_net(j->G, j->sdkappid, j->now_s, -1, g->counted_s);
  grp__remove(j->G, g);
  grp__finish(j, 0);
}

void im_group_dissolve(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, int64_t now_s,
                       im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  if (actor_no && !(im_gtype_info(g->type)->owner_dissolve && g->owner_no == actor_no)) {
    grp__fail(cb, ud, IMC_E_GROUP_PERM,
              im_gtype_info(g->type)->owner_dissolve ? "only the owner or the App admin may dissolve the group"
                                                     : "only the App admin may dissolve a Work (Private) group");
    return;
  }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (!j || (g->pending.len && grp__apply_prepare(j, g, NULL, 0, "dissolved")) ||
      (!im_gtype_info(g->type)->live && grp__dissolved_prepare(j, g))) {
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  g->dissolving = 1;
  j->group_no = g->group_no;
  j->now_s = now_s;
  j->mode = im_gtype_info(g->type)->live;
  snprintf(j->group_id, sizeof j->group_id, "%s", g->group_id);
  j->run = run_dissolve;
  j->done = done_dissolve;
  grp__submit(j, 0);
}

/* ---- add ---------------------------------------------------------------------------------------- */
static int run_members(store_t *s, gjob_t *j)
{
  int rc;
  if ((rc = grp__members_live(s, j)) || (rc = grp__marks_take(s, j))) return rc; /* a returning user's mark */
  for (size_t i = 0; i < j->n_mem; i++) {
    /* import_group_member UnreadMsgNum (j->to: the counts asked): the position set_unread_msg_num would find */
    if (j->to && j->to[i] && (rc = grp__unread_position(s, j->sdkappid, j->group_no, j->mem[i].user_no, j->to[i],
                                                         j->since_s, &j->mem[i].read_seq)))
      return rc;
    if ((rc = store_grp_member_put(s, j->sdkappid, j->group_no, &j->mem[i]))) return rc;
  }
  if ((rc = grp__run_notice(s, j))) return rc;
  return grp__apply_run(s, j); /* approved: the applicants' events */
}

static void done_add(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (rc) {
    for (size_t i = 0; g && i < j->n_mem; i++) {
      grp__member_del(j->G, g, j->mem[i].user_no);
      /* still applying, unless its account was deleted (its application went with it) */
      if (j->mode == IM_GADD_APPROVE && !(j->gone && j->gone[i])) u64map_put(&g->pending, j->mem[i].user_no, (void *)1);
    }
    grp__finish(j, rc);
    return;
  }
  grp__deliver_notice(j, g);
  grp__apply_deliver(j);
  grp__finish(j, 0);
}

static int run_apply(store_t *s, gjob_t *j)
{
  int rc = grp__members_live(s, j); /* an applicant deleted meanwhile: 10019, no application row */
  /* its place among the group's notices: a demotion's or removal's mark after it is above it (grp__replay_run) */
  if (!rc) rc = grp__apply_place(s, j, &j->mem[0].apply_seq);
  if (!rc) rc = store_grp_member_put(s, j->sdkappid, j->group_no, &j->mem[0]);
  if (!rc) rc = store_msg_account_id(s, j->sdkappid, j->actor_no, j->prev_owner_id, sizeof j->prev_owner_id);
  if (!rc) rc = grp__apply_user(j, j->prev_owner_id);
  if (!rc) rc = grp__apply_run(s, j); /* the owner's and admins' group_apply */
  return rc;
}

static void done_apply(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (rc) {
    if (g) u64map_del(&g->pending, j->actor_no);
    grp__finish(j, rc);
    return;
  }
  grp__apply_deliver(j);
  grp__finish(j, 0);
}

/* May actor invite / approve in g? 0 or the refusal. */
static int may_add(const im_group_t *g, uint32_t actor_no, im_gadd_mode_t mode, char *why, size_t cap)
{
  const im_gtype_info_t *ti = im_gtype_info(g->type);
  im_grole_t r = im_group_role(g, actor_no);
  switch (mode) {
  case IM_GADD_ADMIN:
  case IM_GADD_IMPORT:
    if (ti->live)
      return imc_errf(why, cap, IMC_E_GROUP_TYPE_OP, "members of an AVChatRoom join online; they cannot be added");
    return 0;
  case IM_GADD_INVITE:
    if (ti->live) return imc_errf(why, cap, IMC_E_GROUP_TYPE_OP, "an AVChatRoom takes no invitations");
    if (r == IM_GR_NONE) return imc_errf(why, cap, IMC_E_GROUP_NOT_MEMBER, "only members may invite");
    if (!ti->member_invite && r == IM_GR_MEMBER)
      return imc_errf(why, cap, IMC_E_GROUP_PERM, "in a %s group only the owner and admins may invite", ti->name);
    return 0;
  case IM_GADD_JOIN:
    if (!ti->self_join) return imc_errf(why, cap, IMC_E_GROUP_TYPE_OP, "a Work (Private) group is joined by invitation only");
    if (g->type == IM_GT_PUBLIC) {
      im_gjoin_t jo = IM_GJ_NEED_PERMISSION;
      im_gjoin_parse(json_string_value(json_object_get(g->info, "ApplyJoinOption")), &jo);
      if (jo == IM_GJ_DISABLE) return imc_errf(why, cap, IMC_E_GROUP_PERM, "the group does not accept applications");
    }
    return 0;
  case IM_GADD_APPROVE:
    if (actor_no && r != IM_GR_OWNER && r != IM_GR_ADMIN)
      return imc_errf(why, cap, IMC_E_GROUP_PERM, "only the owner and admins may approve applications");
    return 0;
  }
  return IMC_E_INTERNAL;
}

static int public_needs_approval(const im_group_t *g)
{
  if (g->type != IM_GT_PUBLIC) return 0;
  im_gjoin_t jo = IM_GJ_NEED_PERMISSION;
  im_gjoin_parse(json_string_value(json_object_get(g->info, "ApplyJoinOption")), &jo);
  return jo == IM_GJ_NEED_PERMISSION;
}

void im_group_add(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, im_gadd_mode_t mode,
                  im_gmember_in_t *users, size_t n, int silence, int64_t now_s, im_gdone_cb cb, void *ud)
{
  char why[320] = "";
  int rc;
  plan_verdict_t v;
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  if ((rc = may_add(g, actor_no, mode, why, sizeof why))) { grp__fail(cb, ud, rc, why); return; }
  const plan_app_t *plan = grp__plan(G, sdkappid);
  if ((rc = grp__community_gate(plan, g, now_s, why, sizeof why))) { grp__fail(cb, ud, rc, why); return; }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (!j || !(j->res.results = calloc(n ? n : 1, 1)) || !(j->mem = calloc(n ? n : 1, sizeof *j->mem)) ||
      !(j->users = calloc(n ? n : 1, sizeof *j->users)) ||
      (mode == IM_GADD_IMPORT && !(j->to = calloc(n ? n : 1, sizeof *j->to)))) {
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  j->res.n = n;
  j->group_no = g->group_no;
  j->now_s = now_s;
  j->mode = (int)mode;
  if (mode == IM_GADD_IMPORT) j->since_s = im_group_since(G, sdkappid); /* UnreadMsgNum counts what reads return */
  /* an application to a Public group that needs approval: stored as a
   * member row with role 3, with a group_apply event in the inbox of each of
   * the owner and admins (group_apply.c) */
  if (mode == IM_GADD_JOIN && public_needs_approval(g) && im_group_role(g, actor_no) == IM_GR_NONE) {
    j->res.results[0] = 3;
    if (u64map_get(&g->pending, actor_no)) { grp__finish(j, 0); return; }
    int64_t cap = im_limit(G->lim, sdkappid, IM_LIMIT_GROUP_APPLICATIONS);
    if ((int64_t)g->pending.len >= cap) {
      j->cb = NULL;
      grp__finish(j, IMC_E_GROUP_APPLY_FULL);
      snprintf(why, sizeof why, "%lld applications are waiting for this group (group_max_applications): the owner or an admin must approve or reject some first", (long long)cap);
      grp__fail(cb, ud, IMC_E_GROUP_APPLY_FULL, why);
      return;
    }
    if (u64map_put(&g->pending, actor_no, (void *)1)) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); grp__fail(cb, ud, IMC_E_NOMEM, NULL); return; }
    j->mem[0] = (store_grp_member_t){ .user_no = actor_no, .role = IM_GR_NONE, .join_s = grp__event_s(g, now_s),
                                      .name_card = "", .data = "" }; /* group_apply's time: never before created */
    j->n_mem = 1;
    j->actor_no = actor_no;
    j->run = run_apply;
    j->done = done_apply;
    if (grp__applied_prepare(j, g)) { done_apply(j, IMC_E_NOMEM); return; }
    grp__submit(j, 0);
    return;
  }
  /* how many are new: the group cap applies to them together */
  size_t adding = 0;
  int per_user_refused = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t u = users[i].user_no;
    int dup_in_list = 0;
    for (size_t k = 0; k < i; k++) dup_in_list |= users[k].user_no == u;
    if (dup_in_list || im_group_role(g, u) != IM_GR_NONE) { j->res.results[i] = 2; continue; }
    if (mode == IM_GADD_APPROVE && !u64map_get(&g->pending, u)) { j->res.results[i] = 0; continue; }
    if (plan_check(plan, now_s, PLAN_L_GROUPS_PER_USER, im_groups_of_user(G, sdkappid, u), 1, &v)) {
      j->res.results[i] = 0;
      per_user_refused = 1;
      continue;
    }
    j->res.results[i] = 1;
    adding++;
  }
  int64_t cur = g->members.len;
  /* adding no one adds nothing: a group above a lowered limit (docs/editions.md: data above a limit is kept)
   * still answers a retry or a member's join as it does under it */
  rc = adding ? plan_check(plan, now_s, mode == IM_GADD_IMPORT ? PLAN_L_MEMBERS_INITIAL : PLAN_L_MEMBERS, cur,
                           (int64_t)adding, &v) : 0;
  json_t *mx = json_object_get(g->info, "MaxMemberNum");
  if (!rc && adding && json_is_integer(mx) && cur + (int64_t)adding > json_integer_value(mx)) {
    rc = mode == IM_GADD_IMPORT ? IMC_E_PLAN_MEMBERS_CAP : IMC_E_PLAN_GROUP_FULL;
    snprintf(v.msg, sizeof v.msg, "the group's MaxMemberNum is %lld", (long long)json_integer_value(mx));
  }
  /* P-17: without its own MaxMemberNum a group holds at most the big-group floor */
  if (!rc && adding && !json_is_integer(mx) && grp__big_check(G, sdkappid, 0, cur + (int64_t)adding, now_s, v.msg, sizeof v.msg))
    rc = mode == IM_GADD_IMPORT ? IMC_E_PLAN_MEMBERS_CAP : IMC_E_PLAN_GROUP_FULL;
  if (!rc && !adding && per_user_refused && n == 1) {
    rc = IMC_E_PLAN_GROUPS_PER_USER;
    plan_check(plan, now_s, PLAN_L_GROUPS_PER_USER, im_groups_of_user(G, sdkappid, users[0].user_no), 1, &v);
  }
  if (rc) { j->cb = NULL; grp__finish(j, rc); grp__fail(cb, ud, rc, v.msg); return; }
  for (size_t i = 0; i < n; i++) {
    if (j->res.results[i] != 1) continue;
    const im_gmember_in_t *m = &users[i];
    im_grole_t role = mode == IM_GADD_IMPORT && m->role == IM_GR_ADMIN && im_gtype_info(g->type)->admins
                        ? IM_GR_ADMIN : IM_GR_MEMBER;
    if (grp__member_put(G, g, m->user_no, role)) { j->res.results[i] = 0; continue; }
    u64map_del(&g->pending, m->user_no);
    uint32_t read_seq = g->last_seq; /* history before joining is not unread */
    if (mode == IM_GADD_IMPORT && j->to) j->to[j->n_mem] = m->unread; /* the position is found in the job */
    j->mem[j->n_mem] = (store_grp_member_t){ .user_no = m->user_no, .role = role,
                                             .join_s = mode == IM_GADD_IMPORT && m->join_s ? m->join_s : grp__event_s(g, now_s),
                                             .read_seq = read_seq, .name_card = "", .data = m->data ? m->data : "" };
    j->users[j->n_mem++] = m->user_no;
  }
  if (!j->n_mem) { grp__finish(j, 0); return; }
  if (!silence && mode != IM_GADD_IMPORT)
    grp__notice(j, g, mode == IM_GADD_JOIN ? "MemberJoined" : "MemberInvited", actor_no, j->users, j->n_mem, NULL);
  j->run = run_members;
  j->done = done_add;
  if (mode == IM_GADD_APPROVE && grp__apply_prepare(j, g, j->users, j->n_mem, "approved")) { done_add(j, IMC_E_NOMEM); return; }
  grp__submit(j, 0);
}

static int run_reject(store_t *s, gjob_t *j)
{
  for (size_t i = 0; i < j->n_users; i++) {
    int rc = store_grp_member_del(s, j->sdkappid, j->group_no, j->users[i]);
    if (rc && rc != IMC_E_NOTFOUND) return rc;
  }
  return grp__apply_run(s, j);
}

static void done_reject(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  for (size_t i = 0; rc && g && i < j->n_users; i++) u64map_put(&g->pending, j->users[i], (void *)1);
  if (!rc) grp__apply_deliver(j);
  grp__finish(j, rc);
}

void im_group_reject(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no,
                     const uint32_t *users, size_t n, im_gdone_cb cb, void *ud)
{
  char why[320] = "";
  int rc;
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  if ((rc = may_add(g, actor_no, IM_GADD_APPROVE, why, sizeof why))) { grp__fail(cb, ud, rc, why); return; }
  gjob_t *j = grp__job(G, sdkappid, cb, ud);
  if (!j || !(j->users = calloc(n ? n : 1, sizeof *j->users))) {
    if (j) { j->cb = NULL; grp__finish(j, IMC_E_NOMEM); }
    grp__fail(cb, ud, IMC_E_NOMEM, NULL);
    return;
  }
  j->group_no = g->group_no;
  for (size_t i = 0; i < n; i++)
    if (u64map_del(&g->pending, users[i])) j->users[j->n_users++] = users[i];
  if (!j->n_users) {
    j->cb = NULL;
    grp__finish(j, 0);
    grp__fail(cb, ud, IMC_E_GROUP_PROCESSED, "no such application is waiting");
    return;
  }
  j->run = run_reject;
  j->done = done_reject;
  if (grp__apply_prepare(j, g, j->users, j->n_users, "rejected")) { done_reject(j, IMC_E_NOMEM); return; }
  grp__submit(j, 0);
}

/* ---- remove ------------------------------------------------------------------------------------- */
static int run_remove(store_t *s, gjob_t *j)
{
  int rc = grp__marks_read(s, j); /* the leaving members' marks, kept for their next join */
  for (size_t i = 0; !rc && i < j->n_users; i++) {
    rc = store_grp_member_del(s, j->sdkappid, j->group_no, j->users[i]);
    if (rc == IMC_E_NOTFOUND) rc = 0;
  }
  if (rc || (j->put_row && (rc = store_grp_put(s, &j->row)))) return rc;
  if ((rc = grp__run_notice(s, j)) || (rc = grp__marks_keep(s, j))) return rc;
  return grp__apply_run(s, j); /* the removed users' group_kicked / group_quit */
}

static void done_remove(gjob_t *j, int rc)
{
  im_group_t *g = grp__by_no(j->G, j->sdkappid, j->group_no);
  if (rc) {
    /* undo: the removed members come back with their roles and mutes */
    for (size_t i = 0; g && i < j->n_mem; i++) {
      grp__member_put(j->G, g, j->mem[i].user_no, (im_grole_t)j->mem[i].role);
      if (j->mem[i].mute_until_s) grp__set_muted(g, j->mem[i].user_no, j->mem[i].mute_until_s);
    }
    if (g && j->put_row) {
      g->owner_no = (uint32_t)j->value;
      snprintf(g->owner_id, sizeof g->owner_id, "%s", j->prev_owner_id);
    }
    grp__finish(j, rc);
    return;
  }
  if (g && j->notice) {
    grp__deliver_notice(j, g);
    im_gevent_t ev = { IM_GEV_MSG, g->sdkappid, g->group_id, g->type, &j->nmsg, NULL, 0, 0, 0, NULL, 0 };
    for (size_t i = 0; i < j->n_users; i++) grp__deliver_user(j->G, j->sdkappid, j->users[i], &ev);
  }
  grp__apply_deliver(j);
  grp__finish(j, 0);
}

void im_group_remove(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, im_gdel_mode_t mode,
                     const uint32_t *users, size_t n, int silence, int64_t now_s, im_gdone_cb cb, void *ud)
{
  im_group_t *g = grp__usable(G, sdkappid, group_id);
  if (!g) { grp__fail(cb, ud, IMC_E_GROUP_GONE, NULL); return; }
  const im_gtype_info_t *ti = im_gtype_info(g->type);
  if (ti->live) {
    grp__fail(cb, ud, IMC_E_GROUP_TYPE_OP, mode == IM_GDEL_KICK ? "members of an AVChatRoom are muted, not kicked"
                                                                : "a live-room session quits with quit on its connection");
    return;
  }
  im_grole_t ar = im_group_role(g, actor_no);
  if (mode == IM_GDEL_QUIT) {
    if (ar == IM_GR_NONE) { grp__fail(cb, ud, IMC_E_GROUP_NOT_MEMBER, NULL); return; }
    if (ar == IM_GR_OWNER && !ti->owner_may_quit) { grp__fail(cb, ud, IMC_E_GROUP_OWNER_QUIT, NULL); return; }
    users = &actor_no;
    n = 1;
  } else if (actor_no && ar != IM_GR_OWNER && ar != IM_GR_ADMIN) {
    grp__fail(cb, ud, IMC_E_GROUP_PERM, "only the owner, admins and the App admin may remove members");
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
  /* check every target before changing anything */
  for (size_t i = 0; i < n; i++) {
    im_grole_t r = im_group_role(g, users[i]);
    if (r == IM_GR_NONE) continue; /* not a member: nothing to do for it */
    if (mode == IM_GDEL_KICK && (r == IM_GR_OWNER || (actor_no && r >= ar))) {
      j->cb = NULL;
      grp__finish(j, IMC_E_GROUP_PERM);
      grp__fail(cb, ud, IMC_E_GROUP_PERM, r == IM_GR_OWNER ? "the owner cannot be removed (transfer ownership first)"
                                                           : "an admin can remove ordinary members only");
      return;
    }
  }
  for (size_t i = 0; i < n; i++) {
    im_grole_t r = im_group_role(g, users[i]);
    if (r == IM_GR_NONE) continue;
    j->mem[j->n_mem++] = (store_grp_member_t){ .user_no = users[i], .role = r,
                                               .mute_until_s = im_group_muted_until(g, users[i], 0) };
    j->users[j->n_users++] = users[i];
    if (r == IM_GR_OWNER) { /* a Work group's owner quits: the group becomes ownerless */
      j->value = g->owner_no;
      snprintf(j->prev_owner_id, sizeof j->prev_owner_id, "%s", g->owner_id);
      g->owner_no = 0;
      g->owner_id[0] = 0;
      j->put_row = 1;
    }
    grp__member_del(G, g, users[i]);
  }
  if (!j->n_users) { grp__finish(j, 0); return; }
  if (j->put_row) {
    if (!(j->info_text = grp__info_text(g))) { done_remove(j, IMC_E_NOMEM); return; }
    grp__row(g, j->info_text, &j->row);
    snprintf(j->group_id, sizeof j->group_id, "%s", g->group_id);
    j->row.group_id = j->group_id;
  }
  if (!silence) grp__notice(j, g, mode == IM_GDEL_QUIT ? "MemberQuit" : "MemberKicked", actor_no, j->users,
                            j->n_users, NULL);
  j->run = run_remove;
  j->done = done_remove;
  /* no longer members, they could not read the notice back by group_sync: an event of their inboxes
   * tells them (Silence too: it spares the group the notice, not the removed member the news) */
  if (grp__left_prepare(j, g, j->users, j->n_users, mode == IM_GDEL_QUIT)) { done_remove(j, IMC_E_NOMEM); return; }
  grp__submit(j, 0);
}
