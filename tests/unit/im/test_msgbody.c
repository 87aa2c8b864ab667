/* Unit tests for src/im/msgbody.c: every element type of rest-api-reference
 * §2.3 accepted in its documented shape, and refused with its code for each
 * missing required field, wrong field type, unknown field, bad flag; the
 * one-custom-element rule; relay nesting; CloudCustomData; OfflinePushInfo;
 * the packed size limit; MsgKey formatting and parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "im/c2c.h"
#include "im/msgbody.h"
#include "util/err.h"
#include "util/jsonnull.h"
#include "util/jsonr.h"

static int check(const char *text, char *why, size_t cap)
{
  json_error_t e;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
  if (!v) fail_msg("bad test JSON: %s: %s", text, e.text);
  int rc = im_msgbody_check(v, why, cap);
  json_decref(v);
  return rc;
}

#define EL(type, content) "{\"MsgType\":\"" type "\",\"MsgContent\":" content "}"

/* One valid element per type. */
static const char *const valid[] = {
  EL("TIMTextElem", "{\"Text\":\"hello\"}"),
  EL("TIMTextElem", "{\"Text\":\"\"}"),
  EL("TIMLocationElem", "{\"Desc\":\"office\",\"Latitude\":22.54,\"Longitude\":113.93}"),
  EL("TIMLocationElem", "{\"Latitude\":0,\"Longitude\":-1}"),
  EL("TIMFaceElem", "{\"Index\":3,\"Data\":\"smile\"}"),
  EL("TIMFaceElem", "{\"Index\":0}"),
  EL("TIMFaceElem", "{\"Data\":\"[smile]\"}"), /* no Index: the reference requires none (§104) */
  EL("TIMCustomElem", "{\"Data\":\"{}\",\"Desc\":\"push\",\"Ext\":\"e\",\"Sound\":\"a.aiff\"}"),
  EL("TIMSoundElem", "{\"Url\":\"https://x/a.m4a\",\"UUID\":\"u1\",\"Size\":100,\"Second\":3,\"Download_Flag\":2}"),
  /* the older page's sound element, as DOBYTE sends it: no UUID (§99) */
  EL("TIMSoundElem", "{\"Url\":\"https://x/a.m4a\",\"Size\":100,\"Second\":3,\"Download_Flag\":2}"),
  EL("TIMImageElem", "{\"UUID\":\"img\",\"ImageFormat\":255,\"ImageInfoArray\":[{\"Type\":1,\"Size\":10,\"Width\":1,\"Height\":1,"
                     "\"URL\":\"u\"},{\"Type\":3,\"Size\":1,\"Width\":1,\"Height\":1,\"URL\":\"t\"}]}"),
  /* an image and a video with only what the reference requires (§2.3) */
  EL("TIMImageElem", "{}"),
  EL("TIMImageElem", "{\"UUID\":\"img\",\"ImageInfoArray\":[{\"URL\":\"u\"}]}"),
  EL("TIMImageElem", "{\"UUID\":\"img\",\"ImageFormat\":1,\"ImageInfoArray\":[]}"), /* empty, as absent */
  /* a Go client's image, every field it left unset sent as 0 (DOBYTE's MsgImageContent, ImageInfo): 0 is "not given" (§104) */
  EL("TIMImageElem", "{\"UUID\":\"img\",\"ImageFormat\":0,\"ImageInfoArray\":[{\"Type\":0,\"Size\":0,\"Width\":0,"
                     "\"Height\":0,\"URL\":\"u\"}]}"),
  EL("TIMVideoFileElem", "{\"VideoDownloadFlag\":2,\"ThumbDownloadFlag\":2}"),
  EL("TIMVideoFileElem", "{\"VideoUrl\":\"v\",\"VideoDownloadFlag\":2,\"ThumbDownloadFlag\":2}"),
  EL("TIMFileElem", "{\"Url\":\"u\",\"UUID\":\"f\",\"FileSize\":9,\"FileName\":\"a.txt\",\"Download_Flag\":2}"),
  EL("TIMFileElem", "{\"Url\":\"u\",\"fileName\":\"a.txt\",\"Download_Flag\":2}"),
  EL("TIMFileElem", "{\"Download_Flag\":2}"), /* the reference requires nothing else */
  EL("TIMVideoFileElem", "{\"VideoUrl\":\"v\",\"VideoUUID\":\"vu\",\"VideoSize\":1,\"VideoSecond\":2,\"VideoFormat\":\"mp4\","
                         "\"VideoDownloadFlag\":2,\"ThumbUrl\":\"t\",\"ThumbUUID\":\"tu\",\"ThumbSize\":1,\"ThumbWidth\":2,"
                         "\"ThumbHeight\":3,\"ThumbFormat\":\"jpg\",\"ThumbDownloadFlag\":2}"),
  EL("TIMRelayElem", "{\"Title\":\"chat\",\"MsgNum\":1,\"CompatibleText\":\"upgrade\",\"AbstractList\":[\"a: hi\"],"
                     "\"MsgList\":[{\"From_Account\":\"a\",\"To_Account\":\"b\",\"MsgSeq\":1,\"MsgRandom\":2,\"MsgTimeStamp\":3,"
                     "\"MsgBody\":[" EL("TIMTextElem", "{\"Text\":\"hi\"}") "],\"CloudCustomData\":\"c\"}]}"),
  EL("TIMRelayElem", "{\"Title\":\"chat\",\"MsgNum\":40,\"JsonMsgKey\":\"k\"}"),
  /* the deepest nesting allowed: a relay in a relay in a relay, the last one by key only */
  EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":1,\"MsgBody\":["
     EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":1,\"MsgBody\":["
        EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"JsonMsgKey\":\"k\"}") "]}]}") "]}],\"JsonMsgKey\":\"k\"}"),
};

static void test_valid_elements(void **st)
{
  (void)st;
  char body[4096], why[256];
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    snprintf(body, sizeof body, "[%s]", valid[i]);
    int rc = check(body, why, sizeof why);
    if (rc) fail_msg("row %zu refused: %s", i, why);
  }
  /* a mixed message with one of each */
  char all[16384] = "[";
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i += 2) {
    strcat(all, valid[i]);
    strcat(all, ",");
  }
  strcat(all, EL("TIMTextElem", "{\"Text\":\"end\"}") "]");
  assert_int_equal(check(all, why, sizeof why), 0);
}

static const struct { const char *body; int code; const char *why; } invalid[] = {
  /* shape */
  { "null", IMC_E_MSG_BODY_NOT_ARRAY, "non-empty array" },
  { "{}", IMC_E_MSG_BODY_NOT_ARRAY, "non-empty array" },
  { "[]", IMC_E_MSG_BODY_NOT_ARRAY, "non-empty array" },
  { "[1]", IMC_E_MSG_BODY, "must be an object" },
  { "[{\"MsgType\":\"TIMTextElem\"}]", IMC_E_MSG_BODY, "MsgContent must be an object" },
  { "[{\"MsgContent\":{}}]", IMC_E_MSG_BODY, "MsgType must be a string" },
  { "[{\"MsgType\":7,\"MsgContent\":{}}]", IMC_E_MSG_BODY, "MsgType must be a string" },
  { "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"},\"Extra\":1}]", IMC_E_MSG_BODY, "unknown field Extra" },
  { "[" EL("TIMBogusElem", "{}") "]", IMC_E_MSG_BODY, "unknown MsgType TIMBogusElem" },
  /* text */
  { "[" EL("TIMTextElem", "{}") "]", IMC_E_MSG_BODY, "Text is required" },
  { "[" EL("TIMTextElem", "{\"Text\":5}") "]", IMC_E_MSG_BODY, "Text must be a string" },
  { "[" EL("TIMTextElem", "{\"Text\":\"a\",\"Font\":\"b\"}") "]", IMC_E_MSG_BODY, "unknown field Font" },
  /* location */
  { "[" EL("TIMLocationElem", "{\"Latitude\":1}") "]", IMC_E_MSG_BODY, "Longitude is required" },
  { "[" EL("TIMLocationElem", "{\"Latitude\":\"1\",\"Longitude\":2}") "]", IMC_E_MSG_BODY, "Latitude must be a number" },
  { "[" EL("TIMLocationElem", "{\"Desc\":1,\"Latitude\":1,\"Longitude\":2}") "]", IMC_E_MSG_BODY, "Desc must be a string" },
  /* face */
  { "[" EL("TIMFaceElem", "{\"Index\":\"1\"}") "]", IMC_E_MSG_BODY, "Index must be an integer" },
  { "[" EL("TIMFaceElem", "{\"Index\":1.5}") "]", IMC_E_MSG_BODY, "Index must be an integer" },
  { "[" EL("TIMFaceElem", "{\"Index\":-1}") "]", IMC_E_MSG_BODY, "must not be negative" },
  /* custom */
  { "[" EL("TIMCustomElem", "{\"Desc\":\"x\"}") "]", IMC_E_MSG_BODY, "Data is required" },
  { "[" EL("TIMCustomElem", "{\"Data\":{}}") "]", IMC_E_MSG_BODY, "Data must be a string" },
  { "[" EL("TIMCustomElem", "{\"Data\":\"a\"}") "," EL("TIMCustomElem", "{\"Data\":\"b\"}") "]", IMC_E_MSG_BODY,
    "only one TIMCustomElem" },
  /* sound */
  { "[" EL("TIMSoundElem", "{\"UUID\":\"u\",\"Download_Flag\":2}") "]", IMC_E_MSG_BODY, "Url is required" },
  { "[" EL("TIMSoundElem", "{\"Url\":\"u\",\"UUID\":3,\"Download_Flag\":2}") "]", IMC_E_MSG_BODY, "UUID must be a string" },
  { "[" EL("TIMSoundElem", "{\"Url\":\"u\",\"Size\":1,\"Second\":2}") "]", IMC_E_MSG_BODY, "Download_Flag is required" },
  { "[" EL("TIMSoundElem", "{\"Url\":\"u\",\"UUID\":\"u\",\"Download_Flag\":1}") "]", IMC_E_MSG_BODY, "Download_Flag=1 is not allowed" },
  /* 0 is "not given": a required flag's 0 is refused as its absence is (§104) */
  { "[" EL("TIMSoundElem", "{\"Url\":\"u\",\"Download_Flag\":0}") "]", IMC_E_MSG_BODY, "Download_Flag is required (0: not given)" },
  { "[" EL("TIMSoundElem", "{\"Url\":\"u\",\"UUID\":\"u\",\"Second\":\"3\",\"Download_Flag\":2}") "]", IMC_E_MSG_BODY,
    "Second must be an integer" },
  /* image */
  { "[" EL("TIMImageElem", "{\"UUID\":\"i\",\"ImageFormat\":5,\"ImageInfoArray\":[]}") "]", IMC_E_MSG_BODY, "ImageFormat=5" },
  { "[" EL("TIMImageElem", "{\"ImageFormat\":7}") "]", IMC_E_MSG_BODY, "ImageFormat=7 is not allowed" },
  { "[" EL("TIMImageElem", "{\"ImageFormat\":-1}") "]", IMC_E_MSG_BODY, "ImageFormat=-1 is not allowed" },
  { "[" EL("TIMImageElem", "{\"ImageFormat\":\"0\"}") "]", IMC_E_MSG_BODY, "ImageFormat must be an integer" },
  { "[" EL("TIMImageElem", "{\"ImageInfoArray\":[{\"Type\":\"1\"}]}") "]", IMC_E_MSG_BODY, "Type must be an integer" },
  { "[" EL("TIMImageElem", "{\"UUID\":\"i\",\"ImageInfoArray\":{}}") "]", IMC_E_MSG_BODY, "ImageInfoArray must be an array of objects" },
  { "[" EL("TIMImageElem", "{\"UUID\":\"i\",\"ImageFormat\":1,\"ImageInfoArray\":[{\"Type\":4,\"Size\":1,\"Width\":1,"
                           "\"Height\":1,\"URL\":\"u\"}]}") "]", IMC_E_MSG_BODY, "Type=4" },
  { "[" EL("TIMImageElem", "{\"ImageInfoArray\":[{\"URL\":7}]}") "]", IMC_E_MSG_BODY, "ImageInfoArray[0]: URL must be a string" },
  { "[" EL("TIMImageElem", "{\"ImageFormat\":1,\"ImageInfoArray\":[1]}") "]", IMC_E_MSG_BODY, "ImageInfoArray[0] must be an object" },
  { "[" EL("TIMImageElem", "{\"UUID\":1}") "]", IMC_E_MSG_BODY, "UUID must be a string" },
  { "[" EL("TIMImageElem", "{\"Pixels\":1}") "]", IMC_E_MSG_BODY, "unknown field Pixels" },
  /* file */
  { "[" EL("TIMFileElem", "{\"Url\":\"u\"}") "]", IMC_E_MSG_BODY, "Download_Flag is required" },
  { "[" EL("TIMFileElem", "{\"Url\":\"u\",\"FileSize\":0,\"Download_Flag\":0}") "]", IMC_E_MSG_BODY,
    "Download_Flag is required (0: not given)" },
  { "[" EL("TIMFileElem", "{\"Url\":\"u\",\"FileSize\":\"9\",\"Download_Flag\":2}") "]", IMC_E_MSG_BODY, "FileSize must be an integer" },
  { "[" EL("TIMFileElem", "{\"Url\":7,\"Download_Flag\":2}") "]", IMC_E_MSG_BODY, "Url must be a string" },
  /* video */
  { "[" EL("TIMVideoFileElem", "{\"VideoUrl\":\"v\",\"VideoSize\":1,\"VideoSecond\":2,\"VideoFormat\":\"mp4\","
                               "\"VideoDownloadFlag\":1,\"ThumbUrl\":\"t\",\"ThumbSize\":1,\"ThumbWidth\":2,\"ThumbHeight\":3,"
                               "\"ThumbFormat\":\"jpg\",\"ThumbDownloadFlag\":2}") "]", IMC_E_MSG_BODY, "VideoDownloadFlag=1" },
  { "[" EL("TIMVideoFileElem", "{\"VideoUrl\":\"v\",\"ThumbDownloadFlag\":2}") "]", IMC_E_MSG_BODY,
    "VideoDownloadFlag is required" },
  { "[" EL("TIMVideoFileElem", "{\"VideoDownloadFlag\":2}") "]", IMC_E_MSG_BODY, "ThumbDownloadFlag is required" },
  { "[" EL("TIMVideoFileElem", "{\"VideoDownloadFlag\":2,\"ThumbDownloadFlag\":2,\"VideoSize\":\"1\"}") "]",
    IMC_E_MSG_BODY, "VideoSize must be an integer" },
  /* relay */
  { "[" EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1}") "]", IMC_E_MSG_BODY, "MsgList or JsonMsgKey is required" },
  { "[" EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"AbstractList\":[1]}") "]", IMC_E_MSG_BODY, "AbstractList[0]" },
  { "[" EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":1,"
                           "\"MsgBody\":[]}]}") "]", IMC_E_MSG_BODY, "non-empty array" },
  { "[" EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":1,"
                           "\"MsgBody\":[" EL("TIMTextElem", "{}") "]}]}") "]", IMC_E_MSG_BODY, "Text is required" },
  { "[" EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":1,\"MsgBody\":["
        EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":1,\"MsgBody\":["
           EL("TIMRelayElem", "{\"Title\":\"t\",\"MsgNum\":1,\"JsonMsgKey\":\"k\",\"MsgList\":[]}") "]}]}") "]}]}") "]",
    IMC_E_MSG_BODY, "nest at most" },
};

static void test_invalid_elements(void **st)
{
  (void)st;
  char why[256];
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    int rc = check(invalid[i].body, why, sizeof why);
    if (rc != invalid[i].code) fail_msg("row %zu: expected %s, got %s (%s)", i, imc_err_name(invalid[i].code), imc_err_name(rc), why);
    if (!strstr(why, invalid[i].why)) fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, why, invalid[i].why);
    assert_int_equal(check(invalid[i].body, NULL, 0), invalid[i].code); /* cap 0 is allowed */
  }
}

static void test_push_info(void **st)
{
  (void)st;
  char why[256];
  static const struct { const char *info; int ok; } rows[] = {
    { "{}", 1 },
    { "{\"PushFlag\":1,\"Title\":\"t\",\"Desc\":\"d\",\"Ext\":\"{}\",\"AndroidInfo\":{\"Sound\":\"s\",\"HuaWeiChannelID\":\"h\","
      "\"XiaoMiChannelID\":\"x\",\"OPPOChannelID\":\"o\",\"GoogleChannelID\":\"g\",\"VIVOClassification\":1,"
      "\"HuaWeiImportance\":\"NORMAL\",\"ExtAsHuaweiIntentParam\":1,\"HuaWeiCategory\":\"IM\"},"
      "\"ApnsInfo\":{\"BadgeMode\":1,\"Title\":\"t\",\"SubTitle\":\"s\",\"Image\":\"i\",\"MutableContent\":1,\"Sound\":\"x\"}}", 1 },
    { "[]", 0 },
    { "{\"PushFlag\":2}", 0 },
    { "{\"Desc\":1}", 0 },
    { "{\"AndroidInfo\":[]}", 0 },
    { "{\"ApnsInfo\":{\"BadgeMode\":3}}", 0 },
    { "{\"Unknown\":1}", 0 },
    /* vendor settings the tables do not name: strings and integers kept, nothing else */
    { "{\"AndroidInfo\":{\"VIVOCategory\":\"IM\",\"OPPOCategory\":\"IM\",\"HonorImportance\":\"NORMAL\","
      "\"MeiZuNoticeMsgType\":1,\"OPPONotifyLevel\":-2},\"ApnsInfo\":{\"InterruptionLevel\":\"active\"}}", 1 },
    { "{\"AndroidInfo\":{\"VIVOCategory\":{}}}", 0 },
    { "{\"AndroidInfo\":{\"OPPOCategory\":[\"IM\"]}}", 0 },
    { "{\"ApnsInfo\":{\"Level\":1.5}}", 0 },
    { "{\"ApnsInfo\":{\"Level\":null}}", 0 },
    { "{\"ApnsInfo\":{\"BadgeMode\":\"1\"}}", 0 },
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    json_t *v = json_loads(rows[i].info, JSON_DECODE_ANY, NULL);
    int rc = im_push_info_check(v, why, sizeof why);
    json_decref(v);
    if (rows[i].ok ? rc != 0 : rc != IMC_E_MSG_PUSH_INFO) fail_msg("row %zu: %s (%s)", i, imc_err_name(rc), why);
  }
  assert_int_equal(im_push_info_check(NULL, why, sizeof why), 0);
  /* Desc + Ext over 3072 bytes */
  char *big = malloc(4000);
  memset(big, 'x', 3000);
  big[3000] = 0;
  json_t *v = json_pack("{s:s,s:s}", "Desc", big, "Ext", "0123456789012345678901234567890123456789012345678901234567890123456789012345");
  assert_int_equal(im_push_info_check(v, why, sizeof why), IMC_E_MSG_PUSH_INFO);
  assert_non_null(strstr(why, "Desc + Ext"));
  json_decref(v);
  free(big);
}

static void test_pack(void **st)
{
  (void)st;
  char why[256], *out = NULL;
  size_t len = 0;
  json_t *body = json_loads("[" EL("TIMTextElem", "{\"Text\":\"hi\"}") "]", 0, NULL);
  json_t *cc = json_string("c"), *push = json_loads("{\"Desc\":\"d\"}", 0, NULL), *bad = json_integer(1);
  assert_int_equal(im_msg_pack(body, cc, push, 12288, &out, &len, why, sizeof why), 0);
  assert_string_equal(out, "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"hi\"}}],"
                           "\"CloudCustomData\":\"c\",\"OfflinePushInfo\":{\"Desc\":\"d\"}}");
  assert_int_equal(len, strlen(out));
  free(out);
  assert_int_equal(im_msg_pack(body, NULL, NULL, 12288, &out, &len, why, sizeof why), 0);
  assert_string_equal(out, "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"hi\"}}]}");
  /* exactly at the limit is accepted, one byte less is 93000 */
  size_t exact = strlen(out);
  free(out);
  assert_int_equal(im_msg_pack(body, NULL, NULL, exact, &out, &len, why, sizeof why), 0);
  free(out);
  assert_int_equal(im_msg_pack(body, NULL, NULL, exact - 1, &out, &len, why, sizeof why), IMC_E_MSG_TOO_BIG);
  assert_int_equal(im_msg_pack(body, bad, NULL, 12288, &out, &len, why, sizeof why), IMC_E_MSG_JSON);
  assert_int_equal(im_msg_pack(body, NULL, bad, 12288, &out, &len, why, sizeof why), IMC_E_MSG_PUSH_INFO);
  assert_int_equal(im_msg_pack(NULL, NULL, NULL, 12288, &out, &len, why, sizeof why), IMC_E_MSG_BODY_NOT_ARRAY);
  /* the packed text is json_dumps(…, JSON_COMPACT) of the three parts, byte
   * for byte, reals included (im_msg_pack writes it without jansson's dump) */
  json_t *loc = json_loads("[" EL("TIMLocationElem", "{\"Desc\":\"\\u00e9\\t\\\"\",\"Latitude\":-33.86881999999999,"
                           "\"Longitude\":1e-7}") "," EL("TIMFaceElem", "{\"Index\":3,\"Data\":\"\\u0001\"}") "]", 0, NULL);
  assert_non_null(loc);
  json_t *o = json_pack("{s:O,s:O,s:O}", "MsgBody", loc, "CloudCustomData", cc, "OfflinePushInfo", push);
  char *want = json_dumps(o, JSON_COMPACT);
  assert_int_equal(im_msg_pack(loc, cc, push, 12288, &out, &len, why, sizeof why), 0);
  assert_string_equal(out, want);
  assert_non_null(strstr(out, "e-8}")); /* the exponent as jansson writes it: no "+", no leading zero */
  free(out);
  free(want);
  json_decref(o);
  json_decref(loc);
  json_decref(body);
  json_decref(cc);
  json_decref(push);
  json_decref(bad);
}

/* ---- im_msg_pack_tok against im_msg_pack ------------------------------------------
 * A request text {"MsgBody":…,"CloudCustomData":…,"OfflinePushInfo":…} read
 * both ways: whenever the token walker accepts, jansson's accepts too and
 * packs the same bytes; whenever jansson's accepts, the token walker accepts
 * too, relay elements included (it is the fast path, not a second opinion).
 * Returns im_msg_pack's code, -1 if the text is not JSON. */
#define TOK_CAP 4096
static jsonr_tok_t toks[TOK_CAP];

static int pack_both(const char *text, size_t n, size_t max_bytes)
{
  json_t *req = json_loadb(text, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
  jsonr_doc_t d;
  int prc = jsonr_parse(&d, text, n, toks, TOK_CAP);
  if (!req) { assert_int_not_equal(prc, JSONR_OK); return -1; }
  if (prc == JSONR_LIMIT) { json_decref(req); return -1; }
  assert_int_equal(prc, JSONR_OK);
  int obj = json_is_object(req);
  json_t *body = obj ? json_object_get(req, "MsgBody") : NULL, *cc = obj ? json_object_get(req, "CloudCustomData") : NULL;
  json_t *push = obj ? json_object_get(req, "OfflinePushInfo") : NULL;
  char why[256], *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0;
  int rc = im_msg_pack(body, cc, push, max_bytes, &a, &alen, why, sizeof why);
  int trc = im_msg_pack_tok(&d, jsonr_get(&d, 0, "MsgBody"), jsonr_get(&d, 0, "CloudCustomData"),
                            jsonr_get(&d, 0, "OfflinePushInfo"), max_bytes, &b, &blen);
  if (!trc && rc) fail_msg("token walker accepts what im_msg_pack refuses (%s: %s): %.*s", imc_err_name(rc), why, (int)n, text);
  if (!rc && trc)
    fail_msg("token walker refuses what im_msg_pack accepts: %.*s", (int)n, text);
  if (!rc && !trc && (alen != blen || memcmp(a, b, alen))) fail_msg("packed differently: %s vs %s", a, b);
  free(a);
  free(b);
  json_decref(req);
  return rc;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n)
{
  rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
  return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

static void test_pack_tok(void **st)
{
  (void)st;
  static const char *const extras[] = {
    "", ",\"CloudCustomData\":\"c\\u00e9\\/\"", ",\"CloudCustomData\":1", ",\"OfflinePushInfo\":{\"Desc\":\"d\\n\",\"Ext\":\"e\"}",
    ",\"OfflinePushInfo\":{\"PushFlag\":1,\"AndroidInfo\":{\"VIVOClassification\":1},\"ApnsInfo\":{\"BadgeMode\":0}}",
    ",\"OfflinePushInfo\":{\"PushFlag\":2}", ",\"OfflinePushInfo\":[]",
    ",\"OfflinePushInfo\":{\"AndroidInfo\":{\"VIVOCategory\":\"IM\",\"MeiZuNoticeMsgType\":1},\"ApnsInfo\":{\"X\":\"y\"}}",
    ",\"OfflinePushInfo\":{\"AndroidInfo\":{\"VIVOCategory\":true}}", ",\"OfflinePushInfo\":{\"ApnsInfo\":{\"X\":[]}}",
  };
  static const char *const texts[] = { "\"hello\"", "\"\\u0041\\ud83d\\ude00\\t\\\"\"", "\"\xe4\xb8\x87\x7f\"", "\"\"", "1",
                                       "-0", "1.5e3", "null", "true", "[\"a\"]" };
  char doc[16384];
  size_t accepted = 0, refused = 0;
  /* every valid element alone, with each extra; every invalid body */
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
    for (size_t e = 0; e < sizeof extras / sizeof extras[0]; e++) {
      int n = snprintf(doc, sizeof doc, "{\"MsgBody\":[%s]%s}", valid[i], extras[e]);
      pack_both(doc, (size_t)n, 12288) ? refused++ : accepted++;
    }
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    int n = snprintf(doc, sizeof doc, "{\"MsgBody\":%s}", invalid[i].body);
    assert_int_equal(pack_both(doc, (size_t)n, 12288), invalid[i].code);
  }
  /* the size limit: exactly at it, one byte under */
  const char *hi = "{\"MsgBody\":[" EL("TIMTextElem", "{\"Text\":\"hi\\u0021\"}") "]}";
  size_t exact = strlen("{\"MsgBody\":[" EL("TIMTextElem", "{\"Text\":\"hi!\"}") "]}");
  assert_int_equal(pack_both(hi, strlen(hi), exact), 0);
  assert_int_equal(pack_both(hi, strlen(hi), exact - 1), IMC_E_MSG_TOO_BIG);
  /* OfflinePushInfo Desc + Ext: 3072 bytes decoded (escapes count once) accepted, 3073 refused */
  for (int over = 0; over < 2; over++) {
    size_t n = (size_t)snprintf(doc, sizeof doc, "{\"MsgBody\":[" EL("TIMTextElem", "{\"Text\":\"t\"}") "],"
                                "\"OfflinePushInfo\":{\"Ext\":\"\\u00e9\",\"Desc\":\"");
    for (int i = 0; i < 3070 + over; i++) doc[n++] = 'x';
    n += (size_t)snprintf(doc + n, sizeof doc - n, "\"}}");
    assert_int_equal(pack_both(doc, n, 12288), over ? IMC_E_MSG_PUSH_INFO : 0);
  }
  /* random bodies of 1-3 elements, then random byte mutations of each */
  static const char alphabet[] = "{}[],:\"\\0123456789-.eEtrufalsn xMsgTypeContentTextData";
  for (int round = 0; round < 20000; round++) {
    size_t n = (size_t)snprintf(doc, sizeof doc, "{\"MsgBody\":[");
    for (uint32_t k = 0, m = 1 + rnd(3); k < m; k++) {
      const char *el = valid[rnd(sizeof valid / sizeof valid[0])];
      if (rnd(3) == 0) { /* a text element with another value */
        char tmp[256];
        snprintf(tmp, sizeof tmp, EL("TIMTextElem", "{\"Text\":%s}"), texts[rnd(sizeof texts / sizeof texts[0])]);
        n += (size_t)snprintf(doc + n, sizeof doc - n, "%s%s", k ? "," : "", tmp);
      } else {
        n += (size_t)snprintf(doc + n, sizeof doc - n, "%s%s", k ? "," : "", el);
      }
    }
    n += (size_t)snprintf(doc + n, sizeof doc - n, "]%s}", extras[rnd(sizeof extras / sizeof extras[0])]);
    pack_both(doc, n, 12288) ? refused++ : accepted++;
    for (uint32_t k = 0, m = 1 + rnd(2); k < m; k++) {
      size_t at = rnd((uint32_t)n);
      if (rnd(2)) doc[at] = alphabet[rnd(sizeof alphabet - 1)];
      else { memmove(doc + at, doc + at + 1, n - at - 1); n--; }
    }
    pack_both(doc, n, 12288) ? refused++ : accepted++;
  }
  print_message("pack_tok: %zu accepted, %zu refused or not JSON\n", accepted, refused);
  assert_true(accepted > 5000 && refused > 10000);
}

/* ---- null members: "not given" (decisions §63, §110) -------------------------------
 * The front ends drop a request's null members (jsonnull_drop_keys with
 * im_msg_optional_objects) before this module sees the tree: each row, every
 * optional field of its element type null, then packs to exactly the bytes
 * of the row without them. The token walker (the WebSocket send's fast path,
 * which reads the frame as sent) refuses every row, so such a frame goes the
 * general path, which drops the nulls: a null is never packed. Undropped, a
 * null is the wrong type here (the module takes trees without nulls). */
static void test_nulls(void **st)
{
  (void)st;
  static const struct { const char *with, *clean; } rows[] = {
    { EL("TIMLocationElem", "{\"Desc\":null,\"Latitude\":1,\"Longitude\":2}"), EL("TIMLocationElem", "{\"Latitude\":1,\"Longitude\":2}") },
    { EL("TIMFaceElem", "{\"Index\":null,\"Data\":null}"), EL("TIMFaceElem", "{}") },
    { EL("TIMCustomElem", "{\"Data\":\"d\",\"Desc\":null,\"Ext\":null,\"Sound\":null}"), EL("TIMCustomElem", "{\"Data\":\"d\"}") },
    { EL("TIMSoundElem", "{\"Url\":\"u\",\"UUID\":null,\"Size\":null,\"Second\":null,\"Download_Flag\":2}"),
      EL("TIMSoundElem", "{\"Url\":\"u\",\"Download_Flag\":2}") },
    /* a Go nil slice (§104's note) */
    { EL("TIMImageElem", "{\"UUID\":\"i\",\"ImageFormat\":null,\"ImageInfoArray\":null}"), EL("TIMImageElem", "{\"UUID\":\"i\"}") },
    { EL("TIMImageElem", "{\"ImageInfoArray\":[{\"Type\":null,\"Size\":null,\"Width\":null,\"Height\":null,\"URL\":\"x\"}]}"),
      EL("TIMImageElem", "{\"ImageInfoArray\":[{\"URL\":\"x\"}]}") },
    { EL("TIMFileElem", "{\"Url\":null,\"UUID\":null,\"FileSize\":null,\"FileName\":null,\"fileName\":null,\"Download_Flag\":2}"),
      EL("TIMFileElem", "{\"Download_Flag\":2}") },
    { EL("TIMVideoFileElem", "{\"VideoUrl\":null,\"VideoUUID\":null,\"VideoSize\":null,\"VideoSecond\":null,\"VideoFormat\":null,"
                             "\"VideoDownloadFlag\":2,\"ThumbUrl\":null,\"ThumbUUID\":null,\"ThumbSize\":null,\"ThumbWidth\":null,"
                             "\"ThumbHeight\":null,\"ThumbFormat\":null,\"ThumbDownloadFlag\":2}"),
      EL("TIMVideoFileElem", "{\"VideoDownloadFlag\":2,\"ThumbDownloadFlag\":2}") },
    { EL("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1,\"CompatibleText\":null,\"AbstractList\":null,\"JsonMsgKey\":null,"
                         "\"MsgList\":[{\"From_Account\":\"a\",\"To_Account\":null,\"GroupId\":null,\"MsgSeq\":null,"
                         "\"MsgRandom\":null,\"MsgTimeStamp\":1,\"CloudCustomData\":null,\"MsgBody\":["
                         EL("TIMFaceElem", "{\"Index\":null,\"Data\":\"f\"}") "]}]}"),
      EL("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":1,\"MsgBody\":["
                         EL("TIMFaceElem", "{\"Data\":\"f\"}") "]}]}") },
  };
  static const struct { const char *with, *clean; } tops[] = {
    { ",\"CloudCustomData\":null,\"OfflinePushInfo\":null", "" },
    { ",\"OfflinePushInfo\":{\"PushFlag\":null,\"Title\":\"t\",\"AndroidInfo\":{\"Sound\":null},\"ApnsInfo\":null}",
      ",\"OfflinePushInfo\":{\"Title\":\"t\"}" },
  };
  char with[4096], clean[4096], why[256];
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    for (size_t k = 0; k < sizeof tops / sizeof tops[0]; k++) {
      int wn = snprintf(with, sizeof with, "{\"MsgBody\":[%s]%s}", rows[i].with, tops[k].with);
      snprintf(clean, sizeof clean, "{\"MsgBody\":[%s]%s}", rows[i].clean, tops[k].clean);
      jsonr_doc_t d;
      char *a = NULL, *b = NULL;
      size_t alen = 0, blen = 0;
      assert_int_equal(jsonr_parse(&d, with, (size_t)wn, toks, TOK_CAP), JSONR_OK);
      if (!im_msg_pack_tok(&d, jsonr_get(&d, 0, "MsgBody"), jsonr_get(&d, 0, "CloudCustomData"),
                           jsonr_get(&d, 0, "OfflinePushInfo"), 12288, &a, &alen))
        fail_msg("row %zu/%zu: the token walker packed a null: %s", i, k, a);
      json_t *w = json_loads(with, 0, NULL), *c = json_loads(clean, 0, NULL);
      assert_non_null(w);
      assert_non_null(c);
      if (!im_msg_pack(json_object_get(w, "MsgBody"), json_object_get(w, "CloudCustomData"),
                       json_object_get(w, "OfflinePushInfo"), 12288, &a, &alen, why, sizeof why))
        fail_msg("row %zu/%zu: a null taken undropped: %s", i, k, a);
      jsonnull_drop_keys(w, im_msg_optional_objects);
      if (im_msg_pack(json_object_get(w, "MsgBody"), json_object_get(w, "CloudCustomData"),
                      json_object_get(w, "OfflinePushInfo"), 12288, &a, &alen, why, sizeof why))
        fail_msg("row %zu/%zu refused with its nulls dropped: %s", i, k, why);
      assert_int_equal(im_msg_pack(json_object_get(c, "MsgBody"), json_object_get(c, "CloudCustomData"),
                                   json_object_get(c, "OfflinePushInfo"), 12288, &b, &blen, why, sizeof why), 0);
      if (alen != blen || memcmp(a, b, alen)) fail_msg("row %zu/%zu packed %s, without the nulls %s", i, k, a, b);
      free(a);
      free(b);
      json_decref(w);
      json_decref(c);
    }
  /* a required field null: dropped, it is refused as the field left out, with the same reason */
  static const char *const req_null[][2] = {
    { EL("TIMTextElem", "{\"Text\":null}"), EL("TIMTextElem", "{}") },
    { EL("TIMSoundElem", "{\"Url\":\"u\",\"Download_Flag\":null}"), EL("TIMSoundElem", "{\"Url\":\"u\"}") },
    { EL("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1,\"MsgList\":null,\"JsonMsgKey\":null}"), EL("TIMRelayElem", "{\"Title\":\"r\",\"MsgNum\":1}") },
  };
  for (size_t i = 0; i < sizeof req_null / sizeof req_null[0]; i++) {
    char why2[256];
    snprintf(with, sizeof with, "[%s]", req_null[i][0]);
    snprintf(clean, sizeof clean, "[%s]", req_null[i][1]);
    json_t *w = json_loads(with, 0, NULL), *c = json_loads(clean, 0, NULL);
    jsonnull_drop_keys(w, im_msg_optional_objects);
    assert_int_equal(im_msgbody_check(w, why, sizeof why), IMC_E_MSG_BODY);
    assert_int_equal(im_msgbody_check(c, why2, sizeof why2), IMC_E_MSG_BODY);
    assert_string_equal(why, why2);
    json_decref(w);
    json_decref(c);
  }
}

/* The packed text copied from the input when it is already jansson's
 * (tok_copy): compact bodies whose last value is an empty array or object, or
 * closes several containers at once, as body, CloudCustomData and
 * OfflinePushInfo; and each of them with one space put between two tokens at
 * every place (the copy must not be taken then), with an escaped string, a
 * real and a -0 (which jansson rewrites). */
static void test_pack_tok_copy(void **st)
{
  (void)st;
  static const char *const docs[] = {
    "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"hi\"}}]}",
    "{\"MsgBody\":[{\"MsgType\":\"TIMRelayElem\",\"MsgContent\":{\"Title\":\"t\",\"MsgNum\":0,\"AbstractList\":[],"
    "\"JsonMsgKey\":\"k\"}},{\"MsgType\":\"TIMRelayElem\",\"MsgContent\":{\"Title\":\"t\",\"MsgNum\":1,"
    "\"JsonMsgKey\":\"k\",\"MsgList\":[]}}]}",
    "{\"MsgBody\":[{\"MsgType\":\"TIMFaceElem\",\"MsgContent\":{\"Index\":7}}],\"CloudCustomData\":\"c\","
    "\"OfflinePushInfo\":{\"PushFlag\":0,\"AndroidInfo\":{}}}",
    "{\"MsgBody\":[{\"MsgType\":\"TIMLocationElem\",\"MsgContent\":{\"Latitude\":1,\"Longitude\":-2}}],"
    "\"OfflinePushInfo\":{\"ApnsInfo\":{\"Sound\":\"s\"}}}",
    "{\"MsgBody\":[{\"MsgType\":\"TIMLocationElem\",\"MsgContent\":{\"Latitude\":1.5,\"Longitude\":-0}}]}",
    "{\"MsgBody\":[{\"MsgType\":\"TIMFaceElem\",\"MsgContent\":{\"Index\":-0}}]}",
    "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"\\u0041\\/\"}}],\"CloudCustomData\":\"\\n\"}",
    "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Te\\u0078t\":\"x\"}}]}",
    "{\"MsgBody\":[{\"MsgType\":\"TIMRelayElem\",\"MsgContent\":{\"Title\":\"t\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":"
    "\"a\",\"MsgTimeStamp\":1,\"MsgBody\":[{\"MsgType\":\"TIMLocationElem\",\"MsgContent\":{\"Latitude\":0,"
    "\"Longitude\":1e0}}]}]}}]}",
  };
  char doc[1024];
  size_t accepted = 0;
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    size_t n = strlen(docs[i]);
    accepted += pack_both(docs[i], n, 12288) == 0;
    for (size_t at = 1; at < n; at++) { /* a space before byte at, where JSON allows one (outside strings) */
      memcpy(doc, docs[i], at);
      doc[at] = ' ';
      memcpy(doc + at + 1, docs[i] + at, n - at);
      pack_both(doc, n + 1, 12288);
    }
  }
  assert_int_equal(accepted, sizeof docs / sizeof docs[0]);
}

static void test_msg_key(void **st)
{
  (void)st;
  char buf[64];
  uint32_t a, b;
  int64_t t;
  im_msg_key(549396494, 2578554, 1584669680, buf, sizeof buf);
  assert_string_equal(buf, "549396494_2578554_1584669680"); /* the reference's sample */
  assert_int_equal(im_msg_key_parse(buf, &a, &b, &t), 0);
  assert_int_equal(a, 549396494);
  assert_int_equal(b, 2578554);
  assert_int_equal(t, 1584669680);
  im_msg_key(UINT32_MAX, 0, 0, buf, sizeof buf);
  assert_int_equal(im_msg_key_parse(buf, &a, &b, &t), 0);
  assert_int_equal(a, UINT32_MAX);
  static const char *const bad[] = { "", "1_2", "1_2_", "_1_2", "1_2_3_4", "a_2_3", "4294967296_1_1", "1_-2_3", "1_2_3 ",
                                     "1__3", NULL };
  for (int i = 0; bad[i]; i++)
    if (im_msg_key_parse(bad[i], &a, &b, &t) != IMC_E_MSG_KEY) fail_msg("accepted %s", bad[i]);
  assert_int_equal(im_msg_key_parse(NULL, &a, &b, &t), IMC_E_MSG_KEY);
}

/* im_msg_merge: the members given replace the stored ones; a stored body that does not parse (or none) is replaced
 * whole by a modify with MsgBody and refuses one without it (IMC_E_MSG_DAMAGED, §90). */
static void test_merge(void **st)
{
  (void)st;
  static const char *const body = "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"b\"}}]}";
  static const char *const cloud = "{\"CloudCustomData\":\"c2\"}";
  static const char *const stored = "{\"MsgBody\":[],\"CloudCustomData\":\"c1\",\"OfflinePushInfo\":{\"PushFlag\":1}}";
  static const char *const damaged[] = { "{\"MsgBody\":[{\"MsgTy", "[1,2]", "\"s\"", "" };
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(im_msg_merge(stored, strlen(stored), cloud, strlen(cloud), 4096, &out, &len), 0);
  assert_string_equal(out, "{\"MsgBody\":[],\"CloudCustomData\":\"c2\",\"OfflinePushInfo\":{\"PushFlag\":1}}");
  assert_int_equal(len, strlen(out));
  free(out);
  for (size_t i = 0; i < sizeof damaged / sizeof *damaged; i++) {
    out = NULL;
    assert_int_equal(im_msg_merge(damaged[i], strlen(damaged[i]), body, strlen(body), 4096, &out, &len), 0);
    assert_string_equal(out, body);
    free(out);
    out = NULL;
    assert_int_equal(im_msg_merge(damaged[i], strlen(damaged[i]), cloud, strlen(cloud), 4096, &out, &len),
                     IMC_E_MSG_DAMAGED);
    assert_null(out);
  }
  assert_int_equal(imc_err_compat(IMC_E_MSG_DAMAGED), 90007);
  assert_int_equal(im_msg_merge(damaged[0], strlen(damaged[0]), body, strlen(body), 10, &out, &len), IMC_E_MSG_TOO_BIG);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_valid_elements),
    cmocka_unit_test(test_invalid_elements),
    cmocka_unit_test(test_push_info),
    cmocka_unit_test(test_pack),
    cmocka_unit_test(test_pack_tok),
    cmocka_unit_test(test_pack_tok_copy),
    cmocka_unit_test(test_nulls),
    cmocka_unit_test(test_msg_key),
    cmocka_unit_test(test_merge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
