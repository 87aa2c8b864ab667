/* changes.c — how the server learns about writes made elsewhere (the CLI,
 * another node, its own writer): it follows the store's change log
 * (store.h, store_changes_since) instead of re-reading everything.
 *
 * Every change_poll_ms the loop submits one poll job to the reader pool
 * (never more than one at a time, so pages apply in order). On a reader
 * thread the job reads up to CHANGES_PAGE rows after the last applied seq and,
 * for each distinct (kind, key), loads what the loop needs (an app's record
 * and its life cycle — plan facts from its orders, for the day the poll was
 * submitted; a new app's accounts; a meta value). On the loop thread it applies each item
 * through the `kinds` table — one app upserted, not all — and advances seq. A
 * full page polls again at once. Unknown kinds are skipped (a newer binary
 * may log more). Requests never trigger database work: an unknown SDKAppID or
 * a wrong operator token is answered from memory; the app or token becomes
 * known within one poll interval of the commit that made it.
 *
 * Counters (api_changes_t) are shown by GET /healthz. Loop thread, except the
 * load functions (reader thread; they touch only the poll job). */
#include "api/api_int.h"
#include "store/store_reader.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"
#include "util/turnlog.h"

#include <stdlib.h>
#include <string.h>

#define CHANGES_PAGE 64

typedef struct change_acct { char user_id[33]; uint32_t user_no; } change_acct_t;

typedef struct change_item {
  store_change_t row;            /* the newest row of this (kind, key) in the page */
  int rc;                        /* load result */
  store_app_t app;               /* app kinds */
  tenant_lifecycle_t lc;         /* app kinds: plan facts (zeroed = not ready when they could not be computed) */
  int lc_rc;
  int tz, tz_rc;                 /* app kinds: its billing zone (M-1: its region's, else the server's) */
  change_acct_t *accts;          /* app.create: the app's accounts */
  size_t n_accts, cap_accts;
  char value[128];               /* meta */
} change_item_t;

typedef struct change_poll {
  store_job_t job;
  api_srv_t *srv;
  int64_t after;                 /* in: last applied seq */
  int64_t day;                   /* in: today in the billing zone (life cycles) */
  int default_tz;                /* in: the server's billing zone (apps of a region without its own) */
  int64_t last;                  /* out: seq of the last row read */
  int rows;                      /* rows read */
  change_item_t items[CHANGES_PAGE];
  int n;
} change_poll_t;

/* ---- per kind: load (reader thread), apply (loop thread) ------------------ */
static void on_acct(void *ud, const char *user_id, uint32_t user_no)
{
  change_item_t *it = ud;
  if (it->rc) return;
  if (it->n_accts == it->cap_accts) {
    size_t cap = it->cap_accts ? it->cap_accts * 2 : 16;
    change_acct_t *n = realloc(it->accts, cap * sizeof *n);
    if (!n) { it->rc = IMC_E_NOMEM; return; }
    it->accts = n;
    it->cap_accts = cap;
  }
  change_acct_t *a = &it->accts[it->n_accts++];
  snprintf(a->user_id, sizeof a->user_id, "%s", user_id);
  a->user_no = user_no;
}

static int key_app(const change_item_t *it, uint32_t *sdkappid)
{
  int64_t v;
  if (imc_parse_i64(it->row.key, 1, UINT32_MAX, &v)) return IMC_E_INVAL;
  *sdkappid = (uint32_t)v;
  return 0;
}

static int load_app(store_t *s, change_item_t *it, int64_t day)
{
  uint32_t id;
  int rc = key_app(it, &id);
  if (!rc) rc = store_app_get(s, id, &it->app);
  if (rc) return rc;
  it->tz_rc = meter_app_zone(s, id, it->tz, &it->tz); /* in: the server's zone (poll_run) */
  store_order_t *v = NULL;
  int n = 0;
  it->lc_rc = tenant_app_orders(s, id, &v, &n);
  if (!it->lc_rc) it->lc_rc = tenant_lifecycle(&it->app, v, n, day, &it->lc);
  free(v);
  if (it->lc_rc) memset(&it->lc, 0, sizeof it->lc); /* refuse rather than guess, as tenant_registry_refresh_plans */
  return 0;
}

static int load_app_created(store_t *s, change_item_t *it, int64_t day)
{
  int rc = load_app(s, it, day);
  if (!rc) rc = store_account_each(s, it->app.sdkappid, on_acct, it);
  return rc ? rc : it->rc;
}

static int load_meta(store_t *s, change_item_t *it, int64_t day)
{
  (void)day;
  return store_meta_get(s, it->row.key, it->value, sizeof it->value);
}

/* The accounts read with a new app are applied only if the loop did not know
 * the app yet: once it does, every account write of the app goes through
 * this server's writer and the loop's view is newer than the snapshot (an
 * import or delete may have committed after the poll read). */
static int apply_app(api_srv_t *srv, change_item_t *it)
{
  const tenant_app_t *was = tenant_registry_app(srv->reg, it->app.sdkappid);
  int known = was != NULL;
  int multi_before = was && was->plan.ready && api_quota_multi_device(srv, was);
  int rc = tenant_registry_app_upsert(srv->reg, &it->app, &it->lc);
  for (size_t i = 0; i < it->n_accts && !rc && !known; i++)
    rc = tenant_registry_account_put(srv->reg, it->app.sdkappid, it->accts[i].user_id, it->accts[i].user_no);
  if (!rc) api_app_zone(srv, it->app.sdkappid, it->tz, it->tz_rc);
  if (!rc) {
    srv->changes.apps_reloaded++;
    IMC_INFO("changes", "msg=\"app reloaded\" app=%u kind=%s seq=%lld status=%s edition=%s lc=%s plan_ready=%d",
             it->app.sdkappid, it->row.kind, (long long)it->row.seq, it->app.status, it->app.edition,
             tenant_lc_state_name(it->lc.state), it->lc.plan.ready);
    if (it->lc_rc)
      IMC_WARN("changes", "msg=\"plan facts not computed: plan checks refuse until they are\" app=%u err=%s",
               it->app.sdkappid, imc_err_name(it->lc_rc));
    /* a suspended app's connected sessions end now, with the reason; extra devices after a downgrade */
    cws_app_facts_changed(srv, it->app.sdkappid, multi_before);
  }
  return rc;
}

static int apply_meta(api_srv_t *srv, change_item_t *it)
{
  if (api_quota_big_groups_meta(srv, it->row.key, it->value)) { srv->changes.meta_reloaded++; return 0; } /* P-17 */
  if (cws_app_cap_meta(srv, it->row.key, it->value)) { srv->changes.meta_reloaded++; return 0; } /* an app's own WebSocket cap */
  if (strcmp(it->row.key, "operator_token_sha256")) return 0; /* the loop caches no other meta value */
  size_t n = strlen(it->value);
  if (n != sizeof srv->op_token_hash - 1) return IMC_E_CONFIG; /* not a hex SHA-256: keep the old token */
  memcpy(srv->op_token_hash, it->value, n + 1);
  srv->changes.meta_reloaded++;
  IMC_INFO("changes", "msg=\"operator token reloaded\" seq=%lld", (long long)it->row.seq);
  return 0;
}

static int load_none(store_t *s, change_item_t *it, int64_t day) { (void)s; (void)it; (void)day; return 0; }

static int apply_wallet_credit(api_srv_t *srv, change_item_t *it)
{
  int64_t customer;
  if (imc_parse_i64(it->row.key, 1, INT64_MAX, &customer)) return IMC_E_INVAL;
  api_jobs_wallet_credit(srv, customer); /* settle and end arrears on the writer (jobs.c) */
  return 0;
}

static const struct change_kind {
  const char *kind;
  int (*load)(store_t *s, change_item_t *it, int64_t day);
  int (*apply)(api_srv_t *srv, change_item_t *it);
} kinds[] = {
  { STORE_CHANGE_APP_CREATE, load_app_created, apply_app },
  { STORE_CHANGE_APP_UPDATE, load_app, apply_app },
  { STORE_CHANGE_META, load_meta, apply_meta },
  { STORE_CHANGE_WALLET_CREDIT, load_none, apply_wallet_credit },
};

static const struct change_kind *kind_of(const char *name)
{
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) if (!strcmp(kinds[i].kind, name)) return &kinds[i];
  return NULL;
}

/* ---- the poll job ------------------------------------------------------------- */
static void on_row(void *ud, const store_change_t *c)
{
  change_poll_t *p = ud;
  p->rows++;
  p->last = c->seq;
  for (int i = 0; i < p->n; i++) /* the same (kind, key) twice in a page: load it once */
    if (!strcmp(p->items[i].row.kind, c->kind) && !strcmp(p->items[i].row.key, c->key)) { p->items[i].row = *c; return; }
  p->items[p->n++].row = *c;
}

static int poll_run(store_t *s, void *arg)
{
  change_poll_t *p = arg;
  int rc = store_changes_since(s, p->after, CHANGES_PAGE, on_row, p);
  for (int i = 0; i < p->n && !rc; i++) {
    const struct change_kind *k = kind_of(p->items[i].row.kind);
    p->items[i].tz = p->default_tz;
    p->items[i].rc = k ? k->load(s, &p->items[i], p->day) : 0;
  }
  return rc;
}

static void poll_submit(api_srv_t *srv);

static void poll_done(void *arg, int rc)
{
  change_poll_t *p = arg;
  api_srv_t *srv = p->srv;
  srv->changes.in_flight = 0;
  if (rc) {
    srv->changes.failed++;
    if (rc != IMC_E_SHUTDOWN) IMC_WARN("changes", "msg=\"reading the change log failed\" err=%s", imc_err_name(rc));
  } else {
    for (int i = 0; i < p->n; i++) {
      change_item_t *it = &p->items[i];
      const struct change_kind *k = kind_of(it->row.kind);
      int arc = !k ? 0 : it->rc ? it->rc : k->apply(srv, it);
      if (arc == IMC_E_NOTFOUND) arc = 0; /* gone again (nothing deletes apps today): nothing to hold */
      if (arc) {
        srv->changes.failed++;
        IMC_WARN("changes", "msg=\"change not applied\" kind=%s key=%s seq=%lld err=%s", it->row.kind, it->row.key,
                 (long long)it->row.seq, imc_err_name(arc));
      }
    }
    srv->changes.rows += (uint64_t)p->rows;
    if (p->rows) srv->changes.seq = p->last;
  }
  int again = !rc && p->rows == CHANGES_PAGE;
  for (int i = 0; i < p->n; i++) free(p->items[i].accts);
  free(p);
  if (again) poll_submit(srv);
}

static void poll_submit(api_srv_t *srv)
{
  if (srv->changes.in_flight || srv->stopping || !srv->reader) return;
  change_poll_t *p = calloc(1, sizeof *p);
  if (!p) { srv->changes.failed++; return; }
  p->srv = srv;
  p->after = srv->changes.seq;
  p->day = imc_day_of(imc_clock_now_s(), srv->tz_offset_s);
  p->default_tz = srv->tz_offset_s;
  p->job.run = poll_run;
  p->job.done = poll_done;
  p->job.arg = p;
  if (store_reader_submit(srv->reader, &p->job)) { /* pool queue full: try at the next tick */
    srv->changes.refused++;
    free(p);
    return;
  }
  srv->changes.polls++;
  srv->changes.in_flight = 1;
}

static void on_poll_timer_run(uv_timer_t *t) { poll_submit(t->data); }

/* the turn log (util/turnlog.h) counts its time as timers */
static void on_poll_timer(uv_timer_t *t)
{
  int tp = imc_turnlog_enter(IMC_TP_TIMERS);
  on_poll_timer_run(t);
  imc_turnlog_leave(tp);
}

int api_changes_init(api_srv_t *srv, store_t *s)
{
  return store_changes_last(s, &srv->changes.seq);
}

void api_changes_start(api_srv_t *srv)
{
  uv_timer_init(srv->loop, &srv->changes_timer);
  srv->changes_timer.data = srv;
  uv_timer_start(&srv->changes_timer, on_poll_timer, (uint64_t)srv->cfg->change_poll_ms, (uint64_t)srv->cfg->change_poll_ms);
}
