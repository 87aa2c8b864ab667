/* rel_gate.h — requests behind an account deletion (rel_gate.c; decisions
 * §98, §101, §103, §108, §112–§115, §118): while an account_delete of an app
 * is in flight, what names its accounts waits and runs again once the
 * deletion commits or is undone. The gate's state (rel_gate_t, its nodes)
 * is api_srv_t's, in api_int.h. Loop thread only. */
#ifndef IMC_API_REL_GATE_H
#define IMC_API_REL_GATE_H

#include "api/api_int.h"

/* ---- REST requests and the deletions themselves ----------------------------- */
/* Account deletions and the relationship requests of their app (rel_gate.c, decisions §98, §101). rel_gate_hold:
 * one more deletion of app in flight whose purge is applied in memory (0 or IMC_E_NOMEM: then the deletion must
 * not be made). rel_gate_name: that deletion names the account user_no (its purge is made; 0 or IMC_E_NOMEM: then
 * the purge must not be made); rel_gate_unname once per name, before the deletion's rel_gate_release.
 * rel_gate_held: 1 while a deletion of app is in flight. rel_gate_defer: 1 when c (a relationship route:
 * rel_api.h's REST handlers) waits — or was refused 60018, cfg->rel_gate_wait_max waiting — because a
 * deletion of its app is in flight; 0: run it now. rel_gate_release: that deletion committed or was undone;
 * when it was the app's last, the app's waiting requests run, in arrival order (a stopping server answers them
 * 70500 "server is shutting down"). */
int rel_gate_hold(api_srv_t *srv, uint32_t app);
int rel_gate_name(api_srv_t *srv, uint32_t app, uint32_t user_no);
void rel_gate_unname(api_srv_t *srv, uint32_t app, uint32_t user_no);
int rel_gate_held(const api_srv_t *srv, uint32_t app);
int rel_gate_defer(api_srv_t *srv, rest_ctx_t *c);
/* rel_gate_named: 1 while a deletion in flight names account user_no of app (0: never). rel_gate_rest_wait: c (a
 * REST command that writes or reads rows of such an account, §108, §112, §113) waits like rel_gate_defer's — or
 * is answered 60018 (cfg->rel_gate_wait_max waiting) or 70500 (the server stops); its handler runs again from the
 * start once the app's last deletion ends. rel_gate_rest_names: both for accounts a and b of c's app (0: none): 1
 * when c waits (or was answered), 0 to run it now (the map's length first: nothing looked up while no deletion is
 * in flight). rel_gate_named_any: 1 when a deletion in flight names any of the n accounts nos of app (an entry 0:
 * no account; the map's length first), for a request naming more than two (get_c2c_unread_msg_num, §113); it
 * makes nothing wait (the caller frees what it made, then rel_gate_rest_wait). */
int rel_gate_named(const api_srv_t *srv, uint32_t app, uint32_t user_no);
void rel_gate_rest_wait(api_srv_t *srv, rest_ctx_t *c);
int rel_gate_rest_names(api_srv_t *srv, rest_ctx_t *c, uint32_t a, uint32_t b);
int rel_gate_named_any(const api_srv_t *srv, uint32_t app, const uint32_t *nos, size_t n);
void rel_gate_release(api_srv_t *srv, uint32_t app);
void rel_gate_free(api_srv_t *srv);
/* A one-to-one read accepted before an account deletion and read after its commit (§115). rel_gate_committed: an
 * account deletion of srv committed (delete_after, on the loop, before anything it changes is answered).
 * rel_gate_stale: 1 when the read accepted at epoch (rel_gate.committed then) must run again — a deletion has
 * committed since (of any app: one integer compare), or a deletion in flight names one of the n accounts nos of
 * app (its commit may have been read and not yet handled); 0: its reply agrees with the check it passed.
 * rel_gate_rest_reread (a REST read's completion, before it answers; nos: its accounts, read before c->data is
 * freed): 0 when c's read is not stale; else 1, c run again from the start (c->data freed, its accounts looked up
 * again: it may wait in the gate), or answered 60018 when it was run again REL_GATE_REREADS_MAX times already.
 * REL_GATE_REREAD_WHY: that 60018's message. */
#define REL_GATE_REREADS_MAX 3
#define REL_GATE_REREAD_WHY "account deletions kept changing what the read named; retry later"
void rel_gate_committed(api_srv_t *srv);
int rel_gate_stale(const api_srv_t *srv, uint64_t epoch, uint32_t app, const uint32_t *nos, size_t n);
int rel_gate_rest_reread(api_srv_t *srv, rest_ctx_t *c, const uint32_t *nos, size_t n);

/* ---- WebSocket requests, status changes, logins ----------------------------- */
/* WebSocket requests behind an account deletion (rel_gate.c, decisions §101): 1 when the request (op row o, or the
 * row of handler fn; id and req borrowed, kept with a reference while it waits) waits — or was answered 60018
 * (cfg->rel_gate_wait_max waiting) or 70500 (out of memory) — and 0 to run it now. rel_gate_ws_defer (cws_on_text,
 * before the row's handler): a relationship op (pending, friend_response, the status ops) while a deletion of
 * the session's app is in flight. rel_gate_ws_names (a send's relationship check: send, typing, group_send; the
 * one-to-one writes and reads, §112, §113): while a deletion in flight names the session's user or peer_no (0:
 * none). A waiting request holds its connection (cws_hold); once the app's last deletion ends, its handler runs
 * from the start if the same session is still online, and is dropped unrun (no reply, no effect) if the
 * connection closed or its session ended. */
int rel_gate_ws_defer(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_op_t *o, json_t *id, json_t *req);
int rel_gate_ws_names(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, cws_op_fn fn, json_t *id, json_t *req,
                      uint32_t peer_no);
/* The same for a read run again (§115) the rereads-th time: run from the gate, rel_gate.ws_rereads says so (§118). */
int rel_gate_ws_rerun_names(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, cws_op_fn fn, json_t *id, json_t *req,
                            uint32_t peer_no, uint8_t rereads);
/* A status change of account user_no (ws_status.c, decisions §103, §114): a login's push (end NULL) or a
 * session end (its PushOnline window stored or cleared, logout, until_s, and its push). 1 when a deletion in
 * flight names the account: the change waits (end copied) — superseding in place a waiting change of the same
 * account and platform (a login's push: any of the account's), so that one per account and platform waits —
 * and, once the app's last deletion ends, is made if the account is still there and dropped if it was deleted
 * (out of memory: dropped at once, logged); 0: make it now. */
int rel_gate_status(api_srv_t *srv, uint32_t app, uint32_t user_no, const im_session_t *end, int logout,
                    int64_t until_s);
/* A login of account user_no whose job is done (client_ws.c login_done, decisions §108): 1 when a deletion in
 * flight names the account and the login waits as node n (its job's: the job keeps its hold on the connection,
 * which stays login-pending); 0: complete it now; IMC_E_OVERLOADED (cfg->rel_gate_wait_max requests waiting,
 * *why its text) or IMC_E_SHUTDOWN (the server is stopping): refuse it so. Once the app's last deletion ends,
 * or the server stops, the gate calls cws_login_resume(srv, n, rc): rc 0 completes the login (its rechecks
 * then refuse an account that was deleted, 70107), IMC_E_SHUTDOWN refuses it 70500; either way the job is
 * freed. */
int rel_gate_login(api_srv_t *srv, rel_gate_node_t *n, uint32_t app, uint32_t user_no, const char **why);
void cws_login_resume(api_srv_t *srv, rel_gate_node_t *n, int rc);
/* The waiting login for which is(node, ud) is true, unlinked and uncounted (its owner answers it IMC_E_OVERLOADED
 * with *why, the gate's text saying the account is being deleted, and frees it; the deletion's end will not see
 * it), or NULL (*why NULL): none waits. At the end of a login deadline's hold (client_ws.c, §114). */
rel_gate_node_t *rel_gate_login_take(api_srv_t *srv, int (*is)(const rel_gate_node_t *n, const void *ud),
                                     const void *ud, const char **why);
/* The server stops (its signal): every request waiting in the gate — REST, WebSocket, logins — is answered
 * 70500 "server is shutting down" and freed now, whatever becomes of the deletions it waits for; from then on
 * one that would wait is answered so at once (§108). Status changes stay queued (rel_gate_free). */
void rel_gate_stop(api_srv_t *srv);

#endif
