/* libFuzzer target: arbitrary bytes as a message request's JSON — its null
 * members dropped (jsonnull_drop_keys, as rest_v4.c and cws_on_text do:
 * decisions §63, §70, §110), then MsgBody, CloudCustomData and
 * OfflinePushInfo validated and packed exactly as the REST and WebSocket
 * front ends do; an accepted message must pack to valid JSON within the
 * limit, without a null member, that re-validates to the same result. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "im/msgbody.h"
#include "util/jsonnull.h"
#include "../lib/json_nulls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_t *req = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
  if (!req) return 0;
  jsonnull_drop_keys(req, im_msg_optional_objects);
  json_t *body = json_is_object(req) ? json_object_get(req, "MsgBody") : req;
  json_t *cc = json_is_object(req) ? json_object_get(req, "CloudCustomData") : NULL;
  json_t *push = json_is_object(req) ? json_object_get(req, "OfflinePushInfo") : NULL;
  char why[256], *out = NULL;
  size_t len = 0;
  int rc = im_msg_pack(body, cc, push, 12288, &out, &len, why, sizeof why);
  if (!rc) {
    if (len > 12288 || strlen(out) != len) abort();
    json_t *again = json_loadb(out, len, 0, NULL);
    if (!again || im_msgbody_check(json_object_get(again, "MsgBody"), why, sizeof why)) abort();
    if (json_has_null_member(again)) abort(); /* nothing stored carries a null (§63) */
    json_decref(again);
    free(out);
  } else if (!why[0]) {
    abort(); /* every refusal says why */
  }
  json_decref(req);
  return 0;
}
