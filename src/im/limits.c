/* limits.c — see limits.h: the configured default, or the per-app answer
 * when the server installed one. */
#include "im/limits.h"

int64_t im_limit(const im_limits_t *defaults, uint32_t sdkappid, im_limit_t which)
{
  if ((unsigned)which >= IM_LIMIT__COUNT) return 0;
  int64_t v = defaults->v[which];
  return defaults->per_app ? defaults->per_app(defaults->ud, sdkappid, which, v) : v;
}

int im_limit_known(const im_limits_t *defaults, uint32_t sdkappid)
{
  return !defaults->per_app || !defaults->known || defaults->known(defaults->ud, sdkappid);
}

const char *im_limit_name(im_limit_t which)
{
  static const char *const names[IM_LIMIT__COUNT] = {
    "msg_max_bytes", "msg_retention_s", "msg_recent_kept", "msg_recall_window_s", "msg_dedupe_window_s",
    "msg_sync_page", "msg_recent_page", "msg_page_bytes", "msg_group_retention_s",
    "group_max_applications", "group_event_chunk",
  };
  return (unsigned)which < IM_LIMIT__COUNT ? names[which] : "";
}
