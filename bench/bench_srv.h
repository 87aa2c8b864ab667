/* bench_srv.h — what a load generator reads from the server under test
 * over HTTP (GET /healthz, /healthz/stages; src/api/healthz.c): the
 * writer's jobs and batches, the frames and writes, the WAL's bytes, the
 * writer's stage histograms, and the checkpoint and nap counters printed
 * as key=value words. Header-only (each bench is one .c file); blocking
 * calls of a few hundred microseconds, made outside the measured sends.
 * Used by bench/msg_bench.c. */
#ifndef IMC_BENCH_SRV_H
#define IMC_BENCH_SRV_H

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store/store_writer.h"
#include "util/hist.h"

/* GET path from the server into buf (blocking; a few hundred
 * microseconds): the body's start, or NULL. */
static inline const char *bench_srv_get(const char *host, int port, const char *path, char *buf, size_t cap)
{
  size_t got = 0;
  char req[256];
  int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, host, &a.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) || write(fd, req, (size_t)len) != (ssize_t)len) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  for (ssize_t n; got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0;) got += (size_t)n;
  close(fd);
  buf[got] = 0;
  const char *body = strstr(buf, "\r\n\r\n");
  return body ? body + 4 : NULL;
}

/* The server's writer jobs and batches, its sendmsg calls and frames
 * written, and the bytes written to its WAL (GET /healthz; 0 from a server
 * without "disk"). 0 or -1. */
static inline int bench_srv_healthz(const char *host, int port, unsigned long long out[5])
{
  char buf[16384];
  if (!bench_srv_get(host, port, "/healthz", buf, sizeof buf)) return -1;
  const char *w = strstr(buf, "\"writer\":"), *n = strstr(buf, "\"ws_out\":");
  const char *j = w ? strstr(w, "\"jobs\":") : NULL, *b = w ? strstr(w, "\"batches\":") : NULL;
  const char *wr = n ? strstr(n, "\"writes\":") : NULL, *ch = n ? strstr(n, "\"frames\":") : NULL;
  if (!j || !b || !wr || !ch || sscanf(j, "\"jobs\":%llu", &out[0]) != 1 || sscanf(b, "\"batches\":%llu", &out[1]) != 1 ||
      sscanf(wr, "\"writes\":%llu", &out[2]) != 1 || sscanf(ch, "\"frames\":%llu", &out[3]) != 1)
    return -1;
  const char *d = strstr(buf, "\"disk\":"), *wb = d ? strstr(d, "\"wal_bytes\":") : NULL;
  if (!wb || sscanf(wb, "\"wal_bytes\":%llu", &out[4]) != 1) out[4] = 0;
  return 0;
}

/* The writer's stage histograms (GET /healthz/stages). 0 or -1. */
static inline int bench_srv_stages(const char *host, int port, imc_hist_t out[STORE_STAGES])
{
  static char buf[1 << 20];
  const char *body = bench_srv_get(host, port, "/healthz/stages", buf, sizeof buf);
  json_t *o = body ? json_loads(body, 0, NULL) : NULL;
  if (!o) return -1;
  memset(out, 0, sizeof(imc_hist_t) * STORE_STAGES);
  for (int i = 0; i < STORE_STAGES; i++) {
    json_t *st = json_object_get(o, store_stage_names[i]), *b = json_object_get(st, "buckets"), *e;
    size_t k;
    out[i].max_ns = (uint64_t)json_integer_value(json_object_get(st, "max_us")) * 1000;
    json_array_foreach(b, k, e) {
      json_int_t idx = json_integer_value(json_array_get(e, 0)), cnt = json_integer_value(json_array_get(e, 1));
      if (idx >= 0 && idx < IMC_HIST_BUCKETS) { out[i].b[idx] = (uint32_t)cnt; out[i].n += (uint64_t)cnt; }
    }
  }
  json_decref(o);
  return 0;
}

/* The checkpointer's counters since the start (store_ckpt.h; "ckpt_ends": why cycles of pinned rounds ended
 * with their blocking round), the writer's idle merge chunks (store_writer_merge_stats) and the loop's naps
 * (store_writer.h, "Nap"), as " key=value" words on stdout. */
static inline void bench_srv_print_counters(const char *host, int port)
{
  char buf[16384];
  const char *body = bench_srv_get(host, port, "/healthz", buf, sizeof buf);
  json_t *o = body ? json_loads(body, 0, NULL) : NULL, *ck = json_object_get(o, "ckpt");
  static const char *const keys[] = { "runs", "pinned", "wal_pages_max", "p99_us", "max_us", "total_us", "blocking_cpu_us", "blocking_max_us", "copy_max_us", "db_sync_max_us", "final_syncs", "final_sync_max_us" };
  for (size_t i = 0; ck && i < sizeof keys / sizeof keys[0]; i++)
    printf(" ckpt_%s=%lld", keys[i], (long long)json_integer_value(json_object_get(ck, keys[i])));
  json_t *ends = json_object_get(ck, "ends"); /* why cycles ended with their blocking round (store_ckpt.h) */
  static const char *const end_keys[] = { "few", "flat", "wal_cap", "rounds" };
  for (size_t i = 0; ends && i < sizeof end_keys / sizeof end_keys[0]; i++)
    printf("%s%s:%lld", i ? "/" : " ckpt_ends=", end_keys[i], (long long)json_integer_value(json_object_get(ends, end_keys[i])));
  json_t *mg = json_object_get(o, "merge"); /* the C2C logs' idle merge chunks since the start (store_writer.h) */
  if (mg)
    printf(" merge_chunks=%lld merge_total_ms=%lld merge_p99_us=%lld merge_max_us=%lld",
           (long long)json_integer_value(json_object_get(mg, "chunks")),
           (long long)json_integer_value(json_object_get(mg, "total_us")) / 1000,
           (long long)json_integer_value(json_object_get(mg, "p99_us")),
           (long long)json_integer_value(json_object_get(mg, "max_us")));
  json_t *nap = json_object_get(o, "loop_nap"); /* the loop's naps since the start (store_writer.h, "Nap") */
  if (nap)
    printf(" naps=%lld nap_slept_ms=%lld naps_cut=%lld", (long long)json_integer_value(json_object_get(nap, "naps")),
           (long long)json_integer_value(json_object_get(nap, "slept_us")) / 1000,
           (long long)json_integer_value(json_object_get(nap, "cut")));
  json_decref(o);
}

#endif
