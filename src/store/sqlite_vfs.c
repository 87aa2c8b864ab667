/* sqlite_vfs.c — see sqlite_vfs.h. A file opened through the VFS is a vf_t
 * followed by the wrapped VFS's own file object; every method writes out the
 * file's pending buffer (and, on a database file, its WAL's) before it calls
 * through, except xWrite, which appends to it when it can, and the two
 * constant queries. */
#include "store/sqlite_vfs.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { VF_OTHER, VF_DB, VF_WAL };

#define WAL_HDR_BYTES 32   /* the WAL file's header */
#define FRAME_HDR_BYTES 24 /* each frame's header, before its page */
#define BUF_FIRST (64u << 10)

typedef struct vf {
  sqlite3_file base;      /* pMethods = &vf_io */
  sqlite3_file *real;     /* the wrapped VFS's file, right after this struct */
  int kind;
  unsigned char *buf;     /* pending bytes for [off, off + len) of the file */
  size_t len, cap;
  sqlite3_int64 off;
  struct vf *wal;         /* VF_DB: its open WAL (written out before any call on the database) */
  struct vf *db;          /* VF_WAL: its database file, to unlink at close */
  uint32_t page_bytes;    /* VF_WAL: page size from the WAL header, 0 unknown */
  sqlite3_int64 commit_end; /* VF_WAL: write out once a write reaches here (0: no commit frame pending) */
  int defer_sync;         /* VF_DB: xSync writes out but does not sync (SQ_VFS_FCNTL_DEFER_SYNC) */
  int wb_fd;              /* VF_DB: a read-only descriptor of the file, for sync_file_range; -1: none */
  sqlite3_int64 wb_lo, wb_hi; /* VF_DB: the span written since the last write-back was started */
  size_t wb_bytes;        /* VF_DB: bytes written in that span */
  int err;                /* a write-out that failed where no error could be returned (xShmBarrier) */
} vf_t;

#define VF_REAL_AT ((sizeof(vf_t) + 7) & ~(size_t)7)

static sqlite3_vfs *base_vfs;
static sqlite3_vfs vf_vfs;
static const sqlite3_io_methods vf_io;
static uint64_t n_in, n_out, n_wb;
static uint64_t n_wal_out; /* write calls passed to the wrapped VFS for WAL files (sq__vfs_wal_writes) */
static uint64_t n_wal_bytes, n_db_bytes; /* the bytes those calls wrote, WAL and database files (sq__vfs_stats) */
static int wb_off; /* sq__vfs_writeback(0): no write-back hint (benchmarks, tests) */

void sq__vfs_writeback(int on) { __atomic_store_n(&wb_off, !on, __ATOMIC_RELAXED); }

static void count(uint64_t *c) { __atomic_fetch_add(c, 1, __ATOMIC_RELAXED); }

/* A write call passed to the wrapped VFS for f (a WAL or database file). A WAL's is counted in
 * n_wal_out after it returned (whatever its result), so a count read later covers a write that has
 * completed (sq__vfs_wal_writes). */
static int write_out(vf_t *f, const void *p, int amt, sqlite3_int64 off)
{
  count(&n_out);
  int rc = f->real->pMethods->xWrite(f->real, p, amt, off);
  if (rc == SQLITE_OK) __atomic_fetch_add(f->kind == VF_WAL ? &n_wal_bytes : &n_db_bytes, (uint64_t)amt, __ATOMIC_RELAXED);
  if (f->kind == VF_WAL) __atomic_fetch_add(&n_wal_out, 1, __ATOMIC_RELEASE);
  return rc;
}

uint64_t sq__vfs_wal_writes(void) { return __atomic_load_n(&n_wal_out, __ATOMIC_ACQUIRE); }

int sq__vfs_is(sqlite3 *db)
{
  sqlite3_vfs *v = NULL;
  return sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &v) == SQLITE_OK && v == &vf_vfs;
}

void sq__vfs_stats(sq_vfs_stats_t *out)
{
  out->writes_in = __atomic_load_n(&n_in, __ATOMIC_RELAXED);
  out->writes_out = __atomic_load_n(&n_out, __ATOMIC_RELAXED);
  out->writebacks = __atomic_load_n(&n_wb, __ATOMIC_RELAXED);
  out->wal_bytes = __atomic_load_n(&n_wal_bytes, __ATOMIC_RELAXED);
  out->db_bytes = __atomic_load_n(&n_db_bytes, __ATOMIC_RELAXED);
}

static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A database file's pages written at [off, off + n): once SQ_VFS_WRITEBACK_BYTES
 * have been written since the last one, start the kernel's write-back of the
 * span they lie in (sqlite_vfs.h), and start counting again. A hint: it
 * neither waits for the disk nor orders anything, and a failure changes
 * nothing (the xSync that SQLite makes before it publishes a checkpoint
 * still syncs every page). */
static void writeback_note(vf_t *f, sqlite3_int64 off, size_t n)
{
  if (f->wb_fd < 0 || !n || __atomic_load_n(&wb_off, __ATOMIC_RELAXED)) return;
  sqlite3_int64 end = off + (sqlite3_int64)n;
  if (!f->wb_bytes || off < f->wb_lo) f->wb_lo = off;
  if (!f->wb_bytes || end > f->wb_hi) f->wb_hi = end;
  f->wb_bytes += n;
  if (f->wb_bytes < SQ_VFS_WRITEBACK_BYTES) return;
  count(&n_wb);
  (void)sync_file_range(f->wb_fd, f->wb_lo, f->wb_hi - f->wb_lo, SYNC_FILE_RANGE_WRITE);
  f->wb_bytes = 0;
}

/* Write out f's pending bytes, with one call per SQ_VFS_WRITE_MAX. The buffer is emptied whatever
 * the result: on an error SQLite fails the statement (a commit whose frames
 * did not all reach the file does not commit, as without the buffer; kept,
 * they could reach it later with a valid commit frame). An error no caller
 * could take is returned now. */
static int flush_one(vf_t *f)
{
  if (!f) return SQLITE_OK;
  int rc = f->err;
  f->err = SQLITE_OK;
  if (rc != SQLITE_OK || !f->len) {
    f->len = 0;
    return rc;
  }
  for (size_t at = 0; at < f->len && rc == SQLITE_OK; at += SQ_VFS_WRITE_MAX) {
    size_t n = f->len - at < SQ_VFS_WRITE_MAX ? f->len - at : SQ_VFS_WRITE_MAX;
    rc = write_out(f, f->buf + at, (int)n, f->off + (sqlite3_int64)at);
    if (rc == SQLITE_OK && f->kind == VF_DB) writeback_note(f, f->off + (sqlite3_int64)at, n);
  }
  f->len = 0;
  return rc;
}

/* Before any call but a write: this file's buffer, and a database's WAL's. */
static int flush(vf_t *f)
{
  int rc = flush_one(f), rc2 = f->kind == VF_DB ? flush_one(f->wal) : SQLITE_OK;
  return rc != SQLITE_OK ? rc : rc2;
}

/* A WAL write: learn the page size from the header; a frame header at a frame
 * boundary with a non-zero "database size after commit" ends a transaction:
 * the buffer goes out when it reaches that frame's end. */
static void wal_note(vf_t *f, const unsigned char *p, int amt, sqlite3_int64 off)
{
  if (off == 0 && amt >= WAL_HDR_BYTES) f->page_bytes = be32(p + 8);
  if (!f->page_bytes && off >= WAL_HDR_BYTES) {
    unsigned char h[4];
    if (f->real->pMethods->xRead(f->real, h, 4, 8) == SQLITE_OK) f->page_bytes = be32(h);
  }
  sqlite3_int64 frame = FRAME_HDR_BYTES + (sqlite3_int64)f->page_bytes;
  if (!f->page_bytes) {
    f->commit_end = off + amt; /* unknown layout: every write goes out at once */
    return;
  }
  if (off >= WAL_HDR_BYTES && (off - WAL_HDR_BYTES) % frame == 0 && amt >= 8 && be32(p + 4) != 0)
    f->commit_end = off + frame;
}

static int append(vf_t *f, const void *p, int amt, sqlite3_int64 off)
{
  size_t n = (size_t)amt;
  if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + n > SQ_VFS_BUF_MAX)) {
    int rc = flush_one(f);
    if (rc != SQLITE_OK) return rc;
  }
  if (n > SQ_VFS_WRITE_MAX) { /* not from SQLite's pager or WAL (a page is at most 64 KiB): as it came */
    return write_out(f, p, amt, off);
  }
  if (f->len + n > f->cap) {
    size_t cap = f->cap ? f->cap : BUF_FIRST;
    while (cap < f->len + n) cap *= 2;
    if (cap > SQ_VFS_BUF_MAX) cap = SQ_VFS_BUF_MAX;
    unsigned char *b = realloc(f->buf, cap);
    if (!b) { /* no buffer: write through, in order */
      int rc = flush_one(f);
      return rc != SQLITE_OK ? rc : write_out(f, p, amt, off);
    }
    f->buf = b;
    f->cap = cap;
  }
  if (!f->len) f->off = off;
  memcpy(f->buf + f->len, p, n);
  f->len += n;
  return SQLITE_OK;
}

static int vf_write(sqlite3_file *pf, const void *p, int amt, sqlite3_int64 off)
{
  vf_t *f = (vf_t *)pf;
  if (f->kind == VF_OTHER) return f->real->pMethods->xWrite(f->real, p, amt, off);
  count(&n_in);
  if (f->kind == VF_WAL) wal_note(f, p, amt, off);
  int rc = append(f, p, amt, off);
  if (f->kind == VF_WAL && f->commit_end && off + amt >= f->commit_end) {
    f->commit_end = 0;
    if (rc == SQLITE_OK) rc = flush_one(f);
  }
  return rc;
}

static int vf_close(sqlite3_file *pf)
{
  vf_t *f = (vf_t *)pf;
  int rc = flush(f);
  if (f->kind == VF_WAL && f->db) f->db->wal = NULL;
  if (f->kind == VF_DB && f->wal) f->wal->db = NULL;
  free(f->buf);
  f->buf = NULL;
  if (f->wb_fd >= 0) close(f->wb_fd);
  f->wb_fd = -1;
  int rc2 = f->real->pMethods->xClose(f->real);
  return rc != SQLITE_OK ? rc : rc2;
}

/* The other methods: write out, then call through. */
#define R(f) ((vf_t *)(f))->real
#define FLUSHED(f, call)                  \
  do {                                    \
    int rc_ = flush((vf_t *)(f));         \
    if (rc_ != SQLITE_OK) return rc_;     \
    return R(f)->pMethods->call;          \
  } while (0)

static int vf_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off) { FLUSHED(f, xRead(R(f), p, amt, off)); }
static int vf_truncate(sqlite3_file *f, sqlite3_int64 size) { FLUSHED(f, xTruncate(R(f), size)); }
static int vf_sync(sqlite3_file *f, int flags)
{
  vf_t *v = (vf_t *)f;
  int rc = flush(v);
  if (rc != SQLITE_OK) return rc;
  v->wb_bytes = 0; /* what the sync writes needs no write-back started */
  if (v->defer_sync) return SQLITE_OK; /* the caller syncs (sqlite_vfs.h) */
  return R(f)->pMethods->xSync(R(f), flags);
}
static int vf_size(sqlite3_file *f, sqlite3_int64 *size) { FLUSHED(f, xFileSize(R(f), size)); }
static int vf_lock(sqlite3_file *f, int l) { FLUSHED(f, xLock(R(f), l)); }
static int vf_unlock(sqlite3_file *f, int l) { FLUSHED(f, xUnlock(R(f), l)); }
static int vf_reserved(sqlite3_file *f, int *out) { FLUSHED(f, xCheckReservedLock(R(f), out)); }
static int vf_fcntl(sqlite3_file *f, int op, void *arg)
{
  vf_t *v = (vf_t *)f;
  if (op == SQ_VFS_FCNTL_DEFER_SYNC) {
    if (v->kind != VF_DB) return SQLITE_NOTFOUND;
    v->defer_sync = *(int *)arg != 0;
    return flush(v);
  }
  FLUSHED(f, xFileControl(R(f), op, arg));
}
static int vf_sector(sqlite3_file *f) { return R(f)->pMethods->xSectorSize(R(f)); }
static int vf_devchar(sqlite3_file *f) { return R(f)->pMethods->xDeviceCharacteristics(R(f)); }
static int vf_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
  if (R(f)->pMethods->iVersion < 2 || !R(f)->pMethods->xShmMap) return SQLITE_IOERR_SHMMAP;
  FLUSHED(f, xShmMap(R(f), pg, pgsz, extend, pp));
}
static int vf_shm_lock(sqlite3_file *f, int ofst, int n, int flags)
{
  if (R(f)->pMethods->iVersion < 2 || !R(f)->pMethods->xShmLock) return SQLITE_IOERR_SHMLOCK;
  FLUSHED(f, xShmLock(R(f), ofst, n, flags));
}
static void vf_shm_barrier(sqlite3_file *f)
{
  vf_t *v = (vf_t *)f;
  int rc = flush(v);
  if (rc != SQLITE_OK) v->err = rc; /* no way to report it here: the next call on the file does */
  if (R(f)->pMethods->iVersion >= 2 && R(f)->pMethods->xShmBarrier) R(f)->pMethods->xShmBarrier(R(f));
}
static int vf_shm_unmap(sqlite3_file *f, int del)
{
  if (R(f)->pMethods->iVersion < 2 || !R(f)->pMethods->xShmUnmap) return SQLITE_OK;
  FLUSHED(f, xShmUnmap(R(f), del));
}
static int vf_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
  *pp = NULL;
  if (R(f)->pMethods->iVersion < 3 || !R(f)->pMethods->xFetch) return SQLITE_OK; /* "no mapping": SQLite reads */
  FLUSHED(f, xFetch(R(f), off, amt, pp));
}
static int vf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
  if (R(f)->pMethods->iVersion < 3 || !R(f)->pMethods->xUnfetch) return SQLITE_OK;
  FLUSHED(f, xUnfetch(R(f), off, p));
}

static const sqlite3_io_methods vf_io = {
  3, vf_close, vf_read, vf_write, vf_truncate, vf_sync, vf_size, vf_lock, vf_unlock, vf_reserved, vf_fcntl,
  vf_sector, vf_devchar, vf_shm_map, vf_shm_lock, vf_shm_barrier, vf_shm_unmap, vf_fetch, vf_unfetch,
};

static int vf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
  (void)vfs;
  vf_t *f = (vf_t *)pf;
  memset(f, 0, sizeof *f);
  f->wb_fd = -1;
  f->real = (sqlite3_file *)((char *)pf + VF_REAL_AT);
  f->kind = flags & SQLITE_OPEN_MAIN_DB ? VF_DB : flags & SQLITE_OPEN_WAL ? VF_WAL : VF_OTHER;
  int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
  if (!f->real->pMethods) return rc == SQLITE_OK ? SQLITE_CANTOPEN : rc; /* nothing to close */
  f->base.pMethods = &vf_io; /* set even on failure: SQLite then closes it, and so do we */
  if (rc != SQLITE_OK) return rc;
  /* a writing connection's database file: its own descriptor for the write-back hint (none: no hint) */
  if (f->kind == VF_DB && name && (flags & SQLITE_OPEN_READWRITE)) f->wb_fd = open(name, O_RDONLY | O_CLOEXEC);
  if (f->kind == VF_WAL && name) {
    sqlite3_file *db = sqlite3_database_file_object(name);
    if (db && db->pMethods == &vf_io && ((vf_t *)db)->kind == VF_DB) {
      f->db = (vf_t *)db;
      f->db->wal = f;
    }
  }
  return SQLITE_OK;
}

/* The VFS's other methods call the wrapped one's. */
static int vf_delete(sqlite3_vfs *v, const char *n, int sync) { (void)v; return base_vfs->xDelete(base_vfs, n, sync); }
static int vf_access(sqlite3_vfs *v, const char *n, int flags, int *out)
{
  (void)v;
  return base_vfs->xAccess(base_vfs, n, flags, out);
}
static int vf_fullpath(sqlite3_vfs *v, const char *n, int len, char *out)
{
  (void)v;
  return base_vfs->xFullPathname(base_vfs, n, len, out);
}
static void *vf_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return base_vfs->xDlOpen(base_vfs, n); }
static void vf_dlerror(sqlite3_vfs *v, int n, char *msg) { (void)v; base_vfs->xDlError(base_vfs, n, msg); }
static void (*vf_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
  (void)v;
  return base_vfs->xDlSym(base_vfs, h, sym);
}
static void vf_dlclose(sqlite3_vfs *v, void *h) { (void)v; base_vfs->xDlClose(base_vfs, h); }
static int vf_random(sqlite3_vfs *v, int n, char *out) { (void)v; return base_vfs->xRandomness(base_vfs, n, out); }
static int vf_sleep(sqlite3_vfs *v, int us) { (void)v; return base_vfs->xSleep(base_vfs, us); }
static int vf_time(sqlite3_vfs *v, double *out) { (void)v; return base_vfs->xCurrentTime(base_vfs, out); }
static int vf_lasterr(sqlite3_vfs *v, int n, char *out)
{
  (void)v;
  return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, n, out) : 0;
}
static int vf_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
  (void)v;
  if (base_vfs->iVersion >= 2 && base_vfs->xCurrentTimeInt64) return base_vfs->xCurrentTimeInt64(base_vfs, out);
  double d;
  int rc = base_vfs->xCurrentTime(base_vfs, &d);
  *out = (sqlite3_int64)(d * 86400000.0);
  return rc;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered;

static void vf_register(void)
{
  if (sqlite3_initialize() != SQLITE_OK || !(base_vfs = sqlite3_vfs_find(NULL))) return;
  vf_vfs = (sqlite3_vfs){ 2, (int)(VF_REAL_AT + (size_t)base_vfs->szOsFile), base_vfs->mxPathname, NULL,
                          SQ_VFS_NAME, NULL, vf_open, vf_delete, vf_access, vf_fullpath, vf_dlopen, vf_dlerror,
                          vf_dlsym, vf_dlclose, vf_random, vf_sleep, vf_time, vf_lasterr, vf_time64,
                          NULL, NULL, NULL };
  registered = sqlite3_vfs_register(&vf_vfs, 0) == SQLITE_OK;
}

const char *sq__vfs_name(void)
{
  pthread_once(&once, vf_register);
  return registered ? SQ_VFS_NAME : NULL;
}
