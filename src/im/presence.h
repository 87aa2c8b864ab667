/* presence.h — who is online, on which platforms, through which connections.
 *
 * The loop thread owns the registry (no locks). A session is a caller-
 * allocated im_session_t (embedded in the connection's state, so the hot path
 * does not allocate); the registry links it into its user's list. Users are
 * keyed by (sdkappid, user_no). Besides live sessions it remembers, per user,
 * until when a mobile device that disconnected without logging out counts as
 * "PushOnline" (rest-api-reference §2.1: kept 7 days after the last login).
 */
#ifndef IMC_IM_PRESENCE_H
#define IMC_IM_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  IM_PLAT_NONE = 0, IM_PLAT_IPHONE, IM_PLAT_ANDROID, IM_PLAT_WEB, IM_PLAT_PC,
  IM_PLAT_IPAD, IM_PLAT_MAC, IM_PLAT__COUNT
} im_platform_t;

/* "iPhone", "Android", "Web", "PC", "iPad", "Mac" → enum; IMC_E_WS_PLATFORM otherwise. */
int im_platform_parse(const char *name, im_platform_t *out);
/* Wire name of a platform; "" for IM_PLAT_NONE or out of range. */
const char *im_platform_name(im_platform_t p);

typedef struct im_session {
  struct im_session *next;   /* private: next session of the same user */
  void *conn;                /* owner's connection handle, opaque here */
  uint32_t sdkappid;
  uint32_t user_no;
  uint32_t device_hash;      /* hash of the device id */
  uint32_t sid;              /* set by im_presence_add: unique per login, for async completions */
  uint32_t cursor;           /* c2c.c: last inbox sequence delivered to this device */
  uint8_t platform;          /* im_platform_t */
  uint8_t linked;            /* private: 1 while in the registry */
  uint8_t live;              /* c2c.c: a sync completed; inbox events are pushed */
  uint8_t sync_busy;         /* c2c.c: a sync page is being read */
} im_session_t;

typedef enum { IM_STATUS_OFFLINE, IM_STATUS_PUSHONLINE, IM_STATUS_ONLINE } im_status_t;
const char *im_status_name(im_status_t s); /* "Offline", "PushOnline", "Online" */

typedef struct im_presence im_presence_t;

int im_presence_create(im_presence_t **out);
void im_presence_free(im_presence_t *p);

/* Link s (sdkappid, user_no, platform, conn set by the caller). Unless
 * multi_device is set, sessions of the same user on the same platform are
 * unlinked and returned through *displaced (a NULL-terminated chain through
 * ->next, at most IM_PLAT__COUNT long... in practice 0 or 1) so the caller
 * can kick them. 0 or IMC_E_NOMEM (s not linked). */
int im_presence_add(im_presence_t *p, im_session_t *s, int multi_device, im_session_t **displaced);
/* How many of the user's live sessions a login on (platform, device_hash)
 * would displace (im_presence_add's rule, without linking anything): 0 or 1
 * in practice. */
size_t im_presence_displaces(const im_presence_t *p, uint32_t sdkappid, uint32_t user_no, uint8_t platform,
                             uint32_t device_hash, int multi_device);
/* Unlink s (no-op if not linked). logout=0 means the connection dropped: a
 * mobile platform then stays PushOnline until now_s + push_keep_s. */
void im_presence_remove(im_presence_t *p, im_session_t *s, int logout, int64_t now_s, int64_t push_keep_s);
/* The linked session of a user with that sid, NULL if it is gone (the
 * check every asynchronous completion makes before touching a session). */
im_session_t *im_presence_find(const im_presence_t *p, uint32_t sdkappid, uint32_t user_no, uint32_t sid);
/* First live session of a user (iterate with ->next), NULL if none. */
im_session_t *im_presence_first(const im_presence_t *p, uint32_t sdkappid, uint32_t user_no);
/* Status of a user overall, and per platform in per_platform[IM_PLAT__COUNT]
 * (may be NULL). */
im_status_t im_presence_status(const im_presence_t *p, uint32_t sdkappid, uint32_t user_no, int64_t now_s,
                               im_status_t per_platform[IM_PLAT__COUNT]);
/* Forget everything about a user (account deleted); returns its live sessions
 * as a chain the caller must close. */
im_session_t *im_presence_forget(im_presence_t *p, uint32_t sdkappid, uint32_t user_no);
/* Drop users whose PushOnline windows all ended before now_s and who have no
 * live session (the server calls it periodically). Returns how many. */
size_t im_presence_sweep(im_presence_t *p, int64_t now_s);
/* 1 if a disconnect (not a logout) on platform p leaves a PushOnline window. */
int im_platform_mobile(im_platform_t p);
/* Restore a stored PushOnline window at startup: the user's platform p
 * counts as PushOnline until until_s (windows already over are ignored by
 * status and sweep alike). 0, IMC_E_INVAL (platform) or IMC_E_NOMEM. */
int im_presence_restore_push(im_presence_t *p, uint32_t sdkappid, uint32_t user_no, im_platform_t plat, int64_t until_s);
/* The users of one app with a live session (a malloc'd array the caller
 * frees; n = 0 and NULL when none): for closing a suspended app's sessions.
 * O(users online). 0 or IMC_E_NOMEM. */
int im_presence_app_users(const im_presence_t *p, uint32_t sdkappid, uint32_t **users, size_t *n);
/* Number of live sessions. */
size_t im_presence_count(const im_presence_t *p);

#endif
