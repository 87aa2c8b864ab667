/* limits.h — every number that bounds messaging, read through one call.
 *
 * im_limit() is the only place the messaging code asks for a limit: the
 * server-wide defaults come from the configuration (api/config.c rows
 * msg_*); the server plugs in a per-app answer (api/quota.c) through which
 * the editions catalog (src/plan/) sets retention and recent conversations
 * kept per app. No limit literal appears elsewhere in src/im/ or src/api/
 * message code. Loop thread (the per-app answer reads the registry).
 */
#ifndef IMC_IM_LIMITS_H
#define IMC_IM_LIMITS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  IM_LIMIT_MSG_MAX_BYTES,     /* packed message size (93000 beyond); default 12 KiB */
  IM_LIMIT_RETENTION_S,       /* history/sync/purge age: the edition's C2C history days; else config */
  IM_LIMIT_RECENT_KEPT,       /* conversations kept per user: the edition's; else config */
  IM_LIMIT_RECALL_WINDOW_S,   /* a user may recall own messages this long; default 120 s */
  IM_LIMIT_DEDUPE_WINDOW_S,   /* same sender, peer (group), MsgRandom and content = same message; default 300 s */
  IM_LIMIT_SYNC_PAGE,         /* events per sync page; default 100 */
  IM_LIMIT_RECENT_PAGE,       /* conversations per recentcontact/get_list page; default 100 */
  IM_LIMIT_PAGE_BYTES,        /* bytes of a sync or history page (im_page_ev_bytes per event; a page
                                 holds at least one event): a quarter of ws_max_queued_bytes */
  IM_LIMIT_GROUP_RETENTION_S, /* group history/sync/purge age: the edition's history days; else msg_retention_s */
  IM_LIMIT_GROUP_APPLICATIONS, /* applications waiting in one Public group (10014 beyond); default 500 */
  IM_LIMIT_GROUP_EVENT_CHUNK, /* inbox events one writer job appends for a group's dissolution; default 200 */
  IM_LIMIT__COUNT
} im_limit_t;

/* What one event carrying a message of body_len packed bytes counts
 * against IM_LIMIT_PAGE_BYTES: the body (a page re-encodes it as compactly
 * as it was packed) plus IM_PAGE_EV_FIXED_BYTES for the other fields
 * (identifiers, numbers, flags: far fewer). An event without a message
 * counts IM_PAGE_EV_FIXED_BYTES (body_len 0). */
#define IM_PAGE_EV_FIXED_BYTES 1024
static inline size_t im_page_ev_bytes(size_t body_len) { return body_len + IM_PAGE_EV_FIXED_BYTES; }

/* Server-wide defaults (v, from the configuration) and an optional per-app
 * answer: per_app(ud, app, which, default) returns the app's own value (its
 * edition's, through src/plan/) or the default. Called on the loop thread. */
typedef struct im_limits {
  int64_t v[IM_LIMIT__COUNT];
  int64_t (*per_app)(void *ud, uint32_t sdkappid, im_limit_t which, int64_t dflt);
  int (*known)(void *ud, uint32_t sdkappid); /* with per_app: 1 when it answers from the app's edition */
  void *ud;
} im_limits_t;

/* The limit `which` for app sdkappid. */
int64_t im_limit(const im_limits_t *defaults, uint32_t sdkappid, im_limit_t which);
/* 1 when the app's limits are its own (its edition is known, or no per-app
 * answer is installed: the configuration decides), 0 when im_limit falls
 * back on a default for want of the app's edition. What deletes data by a
 * limit (the retention pass, the conversation trim) asks first. */
int im_limit_known(const im_limits_t *defaults, uint32_t sdkappid);
/* Name of a limit ("msg_max_bytes", …) for logs and docs. */
const char *im_limit_name(im_limit_t which);

#endif
