/* ws_read_wait.c — a WebSocket read the reader pool's queue has no room for
 * waits for it instead of being refused 60018 (decisions §120). A reply_only
 * op (sync, history, conversations, group_history, group_sync, …: the op
 * table's flag) whose frame arrives while the queue is at its cap
 * (store_reader_full), or while earlier such requests wait, is kept (its op
 * row, id, frame and a hold on its connection), and its connection is not
 * read meanwhile: its later frames wait in its buffers and socket, so a
 * connection keeps at most one request here and the list is bounded by the
 * connections. After each batch of the reader's completions (the jobs they
 * complete were taken, which made room: store_reader_on_room, api_read_room)
 * the waiting requests run from the start, oldest first, while the queue has
 * room (taking turns with the REST ones, §125); then
 * their connections are read again. A request whose session ends while it
 * waits (close, kick, logout) is dropped unanswered (cws_read_wait_drop). A
 * stopping server answers each waiting request 70500 (cws_read_wait_stop),
 * as rel_gate_stop does. REST reads do not wait here: they wait in their own
 * list (rest_read_wait.c, §125), the two taking turns at the room
 * (api_read_room, which calls cws_read_wait_next).
 * A read run from the deletion gate (rel_gate.c ws_run) and a history run
 * again at its completion (§115) wait here too, their reruns kept (§121):
 * a connection may then have more than one request here (its ->same chain),
 * each from a request the gate or its reader held, so still bounded. A
 * request's later read refused at a full queue (conversations' unread counts,
 * a group_list row's unread count) waits here as a continuation (§124): its
 * request's state kept by its op, the read queued again at its turn, never
 * its first read again. Loop thread. */
#include "api/rel_gate.h"
#include "store/store_reader.h"
#include "util/err.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct cws_read_node {
  struct cws_read_node *prev, *next;  /* arrival order */
  struct cws_read_node *same;         /* the connection's next waiting request (§121), or NULL */
  cws_conn_t *c;                      /* held */
  uint32_t sid;                       /* the session it was made in */
  uint8_t rereads;                    /* a read's reruns so far (§115, §118), given back to its handler */
  const cws_op_t *op;                 /* NULL for a continuation */
  json_t *id, *req;                   /* id: borrowed from req (or NULL); both NULL for a continuation */
  cws_read_cont_fn cont;              /* a continuation (§124): its op's state, owned here until cont is called */
  void *arg;
} cws_read_node_t;

static uint64_t conn_key(const cws_conn_t *c) { return (uint64_t)(uintptr_t)c; }

static void unlink_node(cws_read_wait_t *w, cws_read_node_t *n)
{
  if (n->prev) n->prev->next = n->next;
  else w->head = n->next;
  if (n->next) n->next->prev = n->prev;
  else w->tail = n->prev;
  cws_read_node_t *first = u64map_get(&w->of_conn, conn_key(n->c));
  if (first == n && n->same) (void)u64map_put(&w->of_conn, conn_key(n->c), n->same); /* a replace: never fails */
  else if (first == n) (void)u64map_del(&w->of_conn, conn_key(n->c));
  else {
    while (first->same != n) first = first->same;
    first->same = n->same;
  }
  w->parked--;
}

/* Append n (its c, and what it runs, set) at the tail, behind its connection's waiting ones, and hold c; its
 * connection is not read until its last node here has run. 0, or IMC_E_NOMEM (n freed, nothing changed). */
static int link_node(api_srv_t *srv, cws_read_node_t *n)
{
  cws_read_wait_t *w = &srv->read_wait;
  cws_conn_t *c = n->c;
  n->prev = w->tail;
  n->sid = cws_session(c)->sid;
  /* a frame's request finds none of its connection's here (it was not read meanwhile); one from the gate or a
   * completion may: behind them (§121) */
  cws_read_node_t *last = cws_read_parked(c) ? u64map_get(&w->of_conn, conn_key(c)) : NULL;
  while (last && last->same) last = last->same;
  if (last) last->same = n;
  else if (u64map_put(&w->of_conn, conn_key(c), n)) { free(n); return IMC_E_NOMEM; }
  cws_hold(c);
  if (w->tail) w->tail->next = n;
  else w->head = n;
  w->tail = n;
  w->parked++;
  w->waits++;
  if (!last) cws_read_parked_set(srv, c, 1);
  return 0;
}

int cws_read_wait_park(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_op_t *o, json_t *id, json_t *req,
                       uint8_t rereads)
{
  cws_read_wait_t *w = &srv->read_wait;
  /* a frame of another op pays nothing; a reply_only one a pointer test and one atomic load, no lock. Earlier
   * requests waiting: this one waits behind them, whatever the queue's room (arrival order, no overtaking) */
  if (!srv->reader || (!w->head && !store_reader_full(srv->reader))) return 0;
  if (srv->stopping) { cws_reply(ws, id, o->name, IMC_E_SHUTDOWN, NULL, NULL); return 1; } /* cws_read_wait_stop ran */
  cws_read_node_t *n = malloc(sizeof *n);
  if (!n) return 0; /* run it: the reader's cap answers 60018 */
  *n = (cws_read_node_t){ .c = c, .rereads = rereads, .op = o, .id = id, .req = req };
  if (link_node(srv, n)) return 0;
  json_incref(req);
  return 1;
}

int cws_read_wait_cont(api_srv_t *srv, cws_conn_t *c, cws_read_cont_fn fn, void *arg)
{
  assert(fn && cws_usable(c) && cws_state(c) == CWS_ONLINE);
  if (srv->stopping) return IMC_E_SHUTDOWN; /* cws_read_wait_stop ran: answered as the waiting ones were */
  cws_read_node_t *n = malloc(sizeof *n);
  if (!n) return IMC_E_OVERLOADED;          /* the refusal stands: 60018, as before §121 */
  *n = (cws_read_node_t){ .c = c, .cont = fn, .arg = arg };
  return link_node(srv, n) ? IMC_E_OVERLOADED : 0;
}

/* Free n (unlinked): its frame, then its hold (cws_release_req: the connection's own pause may end with it). */
static void node_free(api_srv_t *srv, cws_read_node_t *n)
{
  cws_conn_t *c = n->c;
  json_decref(n->req);
  free(n);
  cws_release_req(srv, c);
}

void cws_read_wait_drop(api_srv_t *srv, cws_conn_t *c)
{
  cws_read_wait_t *w = &srv->read_wait;
  if (!cws_read_parked(c)) return;
  cws_read_node_t *n;
  while ((n = u64map_get(&w->of_conn, conn_key(c)))) {
    assert(n->c == c);
    unlink_node(w, n);
    /* a continuation's state freed unanswered (its holds go with it; c still reads as parked, so none reads c) */
    if (n->cont) n->cont(n->arg, IMC_E_CANCELED);
    /* the session's end runs inside close paths that still use c: its hold goes, never its last (the socket's) */
    json_decref(n->req);
    free(n);
    cws_release(c);
  }
  cws_read_parked_set(srv, c, -1); /* its session ends: nothing to read again */
}

/* n's turn (unlinked): run from the start if its session is still online — its edition gate and the deletion gate
 * asked again, as for a frame just read — then its connection is read again. */
static void node_run(api_srv_t *srv, cws_read_node_t *n)
{
  cws_conn_t *c = n->c;
  net_ws_t *ws = cws_usable(c);
  /* its last here: not waiting any more (a session ending in its handler finds nothing to drop); else the others
   * keep it unread, and are dropped if its session ends in this handler */
  if (!u64map_get(&srv->read_wait.of_conn, conn_key(c))) cws_read_parked_set(srv, c, -1);
  int live = ws && cws_state(c) == CWS_ONLINE && cws_session(c)->sid == n->sid;
  if (live && n->cont) {
    /* a continuation (§124): its read queued again as this connection's, its request's earlier reads not rerun;
     * no gate asked again — its request passed them, and a read queued behind a full queue is one delayed */
    cws_reader_owner(srv, c, 1);
    n->cont(n->arg, 0);
    cws_reader_owner(srv, NULL, 0);
    srv->ws_frame_reads = 1;
    cws_conn_pace(srv, ws, c);
    srv->ws_frame_reads = 0;
  } else if (n->cont) {
    n->cont(n->arg, IMC_E_CANCELED); /* its session gone: freed unanswered */
  } else if (live) {
    char why[320];
    int rc = api_gate_check(srv, cws_session(c)->sdkappid, n->op->gate, why, sizeof why);
    if (rc) cws_reply(ws, n->id, n->op->name, rc, why, NULL);
    else if (!rel_gate_ws_defer(srv, ws, c, n->op, n->id, n->req)) {
      cws_reader_owner(srv, c, n->op->reply_only); /* its reads queue as this connection's (§65) */
      srv->rel_gate.ws_rereads = n->rereads;       /* a rerun's count goes on (§118, §121) */
      n->op->fn(srv, ws, c, n->id, n->req);
      srv->rel_gate.ws_rereads = 0;
      cws_reader_owner(srv, NULL, 0);
      srv->ws_frame_reads = 1;
      cws_conn_pace(srv, ws, c); /* its share (§65), as after a frame */
      srv->ws_frame_reads = 0;
    }
  }
  /* read again after its read is queued, its later frames behind it — once none of its requests waits here */
  if (!u64map_get(&srv->read_wait.of_conn, conn_key(c))) cws_read_parked_set(srv, c, 0);
  node_free(srv, n);
}

int cws_read_wait_next(api_srv_t *srv)
{
  cws_read_wait_t *w = &srv->read_wait;
  /* one handler queues one read at once (a page), and only this thread adds jobs: room seen is room taken. A
   * connection whose reads already queued hold its share of the room (§65) is passed over, its requests left
   * waiting for the completion of its own reads, which calls here again (§123): run now, a second of its
   * requests (§121's chain) would be refused 60018 by the share. The walk starts again at the head after each
   * run (a handler may end sessions, dropping their nodes); the nodes passed over are at most one per
   * connection's chain, each looked at once per run. */
  if (!w->head || !srv->reader || srv->stopping || store_reader_full(srv->reader)) return 0;
  cws_read_node_t *n = w->head;
  while (n && cws_reads_at_share(srv, n->c)) n = n->next;
  if (!n) return 0;
  unlink_node(w, n);
  node_run(srv, n);
  return 1;
}

void cws_read_wait_stop(api_srv_t *srv)
{
  cws_read_wait_t *w = &srv->read_wait;
  while (w->head) {
    cws_read_node_t *n = w->head;
    unlink_node(w, n);
    net_ws_t *ws = cws_usable(n->c);
    if (n->cont) n->cont(n->arg, IMC_E_SHUTDOWN); /* its op answers 70500 if its session is still there */
    else if (ws) cws_reply(ws, n->id, n->op->name, IMC_E_SHUTDOWN, NULL, NULL);
    if (!u64map_get(&w->of_conn, conn_key(n->c))) cws_read_parked_set(srv, n->c, 0); /* read again, as before */
    node_free(srv, n);
  }
}

void cws_read_wait_free(api_srv_t *srv)
{
  cws_read_wait_t *w = &srv->read_wait;
  /* a loop ended without a stop (a harness): their connections are closed, the requests dropped */
  while (w->head) {
    cws_read_node_t *n = w->head;
    unlink_node(w, n);
    if (n->cont) n->cont(n->arg, IMC_E_CANCELED); /* its state freed, before the node's hold goes */
    json_decref(n->req);
    cws_release(n->c);
    free(n);
  }
  u64map_free(&w->of_conn);
}
