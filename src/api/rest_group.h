/* rest_group.h — what the REST group files share (rest_group.c: groups and
 * members; rest_group_msg.c: messages; ws_group.c, ws_group_push.c: the WebSocket side):
 * request-field readers and the group profile as JSON. Loop thread. */
#ifndef IMC_API_REST_GROUP_H
#define IMC_API_REST_GROUP_H

#include "api/api_int.h"

/* Request-shape caps of rest-api-reference §2.4 (not edition limits; where
 * the reference gives two numbers, docs/decisions/groups.md says which). */
#define GRP_CREATE_MEMBERS_MAX 100
#define GRP_ADD_MEMBERS_MAX 300
#define GRP_DELETE_MEMBERS_MAX 500
#define GRP_IMPORT_MEMBERS_MAX 300
#define GRP_MUTE_MEMBERS_MAX 500
#define GRP_ROLE_USERS_MAX 500
#define GRP_INFO_IDS_MAX 50
#define GRP_APP_LIST_MAX 10000
#define GRP_JOINED_LIST_MAX 5000
#define GRP_MEMBER_PAGE_MAX 6000
#define GRP_HISTORY_PAGE_MAX 20
#define GRP_RECALL_MAX 10
#define GRP_IMPORT_MSGS_MAX 20
#define GRP_NOTIFY_TARGETS_MAX 500
#define GRP_APPLICATIONS_PAGE_MAX 100 /* WebSocket group_applications: applications per page */

/* body[name] as a GroupId string: 0 or IMC_E_GROUP_PARAM. */
int grp_req_id(json_t *body, const char *name, const char **out);
/* The fields a command of the reference takes for community topics, which
 * imcloud does not have yet (docs/decisions/groups.md §1): TopicId, refused
 * with 10004 by rest_fields_req rather than acting on the whole group. */
extern const rest_field_t grp_no_topic[];
/* An imported account (a string naming one): 0 and *no, or IMC_E_GROUP_USER. */
int grp_req_account(api_srv_t *srv, uint32_t sdkappid, json_t *v, uint32_t *no);
/* To_Account (REST) / to (WebSocket) of a group send: the edition gate
 * (10059), then 1..50 imported accounts into in->to (backed by to, the
 * caller's array of STORE_GMSG_TARGETS_MAX) and in->to_json (= *to_json,
 * malloc'd: free it after im_group_send). 0 or the refusal with why. */
int grp_req_targets(api_srv_t *srv, uint32_t sdkappid, json_t *list, uint32_t *to, im_gsend_t *in, char **to_json,
                    char *why, size_t cap);
/* The group profile as the reference's fields (filter: array of field
 * names to keep, NULL = all). keys (AppDefinedDataFilter_Group): NULL, or
 * an array of AppDefinedData keys: only those are returned, whatever the
 * filter says of AppDefinedData (which is left out when none is set). A new
 * object, caller owns, or NULL when any member could not be made (out of
 * memory: never one with a member left out, §84); filter and keys are only
 * read. */
json_t *grp_json(api_srv_t *srv, const im_group_t *g, const json_t *filter, const json_t *keys);
/* The member cap in force of a group (0 = unlimited): the lower of its own MaxMemberNum (a live room:
 * that alone) and the edition's members per group now; without its own, the edition's (P-17: at most
 * the big-group floor). */
int64_t grp_max_members(api_srv_t *srv, const im_group_t *g);
/* A member row as the reference's fields (filter as above; keys:
 * AppDefinedDataFilter_GroupMember, the AppMemberDefinedData keys to
 * return, as keys of grp_json). A new object, caller owns, or NULL as
 * grp_json's. */
json_t *grp_member_json(const store_grp_member_t *m, const json_t *filter, const json_t *keys);

#endif
