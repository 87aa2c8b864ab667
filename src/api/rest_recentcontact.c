/* rest_recentcontact.c — the compatible conversation commands (rest-api-
 * reference §2.7): recentcontact/get_list and recentcontact/delete, C2C
 * conversations (Type 1).
 *
 * get_list pages: pinned conversations (TopFlag 1, when AssistFlags bit 0 is
 * set) come first, ordered by pin time (latest first: the pin order, then the
 * peer, within a second), then the others by last message time (newest
 * first; one second's in peer order). The cursors name the last item
 * returned: (TopTimeStamp, TopStartIndex) its pin time and its place among
 * the pins of that second (pin_place); (TimeStamp, StartIndex) its last
 * message time and its peer (its user number). So a page continues after
 * exactly the items already seen even when keys tie — also when an item
 * already returned moved up (a new message, a pin made again) or left the
 * run (deleted, unpinned) between the pages: a count of the items of that
 * second would then skip one not yet returned, or repeat one. (At most 50
 * pinned conversations, but msg_recent_page may be smaller: pinned items
 * can span pages.) All zero = first page. CompleteFlag 1 = nothing more.
 */
#include "api/api_int.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

typedef struct list_req { int64_t ts, idx, top_ts, top_idx, flags; } list_req_t;

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
 * higher pin order first, then the lower peer; im_c2c_conversations). */
static int64_t pin_place(const im_conv_t *cv) { return cv->pin_seq << 32 | cv->peer_no; }

/* Skip the items of [from, to) already returned by a cursor (key, idx):
 * those with a larger key, then those with an equal key that were returned:
 * pinned, those up to the place idx (pin_place); the others (in peer order
 * within a key), those up to the peer idx. */
static size_t skip(const im_conv_t *cv, size_t from, size_t to, int pinned, int64_t key, int64_t idx)
{
  if (!key && !idx) return from;
  size_t i = from;
  while (i < to && (pinned ? cv[i].pinned_at_s : cv[i].last_time_s) > key) i++;
  if (!pinned) {
    while (i < to && cv[i].last_time_s == key && cv[i].peer_no <= idx) i++;
    return i;
  }
  while (i < to && cv[i].pinned_at_s == key &&
         (cv[i].pin_seq > idx >> 32 || (cv[i].pin_seq == idx >> 32 && cv[i].peer_no <= (uint32_t)idx)))
    i++;
  return i;
}

/* The cursor after returning [start, end) of a run: the last item's key and place. */
static void cursor(const im_conv_t *cv, size_t start, size_t end, int pinned, int64_t *key, int64_t *idx)
{
  if (end == start) return;
  *key = pinned ? cv[end - 1].pinned_at_s : cv[end - 1].last_time_s;
  *idx = pinned ? pin_place(&cv[end - 1]) : cv[end - 1].peer_no;
}

static json_t *item(const im_conv_t *cv, int top)
{
  return json_pack("{s:i,s:s,s:I,s:i}", "Type", 1, "To_Account", cv->peer_id, "MsgTime", (json_int_t)cv->last_time_s,
                   "TopFlag", top);
}

static void list_done(void *ud, int rc, const im_conv_list_t *l)
{
  rest_ctx_t *c = ud;
  list_req_t *r = c->data;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  int64_t page = im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_RECENT_PAGE);
  int pin_support = r->flags & 1;
  /* rest-api-reference §2.7: AssistFlags bit 1 asks for empty conversations
   * too (pinned before any message: no last message) */
  im_conv_t *cv = l->convs, *full = NULL;
  size_t n = l->n;
  if (!(r->flags & 2)) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += cv[i].last_seq != 0;
    if (m < n) {
      if (!(full = malloc((m ? m : 1) * sizeof *full))) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
      for (size_t i = 0, k = 0; i < n; i++) if (cv[i].last_seq) full[k++] = cv[i];
      cv = full;
      n = m;
    }
  }
  size_t npinned = 0;
  while (npinned < n && cv[npinned].pinned_at_s) npinned++;
  json_t *items = json_array();
  int64_t left = page;
  int complete = 1;
  if (pin_support) {
    size_t start = skip(cv, 0, npinned, 1, r->top_ts, r->top_idx), end = start;
    while (end < npinned && left > 0) { json_array_append_new(items, item(&cv[end], 1)); end++; left--; }
    cursor(cv, start, end, 1, &r->top_ts, &r->top_idx);
    if (end < npinned) complete = 0;
  }
  /* without pin support pinned conversations are listed among the others by time */
  im_conv_t *rest = cv ? cv + (pin_support ? npinned : 0) : NULL; /* NULL + 0 is undefined */
  size_t nrest = n - (pin_support ? npinned : 0);
  im_conv_t *sorted = NULL;
  if (!pin_support && npinned) {
    if (!(sorted = malloc(nrest * sizeof *sorted))) {
      free(full);
      json_decref(items);
      rest_reply_err(c, IMC_E_NOMEM, NULL, NULL);
      return;
    }
    memcpy(sorted, rest, nrest * sizeof *sorted);
    for (size_t i = 1; i < nrest; i++) { /* insertion sort by time, then peer (the cursor's order): a few hundred rows */
      im_conv_t x = sorted[i];
      size_t k = i;
      while (k > 0 && (sorted[k - 1].last_time_s < x.last_time_s ||
                       (sorted[k - 1].last_time_s == x.last_time_s && sorted[k - 1].peer_no > x.peer_no))) {
        sorted[k] = sorted[k - 1];
        k--;
      }
      sorted[k] = x;
    }
    rest = sorted;
  }
  size_t start = skip(rest, 0, nrest, 0, r->ts, r->idx), end = start;
  while (end < nrest && left > 0) { json_array_append_new(items, item(&rest[end], !pin_support && rest[end].pinned_at_s != 0)); end++; left--; }
  cursor(rest, start, end, 0, &r->ts, &r->idx);
  if (end < nrest) complete = 0;
  free(sorted);
  free(full);
  json_t *o = json_pack("{s:o,s:i,s:I,s:I,s:I,s:I}", "SessionItem", items, "CompleteFlag", complete, "TimeStamp",
                        (json_int_t)r->ts, "StartIndex", (json_int_t)r->idx, "TopTimeStamp", (json_int_t)r->top_ts,
                        "TopStartIndex", (json_int_t)r->top_idx);
  json_object_set_new(o, "ErrorDisplay", json_string(""));
  rest_reply_ok(c, o);
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
  c->data_free = free;
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
  if (!json_is_integer(type) || json_integer_value(type) != 1) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "Type must be 1 (C2C); group conversations arrive with groups", NULL);
    return;
  }
  if (!json_is_string(to) || tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(to), &peer)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "To_Account must name an imported account", NULL);
    return;
  }
  if (clear && (!json_is_integer(clear) || json_integer_value(clear) < 0 || json_integer_value(clear) > 1)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "ClearRamble must be 0 or 1", NULL);
    return;
  }
  im_c2c_conv_delete(c->srv->c2c, c->sdkappid, user, peer, clear && json_integer_value(clear), json_string_value(to),
                     delete_done, c);
}
