/* msgbody.h — validation of a message's content (rest-api-reference §2.3):
 * MsgBody and its nine element types, CloudCustomData, OfflinePushInfo, and
 * the packed form stored with a message. Pure functions (no I/O, no clock),
 * used by every front end so that the same input gets the same code.
 *
 * Rules (one table row per field in msgbody.c):
 * - MsgBody is a non-empty array (else 90007) of at most IM_MSGBODY_MAX_ELEMS
 *   objects {"MsgType": string, "MsgContent": object}; any other shape, an
 *   unknown MsgType, an unknown or mistyped MsgContent field, a missing
 *   required field, a Download_Flag other than 2 on sound/file/video, or a
 *   second TIMCustomElem is 90002 (IMC_E_MSG_BODY).
 * - TIMRelayElem nests MsgList[].MsgBody, validated by the same rules, at
 *   most IM_MSGBODY_MAX_DEPTH relay levels deep.
 * - CloudCustomData must be a string (90001 IMC_E_MSG_JSON otherwise).
 * - OfflinePushInfo must match its documented shape (AndroidInfo and
 *   ApnsInfo also take unnamed vendor members that are strings or integers)
 *   and keep Desc + Ext within 3072 bytes (the APNs payload advice) (90043
 *   IMC_E_MSG_PUSH_INFO).
 * - The packed message (compact JSON of MsgBody, CloudCustomData and
 *   OfflinePushInfo) must fit max_bytes (93000 IMC_E_MSG_TOO_BIG).
 * Every failing check writes a one-line reason naming the element index and
 * field into why (cap bytes, may be 0).
 */
#ifndef IMC_IM_MSGBODY_H
#define IMC_IM_MSGBODY_H

#include "util/jsonr.h"

#include <jansson.h>
#include <stddef.h>

#define IM_MSGBODY_MAX_ELEMS 64
#define IM_MSGBODY_MAX_DEPTH 2
#define IM_PUSH_TEXT_MAX_BYTES 3072

/* The optional object fields of a message whose value, given with nothing
 * but null members, is absent (jsonnull_drop_keys; decisions §70): REST
 * OfflinePushInfo, the WebSocket's offline_push_info, and their AndroidInfo
 * and ApnsInfo. NULL-terminated. */
extern const char *const im_msg_optional_objects[];

/* Check a MsgBody value (NULL = absent → 90007). 0 or IMC_E_MSG_BODY_NOT_ARRAY / IMC_E_MSG_BODY. */
int im_msgbody_check(const json_t *body, char *why, size_t cap);
/* Check an OfflinePushInfo value (NULL = absent → 0). 0 or IMC_E_MSG_PUSH_INFO. */
int im_push_info_check(const json_t *info, char *why, size_t cap);

/* Validate body, cloud (CloudCustomData, may be NULL) and push (OfflinePushInfo,
 * may be NULL), then pack them into one compact JSON object text
 * {"MsgBody":…,"CloudCustomData":…,"OfflinePushInfo":…} (absent members
 * omitted) of at most max_bytes. On success *out is malloc'd (caller frees)
 * and *len its length. Errors: the codes above, IMC_E_MSG_TOO_BIG, IMC_E_NOMEM. */
int im_msg_pack(const json_t *body, const json_t *cloud, const json_t *push, size_t max_bytes, char **out,
                size_t *len, char *why, size_t cap);

/* A modification (modify_c2c_msg, modify_group_msg) replaces only the
 * members it names: old (a stored packed object) with those of fields (a
 * packed object of the members given) in their place, the others kept, in
 * im_msg_pack's member order, at most max_bytes (IMC_E_MSG_TOO_BIG). *out
 * malloc'd (caller frees). A stored body that does not parse (im_body_load:
 * damaged) or is empty has nothing to keep: fields replace it whole when
 * they hold MsgBody, else IMC_E_MSG_DAMAGED (90007; §90). IMC_E_NOMEM when
 * memory ran out (also while parsing old) or fields is not an object. */
int im_msg_merge(const char *old, size_t olen, const char *fields, size_t flen, size_t max_bytes, char **out,
                 size_t *len);

/* im_msg_pack on a jsonr document (the WebSocket send hot path): body,
 * cloud and push are token indices of d (JSONR_NONE = absent). 0 when the
 * message passes every rule above: *out (malloc'd, caller frees) and *len
 * are then exactly what im_msg_pack gives for the jansson values of those
 * tokens (TIMRelayElem included, nested bodies walked as im_msg_pack walks
 * them). IMC_E_INVAL when it does not, or when the message is over
 * max_bytes, or memory ran out: the caller then calls im_msg_pack on a
 * jansson tree of the same text for the exact code and reason. */
int im_msg_pack_tok(const jsonr_doc_t *d, uint32_t body, uint32_t cloud, uint32_t push, size_t max_bytes, char **out,
                    size_t *len);

#endif
