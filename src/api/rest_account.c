/* rest_account.c — im_open_login_svc: account_import, multiaccount_import,
 * account_delete, account_check, kick (rest-api-reference §2.1); and the App
 * admin's own account, made as account_import makes one when the admin first
 * sends a one-to-one message without From_Account (rest_admin_account_make,
 * messaging-c2c-checks2.md §73).
 *
 * Writes run on the store writer thread; the in-memory registry is updated
 * and the reply sent only after the write is durable. */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/faultsim.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 100

/* ---- account_import ------------------------------------------------------- */
typedef struct import_one {
  char user_id[40];
  const char *nick, *face;  /* point into c->body (kept alive by the ctx) */
  uint32_t user_no;
  int reserved;             /* a new account counted as pending (quota.c), released when freed */
  relreq_t *profile;        /* an existing account's changed Nick / FaceUrl: the `profile` events, or NULL */
  api_srv_t *srv;
  uint32_t sdkappid;
  void (*then)(rest_ctx_t *c); /* the App admin's account (rest_admin_account_make): run once it is made, else NULL */
} import_one_t;

static void import_one_free(void *p)
{
  import_one_t *one = p;
  if (one && one->reserved) api_quota_release(one->srv, one->sdkappid, one->reserved);
  if (one) relreq_free(one->profile);
  free(one);
}

static int optional_string(json_t *body, const char *name, const char **out)
{
  json_t *v = json_object_get(body, name);
  *out = NULL;
  if (!v) return 0;
  if (!json_is_string(v)) return IMC_E_JSON_TYPE;
  if (json_string_length(v) > 500) return IMC_E_PROFILE_TOOLONG; /* 40601, as portrait_set */
  *out = json_string_value(v);
  return 0;
}

static int import_run(store_t *s, void *arg)
{
  rest_ctx_t *c = arg;
  import_one_t *one = c->data;
  int rc = store_account_import(s, c->sdkappid, one->user_id, one->nick, one->face, imc_clock_now_s(), &one->user_no);
  if (!rc) rc = rel_profile_import_write(s, c->sdkappid, one->user_no, one->nick, one->face); /* Nick, FaceUrl = profile */
  /* a changed Nick / FaceUrl is a profile change: its events are written with it (the same number:
   * profile is made only for an account that existed) */
  if (!rc && one->profile) rc = relreq_write(s, one->profile);
  return rc;
}

static void import_after(rest_ctx_t *c, int rc)
{
  import_one_t *one = c->data;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  rc = tenant_registry_account_put(c->srv->reg, c->sdkappid, one->user_id, one->user_no);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  rel_profile_import_apply(c->srv, c->sdkappid, one->user_no, one->user_id, one->nick, one->face);
  if (one->profile) relreq_written(one->profile, 0); /* pushed to the live devices of the user and its holders */
  if (one->then) { /* the request that needed the account goes on: its state is its own */
    void (*then)(rest_ctx_t *) = one->then;
    c->data_free(c->data); /* the reservation released: the registry counts the account now */
    c->data = NULL;
    c->data_free = NULL;
    then(c);
    return;
  }
  rest_reply_ok_bare(c);
}

static import_one_t *import_one_new(rest_ctx_t *c)
{
  import_one_t *one = calloc(1, sizeof *one);
  if (!one) return NULL;
  c->data = one;
  c->data_free = import_one_free;
  one->srv = c->srv;
  one->sdkappid = c->sdkappid;
  return one;
}

/* A new account's admission: the edition's account cap (70398, why says which), then counted as pending until
 * the context is freed (import_one_free), so that imports in flight cannot together pass the cap. */
static int import_admit(rest_ctx_t *c, import_one_t *one, char *why, size_t cap)
{
  const tenant_app_t *app = tenant_registry_app(c->srv->reg, c->sdkappid);
  int rc;
  if ((rc = api_quota_accounts(c->srv, app, 1, why, cap))) return rc;
  if ((rc = api_quota_reserve(c->srv, c->sdkappid, 1))) return rc;
  one->reserved = 1;
  return 0;
}

void rest_account_import(rest_ctx_t *c)
{
  const char *uid;
  import_one_t *one = import_one_new(c);
  if (!one) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  int rc = rest_user_id(c->body, &uid);
  if (rc == IMC_E_INVAL) { rest_reply_err(c, IMC_E_INVAL, "UserID is required", NULL); return; }
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  snprintf(one->user_id, sizeof one->user_id, "%s", uid);
  if ((rc = optional_string(c->body, "Nick", &one->nick)) || (rc = optional_string(c->body, "FaceUrl", &one->face))) {
    rest_reply_err(c, rc, rc == IMC_E_JSON_TYPE ? "Nick and FaceUrl must be strings" : "Nick and FaceUrl are at most 500 bytes (40601)", NULL);
    return;
  }
  uint32_t no;
  if (tenant_registry_account_find(c->srv->reg, c->sdkappid, one->user_id, &no)) { /* a new account: the edition's cap */
    char why[320] = "";
    if ((rc = import_admit(c, one, why, sizeof why))) { rest_reply_err(c, rc, why[0] ? why : NULL, NULL); return; }
  } else if ((one->nick || one->face) && (rc = rel_profile_import_events(c->srv, c->sdkappid, no, one->nick, one->face, &one->profile))) {
    rest_reply_err(c, rc, NULL, NULL);
    return;
  }
  rest_submit(c, import_run, import_after); /* the reservation is released when the context is freed */
}

/* ---- the App admin's account (messaging-c2c-checks2.md §73) --------------- */
void rest_admin_account_make(rest_ctx_t *c, void (*then)(rest_ctx_t *c))
{
  uint32_t no;
  char why[320] = "", info[480];
  assert(!c->data);
  if (!tenant_registry_account_find(c->srv->reg, c->sdkappid, c->identifier, &no)) { then(c); return; }
  import_one_t *one = import_one_new(c);
  if (!one) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  if (!tenant_user_id_valid(c->identifier)) {
    rest_reply_err(c, IMC_E_MSG_FROM, "From_Account is absent and the App admin's identifier is no valid UserID", NULL);
    return;
  }
  snprintf(one->user_id, sizeof one->user_id, "%s", c->identifier);
  one->then = then;
  int rc = import_admit(c, one, why, sizeof why);
  if (rc) {
    snprintf(info, sizeof info, "From_Account is absent and the App admin %s is no account of the app yet: %s",
             c->identifier, why[0] ? why : imc_strerror(rc));
    rest_reply_err(c, rc, info, NULL);
    return;
  }
  rest_submit(c, import_run, import_after); /* the reservation is released when the account is made or refused */
}

/* ---- batches: multiaccount_import, account_delete ------------------------- */
typedef struct batch {
  json_t *fail;  /* multiaccount_import: FailAccounts being built */
  json_t *bad;   /* account_delete: per-item results of invalid entries */
  int nomem;     /* an entry of fail or bad could not be made: 70500 before anything is written (§85) */
  int n;
  int reserved;  /* multiaccount_import: new accounts counted as pending (quota.c), released when freed */
  int gated;     /* account_delete: its app's relationship requests wait until it is freed (rel_gate.c, §98) */
  api_srv_t *srv;
  uint32_t sdkappid;
  /* account_delete: gone, the peers told of the deletion (delivered once it is durable) */
  /* rel: its relationship rows' purge (rel_account_purge), written by the deleting transaction (§96);
   * prep_rc: that purge could not be made (out of memory), the account is not deleted */
  /* named: its account is named in the gate (rel_gate_name: the sends from or to it wait, §101) */
  struct { char user_id[40]; uint32_t user_no; int rc, prep_rc, named; im_c2c_gone_t *gone; relreq_t *rel; } item[BATCH_MAX];
} batch_t;

/* Collect user ids from arr: strings (field NULL) or objects {field: id}.
 * Invalid entries get rc set so they are reported per item. */
static int batch_collect(json_t *arr, const char *field, batch_t *b, json_t *bad_out)
{
  size_t i;
  json_t *v;
  if (!json_is_array(arr)) return IMC_E_JSON_TYPE;
  if (json_array_size(arr) == 0) return IMC_E_INVAL;
  if (json_array_size(arr) > BATCH_MAX) return IMC_E_BATCH_SIZE;
  json_array_foreach(arr, i, v) {
    json_t *id = field ? (json_is_object(v) ? json_object_get(v, field) : NULL) : v;
    if (field && json_is_object(v) && !id) id = json_object_get(v, "Identifier");
    if (!json_is_string(id) || !tenant_user_id_valid(json_string_value(id))) {
      if (bad_out) api_list_add(bad_out, json_incref(json_is_string(id) ? id : v), &b->nomem);
      continue;
    }
    snprintf(b->item[b->n].user_id, sizeof b->item[0].user_id, "%s", json_string_value(id));
    b->n++;
  }
  return 0;
}

static void batch_free(void *p)
{
  batch_t *b = p;
  if (b) { json_decref(b->fail); json_decref(b->bad); }
  for (int i = 0; b && i < b->n; i++) im_c2c_gone_free(b->item[i].gone); /* not delivered: not committed */
  for (int i = b ? b->n - 1 : -1; i >= 0; i--) /* not committed: the change sets undone, newest first */
    rel_account_purged(b->item[i].rel, IMC_E_IO);
  if (b && b->reserved) api_quota_release(b->srv, b->sdkappid, b->reserved);
  api_srv_t *srv = b && b->gated ? b->srv : NULL;
  uint32_t app = b ? b->sdkappid : 0;
  for (int i = 0; srv && i < b->n; i++)
    if (b->item[i].named) rel_gate_unname(srv, app, b->item[i].user_no);
  free(b);
  if (srv) rel_gate_release(srv, app); /* last: the requests that waited run on the durable state (§98) */
}

static int multi_run(store_t *s, void *arg)
{
  rest_ctx_t *c = arg;
  batch_t *b = c->data;
  int64_t now = imc_clock_now_s();
  for (int i = 0; i < b->n; i++)
    if (!b->item[i].rc) /* items refused before (the edition's account cap) stay refused */
      b->item[i].rc = store_account_import(s, c->sdkappid, b->item[i].user_id, NULL, NULL, now, &b->item[i].user_no);
  return 0;
}

static void multi_after(rest_ctx_t *c, int rc)
{
  batch_t *b = c->data;
  json_t *fail = b->fail;
  int bad = 0; /* an account left out of FailAccounts: 70500 (the imports are durable: §82) */
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  for (int i = 0; i < b->n; i++) {
    if (!b->item[i].rc) b->item[i].rc = tenant_registry_account_put(c->srv->reg, c->sdkappid, b->item[i].user_id, b->item[i].user_no);
    if (b->item[i].rc) api_list_add(fail, json_string(b->item[i].user_id), &bad);
  }
  rest_reply_ok(c, api_json_whole(json_pack("{s:O}", "FailAccounts", fail), bad));
}

void rest_multiaccount_import(rest_ctx_t *c)
{
  batch_t *b = calloc(1, sizeof *b);
  if (!b) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = b;
  c->data_free = batch_free;
  if (!(b->fail = json_array())) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  int rc = batch_collect(json_object_get(c->body, "Accounts"), NULL, b, b->fail);
  if (rc) {
    rest_reply_err(c, rc, rc == IMC_E_BATCH_SIZE ? "Accounts holds at most 100 UserIDs" : "Accounts must be a non-empty array of UserIDs", NULL);
    return;
  }
  if (b->nomem) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; } /* an invalid item not listed: nothing imported */
  /* the edition's account cap, item by item in order (70398 items land in FailAccounts) */
  const tenant_app_t *app = tenant_registry_app(c->srv->reg, c->sdkappid);
  int admitted = 0;
  for (int i = 0; i < b->n; i++) {
    uint32_t no;
    int dup = 0;
    for (int k = 0; k < i && !dup; k++) dup = !strcmp(b->item[k].user_id, b->item[i].user_id);
    if (dup || !tenant_registry_account_find(c->srv->reg, c->sdkappid, b->item[i].user_id, &no)) continue;
    if (api_quota_accounts(c->srv, app, admitted + 1, NULL, 0)) b->item[i].rc = IMC_E_ACCOUNT_LIMIT;
    else admitted++;
  }
  if (admitted && (rc = api_quota_reserve(c->srv, c->sdkappid, admitted))) { rest_reply_err(c, rc, NULL, NULL); return; }
  b->reserved = admitted;
  b->srv = c->srv;
  b->sdkappid = c->sdkappid;
  rest_submit(c, multi_run, multi_after); /* the reservation is released when the context is freed */
}

/* One account's deletion (item i): its peers told (§79; not the accounts the call deletes too, §87), its
 * account row and the peers' rows with it removed, its group rows and its relationship rows removed (§96;
 * user_no and the purge: made before the job). The caller undoes all of it on an error. */
static int delete_one(store_t *s, rest_ctx_t *c, batch_t *b, int i, int64_t now)
{
  uint32_t no, going[BATCH_MAX];
  size_t ng = 0;
  int rc = store_account_get(s, c->sdkappid, b->item[i].user_id, &no); /* IMC_E_NOTFOUND: no such account */
  if (rc) return rc;
  if (b->item[i].prep_rc) return b->item[i].prep_rc;
  for (int k = 0; k < b->n; k++) /* the others this call deletes (an earlier one that failed stays) */
    if (k != i && b->item[k].user_no && (k > i || !b->item[k].rc)) going[ng++] = b->item[k].user_no;
  if ((rc = im_c2c_gone_append(s, c->sdkappid, no, b->item[i].user_id, now, going, ng, &b->item[i].gone)) ||
      (rc = store_account_delete(s, c->sdkappid, b->item[i].user_id)) || !b->item[i].user_no)
    return rc;
  if ((rc = imc_fault(IMC_FAULT_ACCOUNT_GROUPS) ? IMC_E_IO : store_grp_user_gone(s, c->sdkappid, b->item[i].user_no)))
    return rc;
  return b->item[i].rel ? relreq_write(s, b->item[i].rel) : 0;
}

/* rel_account_held_write's keep (§119): another user's row naming an item's account, removed by the purge of
 * item earlier. REL_HELD_NONE: the holder is an account the call deleted. REL_HELD_CHANGE: item earlier rolled
 * back (the row was stored until a committed item's write deleted it). REL_HELD_SEQ: it committed (its own write
 * made the change). */
static int held_keep(void *ud, size_t earlier, uint32_t holder_no)
{
  const batch_t *b = ud;
  for (int k = 0; k < b->n; k++)
    if (!b->item[k].rc && b->item[k].user_no == holder_no) return REL_HELD_NONE;
  return b->item[earlier].rc ? REL_HELD_CHANGE : REL_HELD_SEQ;
}

/* Each account all or nothing (§87), in a savepoint of its own: one that fails is rolled back alone and
 * reported in its ResultItem; the others commit. An account that stays is then told of the others'
 * deletions it was left out of as going too, and a user whose row naming a deleted account went with it while
 * the purge that had removed it from memory rolled back gets its change (§119). A failure of the transaction
 * itself fails the job. */
static int delete_run(store_t *s, void *arg)
{
  rest_ctx_t *c = arg;
  batch_t *b = c->data;
  int64_t now = imc_clock_now_s();
  int rc;
  for (int i = 0; i < b->n; i++) {
    if ((rc = store_exec(s, "SAVEPOINT account_delete"))) return rc;
    if ((b->item[i].rc = delete_one(s, c, b, i, now))) {
      im_c2c_gone_free(b->item[i].gone);
      b->item[i].gone = NULL;
      if (store_in_transaction(s)) store_exec(s, "ROLLBACK TO account_delete");
    }
    if (!store_in_transaction(s)) return b->item[i].rc ? b->item[i].rc : IMC_E_IO; /* the engine dropped it */
    if ((rc = store_exec(s, "RELEASE account_delete"))) return rc;
  }
  for (int i = 0; i < b->n; i++) {
    if (!b->item[i].rc || b->item[i].rc == IMC_E_NOTFOUND || !b->item[i].user_no) continue;
    for (int k = 0; k < b->n; k++)
      if (!b->item[k].rc && (rc = im_c2c_gone_tell(s, b->item[k].gone, b->item[i].user_no))) return rc;
  }
  for (int i = 0; i < b->n; i++) /* every item's: the sequences reserved for the holders are written (§119) */
    if ((rc = rel_account_held_write(s, b->item[i].rel, !b->item[i].rc, held_keep, b))) return rc;
  return imc_fault(IMC_FAULT_ACCOUNT_DELETE_JOB) ? IMC_E_IO : 0; /* a test's: the job fails after all of it (§122) */
}

static void delete_after(rest_ctx_t *c, int rc)
{
  batch_t *b = c->data;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  /* committed: a one-to-one read accepted before and completing after this runs again (§115) */
  rel_gate_committed(c->srv);
  json_t *items = json_array();
  int bad = !items || json_array_extend(items, b->bad); /* an item left out of ResultItem: 70500 (the deletion is durable: §82) */
  for (int i = 0; i < b->n; i++) /* the holders' sequences written after the savepoints stay (§119) */
    rel_account_held_durable(b->item[i].rel);
  for (int i = b->n - 1; i >= 0; i--) /* relationships: undone with their item's savepoint (newest first), or */
    if (b->item[i].rc) rel_account_purged(b->item[i].rel, b->item[i].rc), b->item[i].rel = NULL;
  for (int i = 0; i < b->n; i++) /* the holders' changes written after the savepoints, over what the undo gave back (§119) */
    rel_account_held_apply(b->item[i].rel);
  for (int i = 0; i < b->n; i++) {
    uint32_t user_no;
    im_c2c_gone_deliver(c->srv->c2c, b->item[i].gone); /* committed: the peers' live devices get their conv_delete */
    b->item[i].gone = NULL;
    if (b->item[i].rel) relreq_written(b->item[i].rel, 0); /* committed with the deletion: pushed now */
    if (!b->item[i].rc && tenant_registry_account_find(c->srv->reg, c->sdkappid, b->item[i].user_id, &user_no) == 0) {
      cws_kick_user(c->srv, c->sdkappid, user_no, "account deleted", 4003);
      im_session_t *left = im_presence_forget(c->srv->presence, c->sdkappid, user_no);
      (void)left; /* cws_kick_user already closed every live session */
      /* removed; its number kept for history reads by UserID (out of memory: only that is lost) */
      (void)tenant_registry_account_gone(c->srv->reg, c->sdkappid, b->item[i].user_id, user_no);
      /* a re-import starts with no relations: the rows went in delete_run; those made meanwhile go now */
      rel_account_deleted(c->srv, c->sdkappid, user_no, b->item[i].user_id);
      im_groups_user_gone(c->srv->groups, c->sdkappid, user_no); /* its group rows went in delete_run */
    }
    int code = b->item[i].rc == IMC_E_NOTFOUND ? IMC_E_USER_NOT_FOUND : b->item[i].rc;
    api_list_add(items, json_pack("{s:i,s:s,s:s}", "ResultCode", imc_err_compat(code), "ResultInfo",
                                  code ? imc_strerror(code) : "", "UserID", b->item[i].user_id), &bad);
  }
  for (int i = 0; i < b->n; i++) { /* last: appended after every other event of the call */
    rel_account_held_deliver(b->item[i].rel);
    rel_account_purged(b->item[i].rel, 0); /* the emptied record dropped */
    b->item[i].rel = NULL;
  }
  rest_reply_ok(c, api_json_whole(json_pack("{s:o}", "ResultItem", items), bad));
}

/* Invalid items of DeleteItem get their own ResultItem entry (70402 or
 * 60015 with the offending value), so the reply accounts for every item. */
static void delete_bad_items(json_t *arr, json_t *out, int *bad)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *uid;
    int rc = json_is_object(v) ? rest_user_id(v, &uid) : IMC_E_JSON_TYPE;
    if (!rc) continue;
    json_t *raw = json_is_object(v) ? json_object_get(v, "UserID") : NULL;
    if (json_is_object(v) && !raw) raw = json_object_get(v, "Identifier");
    const char *why = rc == IMC_E_JSON_TYPE ? (json_is_object(v) ? "UserID must be a string" : "each item must be an object {\"UserID\":…}")
                      : rc == IMC_E_INVAL ? "UserID is required" : imc_strerror(rc);
    api_list_add(out, json_pack("{s:i,s:s,s:O?}", "ResultCode", imc_err_compat(rc), "ResultInfo", why,
                                "UserID", raw ? raw : json_is_object(v) ? NULL : v), bad);
  }
}

void rest_account_delete(rest_ctx_t *c)
{
  const tenant_app_t *app = tenant_registry_app(c->srv->reg, c->sdkappid);
  if (!app || !tenant_app_free_edition(app)) { rest_reply_err(c, IMC_E_DELETE_FORBIDDEN, NULL, NULL); return; }
  batch_t *b = calloc(1, sizeof *b);
  if (!b) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = b;
  c->data_free = batch_free;
  json_t *arr = json_object_get(c->body, "DeleteItem");
  int rc = batch_collect(arr, "UserID", b, NULL);
  if (rc) {
    rest_reply_err(c, rc, rc == IMC_E_BATCH_SIZE ? "DeleteItem holds at most 100 items" : "DeleteItem must be a non-empty array of {\"UserID\":…}", NULL);
    return;
  }
  if (!(b->bad = json_array())) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  delete_bad_items(arr, b->bad, &b->nomem);
  if (b->nomem) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; } /* an invalid item not listed: nothing deleted */
  /* the purges below are applied in memory before the commit: the app's relationship requests wait (§98) */
  if ((rc = rel_gate_hold(c->srv, c->sdkappid))) { rest_reply_err(c, rc, NULL, NULL); return; }
  b->gated = 1;
  b->srv = c->srv;
  b->sdkappid = c->sdkappid;
  /* the purges made so far, by item (NULL: none): a later one also deletes what they removed of its rows (§116),
   * and knows which item removed another user's row naming its account (§119: held_keep) */
  relreq_t *made[BATCH_MAX];
  for (int i = 0; i < b->n; i++) { /* for its group and relationship rows (delete_run); 0: no such account */
    made[i] = NULL;
    if (tenant_registry_account_find(c->srv->reg, c->sdkappid, b->item[i].user_id, &b->item[i].user_no)) b->item[i].user_no = 0;
    if (!b->item[i].user_no) continue;
    /* named before its purge: the sends from or to it wait too (§101); not named, its purge is not made */
    if (!(b->item[i].named = rel_gate_name(c->srv, c->sdkappid, b->item[i].user_no) == 0) ||
        !(b->item[i].rel = rel_account_purge(c->srv, c->sdkappid, b->item[i].user_no, b->item[i].user_id, made, (size_t)i)))
      b->item[i].prep_rc = IMC_E_NOMEM;
    made[i] = b->item[i].rel;
  }
  rest_submit(c, delete_run, delete_after);
}

/* ---- account_check (read-only, from memory) ------------------------------ */
void rest_account_check(rest_ctx_t *c)
{
  json_t *arr = json_object_get(c->body, "CheckItem"), *v;
  size_t i;
  if (!json_is_array(arr) || json_array_size(arr) == 0) {
    rest_reply_err(c, IMC_E_INVAL, "CheckItem must be a non-empty array of {\"UserID\":…}", NULL);
    return;
  }
  if (json_array_size(arr) > BATCH_MAX) { rest_reply_err(c, IMC_E_BATCH_SIZE, "CheckItem holds at most 100 items", NULL); return; }
  json_t *items = json_array();
  int bad = 0; /* an item left out of ResultItem: 70500 (§85) */
  json_array_foreach(arr, i, v) {
    const char *uid;
    int rc = json_is_object(v) ? rest_user_id(v, &uid) : IMC_E_JSON_TYPE;
    if (rc) {
      json_t *raw = json_is_object(v) ? json_object_get(v, "UserID") : v;
      api_list_add(items, json_pack("{s:O?,s:i,s:s}", "UserID", raw, "ResultCode", imc_err_compat(IMC_E_INVAL),
                                    "ResultInfo", imc_strerror(rc)), &bad);
      continue;
    }
    uint32_t user_no;
    int found = tenant_registry_account_find(c->srv->reg, c->sdkappid, uid, &user_no) == 0;
    api_list_add(items, json_pack("{s:s,s:i,s:s,s:s}", "UserID", uid, "ResultCode", 0, "ResultInfo", "",
                                  "AccountStatus", found ? "Imported" : "NotImported"), &bad);
  }
  rest_reply_ok(c, api_json_whole(json_pack("{s:o}", "ResultItem", items), bad));
}

/* ---- kick ------------------------------------------------------------------ */
typedef struct kick_req { uint32_t user_no; int64_t at_s; } kick_req_t;

static int kick_run(store_t *s, void *arg)
{
  rest_ctx_t *c = arg;
  kick_req_t *k = c->data;
  return store_kick_set(s, c->sdkappid, k->user_no, k->at_s);
}

static void kick_after(rest_ctx_t *c, int rc)
{
  kick_req_t *k = c->data;
  if (!rc) rc = api_set_kicked_at(c->srv, c->sdkappid, k->user_no, k->at_s);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  cws_kick_user(c->srv, c->sdkappid, k->user_no, "kicked by the app's backend", 4003);
  rest_reply_ok_bare(c);
}

/* UserSigs issued up to now stop working for this user: a new login needs a
 * fresh one (rest-api-reference §2.1 kick). The kick time is durable before
 * the reply; a login whose storage job was in flight re-checks it when that
 * job completes (client_ws.c login_recheck). */
void rest_kick(rest_ctx_t *c)
{
  const char *uid;
  kick_req_t *k = calloc(1, sizeof *k);
  if (!k) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = k;
  c->data_free = free;
  int rc = rest_user_id(c->body, &uid);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_INVAL ? "UserID is required" : NULL, NULL); return; }
  if (tenant_registry_account_find(c->srv->reg, c->sdkappid, uid, &k->user_no)) {
    rest_reply_err(c, IMC_E_USER_NOT_FOUND, NULL, NULL);
    return;
  }
  k->at_s = imc_clock_now_s();
  rest_submit(c, kick_run, kick_after);
}
