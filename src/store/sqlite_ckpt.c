/* sqlite_ckpt.c — see store_ckpt.h. The WAL hook only records the WAL's
 * length; store_ckpt_run checkpoints on the same connection, on the writer
 * thread, between batches (blocking rounds), and asks the round thread for
 * pinned rounds (copy and database sync off the writer thread); store_wal_sync makes the writer's COMMITs durable,
 * on its sync thread. */
#include "store/sqlite_int.h"
#include "store/store_ckpt.h"
#include "store/store_writer.h"
#include "store/sqlite_vfs.h"
#include "util/err.h"
#include "util/faultsim.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
  if (pages < c->backfilled) c->backfilled = 0; /* the WAL restarted (a round copied all, no pin held) */
  c->wal_pages = pages;
  c->st.wal_pages = (uint64_t)pages;
  if ((uint64_t)pages > c->st.wal_pages_max) c->st.wal_pages_max = (uint64_t)pages;
  return SQLITE_OK;
}

/* Test hook (store_ckpt.h): after the copy, while the hold file exists,
 * create "<hold>.held" (the copy is done) and wait. */
static void sync_hold(const store_ckpt_t *c)
{
  if (!c->hold_path || access(c->hold_path, F_OK)) return;
  char held[4096];
  snprintf(held, sizeof held, "%s.held", c->hold_path);
  int fd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  while (!access(c->hold_path, F_OK)) usleep(2000);
}

static int pin_begin(store_ckpt_t *c);
static void pin_end(store_ckpt_t *c);

/* fdatasync the database file after a copy; on failure -1 with its errno
 * in c->sync_errno (the fault site db_sync fails it as EIO would). */
static int db_sync(store_ckpt_t *c)
{
  if (imc_fault(IMC_FAULT_DB_SYNC)) errno = EIO;
  else if (!fdatasync(c->db_fd)) return 0;
  c->sync_errno = errno;
  return -1;
}

/* One pinned round, on the round thread: the pin's read transaction, the
 * copy on the round's own connection with the database sync deferred, the
 * fdatasync, then the pin ends — unless the sync failed (store_ckpt.h).
 * Returns the SQLite code of the copy or IMC_E_IO; *ckpt the frames copied. */
static int round_run(store_ckpt_t *c, int *ckpt, uint64_t *copy_ns, uint64_t *sync_ns)
{
  int log = 0, on = 1, off = 0;
  *ckpt = 0;
  *copy_ns = *sync_ns = 0;
  int rc = pin_begin(c);
  if (rc != SQLITE_OK) return rc;
  uint64_t t0 = now_ns();
  sqlite3_file_control(c->cc, "main", SQ_VFS_FCNTL_DEFER_SYNC, &on);
  rc = sqlite3_wal_checkpoint_v2(c->cc, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, ckpt);
  sqlite3_file_control(c->cc, "main", SQ_VFS_FCNTL_DEFER_SYNC, &off);
  uint64_t t1 = now_ns();
  *copy_ns = t1 - t0;
  if (rc != SQLITE_OK) { pin_end(c); return rc; } /* what it copied is in the WAL still */
  sync_hold(c);
  uint64_t t2 = now_ns();
  if (db_sync(c)) return IMC_E_IO; /* the pin stays */
  *sync_ns = now_ns() - t2;
  pin_end(c);
  return 0;
}

/* The round thread: one pinned round per request, at a lower priority than
 * the writer (it uses the core only when the loop and the writer leave it).
 * It is started from the loop's thread (store_writer_start), so it first
 * takes the writer's level below the loop (store__helper_start), then
 * STORE_CKPT_ROUND_NICE more. */
static void *round_main(void *arg)
{
  store_ckpt_t *c = arg;
  store__helper_start("imc-ckpt", 1);
  setpriority(PRIO_PROCESS, (id_t)gettid(), getpriority(PRIO_PROCESS, 0) + STORE_CKPT_ROUND_NICE);
  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (!c->want && !c->stop) pthread_cond_wait(&c->cv, &c->mu);
    if (!c->want) break;
    pthread_mutex_unlock(&c->mu);
    int ckpt;
    uint64_t copy_ns, sync_ns;
    int rc = round_run(c, &ckpt, &copy_ns, &sync_ns);
    pthread_mutex_lock(&c->mu);
    c->want = 0;
    c->done = 1;
    c->rc = rc;
    c->r_ckpt = ckpt;
    c->copy_ns = copy_ns;
    c->sync_ns = sync_ns;
    pthread_cond_broadcast(&c->cv); /* a writer at the WAL's cap waits for it */
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

void store_ckpt_start(store_ckpt_t *c, store_t *s)
{
  c->s = s;
  c->pages = STORE_CKPT_PAGES;
  c->db_fd = -1;
  sqlite3 *db = store__sqlite_db(s);
  sqlite3_wal_hook(db, on_wal, c);
  const char *path = sqlite3_db_filename(db, "main");
  const char *hold = getenv("IMCLOUD_TEST_CKPT_SYNC_HOLD");
  if (hold && *hold) c->hold_path = strdup(hold);
  int probe = 0; /* does the VFS defer syncs? (then it answers this file control) */
  /* off (below) without the name too: the rounds that sync the database themselves keep the WAL by it after a failed
   * sync (db_sync_broke), and so does the writer's sync thread after a failed WAL sync (writer_run.c); a start out
   * of memory for it keeps neither */
  if (!path || !(c->db_path = strdup(path)) ||
      sqlite3_file_control(db, "main", SQ_VFS_FCNTL_DEFER_SYNC, &probe) != SQLITE_OK ||
      sqlite3_open_v2(path, &c->pin, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
      sqlite3_exec(c->pin, "PRAGMA query_only=ON", NULL, NULL, NULL) != SQLITE_OK ||
      !sq__vfs_name() ||
      sqlite3_open_v2(path, &c->cc, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, sq__vfs_name()) != SQLITE_OK ||
      sqlite3_exec(c->cc, "PRAGMA synchronous=NORMAL; SELECT 1 FROM sqlite_schema LIMIT 1", NULL, NULL, NULL) !=
        SQLITE_OK ||
      (c->db_fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
    IMC_WARN("store", "msg=\"checkpoints keep their database sync on the writer thread\" path=\"%s\" errno=%d",
             path ? path : "", errno);
    goto off;
  }
  sqlite3_busy_timeout(c->pin, 1000);
  sqlite3_wal_autocheckpoint(c->cc, 0); /* it never writes; its checkpoints are the rounds */
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  if (pthread_create(&c->thread, NULL, round_main, c)) {
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    goto off;
  }
  c->started = 1;
  return;
off:
  if (c->db_fd >= 0) close(c->db_fd);
  c->db_fd = -1;
  sq__close_db(c->pin);
  c->pin = NULL;
  sq__close_db(c->cc);
  c->cc = NULL;
}

static void pin_end(store_ckpt_t *c)
{
  if (c->pin_open) sqlite3_exec(c->pin, "COMMIT", NULL, NULL, NULL);
  c->pin_open = 0;
}

/* Open the pin's read transaction (it reads page 1). 0 or an SQLite code. */
static int pin_begin(store_ckpt_t *c)
{
  sqlite3_stmt *st;
  int rc = sqlite3_exec(c->pin, "BEGIN", NULL, NULL, NULL);
  if (rc != SQLITE_OK) return rc;
  c->pin_open = 1;
  if ((rc = sqlite3_prepare_v2(c->pin, "SELECT 1 FROM sqlite_schema LIMIT 1", -1, &st, NULL)) == SQLITE_OK) {
    rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    sqlite3_finalize(st);
  }
  if (rc != SQLITE_OK) pin_end(c);
  return rc;
}

void store_ckpt_stop(store_ckpt_t *c)
{
  if (!c->s) return;
  if (c->started) {
    pthread_mutex_lock(&c->mu);
    c->stop = 1; /* a sync asked for runs first */
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    c->started = 0;
  }
  /* The pin ends even after a failed sync: the WAL is intact, and every
   * connection of this process to the database then closes without SQLite's
   * checkpoint (store_db_keep_wal), which would take the frames the failed
   * round copied as synced and delete the WAL; the next start's recovery
   * reads the whole WAL again and its checkpoints copy all of it. */
  pin_end(c);
  sq__close_db(c->pin);
  c->pin = NULL;
  sq__close_db(c->cc);
  c->cc = NULL;
  if (c->db_fd >= 0) close(c->db_fd);
  c->db_fd = -1;
  free(c->hold_path);
  c->hold_path = NULL;
  free(c->db_path);
  c->db_path = NULL;
  sqlite3_wal_hook(store__sqlite_db(c->s), NULL, NULL);
  c->s = NULL;
}

/* A database sync after a copy failed (its errno in c->sync_errno): the pin
 * stays for good (the WAL must not restart over frames the database may not
 * hold), checkpoints stop, this process's connections will close without
 * SQLite's checkpoint (store_db_keep_wal: the WAL stays for the next start's
 * recovery), and it is counted and logged. */
static void db_sync_broke(store_ckpt_t *c)
{
  c->broken = 1;
  c->st.db_sync_failed++;
  store_db_keep_wal(c->db_path);
  IMC_ERROR("store", "msg=\"database sync after a checkpoint failed: no more checkpoints, the WAL grows; "
                     "restart the server\" err=%s errno=%d", imc_err_name(IMC_E_IO), c->sync_errno);
}

/* The calling thread's CPU time (ns). */
static uint64_t thread_cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A blocking round's copy on s (SQLite syncs the database inside unless
 * defer: then the VFS defers it, as a pinned round's copy), counted as the
 * writer's stop; the cycle's state starts over. Returns SQLite's code
 * (logged when not SQLITE_OK). */
static int blocking_copy(store_ckpt_t *c, int defer)
{
  sqlite3 *db = store__sqlite_db(c->s);
  int log = 0, ckpt = 0, off = 0;
  uint64_t t0 = now_ns(), c0 = thread_cpu_ns();
  if (defer) sqlite3_file_control(db, "main", SQ_VFS_FCNTL_DEFER_SYNC, &defer);
  int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);
  if (defer) sqlite3_file_control(db, "main", SQ_VFS_FCNTL_DEFER_SYNC, &off);
  uint64_t took = now_ns() - t0;
  imc_hist_add(&c->st.took, took);
  imc_hist_add(&c->st.took_blocking, took);
  c->st.took_ns += took;
  c->st.blocking_cpu_ns += thread_cpu_ns() - c0;
  c->st.runs++;
  if (rc != SQLITE_OK) {
    c->st.failed++;
    IMC_WARN("store", "msg=\"checkpoint failed\" err=\"%s\"", sqlite3_errmsg(db));
  }
  c->wal_pages = 0; /* the next COMMIT tells whether the WAL restarted */
  c->backfilled = 0;
  c->rounds = 0;
  return rc;
}

/* The round that ends a cycle (or every checkpoint, pinned rounds off) when
 * it cannot be split (store_ckpt_final_copy), on the writer's connection, on
 * the thread the writer handed it to (the sync thread: store_ckpt.h): SQLite
 * syncs the database before it publishes the copy, so the next transaction
 * may restart the WAL. */
void store_ckpt_blocking(store_ckpt_t *c) { blocking_copy(c, 0); }

/* The blocking round, split (store_ckpt.h, "The blocking round's database
 * sync beside the next transaction"): the pin, then the copy on s with the
 * database sync deferred. 1: the copy is published and the pin held, the
 * caller runs store_ckpt_final_sync next; 0: nothing follows (the round ran
 * whole as store_ckpt_blocking does, or its copy failed and the pin ended:
 * nothing was published past what is synced, and what it copied is in the
 * WAL still). */
int store_ckpt_final_copy(store_ckpt_t *c)
{
  if (!c->started || c->broken || pin_begin(c) != SQLITE_OK) { store_ckpt_blocking(c); return 0; }
  if (blocking_copy(c, 1) == SQLITE_OK) return 1;
  pin_end(c);
  return 0;
}

void store_ckpt_final_sync(store_ckpt_t *c)
{
  sync_hold(c);
  uint64_t t0 = now_ns();
  if (db_sync(c)) {
    db_sync_broke(c);
    return;
  }
  imc_hist_add(&c->st.final_sync, now_ns() - t0);
  pin_end(c);
}

/* Ask the round thread for a pinned round; the writer goes on. */
static void pinned_round(store_ckpt_t *c)
{
  c->rounds++;
  c->st.pinned++;
  pthread_mutex_lock(&c->mu);
  c->want = 1;
  c->done = 0;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  c->syncing = 1;
}

/* journal_size_limit from the threshold (STORE_CKPT_WAL_KEEP), when it changed. */
static void wal_keep(store_ckpt_t *c)
{
  sqlite3 *db = store__sqlite_db(c->s);
  sqlite3_stmt *st;
  int64_t page = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) != SQLITE_OK) return;
  if (sqlite3_step(st) == SQLITE_ROW) page = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  char sql[80];
  snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%lld", (long long)(page * c->pages * STORE_CKPT_WAL_KEEP));
  if (page > 0 && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK) c->limit_pages = c->pages;
}

/* The blocking round once few frames wait, or once the rounds stop shrinking (the disk writes back no faster than
 * batches dirty pages: more rounds would only copy more), or at the bounds. */
store_ckpt_end_t store_ckpt_final(int pages, int wal_pages, int pending, int last_pending, int rounds)
{
  int few = pages / STORE_CKPT_FINAL_DIV < STORE_CKPT_FINAL_MAX ? pages / STORE_CKPT_FINAL_DIV : STORE_CKPT_FINAL_MAX;
  const struct { int holds; store_ckpt_end_t end; } ends[] = {
    { pending <= few, STORE_CKPT_END_FEW },
    { rounds >= 2 && pending >= last_pending, STORE_CKPT_END_FLAT },
    { wal_pages >= STORE_CKPT_WAL_CAP * pages, STORE_CKPT_END_WAL_CAP },
    { rounds >= STORE_CKPT_ROUNDS_MAX, STORE_CKPT_END_ROUNDS },
  };
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
    if (ends[i].holds) return ends[i].end;
  return STORE_CKPT_GO_ON;
}

const char *store_ckpt_end_name(store_ckpt_end_t e)
{
  static const char *const names[STORE_CKPT_ENDS] = {
    [STORE_CKPT_GO_ON] = "go_on", [STORE_CKPT_END_FEW] = "few", [STORE_CKPT_END_FLAT] = "flat",
    [STORE_CKPT_END_WAL_CAP] = "wal_cap", [STORE_CKPT_END_ROUNDS] = "rounds",
  };
  return (unsigned)e < STORE_CKPT_ENDS ? names[e] : "?";
}

int store_ckpt_run(store_ckpt_t *c)
{
  if (!c->s || c->broken) return 0;
  if (c->limit_pages != c->pages) wal_keep(c);
  if (c->syncing) {
    pthread_mutex_lock(&c->mu);
    if (c->wal_pages >= STORE_CKPT_WAL_CAP * c->pages) /* the bound on the WAL: wait for the sync */
      while (!c->done) pthread_cond_wait(&c->cv, &c->mu);
    int done = c->done, rc = c->rc, ckpt = c->r_ckpt;
    uint64_t copy_ns = c->copy_ns, sync_ns = c->sync_ns;
    pthread_mutex_unlock(&c->mu);
    if (!done) return 0; /* the batches go on meanwhile */
    c->syncing = 0;
    c->st.runs++;
    if (rc > 0) { /* the copy failed (SQLITE_BUSY: the CLI's checkpoint); the pin has ended */
      c->st.failed++;
      IMC_WARN("store", "msg=\"pinned checkpoint failed\" err=\"%s\"", sqlite3_errstr(rc));
      c->rounds = 0;
      return 0;
    }
    imc_hist_add(&c->st.copy, copy_ns);
    if (!rc) imc_hist_add(&c->st.db_sync, sync_ns);
    if (ckpt > c->backfilled) c->backfilled = ckpt;
    if (rc) { /* the database sync failed (round_run returns IMC_E_IO only then) */
      db_sync_broke(c);
      return 0;
    }
    int pending = c->wal_pages - c->backfilled;
    if (pending <= 0) { c->rounds = 0; return 0; } /* nothing committed meanwhile: the WAL may restart now */
    store_ckpt_end_t end = store_ckpt_final(c->pages, c->wal_pages, pending, c->last_pending, c->rounds);
    c->last_pending = pending;
    if (end != STORE_CKPT_GO_ON) {
      c->st.ends[end]++;
      return 1;
    }
    pinned_round(c);
    return 0;
  }
  if (c->wal_pages < c->pages) return 0;
  if (c->started && c->pinned_on) { pinned_round(c); return 0; }
  return 1;
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
  if (imc_fault(IMC_FAULT_WAL_SYNC) || fdatasync(fd)) return IMC_E_IO;
  if (fstat(fd, &sb) || sb.st_nlink == 0) return IMC_E_IO; /* cannot happen while the writer's connection is open */
  return 0;
}

int store_wal_counted(store_t *s) { return sq__vfs_is(store__sqlite_db(s)); }

uint64_t store_wal_writes(void) { return sq__vfs_wal_writes(); }

void store_disk_bytes(uint64_t *wal, uint64_t *db)
{
  sq_vfs_stats_t v;
  sq__vfs_stats(&v);
  *wal = v.wal_bytes;
  *db = v.db_bytes;
}
