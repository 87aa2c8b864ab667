/* limits.c — see limits.h. Today every app gets the configured defaults;
 * the editions catalog (src/plan/) will answer per app here. */
#include "im/limits.h"

int64_t im_limit(const im_limits_t *defaults, uint32_t sdkappid, im_limit_t which)
{
  (void)sdkappid;
  return (unsigned)which < IM_LIMIT__COUNT ? defaults->v[which] : 0;
}

const char *im_limit_name(im_limit_t which)
{
  static const char *const names[IM_LIMIT__COUNT] = {
    "msg_max_bytes", "msg_retention_s", "msg_recent_kept", "msg_recall_window_s", "msg_dedupe_window_s",
    "msg_sync_page", "msg_recent_page",
  };
  return (unsigned)which < IM_LIMIT__COUNT ? names[which] : "";
}
