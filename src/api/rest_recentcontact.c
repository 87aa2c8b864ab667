/* rest_recentcontact.c — the compatible conversation commands (rest-api-
 * reference §2.7): recentcontact/get_list and recentcontact/delete, C2C
 * conversations (Type 1) and group conversations (Type 2).
 *
 * get_list merges two sources: the C2C list of the messaging core
 * (im_c2c_conversations) and the user's groups (im_group_conversations,
 * docs/decisions/groups.md §13), read one after the other; the group rows
 * join the C2C rows here (groups_done), pinned ones with pinned ones.
 *
 * get_list pages: pinned conversations of both kinds (TopFlag 1, when
 * AssistFlags bit 0 is set) come first, ordered by pin time (latest first:
 * the user's pin order, shared by both kinds, then the key — C2C by peer,
 * then groups by number — within a second), then the others by last message time (newest
 * first; one second's in StartIndex order: C2C by peer, then groups by
 * number). The cursors name the last item returned: (TopTimeStamp,
 * TopStartIndex) its pin time and its place among the pins of that second
 * (pin_place: pin order, and the peer for C2C); (TimeStamp, StartIndex) its last message time and its key
 * (the peer's user number, or GROUP_KEY + the group's number). So a page
 * continues after exactly the items already seen even when keys tie — also
 * when an item already returned moved up (a new message, a pin made again)
 * or left the run (deleted, unpinned) between the pages: a count of the
 * items of that second would then skip one not yet returned, or repeat one.
 * (At most 50 pinned conversations, but msg_recent_page may be smaller:
 * pinned items can span pages.) All zero = first page. CompleteFlag 1 =
 * nothing more.
 */
#include "api/api_int.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* One conversation of either kind, as the pages see it. key: what StartIndex names — the peer's user
 * number for C2C, GROUP_KEY + the group's number for a group — and the order within one second (C2C
 * conversations first, by peer, then groups by number). */
#define GROUP_KEY ((int64_t)1 << 32)
typedef struct row {
  int64_t time, pinned_at, key;
  int64_t pin_seq;             /* a pinned row's pin order (pin_place) */
  const char *id;              /* peer UserID or GroupId, owned by list_req_t.ids */
  uint32_t last_seq;           /* 0: an empty conversation (no message that counts) */
  uint8_t group;
} row_t;

typedef struct list_req {
  int64_t ts, idx, top_ts, top_idx, flags;
  uint32_t user;
  row_t *pinned;               /* pinned conversations of both kinds, latest pin first (pin_cmp) */
  size_t npinned;
  row_t *rest;                 /* the others of both kinds */
  size_t nrest, cap;
  char **ids;                  /* every id the rows point to */
  size_t nids;
} list_req_t;

static void list_req_free(void *p)
{
  list_req_t *r = p;
  for (size_t i = 0; i < r->nids; i++) free(r->ids[i]);
  free(r->ids);
  free(r->pinned);
  free(r->rest);
  free(r);
}

static int get_i64(json_t *body, const char *name, int64_t *out)
{
  json_t *v = json_object_get(body, name);
  *out = 0;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0) return IMC_E_CONV_PARAM;
  *out = json_integer_value(v);
  return 0;
}

/* A pinned item's place among the pins of its second (TopStartIndex): its
 * pin order above its peer number, the order the list sorts them in (the
 * higher pin order first, then the lower key: C2C by peer, then groups by
 * number; pin_cmp). A group's place is its pin order above UINT32_MAX (no
 * peer's number): pinned rows share an order only when they are C2C pins
 * made before migration 38 (order 0) — every later pin takes one above the
 * highest — so a group's order alone names it. A C2C item's place is what
 * it was before groups could be pinned, and a place stays below 2^53 (the
 * integers a JavaScript client keeps exactly) while pin orders stay below
 * 2^21. */
static int64_t pin_place(const row_t *cv) { return cv->pin_seq << 32 | (cv->group ? UINT32_MAX : (uint32_t)cv->key); }

/* Skip the items of [from, to) already returned by a cursor (key, idx):
 * those with a larger key, then those with an equal key that were returned:
 * pinned, those up to the place idx (pin_place); the others (in StartIndex
 * order within a key), those up to idx. */
static size_t skip(const row_t *cv, size_t from, size_t to, int pinned, int64_t key, int64_t idx)
{
  if (!key && !idx) return from;
  size_t i = from;
  while (i < to && (pinned ? cv[i].pinned_at : cv[i].time) > key) i++;
  if (!pinned) {
    while (i < to && cv[i].time == key && cv[i].key <= idx) i++;
    return i;
  }
  int64_t seq = idx >> 32, at = (uint32_t)idx == UINT32_MAX ? INT64_MAX : (uint32_t)idx; /* a group: its whole order */
  while (i < to && cv[i].pinned_at == key && (cv[i].pin_seq > seq || (cv[i].pin_seq == seq && cv[i].key <= at))) i++;
  return i;
}

/* The cursor after returning [start, end) of a run: the last item's key and place. */
static void cursor(const row_t *cv, size_t start, size_t end, int pinned, int64_t *key, int64_t *idx)
{
  if (end == start) return;
  *key = pinned ? cv[end - 1].pinned_at : cv[end - 1].time;
  *idx = pinned ? pin_place(&cv[end - 1]) : cv[end - 1].key;
}

static json_t *item(const row_t *cv, int top)
{
  return json_pack("{s:i,s:s,s:I,s:i}", "Type", cv->group ? 2 : 1, cv->group ? "GroupId" : "To_Account", cv->id,
                   "MsgTime", (json_int_t)cv->time, "TopFlag", top);
}

/* Pinned rows of both kinds: latest pin first (the pin order within a second), then by key. */
static int pin_cmp(const void *a, const void *b)
{
  const row_t *x = a, *y = b;
  if (x->pinned_at != y->pinned_at) return x->pinned_at > y->pinned_at ? -1 : 1;
  if (x->pin_seq != y->pin_seq) return x->pin_seq > y->pin_seq ? -1 : 1;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* Newest first; one second's in StartIndex order. */
static int row_cmp(const void *a, const void *b)
{
  const row_t *x = a, *y = b;
  if (x->time != y->time) return x->time > y->time ? -1 : 1;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* Keep a copy of id; NULL on OOM. */
static const char *keep_id(list_req_t *r, const char *id)
{
  char *p = strdup(id);
  if (p) r->ids[r->nids++] = p;
  return p;
}

static int add_rest(list_req_t *r, row_t row)
{
  if (r->nrest == r->cap) {
    size_t nc = r->cap ? r->cap * 2 : 16;
    row_t *a = realloc(r->rest, nc * sizeof *a);
    if (!a) return IMC_E_NOMEM;
    r->rest = a;
    r->cap = nc;
  }
  r->rest[r->nrest++] = row;
  return 0;
}

/* The page from the merged rows (r->pinned, r->rest sorted). */
static void list_reply(rest_ctx_t *c, list_req_t *r)
{
  int64_t page = im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_RECENT_PAGE);
  int pin_support = r->flags & 1;
  json_t *items = json_array();
  int64_t left = page;
  int complete = 1;
  const row_t *cv = r->pinned;
  size_t npinned = r->npinned;
  if (pin_support) {
    size_t start = skip(cv, 0, npinned, 1, r->top_ts, r->top_idx), end = start;
    while (end < npinned && left > 0) { json_array_append_new(items, item(&cv[end], 1)); end++; left--; }
    cursor(cv, start, end, 1, &r->top_ts, &r->top_idx);
    if (end < npinned) complete = 0;
  }
  /* without pin support pinned conversations are listed among the others by time (merged into rest) */
  size_t start = skip(r->rest, 0, r->nrest, 0, r->ts, r->idx), end = start;
  while (end < r->nrest && left > 0) {
    json_array_append_new(items, item(&r->rest[end], r->rest[end].pinned_at != 0));
    end++;
    left--;
  }
  cursor(r->rest, start, end, 0, &r->ts, &r->idx);
  if (end < r->nrest) complete = 0;
  json_t *o = json_pack("{s:o,s:i,s:I,s:I,s:I,s:I}", "SessionItem", items, "CompleteFlag", complete, "TimeStamp",
                        (json_int_t)r->ts, "StartIndex", (json_int_t)r->idx, "TopTimeStamp", (json_int_t)r->top_ts,
                        "TopStartIndex", (json_int_t)r->top_idx);
  json_object_set_new(o, "ErrorDisplay", json_string(""));
  rest_reply_ok(c, o);
}

/* The group rows join the C2C ones: the pinned ones of both kinds are sorted together (pin_cmp), the
 * unpinned ones too (row_cmp), and the app's recent-conversation limit (which the C2C list already holds
 * to) keeps the newest unpinned ones. */
static void groups_done(void *ud, int rc, const im_gconv_t *gv, size_t n)
{
  rest_ctx_t *c = ud;
  list_req_t *r = c->data;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  char **ids = realloc(r->ids, (r->nids + n + 1) * sizeof *ids);
  if (!ids) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  r->ids = ids;
  int pin_support = r->flags & 1;
  if (pin_support && n) {
    row_t *pinned = realloc(r->pinned, (r->npinned + n) * sizeof *pinned);
    if (!pinned) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
    r->pinned = pinned;
  }
  for (size_t i = 0; i < n; i++) {
    /* rest-api-reference §2.7: AssistFlags bit 1 asks for empty conversations too, as for C2C */
    if (!gv[i].last_seq && !(r->flags & 2)) continue;
    const char *id = keep_id(r, gv[i].group_id);
    row_t row = { .time = gv[i].last_time_s, .pinned_at = gv[i].pinned_at_s, .key = GROUP_KEY + gv[i].group_no,
                  .pin_seq = gv[i].pin_seq, .id = id, .last_seq = gv[i].last_seq, .group = 1 };
    if (!id) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
    if (pin_support && row.pinned_at) r->pinned[r->npinned++] = row;
    else if (add_rest(r, row)) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  }
  /* one pin order over both kinds (the C2C ones came in it already) */
  if (r->npinned > 1) qsort(r->pinned, r->npinned, sizeof *r->pinned, pin_cmp);
  if (r->nrest > 1) qsort(r->rest, r->nrest, sizeof *r->rest, row_cmp);
  int64_t kept = im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_RECENT_KEPT), others = 0;
  size_t out = 0;
  for (size_t i = 0; i < r->nrest; i++) {
    if (!r->rest[i].pinned_at && others++ >= kept) continue;
    r->rest[out++] = r->rest[i];
  }
  r->nrest = out;
  list_reply(c, r);
}

static void list_done(void *ud, int rc, const im_conv_list_t *l)
{
  rest_ctx_t *c = ud;
  list_req_t *r = c->data;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  int pin_support = r->flags & 1;
  if (l->n && (!(r->ids = malloc(l->n * sizeof *r->ids)) || !(r->pinned = malloc(l->n * sizeof *r->pinned)))) {
    rest_reply_err(c, IMC_E_NOMEM, NULL, NULL);
    return;
  }
  for (size_t i = 0; i < l->n; i++) {
    const im_conv_t *cv = &l->convs[i];
    /* rest-api-reference §2.7: AssistFlags bit 1 asks for empty conversations
     * too (pinned before any message: no last message) */
    if (!cv->last_seq && !(r->flags & 2)) continue;
    const char *id = keep_id(r, cv->peer_id);
    row_t row = { .time = cv->last_time_s, .pinned_at = cv->pinned_at_s, .key = cv->peer_no, .pin_seq = cv->pin_seq, .id = id,
                   .last_seq = cv->last_seq };
    if (!id) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
    if (pin_support && cv->pinned_at_s) r->pinned[r->npinned++] = row;
    else if (add_rest(r, row)) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  }
  im_group_conversations(c->srv->groups, c->sdkappid, r->user, groups_done, c);
}

void rest_recentcontact_get_list(rest_ctx_t *c)
{
  json_t *from = json_object_get(c->body, "From_Account");
  uint32_t user;
  if (!json_is_string(from) || !tenant_user_id_valid(json_string_value(from))) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "From_Account is required", NULL);
    return;
  }
  if (tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(from), &user)) {
    rest_reply_err(c, IMC_E_CONV_USER, NULL, NULL);
    return;
  }
  list_req_t *r = calloc(1, sizeof *r);
  if (!r) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = r;
  c->data_free = list_req_free;
  r->user = user;
  if (get_i64(c->body, "TimeStamp", &r->ts) || get_i64(c->body, "StartIndex", &r->idx) ||
      get_i64(c->body, "TopTimeStamp", &r->top_ts) || get_i64(c->body, "TopStartIndex", &r->top_idx) ||
      get_i64(c->body, "AssistFlags", &r->flags)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "TimeStamp, StartIndex, TopTimeStamp, TopStartIndex and AssistFlags are non-negative integers", NULL);
    return;
  }
  im_c2c_conversations(c->srv->c2c, c->sdkappid, user, 0, 0, list_done, c);
}

static void delete_done(void *ud, int rc)
{
  rest_ctx_t *c = ud;
  if (rc) rest_reply_err(c, rc, NULL, NULL);
  else rest_reply_ok(c, json_pack("{s:s}", "ErrorDisplay", ""));
}

static void group_deleted(void *ud, const im_gres_t *r)
{
  rest_ctx_t *c = ud;
  if (r->rc) rest_reply_err(c, r->rc, r->why[0] ? r->why : NULL, NULL);
  else rest_reply_ok(c, json_pack("{s:s}", "ErrorDisplay", ""));
}

void rest_recentcontact_delete(rest_ctx_t *c)
{
  json_t *from = json_object_get(c->body, "From_Account"), *to = json_object_get(c->body, "To_Account");
  json_t *type = json_object_get(c->body, "Type"), *clear = json_object_get(c->body, "ClearRamble");
  uint32_t user, peer;
  if (!json_is_string(from) || !tenant_user_id_valid(json_string_value(from))) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "From_Account is required", NULL);
    return;
  }
  if (tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(from), &user)) {
    rest_reply_err(c, IMC_E_CONV_USER, NULL, NULL);
    return;
  }
  if (!json_is_integer(type) || (json_integer_value(type) != 1 && json_integer_value(type) != 2)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "Type must be 1 (C2C) or 2 (group)", NULL);
    return;
  }
  if (clear && (!json_is_integer(clear) || json_integer_value(clear) < 0 || json_integer_value(clear) > 1)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "ClearRamble must be 0 or 1", NULL);
    return;
  }
  if (json_integer_value(type) == 2) {
    json_t *gid = json_object_get(c->body, "ToGroupid");
    if (!json_is_string(gid)) { rest_reply_err(c, IMC_E_CONV_PARAM, "ToGroupid is required with Type 2", NULL); return; }
    /* the group's history is one for every member: hiding it from one member would take every group read */
    if (clear && json_integer_value(clear)) {
      rest_reply_err(c, IMC_E_CONV_PARAM, "ClearRamble 1 is not supported for group conversations", NULL);
      return;
    }
    im_group_conv_delete(c->srv->groups, c->sdkappid, user, json_string_value(gid), group_deleted, c);
    return;
  }
  if (!json_is_string(to) || tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(to), &peer)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "To_Account must name an imported account", NULL);
    return;
  }
  im_c2c_conv_delete(c->srv->c2c, c->sdkappid, user, peer, clear && json_integer_value(clear), json_string_value(to),
                     delete_done, c);
}
