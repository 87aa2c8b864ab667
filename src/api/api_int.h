/* api_int.h — what the files of src/api share: the server state (owned by
 * the loop thread), the REST v4 request context and reply helpers, and the
 * entry points each file provides to the router. */
#ifndef IMC_API_INT_H
#define IMC_API_INT_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "api/api.h"
#include "api/read_wait.h"
#include "im/c2c.h"
#include "im/group.h"
#include "im/limits.h"
#include "im/presence.h"
#include "meter/meter.h"
#include "plan/plan.h"
#include "net/net.h"
#include "store/store.h"
#include "store/store_reader.h"
#include "store/store_writer.h"
#include "tenant/tenant.h"
#include "auth/usersig.h"
#include "util/dueheap.h"
#include "util/jsonw.h"
#include "util/u64map.h"

/* Change-log follower (changes.c); loop thread. */
typedef struct api_changes {
  int64_t seq;                   /* last change-log row applied */
  int in_flight;                 /* a poll job is on the reader pool */
  uint64_t polls, rows;          /* poll jobs run, rows read */
  uint64_t apps_reloaded;        /* app records applied (one app each) */
  uint64_t meta_reloaded;        /* operator token reloads */
  uint64_t refused, failed;      /* polls refused by a full pool; reads or applies that failed */
} api_changes_t;

/* Scheduled jobs (jobs.c); loop thread. */
#define API_JOBS 4
struct clock_move;
typedef struct api_jobs {
  int64_t next_s[API_JOBS];      /* clock time each job is next due (INT64_MAX: not scheduled) */
  int running;                   /* 1 + the job in flight, 0 none */
  struct clock_move *move;       /* POST /operator/v1/clock in progress, or NULL */
  int starting;                  /* inside start_due: a job that finishes at once does not start the next itself */
  uint64_t ticks;                /* ticks since start (one every tick_ms: serve --tick-ms, 1 s by default) */
  uint64_t runs[API_JOBS], failures[API_JOBS];
} api_jobs_t;

/* A request waiting in the gate below: a REST context's (rest_ctx.gate), a WebSocket request's or a named
 * account's status change (rel_gate.c's own), or a login of a named account (client_ws.c's login job, §108). */
enum { REL_GATE_REST, REL_GATE_WS, REL_GATE_STATUS, REL_GATE_LOGIN };
typedef struct rel_gate_node {
  struct rel_gate_node *next;    /* the next waiting request, in arrival order */
  uint32_t app;
  uint8_t kind;                  /* REL_GATE_REST (a rest_ctx_t's), REL_GATE_WS, REL_GATE_STATUS (rel_gate.c's),
                                  * REL_GATE_LOGIN (a login job's: cws_login_resume) */
} rel_gate_node_t;

/* Relationship requests waiting for their app's account deletions to be durable (rel_gate.c, decisions §98,
 * §101): REST requests, WebSocket relationship ops, and WebSocket sends from or to an account being deleted. */
typedef struct rel_gate {
  u64map_t held;                 /* sdkappid → its deletions in flight (size_t *) */
  u64map_t named;                /* sdkappid << 32 | user_no → the deletions in flight of that account (size_t *) */
  rel_gate_node_t *head, *tail;  /* the waiting requests and status changes, in arrival order */
  size_t waiting;                /* requests: at most cfg->rel_gate_wait_max, REST and WebSocket (logins included)
                                  * together */
  size_t statuses;               /* status changes of named accounts (rel_gate_status): one per named account and
                                  * platform at most (a later one supersedes it in place, §114) */
  u64map_t status_of;            /* sdkappid << 32 | user_no → that account's first waiting status change (its
                                  * others: their ->same chain), while it has one */
  uint64_t deferred, refused;    /* requests that waited, refused because too many waited (GET /healthz rel_gate) */
  uint64_t committed;            /* account deletions committed, of every app (rel_gate_committed): a one-to-one
                                  * read records it when accepted and compares it when read (§115) */
  uint8_t ws_rereads;            /* while a waiting WebSocket request's handler runs from the gate: the reruns it
                                  * had made (rel_gate_ws_rerun_names, §118); 0 otherwise */
} rel_gate_t;

/* The per-app cap of logged-in WebSockets (ws_app_cap.c; decisions
 * connection-limits.md "Per-app cap"). */
typedef struct cws_app_cap {
  u64map_t count;                /* sdkappid → its logged-in WebSockets (the count itself as the value; absent: 0) */
  u64map_t own;                  /* sdkappid → its own cap + 1, set by the operator (tenant_app_max_websockets);
                                  * absent: max_websockets_per_app */
  uint64_t refused;              /* logins refused at max_websockets_per_app (GET /healthz connections.app_refused) */
  int64_t log_ms;                /* monotonic ms of the last refusal line; 0: none yet */
  uint64_t logged;               /* refused as of that line */
} cws_app_cap_t;

typedef struct api_srv {
  uv_loop_t *loop;
  const api_cfg_t *cfg;
  net_server_t *net;
  store_t *store;                /* startup only (load, token); closed before the loop runs */
  int lock_fd;                   /* DIR/imcloud.lock, flock'd while the server runs (server.c data_lock); -1 none */
  store_writer_t *writer;        /* all writes */
  store_reader_t *reader;        /* reads off the loop: the change log, slow reads */
  tenant_registry_t *reg;
  im_presence_t *presence;
  u64map_t rate;                 /* (sdkappid, route) → token bucket */
  u64map_t kicks;                /* (sdkappid, user_no) → kicked-at unix s (boxed int64) */
  uv_signal_t sig_int, sig_term;
  uv_timer_t tick;               /* every tick_ms (serve --tick-ms, 1 s by default): sweeps */
  uv_timer_t purge_timer;        /* msg_purge_interval_ms (or _s): the retention pass falls due */
  uv_timer_t changes_timer;      /* change_poll_ms: follow the change log */
  api_changes_t changes;
  uv_timer_t stop_timer;         /* graceful-stop deadline */
  char op_token_hash[65];        /* hex SHA-256 of the operator token */
  int stopping;                  /* signals seen */
  int disk_low;                  /* loop thread: the tick's last look found disk_low (healthz.c api_health_tick) */
  uint64_t stop_started_ms;      /* uv_now at the first signal */
  uint64_t stop_event_chunks;    /* groups.event_chunks when the connections were closed (the stop's log) */
  int exit_status;
  size_t jobs_in_flight;         /* store jobs submitted, not yet done */
  uint64_t ws_sends_fast;        /* `send` frames taken by cws_send_fast (GET /healthz c2c.fast_sends) */
  size_t ws_conn_paused;         /* WebSockets not read for their own requests in flight (cws_conn_pace) */
  uint64_t ws_conn_pauses;       /* times one was (GET /healthz admission.conn_paused, conn_pauses) */
  uint8_t ws_frame_reads;        /* the frame cws_on_text last handled ran a reply_only op (its reads may pass the
                                  * connection's share: cws_conn_pace looks at the reader pool only then) */
  int tz_offset_s;
  im_c2c_t *c2c;                 /* one-to-one messaging core */
  im_limits_t limits;            /* messaging limit defaults (config) */
  struct rel *rel;               /* relationship rows (im/rel.h; rel_*.c) */
  struct rel_subs *subs;         /* user-status subscriptions (ws_status.c) */
  cws_read_wait_t read_wait;     /* reply_only WebSocket reads waiting for the reader queue's room (ws_read_wait.c) */
  rest_read_wait_t rest_read_wait; /* REST reads waiting for it (rest_read_wait.c, §125) */
  rel_gate_t rel_gate;           /* relationship requests waiting for an account deletion to be durable (rel_gate.c) */
  meter_t *meter;                /* usage events (DAU/MAU, connections, REST calls) */
  u64map_t quota_pending;        /* sdkappid → accounts, day's and month's users admitted, not yet durable (quota.c) */
  api_jobs_t jobs;               /* scheduled jobs and the test clock (jobs.c) */
  im_groups_t *groups;           /* groups of every type (im/group.h) */
  struct cws_pace *pace;         /* logins waiting for a later loop turn (ws_pace.c) */
  uv_timer_t live_timer;         /* the next live-room coalescing window ends (ws_group_push.c) */
  uint64_t live_due_ms;          /* loop time live_timer fires at while active */
  jsonw_t frame_text;            /* fixed-format frames are written here, then copied out (ws_msg.c, ws_msg_read.c) */
  dueheap_t sig_exp;             /* online sessions by their UserSig's expiry, tagged with their login time (ws_usersig.c) */
  uv_timer_t sig_timer;          /* fires when the earliest of sig_exp is past (ws_usersig.c) */
  uint32_t sig_armed;            /* the expiry sig_timer is armed for; 0: not armed */
  cws_app_cap_t app_cap;         /* logged-in WebSockets per app and max_websockets_per_app's refusals (ws_app_cap.c) */
} api_srv_t;

#include "api/api_quota.h" /* edition limits and metering at the points of use (quota.c) */

/* ---- REST v4 (rest_v4.c) -------------------------------------------------- */
struct rest_ctx;
typedef void (*rest_handler_fn)(struct rest_ctx *c);

typedef struct rest_route {
  const char *service;
  const char *command;
  rest_handler_fn fn;
  api_auth_t auth;               /* API_AUTH_ADMIN for every v4 command */
  int64_t freq_per_s;            /* documented per-command frequency; 0 = app default */
  size_t max_body_bytes;         /* 93000 beyond; REST_BODY_MSGS(n): the body carries up to n messages,
                                    its cap is rest_route_body_bytes() of msg_max_bytes */
  int gate;                      /* PLAN_F_* or API_GATE_NONE */
  unsigned meter;                /* API_METER_* bits */
  const char *doc;               /* one line for docs/rest-api.md */
  uint8_t read_wait;             /* REST_READ_WAITS: a pure read whose first store call is a reader job; at a full
                                  * reader queue it waits for room (rest_read_wait.c, decisions §125) instead of
                                  * being refused 60018; REST_RUNS: run at once */
} rest_route_t;
#define REST_RUNS 0
#define REST_READ_WAITS 1

/* The body cap of a route (93000 beyond). A route that carries messages
 * (max_body_bytes REST_BODY_MSGS(n), a marker below any real cap) fits n messages of msg_max_bytes packed however
 * the caller escapes them (a packed byte is at most 6 body bytes, "\u0041")
 * plus REST_MSG_BODY_ENVELOPE_BYTES for the other fields (a 500-name
 * To_Account list fits), never above REST_BODY_CEILING_BYTES. The server's
 * HTTP body limit (max_body_bytes 0) is at least the largest of these. */
#define REST_BODY_MSGS(n) ((size_t)(n))
#define REST_BODY_MSGS_MAX 64          /* max_body_bytes at most this: a REST_BODY_MSGS marker */
#define REST_MSG_BODY_ENVELOPE_BYTES 65536
#define REST_BODY_CEILING_BYTES (16u << 20)
#define API_HTTP_BODY_DEFAULT_BYTES (1u << 20) /* max_body_bytes 0: at least this */
size_t rest_route_body_bytes(const rest_route_t *r, int64_t msg_max_bytes);
/* The largest rest_route_body_bytes() of the table. */
size_t rest_routes_body_bytes_max(int64_t msg_max_bytes);

typedef struct rest_ctx {
  api_srv_t *srv;
  net_req_t *req;
  const rest_route_t *route;
  uint32_t sdkappid;
  char identifier[40];
  json_t *body;                  /* request JSON object (owned) */
  int64_t start_ms;
  store_job_t job;               /* for handlers that write */
  void (*after)(struct rest_ctx *c, int rc); /* loop-thread continuation of a write */
  void *data;                    /* handler state, freed with the context */
  void (*data_free)(void *);
  rel_gate_node_t gate;          /* waiting behind an account deletion (rel_gate.c) */
  uint64_t read_epoch;           /* a one-to-one read: rel_gate.committed when it was accepted (§115) */
  uint8_t rereads;               /* a one-to-one read: times run again for a deletion committed meanwhile (§115) */
} rest_ctx_t;

/* Route table rows (rest_routes.c), NULL-terminated. */
extern const rest_route_t rest_routes[];

/* Reply OK with the fields of `extra` (stolen) after the envelope, then free
 * c. extra NULL means its fields could not be made (out of memory): the
 * reply is 70500, never OK without the fields the command promises; so is
 * a reply whose envelope cannot be made (decisions §82). A reply without
 * fields is rest_reply_ok_bare. */
void rest_reply_ok(rest_ctx_t *c, json_t *extra);
/* Reply OK with the envelope alone, then free c. */
void rest_reply_ok_bare(rest_ctx_t *c);
/* Append item (stolen) to list, a list a reply or a push is made of, unless
 * *bad; an item that is NULL or cannot be appended (out of memory, or list
 * NULL) sets *bad: the caller then answers 70500 (or, with a relationship
 * request's &rr->lost, the request fails and is undone), never a list with an
 * entry left out (§82). */
void api_list_add(json_t *list, json_t *item, int *bad);
/* Reply FAIL with err's compatible code and message (info overrides the
 * message when non-NULL), with optional extra fields (stolen), then free c. */
void rest_reply_err(rest_ctx_t *c, int err, const char *info, json_t *extra);
/* A REST request's reads' owner in the reader pool: its app's (§65: odd, never a connection's, client_ws.c
 * reader_owner). */
static inline uint64_t rest_reader_owner(uint32_t sdkappid) { return (uint64_t)sdkappid << 2 | 1; }
/* Run c's route handler with c's app as the reader pool's owner (rest_v4_handle, and a request that waited:
 * rel_gate_release). */
void rest_dispatch(rest_ctx_t *c);
/* Free c unanswered and write nothing: its client is gone (its request orphaned; net_req_reply only frees it). */
void rest_ctx_drop(rest_ctx_t *c);
/* REST requests that wait for the reader queue's room (rest_read_wait.c, decisions §125). rest_read_wait_park
 * (rest_v4_handle, a request that passed its checks, before the deletion gate): 1 when c waits — a
 * REST_READ_WAITS route's at a full queue, at its app's share of it (§65, §126) or behind REST requests waiting,
 * or any request of a connection with one waiting (its order kept) — or was answered; 0: run it now (out of
 * memory to keep it too). The operator API's GETs wait in the same list (op_read_wait_park, operator_int.h). At
 * its turn it runs from its edition gate on (the deletion gate, then its handler). api_read_room
 * (store_reader_on_room): the queue has room: the REST and WebSocket waiting requests run, one of each in turn,
 * while there is room.
 * rest_read_wait_tick (every tick): a request whose client is gone is dropped unanswered, one waiting
 * cfg->rest_read_wait_max_ms or longer is answered 60018. rest_read_wait_stop (the server's signal): each is
 * answered 70500. rest_read_wait_free: at release, the ones left freed unanswered. Loop thread. */
int rest_read_wait_park(api_srv_t *srv, rest_ctx_t *c);
/* c, held before, run now: from the deletion gate (rel_gate_release) or at its completion (§115,
 * rel_gate_rest_reread). A REST_READ_WAITS route's waits in the same list as at its arrival (decisions §126) when
 * the queue is full, its app's reads queued hold its share, or REST requests wait — placed before its connection's
 * waiting requests (they arrived after it), its reruns (c->rereads) kept in c; a stopping server answers such a
 * one 70500; otherwise (another route, room) it runs now (rest_dispatch). c is owned by the list while it waits,
 * never by the gate too. */
void rest_read_wait_rerun(api_srv_t *srv, rest_ctx_t *c);
void api_read_room(void *srv);
void rest_read_wait_tick(api_srv_t *srv);
void rest_read_wait_stop(api_srv_t *srv);
void rest_read_wait_free(api_srv_t *srv);

/* Submit a write: run(store, c) on the writer thread inside a group-committed
 * transaction; after(c, rc) on the loop thread once it is durable. If the
 * writer queue is full the request is answered at once with
 * IMC_E_OVERLOADED (60018) and c is freed: the caller must not touch c after
 * this call either way. */
void rest_submit(rest_ctx_t *c, int (*run)(store_t *, void *), void (*after)(rest_ctx_t *, int));
/* Make the App admin the request was signed as (c->identifier) an account of
 * the app if it is none yet, as account_import makes one (rest_account.c):
 * the edition's account cap first (IMC_E_ACCOUNT_LIMIT, 70398), then the
 * same store call, durable before then(c) runs on the loop thread — at once
 * when the account exists. Refused or failed (70398, IMC_E_MSG_FROM for an
 * identifier that is no UserID, IMC_E_OVERLOADED, storage errors), c is
 * answered with the error and then is not called. c->data must be unset: it
 * holds the job and is freed before then(c). The caller must not touch c
 * after this call (then(c) owns it). messaging-c2c-checks2.md §73. */
void rest_admin_account_make(rest_ctx_t *c, void (*then)(rest_ctx_t *c));
/* Read a UserID from obj under "UserID" (or the legacy "Identifier"). 0 and
 * *out, or IMC_E_INVAL (missing) / IMC_E_JSON_TYPE / IMC_E_USER_ID. */
int rest_user_id(json_t *obj, const char **out);

/* ---- optional request fields, checked by kind (rest_fields.c) ------------ */
/* A handler declares what its optional fields must be, one row each, and
 * checks them before reading any (jansson reads a wrong type as absent or 0). */
typedef enum {
  REST_F_INT,                    /* an integer in [min, max] */
  REST_F_STR,                    /* a string */
  REST_F_STRS,                   /* an array of strings */
  REST_F_OBJ,                    /* an object; its own fields by sub (may be NULL) */
  REST_F_NOT_YET,                /* refused whenever present: a feature imcloud does not have yet */
} rest_fkind_t;
typedef struct rest_field {
  const char *name;              /* NULL ends a table */
  rest_fkind_t kind;
  int64_t min, max;              /* REST_F_INT */
  const struct rest_field *sub;  /* REST_F_OBJ */
} rest_field_t;
#define REST_FLAG(n) { (n), REST_F_INT, 0, 1, NULL }
#define REST_INT(n, lo, hi) { (n), REST_F_INT, (lo), (hi), NULL }
#define REST_STR(n) { (n), REST_F_STR, 0, 0, NULL }
#define REST_STRS(n) { (n), REST_F_STRS, 0, 0, NULL }
#define REST_OBJ(n, sub) { (n), REST_F_OBJ, 0, 0, (sub) }
#define REST_NOT_YET(n) { (n), REST_F_NOT_YET, 0, 0, NULL }
#define REST_FIELDS_END { NULL, REST_F_INT, 0, 0, NULL }
/* Each field of fields present in obj (a non-object holds none) has its
 * kind and range. 0, or err with why naming the field as where + name
 * ("MsgList[2]." + "Random", "ResponseFilter." + "MemberInfoFilter"). */
int rest_fields_check(const json_t *obj, const char *where, const rest_field_t *fields, int err, char *why, size_t cap);
/* rest_fields_check of the request body: 0, or -1 after answering err
 * naming the field (c is freed: the caller returns). */
int rest_fields_req(rest_ctx_t *c, const rest_field_t *fields, int err);
/* The name a field is read under: name when obj has it or has no legacy
 * member, else legacy (an older page's spelling that clients built on it
 * still send, e.g. admin_getroammsg's From_Account for Operator_Account).
 * The current name wins when both are given. Borrowed: one of the two. */
const char *rest_field_name(const json_t *obj, const char *name, const char *legacy);

/* Handle a request whose path starts with /v4/. */
void rest_v4_handle(api_srv_t *srv, net_req_t *req);

/* Handlers */
void rest_account_import(rest_ctx_t *c);
void rest_multiaccount_import(rest_ctx_t *c);
void rest_account_delete(rest_ctx_t *c);
void rest_account_check(rest_ctx_t *c);
void rest_kick(rest_ctx_t *c);
void rest_query_online_status(rest_ctx_t *c);
void rest_querystate(rest_ctx_t *c);
void rest_getappinfo(rest_ctx_t *c);   /* rest_appinfo.c */

/* ---- client WebSocket (client_ws.c) --------------------------------------- */
/* Per-connection state. Ownership: the open socket holds one reference; every
 * asynchronous job on behalf of the connection takes another (cws_hold) and
 * drops it in its completion (cws_release); the struct is freed at zero. A
 * completion must call cws_usable() before touching the socket and re-check
 * what may have changed while it waited. */
typedef struct cws_conn cws_conn_t;
enum { CWS_NEW, CWS_LOGIN_PENDING, CWS_ONLINE, CWS_CLOSING, CWS_CLOSED };

cws_conn_t *cws_hold(cws_conn_t *c);     /* returns c */
void cws_release(cws_conn_t *c);         /* frees c when the last hold goes */
/* Per-connection backpressure (cfg->ws_conn_inflight_max): cws_conn_pace,
 * after each frame of a logged-in connection, stops reading it once it has
 * more requests in flight than the cap (net_ws_pause_read: the rest of the
 * read waits with it, later bytes in the kernel); cws_release_req drops a
 * request's hold and reads the connection again once its requests in flight
 * fall to half the cap. After a frame of a reply_only op it also stops
 * reading a connection whose reads queued in the reader pool reach half the
 * queue's free room, and reads it
 * again once they are at most a quarter of it (§65: the pool's share
 * refuses past all of it). A connection also paused by admission (ws_pace.c)
 * is checked again by it before its next read. */
void cws_conn_pace(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c);
void cws_release_req(api_srv_t *srv, cws_conn_t *c);
/* Make the reads submitted from now on connection c's in the reader pool
 * (store_reader_owner; reply_only: the op row's flag, those are skipped when
 * c's login ends); c NULL: nobody's again. */
void cws_reader_owner(api_srv_t *srv, const cws_conn_t *c, int reply_only);
/* The socket if the connection is still open and not closing, else NULL. */
net_ws_t *cws_usable(const cws_conn_t *c);
int cws_state(const cws_conn_t *c);      /* CWS_* */
const im_session_t *cws_session(const cws_conn_t *c); /* sdkappid, user_no once online */
/* The UserID once online, by the account registry's reverse index
 * (user_no → UserID; tenant.h); NULL before, or once the account is deleted. */
const char *cws_user_id(api_srv_t *srv, const cws_conn_t *c);
cws_conn_t *cws_of_session(im_session_t *s);          /* presence session → connection */

/* Send a JSON object (stolen) as one text frame. */
void cws_send_json(net_ws_t *ws, json_t *o);
/* Reply {id, op, code, msg, …extra (stolen)} to a request. */
void cws_reply(net_ws_t *ws, json_t *id, const char *op, int err, const char *msg, json_t *extra);
/* cws_reply for an op whose answer has fields: with err 0, extra NULL means
 * they could not be made (out of memory), and the reply is one that could
 * not be made whole: the connection is closed with 1011, never a code 0
 * without the fields protocol.md promises (§82). */
void cws_reply_fields(net_ws_t *ws, json_t *id, const char *op, int err, const char *msg, json_t *extra);
/* Reply {id, op, code 0, msg, server_time, account_no} (the answer of a login and of a heartbeat; account_no 0:
 * left out) as fixed-format text (ws_reply.c). id: borrowed. */
void cws_reply_ok_time(net_ws_t *ws, json_t *id, const char *op, int64_t server_time, uint32_t account_no);

typedef void (*cws_op_fn)(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
typedef struct cws_op {
  const char *name;
  cws_op_fn fn;
  api_auth_t auth;               /* API_AUTH_NONE or API_AUTH_USER */
  size_t max_frame_bytes;        /* 93000 beyond (the connection stays open); 0: the op carries a
                                    message, its cap is cws_msg_frame_bytes(msg_max_bytes) */
  int gate;                      /* PLAN_F_* or API_GATE_NONE */
  unsigned meter;                /* API_METER_* bits */
  const char *doc;               /* one line for docs/protocol.md */
  /* 1: the op's whole effect is its reply (it only reads): its queued store
   * reads are skipped when its login ends (cws_reader_owner, §65) */
  uint8_t reply_only;
} cws_op_t;
extern const cws_op_t cws_ops[]; /* NULL-terminated */
/* The row of cws_ops whose handler is fn, or NULL (client_ws.c). */
const cws_op_t *cws_op_row(cws_op_fn fn);
/* Reads that wait for the reader queue's room instead of being refused 60018 (ws_read_wait.c, decisions §120).
 * cws_read_wait_park (cws_on_text, a reply_only op's frame that passed its checks; rel_gate.c ws_run, a request
 * the deletion gate held; a history run again at its completion: §121; id and req borrowed, kept with a
 * reference; rereads: its reruns so far, §118, handed back in rel_gate.ws_rereads when it runs): 1 when the
 * request waits — the reader queue is at its cap, or earlier requests wait — and the
 * connection is not read until it has run (or when it was answered 70500: the server stops); 0: run it now (out
 * of memory to keep it too: the reader's cap then answers). cws_read_wait_drop: c's session ends (kick, logout,
 * close): its waiting requests, if any, are dropped unanswered and its hold released. cws_read_wait_next: the
 * reader queue has room again (api_read_room, §125): the oldest waiting request that can run runs — 1, or 0 when
 * none can now.
 * cws_read_wait_stop: the server stops (its signal): each waiting request is answered 70500 and freed, and one
 * that would wait from then on is answered so at once (as rel_gate_stop). cws_read_wait_free: at release, the
 * ones left dropped. cws_read_parked_set (client_ws.c): parked 1 sets c's read_parked bit and stops reading c;
 * 0 clears it and reads c again unless its own pause (cws_conn_pace) holds it; -1 clears it only (its session is
 * ending, or its request is about to run). */
int cws_read_wait_park(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_op_t *o, json_t *id, json_t *req,
                       uint8_t rereads);
/* A continuation (§124): fn(arg, 0) at its turn (the queue has room and c's reads queued leave it its share: its
 * read queued as c's reply_only read, §65); fn(arg, IMC_E_SHUTDOWN) at the server's signal (answer 70500 if the
 * session is still there, then free); fn(arg, IMC_E_CANCELED) when c's session ends or at release (free, never
 * answer: called inside session-ending paths). Called exactly once, never inside cws_read_wait_cont. */
typedef void (*cws_read_cont_fn)(void *arg, int rc);
/* A request's later read that the reader queue refused (a completion's read: conversations' unread counts, a
 * group_list row's unread count) waits as a continuation, in arrival order with the waiting requests, c not read
 * until it has run, as cws_read_wait_park; arg (the op's state, holding c) is the caller's until fn is called.
 * c: online, its session the request's. 0: it waits; IMC_E_SHUTDOWN: the server stops (answer 70500);
 * IMC_E_OVERLOADED: out of memory to keep it (answer the refusal, 60018). On an error fn is not called. */
int cws_read_wait_cont(api_srv_t *srv, cws_conn_t *c, cws_read_cont_fn fn, void *arg);
void cws_read_wait_drop(api_srv_t *srv, cws_conn_t *c);
int cws_read_wait_next(api_srv_t *srv);
void cws_read_wait_stop(api_srv_t *srv);
void cws_read_wait_free(api_srv_t *srv);
void cws_read_parked_set(api_srv_t *srv, cws_conn_t *c, int parked);
/* 1 if a reply_only read of c queued now would be refused by its share of the reader queue (store_reader.h,
 * "Fairness": c has reads queued, at least as many as the queue's free room): ws_read_wait.c leaves c's waiting
 * requests for a later room rather than run one into that refusal (§123). */
int cws_reads_at_share(api_srv_t *srv, const cws_conn_t *c);
int cws_read_parked(const cws_conn_t *c);
/* The frame cap of an op that carries a message: every message of at most
 * msg_max_bytes packed fits however the client escapes it (a packed byte is
 * at most 6 frame bytes, "\u0041"), plus CWS_MSG_FRAME_ENVELOPE_BYTES for
 * the other fields; never above CWS_FRAME_CEILING_BYTES. The server's
 * WebSocket frame limit is at least this unless ws_max_frame_bytes is set
 * explicitly (then a start-up warning names what does not fit). */
#define CWS_MSG_FRAME_ENVELOPE_BYTES 4096
#define CWS_FRAME_CEILING_BYTES (16u << 20)
#define API_WS_FRAME_DEFAULT_BYTES 65536 /* ws_max_frame_bytes 0: at least this */
size_t cws_msg_frame_bytes(int64_t msg_max_bytes);

void cws_on_open(void *ud, net_ws_t *ws);
void cws_on_text(void *ud, net_ws_t *ws, const char *data, size_t len);
void cws_on_close(void *ud, net_ws_t *ws, int code);
void cws_on_deadline(void *ud, net_ws_t *ws);
/* A login frame's fields, read once (by jsonr, or from jansson's object
 * when jsonr did not accept the frame) into one allocation: id (an owned
 * reference, or NULL), sdkappid (app_ok: an integer in 1..UINT32_MAX), and
 * each string field as text, or NULL when it is absent, not a string,
 * empty or longer than its cap (the op's error names the field). */
typedef struct cws_login_req {
  json_t *id;
  uint32_t sdkappid;
  uint8_t app_ok;
  const char *user_id, *usersig, *platform, *device_id; /* in text[] */
  char text[];
} cws_login_req_t;
void cws_login_req_free(cws_login_req_t *r);
/* A login frame's fields (ws_login_req.c): user_id, usersig, platform, device_id, in this order. from_json: from
 * jansson's object (id referenced; NULL: out of memory). The fast path's (client_ws.c login_fast): members, the
 * token of op, id, sdkappid and each field in one walk of jsonr's object (JSONR_NONE: absent); app_set: sdkappid
 * from an integer (app_ok: 1..UINT32_MAX); field_set: field k is the n bytes already at r->text + *used if
 * 1 <= n <= its cap (NUL-terminated, *used moved past), else NULL. */
#define CWS_LOGIN_FIELDS 4
cws_login_req_t *cws_login_req_from_json(json_t *id, json_t *req);
struct jsonr_doc;
void cws_login_members(const struct jsonr_doc *d, uint32_t *op, uint32_t *idt, uint32_t *app, uint32_t field[CWS_LOGIN_FIELDS]);
void cws_login_app_set(cws_login_req_t *r, int is_int, int64_t v);
void cws_login_field_set(cws_login_req_t *r, size_t k, size_t *used, size_t n);
/* Start a login (the `login` row's work once paced: verify, admit, submit
 * its writer job). c is in state CWS_NEW; r stays the caller's. */
void cws_login_start(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const cws_login_req_t *r);
/* Login pacing (ws_pace.c): at most cfg->ws_logins_per_turn logins start
 * per loop turn, and none once they took cfg->ws_login_turn_us; the others wait in arrival order for the next turns so
 * that a storm of logins leaves room in every turn for other requests.
 * cws_pace_init: handles on the loop (0 or IMC_E_NOMEM); cws_pace_close:
 * close them (shutdown); cws_pace_free: drop waiting logins (after the loop
 * stopped). cws_pace_login: start the login now or queue it (the connection
 * is held and answers "login in progress" meanwhile; a connection closed
 * while waiting is dropped). */
int cws_pace_init(api_srv_t *srv);
void cws_pace_close(api_srv_t *srv);
void cws_pace_free(api_srv_t *srv);
void cws_pace_login(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, cws_login_req_t *r); /* takes r */
/* Logins waiting now, and logins that ever waited for a later turn. */
void cws_pace_stats(const api_srv_t *srv, uint64_t *waiting, uint64_t *deferred);
/* Admission by backpressure (ws_pace.c). cws_admit_on_read: net's
 * on_ws_read — 1 (pause) if the writer's jobs in flight have reached
 * cfg->ws_admit_high_jobs and ws is logged in; it is read again once they
 * fall to cfg->ws_admit_low_jobs and its turn comes (oldest pause first).
 * cws_admit_on_text: net's on_ws_text (cws_on_text, and the frame count the
 * resume batches are sized by). cws_admit_stats: connections paused now,
 * pauses and resumes ever. */
int cws_admit_on_read(void *ud, net_ws_t *ws);
void cws_admit_on_text(void *ud, net_ws_t *ws, const char *data, size_t len);
void cws_admit_stats(const api_srv_t *srv, uint64_t *paused, uint64_t *pauses, uint64_t *resumes);
/* Set a connection waiting for its turn (CWS_NEW -> CWS_LOGIN_PENDING) or back. */
void cws_set_waiting(cws_conn_t *c, int waiting);

/* ---- the login deadline (ws_login_dl.c; decisions §77, §83) ---------------- */
/* Arm the login deadline of a connection that just opened. */
void cws_login_dl_open(api_srv_t *srv, net_ws_t *ws);
/* The deadline passed on a connection not online. pending: its login is
 * pending (CWS_LOGIN_PENDING); held: its deadline was held already; again:
 * a held login of it failed (its hold is used). NULL: held now (the
 * deadline re-armed for the hold; the caller sets its held bit); else the
 * reason of the 4001 close. */
const char *cws_login_dl_due(api_srv_t *srv, net_ws_t *ws, int pending, int held, int again);
/* A login that was held failed (the connection is CWS_NEW again, its error
 * answered; the caller clears its held bit and sets its again bit): the
 * login timeout runs again from now, once per connection. */
void cws_login_dl_failed(api_srv_t *srv, net_ws_t *ws);

/* ---- a session's UserSig (ws_usersig.c; decision §81) ---------------------- */
/* The close code and reason of a session whose UserSig expired. */
#define CWS_CLOSE_SIG_EXPIRED 4006
#define CWS_SIG_EXPIRED_REASON "UserSig expired"
/* The text of 70002 for a usersig missing, empty, not a string or too long. */
#define CWS_SIG_EMPTY_MSG "usersig is missing, empty, not a string or longer than 4,096 bytes"
#define CWS_SIG_MAX_BYTES 4096
/* The checks of a UserSig presented by user_id of app (login, renew): the
 * token (auth_usersig_verify's codes: 70001, 70003, 70005, 70009, 70013,
 * 70014), the app's standing (60016, 60020), and, for an account the
 * registry knows (known: user_no is its number), a REST kick after the
 * token was issued (70001). 0 (info filled) or the code, *why its text or
 * NULL for the code's own. */
int cws_sig_check(api_srv_t *srv, const tenant_app_t *app, const char *user_id, int known, uint32_t user_no,
                  const char *sig, int64_t now_s, auth_usersig_info_t *info, const char **why);
/* The unix second after which a checked token is expired (TLS.time +
 * TLS.expire), at most UINT32_MAX (2106: never, for a session). */
uint32_t cws_sig_due(const auth_usersig_info_t *info);
/* The expiry heap (srv->sig_exp): set up empty (api_srv_open). */
void cws_sig_init(api_srv_t *srv);
/* Its timer on the loop (before the loop runs: no session is online before), and its close (shutdown). */
void cws_sig_timer_init(api_srv_t *srv);
void cws_sig_timer_close(api_srv_t *srv);
/* Room for one more online session: 0 or IMC_E_NOMEM (the login is refused). */
int cws_sig_reserve(api_srv_t *srv);
/* c goes online (after cws_sig_reserve): closed once now passes due. */
void cws_sig_online(api_srv_t *srv, cws_conn_t *c, uint32_t due, uint32_t login_s);
/* c's session ends: out of the heap. Its login time (unix s), 0 if it was not online. */
uint32_t cws_sig_end(api_srv_t *srv, cws_conn_t *c);
/* Close the sessions whose UserSig expired by now (at most
 * CWS_SIG_EXPIRE_PER_TURN; the timer fires again next turn for the rest)
 * and re-arm the timer for the earliest left. Called by the timer, by the
 * server's tick (tick_ms: a backstop when the wall clock stepped forward)
 * and after each move of the test clock. */
void cws_sig_tick(api_srv_t *srv);
/* The `renew` row. */
void cws_op_renew(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
/* client_ws.c: c's place in srv->sig_exp (dueheap_pos_fn), and the end of a session by the server with a
 * `kicked` push and a close code (no PushOnline, as a kick). */
uint32_t cws_sig_pos(const cws_conn_t *c);
void cws_sig_pos_set(void *c, uint32_t pos);
void cws_kick_session(api_srv_t *srv, cws_conn_t *c, const char *reason, int close_code);

/* fd_reserve.c. The descriptors the server needs besides its WebSockets with cfg (stdio and inherited ones
 * counted now, its own files, reader_threads' connections, REST clients). */
size_t api_fd_reserve(const api_cfg_t *cfg);
/* The WebSocket cap under the open-files limit fd_limit (0: unknown) in *cap: cfg->max_websockets, or the default
 * (the limit less a quarter of it, at most NET_FD_RESERVE, and at least api_fd_reserve); the reserve counted in
 * *fd_reserve (0 when the limit is unknown). IMC_E_CONFIG (logged, naming the limit, the reserve and the largest
 * value accepted) when the cap leaves less than the reserve. */
int api_ws_cap_resolve(const api_cfg_t *cfg, unsigned fd_limit, size_t *cap, size_t *fd_reserve);

/* ws_app_cap.c. IMC_E_WS_APP_FULL (counted, and logged once a second at
 * most) if a login of (sdkappid, user_no) on (platform, device_hash) would
 * take its app past max_websockets_per_app: the sessions it would displace
 * (im_presence_displaces) leave as it comes, so they make room; else 0.
 * user_no 0 (an account not yet created) displaces nothing. */
int cws_app_cap_check(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no, uint8_t platform, uint32_t device_hash,
                      int multi_device);
/* A login of the app admitted (+1: 0 or IMC_E_NOMEM, nothing counted; its
 * place is its session's once online), or a session ended or a login that
 * did not go online (-1: always 0). */
int cws_app_cap_count(api_srv_t *srv, uint32_t sdkappid, int delta);
/* The app's logged-in WebSockets now, and its logins admitted and pending. */
size_t cws_app_cap_now(const api_srv_t *srv, uint32_t sdkappid);
/* The app with the most logged-in WebSockets (0 and 0 when none); O(apps online). */
void cws_app_cap_busiest(const api_srv_t *srv, uint32_t *sdkappid, size_t *n);
/* The app's cap: its own (the operator's) if set, else max_websockets_per_app; 0 = no cap. */
int64_t cws_app_cap_of(const api_srv_t *srv, uint32_t sdkappid);
/* A login refused for the app's cap (IMC_E_WS_APP_FULL): the reply's message in msg (which cap, the app's own or
 * max_websockets_per_app, and its value; msg_bytes >= 160 holds it whole); returns the close reason (static). */
const char *cws_app_cap_why(const api_srv_t *srv, uint32_t sdkappid, char *msg, size_t msg_bytes);
/* Set the app's own cap (n >= 0) or unset it (n = -1): 0 or IMC_E_NOMEM. Sessions online stay. */
int cws_app_cap_own_set(api_srv_t *srv, uint32_t sdkappid, int64_t n);
/* The apps' own caps read from the store at start (api_srv_open, srv->store). 0 or the store's error. */
int cws_app_cap_init(api_srv_t *srv);
/* A changed meta setting (the change log): 1 if key is an app's own cap (applied; a value that is not one
 * unsets it, as tenant_app_max_websockets refuses it), else 0. */
int cws_app_cap_meta(api_srv_t *srv, const char *key, const char *value);
/* Free the counts (api_srv_close). */
void cws_app_cap_free(api_srv_t *srv);

/* ws_kick.c. End every session of a user with a `kicked` push and close code. */
void cws_kick_user(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no, const char *reason, int close_code);
/* End every session of an app the same way (the app was suspended: 4005). */
void cws_kick_app(api_srv_t *srv, uint32_t sdkappid, const char *reason, int close_code);
/* After the registry took new facts for an app (a refresh, a purchase, the
 * change log), on the loop; multi_before: its edition in force allowed
 * several devices per platform before (api_quota_multi_device). A suspended
 * app's sessions end (4005). An app that no longer allows them keeps each
 * user's newest session per platform and kicks the older ones (4002), as a
 * login would have: they stayed online until the user's next login. */
void cws_app_facts_changed(api_srv_t *srv, uint32_t sdkappid, int multi_before);

/* ---- client WebSocket messaging ops (ws_msg.c; the reads ws_msg_read.c); rows of client_ws.c's op table */
void cws_op_send(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
/* The `send` row without jansson, tried by cws_on_text before it parses a
 * frame: 0 when it took the frame (a send it checked, packed and submitted,
 * or answered with the sender/peer check's error), IMC_E_INVAL when the frame
 * is for the general path (another op, a frame it would refuse, anything it
 * cannot decide); nothing has happened then. */
int cws_send_fast(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const char *data, size_t len);
void cws_op_sync(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_history(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_recall(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_read(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_conversations(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_pin(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_conv_delete(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_typing(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
/* The delivery hooks of the messaging core for this front end. */
void cws_msg_hooks(api_srv_t *srv, im_c2c_hooks_t *out);
/* The messaging cores' cut hook (im_c2c_hooks_t.cut, im_group_hooks_t.lost; ud: the api_srv_t): a device that missed
 * a stored push (its frame could not be made or queued: out of memory) is closed with 1011; it reconnects, and its
 * sync from its cursor and group_sync from its seqs hand the events over (docs/protocol.md "Close codes"). */
void cws_push_lost(void *ud, im_session_t *s);

/* REST one-to-one messages (rest_openim.c) and conversations (rest_recentcontact.c) */
void rest_sendmsg(rest_ctx_t *c);
void rest_batchsendmsg(rest_ctx_t *c);
void rest_importmsg(rest_ctx_t *c);
void rest_admin_getroammsg(rest_ctx_t *c);
void rest_admin_msgwithdraw(rest_ctx_t *c);
void rest_admin_set_msg_read(rest_ctx_t *c);
void rest_get_c2c_unread_msg_num(rest_ctx_t *c);
void rest_modify_c2c_msg(rest_ctx_t *c);
void rest_recentcontact_get_list(rest_ctx_t *c);
void rest_recentcontact_delete(rest_ctx_t *c);

/* Groups: REST (rest_group.c, rest_group_msg.c), WebSocket ops (ws_group.c) and pushes (ws_group_push.c) */
void rest_create_group(rest_ctx_t *c);
void rest_import_group(rest_ctx_t *c);
void rest_destroy_group(rest_ctx_t *c);
void rest_get_group_info(rest_ctx_t *c);
void rest_get_joined_group_list(rest_ctx_t *c);
void rest_get_appid_group_list(rest_ctx_t *c);
void rest_add_group_member(rest_ctx_t *c);
void rest_import_group_member(rest_ctx_t *c);
void rest_delete_group_member(rest_ctx_t *c);
void rest_get_group_member_info(rest_ctx_t *c);
void rest_modify_group_base_info(rest_ctx_t *c);
void rest_modify_group_member_info(rest_ctx_t *c);
void rest_change_group_owner(rest_ctx_t *c);
void rest_get_role_in_group(rest_ctx_t *c);
void rest_forbid_send_msg(rest_ctx_t *c);
void rest_get_group_muted_account(rest_ctx_t *c);
void rest_send_group_msg(rest_ctx_t *c);
void rest_send_group_system_notification(rest_ctx_t *c);
void rest_import_group_msg(rest_ctx_t *c);
void rest_group_msg_get_simple(rest_ctx_t *c);
void rest_group_msg_recall(rest_ctx_t *c);
void rest_delete_group_msg_by_sender(rest_ctx_t *c);
void rest_modify_group_msg(rest_ctx_t *c);
void rest_set_unread_msg_num(rest_ctx_t *c);
void rest_get_online_member_num(rest_ctx_t *c);
/* ws_group_push.c: a group message's priorities by number (MsgPriority / priority; NULL-terminated), a group
 * message as the protocol's JSON (the caller owns it; NULL when any part of it could not be made: out of
 * memory), the group core's hooks, a session's end */
extern const char *const api_group_priorities[];
json_t *cws_group_msg_json(const store_grp_msg_t *m);
void cws_group_hooks(api_srv_t *srv, im_group_hooks_t *out);
void cws_group_session_gone(api_srv_t *srv, cws_conn_t *c);
void cws_op_group_create(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_join(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_approve(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_reject(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_applications(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_quit(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_invite(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_kick(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_mute(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_transfer(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_dissolve(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_send(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_history(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_sync(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_read(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_group_list(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
/* ---- relationships: profiles, friends, blocklists, conversation groups and
 * marks, user status (rel_*.c, ws_rel.c, ws_status.c; declared in rel_api.h) */

/* ---- operator API (operator.c) -------------------------------------------- */
void op_handle(api_srv_t *srv, net_req_t *req);
/* Load (or create and print) the operator token hash at start. */
int op_token_init(api_srv_t *srv);

/* ---- scheduled jobs, the test clock, apps refreshed by a write (jobs.c) ----- */
/* Every job due at once (catch-up after a start) except the retention purge. */
void api_jobs_init(api_srv_t *srv);
/* Make a job (by name) due now unless it is due earlier, and start the
 * earliest due job when none is in flight: the purge timer (server.c) does it
 * for the retention purge every msg_purge_interval_ms (0:
 * msg_purge_interval_s) of real time. */
void api_jobs_due_now(api_srv_t *srv, const char *name);
/* On the server's tick (tick_ms, 1 s by default): start the earliest due
 * job when none is in flight (a job that finishes starts the next due one
 * itself; the tick starts what fell due meanwhile and what a full writer
 * queue deferred). */
void api_jobs_tick(api_srv_t *srv);
/* GET /operator/v1/jobs: each job's next due time and its runs since start. */
void api_jobs_get(api_srv_t *srv, net_req_t *req);
/* GET / POST /operator/v1/clock (403 TEST_CLOCK_OFF without --test-clock). */
void api_clock_get(api_srv_t *srv, net_req_t *req);
void api_clock_post(api_srv_t *srv, net_req_t *req, json_t *body);
/* DIR/test-clock written with the test clock's time, or removed without a
 * test clock (imc_clock_file_save); a failure is logged, not fatal. At the
 * start (server.c) and after every step of a clock move. */
void api_clock_file_save(api_srv_t *srv);

/* A wallet credit posted elsewhere (the change log's wallet.credit): pay the
 * customer's open bills it covers and end arrears, in a writer job. */
void api_jobs_wallet_credit(api_srv_t *srv, int64_t customer_id);

/* Apps read after a write, applied to the registry on the loop. */
typedef struct api_app_fresh { store_app_t rec; tenant_lifecycle_t lc; int lc_rc; } api_app_fresh_t;
typedef struct api_fresh { api_app_fresh_t *v; size_t n, cap; int nomem; } api_fresh_t;
/* Writer or reader thread: append the record and life cycle on `day` of one
 * app (sdkappid != 0), of a customer's apps (customer_id != 0) or of every
 * app. 0 or storage errors / IMC_E_NOMEM. */
int api_fresh_load(store_t *s, api_fresh_t *f, int64_t customer_id, uint32_t sdkappid, int64_t day);
/* Loop thread: upsert each into the registry; the sessions of a suspended
 * app end with close code 4005. Frees the list. */
void api_fresh_apply(api_srv_t *srv, api_fresh_t *f);
/* Loop thread: the meter dates app's events in its billing zone tz (M-1,
 * meter_app_zone's answer tz_rc / tz, read on a store thread) from now on:
 * an app made or changed while the server runs. A zone that differs from
 * the one its events so far were dated in is logged and waits for a restart
 * (meter_app_tz). */
void api_app_zone(api_srv_t *srv, uint32_t sdkappid, int tz, int tz_rc);

/* ---- change log (changes.c) ----------------------------------------------- */
/* Start following the log after its current end (read on s at startup,
 * before the registry is loaded, so nothing committed in between is missed).
 * 0 or a storage error. */
int api_changes_init(api_srv_t *srv, store_t *s);
/* Start the poll timer (loop thread; closed with the other handles). */
void api_changes_start(api_srv_t *srv);

/* ---- settings (config.c) -------------------------------------------------- */
/* Split a listen setting "HOST:PORT" (HOST an IPv4 or IPv6 address, PORT
 * 0-65535) into host (cap bytes) and port. 0 or IMC_E_CONFIG. */
int api_cfg_listen_parse(const char *s, char *host, size_t cap, int *port);

/* ---- server (server.c) ---------------------------------------------------- */
/* Kicked-at time of a user (0 if never kicked). */
int64_t api_kicked_at(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no);
int api_set_kicked_at(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no, int64_t t);
/* Common reply writer for JSON bodies. */
void api_reply_json(net_req_t *req, int status, json_t *obj);
/* The server state without a listener (api_serve and src/api/fuzz.c share
 * it): api_srv_open loads storage and starts the writer, the reader pool and
 * messaging on loop (initialized by the caller); api_srv_stop_storage stops
 * the writer and readers and runs loop until they are gone;
 * api_srv_release frees the in-memory state (after either). */
int api_srv_open(api_srv_t *srv, const api_cfg_t *cfg, uv_loop_t *loop);
void api_srv_stop_storage(api_srv_t *srv);
void api_srv_release(api_srv_t *srv);
/* The net settings (all but host and port) and the handlers of the server. */
void api_net_cfg(const api_cfg_t *cfg, net_cfg_t *out);
void api_net_handlers(api_srv_t *srv, net_handlers_t *out);
/* GET /healthz and GET /healthz/stages (healthz.c), answered on the loop thread. */
void api_healthz(api_srv_t *srv, net_req_t *req);
void api_healthz_stages(api_srv_t *srv, net_req_t *req);
/* The tick's look at the data directory's free space (healthz.c): a warning in the log when it falls below
 * disk_low_mb, a notice when it is back above (what /healthz's disk_low says, for log-based alerts). */
void api_health_tick(api_srv_t *srv);

/* ---- reply objects set whole (api_json.c, decisions §85) ---------------------------- */
/* Set o's member key to v (stolen) unless *bad; a v that is NULL or cannot
 * be set (out of memory, or o NULL) sets *bad, as api_list_add does for a
 * list entry: the caller answers 70500 (a relationship request:
 * &rr->lost), never an object with a member left out. */
void api_field_put(json_t *o, const char *key, json_t *v, int *bad);
/* o when it is whole (not NULL, bad 0), else NULL with o released: what
 * rest_reply_ok and relreq_commit take (NULL: 70500). */
json_t *api_json_whole(json_t *o, int bad);

#endif
