/* c2c_gone.c — an account deleted: its peers' devices are told (c2c.h,
 * messaging-c2c-checks3.md §79). The deletion removes each peer's
 * conversation row with the account (store_account_delete); in the same
 * writer job each such peer gets a CONV_DEL event (seq
 * STORE_CONV_DEL_GONE: not its own doing) with its next useq, so a device
 * that was offline learns it from sync, and once the job is durable the
 * events reach the peers' live sessions in useq order like every inbox
 * event.
 *
 * The work is one inbox row per peer (and its key lookups): the peers are
 * the rows naming the account as their peer (a seek, §87), never more than
 * the accounts of the app. A peer that the same call deletes is told
 * nothing (§87): it is kept, untold (useq 0), and told only if its own
 * deletion fails (im_c2c_gone_tell). */
#include "im/c2c_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct gone_ev { uint32_t peer, useq; } gone_ev_t; /* useq 0: not told (it goes in the same call) */

struct im_c2c_gone {
  uint32_t app, user;
  int64_t at_s;
  char user_id[33];
  gone_ev_t *ev;
  size_t n, cap;
  int oom;
};

static void peer_row(void *ud, uint32_t peer)
{
  im_c2c_gone_t *g = ud;
  if (g->oom) return;
  if (g->n == g->cap) {
    size_t nc = g->cap ? g->cap * 2 : 16;
    gone_ev_t *e = realloc(g->ev, nc * sizeof *e);
    if (!e) { g->oom = 1; return; }
    g->ev = e;
    g->cap = nc;
  }
  g->ev[g->n++] = (gone_ev_t){ peer, 0 };
}

static int tell(store_t *s, im_c2c_gone_t *g, gone_ev_t *e)
{
  return store_msg_inbox_add(s, g->app, e->peer, STORE_EV_CONV_DEL, store_c2c_conv(e->peer, g->user), STORE_CONV_DEL_GONE,
                             g->at_s, &e->useq);
}

int im_c2c_gone_append(store_t *s, uint32_t app, uint32_t user_no, const char *user_id, int64_t at_s,
                       const uint32_t *going, size_t ngoing, im_c2c_gone_t **out)
{
  im_c2c_gone_t *g = calloc(1, sizeof *g);
  *out = NULL;
  if (!g) return IMC_E_NOMEM;
  g->app = app;
  g->user = user_no;
  g->at_s = at_s;
  snprintf(g->user_id, sizeof g->user_id, "%s", user_id ? user_id : "");
  /* every peer first, then the events: an append may write held rows, not while the peers are read */
  int rc = store_msg_gone_peers(s, app, user_no, peer_row, g);
  if (!rc && g->oom) rc = IMC_E_NOMEM;
  for (size_t i = 0; !rc && i < g->n; i++) {
    size_t k = 0;
    while (k < ngoing && going[k] != g->ev[i].peer) k++;
    if (k == ngoing) rc = tell(s, g, &g->ev[i]); /* else: it goes too, untold */
  }
  if (rc) { im_c2c_gone_free(g); return rc; }
  *out = g;
  return 0;
}

int im_c2c_gone_tell(store_t *s, im_c2c_gone_t *g, uint32_t peer)
{
  for (size_t i = 0; g && i < g->n; i++)
    if (g->ev[i].peer == peer) return g->ev[i].useq ? 0 : tell(s, g, &g->ev[i]);
  return 0;
}

void im_c2c_gone_deliver(im_c2c_t *c, im_c2c_gone_t *g)
{
  for (size_t i = 0; g && i < g->n; i++) {
    if (!g->ev[i].useq) continue; /* untold: it went in the same call */
    im_event_t ev = { IM_EV_CONV_DEL, g->app, g->ev[i].peer, g->ev[i].useq, store_c2c_conv(g->ev[i].peer, g->user),
                      STORE_CONV_DEL_GONE, g->at_s, g->user_id, NULL, NULL };
    c2c__publish(c, &ev, 0);
  }
  im_c2c_gone_free(g);
}

void im_c2c_gone_free(im_c2c_gone_t *g)
{
  if (!g) return;
  free(g->ev);
  free(g);
}
