/* rest_openim.c — the compatible one-to-one message commands of `openim`
 * (rest-api-reference §2.2): sendmsg, batchsendmsg, importmsg,
 * admin_getroammsg, admin_msgwithdraw, admin_set_msg_read,
 * get_c2c_unread_msg_num, modify_c2c_msg. Field names and codes are the
 * reference's; the semantics are src/im/c2c.h. A reply that reports a change
 * is sent only after the change is committed.
 *
 * MsgSeq on this API is the caller's number (random when absent), part of
 * MsgKey; the server's per-conversation sequence never appears here.
 *
 * sendmsg and batchsendmsg without From_Account are sent by the App admin
 * the request was signed as (its identifier), as an account of the app: one
 * that is none yet is made once the request is known to be valid and to
 * reach someone, then the handler runs again (rest_admin_account_make,
 * messaging-c2c-checks2.md §73).
 */
#include "api/api_int.h"
#include "api/rel_gate.h"
#include "im/damaged.h"
#include "im/msgbody.h"
#include "util/clock.h"
#include "util/err.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_TARGETS_MAX 500   /* rest-api-reference §2.2 batchsendmsg */
/* rest-api-reference §2.2 batchsendmsg: 90055 "packet > 8 KB". The packet is
 * the message as stored (MsgBody, CloudCustomData, OfflinePushInfo packed:
 * what 93000 measures for sendmsg), not the request: To_Account alone may
 * take 500 × 32 bytes (docs/decisions/messaging-batch-packet.md). */
#define BATCH_PACKET_MAX_BYTES 8192
#define UNREAD_PEERS_MAX 10     /* get_c2c_unread_msg_num Peer_Account (the service's page: "at most 10"; §63) */
#define ROAM_MAX_CNT 100        /* admin_getroammsg page ceiling (the reference caps pages at ~13 KB) */

/* ---- fields -------------------------------------------------------------------- */
/* An imported account named by body[name]: 0, or err_missing / err_unknown. */
static int account(rest_ctx_t *c, const char *name, int err_missing, int err_unknown, const char **id, uint32_t *no)
{
  json_t *v = json_object_get(c->body, name);
  if (!json_is_string(v) || !tenant_user_id_valid(json_string_value(v))) return err_missing;
  *id = json_string_value(v);
  return tenant_registry_account_find(c->srv->reg, c->sdkappid, *id, no) ? err_unknown : 0;
}

/* An optional uint32 (absent: *present = 0). */
static int u32(json_t *body, const char *name, int err, uint32_t *out, int *present)
{
  json_t *v = json_object_get(body, name);
  *present = v != NULL;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) return err;
  *out = (uint32_t)json_integer_value(v);
  return 0;
}

/* An optional integer in [lo, hi] (absent: def). */
static int int_in(json_t *body, const char *name, int64_t lo, int64_t hi, int64_t def, int err_type, int err_range,
                  int64_t *out)
{
  json_t *v = json_object_get(body, name);
  if (!v) { *out = def; return 0; }
  if (!json_is_integer(v)) return err_type;
  if (json_integer_value(v) < lo || json_integer_value(v) > hi) return err_range;
  *out = json_integer_value(v);
  return 0;
}

/* An optional 0 or 1 (absent: 0); 90001 naming the field otherwise. */
static int flag01(json_t *body, const char *name, int *out, char *why, size_t cap)
{
  int64_t v = 0;
  int rc = int_in(body, name, 0, 1, 0, IMC_E_MSG_JSON, IMC_E_MSG_JSON, &v);
  *out = (int)v;
  return rc ? imc_errf(why, cap, rc, "%s must be 0 or 1", name) : 0;
}

/* A list of known option strings (SendMsgControl, ForbidCallbackControl). */
static int options(json_t *body, const char *name, const char *const *known, uint32_t *bits, char *why, size_t cap)
{
  json_t *arr = json_object_get(body, name), *v;
  size_t i;
  *bits = 0;
  if (!arr) return 0;
  if (!json_is_array(arr)) return imc_errf(why, cap, IMC_E_MSG_JSON, "%s must be an array of strings", name);
  json_array_foreach(arr, i, v) {
    int k;
    if (!json_is_string(v)) return imc_errf(why, cap, IMC_E_MSG_JSON, "%s[%zu] must be a string", name, i);
    for (k = 0; known[k] && strcmp(known[k], json_string_value(v)); k++) {}
    if (!known[k]) return imc_errf(why, cap, IMC_E_MSG_JSON, "%s: unknown value %.40s", name, json_string_value(v));
    *bits |= 1u << k;
  }
  return 0;
}

/* SendMsgControl; WithMuteNotifications and NoMsgCheck are accepted and have
 * no effect (imcloud has neither mute notifications nor cloud moderation). */
static const char *const send_controls[] = { "NoUnread", "NoLastMsg", "WithMuteNotifications", "NoMsgCheck", NULL };
/* ForbidCallbackControl: accepted; imcloud has no webhooks yet. */
static const char *const callback_controls[] = { "ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback", NULL };

/* MsgTime and MsgKey of a sent message into o; a member that cannot be set sets *bad (§85). */
static void sent_json(const im_sent_t *r, json_t *o, int *bad)
{
  char key[48];
  im_msg_key(r->cseq, r->random, r->time_s, key, sizeof key);
  api_field_put(o, "MsgTime", json_integer(r->time_s), bad);
  api_field_put(o, "MsgKey", json_string(key), bad);
}

/* The fields sendmsg and batchsendmsg share, into in (body packed, at most
 * max_bytes: IMC_E_MSG_TOO_BIG). in->from_no 0: From_Account is absent and
 * the App admin is no account yet (§73: the caller makes it one). */
static int parse_send(rest_ctx_t *c, im_send_t *in, size_t max_bytes, char *why, size_t cap)
{
  api_srv_t *srv = c->srv;
  int rc, has_seq, has_random, receipt, ext, online_only;
  uint32_t ctl, cb;
  int64_t life, sync;
  const char *from_id;
  json_t *from = json_object_get(c->body, "From_Account");
  /* "" is absent: clients that serialise every member (Go structs without omitempty) send "" for the admin */
  if (from && !(json_is_string(from) && !json_string_length(from))) {
    if ((rc = account(c, "From_Account", IMC_E_MSG_FROM, IMC_E_MSG_FROM, &from_id, &in->from_no))) return rc;
  } else {
    from_id = c->identifier; /* absent: the App admin sends, as an account of the app (0: none yet, §73) */
    if (tenant_registry_account_find(srv->reg, c->sdkappid, from_id, &in->from_no)) in->from_no = 0;
  }
  snprintf(in->from_id, sizeof in->from_id, "%.32s", from_id);
  if ((rc = u32(c->body, "MsgRandom", IMC_E_MSG_RANDOM, &in->random, &has_random))) return rc;
  if (!has_random) return imc_errf(why, cap, IMC_E_MSG_RANDOM, "MsgRandom is required");
  if ((rc = u32(c->body, "MsgSeq", IMC_E_MSG_SEQ, &in->cseq, &has_seq))) return rc;
  if (!has_seq) in->cseq = im_c2c_random32(srv->c2c);
  int64_t max_life = im_limit(&srv->limits, c->sdkappid, IM_LIMIT_RETENTION_S);
  if ((rc = int_in(c->body, "MsgLifeTime", 0, 604800, max_life < 604800 ? max_life : 604800, IMC_E_MSG_LIFETIME_TYPE,
                   IMC_E_MSG_LIFETIME, &life)))
    return rc;
  /* 0 is absent (the sender's roaming only), as "" is for From_Account */
  if ((rc = int_in(c->body, "SyncOtherMachine", 0, 2, 0, IMC_E_MSG_SYNC_OTHER, IMC_E_MSG_SYNC_OTHER, &sync))) return rc;
  if ((rc = options(c->body, "SendMsgControl", send_controls, &ctl, why, cap)) ||
      (rc = options(c->body, "ForbidCallbackControl", callback_controls, &cb, why, cap)))
    return rc;
  /* OnlineOnlyFlag 1 (the service's batchsendmsg page): online only, as MsgLifeTime 0, whatever MsgLifeTime says (§60) */
  if ((rc = flag01(c->body, "IsNeedReadReceipt", &receipt, why, cap)) ||
      (rc = flag01(c->body, "SupportMessageExtension", &ext, why, cap)) ||
      (rc = flag01(c->body, "OnlineOnlyFlag", &online_only, why, cap)))
    return rc;
  in->sdkappid = c->sdkappid;
  in->life_s = online_only ? 0 : life;
  in->sync_other = (uint8_t)sync;
  /* a MsgSeq given tells this message apart from another of the same MsgRandom (the send dedupe, issue 13) */
  in->flags = (ctl & 1 ? STORE_MSG_NO_UNREAD : 0) | (ctl & 2 ? STORE_MSG_NO_LAST : 0) |
              (receipt ? STORE_MSG_NEED_RECEIPT : 0) | (has_seq ? STORE_MSG_CALLER_SEQ : 0);
  return im_msg_pack(json_object_get(c->body, "MsgBody"), json_object_get(c->body, "CloudCustomData"),
                     json_object_get(c->body, "OfflinePushInfo"), max_bytes, &in->body, &in->body_len, why, cap);
}

/* ---- sendmsg ------------------------------------------------------------------------- */
static void sendmsg_done(void *ud, int rc, const im_sent_t *r)
{
  rest_ctx_t *c = ud;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  json_t *o = json_object();
  int bad = 0;
  sent_json(r, o, &bad);
  rest_reply_ok(c, api_json_whole(o, bad)); /* the message is sent: a 70500 here follows it (§82) */
}

void rest_sendmsg(rest_ctx_t *c)
{
  im_send_t in;
  char why[256] = "";
  const char *to_id;
  memset(&in, 0, sizeof in);
  int rc = account(c, "To_Account", IMC_E_MSG_TO, IMC_E_MSG_TO_UNKNOWN, &to_id, &in.to_no);
  if (!rc) rc = parse_send(c, &in, (size_t)im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_MSG_MAX_BYTES), why, sizeof why);
  if (rc) { rest_reply_err(c, rc, why[0] ? why : NULL, NULL); return; }
  if (rel_gate_rest_names(c->srv, c, in.from_no, in.to_no)) { free(in.body); return; } /* from or to an account being deleted */
  if (!in.from_no) { free(in.body); rest_admin_account_make(c, rest_sendmsg); return; } /* valid: sent once made */
  snprintf(in.to_id, sizeof in.to_id, "%s", to_id);
  im_c2c_send(c->srv->c2c, &in, sendmsg_done, c);
}

/* ---- batchsendmsg ------------------------------------------------------------------------ */
typedef struct batch {
  rest_ctx_t *c;
  size_t pending;
  json_t *errors;              /* ErrorList */
  int bad;                     /* an ErrorList entry could not be made: the reply is 70500 (§85) */
  int first_err;
  int ok;
  im_sent_t first;             /* the first success (MsgKey) */
} batch_t;

static void batch_finish(batch_t *b)
{
  rest_ctx_t *c = b->c;
  json_t *o = json_object();
  int bad = b->bad;
  if (b->ok) sent_json(&b->first, o, &bad);
  api_field_put(o, "ErrorList", b->errors, &bad);
  b->errors = NULL;
  o = api_json_whole(o, bad); /* NULL: 70500, never an ErrorList with a target left out (§85) */
  /* rest-api-reference §1.2: the top-level ErrorCode is 0 if any target succeeded */
  if (b->ok) rest_reply_ok(c, o);
  else rest_reply_err(c, o ? b->first_err : IMC_E_NOMEM, NULL, o);
}

/* to_v: the target as the request gave it (echoed when it is not a string), or NULL. rc is the batch's code
 * when it reaches nobody; an item that is no account of the app says 70107, as the service's page of the
 * command says ("70107: the account does not exist"), while the whole batch keeps the page's 90012 (§72) */
static void batch_error_v(batch_t *b, const char *to, json_t *to_v, int rc)
{
  json_t *t = to_v && !json_is_string(to_v) ? json_incref(to_v) : json_string(to);
  int item = rc == IMC_E_MSG_TO_UNKNOWN ? IMC_E_USER_NOT_FOUND : rc;
  api_list_add(b->errors, json_pack("{s:o,s:i}", "To_Account", t, "ErrorCode", imc_err_compat(item)), &b->bad);
  if (!b->first_err) b->first_err = rc;
}

static void batch_error(batch_t *b, const char *to, int rc) { batch_error_v(b, to, NULL, rc); }

typedef struct batch_one { batch_t *b; char to[33]; } batch_one_t;

/* 1 if some target of to is an account of the app (the batch reaches someone), else 0. */
static int batch_reaches(rest_ctx_t *c, json_t *to)
{
  size_t i;
  json_t *v;
  uint32_t no;
  json_array_foreach(to, i, v)
    if (json_is_string(v) && !tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(v), &no)) return 1;
  return 0;
}

/* 1 if the sender or a target of to is an account a deletion in flight names (§108). */
static int batch_names(rest_ctx_t *c, uint32_t from_no, json_t *to)
{
  size_t i;
  json_t *v;
  uint32_t no;
  if (!c->srv->rel_gate.named.len) return 0;
  if (rel_gate_named(c->srv, c->sdkappid, from_no)) return 1;
  json_array_foreach(to, i, v)
    if (json_is_string(v) && !tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(v), &no) &&
        rel_gate_named(c->srv, c->sdkappid, no))
      return 1;
  return 0;
}

static void batch_sent(void *ud, int rc, const im_sent_t *r)
{
  batch_one_t *one = ud;
  batch_t *b = one->b;
  if (rc) batch_error(b, one->to, rc);
  else if (!b->ok++) b->first = *r;
  free(one);
  if (!--b->pending) batch_finish(b);
}

void rest_batchsendmsg(rest_ctx_t *c)
{
  im_send_t in;
  char why[256] = "";
  memset(&in, 0, sizeof in);
  json_t *to = json_object_get(c->body, "To_Account"), *v;
  if (!json_is_array(to) || !json_array_size(to)) {
    rest_reply_err(c, IMC_E_MSG_TO, "To_Account must be a non-empty array of UserIDs", NULL);
    return;
  }
  if (json_array_size(to) > BATCH_TARGETS_MAX) {
    rest_reply_err(c, IMC_E_TOO_MANY_ACCOUNTS, "To_Account holds at most 500 UserIDs", NULL);
    return;
  }
  /* a batch's message is held to the smaller of msg_max_bytes and the batch packet: over it, 90055 (the only
   * size code of batchsendmsg, rest-api-reference §2.2) */
  size_t max = (size_t)im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_MSG_MAX_BYTES);
  if (max > BATCH_PACKET_MAX_BYTES) max = BATCH_PACKET_MAX_BYTES;
  int rc = parse_send(c, &in, max, why, sizeof why);
  if (rc == IMC_E_MSG_TOO_BIG)
    rc = imc_errf(why, sizeof why, IMC_E_MSG_BATCH_TOO_BIG, "the message is over %zu bytes packed (batchsendmsg's bound)",
                  max);
  if (rc) { rest_reply_err(c, rc, why[0] ? why : NULL, NULL); return; }
  if (batch_names(c, in.from_no, to)) { free(in.body); rel_gate_rest_wait(c->srv, c); return; } /* as sendmsg's */
  /* the App admin with no account yet (§73): made when the batch reaches someone; a batch to nobody sends
   * nothing (every target fails below, before a send) and so makes nothing */
  if (!in.from_no && batch_reaches(c, to)) { free(in.body); rest_admin_account_make(c, rest_batchsendmsg); return; }
  batch_t *b = calloc(1, sizeof *b);
  if (!b) { free(in.body); rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  b->c = c;
  b->errors = json_array();
  c->data = b;
  c->data_free = free;
  /* SyncOtherMachine as sendmsg's (rest-api-reference §2.2: "like sendmsg"), per target: 1 the sender's devices get
   * each copy, absent the sender's history only, 2 not the sender's at all */
  size_t i;
  b->pending = 1; /* held until every target is submitted */
  json_array_foreach(to, i, v) {
    uint32_t no;
    const char *id = json_is_string(v) ? json_string_value(v) : "";
    if (!json_is_string(v) || !tenant_user_id_valid(id)) { batch_error_v(b, id, v, IMC_E_MSG_TO); continue; }
    if (tenant_registry_account_find(c->srv->reg, c->sdkappid, id, &no)) { batch_error(b, id, IMC_E_MSG_TO_UNKNOWN); continue; }
    assert(in.from_no); /* a target that is an account: the admin's account was made first (batch_reaches) */
    batch_one_t *one = calloc(1, sizeof *one);
    im_send_t t = in;
    if (!one || !(t.body = malloc(in.body_len + 1))) { free(one); batch_error(b, id, IMC_E_NOMEM); continue; }
    memcpy(t.body, in.body, in.body_len + 1);
    t.to_no = no;
    snprintf(t.to_id, sizeof t.to_id, "%s", id);
    one->b = b;
    snprintf(one->to, sizeof one->to, "%s", id);
    b->pending++;
    im_c2c_send(c->srv->c2c, &t, batch_sent, one);
  }
  free(in.body);
  if (!--b->pending) batch_finish(b);
}

/* ---- importmsg ------------------------------------------------------------------------------- */
static void import_done(void *ud, int rc, const im_sent_t *r)
{
  (void)r;
  rest_ctx_t *c = ud;
  if (rc) rest_reply_err(c, rc, NULL, NULL);
  else rest_reply_ok_bare(c);
}

/* SyncFromOldSystem → the import mode (0: refused, 90030). 1 is the older pages' name of 5 ("realtime import,
 * counts as unread"; DOBYTE's ImportMessage sends it), 2 history, 5 realtime (§99). */
static const uint8_t import_modes[6] = { [1] = 5, [2] = 2, [5] = 5 };

void rest_importmsg(rest_ctx_t *c)
{
  im_send_t in;
  char why[256] = "";
  const char *from_id, *to_id;
  int rc, has, has_seq;
  int64_t mode, t;
  memset(&in, 0, sizeof in);
  if (int_in(c->body, "SyncFromOldSystem", 1, 5, 0, IMC_E_MSG_SYNC_FROM_OLD, IMC_E_MSG_SYNC_FROM_OLD, &mode) ||
      !(mode = import_modes[mode])) {
    rest_reply_err(c, IMC_E_MSG_SYNC_FROM_OLD, NULL, NULL);
    return;
  }
  if ((rc = account(c, "From_Account", IMC_E_MSG_FROM, IMC_E_MSG_FROM, &from_id, &in.from_no)) ||
      (rc = account(c, "To_Account", IMC_E_MSG_TO, IMC_E_MSG_TO_UNKNOWN, &to_id, &in.to_no)) ||
      (rc = u32(c->body, "MsgSeq", IMC_E_MSG_SEQ, &in.cseq, &has_seq)) ||
      (rc = u32(c->body, "MsgRandom", IMC_E_MSG_RANDOM, &in.random, &has)) ||
      (rc = int_in(c->body, "MsgTimeStamp", 1, INT32_MAX, 0, IMC_E_MSG_TIMESTAMP, IMC_E_MSG_TIMESTAMP, &t))) {
    rest_reply_err(c, rc, NULL, NULL);
    return;
  }
  /* an absent field is said to be absent, as sendmsg's MsgRandom (§99) */
  if (!has) { rest_reply_err(c, IMC_E_MSG_RANDOM, "MsgRandom is required", NULL); return; }
  if (!t) { rest_reply_err(c, IMC_E_MSG_TIMESTAMP, "MsgTimeStamp is required", NULL); return; }
  /* MsgSeq is optional, a random number when absent, as the service's page of the command says (§72) */
  if (!has_seq) in.cseq = im_c2c_random32(c->srv->c2c);
  /* a message from the future would sort as the conversation's newest for ever (import_group_msg's SendTime rule) */
  if (t > imc_clock_now_s()) { rest_reply_err(c, IMC_E_MSG_TIMESTAMP, "MsgTimeStamp must not be in the future", NULL); return; }
  rc = im_msg_pack(json_object_get(c->body, "MsgBody"), json_object_get(c->body, "CloudCustomData"), NULL,
                   (size_t)im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_MSG_MAX_BYTES), &in.body, &in.body_len, why,
                   sizeof why);
  if (rc) { rest_reply_err(c, rc, why, NULL); return; }
  if (rel_gate_rest_names(c->srv, c, in.from_no, in.to_no)) { free(in.body); return; } /* as sendmsg's (§112) */
  in.sdkappid = c->sdkappid;
  snprintf(in.from_id, sizeof in.from_id, "%s", from_id);
  snprintf(in.to_id, sizeof in.to_id, "%s", to_id);
  in.import_mode = (uint8_t)mode;
  in.flags = STORE_MSG_CALLER_SEQ; /* the MsgSeq given or drawn is the message's: another MsgSeq is another message */
  in.time_s = t;
  in.life_s = IM_LIFE_RETENTION;
  im_c2c_send(c->srv->c2c, &in, import_done, c);
}

/* ---- admin_getroammsg ------------------------------------------------------------------------ */
static void roam_done(void *ud, int rc, const im_msg_list_t *l)
{
  rest_ctx_t *c = ud;
  uint32_t *op_no = c->data; /* the operator, then the peer */
  /* a deletion committed since it was accepted: from the start, its accounts looked up again (§115) */
  if (rel_gate_rest_reread(c->srv, c, op_no, 2)) return;
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_MSG_KEY ? "LastMsgKey names no message of the conversation" : NULL, NULL); return; }
  json_t *list = json_array(), *o = json_object();
  char key[48] = "";
  int64_t last_time = 0;
  int bad = 0; /* a member or an entry that could not be made: 70500, never a MsgList with one left out (§85) */
  for (size_t i = 0; i < l->n && !bad; i++) {
    const store_msg_t *m = &l->msgs[i];
    json_t *content = NULL;
    int loaded = im_body_load(m->body, m->body_len, &content); /* out of memory: refused (§70); damaged: §88 */
    if (loaded < 0) { json_decref(list); json_decref(o); rest_reply_err(c, loaded, NULL, NULL); return; }
    im_msg_key(m->cseq, m->random, m->time_s, key, sizeof key);
    json_t *item = json_pack("{s:s,s:s,s:I,s:I,s:I,s:i,s:i,s:s}", "From_Account", m->from_id, "To_Account", m->to_id,
                             "MsgSeq", (json_int_t)m->cseq, "MsgRandom", (json_int_t)m->random, "MsgTimeStamp",
                             (json_int_t)m->time_s, "MsgFlagBits", m->flags & STORE_MSG_RECALLED ? 8 : 0,
                             "IsPeerRead",
                             m->from_no == *op_no && (m->seq <= l->peer_read_seq || (m->flags & STORE_MSG_READ_IMPORT)),
                             "MsgKey", key);
    if (loaded == IM_BODY_DAMAGED) {
      api_field_put(item, "MsgBody", json_array(), &bad);
      api_field_put(item, "IsDamaged", json_integer(1), &bad);
      im_damaged_note(&(im_damaged_row_t){ IM_DAMAGED_C2C, m->sdkappid, m->conv, m->seq, m->from_id, key });
    } else {
      /* the stored text always holds MsgBody (im_msg_pack) */
      api_field_put(item, "MsgBody", json_incref(json_object_get(content, "MsgBody")), &bad);
    }
    json_t *cc = json_object_get(content, "CloudCustomData");
    api_field_put(item, "CloudCustomData", cc ? json_incref(cc) : json_string(""), &bad);
    json_decref(content);
    api_list_add(list, item, &bad);
    last_time = m->time_s;
  }
  api_field_put(o, "Complete", json_integer(l->complete), &bad);
  api_field_put(o, "MsgCnt", json_integer((json_int_t)l->n), &bad);
  api_field_put(o, "LastMsgTime", json_integer(last_time), &bad);
  api_field_put(o, "LastMsgKey", json_string(l->n ? key : ""), &bad);
  api_field_put(o, "MsgList", list, &bad);
  rest_reply_ok(c, api_json_whole(o, bad));
}

void rest_admin_getroammsg(rest_ctx_t *c)
{
  const char *op_id, *peer_id;
  uint32_t op, peer;
  int64_t max_cnt, min_t, max_t;
  char why[128] = "";
  /* the command's older page, and clients built on it (DOBYTE's FetchMessages), name the two sides From_Account
   * (whose view is read) and To_Account: read under those names when the current ones are absent (§92) */
  const char *op_name = rest_field_name(c->body, "Operator_Account", "From_Account");
  const char *peer_name = rest_field_name(c->body, "Peer_Account", "To_Account");
  int rc = account(c, op_name, IMC_E_MSG_FROM, IMC_E_MSG_FROM, &op_id, &op);
  if (rc) imc_errf(why, sizeof why, rc, "%s is missing, invalid or not imported", op_name);
  if (!rc) { /* a deleted peer's messages are kept: found by its UserID while no account has it */
    json_t *v = json_object_get(c->body, peer_name);
    peer_id = json_string_value(v);
    if (!json_is_string(v) || !tenant_user_id_valid(peer_id))
      rc = imc_errf(why, sizeof why, IMC_E_MSG_TO, "%s is missing or invalid", peer_name);
    else if (tenant_registry_account_find_gone(c->srv->reg, c->sdkappid, peer_id, &peer))
      rc = imc_errf(why, sizeof why, IMC_E_MSG_TO_UNKNOWN, "%s was never imported", peer_name);
  }
  if (!rc && (rc = int_in(c->body, "MaxCnt", 1, INT32_MAX, ROAM_MAX_CNT, IMC_E_MSG_JSON, IMC_E_MSG_JSON, &max_cnt)))
    imc_errf(why, sizeof why, rc, "MaxCnt must be an integer of at least 1");
  if (!rc && ((rc = int_in(c->body, "MinTime", 0, INT64_MAX / 2, 0, IMC_E_MSG_TIMESTAMP, IMC_E_MSG_TIMESTAMP, &min_t)) ||
              (rc = int_in(c->body, "MaxTime", 0, INT64_MAX / 2, 0, IMC_E_MSG_TIMESTAMP, IMC_E_MSG_TIMESTAMP, &max_t))))
    imc_errf(why, sizeof why, rc, "MinTime and MaxTime must be non-negative integers (unix seconds; 0: unbounded)");
  json_t *last = json_object_get(c->body, "LastMsgKey");
  if (!rc && last && !json_is_string(last)) rc = imc_errf(why, sizeof why, IMC_E_MSG_KEY, "LastMsgKey must be a string");
  if (rc) { rest_reply_err(c, rc, why, NULL); return; }
  if (max_t && min_t > max_t) { rest_reply_err(c, IMC_E_MSG_TIMESTAMP, "MinTime is after MaxTime", NULL); return; }
  /* of or with an account being deleted: after its deletion, read again from the start then (its accounts looked
   * up again: a page accepted before the commit and read after it mixed the two, §113) */
  if (rel_gate_rest_names(c->srv, c, op, peer)) return;
  uint32_t *op_no = malloc(2 * sizeof *op_no);
  if (!op_no) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  op_no[0] = op;
  op_no[1] = peer;
  c->data = op_no;
  c->data_free = free;
  c->read_epoch = c->srv->rel_gate.committed; /* compared by roam_done (§115) */
  const char *key = last && json_string_length(last) ? json_string_value(last) : NULL;
  im_c2c_history(c->srv->c2c, c->sdkappid, op, peer, 0, min_t, max_t, key, 1,
                 (int)(max_cnt > ROAM_MAX_CNT ? ROAM_MAX_CNT : max_cnt), roam_done, c);
}

/* ---- admin_msgwithdraw, modify_c2c_msg, admin_set_msg_read ------------------------------------ */
static void done_ok(void *ud, int rc)
{
  rest_ctx_t *c = ud;
  if (rc) rest_reply_err(c, rc, NULL, NULL);
  else rest_reply_ok_bare(c);
}

static int msg_key_field(rest_ctx_t *c, const char **key)
{
  json_t *v = json_object_get(c->body, "MsgKey");
  uint32_t a, b;
  int64_t t;
  if (!json_is_string(v) || im_msg_key_parse(json_string_value(v), &a, &b, &t)) return IMC_E_MSG_KEY;
  *key = json_string_value(v);
  return 0;
}

void rest_admin_msgwithdraw(rest_ctx_t *c)
{
  const char *from_id, *to_id, *key;
  uint32_t from, to;
  int rc = account(c, "From_Account", IMC_E_MSG_FROM, IMC_E_MSG_FROM, &from_id, &from);
  /* a To_Account that is no account is 90003, as the service's page of this command says (§60) */
  if (!rc) rc = account(c, "To_Account", IMC_E_MSG_TO, IMC_E_MSG_TO, &to_id, &to);
  if (!rc) rc = msg_key_field(c, &key);
  if (rc) {
    rest_reply_err(c, rc, rc == IMC_E_MSG_TO ? "To_Account is missing, invalid or not imported" : NULL, NULL);
    return;
  }
  if (rel_gate_rest_names(c->srv, c, from, to)) return; /* its recall events would go to the deleted number (§112) */
  im_c2c_recall(c->srv->c2c, c->sdkappid, 0, from, to, key, done_ok, c); /* the admin: no time limit */
}

void rest_modify_c2c_msg(rest_ctx_t *c)
{
  const char *from_id, *to_id, *key;
  uint32_t from, to;
  char why[256] = "", *body;
  size_t len;
  int rc = account(c, "From_Account", IMC_E_MSG_FROM, IMC_E_MSG_FROM, &from_id, &from);
  if (!rc) rc = account(c, "To_Account", IMC_E_MSG_TO, IMC_E_MSG_TO_UNKNOWN, &to_id, &to);
  if (!rc) rc = msg_key_field(c, &key);
  /* each of MsgBody and CloudCustomData is replaced only when present; one of them must be */
  json_t *mb = json_object_get(c->body, "MsgBody"), *cloud = json_object_get(c->body, "CloudCustomData");
  size_t max = (size_t)im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_MSG_MAX_BYTES);
  if (!rc && !mb && !cloud) rc = imc_errf(why, sizeof why, IMC_E_MSG_BODY_NOT_ARRAY, "MsgBody or CloudCustomData is required");
  else if (!rc && mb) rc = im_msg_pack(mb, cloud, NULL, max, &body, &len, why, sizeof why);
  else if (!rc && !json_is_string(cloud)) rc = imc_errf(why, sizeof why, IMC_E_MSG_JSON, "CloudCustomData must be a string");
  else if (!rc) {
    json_t *o = json_pack("{s:O}", "CloudCustomData", cloud);
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body) rc = IMC_E_NOMEM;
    else len = strlen(body);
  }
  if (rc) { rest_reply_err(c, rc, why[0] ? why : NULL, NULL); return; }
  if (rel_gate_rest_names(c->srv, c, from, to)) { free(body); return; } /* §112 */
  im_c2c_modify(c->srv->c2c, c->sdkappid, from, to, key, body, len, max, done_ok, c);
}

/* MsgReadTime: the service's page types it String (a decimal timestamp: backends written to it send
 * "1700000000"), its examples pass numbers; both are taken. "" is absent, as 0 (docs/decisions/messaging-c2c-checks.md
 * §60). 0 or IMC_E_MSG_TIMESTAMP. */
static int read_time(json_t *body, int64_t *out)
{
  json_t *v = json_object_get(body, "MsgReadTime");
  if (!json_is_string(v))
    return int_in(body, "MsgReadTime", 0, INT64_MAX / 2, 0, IMC_E_MSG_TIMESTAMP, IMC_E_MSG_TIMESTAMP, out);
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  int64_t t = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9' || t > (INT64_MAX / 2 - (s[i] - '0')) / 10) return IMC_E_MSG_TIMESTAMP;
    t = t * 10 + (s[i] - '0');
  }
  *out = t;
  return 0;
}

void rest_admin_set_msg_read(rest_ctx_t *c)
{
  const char *user_id, *peer_id;
  uint32_t user, peer;
  int64_t t;
  const char *why = "Report_Account is invalid or not imported"; /* the codes' own texts name sendmsg's fields */
  int rc = account(c, "Report_Account", IMC_E_MSG_FROM, IMC_E_MSG_FROM, &user_id, &user);
  /* a Peer_Account that is no account is 90003, as the service's page of this command says (§60) */
  if (!rc && (why = "Peer_Account is missing, invalid or not imported"))
    rc = account(c, "Peer_Account", IMC_E_MSG_TO, IMC_E_MSG_TO, &peer_id, &peer);
  /* absent or 0: now (the reference's default; a backend that serialises every member of its request sends 0
   * for "not given", as SyncOtherMachine's 0) */
  if (!rc && (why = "MsgReadTime must be a non-negative integer or a string of its digits (unix seconds; 0: now)"))
    rc = read_time(c->body, &t);
  if (rc) { rest_reply_err(c, rc, why, NULL); return; }
  if (rel_gate_rest_names(c->srv, c, user, peer)) return; /* its read marks would go to the deleted number (§112) */
  if (!t) t = imc_clock_now_s();
  im_c2c_read(c->srv->c2c, c->sdkappid, user, peer, 0, t, done_ok, c);
}

/* ---- get_c2c_unread_msg_num ------------------------------------------------------------------------ */
typedef struct unread_req {
  json_t *peers, *errors;
  int bad; /* a peer or an ErrorList entry could not be kept: the reply is 70500 (§85) */
  uint32_t named[1 + UNREAD_PEERS_MAX]; /* the accounts it reads: To_Account, then each peer that is an account */
  size_t n_named;
} unread_req_t;

static void unread_free(void *p)
{
  unread_req_t *u = p;
  json_decref(u->peers);
  json_decref(u->errors);
  free(u);
}

static void unread_done(void *ud, int rc, const im_conv_list_t *l)
{
  rest_ctx_t *c = ud;
  unread_req_t *u = c->data;
  /* a deletion committed since it was accepted: from the start, its peers looked up again (§115) */
  if (rel_gate_rest_reread(c->srv, c, u->named, u->n_named)) return;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  json_t *list = json_array();
  int64_t all = 0;
  int bad = 0; /* a count left out of C2CUnreadMsgNumList, or ErrorList not set: 70500 (§85) */
  if (u->peers) {
    size_t i;
    json_t *v;
    json_array_foreach(u->peers, i, v) {
      int64_t n = 0;
      for (size_t k = 0; k < l->n; k++) if (!strcmp(l->convs[k].peer_id, json_string_value(v))) n = l->convs[k].unread;
      api_list_add(list, json_pack("{s:O,s:I}", "Peer_Account", v, "C2CUnreadMsgNum", (json_int_t)n), &bad);
    }
  } else {
    for (size_t k = 0; k < l->n; k++)
      if (l->convs[k].unread)
        api_list_add(list, json_pack("{s:s,s:I}", "Peer_Account", l->convs[k].peer_id, "C2CUnreadMsgNum",
                                     (json_int_t)l->convs[k].unread), &bad);
  }
  for (size_t k = 0; k < l->n; k++) all += l->convs[k].unread;
  json_t *o = json_pack("{s:I,s:o}", "AllC2CUnreadMsgNum", (json_int_t)all, "C2CUnreadMsgNumList", list);
  if (json_array_size(u->errors)) api_field_put(o, "ErrorList", json_incref(u->errors), &bad);
  rest_reply_ok(c, api_json_whole(o, bad));
}

void rest_get_c2c_unread_msg_num(rest_ctx_t *c)
{
  const char *user_id;
  uint32_t user;
  /* a To_Account that is no account is 90003, as the service's page of this command says (§72) */
  int rc = account(c, "To_Account", IMC_E_MSG_TO, IMC_E_MSG_TO, &user_id, &user);
  if (rc) { rest_reply_err(c, rc, "To_Account is missing, invalid or not imported", NULL); return; }
  unread_req_t *u = calloc(1, sizeof *u);
  if (!u) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = u;
  c->data_free = unread_free;
  u->named[u->n_named++] = user; /* a deletion of one of u->named in flight makes it wait (§113) */
  u->errors = json_array();
  json_t *peers = json_object_get(c->body, "Peer_Account"), *v;
  if (peers) {
    size_t i;
    if (!json_is_array(peers)) { rest_reply_err(c, IMC_E_MSG_JSON, "Peer_Account must be an array of UserIDs", NULL); return; }
    if (json_array_size(peers) > UNREAD_PEERS_MAX) { /* 90011 as batchsendmsg's To_Account over its bound (§63) */
      rest_reply_err(c, IMC_E_TOO_MANY_ACCOUNTS, "Peer_Account holds at most 10 UserIDs", NULL);
      return;
    }
    u->peers = json_array();
    json_array_foreach(peers, i, v) {
      uint32_t no;
      const char *id = json_is_string(v) ? json_string_value(v) : "";
      /* an item that is not a UserID is echoed as given with 90003 (it read as "" not imported) */
      /* an account that does not exist is 70107, as the service's page of this command says (§60) */
      int rc = !tenant_user_id_valid(id) ? IMC_E_MSG_TO
             : tenant_registry_account_find(c->srv->reg, c->sdkappid, id, &no) ? IMC_E_USER_NOT_FOUND : 0;
      if (rc) api_list_add(u->errors, json_pack("{s:O,s:i}", "Peer_Account", v, "ErrorCode", imc_err_compat(rc)), &u->bad);
      else {
        api_list_add(u->peers, json_incref(v), &u->bad);
        u->named[u->n_named++] = no;
      }
    }
  }
  if (u->bad) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; } /* a peer or an error left out: nothing read */
  /* naming an account being deleted: after its deletion, from the start (its peers looked up again) — accepted
   * before the commit and read after it, a peer deleted meanwhile was listed with 0 (§113) */
  if (rel_gate_named_any(c->srv, c->sdkappid, u->named, u->n_named)) {
    unread_free(u);
    c->data = NULL;
    c->data_free = NULL;
    rel_gate_rest_wait(c->srv, c);
    return;
  }
  c->read_epoch = c->srv->rel_gate.committed; /* compared by unread_done (§115) */
  im_c2c_conversations(c->srv->c2c, c->sdkappid, user, 0, 1, unread_done, c);
}
