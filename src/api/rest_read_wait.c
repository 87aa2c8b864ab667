/* rest_read_wait.c — a REST read the reader pool's queue has no room for
 * waits for it instead of being refused 60018 (decisions §125), as a
 * WebSocket read does (ws_read_wait.c, §120). A REST_READ_WAITS route (the
 * route table's column: admin_getroammsg, get_c2c_unread_msg_num,
 * recentcontact/get_list, group reads) whose request passed its checks, or an
 * operator API GET (its one job a reader job: op_read_wait_park), while
 * the queue is at its cap (store_reader_full), or while earlier REST requests
 * wait here, is kept: its context (route, parsed body, the net request, which
 * the HTTP layer keeps, orphaned, if its client goes). A later request of the
 * same HTTP connection, whatever its route, waits behind it, so that a
 * connection's requests take effect in the order sent, as their replies go
 * out (http.c); a connection holds at most NET_MAX_PIPELINE unanswered
 * requests (it is not read beyond), so the list is bounded by the open HTTP
 * connections. When the reader makes room (api_read_room, the reader's one
 * on_room callback) the REST and WebSocket lists take turns, one request each,
 * while there is room: a storm of one kind leaves the other half the room,
 * and neither needs the other's clock; a read held by its app's share is
 * passed over, with its connection's later requests (§127). A waiting request whose client is gone
 * is dropped unanswered (at its turn, the next tick, or when a new connection
 * gets its connection's number, §128); one that waited
 * cfg->rest_read_wait_max_ms is answered 60018 at a tick, as before §125; a
 * stopping server answers each 70500, as rest_v4_handle answers a request
 * arriving then (an operator request: 503 OVERLOADED and 503 SHUTDOWN, its
 * API's shape). Two kinds do not wait behind their connection's requests
 * (http.c still sends their replies in order): a v4 request refused before
 * its handler (nothing done), and an operator route answered on the loop
 * (the test clock, the jobs: no store job), which takes effect ahead of them.
 * A read also waits at its arrival when its app's reads queued hold its share
 * of the room (§65), where its submit would be refused; and a read run again
 * — from the deletion gate, or at its completion for a deletion committed
 * meanwhile (§115) — waits here too (rest_read_wait_rerun, §126), its
 * context and so its reruns kept, before its connection's waiting requests
 * (all of them arrived after it). Loop thread. */
#include "api/operator_int.h"
#include "api/rel_gate.h"
#include "store/store_reader.h"
#include "util/err.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REST_READ_WAIT_WHY "the reader queue stayed full for rest_read_wait_max_ms; retry later"

typedef struct rest_read_node {
  struct rest_read_node *next;  /* arrival order */
  rest_ctx_t *c;                /* a v4 request, owned until its turn; or NULL and: */
  op_req_t *o;                  /* an operator API request (§125: its GETs wait too) */
  uint64_t conn;                /* its connection's net_req_conn_id when it arrived */
  uint64_t since_ms;            /* uv_now when it arrived */
} rest_read_node_t;

/* A connection's requests waiting here (of_conn's value, by net_req_conn_id): how many, and one of them, the one
 * looked at to tell whether the connection is still open: the last one parked, or, once it left before the others
 * (a rerun let through ahead of its connection's, §126), another (§130). */
typedef struct conn_entry {
  size_t count;
  rest_read_node_t *last;
} conn_entry_t;

/* n (its conn set) counted as its connection's last request waiting: 0, or IMC_E_NOMEM (nothing changed). */
static int conn_add(rest_read_wait_t *w, rest_read_node_t *n)
{
  conn_entry_t *e = u64map_get(&w->of_conn, n->conn);
  if (!e) {
    if (!(e = calloc(1, sizeof *e))) return IMC_E_NOMEM;
    if (u64map_put(&w->of_conn, n->conn, e)) { free(e); return IMC_E_NOMEM; }
  }
  e->count++;
  e->last = n;
  return 0;
}

/* n, unlinked, leaves: uncounted (the entry freed with its connection's last). If it was the one the entry looks
 * at, another of its connection's takes its place (§130): a walk of the list, only when a request leaves before
 * requests of its connection parked earlier. */
static void conn_sub(rest_read_wait_t *w, const rest_read_node_t *n)
{
  conn_entry_t *e = u64map_get(&w->of_conn, n->conn);
  assert(e && e->count > 0);
  if (--e->count == 0) {
    (void)u64map_del(&w->of_conn, n->conn);
    free(e);
    return;
  }
  if (e->last != n) return;
  e->last = NULL;
  for (rest_read_node_t *at = w->head; at && !e->last; at = at->next)
    if (at->conn == n->conn) e->last = at;
  assert(e->last && e->last != n);
}

/* 1 when c's app's reads queued hold its share of the queue's room (§65): its read submitted now is refused. */
static int at_share(api_srv_t *srv, const rest_ctx_t *c)
{
  size_t queued, room;
  store_reader_owner_load(srv->reader, rest_reader_owner(c->sdkappid), &queued, &room);
  return queued && queued >= room;
}

/* Link n at the tail, or (first_of_conn) before the first node of its connection: a rerun (§126) is older than
 * every request of its connection waiting here (each arrived while it was in the gate or in the reader). */
static void link_node(rest_read_wait_t *w, rest_read_node_t *n, int first_of_conn)
{
  rest_read_node_t *prev = NULL, *at = w->head;
  if (first_of_conn)
    while (at && at->conn != n->conn) { prev = at; at = at->next; }
  if (!first_of_conn || !at) {
    if (w->tail) w->tail->next = n;
    else w->head = n;
    w->tail = n;
    return;
  }
  n->next = at;
  if (prev) prev->next = n;
  else w->head = n;
}

static net_req_t *node_req(const rest_read_node_t *n);
static void drop_orphans(api_srv_t *srv, uint64_t conn);

/* 1 when a read of c (NULL: an operator GET, nobody's, refused by the cap only) must wait now: REST requests wait
 * before it (no overtaking), the queue is at its cap, or its app's reads queued hold its share (§65, §126). */
static int read_must_wait(api_srv_t *srv, const rest_ctx_t *c)
{
  return srv->rest_read_wait.head || store_reader_full(srv->reader) || (c && at_share(srv, c));
}

/* Keep (c or o, its request req; reads: a read that waits at a full queue or at its app's share; rerun: c run
 * again, §126) if it must wait: 1, or 0 to run it now. */
static int park(api_srv_t *srv, rest_ctx_t *c, op_req_t *o, net_req_t *req, int reads, int rerun)
{
  rest_read_wait_t *w = &srv->rest_read_wait;
  uint64_t conn = net_req_conn_id(req);
  /* stopping: nothing waits any more (rest_read_wait_stop ran; a v4 request is answered 70500 before here, an
   * operator request is queued or refused as before §125, a rerun by rest_read_wait_rerun) */
  if (!srv->reader || srv->stopping || !conn) return 0;
  /* a route that runs at once pays one pointer test while nothing waits */
  conn_entry_t *e = w->head ? u64map_get(&w->of_conn, conn) : NULL;
  /* their connection gone: they are a closed connection's whose memory, and so its number, this one got (§128):
   * dropped now, as the tick would drop them, rather than holding this connection's requests behind them */
  if (e && !net_req_conn_id(node_req(e->last))) {
    drop_orphans(srv, conn);
    e = NULL;
  }
  int behind = e != NULL;
  /* any request waits behind its connection's; a rerun has none of its connection's before it: those waiting
   * arrived after it */
  int waits = reads && read_must_wait(srv, c);
  if (!waits && (rerun || !behind)) return 0;
  rest_read_node_t *n = malloc(sizeof *n);
  if (!n) return 0; /* run it: the reader's cap answers 60018 */
  *n = (rest_read_node_t){ .c = c, .o = o, .conn = conn, .since_ms = uv_now(srv->loop) };
  if (conn_add(w, n)) { free(n); return 0; }
  link_node(w, n, rerun && behind);
  w->parked++;
  w->waits++;
  return 1;
}

int rest_read_wait_park(api_srv_t *srv, rest_ctx_t *c)
{
  return park(srv, c, NULL, c->req, c->route->read_wait == REST_READ_WAITS, 0);
}

void rest_read_wait_rerun(api_srv_t *srv, rest_ctx_t *c)
{
  int reads = c->route->read_wait == REST_READ_WAITS;
  /* stopping: one that would wait is answered as the waiting ones were (rest_read_wait_stop) */
  if (reads && srv->stopping && srv->reader && read_must_wait(srv, c)) {
    rest_reply_err(c, IMC_E_SHUTDOWN, NULL, NULL);
    return;
  }
  if (!reads || !park(srv, c, NULL, c->req, 1, 1)) rest_dispatch(c); /* c->rereads goes with c */
}

int op_read_wait_park(api_srv_t *srv, op_req_t *o) { return park(srv, NULL, o, o->req, o->get, 0); }

static net_req_t *node_req(const rest_read_node_t *n) { return n->c ? n->c->req : n->o->req; }

/* 1 when n's turn needs room in the reader queue: a read (not one behind a read of its connection) whose client
 * is still there. */
static int needs_room(const rest_read_node_t *n)
{
  return net_req_conn_id(node_req(n)) && (n->c ? n->c->route->read_wait == REST_READ_WAITS : n->o->get);
}

/* Answer n's request err (status for the operator API's) and free it; its client gone: nothing written. */
static void refuse(rest_read_node_t *n, int status, int err, const char *why)
{
  if (!n->c) op_refuse(n->o, status, err, why);
  else if (!net_req_conn_id(n->c->req)) rest_ctx_drop(n->c);
  else rest_reply_err(n->c, err, why, NULL);
}

/* Unlink n, whose predecessor is prev (NULL: the head). The caller frees it after its request's turn. */
static void unlink_node(rest_read_wait_t *w, rest_read_node_t *prev, rest_read_node_t *n)
{
  if (prev) prev->next = n->next;
  else w->head = n->next;
  if (w->tail == n) w->tail = prev;
  conn_sub(w, n);
  w->parked--;
}

/* n's turn (unlinked; freed here): a v4 request runs from its edition gate on, as a request just read (the deletion
 * gate may hold it); an operator request's job is queued; its client gone: dropped unanswered. */
static void run(api_srv_t *srv, rest_read_node_t *n)
{
  rest_ctx_t *c = n->c;
  op_req_t *o = n->o;
  int gone = !net_req_conn_id(node_req(n));
  if (gone) refuse(n, 503, IMC_E_CANCELED, NULL);
  free(n);
  if (gone) return;
  if (o) { op_submit(o); return; }
  char why[320];
  int rc = api_gate_check(srv, c->sdkappid, c->route->gate, why, sizeof why);
  if (rc) { rest_reply_err(c, rc, why, NULL); return; }
  if (rel_gate_defer(srv, c)) return;
  rest_dispatch(c);
}

/* Drop every request waiting under conn, each of a closed connection (§128, §130: the one its entry looks at is
 * gone, and a number's requests are all of one connection): unanswered, nothing written, as the tick drops them. */
static void drop_orphans(api_srv_t *srv, uint64_t conn)
{
  rest_read_wait_t *w = &srv->rest_read_wait;
  rest_read_node_t *prev = NULL, *n = w->head;
  while (n) {
    rest_read_node_t *next = n->next;
    if (n->conn != conn) {
      prev = n;
    } else {
      assert(!net_req_conn_id(node_req(n)));
      unlink_node(w, prev, n);
      refuse(n, 503, IMC_E_CANCELED, NULL);
      free(n);
    }
    n = next;
  }
}

/* One turn of the REST list looks at most this many waiting requests past ones held (§131: a set lookup each). */
#define REST_PASS_MAX (REST_PASS_SLOTS / 2)
_Static_assert((REST_PASS_SLOTS & (REST_PASS_SLOTS - 1)) == 0, "REST_PASS_SLOTS is a power of two");

/* 1 if key is in the turn's set t (gen), else 0 after adding it when add. At most REST_PASS_MAX keys a turn, so
 * the table is at most half full and a probe ends. */
static int pass_set(rest_pass_slot_t *t, uint32_t gen, uint64_t key, int add)
{
  for (size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (REST_PASS_SLOTS - 1);; i = (i + 1) & (REST_PASS_SLOTS - 1)) {
    if (t[i].gen != gen) {
      if (add) t[i] = (rest_pass_slot_t){ key, gen };
      return 0;
    }
    if (t[i].key == key) return 1;
  }
}

/* One turn of the REST list: 1 when a request ran or was dropped, 0 when none may run now (no room, or each one
 * looked at is held). A v4 read whose app's reads queued hold its share of the room (§65) is passed over, as
 * §123 passes over a WebSocket connection at its share: its app's own completions call the room again, and
 * another app's read behind it runs meanwhile instead of waiting for them. A request of a connection passed
 * over is passed over too (a connection's requests keep their order), and so is a read of an app passed over
 * (its share is the same: looked up once per app and turn). Not past REST_PASS_MAX requests: the walk is bounded
 * per turn, each request passed over costing a lookup in the turn's sets (§131). A request behind a read of its
 * connection that is not itself a read needs no room. */
static int rest_next(api_srv_t *srv)
{
  rest_read_wait_t *w = &srv->rest_read_wait;
  if (!w->head || !srv->reader || srv->stopping) return 0;
  int full = store_reader_full(srv->reader);
  if (++w->pass_gen == 0) { /* every 2^32 turns: no slot may look valid */
    memset(w->pass_conn, 0, sizeof w->pass_conn);
    memset(w->pass_app, 0, sizeof w->pass_app);
    w->pass_gen = 1;
  }
  uint32_t gen = w->pass_gen;
  rest_read_node_t *prev = NULL, *n = w->head;
  for (size_t looked = 0; n && looked < REST_PASS_MAX; looked++, prev = n, n = n->next) {
    int held = pass_set(w->pass_conn, gen, n->conn, 0);
    if (!held && needs_room(n)) {
      if (full) return 0; /* no read can run; one passed over holds the connections behind it */
      /* an operator GET is nobody's (owner 0): refused by the cap only */
      if (n->c && !(held = pass_set(w->pass_app, gen, n->c->sdkappid, 0)) && at_share(srv, n->c)) {
        held = 1;
        (void)pass_set(w->pass_app, gen, n->c->sdkappid, 1);
      }
    }
    if (!held) {
      unlink_node(w, prev, n);
      run(srv, n);
      return 1;
    }
    (void)pass_set(w->pass_conn, gen, n->conn, 1);
  }
  return 0;
}

void api_read_room(void *arg)
{
  api_srv_t *srv = arg;
  /* one of each in turn: a handler queues one read at once, so room seen is room taken */
  for (;;) {
    int ran = rest_next(srv);
    ran |= cws_read_wait_next(srv);
    if (!ran) break;
  }
}

void rest_read_wait_tick(api_srv_t *srv)
{
  rest_read_wait_t *w = &srv->rest_read_wait;
  uint64_t now = uv_now(srv->loop);
  rest_read_node_t *prev = NULL, *n = w->head;
  while (n) {
    rest_read_node_t *next = n->next;
    int gone = !net_req_conn_id(node_req(n));
    if (gone || now - n->since_ms >= (uint64_t)srv->cfg->rest_read_wait_max_ms) {
      w->expired += !gone;
      unlink_node(w, prev, n);
      refuse(n, 503, IMC_E_OVERLOADED, REST_READ_WAIT_WHY); /* gone: dropped, nothing written */
      free(n);
    } else {
      prev = n;
    }
    n = next;
  }
  api_read_room(srv); /* a request no longer behind one of its connection may run now */
}

void rest_read_wait_stop(api_srv_t *srv)
{
  rest_read_wait_t *w = &srv->rest_read_wait;
  while (w->head) {
    rest_read_node_t *n = w->head;
    unlink_node(w, NULL, n);
    refuse(n, 503, IMC_E_SHUTDOWN, NULL);
    free(n);
  }
}

void rest_read_wait_free(api_srv_t *srv)
{
  rest_read_wait_t *w = &srv->rest_read_wait;
  /* a loop ended without a stop (a harness): the net server is gone, every request an orphan */
  while (w->head) {
    rest_read_node_t *n = w->head;
    unlink_node(w, NULL, n);
    refuse(n, 503, IMC_E_CANCELED, NULL); /* an orphan: freed, nothing written */
    free(n);
  }
  u64map_free(&w->of_conn);
}
