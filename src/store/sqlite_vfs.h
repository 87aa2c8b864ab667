/* sqlite_vfs.h — a SQLite VFS that wraps the default one (sqlite3_vfs_find(NULL))
 * and turns a COMMIT's many small writes into few large ones.
 *
 * SQLite writes each WAL frame with two write calls (its 24-byte header, then
 * the page) and a checkpoint copies each page to the database file with one
 * more. This VFS buffers, per open file, and writes the buffer out with one
 * call per 124 KiB:
 * - on the WAL: consecutive appends, written with one call when the frame
 *   whose header marks a commit ("database size after commit", bytes 4-7,
 *   non-zero) is complete — so a commit's frames are all in the file when the
 *   write of its commit frame returns, as without the VFS;
 * - on the database file: adjacent page writes (a checkpoint's runs of
 *   consecutive pages).
 * A buffer is written out before ANY other call on its file (read, sync,
 * truncate, size, lock, file control, close, ...; only xSectorSize and
 * xDeviceCharacteristics, constants, do not), a WAL's also before any call on
 * its database file (the shared-memory index calls go there), and when it
 * would pass SQ_VFS_BUF_MAX bytes. So what SQLite, other connections and the
 * sync thread's descriptor can see of the files is what they see without it.
 * Relies on SQLite calling xSync on the database before it publishes a
 * checkpoint (synchronous NORMAL or FULL: the server's and the CLI's writing
 * connections; OFF is not used here): the buffer goes out there, also when
 * the sync itself is deferred (SQ_VFS_FCNTL_DEFER_SYNC below).
 *
 * Thread safety: the VFS object is registered once; each file belongs to the
 * connection that opened it (connections are used by one thread at a time);
 * the counters are atomic. Other files (journals, temporary files) pass
 * through untouched. */
#ifndef IMC_STORE_SQLITE_VFS_H
#define IMC_STORE_SQLITE_VFS_H

#include <stdint.h>

struct sqlite3;

/* A buffer is written out before it would pass SQ_VFS_BUF_MAX bytes. It is
 * allocated on first use, per file, and kept until the file closes: at most
 * 8 MiB per writing connection (its WAL's and its database's). It goes out
 * in calls of at most SQ_VFS_WRITE_MAX bytes (31 pages of 4 KiB) to the
 * wrapped VFS: the unix VFS writes at most 128 KiB - 1 per call (its
 * seekAndWrite masks the length with 0x1ffff; a longer write fails with
 * SQLITE_FULL). A write longer than that goes through as it came. */
#define SQ_VFS_BUF_MAX (4u << 20)
#define SQ_VFS_WRITE_MAX (31u << 12)
#define SQ_VFS_NAME "imc-coalesce"

/* In WAL mode a database file is written only by checkpoints, and SQLite syncs the file
 * at the end of each (xSync), which then writes every page the checkpoint
 * copied and waits for all of them: about half of a checkpoint's stop of
 * the writer (docs/decisions/store-pipeline.md, "The database file's
 * write-back starts while the checkpoint copies"). Each time a writing connection has written
 * SQ_VFS_WRITEBACK_BYTES more of its database file, the VFS asks the kernel
 * to start writing that span out (sync_file_range SYNC_FILE_RANGE_WRITE, on
 * a read-only descriptor of the file it opens for that), so the disk works
 * while the checkpoint is still copying and the final sync has less left to
 * wait for. It orders nothing and guarantees nothing (the final xSync still
 * writes and waits for every page); without the descriptor, or where the
 * call fails, only the timing changes. */
#define SQ_VFS_WRITEBACK_BYTES (256u << 10)

/* Registers the VFS (once, not as the default) and returns its name for
 * sqlite3_open_v2; NULL when it could not be registered (out of memory, no
 * default VFS): open with the default VFS then. */
const char *sq__vfs_name(void);

/* Process-wide counters since start (for tests, benchmarks and /healthz
 * "disk"): write calls SQLite made on WAL and database files opened through
 * this VFS, write calls passed to the wrapped VFS for them, and the bytes
 * those wrote (calls that succeeded), WAL files and database files apart. */
typedef struct sq_vfs_stats {
  uint64_t writes_in, writes_out;
  uint64_t writebacks; /* write-backs started on database files (SQ_VFS_WRITEBACK_BYTES) */
  uint64_t wal_bytes, db_bytes;
} sq_vfs_stats_t;
void sq__vfs_stats(sq_vfs_stats_t *out);

/* Write calls passed to the wrapped VFS for WAL files opened through this
 * VFS, process-wide, each counted once it has returned (failed ones too).
 * A thread that reads the count, then fdatasyncs a WAL, has made durable
 * every frame counted in what it read (store_wal_sync_clean, store_ckpt.h). */
uint64_t sq__vfs_wal_writes(void);
/* 1 if db's main database was opened through this VFS (so its WAL writes are counted above), else 0. */
int sq__vfs_is(struct sqlite3 *db);

/* Turns the write-back hint (SQ_VFS_WRITEBACK_BYTES) off (0) or on (1, the
 * default) for every file from then on: for before/after measurements
 * (bench/ckpt_stop.c) and the test that the hint is what starts them
 * (tests/unit/store/test_sqlite_vfs.c). */
void sq__vfs_writeback(int on);

/* File control (sqlite3_file_control(db, "main", SQ_VFS_FCNTL_DEFER_SYNC,
 * &on), int on): while on is non-zero, an xSync of the connection's
 * database file writes its buffer out and returns without syncing; the
 * caller syncs the file itself (its own descriptor: the page cache is the
 * file's) before anything may rely on it. Used only around the writer's
 * pinned checkpoints (store_ckpt.h, "Pinned rounds"), which keep the WAL
 * from restarting until that sync has returned. SQLITE_NOTFOUND on a file
 * that is not a database file of this VFS (then nothing is deferred). */
#define SQ_VFS_FCNTL_DEFER_SYNC 0x494d4301

#endif
