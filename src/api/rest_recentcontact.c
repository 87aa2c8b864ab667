/* rest_recentcontact.c — the compatible conversation commands (rest-api-
 * reference §2.7): recentcontact/get_list and recentcontact/delete, C2C
 * conversations (Type 1) and group conversations (Type 2).
 *
 * get_list is one page of the user's list of both kinds (im_conv_page,
 * src/im/conv.h: one read of both kinds, the order and the cursors); here
 * only the wire: AssistFlags bit 0 lists the pinned conversations first
 * (TopFlag 1), bit 1 the empty ones too, bit 2 (with bit 0) pages the
 * pinned ones; the cursors name the last item returned: (TopTimeStamp, TopStartIndex) its pin time and its place among
 * the pins of that second (pin order, and the peer for C2C: src/im/conv_list.c
 * place()); (TimeStamp, StartIndex) its last message time and its key (the
 * peer's user number, or 2^32 + the group's number). So a page continues
 * after exactly the items already seen even when keys tie — also when an
 * item already returned moved up (a new message, a pin made again) or left
 * the run (deleted, unpinned) between the pages. Bit 2 pages the pinned
 * items too (at most 50, but msg_recent_page may be smaller: they can span
 * pages); without it the first page holds them all, whatever the page size,
 * and the later pages none (IM_CONV_PINNED_WHOLE). All zero = first page.
 * CompleteFlag 1 = nothing more.
 */
#include "api/api_int.h"
#include "api/rel_gate.h"
#include "im/conv.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* An optional non-negative integer (absent: 0); 50002 naming the field into why otherwise. */
static int get_i64(json_t *body, const char *name, int64_t *out, char *why, size_t cap)
{
  json_t *v = json_object_get(body, name);
  *out = 0;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return imc_errf(why, cap, IMC_E_CONV_PARAM, "%s must be a non-negative integer", name);
  *out = json_integer_value(v);
  return 0;
}

static void list_done(void *ud, int rc, const im_conv_page_t *p)
{
  rest_ctx_t *c = ud;
  uint32_t user = 0;
  /* its account, for the gate's names only while a deletion is in flight (no lookup otherwise); not found: it was
   * deleted since it was accepted, and rel_gate.committed has changed (§115) */
  if (c->srv->rel_gate.named.len &&
      tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(json_object_get(c->body,
                                   "From_Account")), &user))
    user = 0;
  /* a deletion committed since it was accepted: from the start, its account looked up again (§115) */
  if (rel_gate_rest_reread(c->srv, c, &user, user != 0)) return;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  json_t *items = json_array();
  int bad = 0; /* a conversation left out of SessionItem, or a member unset: 70500, never a short page (§85) */
  for (size_t i = 0; i < p->n && !bad; i++) {
    const im_conv_item_t *it = &p->items[i];
    api_list_add(items, json_pack("{s:i,s:s,s:I,s:i}", "Type", it->group ? 2 : 1, it->group ? "GroupId" : "To_Account",
                                  it->id, "MsgTime", (json_int_t)it->last_time_s, "TopFlag", it->pinned_at_s != 0), &bad);
  }
  json_t *o = json_pack("{s:o,s:i,s:I,s:I,s:I,s:I}", "SessionItem", items, "CompleteFlag", p->complete, "TimeStamp",
                        (json_int_t)p->next.time_s, "StartIndex", (json_int_t)p->next.key, "TopTimeStamp",
                        (json_int_t)p->next.pin_s, "TopStartIndex", (json_int_t)p->next.pin_place);
  api_field_put(o, "ErrorDisplay", json_string(""), &bad);
  rest_reply_ok(c, api_json_whole(o, bad));
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
  im_conv_cursor_t cur;
  int64_t flags;
  char why[96];
  if (get_i64(c->body, "TimeStamp", &cur.time_s, why, sizeof why) ||
      get_i64(c->body, "StartIndex", &cur.key, why, sizeof why) ||
      get_i64(c->body, "TopTimeStamp", &cur.pin_s, why, sizeof why) ||
      get_i64(c->body, "TopStartIndex", &cur.pin_place, why, sizeof why) ||
      get_i64(c->body, "AssistFlags", &flags, why, sizeof why)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, why, NULL); /* the field at fault (§99) */
    return;
  }
  /* rest-api-reference §2.7: AssistFlags bit 0 pinned first, bit 1 empty conversations too, bit 2 pinned ones
   * paged; without it (bit 0 set) every pin comes on the first page (messaging-c2c-conversations.md §64); without
   * bit 0 there is no pinned run to page, and bit 2 changes nothing */
  int f = ((flags & 1) ? IM_CONV_PINNED_FIRST : 0) | ((flags & 2) ? IM_CONV_EMPTY : 0) |
          ((flags & 1) && !(flags & 4) ? IM_CONV_PINNED_WHOLE : 0);
  /* of an account being deleted: after its deletion, from the start (§113) */
  if (rel_gate_rest_names(c->srv, c, user, 0)) return;
  c->read_epoch = c->srv->rel_gate.committed; /* compared by list_done (§115) */
  im_conv_page(c->srv->c2c, c->srv->groups, c->sdkappid, user, &cur, f,
               im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_RECENT_PAGE), list_done, c);
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
  /* "type": the spelling clients built on an older page send (DOBYTE's deleteSessionReq), read when "Type" is
   * absent (§92) */
  const char *type_name = rest_field_name(c->body, "Type", "type");
  json_t *type = json_object_get(c->body, type_name);
  json_t *clear = json_object_get(c->body, "ClearRamble");
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
    char why[64]; /* named as the request spelt it (§99) */
    rest_reply_err(c, imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "%s must be 1 (C2C) or 2 (group)", type_name), why, NULL);
    return;
  }
  if (clear && (!json_is_integer(clear) || json_integer_value(clear) < 0 || json_integer_value(clear) > 1)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "ClearRamble must be 0 or 1", NULL);
    return;
  }
  if (json_integer_value(type) == 2) {
    json_t *gid = json_object_get(c->body, "ToGroupid");
    if (!json_is_string(gid)) { rest_reply_err(c, IMC_E_CONV_PARAM, "ToGroupid is required with Type 2", NULL); return; }
    /* ClearRamble (checked above) clears a C2C history only: a group's history is one for every member and stays
     * (the service's sample for a group conversation sends 1; groups-conversations.md §13, decision §73) */
    im_group_conv_delete(c->srv->groups, c->sdkappid, user, json_string_value(gid), group_deleted, c);
    return;
  }
  if (!json_is_string(to) || tenant_registry_account_find(c->srv->reg, c->sdkappid, json_string_value(to), &peer)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "To_Account must name an imported account", NULL);
    return;
  }
  /* of or with an account being deleted: after its deletion (its conv_delete event would go to the deleted number,
   * §112); run again from the start then */
  if (rel_gate_rest_names(c->srv, c, user, peer)) return;
  im_c2c_conv_delete(c->srv->c2c, c->sdkappid, user, peer, clear && json_integer_value(clear), json_string_value(to),
                     delete_done, c);
}
