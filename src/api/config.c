/* config.c — the settings of `imcloud serve` as one table: defaults, config
 * file, IMCLOUD_* variables, flags and --help all come from these rows. */
#include "api/api.h"
#include "api/api_int.h"
#include "util/date.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

int api_cfg_listen_parse(const char *s, char *host, size_t cap, int *port)
{
  const char *colon = strrchr(s, ':');
  int64_t p;
  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  if (!colon || (size_t)(colon - s) >= cap || colon == s) return IMC_E_CONFIG;
  if (imc_parse_i64(colon + 1, 0, 65535, &p)) return IMC_E_CONFIG;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  if (uv_ip4_addr(host, (int)p, &a4) && uv_ip6_addr(host, (int)p, &a6)) return IMC_E_CONFIG;
  *port = (int)p;
  return 0;
}

/* The rows' checks (cfg_def_t.check): what a string setting must look like,
 * so a bad value is refused where it was written (file and line, variable,
 * flag) instead of at start. */
static int check_listen(const char *v, char *err, size_t cap)
{
  char host[256];
  int port;
  if (!api_cfg_listen_parse(v, host, sizeof host, &port)) return 0;
  snprintf(err, cap, "\"%s\" is not HOST:PORT (an IP address and a port 0-65535)", v);
  return IMC_E_CONFIG;
}

static int check_log_level(const char *v, char *err, size_t cap)
{
  imc_log_level_t lvl;
  if (!imc_log_level_parse(v, &lvl)) return 0;
  snprintf(err, cap, "\"%s\" is not one of debug, info, warn, error, off", v);
  return IMC_E_CONFIG;
}

static int check_ws_path(const char *v, char *err, size_t cap)
{
  if (v[0] == '/' && !strchr(v, '?') && !strchr(v, ' ')) return 0;
  snprintf(err, cap, "\"%s\" must be a URL path starting with /", v);
  return IMC_E_CONFIG;
}

static int check_dir_or_empty(const char *v, char *err, size_t cap)
{
  struct stat sb;
  if (!v[0] || (!stat(v, &sb) && S_ISDIR(sb.st_mode))) return 0;
  snprintf(err, cap, "\"%s\" is not a directory", v);
  return IMC_E_CONFIG;
}

static int check_date_or_empty(const char *v, char *err, size_t cap)
{
  int y, m, d;
  if (!v[0] || !imc_date_parse(v, &y, &m, &d)) return 0;
  snprintf(err, cap, "\"%s\" is not a date YYYY-MM-DD", v);
  return IMC_E_CONFIG;
}

#define F(x) offsetof(api_cfg_t, x)
const cfg_def_t api_cfg_defs[] = {
  { "listen", CFG_STR, F(listen), "127.0.0.1:8080", 0, 0, "HOST:PORT to listen on (port 0 picks a free port)", check_listen },
  { "data", CFG_STR, F(data), "./var", 0, 0, "data directory (SQLite database imcloud.db)", NULL },
  { "port_file", CFG_STR, F(port_file), "", 0, 0, "write the listening port to this file once ready", NULL },
  { "log_level", CFG_STR, F(log_level), "info", 0, 0, "the diagnostic log on stderr: debug, info, warn, error, or off (no diagnostic line once the server listens; a failure to start is still printed); the access log has its own switch (access_log) and off does not silence it", check_log_level },
  { "access_log", CFG_STR, F(access_log), "off", 0, 0, "one line per REST call and per WebSocket session, whatever log_level is (log_level off does not silence it): off, stderr, or a file path (appended to, created if missing)", NULL },
  { "turn_log", CFG_STR, F(turn_log), "", 0, 0, "a diagnostic: record the event loop's turns (time per phase) and the HTTP requests they served (when each was read, its reply queued and written), the newest 131,072 turns and 65,536 requests, and write them to this file when the server stops (docs/operator-api.md \"Turn log\"); \"\" = off", NULL },
  { "ws_path", CFG_STR, F(ws_path), "/ws", 0, 0, "URL path of the client WebSocket", check_ws_path },
  { "pricebooks_dir", CFG_STR, F(pricebooks_dir), "", 0, 0, "a directory of operator price books (<scheme>.json) the bill run, corrections and orders price with, as `imcloud bill --pricebooks DIR`: the books no seed prices (intl Standard and Pro, the original international scheme); \"\" = the built-in books", check_dir_or_empty },
  { "rest_rate_limit", CFG_INT, F(rest_rate_limit), "200", 1, 1000000, "REST calls per second per app (60011 beyond)", NULL },
  { "max_header_bytes", CFG_INT, F(max_header_bytes), "8192", 1024, 1048576, "largest HTTP header block (431 beyond)", NULL },
  { "max_body_bytes", CFG_INT, F(max_body_bytes), "0", 0, 67108864, "largest HTTP body (413 / 93000 beyond); 0 = the larger of 1 MiB and the largest body cap of a route that carries messages (64 KiB + 6 × msg_max_bytes per message, at most 16 MiB), so every valid message fits", NULL },
  { "ws_max_frame_bytes", CFG_INT, F(ws_max_frame_bytes), "0", 0, 16777216, "largest WebSocket message (close 1009 beyond); 0 = the larger of 64 KiB and 6 × msg_max_bytes + 4 KiB, so every valid message fits a send frame", NULL },
  { "ws_max_queued_bytes", CFG_INT, F(ws_max_queued_bytes), "4194304", 65536, 1073741824, "send-queue cap per connection (close 1008 beyond)", NULL },
  { "ws_max_queued_total", CFG_INT, F(ws_max_queued_total), "1073741824", 0, 1099511627776LL, "bytes all connections' send queues may hold together (a message pushed to many counts once); past it, a WebSocket holding 64 KiB or more unsent is shed (unsent output dropped, close 1008) instead of queueing more; 0 = no cap", NULL },
  { "ws_close_grace_ms", CFG_INT, F(ws_close_grace_ms), "5000", 100, 600000, "a closing WebSocket (close frame sent or received) whose peer takes none of its output for this long is torn down, its unsent output dropped; one that took some gets it again, 3 times at most (4 x this in all); at a stop every connection gets this long once, then is reset", NULL },
  { "ws_login_timeout_ms", CFG_INT, F(ws_login_timeout_ms), "10000", 100, 600000, "close a WebSocket not logged in by then (4001; a pending login holds it up to 4 times that)", NULL },
  { "ws_logins_per_turn", CFG_INT, F(ws_logins_per_turn), "32", 1, 100000, "WebSocket logins verified per event-loop turn; later ones wait for the next turns, in order (a storm does not starve other requests)", NULL },
  { "ws_login_turn_us", CFG_INT, F(ws_login_turn_us), "1000", 1, 1000000, "time (µs) the logins started in one event-loop turn may take; once spent, later ones wait for the next turns, as beyond ws_logins_per_turn", NULL },
  { "net_read_turn_us", CFG_INT, F(net_read_turn_us), "0", 0, 1000000, "time (µs) one event-loop turn spends reading connections still opening and WebSockets; the rest are read first in the next turns (keep-alive REST clients are read at once); 0 = 1000 (NET_READ_TURN_US)", NULL },
  { "net_writes_per_turn", CFG_INT, F(net_writes_per_turn), "0", 0, 1000000, "connections one event-loop turn writes to; REST replies are written first, all of them, and count; the WebSockets left over are written first in the next turns; 0 = 256 (NET_WRITES_PER_TURN)", NULL },
  { "net_write_turn_us", CFG_INT, F(net_write_turn_us), "0", 0, 1000000, "time (µs) one event-loop turn spends writing; once spent, the WebSockets left over are written first in the next turns (REST replies are all written); 0 = 1000 (NET_WRITE_TURN_US)", NULL },
  { "net_notices_per_turn", CFG_INT, F(net_notices_per_turn), "0", 0, 1000000, "close notices (a WebSocket's session ends) one event-loop turn delivers; the rest are delivered first in the next turns; 0 = 256 (NET_NOTICES_PER_TURN)", NULL },
  { "net_notice_turn_us", CFG_INT, F(net_notice_turn_us), "0", 0, 1000000, "time (µs) one event-loop turn spends on close notices; once spent, the rest are delivered first in the next turns; 0 = 1000 (NET_NOTICE_TURN_US)", NULL },
  { "max_websockets", CFG_INT, F(max_websockets), "0", 0, 16777216, "WebSocket connections the server holds at most; an upgrade past it is answered 503 (ErrorCode 60018, Retry-After: 1) so that the descriptors left serve REST and /healthz; 0 = the open-files limit (raised at start to its hard limit) less a reserve of a quarter of it, at most 256, and at least the descriptors the server needs besides WebSockets (its fd_reserve: its store's files, event loops, listener, spare and 32 REST clients); a value leaving less than that reserve is refused at start (docs/decisions/connection-limits.md)", NULL },
  { "max_websockets_per_app", CFG_INT, F(max_websockets_per_app), "0", 0, 16777216, "logged-in WebSockets one app may hold at most, so that one app's clients cannot take every connection of a server shared by many apps; a login past it is answered 60018 and its connection closed 4007 (a login that replaces the user's session on its platform is not past it); sessions already online are never closed for it; an app's own cap set by the operator (imcloud app max-websockets, POST /operator/v1/apps/ID/max-websockets) replaces it for that app; 0 = no per-app cap, only max_websockets (docs/decisions/connection-limits.md)", NULL },
  { "net_fd_table", CFG_INT, F(net_fd_table), "65536", 0, 16777216, "descriptors (connections and files) the process's descriptor table is sized for at start, at most the open-files limit (ulimit -n): Linux grows the table by doubling as connections arrive, and each growth in a threaded process blocks the event loop's accept for an RCU grace period (about 2-18 ms each on a busy 2-core VM during a login storm); about 8 bytes of kernel memory each; 0 = grow on demand", NULL },
  { "net_loop_slice_us", CFG_INT, F(net_loop_slice_us), "100", 0, 100000, "the event-loop thread's time slice (µs) under Linux's fair scheduler (6.12 on; older kernels ignore it): with a short slice the loop, woken by input or by committed writes, may take the core from the storage threads before their slice (1.4 ms by default on 2 cores) ends; how much sooner was not traced per wake-up; its share of the core is unchanged; 0 = the kernel's default", NULL },
  { "net_wheel_tick_ms", CFG_INT, F(net_wheel_tick_ms), "0", 0, 600000, "the tick (ms) of the timer wheel that holds the connections' deadlines (request, login, idle and close timeouts): each fires at the first tick at or after it, so up to this late, and the wheel wakes the event loop once per tick; for tests that must see no timer for a long time; 0 = 250 (NET_WHEEL_TICK_MS)", NULL },
  { "ws_idle_timeout_ms", CFG_INT, F(ws_idle_timeout_ms), "400000", 1000, 86400000, "close a silent logged-in WebSocket (4004)", NULL },
  { "request_timeout_ms", CFG_INT, F(request_timeout_ms), "10000", 100, 600000, "a request must arrive completely within this (408)", NULL },
  { "keepalive_idle_ms", CFG_INT, F(keepalive_idle_ms), "60000", 100, 3600000, "close idle keep-alive HTTP connections; a client with replies waiting is cut off once it took none of them for this long", NULL },
  { "shutdown_timeout_ms", CFG_INT, F(shutdown_timeout_ms), "10000", 0, 600000, "how long a graceful stop waits for in-flight work", NULL },
  { "ws_admit_high_jobs", CFG_INT, F(ws_admit_high_jobs), "32768", 0, 1048576, "storage jobs in flight (submitted, not yet acknowledged; a job counts one more per 4 KiB of message it holds) at which the server stops reading frames from logged-in WebSockets: their bytes wait in the kernel and TCP slows the senders; keep it below writer_max_jobs by at least one read's frames, or sends beyond the cap are refused (60018); 0 = never pause", NULL },
  { "ws_admit_low_jobs", CFG_INT, F(ws_admit_low_jobs), "16384", 0, 1048576, "paused WebSockets are read again, oldest pause first, once the storage jobs in flight (counted as for ws_admit_high_jobs) fall to this (at most ws_admit_high_jobs)", NULL },
  { "ws_conn_inflight_max", CFG_INT, F(ws_conn_inflight_max), "256", 0, 32768, "requests of one logged-in WebSocket in flight (sent, not yet answered) past which the server stops reading it: its later frames wait in the kernel and TCP slows the client, so one client's pipeline cannot fill the shared reader and writer queues; it is read again once they fall to half of this; 0 = never pause (past 49,151 a request is refused, 60018)", NULL },
  { "writer_max_jobs", CFG_INT, F(writer_max_jobs), "65536", 1, 1048576, "storage jobs waiting for the writer thread; beyond it a write is refused (60018, retry)", NULL },
  { "writer_max_bytes", CFG_INT, F(writer_max_bytes), "268435456", 0, 68719476736, "message bytes the storage jobs in flight may hold; a message that would pass it is refused (60018, retry); 0 = no cap", NULL },
  { "writer_pace_us", CFG_INT, F(writer_pace_us), "2000", 0, 100000, "a COMMIT of fewer than writer_pace_jobs jobs waits until this long (µs) after the previous COMMIT, gathering the jobs that arrive: fewer COMMITs and WAL syncs at moderate load; an acknowledgement waits at most this much longer; 0 = commit as soon as the previous sync returns (docs/decisions/store-pipeline-pacing.md, \"Pacing\")", NULL },
  { "writer_cache_mb", CFG_INT, F(writer_cache_mb), "64", 1, 65536, "the writer's page cache (MiB, allocated as pages are read): a store much bigger than it costs each message's writes a read of the index pages they miss; more helps a big store (docs/BENCHMARKS.md, \"a store bigger than its memory\")", NULL },
  { "writer_pace_jobs", CFG_INT, F(writer_pace_jobs), "128", 1, 1048576, "a COMMIT of at least this many jobs does not wait for writer_pace_us", NULL },
  { "loop_nap_us", CFG_INT, F(loop_nap_us), "1000", 0, 10000, "while storage jobs are in flight, the event loop polls its sockets at most once per this many µs, sleeping the rest until a storage completion: at moderate load a turn reads many messages instead of one and the writer is not preempted per message, for fewer CPU per message; a socket's input waits at most this long, acknowledgements not at all; 0 = off (store_writer.h, \"Nap\")", NULL },
  { "wal_checkpoint_pages", CFG_INT, F(wal_checkpoint_pages), "65536", 16, 4194304, "WAL pages (4 KiB) after which the writer thread checkpoints the database, between batches, once the batch is acknowledged; the WAL stays about this size (a burst's longer WAL file is cut back to twice this once a checkpoint has copied it)", NULL },
  { "wal_checkpoint_pinned", CFG_INT, F(wal_checkpoint_pinned), "1", 0, 1, "1: a checkpoint's rounds (page copy and database sync) run on their own thread while a read-only connection keeps the WAL from restarting; a short blocking round on the writer thread ends each cycle; 0: every checkpoint stops the writer for its copy and database sync (~5 % more messages/s at saturation, a longer ack tail; docs/decisions/store-pipeline.md)", NULL },
  { "disk_low_mb", CFG_INT, F(disk_low_mb), "1024", 0, 1073741824, "free space (MiB) on the data directory's filesystem under which GET /healthz says \"degraded\" (problem disk_low): SQLite refuses every write once the disk is full, and the WAL may take up to four times wal_checkpoint_pages (1 GiB at the default) while checkpoints fall behind; 0 = no check (docs/operator-api.md, \"Health\")", NULL },
  { "reader_threads", CFG_INT, F(reader_threads), "2", 1, 64, "read-only database connections on worker threads (change log, slow reads)", NULL },
  { "reader_max_jobs", CFG_INT, F(reader_max_jobs), "4096", 1, 1048576, "reads waiting for a reader thread; beyond it a read is refused (60018, retry)", NULL },
  { "rest_read_wait_max_ms", CFG_INT, F(rest_read_wait_max_ms), "5000", 1, 600000, "how long a REST read (and the requests of its connection behind it) may wait for room in the reader queue when it is full (decisions §125); past it, at the next tick, it is refused (60018, nothing done, retry)", NULL },
  { "rel_gate_wait_max", CFG_INT, F(rel_gate_wait_max), "4096", 1, 1048576, "requests (REST and WebSocket, all apps together) that may wait for an account deletion to be durable (the relationship requests of its app; the logins, imports, message commands and one-to-one reads of an account it names: decisions §98, §101, §108, §112, §113); beyond it a request is refused (60018, nothing done, retry)", NULL },
  { "change_poll_ms", CFG_INT, F(change_poll_ms), "500", 10, 60000, "how often the server reads the change log (apps and tokens changed by the CLI)", NULL },
  { "push_online_keep_s", CFG_INT, F(push_online_keep_s), "604800", 0, 31536000, "a mobile device stays PushOnline this long after a disconnect", NULL },
  { "billing_tz_offset_s", CFG_INT, F(billing_tz_offset_s), "28800", -50400, 50400, "natural-day time zone, seconds east of UTC (M-1: UTC+8)", NULL },
  { "msg_max_bytes", CFG_INT, F(msg_max_bytes), "12288", 256, 1048576, "largest message (MsgBody, CloudCustomData, OfflinePushInfo as compact JSON; 93000 beyond)", NULL },
  { "msg_retention_s", CFG_INT, F(msg_retention_s), "604800", 60, 315360000, "message history retention used by reads while an app's edition cannot be read (every edition sets c2c_history_days: docs/editions.md); the retention pass never purges by it (it leaves such an app alone)", NULL },
  { "msg_recent_kept", CFG_INT, F(msg_recent_kept), "100", 1, 100000, "recent conversations listed per user while an app's edition cannot be read (every edition sets recent_conversations: docs/editions.md); the trim never deletes by it", NULL },
  { "msg_recall_window_s", CFG_INT, F(msg_recall_window_s), "120", 0, 31536000, "a user may recall own messages this long after sending (20016 beyond)", NULL },
  { "msg_dedupe_window_s", CFG_INT, F(msg_dedupe_window_s), "300", 0, 86400, "a resend with the same sender, peer (or group), MsgRandom and content (MsgBody, CloudCustomData) within this is the same message", NULL },
  { "msg_sync_page", CFG_INT, F(msg_sync_page), "100", 1, 10000, "events per sync page", NULL },
  { "msg_recent_page", CFG_INT, F(msg_recent_page), "100", 1, 10000, "conversations per recentcontact/get_list page (a first page without AssistFlags bit 2 also holds every pinned one)", NULL },
  { "msg_purge_interval_s", CFG_INT, F(msg_purge_interval_s), "3600", 1, 86400, "how often (seconds of real time) the retention pass runs; its cutoffs are on the clock", NULL },
  { "tick_ms", CFG_INT, F(tick_ms), "1000", 10, 600000, "how often (milliseconds of real time) the server's tick runs: the meter's counts to storage, the jobs that fell due, the UserSig expiry's backstop; for tests that wait for a tick (GET /operator/v1/jobs counts them), or that must see no timer for a long time (longer than 1000 delays all three)", NULL },
  { "msg_purge_interval_ms", CFG_INT, F(msg_purge_interval_ms), "0", 0, 86400000, "how often (milliseconds of real time) the retention pass runs, for tests that need passes in quick succession; a pass never overlaps another job, so a short interval runs them back to back; 0 = msg_purge_interval_s", NULL },
  { "group_event_chunk", CFG_INT, F(group_event_chunk), "200", 1, 100000, "members of a dissolved group whose group_dissolved events one writer job appends: a larger group's are appended by later jobs, this many each (docs/decisions/groups.md §5)", NULL },
  { "group_max_applications", CFG_INT, F(group_max_applications), "500", 1, 100000, "join applications waiting for approval in one Public group; beyond it group_join is refused (10014) until the owner or an admin approves or rejects some", NULL },
  { "status_subs_per_user", CFG_INT, F(status_subs_per_user), "200", 1, 100000, "users one user's sessions may subscribe to for status pushes together (70402 beyond)", NULL },
  { "status_subs_max", CFG_INT, F(status_subs_max), "1000000", 1, 100000000, "status subscriptions the whole server holds (60018 beyond)", NULL },
  { "live_coalesce_ms", CFG_INT, F(live_coalesce_ms), "100", 0, 1000, "a busy live room (AVChatRoom) fans out at most once per this window: later messages wait for its end and go out as one batch (0 = never wait)", NULL },
  { "live_coalesce_min_members", CFG_INT, F(live_coalesce_min_members), "64", 1, 100000000, "live rooms with fewer online members never wait for a window", NULL },
  { "live_queue_bytes", CFG_INT, F(live_queue_bytes), "262144", 4096, 1073741824, "a live-room member whose connection holds this much unsent output (at most ws_max_queued_bytes) loses live messages (counted, then a live_dropped push); a session past it gets no typing notices and no online-only messages", NULL },
  { "live_max_lag_ms", CFG_INT, F(live_max_lag_ms), "10000", 100, 3600000, "a live-room member still losing messages this long after its first loss, its send queue not drained to half of live_queue_bytes since, is cut off (1008)", NULL },
  { "live_fanout_slice", CFG_INT, F(live_fanout_slice), "2048", 0, 100000000, "a live room's fan-out reaches at most this many members per loop turn, the rest in the next turns; what arrives meanwhile goes out together after it (0 = all members in one turn)", NULL },
  { "test_clock", CFG_BOOL, F(test_clock), "false", 0, 0, "enable the operator test clock (never in production)", NULL },
  { "test_clock_start", CFG_STR, F(test_clock_start), "", 0, 0, "initial test-clock date YYYY-MM-DD (with --test-clock)", check_date_or_empty },
  { "day_batch", CFG_INT, F(day_batch), "500", 1, 1000000, "apps (or customers) per transaction of the daily job", NULL },
  { "bench_no_meter", CFG_BOOL, F(bench_no_meter), "false", 0, 0, "benchmarks only: logins are not metered (no usage_login row, no DAU/MAU count; bills would be wrong)", NULL },
  { 0, 0, 0, 0, 0, 0, 0, 0 }
};
