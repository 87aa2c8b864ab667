/* rel_common.c — the relationship request helper (rel_api.h): a change set
 * applied in memory, written by the writer thread, pushed and acknowledged
 * once durable, undone when refused or failed; lookups of From_Account and
 * peers; the plan check; pushes to a user's online devices; an account
 * deletion's relationship purge. Loop thread (except write_all and
 * rel_account_held_write, on the writer). */
#include "api/rel_api.h"
#include "store/store_rel.h"
#include "util/err.h"
#include "util/clock.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

relreq_t *relreq_alloc(api_srv_t *srv, uint32_t app)
{
  relreq_t *rr = calloc(1, sizeof *rr);
  if (!rr) return NULL;
  rr->srv = srv;
  rr->app = app;
  rel_txn_init(&rr->txn, srv->rel);
  if (!(rr->pushes = json_array())) { free(rr); return NULL; }
  return rr;
}

/* One queued push as an inbox event (im_c2c_rel_append). */
typedef struct relreq_ev { uint32_t user_no, useq; int64_t at_s; char *payload; } relreq_ev_t;

static void evs_free(relreq_t *rr)
{
  for (size_t i = 0; i < rr->nev; i++) free(rr->evs[i].payload);
  free(rr->evs);
  rr->evs = NULL;
  rr->nev = 0;
}

/* Loop thread, before the write: the queued pushes as texts the writer can
 * read without touching jansson objects. 0 or IMC_E_NOMEM. */
static int evs_prepare(relreq_t *rr)
{
  size_t n = json_array_size(rr->pushes), i;
  json_t *p;
  int64_t now = imc_clock_now_s();
  evs_free(rr);
  if (rr->lost) return IMC_E_NOMEM; /* a change never goes without its event */
  if (!n) return 0;
  if (!(rr->evs = calloc(n, sizeof *rr->evs))) return IMC_E_NOMEM;
  json_array_foreach(rr->pushes, i, p) {
    rr->evs[i].user_no = (uint32_t)json_integer_value(json_array_get(p, 0));
    rr->evs[i].at_s = now;
    if (!(rr->evs[i].payload = json_dumps(json_array_get(p, 1), JSON_COMPACT))) { rr->nev = i; evs_free(rr); return IMC_E_NOMEM; }
  }
  rr->nev = n;
  return 0;
}

/* Writer thread: the change set, then one inbox event per push. */
static int write_all(store_t *s, relreq_t *rr)
{
  int rc = rel_txn_write(s, &rr->txn);
  for (size_t i = 0; i < rr->nev && !rc; i++)
    rc = im_c2c_rel_append(s, rr->app, rr->evs[i].user_no, rr->evs[i].at_s, rr->evs[i].payload, &rr->evs[i].useq);
  return rc;
}

static void held_undo(relreq_t *rr);
static void held_free(relreq_t *rr);

void relreq_free(relreq_t *rr)
{
  if (!rr) return;
  evs_free(rr);
  if (!rr->committed) held_undo(rr);
  held_free(rr);
  if (!rr->committed) rel_txn_undo(&rr->txn);
  rel_txn_free(&rr->txn);
  json_decref(rr->pushes);
  json_decref(rr->out);
  free(rr);
}

static void relreq_free_v(void *p) { relreq_free(p); }

relreq_t *relreq_new(rest_ctx_t *c)
{
  relreq_t *rr = relreq_alloc(c->srv, c->sdkappid);
  if (!rr) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return NULL; }
  c->data = rr;
  c->data_free = relreq_free_v;
  return rr;
}

void relreq_push(relreq_t *rr, uint32_t user_no, json_t *frame)
{
  if (!frame || json_array_append_new(rr->pushes, json_pack("[I,o]", (json_int_t)user_no, frame))) rr->lost = 1;
}

/* Once durable: each event to its user's live sessions, in commit order. */
static void send_pushes(relreq_t *rr)
{
  for (size_t i = 0; i < rr->nev; i++)
    if (rr->evs[i].useq) im_c2c_rel_deliver(rr->srv->c2c, rr->app, rr->evs[i].user_no, rr->evs[i].useq, rr->evs[i].at_s,
                         rr->evs[i].payload);
  evs_free(rr);
  json_array_clear(rr->pushes);
}

static int rest_write_run(store_t *s, void *arg)
{
  rest_ctx_t *c = arg;
  return write_all(s, c->data);
}

static void rest_write_after(rest_ctx_t *c, int rc)
{
  relreq_t *rr = c->data;
  if (rc) {
    IMC_WARN("rel", "msg=\"relationship write failed; memory restored\" app=%u err=%s", c->sdkappid, imc_err_name(rc));
    rest_reply_err(c, rc, NULL, NULL); /* frees c: the change set is undone */
    return;
  }
  rr->committed = 1;
  send_pushes(rr);
  json_t *out = rr->out;
  rr->out = NULL;
  if (out) rest_reply_ok(c, out);
  else rest_reply_ok_bare(c); /* relreq_commit_bare's: a NULL of relreq_commit failed the request */
}

/* Commit with out as the reply's fields; want: the reply has fields (out NULL: they could not be made). */
static void commit(rest_ctx_t *c, json_t *out, int want)
{
  relreq_t *rr = c->data;
  json_decref(rr->out);
  rr->out = out;
  if (want && !out) rr->lost = 1;
  if (rr->txn.n == 0 && !json_array_size(rr->pushes) && !rr->lost) { rest_write_after(c, 0); return; }
  int rc = evs_prepare(rr);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; } /* frees c: the change set is undone */
  rest_submit(c, rest_write_run, rest_write_after); /* refused: replied, c freed, changes undone */
}

void relreq_commit(rest_ctx_t *c, json_t *out) { commit(c, out, 1); }
void relreq_commit_bare(rest_ctx_t *c) { commit(c, NULL, 0); }

int relreq_prepare(relreq_t *rr) { return evs_prepare(rr); }

int relreq_write(store_t *s, relreq_t *rr) { return write_all(s, rr); }

void relreq_written(relreq_t *rr, int rc)
{
  if (rc) return;
  rr->committed = 1;
  send_pushes(rr);
}

static int ws_write_run(store_t *s, void *arg)
{
  return write_all(s, arg);
}

static void ws_write_done(void *arg, int rc)
{
  relreq_t *rr = arg;
  rr->srv->jobs_in_flight--;
  if (!rc) { rr->committed = 1; send_pushes(rr); }
  rr->done(rr, rc);
}

void relreq_submit(relreq_t *rr, void (*done)(relreq_t *rr, int rc), void *ud)
{
  rr->done = done;
  rr->ud = ud;
  if (rr->txn.n == 0 && !json_array_size(rr->pushes) && !rr->lost) { rr->committed = 1; done(rr, 0); return; }
  int rc = evs_prepare(rr);
  if (rc) { done(rr, rc); return; }
  rr->job.run = ws_write_run;
  rr->job.done = ws_write_done;
  rr->job.arg = rr;
  if ((rc = store_writer_submit(rr->srv->writer, &rr->job))) { done(rr, rc); return; }
  rr->srv->jobs_in_flight++;
}

/* ---- lookups ------------------------------------------------------------------ */
int rel_from(rest_ctx_t *c, const char *field, int create, int param_err, int not_imported_err, rel_user_t **u)
{
  json_t *v = json_object_get(c->body, field);
  uint32_t no;
  if (!json_is_string(v) || !tenant_user_id_valid(json_string_value(v))) return param_err;
  if (tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(v), &no)) return not_imported_err;
  *u = create ? rel_user_ensure(c->srv->rel, c->sdkappid, no, json_string_value(v)) : rel_user(c->srv->rel, c->sdkappid, no);
  if (create && !*u) return IMC_E_NOMEM;
  if (*u && !(*u)->id[0]) snprintf((*u)->id, sizeof (*u)->id, "%s", json_string_value(v));
  return 0;
}

int rel_str_repeated(json_t *arr, size_t i)
{
  const char *s = json_string_value(json_array_get(arr, i));
  for (size_t k = 0; s && k < i; k++)
    if (json_is_string(json_array_get(arr, k)) && !strcmp(json_string_value(json_array_get(arr, k)), s)) return 1;
  return 0;
}

int rel_peer(api_srv_t *srv, uint32_t app, json_t *v, const char **id, uint32_t *no)
{
  if (!json_is_string(v) || !tenant_user_id_valid(json_string_value(v))) return IMC_E_USER_ID;
  *id = json_string_value(v);
  return tenant_registry_account_find(srv->reg, app, *id, no) ? IMC_E_NOTFOUND : 0;
}

rel_user_t *rel_peer_rec(api_srv_t *srv, uint32_t app, uint32_t no, const char *id)
{
  return rel_user_ensure(srv->rel, app, no, id);
}

int rel_plan(api_srv_t *srv, uint32_t app, plan_item_t what, int64_t current, int64_t adding, char *msg, size_t cap)
{
  const tenant_app_t *a = tenant_registry_app(srv->reg, app);
  plan_verdict_t v;
  if (!a) return IMC_E_APP_INVALID;
  int rc = plan_check(&a->plan, imc_clock_now_s(), what, current, adding, &v);
  if (rc && msg && cap) snprintf(msg, cap, "%s", v.msg);
  return rc;
}

/* ---- pushes --------------------------------------------------------------------- */
json_t *rel_json(const char *text) { return text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL; }

char *rel_text(json_t *o) { return json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY); }

/* ---- account deletion ------------------------------------------------------------ */
typedef struct purge_ctx { relreq_t *rr; uint32_t app, user_no; const char *id; int rc; } purge_ctx_t;

/* The kinds of row that name a peer by its UserID, with the sequence a change of them bumps (purge_refs). */
static const struct { rel_kind_t kind; const char *seq; } refs[] = {
  { REL_K_FRIEND, "friend_seq" }, { REL_K_PEND_OUT, NULL }, { REL_K_PEND_IN, NULL }, { REL_K_BLACK, "black_seq" },
};

/* The event of holder's friend or pending row naming the deleted account peer_id going (a blocklist row's,
 * black_changed, carries the new sequence and is made where that is known). NULL on OOM. */
static json_t *ref_frame(rel_kind_t kind, const char *holder_id, const char *peer_id)
{
  if (kind == REL_K_FRIEND) return json_pack("{s:s,s:s}", "type", "friend_deleted", "peer", peer_id);
  /* a request that will never be answered */
  return json_pack("{s:s,s:s,s:s,s:s}", "type", "friend_request_ended", "from", kind == REL_K_PEND_OUT ? holder_id : peer_id,
                   "to", kind == REL_K_PEND_OUT ? peer_id : holder_id, "reason", "account_deleted");
}

static void purge_refs(void *ud, rel_user_t *u)
{
  purge_ctx_t *p = ud;
  if (p->rc || u->sdkappid != p->app || u->user_no == p->user_no || u->user_no == 0) return;
  for (size_t i = 0; i < sizeof refs / sizeof refs[0] && !p->rc; i++) {
    if (!rel_get(u, refs[i].kind, p->id)) continue;
    int64_t seq = 0;
    p->rc = rel_txn_del(&p->rr->txn, u, refs[i].kind, p->id);
    if (!p->rc && refs[i].seq) p->rc = rel_txn_bump(&p->rr->txn, u, refs[i].seq, &seq);
    if (!p->rc && refs[i].kind != REL_K_BLACK) relreq_push(p->rr, u->user_no, ref_frame(refs[i].kind, u->id, p->id));
    if (!p->rc && refs[i].kind == REL_K_BLACK) /* as every blocklist change: the holder's devices re-read it */
      relreq_push(p->rr, u->user_no, json_pack("{s:s,s:I}", "type", "black_changed", "seq", (json_int_t)seq));
  }
}

/* A kind of row that names a peer by its UserID (purge_refs's kinds): its index in refs, or -1. */
static int ref_of(uint8_t kind)
{
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (refs[i].kind == kind) return (int)i;
  return -1;
}

/* A row of another user naming the purged account that an earlier purge of the call removed from memory (§119):
 * what its holder gets if that purge rolls back and this one commits. */
typedef struct rel_held {
  uint32_t holder_no;
  uint8_t ref;                   /* index in refs */
  uint8_t in_mem;                /* seq is in memory already (reserved at the build); 0: the holder's own purge
                                  * emptied its record, seq goes in when the undo gives it back */
  uint8_t written;               /* written: seq is in the deleting transaction */
  uint8_t stored;                /* that transaction is durable (rel_account_held_durable): seq is never undone */
  char peer[40];                 /* the row's key: the purged account's UserID */
  size_t earlier;                /* the purge that removed it: index in rel_account_purge's earlier */
  char *payload;                 /* the event (made on the loop thread); NULL for the blocklist's (text) */
  char text[64];                 /* the blocklist's event, with seq */
  int64_t seq, at_s;             /* the holder's sequence reserved for the change (0: a kind with none); the
                                  * event's time */
  uint32_t useq;                 /* written: the event's useq; 0 when no event was written */
} rel_held_t;

/* rr not committed (refused, failed, or its item rolled back): each reservation that was not written is given
 * back where memory still holds it, newest first, as rel_txn_undo does (the caller undoes the sets newest first). */
static void held_undo(relreq_t *rr)
{
  for (size_t i = rr->nheld; i-- > 0;) {
    const rel_held_t *h = &rr->held[i];
    rel_user_t *u = h->in_mem && !h->stored ? rel_user(rr->srv->rel, rr->app, h->holder_no) : NULL;
    if (!u || rel_meta_i64(u, refs[h->ref].seq) != h->seq) continue;
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)(h->seq - 1));
    /* a shorter value or a delete: an OOM leaves the reservation, a gap (§119) */
    (void)rel_set_unrecorded(rr->srv->rel, u, REL_K_META, refs[h->ref].seq, h->seq > 1 ? buf : NULL);
  }
}

static void held_free(relreq_t *rr)
{
  for (size_t i = 0; i < rr->nheld; i++) free(rr->held[i].payload);
  free(rr->held);
  rr->held = NULL;
  rr->nheld = 0;
}

/* The holder's seq_key as by (its own account's purge, which deleted the holder's rows) found it: the value its
 * deletion recorded, 0 if it had none. */
static int64_t own_seq(const relreq_t *by, uint32_t holder_no, const char *seq_key)
{
  for (size_t k = 0; k < by->txn.n; k++) {
    const rel_op_t *op = &by->txn.ops[k];
    if (op->user_no == holder_no && op->kind == REL_K_META && !op->val && op->had_old && !strcmp(op->key, seq_key))
      return strtoll(op->old, NULL, 10);
  }
  return 0;
}

/* Keep op (a real deletion by the earlier purge by, at index e, of a row of another user naming user_id) in
 * rr->held, once per holder and kind, with the holder's sequence reserved now, on the loop thread like every
 * other (§119): memory's value plus one, put in memory at once; when by is the holder's own purge (a's row naming
 * b in [a, b]) its record is empty until by's undo, and its requests wait in the deletion gate, so the value by's
 * deletion recorded plus one, put in memory by rel_account_held_apply. 0 or IMC_E_NOMEM (nothing kept). */
static int held_add(relreq_t *rr, u64map_t *seen, const rel_op_t *op, size_t e, const relreq_t *by,
                    const char *user_id)
{
  int ref = ref_of(op->kind);
  uint64_t k = (uint64_t)op->user_no << 8 | (uint64_t)(ref + 1); /* never 0 */
  if (u64map_get(seen, k)) return 0; /* kept already (one map lookup: a purge may name every user of the app) */
  if (u64map_put(seen, k, seen)) return IMC_E_NOMEM;
  rel_held_t *h = realloc(rr->held, (rr->nheld + 1) * sizeof *h);
  if (!h) return IMC_E_NOMEM;
  rr->held = h;
  h = &rr->held[rr->nheld];
  memset(h, 0, sizeof *h);
  h->holder_no = op->user_no;
  h->ref = (uint8_t)ref;
  h->earlier = e;
  snprintf(h->peer, sizeof h->peer, "%s", user_id);
  rel_user_t *u = rel_user(rr->srv->rel, op->sdkappid, op->user_no); /* kept until the call's purges end */
  if (refs[ref].kind != REL_K_BLACK) {
    json_t *f = ref_frame(refs[ref].kind, u ? u->id : "", user_id);
    h->payload = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    if (!h->payload) return IMC_E_NOMEM;
  }
  if (refs[ref].seq && by->ud && (uint32_t)(uintptr_t)by->ud == op->user_no)
    h->seq = own_seq(by, op->user_no, refs[ref].seq) + 1;
  else if (refs[ref].seq) {
    char buf[24];
    h->seq = rel_meta_i64(u, refs[ref].seq) + 1;
    snprintf(buf, sizeof buf, "%lld", (long long)h->seq);
    if (!u || rel_set_unrecorded(rr->srv->rel, u, REL_K_META, refs[ref].seq, buf)) {
      free(h->payload);
      h->payload = NULL;
      return IMC_E_NOMEM;
    }
    h->in_mem = 1;
  }
  rr->nheld++;
  return 0;
}

/* The rows the sets in earlier (not yet durable: n of them, NULL entries skipped) removed from memory that are
 * user_no's own, or another user's naming user_id (a's friendship with b, removed by a's purge as a's own row; a
 * row of c naming b, removed by the first purge of [b, b]), as deletions for rr's write only
 * (rel_txn_del_stored): rr's write then removes them whether or not those sets commit (§116, §117). The other
 * users' rows an earlier set really removed (not its own del_stored ops) are kept in rr->held too (§119). 0 or
 * IMC_E_NOMEM. */
static int purge_earlier(relreq_t *rr, uint32_t app, uint32_t user_no, const char *user_id, relreq_t *const *earlier,
                         size_t n)
{
  int rc = 0;
  u64map_t seen; /* (holder, kind) kept in rr->held */
  u64map_init(&seen);
  for (size_t i = 0; i < n && !rc; i++)
    for (size_t k = 0; earlier[i] && k < earlier[i]->txn.n && !rc; k++) {
      const rel_op_t *op = &earlier[i]->txn.ops[k];
      if (op->sdkappid != app || op->val) continue; /* another app's, or not a deletion */
      int other = op->user_no != user_no && op->user_no != 0 && user_id && ref_of(op->kind) >= 0 &&
                  !strcmp(op->key, user_id);
      if (op->user_no == user_no || other) rc = rel_txn_del_stored(&rr->txn, app, op->user_no, (rel_kind_t)op->kind, op->key);
      if (!rc && other && op->had_old) rc = held_add(rr, &seen, op, i, earlier[i], user_id);
    }
  u64map_free(&seen);
  return rc;
}

/* The purge of user_no's rows into a fresh change set, applied in memory at once (rr->ud: the user had a
 * record, dropped once the purge is durable), with the deletions of its rows by the sets in earlier (n);
 * prepared for its write. NULL on OOM, nothing changed. */
static relreq_t *purge_build(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *user_id,
                             relreq_t *const *earlier, size_t n_earlier)
{
  rel_user_t *u = rel_user(srv->rel, app, user_no);
  relreq_t *rr = relreq_alloc(srv, app);
  if (!rr) return NULL;
  purge_ctx_t p = { rr, app, user_no, user_id, 0 };
  for (int k = 0; u && k < REL_K__COUNT && !p.rc; k++)
    while (!p.rc && rel_count(u, (rel_kind_t)k)) {
      size_t n;
      const rel_row_t *rows = rel_rows(u, (rel_kind_t)k, &n);
      p.rc = rel_txn_del(&rr->txn, u, (rel_kind_t)k, rows[n - 1].key);
    }
  if (!p.rc) p.rc = purge_earlier(rr, app, user_no, user_id, earlier, n_earlier);
  /* every other user of the app that names it (one pass over the records) */
  if (!p.rc) rel_each_user(srv->rel, purge_refs, &p);
  if (!p.rc) p.rc = relreq_prepare(rr);
  if (p.rc) { relreq_free(rr); return NULL; } /* undone */
  rr->ud = u ? (void *)(uintptr_t)user_no : NULL;
  return rr;
}

int rel_account_held_write(store_t *s, relreq_t *rr, int committed,
                           int (*keep)(void *ud, size_t earlier, uint32_t holder_no), void *ud)
{
  int rc = 0;
  int64_t now = imc_clock_now_s();
  for (size_t i = 0; rr && i < rr->nheld && !rc; i++) {
    rel_held_t *h = &rr->held[i];
    h->useq = 0; /* a job run again starts afresh */
    h->written = 0;
    int k = keep(ud, h->earlier, h->holder_no);
    int change = committed && k == REL_HELD_CHANGE;
    const char *seq_key = refs[h->ref].seq;
    if (seq_key && k != REL_HELD_NONE && (change || h->in_mem)) {
      /* the reserved value; never below what storage holds (a later item of the call may have written a later
       * value of memory's, in its savepoint) */
      char *v = NULL, buf[24];
      rc = store_rel_get(s, rr->app, h->holder_no, REL_K_META, seq_key, &v);
      if (rc && rc != IMC_E_NOTFOUND) return rc;
      int64_t on_disk = v ? strtoll(v, NULL, 10) : 0;
      free(v);
      rc = 0;
      snprintf(buf, sizeof buf, "%lld", (long long)h->seq);
      if (on_disk < h->seq && (rc = store_rel_put(s, rr->app, h->holder_no, REL_K_META, seq_key, buf))) return rc;
      h->written = 1;
    }
    if (!change) continue;
    if (refs[h->ref].kind == REL_K_BLACK)
      snprintf(h->text, sizeof h->text, "{\"type\":\"black_changed\",\"seq\":%lld}", (long long)h->seq);
    h->at_s = now;
    rc = im_c2c_rel_append(s, rr->app, h->holder_no, now, h->payload ? h->payload : h->text, &h->useq);
  }
  return rc;
}

void rel_account_held_durable(relreq_t *rr)
{
  for (size_t i = 0; rr && i < rr->nheld; i++) rr->held[i].stored = rr->held[i].written;
}

void rel_account_held_apply(relreq_t *rr)
{
  for (size_t i = 0; rr && i < rr->nheld; i++) {
    const rel_held_t *h = &rr->held[i];
    rel_user_t *u = h->useq ? rel_user(rr->srv->rel, rr->app, h->holder_no) : NULL;
    if (!u) continue;
    const char *seq_key = refs[h->ref].seq;
    rel_set_unrecorded(rr->srv->rel, u, refs[h->ref].kind, h->peer, NULL); /* back from the undo; a delete never fails */
    if (!seq_key || rel_meta_i64(u, seq_key) >= h->seq) continue; /* reserved in memory at the build */
    char buf[24]; /* the holder's own purge undone: its record is back with the value before the reservation */
    snprintf(buf, sizeof buf, "%lld", (long long)h->seq);
    if (rel_set_unrecorded(rr->srv->rel, u, REL_K_META, seq_key, buf))
      IMC_WARN("rel", "msg=\"no memory to set a sequence stored with an account deletion\" app=%u user_no=%u",
               rr->app, h->holder_no);
  }
}

void rel_account_held_deliver(relreq_t *rr)
{
  for (size_t i = 0; rr && i < rr->nheld; i++) {
    rel_held_t *h = &rr->held[i];
    if (h->useq) im_c2c_rel_deliver(rr->srv->c2c, rr->app, h->holder_no, h->useq, h->at_s, h->payload ? h->payload : h->text);
    h->useq = 0; /* once */
  }
}

static void purge_done(relreq_t *rr, int rc)
{
  if (!rc && rr->ud) rel_user_drop(rr->srv->rel, rr->app, (uint32_t)(uintptr_t)rr->ud); /* the emptied record */
  if (rc) IMC_WARN("rel", "msg=\"relationship rows of a deleted account not removed\" app=%u err=%s", rr->app, imc_err_name(rc));
  relreq_free(rr);
}

relreq_t *rel_account_purge(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *user_id,
                            relreq_t *const *earlier, size_t n_earlier)
{
  return purge_build(srv, app, user_no, user_id, earlier, n_earlier);
}

void rel_account_purged(relreq_t *rr, int rc)
{
  if (!rr) return;
  relreq_written(rr, rc); /* committed: the pushes go out; else relreq_free undoes the set */
  if (!rc && rr->ud) rel_user_drop(rr->srv->rel, rr->app, (uint32_t)(uintptr_t)rr->ud);
  relreq_free(rr);
}

void rel_account_deleted(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *user_id)
{
  relreq_t *rr = purge_build(srv, app, user_no, user_id, NULL, 0);
  if (!rr) { IMC_WARN("rel", "msg=\"no memory to remove a deleted account's relationship rows\" app=%u", app); return; }
  relreq_submit(rr, purge_done, rr->ud);
}

void rel_check_reply(rest_ctx_t *c, const rel_user_t *a, json_t *to, rel_kind_t kind, int both, const char *const names[4],
                     const char *items_key)
{
  json_t *items = json_array(), *fail = json_array(), *v;
  int bad = 0; /* a peer left out of items_key or Fail_Account: 70500 (§85) */
  /* the peer's side is keyed by From_Account's UserID: a From_Account with no rows of its own has no record
   * (a is NULL; rel_from checked the name), and the peer may still hold it */
  const char *from = json_string_value(json_object_get(c->body, "From_Account"));
  size_t i;
  json_array_foreach(to, i, v) {
    const char *id;
    uint32_t no;
    if (bad) break;
    int rc = rel_peer(c->srv, c->sdkappid, v, &id, &no);
    if (rc) {
      int err = rc == IMC_E_USER_ID ? IMC_E_REL_PARAM : IMC_E_REL_USER;
      api_list_add(items, json_pack("{s:O,s:s,s:i,s:s}", "To_Account", v, "Relation", names[0], "ResultCode",
                                    imc_err_compat(err), "ResultInfo", imc_strerror(err)), &bad);
      api_list_add(fail, json_incref(v), &bad);
      continue;
    }
    int ab = rel_get(a, kind, id) != NULL;
    int ba = both && from && rel_get(rel_user(c->srv->rel, c->sdkappid, no), kind, from) != NULL;
    api_list_add(items, json_pack("{s:s,s:s,s:i,s:s}", "To_Account", id, "Relation", names[ab | ba << 1],
                                  "ResultCode", 0, "ResultInfo", ""), &bad);
  }
  rest_reply_ok(c, api_json_whole(json_pack("{s:o,s:o}", items_key, items, "Fail_Account", fail), bad));
}
