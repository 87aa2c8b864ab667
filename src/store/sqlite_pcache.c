/* sqlite_pcache.c — see sqlite_pcache.h.
 *
 * Why it is exact: a cache starts empty (hi 0). Every page it holds was
 * placed at its number by xFetch (returning it) or by xRekey (moving it),
 * and both raise hi to that number (except the pending-byte number, which
 * has its own flag); the default cache only ever removes pages by itself
 * (recycling, shrinking), which cannot break an upper bound. So when
 * xTruncate(limit) finds hi < limit and no page possibly at the
 * pending-byte number (or that number below the limit), the default cache
 * holds no page at or past the limit and its truncate would remove
 * nothing. After a truncate that ran, every page left is below the limit:
 * hi becomes limit - 1. */
#include "store/sqlite_pcache.h"

#include <sqlite3.h>
#include <stdlib.h>

typedef struct pc {
  sqlite3_pcache *real;
  unsigned hi;                  /* no page other than at `pending` has a number above it */
  unsigned pending;             /* the pending-byte page's number for this page size */
  int at_pending;               /* a page may be at `pending` */
  sqlite3_pcache_page *pend_pg; /* that page, when known */
} pc_t;

static sqlite3_pcache_methods2 def; /* the default cache's methods */
static uint64_t n_trunc, n_skip;

static void count(uint64_t *c) { __atomic_fetch_add(c, 1, __ATOMIC_RELAXED); }

void sq__pcache_stats(sq_pcache_stats_t *out)
{
  out->truncates = __atomic_load_n(&n_trunc, __ATOMIC_RELAXED);
  out->skipped = __atomic_load_n(&n_skip, __ATOMIC_RELAXED);
}

/* A page is now at key. */
static void placed(pc_t *c, sqlite3_pcache_page *pg, unsigned key)
{
  if (key == c->pending) { c->at_pending = 1; c->pend_pg = pg; }
  else if (key > c->hi) c->hi = key;
}

static int w_init(void *arg) { (void)arg; return def.xInit ? def.xInit(def.pArg) : SQLITE_OK; }
static void w_shutdown(void *arg) { (void)arg; if (def.xShutdown) def.xShutdown(def.pArg); }

static sqlite3_pcache *w_create(int sz_page, int sz_extra, int purgeable)
{
  pc_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (!(c->real = def.xCreate(sz_page, sz_extra, purgeable))) { free(c); return NULL; }
  /* SQLite's PENDING_BYTE_PAGE: the page holding byte sqlite3PendingByte (1 GiB unless a test moved it) */
  c->pending = sz_page > 0 ? (unsigned)(0x40000000u / (unsigned)sz_page) + 1 : 0;
  return (sqlite3_pcache *)c;
}

static void w_cachesize(sqlite3_pcache *p, int n) { def.xCachesize(((pc_t *)p)->real, n); }
static int w_pagecount(sqlite3_pcache *p) { return def.xPagecount(((pc_t *)p)->real); }

static sqlite3_pcache_page *w_fetch(sqlite3_pcache *p, unsigned key, int create)
{
  pc_t *c = (pc_t *)p;
  sqlite3_pcache_page *pg = def.xFetch(c->real, key, create);
  if (pg) placed(c, pg, key);
  return pg;
}

static void w_unpin(sqlite3_pcache *p, sqlite3_pcache_page *pg, int discard)
{
  pc_t *c = (pc_t *)p;
  if (discard && c->at_pending && pg == c->pend_pg) c->at_pending = 0; /* a page has one number at a time */
  def.xUnpin(c->real, pg, discard);
}

static void w_rekey(sqlite3_pcache *p, sqlite3_pcache_page *pg, unsigned old_key, unsigned new_key)
{
  pc_t *c = (pc_t *)p;
  def.xRekey(c->real, pg, old_key, new_key);
  if (old_key == c->pending) c->at_pending = 0; /* the one page there left it */
  placed(c, pg, new_key);
}

static void w_truncate(sqlite3_pcache *p, unsigned limit)
{
  pc_t *c = (pc_t *)p;
  if (c->hi < limit && !(c->at_pending && c->pending >= limit)) { count(&n_skip); return; }
  count(&n_trunc);
  def.xTruncate(c->real, limit);
  if (c->hi >= limit) c->hi = limit ? limit - 1 : 0;
  if (c->pending >= limit) c->at_pending = 0;
}

static void w_destroy(sqlite3_pcache *p)
{
  pc_t *c = (pc_t *)p;
  def.xDestroy(c->real);
  free(c);
}

static void w_shrink(sqlite3_pcache *p) { if (def.xShrink) def.xShrink(((pc_t *)p)->real); }

int sq__pcache_install(void)
{
  static const sqlite3_pcache_methods2 wrap = { 1, NULL, w_init, w_shutdown, w_create, w_cachesize, w_pagecount,
                                                 w_fetch, w_unpin, w_rekey, w_truncate, w_destroy, w_shrink };
  sqlite3_pcache_methods2 d;
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &d) != SQLITE_OK || !d.xCreate) return -1;
  def = d;
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrap) == SQLITE_OK ? 0 : -1;
}
