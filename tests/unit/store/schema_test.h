/* schema_test.h — what the schema tests (test_schema.c, test_schema_kill.c in this folder, one program each)
 * share, header-only: the scratch directory and its setup/teardown, a database at an older version
 * (make_at), its user_version, the commit frames of a WAL, and the capture of the log lines (stderr) of
 * what runs between log_start and log_end. Include once, after cmocka.h. Test-only. */
#ifndef IMC_TESTS_UNIT_STORE_SCHEMA_TEST_H
#define IMC_TESTS_UNIT_STORE_SCHEMA_TEST_H

#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite_int.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "tmpdir.h"

static char dir[64];

static inline int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "schema");
}

static inline int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static inline uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Commit frames in the data directory's WAL (frames whose "database size
 * after commit" is set: https://sqlite.org/fileformat2.html#walformat). */
static inline int wal_commits(const char *data)
{
  char path[160];
  snprintf(path, sizeof path, "%s/imcloud.db-wal", data);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  unsigned char hdr[32], fh[24];
  assert_int_equal(fread(hdr, 1, sizeof hdr, f), sizeof hdr);
  uint32_t page = be32(hdr + 8);
  assert_true(page >= 512);
  int commits = 0;
  while (fread(fh, 1, sizeof fh, f) == sizeof fh) {
    if (be32(fh + 4)) commits++;
    if (fseek(f, (long)page, SEEK_CUR)) break;
  }
  fclose(f);
  return commits;
}

static inline int user_version(sqlite3 *db)
{
  int v = -1;
  assert_int_equal(sq__schema_read(db, &v), 0);
  return v;
}

/* The log lines (stderr) of what runs between log_start and log_end, into log (NUL-terminated). */
static char logbuf[8192];
static int saved_fd = -1;
static inline void log_start(void)
{
  char path[96];
  snprintf(path, sizeof path, "%s/log", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  saved_fd = dup(2);
  assert_true(saved_fd >= 0);
  assert_int_equal(dup2(fd, 2), 2);
  close(fd);
  imc_log_level = IMC_LOG_INFO;
}
static inline void log_end(void)
{
  off_t n = lseek(2, 0, SEEK_CUR);
  assert_true(n >= 0 && (size_t)n < sizeof logbuf);
  assert_int_equal(pread(2, logbuf, (size_t)n, 0), n);
  logbuf[n] = 0;
  assert_int_equal(dup2(saved_fd, 2), 2);
  close(saved_fd);
}

/* a database at version `old` in data (made with the first `old` scripts) */
static inline void make_at(const char *data, int old)
{
  char path[128];
  assert_int_equal(mkdir(data, 0700), 0);
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sq__content_fn(db), 0); /* migration 54's function */
  for (int v = 0; v < old; v++) assert_int_equal(sqlite3_exec(db, sq__migrations[v], NULL, NULL, NULL), SQLITE_OK);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", old);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

#endif
