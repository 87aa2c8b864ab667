/* store_ckpt.h — WAL checkpoints of the writer's connection, out of its
 * COMMITs.
 *
 * SQLite's auto-checkpoint runs inside the COMMIT that takes the WAL past
 * its threshold: that COMMIT copies the WAL's pages into the database file
 * and fsyncs it before it returns, so the acknowledgements of its whole
 * batch wait for the checkpoint too (docs/decisions/store-pipeline.md,
 * "Checkpoints"). Here the writer connection's WAL hook replaces the
 * auto-checkpoint and only records the WAL's length after each COMMIT; the
 * writer thread checkpoints, when the WAL holds at least STORE_CKPT_PAGES
 * pages, between batches: after it has handed the committed batch back to
 * the loop (store_ckpt_run), so the batch's acknowledgements leave first.
 * Jobs that arrive meanwhile wait for the checkpoint, as they did when it
 * ran inside a COMMIT; the WAL stays bounded (STORE_CKPT_PAGES plus one
 * batch). Deferring the checkpoint while jobs wait was measured and is not
 * used: the WAL grew to four times the threshold and every batch's run()
 * got slower (each page read probes more of the WAL index).
 *
 * A PASSIVE checkpoint on the writer's own connection: no other writer runs
 * meanwhile, so it copies the whole WAL unless a reader still reads an older
 * snapshot, and the next transaction writes the WAL from its start again.
 * Durability is SQLite's own (with synchronous=NORMAL as with FULL, a
 * checkpoint syncs the WAL before it copies pages and the database after;
 * a WAL is restarted only once wholly copied and synced): a kill -9 at any
 * point leaves every committed transaction in the WAL or in the database,
 * and a power loss every synced one (store_wal_sync below).
 *
 * A checkpointer thread with its own connection, checkpointing beside the
 * writer, was measured and is not used either: its database writeback slowed
 * every concurrent COMMIT's fsync on the same disk, and its last pass still
 * had to stop the writer to let the WAL restart. The decision record has
 * the numbers of all three.
 *
 * Thread: the writer thread alone (the hook runs inside its COMMITs); the
 * writer copies the counters (st) into its own stats under its mutex after
 * each batch, where /healthz reads them. */
#ifndef IMC_STORE_CKPT_H
#define IMC_STORE_CKPT_H

#include <stdint.h>

#include "store/store.h"
#include "util/hist.h"

#define STORE_CKPT_PAGES 16384 /* 64 MiB of 4 KiB pages, as the auto-checkpoint was (sqlite.c) */

typedef struct store_ckpt_stats {
  uint64_t runs;            /* checkpoints run */
  uint64_t failed;          /* checkpoints that returned an error (SQLITE_BUSY included: the CLI's) */
  uint64_t wal_pages;       /* pages in the WAL after the last COMMIT */
  uint64_t wal_pages_max;   /* the most seen after a COMMIT */
  imc_hist_t took;          /* duration of each checkpoint (the next batch's wait, if any) */
} store_ckpt_stats_t;

typedef struct store_ckpt {
  store_t *s;
  int pages;                /* the threshold: STORE_CKPT_PAGES unless set otherwise */
  int wal_pages;            /* after the last COMMIT (the hook) */
  store_ckpt_stats_t st;
} store_ckpt_t;

/* ---- the WAL's sync, out of the COMMIT (store_writer.h, "Sync") ------------
 *
 * The writer's connection runs synchronous=NORMAL: a COMMIT appends its
 * frames to the WAL with write() and returns without syncing it (a kill -9
 * loses nothing: the frames are in the OS page cache; SQLite still syncs the
 * WAL before each checkpoint and the database after it, so the database
 * cannot be corrupted). The writer's sync thread then makes them durable
 * with fdatasync on a descriptor of its own on the same WAL file: the page
 * cache is per file, so one fdatasync covers every frame any descriptor
 * wrote before it started. The WAL file cannot be replaced while s is open:
 * SQLite deletes it only when the last connection closes or leaves WAL mode,
 * and both need an exclusive lock that s's shared lock refuses; s itself
 * keeps its WAL descriptor for its lifetime. store_wal_sync checks after
 * each sync that the file is still linked all the same. */

/* Switch s (a writing SQLite connection, outside a transaction) to
 * synchronous=NORMAL and open a descriptor on its WAL file; the WAL's
 * directory is synced once, so the file's name survives a power loss too
 * (SQLite would sync it at the WAL's first sync, which now is ours). *fd is
 * the caller's to close, after s's last COMMIT has been synced.
 * 0, IMC_E_IO (no WAL file: s is not in WAL mode; or a system error). */
int store_wal_sync_open(store_t *s, int *fd);
/* fdatasync fd (store_wal_sync_open): every frame committed before the
 * call started is durable when it returns 0. IMC_E_IO: the sync failed or
 * the file was unlinked; what it covered is not known to be durable. Any
 * thread; fd must stay open meanwhile. */
int store_wal_sync(int fd);

/* Take over the checkpoints of s, a writing SQLite connection: install the
 * WAL hook (SQLite's auto-checkpoint is off on s from then on) and set the
 * threshold to STORE_CKPT_PAGES. c is the caller's, zeroed, and must
 * outlive s or store_ckpt_stop. */
void store_ckpt_start(store_ckpt_t *c, store_t *s);
/* Remove the hook (the auto-checkpoint stays off). */
void store_ckpt_stop(store_ckpt_t *c);
/* Between transactions (writer thread): checkpoint if the last COMMIT left
 * at least c->pages pages in the WAL. */
void store_ckpt_run(store_ckpt_t *c);

#endif
