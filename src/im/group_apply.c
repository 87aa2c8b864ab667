/* group_apply.c — the outcome of applications to Public groups
 * (docs/decisions/groups.md §1): an application approved, rejected or ended
 * by the group's dissolution reaches its applicant as a group_apply_result
 * event of the applicant's inbox (the per-user event log of c2c.h, as
 * relationship events: c2c_rel.c). The event is appended in the writer job
 * that ends the application, so it is durable with the change; once that job
 * is committed it goes to the applicant's live sessions in useq order, and a
 * sync replays it to a device that was away.
 *
 * Loop thread, except grp__apply_run (writer thread). */
#include "im/group_int.h"
#include "store/store_msg.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

struct gapply {
  char *payload;               /* the push frame without useq (JSON text) */
  int64_t at_s;
  size_t n;
  uint32_t *users, *useqs;     /* useqs[i]: the event's useq, 0 when not appended (account deleted) */
};

void grp__apply_free(gjob_t *j)
{
  if (!j->apply) return;
  free(j->apply->payload);
  free(j->apply->users);
  free(j->apply->useqs);
  free(j->apply);
  j->apply = NULL;
}

int grp__apply_prepare(gjob_t *j, const im_group_t *g, const uint32_t *users, size_t n, const char *result)
{
  gapply_t *a = calloc(1, sizeof *a);
  if (!a) return IMC_E_NOMEM;
  j->apply = a;
  if (!users) n = g->pending.len;
  json_t *f = json_pack("{s:s,s:s,s:s,s:s}", "type", "group_apply_result", "group_id", g->group_id, "group_type",
                        im_gtype_info(g->type)->name, "result", result);
  a->payload = f ? json_dumps(f, JSON_COMPACT) : NULL;
  json_decref(f);
  a->users = calloc(n ? n : 1, sizeof *a->users);
  a->useqs = calloc(n ? n : 1, sizeof *a->useqs);
  if (!a->payload || !a->users || !a->useqs) { grp__apply_free(j); return IMC_E_NOMEM; }
  a->at_s = imc_clock_now_s();
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

int grp__apply_run(store_t *s, gjob_t *j)
{
  gapply_t *a = j->apply;
  char id[64];
  for (size_t i = 0; a && i < a->n; i++) {
    a->useqs[i] = 0;
    /* an applicant whose account was deleted before this job ran has no inbox any more */
    int rc = store_msg_account_id(s, j->sdkappid, a->users[i], id, sizeof id);
    if (rc == IMC_E_NOTFOUND) continue;
    if (!rc) rc = im_c2c_rel_append(s, j->sdkappid, a->users[i], a->at_s, a->payload, &a->useqs[i]);
    if (rc) return rc;
  }
  return 0;
}

void grp__apply_deliver(gjob_t *j)
{
  gapply_t *a = j->apply;
  for (size_t i = 0; a && j->G->c2c && i < a->n; i++)
    if (a->useqs[i]) im_c2c_rel_deliver(j->G->c2c, j->sdkappid, a->users[i], a->useqs[i], a->at_s, a->payload);
}
