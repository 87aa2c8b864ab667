/* group_apply.c — the group events of the users' inboxes (the per-user
 * event log of c2c.h, as relationship events: c2c_rel.c), for what a user
 * must learn even when it was offline (docs/decisions/groups.md §1):
 *  - group_apply_result: an application to a Public group approved,
 *    rejected or ended by the group's dissolution, to its applicant;
 *  - group_apply: a user applied to a Public group, to its owner and admins
 *    at that moment, and to a user made admin or owner later, once per
 *    application then waiting that it was not told of before it was last
 *    made an ordinary member or left the group (grp__replay_prepare;
 *    grp_member.apply_seq, and grp_apply_mark while it is away: grp__marks_*);
 *  - group_dissolved: a group with stored members (not a live room) was
 *    dissolved, to each of its members;
 *  - group_kicked / group_quit: a member was removed from a group by the
 *    owner, an admin or the App admin (Silence or not) / quit it, to that
 *    user (its other devices learn of a quit).
 * Every payload carries the group's creation time (created: a group id
 * dissolved and created again names another group) and the time the event
 * was made (time; for group_apply, when the user applied), never before
 * created (grp__event_s: a life created one second ahead of the clock).
 * A job holds a list of event sets (one payload, its users). Each event is
 * appended in the writer job that makes the change, so it is durable with
 * it; once that job is committed it goes to the user's live sessions in
 * useq order, and a sync replays it to a device that was away. The
 * group_dissolved events of more members than group_event_chunk are
 * recorded as due in that job instead and appended by later jobs
 * (group_due.c).
 *
 * Loop thread, except grp__apply_user, grp__apply_run, grp__replay_run and the
 * marks (grp__apply_place, grp__mark_now, grp__marks_*): writer thread. */
#include "im/group_int.h"
#include "store/store_grp.h"
#include "store/store_msg.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

struct gapply {
  gapply_t *next;              /* the job's next set */
  char *payload;               /* the push frame without useq (JSON text); NULL until grp__apply_user for group_apply */
  json_t *frame;               /* group_apply: the frame waiting for the applicant's UserID */
  int64_t at_s;
  size_t n;
  uint32_t *users, *useqs;     /* useqs[i]: the event's useq, 0 when not appended (account deleted, or due) */
  size_t chunk;                /* more users than this (0: no bound): recorded as due, in chunks (group_due.c) */
  int replay;                  /* group_apply to users[0] for each application waiting, at most chunk (grp__replay_run) */
};

int64_t grp__event_s(const im_group_t *g, int64_t now_s)
{
  return now_s < g->created_s ? g->created_s : now_s; /* a life moved ahead of the clock (run_create) */
}

void grp__apply_free(gjob_t *j)
{
  while (j->apply) {
    gapply_t *a = j->apply;
    j->apply = a->next;
    free(a->payload);
    json_decref(a->frame);
    free(a->users);
    free(a->useqs);
    free(a);
  }
}

/* A new set for at most n users at the end of j's list, with the frame {type, group_id, group_type} of g
 * (kept as a->frame when keep_frame, else as a->payload with extra_key: extra_val added). NULL: out of
 * memory (the set is freed with the job). */
static gapply_t *set_add(gjob_t *j, const im_group_t *g, size_t n, const char *type, const char *extra_key,
                         const char *extra_val, int keep_frame)
{
  gapply_t *a = calloc(1, sizeof *a), **tail = &j->apply;
  if (!a) return NULL;
  while (*tail) tail = &(*tail)->next;
  *tail = a;
  a->at_s = grp__event_s(g, j->now_s ? j->now_s : imc_clock_now_s());
  json_t *f = json_pack("{s:s,s:s,s:s,s:I,s:I}", "type", type, "group_id", g->group_id, "group_type",
                        im_gtype_info(g->type)->name, "created", (json_int_t)g->created_s, "time", (json_int_t)a->at_s);
  if (f && extra_key) json_object_set_new(f, extra_key, json_string(extra_val));
  if (keep_frame) a->frame = f;
  else {
    a->payload = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
  }
  a->users = calloc(n ? n : 1, sizeof *a->users);
  a->useqs = calloc(n ? n : 1, sizeof *a->useqs);
  int ok = keep_frame ? a->frame != NULL : a->payload != NULL;
  return ok && a->users && a->useqs ? a : NULL;
}

int grp__apply_prepare(gjob_t *j, const im_group_t *g, const uint32_t *users, size_t n, const char *result)
{
  if (!users) n = g->pending.len;
  gapply_t *a = set_add(j, g, n, "group_apply_result", "result", result, 0);
  if (!a) { grp__apply_free(j); return IMC_E_NOMEM; }
  if (users) {
    memcpy(a->users, users, n * sizeof *users);
    a->n = n;
    return 0;
  }
  u64map_iter_t it;
  uint64_t user;
  void *v;
  u64map_iter_init(&g->pending, &it);
  while (a->n < n && u64map_next(&g->pending, &it, &user, &v)) a->users[a->n++] = (uint32_t)user;
  return 0;
}

int grp__dissolved_prepare(gjob_t *j, const im_group_t *g)
{
  gapply_t *a = set_add(j, g, g->members.len, "group_dissolved", NULL, NULL, 0);
  if (!a) { grp__apply_free(j); return IMC_E_NOMEM; }
  a->chunk = (size_t)im_limit(j->G->lim, g->sdkappid, IM_LIMIT_GROUP_EVENT_CHUNK);
  uint64_t pos = 0, v;
  while (a->n < g->members.len && gset_next(&g->members, &pos, &v)) a->users[a->n++] = (uint32_t)(v >> 32);
  return 0;
}

int grp__left_prepare(gjob_t *j, const im_group_t *g, const uint32_t *users, size_t n, int quit)
{
  gapply_t *a = set_add(j, g, n, quit ? "group_quit" : "group_kicked", NULL, NULL, 0);
  if (!a) { grp__apply_free(j); return IMC_E_NOMEM; }
  j->marks_kept = im_limit(j->G->lim, g->sdkappid, IM_LIMIT_GROUP_APPLICATIONS); /* grp__marks_keep */
  memcpy(a->users, users, n * sizeof *users);
  a->n = n;
  return 0;
}

int grp__applied_prepare(gjob_t *j, const im_group_t *g)
{
  gapply_t *a = set_add(j, g, g->members.len, "group_apply", NULL, NULL, 1);
  if (!a) { grp__apply_free(j); return IMC_E_NOMEM; }
  uint64_t pos = 0, v;
  while (a->n < g->members.len && gset_next(&g->members, &pos, &v))
    if (GM_ROLE((uint32_t)v) != IM_GR_MEMBER) a->users[a->n++] = (uint32_t)(v >> 32);
  return 0;
}

int grp__replay_prepare(gjob_t *j, const im_group_t *g, uint32_t user_no)
{
  gapply_t *a = set_add(j, g, 1, "group_apply", NULL, NULL, 1);
  if (!a) { grp__apply_free(j); return IMC_E_NOMEM; }
  a->users[0] = user_no;
  a->replay = 1;
  a->chunk = (size_t)im_limit(j->G->lim, g->sdkappid, IM_LIMIT_GROUP_APPLICATIONS);
  return 0;
}

/* told: the appointee's apply_seq, its mark from its last demotion to an ordinary member or removal (0 never):
 * the applications below it were waiting while it was admin or owner, so it was told of them then. */
typedef struct replay_walk { gapply_t *tpl, *last; int rc; uint32_t told; } replay_walk_t;

/* One application waiting: a set of its own (payload: the template's frame with the applicant and the
 * application's time) after the template and the sets of the older ones. */
static void replay_one(void *ud, uint32_t sdkappid, uint32_t group_no, const store_grp_member_t *m)
{
  replay_walk_t *w = ud;
  (void)sdkappid;
  (void)group_no;
  if (w->rc || !m->user_id || !m->user_id[0]) return; /* an applicant whose account is gone: nothing to tell */
  if (m->apply_seq < w->told) return;                   /* told before its last demotion (live or replayed) */
  gapply_t *a = calloc(1, sizeof *a);
  json_t *f = json_copy(w->tpl->frame);
  if (a) {
    a->next = w->last->next;
    w->last->next = a;
    w->last = a;
    a->users = malloc(sizeof *a->users);
    a->useqs = calloc(1, sizeof *a->useqs);
  }
  if (!a || !f || !a->users || !a->useqs || json_object_set_new(f, "user", json_string(m->user_id)) ||
      json_object_set_new(f, "time", json_integer(m->join_s)) || !(a->payload = json_dumps(f, JSON_COMPACT))) {
    w->rc = IMC_E_NOMEM;
    json_decref(f);
    return;
  }
  json_decref(f);
  a->users[0] = w->tpl->users[0];
  a->n = 1;
  a->at_s = w->tpl->at_s;
}

static void member_told(void *ud, uint32_t sdkappid, uint32_t group_no, const store_grp_member_t *m)
{
  (void)sdkappid;
  (void)group_no;
  *(uint32_t *)ud = m->apply_seq;
}

int grp__apply_place(store_t *s, gjob_t *j, uint32_t *place)
{
  uint32_t floor = 0;
  int rc = store_grp_msg_last_seq(s, j->sdkappid, j->group_no, place);
  if (!rc) rc = store_grp_mark_get(s, j->sdkappid, j->group_no, 0, &floor);
  if (!rc && floor > *place) *place = floor;
  return rc;
}

/* A removal without a notice (Silence) takes no seq: the places written since the group's last notice or
 * message equal its last seq, before the removal as after it. Its mark is one above them, and the floor
 * lifts every later place to it, so the removed member is not told again of the applications written
 * before and is told of those written after. A notice written above the floor is that point itself. */
int grp__mark_now(store_t *s, gjob_t *j, uint32_t *mark)
{
  uint32_t floor = 0, last = 0;
  int rc = store_grp_mark_get(s, j->sdkappid, j->group_no, 0, &floor);
  if (rc) return rc;
  if (j->notice && j->nmsg.seq > floor) { *mark = j->nmsg.seq; return 0; }
  if ((rc = store_grp_msg_last_seq(s, j->sdkappid, j->group_no, &last))) return rc;
  if (floor > last) last = floor;
  *mark = last < UINT32_MAX ? last + 1 : last;
  return store_grp_mark_put(s, j->sdkappid, j->group_no, 0, *mark, 0);
}

int grp__marks_read(store_t *s, gjob_t *j)
{
  for (size_t i = 0; i < j->n_mem; i++) {
    j->mem[i].apply_seq = 0;
    if (j->mem[i].role != IM_GR_MEMBER) continue; /* an admin or the owner: told of every application (keep) */
    int rc = store_grp_member_get(s, j->sdkappid, j->group_no, j->mem[i].user_no, member_told, &j->mem[i].apply_seq);
    if (rc && rc != IMC_E_NOTFOUND) return rc;
  }
  return 0;
}

int grp__marks_keep(store_t *s, gjob_t *j)
{
  uint32_t now = 0;
  for (size_t i = 0; i < j->n_mem; i++) {
    uint32_t mark = j->mem[i].apply_seq;
    int rc = 0;
    if (j->mem[i].role == IM_GR_OWNER || j->mem[i].role == IM_GR_ADMIN) {
      if (!now) rc = grp__mark_now(s, j, &now); /* once per job: one notice, one floor */
      mark = now;
    }
    if (!rc && mark) rc = store_grp_mark_put(s, j->sdkappid, j->group_no, j->mem[i].user_no, mark, j->marks_kept);
    if (rc) return rc;
  }
  return 0;
}

int grp__marks_take(store_t *s, gjob_t *j)
{
  for (size_t i = 0; i < j->n_mem; i++) {
    uint32_t mark = 0;
    int rc = store_grp_mark_get(s, j->sdkappid, j->group_no, j->mem[i].user_no, &mark);
    if (!rc && mark) rc = store_grp_mark_put(s, j->sdkappid, j->group_no, j->mem[i].user_no, 0, 0);
    if (rc) return rc;
    j->mem[i].apply_seq = mark;
  }
  return 0;
}

int grp__replay_run(store_t *s, gjob_t *j)
{
  for (gapply_t *a = j->apply; a; a = a->next) {
    if (!a->replay) continue;
    replay_walk_t w = { a, a, 0, 0 };
    int rc = store_grp_member_get(s, j->sdkappid, j->group_no, a->users[0], member_told, &w.told);
    if (rc && rc != IMC_E_NOTFOUND) return rc;
    rc = store_grp_applications(s, j->sdkappid, j->group_no, 0, (int)a->chunk, replay_one, &w);
    if (rc || w.rc) return rc ? rc : w.rc;
    a = w.last; /* past the sets just made */
  }
  return 0;
}

int grp__apply_user(gjob_t *j, const char *user_id)
{
  for (gapply_t *a = j->apply; a; a = a->next) {
    if (!a->frame || a->payload || a->replay) continue;
    if (json_object_set_new(a->frame, "user", json_string(user_id))) return IMC_E_NOMEM;
    if (!(a->payload = json_dumps(a->frame, JSON_COMPACT))) return IMC_E_NOMEM;
  }
  return 0;
}

int grp__due_set(gjob_t *j, store_grp_due_t *d)
{
  gapply_t *a = calloc(1, sizeof *a);
  if (!a) return IMC_E_NOMEM;
  a->next = j->apply;
  j->apply = a;
  a->payload = d->payload;
  a->users = d->users;
  a->n = d->n;
  a->at_s = d->at_s;
  d->payload = NULL;
  d->users = NULL;
  return (a->useqs = calloc(a->n ? a->n : 1, sizeof *a->useqs)) ? 0 : IMC_E_NOMEM;
}

int grp__apply_run(store_t *s, gjob_t *j)
{
  char id[64];
  j->due = 0; /* a job the writer runs again (store_writer.h: rerun_safe) counts its chunks once */
  for (gapply_t *a = j->apply; a; a = a->next) {
    if (a->chunk && a->n > a->chunk && a->payload) { /* too many for one job: later jobs append them */
      for (size_t i = 0; i < a->n; i += a->chunk) {
        int rc = store_grp_due_put(s, j->sdkappid, a->at_s, a->payload, a->users + i,
                                   a->n - i < a->chunk ? a->n - i : a->chunk);
        if (rc) return rc;
      }
      memset(a->useqs, 0, a->n * sizeof *a->useqs);
      j->due += (int)((a->n + a->chunk - 1) / a->chunk);
      continue;
    }
    for (size_t i = 0; i < a->n; i++) {
      a->useqs[i] = 0;
      if (!a->payload) continue; /* a group_apply frame never completed: nothing to tell */
      /* a user whose account was deleted before this job ran has no inbox any more */
      int rc = store_msg_account_id(s, j->sdkappid, a->users[i], id, sizeof id);
      if (rc == IMC_E_NOTFOUND) continue;
      if (!rc) rc = im_c2c_rel_append(s, j->sdkappid, a->users[i], a->at_s, a->payload, &a->useqs[i]);
      if (rc) return rc;
    }
  }
  return 0;
}

void grp__apply_deliver(gjob_t *j)
{
  for (gapply_t *a = j->apply; a && j->G->c2c; a = a->next)
    for (size_t i = 0; i < a->n; i++)
      if (a->useqs[i]) im_c2c_rel_deliver(j->G->c2c, j->sdkappid, a->users[i], a->useqs[i], a->at_s, a->payload);
}
