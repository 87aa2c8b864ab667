/* sqlite_defer.c — daily counters added at commit (store_usage_add_at_commit)
 * and the registrations per UTC day (usage_reg_day, sq__defer_reg).
 *
 * Every job of a group commit that counts an event (a stored C2C message)
 * used to upsert the same usage_day row and run its bill_recheck trigger.
 * Here the connection sums the increments in memory per (app, day, metric)
 * and writes each sum with one squ_add just before the COMMIT, inside the
 * same transaction: the counter commits with the events it counts, or not at
 * all.
 *
 * Exactness under partial rollback: the sums follow the transaction's
 * savepoints. SAVEPOINT records every sum, ROLLBACK TO restores the sums
 * recorded by that savepoint, RELEASE forgets the record, ROLLBACK and BEGIN
 * drop every sum (sq__defer_exec, called by sq_exec for each statement).
 * Whatever this file cannot follow — more sums or deeper savepoints than it
 * keeps, a transaction statement it does not know — it writes the sums into
 * the database first, where SQLite's own savepoints undo them as usual. A
 * read of usage_day inside the transaction does not see the sums not yet
 * written. Outside a transaction an add is written at once.
 *
 * State: one sqdefer per connection, used by the connection's thread only. */
#include "store/sqlite_int.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SUMS_MAX 16        /* distinct (app, day, metric) kept per transaction */
#define SAVEPOINTS_MAX 8   /* nested savepoints followed */
#define METRIC_MAX 32
#define SP_NAME_MAX 32

/* metric "": registrations of the UTC day (usage_reg_day, migration 49; one per new account, account_import_txn);
 * any other: a usage_day counter */
typedef struct sum { uint32_t app; int32_t day; char metric[METRIC_MAX]; int64_t n; } sum_t;

typedef struct savepoint {
  char name[SP_NAME_MAX];
  int opened_txn;          /* the SAVEPOINT started the transaction: its RELEASE commits */
  int nsums;               /* sums[] length when it was opened */
  int64_t n[SUMS_MAX];     /* their values then */
} savepoint_t;

struct sqdefer {
  sum_t sums[SUMS_MAX];
  int nsums;
  savepoint_t sp[SAVEPOINTS_MAX];
  int nsp;
  int untracked;           /* savepoints opened beyond SAVEPOINTS_MAX (sums were written first) */
};

static struct sqdefer *state(store_t *s)
{
  struct sqdefer **slot = sq__defer_slot(s);
  if (!*slot) *slot = calloc(1, sizeof **slot);
  return *slot;
}

void sq__defer_free(struct sqdefer *d) { free(d); }

/* Write every sum into the database now, inside the innermost open
 * savepoint. The savepoints' records stay as they are: a ROLLBACK TO any of
 * them undoes this write too (it came after the savepoint), so restoring the
 * recorded sums is still exact. */
static int flush(store_t *s, struct sqdefer *d)
{
  for (int i = 0; i < d->nsums; i++) {
    sum_t *e = &d->sums[i];
    int rc = !e->n ? 0 : e->metric[0] ? squ_add(s, e->app, e->day, e->metric, e->n) : squ_reg_day_add(s, e->app, e->day, e->n);
    if (rc) return rc;
    e->n = 0;
  }
  return 0;
}

static void drop(struct sqdefer *d)
{
  d->nsums = 0;
  d->nsp = 0;
  d->untracked = 0;
}

static int write_now(store_t *s, uint32_t app, int32_t day, const char *metric, int64_t n)
{
  return metric[0] ? squ_add(s, app, day, metric, n) : squ_reg_day_add(s, app, day, n);
}

static int defer(store_t *s, uint32_t app, int32_t day, const char *metric, size_t len, int64_t n)
{
  struct sqdefer *d = state(s);
  if (!d || len >= METRIC_MAX || d->untracked || sqlite3_get_autocommit(sq__db(s))) return write_now(s, app, day, metric, n);
  for (int i = 0; i < d->nsums; i++) {
    sum_t *e = &d->sums[i];
    if (e->app == app && e->day == day && !strcmp(e->metric, metric)) { e->n += n; return 0; }
  }
  if (d->nsums == SUMS_MAX) {
    int rc = flush(s, d);
    if (rc) return rc;
    return write_now(s, app, day, metric, n);
  }
  sum_t *e = &d->sums[d->nsums++];
  e->app = app;
  e->day = day;
  memcpy(e->metric, metric, len + 1);
  e->n = n;
  return 0;
}

int sq__defer_add(store_t *s, uint32_t app, int32_t day, const char *metric, int64_t n)
{
  size_t len = metric ? strlen(metric) : 0;
  if (!len) return IMC_E_INVAL;
  return defer(s, app, day, metric, len, n);
}

int sq__defer_reg(store_t *s, uint32_t app, int32_t utc_day) { return defer(s, app, utc_day, "", 0, 1); }

int sq__defer_flush(store_t *s)
{
  struct sqdefer *d = *sq__defer_slot(s);
  return d && d->nsums ? flush(s, d) : 0;
}

/* The savepoint name after a keyword ("SAVEPOINT job", "RELEASE SAVEPOINT
 * job", "ROLLBACK TO job"), or NULL when sql does not start with kw. */
static const char *sp_name(const char *sql, const char *kw)
{
  size_t n = strlen(kw);
  if (strncasecmp(sql, kw, n)) return NULL;
  sql += n;
  if (!strncasecmp(sql, "SAVEPOINT ", 10)) sql += 10;
  return sql;
}

static savepoint_t *sp_find(struct sqdefer *d, const char *name)
{
  for (int k = d->nsp - 1; k >= 0; k--) if (!strcasecmp(d->sp[k].name, name)) return &d->sp[k];
  return NULL;
}

int sq__defer_before(store_t *s, const char *sql)
{
  struct sqdefer *d = *sq__defer_slot(s);
  const char *name;
  if (!d || !d->nsums) return 0;
  if (!strncasecmp(sql, "COMMIT", 6) || !strncasecmp(sql, "END", 3)) return flush(s, d);
  if ((name = sp_name(sql, "RELEASE "))) {
    savepoint_t *p = sp_find(d, name);
    return !p || p->opened_txn ? flush(s, d) : 0; /* a RELEASE that commits (or one not followed): write first */
  }
  if ((name = sp_name(sql, "SAVEPOINT "))) return d->nsp == SAVEPOINTS_MAX || strlen(name) >= SP_NAME_MAX ? flush(s, d) : 0;
  if (sp_name(sql, "ROLLBACK TO ") || !strncasecmp(sql, "ROLLBACK", 8) || !strncasecmp(sql, "BEGIN", 5)) return 0;
  return flush(s, d); /* not a statement this file follows */
}

void sq__defer_after(store_t *s, const char *sql, int ok, int was_autocommit)
{
  struct sqdefer *d = *sq__defer_slot(s);
  const char *name;
  if (!d) return;
  if (!strncasecmp(sql, "BEGIN", 5) || !strncasecmp(sql, "COMMIT", 6) || !strncasecmp(sql, "END", 3)) {
    if (ok) drop(d);
  } else if ((name = sp_name(sql, "ROLLBACK TO "))) {
    savepoint_t *p = ok ? sp_find(d, name) : NULL;
    if (p) {
      d->nsums = p->nsums;
      for (int i = 0; i < p->nsums; i++) d->sums[i].n = p->n[i];
    }
  } else if (!strncasecmp(sql, "ROLLBACK", 8)) {
    drop(d);
  } else if ((name = sp_name(sql, "SAVEPOINT "))) {
    if (!ok) return;
    if (d->nsp == SAVEPOINTS_MAX || d->untracked || strlen(name) >= SP_NAME_MAX) { d->untracked++; return; }
    savepoint_t *p = &d->sp[d->nsp++];
    strcpy(p->name, name);
    p->opened_txn = was_autocommit;
    p->nsums = d->nsums;
    for (int i = 0; i < d->nsums; i++) p->n[i] = d->sums[i].n;
  } else if ((name = sp_name(sql, "RELEASE "))) {
    if (!ok) return;
    savepoint_t *p = sp_find(d, name);
    if (p) d->nsp = (int)(p - d->sp);
    else if (d->untracked) d->untracked--;
    if (sqlite3_get_autocommit(sq__db(s))) drop(d);
  }
}
