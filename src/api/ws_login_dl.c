/* ws_login_dl.c — the login deadline of a client WebSocket (docs/protocol.md
 * "Login", close 4001; decision §77 in docs/decisions/messaging-c2c-checks2.md).
 * Loop thread only.
 *
 * A connection must send a login that succeeds within cfg->ws_login_timeout_ms
 * of its opening. When that deadline passes (net's wheel; a frame that waits
 * in the kernel then is read first, src/net/conn.c fire), a connection whose
 * login is pending — read, and waiting for its turn (ws_pace.c) or for its
 * writer job — is not closed: the client did all it was asked and the time
 * is the server's (a login storm, a slow disk); closing it makes it retry
 * and adds load. The hold is bounded: CWS_LOGIN_HOLD_PERIODS more login
 * timeouts from the deadline (4 × ws_login_timeout_ms from the opening for
 * a first login), so a login whose job never completes still ends (4001,
 * its own reason). A held login that fails answers its error and gives the
 * client one login timeout from then to log in again. The hold is the
 * connection's, once (decision 83): a login pending at the deadline after a
 * held login failed is not held again but closed (4001), so however its
 * logins fail a connection that has not logged in is closed at most
 * 5 × ws_login_timeout_ms after its opening (before, each failed held login
 * bought one more timeout, and a client could stay unauthenticated for
 * ever). A login refused before it was held leaves the deadline as it was.
 * A login that is still waiting in the gate for its account's deletion
 * (rel_gate_login, §108) when the deadline would close its connection is
 * answered 60018 instead (client_ws.c cws_on_deadline, §114): at the hold's
 * end as a held login that failed (the connection stays logged out, one
 * login timeout from then), after a failed held login answered and closed
 * 4001 as before (the bound above is kept).
 * No memory: the connection keeps two bits (client_ws.c login_held,
 * login_again). */
#include "api/api_int.h"

/* the hold after the deadline, in login timeouts: 3 (4 × from the opening) */
#define CWS_LOGIN_HOLD_PERIODS 3u

static uint32_t login_timeout_ms(const api_srv_t *srv)
{
  return (uint32_t)srv->cfg->ws_login_timeout_ms; /* config.c: 100 .. 600,000 */
}

void cws_login_dl_open(api_srv_t *srv, net_ws_t *ws)
{
  net_ws_set_deadline(ws, login_timeout_ms(srv));
}

const char *cws_login_dl_due(api_srv_t *srv, net_ws_t *ws, int pending, int held, int again)
{
  if (!pending) return "not logged in within the login timeout";
  if (held) return "login still pending at the end of its hold (4 × the login timeout)";
  if (again) return "login pending again after a held login failed (a connection is held once)";
  net_ws_set_deadline(ws, CWS_LOGIN_HOLD_PERIODS * login_timeout_ms(srv));
  return NULL;
}

void cws_login_dl_failed(api_srv_t *srv, net_ws_t *ws)
{
  net_ws_set_deadline(ws, login_timeout_ms(srv));
}
