/* client_ws.c — the client WebSocket protocol of docs/protocol.md: JSON text
 * frames {id, op, …}; login with a UserSig, heartbeat, logout; server-side
 * kicks. Loop thread only.
 *
 * Per connection we keep one small cws_conn_t (the im_session_t plus a state
 * byte and a hold count); everything else lives in net/ or is allocated only
 * while an operation is in flight.
 *
 * Ownership (one mechanism for every asynchronous step): a job started on
 * behalf of a connection takes a hold (cws_hold) and keeps the cws_conn_t
 * pointer; when the socket closes, cws_on_close unlinks the session, marks
 * the state CWS_CLOSED and drops the socket's own hold; the memory is freed
 * when the last hold is released (nginx's r->count). A completion asks
 * cws_usable() before touching the socket and re-checks whatever may have
 * changed while it waited (kick, app status, account existence).
 *
 * A login is acknowledged only after its usage event (and the account import
 * it may imply) is durable. */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "auth/usersig.h"
#include "im/msgbody.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/jsonnull.h"
#include "util/jsonr.h"
#include "util/log.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct cws_conn {
  im_session_t sess;     /* sess.conn = the net_ws_t while open, NULL once closed */
  uint16_t holds;        /* 1 for the open socket + 1 per job in flight */
  uint8_t state;         /* CWS_* */
  uint8_t logout : 1;    /* closed by logout or kick: no PushOnline */
  uint8_t metered : 1;   /* counted as an open connection of its app (meter, and ws_app_cap.c's count) */
  uint8_t ended : 1;     /* end_session ran: its access-log line is written once */
  uint8_t own_wait : 1;  /* not read until its requests in flight fall (cws_conn_pace) */
  uint8_t login_held : 1; /* its login deadline passed while the login was pending (ws_login_dl.c) */
  uint8_t login_again : 1; /* a held login failed: its hold is used, not given again (ws_login_dl.c) */
  uint8_t read_parked : 1; /* not read while its read waits for the reader queue's room (ws_read_wait.c, §120) */
  uint32_t sig_pos;      /* its place in srv->sig_exp while online (the UserSig's expiry, and the login time for
                            the access log: ws_usersig.c), 0 otherwise */
};                       /* the UserID is not kept here: cws_user_id looks it up by user_no */
_Static_assert(sizeof(struct cws_conn) <= 48, "memory per idle connection is a product metric: no per-connection UserID copy");

typedef struct login_job {
  store_job_t job;
  rel_gate_node_t gate;  /* waiting behind a deletion that names the account (rel_gate_login, §108) */
  api_srv_t *srv;
  const cws_op_t *op;    /* the op row (its meter column counts the login) */
  cws_conn_t *conn;      /* held */
  json_t *id;
  uint32_t sdkappid;
  uint32_t user_no;
  uint32_t meter_no;     /* metered under (tenant_registry_meter_no); 0: user_no, once known */
  int known;             /* account already in the registry */
  int32_t day;           /* yyyymmdd in the billing zone */
  int64_t now_s;
  int64_t sig_time_s;    /* TLS.time of the UserSig (kick re-check) */
  uint32_t sig_due;      /* the UserSig's expiry (cws_sig_due): the session ends after it */
  api_admission_t adm;   /* the quota admission (released in login_done) */
  uint8_t cap_held;      /* counted in its app's WebSockets (ws_app_cap.c) from login_start on: the session's
                            once online, given back by login_finish otherwise */
  char user_id[40];
} login_job_t;

/* ---- ownership -------------------------------------------------------------- */
/* Requests one connection may have in flight (each holds the connection):
 * past it a request is answered 60018 and nothing is done. The connection's
 * own pause (ws_conn_inflight_max, at most 32,768: cws_conn_pace) stops
 * reading it long before this, and admission at its default
 * (ws_admit_high_jobs 32,768) bounds writes too; with both off (0), one
 * client pipelining 65,535 requests overflowed the hold count and aborted
 * the server. */
#define CWS_HOLDS_MAX 49152
_Static_assert(CWS_HOLDS_MAX < UINT16_MAX, "holds is a uint16_t");

cws_conn_t *cws_hold(cws_conn_t *c)
{
  assert(c && c->holds > 0 && c->holds < UINT16_MAX);
  c->holds++;
  return c;
}

void cws_release(cws_conn_t *c)
{
  assert(c && c->holds > 0);
  if (--c->holds == 0) {
    assert(c->state == CWS_CLOSED && !c->sess.linked && !c->sess.conn);
    free(c);
  }
}

/* ---- per-connection backpressure -------------------------------------------- */
/* A connection's requests in flight: its holds but the socket's own. */
static unsigned conn_inflight(const cws_conn_t *c) { return c->holds - 1u; }

/* The reader pool's owner of a connection's reads (store_reader.h,
 * "Fairness"; §65): the struct's address, which stays the connection's while
 * any job holds it. reply_only ops' reads are that owner (cancelled when the
 * login ends); every other op's reads are `| 2` (an owner of their own: they
 * may have effects beyond the reply, so they always run). A REST call's
 * reads are its app's: sdkappid << 2 | 1 (api_int.h rest_reader_owner), never one of these. */
static uint64_t reader_owner(const cws_conn_t *c, int reply_only)
{
  _Static_assert(_Alignof(max_align_t) >= 4, "bits 0 and 1 of a malloc'd address are free to tag owners");
  return (uint64_t)(uintptr_t)c | (reply_only ? 0 : 2);
}

void cws_reader_owner(api_srv_t *srv, const cws_conn_t *c, int reply_only)
{
  if (srv->reader) store_reader_owner(srv->reader, c ? reader_owner(c, reply_only) : 0);
}

/* 1 if the connection's queued reads are past `part` of the reader queue's
 * free room (its share is all of it, store_reader.h): pause at a half, so
 * another connection's reads entering meanwhile leave it short of a refusal;
 * read again at a quarter (or with nothing queued). */
static int reads_over(api_srv_t *srv, const cws_conn_t *c, unsigned part)
{
  size_t queued = 0, room = 0;
  if (!srv->reader || !conn_inflight(c)) return 0;
  store_reader_owner_load(srv->reader, reader_owner(c, 1), &queued, &room);
  return queued && queued * part >= room;
}

void cws_conn_pace(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c)
{
  int64_t max = srv->cfg->ws_conn_inflight_max;
  if (c->own_wait || c->state != CWS_ONLINE || !cws_usable(c)) return;
  /* the reader pool's lock is taken only after a frame that queued reads of this connection's (a send queues
   * none): its share grows only then */
  if (!(max && conn_inflight(c) > (uint64_t)max) && !(srv->ws_frame_reads && reads_over(srv, c, 2))) return;
  c->own_wait = 1;
  srv->ws_conn_paused++;
  srv->ws_conn_pauses++;
  net_ws_set_deadline(ws, 0); /* no idle close while not read: its pings wait unread (resuming re-arms it) */
  net_ws_pause_read(ws);
}

void cws_release_req(api_srv_t *srv, cws_conn_t *c)
{
  net_ws_t *ws = cws_usable(c);
  int64_t max = srv->cfg->ws_conn_inflight_max;
  /* after this release: conn_inflight(c) - 1 */
  if (c->own_wait && !c->read_parked && ws && (!max || conn_inflight(c) - 1u <= (uint64_t)max / 2) && !reads_over(srv, c, 4)) {
    c->own_wait = 0;
    srv->ws_conn_paused--;
    net_ws_set_idle(ws, (uint32_t)srv->cfg->ws_idle_timeout_ms); /* the time not read was the server's, not the client's silence */
    net_ws_resume_read(ws); /* read again, admission (ws_pace.c) deciding first as before any read */
  }
  cws_release(c);
}

int cws_reads_at_share(api_srv_t *srv, const cws_conn_t *c) { return reads_over(srv, c, 1); }

void cws_read_parked_set(api_srv_t *srv, cws_conn_t *c, int parked)
{
  net_ws_t *ws = cws_usable(c);
  c->read_parked = parked > 0;
  if (!ws || parked < 0) return;
  if (parked) {
    net_ws_set_deadline(ws, 0); /* no idle close while not read: the wait is the server's */
    net_ws_pause_read(ws);      /* the rest of its input waits, in order, until its read has run */
  } else if (!c->own_wait) {    /* its own pause ends in cws_release_req */
    net_ws_set_idle(ws, (uint32_t)srv->cfg->ws_idle_timeout_ms);
    net_ws_resume_read(ws);
  }
}

int cws_read_parked(const cws_conn_t *c) { return c->read_parked; }

net_ws_t *cws_usable(const cws_conn_t *c)
{
  return c->state == CWS_CLOSED || c->state == CWS_CLOSING ? NULL : c->sess.conn;
}

int cws_state(const cws_conn_t *c) { return c->state; }
const char *cws_user_id(api_srv_t *srv, const cws_conn_t *c)
{
  /* the account registry names a user by number (a reverse index, tenant.h) */
  return c->state == CWS_ONLINE ? tenant_registry_account_id(srv->reg, c->sess.sdkappid, c->sess.user_no) : NULL;
}

const im_session_t *cws_session(const cws_conn_t *c) { return &c->sess; }
uint32_t cws_sig_pos(const cws_conn_t *c) { return c->sig_pos; }
void cws_sig_pos_set(void *c, uint32_t pos) { ((cws_conn_t *)c)->sig_pos = pos; }
cws_conn_t *cws_of_session(im_session_t *s) { return (cws_conn_t *)s; }

/* ---- replies (ws_reply.c) ---------------------------------------------------- */
#define send_json cws_send_json
#define reply cws_reply

/* ---- open / close / deadline ---------------------------------------------- */
void cws_on_open(void *ud, net_ws_t *ws)
{
  api_srv_t *srv = ud;
  cws_conn_t *c = malloc(sizeof *c); /* malloc, then a struct assignment (GCC turns malloc + memset into calloc): glibc's calloc skips its per-thread cache */
  if (!c) { net_ws_close(ws, 1011, "out of memory"); return; }
  *c = (cws_conn_t){ 0 };
  c->sess.conn = ws;
  c->holds = 1;          /* the socket's own hold, dropped in cws_on_close */
  c->state = CWS_NEW;
  net_ws_set_data(ws, c);
  cws_login_dl_open(srv, ws);
}

/* Unlink the session from presence (logout: no PushOnline window) and write
 * the session's access-log line; no-op if it is not linked. */
static void end_session(api_srv_t *srv, cws_conn_t *c, int code)
{
  /* its reads nobody will see answered are not run (§65): done() gets IMC_E_CANCELED in a later turn */
  if (srv->reader) store_reader_cancel(srv->reader, reader_owner(c, 1));
  cws_read_wait_drop(srv, c); /* and its read waiting for the queue's room (§120) */
  if (c->metered) { api_quota_session(srv, c->sess.sdkappid, -1); cws_app_cap_count(srv, c->sess.sdkappid, -1); c->metered = 0; }
  if (c->sess.sid) ws_status_subs_session_gone(srv, c->sess.sdkappid, c->sess.user_no, c->sess.sid);
  uint32_t login_s = cws_sig_end(srv, c); /* 0 once out of the heap: the line below is written at the first end */
  int64_t now = imc_clock_now_s();
  if (!c->sess.linked) { /* unlinked already: by an account delete, or displaced by a login on its platform */
    if (srv->c2c) im_c2c_session_gone(srv->c2c, c->sess.sdkappid, c->sess.user_no);
  } else {
    im_presence_remove(srv->presence, &c->sess, c->logout, now, srv->cfg->push_online_keep_s);
    if (srv->c2c) im_c2c_session_gone(srv->c2c, c->sess.sdkappid, c->sess.user_no);
    ws_status_session_end(srv, &c->sess, tenant_registry_account_id(srv->reg, c->sess.sdkappid, c->sess.user_no),
                          c->logout, now + srv->cfg->push_online_keep_s);
  }
  if (c->ended || !c->sess.sid) return; /* a session that never logged in has no line */
  c->ended = 1;
  IMC_ACCESS("ws", "event=session_end app=%u user_no=%u platform=%s duration_s=%lld close=%d remote=%s",
             c->sess.sdkappid, c->sess.user_no, im_platform_name((im_platform_t)c->sess.platform),
             (long long)(now - login_s), code, net_ws_remote(c->sess.conn));
}

void cws_on_close(void *ud, net_ws_t *ws, int code)
{
  api_srv_t *srv = ud;
  cws_conn_t *c = net_ws_data(ws);
  if (!c) return;
  assert(c->sess.conn == ws && c->state != CWS_CLOSED);
  net_ws_set_data(ws, NULL);
  cws_group_session_gone(srv, c);
  end_session(srv, c, code);
  if (c->own_wait) { c->own_wait = 0; srv->ws_conn_paused--; }
  c->state = CWS_CLOSED;
  c->sess.conn = NULL;
  cws_release(c);        /* the socket's hold; jobs in flight keep theirs */
}

/* Close with a code; the session leaves presence now (a kicked or timed-out
 * user is not Online while the close frame drains). */
static void close_conn(api_srv_t *srv, cws_conn_t *c, int logout, uint16_t code, const char *reason)
{
  if (!cws_usable(c)) return;
  if (logout) c->logout = 1;
  end_session(srv, c, code);
  c->state = CWS_CLOSING;
  net_ws_close(c->sess.conn, code, reason);
}

static void login_finish(api_srv_t *srv, login_job_t *j, int rc, const char *why);

/* A login past its app's cap (ws_app_cap.c: the app's own or max_websockets_per_app, named with its value):
 * answered, then closed 4007 (a client looping on logins holds no socket of the server's while it retries). */
static void app_full(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, uint32_t sdkappid)
{
  char why[192];
  const char *reason = cws_app_cap_why(srv, sdkappid, why, sizeof why);
  reply(ws, id, "login", IMC_E_WS_APP_FULL, why, NULL);
  close_conn(srv, c, 0, 4007, reason);
}

static login_job_t *job_of(const rel_gate_node_t *n) { return (login_job_t *)((uintptr_t)n - offsetof(login_job_t, gate)); }
static int login_of(const rel_gate_node_t *n, const void *c) { return job_of(n)->conn == c; }

void cws_on_deadline(void *ud, net_ws_t *ws)
{
  api_srv_t *srv = ud;
  cws_conn_t *c = net_ws_data(ws);
  if (!c) return;
  if (c->state == CWS_ONLINE) { close_conn(srv, c, 0, 4004, "idle timeout"); return; }
  const char *why = cws_login_dl_due(srv, ws, c->state == CWS_LOGIN_PENDING, c->login_held, c->login_again);
  if (!why) { c->login_held = 1; return; }
  /* a login still waiting for its account's deletion (§108) is answered 60018: at its hold's end it stays open and
   * logged out, as a held login that failed (§114); pending again after a failed held login (why is the `again`
   * reason) it is then closed, as before (§83). login_finish may change login_held: read first. */
  int hold_end = c->login_held;
  const char *busy;
  rel_gate_node_t *n = c->state == CWS_LOGIN_PENDING ? rel_gate_login_take(srv, login_of, c, &busy) : NULL;
  if (n) {
    login_finish(srv, job_of(n), IMC_E_OVERLOADED, busy);
    if (hold_end) return;
  }
  close_conn(srv, c, 0, 4001, why);
}

/* ---- kick ----------------------------------------------------------------- */
void cws_kick_session(api_srv_t *srv, cws_conn_t *c, const char *reason, int close_code)
{
  if (!cws_usable(c)) return;
  send_json(c->sess.conn, json_pack("{s:s,s:s}", "type", "kicked", "reason", reason));
  close_conn(srv, c, 1, (uint16_t)close_code, reason);
}

/* cws_kick_user, cws_kick_app, cws_app_facts_changed: ws_kick.c */

/* ---- login -------------------------------------------------------------------- */
static int login_run(store_t *s, void *arg)
{
  login_job_t *j = arg;
  int rc = 0;
  if (!j->known) rc = store_account_import(s, j->sdkappid, j->user_id, NULL, NULL, j->now_s, &j->user_no);
  /* day 0: not metered (bench_no_meter); a re-imported UserID under its first number */
  if (!rc && j->day) rc = store_usage_login(s, j->sdkappid, j->day, j->meter_no ? j->meter_no : j->user_no);
  return rc;
}

/* What may have changed while the login's job waited for the writer: the app
 * (suspended, deleted), the account (deleted, or deleted and re-imported with
 * another number) and the user's kick time. 0 if the login still stands. */
static int login_recheck(api_srv_t *srv, const login_job_t *j, const char **why)
{
  const tenant_app_t *app = tenant_registry_app(srv->reg, j->sdkappid);
  uint32_t now_no;
  *why = NULL;
  if (!app) return IMC_E_SIG_APP_UNKNOWN;
  int rc = tenant_app_refusal(app); /* suspended meanwhile: 60016 / 60020 */
  if (rc) return rc;
  if (tenant_registry_account_find(srv->reg, j->sdkappid, j->user_id, &now_no) || now_no != j->user_no) {
    *why = "the account was deleted while logging in";
    return IMC_E_USER_NOT_FOUND;
  }
  if (j->sig_time_s <= api_kicked_at(srv, j->sdkappid, j->user_no)) {
    *why = "UserSig was issued before the user was kicked; log in with a fresh one";
    return IMC_E_SIG_EXPIRED;
  }
  if (imc_clock_now_s() > (int64_t)j->sig_due) { /* the session would end at once (§81) */
    *why = "UserSig expired while the login was being recorded";
    return IMC_E_SIG_EXPIRED;
  }
  return 0;
}

/* A login ended without success: the connection is logged out again and,
 * if its deadline was held, the login timeout runs again from now (once:
 * the hold is used). */
static void login_failed(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c)
{
  c->state = CWS_NEW;
  if (!c->login_held) return;
  c->login_held = 0;
  c->login_again = 1;
  cws_login_dl_failed(srv, ws);
}

/* The login's end (its job done, and its wait behind a deletion over): online, or refused (rc, why). */
static void login_finish(api_srv_t *srv, login_job_t *j, int rc, const char *why)
{
  cws_conn_t *c = j->conn;
  net_ws_t *ws = cws_usable(c);
  int online = 0;
  if (!ws) goto out;                     /* closed while the job ran or the login waited: nothing to answer */
  assert(c->state == CWS_LOGIN_PENDING);
  if (!rc) rc = login_recheck(srv, j, &why);
  if (rc) {
    login_failed(srv, ws, c);
    reply(ws, j->id, "login", rc, why, NULL);
    goto out;
  }
  /* the edition decides whether a second device of a platform kicks the first */
  int multi_device = api_quota_multi_device(srv, tenant_registry_app(srv->reg, j->sdkappid));
  c->sess.sdkappid = j->sdkappid;
  c->sess.user_no = j->user_no;
  im_session_t *displaced = NULL;
  if (!(rc = cws_sig_reserve(srv))) rc = im_presence_add(srv->presence, &c->sess, multi_device, &displaced);
  if (rc) {
    login_failed(srv, ws, c);
    reply(ws, j->id, "login", rc, NULL, NULL);
    goto out;
  }
  while (displaced) {
    im_session_t *next = displaced->next;
    displaced->next = NULL;
    cws_kick_session(srv, (cws_conn_t *)displaced, "another device logged in on the same platform", 4002);
    displaced = next;
  }
  c->state = CWS_ONLINE;
  cws_sig_online(srv, c, j->sig_due, (uint32_t)j->now_s); /* reserved above; closed after the UserSig's expiry (§81) */
  c->metered = 1; /* the app cap's place held since login_start is the session's now (end_session gives it back) */
  j->cap_held = 0;
  api_quota_session(srv, j->sdkappid, +1);
  online = 1;
  net_ws_set_idle(ws, (uint32_t)srv->cfg->ws_idle_timeout_ms); /* text, ping and pong frames restart it */
  ws_status_changed(srv, j->sdkappid, j->user_no);
  cws_reply_ok_time(ws, j->id, "login", j->now_s, j->user_no); /* account_no: which account this is (protocol.md "login") */
out:
  api_quota_login_done(srv, &j->adm);
  if (j->cap_held) cws_app_cap_count(srv, j->sdkappid, -1); /* not online: its place given back */
  if (online) api_meter_count(srv, j->op->meter, j->sdkappid, j->meter_no ? j->meter_no : j->user_no, j->now_s); /* durable and online */
  cws_release(c);
  json_decref(j->id);
  free(j);
}

static void login_done(void *arg, int rc)
{
  login_job_t *j = arg;
  api_srv_t *srv = j->srv;
  const char *why = NULL;
  assert(srv->jobs_in_flight > 0);
  srv->jobs_in_flight--;
  /* The account row is durable whatever became of the connection: the
   * registry must learn about it (else memory and storage disagree). */
  if (!rc && !j->known) rc = tenant_registry_account_put(srv->reg, j->sdkappid, j->user_id, j->user_no);
  /* an account a deletion in flight names: the login waits for it to end (§108) */
  if (!rc && cws_usable(j->conn) && (rc = rel_gate_login(srv, &j->gate, j->sdkappid, j->user_no, &why)) > 0) return;
  login_finish(srv, j, rc, why);
}

void cws_login_resume(api_srv_t *srv, rel_gate_node_t *n, int rc)
{
  login_finish(srv, job_of(n), rc, NULL);
}

/* The `login` row: a second login is refused at once; the first starts now
 * or in a later loop turn (ws_pace.c). */
static void login_begin(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, cws_login_req_t *r)
{
  if (c->state != CWS_NEW) { reply(ws, r->id, "login", IMC_E_WS_ALREADY_LOGGED_IN, NULL, NULL); cws_login_req_free(r); return; }
  cws_pace_login(srv, ws, c, r);
}

static void op_login(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  cws_login_req_t *r = cws_login_req_from_json(id, req);
  if (!r) { reply(ws, id, "login", IMC_E_NOMEM, NULL, NULL); return; }
  login_begin(srv, ws, c, r);
}

void cws_set_waiting(cws_conn_t *c, int waiting)
{
  assert(c->state == (waiting ? CWS_NEW : CWS_LOGIN_PENDING));
  c->state = waiting ? CWS_LOGIN_PENDING : CWS_NEW;
}

static void login_start(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_login_req_t *r)
{
  const char *user_id = r->user_id, *sig = r->usersig, *device = r->device_id;
  json_t *id = r->id;
  im_platform_t plat;
  assert(c->state == CWS_NEW);
  if (!r->app_ok) {
    reply(ws, id, "login", IMC_E_INVAL, "sdkappid must be a positive integer", NULL);
    return;
  }
  if (!user_id || !tenant_user_id_valid(user_id)) {
    reply(ws, id, "login", IMC_E_USER_ID, NULL, NULL);
    return;
  }
  if (!sig) { reply(ws, id, "login", IMC_E_SIG_EMPTY, CWS_SIG_EMPTY_MSG, NULL); return; }
  if (!r->platform || im_platform_parse(r->platform, &plat)) {
    reply(ws, id, "login", IMC_E_WS_PLATFORM, "platform must be one of iPhone, Android, Web, PC, iPad, Mac", NULL);
    return;
  }
  if (!device) {
    reply(ws, id, "login", IMC_E_INVAL, "device_id must be a string of 1-64 bytes", NULL);
    return;
  }
  uint32_t sdkappid = r->sdkappid;
  const tenant_app_t *app = tenant_registry_app(srv->reg, sdkappid);
  if (!app) { reply(ws, id, "login", IMC_E_SIG_APP_UNKNOWN, NULL, NULL); return; }
  int64_t now = imc_clock_now_s();
  auth_usersig_info_t info;
  uint32_t user_no = 0;
  int known = tenant_registry_account_find(srv->reg, sdkappid, user_id, &user_no) == 0;
  const char *bad;
  int rc = cws_sig_check(srv, app, user_id, known, user_no, sig, now, &info, &bad); /* as `renew` checks one */
  if (rc) { reply(ws, id, "login", rc, bad, NULL); return; }
  uint32_t h = 2166136261u; /* FNV-1a of the device id */
  for (const char *p = device; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
  /* past its app's cap: refused before its storage job, which would count the user in the day's DAU; a login
   * admitted holds its place from here (cap_held), so logins admitted together never pass the cap together */
  if (cws_app_cap_check(srv, sdkappid, known ? user_no : 0, (uint8_t)plat, h, api_quota_multi_device(srv, app))) {
    app_full(srv, ws, c, id, sdkappid);
    return;
  }
  api_admission_t adm;
  char why[320];
  uint32_t meter_no = tenant_registry_meter_no(srv->reg, sdkappid, user_id, user_no); /* 0: a new UserID */
  if ((rc = api_quota_login_admit(srv, app, known, meter_no, now, &adm, why, sizeof why))) {
    reply(ws, id, "login", rc, rc == IMC_E_NOMEM ? NULL : why, NULL); /* 70398, 72000 */
    return;
  }
  login_job_t *j = malloc(sizeof *j); /* as cws_on_open */
  if (!j || cws_app_cap_count(srv, sdkappid, +1)) {
    free(j);
    api_quota_login_done(srv, &adm);
    reply(ws, id, "login", IMC_E_NOMEM, NULL, NULL);
    return;
  }
  *j = (login_job_t){ 0 };
  j->cap_held = 1;
  j->adm = adm;
  j->srv = srv;
  j->op = &cws_ops[0];   /* the login row (asserted) */
  assert(j->op->fn == op_login);
  j->conn = cws_hold(c);
  j->sig_time_s = info.time;
  j->sig_due = cws_sig_due(&info);
  j->id = id ? json_incref(id) : NULL;
  j->sdkappid = sdkappid;
  j->user_no = user_no;
  j->meter_no = meter_no;
  j->known = known;
  j->now_s = now;
  j->day = srv->cfg->bench_no_meter ? 0 : adm.day; /* the app's billing zone (M-1), as the meter counts it */
  size_t ul = strnlen(user_id, sizeof j->user_id - 1); /* as snprintf cut it, without formatting */
  memcpy(j->user_id, user_id, ul);
  j->user_id[ul] = 0;
  j->job.run = login_run;
  j->job.done = login_done;
  j->job.arg = j;
  /* login_run writes only inside the transaction and a second run sets
   * user_no again (the import finds the row, or numbers it afresh after the
   * rollback): consecutive logins share one SAVEPOINT (store_writer.h) */
  j->job.rerun_safe = 1;
  c->state = CWS_LOGIN_PENDING;
  c->sess.platform = (uint8_t)plat;
  c->sess.device_hash = h;
  if ((rc = store_writer_submit(srv->writer, &j->job))) { /* writer queue full: refuse, stay logged out */
    c->state = CWS_NEW;
    api_quota_login_done(srv, &j->adm);
    cws_app_cap_count(srv, sdkappid, -1);
    json_decref(j->id);
    free(j);
    cws_release(c);      /* the job's hold; the socket keeps its own */
    reply(ws, id, "login", rc, NULL, NULL);
    return;
  }
  srv->jobs_in_flight++;
}

/* A login that waited for its turn (ws_pace.c) may have been held: refused
 * now, it ends as one whose job failed. */
void cws_login_start(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_login_req_t *r)
{
  login_start(srv, ws, c, r);
  if (c->state == CWS_NEW) login_failed(srv, ws, c);
}

static void op_heartbeat(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  (void)srv; (void)c; (void)req;
  cws_reply_ok_time(ws, id, "heartbeat", imc_clock_now_s(), 0);
}

static void op_logout(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  (void)req;
  reply(ws, id, "logout", 0, NULL, NULL);
  close_conn(srv, c, 1, 1000, "logout");
}

size_t cws_msg_frame_bytes(int64_t msg_max_bytes)
{
  uint64_t n = (uint64_t)(msg_max_bytes > 0 ? msg_max_bytes : 0) * 6 + CWS_MSG_FRAME_ENVELOPE_BYTES;
  return n > CWS_FRAME_CEILING_BYTES ? CWS_FRAME_CEILING_BYTES : (size_t)n;
}

/* The op table (api_int.h: cws_op_t). docs/protocol.md's op index is
 * generated from it (`imcloud doc ws-ops`). */
const cws_op_t cws_ops[] = {
  { "login",     op_login,     API_AUTH_NONE, 8 * 1024, API_GATE_NONE, API_METER_LOGIN, "log in with a UserSig (imports the account, records the day's usage)", 0 },
  { "renew",     cws_op_renew,     API_AUTH_USER, 8 * 1024, API_GATE_NONE, 0, "move the session's end to a new UserSig's expiry (same app and user)", 0 },
  { "heartbeat", op_heartbeat, API_AUTH_USER, 1024, API_GATE_NONE, 0,     "keep the connection alive; answers the server time", 0 },
  { "logout",    op_logout,    API_AUTH_USER, 1024, API_GATE_NONE, 0,     "end the session (no PushOnline), then close 1000", 0 },
  { "send",      cws_op_send,      API_AUTH_USER, 0, API_GATE_NONE, API_METER_C2C_MSG, "send a one-to-one message; answered after it is durable", 0 },
  { "sync",      cws_op_sync,      API_AUTH_USER, 1024, API_GATE_NONE, 0,     "the next page of the user's events after a cursor; complete = now live", 1 },
  { "history",   cws_op_history,   API_AUTH_USER, 1024, API_GATE_NONE, 0,     "a page of a conversation's messages, newest first", 1 },
  { "recall",    cws_op_recall,    API_AUTH_USER, 1024, API_GATE_NONE, 0,     "recall one's own message within the recall window", 0 },
  { "read",      cws_op_read,      API_AUTH_USER, 1024, API_GATE_NONE, 0,     "report a conversation read up to a sequence", 0 },
  { "conversations", cws_op_conversations, API_AUTH_USER, 1024, API_GATE_NONE, 0, "a page of the conversation list, C2C and groups, with unread counts", 1 },
  { "pin",       cws_op_pin,       API_AUTH_USER, 1024, API_GATE_NONE, 0,     "pin or unpin a conversation", 0 },
  { "conv_delete", cws_op_conv_delete, API_AUTH_USER, 1024, API_GATE_NONE, 0, "delete a conversation from the list (clear: and its history)", 0 },
  { "typing",    cws_op_typing,    API_AUTH_USER, 1024, API_GATE_NONE, 0,     "tell the peer's online devices the user is typing (never stored)", 0 },
  { "group_create",   cws_op_group_create,   API_AUTH_USER, 16 * 1024, API_GATE_NONE, 0, "create a group the user owns (type, name, group_id, members, profile)", 0 },
  { "group_join",     cws_op_group_join,     API_AUTH_USER, 1024, API_GATE_NONE, 0,      "join (Meeting, Community; live room: this session) or apply (Public)", 0 },
  { "group_approve",  cws_op_group_approve,  API_AUTH_USER, 16 * 1024, API_GATE_NONE, 0, "owner/admin: accept applications to a Public group", 0 },
  { "group_reject",   cws_op_group_reject,   API_AUTH_USER, 16 * 1024, API_GATE_NONE, 0, "owner/admin: refuse applications", 0 },
  { "group_applications", cws_op_group_applications, API_AUTH_USER, 1024, API_GATE_NONE, 0, "owner/admin: a page of the applications waiting in a Public group, oldest first", 1 },
  { "group_invite",   cws_op_group_invite,   API_AUTH_USER, 16 * 1024, API_GATE_NONE, 0, "add users (Work: any member; others: the type's rule)", 0 },
  { "group_quit",     cws_op_group_quit,     API_AUTH_USER, 1024, API_GATE_NONE, 0,      "leave a group (live room: this session leaves)", 0 },
  { "group_kick",     cws_op_group_kick,     API_AUTH_USER, 16 * 1024, API_GATE_NONE, 0, "owner/admin: remove members of lower role", 0 },
  { "group_mute",     cws_op_group_mute,     API_AUTH_USER, 16 * 1024, API_GATE_NONE, 0, "owner/admin: mute members for seconds (0 unmutes)", 0 },
  { "group_transfer", cws_op_group_transfer, API_AUTH_USER, 1024, API_GATE_NONE, 0,      "owner: hand the group to a member", 0 },
  { "group_dissolve", cws_op_group_dissolve, API_AUTH_USER, 1024, API_GATE_NONE, 0,      "owner: dissolve (not Work groups: App admin only)", 0 },
  { "group_send",     cws_op_group_send,     API_AUTH_USER, 0, API_GATE_NONE, API_METER_GROUP_MSG, "send to a group; answered with its seq after it is durable", 0 },
  { "group_history",  cws_op_group_history,  API_AUTH_USER, 1024, API_GATE_NONE, 0,      "a page of a group's messages, newest first (members only)", 1 },
  { "group_sync",     cws_op_group_sync,     API_AUTH_USER, 1024, API_GATE_NONE, 0,      "messages after a seq, oldest first, and (with `after_change`) the recalls, changes and deletions of the messages held; complete = nothing missed", 1 },
  { "group_read",     cws_op_group_read,     API_AUTH_USER, 1024, API_GATE_NONE, 0,      "report a group read up to a seq", 0 },
  { "group_list",     cws_op_group_list,     API_AUTH_USER, 1024, API_GATE_NONE, 0,      "the user's groups as conversations with unread counts", 1 },
  { "pending",   cws_op_pending,   API_AUTH_USER, 1024, API_GATE_NONE, 0,     "the user's pending friend requests, received and sent", 1 },
  { "friend_response", cws_op_friend_response, API_AUTH_USER, 1024, API_GATE_NONE, 0, "agree to, agree to and add back, or reject a received friend request", 0 },
  { "status_set", cws_op_status_set, API_AUTH_USER, 1024, PLAN_F_USER_STATUS, 0, "set (or clear with \"\") the user's custom status text; pushed to subscribers", 0 },
  { "status_get", cws_op_status_get, API_AUTH_USER, 8 * 1024, PLAN_F_USER_STATUS, 0, "status and custom status text of up to 100 users", 1 },
  { "status_subscribe", cws_op_status_subscribe, API_AUTH_USER, 8 * 1024, PLAN_F_USER_STATUS, 0, "get `status` pushes for up to 100 users while this login lasts", 0 },
  { "status_unsubscribe", cws_op_status_unsubscribe, API_AUTH_USER, 8 * 1024, PLAN_F_USER_STATUS, 0, "stop the `status` pushes of those users", 0 },
  { 0, 0, 0, 0, 0, 0, 0, 0 }
};

const cws_op_t *cws_op_row(cws_op_fn fn)
{
  const cws_op_t *o = cws_ops;
  while (o->name && o->fn != fn) o++;
  return o->name ? o : NULL;
}

/* The checks of the dispatch that precede a row's handler: 0 to run it,
 * else the error replied. */
static int op_refused(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_op_t *o, const char *name, json_t *id, size_t len)
{
  char why[320];
  int rc = 0;
  if (!o->name) reply(ws, id, name, rc = IMC_E_WS_UNKNOWN_OP, NULL, NULL);
  else if (len > (o->max_frame_bytes ? o->max_frame_bytes : cws_msg_frame_bytes(srv->cfg->msg_max_bytes)))
    reply(ws, id, name, rc = IMC_E_TOOBIG, NULL, NULL);
  else if (c->state == CWS_LOGIN_PENDING) reply(ws, id, name, rc = IMC_E_BUSY, "login in progress", NULL);
  else if (o->auth == API_AUTH_USER && c->state != CWS_ONLINE) reply(ws, id, name, rc = IMC_E_WS_NOT_LOGGED_IN, NULL, NULL);
  else {
    /* the row's edition gate (only logged-in ops carry one: the app is the session's) */
    assert(o->gate == API_GATE_NONE || o->auth == API_AUTH_USER);
    if ((rc = api_gate_check(srv, c->sess.sdkappid, o->gate, why, sizeof why))) reply(ws, id, name, rc, why, NULL);
  }
  return rc;
}

#define LOGIN_TOKENS 48  /* a login frame has 7 members (15 tokens) */

/* A login frame read with jsonr instead of jansson (jansson's loader was a
 * third of a login's loop instructions): 1 if the frame was a login that
 * jsonr accepts and it was handled here; 0 to read it with jansson (every
 * other frame, and any jsonr does not accept or cannot decide: the errors
 * and their texts are jansson's). A document jsonr accepts is one jansson
 * loads with the same values, so both paths answer alike. */
static int login_fast(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const char *data, size_t len)
{
  jsonr_tok_t t[LOGIN_TOKENS];
  jsonr_doc_t d;
  if (!memmem(data, len, "login", 5)) return 0; /* cheap: other ops never pay for a second parse */
  if (jsonr_parse(&d, data, len, t, LOGIN_TOKENS) != JSONR_OK || t[0].type != JSONR_OBJECT) return 0;
  uint32_t op, idt, app, field[CWS_LOGIN_FIELDS];
  cws_login_members(&d, &op, &idt, &app, field);
  if (op == JSONR_NONE || t[op].type != JSONR_STRING || !jsonr_str_eq(&d, op, "login", 5)) return 0;
  /* an id no reply could carry: the general path refuses the frame unrun */
  if (idt != JSONR_NONE && t[idt].type != JSONR_STRING && t[idt].type != JSONR_INTEGER && t[idt].type != JSONR_NULL) return 0;
  const cws_op_t *o = &cws_ops[0];
  assert(o->fn == op_login);
  /* room for every decoded string (never longer than the frame) and its NUL */
  cws_login_req_t *r = malloc(sizeof *r + len + CWS_LOGIN_FIELDS); /* text[] is written before it is read */
  if (!r) return 0;
  *r = (cws_login_req_t){ 0 };
  if (idt != JSONR_NONE && t[idt].type == JSONR_STRING) r->id = json_stringn(r->text, jsonr_str(&d, idt, r->text));
  else if (idt != JSONR_NONE && t[idt].type == JSONR_INTEGER) r->id = json_integer(jsonr_int(&d, idt));
  if (op_refused(srv, ws, c, o, o->name, r->id, len)) { cws_login_req_free(r); return 1; }
  cws_login_app_set(r, app != JSONR_NONE && t[app].type == JSONR_INTEGER, app != JSONR_NONE && t[app].type == JSONR_INTEGER ? jsonr_int(&d, app) : 0);
  size_t used = 0;
  for (size_t k = 0; k < CWS_LOGIN_FIELDS; k++) {
    uint32_t f = field[k];
    cws_login_field_set(r, k, &used, f != JSONR_NONE && t[f].type == JSONR_STRING ? jsonr_str(&d, f, r->text + used) : 0);
  }
  login_begin(srv, ws, c, r);
  return 1;
}

void cws_on_text(void *ud, net_ws_t *ws, const char *data, size_t len)
{
  api_srv_t *srv = ud;
  cws_conn_t *c = net_ws_data(ws);
  srv->ws_frame_reads = 0;
  if (!c || !cws_usable(c)) return;
  int full = c->holds >= CWS_HOLDS_MAX; /* a request would hold it once more: refused below */
  if (!full && !cws_send_fast(srv, ws, c, data, len)) return; /* a plain send, read without jansson (ws_msg.c) */
  if (!full && login_fast(srv, ws, c, data, len)) return;
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
  if (json_is_null(id)) id = NULL; /* as absent */
  if (id && !json_is_string(id) && !json_is_integer(id)) { /* refused unrun: its reply could not carry it */
    reply(ws, NULL, json_string_value(json_object_get(req, "op")), IMC_E_JSON_PARSE, "id must be a string or an integer", NULL);
    json_decref(req);
    return;
  }
  json_t *op = json_object_get(req, "op");
  if (!json_is_string(op)) { reply(ws, id, NULL, IMC_E_JSON_PARSE, "op must be a string", NULL); json_decref(req); return; }
  const char *name = json_string_value(op);
  if (full && strcmp(name, "heartbeat") && strcmp(name, "logout")) {
    reply(ws, id, name, IMC_E_OVERLOADED, "too many requests in flight on this connection: wait for their replies", NULL);
    json_decref(req);
    return;
  }
  /* a member given as null is absent, at every depth, for every op (protocol.md "Frames", decisions §63): an
   * optional field keeps its default, a required one is answered as missing, and nothing stored from the
   * frame (a message's packed body) carries the null. The jsonr send path takes no frame with a null in
   * what it reads (it leaves such a frame to this path), so both answer alike. An offline_push_info (or its
   * AndroidInfo / ApnsInfo) of nothing but nulls is absent, not {} (§70). */
  jsonnull_drop_keys(req, im_msg_optional_objects);
  const cws_op_t *o = cws_ops;
  while (o->name && strcmp(o->name, name)) o++;
  /* a relationship op waits while an account deletion of the app is not durable (rel_gate.c, §101) */
  /* a reply_only read the reader queue has no room for waits for it, the connection not read (ws_read_wait.c, §120) */
  if (!op_refused(srv, ws, c, o, name, id, len) && !rel_gate_ws_defer(srv, ws, c, o, id, req) &&
      !(o->reply_only && cws_read_wait_park(srv, ws, c, o, id, req, 0))) {
    cws_reader_owner(srv, c, o->reply_only); /* its reads queue as this connection's (§65) */
    srv->ws_frame_reads = o->reply_only;
    o->fn(srv, ws, c, id, req);
    cws_reader_owner(srv, NULL, 0);
  }
  json_decref(req);
}
