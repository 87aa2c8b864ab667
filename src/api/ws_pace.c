/* ws_pace.c — pacing of WebSocket input: logins per turn, and reading
 * paused under backpressure while the writer has too much in flight.
 *
 * Login pacing: at most cfg->ws_logins_per_turn WebSocket
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
 * cws_login_req_t), none otherwise.
 *
 * Admission by backpressure (docs/decisions/store-pipeline-pacing.md): before
 * each read of a logged-in connection (net's on_ws_read), if the writer's
 * load (its jobs in flight, store_writer_inflight: submitted, done() not yet
 * run, each counting one more per ADMIT_UNIT_BYTES of message it holds) has
 * reached cfg->ws_admit_high_jobs, the connection is not read but paused:
 * its bytes wait in the kernel's socket buffer (TCP flow control slows the
 * client once it fills) and it joins the end of a FIFO. So the load
 * exceeds the high watermark by at most the frames of the one read that
 * crossed it. Once per turn, in the prepare callback, while the load plus
 * what the connections resumed in the last turns are expected to bring is
 * at most cfg->ws_admit_low_jobs, connections leave the FIFO's head and are
 * read again (net_ws_resume_read; net reads them in that order), as many as
 * the room up to the high watermark holds at the measured units per resumed
 * connection. Paused first, resumed first; a resumed connection that is
 * paused again goes to the end: none starves. Logins (not yet online) are
 * never paused; REST has its own limits. A connection that closed while
 * paused (closed by the server, or by net when its peer went away: net
 * watches a paused connection for the peer's FIN or reset, src/net/conn.c
 * on_readable) leaves the FIFO when its turn comes. A paused connection has no idle
 * timeout (its pings and messages wait unread, so the server cannot see
 * them): pausing cancels its deadline, resuming starts the idle period
 * over (ws_idle_timeout_ms); no client is closed with 4004 for the time
 * the server did not read it. Memory: one pointer per paused
 * connection (a ring that grows by doubling; if it cannot grow, the
 * connection is not paused and the writer's cap answers 60018).
 *
 * A connection is also paused, inside a read, for its own requests in
 * flight (cws_conn_pace, client_ws.c, after each frame); its resume is
 * followed by the admission check of the next read, so it is read only when
 * both allow it. */
#include "api/api_int.h"
#include "util/err.h"
#include "util/turnlog.h"

#include <assert.h>
#include <stdlib.h>

typedef struct pace_wait {
  struct pace_wait *next;
  cws_conn_t *conn;      /* held */
  cws_login_req_t *req;  /* owned */
} pace_wait_t;

/* Load units (short frames) a resumed connection is assumed to bring in its
 * first read until measured: a client's window (msg_bench's 16 at 8 per
 * write). */
#define ADMIT_PER_READ_START 16
#define ADMIT_PER_READ_MAX 4096
/* Turns a resumed batch's expected frames count against the room: the
 * turn that reads it, and one more for reads the turn's read budget
 * deferred (src/net/net_int.h). */
#define ADMIT_RESERVE_TURNS 2

typedef struct admit {
  cws_conn_t **ring;     /* paused connections (held), oldest at head */
  size_t head, len, cap;
  size_t reserved;       /* load units the connections resumed recently are still expected to bring */
  int reserve_turns;     /* prepare calls left before reserved is dropped */
  size_t resumed_last;   /* connections resumed in the last batch */
  uint64_t frames;       /* text frames of online connections (ever), in load units (see load()) */
  uint64_t frames_at_resume;
  uint32_t per_read;     /* estimated load units per resumed connection's read */
  uint64_t pauses, resumes;
} admit_t;

struct cws_pace {
  uv_prepare_t prepare;
  uv_idle_t idle;        /* active while logins wait: the poll does not block */
  pace_wait_t *head, *tail;
  size_t waiting;
  int64_t started;       /* logins started in this turn */
  uint64_t spent_ns;     /* their time */
  uint64_t deferred;     /* logins that waited for a later turn (ever) */
  admit_t admit;         /* WebSocket reading paused under backpressure */
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

/* ---- admission by backpressure ------------------------------------------------ */
/* The load admission weighs, in units of one job: the writer's jobs in
 * flight, plus one unit per ADMIT_UNIT_BYTES of payload they hold
 * (store_job_t.bytes: a message's body). A flood of 12 KiB messages then
 * pauses at a quarter of the jobs a flood of short ones does, so the bodies
 * held (and a COMMIT's size) stay near watermark × ADMIT_UNIT_BYTES. A
 * frame read counts in the same units (1 + its length / ADMIT_UNIT_BYTES). */
#define ADMIT_UNIT_BYTES 4096u
static size_t load(const api_srv_t *srv)
{
  return store_writer_inflight(srv->writer) + (size_t)(store_writer_inflight_bytes(srv->writer) / ADMIT_UNIT_BYTES);
}
static size_t admit_high(const api_srv_t *srv) { return (size_t)srv->cfg->ws_admit_high_jobs; }
static size_t admit_low(const api_srv_t *srv)
{
  return srv->cfg->ws_admit_low_jobs < srv->cfg->ws_admit_high_jobs ? (size_t)srv->cfg->ws_admit_low_jobs
                                                                    : (size_t)srv->cfg->ws_admit_high_jobs;
}

static int ring_push(admit_t *a, cws_conn_t *c)
{
  if (a->len == a->cap) {
    size_t ncap = a->cap ? a->cap * 2 : 256;
    cws_conn_t **n = malloc(ncap * sizeof *n);
    if (!n) return IMC_E_NOMEM;
    for (size_t i = 0; i < a->len; i++) n[i] = a->ring[(a->head + i) % a->cap];
    free(a->ring);
    a->ring = n;
    a->head = 0;
    a->cap = ncap;
  }
  a->ring[(a->head + a->len++) % a->cap] = c;
  return 0;
}

static cws_conn_t *ring_pop(admit_t *a)
{
  assert(a->len > 0);
  cws_conn_t *c = a->ring[a->head];
  a->head = (a->head + 1) % a->cap;
  a->len--;
  return c;
}

/* Resume paused connections, oldest first, while the room below the high
 * watermark holds their expected frames (at least one per turn once at or
 * below the low watermark). */
static void admit_resume(api_srv_t *srv, struct cws_pace *p)
{
  admit_t *a = &p->admit;
  if (a->reserve_turns && --a->reserve_turns == 0) { /* the last batch has been read: measure it, drop its reserve */
    if (a->resumed_last) {
      uint64_t got = (a->frames - a->frames_at_resume) / a->resumed_last;
      uint64_t est = (3u * (uint64_t)a->per_read + (got ? got : 1) + 3) / 4;
      a->per_read = (uint32_t)(est < 1 ? 1 : est > ADMIT_PER_READ_MAX ? ADMIT_PER_READ_MAX : est);
    }
    a->reserved = 0;
    a->resumed_last = 0;
  }
  if (!a->len || !srv->writer) return;
  size_t inflight = load(srv), high = admit_high(srv);
  if (inflight + a->reserved > admit_low(srv) && high) return;
  size_t room = high > inflight + a->reserved ? high - inflight - a->reserved : 0;
  size_t n = high ? room / a->per_read : a->len; /* off (high 0): everyone */
  if (!n) n = 1;
  a->frames_at_resume = a->frames;
  size_t resumed = 0;
  while (a->len && resumed < n) {
    cws_conn_t *c = ring_pop(a);
    net_ws_t *ws = cws_usable(c);
    if (ws) { /* the idle timeout starts over: the time paused was the server's, not the client's silence */
      net_ws_set_idle(ws, (uint32_t)srv->cfg->ws_idle_timeout_ms);
      net_ws_resume_read(ws);
      resumed++;
      a->resumes++;
    }
    cws_release(c);
  }
  a->resumed_last += resumed;
  a->reserved += resumed * a->per_read;
  a->reserve_turns = ADMIT_RESERVE_TURNS;
  uv_idle_start(&p->idle, on_idle); /* the reserve lapses on the next turns even if no event comes */
}

int cws_admit_on_read(void *ud, net_ws_t *ws)
{
  api_srv_t *srv = ud;
  struct cws_pace *p = srv->pace;
  if (!p || !srv->writer || !admit_high(srv) || load(srv) < admit_high(srv)) return 0;
  cws_conn_t *c = net_ws_data(ws);
  if (!c || cws_state(c) != CWS_ONLINE || !cws_usable(c)) return 0; /* logins are paced on their own */
  if (ring_push(&p->admit, cws_hold(c))) { cws_release(c); return 0; } /* no room to wait: read (the writer's cap answers) */
  p->admit.pauses++;
  net_ws_set_deadline(ws, 0); /* no idle close while paused: its pings wait unread in the kernel (resume re-arms it) */
  return 1;
}

void cws_admit_on_text(void *ud, net_ws_t *ws, const char *data, size_t len)
{
  api_srv_t *srv = ud;
  cws_on_text(ud, ws, data, len);
  cws_conn_t *c = net_ws_data(ws);
  if (c) cws_conn_pace(srv, ws, c); /* its own requests in flight: the rest of its input waits */
  if (!srv->pace) return;
  admit_t *a = &srv->pace->admit;
  size_t units = 1 + len / ADMIT_UNIT_BYTES;
  a->frames += units;
  a->reserved = a->reserved > units ? a->reserved - units : 0;
}

void cws_admit_stats(const api_srv_t *srv, uint64_t *paused, uint64_t *pauses, uint64_t *resumes)
{
  const admit_t *a = srv->pace ? &srv->pace->admit : NULL;
  *paused = a ? a->len : 0;
  *pauses = a ? a->pauses : 0;
  *resumes = a ? a->resumes : 0;
}

static void on_prepare_run(uv_prepare_t *h)
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
  admit_resume(srv, p);
  if (!p->head && !p->admit.reserve_turns) uv_idle_stop(&p->idle);
}

/* the turn log (util/turnlog.h) counts its time as logins */
static void on_prepare(uv_prepare_t *h)
{
  int tp = imc_turnlog_enter(IMC_TP_LOGINS);
  on_prepare_run(h);
  imc_turnlog_leave(tp);
}

int cws_pace_init(api_srv_t *srv)
{
  struct cws_pace *p = calloc(1, sizeof *p);
  if (!p) return IMC_E_NOMEM;
  uv_prepare_init(srv->loop, &p->prepare);
  uv_idle_init(srv->loop, &p->idle);
  p->prepare.data = p->idle.data = srv;
  p->admit.per_read = ADMIT_PER_READ_START;
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
  while (p->admit.len) cws_release(ring_pop(&p->admit));
  free(p->admit.ring);
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
