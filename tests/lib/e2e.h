/* e2e.h — helpers for end-to-end tests: start the real `imcloud serve` on an
 * ephemeral port with a temporary data directory, run CLI commands against
 * the same directory, and talk to the server over real sockets (raw bytes,
 * HTTP/1.1, a minimal blocking WebSocket client). Test-only; blocking I/O with
 * timeouts; aborts the test (cmocka fail) on setup failures. */
#ifndef IMC_TESTS_E2E_H
#define IMC_TESTS_E2E_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef struct e2e_server {
  pid_t pid;
  int port;
  char dir[256];       /* data directory (mkdtemp) */
  char log_path[300];  /* server stderr */
  char bin[512];
} e2e_server_t;

/* Binary under test: $IMCLOUD_BIN or build/imcloud. */
const char *e2e_bin(void);
/* Make a fresh data directory in srv->dir (no server yet). */
void e2e_dir_init(e2e_server_t *srv);
/* Start `imcloud serve` on srv->dir with extra args (NULL-terminated list,
 * may be NULL). Waits until it listens. Returns 0 or -1. */
int e2e_server_start(e2e_server_t *srv, const char *const *extra_args);
/* SIGTERM and wait; returns the exit status (or 128+signal). */
int e2e_server_stop(e2e_server_t *srv);
/* Wait for a server already signalled to exit (30 s at most, then SIGKILL and -1): as e2e_server_stop. */
int e2e_server_wait_exit(e2e_server_t *srv);
/* SIGKILL and wait. */
void e2e_server_kill(e2e_server_t *srv);
/* Remove the data directory. */
void e2e_dir_remove(e2e_server_t *srv);
/* The usual cmocka group setup: fresh data directory, an app in `region`
 * when sdkappid is non-NULL (key: 65+ bytes), then the server with
 * extra_args. Prints the server log when it does not start. 0 or -1. */
int e2e_start(e2e_server_t *srv, const char *region, uint32_t *sdkappid, char *key, const char *const *extra_args);
/* The matching teardown: SIGTERM (must exit 0), remove the directory. 0 or -1. */
int e2e_finish(e2e_server_t *srv);
/* Test hook IMCLOUD_TEST_SYNC_HOLD (src/store/store_writer.h): while the
 * hold file exists the server's sync thread syncs nothing, so no writer job
 * completes. e2e_start with the hook set to /tmp/imcloud-<tag>-hold-<pid>
 * (written to hold, cap bytes; the file removed, so the server starts
 * unheld); the variable is unset again once the server runs, so only this
 * server (and the CLI of its setup) sees it. 0 or -1. */
int e2e_start_sync_held(e2e_server_t *srv, char *hold, size_t cap, const char *tag, const char *region,
                        uint32_t *sdkappid, char *key, const char *const *extra_args);
/* The same for the reader pool's hook IMCLOUD_TEST_READER_HOLD (src/store/store_reader.h): while the file
 * /tmp/imcloud-<tag>-rhold-<pid> exists no reader thread takes a job; held and released with e2e_sync_hold. */
int e2e_start_reader_held(e2e_server_t *srv, char *hold, size_t cap, const char *tag, const char *region,
                          uint32_t *sdkappid, char *key, const char *const *extra_args);
/* Its first step alone, for a setup of the caller's (e2e_op.h op_start_sync_held): the hook's file named in
 * hold (removed) and the variable set; unsetenv("IMCLOUD_TEST_SYNC_HOLD") once the server runs. */
void e2e_sync_hold_env(char *hold, size_t cap, const char *tag);
/* Hold (on = 1: create the file) or release (on = 0: remove it) the sync of
 * a server started by e2e_start_sync_held. Exits the test when the file
 * cannot be created. */
void e2e_sync_hold(const char *hold, int on);
/* Let a server started with IMCLOUD_TEST_READER_STEPS=path take reader jobs up to n, counted from its start (the
 * file replaced whole, by a rename). Exits the test when it cannot be written. */
void e2e_reader_steps(const char *path, long long n);
/* Run `imcloud ARGS --data DIR` (a shell command line fragment); capture
 * stdout into out (NUL-terminated). Returns the exit status. */
int e2e_cli(const e2e_server_t *srv, char *out, size_t cap, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
/* Create a customer and an app via the CLI; fills sdkappid and key (65 B). */
void e2e_make_app(const e2e_server_t *srv, const char *region, uint32_t *sdkappid, char *key);
/* The same, the app dated created (YYYY-MM-DD; NULL: now): a server on a test
 * clock that starts earlier than the wall clock can then take its orders
 * (an order dated before the app's creation is refused). */
void e2e_make_app_at(const e2e_server_t *srv, const char *region, const char *created, uint32_t *sdkappid, char *key);
/* Top up customer's wallet (1,000,000 yuan) and upgrade the app to the Ultimate edition (CLI, before the server
 * starts or while it runs). 0, or the failing command's exit status. */
int e2e_app_ultimate(const e2e_server_t *srv, int64_t customer, uint32_t sdkappid);
/* Server log contents (malloc'd, caller frees). */
char *e2e_server_log(const e2e_server_t *srv);
/* A whole file's contents, NUL-terminated (malloc'd, caller frees); NULL when it cannot be read. */
char *e2e_slurp(const char *path);

/* Runs of the server's job `job` ("retention_purge", "day", …) its log
 * holds: lines msg="job ran" job=JOB. */
int e2e_job_runs(const e2e_server_t *srv, const char *job);
/* Wait up to 10 s, polling the log, until srv has logged k more runs of
 * job than when called. With k = 2 after a change, a whole run began after
 * it (the first may have been under way). 0, or -1 on timeout. */
int e2e_wait_job_runs(const e2e_server_t *srv, const char *job, int k);

/* Connect to 127.0.0.1:port; returns fd or -1. */
/* Milliseconds of the monotonic clock: for the durations a test waits or measures. */
uint64_t e2e_now_ms(void);
/* Sleep ms milliseconds (a poll's pause between two looks at what the server did). */
void e2e_sleep_ms(int ms);
int e2e_connect(int port);
/* A loopback connection whose receive buffer is small (4 KiB) from the start
 * (set before connect: shrinking it after the window was advertised makes
 * the kernel drop data and wait on retransmissions) and whose sends time
 * out after 2 s: a peer that reads slowly, to fill the server's queues. */
int e2e_connect_small(int port);
/* Send all bytes. 0 or -1. */
int e2e_send(int fd, const void *buf, size_t len);
/* Read until the peer closes, cap-1 bytes are in, or timeout_ms passes with
 * nothing new. Returns bytes read (NUL-terminated). */
size_t e2e_recv_all(int fd, char *buf, size_t cap, int timeout_ms);
/* Read one HTTP/1.1 response (headers + Content-Length body) from fd.
 * Returns the status code, -1 on error; body copied to body (NUL-terminated). */
int e2e_http_read(int fd, char *body, size_t cap, int timeout_ms);
/* One request on a fresh connection: returns status, body in `body`. */
int e2e_http(int port, const char *method, const char *target, const char *headers, const char *req_body,
             char *body, size_t cap);
/* The same, waiting up to timeout_ms for the reply (e2e_http: 5 s). */
int e2e_http_timeout(int port, const char *method, const char *target, const char *headers, const char *req_body,
                     char *body, size_t cap, int timeout_ms);
/* POST to /v4/<svc_cmd> as `identifier` with a fresh UserSig for the app. */
int e2e_v4(int port, uint32_t sdkappid, const char *key, const char *identifier, const char *svc_cmd,
           const char *json_body, char *body, size_t cap);

/* WebSocket: handshake on path; returns fd or -1. */
int e2e_ws_connect(int port, const char *path);
/* Its two halves on a connected fd: send the upgrade request (0 or -1),
 * then read the 101 (0, or -1 when it is not one within 5 s). For a
 * handshake sent while the server is stopped, or on e2e_connect_small. */
int e2e_ws_upgrade_send(int fd, const char *path);
int e2e_ws_upgrade_finish(int fd);
/* Send one frame (client frames are masked unless masked=0). */
int e2e_ws_send_frame(int fd, int opcode, int fin, const void *payload, size_t len, int masked);
/* Encode that frame at dst (room for E2E_WS_HEAD_MAX + len bytes): its
 * length. For a pipeline of frames written at once. */
#define E2E_WS_HEAD_MAX 14
size_t e2e_ws_frame_put(unsigned char *dst, int opcode, int fin, const void *payload, size_t len, int masked);
int e2e_ws_send_text(int fd, const char *text);
/* Receive one frame: returns payload length and sets *opcode (8 = close:
 * *close_code set); -1 on timeout/EOF. Payload NUL-terminated in buf. */
int e2e_ws_recv(int fd, int *opcode, char *buf, size_t cap, int timeout_ms, int *close_code);
/* Receive frames until a text frame arrives (answering nothing); returns its
 * length or -1. */
int e2e_ws_recv_text(int fd, char *buf, size_t cap, int timeout_ms);
/* Connect and log in; returns fd, or -1 (reply copied to reply if given). */
int e2e_ws_login(int port, uint32_t sdkappid, const char *key, const char *user, const char *platform,
                 char *reply, size_t cap);
/* The text of the login frame those send (id 1, a UserSig issued now and valid for a year: a test that moves
 * the test clock days on keeps its sessions, which end at their UserSig's expiry, decisions §81). */
void e2e_ws_login_frame(uint32_t sdkappid, const char *key, const char *user, const char *platform,
                        const char *device, char *out, size_t cap);
/* The login frame with a UserSig of the caller's. */
void e2e_ws_login_frame_sig(uint32_t sdkappid, const char *user, const char *sig, const char *platform,
                            const char *device, char *out, size_t cap);
/* Connect and log in with a UserSig of the caller's (device_id "dev-<user>"); fd, or -1 (reply copied). */
int e2e_ws_login_sig(int port, uint32_t sdkappid, const char *user, const char *sig, const char *platform,
                     char *reply, size_t cap);
/* The same with a device_id of the caller's (e2e_ws_login's is "dev-<user>"). */
int e2e_ws_login_dev(int port, uint32_t sdkappid, const char *key, const char *user, const char *platform,
                     const char *device, char *reply, size_t cap);
/* Loop-order tests (test_turn_budgets, test_opening_share, test_accept_read):
 * which of two replies left the server first, read from the kernel's receive
 * timestamps instead of from timings. */
/* Ask the kernel to stamp what fd receives (SO_TIMESTAMPNS). 0 or -1. */
int e2e_stamp_on(int fd);
/* Wait up to 30 s for bytes on fd and read them with the receive timestamp of
 * the first segment (zero if fd is not stamped). Returns the bytes read, 0
 * on timeout or EOF. */
size_t e2e_recv_stamped(int fd, char *buf, size_t cap, struct timespec *at);
/* 1 if a is earlier than b. */
int e2e_before(const struct timespec *a, const struct timespec *b);
/* Send, on the keep-alive connection fd, a GET /healthz with a body bigger
 * than the server's read buffer (NET_READ_BUF, 64 KiB): the server takes two
 * reads for it, so it completes in the loop turn after the first. 0 or -1. */
int e2e_send_two_read_request(int fd);
/* Read the reply to it with the receive timestamp of its first segment
 * (e2e_recv_stamped). 0 if it is a whole 200 reply, else -1. */
int e2e_read_stamped_reply(int fd, struct timespec *at);
/* n opened WebSockets on /ws: each sends a heartbeat and reads its answer
 * (a connection that has had a message is no longer opening), then is
 * stamped (e2e_stamp_on). Fills fds. 0 or -1 (some may be open). */
int e2e_ws_opened(int port, int *fds, int n);
/* Ask GET /healthz on the keep-alive connection fd and return the number
 * after "name": in its reply (the first match); exits the test (status 1)
 * when there is no such number. */
unsigned long long e2e_healthz_counter(int fd, const char *name);

/* GET /healthz on the server at port (a fresh connection) and return the
 * integer at section.field ("admission"."inflight", "sync"."paced", …);
 * exits the test (status 1) when the reply is not 200 or there is no such
 * integer. */
long long e2e_healthz_stat(int port, const char *section, const char *field);
/* Read that integer every 10 ms until it is want or timeout_ms pass: the last value read (the caller asserts it). */
long long e2e_healthz_wait(int port, const char *section, const char *field, long long want, int timeout_ms);

/* The open-files limit (RLIMIT_NOFILE's soft value, for prlimit) at which process pid has exactly free_left
 * descriptors left below it (/proc/PID/fd now; 0: the lowest descriptor it does not hold, so its next accept4 or
 * open fails with EMFILE). */
long e2e_fd_limit_leaving(pid_t pid, int free_left);

/* Descriptors the server process holds now (/proc/PID/fd). */
int e2e_server_fds(const e2e_server_t *srv);

/* The server's end of the client connection fd (IPv4, server on port), from
 * /proc/net/tcp: its socket inode and the input the server has not read yet
 * (rx_queue). 0, or -1 when no such socket is left. */
int e2e_server_sock(int port, int fd, unsigned long *inode, unsigned long *unread);
/* The TCP state of that socket (/proc/net/tcp: 1 established, 4 FIN-WAIT-1:
 * the server shut down its sending side and its FIN waits behind output the
 * client has not taken, ...), or -1 when no such socket is left. */
#define E2E_TCP_FIN_WAIT1 4
int e2e_server_sock_state(int port, int fd);
/* Whether the server process still holds its end of the client connection
 * fd: e2e_server_sock's inode, then a descriptor of the server linking to
 * it (counting the server's descriptors is not enough: the database's files
 * come and go meanwhile). "Not held" takes three looks 20 ms apart that
 * agree (a read of /proc/net/tcp can miss an entry). */
int e2e_server_holds(const e2e_server_t *srv, int fd);
/* Wait (at most timeout_ms) until the server has read everything fd sent:
 * its end's rx_queue is 0. 0, or -1 at the timeout or with no socket. */
int e2e_server_took_all(int port, int fd, int timeout_ms);

/* Make a UserSig with the project's own generator (expire seconds). */
void e2e_usersig(uint32_t sdkappid, const char *key, const char *user, int64_t expire_s, char *out, size_t cap);

#endif
