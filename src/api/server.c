/* server.c — `imcloud serve`: owns the loop, the listener, the store writer
 * and reader pool, the tenant registry and the presence registry; dispatches
 * HTTP by path; follows the change log (changes.c) for writes made by other
 * processes (the CLI); stops gracefully. The loop thread never touches the
 * database after startup: writes go to the writer thread, reads to the
 * reader pool (docs/decisions/store-pipeline.md).
 *
 * Shutdown: the first SIGINT/SIGTERM stops accepting, waits (at most
 * shutdown_timeout_ms) until no HTTP request and no store job is in flight,
 * closes every connection (WebSockets get 1001; one whose peer has not taken
 * its output ws_close_grace_ms later is reset: net_server_close), lets the writer commit what
 * is queued and the group events a large dissolution left due (im_groups_due_flush), stops the
 * reader pool, closes the handles and returns 0. A second signal exits at once
 * (status 130); SQLite's WAL keeps every committed transaction. */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "store/store_msg.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"
#include "util/version.h"
#include "util/turnlog.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- HTTP dispatch ---------------------------------------------------------- */
static void reply_not_found(net_req_t *req)
{
  static const char body[] = "{\"error\":{\"code\":\"NOTFOUND\",\"message\":\"no such path; the REST API lives under /v4/, the operator API under /operator/v1/, the client WebSocket at /ws\"}}";
  net_req_reply(req, 404, "application/json", body, sizeof body - 1, NULL);
}

static void on_http(void *ud, net_req_t *req)
{
  api_srv_t *srv = ud;
  const char *path = net_req_path(req);
  if (!strncmp(path, "/v4/", 4)) rest_v4_handle(srv, req);
  else if (!strncmp(path, "/operator/v1/", 13)) op_handle(srv, req);
  else if (!strcmp(path, "/healthz")) api_healthz(srv, req);
  else if (!strcmp(path, "/healthz/stages")) api_healthz_stages(srv, req);
  else reply_not_found(req);
}

/* ---- kicked-at times (REST kick invalidates earlier UserSigs) ------------- */
int64_t api_kicked_at(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no)
{
  int64_t *t = u64map_get(&srv->kicks, (uint64_t)sdkappid << 32 | user_no);
  return t ? *t : 0;
}

int api_set_kicked_at(api_srv_t *srv, uint32_t sdkappid, uint32_t user_no, int64_t when)
{
  uint64_t key = (uint64_t)sdkappid << 32 | user_no;
  int64_t *t = u64map_get(&srv->kicks, key);
  if (!t) {
    if (!(t = malloc(sizeof *t))) return IMC_E_NOMEM;
    *t = when;
    if (u64map_put(&srv->kicks, key, t)) { free(t); return IMC_E_NOMEM; }
  }
  if (when > *t) *t = when; /* a later kick wins, as in storage */
  return 0;
}

static void load_kick(void *ud, uint32_t sdkappid, uint32_t user_no, int64_t at_s)
{
  api_srv_t *srv = ud;
  if (api_set_kicked_at(srv, sdkappid, user_no, at_s)) srv->exit_status = 1; /* OOM: refuse to start */
}

/* The C2C purge floors read at startup, handed to messaging once it runs. */
typedef struct floors {
  store_msg_cut_t *v;
  size_t n, cap;
  int oom;
} floors_t;

static void load_floor(void *ud, const store_msg_cut_t *f)
{
  floors_t *fl = ud;
  if (fl->n == fl->cap) {
    size_t nc = fl->cap ? fl->cap * 2 : 16;
    store_msg_cut_t *v = realloc(fl->v, nc * sizeof *v);
    if (!v) { fl->oom = 1; return; }
    fl->v = v;
    fl->cap = nc;
  }
  fl->v[fl->n++] = *f;
}

static void on_tick_run(uv_timer_t *t)
{
  api_srv_t *srv = t->data;
  static int64_t last_sweep_s;
  int64_t now = imc_clock_now_s();
  meter_advance(srv->meter, now);
  int frc = meter_flush_submit(srv->meter, srv->writer, now); /* live counters to storage; kept pending on refusal */
  if (frc) IMC_DEBUG("server", "msg=\"meter flush deferred\" err=%s", imc_err_name(frc));
  if (now - last_sweep_s >= 3600) { im_presence_sweep(srv->presence, now); last_sweep_s = now; }
  cws_sig_tick(srv); /* a backstop of the expiry timer (§81, §86): the earliest only is looked at */
  if (srv->groups) im_groups_due_retry(srv->groups); /* a large dissolution's events left due by a refused job */
  api_jobs_tick(srv); /* bill run, day change, arrears, retention purge (jobs.c) */
  rest_read_wait_tick(srv); /* REST reads waiting for the reader queue's room: gone clients, the wait limit (§125) */
  api_health_tick(srv); /* disk_low into the log when it changes (healthz.c) */
}

/* Every msg_purge_interval_ms (or _s) of real time, on its own timer: the
 * retention pass falls due (its cutoffs are on the clock) and starts at once
 * unless a job is in flight (then it starts when that job finishes).
 * The pass itself runs off the loop (im_c2c_purge). */
static void on_purge_timer(uv_timer_t *t)
{
  int tp = imc_turnlog_enter(IMC_TP_TIMERS);
  api_srv_t *srv = t->data;
  api_jobs_due_now(srv, "retention_purge");
  imc_turnlog_leave(tp);
}

/* the turn log (util/turnlog.h) counts its time as timers */
static void on_tick(uv_timer_t *t)
{
  int tp = imc_turnlog_enter(IMC_TP_TIMERS);
  on_tick_run(t);
  imc_turnlog_leave(tp);
}

/* ---- shutdown --------------------------------------------------------------- */
static void close_handle(uv_handle_t *h) { if (!uv_is_closing(h)) uv_close(h, NULL); }

static void on_reader_stopped(void *arg)
{
  api_srv_t *srv = arg;
  srv->reader = NULL;
  close_handle((uv_handle_t *)&srv->sig_int);
  close_handle((uv_handle_t *)&srv->sig_term);
  close_handle((uv_handle_t *)&srv->tick);
  cws_sig_timer_close(srv);
  close_handle((uv_handle_t *)&srv->purge_timer);
  close_handle((uv_handle_t *)&srv->stop_timer);
  close_handle((uv_handle_t *)&srv->changes_timer);
  cws_pace_close(srv);
  close_handle((uv_handle_t *)&srv->live_timer);
  IMC_INFO("server", "msg=\"stopped\"");
}

/* The writer hands the rest of a commit back next turn (store_writer_on_more). */
static void hold_output(void *arg)
{
  api_srv_t *srv = arg;
  if (srv->net) net_server_hold_output(srv->net); /* NULL once closed: the writer outlives it */
}

static void on_writer_stopped(void *arg)
{
  api_srv_t *srv = arg;
  srv->writer = NULL;
  store_reader_stop(srv->reader, on_reader_stopped, srv);
}

/* The group events a large dissolution left due are appended before the writer stops (chunk by chunk,
 * each its own writer job, im_groups_due_flush): a clean stop leaves no work for the next start, also when
 * shutdown_timeout_ms cut the wait for requests short. */
static void due_poll(uv_timer_t *t)
{
  api_srv_t *srv = t->data;
  if (srv->groups && im_groups_due_flush(srv->groups)) return;
  uv_timer_stop(t);
  if (srv->groups) {
    im_groups_stats_t st;
    im_groups_stats(srv->groups, &st);
    if (st.event_chunks > srv->stop_event_chunks)
      IMC_INFO("server", "msg=\"group events due appended before stopping\" chunks=%llu",
               (unsigned long long)(st.event_chunks - srv->stop_event_chunks));
  }
  meter_flush_submit(srv->meter, srv->writer, imc_clock_now_s()); /* the last live counters, before the writer stops */
  if (srv->reader) store_reader_on_done(srv->reader, NULL, NULL, NULL); /* the readers outlive the writer: no call reaches it */
  store_writer_stop(srv->writer, on_writer_stopped, srv);
}

static void on_net_closed(void *arg)
{
  api_srv_t *srv = arg;
  srv->net = NULL;
  if (srv->groups) {
    im_groups_stats_t st;
    im_groups_stats(srv->groups, &st);
    srv->stop_event_chunks = st.event_chunks;
  }
  uv_timer_start(&srv->stop_timer, due_poll, 0, 10);
}

static void stop_poll(uv_timer_t *t)
{
  api_srv_t *srv = t->data;
  im_c2c_stop(srv->c2c);
  int timed_out = uv_now(srv->loop) - srv->stop_started_ms >= (uint64_t)srv->cfg->shutdown_timeout_ms;
  if (!timed_out && (net_server_requests_in_flight(srv->net) || srv->jobs_in_flight || im_c2c_in_flight(srv->c2c) ||
                     im_groups_in_flight(srv->groups)))
    return;
  if (timed_out) IMC_WARN("server", "msg=\"shutdown timeout: closing with work in flight\" requests=%zu jobs=%zu",
                          net_server_requests_in_flight(srv->net), srv->jobs_in_flight);
  uv_timer_stop(t);
  net_server_close(srv->net, on_net_closed, srv);
}

static void on_signal(uv_signal_t *h, int signum)
{
  api_srv_t *srv = h->data;
  if (srv->stopping++) { /* a diagnostic line like any other: --log-level off silences it */
    IMC_WARN("server", "msg=\"second signal: exiting now\" signal=%d", signum);
    _exit(130);
  }
  IMC_INFO("server", "msg=\"stopping\" signal=%d", signum);
  rel_gate_stop(srv);    /* the requests waiting for account deletions: answered 70500 now, whatever the writer does */
  cws_read_wait_stop(srv); /* the reads waiting for the reader queue's room: answered so too (§120) */
  rest_read_wait_stop(srv); /* and the REST ones (§125) */
  net_server_stop_accepting(srv->net);
  srv->stop_started_ms = uv_now(srv->loop);
  uv_timer_start(&srv->stop_timer, stop_poll, 0, 10);
}

/* ---- start -------------------------------------------------------------------- */
static int write_port_file(const char *path, int port)
{
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return IMC_E_IO;
  fprintf(f, "%d\n", port);
  if (fclose(f) || rename(tmp, path)) return IMC_E_IO;
  return 0;
}

static int start_test_clock(const api_cfg_t *cfg)
{
  int y, m, d;
  if (!cfg->test_clock) return 0;
  if (cfg->test_clock_start[0]) {
    if (imc_date_parse(cfg->test_clock_start, &y, &m, &d)) return IMC_E_CONFIG;
    imc_clock_test_enable(imc_day_start(imc_days_from_civil(y, m, d), (int)cfg->billing_tz_offset_s) * 1000);
  } else {
    imc_clock_test_enable(imc_clock_now_ms());
  }
  IMC_WARN("server", "msg=\"test clock enabled: server time stands still at now_s\" now_s=%lld",
           (long long)imc_clock_now_s());
  return 0;
}

/* The messaging limit defaults from the configuration (im_limit reads them). */
static const plan_app_t *app_plan(void *ud, uint32_t sdkappid)
{
  const tenant_app_t *a = tenant_registry_app(((api_srv_t *)ud)->reg, sdkappid);
  return a ? &a->plan : NULL;
}

/* The group core, rebuilt from the startup connection (writer and readers
 * are attached once they run). */
static int groups_init(api_srv_t *srv)
{
  im_group_hooks_t gh;
  int rc;
  cws_group_hooks(srv, &gh);
  if ((rc = im_groups_create(srv->presence, &srv->limits, &gh, &srv->groups))) return rc;
  im_groups_set_plan(srv->groups, app_plan, srv, srv->tz_offset_s);
  if ((rc = api_quota_big_groups_init(srv))) return rc;
  if ((rc = cws_app_cap_init(srv))) return rc;
  const api_cfg_t *cfg = srv->cfg;
  /* the live-room drop line sits at or below the cut-off line, so a live member that falls behind loses messages first */
  int64_t live_q = cfg->live_queue_bytes < cfg->ws_max_queued_bytes ? cfg->live_queue_bytes : cfg->ws_max_queued_bytes;
  im_groups_set_live(srv->groups, &(im_live_cfg_t){ (uint32_t)cfg->live_coalesce_ms, (uint32_t)cfg->live_coalesce_min_members,
                                                    (uint32_t)live_q, (uint32_t)cfg->live_max_lag_ms,
                                                    (uint32_t)cfg->live_fanout_slice });
  return im_groups_load(srv->groups, srv->store, imc_clock_now_s());
}

static void msg_limits_init(api_srv_t *srv)
{
  const api_cfg_t *cfg = srv->cfg;
  int64_t *v = srv->limits.v;
  v[IM_LIMIT_MSG_MAX_BYTES] = cfg->msg_max_bytes;
  v[IM_LIMIT_RETENTION_S] = cfg->msg_retention_s;
  v[IM_LIMIT_RECENT_KEPT] = cfg->msg_recent_kept;
  v[IM_LIMIT_RECALL_WINDOW_S] = cfg->msg_recall_window_s;
  v[IM_LIMIT_DEDUPE_WINDOW_S] = cfg->msg_dedupe_window_s;
  v[IM_LIMIT_SYNC_PAGE] = cfg->msg_sync_page;
  v[IM_LIMIT_RECENT_PAGE] = cfg->msg_recent_page;
  v[IM_LIMIT_PAGE_BYTES] = cfg->ws_max_queued_bytes / 4; /* a page, a page of each other kind and pushes fit the queue */
  v[IM_LIMIT_GROUP_RETENTION_S] = cfg->msg_retention_s;
  v[IM_LIMIT_GROUP_APPLICATIONS] = cfg->group_max_applications;
  v[IM_LIMIT_GROUP_EVENT_CHUNK] = cfg->group_event_chunk;
  api_quota_im_limits(srv, &srv->limits); /* retention and recent conversations: the app's edition */
}

/* One server per data directory: each keeps the database's state in memory
 * (accounts, sequences, relationships) and would not see another's writes.
 * An exclusive flock on DIR/imcloud.lock, held until the process ends (the
 * kernel drops it on any exit, kill -9 included); the file holds the pid.
 * The CLI's commands do not take it: they write through SQLite and the
 * change log a running server reads. 0, or IMC_E_BUSY (in use) / IMC_E_IO. */
static int data_lock(api_srv_t *srv, const char *dir)
{
  char path[4096], pid[32] = "";
  snprintf(path, sizeof path, "%s/imcloud.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    IMC_ERROR("server", "msg=\"cannot open the data directory's lock\" path=%s errno=%d", path, errno);
    return IMC_E_IO;
  }
  if (flock(fd, LOCK_EX | LOCK_NB)) {
    ssize_t n = errno == EWOULDBLOCK ? pread(fd, pid, sizeof pid - 1, 0) : -1;
    if (n > 0) pid[strcspn(pid, "\n")] = 0;
    else pid[0] = 0;
    IMC_ERROR("server", "msg=\"the data directory is in use by another imcloud server\" pid=%s dir=%s", pid[0] ? pid : "?", dir);
    close(fd);
    return IMC_E_BUSY;
  }
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)len, 0) != len) { /* only informative: the lock is what counts */ }
  srv->lock_fd = fd;
  return 0;
}

/* The reader pool's completion hook (a pool thread): the loop's nap ends (store_writer.h, "Nap"); and its take
 * hook (the loop thread): what the completions taken left no longer skips a nap. */
static void reader_done_nap(void *writer) { store_writer_nap_end(writer); }
static void reader_take_nap(void *writer) { store_writer_nap_taken(writer); }

/* The server state up to (not including) the listener: storage loaded, the
 * writer, the reader pool and messaging running on loop (initialized by the
 * caller). On failure everything started is stopped again (loop run until the
 * threads are gone); api_srv_release frees the rest either way. */
int api_srv_open(api_srv_t *srv, const api_cfg_t *cfg, uv_loop_t *loop)
{
  int rc;
  floors_t floors = { 0 };
  memset(srv, 0, sizeof *srv);
  u64map_init(&srv->kicks);
  u64map_init(&srv->read_wait.of_conn);
  u64map_init(&srv->rest_read_wait.of_conn);
  u64map_init(&srv->quota_pending);
  u64map_init(&srv->app_cap.count);
  u64map_init(&srv->app_cap.own);
  u64map_init(&srv->rate);
  cws_sig_init(srv);
  srv->cfg = cfg;
  srv->tz_offset_s = (int)cfg->billing_tz_offset_s;
  srv->loop = loop;
  if (mkdir(cfg->data, 0700) && errno != EEXIST) {
    IMC_ERROR("server", "msg=\"cannot create data directory\" dir=%s errno=%d", cfg->data, errno);
    return IMC_E_IO;
  }
  srv->lock_fd = -1;
  if ((rc = data_lock(srv, cfg->data))) return rc;
  api_clock_file_save(srv); /* DIR/test-clock written, or removed: the CLI dates by this server's clock (clock.h) */
  if ((rc = store_open(cfg->data, &srv->store))) {
    IMC_ERROR("server", "msg=\"cannot open the database\" dir=%s err=%s", cfg->data, imc_err_name(rc));
    return rc;
  }
  /* the log's end first: whatever commits while we load is applied again (idempotent) */
  if ((rc = api_changes_init(srv, srv->store)) || (rc = op_token_init(srv)) ||
      (rc = tenant_registry_load(srv->store, &srv->reg)) || (rc = im_presence_create(&srv->presence)) ||
      (rc = store_kick_each(srv->store, load_kick, srv)) || (rc = srv->exit_status ? IMC_E_NOMEM : 0) ||
      (rc = rel_create(&srv->rel)) || (rc = rel_load(srv->rel, srv->store)) || (rc = ws_status_init(srv)) ||
      (rc = ws_status_restore(srv)) ||
      (rc = meter_zone_default_set(srv->store, (int)cfg->billing_tz_offset_s)) || /* for the CLI */
      (rc = tenant_pricebooks_dir_record(srv->store, cfg->pricebooks_dir)) || /* for the CLI too */
      (rc = meter_create((int)cfg->billing_tz_offset_s, &srv->meter)) ||
      (rc = meter_load(srv->meter, srv->store, imc_clock_now_s())) || (rc = groups_init(srv)) ||
      (rc = store_msg_floors(srv->store, load_floor, &floors)) || (rc = floors.oom ? IMC_E_NOMEM : 0)) {
    IMC_ERROR("server", "msg=\"startup failed\" err=%s", imc_err_name(rc));
    free(floors.v);
    return rc;
  }
  store_close(srv->store); /* from here on the loop reaches the database only through the writer and the readers */
  srv->store = NULL;
  if ((rc = store_writer_start(loop, cfg->data, (size_t)cfg->writer_max_jobs, &srv->writer))) {
    IMC_ERROR("server", "msg=\"cannot start the store writer\" err=%s", imc_err_name(rc));
    free(floors.v);
    return rc;
  }
  if ((rc = store_writer_set_cache_kib(srv->writer, cfg->writer_cache_mb * 1024))) {
    IMC_ERROR("server", "msg=\"cannot set the writer's page cache\" writer_cache_mb=%lld err=%s",
              (long long)cfg->writer_cache_mb, imc_err_name(rc));
    free(floors.v);
    api_srv_stop_storage(srv);
    return rc;
  }
  store_writer_set_ckpt_pages(srv->writer, (int)cfg->wal_checkpoint_pages);
  store_writer_set_max_bytes(srv->writer, (uint64_t)cfg->writer_max_bytes);
  store_writer_set_ckpt_pinned(srv->writer, (int)cfg->wal_checkpoint_pinned);
  store_writer_set_pace(srv->writer, (unsigned)cfg->writer_pace_us, (size_t)cfg->writer_pace_jobs);
  store_writer_set_nap(srv->writer, (unsigned)cfg->loop_nap_us);
  if ((rc = store_reader_start(loop, cfg->data, (size_t)cfg->reader_threads, (size_t)cfg->reader_max_jobs, &srv->reader))) {
    IMC_ERROR("server", "msg=\"cannot start the store readers\" err=%s", imc_err_name(rc));
    free(floors.v);
    api_srv_stop_storage(srv);
    return rc;
  }
  store_reader_on_room(srv->reader, api_read_room, srv); /* reads waiting for its queue's room (§120, §125) */
  store_reader_on_done(srv->reader, reader_done_nap, reader_take_nap, srv->writer); /* a read's completion ends the loop's nap */
  msg_limits_init(srv);
  im_c2c_hooks_t hooks;
  cws_msg_hooks(srv, &hooks);
  if ((rc = im_c2c_create(srv->writer, srv->reader, srv->presence, &srv->limits, &hooks, &srv->c2c)))
    IMC_ERROR("server", "msg=\"cannot start messaging\" err=%s", imc_err_name(rc));
  for (size_t i = 0; !rc && i < floors.n; i++) rc = im_c2c_floor_set(srv->c2c, floors.v[i].sdkappid, floors.v[i].before_s);
  free(floors.v);
  if (rc) {
    api_srv_stop_storage(srv);
    return rc;
  }
  im_groups_start(srv->groups, srv->writer, srv->reader, srv->c2c);
  return 0;
}

void api_srv_stop_storage(api_srv_t *srv)
{
  if (srv->reader) store_reader_on_done(srv->reader, NULL, NULL, NULL); /* no call reaches the writer once it is freed */
  if (srv->writer) store_writer_stop(srv->writer, NULL, NULL);
  if (srv->reader) store_reader_stop(srv->reader, NULL, NULL);
  srv->writer = NULL;
  srv->reader = NULL;
  uv_run(srv->loop, UV_RUN_DEFAULT);
}

void api_srv_release(api_srv_t *srv)
{
  cws_pace_free(srv);    /* logins still waiting hold their connections */
  rel_gate_free(srv);    /* before the quota's maps: a login left waiting ends its admission */
  cws_read_wait_free(srv);
  rest_read_wait_free(srv);
  im_c2c_free(srv->c2c);
  jsonw_free(&srv->frame_text);
  dueheap_free(&srv->sig_exp); /* its sessions are closed, or freed with the loop's handles */
  u64map_free_each(&srv->rate, free);
  u64map_free_each(&srv->kicks, free);
  u64map_free_each(&srv->quota_pending, free);
  cws_app_cap_free(srv);
  im_groups_free(srv->groups);
  meter_free(srv->meter);
  im_presence_free(srv->presence);
  ws_status_free(srv);
  rel_free(srv->rel);
  tenant_registry_free(srv->reg);
  store_close(srv->store);
  srv->c2c = NULL; srv->groups = NULL; srv->meter = NULL; srv->presence = NULL; srv->reg = NULL; srv->store = NULL;
  srv->rel = NULL;
  if (srv->lock_fd > 0) close(srv->lock_fd); /* the data directory's lock: the next server may start */
  srv->lock_fd = -1;
}

void api_net_cfg(const api_cfg_t *cfg, net_cfg_t *n)
{
  net_cfg_defaults(n);
  n->ws_path = cfg->ws_path;
  n->plain_error_prefix = "/operator/";
  n->max_header_bytes = (size_t)cfg->max_header_bytes;
  n->max_body_bytes = (size_t)cfg->max_body_bytes;
  if (!n->max_body_bytes) {
    /* derived: every valid message fits the body of each route that carries one (rest_route_body_bytes) */
    n->max_body_bytes = rest_routes_body_bytes_max(cfg->msg_max_bytes);
    if (n->max_body_bytes < API_HTTP_BODY_DEFAULT_BYTES) n->max_body_bytes = API_HTTP_BODY_DEFAULT_BYTES;
  }
  n->max_ws_frame_bytes = (size_t)cfg->ws_max_frame_bytes;
  if (!n->max_ws_frame_bytes) {
    /* derived: every valid message fits a send frame (api_int.h: cws_msg_frame_bytes) */
    n->max_ws_frame_bytes = cws_msg_frame_bytes(cfg->msg_max_bytes);
    if (n->max_ws_frame_bytes < API_WS_FRAME_DEFAULT_BYTES) n->max_ws_frame_bytes = API_WS_FRAME_DEFAULT_BYTES;
  }
  n->ws_max_queued_bytes = (size_t)cfg->ws_max_queued_bytes;
  n->ws_close_grace_ms = (uint32_t)cfg->ws_close_grace_ms;
  n->ws_max_queued_total = (uint64_t)cfg->ws_max_queued_total;
  n->request_timeout_ms = (uint32_t)cfg->request_timeout_ms;
  n->keepalive_idle_ms = (uint32_t)cfg->keepalive_idle_ms;
  if (cfg->net_read_turn_us) n->read_turn_us = (uint32_t)cfg->net_read_turn_us;
  if (cfg->net_writes_per_turn) n->writes_per_turn = (uint32_t)cfg->net_writes_per_turn;
  if (cfg->net_write_turn_us) n->write_turn_us = (uint32_t)cfg->net_write_turn_us;
  if (cfg->net_notices_per_turn) n->notices_per_turn = (uint32_t)cfg->net_notices_per_turn;
  if (cfg->net_notice_turn_us) n->notice_turn_us = (uint32_t)cfg->net_notice_turn_us;
  n->fd_table = (unsigned)cfg->net_fd_table;
  n->loop_slice_us = (unsigned)cfg->net_loop_slice_us;
  if (cfg->net_wheel_tick_ms) n->wheel_tick_ms = (uint32_t)cfg->net_wheel_tick_ms;
}

void api_net_handlers(api_srv_t *srv, net_handlers_t *h)
{
  *h = (net_handlers_t){ .ud = srv, .on_http = on_http, .on_ws_open = cws_on_open, .on_ws_text = cws_admit_on_text,
                         .on_ws_close = cws_on_close, .on_ws_deadline = cws_on_deadline,
                         .on_ws_read = cws_admit_on_read }; /* admission by backpressure (ws_pace.c) */
}

#define API_MALLOC_TRIM_THRESHOLD_BYTES (4 << 20)
/* The turn log's rings (turn_log): about 120 B a turn and 72 B a request,
 * ~23 MiB in all, only while it records. */
#define API_TURN_LOG_TURNS (1u << 17)
#define API_TURN_LOG_REQS (1u << 16)

int api_serve(const api_cfg_t *cfg)
{
  api_srv_t srv;
  uv_loop_t loop;
  char host[256];
  int port, rc;
  signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
  /* The writer runs every job in a SAVEPOINT whose in-memory sub-journal
   * (64 KiB) SQLite frees at RELEASE; with glibc's default trim threshold
   * (128 KiB) each such free shrank the writer's arena (madvise + TLB flush)
   * and the next job faulted the pages back in: 27 % of the server's CPU in
   * a login storm (docs/BENCHMARKS.md). Each arena now keeps up to 4 MiB of
   * free memory at its top instead. */
  mallopt(M_TRIM_THRESHOLD, API_MALLOC_TRIM_THRESHOLD_BYTES);
#endif
  if ((rc = api_cfg_listen_parse(cfg->listen, host, sizeof host, &port))) {
    IMC_ERROR("server", "msg=\"listen must be HOST:PORT\" listen=%s", cfg->listen);
    return 1; /* a bad value: exit 1, as every command (cli.h) */
  }
  if ((rc = start_test_clock(cfg))) { IMC_ERROR("server", "msg=\"test_clock_start must be YYYY-MM-DD\""); return 1; }
  net_cfg_t ncfg;
  api_net_cfg(cfg, &ncfg);
  ncfg.host = host;
  ncfg.port = port;
  /* before any thread: the soft open-files limit up to the hard one, and the
   * WebSockets it leaves room for (docs/decisions/connection-limits.md) */
  unsigned fd_limit = net_fd_limit_raise();
  size_t fd_reserve;
  if (api_ws_cap_resolve(cfg, fd_limit, &ncfg.max_websockets, &fd_reserve)) return 1; /* too few left: exit 1 */
  /* the address first: a server that cannot listen creates nothing (no data
   * directory, database, operator token or access log) */
  int lfd;
  if ((rc = net_listen(&ncfg, &lfd))) {
    if (rc == IMC_E_ADDR_IN_USE)
      IMC_ERROR("server", "msg=\"address already in use: another process listens on %s; pick another address with "
                "--listen HOST:PORT (or IMCLOUD_LISTEN=127.0.0.1:8081 make run)\" listen=%s err=%s", cfg->listen, cfg->listen,
                imc_err_name(rc));
    else IMC_ERROR("server", "msg=\"cannot listen\" listen=%s err=%s", cfg->listen, imc_err_name(rc));
    return 1;
  }
  if (imc_log_access_open(cfg->access_log)) {
    char qp[256], qe[128];
    int e = errno;
    IMC_ERROR("server", "msg=\"access_log: cannot open the file\" path=%s err=%s", imc_log_q(qp, sizeof qp, cfg->access_log),
              imc_log_q(qe, sizeof qe, strerror(e)));
    close(lfd);
    return 1;
  }
  if (cfg->pricebooks_dir && cfg->pricebooks_dir[0]) tenant_pricebooks_dir(cfg->pricebooks_dir); /* the books of the bill run and the orders */
  uv_loop_init(&loop);
  if ((rc = api_srv_open(&srv, cfg, &loop))) { close(lfd); goto out; }
  if ((rc = cws_pace_init(&srv))) {
    IMC_ERROR("server", "msg=\"cannot start login pacing\" err=%s", imc_err_name(rc));
    close(lfd);
    api_srv_stop_storage(&srv);
    goto out;
  }
  if (ncfg.max_ws_frame_bytes < cws_msg_frame_bytes(cfg->msg_max_bytes))
    IMC_WARN("server", "msg=\"ws_max_frame_bytes is below the send-frame cap: a message near msg_max_bytes may not fit "
             "(close 1009)\" ws_max_frame_bytes=%zu send_frame_cap=%zu", ncfg.max_ws_frame_bytes,
             cws_msg_frame_bytes(cfg->msg_max_bytes));
  if (cfg->ws_max_queued_bytes < 2 * cfg->msg_max_bytes)
    IMC_WARN("server", "msg=\"ws_max_queued_bytes is below twice msg_max_bytes: a push or a sync page of one message "
             "near msg_max_bytes can pass a connection's send-queue cap, which closes it (1008) at every sync\" "
             "ws_max_queued_bytes=%lld msg_max_bytes=%lld", (long long)cfg->ws_max_queued_bytes, (long long)cfg->msg_max_bytes);
  if (cfg->writer_max_bytes && cfg->ws_admit_high_jobs * 4096 >= cfg->writer_max_bytes)
    IMC_WARN("server", "msg=\"ws_admit_high_jobs (in 4 KiB units) reaches writer_max_bytes: WebSocket sends of long "
             "messages past the byte cap are refused (60018) instead of waiting\" ws_admit_high_jobs=%lld "
             "writer_max_bytes=%lld", (long long)cfg->ws_admit_high_jobs, (long long)cfg->writer_max_bytes);
  if (cfg->ws_admit_high_jobs >= cfg->writer_max_jobs)
    IMC_WARN("server", "msg=\"ws_admit_high_jobs is not below writer_max_jobs: WebSocket sends past the writer's cap are "
             "refused (60018) instead of waiting\" ws_admit_high_jobs=%lld writer_max_jobs=%lld",
             (long long)cfg->ws_admit_high_jobs, (long long)cfg->writer_max_jobs);
  if (ncfg.max_body_bytes < rest_routes_body_bytes_max(cfg->msg_max_bytes))
    IMC_WARN("server", "msg=\"max_body_bytes is below a message route's body cap: a REST body carrying messages near "
             "msg_max_bytes may not fit (413)\" max_body_bytes=%zu route_body_cap=%zu", ncfg.max_body_bytes,
             rest_routes_body_bytes_max(cfg->msg_max_bytes));
  net_handlers_t h;
  api_net_handlers(&srv, &h);
  if ((rc = net_server_start_fd(&loop, &ncfg, &h, lfd, &srv.net))) {
    IMC_ERROR("server", "msg=\"cannot listen\" listen=%s err=%s", cfg->listen, imc_err_name(rc));
    cws_pace_close(&srv);
    api_srv_stop_storage(&srv);
    goto out;
  }
  /* a commit handed back over several turns: its replies and pushes leave together (net.h) */
  store_writer_on_more(srv.writer, hold_output, &srv);
  /* signals are handled before the port file announces the server ready */
  uv_signal_init(&loop, &srv.sig_int);
  uv_signal_init(&loop, &srv.sig_term);
  srv.sig_int.data = srv.sig_term.data = &srv;
  uv_signal_start(&srv.sig_int, on_signal, SIGINT);
  uv_signal_start(&srv.sig_term, on_signal, SIGTERM);
  int bound = net_server_port(srv.net);
  if (cfg->port_file[0] && write_port_file(cfg->port_file, bound))
    IMC_WARN("server", "msg=\"cannot write port file\" path=%s", cfg->port_file);
  char vq[160];
  IMC_INFO("server", "msg=\"listening\" addr=%s:%d data=%s apps=%zu ws=%s version=%s open_files=%u max_websockets=%zu "
           "fd_reserve=%zu", host, bound, cfg->data, tenant_registry_app_count(srv.reg), cfg->ws_path,
           imc_log_q(vq, sizeof vq, imc_version_build()), fd_limit, ncfg.max_websockets, fd_reserve);
  imc_log_level_t lvl; /* listening: the configured level from now on (cli_serve started at most at error) */
  if (!imc_log_level_parse(cfg->log_level, &lvl)) imc_log_level = lvl;
  uv_timer_init(&loop, &srv.tick);
  uv_timer_init(&loop, &srv.purge_timer);
  uv_timer_init(&loop, &srv.stop_timer);
  uv_timer_init(&loop, &srv.live_timer);
  srv.tick.data = srv.purge_timer.data = srv.stop_timer.data = srv.live_timer.data = &srv;
  cws_sig_timer_init(&srv); /* before the loop runs: no session is online yet */
  api_jobs_init(&srv);
  uv_timer_start(&srv.tick, on_tick, (uint64_t)cfg->tick_ms, (uint64_t)cfg->tick_ms);
  uint64_t purge_ms = (uint64_t)(cfg->msg_purge_interval_ms ? cfg->msg_purge_interval_ms : cfg->msg_purge_interval_s * 1000);
  uv_timer_start(&srv.purge_timer, on_purge_timer, purge_ms, purge_ms);
  api_changes_start(&srv);
  if (cfg->turn_log[0] && imc_turnlog_open(API_TURN_LOG_TURNS, API_TURN_LOG_REQS))
    IMC_WARN("server", "msg=\"cannot record the turn log\" err=%s", imc_err_name(IMC_E_NOMEM));
  uv_run(&loop, UV_RUN_DEFAULT);
  if (imc_turnlog_on() && imc_turnlog_write(cfg->turn_log))
    IMC_WARN("server", "msg=\"cannot write the turn log\" path=%s", cfg->turn_log);
  imc_turnlog_close();
  rc = 0;
out:
  api_srv_release(&srv);
  uv_loop_close(&loop);
  return rc ? 1 : srv.exit_status;
}
