/* store_ckpt.h — WAL checkpoints of the writer's connection, out of its
 * COMMITs.
 *
 * SQLite's auto-checkpoint runs inside the COMMIT that takes the WAL past
 * its threshold: that COMMIT copies the WAL's pages into the database file
 * and fsyncs it before it returns, so the acknowledgements of its whole
 * batch wait for the checkpoint too (docs/decisions/store-pipeline.md,
 * "Checkpoints"). Here the writer connection's WAL hook replaces the
 * auto-checkpoint and only records the WAL's length after each COMMIT; the
 * writer thread starts a checkpoint, when the WAL holds at least
 * STORE_CKPT_PAGES pages, between batches (store_ckpt_run); a blocking
 * round runs after the committed batch is synced and handed back to the
 * loop ("Blocking rounds on the sync thread" below), so the batch's
 * acknowledgements leave first.
 * Jobs that arrive meanwhile wait for the checkpoint, as they did when it
 * ran inside a COMMIT (since wave 47 they run during its database sync and
 * only their COMMIT waits: below); the WAL stays bounded (STORE_CKPT_PAGES plus one
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
 * Pinned rounds (issue 13, branch small). A checkpoint's own work on the
 * writer thread is copying pages (CPU); most of its time was the database
 * file's fdatasync after the copy (random pages written back: 100-300 ms
 * per 64 MiB of WAL here), and every job handed over meanwhile waited for
 * it. SQLite syncs the database there because once a checkpoint has copied
 * the whole WAL, the next transaction may restart the WAL and overwrite
 * frames the database file has not yet durably received. Now a cycle runs:
 * 1. Pinned round, on the round thread (nice STORE_CKPT_ROUND_NICE below
 *    the writer): a read-only connection (the pin) opens a read
 *    transaction; the round's own connection checkpoints (PASSIVE) with the
 *    database sync deferred (SQ_VFS_FCNTL_DEFER_SYNC: the VFS writes its
 *    buffer out; the WAL is still synced by SQLite before the copy); then
 *    the thread fdatasyncs the database file (a descriptor of its own) and
 *    ends the pin. The pin holds a WAL read lock, so no transaction can
 *    restart the WAL (SQLite restarts only when it can take every reader
 *    slot): new commits append after the copied frames, and every copied
 *    frame stays in the WAL, intact, until the sync has returned. The
 *    writer asks for the round between batches and goes on at once.
 * 2. When the round has returned (seen between batches), if frames were
 *    committed meanwhile, the next round copies them: another pinned round
 *    while more than pages / STORE_CKPT_FINAL_DIV wait and the rounds still
 *    shrink, else a blocking round on the writer's connection (its
 *    database sync beside the next transaction since wave 47: below)
 *    after which the WAL restarts. Each pinned
 *    round copies what was committed during the previous one, so the
 *    rounds shrink while the disk writes pages back faster than batches
 *    dirty them; STORE_CKPT_WAL_CAP and STORE_CKPT_ROUNDS_MAX force the
 *    blocking round otherwise.
 * A copied page reaches the database file before the round publishes its
 * progress (the VFS writes its buffer out at the deferred xSync), so readers
 * that skip the WAL read current pages from the page cache; a power loss
 * before the sync leaves those pages' images in the intact WAL, which
 * recovery replays. A failed database sync keeps the pin for good (the WAL
 * is the only durable copy; it grows until a restart of the server, whose
 * recovery replays it: no connection of the process checkpoints at its
 * close from then on, store_db_keep_wal), logs an error and stops
 * checkpoints.
 *
 * Off unless pinned_on (wal_checkpoint_pinned, on by default since wave 43): each checkpoint is then a
 * blocking one, as before.
 *
 * Blocking rounds on the sync thread (issue 13, branch ckpt). A blocking
 * round stops the writer: every job handed over meanwhile waits for it. On
 * the writer thread it ran at the writer's nice (STORE_WRITER_NICE below
 * the loop), so the loop, busy with the same core, stretched its copy; and
 * its first step, SQLite's fdatasync of the WAL, ran beside the sync
 * thread's fdatasync of the batch just handed over (two flushes of the same
 * file). The writer now hands the round to its sync thread (the loop's
 * priority) and waits: that thread first syncs the batch and hands its jobs
 * back to the loop, then runs the round (whose WAL sync then finds the WAL
 * synced), then wakes the writer. The connection is used by one thread at a
 * time (the writer waits under the writer's mutex); what the round does
 * and its durability are SQLite's, unchanged.
 *
 * The blocking round's database sync beside the next transaction (issue
 * 13, wave 47). Most of a blocking round was the database file's
 * fdatasync after the copy, and the writer ran no job meanwhile: the jobs
 * handed over then ran only after it, on top of the stop. Where the pin
 * machinery is up (the round thread started), the round is now split:
 * store_ckpt_final_copy opens the pin, then checkpoints (PASSIVE) on s with
 * the database sync deferred (as a pinned round copies) and publishes the
 * copy; the writer goes on at once; store_ckpt_final_sync fdatasyncs the
 * database file and ends the pin. The writer's next transaction runs its
 * jobs during that sync, and only its COMMIT waits for it
 * (store_writer.h, "Checkpoints"): that COMMIT restarts the WAL. Why it is
 * safe: the pin's read transaction began before the copy, so it holds a
 * WAL read lock that no restart can take (SQLite restarts a wholly copied
 * WAL only if it can lock every reader slot); a COMMIT made while the pin
 * is held, by this writer or by the CLI, appends after the copied frames,
 * which stay intact in the WAL until the sync has returned. The copy
 * itself still copies everything: the pin, opened after the last COMMIT,
 * reads the whole WAL, and no frame is appended while the writer waits for
 * the copy. The restart needs the writer's next transaction to begin after
 * the copy (SQLite restarts only in a transaction that began on a wholly
 * copied WAL), which is why the writer waits for the copy and not only for
 * its COMMIT. A failed database sync keeps the pin for good, as a pinned
 * round's does.
 *
 * Thread: the writer thread (the hook runs inside its COMMITs) except the
 * blocking rounds (the sync thread, while the writer waits), a split
 * round's database sync (the sync thread: pin, db_fd, broken and st, while
 * the writer neither COMMITs nor calls store_ckpt_run) and the
 * round thread's part (pin, cc, db_fd during a round; results under mu); the writer copies the counters
 * (st) into its own stats under its mutex after each batch (the sync thread
 * after a split round's sync), where /healthz reads them. */
#ifndef IMC_STORE_CKPT_H
#define IMC_STORE_CKPT_H

#include <pthread.h>
#include <stdint.h>

#include "store/store.h"
#include "util/hist.h"

#define STORE_CKPT_PAGES 16384 /* 64 MiB of 4 KiB pages, as the auto-checkpoint was (sqlite.c) */
/* A cycle of pinned rounds ends with the blocking round once at most
 * pages / STORE_CKPT_FINAL_DIV frames, and never more than
 * STORE_CKPT_FINAL_MAX, wait to be copied, once (after two
 * pinned rounds) no fewer wait than after the round before, once the WAL holds
 * STORE_CKPT_WAL_CAP times the threshold, or after STORE_CKPT_ROUNDS_MAX
 * pinned rounds (store_ckpt_final). A writer that finds the WAL at the cap while a database
 * sync runs waits for that sync: the WAL stays under STORE_CKPT_WAL_CAP
 * thresholds plus one batch. STORE_CKPT_FINAL_MAX (wave 46): the blocking
 * round stops the writer for its copy and SQLite's database sync, which
 * grow with the frames it copies; at the server's 65,536-page threshold
 * pages / 32 let it copy 2,048 (10-45 ms stops at 24,000 msgs/s here),
 * 512 is what the 16,384-page threshold gave (docs/decisions/store-pipeline.md,
 * "The blocking round's bound"). */
#define STORE_CKPT_FINAL_DIV 32
#define STORE_CKPT_FINAL_MAX 512
#define STORE_CKPT_WAL_CAP 4
#define STORE_CKPT_ROUNDS_MAX 16
/* The WAL file a restart leaves on disk: at most STORE_CKPT_WAL_KEEP times
 * the threshold (PRAGMA journal_size_limit on the writer's connection, set
 * by store_ckpt_run from the threshold): after a burst that grew it past
 * that, SQLite truncates it at the first COMMIT after the restart; below
 * it, the file is reused as it is (overwriting costs less than appending). */
#define STORE_CKPT_WAL_KEEP 2
#define STORE_CKPT_ROUND_NICE 5 /* the round thread's nice steps above the writer's level (sqlite_ckpt.c round_main) */

/* Why a cycle of pinned rounds ended with its blocking round (store_ckpt_final). */
typedef enum store_ckpt_end {
  STORE_CKPT_GO_ON,       /* not ended: another pinned round */
  STORE_CKPT_END_FEW,     /* few frames wait (pages / STORE_CKPT_FINAL_DIV, at most STORE_CKPT_FINAL_MAX) */
  STORE_CKPT_END_FLAT,    /* the rounds stopped shrinking (after two): the disk writes back no faster */
  STORE_CKPT_END_WAL_CAP, /* the WAL holds STORE_CKPT_WAL_CAP thresholds */
  STORE_CKPT_END_ROUNDS,  /* STORE_CKPT_ROUNDS_MAX pinned rounds */
  STORE_CKPT_ENDS
} store_ckpt_end_t;

typedef struct store_ckpt_stats {
  uint64_t runs;            /* checkpoints completed (pinned rounds and blocking ones) */
  uint64_t pinned;          /* pinned rounds started (on the round thread: copy and database sync) */
  uint64_t failed;          /* checkpoints that returned an error (SQLITE_BUSY included: the CLI's) */
  uint64_t db_sync_failed;  /* a pinned or split blocking round's database sync failed: no more checkpoints (sticky) */
  uint64_t wal_pages;       /* pages in the WAL after the last COMMIT */
  uint64_t wal_pages_max;   /* the most seen after a COMMIT */
  imc_hist_t took;          /* each blocking round's time the writer waits out before its next transaction (with
                             * the round split: its copy; the database sync is final_sync) */
  uint64_t took_ns;         /* the sum of took (a pinned round stops the writer only at the WAL's cap: not counted) */
  uint64_t blocking_cpu_ns; /* the CPU time of the thread that ran the blocking rounds, in them */
  imc_hist_t took_blocking; /* the same as took (kept apart for /healthz blocking_max_us) */
  imc_hist_t copy;          /* each pinned round's copy, on the round thread */
  imc_hist_t db_sync;       /* each pinned round's database sync, on the round thread */
  imc_hist_t final_sync;    /* each blocking round's database sync beside the next transaction (its COMMIT waits) */
  uint64_t ends[STORE_CKPT_ENDS]; /* cycles of pinned rounds ended with the blocking round, by why (GO_ON unused) */
} store_ckpt_stats_t;

typedef struct store_ckpt {
  store_t *s;
  int pages;                /* the threshold: STORE_CKPT_PAGES unless set otherwise */
  int limit_pages;          /* the threshold the connection's journal_size_limit was set from (0: not yet) */
  int pinned_on;            /* start cycles of pinned rounds (else each checkpoint is a blocking one) */
  int wal_pages;            /* after the last COMMIT (the hook) */
  int backfilled;           /* frames of the WAL the pinned rounds of this cycle have copied */
  int rounds;               /* pinned rounds in this cycle */
  int last_pending;         /* frames the last round of this cycle found waiting */
  int syncing;              /* a pinned round's database sync has not been seen to return */
  int broken;               /* a database sync failed: the pin stays, no more checkpoints */
  struct sqlite3 *pin;      /* read-only connection whose open read transaction keeps the WAL from restarting */
  struct sqlite3 *cc;       /* the round thread's connection: it copies (checkpoints) */
  int pin_open;             /* its read transaction is open */
  int db_fd;                /* the database file, for the sync thread (-1: pinned rounds off) */
  char *hold_path;          /* test hook: IMCLOUD_TEST_CKPT_SYNC_HOLD */
  pthread_t thread;         /* the round thread */
  pthread_mutex_t mu;       /* guards want, done, rc, r_ckpt, copy_ns, sync_ns, stop */
  pthread_cond_t cv;
  int want, done, rc, r_ckpt, stop, started;
  int sync_errno;           /* the errno of a database sync that failed (set by the thread that ran it) */
  char *db_path;            /* the database file's name (store_db_keep_wal), owned */
  uint64_t copy_ns, sync_ns;
  store_ckpt_stats_t st;
} store_ckpt_t;

/* After a pinned round of a cycle returned with frames left to copy: why
 * the cycle ends with the blocking round now (the first that holds, in this
 * order), or STORE_CKPT_GO_ON for another pinned round. pages: the
 * threshold; wal_pages: the WAL's length; pending: the frames not yet
 * copied; last_pending: what the round before found waiting; rounds: the
 * pinned rounds of this cycle so far. Pure. */
store_ckpt_end_t store_ckpt_final(int pages, int wal_pages, int pending, int last_pending, int rounds);
/* The name of an end in /healthz ckpt.ends ("few", "flat", "wal_cap", "rounds"). */
const char *store_ckpt_end_name(store_ckpt_end_t e);

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
/* After a failed sync of the database file (a checkpoint's) or of its WAL,
 * at path: from now on every connection of this process to that database
 * closes without SQLite's checkpoint at close (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE),
 * so a stop leaves the WAL whole. That checkpoint would take the frames an
 * earlier copy reached as copied and synced, sync the database again (which
 * may report success: a write-back error is reported once per open file)
 * and delete or truncate the WAL, the only intact copy. The next start is
 * the process's first connection, whose recovery reads the WAL again from its
 * first frame (SQLite rebuilds its index: nothing counts as copied), so its
 * checkpoints copy all of it. For the process's life; NULL or "" is
 * ignored. Any thread. */
void store_db_keep_wal(const char *path);
/* Whether the WAL writes of s (a writing connection) are counted, i.e. s
 * was opened through the coalescing VFS (sqlite_vfs.h): 1 or 0. */
int store_wal_counted(store_t *s);
/* The count of WAL write calls made so far in this process, each counted
 * once it returned (sq__vfs_wal_writes). Read before a successful
 * store_wal_sync, it names what that sync covered: while it has not moved,
 * no frame was written since, and a sync would make nothing more durable. */
uint64_t store_wal_writes(void);
/* The bytes written to WAL files and to database files through the
 * coalescing VFS in this process since its start (sq__vfs_stats: the
 * writer's commits, the checkpoints' copies; any thread). */
void store_disk_bytes(uint64_t *wal, uint64_t *db);

/* Take over the checkpoints of s, a writing SQLite connection opened through
 * the coalescing VFS: install the WAL hook (SQLite's auto-checkpoint is off
 * on s from then on), set the threshold to STORE_CKPT_PAGES, open the pin
 * connection and the database's descriptor and start the database sync
 * thread. If any of those fails (logged), every checkpoint is a blocking
 * one. c is the caller's, zeroed, and must outlive s or store_ckpt_stop. */
void store_ckpt_start(store_ckpt_t *c, store_t *s);
/* Wait for a database sync in flight, end the pin, stop the thread, remove
 * the hook (the auto-checkpoint stays off). Before s closes. */
void store_ckpt_stop(store_ckpt_t *c);
/* Between transactions (writer thread): start a cycle if the last COMMIT
 * left at least c->pages pages in the WAL, or, in a cycle whose database
 * sync has returned, end the pin and run its next round ("Pinned rounds"
 * above). Never waits for a database sync. Returns 1 when the next round is
 * a blocking one: the caller runs store_ckpt_blocking before the next
 * transaction (on a thread of its choice, while no other thread uses s),
 * else 0. */
int store_ckpt_run(store_ckpt_t *c);
/* The blocking round store_ckpt_run asked for: a PASSIVE checkpoint on s
 * with SQLite's own syncs (the WAL before the copy, the database after),
 * after which the next transaction restarts the WAL if it was all copied.
 * Any thread, while the writer thread waits and no other uses s: the
 * writer hands it to its sync thread (store_writer.h, "Checkpoints"). */
void store_ckpt_blocking(store_ckpt_t *c);
/* The blocking round split in two ("The blocking round's database sync
 * beside the next transaction"), on the thread the writer hands it to,
 * while it waits: the pin, then the copy with the database sync deferred.
 * Returns 1 when the copy is published and the pin held: the caller lets
 * the writer go on and runs store_ckpt_final_sync, and the writer's next
 * COMMIT waits for that to return. 0: nothing follows (without the pin
 * machinery, or when the pin cannot be opened, the round ran whole as
 * store_ckpt_blocking; a failed copy ended the pin). */
int store_ckpt_final_copy(store_ckpt_t *c);
/* After store_ckpt_final_copy returned 1, while the writer runs jobs but
 * does not COMMIT: fdatasync the database file, then end the pin. On
 * failure the pin stays, checkpoints stop and an error is logged (as after
 * a pinned round's). The test hook IMCLOUD_TEST_CKPT_SYNC_HOLD holds it
 * before the sync too. */
void store_ckpt_final_sync(store_ckpt_t *c);

#endif
