/* sqlite_ckpt.c — see store_ckpt.h. The WAL hook only records the WAL's
 * length; store_ckpt_run checkpoints on the same connection, on the writer
 * thread, between batches; store_wal_sync makes the writer's COMMITs
 * durable, on its sync thread. */
#include "store/sqlite_int.h"
#include "store/store_ckpt.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* Sync the directory that holds path (the WAL's name). */
static int sync_dir_of(const char *path)
{
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return IMC_E_IO;
  int d = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return IMC_E_IO;
  int rc = fsync(d) ? IMC_E_IO : 0;
  close(d);
  return rc;
}

int store_wal_sync_open(store_t *s, int *fd)
{
  sqlite3 *db = store__sqlite_db(s);
  char *mode = NULL;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    mode = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  int wal = mode && !strcmp(mode, "wal");
  sqlite3_free(mode);
  if (!wal || sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) return IMC_E_IO;
  const char *path = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
  int f = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
  struct stat sb;
  if (f < 0 || fstat(f, &sb) || !S_ISREG(sb.st_mode) || sync_dir_of(path) || store_wal_sync(f)) {
    IMC_ERROR("store", "msg=\"cannot open the WAL for syncing\" path=\"%s\" errno=%d", path ? path : "", errno);
    if (f >= 0) close(f);
    return IMC_E_IO;
  }
  *fd = f;
  return 0;
}

int store_wal_sync(int fd)
{
  struct stat sb;
  if (fdatasync(fd)) return IMC_E_IO;
  if (fstat(fd, &sb) || sb.st_nlink == 0) return IMC_E_IO; /* cannot happen while the writer's connection is open */
  return 0;
}
