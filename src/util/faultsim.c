/* faultsim.c — injected failures for tests (see faultsim.h). The plan is
 * parsed once (pthread_once) from IMCLOUD_TEST_FAIL; each armed site counts
 * its calls atomically, so the Nth call fails whichever thread makes it. */
#include "util/faultsim.h"
#include "util/num.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const site_names[IMC_FAULT__COUNT] = {
  [IMC_FAULT_PUSH_ENCODE] = "push_encode",
  [IMC_FAULT_PUSH_SEND] = "push_send",
  [IMC_FAULT_GROUP_PUSH_ENCODE] = "group_push_encode",
  [IMC_FAULT_GROUP_PUSH_SEND] = "group_push_send",
  [IMC_FAULT_LIVE_PUSH_ENCODE] = "live_push_encode",
  [IMC_FAULT_LIVE_PUSH_SEND] = "live_push_send",
  [IMC_FAULT_PUSH_JSON] = "push_json",
  [IMC_FAULT_GROUP_PUSH_JSON] = "group_push_json",
  [IMC_FAULT_REPLY_JSON] = "reply_json",
  [IMC_FAULT_STATUS_PUSH_SEND] = "status_push_send",
  [IMC_FAULT_STATUS_LIST_JSON] = "status_list_json",
  [IMC_FAULT_REST_REPLY_JSON] = "rest_reply_json",
  [IMC_FAULT_LIST_JSON] = "list_json",
  [IMC_FAULT_FIELD_JSON] = "field_json",
  [IMC_FAULT_BODY_ALLOC] = "body_alloc",
  [IMC_FAULT_GROUP_DEL_STEP] = "group_del_step",
  [IMC_FAULT_ACCOUNT_GROUPS] = "account_groups",
  [IMC_FAULT_GROUP_MEMBERS_READ] = "group_members_read",
  [IMC_FAULT_WS_READ_LATE] = "ws_read_late",
  [IMC_FAULT_ACCOUNT_DELETE_JOB] = "account_delete_job",
  [IMC_FAULT_REL_UNRECORDED] = "rel_unrecorded",
  [IMC_FAULT_WAL_SYNC] = "wal_sync",
  [IMC_FAULT_DB_SYNC] = "db_sync",
};

#define FAULT_PLAN_MAX 16 /* entries of IMCLOUD_TEST_FAIL kept; more are named on stderr and ignored */

static struct { imc_fault_site_t site; int64_t nth; } plan[FAULT_PLAN_MAX];
static int nplan;
/* bit per site named by the plan; read without a lock after the once. A site past the mask's width would alias
 * (or shift out of range): a new site that does not fit stops the build here, not the test that arms it. */
static uint64_t armed;
_Static_assert(IMC_FAULT__COUNT <= 64, "faultsim: more sites than bits of the armed mask: widen it");
static _Atomic int64_t calls[IMC_FAULT__COUNT];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* One "SITE:N" entry (len bytes at e) into the plan; 0 or -1 (malformed, unknown site, plan full). */
static int plan_add(const char *e, size_t len)
{
  char buf[64];
  const char *colon = memchr(e, ':', len);
  if (!colon || len >= sizeof buf || nplan == FAULT_PLAN_MAX) return -1;
  memcpy(buf, e, len);
  buf[len] = 0;
  buf[colon - e] = 0;
  int64_t nth;
  if (imc_parse_i64(buf + (colon - e) + 1, 1, INT64_MAX, &nth)) return -1;
  for (int s = 0; s < IMC_FAULT__COUNT; s++)
    if (!strcmp(buf, site_names[s])) {
      plan[nplan].site = (imc_fault_site_t)s;
      plan[nplan++].nth = nth;
      armed |= UINT64_C(1) << s;
      return 0;
    }
  return -1;
}

static void plan_load(void)
{
  const char *v = getenv("IMCLOUD_TEST_FAIL");
  if (!v) return;
  for (const char *p = v; *p;) {
    size_t len = strcspn(p, ",");
    if (len && plan_add(p, len)) fprintf(stderr, "IMCLOUD_TEST_FAIL: entry \"%.*s\" ignored\n", (int)len, p);
    p += len + (p[len] == ',');
  }
}

int imc_fault(imc_fault_site_t site)
{
  pthread_once(&once, plan_load);
  if (!(armed & UINT64_C(1) << site)) return 0;
  int64_t n = atomic_fetch_add(&calls[site], 1) + 1;
  for (int i = 0; i < nplan; i++)
    if (plan[i].site == site && plan[i].nth == n) return 1;
  return 0;
}

const char *imc_fault_site_name(imc_fault_site_t site)
{
  return (unsigned)site < IMC_FAULT__COUNT ? site_names[site] : NULL;
}
