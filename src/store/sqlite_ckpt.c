/* sqlite_ckpt.c — see store_ckpt.h. The WAL hook only records the WAL's
 * length; store_ckpt_run checkpoints on the same connection, on the writer
 * thread, between batches. */
#include "store/sqlite_int.h"
#include "store/store_ckpt.h"
#include "util/log.h"

#include <time.h>

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Inside each COMMIT of the connection: pages is the WAL's length in frames.
 * Installing a hook replaces SQLite's auto-checkpoint (itself a WAL hook). */
static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
  (void)db; (void)name;
  store_ckpt_t *c = arg;
  c->wal_pages = pages;
  c->st.wal_pages = (uint64_t)pages;
  if ((uint64_t)pages > c->st.wal_pages_max) c->st.wal_pages_max = (uint64_t)pages;
  return SQLITE_OK;
}

void store_ckpt_start(store_ckpt_t *c, store_t *s)
{
  c->s = s;
  c->pages = STORE_CKPT_PAGES;
  sqlite3_wal_hook(store__sqlite_db(s), on_wal, c);
}

void store_ckpt_stop(store_ckpt_t *c)
{
  if (c->s) sqlite3_wal_hook(store__sqlite_db(c->s), NULL, NULL);
  c->s = NULL;
}

void store_ckpt_run(store_ckpt_t *c)
{
  if (!c->s || c->wal_pages < c->pages) return;
  sqlite3 *db = store__sqlite_db(c->s);
  int log = 0, done = 0;
  uint64_t t0 = now_ns();
  int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  imc_hist_add(&c->st.took, now_ns() - t0);
  c->st.runs++;
  if (rc != SQLITE_OK) {
    c->st.failed++;
    IMC_WARN("store", "msg=\"checkpoint failed\" err=\"%s\"", sqlite3_errmsg(db));
  }
  c->wal_pages = 0; /* the next COMMIT tells whether the WAL restarted */
}
