/* ws_pace.c — login pacing: at most cfg->ws_logins_per_turn WebSocket
 * logins start per event-loop turn (UserSig verification, admission, the
 * writer job), and none once those started in the turn have taken
 * cfg->ws_login_turn_us (the first always starts; each start is timed with
 * uv_hrtime); the others wait in arrival order and start in the next turns.
 * A storm of logins then costs each turn a bounded amount of work, and
 * requests that arrive meanwhile (REST, messages of logged-in users) are
 * answered in the same turn instead of behind the whole storm. Loop thread
 * only.
 *
 * Turn order (libuv): the prepare handle starts waiting logins (up to the
 * per-turn budget) before the loop polls, so their replies go out in net's
 * check phase of the same turn; a login read during the poll starts at once
 * only while nothing waits and the turn's budget is not spent, else it
 * waits. An idle handle, active while logins wait, keeps the poll from
 * blocking. A waiting login holds its connection (cws_hold); one whose
 * connection closed or started closing meanwhile is dropped when its turn
 * comes. Memory: one entry per waiting login (with its frame's fields,
 * cws_login_req_t), none otherwise. */
#include "api/api_int.h"
#include "util/err.h"

#include <assert.h>
#include <stdlib.h>

typedef struct pace_wait {
  struct pace_wait *next;
  cws_conn_t *conn;      /* held */
  cws_login_req_t *req;  /* owned */
} pace_wait_t;

struct cws_pace {
  uv_prepare_t prepare;
  uv_idle_t idle;        /* active while logins wait: the poll does not block */
  pace_wait_t *head, *tail;
  size_t waiting;
  int64_t started;       /* logins started in this turn */
  uint64_t spent_ns;     /* their time */
  uint64_t deferred;     /* logins that waited for a later turn (ever) */
};

static void wait_free(pace_wait_t *w)
{
  cws_login_req_free(w->req);
  cws_release(w->conn);
  free(w);
}

static void on_idle(uv_idle_t *h) { (void)h; }

/* This turn's budget (count and time) has room for one more login. */
static int turn_has_room(const api_srv_t *srv, const struct cws_pace *p)
{
  return p->started < srv->cfg->ws_logins_per_turn && p->spent_ns < (uint64_t)srv->cfg->ws_login_turn_us * 1000u;
}

static void start_timed(api_srv_t *srv, struct cws_pace *p, net_ws_t *ws, cws_conn_t *c, const cws_login_req_t *req)
{
  uint64_t t0 = uv_hrtime();
  p->started++;
  cws_login_start(srv, ws, c, req);
  p->spent_ns += uv_hrtime() - t0;
}

static void on_prepare(uv_prepare_t *h)
{
  api_srv_t *srv = h->data;
  struct cws_pace *p = srv->pace;
  p->started = 0;
  p->spent_ns = 0;
  while (p->head && turn_has_room(srv, p)) {
    pace_wait_t *w = p->head;
    if (!(p->head = w->next)) p->tail = NULL;
    p->waiting--;
    net_ws_t *ws = cws_usable(w->conn);
    if (ws) {
      assert(cws_state(w->conn) == CWS_LOGIN_PENDING);
      cws_set_waiting(w->conn, 0);
      start_timed(srv, p, ws, w->conn, w->req);
    }
    wait_free(w);
  }
  if (!p->head) uv_idle_stop(&p->idle);
}

int cws_pace_init(api_srv_t *srv)
{
  struct cws_pace *p = calloc(1, sizeof *p);
  if (!p) return IMC_E_NOMEM;
  uv_prepare_init(srv->loop, &p->prepare);
  uv_idle_init(srv->loop, &p->idle);
  p->prepare.data = p->idle.data = srv;
  uv_prepare_start(&p->prepare, on_prepare);
  srv->pace = p;
  return 0;
}

void cws_pace_close(api_srv_t *srv)
{
  struct cws_pace *p = srv->pace;
  if (!p) return;
  if (!uv_is_closing((uv_handle_t *)&p->prepare)) uv_close((uv_handle_t *)&p->prepare, NULL);
  if (!uv_is_closing((uv_handle_t *)&p->idle)) uv_close((uv_handle_t *)&p->idle, NULL);
}

void cws_pace_free(api_srv_t *srv)
{
  struct cws_pace *p = srv->pace;
  if (!p) return;
  while (p->head) {
    pace_wait_t *w = p->head;
    p->head = w->next;
    wait_free(w);
  }
  free(p);
  srv->pace = NULL;
}

void cws_pace_login(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, cws_login_req_t *req)
{
  struct cws_pace *p = srv->pace;
  if (!p || (!p->head && turn_has_room(srv, p))) {
    if (p) start_timed(srv, p, ws, c, req);
    else cws_login_start(srv, ws, c, req);
    cws_login_req_free(req);
    return;
  }
  pace_wait_t *w = malloc(sizeof *w);
  if (!w) { cws_reply(ws, req->id, "login", IMC_E_NOMEM, NULL, NULL); cws_login_req_free(req); return; }
  *w = (pace_wait_t){ NULL, cws_hold(c), req };
  if (p->tail) p->tail->next = w;
  else p->head = w;
  p->tail = w;
  p->waiting++;
  p->deferred++;
  cws_set_waiting(c, 1);
  uv_idle_start(&p->idle, on_idle);
}

void cws_pace_stats(const api_srv_t *srv, uint64_t *waiting, uint64_t *deferred)
{
  *waiting = srv->pace ? srv->pace->waiting : 0;
  *deferred = srv->pace ? srv->pace->deferred : 0;
}
