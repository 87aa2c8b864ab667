/* net.h — the network layer: HTTP/1.1 (keep-alive, pipelining) and WebSocket
 * (RFC 6455) on one libuv listener. It knows nothing of IM: the application
 * plugs in through net_handlers_t (h2o's lib/common vs handlers split).
 *
 * HTTP input is held to RFC 9112 before http-parser sees it (src/net/
 * http_strict.c): a request that breaks its syntax or framing rules is
 * answered by net itself (400, 413, 431, 501, 505 with the reason in the v4
 * error envelope) and the connection closes after it — after the replies to
 * the requests before it, in order. Every request on ws_path is a WebSocket
 * handshake, checked against RFC 6455 §4.2.1 (400, 404, 426 otherwise); it
 * never reaches on_http. A client that half-closes still gets its replies.
 *
 * Threading: everything runs on the loop thread that started the server.
 * Memory: a connection is one 64-byte struct; its socket sits in the
 * server's own epoll set (Linux), watched by one uv_poll_t, so there is no
 * libuv handle per connection. Reads go into one shared per-server buffer; a
 * connection holds heap memory only while it has a partial request or frame,
 * queued output, or an HTTP request in flight. Deadlines (request timeout,
 * keep-alive idle, the application's WebSocket deadline or idle timeout)
 * live in one timer wheel per server.
 * Output queued to a connection during one loop turn is written with one
 * sendmsg in the loop's check phase (HTTP replies first; a turn writes at
 * most a budget of connections, the rest first in the next turn: net_int.h);
 * what the kernel does not take at once stays queued until the socket is
 * writable again.
 */
#ifndef IMC_NET_H
#define IMC_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct net_server net_server_t;
typedef struct net_req net_req_t;     /* an HTTP request in flight */
typedef struct net_conn net_ws_t;     /* a WebSocket connection */
typedef struct net_frame net_frame_t; /* a refcounted, pre-encoded WebSocket frame */

typedef struct net_cfg {
  const char *host;            /* listen address */
  int port;                    /* 0 = ephemeral (see net_server_port) */
  const char *ws_path;         /* upgrade path, e.g. "/ws" */
  /* Errors the HTTP layer answers itself (413, 431, 400, 408) are in the v4
   * envelope, except for a request whose path starts with this prefix (NULL:
   * none): {"error":{"code","message"}}, the operator API's shape. */
  const char *plain_error_prefix;
  size_t max_header_bytes;     /* request line + headers; 431 beyond */
  size_t max_body_bytes;       /* 413 beyond */
  size_t max_ws_frame_bytes;   /* frame and reassembled message; close 1009 beyond */
  size_t ws_max_queued_bytes;  /* send queue of one WebSocket; close 1008 beyond */
  /* A closing WebSocket (close frame sent or received) whose peer takes
   * none of its output for this long is torn down: output still queued
   * (a slow consumer's full queue, the close frame queued behind it) is
   * dropped and the socket closed. A peer that took some during the period
   * (its kernel acknowledged more) gets it again, three times at most: so
   * a steady reader gets its output however long the server stalled, and
   * no peer holds queue or descriptor past 4 × this after the close began
   * (src/net/ws_close.c, decision 83). At net_server_close every connection
   * gets it once, as total time, HTTP too. Default NET_WS_CLOSE_GRACE_MS. */
  uint32_t ws_close_grace_ms;
  /* All connections' output queues together (bytes held: a frame queued to
   * many connections counts once); 0 = no cap. Past it, a send to a
   * WebSocket that already holds NET_SHED_MIN_QUEUED or more unsent is not
   * queued: that connection is shed (its unsent output dropped, closed with
   * 1008), so the slowest readers give memory back first and a connection
   * that keeps up is never shed. Default 0 here; the server sets its own. */
  uint64_t ws_max_queued_total;
  uint32_t request_timeout_ms; /* a started request must complete within; 408 */
  uint32_t keepalive_idle_ms;  /* idle keep-alive connections are closed */
  /* A loop turn's budgets (src/net/net_int.h, "loop turn budgets"): the
   * time reads of connections still opening and of WebSockets may take,
   * and the connections written to and the time those writes may take;
   * what is left goes first in the next turn. Keep-alive HTTP clients are
   * read whenever the kernel reports them (and at the end of each check
   * phase), and their replies are all written in the turn, first (counted
   * against writes_per_turn and write_turn_us, never left by them). Close notices (on_ws_close) a turn delivers: notices_per_turn,
   * within notice_turn_us; the rest are delivered first in the next turns,
   * and a WebSocket's output waits for its notice. */
  uint32_t read_turn_us, writes_per_turn, write_turn_us;
  uint32_t notices_per_turn, notice_turn_us;
  /* Descriptors the process's table is sized for when the server starts
   * listening, at most the RLIMIT_NOFILE soft limit (src/net/fdtable.c:
   * each later growth of the table blocks the loop's accept4() for an RCU
   * grace period); 0 = the table grows on demand. Default NET_FD_TABLE. */
  unsigned fd_table;
  /* The event-loop thread's time slice (µs) under the kernel's fair
   * scheduler, set when the server starts listening (src/net/loopslice.c):
   * a short slice lets the loop, woken by input or by the writer's
   * completions, take the core from the writer or the sync thread at once
   * instead of after their slice; 0 = the kernel's default. Default
   * NET_LOOP_SLICE_US. */
  unsigned loop_slice_us;
  /* The timer wheel's tick (ms): a connection's deadline fires at the first
   * tick at or after it, so up to this late, and the wheel's timer wakes the
   * loop once per tick. Default NET_WHEEL_TICK_MS (250); 0 = that. Tests
   * that must see no timer for a long time set it long. */
  uint32_t wheel_tick_ms;
  /* WebSockets the server holds at most; 0 = no cap. An upgrade request
   * past it is answered 503 with Retry-After: 1 and the error WS_FULL in the
   * v4 envelope, and the connection closes; HTTP requests are served as
   * before, so the descriptors the cap leaves keep REST and /healthz
   * reachable (src/net/fdlimit.c, docs/decisions/connection-limits.md). */
  size_t max_websockets;
  /* 0 (the default): an upgrade request on ws_path that the strict scanner
   * accepted whole in one read, in the plain shape clients send, is read
   * without http-parser (http.c, "Upgrade requests read directly"); 1:
   * every request goes through http-parser (tests compare the two). */
  int upgrade_parser_only;
} net_cfg_t;

/* The budgets' defaults: on loopback a write costs 5-15 µs (the receiver's
 * TCP work runs in it), so 1 ms is 70-200 writes; a login storm needs two
 * writes per login (101, login reply): 256 per turn at a few turns per
 * 10 ms is more than 20,000 logins/s need. */
#define NET_READ_TURN_US 1000
#define NET_WRITES_PER_TURN 256
#define NET_WRITE_TURN_US 1000
/* A close notice costs a few µs (a logged-in user's: its session and usage
 * event, ~5 µs measured); the held connections of a 10,000-login storm
 * closing together queued 500-600 in one turn (2.7 ms): 1 ms of them. */
#define NET_NOTICES_PER_TURN 256
#define NET_NOTICE_TURN_US 1000
/* 65,536 descriptor slots: about 512 KiB of kernel memory, once. */
#define NET_FD_TABLE 65536
/* 100 µs: the shortest slice Linux takes (6.12 on; others ignore it). */
#define NET_LOOP_SLICE_US 100
/* 5 s: a peer that reads at all takes a full 4 MiB queue in far less on
 * any link a chat client uses; one that does not is let go. */
#define NET_WS_CLOSE_GRACE_MS 5000
/* 64 KiB: far behind what a chat client that reads has outstanding (a few
 * pushes), and what a connection may hold at most beyond the server-wide
 * cap (with one frame more). */
#define NET_SHED_MIN_QUEUED 65536

typedef struct net_handlers {
  void *ud;
  /* A complete, valid HTTP request not on ws_path. The application must
   * call net_req_reply exactly once, now or later. */
  void (*on_http)(void *ud, net_req_t *req);
  /* A WebSocket was accepted on ws_path. */
  void (*on_ws_open)(void *ud, net_ws_t *ws);
  /* A complete text message (fragments reassembled, UTF-8 checked). data is
   * valid only during the call. */
  void (*on_ws_text)(void *ud, net_ws_t *ws, const char *data, size_t len);
  /* Called exactly once per WebSocket, from a later loop phase than the event
   * that closed it (never from inside a net_* call): code is the close code
   * sent or received (1006 when the peer vanished, 1001 on server close).
   * After it returns the handle is gone. */
  void (*on_ws_close)(void *ud, net_ws_t *ws, int code);
  /* The deadline set with net_ws_set_deadline passed. */
  void (*on_ws_deadline)(void *ud, net_ws_t *ws);
  /* Optional: called before each read of an open WebSocket (admission
   * control). Return 1 to pause it instead of reading: nothing is read from
   * it until net_ws_resume_read (its bytes wait in the kernel's socket
   * buffer, TCP flow control slows the peer; pings and a close from the
   * peer wait as well; the epoll registration stays, so pausing and
   * resuming cost no system call). 0 to read. A closing connection is
   * always read. */
  int (*on_ws_read)(void *ud, net_ws_t *ws);
} net_handlers_t;

/* 127.0.0.1:0, "/ws", 8 KiB headers, 1 MiB bodies, 64 KiB frames, 4 MiB
 * send queue, 5 s close grace, 10 s request timeout, 60 s keep-alive, the
 * turn budgets above. */
void net_cfg_defaults(net_cfg_t *cfg);

/* Listen. cfg strings must outlive the server; h is copied. 0 or
 * IMC_E_ADDR_IN_USE (another process listens there), IMC_E_IO (bind/listen
 * failed otherwise), IMC_E_CONFIG (bad address), IMC_E_NOMEM. */
int net_server_start(uv_loop_t *loop, const net_cfg_t *cfg, const net_handlers_t *h, net_server_t **out);
/* The process's open-files limit: the soft RLIMIT_NOFILE raised to the
 * hard one (at most /proc/sys/fs/nr_open, which setrlimit enforces), and
 * the soft limit it then has (0 if it cannot be read; RLIM_INFINITY as
 * UINT32_MAX). Nothing here uses select(), so the 1,024 a service manager
 * leaves as the soft limit for select()'s sake only caps the connections.
 * Call once, before the threads start (src/net/fdlimit.c). */
unsigned net_fd_limit_raise(void);
/* The WebSockets a server with an open-files limit of limit holds by
 * default: limit less a reserve (limit / 4, at most NET_FD_RESERVE) for the
 * store's files, the process's own descriptors and HTTP clients. */
#define NET_FD_RESERVE 256
size_t net_ws_cap_default(unsigned limit);
/* The two halves of net_server_start, for a caller that must know the
 * address is free before it creates anything (imcloud serve binds, then
 * opens its data directory): net_listen binds and listens on cfg's host and
 * port (the same errors; *fd_out is the caller's until handed over);
 * net_server_start_fd serves that socket and owns it from the call on
 * (closed on failure too). */
int net_listen(const net_cfg_t *cfg, int *fd_out);
int net_server_start_fd(uv_loop_t *loop, const net_cfg_t *cfg, const net_handlers_t *h, int lfd, net_server_t **out);
/* The bound port. */
int net_server_port(const net_server_t *s);
/* Stop accepting new connections (existing ones continue). */
void net_server_stop_accepting(net_server_t *s);
/* Hold the WebSocket output queued so far (and in the rest of this loop
 * turn) until the next turn's write-out instead of writing it at the end of
 * this one: more output for the same connections is known to follow then
 * (a commit's completions handed back over several turns), and one write
 * carrying all of a connection's frames costs the kernel one send instead
 * of several. Bounded: output already held for NET_HOLD_MAX_MS is written
 * whatever the calls; HTTP output and closing connections are never held.
 * The caller makes sure another turn follows at once (it has woken the loop
 * for it already); held output is written only at a turn's end. Loop
 * thread; applies to the current turn only. */
#define NET_HOLD_MAX_MS 50 /* 20 until wave 8: a saturated commit's hand-back (10,000+ completions) outlasted it,
                              * 4.4 frames per write at 8 per client write; 50: 6.6-7.1 (docs/BENCHMARKS.md) */
void net_server_hold_output(net_server_t *s);
/* HTTP requests handed to on_http and not yet replied. */
size_t net_server_requests_in_flight(const net_server_t *s);
/* Close every connection (WebSockets with 1001; their on_ws_close runs;
 * HTTP after the replies queued), free the server, then call done(arg).
 * A connection whose peer has not taken its output ws_close_grace_ms after
 * the call is reset (SO_LINGER 0) with that output dropped, so a peer that
 * stopped reading delays done by at most that. Requests still unreplied
 * are orphaned: a later net_req_reply only frees them. */
void net_server_close(net_server_t *s, void (*done)(void *arg), void *arg);

/* ws_writes: write calls (send or sendmsg) on WebSockets that wrote bytes; ws_frames: the
 * WebSocket frames those writes completed (ws_frames / ws_writes = frames
 * per write); fresh_deferred: events of connections still opening (no
 * request served, no WebSocket message yet) left for a later loop turn
 * because the turn's share for them was spent (conn.c); events: connection
 * events the kernel reported (edge-triggered: once per arrival of input or
 * of room for output, not once per turn while a socket stays ready);
 * read_deferred: reads of opened WebSockets, write_deferred: writes of
 * connections with output, and notice_deferred: close notices
 * (on_ws_close), left for a later loop turn because the turn's
 * budget for them was spent; accept_deferred: times accepting stopped
 * because the turn could read no more opening connections (the rest wait
 * in the kernel's accept queue) (src/net/net_int.h, "loop turn budgets"). */
/* turns: the loop turns timed, each from one check phase to the next minus
 * the time the loop was blocked in its poll (uv_metrics_idle_time): its busy
 * time, what a request arriving during it may wait; turns_over_2ms and
 * turns_over_5ms count those busier than 2 and 5 ms, turn_p50_us,
 * turn_p99_us and turn_max_us describe them since the server started
 * (out.c turn_busy). */
typedef struct net_stats {
  /* websockets: the WebSocket sockets held; ws_closing: of them, those
   * whose close began (close frame sent or received, or the peer gone),
   * held until their output is written or their grace ends; the cap
   * (cfg.max_websockets) counts websockets - ws_closing */
  size_t connections, websockets, ws_closing, requests_in_flight;
  uint64_t bytes_in, bytes_out, ws_writes, ws_frames, fresh_deferred, events;
  /* closing WebSockets torn down at the end of their grace (cfg.ws_close_grace_ms,
   * ws_close.c) with output their peer had not taken (dropped) */
  uint64_t ws_close_timeouts;
  /* queued_mem: bytes the output queues hold now (a frame shared by many
   * queues once), queued_mem_max its high-water mark, ws_shed WebSockets
   * shed because it passed cfg.ws_max_queued_total */
  uint64_t queued_mem, queued_mem_max, ws_shed;
  uint64_t read_deferred, write_deferred, notice_deferred, accept_deferred;
  /* upgrades refused at cfg.max_websockets; connections refused because the
   * process was out of descriptors (accepted on the spare descriptor,
   * answered 503 NO_FDS, closed: fdlimit.c); accept pauses (out of
   * descriptors with no spare to refuse on) */
  uint64_t ws_refused_full, refused_no_fd, accept_pauses;
  size_t max_websockets; /* cfg.max_websockets */
  uint64_t turns, turns_over_2ms, turns_over_5ms, turn_p50_us, turn_p99_us, turn_max_us;
} net_stats_t;
void net_server_stats(const net_server_t *s, net_stats_t *out);
/* Upgrade requests read without http-parser since the process started (all
 * servers; loop thread). */
uint64_t net_upgrades_direct(void);

/* ---- HTTP requests (valid from on_http until net_req_reply) --------------- */
const char *net_req_method(const net_req_t *r);   /* "GET", "POST", … */
const char *net_req_path(const net_req_t *r);     /* path without the query */
const char *net_req_query(const net_req_t *r);    /* raw query, "" if none */
/* Percent-decoded value of a query parameter into buf: its length (≥ 0), or
 * -1 if absent, -2 if it does not fit cap or is badly encoded (%00 included). */
int net_req_query_param(const net_req_t *r, const char *name, char *buf, size_t cap);
/* Header value (case-insensitive name), NULL if absent. */
const char *net_req_header(const net_req_t *r, const char *name);
const char *net_req_body(const net_req_t *r, size_t *len);
const char *net_req_remote(const net_req_t *r);   /* "ip:port" */
/* A number naming r's connection while it is open (the same for every
 * request of that connection; another connection opened after it closed may
 * get it again), 0 once the connection is gone (r orphaned: its reply will
 * only free it). For an application that keeps a connection's requests in
 * order while some of them wait. */
uint64_t net_req_conn_id(const net_req_t *r);
/* Answer the request (body copied). extra_headers: NULL or "K: V\r\n"….
 * Replies to pipelined requests go out in request order (an error net
 * answers for a later request waits behind them). If the client is gone
 * the request is just freed. 0, IMC_E_NOMEM, IMC_E_INVAL (headers > 512 B). */
int net_req_reply(net_req_t *r, int status, const char *content_type, const char *body, size_t len,
                  const char *extra_headers);

/* ---- WebSockets ------------------------------------------------------------- */
void net_ws_set_data(net_ws_t *ws, void *data);
void *net_ws_data(const net_ws_t *ws);
/* Queue a text message (copied). IMC_E_SHUTDOWN if the socket is closing;
 * IMC_E_BUSY if the send queue cap is exceeded (the connection is then
 * closed with 1008). */
int net_ws_send_text(net_ws_t *ws, const char *data, size_t len);
/* Encode a text frame once for many receivers (refcount 1). NULL on OOM. */
net_frame_t *net_frame_new_text(const char *data, size_t len);
/* Queue a shared frame (takes a reference). Same errors as send_text. */
int net_ws_send_frame(net_ws_t *ws, net_frame_t *f);
void net_frame_unref(net_frame_t *f);
/* Bytes of the encoded frame (header + payload) each receiver is sent. */
size_t net_frame_bytes(const net_frame_t *f);
/* One shared buffer holding the bytes of n frames back to back (refcount 1;
 * the receiver gets n messages): a batch queued with one reference per
 * receiver. The inputs are not consumed. NULL on OOM or n = 0. */
net_frame_t *net_frame_concat(net_frame_t *const *fs, size_t n);
/* WebSocket messages in f (1 for net_frame_new_text, n for a concat). */
uint32_t net_frame_msgs(const net_frame_t *f);
/* Bytes queued to ws and not yet taken by the kernel. */
size_t net_ws_queued(const net_ws_t *ws);
/* Pause a WebSocket from inside on_ws_text: the message being delivered is
 * its last until net_ws_resume_read. The rest of the input already read
 * stays unparsed (held with the connection, at most one read's bytes) and
 * is handed on first when it resumes; nothing more is read from the socket
 * meanwhile (as for a pause by on_ws_read: its bytes wait in the kernel,
 * and a peer that goes away is noticed). A no-op on a closing connection.
 * Loop thread. */
void net_ws_pause_read(net_ws_t *ws);
/* Read a WebSocket that on_ws_read or net_ws_pause_read paused, in a later
 * loop turn, behind the connections already waiting for a read (the order
 * of the calls is the order of the reads). A no-op if it is not paused.
 * Loop thread. */
void net_ws_resume_read(net_ws_t *ws);
/* Send a close frame, flush, close. on_ws_close follows (later phase). */
int net_ws_close(net_ws_t *ws, uint16_t code, const char *reason);
/* Call on_ws_deadline when ms_from_now passes (0 cancels). Granularity
 * cfg.wheel_tick_ms (250 ms). A connection has one deadline: this replaces any earlier one.
 * When it passes, input that waits in the kernel is read first (it may have
 * arrived while the loop stalled); on_ws_deadline follows unless that read
 * set the deadline again (activity under an idle timeout) or closed. */
void net_ws_set_deadline(net_ws_t *ws, uint32_t ms_from_now);
/* An idle timeout: call on_ws_deadline once the peer has sent nothing for
 * ms — a text message, a ping and a pong each start the period over (net
 * re-arms the deadline itself; RFC 6455 §5.5.2 keep-alive pings count).
 * Sets the deadline to ms from now; 0 turns the idle timeout off (an
 * absolute deadline set with net_ws_set_deadline is not extended by
 * activity unless an idle timeout is on). */
void net_ws_set_idle(net_ws_t *ws, uint32_t ms);
const char *net_ws_remote(const net_ws_t *ws);

/* ---- parsers without sockets (fuzzing, tests) ---------------------------- */
/* Feed bytes to a fresh HTTP connection state machine with default limits;
 * responses are discarded. Returns 0 (consumed), 1 (connection would close). */
int net_fuzz_http(const uint8_t *data, size_t len);
/* Feed bytes to a fresh WebSocket frame parser (after the handshake). */
int net_fuzz_ws(const uint8_t *data, size_t len);

/* ---- socketless connections on a running loop (whole-server fuzzing) ------
 * A server without a listener: the same handlers and the same check-phase
 * work (output, close notices, freeing) on loop; output is discarded and no
 * deadline is armed. It holds at most one connection at a time. Close it
 * with net_server_close like any server. */
int net_server_start_socketless(uv_loop_t *loop, const net_cfg_t *cfg, const net_handlers_t *h, net_server_t **out);
/* Open the connection (an earlier one is dropped first): HTTP, or with ws = 1
 * an accepted WebSocket (on_ws_open runs now). 0 or IMC_E_NOMEM. */
int net_socketless_open(net_server_t *s, int ws);
/* Deliver bytes as one read (at most 64 KiB: the shared read buffer), then,
 * if eof, the peer's half-close. 1 while the connection is open, else 0. */
int net_socketless_feed(net_server_t *s, const void *data, size_t len, int eof);
/* The peer vanishes (a WebSocket's on_ws_close gets 1006). */
void net_socketless_drop(net_server_t *s);
/* The connection if it is an open WebSocket, else NULL. */
net_ws_t *net_socketless_ws(net_server_t *s);

/* sizeof the per-connection struct (reported by benchmarks). */
size_t net_conn_size(void);

#endif
