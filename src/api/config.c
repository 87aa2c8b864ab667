/* config.c — the settings of `imcloud serve` as one table: defaults, config
 * file, IMCLOUD_* variables, flags and --help all come from these rows. */
#include "api/api.h"

#include <stddef.h>

#define F(x) offsetof(api_cfg_t, x)
const cfg_def_t api_cfg_defs[] = {
  { "listen", CFG_STR, F(listen), "127.0.0.1:8080", 0, 0, "HOST:PORT to listen on (port 0 picks a free port)" },
  { "data", CFG_STR, F(data), "./var", 0, 0, "data directory (SQLite database imcloud.db)" },
  { "port_file", CFG_STR, F(port_file), "", 0, 0, "write the listening port to this file once ready" },
  { "log_level", CFG_STR, F(log_level), "info", 0, 0, "debug, info, warn, error or off" },
  { "ws_path", CFG_STR, F(ws_path), "/ws", 0, 0, "URL path of the client WebSocket" },
  { "rest_rate_limit", CFG_INT, F(rest_rate_limit), "200", 1, 1000000, "REST calls per second per app (60011 beyond)" },
  { "max_header_bytes", CFG_INT, F(max_header_bytes), "8192", 1024, 1048576, "largest HTTP header block (431 beyond)" },
  { "max_body_bytes", CFG_INT, F(max_body_bytes), "0", 0, 67108864, "largest HTTP body (413 / 93000 beyond); 0 = the larger of 1 MiB and the largest body cap of a route that carries messages (64 KiB + 6 × msg_max_bytes per message, at most 16 MiB), so every valid message fits" },
  { "ws_max_frame_bytes", CFG_INT, F(ws_max_frame_bytes), "0", 0, 16777216, "largest WebSocket message (close 1009 beyond); 0 = the larger of 64 KiB and 6 × msg_max_bytes + 4 KiB, so every valid message fits a send frame" },
  { "ws_max_queued_bytes", CFG_INT, F(ws_max_queued_bytes), "4194304", 65536, 1073741824, "send-queue cap per connection (close 1008 beyond)" },
  { "ws_login_timeout_ms", CFG_INT, F(ws_login_timeout_ms), "10000", 100, 600000, "close a WebSocket not logged in by then (4001)" },
  { "ws_logins_per_turn", CFG_INT, F(ws_logins_per_turn), "32", 1, 100000, "WebSocket logins verified per event-loop turn; later ones wait for the next turns, in order (a storm does not starve other requests)" },
  { "ws_login_turn_us", CFG_INT, F(ws_login_turn_us), "1000", 1, 1000000, "time (µs) the logins started in one event-loop turn may take; once spent, later ones wait for the next turns, as beyond ws_logins_per_turn" },
  { "ws_idle_timeout_ms", CFG_INT, F(ws_idle_timeout_ms), "400000", 1000, 86400000, "close a silent logged-in WebSocket (4004)" },
  { "request_timeout_ms", CFG_INT, F(request_timeout_ms), "10000", 100, 600000, "a request must arrive completely within this (408)" },
  { "keepalive_idle_ms", CFG_INT, F(keepalive_idle_ms), "60000", 100, 3600000, "close idle keep-alive HTTP connections" },
  { "shutdown_timeout_ms", CFG_INT, F(shutdown_timeout_ms), "10000", 0, 600000, "how long a graceful stop waits for in-flight work" },
  { "writer_max_jobs", CFG_INT, F(writer_max_jobs), "16384", 1, 1048576, "storage jobs waiting for the writer thread; beyond it a write is refused (60018, retry)" },
  { "wal_checkpoint_pages", CFG_INT, F(wal_checkpoint_pages), "16384", 16, 4194304, "WAL pages (4 KiB) after which the writer thread checkpoints the database, between batches, once the batch is acknowledged; the WAL stays about this size" },
  { "wal_checkpoint_pinned", CFG_INT, F(wal_checkpoint_pinned), "0", 0, 1, "1: a checkpoint's database sync runs on its own thread while a read-only connection keeps the WAL from restarting; the writer thread only copies, and a short blocking round ends each cycle (docs/decisions/store-pipeline.md)" },
  { "reader_threads", CFG_INT, F(reader_threads), "2", 1, 64, "read-only database connections on worker threads (change log, slow reads)" },
  { "reader_max_jobs", CFG_INT, F(reader_max_jobs), "4096", 1, 1048576, "reads waiting for a reader thread; beyond it a read is refused (60018, retry)" },
  { "change_poll_ms", CFG_INT, F(change_poll_ms), "500", 10, 60000, "how often the server reads the change log (apps and tokens changed by the CLI)" },
  { "push_online_keep_s", CFG_INT, F(push_online_keep_s), "604800", 0, 31536000, "a mobile device stays PushOnline this long after a disconnect" },
  { "billing_tz_offset_s", CFG_INT, F(billing_tz_offset_s), "28800", -50400, 50400, "natural-day time zone, seconds east of UTC (M-1: UTC+8)" },
  { "msg_max_bytes", CFG_INT, F(msg_max_bytes), "12288", 256, 1048576, "largest message (MsgBody, CloudCustomData, OfflinePushInfo as compact JSON; 93000 beyond)" },
  { "msg_retention_s", CFG_INT, F(msg_retention_s), "604800", 60, 315360000, "message history retention: older messages are not returned and are purged" },
  { "msg_recent_kept", CFG_INT, F(msg_recent_kept), "100", 1, 100000, "recent conversations kept per user (pinned ones always stay)" },
  { "msg_recall_window_s", CFG_INT, F(msg_recall_window_s), "120", 0, 31536000, "a user may recall own messages this long after sending (20016 beyond)" },
  { "msg_dedupe_window_s", CFG_INT, F(msg_dedupe_window_s), "300", 0, 86400, "a resend with the same sender, peer and MsgRandom within this is the same message" },
  { "msg_sync_page", CFG_INT, F(msg_sync_page), "100", 1, 10000, "events per sync page" },
  { "msg_recent_page", CFG_INT, F(msg_recent_page), "100", 1, 10000, "conversations per recentcontact/get_list page" },
  { "msg_purge_interval_s", CFG_INT, F(msg_purge_interval_s), "3600", 1, 86400, "how often the retention pass runs" },
  { "status_subs_per_user", CFG_INT, F(status_subs_per_user), "200", 1, 100000, "users one user's sessions may subscribe to for status pushes together (70402 beyond)" },
  { "status_subs_max", CFG_INT, F(status_subs_max), "1000000", 1, 100000000, "status subscriptions the whole server holds (60018 beyond)" },
  { "live_coalesce_ms", CFG_INT, F(live_coalesce_ms), "100", 0, 1000, "a busy live room (AVChatRoom) fans out at most once per this window: later messages wait for its end and go out as one batch (0 = never wait)" },
  { "live_coalesce_min_members", CFG_INT, F(live_coalesce_min_members), "64", 1, 100000000, "live rooms with fewer online members never wait for a window" },
  { "live_queue_bytes", CFG_INT, F(live_queue_bytes), "262144", 4096, 1073741824, "a live-room member whose connection holds this much unsent output (at most ws_max_queued_bytes) loses live messages (counted, then a live_dropped push)" },
  { "live_max_lag_ms", CFG_INT, F(live_max_lag_ms), "10000", 100, 3600000, "a live-room member that loses every message for this long is cut off (1008)" },
  { "live_fanout_slice", CFG_INT, F(live_fanout_slice), "2048", 0, 100000000, "a live room's fan-out reaches at most this many members per loop turn, the rest in the next turns; what arrives meanwhile goes out together after it (0 = all members in one turn)" },
  { "test_clock", CFG_BOOL, F(test_clock), "false", 0, 0, "enable the operator test clock (never in production)" },
  { "test_clock_start", CFG_STR, F(test_clock_start), "", 0, 0, "initial test-clock date YYYY-MM-DD (with --test-clock)" },
  { "day_batch", CFG_INT, F(day_batch), "500", 1, 1000000, "apps (or customers) per transaction of the daily job" },
  { "bench_no_meter", CFG_BOOL, F(bench_no_meter), "false", 0, 0, "benchmarks only: logins are not metered (no usage_login row, no DAU/MAU count; bills would be wrong)" },
  { 0, 0, 0, 0, 0, 0, 0 }
};
