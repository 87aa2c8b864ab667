/* net_int.h — what the files of src/net share: the server and connection
 * structs, the write queue and the timer wheel. Loop thread only. */
#ifndef IMC_NET_INT_H
#define IMC_NET_INT_H

#include "net/net.h"
#include "util/hist.h"

#include <http_parser.h>

#define NET_WHEEL_SLOTS 512
#define NET_WHEEL_TICK_MS 250
#define NET_READ_BUF (64 * 1024)
#define NET_MAX_PIPELINE 32
/* HTTP replies queued on a connection past which it is not read (http.c): a
 * pipelining client that never reads holds at most this plus one read's
 * replies. */
#define NET_HTTP_MAX_QUEUED (1u << 20)

/* ---- loop turn budgets -------------------------------------------------------
 * A loop turn (libuv) runs: timers (the deadline wheel), idle (on_again:
 * input left by earlier turns), prepare (src/api/ws_pace.c: WebSocket
 * logins), poll (on_events: new input; the writer's completions,
 * src/store/writer.c on_wake), check (net__on_check: the turn's writes).
 * Every phase whose work grows with a storm of connections stops at a
 * budget and leaves the rest, in order, ahead of newer work, for the next
 * turns, and a turn that leaves work does not block in the poll. A request
 * that arrives during a storm then waits for about one turn of budgets,
 * not for the storm: a REST client's p99 was 9-33 ms during a 2,048-deep
 * login storm with the server core half idle, behind check phases of up to
 * 24 ms and input batches of up to 14 ms (docs/decisions/loop-turns.md).
 * The timers run before any input of the turn is read: a request deadline
 * that finds the request's input in the kernel reads it first, once per
 * request (http.c read_late), and an idle deadline reads it before it
 * closes (conn.c net__read_late).
 * The budgets of a turn, all in one place:
 *   input of opening connections  NET_FRESH_PER_TURN reads, and
 *   input of opening connections and opened WebSockets  cfg.read_turn_us
 *   accepts                       while the two above last (a connection
 *                                 accepted is read at once); the rest wait
 *                                 in the kernel's accept queue
 *   logins started                ws_logins_per_turn, ws_login_turn_us (config)
 *   writer completions            STORE_WRITER_DONE_PER_TURN, STORE_WRITER_DONE_TURN_US
 *   close notices (on_ws_close)   cfg.notices_per_turn, cfg.notice_turn_us
 *   writes of WebSockets          cfg.writes_per_turn, cfg.write_turn_us (HTTP
 *                                 replies, written first, count against it)
 * Each counts from the turn's first item, which always runs (progress).
 * Keep-alive HTTP clients (opened, not WebSockets) are read whenever the
 * kernel reports them, and once more at the end of the check phase
 * (net__take_http), and their replies are all written in the check phase
 * that has them, first: REST is what a storm must not starve, and its
 * rate is capped per app before any work. A REST request then waits for
 * at most about one turn: the rest of the turn it arrives in.
 *
 * Events: connections are registered edge-triggered (EPOLLET): the kernel
 * reports a socket once when input arrives, in the order sockets became
 * ready. One wait takes up to NET_EPOLL_BATCH events. Reads of connections
 * still opening (CF_FRESH: accepted, no request served and no WebSocket
 * message yet) take at most NET_FRESH_PER_TURN per turn, and reads of
 * opening connections and opened WebSockets together stop once they took
 * cfg.read_turn_us in the turn; the others wait in srv->again (a FIFO,
 * CF_AGAIN), which the next turn reads first. A read that fills the shared
 * buffer may have left input behind: the connection goes to srv->again too
 * (an edge is not repeated). Level-triggered, every wait re-polled each
 * ready socket it reported, the deferred ones included: up to 512 polls per
 * turn for 64 handled, a tenth of the server's CPU in a login storm. */
#define NET_EPOLL_BATCH 512
#define NET_FRESH_PER_TURN 64

/* One queued output chunk: inline bytes or a shared frame. */
typedef struct wchunk {
  struct wchunk *next;
  net_frame_t *frame;      /* shared bytes, or NULL for inline data */
  uint32_t len;
  uint32_t small;          /* inline, with room for NET_SMALL_CHUNK bytes: kept for reuse (out.c) */
  char data[];
} wchunk_t;

/* A connection's output; exists only while bytes are queued. */
typedef struct net_out {
  wchunk_t *head, *tail;
  uint32_t bytes;          /* queued and not yet written */
  uint32_t off;            /* bytes of head already written */
} net_out_t;

/* msgs: WebSocket frames in bytes; small: room for NET_SMALL_FRAME bytes,
 * kept for reuse once unreferenced (ws.c); queued: connection queues that
 * hold it (its bytes count once in the server's queued_mem while any does) */
struct net_frame {
  uint32_t refs, len, msgs, small, queued, spare;
  char bytes[];                  /* 8-aligned (24-byte header): the frame pool links frames through their first
                                    bytes, and LeakSanitizer sees only aligned pointers */
};
#define NET_SMALL_FRAME 488       /* with the header, 512 bytes */

typedef struct http_state http_state_t;  /* http.c: parser + request being read */

/* http_strict.c: the RFC 9112 scanner's state for the message being read. */
typedef struct http_scan {
  char *line;                   /* a line cut by a read boundary, or NULL */
  uint32_t line_len, line_cap;
  uint32_t head_bytes;          /* header (or trailer) section so far */
  uint64_t left;                /* Content-Length / chunk-data bytes still to come */
  uint64_t body_total;          /* chunked: sum of chunk sizes */
  uint32_t te_codings, te_chunked;
  uint8_t mode, minor, crlf, started;
  uint8_t n_host, n_cl, n_te, te_last_chunked, te_unknown;
  uint8_t te_line;              /* the Transfer-Encoding line just checked: HS_TE_* (http_strict.c) */
} http_scan_t;

typedef struct net_scan_cb {
  void *ud;
  int (*emit)(void *ud, const char *p, size_t n); /* accepted bytes; nonzero stops the scan */
  void (*begin)(void *ud);                        /* first byte of a message */
} net_scan_cb_t;

typedef struct ws_state ws_state_t;      /* ws.c: partial frame + message */

/* A connection: 64 bytes, no libuv handle. Its socket is registered in the
 * server's own epoll set (one uv_poll_t watches that set), so an idle
 * connection costs this struct, one slot of the server's fd table and the
 * kernel's socket. Freed at the end of the loop turn in which it was closed
 * (after its on_ws_close), never inside a callback. An HTTP connection
 * closing after a reply lingers (linger.c): its HTTP state is freed and the
 * union below marks the state instead (u.linger), and its byte budget
 * takes the WebSocket-only idle_ms, so lingering costs no field. */
struct net_conn {
  net_server_t *srv;
  struct net_conn *tw_next, *tw_prev; /* timer wheel slot list; once closed, tw_next links srv->dead */
  net_out_t *out;               /* queued output, NULL when none */
  union {
    http_state_t *http;         /* HTTP: NULL until its first input */
    ws_state_t *ws;             /* CF_WS */
    const char *linger;         /* HTTP lingering: &net__linger_mark (net__lingering) */
  } u;
  void *data;                   /* application data (WebSocket) */
  uint32_t deadline_tick;       /* wheel tick of the deadline, 0 = none */
  union {
    uint32_t idle_ms;           /* WebSocket idle timeout re-armed by peer activity, 0 = none */
    uint32_t linger_left;       /* HTTP lingering: bytes it may still discard (NET_LINGER_BYTES at the start) */
    uint32_t acked;             /* HTTP: the low 32 bits of what its peer had acknowledged at its last keep-alive
                                   deadline with output waiting (http.c client_took) */
    uint32_t close_acked;       /* WebSocket closing (CF_WS_CLOSING): its close's progress (ws_close.c) */
  };
  int fd;                       /* -1 without a socket (fuzzing) */
  uint16_t close_code;
  uint16_t flags;               /* CF_* */
};

enum {
  CF_FLUSH_LISTED = 1,          /* in srv->flush or srv->flush_http (a listed closed one is freed only once
                                   the write-out takes it off the list: out.c) */
  CF_CLOSE_AFTER_WRITE = 2,     /* close the socket once the queue is written */
  CF_CLOSED = 4,                /* socket closed; freed at the end of the loop turn */
  CF_WS_CLOSING = 8,            /* close frame sent or connection dying */
  CF_WS_NOTIFY = 16,            /* on_ws_close pending (in srv->notify) */
  CF_FAKE = 32,                 /* no socket (fuzzing): output discarded */
  CF_READ_PAUSED = 64,          /* HTTP pipeline full: reading resumes when it drains */
  CF_WS = 128,                  /* a WebSocket (else HTTP) */
  CF_READING = 256,             /* wants EPOLLIN */
  CF_WANT_OUT = 512,            /* output blocked: wants EPOLLOUT */
  CF_EV_IN = 1024,              /* EPOLLIN registered */
  CF_EV_OUT = 2048,             /* EPOLLOUT registered */
  CF_FRESH = 4096,              /* still opening: no HTTP request handed to the application and no WebSocket
                                   message received yet; its events share a budget per loop turn (conn.c) */
  CF_AGAIN = 8192,              /* in srv->again: input to read in a later turn (conn.c) */
  CF_PAUSED = 16384,            /* WebSocket paused by on_ws_read: not read until net_ws_resume_read (the epoll
                                   registration stays: no system call either way) */
  CF_PEER_GONE = 32768,         /* WebSocket: epoll reported the peer's FIN or a reset (EPOLLRDHUP/HUP/ERR); one
                                   that on_ws_read would pause is closed instead (conn.c on_readable, read_now) */
};

enum { NET_LOG_WS_FULL, NET_LOG_NO_FD, NET_LOG_PAUSE, NET_LOG_KINDS }; /* fdlimit.c limit_log's kinds */

struct net_server {
  uv_loop_t *loop;
  uv_poll_t ep_poll;            /* watches ep */
  uv_check_t check;             /* flushes output, delivers close notices, frees closed connections */
  uv_timer_t wheel_timer;
  int ep;                       /* the server's epoll set: listener + every connection */
  int lfd;                      /* listening socket, -1 once stopped */
  net_cfg_t cfg;
  net_handlers_t h;
  struct net_conn **by_fd;      /* open connections by socket */
  size_t by_fd_cap, nconns;
  struct net_conn **flush;      /* WebSockets with output to write this turn, in listing order: the
                                   entries from flush_head to flush_len (those before were written) */
  size_t flush_head, flush_len, flush_cap;
  struct net_conn **flush_http; /* HTTP connections with output (written first), in listing order */
  size_t flush_http_len, flush_http_cap;
  struct net_conn *wheel[NET_WHEEL_SLOTS];
  struct net_conn **notify;     /* WebSockets awaiting on_ws_close, oldest first (the budget leaves the
                                   newest for later turns; a listed one is not in dead, never freed) */
  size_t notify_len, notify_cap;
  struct net_conn *dead;        /* closed, freed at the end of on_check (one whose close notice waits joins
                                   after its notice) */
  uint64_t t0_ms;               /* loop time of wheel tick 1 */
  uint32_t wheel_tick;          /* last tick the wheel has processed */
  int port;
  int listening;
  int accept_paused;            /* out of descriptors: accepting resumes on the next wheel tick */
  int spare_fd;                 /* a /dev/null given up to accept a client and refuse it when out of descriptors
                                   (fdlimit.c); -1 when not held */
  uint64_t ws_refused_full, refused_no_fd, accept_pauses; /* net_stats_t */
  uint64_t limit_log_ms[NET_LOG_KINDS], limit_logged[NET_LOG_KINDS]; /* fdlimit.c limit_log: last line, count then */
  int closing;                  /* net_server_close called (then 1 + server handles still closing) */
  size_t open_handles;          /* connections not yet freed */
  size_t requests_in_flight;
  size_t websockets;
  size_t ws_closing;            /* of websockets, those whose close began (CF_WS_CLOSING): outside the cap (fdlimit.c) */
  size_t lingering;             /* HTTP connections lingering (linger.c), counted in nconns too */
  uint64_t bytes_in, bytes_out;
  uint64_t ws_writes, ws_frames; /* write calls (send or sendmsg) on WebSockets that wrote bytes; frames they completed */
  size_t stop_resets;           /* connections reset at the stop's grace with output queued (conn.c fire) */
  uint64_t ws_close_timeouts;   /* closing WebSockets torn down with output their peer had not taken (conn.c fire) */
  /* Memory the connections' output queues hold: inline chunks' bytes, and
   * each shared frame's bytes once however many queues hold it (out.c);
   * its high-water mark; WebSockets shed (closed, their unsent output
   * dropped) because it passed cfg.ws_max_queued_total (ws.c). */
  uint64_t queued_mem, queued_mem_max, ws_shed;
  uint64_t fresh_deferred;      /* events of opening connections left for a later turn (on_events) */
  uint64_t events;              /* connection events epoll reported (one per edge) */
  struct net_conn **again;      /* connections with input to read in a later turn, oldest first; a closed
                                   one's slot is NULL (really_close) */
  size_t again_len, again_cap;
  uv_idle_t again_idle;         /* active while again is not empty: the loop comes round without new events */
  uv_idle_t out_idle;           /* active while the write budget left output listed: the poll does not block */
  int fresh_left;               /* events of opening connections still to handle in this loop turn */
  int http_only;                /* in the check phase's pass (net__take_http): only keep-alive HTTP is read */
  uint64_t read_at_ns;          /* when the latest read began (only while the turn log records: util/turnlog.h) */
  uint64_t read_ns;             /* time the budgeted reads (and accepts) took in this loop turn (cfg.read_turn_us) */
  unsigned turn_accepts;        /* accept calls in this loop turn */
  uint64_t read_deferred;       /* reads of opened WebSockets left for a later turn (cfg.read_turn_us) */
  uint64_t write_deferred;      /* connections' writes left for a later turn by the write budget */
  /* the loop's busy time per turn (out.c turn_busy): from one check phase to
   * the next, minus the time blocked in the poll (uv_metrics_idle_time) */
  uint64_t turn_at_ns, turn_idle_ns; /* the previous check phase's start and the loop's idle time then */
  uint64_t turns_over_2ms, turns_over_5ms;
  imc_hist_t turn_busy;
  uint64_t notice_deferred;     /* close notices left for a later turn by the notice budget */
  uint64_t accept_deferred;     /* listener events whose accepting stopped at the turn's opening budget */
  void (*closed_cb)(void *);
  void *closed_arg;
  char *rbuf;                   /* shared read buffer */
  struct net_conn *socketless;  /* the open socketless connection (net_socketless_open), or NULL */
  net_out_t *out_pool;          /* drained write queues kept for reuse (linked by head), at most NET_POOL_MAX */
  wchunk_t *ref_pool;           /* chunks of shared frames kept for reuse (linked by next), at most NET_CHUNK_POOL_MAX */
  wchunk_t *small_pool;         /* small inline chunks kept for reuse (linked by next), at most NET_CHUNK_POOL_MAX */
  uint32_t out_pooled, ref_pooled, small_pooled;
  struct net_conn *dl_watch;    /* net__read_late's connection: net__set_deadline on it sets dl_touched */
  int dl_touched;
  int hold_output;              /* net_server_hold_output called in this turn */
  uint64_t held_since_ms;       /* loop time of the first turn whose WebSocket output is held, 0 = none held */
};

/* ---- lingering close (linger.c) ----------------------------------------------
 * An HTTP connection the server closes after a reply (an error reply, or
 * one to a request without keep-alive) while the client may still be
 * sending (a body the server refused, the rest of a pipeline) is not closed
 * at once: closing a socket with unread input makes the kernel answer with
 * a reset, which destroys the reply before the client has read it (a client
 * that sends its whole body before reading sees ECONNRESET, not the 413).
 * Once its reply is written the server shuts down its sending side (the
 * client reads the reply, then EOF) and reads and discards input until the
 * client closes, NET_LINGER_BYTES are discarded or NET_LINGER_MS pass,
 * whichever comes first (Apache's lingering close, nginx's lingering_time
 * and lingering_timeout). A lingering connection holds its descriptor and
 * its 64-byte struct (its HTTP state is freed) and counts in nconns as any
 * connection; out of descriptors, accepting closes every lingering
 * connection at once (net__linger_reap). Not while the server is closing,
 * and not for a client that half-closed (nothing of it is unread). When
 * NET_LINGER_MS pass, what waits in the kernel is read first (a loop that
 * stalled past the deadline has not read what the client sent meanwhile):
 * if there was some, the client was still sending and the connection gets
 * one more NET_LINGER_MS, once (NET_LINGER_LATE, a bit of linger_left); else
 * it is closed with nothing unread, which sends no reset (decision 83). */
#define NET_LINGER_MS 2000
#define NET_LINGER_BYTES (1u << 20)
#define NET_LINGER_LATE (1u << 31) /* linger_left: its deadline was extended once */
extern const char net__linger_mark;
static inline int net__lingering(const struct net_conn *c)
{
  return !(c->flags & CF_WS) && c->u.linger == &net__linger_mark;
}
/* c's output is written and it was to close (CF_CLOSE_AFTER_WRITE): start
 * lingering if it is an HTTP connection whose reply must survive
 * (net__http_wants_linger). 1 if it lingers now (open, reading), 0 if the
 * caller closes it. */
int net__linger_start(struct net_conn *c);
/* n bytes read from lingering c were dropped: closes it once its budget is spent. */
void net__linger_discard(struct net_conn *c, size_t n);
/* Lingering c's deadline passed (conn.c fire): what waits in the kernel is
 * read first; c is closed, or given one more NET_LINGER_MS once (decision 83). */
void net__linger_due(struct net_conn *c);
/* fdlimit.c: the spare descriptor (opened when the server starts listening,
 * closed when it stops); net__ws_full: 1 if an upgrade now would pass
 * cfg.max_websockets (counted and logged as refused); net__refuse_no_fd, out
 * of descriptors: accept one waiting client on the spare's slot and answer
 * it 503 NO_FDS: 1 if one was refused, -1 if none was waiting, 0 if there is
 * no spare (the caller pauses accepting). */
void net__fd_spare_open(net_server_t *s);
/* The "accept paused" line, at most one a second with the pauses since the last (fdlimit.c). Call after
 * accept_pause counted the pause. */
void net__pause_log(net_server_t *s, int err);
void net__fd_spare_close(net_server_t *s);
int net__ws_full(net_server_t *s);
int net__refuse_no_fd(net_server_t *s);
/* Close every lingering connection now (out of descriptors). Returns how many. */
size_t net__linger_reap(net_server_t *s);
/* http.c: whether c's HTTP state asks for a lingering close (a reply that
 * closes the connection was queued, and the client has not half-closed). */
int net__http_wants_linger(const struct net_conn *c);

/* conn.c: descriptors, input, closing. net__update_events makes the
 * epoll registration match CF_READING / CF_WANT_OUT; net__conn_free frees
 * a closed connection (end of turn); net__turn_end resets the turn's input
 * budgets (called once per turn, at the end of net__on_check). */
void net__update_events(struct net_conn *c);
/* fdtable.c: size the process's descriptor table for want descriptors
 * (at most the RLIMIT_NOFILE soft limit) now, so that no accept4() of the
 * loop grows it later (net_cfg_t fd_table). Returns the size asked of the
 * kernel, 0 when nothing was done (want 0, or it failed). */
unsigned net__fd_table_reserve(unsigned want);
/* loopslice.c: ask the kernel's fair scheduler for a time slice of us µs
 * for the calling thread only (net_cfg_t loop_slice_us), its nice value
 * kept. Returns the slice in ns the kernel reports for it afterwards
 * (/proc/self/task/TID/sched se.slice), 0 when nothing was done (us 0, the
 * call failed, or the kernel shows no slice). */
uint64_t net__loop_slice_set(unsigned us);
void net__conn_free(struct net_conn *c);
void net__turn_end(net_server_t *s);
/* conn.c: the check phase's input pass (out.c net__on_check, after the
 * write-out): keep-alive HTTP clients whose input the kernel reports now
 * are read (their replies queued for this check phase's HTTP write-out);
 * other input the pass meets goes to srv->again for the next turn, first,
 * with no budget spent on it, and the listener waits for the next turn. */
void net__take_http(net_server_t *s);

/* out.c: the write queue. net__list_flush lists c for the turn's write-out
 * (not listed on OOM: it is written at its next output or EPOLLOUT);
 * net__flush_one writes c's queue now (until done or EAGAIN); net__out_free
 * drops what is queued. */
void net__list_flush(struct net_conn *c);
void net__flush_one(struct net_conn *c);
void net__free_later(struct net_conn *c);  /* a closed connection off every list: freed at the turn's end */
void net__out_free(struct net_conn *c);
int net__queue(struct net_conn *c, const void *data, size_t len);
int net__queue_frame(struct net_conn *c, net_frame_t *f);
/* Build a chunk in place: room for cap bytes (at most UINT32_MAX), write
 * into w->data, then queue the first len of them (net__queue_chunk takes
 * ownership; an unqueued chunk goes back with net__chunk_drop). A chunk of
 * at most NET_SMALL_CHUNK bytes (a reply) comes from the server's list of
 * them and returns there once written. */
#define NET_SMALL_CHUNK 232       /* with the header, 256 bytes */
wchunk_t *net__chunk_new(net_server_t *s, size_t cap);
void net__chunk_drop(net_server_t *s, wchunk_t *w);
int net__queue_chunk(struct net_conn *c, wchunk_t *w, size_t len);
void net__close(struct net_conn *c);                  /* flush what is queued, then close */
/* The turn end (out.c) and teardown (conn.c), shared with conn_fuzz.c (connections
 * without a socket): net__on_check writes out what the turn queued, runs
 * close notices and frees closed connections (the check handle's callback);
 * net__really_close closes the socket now (what is still queued is not
 * written; the struct is freed at the end of the turn); net__dead_peer does
 * that for a peer that is gone, after a WebSocket's close notice; net__pools_drain frees the output pools;
 * net__tick_now is the timer wheel's current tick. */
void net__on_check(uv_check_t *h);
void net__really_close(struct net_conn *c);
void net__dead_peer(struct net_conn *c);
void net__pools_drain(net_server_t *s);
uint32_t net__tick_now(const net_server_t *s);
void net__resume_read(struct net_conn *c);
void net__read_stop(struct net_conn *c);
void net__read_later(struct net_conn *c);            /* read c in a later turn, behind those waiting (conn.c) */
void net__out_pending(net_server_t *s);            /* output was queued outside the poll phase: the next poll must not block (out.c) */
/* conn.c: if the kernel holds input of c (FIONREAD) and c is reading, read
 * it now (one read, outside the turn's budgets; more left goes to
 * srv->again) and return 1: c may then be answered, paused, re-armed or
 * closed. 0 if nothing waits or c is not reading. For a deadline that finds
 * the input it waited for already in the kernel (http.c read_late). */
int net__read_waiting(struct net_conn *c);
/* conn.c: c's deadline is due (fire: off the wheel) and what it waits for
 * may be in the kernel, arrived while the loop stalled past it: read that
 * now (net__read_waiting). 1 if the read settled c's deadline (armed or
 * cancelled one: the peer's activity, a request begun or answered) or
 * closed c; 0 if nothing waited, c is not reading, or the read left its
 * deadline alone: the deadline's action is due (decision 71). */
int net__read_late(struct net_conn *c);
/* conn.c: read what waits in the kernel for c (net__read_waiting), at most
 * max_reads reads (each up to NET_READ_BUF), stopping once c closes or
 * nothing waits: before a deadline closes c, so that no input the peer sent
 * (while the loop stalled) is left unread, which would make the kernel
 * answer with a reset that destroys the output the peer has not read yet
 * (decision 83). 1 if it read anything. */
int net__read_drain(struct net_conn *c, unsigned max_reads);
/* ws_close.c: the grace of a closing WebSocket (cfg.ws_close_grace_ms,
 * decision 83). net__ws_close_start: the close began (net__notify_ws_close
 * arms the deadline): note what the peer has acknowledged so far.
 * net__ws_close_due: its deadline passed (conn.c fire): 1 if it was re-armed
 * (the peer took output during the period: its queue still drains), 0 if
 * the caller tears it down now (input that waited was read first). */
void net__ws_close_start(struct net_conn *c);
static inline uint32_t net__ws_grace_ms(const net_server_t *s)
{
  return s->cfg.ws_close_grace_ms ? s->cfg.ws_close_grace_ms : NET_WS_CLOSE_GRACE_MS;
}
int net__ws_close_due(struct net_conn *c);
/* tcp_out.c: the kernel's word on the output of socket fd: *unacked, the
 * bytes it holds that the peer has not acknowledged; *acked, the bytes the
 * peer acknowledged since the connection began. 0, or -1 when the kernel
 * cannot say. */
int net__tcp_out(int fd, uint32_t *unacked, uint64_t *acked);
uint32_t net__queued(const struct net_conn *c);       /* output bytes not yet written */
/* What queueing f (or len inline bytes when f is NULL) would add to the
 * server's queued_mem: 0 for a frame some queue holds already. */
uint64_t net__queued_mem_add(const net_frame_t *f, size_t len);
/* Drop c's unsent output, except a chunk already partly written. */
void net__out_drop(struct net_conn *c);
/* "ip:port" or "[ipv6]:port" of the peer into buf (cap >= NET_PEER_MAX); "?" if unknown. */
#define NET_PEER_MAX 56
const char *net__peer_name(const struct net_conn *c, char *buf, size_t cap);
void net__set_deadline(struct net_conn *c, uint64_t at_ms);
uint64_t net__now(net_server_t *s);
void net__notify_ws_close(struct net_conn *c, int code);

/* http.c */
/* The body of an error net answers itself (http.c): the v4 envelope, or the operator API's shape when plain
 * ({"error":{"code","message"}}); the message is err's text, ": why" after it when why is given. Its length, 0 if
 * it does not fit cap (an empty body). */
int net__error_body(char *body, size_t cap, int err, const char *why, int plain);
void net__http_feed(struct net_conn *c, char *data, size_t len);
void net__http_free(struct net_conn *c);
void net__http_orphan(struct net_conn *c);       /* connection gone: detach requests */
void net__http_deadline(struct net_conn *c);
void net__http_written(struct net_conn *c);      /* its queue was written out: reading resumes if it paused for room; the turn log's mark (util/turnlog.h) */
void net__http_eof(struct net_conn *c);          /* the client half-closed */
/* Field lines named `name` (case-insensitive): how many; the i-th value. */
const char *net__req_field(const net_req_t *r, const char *name, size_t i);
/* The field line after offset *off (0 for the first): its lower-case name,
 * *value set and *off advanced; NULL after the last. One pass over the
 * request's header block, in arrival order. */
const char *net__req_field_next(const net_req_t *r, size_t *off, const char **value);
int net__req_minor(const net_req_t *r);          /* HTTP/1.minor */

/* http_strict.c: scan len bytes; accepted bytes go to cb->emit in order.
 * Returns 0 (all consumed, or emit stopped it: *used says how far), or the
 * HTTP status of the first violation with *why (static text). */
int net__scan(http_scan_t *s, const net_cfg_t *cfg, const char *data, size_t len, const net_scan_cb_t *cb, size_t *used,
              const char **why);
int net__scan_idle(const http_scan_t *s);       /* between messages */
void net__scan_free(http_scan_t *s);

/* ws_handshake.c: check an upgrade request against RFC 6455 §4.2.1. Returns
 * 0 with accept_out (29+ bytes) filled, or the HTTP status to answer with a
 * reason *why and extra header lines *extra (or NULL). */
int net__ws_check(const net_req_t *r, const char *ws_path, char *accept_out, const char **why, const char **extra);

/* ws_frame.c: RFC 6455 frame headers and masking (pure).
 * net__ws_head reads the header of a client frame at h (avail bytes there)
 * and refuses what §5.2 forbids: returns NET_WS_HEAD_OK with *out filled,
 * NET_WS_HEAD_MORE when the header is incomplete (the payload is not
 * checked: the frame is complete when avail >= head_len + payload_len), or a
 * refusal, whose close code and reason net__ws_refusal gives (static text).
 * net__ws_unmask XORs p[0..n) in place with the frame's mask.
 * net__ws_head_put writes the header of a final, unmasked server frame of
 * len payload bytes at dst (room for NET_WS_HEAD_MAX) and returns its length. */
enum { NET_WS_HEAD_OK, NET_WS_HEAD_MORE, NET_WS_HEAD_RSV, NET_WS_HEAD_UNMASKED, NET_WS_HEAD_CONTROL,
       NET_WS_HEAD_NONMINIMAL, NET_WS_HEAD_TOO_BIG };
#define NET_WS_HEAD_MAX 10
typedef struct {
  uint8_t fin, op, mask[4];
  size_t head_len;              /* header bytes, mask included */
  uint64_t payload_len;
} net_ws_head_t;
int net__ws_head(const uint8_t *h, size_t avail, uint64_t max, net_ws_head_t *out);
void net__ws_refusal(int res, uint16_t *code, const char **why);
void net__ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4]);
size_t net__ws_head_put(int opcode, size_t len, uint8_t *dst);

/* ws.c */
void net__ws_start(struct net_conn *c, char *rest, size_t len);
void net__ws_feed(struct net_conn *c, char *data, size_t len);
/* Parse the input a net_ws_pause_read left unparsed (its frames come before
 * anything read later); 1 if there was some (the connection may be paused
 * again, or closing, afterwards), 0 if none. */
int net__ws_feed_held(struct net_conn *c);
void net__ws_free(struct net_conn *c);

#endif
