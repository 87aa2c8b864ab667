/* api.h — the imcloud server: turns HTTP requests and WebSocket frames into
 * calls on tenant/, im/, store/ (h2o's split: net/ knows nothing of IM, api/
 * knows the wire formats). One event-loop thread owns all in-memory IM state;
 * storage writes go to the store writer thread and a request is answered only
 * after its write is durable.
 *
 * Entry point for `imcloud serve`: fill an api_cfg_t from the config table
 * (api_cfg_defs), then api_serve() runs until SIGINT/SIGTERM: stop accepting,
 * finish in-flight requests, flush storage, exit 0; a second signal exits at
 * once.
 */
#ifndef IMC_API_H
#define IMC_API_H

#include <stdint.h>
#include <stdio.h>

#include "util/config.h"

typedef struct api_cfg {
  char *listen;               /* HOST:PORT; port 0 = ephemeral */
  char *data;                 /* data directory */
  char *port_file;            /* write the bound port here once listening ("" = no) */
  char *log_level;
  char *turn_log;             /* write the loop's turn log here when the server stops ("" = no; util/turnlog.h) */
  char *access_log;           /* off, stderr or a file path (util/log.h imc_log_access_open) */
  char *ws_path;
  char *pricebooks_dir;       /* operator price books for bills ("" = the database setting, else the built-in books) */
  int64_t rest_rate_limit;    /* calls/s per app (60011) */
  int64_t max_header_bytes;
  int64_t max_body_bytes;
  int64_t ws_max_frame_bytes;
  int64_t ws_max_queued_bytes;
  int64_t ws_close_grace_ms;
  int64_t ws_max_queued_total;
  int64_t ws_login_timeout_ms;
  int64_t ws_logins_per_turn; /* logins verified per loop turn; the rest wait (ws_pace.c) */
  int64_t ws_login_turn_us;   /* time the logins started in one turn may take; the rest wait (ws_pace.c) */
  int64_t net_read_turn_us, net_writes_per_turn, net_write_turn_us; /* loop turn budgets (net.h); 0 = net's default */
  int64_t net_notices_per_turn, net_notice_turn_us;
  int64_t net_fd_table;       /* descriptors the table is sized for at start (net.h fd_table) */
  int64_t max_websockets;     /* WebSockets held at most (net.h max_websockets); 0 = from the open-files limit */
  int64_t max_websockets_per_app; /* logged-in WebSockets of one app at most (ws_app_cap.c); 0 = no per-app cap */
  int64_t net_loop_slice_us;  /* the event-loop thread's scheduler slice (net.h loop_slice_us) */
  int64_t net_wheel_tick_ms;  /* the deadline wheel's tick (net.h wheel_tick_ms); 0 = net's default */
  int64_t ws_idle_timeout_ms;
  int64_t request_timeout_ms;
  int64_t keepalive_idle_ms;
  int64_t shutdown_timeout_ms;
  int64_t ws_admit_high_jobs; /* writer jobs in flight beyond which WebSocket reading pauses (ws_pace.c); 0 = off */
  int64_t ws_admit_low_jobs;  /* reading resumes, oldest pause first, at or below this */
  int64_t ws_conn_inflight_max; /* requests of one WebSocket in flight past which it is not read (client_ws.c); 0 = off */
  int64_t writer_max_jobs;    /* writer queue cap: beyond it requests get 60018 "server busy" */
  int64_t writer_max_bytes;   /* the bytes the writer's jobs in flight may hold (store_writer_set_max_bytes); 0 none */
  int64_t loop_nap_us;        /* the loop's nap while jobs are in flight (store_writer.h, "Nap"); 0 = off */
  int64_t disk_low_mb;        /* free space on the data directory's filesystem under which /healthz says disk_low; 0 = off */
  int64_t writer_pace_us;     /* a small COMMIT waits this long after the previous one (store_writer.h, "Pacing"); 0 = off */
  int64_t writer_pace_jobs;   /* a COMMIT of this many jobs does not wait */
  int64_t writer_cache_mb;    /* the writer connection's page cache, MiB (store_writer_set_cache_kib) */
  int64_t wal_checkpoint_pinned; /* 1: pinned checkpoint rounds (store_ckpt.h) */
  int64_t wal_checkpoint_pages; /* the writer checkpoints past this many WAL pages (store_ckpt.h) */
  int64_t reader_threads;     /* read-only connections on worker threads */
  int64_t reader_max_jobs;    /* reader queue cap */
  int64_t rel_gate_wait_max;  /* requests waiting for account deletions to be durable (rel_gate.c); past it 60018 */
  int64_t rest_read_wait_max_ms; /* a REST read waiting for the reader queue's room (§125): answered 60018 after it */
  int64_t change_poll_ms;     /* how often the change log is read */
  int64_t push_online_keep_s; /* PushOnline kept after a mobile disconnect */
  int64_t billing_tz_offset_s;/* M-1 natural-day zone, seconds east of UTC */
  int64_t msg_max_bytes;      /* packed message size (93000 beyond) */
  int64_t msg_retention_s;    /* messages older are neither returned nor kept */
  int64_t msg_recent_kept;    /* conversations kept per user */
  int64_t msg_recall_window_s;/* a user may recall own messages this long */
  int64_t msg_dedupe_window_s;/* resends with the same MsgRandom and content are one message */
  int64_t msg_sync_page;      /* events per sync page */
  int64_t msg_recent_page;    /* conversations per recentcontact/get_list page */
  int64_t msg_purge_interval_s;/* how often the retention pass runs */
  int64_t tick_ms;            /* the server's tick (default 1000; tests: shorter, to wait for one) */
  int64_t msg_purge_interval_ms;/* the same in ms when not 0 (tests: passes in quick succession) */
  int64_t group_max_applications;/* applications waiting in one group */
  int64_t group_event_chunk;  /* inbox events one writer job appends for a group's dissolution */
  int64_t status_subs_per_user;/* status subscriptions held by all sessions of one user */
  int64_t status_subs_max;    /* status subscriptions held by the process */
  int64_t live_coalesce_ms;   /* a busy live room fans out at most once per this */
  int64_t live_coalesce_min_members; /* rooms with fewer sessions never wait */
  int64_t live_queue_bytes;   /* a live-room member with this much queued loses messages */
  int64_t live_max_lag_ms;    /* a member losing every live message this long is cut off */
  int64_t live_fanout_slice;  /* members a live room's fan-out reaches per loop turn (0 = all) */
  int test_clock;             /* allow the operator API to move the clock */
  int64_t day_batch;          /* apps or customers per transaction of the daily job */
  int bench_no_meter;         /* benchmarks only: skip metering a login (bench/login_bench.sh METER=off) */
  char *test_clock_start;     /* initial test time, YYYY-MM-DD ("" = now) */
} api_cfg_t;

/* The config table rows (NULL-terminated). */
extern const cfg_def_t api_cfg_defs[];

/* Run the server until a signal stops it. Returns the process exit status
 * (0 after a clean shutdown). Logs why it failed to start otherwise. */
int api_serve(const api_cfg_t *cfg);

/* Print a document generated from the declarative tables ("rest-routes",
 * "ws-ops") as Markdown to f. 0, or IMC_E_INVAL for an unknown name. */
int api_doc_print(FILE *f, const char *which);
/* List the names api_doc_print knows, one per line with a summary. */
void api_doc_list(FILE *f);

#endif
