/* sqlite_pcache.h — SQLite's default page cache, wrapped so that a COMMIT
 * does not sweep the whole cache.
 *
 * At the end of every write transaction SQLite drops the cached pages past
 * the database's end (pcache xTruncate(dbSize + 1)). The default cache
 * (pcache1, SQLite 3.40) skips that only while no page number above the
 * limit was ever cached since its last truncate, and a B-tree balance that
 * reorders sibling pages parks a page at the pending-byte page's number
 * (page 262,145 with 4 KiB pages, far past a database under 1 GiB) for a
 * moment. So nearly every transaction that split a page ended with a walk
 * over every hash bucket and every cached page (64 MiB: 16,384 pages) that
 * freed nothing: ~30,000-40,000 instructions per commit and one cache miss
 * per page (docs/decisions/messaging-c2c-commit.md §20).
 *
 * The wrapper keeps, per cache, an upper bound on the numbers of the pages
 * it may hold (every page came through xFetch or xRekey; pcache1 only ever
 * removes pages on its own) and whether a page may sit at the pending-byte
 * number; it calls the default xTruncate only when a page at or past the
 * limit may exist. Everything else passes through.
 *
 * Install once, before SQLite initialises (sqlite3_config); later it does
 * nothing and the default cache stays. Thread safety: a cache's state is
 * used only inside that cache's own calls, which SQLite makes from the
 * connection that owns it. */
#ifndef IMC_STORE_SQLITE_PCACHE_H
#define IMC_STORE_SQLITE_PCACHE_H

#include <stdint.h>

/* Install the wrapper (SQLITE_CONFIG_PCACHE2). 0, or -1 when SQLite was
 * already initialised (the default cache is used as it is). */
int sq__pcache_install(void);

/* Process-wide counts of xTruncate calls passed to the default cache and
 * skipped (relaxed atomics; for tests and measurements). */
typedef struct sq_pcache_stats { uint64_t truncates, skipped; } sq_pcache_stats_t;
void sq__pcache_stats(sq_pcache_stats_t *out);

#endif
