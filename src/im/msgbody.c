/* msgbody.c — see msgbody.h. Each element type is a table of fields
 * {name, type, required, allowed values, nested table}; one walker checks
 * every table, so a new element type or field is one row. */
#include "im/msgbody.h"
#include "im/damaged.h"
#include "util/err.h"
#include "util/jsonr.h"
#include "util/jsonw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { T_STR, T_INT, T_NUM, T_STR_ARR, T_OBJ, T_OBJ_ARR, T_MSGLIST, T_OPEN };
enum { OPT = 0, REQ = 1 };

typedef struct field {
  const char *name;
  uint8_t type;
  uint8_t req;
  const int64_t *allowed;     /* T_INT: the value must be one of these (NULL = any) */
  uint8_t nallowed;
  const struct field *sub;    /* T_OBJ / T_OBJ_ARR: the members' table */
} field_t;

#define ONLY(...) (const int64_t[]){ __VA_ARGS__ }, (uint8_t)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t))
#define END { NULL, 0, 0, NULL, 0, NULL }
/* The end of a table that also takes members it does not name, each a
 * string or an integer (push vendors' settings: the service keeps adding
 * them; imcloud stores and delivers them, it sends no offline push). */
#define END_OPEN { NULL, T_OPEN, 0, NULL, 0, NULL }

static const field_t text_f[] = { { "Text", T_STR, REQ, NULL, 0, NULL }, END };
static const field_t location_f[] = {
  { "Desc", T_STR, OPT, NULL, 0, NULL }, { "Latitude", T_NUM, REQ, NULL, 0, NULL },
  { "Longitude", T_NUM, REQ, NULL, 0, NULL }, END };
/* Index is optional: the reference requires nothing of a face (§2.3), and a caller that leaves it unset omits
 * it (or, from Go, sends 0); a receiver reads an absent Index as 0, every SDK's default (§104). */
static const field_t face_f[] = { { "Index", T_INT, OPT, NULL, 0, NULL }, { "Data", T_STR, OPT, NULL, 0, NULL }, END };
static const field_t custom_f[] = {
  { "Data", T_STR, REQ, NULL, 0, NULL }, { "Desc", T_STR, OPT, NULL, 0, NULL },
  { "Ext", T_STR, OPT, NULL, 0, NULL }, { "Sound", T_STR, OPT, NULL, 0, NULL }, END };
/* REST senders must give Url and Download_Flag 2 (§2.3). UUID is checked only when present: the current page
 * asks for it, the older page's element had none (Url, Size, Second, Download_Flag; DOBYTE's MsgSoundContent
 * sends exactly those), and a message reaches its receivers by Url (messaging-c2c-checks4.md §99). */
static const field_t sound_f[] = {
  { "Url", T_STR, REQ, NULL, 0, NULL }, { "UUID", T_STR, OPT, NULL, 0, NULL },
  { "Size", T_INT, OPT, NULL, 0, NULL }, { "Second", T_INT, OPT, NULL, 0, NULL },
  { "Download_Flag", T_INT, REQ, ONLY(2), NULL }, END };
/* The reference requires none of an image's fields (§2.3: its requirement
 * column is empty): each is checked only when present. */
static const field_t image_info_f[] = {
  { "Type", T_INT, OPT, ONLY(1, 2, 3), NULL }, { "Size", T_INT, OPT, NULL, 0, NULL },
  { "Width", T_INT, OPT, NULL, 0, NULL }, { "Height", T_INT, OPT, NULL, 0, NULL },
  { "URL", T_STR, OPT, NULL, 0, NULL }, END };
static const field_t image_f[] = {
  { "UUID", T_STR, OPT, NULL, 0, NULL }, { "ImageFormat", T_INT, OPT, ONLY(1, 2, 3, 4, 255), NULL },
  { "ImageInfoArray", T_OBJ_ARR, OPT, NULL, 0, image_info_f }, END };
/* The reference requires Download_Flag 2 only (§2.3); the table spells
 * fileName, its samples FileName: both accepted. */
static const field_t file_f[] = {
  { "Url", T_STR, OPT, NULL, 0, NULL }, { "UUID", T_STR, OPT, NULL, 0, NULL },
  { "FileSize", T_INT, OPT, NULL, 0, NULL }, { "FileName", T_STR, OPT, NULL, 0, NULL },
  { "fileName", T_STR, OPT, NULL, 0, NULL }, { "Download_Flag", T_INT, REQ, ONLY(2), NULL }, END };
/* The reference requires both download flags, 2 (§2.3); the other fields
 * are checked only when present. */
static const field_t video_f[] = {
  { "VideoUrl", T_STR, OPT, NULL, 0, NULL }, { "VideoUUID", T_STR, OPT, NULL, 0, NULL },
  { "VideoSize", T_INT, OPT, NULL, 0, NULL }, { "VideoSecond", T_INT, OPT, NULL, 0, NULL },
  { "VideoFormat", T_STR, OPT, NULL, 0, NULL }, { "VideoDownloadFlag", T_INT, REQ, ONLY(2), NULL },
  { "ThumbUrl", T_STR, OPT, NULL, 0, NULL }, { "ThumbUUID", T_STR, OPT, NULL, 0, NULL },
  { "ThumbSize", T_INT, OPT, NULL, 0, NULL }, { "ThumbWidth", T_INT, OPT, NULL, 0, NULL },
  { "ThumbHeight", T_INT, OPT, NULL, 0, NULL }, { "ThumbFormat", T_STR, OPT, NULL, 0, NULL },
  { "ThumbDownloadFlag", T_INT, REQ, ONLY(2), NULL }, END };
static const field_t relay_f[] = {
  { "Title", T_STR, REQ, NULL, 0, NULL }, { "MsgNum", T_INT, REQ, NULL, 0, NULL },
  { "CompatibleText", T_STR, OPT, NULL, 0, NULL }, { "AbstractList", T_STR_ARR, OPT, NULL, 0, NULL },
  { "MsgList", T_MSGLIST, OPT, NULL, 0, NULL }, { "JsonMsgKey", T_STR, OPT, NULL, 0, NULL }, END };
/* One forwarded message inside TIMRelayElem.MsgList (MsgBody checked apart). */
static const field_t relay_item_f[] = {
  { "From_Account", T_STR, REQ, NULL, 0, NULL }, { "To_Account", T_STR, OPT, NULL, 0, NULL },
  { "GroupId", T_STR, OPT, NULL, 0, NULL }, { "MsgSeq", T_INT, OPT, NULL, 0, NULL },
  { "MsgRandom", T_INT, OPT, NULL, 0, NULL }, { "MsgTimeStamp", T_INT, REQ, NULL, 0, NULL },
  { "MsgBody", T_MSGLIST, REQ, NULL, 0, NULL }, { "CloudCustomData", T_STR, OPT, NULL, 0, NULL }, END };

static const struct { const char *type; const field_t *fields; } elem_types[] = {
  { "TIMTextElem", text_f }, { "TIMLocationElem", location_f }, { "TIMFaceElem", face_f },
  { "TIMCustomElem", custom_f }, { "TIMSoundElem", sound_f }, { "TIMImageElem", image_f },
  { "TIMFileElem", file_f }, { "TIMVideoFileElem", video_f }, { "TIMRelayElem", relay_f },
};

static const field_t android_f[] = {
  { "Sound", T_STR, OPT, NULL, 0, NULL }, { "HuaWeiChannelID", T_STR, OPT, NULL, 0, NULL },
  { "XiaoMiChannelID", T_STR, OPT, NULL, 0, NULL }, { "OPPOChannelID", T_STR, OPT, NULL, 0, NULL },
  { "GoogleChannelID", T_STR, OPT, NULL, 0, NULL }, { "VIVOClassification", T_INT, OPT, ONLY(0, 1), NULL },
  { "HuaWeiImportance", T_STR, OPT, NULL, 0, NULL }, { "ExtAsHuaweiIntentParam", T_INT, OPT, ONLY(0, 1), NULL },
  { "HuaWeiCategory", T_STR, OPT, NULL, 0, NULL }, END_OPEN };
static const field_t apns_f[] = {
  { "BadgeMode", T_INT, OPT, ONLY(0, 1), NULL }, { "Title", T_STR, OPT, NULL, 0, NULL },
  { "SubTitle", T_STR, OPT, NULL, 0, NULL }, { "Image", T_STR, OPT, NULL, 0, NULL },
  { "MutableContent", T_INT, OPT, ONLY(0, 1), NULL }, { "Sound", T_STR, OPT, NULL, 0, NULL }, END_OPEN };
static const field_t push_f[] = {
  { "PushFlag", T_INT, OPT, ONLY(0, 1), NULL }, { "Title", T_STR, OPT, NULL, 0, NULL },
  { "Desc", T_STR, OPT, NULL, 0, NULL }, { "Ext", T_STR, OPT, NULL, 0, NULL },
  { "AndroidInfo", T_OBJ, OPT, NULL, 0, android_f }, { "ApnsInfo", T_OBJ, OPT, NULL, 0, apns_f }, END };

const char *const im_msg_optional_objects[] = { "OfflinePushInfo", "offline_push_info", "AndroidInfo", "ApnsInfo", NULL };

static int body_check(const json_t *body, int depth, const char *where, char *why, size_t cap);

/* An integer of field f: one of its values when it has a set, else not negative. 0 outside a field's set means
 * "not given" (a Go client sends the zero value of every field it leaves unset: DOBYTE's MsgImageContent,
 * ImageInfo): an optional field takes it, kept as sent; a required one refuses it as absent (§104). */
static int int_ok(const field_t *f, int64_t x)
{
  if (!f->allowed) return x >= 0;
  for (int i = 0; i < f->nallowed; i++) if (x == f->allowed[i]) return 1;
  return x == 0 && !f->req;
}

/* Check obj against the table fs. err = the code for any failure. */
static int obj_check(const json_t *obj, const field_t *fs, int depth, const char *where, int err, char *why, size_t cap)
{
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    const field_t *f = fs;
    while (f->name && strcmp(f->name, key)) f++;
    if (!f->name && f->type == T_OPEN && (json_is_string(v) || json_is_integer(v))) continue;
    if (!f->name && f->type == T_OPEN)
      return imc_errf(why, cap, err, "%s: %s must be a string or an integer", where, key);
    if (!f->name) return imc_errf(why, cap, err, "%s: unknown field %s", where, key);
  }
  for (const field_t *f = fs; f->name; f++) {
    v = json_object_get(obj, f->name);
    if (!v) {
      if (f->req) return imc_errf(why, cap, err, "%s: %s is required", where, f->name);
      continue;
    }
    char sub[200];
    switch (f->type) {
    case T_STR:
      if (!json_is_string(v)) return imc_errf(why, cap, err, "%s: %s must be a string", where, f->name);
      break;
    case T_INT:
      if (!json_is_integer(v)) return imc_errf(why, cap, err, "%s: %s must be an integer", where, f->name);
      if (int_ok(f, json_integer_value(v))) break;
      if (!f->allowed) return imc_errf(why, cap, err, "%s: %s must not be negative", where, f->name);
      if (!json_integer_value(v)) return imc_errf(why, cap, err, "%s: %s is required (0: not given)", where, f->name);
      return imc_errf(why, cap, err, "%s: %s=%lld is not allowed", where, f->name, (long long)json_integer_value(v));
    case T_NUM:
      if (!json_is_number(v)) return imc_errf(why, cap, err, "%s: %s must be a number", where, f->name);
      break;
    case T_STR_ARR: {
      size_t i;
      json_t *e;
      if (!json_is_array(v)) return imc_errf(why, cap, err, "%s: %s must be an array of strings", where, f->name);
      json_array_foreach(v, i, e) if (!json_is_string(e))
        return imc_errf(why, cap, err, "%s: %s[%zu] must be a string", where, f->name, i);
      break;
    }
    case T_OBJ: {
      int rc;
      if (!json_is_object(v)) return imc_errf(why, cap, err, "%s: %s must be an object", where, f->name);
      snprintf(sub, sizeof sub, "%s.%s", where, f->name);
      if ((rc = obj_check(v, f->sub, depth, sub, err, why, cap))) return rc;
      break;
    }
    case T_OBJ_ARR: {
      size_t i;
      json_t *e;
      int rc;
      /* empty is allowed: every member of the one such field (an image's
       * ImageInfoArray) is optional, and an absent array is accepted */
      if (!json_is_array(v)) return imc_errf(why, cap, err, "%s: %s must be an array of objects", where, f->name);
      json_array_foreach(v, i, e) {
        snprintf(sub, sizeof sub, "%s.%s[%zu]", where, f->name, i);
        if (!json_is_object(e)) return imc_errf(why, cap, err, "%s must be an object", sub);
        if ((rc = obj_check(e, f->sub, depth, sub, err, why, cap))) return rc;
      }
      break;
    }
    case T_MSGLIST: {
      size_t i;
      json_t *e;
      int rc;
      snprintf(sub, sizeof sub, "%s.%s", where, f->name);
      if (!strcmp(f->name, "MsgBody")) { /* a forwarded message's body */
        if ((rc = body_check(v, depth + 1, sub, why, cap))) return rc == IMC_E_MSG_BODY_NOT_ARRAY ? IMC_E_MSG_BODY : rc;
        break;
      }
      if (depth >= IM_MSGBODY_MAX_DEPTH)
        return imc_errf(why, cap, err, "%s: relay elements nest at most %d levels", where, IM_MSGBODY_MAX_DEPTH);
      if (!json_is_array(v)) return imc_errf(why, cap, err, "%s must be an array of messages", sub);
      json_array_foreach(v, i, e) {
        char item[232];
        snprintf(item, sizeof item, "%s[%zu]", sub, i);
        if (!json_is_object(e)) return imc_errf(why, cap, err, "%s must be an object", item);
        if ((rc = obj_check(e, relay_item_f, depth, item, err, why, cap))) return rc;
      }
      break;
    }
    }
  }
  return 0;
}

static int body_check(const json_t *body, int depth, const char *where, char *why, size_t cap)
{
  size_t i;
  json_t *el;
  int customs = 0;
  if (!json_is_array(body) || !json_array_size(body))
    return imc_errf(why, cap, IMC_E_MSG_BODY_NOT_ARRAY, "%s must be a non-empty array", where);
  if (json_array_size(body) > IM_MSGBODY_MAX_ELEMS)
    return imc_errf(why, cap, IMC_E_MSG_BODY, "%s has more than %d elements", where, IM_MSGBODY_MAX_ELEMS);
  json_array_foreach(body, i, el) {
    char at[240];
    snprintf(at, sizeof at, "%s[%zu]", where, i);
    if (!json_is_object(el)) return imc_errf(why, cap, IMC_E_MSG_BODY, "%s must be an object", at);
    const char *key;
    json_t *v;
    json_object_foreach(el, key, v)
      if (strcmp(key, "MsgType") && strcmp(key, "MsgContent"))
        return imc_errf(why, cap, IMC_E_MSG_BODY, "%s: unknown field %s", at, key);
    json_t *type = json_object_get(el, "MsgType"), *content = json_object_get(el, "MsgContent");
    if (!json_is_string(type)) return imc_errf(why, cap, IMC_E_MSG_BODY, "%s: MsgType must be a string", at);
    if (!json_is_object(content)) return imc_errf(why, cap, IMC_E_MSG_BODY, "%s: MsgContent must be an object", at);
    size_t t;
    for (t = 0; t < sizeof elem_types / sizeof elem_types[0]; t++)
      if (!strcmp(elem_types[t].type, json_string_value(type))) break;
    if (t == sizeof elem_types / sizeof elem_types[0])
      return imc_errf(why, cap, IMC_E_MSG_BODY, "%s: unknown MsgType %.40s", at, json_string_value(type));
    /* §2.3: a combined message may hold only one custom element */
    if (elem_types[t].fields == custom_f && ++customs > 1)
      return imc_errf(why, cap, IMC_E_MSG_BODY, "%s: a message may hold only one TIMCustomElem", at);
    snprintf(at + strlen(at), sizeof at - strlen(at), " %s", elem_types[t].type);
    int rc = obj_check(content, elem_types[t].fields, depth, at, IMC_E_MSG_BODY, why, cap);
    if (rc) return rc;
    if (elem_types[t].fields == relay_f && !json_object_get(content, "MsgList") && !json_object_get(content, "JsonMsgKey"))
      return imc_errf(why, cap, IMC_E_MSG_BODY, "%s: MsgList or JsonMsgKey is required", at);
  }
  return 0;
}

int im_msgbody_check(const json_t *body, char *why, size_t cap)
{
  if (cap) why[0] = 0;
  return body_check(body, 0, "MsgBody", why, cap);
}

int im_push_info_check(const json_t *info, char *why, size_t cap)
{
  if (cap) why[0] = 0;
  if (!info) return 0;
  if (!json_is_object(info)) return imc_errf(why, cap, IMC_E_MSG_PUSH_INFO, "OfflinePushInfo must be an object");
  int rc = obj_check(info, push_f, 0, "OfflinePushInfo", IMC_E_MSG_PUSH_INFO, why, cap);
  if (rc) return rc;
  size_t n = json_string_length(json_object_get(info, "Desc")) + json_string_length(json_object_get(info, "Ext"));
  if (n > IM_PUSH_TEXT_MAX_BYTES)
    return imc_errf(why, cap, IMC_E_MSG_PUSH_INFO, "OfflinePushInfo: Desc + Ext is %zu bytes (at most %d)", n,
                    IM_PUSH_TEXT_MAX_BYTES);
  return 0;
}

/* The packed text is bounded by the request it comes from (frame and body
 * caps, at most 64 MiB, escaped at most 6 times over); this only guards the
 * writer. */
#define IM_PACK_WRITER_MAX_BYTES (1u << 30)

int im_msg_pack(const json_t *body, const json_t *cloud, const json_t *push, size_t max_bytes, char **out,
                size_t *len, char *why, size_t cap)
{
  int rc = im_msgbody_check(body, why, cap);
  if (rc) return rc;
  if (cloud && !json_is_string(cloud)) return imc_errf(why, cap, IMC_E_MSG_JSON, "CloudCustomData must be a string");
  if ((rc = im_push_info_check(push, why, cap))) return rc;
  /* the text json_dumps(…, JSON_COMPACT) gives for {"MsgBody","CloudCustomData","OfflinePushInfo"}
   * (test_msgbody), written straight from the parsed values: jansson's dump
   * formats every object's address for its cycle check, half of its cost */
  jsonw_t w;
  jsonw_init(&w, IM_PACK_WRITER_MAX_BYTES);
  jsonw_lit(&w, "{\"MsgBody\":");
  jsonw_json(&w, body);
  if (cloud) { jsonw_lit(&w, ",\"CloudCustomData\":"); jsonw_json(&w, cloud); }
  if (push) { jsonw_lit(&w, ",\"OfflinePushInfo\":"); jsonw_json(&w, push); }
  jsonw_lit(&w, "}");
  size_t n = 0;
  char *text = jsonw_take(&w, &n);
  if (!text) { /* a checked body has no NaN or infinite real: out of memory, or past the writer's guard */
    int failed = w.failed;
    jsonw_free(&w);
    if (failed != IMC_E_TOOBIG) return IMC_E_NOMEM;
    return imc_errf(why, cap, IMC_E_MSG_TOO_BIG, "the message is over %zu bytes packed (at most %zu)",
                    (size_t)IM_PACK_WRITER_MAX_BYTES, max_bytes);
  }
  if (n > max_bytes) {
    free(text);
    return imc_errf(why, cap, IMC_E_MSG_TOO_BIG, "the message is %zu bytes packed (at most %zu)", n, max_bytes);
  }
  *out = text;
  *len = n;
  return 0;
}

/* ---- the same checks and packing on a jsonr document (the send hot path) ----
 * Accept-only: every rule above, walked over tokens with the same tables and
 * the same relay depth; on the first rule that fails the answer is "not
 * here", and the caller runs im_msg_pack on a jansson tree for the exact code
 * and reason. test_msgbody and fuzz_jsonr check both agree. */
static int tok_body_ok(const jsonr_doc_t *d, uint32_t body, int depth);

static int tok_obj_ok(const jsonr_doc_t *d, uint32_t obj, const field_t *fs, int depth)
{
  const jsonr_tok_t *t = d->t;
  if (t[obj].type != JSONR_OBJECT) return 0;
  uint64_t seen = 0;         /* the tables have fewer than 64 rows */
  uint32_t k = obj + 1;
  for (uint32_t m = 0; m < t[obj].len; m++, k = t[k + 1].next) {
    const field_t *f = fs;
    while (f->name && !jsonr_str_eq(d, k, f->name, strlen(f->name))) f++;
    uint32_t v = k + 1, e;   /* keys are unique (the parse refuses duplicates): each field is met once */
    if (!f->name && f->type == T_OPEN && (t[v].type == JSONR_STRING || t[v].type == JSONR_INTEGER)) continue;
    if (!f->name) return 0;  /* an unknown field */
    seen |= 1ull << (f - fs);
    switch (f->type) {
    case T_STR:
      if (t[v].type != JSONR_STRING) return 0;
      break;
    case T_INT: {
      if (t[v].type != JSONR_INTEGER) return 0;
      if (!int_ok(f, jsonr_int(d, v))) return 0;
      break;
    }
    case T_NUM:
      if (t[v].type != JSONR_INTEGER && t[v].type != JSONR_REAL) return 0;
      break;
    case T_STR_ARR:
      if (t[v].type != JSONR_ARRAY) return 0;
      e = v + 1;
      for (uint32_t i = 0; i < t[v].len; i++, e = t[e].next) if (t[e].type != JSONR_STRING) return 0;
      break;
    case T_OBJ:
      if (!tok_obj_ok(d, v, f->sub, depth)) return 0;
      break;
    case T_OBJ_ARR:
      if (t[v].type != JSONR_ARRAY) return 0; /* empty allowed, as obj_check */
      e = v + 1;
      for (uint32_t i = 0; i < t[v].len; i++, e = t[e].next) if (!tok_obj_ok(d, e, f->sub, depth)) return 0;
      break;
    case T_MSGLIST: /* as obj_check: a forwarded message's MsgBody one level down, or a relay's MsgList */
      if (!strcmp(f->name, "MsgBody")) {
        if (!tok_body_ok(d, v, depth + 1)) return 0;
        break;
      }
      if (depth >= IM_MSGBODY_MAX_DEPTH || t[v].type != JSONR_ARRAY) return 0;
      e = v + 1;
      for (uint32_t i = 0; i < t[v].len; i++, e = t[e].next) if (!tok_obj_ok(d, e, relay_item_f, depth)) return 0;
      break;
    default:
      return 0;
    }
  }
  for (const field_t *f = fs; f->name; f++)
    if (f->req && !(seen & 1ull << (f - fs))) return 0; /* a required field is missing */
  return 1;
}

static int tok_body_ok(const jsonr_doc_t *d, uint32_t body, int depth)
{
  const jsonr_tok_t *t = d->t;
  if (body == JSONR_NONE || t[body].type != JSONR_ARRAY || !t[body].len || t[body].len > IM_MSGBODY_MAX_ELEMS) return 0;
  int customs = 0;
  uint32_t el = body + 1;
  for (uint32_t i = 0; i < t[body].len; i++, el = t[el].next) {
    if (t[el].type != JSONR_OBJECT) return 0;
    uint32_t k = el + 1, type = JSONR_NONE, content = JSONR_NONE;
    for (uint32_t m = 0; m < t[el].len; m++, k = t[k + 1].next) /* keys are unique (the parse refuses duplicates) */
      if (jsonr_str_eq(d, k, "MsgType", 7)) type = k + 1;
      else if (jsonr_str_eq(d, k, "MsgContent", 10)) content = k + 1;
      else return 0;
    if (type == JSONR_NONE || t[type].type != JSONR_STRING) return 0;
    if (content == JSONR_NONE || t[content].type != JSONR_OBJECT) return 0;
    size_t n;
    for (n = 0; n < sizeof elem_types / sizeof elem_types[0]; n++)
      if (jsonr_str_eq(d, type, elem_types[n].type, strlen(elem_types[n].type))) break;
    if (n == sizeof elem_types / sizeof elem_types[0]) return 0;
    if (elem_types[n].fields == custom_f && ++customs > 1) return 0;
    if (!tok_obj_ok(d, content, elem_types[n].fields, depth)) return 0;
    if (elem_types[n].fields == relay_f && jsonr_get(d, content, "MsgList") == JSONR_NONE &&
        jsonr_get(d, content, "JsonMsgKey") == JSONR_NONE)
      return 0;
  }
  return 1;
}

/* Append token v as jsonw_json appends the jansson value read from it. */
static void tok_write(jsonw_t *w, const jsonr_doc_t *d, uint32_t v)
{
  const jsonr_tok_t *t = &d->t[v];
  uint32_t e = v + 1;
  switch (t->type) {
  case JSONR_OBJECT:
    jsonw_lit(w, "{");
    for (uint32_t m = 0; m < t->len; m++, e = d->t[e + 1].next) {
      if (m) jsonw_lit(w, ",");
      tok_write(w, d, e);
      jsonw_lit(w, ":");
      tok_write(w, d, e + 1);
    }
    jsonw_lit(w, "}");
    return;
  case JSONR_ARRAY:
    jsonw_lit(w, "[");
    for (uint32_t m = 0; m < t->len; m++, e = d->t[e].next) {
      if (m) jsonw_lit(w, ",");
      tok_write(w, d, e);
    }
    jsonw_lit(w, "]");
    return;
  case JSONR_STRING:
    if (!(t->flags & JSONR_F_ESCAPED)) { /* no quote, backslash or control byte: jsonw_str would copy it as it is */
      jsonw_raw(w, d->s + t->start - 1, t->len + 2);
      return;
    }
    {
      char small[256], *b = t->len <= sizeof small ? small : malloc(t->len);
      if (!b) { if (!w->failed) w->failed = IMC_E_NOMEM; return; }
      jsonw_str(w, b, jsonr_str(d, v, b));
      if (b != small) free(b);
    }
    return;
  case JSONR_INTEGER: jsonw_i64(w, jsonr_int(d, v)); return;
  case JSONR_REAL: jsonw_real(w, jsonr_num(d, v)); return;
  case JSONR_TRUE: jsonw_lit(w, "true"); return;
  case JSONR_FALSE: jsonw_lit(w, "false"); return;
  default: jsonw_lit(w, "null"); return;
  }
}

/* Append value v: its input bytes as they are when they are already what
 * tok_write would write (a document without whitespace between tokens, and
 * in the value no escaped string or key, which jansson would re-escape, no
 * real, which it reformats, and no -0, which it writes 0), else tok_write. */
static void tok_copy(jsonw_t *w, const jsonr_doc_t *d, uint32_t v)
{
  const jsonr_tok_t *t = d->t;
  uint32_t end = jsonr_end_compact(d, v);
  for (uint32_t k = v; end && k < t[v].next; k++)
    if ((t[k].flags & JSONR_F_ESCAPED) || t[k].type == JSONR_REAL ||
        (t[k].type == JSONR_INTEGER && d->s[t[k].start] == '-' && d->s[t[k].start + 1] == '0'))
      end = 0;
  if (!end) { tok_write(w, d, v); return; }
  uint32_t start = t[v].start - (t[v].type == JSONR_STRING); /* a string's opening quote */
  jsonw_raw(w, d->s + start, end - start);
}

int im_msg_pack_tok(const jsonr_doc_t *d, uint32_t body, uint32_t cloud, uint32_t push, size_t max_bytes, char **out,
                    size_t *len)
{
  const jsonr_tok_t *t = d->t;
  if (!tok_body_ok(d, body, 0)) return IMC_E_INVAL;
  if (cloud != JSONR_NONE && t[cloud].type != JSONR_STRING) return IMC_E_INVAL;
  if (push != JSONR_NONE) {
    if (!tok_obj_ok(d, push, push_f, 0)) return IMC_E_INVAL;
    uint32_t desc = jsonr_get(d, push, "Desc"), ext = jsonr_get(d, push, "Ext");
    size_t n = (desc == JSONR_NONE ? 0 : jsonr_str_len(d, desc)) + (ext == JSONR_NONE ? 0 : jsonr_str_len(d, ext));
    if (n > IM_PUSH_TEXT_MAX_BYTES) return IMC_E_INVAL;
  }
  jsonw_t w;
  jsonw_init(&w, max_bytes < IM_PACK_WRITER_MAX_BYTES ? max_bytes : IM_PACK_WRITER_MAX_BYTES);
  jsonw_lit(&w, "{\"MsgBody\":");
  tok_copy(&w, d, body);
  if (cloud != JSONR_NONE) { jsonw_lit(&w, ",\"CloudCustomData\":"); tok_copy(&w, d, cloud); }
  if (push != JSONR_NONE) { jsonw_lit(&w, ",\"OfflinePushInfo\":"); tok_copy(&w, d, push); }
  jsonw_lit(&w, "}");
  char *text = jsonw_take(&w, len);
  if (!text) { jsonw_free(&w); return IMC_E_INVAL; } /* over max_bytes (93000) or out of memory: the jansson way says which */
  *out = text;
  return 0;
}

int im_msg_merge(const char *old_text, size_t olen, const char *fields, size_t flen, size_t max_bytes, char **out,
                 size_t *len)
{
  static const char *const order[] = { "MsgBody", "CloudCustomData", "OfflinePushInfo" };
  json_t *old = NULL, *neu = json_loadb(fields, flen, 0, NULL);
  int rc = im_body_load(old_text, olen, &old);
  /* a stored body that does not parse (or none) keeps nothing to merge into: only a modify that gives
   * MsgBody makes a whole message, which replaces it (§90); true out of memory stays IMC_E_NOMEM */
  if (rc == IM_BODY_DAMAGED || (!rc && !old)) rc = json_object_get(neu, "MsgBody") ? 0 : IMC_E_MSG_DAMAGED;
  json_t *o = rc ? NULL : json_object();
  if (!rc && (!json_is_object(neu) || !o)) rc = IMC_E_NOMEM;
  for (size_t i = 0; !rc && i < sizeof order / sizeof *order; i++) {
    json_t *v = json_object_get(neu, order[i]);
    if (!v) v = json_object_get(old, order[i]);
    if (v && json_object_set(o, order[i], v)) rc = IMC_E_NOMEM;
  }
  char *txt = rc ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!rc && !txt) rc = IMC_E_NOMEM;
  if (!rc && strlen(txt) > max_bytes) rc = IMC_E_MSG_TOO_BIG;
  json_decref(old);
  json_decref(neu);
  json_decref(o);
  if (rc) { free(txt); return rc; }
  *out = txt;
  *len = strlen(txt);
  return 0;
}
