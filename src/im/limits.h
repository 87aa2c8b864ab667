/* limits.h — every number that bounds messaging, read through one call.
 *
 * im_limit() is the only place the messaging code asks for a limit: the
 * server-wide defaults come from the configuration (api/config.c rows
 * msg_*), and the editions catalog (src/plan/) decides per app once it is
 * wired in here. No limit literal appears elsewhere in src/im/ or src/api/
 * message code. Pure; any thread.
 */
#ifndef IMC_IM_LIMITS_H
#define IMC_IM_LIMITS_H

#include <stdint.h>

typedef enum {
  IM_LIMIT_MSG_MAX_BYTES,     /* packed message size (93000 beyond); default 12 KiB */
  IM_LIMIT_RETENTION_S,       /* history/sync/purge age; default 7 days */
  IM_LIMIT_RECENT_KEPT,       /* conversations kept per user; default 100 */
  IM_LIMIT_RECALL_WINDOW_S,   /* a user may recall own messages this long; default 120 s */
  IM_LIMIT_DEDUPE_WINDOW_S,   /* same sender, peer and MsgRandom = same message; default 300 s */
  IM_LIMIT_SYNC_PAGE,         /* events per sync page; default 100 */
  IM_LIMIT_RECENT_PAGE,       /* conversations per recentcontact/get_list page; default 100 */
  IM_LIMIT__COUNT
} im_limit_t;

typedef struct im_limits { int64_t v[IM_LIMIT__COUNT]; } im_limits_t; /* server-wide defaults */

/* The limit `which` for app sdkappid. */
int64_t im_limit(const im_limits_t *defaults, uint32_t sdkappid, im_limit_t which);
/* Name of a limit ("msg_max_bytes", …) for logs and docs. */
const char *im_limit_name(im_limit_t which);

#endif
