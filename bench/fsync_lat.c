/* fsync_lat — the disk's floor under an acknowledgement: append SIZE bytes
 * to a file and fdatasync it, COUNT times, as a WAL commit does; prints the
 * fdatasync latency's p50, p99 and maximum, and the CPU time (user +
 * system, getrusage) per append + fdatasync: the cost the writer's sync
 * thread pays per sync. Run it on the data directory's file system (the
 * default file is in the current directory).
 *
 *   fsync_lat [--file PATH] [--count 500] [--size 4096]
 */
#include "bench_clock.h"
#include "bench_net.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *path = "fsync_lat.tmp";
static int count = 500, size = 4096;

int main(int argc, char **argv)
{
  static const bench_opt_t opts[] = {
    { "--file", 's', &path },
    { "--count", 'i', &count },
    { "--size", 'i', &size },
    { NULL, 0, NULL },
  };
  if (bench_parse_opts(argc, argv, opts) || count < 1 || size < 1) {
    fprintf(stderr, "usage: fsync_lat [--file PATH] [--count N] [--size BYTES]\n");
    return 2;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char *buf = calloc(1, (size_t)size);
  uint64_t *lat = malloc((size_t)count * sizeof *lat);
  if (fd < 0 || !buf || !lat) { perror("fsync_lat"); return 1; }
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  for (int i = 0; i < count; i++) {
    if (write(fd, buf, (size_t)size) != size) { perror("write"); return 1; }
    uint64_t t = now_ns();
    if (fdatasync(fd)) { perror("fdatasync"); return 1; }
    lat[i] = now_ns() - t;
  }
  getrusage(RUSAGE_SELF, &r1);
  close(fd);
  unlink(path);
  double cpu_us = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e6 +
                  (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
  qsort(lat, (size_t)count, sizeof *lat, cmp_u64);
  printf("append_bytes=%d count=%d fdatasync_p50_ms=%.2f p99_ms=%.2f max_ms=%.2f cpu_us_per_sync=%.1f\n", size, count,
         lat[(count - 1) / 2] / 1e6, lat[(count * 99 + 99) / 100 - 1] / 1e6, lat[count - 1] / 1e6, cpu_us / count);
  free(buf);
  free(lat);
  return 0;
}
