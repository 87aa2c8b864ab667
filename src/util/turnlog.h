/* turnlog.h — a diagnostic record of the event loop's turns and of the HTTP
 * requests they served, to tell where a slow REST request's time went
 * (docs/operator-api.md "Turn log", docs/decisions/loop-turns.md).
 *
 * Off until imc_turnlog_open: every other call then returns at once (one
 * test of a thread-local pointer). On, it keeps two rings (the newest
 * `turns` turns and `reqs` requests; older ones are overwritten):
 *  - per turn: when it ended (the start of the loop's check phase, as net's
 *    turn busy time counts it), its busy time, and the time and the number
 *    of entries of each phase below (the time of a phase nested in another,
 *    e.g. a login started by a read, counts for the inner one; the time the
 *    loop was blocked in its poll is taken out of IMC_TP_OTHER);
 *  - per HTTP request handed to the application: the peer's port, when the
 *    read that completed it began, when it was handed over, when its reply
 *    was queued and when the last byte of the reply was written, each with
 *    the number of the turn it happened in.
 * imc_turnlog_write prints both to a file. Times are CLOCK_MONOTONIC in ns
 * (uv_hrtime's clock, and bench/rest_probe.c's --timed clock in µs). Each
 * call that marks a phase reads the clock once. State is per thread: the
 * thread that runs the loop is the one that opens it, marks and writes. */
#ifndef IMC_UTIL_TURNLOG_H
#define IMC_UTIL_TURNLOG_H

#include <stddef.h>
#include <stdint.h>

/* What a loop turn spends its time on. */
enum imc_turn_phase {
  IMC_TP_OTHER,        /* libuv and what no phase marks (blocked time taken out) */
  IMC_TP_TIMERS,       /* timer callbacks: net's deadline wheel, the API's tick, change poll, live rooms */
  IMC_TP_EVENTS,       /* net's event pass itself: epoll_wait on the connection set, deferring reads */
  IMC_TP_ACCEPT,       /* accept4 and registering the new connection */
  IMC_TP_READ_FRESH,   /* reads of connections still opening, with what they run (upgrades, first frames) */
  IMC_TP_READ_WS,      /* reads of opened WebSockets, with what they run */
  IMC_TP_READ_HTTP,    /* reads of keep-alive HTTP clients, with the REST handlers they run */
  IMC_TP_LOGINS,       /* WebSocket logins started by the pace (prepare phase), admission resumes */
  IMC_TP_WRITER_IN,    /* the writer's hand-off of the turn's submitted jobs (prepare phase) */
  IMC_TP_WRITER_DONE,  /* the writer's completions (login replies, message acks and pushes) */
  IMC_TP_READER_DONE,  /* the reader pool's completions */
  IMC_TP_NOTICES,      /* close notices (on_ws_close) */
  IMC_TP_WRITE_HTTP,   /* writes of HTTP replies */
  IMC_TP_WRITE_WS,     /* writes of WebSocket output */
  IMC_TP_N
};

/* The phases' names, as imc_turnlog_write prints them. */
extern const char *const imc_turnlog_phase_names[IMC_TP_N];

/* Start recording on this thread: rings of `turns` turns and `reqs` requests
 * (each at least 1). 0, or IMC_E_NOMEM (nothing recorded). Opening again
 * starts over. */
int imc_turnlog_open(size_t turns, size_t reqs);
/* Stop recording on this thread and free the rings. */
void imc_turnlog_close(void);
/* Nonzero while recording on this thread. */
int imc_turnlog_on(void);
/* CLOCK_MONOTONIC in ns. */
uint64_t imc_turnlog_now(void);

/* The loop enters `phase`; returns the phase it was in, for
 * imc_turnlog_leave. Off: returns 0 and does nothing. */
int imc_turnlog_enter(int phase);
void imc_turnlog_leave(int prev);

/* The turn ends at now_ns (the start of the check phase); blocked_ns of it
 * were spent blocked in the poll, busy_ns is the rest since the last end. */
void imc_turnlog_turn_end(uint64_t now_ns, uint64_t busy_ns, uint64_t blocked_ns);

/* An HTTP request is handed to the application: the read that completed it
 * began at read_ns; port is the peer's. Returns its id for the marks below
 * (0 when off: the marks then do nothing). */
uint32_t imc_turnlog_req(uint64_t read_ns, int port);
enum { IMC_TL_QUEUED, IMC_TL_WRITTEN };
/* Request id's reply was queued, or its last byte written, now. */
void imc_turnlog_req_mark(uint32_t id, int what);

/* Write what the rings hold to path (replaced), oldest first:
 *   turn N end_ns=… busy_ns=… blocked_ns=… cpu_ns=… PHASE=ns/entries …
 *   req port=… read_ns=… handed_ns=… queued_ns=… written_ns=… turns=READ,QUEUED,WRITTEN
 * (0 for a time not reached). 0, or IMC_E_IO. */
int imc_turnlog_write(const char *path);

#endif
