/* turnlog.c — see turnlog.h. Two rings written by the loop thread; a phase
 * mark adds the time since the previous mark to the phase the loop was in. */
#include "util/turnlog.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const imc_turnlog_phase_names[IMC_TP_N] = {
  "other", "timers", "events", "accept", "read_fresh", "read_ws", "read_http", "logins", "writer_in", "writer_done",
  "reader_done", "notices", "write_http", "write_ws",
};

typedef struct {
  uint64_t end_ns, busy_ns, blocked_ns;
  uint64_t cpu_ns;                 /* the thread's CPU time in the turn (busy - cpu: off the CPU, preempted) */
  uint64_t no;                     /* the turn's number */
  uint32_t ns[IMC_TP_N];           /* time per phase (a turn is far shorter than 4 s) */
  uint32_t entries[IMC_TP_N];
} tl_turn_t;

typedef struct {
  uint32_t id;                     /* 0: an empty slot */
  int32_t port;
  uint64_t read_ns, handed_ns, queued_ns, written_ns;
  uint64_t turn_read, turn_queued, turn_written;
} tl_req_t;

typedef struct {
  tl_turn_t *turns;
  tl_req_t *reqs;
  size_t turns_cap, reqs_cap;
  uint64_t turns_n;                /* turns recorded (ever); the current turn's number */
  uint32_t reqs_n;                 /* requests recorded (ever): the last id */
  int cur;                         /* the phase the loop is in */
  uint64_t mark_ns;                /* the last mark */
  uint64_t cpu_at_ns;              /* the thread's CPU time at the last turn's end */
  tl_turn_t acc;                   /* the current turn so far */
} turnlog_t;

static _Thread_local turnlog_t *tl;

static uint64_t thread_cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t imc_turnlog_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int imc_turnlog_open(size_t turns, size_t reqs)
{
  imc_turnlog_close();
  turnlog_t *t = calloc(1, sizeof *t);
  if (!t) return IMC_E_NOMEM;
  t->turns_cap = turns ? turns : 1;
  t->reqs_cap = reqs ? reqs : 1;
  t->turns = calloc(t->turns_cap, sizeof *t->turns);
  t->reqs = calloc(t->reqs_cap, sizeof *t->reqs);
  if (!t->turns || !t->reqs) { free(t->turns); free(t->reqs); free(t); return IMC_E_NOMEM; }
  t->mark_ns = imc_turnlog_now();
  t->cpu_at_ns = thread_cpu_ns();
  tl = t;
  return 0;
}

void imc_turnlog_close(void)
{
  if (!tl) return;
  free(tl->turns);
  free(tl->reqs);
  free(tl);
  tl = NULL;
}

int imc_turnlog_on(void) { return tl != NULL; }

/* Add the time since the last mark to the current phase. */
static void mark(turnlog_t *t, uint64_t now)
{
  uint64_t d = now > t->mark_ns ? now - t->mark_ns : 0;
  t->acc.ns[t->cur] += (uint32_t)(d > UINT32_MAX ? UINT32_MAX : d);
  t->mark_ns = now;
}

int imc_turnlog_enter(int phase)
{
  turnlog_t *t = tl;
  if (!t) return 0;
  int prev = t->cur;
  mark(t, imc_turnlog_now());
  t->cur = phase;
  t->acc.entries[phase]++;
  return prev;
}

void imc_turnlog_leave(int prev)
{
  turnlog_t *t = tl;
  if (!t) return;
  mark(t, imc_turnlog_now());
  t->cur = prev;
}

void imc_turnlog_turn_end(uint64_t now_ns, uint64_t busy_ns, uint64_t blocked_ns)
{
  turnlog_t *t = tl;
  if (!t) return;
  mark(t, now_ns);
  t->acc.ns[IMC_TP_OTHER] = t->acc.ns[IMC_TP_OTHER] > blocked_ns ? t->acc.ns[IMC_TP_OTHER] - (uint32_t)blocked_ns : 0;
  t->acc.end_ns = now_ns;
  t->acc.busy_ns = busy_ns;
  t->acc.blocked_ns = blocked_ns;
  uint64_t cpu = thread_cpu_ns();
  t->acc.cpu_ns = cpu - t->cpu_at_ns;
  t->cpu_at_ns = cpu;
  t->acc.no = t->turns_n;
  t->turns[t->turns_n % t->turns_cap] = t->acc;
  t->turns_n++;
  memset(&t->acc, 0, sizeof t->acc);
}

uint32_t imc_turnlog_req(uint64_t read_ns, int port)
{
  turnlog_t *t = tl;
  if (!t) return 0;
  uint32_t id = ++t->reqs_n;
  if (!id) id = ++t->reqs_n; /* 0 means "none" */
  tl_req_t *r = &t->reqs[id % t->reqs_cap];
  *r = (tl_req_t){ .id = id, .port = port, .read_ns = read_ns, .handed_ns = imc_turnlog_now(), .turn_read = t->turns_n };
  return id;
}

void imc_turnlog_req_mark(uint32_t id, int what)
{
  turnlog_t *t = tl;
  if (!t || !id) return;
  tl_req_t *r = &t->reqs[id % t->reqs_cap];
  if (r->id != id) return; /* overwritten since */
  if (what == IMC_TL_QUEUED) { r->queued_ns = imc_turnlog_now(); r->turn_queued = t->turns_n; }
  else { r->written_ns = imc_turnlog_now(); r->turn_written = t->turns_n; }
}

int imc_turnlog_write(const char *path)
{
  turnlog_t *t = tl;
  if (!t) return 0;
  FILE *f = fopen(path, "w");
  if (!f) return IMC_E_IO;
  uint64_t from = t->turns_n > t->turns_cap ? t->turns_n - t->turns_cap : 0;
  for (uint64_t i = from; i < t->turns_n; i++) {
    const tl_turn_t *u = &t->turns[i % t->turns_cap];
    fprintf(f, "turn %llu end_ns=%llu busy_ns=%llu blocked_ns=%llu cpu_ns=%llu", (unsigned long long)u->no,
            (unsigned long long)u->end_ns, (unsigned long long)u->busy_ns, (unsigned long long)u->blocked_ns,
            (unsigned long long)u->cpu_ns);
    for (int p = 0; p < IMC_TP_N; p++) fprintf(f, " %s=%u/%u", imc_turnlog_phase_names[p], u->ns[p], u->entries[p]);
    fputc('\n', f);
  }
  uint32_t rfrom = t->reqs_n > t->reqs_cap ? t->reqs_n - (uint32_t)t->reqs_cap + 1 : 1;
  for (uint32_t id = rfrom; id && id <= t->reqs_n; id++) {
    const tl_req_t *r = &t->reqs[id % t->reqs_cap];
    if (r->id != id) continue;
    fprintf(f, "req port=%d read_ns=%llu handed_ns=%llu queued_ns=%llu written_ns=%llu turns=%llu,%llu,%llu\n", r->port,
            (unsigned long long)r->read_ns, (unsigned long long)r->handed_ns, (unsigned long long)r->queued_ns,
            (unsigned long long)r->written_ns, (unsigned long long)r->turn_read, (unsigned long long)r->turn_queued,
            (unsigned long long)r->turn_written);
  }
  int bad = ferror(f);
  if (fclose(f) || bad) return IMC_E_IO;
  return 0;
}
