/* tmpdir.h — a scratch directory for unit tests that touch the disk (the
 * store, tenants, wallets). Header-only: unit tests link no test library.
 * Set E2E_KEEP to keep the directory for a post-mortem, as e2e tests do. */
#ifndef IMC_TESTS_TMPDIR_H
#define IMC_TESTS_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

/* Make /tmp/imcloud-<tag>-XXXXXX into dir (cap >= 64). 0 or -1. */
static inline int test_tmpdir_make(char *dir, size_t cap, const char *tag)
{
  snprintf(dir, cap, "/tmp/imcloud-%s-XXXXXX", tag);
  return mkdtemp(dir) ? 0 : -1;
}

/* Remove it again. 0 or -1. */
static inline int test_tmpdir_remove(const char *dir)
{
  char cmd[160];
  if (!dir[0] || getenv("E2E_KEEP")) return 0;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

#endif
