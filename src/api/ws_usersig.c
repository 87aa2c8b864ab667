/* ws_usersig.c — a client WebSocket session's UserSig (docs/protocol.md
 * "login", "renew", close 4006; decision §81 in
 * docs/decisions/messaging-c2c-checks3.md). Loop thread only.
 *
 * A login's UserSig is checked once (cws_sig_check); from then on the
 * session lasts until the token's expiry (TLS.time + TLS.expire), when it
 * ends as a kick does: a `kicked` push with reason "UserSig expired", then
 * close 4006. `renew` checks a new token for the same app and user the same
 * way and moves the expiry to the new token's; nothing else about the
 * session changes.
 *
 * No timer per connection. The online sessions sit in one heap by expiry
 * (srv->sig_exp, util/dueheap.h: 16 bytes a session in one array) and one
 * timer (srv->sig_timer) is armed for its top: it fires when the earliest
 * expiry's second has ended, so a session ends on time, and an expiry 180
 * days away costs nothing until then. The timer is re-armed only when an
 * earlier expiry comes to the top (a login, a renew to an earlier one);
 * when the top leaves or moves later it fires early, finds nothing due and
 * is armed for the new top (§86). The server's tick (serve --tick-ms, 1 s by
 * default) looks at the top too, a backstop only (when the wall clock steps
 * forward: the timer runs on the monotonic clock), and so does every move of
 * the test clock, which is the
 * only way the test clock advances (the timer is not armed on it). The
 * session keeps its place in the heap in the 4 bytes that held its login
 * time, which the heap entry carries instead (the access log's
 * duration_s): struct cws_conn stays 48 bytes. */
#include "api/api_int.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/turnlog.h"

#include <assert.h>
#include <string.h>

/* sessions closed per loop turn at most: a burst of tokens issued in the
 * same second ends over several turns, not in one */
#define CWS_SIG_EXPIRE_PER_TURN 4096u

int cws_sig_check(api_srv_t *srv, const tenant_app_t *app, const char *user_id, int known, uint32_t user_no,
                  const char *sig, int64_t now_s, auth_usersig_info_t *info, const char **why)
{
  uint32_t sdkappid = app->rec.sdkappid;
  *why = NULL;
  int rc = auth_usersig_verify(sig, sdkappid, app->rec.secret_key, user_id, now_s, info);
  if (rc) return rc;
  if ((rc = tenant_app_refusal(app))) return rc; /* suspended: 60016 / 60020 */
  if (known && info->time <= api_kicked_at(srv, sdkappid, user_no)) {
    *why = "UserSig was issued before the user was kicked; log in with a fresh one";
    return IMC_E_SIG_EXPIRED;
  }
  return 0;
}

uint32_t cws_sig_due(const auth_usersig_info_t *info)
{
  /* verify accepted it at now: time + expire >= now > 0, whatever their signs; saturate, never wrap */
  if (info->expire >= (int64_t)UINT32_MAX || info->time >= (int64_t)UINT32_MAX) return UINT32_MAX;
  int64_t due = info->time + info->expire;
  return due < 0 ? 0 : due >= (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)due;
}

void cws_sig_init(api_srv_t *srv) { dueheap_init(&srv->sig_exp, cws_sig_pos_set); }

static void on_sig_timer(uv_timer_t *t)
{
  int tp = imc_turnlog_enter(IMC_TP_TIMERS);
  cws_sig_tick(t->data);
  imc_turnlog_leave(tp);
}

void cws_sig_timer_init(api_srv_t *srv)
{
  uv_timer_init(srv->loop, &srv->sig_timer);
  srv->sig_timer.data = srv;
}

void cws_sig_timer_close(api_srv_t *srv)
{
  if (!uv_is_closing((uv_handle_t *)&srv->sig_timer)) uv_close((uv_handle_t *)&srv->sig_timer, NULL);
}

/* Arm the timer for an expiry `due` (unix s): it fires once the wall clock's second due has ended, at
 * (due + 1) * 1000 ms; at least 1 ms on (libuv runs a timer started from a timer callback with 0 ms in the same
 * pass: the sessions left by the per-turn cap end in the next turn). Not on the test clock (it stands still
 * between moves, and each move looks at the heap). */
static void arm_at(api_srv_t *srv, uint32_t due)
{
  /* not on the test clock; nor before cws_sig_timer_init (a server opened without serving: the fuzz
   * harness, fuzz_client_ws, drives api_srv_open's connections with no timers) */
  if (imc_clock_is_test() || !srv->sig_timer.loop) return;
  int64_t at_ms = ((int64_t)due + 1) * 1000, wait = at_ms - imc_clock_now_ms();
  srv->sig_armed = due;
  uv_timer_start(&srv->sig_timer, on_sig_timer, wait > 1 ? (uint64_t)wait : 1, 0);
}

/* The timer covers the heap's top: armed anew only when the top is earlier than what it is armed for (an early
 * firing is harmless: it re-arms for the top). */
static void arm(api_srv_t *srv)
{
  const dueheap_ent_t *top = dueheap_top(&srv->sig_exp);
  if (top && (!uv_is_active((uv_handle_t *)&srv->sig_timer) || top->due < srv->sig_armed)) arm_at(srv, top->due);
}

int cws_sig_reserve(api_srv_t *srv) { return dueheap_reserve(&srv->sig_exp); }

void cws_sig_online(api_srv_t *srv, cws_conn_t *c, uint32_t due, uint32_t login_s)
{
  assert(!cws_sig_pos(c));
  dueheap_push(&srv->sig_exp, c, due, login_s);
  arm(srv);
}

uint32_t cws_sig_end(api_srv_t *srv, cws_conn_t *c)
{
  uint32_t pos = cws_sig_pos(c);
  return pos ? dueheap_remove(&srv->sig_exp, pos).tag : 0;
}

/* An online session's UserSig expired: it ends (cws_kick_session → cws_sig_end takes it out of the heap). */
static void expire(api_srv_t *srv, cws_conn_t *c)
{
  cws_kick_session(srv, c, CWS_SIG_EXPIRED_REASON, CWS_CLOSE_SIG_EXPIRED);
  assert(!cws_sig_pos(c));
}

void cws_sig_tick(api_srv_t *srv)
{
  int64_t now_s = imc_clock_now_s();
  const dueheap_ent_t *top;
  for (unsigned n = 0; n < CWS_SIG_EXPIRE_PER_TURN && (top = dueheap_top(&srv->sig_exp)) && now_s > (int64_t)top->due; n++)
    expire(srv, top->item);
  if (srv->sig_timer.loop) uv_timer_stop(&srv->sig_timer);
  arm(srv);
}

void cws_op_renew(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  json_t *v = json_object_get(req, "usersig");
  size_t len = json_string_length(v);
  if (!json_is_string(v) || !len || len > CWS_SIG_MAX_BYTES) {
    cws_reply(ws, id, "renew", IMC_E_SIG_EMPTY, CWS_SIG_EMPTY_MSG, NULL);
    return;
  }
  const im_session_t *s = cws_session(c);
  const tenant_app_t *app = tenant_registry_app(srv->reg, s->sdkappid);
  const char *user_id = cws_user_id(srv, c);
  if (!app) { cws_reply(ws, id, "renew", IMC_E_SIG_APP_UNKNOWN, NULL, NULL); return; } /* deleted while online */
  if (!user_id) { cws_reply(ws, id, "renew", IMC_E_USER_NOT_FOUND, NULL, NULL); return; } /* deleted: kicked at once */
  int64_t now = imc_clock_now_s();
  const dueheap_ent_t *e = dueheap_at(&srv->sig_exp, cws_sig_pos(c));
  assert(e && e->item == c);
  /* expired before the timer came round (read in the same turn): it ends as it would have a moment later (no reply) */
  if (now > (int64_t)e->due) { expire(srv, c); return; }
  auth_usersig_info_t info;
  const char *why;
  int rc = cws_sig_check(srv, app, user_id, 1, s->user_no, json_string_value(v), now, &info, &why);
  if (rc) { cws_reply(ws, id, "renew", rc, why, NULL); return; }
  uint32_t due = cws_sig_due(&info);
  dueheap_update(&srv->sig_exp, cws_sig_pos(c), due);
  arm(srv); /* an earlier expiry may be the top now */
  cws_reply_fields(ws, id, "renew", 0, NULL, json_pack("{s:I}", "expire_at", (json_int_t)due)); /* §82 */
}
