/* ws_kick.c — closing the sessions of a user, of an app, and the older
 * session of a platform when an app's edition allows one device per
 * platform (cws_kick_session, client_ws.c, closes each). Loop thread. */
#include "api/api_int.h"
#include "util/err.h"
#include "util/log.h"

#include <assert.h>
#include <stdlib.h>

void cws_kick_user(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no, const char *reason, int close_code)
{
  im_session_t *s;
  while ((s = im_presence_first(srv->presence, sdkappid, user_no))) {
    cws_conn_t *c = (cws_conn_t *)s;
    assert(cws_usable(c));
    cws_kick_session(srv, c, reason, close_code);
    assert(!s->linked); /* close_conn unlinked it: the loop advances */
  }
}

void cws_kick_app(api_srv_t *srv, uint32_t sdkappid, const char *reason, int close_code)
{
  uint32_t *users;
  size_t n;
  if (im_presence_app_users(srv->presence, sdkappid, &users, &n)) {
    IMC_ERROR("ws", "msg=\"cannot list the app's sessions to close them\" app=%u", sdkappid);
    return;
  }
  for (size_t i = 0; i < n; i++) cws_kick_user(srv, sdkappid, users[i], reason, close_code);
  free(users);
}

/* The older of two sessions of a user on one platform (the list is newest
 * first), NULL when each platform has one session. */
static im_session_t *older_on_platform(im_session_t *head)
{
  unsigned seen = 0;
  for (im_session_t *s = head; s; s = s->next) {
    if (seen & (1u << s->platform)) return s;
    seen |= 1u << s->platform;
  }
  return NULL;
}

void cws_app_facts_changed(api_srv_t *srv, uint32_t sdkappid, int multi_before)
{
  const tenant_app_t *app = tenant_registry_app(srv->reg, sdkappid);
  if (!app) return;
  int refusal = tenant_app_refusal(app);
  if (refusal) {
    cws_kick_app(srv, sdkappid, refusal == IMC_E_PLAN_EXPIRED ? "the app's package has expired" : "the app is suspended", 4005);
    return;
  }
  /* one device per platform from now on (plan facts not ready: refuse nothing on a guess) */
  if (!multi_before || !app->plan.ready || api_quota_multi_device(srv, app)) return;
  uint32_t *users;
  size_t n;
  if (im_presence_app_users(srv->presence, sdkappid, &users, &n)) {
    IMC_ERROR("ws", "msg=\"cannot list the app's sessions to apply one device per platform\" app=%u", sdkappid);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    im_session_t *s;
    while ((s = older_on_platform(im_presence_first(srv->presence, sdkappid, users[i])))) {
      assert(cws_usable((cws_conn_t *)s));
      cws_kick_session(srv, (cws_conn_t *)s, "the app's edition allows one device per platform", 4002);
      assert(!s->linked); /* close_conn unlinked it: the loop advances */
    }
  }
  free(users);
}
