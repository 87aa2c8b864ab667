/* bench_proc.h — what a benchmark reads about a process from /proc and
 * getrusage: CPU time, the time its main thread waited for a CPU, RSS.
 * Header-only (each bench is one .c file); every reader returns 0 (-1 for
 * RSS) when the file cannot be read. Linux. */
#ifndef IMC_BENCH_PROC_H
#define IMC_BENCH_PROC_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ms of CPU (user + system) pid has used (/proc/PID/stat). */
static inline long long bench_proc_cpu_ms(int pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  unsigned long long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return 0;
  return (long long)((ut + st) * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* ns the process's main thread has waited, runnable, for a CPU
 * (/proc/PID/schedstat, second field): on a shared box, how much of the
 * step it wanted to run and could not. */
static inline long long bench_proc_wait_ns(int pid)
{
  char path[64];
  unsigned long long run = 0, wait = 0;
  snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (fscanf(f, "%llu %llu", &run, &wait) != 2) wait = 0;
  fclose(f);
  return (long long)wait;
}

/* The resident set of pid in KiB (/proc/PID/status VmRSS). */
static inline long bench_proc_rss_kb(int pid)
{
  char path[64], line[256];
  long kb = -1;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

/* ms of CPU this process has used. */
static inline long long bench_self_cpu_ms(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

#endif
