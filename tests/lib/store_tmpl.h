/* store_tmpl.h — the empty, fully migrated database a test's new data
 * directory starts from, for the end-to-end helpers (tests/lib/e2e.c) and
 * the unit tests alike. Header-only: unit tests link no test library.
 *
 * The template is made once per test process by the store code the server
 * runs (store_open in a directory of its own, then store_close), and each
 * new directory gets a byte copy of its imcloud.db. A new database's 55
 * migrations, each synced, took ~0.33 s under ASan per store_open and check
 * nothing a first one did not: tests/unit/store/test_schema, test_store and
 * test_msg_upgrade, whose subject is the migrations and the opening of a new
 * store, keep calling store_open on an empty directory. The template is
 * removed at exit by the process that made it (E2E_KEEP keeps it, as it keeps
 * the tests' own directories). Ownership: the template directory and file
 * belong to this header; the copies belong to the caller's directory. */
#ifndef IMC_TESTS_STORE_TMPL_H
#define IMC_TESTS_STORE_TMPL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static char store_tmpl_dir[64];
static pid_t store_tmpl_pid;

static inline void store_tmpl_remove(void)
{
  char path[128];
  if (getpid() != store_tmpl_pid || getenv("E2E_KEEP")) return;
  snprintf(path, sizeof path, "%s/imcloud.db", store_tmpl_dir);
  unlink(path);
  rmdir(store_tmpl_dir);
}

/* Make the template, once per process. 0 or -1. */
static inline int store_tmpl_make(void)
{
  char wal[140];
  struct stat st;
  store_t *s;
  if (store_tmpl_dir[0]) return 0;
  snprintf(store_tmpl_dir, sizeof store_tmpl_dir, "/tmp/imcloud-tmpl-XXXXXX");
  if (!mkdtemp(store_tmpl_dir)) { store_tmpl_dir[0] = 0; return -1; }
  store_tmpl_pid = getpid();
  atexit(store_tmpl_remove);
  if (store_open(store_tmpl_dir, &s)) return -1;
  store_close(s);
  snprintf(wal, sizeof wal, "%s/imcloud.db-wal", store_tmpl_dir);
  return stat(wal, &st) ? 0 : -1; /* a WAL left after close: the copy would miss it */
}

/* dir/imcloud.db as a copy of the template, unless dir already holds a
 * database (then nothing changes). 0 or -1 (a message on stderr). */
static inline int store_tmpl_copy(const char *dir)
{
  char path[400], from[128], buf[65536];
  struct stat st;
  size_t n;
  int rc = 0;
  snprintf(path, sizeof path, "%s/imcloud.db", dir);
  if (!stat(path, &st)) return 0;
  if (store_tmpl_make()) { fprintf(stderr, "store_tmpl: the template database\n"); return -1; }
  snprintf(from, sizeof from, "%s/imcloud.db", store_tmpl_dir);
  FILE *in = fopen(from, "rb"), *out = in ? fopen(path, "wbx") : NULL;
  if (!out) rc = -1;
  while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, out) != n) rc = -1;
  if (in && ferror(in)) rc = -1;
  if (in) fclose(in);
  if (out && fclose(out)) rc = -1;
  if (rc) fprintf(stderr, "store_tmpl: copying the template to %s\n", path);
  return rc;
}

/* store_open(dir, out) on a directory that starts from the template when it
 * holds no database yet. store_open's return. */
static inline int test_store_open(const char *dir, store_t **out)
{
  if (store_tmpl_copy(dir)) return -1;
  return store_open(dir, out);
}

#endif
