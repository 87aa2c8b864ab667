/* ws_msg_json.c — see ws_msg_json.h. */
#include "api/ws_msg_json.h"
#include "im/damaged.h"
#include "util/err.h"
#include "util/faultsim.h"

#include <string.h>

/* ---- jansson forms -------------------------------------------------------------- */
/* A message's stored members as the protocol names them, and its flags, in the order the object has them (the
 * fixed-format text below writes the same order). */
static const struct { const char *stored, *name; } msg_parts[] = {
  { "MsgBody", "body" }, { "CloudCustomData", "cloud_custom_data" }, { "OfflinePushInfo", "offline_push_info" },
};
static const struct { uint32_t flag; const char *name; } msg_flags[] = {
  { STORE_MSG_RECALLED, "recalled" }, { STORE_MSG_MODIFIED, "modified" }, { STORE_MSG_NEED_RECEIPT, "need_receipt" },
  { STORE_MSG_NO_UNREAD, "no_unread" }, { STORE_MSG_NO_LAST, "no_last_msg" },
};

json_t *wsm_msg_json(const store_msg_t *m)
{
  char key[48];
  im_msg_key(m->cseq, m->random, m->time_s, key, sizeof key);
  json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:I,s:I}", "from", m->from_id ? m->from_id : "", "to",
                        m->to_id ? m->to_id : "", "seq", (json_int_t)m->seq, "time", (json_int_t)m->time_s,
                        "msg_key", key, "msg_seq", (json_int_t)m->cseq, "random", (json_int_t)m->random);
  json_t *content = NULL;
  /* a body that does not parse: the row without it, marked (§88); one whose parse ran out of memory: NULL (§70) */
  int loaded = m->body_len ? im_body_load(m->body, m->body_len, &content) : IM_BODY_OK;
  /* a test's out of memory (util/faultsim.h): the object is left without its body, as a failed set leaves it */
  int bad = !o || loaded < 0 || imc_fault(IMC_FAULT_PUSH_JSON);
  if (!bad && loaded == IM_BODY_DAMAGED) {
    bad = json_object_set_new(o, "damaged", json_true());
    if (!bad) im_damaged_note(&(im_damaged_row_t){ IM_DAMAGED_C2C, m->sdkappid, m->conv, m->seq, m->from_id, key });
  }
  for (size_t i = 0; !bad && content && i < sizeof msg_parts / sizeof *msg_parts; i++) {
    json_t *v = json_object_get(content, msg_parts[i].stored);
    bad = v && json_object_set(o, msg_parts[i].name, v);
  }
  for (size_t i = 0; !bad && i < sizeof msg_flags / sizeof *msg_flags; i++)
    bad = (m->flags & msg_flags[i].flag) && json_object_set_new(o, msg_flags[i].name, json_true());
  json_decref(content);
  if (!bad) return o;
  json_decref(o);
  return NULL;
}

static const char *const ev_names[] = {
  [IM_EV_MSG] = "msg", [IM_EV_RECALL] = "recall", [IM_EV_READ] = "read", [IM_EV_RECEIPT] = "receipt",
  [IM_EV_MODIFY] = "modify", [IM_EV_CONV_DEL] = "conv_delete", [IM_EV_CONV_PIN] = "conv_pin",
};

uint32_t wsm_peer_no(const im_event_t *ev)
{
  if (ev->kind == IM_EV_REL) return 0;
  uint32_t hi = (uint32_t)(ev->conv >> 32), lo = (uint32_t)ev->conv; /* store_c2c_conv: the pair, lower number first */
  return hi == ev->user_no ? lo : hi;
}

/* The members of an event after its type, useq and peer; 0, or non-zero when one could not be set. */
static int event_members(json_t *o, const im_event_t *ev)
{
  switch (ev->kind) {
  case IM_EV_MSG: case IM_EV_ONLINE_MSG: case IM_EV_MODIFY:
    if (ev->msg) return json_object_set_new(o, "msg", wsm_msg_json(ev->msg));
    return json_object_set_new(o, "expired", json_true()); /* past retention: the slot is kept, the content gone */
  case IM_EV_RECALL: { /* time, as read, receipt and conv_delete's: when it happened (the inbox row's), as conv_pin's */
    if (json_object_set_new(o, "seq", json_integer(ev->seq)) || json_object_set_new(o, "time", json_integer(ev->at_s)))
      return -1;
    if (!ev->msg) return json_object_set_new(o, "expired", json_true()); /* the recalled message is past retention */
    char key[48];
    im_msg_key(ev->msg->cseq, ev->msg->random, ev->msg->time_s, key, sizeof key);
    return json_object_set_new(o, "msg_key", json_string(key));
  }
  case IM_EV_READ: case IM_EV_RECEIPT:
    return json_object_set_new(o, "seq", json_integer(ev->seq)) || json_object_set_new(o, "time", json_integer(ev->at_s));
  case IM_EV_CONV_DEL: /* seq: STORE_CONV_DEL_* bits; a deletion not the user's own names its reason (§79) */
    return json_object_set_new(o, "cleared", json_boolean(ev->seq & STORE_CONV_DEL_CLEARED)) ||
           json_object_set_new(o, "time", json_integer(ev->at_s)) ||
           ((ev->seq & STORE_CONV_DEL_GONE) && json_object_set_new(o, "reason", json_string("account_deleted")));
  case IM_EV_CONV_PIN: /* time: when it was pinned or unpinned (the inbox row's), as a group's conv_pin */
    return json_object_set_new(o, "pinned", json_boolean(ev->seq)) || json_object_set_new(o, "time", json_integer(ev->at_s));
  case IM_EV_TYPING: case IM_EV_REL:
    break;
  }
  return 0;
}

json_t *wsm_event_json(const im_event_t *ev)
{
  if (ev->kind == IM_EV_REL) { /* the relationship push frame (rel_common.c), with its useq */
    json_t *f = ev->payload ? json_loads(ev->payload, 0, NULL) : NULL;
    if (json_is_object(f) && !json_object_set_new(f, "useq", json_integer(ev->useq))) return f;
    json_decref(f);
    return NULL;
  }
  const char *type = ev->kind == IM_EV_ONLINE_MSG ? "online_msg" : ev->kind == IM_EV_TYPING ? "typing"
                     : (size_t)ev->kind < sizeof ev_names / sizeof ev_names[0] && ev_names[ev->kind] ? ev_names[ev->kind]
                     : "unknown";
  json_t *o = json_pack("{s:s}", "type", type);
  if (!o) return NULL;
  uint32_t peer_no = wsm_peer_no(ev);
  if ((ev->useq && json_object_set_new(o, "useq", json_integer(ev->useq))) ||
      json_object_set_new(o, "peer", json_string(ev->peer_id ? ev->peer_id : "")) ||
      (peer_no && json_object_set_new(o, "peer_no", json_integer(peer_no))) || event_members(o, ev)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* ---- fixed-format text -------------------------------------------------------------- */
/* Length of the JSON value at p[0..n): text jansson wrote, so only strings
 * and nesting need tracking. 0 if it does not end within n. */
static size_t value_len(const char *p, size_t n)
{
  size_t i = 0;
  int depth = 0;
  do {
    if (i >= n) return 0;
    char ch = p[i];
    if (ch == '"') { /* to the next quote not escaped: one behind an even run of backslashes */
      size_t from = ++i;
      for (;;) {
        const char *q = memchr(p + from, '"', n - from);
        if (!q) return 0;
        size_t at = (size_t)(q - p), bs = 0;
        while (p[at - 1 - bs] == '\\') bs++; /* stops at the opening quote at the latest */
        from = at + 1;
        if (!(bs & 1)) break;
      }
      i = from;
    } else if (ch == '{' || ch == '[') {
      depth++;
      i++;
    } else if (ch == '}' || ch == ']') {
      if (!depth) return 0;
      depth--;
      i++;
    } else if (!depth) { /* a number, true, false or null */
      while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']') i++;
      return i;
    } else {
      i++;
    }
  } while (depth);
  return i;
}

typedef struct span { const char *p; size_t n; } span_t;

/* The parts of im_msg_pack's text, in its order: MsgBody, CloudCustomData,
 * OfflinePushInfo (the last two may be absent: n = 0). 0 or -1. */
static int body_parts(const char *b, size_t n, span_t part[3])
{
  static const struct { const char *key; size_t len; } keys[3] = {
    { "\"MsgBody\":", 10 }, { ",\"CloudCustomData\":", 19 }, { ",\"OfflinePushInfo\":", 19 },
  };
  memset(part, 0, 3 * sizeof *part);
  if (!b || n < 2 || b[0] != '{') return -1;
  size_t i = 1;
  for (int k = 0; k < 3; k++) {
    if (n - i <= keys[k].len || memcmp(b + i, keys[k].key, keys[k].len)) {
      if (k == 0) return -1;
      continue;
    }
    i += keys[k].len;
    size_t l = value_len(b + i, n - i);
    if (!l) return -1;
    part[k] = (span_t){ b + i, l };
    i += l;
  }
  return i == n - 1 && b[i] == '}' ? 0 : -1;
}

/* A number a frame carries twice (the MsgKey repeats msg_seq, random and
 * time): its text is made once. */
typedef struct num { char b[JSONW_INT_MAX_CHARS]; const char *p; size_t n; } num_t;
static void num_set(num_t *x, int64_t v) { x->p = jsonw_i64_text(v, x->b, &x->n); }
static void num_put(jsonw_t *w, const num_t *x) { jsonw_raw(w, x->p, x->n); }

/* ,"msg_key":"…" as im_msg_key writes it (digits and '_': nothing to escape). */
static void msg_key(jsonw_t *w, const num_t *cseq, const num_t *random, const num_t *time_s)
{
  jsonw_lit(w, ",\"msg_key\":\"");
  num_put(w, cseq);
  jsonw_lit(w, "_");
  num_put(w, random);
  jsonw_lit(w, "_");
  num_put(w, time_s);
  jsonw_lit(w, "\"");
}

/* ,"key":<integer> */
#define FIELD_U64(w, key, v) (jsonw_lit((w), ",\"" key "\":"), jsonw_u64((w), (v)))

static void str0(jsonw_t *w, const char *s)
{
  s = s ? s : "";
  jsonw_str(w, s, strlen(s));
}

int wsm_push_text(jsonw_t *w, const im_event_t *ev)
{
  const store_msg_t *m = ev->msg;
  span_t part[3];
  if ((ev->kind != IM_EV_MSG && ev->kind != IM_EV_ONLINE_MSG) || !m || body_parts(m->body, m->body_len, part))
    return IMC_E_INVAL;
  if (ev->kind == IM_EV_MSG) jsonw_lit(w, "{\"type\":\"msg\"");
  else jsonw_lit(w, "{\"type\":\"online_msg\"");
  if (ev->useq) FIELD_U64(w, "useq", ev->useq);
  jsonw_lit(w, ",\"peer\":");
  str0(w, ev->peer_id);
  uint32_t peer_no = wsm_peer_no(ev);
  if (peer_no) FIELD_U64(w, "peer_no", peer_no);
  jsonw_lit(w, ",\"msg\":{\"from\":");
  str0(w, m->from_id);
  jsonw_lit(w, ",\"to\":");
  str0(w, m->to_id);
  num_t cseq, random, time_s;
  num_set(&cseq, m->cseq);
  num_set(&random, m->random);
  num_set(&time_s, m->time_s);
  FIELD_U64(w, "seq", m->seq);
  jsonw_lit(w, ",\"time\":");
  num_put(w, &time_s);
  msg_key(w, &cseq, &random, &time_s);
  jsonw_lit(w, ",\"msg_seq\":");
  num_put(w, &cseq);
  jsonw_lit(w, ",\"random\":");
  num_put(w, &random);
  jsonw_lit(w, ",\"body\":");
  jsonw_raw(w, part[0].p, part[0].n);
  if (part[1].n) { jsonw_lit(w, ",\"cloud_custom_data\":"); jsonw_raw(w, part[1].p, part[1].n); }
  if (part[2].n) { jsonw_lit(w, ",\"offline_push_info\":"); jsonw_raw(w, part[2].p, part[2].n); }
  if (m->flags & STORE_MSG_RECALLED) jsonw_lit(w, ",\"recalled\":true");
  if (m->flags & STORE_MSG_MODIFIED) jsonw_lit(w, ",\"modified\":true");
  if (m->flags & STORE_MSG_NEED_RECEIPT) jsonw_lit(w, ",\"need_receipt\":true");
  if (m->flags & STORE_MSG_NO_UNREAD) jsonw_lit(w, ",\"no_unread\":true");
  if (m->flags & STORE_MSG_NO_LAST) jsonw_lit(w, ",\"no_last_msg\":true");
  jsonw_lit(w, "}}");
  return 0;
}

void wsm_sent_text(jsonw_t *w, const wsm_id_t *id, const im_sent_t *r, uint32_t peer_no)
{
  jsonw_lit(w, "{\"id\":");
  if (json_is_string(id->json)) jsonw_str(w, json_string_value(id->json), json_string_length(id->json));
  else if (json_is_integer(id->json)) jsonw_i64(w, json_integer_value(id->json));
  else if (!id->json && id->is_num) jsonw_i64(w, id->num);
  else jsonw_lit(w, "null");
  jsonw_lit(w, ",\"op\":\"send\",\"code\":0,\"msg\":\"ok\"");
  num_t cseq, random, time_s;
  num_set(&cseq, r->cseq);
  num_set(&random, r->random);
  num_set(&time_s, r->time_s);
  FIELD_U64(w, "seq", r->seq);
  FIELD_U64(w, "useq", r->useq);
  jsonw_lit(w, ",\"time\":");
  num_put(w, &time_s);
  msg_key(w, &cseq, &random, &time_s);
  if (r->dup) jsonw_lit(w, ",\"dup\":true");
  else jsonw_lit(w, ",\"dup\":false");
  if (peer_no) FIELD_U64(w, "peer_no", peer_no);
  jsonw_lit(w, "}");
}
