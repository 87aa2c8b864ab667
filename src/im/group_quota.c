/* group_quota.c — P-17, the per-customer quota of 10,000-member groups
 * ("万人大群", docs/decisions/groups-big.md).
 *
 * An app that holds a member_cap add-on with a per-customer quota (S-2019
 * Pro, member_cap=10000: at most 10 per customer) gets a floor from the
 * catalog (plan_big_group_floor: 6,000, the next smaller offer). A non-live
 * group is *big* when its own MaxMemberNum is above its app's floor; the
 * customer's big groups, over all its apps, may not pass PLAN_L_BIG_GROUPS:
 * the quota plus what an operator added for the customer
 * (im_groups_set_big_extra, PLAN_HOLD_BIG_GROUPS_EXTRA). A group without
 * its own MaxMemberNum in such an app holds at most the floor: only a group
 * that took a place can grow past it.
 *
 * The count is taken when asked, over the customer's apps' groups in
 * memory (groups being created count, so two creations cannot both take
 * the last place); it is asked only for a group that would become big.
 * Loop thread.
 */
#include "im/group_int.h"
#include "util/err.h"

#include <stdint.h>
#include <stdio.h>

void im_groups_set_customers(im_groups_t *G, int64_t (*customer_of)(void *ud, uint32_t sdkappid))
{
  G->customer_of = customer_of;
}

int im_groups_set_big_extra(im_groups_t *G, int64_t customer_id, int64_t extra)
{
  if (customer_id <= 0 || extra < 0) return IMC_E_INVAL;
  if (!extra) { u64map_del(&G->big_extra, (uint64_t)customer_id); return 0; }
  return u64map_put(&G->big_extra, (uint64_t)customer_id, (void *)(uintptr_t)extra) ? IMC_E_NOMEM : 0;
}

int64_t im_groups_big_extra(const im_groups_t *G, int64_t customer_id)
{
  return customer_id > 0 ? (int64_t)(uintptr_t)u64map_get(&G->big_extra, (uint64_t)customer_id) : 0;
}

static int64_t customer(const im_groups_t *G, uint32_t sdkappid)
{
  return G->customer_of ? G->customer_of(G->plan_ud, sdkappid) : 0;
}

int64_t grp__own_max(const im_group_t *g)
{
  json_t *mx = json_object_get(g->info, "MaxMemberNum");
  return json_is_integer(mx) ? json_integer_value(mx) : 0;
}

int grp__is_big(const im_groups_t *G, const im_group_t *g)
{
  if (im_gtype_info(g->type)->live) return 0;
  int64_t floor = plan_big_group_floor(grp__plan(G, g->sdkappid));
  return floor != PLAN_UNLIMITED && grp__own_max(g) > floor;
}

int64_t im_groups_big_count(const im_groups_t *G, int64_t customer_id)
{
  int64_t n = 0;
  u64map_iter_t it;
  uint64_t key;
  void *v;
  for (u64map_iter_init(&G->apps, &it); u64map_next(&G->apps, &it, &key, &v);) {
    const gapp_t *a = v;
    uint32_t app = (uint32_t)key;
    if (customer(G, app) != customer_id) continue;
    if (plan_big_group_floor(grp__plan(G, app)) == PLAN_UNLIMITED) continue; /* none of its groups is big */
    for (size_t k = 0; k < a->n; k++) {
      const im_group_t *g = grp__by_no(G, app, a->nos[k]);
      if (g && grp__is_big(G, g)) n++;
    }
  }
  return n;
}

int grp__big_check(const im_groups_t *G, uint32_t sdkappid, int64_t max_members, int64_t members, int64_t now_s,
                   char *why, size_t cap)
{
  const plan_app_t *plan = grp__plan(G, sdkappid);
  int64_t floor = plan_big_group_floor(plan);
  if (floor == PLAN_UNLIMITED) return 0;
  if (!max_members) {
    if (members <= floor) return 0;
    return imc_errf(why, cap, IMC_E_PLAN_MEMBERS_CAP,
                    "a group of more than %lld members needs its own MaxMemberNum above %lld: it then counts against "
                    "the customer's 10,000-member groups (P-17)", (long long)floor, (long long)floor);
  }
  if (max_members <= floor) return 0;
  int64_t c = customer(G, sdkappid);
  plan_app_t p = *plan;
  plan_verdict_t v;
  if (plan_app_hold(&p, PLAN_HOLD_BIG_GROUPS_EXTRA, im_groups_big_extra(G, c))) p = *plan;
  int rc = plan_check(&p, now_s, PLAN_L_BIG_GROUPS, im_groups_big_count(G, c), 1, &v);
  if (rc) snprintf(why, cap, "%s", v.msg);
  return rc;
}
