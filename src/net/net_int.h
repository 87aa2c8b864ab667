/* net_int.h — what the files of src/net share: the server and connection
 * structs, the write queue and the timer wheel. Loop thread only. */
#ifndef IMC_NET_INT_H
#define IMC_NET_INT_H

#include "net/net.h"

#include <http_parser.h>

#define NET_WHEEL_SLOTS 512
#define NET_WHEEL_TICK_MS 250
#define NET_READ_BUF (64 * 1024)
#define NET_MAX_PIPELINE 32

enum { CONN_HTTP, CONN_WS };

/* One queued output chunk: inline bytes or a shared frame. */
typedef struct wchunk {
  struct wchunk *next;
  net_frame_t *frame;      /* shared bytes, or NULL for inline data */
  size_t len;
  char data[];
} wchunk_t;

struct net_frame { uint32_t refs; uint32_t len; char bytes[]; };

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
} http_scan_t;

typedef struct net_scan_cb {
  void *ud;
  int (*emit)(void *ud, const char *p, size_t n); /* accepted bytes; nonzero stops the scan */
  void (*begin)(void *ud);                        /* first byte of a message */
} net_scan_cb_t;
typedef struct ws_state ws_state_t;      /* ws.c: partial frame + message */

struct net_conn {
  uv_tcp_t tcp;                 /* first: handle ↔ conn */
  net_server_t *srv;
  struct net_conn *next, *prev; /* all connections of the server */
  struct net_conn *tw_next, *tw_prev; /* timer wheel slot list */
  uint64_t deadline_ms;         /* 0 = none */
  wchunk_t *wq_head, *wq_tail;  /* queued, not yet handed to uv_write */
  struct net_conn *flush_next;  /* in the server's to-flush list */
  uint32_t wq_bytes;            /* queued + being written */
  uint16_t close_code;
  uint8_t kind;                 /* CONN_HTTP / CONN_WS */
  uint8_t flags;                /* CF_* */
  union { http_state_t *http; ws_state_t *ws; } u;
  void *data;                   /* application data (WebSocket) */
};

enum {
  CF_FLUSH_LISTED = 1,          /* in srv->flush list */
  CF_CLOSE_AFTER_WRITE = 2,     /* close the socket once the queue is written */
  CF_CLOSED = 4,                /* uv_close called */
  CF_WS_CLOSING = 8,            /* close frame sent or connection dying */
  CF_WS_NOTIFY = 16,            /* on_ws_close pending (in srv->notify list) */
  CF_FAKE = 32,                 /* no socket (fuzzing): output discarded */
  CF_READ_PAUSED = 64,
};

struct net_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_check_t check;             /* flushes queued output, delivers close notices */
  uv_timer_t wheel_timer;
  net_cfg_t cfg;
  net_handlers_t h;
  struct net_conn *conns;       /* all open connections */
  struct net_conn *flush;       /* connections with queued output */
  struct net_conn *wheel[NET_WHEEL_SLOTS];
  struct net_conn **notify;     /* WebSockets awaiting on_ws_close */
  size_t notify_len, notify_cap;
  uint64_t wheel_now_ms;
  int port;
  int listening;
  int closing;                  /* net_server_close called */
  size_t open_handles;          /* conns not yet fully closed */
  size_t requests_in_flight;
  size_t websockets;
  uint64_t bytes_in, bytes_out;
  void (*closed_cb)(void *);
  void *closed_arg;
  char *rbuf;                   /* shared read buffer */
  int rbuf_busy;
};

/* conn.c */
int net__queue(struct net_conn *c, const void *data, size_t len);
int net__queue_frame(struct net_conn *c, net_frame_t *f);
/* Build a chunk in place: allocate room for cap bytes, write into w->data,
 * then queue the first len of them (net__queue_chunk takes ownership; free
 * an unqueued chunk with free()). */
wchunk_t *net__chunk_new(size_t cap);
int net__queue_chunk(struct net_conn *c, wchunk_t *w, size_t len);
void net__close(struct net_conn *c);
void net__resume_read(struct net_conn *c);            /* flush what is queued, then close */
void net__set_deadline(struct net_conn *c, uint64_t at_ms);
uint64_t net__now(net_server_t *s);
void net__notify_ws_close(struct net_conn *c, int code);

/* http.c */
void net__http_feed(struct net_conn *c, char *data, size_t len);
void net__http_free(struct net_conn *c);
void net__http_orphan(struct net_conn *c);       /* connection gone: detach requests */
void net__http_deadline(struct net_conn *c);
void net__http_eof(struct net_conn *c);          /* the client half-closed */
/* Field lines named `name` (case-insensitive): how many; the i-th value. */
size_t net__req_field_count(const net_req_t *r, const char *name);
const char *net__req_field(const net_req_t *r, const char *name, size_t i);
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

/* ws.c */
void net__ws_start(struct net_conn *c, char *rest, size_t len);
void net__ws_feed(struct net_conn *c, char *data, size_t len);
void net__ws_free(struct net_conn *c);

#endif
