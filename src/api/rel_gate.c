/* rel_gate.c — relationship REST requests wait while an account deletion of
 * their app is in flight (decisions §98): that deletion's purge is applied
 * to memory before its transaction commits (rel_account_purge), and nothing
 * a client is told may rest on a change that is not durable. A request that
 * waits runs, in arrival order, once the last deletion of its app has
 * committed or been undone. Loop thread. */
#include "api/rel_api.h"
#include "util/err.h"

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
};

static int is_gated(const rest_route_t *r)
{
  for (size_t i = 0; i < sizeof gated / sizeof gated[0]; i++)
    if (r->fn == gated[i]) return 1;
  return 0;
}

/* The deletions of app in flight (a counter of its own, so that a release never allocates). */
static size_t *held(const api_srv_t *srv, uint32_t app)
{
  return u64map_get(&srv->rel_gate.held, app);
}

int rel_gate_hold(api_srv_t *srv, uint32_t app)
{
  size_t *n = held(srv, app);
  if (n) { ++*n; return 0; }
  if (!(n = malloc(sizeof *n))) return IMC_E_NOMEM;
  *n = 1;
  if (u64map_put(&srv->rel_gate.held, app, n)) { free(n); return IMC_E_NOMEM; }
  return 0;
}

int rel_gate_defer(api_srv_t *srv, rest_ctx_t *c)
{
  rel_gate_t *g = &srv->rel_gate;
  if (!held(srv, c->sdkappid) || !is_gated(c->route)) return 0;
  if (g->waiting >= REL_GATE_WAIT_MAX) {
    g->refused++;
    rest_reply_err(c, IMC_E_OVERLOADED, "too many relationship requests wait for an account deletion to be durable; "
                   "retry later", NULL);
    return 1;
  }
  c->gate_next = NULL;
  if (g->tail) g->tail->gate_next = c;
  else g->head = c;
  g->tail = c;
  g->waiting++;
  g->deferred++;
  return 1;
}

void rel_gate_release(api_srv_t *srv, uint32_t app)
{
  rel_gate_t *g = &srv->rel_gate;
  size_t *n = held(srv, app);
  if (!n || --*n) return;
  free(u64map_del(&g->held, app));
  rest_ctx_t *mine = NULL, **tail = &mine, **p = &g->head; /* the app's waiting requests, in order, unlinked */
  g->tail = NULL;
  while (*p) {
    rest_ctx_t *c = *p;
    if (c->sdkappid != app) { g->tail = c; p = &c->gate_next; continue; }
    *p = c->gate_next;
    c->gate_next = NULL;
    *tail = c;
    tail = &c->gate_next;
    g->waiting--;
  }
  while (mine) { /* a handler run here cannot hold the app again: account_delete is not gated */
    rest_ctx_t *c = mine;
    mine = c->gate_next;
    c->gate_next = NULL;
    if (srv->stopping) rest_reply_err(c, IMC_E_SHUTDOWN, NULL, NULL);
    else rest_dispatch(c);
  }
}

void rel_gate_free(api_srv_t *srv)
{
  u64map_free_each(&srv->rel_gate.held, free);
}
