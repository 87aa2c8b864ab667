/* rel_gate.c — relationship requests wait while an account deletion of
 * their app is in flight (decisions §98, §101): that deletion's purge is
 * applied to memory before its transaction commits (rel_account_purge), and
 * nothing a client is told may rest on a change that is not durable. The
 * app's relationship REST commands and WebSocket relationship ops wait, and
 * so do the WebSocket sends whose relationship check reads the rows of an
 * account the deletion names (its sender or its peer). A request that waits
 * runs, in arrival order, once the last deletion of its app has committed or
 * been undone. A login's status push and a session's end (its PushOnline
 * window, its push) of an account a deletion names wait with them, and are
 * dropped if the account was deleted (§103) — one per account and platform,
 * a later change superseding the waiting one in place (§114); so does a
 * login of such an account, completed then or refused as one whose account
 * was deleted (§108), or refused 60018 at the end of its login deadline's
 * hold (§114).
 * The REST message commands naming such an account (sendmsg and the other
 * one-to-one writes, the senders of send_group_msg and import_group_msg)
 * wait too, and run again after it (§108, §112), and so do the one-to-one
 * reads naming it (REST get_c2c_unread_msg_num, recentcontact/get_list,
 * admin_getroammsg; WebSocket history, sync, conversations: §113). Such a
 * read accepted before a deletion and read after its commit runs again at
 * its completion (rel_gate.committed changed, or an account of it named:
 * §115), three times at most, the reruns that waited here counted (§118).
 * A read run from here that finds the reader queue full waits for its room
 * as a frame's does (ws_read_wait.c, §121); a REST one, or one run again at
 * its completion, as a REST read arriving does (rest_read_wait.c, §126).
 * A stopping server answers every waiting request at once (§108).
 * Loop thread. */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "util/err.h"
#include "util/log.h"

#include <stddef.h>
#include <stdlib.h>

/* The REST handlers that read or write relationship rows (rel_api.h), the
 * deleted account's own (profile, conversation groups and marks, global
 * mute) included: the rows a purge removes. */
static const rest_handler_fn gated[] = {
  rest_portrait_set, rest_portrait_get, rest_friend_add, rest_friend_import, rest_friend_update, rest_friend_delete,
  rest_friend_delete_all, rest_friend_check, rest_friend_get, rest_friend_get_list, rest_flist_add, rest_flist_delete,
  rest_flist_get, rest_black_list_add, rest_black_list_delete, rest_black_list_get, rest_black_list_check,
  rest_create_contact_group, rest_update_contact_group, rest_del_contact_group, rest_get_contact_group,
  rest_search_contact_group, rest_mark_contact, rest_setnospeaking, rest_getnospeaking,
  /* an import of an account being deleted: the account seen as there (no account cap, its Nick/FaceUrl events
   * made on the purged record and written for its old number after the deletion): after it, a new account (§108) */
  rest_account_import, rest_multiaccount_import,
};

/* The WebSocket ops that read or write relationship rows (ws_rel.c, ws_status.c: pending requests, friends,
 * the user's META status text). The sends wait only for the deletions naming their users (rel_gate_ws_names). */
static const cws_op_fn ws_gated[] = {
  cws_op_pending, cws_op_friend_response, cws_op_status_set, cws_op_status_get, cws_op_status_subscribe,
  cws_op_status_unsubscribe,
};

/* A WebSocket request that waits: its op row, the frame (a reference) and the connection (held). */
typedef struct ws_wait {
  rel_gate_node_t node;
  cws_conn_t *c;
  uint32_t sid;                  /* the session it was made in: a later one does not run it */
  uint8_t rereads;               /* a read run again (§115): its reruns so far, given back to its handler (§118) */
  const cws_op_t *op;
  json_t *id, *req;              /* id: borrowed from req (or NULL) */
} ws_wait_t;

/* A named account's status change that waits (rel_gate_status): a login's push, or a session's end — the last
 * of its platform's, the ones before superseded in place. */
typedef struct status_wait {
  rel_gate_node_t node;
  struct status_wait *same;      /* the account's next waiting change (another platform), or NULL */
  uint32_t user_no;
  uint8_t end, logout, platform;
  int64_t until_s;
} status_wait_t;

static int is_gated(const rest_route_t *r)
{
  for (size_t i = 0; i < sizeof gated / sizeof gated[0]; i++)
    if (r->fn == gated[i]) return 1;
  return 0;
}

static uint64_t name_key(uint32_t app, uint32_t user_no) { return (uint64_t)app << 32 | user_no; }

/* One more in a map of counters (a counter of its own, so that a release never allocates): 0 or IMC_E_NOMEM. */
static int count_up(u64map_t *m, uint64_t key)
{
  size_t *n = u64map_get(m, key);
  if (n) { ++*n; return 0; }
  if (!(n = malloc(sizeof *n))) return IMC_E_NOMEM;
  *n = 1;
  if (u64map_put(m, key, n)) { free(n); return IMC_E_NOMEM; }
  return 0;
}

/* One less: 1 when that was the last. */
static int count_down(u64map_t *m, uint64_t key)
{
  size_t *n = u64map_get(m, key);
  if (!n || --*n) return 0;
  free(u64map_del(m, key));
  return 1;
}

int rel_gate_hold(api_srv_t *srv, uint32_t app) { return count_up(&srv->rel_gate.held, app); }

int rel_gate_name(api_srv_t *srv, uint32_t app, uint32_t user_no) { return count_up(&srv->rel_gate.named, name_key(app, user_no)); }

void rel_gate_unname(api_srv_t *srv, uint32_t app, uint32_t user_no) { (void)count_down(&srv->rel_gate.named, name_key(app, user_no)); }

/* Every WebSocket frame asks (rel_gate_ws_defer): the empty map's length first, no lookup while nothing is held. */
int rel_gate_held(const api_srv_t *srv, uint32_t app)
{
  return srv->rel_gate.held.len && u64map_get(&srv->rel_gate.held, app) != NULL;
}

/* Room for one more waiting request: 1, or 0 (counted as refused: the caller answers 60018). */
static int room(api_srv_t *srv)
{
  rel_gate_t *g = &srv->rel_gate;
  if (g->waiting < (size_t)srv->cfg->rel_gate_wait_max) return 1;
  g->refused++;
  return 0;
}

static void enqueue(rel_gate_t *g, rel_gate_node_t *n, uint32_t app, int kind)
{
  n->next = NULL;
  n->app = app;
  n->kind = (uint8_t)kind;
  if (g->tail) g->tail->next = n;
  else g->head = n;
  g->tail = n;
  if (kind == REL_GATE_STATUS) { g->statuses++; return; }
  g->waiting++;
  g->deferred++;
}

#define REL_GATE_FULL "too many requests wait for an account deletion to be durable; retry later"

void rel_gate_rest_wait(api_srv_t *srv, rest_ctx_t *c)
{
  if (srv->stopping) { rest_reply_err(c, IMC_E_SHUTDOWN, NULL, NULL); return; } /* rel_gate_stop ran */
  if (!room(srv)) { rest_reply_err(c, IMC_E_OVERLOADED, REL_GATE_FULL, NULL); return; }
  enqueue(&srv->rel_gate, &c->gate, c->sdkappid, REL_GATE_REST);
}

int rel_gate_defer(api_srv_t *srv, rest_ctx_t *c)
{
  if (!rel_gate_held(srv, c->sdkappid) || !is_gated(c->route)) return 0;
  rel_gate_rest_wait(srv, c);
  return 1;
}

int rel_gate_named(const api_srv_t *srv, uint32_t app, uint32_t user_no)
{
  return user_no && srv->rel_gate.named.len && u64map_get(&srv->rel_gate.named, name_key(app, user_no)) != NULL;
}

int rel_gate_rest_names(api_srv_t *srv, rest_ctx_t *c, uint32_t a, uint32_t b)
{
  if (!rel_gate_named(srv, c->sdkappid, a) && !rel_gate_named(srv, c->sdkappid, b)) return 0;
  rel_gate_rest_wait(srv, c);
  return 1;
}

int rel_gate_named_any(const api_srv_t *srv, uint32_t app, const uint32_t *nos, size_t n)
{
  if (!srv->rel_gate.named.len) return 0; /* no deletion in flight: the one check */
  for (size_t i = 0; i < n; i++)
    if (rel_gate_named(srv, app, nos[i])) return 1;
  return 0;
}

void rel_gate_committed(api_srv_t *srv) { srv->rel_gate.committed++; }

/* One counter for the server, not one per app: a read compares one integer with no lookup; a deletion of another
 * app (an administrator's act, rare) costs the reads in flight then one needless rerun each. */
int rel_gate_stale(const api_srv_t *srv, uint64_t epoch, uint32_t app, const uint32_t *nos, size_t n)
{
  return srv->rel_gate.committed != epoch || rel_gate_named_any(srv, app, nos, n);
}

int rel_gate_rest_reread(api_srv_t *srv, rest_ctx_t *c, const uint32_t *nos, size_t n)
{
  if (!rel_gate_stale(srv, c->read_epoch, c->sdkappid, nos, n)) return 0;
  if (c->rereads >= REL_GATE_REREADS_MAX) { rest_reply_err(c, IMC_E_OVERLOADED, REL_GATE_REREAD_WHY, NULL); return 1; }
  c->rereads++;
  if (c->data_free) c->data_free(c->data);
  c->data = NULL;
  c->data_free = NULL;
  /* from the start: its fields, its accounts (gone: answered so), the gate (named: waits); at a full reader queue
   * or its app's share it waits for room first, its count kept in c (§126) */
  rest_read_wait_rerun(srv, c);
  return 1;
}

/* Make (o, id, req) of c wait, rereads its reruns so far (§118): 1 (waiting, or answered). */
static int ws_wait(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_op_t *o, json_t *id, json_t *req,
                   uint8_t rereads)
{
  if (srv->stopping) { cws_reply(ws, id, o->name, IMC_E_SHUTDOWN, NULL, NULL); return 1; } /* rel_gate_stop ran */
  if (!room(srv)) { cws_reply(ws, id, o->name, IMC_E_OVERLOADED, REL_GATE_FULL, NULL); return 1; }
  ws_wait_t *w = malloc(sizeof *w);
  if (!w) { cws_reply(ws, id, o->name, IMC_E_NOMEM, NULL, NULL); return 1; }
  *w = (ws_wait_t){ .c = cws_hold(c), .sid = cws_session(c)->sid, .rereads = rereads, .op = o, .id = id,
                    .req = json_incref(req) };
  enqueue(&srv->rel_gate, &w->node, cws_session(c)->sdkappid, REL_GATE_WS);
  return 1;
}

int rel_gate_ws_defer(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_op_t *o, json_t *id, json_t *req)
{
  if (cws_state(c) != CWS_ONLINE || !rel_gate_held(srv, cws_session(c)->sdkappid)) return 0;
  for (size_t i = 0; i < sizeof ws_gated / sizeof ws_gated[0]; i++)
    if (o->fn == ws_gated[i]) return ws_wait(srv, ws, c, o, id, req, 0);
  return 0;
}

int rel_gate_ws_rerun_names(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, cws_op_fn fn, json_t *id, json_t *req,
                            uint32_t peer_no, uint8_t rereads)
{
  const im_session_t *s = cws_session(c);
  if (!rel_gate_named(srv, s->sdkappid, s->user_no) && !rel_gate_named(srv, s->sdkappid, peer_no)) return 0;
  const cws_op_t *o = cws_op_row(fn);
  return o ? ws_wait(srv, ws, c, o, id, req, rereads) : 0;
}

int rel_gate_ws_names(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, cws_op_fn fn, json_t *id, json_t *req,
                      uint32_t peer_no)
{
  return rel_gate_ws_rerun_names(srv, ws, c, fn, id, req, peer_no, 0);
}

int rel_gate_login(api_srv_t *srv, rel_gate_node_t *n, uint32_t app, uint32_t user_no, const char **why)
{
  *why = NULL;
  if (!rel_gate_named(srv, app, user_no)) return 0;
  if (srv->stopping) return IMC_E_SHUTDOWN; /* rel_gate_stop ran: nothing waits any more */
  if (!room(srv)) { *why = REL_GATE_FULL; return IMC_E_OVERLOADED; }
  enqueue(&srv->rel_gate, n, app, REL_GATE_LOGIN);
  return 1;
}

#define REL_GATE_DELETING "the account is being deleted and its deletion has not ended within the login's hold; " \
                          "retry later"

rel_gate_node_t *rel_gate_login_take(api_srv_t *srv, int (*is)(const rel_gate_node_t *n, const void *ud),
                                     const void *ud, const char **why)
{
  rel_gate_t *g = &srv->rel_gate;
  rel_gate_node_t *prev = NULL, *n = g->head;
  while (n && (n->kind != REL_GATE_LOGIN || !is(n, ud))) { prev = n; n = n->next; }
  *why = NULL;
  if (!n) return NULL;
  if (prev) prev->next = n->next;
  else g->head = n->next;
  if (g->tail == n) g->tail = prev;
  n->next = NULL;
  g->waiting--;
  *why = REL_GATE_DELETING;
  return n;
}

/* A status change made later supersedes the waiting one of the same account and platform, in its place (§114):
 * what running both in order would give, and the queue holds one node per account and platform at most.
 * - A session's end: its PushOnline window (stored, or cleared by a logout) is the last end's, and it is the
 *   platform's only write of push_until.<platform>; the push reads the status when it runs, which is then final:
 *   every change of its inputs made meanwhile (a login completed, a status_set, a session's end of an account no
 *   longer named) pushes again after it.
 * - A login's push (no platform, no window): any waiting change of the account pushes already, so it adds
 *   nothing; a session's end after it is a node of its own platform. */
int rel_gate_status(api_srv_t *srv, uint32_t app, uint32_t user_no, const im_session_t *end, int logout,
                    int64_t until_s)
{
  rel_gate_t *g = &srv->rel_gate;
  if (!rel_gate_named(srv, app, user_no)) return 0;
  uint64_t key = name_key(app, user_no);
  uint8_t platform = end ? end->platform : 0;
  status_wait_t *first = g->statuses ? u64map_get(&g->status_of, key) : NULL, *w = first;
  if (!end && first) return 1;
  while (w && w->platform != platform) w = w->same;
  if (w) {
    w->end = 1;
    w->logout = (uint8_t)logout;
    w->until_s = until_s;
    return 1;
  }
  /* out of memory: the change is never made — not before the deletion is durable — and is lost (the next session
   * end writes its platform's window again; a login's push is the status it would have pushed) */
  if (!(w = malloc(sizeof *w)) || (!first && u64map_put(&g->status_of, key, w))) {
    free(w);
    IMC_WARN("status", "msg=\"status change of an account being deleted dropped (out of memory)\" app=%u", app);
    return 1;
  }
  *w = (status_wait_t){ .user_no = user_no, .end = end != NULL, .logout = (uint8_t)logout, .platform = platform,
                        .until_s = until_s };
  if (first) { w->same = first->same; first->same = w; }
  enqueue(&srv->rel_gate, &w->node, app, REL_GATE_STATUS);
  return 1;
}

/* A status change's turn: made if the account is still there (its deletion failed), dropped if it was deleted
 * (nothing written for it, nothing pushed to its subscribers). */
static void status_run(api_srv_t *srv, status_wait_t *w)
{
  const char *id = tenant_registry_account_id(srv->reg, w->node.app, w->user_no);
  if (id && w->end) {
    im_session_t s = { .sdkappid = w->node.app, .user_no = w->user_no, .platform = w->platform };
    ws_status_session_end(srv, &s, id, w->logout, w->until_s);
  } else if (id) {
    ws_status_changed(srv, w->node.app, w->user_no);
  }
  free(w);
}

/* A WebSocket request's turn: run from the start (every check again) if its session is still online; dropped
 * unrun if its connection closed or its session ended while it waited (nobody to answer). */
static void ws_run(api_srv_t *srv, ws_wait_t *w)
{
  net_ws_t *ws = cws_usable(w->c);
  if (ws && cws_state(w->c) == CWS_ONLINE && cws_session(w->c)->sid == w->sid) {
    char why[320];
    int rc = srv->stopping ? IMC_E_SHUTDOWN : api_gate_check(srv, w->node.app, w->op->gate, why, sizeof why);
    if (rc) cws_reply(ws, w->id, w->op->name, rc, srv->stopping ? NULL : why, NULL);
    /* a read the reader queue has no room for (or behind reads that wait for it) waits there, its reruns kept
     * (ws_read_wait.c, §121), instead of being refused 60018 */
    else if (!(w->op->reply_only && cws_read_wait_park(srv, ws, w->c, w->op, w->id, w->req, w->rereads))) {
      cws_reader_owner(srv, w->c, w->op->reply_only);
      srv->rel_gate.ws_rereads = w->rereads; /* a rerun's count goes on (§118) */
      w->op->fn(srv, ws, w->c, w->id, w->req);
      srv->rel_gate.ws_rereads = 0;
      cws_reader_owner(srv, NULL, 0);
    }
  }
  cws_release_req(srv, w->c);
  json_decref(w->req);
  free(w);
}

/* A node's turn (unlinked): run, or answered 70500 while the server stops (rel_gate_stop), and freed. */
static void node_run(api_srv_t *srv, rel_gate_node_t *n)
{
  if (n->kind == REL_GATE_STATUS) { status_run(srv, (status_wait_t *)n); return; }
  if (n->kind == REL_GATE_WS) { ws_run(srv, (ws_wait_t *)n); return; }
  if (n->kind == REL_GATE_LOGIN) { cws_login_resume(srv, n, srv->stopping ? IMC_E_SHUTDOWN : 0); return; }
  rest_ctx_t *c = (rest_ctx_t *)((char *)n - offsetof(rest_ctx_t, gate));
  if (srv->stopping) rest_reply_err(c, IMC_E_SHUTDOWN, NULL, NULL);
  else rest_read_wait_rerun(srv, c); /* a read at a full reader queue waits for its room (§126) */
}

/* Unlink the waiting nodes of app (all: of every app) — requests_only: leaving the status changes queued — and
 * return them in arrival order, uncounted; the others keep their order. */
static rel_gate_node_t *take(rel_gate_t *g, int all, uint32_t app, int requests_only)
{
  rel_gate_node_t *mine = NULL, **tail = &mine, **p = &g->head;
  g->tail = NULL;
  while (*p) {
    rel_gate_node_t *n = *p;
    if ((!all && n->app != app) || (requests_only && n->kind == REL_GATE_STATUS)) { g->tail = n; p = &n->next; continue; }
    *p = n->next;
    n->next = NULL;
    *tail = n;
    tail = &n->next;
    if (n->kind == REL_GATE_STATUS) { /* the account's others are taken with it: all of the app's are */
      g->statuses--;
      (void)u64map_del(&g->status_of, name_key(n->app, ((status_wait_t *)n)->user_no));
    } else {
      g->waiting--;
    }
  }
  return mine;
}

/* Each node of a taken list, in order (node_run). */
static void run_all(api_srv_t *srv, rel_gate_node_t *mine)
{
  while (mine) {
    rel_gate_node_t *n = mine;
    mine = n->next;
    n->next = NULL;
    node_run(srv, n);
  }
}

void rel_gate_release(api_srv_t *srv, uint32_t app)
{
  if (!count_down(&srv->rel_gate.held, app)) return;
  run_all(srv, take(&srv->rel_gate, 0, app, 0)); /* a handler run here cannot hold the app again: account_delete is
                                                   * not gated */
}

void rel_gate_stop(api_srv_t *srv)
{
  run_all(srv, take(&srv->rel_gate, 1, 0, 1)); /* srv->stopping: each request answered 70500, none run */
}

void rel_gate_free(api_srv_t *srv)
{
  rel_gate_t *g = &srv->rel_gate;
  /* Status changes still waiting: dropped. Requests are not left after a stop (rel_gate_stop answered them at its
   * signal, and one that would wait since is answered at once); a loop ended without a stop (a harness) drops its
   * WebSocket requests and logins (their connections are closed) and leaves a REST context to its request. */
  while (g->head) {
    rel_gate_node_t *n = g->head;
    g->head = n->next;
    if (n->kind == REL_GATE_STATUS) { free(n); continue; }
    if (n->kind == REL_GATE_LOGIN) { cws_login_resume(srv, n, IMC_E_SHUTDOWN); continue; }
    if (n->kind != REL_GATE_WS) continue;
    ws_wait_t *w = (ws_wait_t *)n;
    cws_release(w->c);
    json_decref(w->req);
    free(w);
  }
  g->tail = NULL;
  g->waiting = g->statuses = 0;
  u64map_free_each(&g->held, free);
  u64map_free_each(&g->named, free);
  u64map_free(&g->status_of); /* its nodes: freed above */
}
