/* e2e_call.h — call(cmd, fmt, ...): a REST v4 command as the App admin on
 * the test file's own server and app, v4(srv.port, app, key, …) of
 * e2e_msg.h: the parsed reply, never NULL (a reply other than 200 fails the
 * test, naming the command); the caller decrefs. Include after e2e_msg.h in a file with file-scope `srv`
 * (e2e_server_t), `app` and `key` (as e2e_fixture.h declares them) and no
 * function of its own named call. A file with several apps says which one
 * with its own macro. Test-only. */
#ifndef IMC_TESTS_E2E_CALL_H
#define IMC_TESTS_E2E_CALL_H

#include "e2e_msg.h"

static inline json_t *e2e_call_reply(json_t *r, const char *cmd)
{
  if (!r) fail_msg("%s: no JSON reply with status 200", cmd);
  return r;
}

#define call(cmd, ...) e2e_call_reply(v4(srv.port, app, key, cmd, __VA_ARGS__), cmd)

#endif
