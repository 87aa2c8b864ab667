/* client_ws.c — the client WebSocket protocol of docs/protocol.md: JSON text
 * frames {id, op, …}; login with a UserSig, heartbeat, logout; server-side
 * kicks. Loop thread only.
 *
 * Per connection we keep one small cws_conn_t (the im_session_t plus a state
 * byte); everything else lives in net/ or is allocated only while a login is
 * being written. A login is acknowledged only after its usage event (and the
 * account import it may imply) is durable. If the connection closes while its
 * login job is in flight, the job's completion frees the connection state. */
#include "api/api_int.h"
#include "auth/usersig.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

enum { CWS_NEW, CWS_LOGIN_PENDING, CWS_ONLINE, CWS_CLOSING };

typedef struct cws_conn {
  im_session_t sess;     /* sess.conn = the net_ws_t */
  uint8_t state;
  uint8_t gone;          /* net closed the connection while a job was in flight */
  uint8_t logout;        /* closed by logout or kick: no PushOnline */
  uint32_t login_s;      /* login time (unix s, truncated) for the access log */
} cws_conn_t;

typedef struct login_job {
  store_job_t job;
  api_srv_t *srv;
  cws_conn_t *conn;
  json_t *id;
  uint32_t sdkappid;
  uint32_t user_no;
  int known;             /* account already in the registry */
  int32_t day;           /* yyyymmdd in the billing zone */
  int64_t now_s;
  char user_id[40];
} login_job_t;

/* ---- replies ---------------------------------------------------------------- */
static void send_json(net_ws_t *ws, json_t *o)
{
  char *text = json_dumps(o, JSON_COMPACT);
  if (text) { net_ws_send_text(ws, text, strlen(text)); free(text); }
  json_decref(o);
}

static void reply(net_ws_t *ws, json_t *id, const char *op, int err, const char *msg, json_t *extra)
{
  json_t *o = json_object();
  json_object_set(o, "id", id ? id : json_null());
  if (op) json_object_set_new(o, "op", json_string(op));
  json_object_set_new(o, "code", json_integer(imc_err_compat(err)));
  json_object_set_new(o, "msg", json_string(msg ? msg : imc_strerror(err)));
  if (extra) { json_object_update(o, extra); json_decref(extra); }
  send_json(ws, o);
}

/* ---- open / close / deadline ---------------------------------------------- */
void cws_on_open(void *ud, net_ws_t *ws)
{
  api_srv_t *srv = ud;
  cws_conn_t *c = calloc(1, sizeof *c);
  if (!c) { net_ws_close(ws, 1011, "out of memory"); return; }
  c->sess.conn = ws;
  net_ws_set_data(ws, c);
  net_ws_set_deadline(ws, (uint32_t)srv->cfg->ws_login_timeout_ms);
}

void cws_on_close(void *ud, net_ws_t *ws, int code)
{
  api_srv_t *srv = ud;
  cws_conn_t *c = net_ws_data(ws);
  if (!c) return;
  net_ws_set_data(ws, NULL);
  if (c->sess.linked) {
    int64_t now = imc_clock_now_s();
    im_presence_remove(srv->presence, &c->sess, c->logout, now, srv->cfg->push_online_keep_s);
    IMC_ACCESS("ws", "event=session_end app=%u user_no=%u platform=%s duration_s=%lld close=%d remote=%s",
               c->sess.sdkappid, c->sess.user_no, im_platform_name((im_platform_t)c->sess.platform),
               (long long)(now - c->login_s), code, net_ws_remote(ws));
  }
  if (c->state == CWS_LOGIN_PENDING) { c->gone = 1; return; } /* the login job frees it */
  free(c);
}

void cws_on_deadline(void *ud, net_ws_t *ws)
{
  (void)ud;
  cws_conn_t *c = net_ws_data(ws);
  if (!c) return;
  if (c->state == CWS_ONLINE) net_ws_close(ws, 4004, "idle timeout");
  else net_ws_close(ws, 4001, "not logged in within the login timeout");
  c->state = CWS_CLOSING;
}

/* ---- kick --------------------------------------------------------------------- */
static void kick_session(api_srv_t *srv, cws_conn_t *c, const char *reason, int close_code)
{
  net_ws_t *ws = c->sess.conn;
  json_t *push = json_pack("{s:s,s:s}", "type", "kicked", "reason", reason);
  send_json(ws, push);
  c->logout = 1;
  im_presence_remove(srv->presence, &c->sess, 1, imc_clock_now_s(), 0);
  c->state = CWS_CLOSING;
  net_ws_close(ws, (uint16_t)close_code, reason);
}

void cws_kick_user(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no, const char *reason, int close_code)
{
  im_session_t *s;
  while ((s = im_presence_first(srv->presence, sdkappid, user_no)))
    kick_session(srv, (cws_conn_t *)s, reason, close_code);
}

/* ---- login -------------------------------------------------------------------- */
static int login_run(store_t *s, void *arg)
{
  login_job_t *j = arg;
  int rc = 0;
  if (!j->known) rc = store_account_import(s, j->sdkappid, j->user_id, NULL, NULL, j->now_s, &j->user_no);
  if (!rc) rc = store_usage_login(s, j->sdkappid, j->day, j->user_no);
  return rc;
}

static void login_done(void *arg, int rc)
{
  login_job_t *j = arg;
  api_srv_t *srv = j->srv;
  cws_conn_t *c = j->conn;
  srv->jobs_in_flight--;
  if (c->gone) { free(c); goto out; }
  net_ws_t *ws = c->sess.conn;
  if (!rc && !j->known) rc = tenant_registry_account_put(srv->reg, j->sdkappid, j->user_id, j->user_no);
  if (rc) {
    c->state = CWS_NEW;
    reply(ws, j->id, "login", rc, NULL, NULL);
    goto out;
  }
  c->sess.sdkappid = j->sdkappid;
  c->sess.user_no = j->user_no;
  im_session_t *displaced = NULL;
  int multi_device = 0; /* one device per platform until an edition allows more */
  if ((rc = im_presence_add(srv->presence, &c->sess, multi_device, &displaced))) {
    c->state = CWS_NEW;
    reply(ws, j->id, "login", rc, NULL, NULL);
    goto out;
  }
  while (displaced) {
    im_session_t *next = displaced->next;
    displaced->next = NULL;
    cws_conn_t *old = (cws_conn_t *)displaced;
    json_t *push = json_pack("{s:s,s:s}", "type", "kicked", "reason", "another device logged in on the same platform");
    send_json(old->sess.conn, push);
    old->logout = 1;
    old->state = CWS_CLOSING;
    net_ws_close(old->sess.conn, 4002, "another device logged in on the same platform");
    displaced = next;
  }
  c->state = CWS_ONLINE;
  c->login_s = (uint32_t)j->now_s;
  net_ws_set_deadline(ws, (uint32_t)srv->cfg->ws_idle_timeout_ms);
  reply(ws, j->id, "login", 0, NULL, json_pack("{s:I}", "server_time", (json_int_t)j->now_s));
out:
  json_decref(j->id);
  free(j);
}

static int get_string(json_t *req, const char *name, size_t max, const char **out)
{
  json_t *v = json_object_get(req, name);
  if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) return IMC_E_INVAL;
  *out = json_string_value(v);
  return 0;
}

static void op_login(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *user_id, *sig, *platform, *device;
  char msg[160];
  im_platform_t plat;
  json_t *app_v = json_object_get(req, "sdkappid");
  if (c->state != CWS_NEW) { reply(ws, id, "login", IMC_E_WS_ALREADY_LOGGED_IN, NULL, NULL); return; }
  if (!json_is_integer(app_v) || json_integer_value(app_v) <= 0 || json_integer_value(app_v) > UINT32_MAX) {
    reply(ws, id, "login", IMC_E_INVAL, "sdkappid must be a positive integer", NULL);
    return;
  }
  if (get_string(req, "user_id", 32, &user_id) || !tenant_user_id_valid(user_id)) {
    reply(ws, id, "login", IMC_E_USER_ID, NULL, NULL);
    return;
  }
  if (get_string(req, "usersig", 4096, &sig)) { reply(ws, id, "login", IMC_E_SIG_EMPTY, NULL, NULL); return; }
  if (get_string(req, "platform", 16, &platform) || im_platform_parse(platform, &plat)) {
    reply(ws, id, "login", IMC_E_WS_PLATFORM, "platform must be one of iPhone, Android, Web, PC, iPad, Mac", NULL);
    return;
  }
  if (get_string(req, "device_id", 64, &device)) {
    reply(ws, id, "login", IMC_E_INVAL, "device_id must be a string of 1-64 bytes", NULL);
    return;
  }
  uint32_t sdkappid = (uint32_t)json_integer_value(app_v);
  const tenant_app_t *app = tenant_registry_app(srv->reg, sdkappid);
  if (!app) { api_check_external_changes(srv); app = tenant_registry_app(srv->reg, sdkappid); }
  if (!app) { reply(ws, id, "login", IMC_E_SIG_APP_UNKNOWN, NULL, NULL); return; }
  int64_t now = imc_clock_now_s();
  auth_usersig_info_t info;
  int rc = auth_usersig_verify(sig, sdkappid, app->rec.secret_key, user_id, now, &info);
  if (rc) { reply(ws, id, "login", rc, NULL, NULL); return; }
  if (!tenant_app_active(app)) { reply(ws, id, "login", IMC_E_APP_DISABLED, NULL, NULL); return; }
  uint32_t user_no = 0;
  int known = tenant_registry_account_find(srv->reg, sdkappid, user_id, &user_no) == 0;
  if (known && info.time <= api_kicked_at(srv, sdkappid, user_no)) {
    snprintf(msg, sizeof msg, "UserSig was issued before the user was kicked; log in with a fresh one");
    reply(ws, id, "login", IMC_E_SIG_EXPIRED, msg, NULL);
    return;
  }
  login_job_t *j = calloc(1, sizeof *j);
  if (!j) { reply(ws, id, "login", IMC_E_NOMEM, NULL, NULL); return; }
  j->srv = srv;
  j->conn = c;
  j->id = json_incref(id);
  j->sdkappid = sdkappid;
  j->user_no = user_no;
  j->known = known;
  j->now_s = now;
  j->day = imc_day_yyyymmdd(imc_day_of(now, srv->tz_offset_s));
  snprintf(j->user_id, sizeof j->user_id, "%s", user_id);
  j->job.run = login_run;
  j->job.done = login_done;
  j->job.arg = j;
  c->state = CWS_LOGIN_PENDING;
  c->sess.platform = (uint8_t)plat;
  uint32_t h = 2166136261u; /* FNV-1a of the device id */
  for (const char *p = device; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
  c->sess.device_hash = h;
  srv->jobs_in_flight++;
  store_writer_submit(srv->writer, &j->job);
}

static void op_heartbeat(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  (void)srv; (void)c; (void)req;
  reply(ws, id, "heartbeat", 0, NULL, json_pack("{s:I}", "server_time", (json_int_t)imc_clock_now_s()));
}

static void op_logout(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  (void)req;
  reply(ws, id, "logout", 0, NULL, NULL);
  c->logout = 1;
  im_presence_remove(srv->presence, &c->sess, 1, imc_clock_now_s(), 0);
  c->state = CWS_CLOSING;
  net_ws_close(ws, 1000, "logout");
}

typedef void (*op_fn)(api_srv_t *, net_ws_t *, cws_conn_t *, json_t *, json_t *);
static const struct { const char *name; op_fn fn; int needs_login; } ops[] = {
  { "login", op_login, 0 },
  { "heartbeat", op_heartbeat, 1 },
  { "logout", op_logout, 1 },
  { "send", cws_op_send, 1 },
  { "sync", cws_op_sync, 1 },
  { "history", cws_op_history, 1 },
  { "recall", cws_op_recall, 1 },
  { "read", cws_op_read, 1 },
  { "conversations", cws_op_conversations, 1 },
  { "pin", cws_op_pin, 1 },
  { "conv_delete", cws_op_conv_delete, 1 },
  { "typing", cws_op_typing, 1 },
};

void cws_on_text(void *ud, net_ws_t *ws, const char *data, size_t len)
{
  api_srv_t *srv = ud;
  cws_conn_t *c = net_ws_data(ws);
  if (!c || c->state == CWS_CLOSING) return;
  if (c->state == CWS_ONLINE) net_ws_set_deadline(ws, (uint32_t)srv->cfg->ws_idle_timeout_ms);
  json_error_t jerr;
  json_t *req = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!req || !json_is_object(req)) {
    char msg[200];
    if (req) snprintf(msg, sizeof msg, "a frame must be a JSON object");
    else snprintf(msg, sizeof msg, "JSON parse error at column %d: %s", jerr.column, jerr.text);
    reply(ws, NULL, NULL, IMC_E_JSON_PARSE, msg, NULL);
    json_decref(req);
    return;
  }
  json_t *id = json_object_get(req, "id");
  if (id && !json_is_string(id) && !json_is_integer(id)) id = NULL;
  json_t *op = json_object_get(req, "op");
  if (!json_is_string(op)) { reply(ws, id, NULL, IMC_E_JSON_PARSE, "op must be a string", NULL); json_decref(req); return; }
  const char *name = json_string_value(op);
  size_t i;
  for (i = 0; i < sizeof ops / sizeof ops[0]; i++) if (!strcmp(ops[i].name, name)) break;
  if (i == sizeof ops / sizeof ops[0]) reply(ws, id, name, IMC_E_WS_UNKNOWN_OP, NULL, NULL);
  else if (c->state == CWS_LOGIN_PENDING) reply(ws, id, name, IMC_E_BUSY, "login in progress", NULL);
  else if (ops[i].needs_login && c->state != CWS_ONLINE) reply(ws, id, name, IMC_E_WS_NOT_LOGGED_IN, NULL, NULL);
  else ops[i].fn(srv, ws, c, id, req);
  json_decref(req);
}
