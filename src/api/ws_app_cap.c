/* ws_app_cap.c — the per-app cap of logged-in WebSockets
 * (max_websockets_per_app; docs/decisions/connection-limits.md "Per-app
 * cap"), so that one app's clients cannot take every WebSocket of a server
 * many apps share. Loop thread only.
 *
 * A count per app with a session online or a login admitted: one u64map
 * entry whose value is the count itself (no allocation per app, none per
 * connection). A login counts from its admission (client_ws.c login_start,
 * its job's cap_held: so logins admitted together see each other, and a
 * refused one writes nothing); online, its place is its session's until the
 * session's end (the same point as its `metered` bit, so every end — close,
 * logout, kick, displacement, account deletion, suspension, UserSig expiry,
 * server stop — uncounts it once); a login that does not go online gives it
 * back at login_finish. An entry is removed when its count falls to 0.
 *
 * An app's own cap, set by the operator (meta "app.<sdkappid>.max_websockets":
 * the operator API's POST on the writer, applied here when it commits; a
 * change made elsewhere, through the change log), replaces the server's
 * max_websockets_per_app for that app: one more u64map entry per app that
 * has one. */
#include "api/api_int.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>

/* A refusal is logged at most once per this, with the refusals since the last line (this one
 * included) and in all, as net's limit lines (fdlimit.c). */
#define APP_CAP_LOG_MS 1000

size_t cws_app_cap_now(const api_srv_t *srv, uint32_t sdkappid)
{
  return (size_t)(uintptr_t)u64map_get(&srv->app_cap.count, sdkappid);
}

int cws_app_cap_count(api_srv_t *srv, uint32_t sdkappid, int delta)
{
  cws_app_cap_t *a = &srv->app_cap;
  size_t n = cws_app_cap_now(srv, sdkappid);
  assert(delta == 1 || delta == -1);
  assert(delta > 0 || n > 0);
  if (delta < 0) {
    if (n == 1) u64map_del(&a->count, sdkappid);
    else if (n) u64map_put(&a->count, sdkappid, (void *)(uintptr_t)(n - 1)); /* replaces: no allocation */
    return 0;
  }
  return u64map_put(&a->count, sdkappid, (void *)(uintptr_t)(n + 1));
}

/* The app's cap in *cap: 1 if it is the app's own (the operator's), 0 if the server's max_websockets_per_app. */
static int cap_own(const api_srv_t *srv, uint32_t sdkappid, int64_t *cap)
{
  uintptr_t own = (uintptr_t)u64map_get(&srv->app_cap.own, sdkappid);
  *cap = own ? (int64_t)(own - 1) : srv->cfg->max_websockets_per_app;
  return own != 0;
}

static void refusal_log(api_srv_t *srv, uint32_t sdkappid, size_t n)
{
  cws_app_cap_t *a = &srv->app_cap;
  int64_t now = imc_clock_mono_ms(), cap;
  if (a->log_ms && now - a->log_ms < APP_CAP_LOG_MS) return;
  int own = cap_own(srv, sdkappid, &cap);
  IMC_WARN("ws", "msg=\"websocket login refused: the app holds %s\" app=%u websockets=%zu cap=%lld cap_set_by=%s "
           "refused=%llu refused_total=%llu", own ? "its own max_websockets" : "max_websockets_per_app", sdkappid, n,
           (long long)cap, own ? "operator" : "server", (unsigned long long)(a->refused - a->logged),
           (unsigned long long)a->refused);
  a->log_ms = now ? now : 1;
  a->logged = a->refused;
}

int64_t cws_app_cap_of(const api_srv_t *srv, uint32_t sdkappid)
{
  int64_t cap;
  cap_own(srv, sdkappid, &cap);
  return cap;
}

const char *cws_app_cap_why(const api_srv_t *srv, uint32_t sdkappid, char *msg, size_t msg_bytes)
{
  int64_t cap;
  int own = cap_own(srv, sdkappid, &cap);
  if (own)
    snprintf(msg, msg_bytes, "the app holds its own maximum of %lld logged-in WebSockets on this server (its "
             "max_websockets, set by the operator); retry later", (long long)cap);
  else
    snprintf(msg, msg_bytes, "the app holds its maximum of %lld logged-in WebSockets on this server "
             "(max_websockets_per_app); retry later", (long long)cap);
  return own ? "the app holds its own max_websockets" : "the app holds max_websockets_per_app";
}

int cws_app_cap_own_set(api_srv_t *srv, uint32_t sdkappid, int64_t n)
{
  assert(n >= -1 && n <= TENANT_APP_WS_MAX);
  if (n < 0) { u64map_del(&srv->app_cap.own, sdkappid); return 0; }
  return u64map_put(&srv->app_cap.own, sdkappid, (void *)(uintptr_t)(n + 1));
}

typedef struct own_load { api_srv_t *srv; int rc; } own_load_t;

static void own_app(void *ud, const store_app_t *a)
{
  own_load_t *l = ud;
  int64_t n;
  if (l->rc) return;
  if (tenant_app_max_websockets(l->srv->store, a->sdkappid, &n)) n = -1; /* not a cap: the server's applies */
  l->rc = cws_app_cap_own_set(l->srv, a->sdkappid, n);
}

int cws_app_cap_init(api_srv_t *srv)
{
  own_load_t l = { srv, 0 };
  int rc = store_app_list(srv->store, 0, own_app, &l);
  return rc ? rc : l.rc;
}

int cws_app_cap_meta(api_srv_t *srv, const char *key, const char *value)
{
  uint32_t app = tenant_app_max_websockets_key_app(key);
  int64_t n;
  if (!app) return 0;
  tenant_app_max_websockets_parse(value, &n); /* -1 when it is not a cap */
  if (cws_app_cap_own_set(srv, app, n)) {
    IMC_WARN("ws", "msg=\"app's own max_websockets not applied: out of memory\" app=%u", app);
    return 1;
  }
  IMC_INFO("ws", "msg=\"app's own max_websockets applied\" app=%u max_websockets=%lld", app, (long long)n);
  return 1;
}

int cws_app_cap_check(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no, uint8_t platform, uint32_t device_hash,
                      int multi_device)
{
  int64_t cap = cws_app_cap_of(srv, sdkappid);
  size_t n = cws_app_cap_now(srv, sdkappid);
  if (!cap || n < (uint64_t)cap) return 0;
  /* a reconnect replacing the user's session of its platform (or device) does not add one */
  size_t leaving = user_no ? im_presence_displaces(srv->presence, sdkappid, user_no, platform, device_hash, multi_device) : 0;
  if (n - (leaving < n ? leaving : n) < (uint64_t)cap) return 0;
  srv->app_cap.refused++;
  refusal_log(srv, sdkappid, n);
  return IMC_E_WS_APP_FULL;
}

void cws_app_cap_busiest(const api_srv_t *srv, uint32_t *sdkappid, size_t *n)
{
  u64map_iter_t it;
  uint64_t k;
  void *v;
  *sdkappid = 0;
  *n = 0;
  for (u64map_iter_init(&srv->app_cap.count, &it); u64map_next(&srv->app_cap.count, &it, &k, &v);) {
    if ((size_t)(uintptr_t)v > *n) { *n = (size_t)(uintptr_t)v; *sdkappid = (uint32_t)k; }
  }
}

void cws_app_cap_free(api_srv_t *srv)
{
  u64map_free(&srv->app_cap.count);
  u64map_free(&srv->app_cap.own);
}
