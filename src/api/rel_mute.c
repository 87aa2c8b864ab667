/* rel_mute.c — global mute (openconfigsvr/setnospeaking, getnospeaking;
 * docs/rest-api-relationships.md "Global mute"): per user, until when its one-to-one and
 * its group messages are refused. Stored as the user's META rows
 * REL_MUTE_C2C / REL_MUTE_GROUP (the absolute end in seconds, REL_MUTE_EVER
 * for "forever"), written and made durable like every relationship row
 * (rel.h change sets); read by the WebSocket send checks (rel_c2c_check:
 * 20012; cws_op_group_send: 10017). REST sends by the administrator are not
 * checked, like the other relationship checks. */
#include "api/rel_api.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/err.h"

#include <jansson.h>
#include <stdio.h>

#define MUTE_FOREVER_S 4294967295LL /* the API's "forever" */

int64_t rel_mute_left(const rel_user_t *u, const char *key, int64_t now_s)
{
  int64_t until = rel_meta_i64(u, key);
  if (until == REL_MUTE_EVER) return MUTE_FOREVER_S;
  return until > now_s ? until - now_s : 0;
}

/* A time field: absent (0), or 0..4294967295 seconds (1). -1: malformed. */
static int mute_time(json_t *body, const char *name, int64_t *out)
{
  json_t *v = json_object_get(body, name);
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MUTE_FOREVER_S) return -1;
  *out = json_integer_value(v);
  return 1;
}

static int mute_put(relreq_t *rr, rel_user_t *u, const char *key, int64_t secs, int64_t now_s)
{
  if (secs == 0) return rel_txn_del(&rr->txn, u, REL_K_META, key);
  char v[32];
  snprintf(v, sizeof v, "%lld", (long long)(secs == MUTE_FOREVER_S ? REL_MUTE_EVER : now_s + secs));
  return rel_txn_put(&rr->txn, u, REL_K_META, key, v);
}

void rest_setnospeaking(rest_ctx_t *c)
{
  rel_user_t *u;
  int64_t c2c = 0, grp = 0;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int rc = rel_from(c, "Set_Account", 1, IMC_E_MUTE_SET_ACCOUNT, IMC_E_MUTE_SET_USER, &u);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  int has_c = mute_time(c->body, "C2CmsgNospeakingTime", &c2c), has_g = mute_time(c->body, "GroupmsgNospeakingTime", &grp);
  if (has_c < 0 || has_g < 0) {
    rest_reply_err(c, IMC_E_MUTE_PARAM, "C2CmsgNospeakingTime and GroupmsgNospeakingTime are seconds 0..4294967295 "
                   "(0 ends the mute, 4294967295 is forever)", NULL);
    return;
  }
  if (!has_c && !has_g) { rest_reply_err(c, IMC_E_MUTE_NO_TIME, NULL, NULL); return; }
  int64_t now = imc_clock_now_s();
  if (has_c) rc = mute_put(rr, u, REL_MUTE_C2C, c2c, now);
  if (!rc && has_g) rc = mute_put(rr, u, REL_MUTE_GROUP, grp, now);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  relreq_commit_bare(c);
}

void rest_getnospeaking(rest_ctx_t *c)
{
  rel_user_t *u = NULL;
  int rc = rel_from(c, "Get_Account", 0, IMC_E_MUTE_GET_ACCOUNT, IMC_E_MUTE_GET_USER, &u);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  int64_t now = imc_clock_now_s();
  rest_reply_ok(c, json_pack("{s:I,s:I}", "C2CmsgNospeakingTime", (json_int_t)rel_mute_left(u, REL_MUTE_C2C, now),
                             "GroupmsgNospeakingTime", (json_int_t)rel_mute_left(u, REL_MUTE_GROUP, now)));
}
