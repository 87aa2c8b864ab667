/* healthz.c — GET /healthz and GET /healthz/stages: the server's counters
 * as one JSON document (docs/operator-api.md lists every field), read on the
 * loop thread from the modules that keep them. Split out of server.c, which
 * dispatches to it. */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "im/damaged.h"
#include "util/log.h"

#include <sys/resource.h>
#include <sys/statvfs.h>

/* The writer's stages (store_writer.h, "Stages") since the start:
 * {name: {n, p50_us, p99_us, max_us}}, and with buckets the histogram's
 * non-empty buckets as [[index, count], …] too (util/hist.h). */
static json_t *writer_stages(api_srv_t *srv, int buckets)
{
  json_t *o = json_object();
  int bad = 0; /* a stage or a bucket left out: NULL (the reply is 500 out of memory, never a partial one: §85) */
  const imc_hist_t *h = srv->writer ? store_writer_stages(srv->writer) : NULL;
  for (int i = 0; h && i < STORE_STAGES; i++) {
    json_t *st = json_pack("{s:I,s:I,s:I,s:I}", "n", (json_int_t)h[i].n, "p50_us", (json_int_t)imc_hist_pct_us(&h[i], 50),
                           "p99_us", (json_int_t)imc_hist_pct_us(&h[i], 99), "max_us", (json_int_t)(h[i].max_ns / 1000));
    if (buckets) {
      json_t *b = json_array();
      for (int k = 0; k < IMC_HIST_BUCKETS; k++)
        if (h[i].b[k]) api_list_add(b, json_pack("[i,I]", k, (json_int_t)h[i].b[k]), &bad);
      api_field_put(st, "buckets", b, &bad);
    }
    api_field_put(o, store_stage_names[i], st, &bad);
  }
  return api_json_whole(o, bad);
}

/* What leaves a running server unwell, worst first (docs/operator-api.md,
 * "Health"): /healthz's status while it holds, whether /healthz answers 503
 * (take the server out of rotation), and the text in "problems". A failed
 * sync is sticky until a restart; disk_low clears once space is freed. */
enum { HEALTH_WAL_SYNC, HEALTH_DB_SYNC, HEALTH_DISK_LOW, HEALTH__COUNT };
static const struct {
  const char *code, *status;
  int unavailable;
  const char *detail;
} health[HEALTH__COUNT] = {
  [HEALTH_WAL_SYNC] = { "wal_sync_failed", "failing", 1,
                        "an fdatasync of the WAL failed: no write is acknowledged any more (each is answered with an "
                        "error) and no checkpoint starts; restart the server" },
  [HEALTH_DB_SYNC] = { "db_sync_failed", "degraded", 0,
                       "the database file's sync after a checkpoint failed: writes are still acknowledged, no more "
                       "checkpoints run and the WAL grows; restart the server" },
  [HEALTH_DISK_LOW] = { "disk_low", "degraded", 0,
                        "the data directory's filesystem has less free space than disk_low_mb: once it is full every "
                        "write fails; free space or grow the disk" },
};

/* Bytes free to the server on the data directory's filesystem, -1 if statvfs fails. */
static int64_t disk_free_bytes(const char *dir)
{
  struct statvfs sv;
  return statvfs(dir, &sv) ? -1 : (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
}

/* 1 when free_bytes (disk_free_bytes) is below disk_low_mb (0: no check). */
static int disk_is_low(const api_srv_t *srv, int64_t free_bytes)
{
  return srv->cfg->disk_low_mb > 0 && free_bytes >= 0 && free_bytes / (1024 * 1024) < srv->cfg->disk_low_mb;
}

void api_health_tick(api_srv_t *srv)
{
  int64_t free_bytes = disk_free_bytes(srv->cfg->data);
  int low = disk_is_low(srv, free_bytes);
  if (low == srv->disk_low) return;
  srv->disk_low = low;
  if (low)
    IMC_WARN("server", "msg=\"disk low: the data directory's filesystem has less free space than disk_low_mb; once it "
                       "is full every write fails\" free_mb=%lld disk_low_mb=%lld", (long long)(free_bytes >> 20),
             (long long)srv->cfg->disk_low_mb);
  else
    IMC_INFO("server", "msg=\"disk space back above disk_low_mb\" free_mb=%lld disk_low_mb=%lld",
             (long long)(free_bytes >> 20), (long long)srv->cfg->disk_low_mb);
}

/* {"status":"ok","problems":[]} (or what the health table above says) plus the storage pipeline's counters: writer and reader
 * queues (queued/cap/refused), the change-log follower (seq, polls, rows,
 * apps reloaded one by one, token reloads, failures), the login pacing
 * (logins waiting for a later turn, deferred ever), the live-room fan-out
 * (im_groups_stats_t: sessions, deliveries, bytes queued, fan-out passes,
 * messages that waited for a window, deliveries dropped, sessions lagging,
 * cut-offs) and the WebSocket output (sendmsg calls that wrote, frames they
 * completed, bytes written by the server: frames / writes = frames per
 * write), where writer jobs waited (stages), the WAL checkpoints
 * (ckpt: store_ckpt.h) and the WAL syncs (sync: fdatasyncs, failed ones,
 * batches committed and not yet synced now, COMMITs that waited for the
 * previous sync: store_writer.h, "Sync"; waits for the pace: "Pacing"), the
 * loop's naps (loop_nap: "Nap"), the idle merge chunks (merge:
 * store_writer_merge_stats) and the bytes written to the WAL and the
 * database file and free on its filesystem (disk: store_ckpt.h
 * store_disk_bytes, statvfs). */
void api_healthz(api_srv_t *srv, net_req_t *req)
{
  store_writer_stats_t ws = { 0 };
  store_reader_stats_t rs = { 0 };
  if (srv->writer) store_writer_stats(srv->writer, &ws);
  if (srv->reader) store_reader_stats(srv->reader, &rs);
  const api_changes_t *c = &srv->changes;
  size_t subs, sub_targets, sub_users;
  ws_status_subs_stats(srv, &subs, &sub_targets, &sub_users);
  uint64_t waiting, deferred;
  cws_pace_stats(srv, &waiting, &deferred);
  store_ckpt_stats_t ck = { 0 };
  if (srv->writer) store_writer_ckpt_stats(srv->writer, &ck);
  int64_t free_bytes = disk_free_bytes(srv->cfg->data);
  const int unwell[HEALTH__COUNT] = {
    [HEALTH_WAL_SYNC] = ws.sync_failed > 0,
    [HEALTH_DB_SYNC] = ck.db_sync_failed > 0,
    [HEALTH_DISK_LOW] = disk_is_low(srv, free_bytes),
  };
  const char *status = srv->stopping ? "stopping" : NULL;
  int code = srv->stopping ? 503 : 200;
  for (int i = 0; i < HEALTH__COUNT; i++) {
    if (!unwell[i]) continue;
    if (!status) status = health[i].status;
    if (health[i].unavailable) code = 503;
  }
  json_t *o = json_pack("{s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},"
                        "s:{s:I,s:I,s:I},s:{s:I,s:I}}",
                        "status", status ? status : "ok",
                        "writer", "queued", (json_int_t)ws.queued, "max_jobs", (json_int_t)ws.max_jobs,
                        "refused", (json_int_t)ws.refused, "max_bytes", (json_int_t)srv->cfg->writer_max_bytes,
                        "refused_bytes", (json_int_t)ws.refused_bytes, "jobs", (json_int_t)ws.jobs, "batches",
                        (json_int_t)ws.batches, "cache_kib", (json_int_t)ws.cache_kib,
                        "reader", "queued", (json_int_t)rs.queued, "max_jobs", (json_int_t)rs.max_jobs,
                        "refused", (json_int_t)rs.refused, "jobs", (json_int_t)rs.jobs,
                        "changes", "seq", (json_int_t)c->seq, "polls", (json_int_t)c->polls, "rows", (json_int_t)c->rows,
                        "apps_reloaded", (json_int_t)c->apps_reloaded, "meta_reloaded", (json_int_t)c->meta_reloaded,
                        "failed", (json_int_t)c->failed,
                        "c2c", "committed_users", (json_int_t)(srv->c2c ? im_c2c_committed_users(srv->c2c) : 0),
                        "in_flight", (json_int_t)(srv->c2c ? im_c2c_in_flight(srv->c2c) : 0),
                        "fast_sends", (json_int_t)srv->ws_sends_fast,
                        "status_subs", "total", (json_int_t)subs, "targets", (json_int_t)sub_targets,
                        "users", (json_int_t)sub_users,
                        "logins", "waiting", (json_int_t)waiting, "deferred", (json_int_t)deferred);
  im_groups_stats_t gs = { 0 };
  net_stats_t ns = { 0 };
  if (srv->groups) im_groups_stats(srv->groups, &gs);
  if (srv->net) net_server_stats(srv->net, &ns);
  int bad = 0; /* a member left out: 500 out of memory, never a partial reading (§85) */
  json_t *problems = json_array();
  for (int i = 0; i < HEALTH__COUNT; i++)
    if (unwell[i]) api_list_add(problems, json_pack("{s:s,s:s}", "code", health[i].code, "detail", health[i].detail), &bad);
  api_field_put(o, "problems", problems, &bad);
  json_t *rd = json_object_get(o, "reader"); /* the pool's fairness (§65, store_reader.h) */
  api_field_put(rd, "refused_share", json_integer((json_int_t)rs.refused_share), &bad);
  api_field_put(rd, "skipped", json_integer((json_int_t)rs.skipped), &bad);
  api_field_put(rd, "owners", json_integer((json_int_t)rs.owners), &bad);
  api_field_put(json_object_get(o, "logins"), "opening_deferred", json_integer((json_int_t)ns.fresh_deferred), &bad);
  api_field_put(json_object_get(o, "logins"), "socket_events", json_integer((json_int_t)ns.events), &bad);
  api_field_put(o, "loop", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "reads_deferred", (json_int_t)ns.read_deferred,
                                     "writes_deferred", (json_int_t)ns.write_deferred,
                                     "notices_deferred", (json_int_t)ns.notice_deferred,
                                     "accepts_deferred", (json_int_t)ns.accept_deferred,
                                     "turns", (json_int_t)ns.turns, "turns_over_2ms", (json_int_t)ns.turns_over_2ms,
                                     "turns_over_5ms", (json_int_t)ns.turns_over_5ms,
                                     "turn_p50_us", (json_int_t)ns.turn_p50_us, "turn_p99_us", (json_int_t)ns.turn_p99_us,
                                     "turn_max_us", (json_int_t)ns.turn_max_us), &bad);
  api_field_put(o, "live", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sessions", (json_int_t)gs.live_sessions,
                                     "deliveries", (json_int_t)gs.live_frames, "bytes", (json_int_t)gs.live_bytes,
                                     "fanouts", (json_int_t)gs.live_fanouts, "batched", (json_int_t)gs.live_batched,
                                     "dropped", (json_int_t)gs.live_dropped, "lagging", (json_int_t)gs.live_lagging,
                                     "cutoffs", (json_int_t)gs.live_cutoffs, "slices", (json_int_t)gs.live_slices), &bad);
  api_field_put(o, "groups", json_pack("{s:I}", "event_chunks", (json_int_t)gs.event_chunks), &bad);
  im_damaged_stats_t ds;
  im_damaged_stats(&ds); /* stored bodies that do not parse, delivered marked (§88): rows met, each once (§95) */
  api_field_put(o, "damaged", json_pack("{s:I,s:I}", "rows", (json_int_t)ds.rows, "untracked",
                                        (json_int_t)ds.untracked), &bad);
  api_field_put(o, "rel_gate", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "held", (json_int_t)srv->rel_gate.held.len,
                                         "named", (json_int_t)srv->rel_gate.named.len, "waiting",
                                         (json_int_t)srv->rel_gate.waiting, "wait_max", (json_int_t)srv->cfg->rel_gate_wait_max,
                                         "statuses", (json_int_t)srv->rel_gate.statuses, "deferred",
                                         (json_int_t)srv->rel_gate.deferred, "refused", (json_int_t)srv->rel_gate.refused), &bad);
  uint64_t paused, pauses, resumes;
  cws_admit_stats(srv, &paused, &pauses, &resumes);
  api_field_put(o, "admission", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "inflight", (json_int_t)ws.inflight,
                                          "inflight_max", (json_int_t)ws.inflight_max, "inflight_bytes",
                                          (json_int_t)ws.inflight_bytes, "inflight_bytes_max",
                                          (json_int_t)ws.inflight_bytes_max, "high",
                                          (json_int_t)srv->cfg->ws_admit_high_jobs, "low",
                                          (json_int_t)srv->cfg->ws_admit_low_jobs, "paused", (json_int_t)paused,
                                          "pauses", (json_int_t)pauses, "resumes", (json_int_t)resumes), &bad);
  api_field_put(json_object_get(o, "admission"), "conn_paused", json_integer((json_int_t)srv->ws_conn_paused), &bad);
  api_field_put(json_object_get(o, "admission"), "conn_pauses", json_integer((json_int_t)srv->ws_conn_pauses), &bad);
  api_field_put(json_object_get(o, "admission"), "read_parked", json_integer((json_int_t)srv->read_wait.parked), &bad);
  api_field_put(json_object_get(o, "admission"), "read_waits", json_integer((json_int_t)srv->read_wait.waits), &bad);
  api_field_put(json_object_get(o, "admission"), "rest_read_parked", json_integer((json_int_t)srv->rest_read_wait.parked), &bad);
  api_field_put(json_object_get(o, "admission"), "rest_read_waits", json_integer((json_int_t)srv->rest_read_wait.waits), &bad);
  api_field_put(json_object_get(o, "admission"), "rest_read_expired", json_integer((json_int_t)srv->rest_read_wait.expired), &bad);
  api_field_put(json_object_get(o, "admission"), "conn_inflight_max", json_integer((json_int_t)srv->cfg->ws_conn_inflight_max), &bad);
  struct rlimit nofile; /* read now: the limit the next accept meets */
  json_int_t open_files = getrlimit(RLIMIT_NOFILE, &nofile) ? -1
                        : nofile.rlim_cur == RLIM_INFINITY ? -1 : (json_int_t)nofile.rlim_cur;
  api_field_put(o, "connections", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "open", (json_int_t)ns.connections,
                                            "websockets", (json_int_t)ns.websockets, "ws_closing",
                                            (json_int_t)ns.ws_closing, "max_websockets",
                                            (json_int_t)ns.max_websockets, "open_files", open_files, "ws_refused",
                                            (json_int_t)ns.ws_refused_full, "refused_no_fd", (json_int_t)ns.refused_no_fd,
                                            "accept_pauses", (json_int_t)ns.accept_pauses), &bad);
  uint32_t busiest;
  size_t busiest_n;
  cws_app_cap_busiest(srv, &busiest, &busiest_n);
  json_t *conns = json_object_get(o, "connections"); /* the per-app cap (ws_app_cap.c) */
  api_field_put(conns, "max_websockets_per_app", json_integer((json_int_t)srv->cfg->max_websockets_per_app), &bad);
  api_field_put(conns, "app_refused", json_integer((json_int_t)srv->app_cap.refused), &bad);
  api_field_put(conns, "busiest_app", json_integer((json_int_t)busiest), &bad);
  api_field_put(conns, "busiest_app_websockets", json_integer((json_int_t)busiest_n), &bad);
  api_field_put(o, "ws_out", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "writes", (json_int_t)ns.ws_writes,
                                       "frames", (json_int_t)ns.ws_frames, "bytes", (json_int_t)ns.bytes_out,
                                       "close_timeouts", (json_int_t)ns.ws_close_timeouts, "queued_bytes",
                                       (json_int_t)ns.queued_mem, "queued_bytes_max", (json_int_t)ns.queued_mem_max,
                                       "queued_cap", (json_int_t)srv->cfg->ws_max_queued_total, "shed",
                                       (json_int_t)ns.ws_shed), &bad);
  api_field_put(o, "stages", writer_stages(srv, 0), &bad);
  if (srv->writer) {
    api_field_put(o, "ckpt", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "runs", (json_int_t)ck.runs,
                                       "failed", (json_int_t)ck.failed, "wal_pages", (json_int_t)ck.wal_pages,
                                       "wal_pages_max", (json_int_t)ck.wal_pages_max,
                                       "p99_us", (json_int_t)imc_hist_pct_us(&ck.took, 99),
                                       "max_us", (json_int_t)(ck.took.max_ns / 1000),
                                       "total_us", (json_int_t)(ck.took_ns / 1000),
                                       "blocking_cpu_us", (json_int_t)(ck.blocking_cpu_ns / 1000),
                                       "pinned", (json_int_t)ck.pinned,
                                       "blocking_max_us", (json_int_t)(ck.took_blocking.max_ns / 1000),
                                       "db_sync_failed", (json_int_t)ck.db_sync_failed,
                                       "copy_max_us", (json_int_t)(ck.copy.max_ns / 1000),
                                       "db_sync_max_us", (json_int_t)(ck.db_sync.max_ns / 1000),
                                       "final_syncs", (json_int_t)ck.final_sync.n,
                                       "final_sync_max_us", (json_int_t)(ck.final_sync.max_ns / 1000)), &bad);
    json_t *ends = json_object(); /* why the cycles of pinned rounds ended with their blocking round */
    for (int e = STORE_CKPT_END_FEW; e < STORE_CKPT_ENDS; e++)
      api_field_put(ends, store_ckpt_end_name((store_ckpt_end_t)e), json_integer((json_int_t)ck.ends[e]), &bad);
    api_field_put(json_object_get(o, "ckpt"), "ends", ends, &bad);
    api_field_put(o, "sync", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "syncs", (json_int_t)ws.syncs,
                                       "skipped", (json_int_t)ws.syncs_skipped, "failed", (json_int_t)ws.sync_failed, "unsynced", (json_int_t)ws.unsynced,
                                       "commit_waits", (json_int_t)ws.commit_waits, "paced", (json_int_t)ws.paced), &bad);
    uint64_t wal_bytes, db_bytes;
    store_disk_bytes(&wal_bytes, &db_bytes);
    api_field_put(o, "disk", json_pack("{s:I,s:I,s:I}", "wal_bytes", (json_int_t)wal_bytes, "db_bytes", (json_int_t)db_bytes,
                                       "free_bytes", (json_int_t)free_bytes), &bad);
    imc_hist_t mh;
    uint64_t merge_ns;
    store_writer_merge_stats(srv->writer, &mh, &merge_ns);
    api_field_put(o, "merge", json_pack("{s:I,s:I,s:I,s:I}", "chunks", (json_int_t)mh.n, "total_us",
                                        (json_int_t)(merge_ns / 1000), "p99_us", (json_int_t)imc_hist_pct_us(&mh, 99),
                                        "max_us", (json_int_t)(mh.max_ns / 1000)), &bad);
    uint64_t naps, slept_us, cut;
    store_writer_nap_stats(srv->writer, &naps, &slept_us, &cut);
    api_field_put(o, "loop_nap", json_pack("{s:I,s:I,s:I,s:I}", "us", (json_int_t)srv->cfg->loop_nap_us, "naps",
                                           (json_int_t)naps, "slept_us", (json_int_t)slept_us, "cut", (json_int_t)cut), &bad);
  }
  api_reply_json(req, code, api_json_whole(o, bad)); /* NULL: 500, the fixed 70500 text */
}

/* GET /healthz/stages: the writer's stage histograms whole, for tools that
 * subtract two readings (bench/msg_bench.c). */
void api_healthz_stages(api_srv_t *srv, net_req_t *req)
{
  api_reply_json(req, 200, writer_stages(srv, 1));
}
