/* proc_watch.h — snapshots of what the kernel says about a server and the
 * box, to tell a slow stretch caused by the server (its threads ran longer)
 * from one caused by the machine (the threads waited for a core, the VM's
 * steal time grew): per CPU the /proc/stat columns, per thread of the
 * watched process its run time and run delay (/proc/PID/task/TID/schedstat,
 * ns), involuntary switches (status), minor page faults (stat: memory the
 * thread touched for the first time) and bytes read and written through
 * system calls (io: rchar, wchar), and where the loop thread sleeps
 * (wchan, and the system call it is in). Header-only, for the bench
 * programs (bench/rest_probe.c --watch). Linux. */
#ifndef IMC_BENCH_PROC_WATCH_H
#define IMC_BENCH_PROC_WATCH_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PW_CPUS 4     /* cpu0..cpu3 (the box has 2) */
#define PW_COLS 8     /* user nice system idle iowait irq softirq steal */
#define PW_THREADS 32

typedef struct {
  int tid;
  char comm[16];
  unsigned long long run_ns, delay_ns, invol, rchar, wchar, minflt;
  char wchan[32]; /* where it sleeps (/proc/PID/task/TID/wchan; "0": running or runnable); the loop only */
} pw_thread_t;

typedef struct {
  uint64_t t_us; /* CLOCK_MONOTONIC */
  int ncpu, nth;
  int light;   /* pw_snap_light: run times, run delays and the loop's wchan only */
  long fdsize; /* the process's descriptor table, slots (status FDSize) */
  unsigned long long cpu[PW_CPUS][PW_COLS]; /* ticks (USER_HZ) */
  pw_thread_t th[PW_THREADS];
} pw_snap_t;

static const char *const pw_col_names[PW_COLS] = { "user", "nice", "sys", "idle", "iowait", "irq", "softirq", "steal" };

static inline int pw_read(const char *path, char *buf, size_t cap)
{
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = 0;
  return 0;
}

static inline unsigned long long pw_field(const char *text, const char *name)
{
  const char *p = strstr(text, name);
  return p ? strtoull(p + strlen(name), NULL, 10) : 0;
}

static inline void pw_cpus(pw_snap_t *s)
{
  char buf[8192];
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  s->t_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  s->ncpu = s->nth = 0;
  s->light = 0;
  s->fdsize = 0;
  if (!pw_read("/proc/stat", buf, sizeof buf)) {
    for (char *p = buf; p && s->ncpu < PW_CPUS; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
      int id;
      unsigned long long *c = s->cpu[s->ncpu];
      if (sscanf(p, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &id, c, c + 1, c + 2, c + 3, c + 4, c + 5, c + 6,
                 c + 7) == 9 && id == s->ncpu)
        s->ncpu++;
    }
  }
}

/* The loop thread's wchan and system call into t->wchan. */
static inline void pw_where(pw_thread_t *t, int pid)
{
  char buf[256], sbuf[256], path[128], sys[16] = "";
  snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", pid, t->tid);
  if (pw_read(path, buf, sizeof buf)) return;
  snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", pid, t->tid);
  if (strcmp(buf, "0") && !pw_read(path, sbuf, sizeof sbuf)) sscanf(sbuf, "%15s", sys);
  snprintf(t->wchan, sizeof t->wchan, "%.20s%s%.10s", buf, *sys ? "@" : "", sys);
}

/* Take a snapshot of the box and of pid's threads (pid 0: the box only):
 * ~300 µs of CPU with six threads on the 2-core VM (/proc/PID/task/TID/status
 * alone 16 µs a thread). */
static inline void pw_snap(pw_snap_t *s, int pid)
{
  char buf[8192], path[128];
  pw_cpus(s);
  if (!pid) return;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  if (!pw_read(path, buf, sizeof buf)) s->fdsize = (long)pw_field(buf, "FDSize:");
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d)) && s->nth < PW_THREADS;) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    pw_thread_t *t = &s->th[s->nth];
    memset(t, 0, sizeof *t);
    t->tid = atoi(e->d_name);
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", pid, t->tid);
    if (pw_read(path, buf, sizeof buf) || sscanf(buf, "%llu %llu", &t->run_ns, &t->delay_ns) != 2) continue;
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", pid, t->tid);
    if (!pw_read(path, buf, sizeof buf)) {
      t->invol = pw_field(buf, "nonvoluntary_ctxt_switches:");
      if (!strncmp(buf, "Name:", 5)) sscanf(buf + 5, " %15s", t->comm);
    }
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, t->tid);
    char *rp;
    if (!pw_read(path, buf, sizeof buf) && (rp = strrchr(buf, ')')))
      sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %llu", &t->minflt);
    snprintf(path, sizeof path, "/proc/%d/task/%d/io", pid, t->tid);
    if (!pw_read(path, buf, sizeof buf)) { t->rchar = pw_field(buf, "rchar:"); t->wchar = pw_field(buf, "wchar:"); }
    snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", pid, t->tid);
    if (t->tid == pid) pw_where(t, pid);
    s->nth++;
  }
  closedir(d);
}

/* A lighter snapshot for a timeline (~80 µs): /proc/stat, the run time and
 * run delay of the threads `like` lists, and the loop's wchan; the other
 * figures are not taken (pw_print_diff leaves them out). */
static inline void pw_snap_light(pw_snap_t *s, int pid, const pw_snap_t *like)
{
  char buf[256], path[128];
  pw_cpus(s);
  s->light = 1;
  s->fdsize = like->fdsize;
  for (int i = 0; i < like->nth; i++) {
    pw_thread_t *t = &s->th[s->nth];
    memset(t, 0, sizeof *t);
    t->tid = like->th[i].tid;
    memcpy(t->comm, like->th[i].comm, sizeof t->comm);
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", pid, t->tid);
    if (pw_read(path, buf, sizeof buf) || sscanf(buf, "%llu %llu", &t->run_ns, &t->delay_ns) != 2) continue;
    if (t->tid == pid) pw_where(t, pid);
    s->nth++;
  }
}

static inline const pw_thread_t *pw_find(const pw_snap_t *s, int tid)
{
  for (int i = 0; i < s->nth; i++)
    if (s->th[i].tid == tid) return &s->th[i];
  return NULL;
}

/* ms of CPU column col of cpu between a and b. */
static inline double pw_cpu_ms(const pw_snap_t *a, const pw_snap_t *b, int cpu, int col)
{
  static long hz;
  if (!hz) hz = sysconf(_SC_CLK_TCK);
  if (cpu >= a->ncpu || cpu >= b->ncpu) return 0;
  return (double)(b->cpu[cpu][col] - a->cpu[cpu][col]) * 1000.0 / (double)hz;
}

/* Print the difference b - a on one line (no newline): per CPU its
 * columns in ms, then per thread name (threads of one name summed; the
 * loop is the thread whose tid is pid) run and delay in ms, involuntary
 * switches, and the KiB read and written through system calls; threads
 * that did not run are left out. */
static inline void pw_print_diff(FILE *f, const pw_snap_t *a, const pw_snap_t *b, int pid)
{
  fprintf(f, "span_ms=%.1f", (double)(b->t_us - a->t_us) / 1e3);
  if (b->fdsize && !b->light) fprintf(f, " fdsize=%ld", b->fdsize);
  for (int c = 0; c < a->ncpu && c < b->ncpu; c++) {
    fprintf(f, " cpu%d_ms=", c);
    for (int k = 0; k < PW_COLS; k++) fprintf(f, "%s%s:%.0f", k ? "," : "", pw_col_names[k], pw_cpu_ms(a, b, c, k));
  }
  for (int i = 0; i < b->nth; i++) {
    const char *name = b->th[i].tid == pid ? "loop" : b->th[i].comm;
    int seen = 0;
    for (int j = 0; j < i && !seen; j++) seen = b->th[j].tid != pid && b->th[i].tid != pid && !strcmp(b->th[j].comm, name);
    if (seen) continue;
    unsigned long long run = 0, delay = 0, invol = 0, rc = 0, wc = 0, flt = 0;
    int n = 0;
    for (int j = i; j < b->nth; j++) {
      const pw_thread_t *y = &b->th[j], *x = pw_find(a, y->tid);
      if (!x || (j != i && (y->tid == pid || b->th[i].tid == pid || strcmp(y->comm, name)))) continue;
      run += y->run_ns - x->run_ns; delay += y->delay_ns - x->delay_ns; invol += y->invol - x->invol;
      rc += y->rchar - x->rchar; wc += y->wchar - x->wchar; flt += y->minflt - x->minflt; n++;
      if (b->th[i].tid == pid) break;
    }
    if (!n || (!run && b->th[i].tid != pid)) continue;
    fprintf(f, " %s=run:%.2f,delay:%.2f", name, run / 1e6, delay / 1e6);
    if (!a->light && !b->light) fprintf(f, ",invol:%llu,minflt:%llu,rkib:%llu,wkib:%llu", invol, flt, rc >> 10, wc >> 10);
  }
}

/* Over the snapshots s[0..n): where the loop (tid pid) was each time,
 * " loop_at=WCHAN@SYSCALL:COUNT,…" (its sleeps, with the number of the
 * system call it sleeps in, /proc/PID/task/PID/syscall: do_epoll_wait@232
 * waits for input; "0": it was on a CPU or runnable). */
static inline void pw_print_wchans(FILE *f, const pw_snap_t *s, size_t n, int pid)
{
  char names[16][32];
  int counts[16], k = 0;
  for (size_t i = 0; i < n; i++) {
    const pw_thread_t *t = pw_find(&s[i], pid);
    if (!t) continue;
    int j = 0;
    while (j < k && strcmp(names[j], t->wchan)) j++;
    if (j == k && k < 16) { snprintf(names[k], sizeof names[k], "%s", t->wchan); counts[k++] = 0; }
    if (j < k) counts[j]++;
  }
  for (int j = 0; j < k; j++) fprintf(f, "%s%s:%d", j ? "," : " loop_at=", names[j][0] ? names[j] : "?", counts[j]);
}

/* Sums over several stretches (pw_add): the loop thread's run time and run
 * delay, the other threads' run time, CPU cpu's busy time (user, nice,
 * system, irq, softirq; USER_HZ ticks, so coarse for short stretches),
 * steal and idle, and where the loop was at the snapshots: on a CPU or
 * runnable, waiting for input (do_epoll_wait), or blocked elsewhere in the
 * kernel. */
typedef struct {
  double loop_run_ms, loop_delay_ms, threads_run_ms, busy_ms, steal_ms, idle_ms;
  int at_cpu, at_epoll, at_blocked;
} pw_sum_t;

static inline void pw_add(pw_sum_t *m, const pw_snap_t *s, size_t a, size_t b, int pid, int cpu)
{
  for (int i = 0; i < s[b].nth; i++) {
    const pw_thread_t *y = &s[b].th[i], *x = pw_find(&s[a], y->tid);
    if (!x) continue;
    if (y->tid == pid) {
      m->loop_run_ms += (double)(y->run_ns - x->run_ns) / 1e6;
      m->loop_delay_ms += (double)(y->delay_ns - x->delay_ns) / 1e6;
    } else {
      m->threads_run_ms += (double)(y->run_ns - x->run_ns) / 1e6;
    }
  }
  static const int busy[] = { 0, 1, 2, 5, 6 };
  for (size_t k = 0; k < sizeof busy / sizeof busy[0]; k++) m->busy_ms += pw_cpu_ms(&s[a], &s[b], cpu, busy[k]);
  m->steal_ms += pw_cpu_ms(&s[a], &s[b], cpu, 7);
  m->idle_ms += pw_cpu_ms(&s[a], &s[b], cpu, 3) + pw_cpu_ms(&s[a], &s[b], cpu, 4);
  for (size_t j = a + 1; j <= b; j++) {
    const pw_thread_t *t = pw_find(&s[j], pid);
    if (!t) continue;
    if (!strcmp(t->wchan, "0")) m->at_cpu++;
    else if (!strncmp(t->wchan, "do_epoll_wait", 13)) m->at_epoll++;
    else m->at_blocked++;
  }
}

#endif
