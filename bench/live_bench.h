/* live_bench.h — what live_bench's worker processes and its parent share:
 * the limits, the shared memory the workers count into and the parent reads
 * (deliveries and latency histograms per worker and step), the options, the
 * histogram buckets, the login text, and the
 * publisher's text as a worker recognizes and samples it (the step digits
 * and the send time at a fixed distance from a delivery frame's end).
 * Header only: each bench program is built from one .c file (live_bench.c
 * includes this once). */
#ifndef IMC_BENCH_LIVE_BENCH_H
#define IMC_BENCH_LIVE_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth/usersig.h"
#include "util/clock.h"

#define MAXP 16
#define MAXSTEP 16
#define NB 2000
#define TEXT_LEN 20 /* s<2 digits>t<16 digits> */

typedef struct shm {
  volatile int ready[MAXP];            /* 1 + joined members once a worker is done setting up */
  volatile int stop;
  volatile uint64_t recv[MAXP][MAXSTEP];
  volatile uint64_t sampled[MAXP][MAXSTEP]; /* deliveries of the sampled members (the histograms' counts) */
  volatile uint64_t bytes[MAXP];
  volatile uint64_t nostamp[MAXP];     /* reads without a kernel timestamp (read time used) */
  volatile uint32_t hist[MAXP][MAXSTEP][NB];      /* publisher's send → kernel receive time */
  volatile uint32_t hist_read[MAXP][MAXSTEP][NB]; /* publisher's send → the worker's read */
} shm_t;

static struct {
  const char *host, *key, *mode, *rates;
  int port, members, procs, sources, step_s, window, first;
  long max_rate;
  unsigned sdkappid;
  int server_pid, keep_going, sample;
} opt = { "127.0.0.1", NULL, "live", "50,100,200,400,800", 0, 10000, 4, 8, 5, 64, 0, 0, 0, 0, 0, 64 };

static shm_t *sh;
static int me; /* worker index */

static int bucket(uint64_t us)
{
  if (us < 10000) return (int)(us / 100);
  if (us < 1000000) return 100 + (int)((us - 10000) / 1000);
  if (us < 10000000) return 1090 + (int)((us - 1000000) / 10000);
  return NB - 1;
}

static double bucket_ms(int b) /* upper bound of a bucket */
{
  if (b < 100) return (b + 1) * 0.1;
  if (b < 1090) return 10 + (b - 100 + 1);
  if (b < NB - 1) return 1000 + (b - 1090 + 1) * 10.0;
  return 1e9;
}


static void login_text(char *text, size_t cap, const char *user)
{
  char sig[1024];
  auth_usersig_gen(opt.sdkappid, opt.key, user, imc_clock_now_s(), 86400, sig, sizeof sig);
  snprintf(text, cap, "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\","
           "\"platform\":\"Web\",\"device_id\":\"%s\"}", opt.sdkappid, user, sig, user);
}

static const char *group_id(void) { return !strcmp(opt.mode, "live") ? "bench-room" : "bench-work"; }

/* A delivery frame's payload: the publisher's text sits at a fixed distance
 * from the end. The step (0 … MAXSTEP-1) or -1 if p is not a delivery. */
static int delivery_step(const unsigned char *p, size_t len)
{
  static const char tail[] = "\"}}]}}";
  if (len < 6 + TEXT_LEN + 8 || memcmp(p + len - 6, tail, 6)) return -1;
  const unsigned char *t = p + len - 6 - TEXT_LEN;
  if (t[0] != 's' || t[3] != 't') return -1;
  int step = (t[1] - '0') * 10 + (t[2] - '0');
  return step >= 0 && step < MAXSTEP ? step : -1;
}

/* A sampled member's delivery: its two latencies from the send time in the
 * text; now is the time the read that brought it returned, kt the kernel's
 * receive time of that read (<= now). */
static void delivery_sample(const unsigned char *p, size_t len, int step, uint64_t now, uint64_t kt)
{
  static const char pre[] = "\"Text\":\"";
  const unsigned char *t = p + len - 6 - TEXT_LEN;
  if (memcmp(t - 8, pre, 8)) return;
  uint64_t sent = 0;
  for (int i = 4; i < TEXT_LEN; i++) sent = sent * 10 + (uint64_t)(t[i] - '0');
  sh->sampled[me][step]++;
  sh->hist[me][step][bucket(kt > sent ? kt - sent : 0)]++;
  sh->hist_read[me][step][bucket(now > sent ? now - sent : 0)]++;
}

#endif
