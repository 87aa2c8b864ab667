/* sqlite_msg_imp.c — the reads that put messages imported out of time order
 * at their time (docs/decisions/messaging-c2c-imports.md §34, §45, §48, §53): a REST
 * roaming page by (time, seq), a conversation row's last message, and a read
 * by time (the newest message at or before it, the mark).
 *
 * Two orders meet here. Live messages are in time order along seq (the
 * append clamps a live time to the conversation's newest, live or imported),
 * and a walk down the seqs passes a run of imported rows in one seek
 * (run_lo, sq__live_down). Imported messages are in time order in their
 * partial index (conv, sdkappid, time_s, seq). Each read takes what it needs
 * from each order and merges, so its cost follows what it returns, not how
 * many messages were imported.
 *
 * State: none of its own; the connection's statements (sqlite_msg.c), one thread. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#include <stdlib.h>

#define stmt sq__msg_stmt

typedef struct cand { uint32_t seq; int64_t time_s; } cand_t;

/* The live messages of a page, newest first: seen by viewer, shown by the floor, after the clear, not
 * older than min_t, at most limit. */
typedef struct live_pick {
  cand_t *c;
  int n, limit;
  uint32_t after, viewer;
  int64_t min_t;
} live_pick_t;

static int pick_live(void *ud, sqlite3_stmt *st)
{
  live_pick_t *p = ud;
  uint32_t seq = (uint32_t)sqlite3_column_int64(st, 0);
  int64_t t = sqlite3_column_int64(st, 4);
  if (seq <= p->after || t < p->min_t) return 1; /* the rest is cleared or older */
  if ((sqlite3_column_int64(st, 5) & STORE_MSG_NOT_FROM) && (uint32_t)sqlite3_column_int64(st, 2) == p->viewer)
    return -1; /* the viewer's SyncOtherMachine 2 run: passed in one seek (§51) */
  /* under the purge floor: so is every live message below it (their times and rowids never decrease
   * along seq), the page's live half ends here rather than stepping over them (§48) */
  if (!sqlite3_column_int64(st, 7)) return 1;
  p->c[p->n++] = (cand_t){ seq, t };
  return p->n == p->limit;
}

/* The purge floor of an app (FLOOR_S, FLOOR_ID): a message is shown when its time is at or above before_s
 * or it was stored after upto_id. */
typedef struct floor_of { int64_t before_s, upto_id; } floor_of_t;

static int floor_of(store_t *s, uint32_t sdkappid, floor_of_t *f)
{
  sqlite3_stmt *st = stmt(s, M_FLOOR_OF);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *f = (floor_of_t){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1) };
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : sq__map_rc(rc);
}

static int newer(const cand_t *a, const cand_t *b)
{
  return a->time_s > b->time_s || (a->time_s == b->time_s && a->seq > b->seq);
}

/* One step of a statement: 1 a row, 0 done, < 0 an error (the statement is reset then). */
static int step_row(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return 1;
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* Keep x among the need newest of c[0..*n), newest first. */
static void keep_newest(cand_t *c, int *n, int need, cand_t x)
{
  int i = *n;
  if (i == need) {
    if (!newer(&x, &c[need - 1])) return;
    i = need - 1;
  } else (*n)++;
  for (; i > 0 && newer(&x, &c[i - 1]); i--) c[i] = c[i - 1];
  c[i] = x;
}

/* A roaming page's imports older than the floor's before_s (§53): the need newest below (bt, bs) that the
 * page lists, newest first into out[*n]. The floor covers the ones stored when its pass began (id at most
 * upto_id); the others were stored since (rowids never decrease along seq) and are shown. Two readers in
 * turn, a row a step each, until either has the answer: the partial index from the cursor down, where a
 * covered entry's whole second is passed in one seek (its second's entries below it have lower seqs, so
 * were stored before it: covered too), and the conversation's messages stored since the pass, from the
 * newest down to the first stored before (every one read, the need newest kept). So the page costs the
 * seconds of covered imports it passes or the messages stored since the pass, the fewer. */
static int imports_below_floor(store_t *s, uint32_t sdkappid, uint64_t conv, const floor_of_t *f,
                               uint32_t after_seq, uint32_t viewer_no, int64_t min_t, int64_t bt, int64_t bs,
                               int need, cand_t *out, int *n)
{
  sqlite3_stmt *idx = stmt(s, M_IMP_BELOW), *since = stmt(s, M_SINCE_DOWN);
  *n = 0;
  if (!idx || !since) return IMC_E_IO;
  cand_t *kept = malloc((size_t)need * sizeof *kept);
  if (!kept) return IMC_E_NOMEM;
  int nk = 0, rc, from_since = 0;
  BIND(idx, sdkappid, (int64_t)conv, bt, bs, min_t, f->upto_id, after_seq, viewer_no);
  BIND(since, sdkappid, (int64_t)conv);
  for (;;) {
    if ((rc = step_row(since)) < 0) break;
    if (!rc || sqlite3_column_int64(since, 2) <= f->upto_id) { from_since = 1; break; } /* all stored since read */
    cand_t x = { (uint32_t)sqlite3_column_int64(since, 0), sqlite3_column_int64(since, 1) };
    int64_t flags = sqlite3_column_int64(since, 3);
    if ((flags & STORE_MSG_IMPORTED) && x.time_s >= min_t && (x.time_s < bt || (x.time_s == bt && x.seq < bs)) &&
        x.seq > after_seq && !((flags & STORE_MSG_NOT_FROM) && (uint32_t)sqlite3_column_int64(since, 4) == viewer_no))
      keep_newest(kept, &nk, need, x);
    if ((rc = step_row(idx)) <= 0) break; /* done: every listed one read */
    int64_t q = sqlite3_column_int64(idx, 0), t = sqlite3_column_int64(idx, 1);
    if (sqlite3_column_int64(idx, 2)) { /* covered: so is the rest of its second, seek below it */
      sqlite3_reset(idx);
      BIND(idx, sdkappid, (int64_t)conv, t, 0, min_t, f->upto_id, after_seq, viewer_no);
    } else {
      out[(*n)++] = (cand_t){ (uint32_t)q, t };
      if (*n == need) break;
    }
  }
  sqlite3_reset(idx);
  sqlite3_reset(since);
  if (rc >= 0 && from_since) {
    for (int i = 0; i < nk; i++) out[i] = kept[i];
    *n = nk;
  }
  free(kept);
  return rc < 0 ? rc : 0;
}

int sq__msg_roam(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t viewer_no, uint32_t after_seq, int64_t min_t,
                 int64_t max_t, int64_t below_t, uint32_t below_seq, int limit, store_msg_cb cb, void *ud)
{
  /* the page is the messages below (ct, cs) in (time, seq) order: the cursor, or every one up to max_t */
  int64_t ct = below_t, cs = below_seq;
  if (below_t == INT64_MAX || max_t < below_t) { ct = max_t; cs = (int64_t)UINT32_MAX + 1; }
  if (limit <= 0) return 0;
  cand_t *c = malloc(2 * (size_t)limit * sizeof *c);
  if (!c) return IMC_E_NOMEM;
  int ni = 0;
  floor_of_t f = { 0, 0 };
  int rc = floor_of(s, sdkappid, &f);
  /* the imports at or above the floor's time (every one shown by it), then the older ones (§53) */
  int64_t imp_t = min_t > f.before_s ? min_t : f.before_s;
  sqlite3_stmt *st = rc || ct < imp_t ? NULL : stmt(s, M_IMP_PAGE);
  if (!rc && ct >= imp_t && !st) rc = IMC_E_IO;
  if (st) {
    BIND(st, sdkappid, (int64_t)conv, after_seq, imp_t, 0, ct, cs, viewer_no, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      c[ni++] = (cand_t){ (uint32_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1) };
    sqlite3_reset(st);
    rc = rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
  }
  if (!rc && ni < limit && min_t < f.before_s) {
    int nb;
    int64_t bt = ct < f.before_s ? ct : f.before_s, bs = ct < f.before_s ? cs : 0;
    rc = imports_below_floor(s, sdkappid, conv, &f, after_seq, viewer_no, min_t, bt, bs, limit - ni, c + ni, &nb);
    ni += nb;
  }
  /* the live ones from the highest live seq below the cursor down (every live message above it is newer) */
  live_pick_t p = { c + limit, 0, limit, after_seq, viewer_no, min_t };
  uint32_t top = UINT32_MAX;
  if (!rc && ct != INT64_MAX) rc = sq__live_before(s, sdkappid, conv, (int64_t)UINT32_MAX + 1, ct, cs, &top);
  if (!rc && top) rc = sq__live_down(s, sdkappid, conv, (int64_t)top + 1, 1, pick_live, &p);
  /* both newest first: merged, the first limit */
  for (int i = 0, l = 0, n = 0; !rc && n < limit && (i < ni || l < p.n); n++) {
    const cand_t *x = l >= p.n || (i < ni && newer(&c[i], &p.c[l])) ? &c[i++] : &p.c[l++];
    rc = sq__msg_get(s, sdkappid, conv, x->seq, cb, ud);
  }
  free(c);
  return rc;
}

typedef struct listed { uint32_t user, seq; int64_t time_s; } listed_t;

/* the first live message user's list shows (sq__msg_lists) */
static int first_listed(void *ud, sqlite3_stmt *st)
{
  listed_t *l = ud;
  int64_t flags = sqlite3_column_int64(st, 5);
  if ((flags & STORE_MSG_NOT_FROM) && (uint32_t)sqlite3_column_int64(st, 2) == l->user) return -1; /* its run (§51) */
  if (flags & STORE_MSG_NO_LAST) return flags & STORE_MSG_NOT_FROM ? 0 : -1; /* a run of NoLastMsg ones (§57) */
  l->seq = (uint32_t)sqlite3_column_int64(st, 0);
  l->time_s = sqlite3_column_int64(st, 4);
  return 1;
}

int sq__last_by_time(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, uint32_t *seq, int64_t *time_s)
{
  uint64_t conv = store_c2c_conv(user_no, peer_no);
  uint32_t top = *seq; /* the newest listed message by seq: the newest listed live one is below it */
  listed_t live = { user_no, 0, 0 };
  sqlite3_stmt *st = stmt(s, M_IMP_LAST);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, user_no);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *seq = (uint32_t)sqlite3_column_int64(st, 0);
    *time_s = sqlite3_column_int64(st, 1);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sq__map_rc(rc);
  if ((rc = sq__live_down(s, sdkappid, conv, top, 0, first_listed, &live))) return rc;
  /* the newer by (time, seq): a live message above the newest import by time is never older than it (§45) */
  if (live.seq && (live.time_s > *time_s || (live.time_s == *time_s && live.seq > *seq))) {
    *seq = live.seq;
    *time_s = live.time_s;
  }
  return 0;
}

/* A live row at or below the mark's floor: at or below after, not newer than the read time, or covered by
 * the purge floor (WALK_SHOWN's column 7). Each is a prefix of the live seqs: times and rowids never
 * decrease along them. */
typedef struct mark_low { uint32_t after; int64_t upto_t; } mark_low_t;

static int mark_low(void *ud, sqlite3_stmt *st)
{
  const mark_low_t *l = ud;
  return (uint32_t)sqlite3_column_int64(st, 0) <= l->after || sqlite3_column_int64(st, 4) <= l->upto_t ||
         !sqlite3_column_int64(st, 7);
}

/* The §47 search: the live messages on either side of the mark (sq__live_split), then the lowest import
 * newer than the time between them through the partial index (IMP_NEWER: its entries newer than the time). */
static int read_mark_split(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t after_seq, uint32_t upto_seq,
                           int64_t upto_t, uint32_t *mark)
{
  mark_low_t l = { after_seq, upto_t };
  uint32_t below, above;
  int64_t first = 0;
  /* below: nothing under it counts (older than the live message, hidden with it, or already read);
   * above: the first live message that is newer and shown; only imports are in between */
  int rc = sq__live_split(s, sdkappid, conv, (int64_t)upto_seq + 1, 1, mark_low, &l, &below, &above);
  if (rc) return rc;
  sqlite3_stmt *st = stmt(s, M_IMP_NEWER);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, upto_t, below > after_seq ? below : after_seq,
       above ? (int64_t)above : (int64_t)upto_seq + 1);
  if ((rc = scalar(st, &first))) return rc;
  if (first) *mark = (uint32_t)first - 1;
  else if (above) *mark = above - 1;
  return 0;
}

/* The highest message at or below seq at: its seq (0: none), the newest time up to it (g: never
 * decreasing along seq, at least every lower message's time) and its own time. */
typedef struct upto_row { int64_t seq, g, time_s; } upto_row_t;

static int newest_upto(store_t *s, uint32_t sdkappid, uint64_t conv, int64_t at, upto_row_t *r)
{
  sqlite3_stmt *st = stmt(s, M_NEWEST_UPTO);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, at);
  int rc = sqlite3_step(st);
  *r = (upto_row_t){ 0, 0, 0 };
  if (rc == SQLITE_ROW)
    *r = (upto_row_t){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2) };
  sqlite3_reset(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* *first = the lowest seq in (lo, hi) whose newest time up to it passes t (hi: none), *first_t its time,
 * given that no message at or below lo is newer than t: g never decreases along seq, a binary search (one
 * seek a probe). A live message's g is its time; an import's may be a purged message's, never less than
 * the time of a message below it. */
static int first_newer(store_t *s, uint32_t sdkappid, uint64_t conv, int64_t lo, int64_t hi, int64_t t,
                       int64_t *first, int64_t *first_t)
{
  upto_row_t r;
  int rc;
  *first_t = 0;
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    if ((rc = newest_upto(s, sdkappid, conv, mid, &r))) return rc;
    if (r.seq <= lo || r.g <= t) lo = mid; /* none in (lo, mid], or none of them newer */
    else { hi = r.seq; *first_t = r.time_s; }
  }
  *first = hi;
  return 0;
}

int sq__msg_read_mark(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t after_seq, uint32_t upto_seq,
                      int64_t upto_t, uint32_t *mark)
{
  upto_row_t r;
  int64_t hi, hi_t, covered = 0;
  *mark = upto_seq;
  if (upto_seq <= after_seq) return 0;
  /* §48: when nothing at or below after_seq is newer than the time, the first message above it newer than
   * the time is where g first passes the time; it is the mark's bound when the floor shows it */
  int rc = newest_upto(s, sdkappid, conv, after_seq, &r);
  if (rc) return rc;
  if (r.seq && r.g > upto_t) return read_mark_split(s, sdkappid, conv, after_seq, upto_seq, upto_t, mark);
  if ((rc = first_newer(s, sdkappid, conv, after_seq, (int64_t)upto_seq + 1, upto_t, &hi, &hi_t))) return rc;
  if (hi > upto_seq) return 0; /* nothing in (after_seq, upto_seq] is newer */
  sqlite3_stmt *st = stmt(s, M_COVERED);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, hi);
  if ((rc = scalar(st, &covered))) return rc;
  if (hi_t > upto_t && !covered) { *mark = (uint32_t)hi - 1; return 0; }
  /* g passed the time at a message not newer itself (a purged message's time it kept) or hidden by the
   * floor: the §47 search */
  return read_mark_split(s, sdkappid, conv, after_seq, upto_seq, upto_t, mark);
}

static int shown(const floor_of_t *f, sqlite3_stmt *st) /* a row's (…, time_s, id) in columns 1 and 2 */
{
  return sqlite3_column_int64(st, 1) >= f->before_s || sqlite3_column_int64(st, 2) > f->upto_id;
}

/* A row of DOWN_FROM or IMP_UPTO in [min_t, max_t] that the floor shows. */
static int at_or_before(const floor_of_t *f, sqlite3_stmt *st, int64_t min_t, int64_t max_t)
{
  int64_t t = sqlite3_column_int64(st, 1);
  return t >= min_t && t <= max_t && shown(f, st);
}

/* The highest shown message in [lo, hi) with a time in [min_t, max_t], 0 when none: every live message in
 * it is newer than max_t (it is at or above the first message whose g passes max_t), so only imports can
 * be the answer. Two readers in turn, one row a step each, until either has it: the walk down from hi
 * (its first match is the answer; done at lo: none), or the partial index's entries of times in [min_t,
 * max_t] (the highest in [lo, hi) once they are all read). */
static int imports_at_or_before(store_t *s, uint32_t sdkappid, uint64_t conv, const floor_of_t *f, int64_t lo,
                                int64_t hi, int64_t min_t, int64_t max_t, int64_t *seq)
{
  sqlite3_stmt *down = stmt(s, M_DOWN_FROM), *imp = stmt(s, M_IMP_UPTO);
  if (!down || !imp) return IMC_E_IO;
  BIND(down, sdkappid, (int64_t)conv, hi, lo);
  BIND(imp, sdkappid, (int64_t)conv, min_t, max_t);
  int64_t best = 0;
  int rc;
  *seq = 0;
  for (;;) {
    if ((rc = step_row(down)) <= 0) break; /* done: no match in [lo, hi) */
    if (at_or_before(f, down, min_t, max_t)) { *seq = sqlite3_column_int64(down, 0); break; }
    if ((rc = step_row(imp)) < 0) break;
    if (!rc) { *seq = best; break; } /* every entry read */
    int64_t q = sqlite3_column_int64(imp, 0);
    if (q >= lo && q < hi && q > best && shown(f, imp)) best = q;
  }
  sqlite3_reset(down);
  sqlite3_reset(imp);
  return rc < 0 ? rc : 0;
}

int sq__msg_newest_at(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t before_seq, int64_t min_t, int64_t max_t,
                      uint32_t *seq)
{
  int64_t hi = before_seq ? (int64_t)before_seq : (int64_t)UINT32_MAX + 1, first, first_t, found = 0, max;
  floor_of_t f = { 0, 0 };
  sqlite3_stmt *st = stmt(s, M_MAX_SEQ);
  *seq = 0;
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv);
  int rc = scalar(st, &max);
  if (rc || min_t > max_t) return rc;
  if (hi > max + 1) hi = max + 1;
  if ((rc = floor_of(s, sdkappid, &f))) return rc;
  /* below the first message newer than max_t none is newer: the first shown one at or after min_t */
  if ((rc = first_newer(s, sdkappid, conv, 0, hi, max_t, &first, &first_t))) return rc;
  if (first < hi && (rc = imports_at_or_before(s, sdkappid, conv, &f, first, hi, min_t, max_t, &found))) return rc;
  if (!found) {
    if (!(st = stmt(s, M_DOWN_FROM))) return IMC_E_IO;
    BIND(st, sdkappid, (int64_t)conv, first, 0);
    while ((rc = step_row(st)) > 0)
      if (at_or_before(&f, st, min_t, max_t)) { found = sqlite3_column_int64(st, 0); break; }
    sqlite3_reset(st);
    if (rc < 0) return rc;
  }
  *seq = (uint32_t)found;
  return 0;
}
