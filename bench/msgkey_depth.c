/* msgkey_depth — the cost of finding a C2C message by its MsgKey (what
 * admin_msgwithdraw, modify_c2c_msg and admin_getroammsg's LastMsgKey do on
 * the writer or a reader) when it has --depth newer messages in its
 * conversation. Builds one conversation of depth + 1 messages (10 per
 * second of clock, one transaction), reopens the store (cold caches), then
 * looks up the oldest message's key --lookups times and prints CPU
 * microseconds per lookup (user + system of the process). For instruction
 * counts run it under callgrind with --toggle-collect=store_msg_find_key.
 *
 *   msgkey_depth [--depth 100000] [--lookups 20] [--dir DIR]
 *
 * The data directory is a fresh temporary one unless --dir is given. */
#include "store/store.h"
#include "store/store_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define APP 1400000001u
#define T0 1700000000

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static void take_seq(void *ud, const store_msg_t *m) { *(uint32_t *)ud = m->seq; }

int main(int argc, char **argv)
{
  long depth = 100000, lookups = 20;
  const char *dir = NULL;
  char tmp[] = "/tmp/msgkey_depth.XXXXXX";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--depth")) depth = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--lookups")) lookups = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else { fprintf(stderr, "usage: msgkey_depth [--depth N] [--lookups N] [--dir DIR]\n"); return 2; }
  }
  if (depth < 0 || lookups < 1) { fprintf(stderr, "msgkey_depth: bad numbers\n"); return 2; }
  if (!dir && !(dir = mkdtemp(tmp))) { perror("mkdtemp"); return 1; }
  store_t *s;
  if (store_open(dir, &s) || store_exec(s, "BEGIN IMMEDIATE")) { fprintf(stderr, "msgkey_depth: open\n"); return 1; }
  uint64_t conv = store_c2c_conv(1, 2);
  for (long i = 0; i <= depth; i++) {
    store_msg_append_t a;
    memset(&a, 0, sizeof a);
    a.m = (store_msg_t){ APP, conv, 0, 1 + (uint32_t)(i & 1), 2 - (uint32_t)(i & 1), T0 + i / 10, (uint32_t)i,
                         (uint32_t)(i * 2654435761u), 0, 604800, "{}", 2, NULL, NULL };
    a.inbox_to = a.recent_from = a.recent_to = 1;
    if (store_msg_append(s, &a)) { fprintf(stderr, "msgkey_depth: append %ld\n", i); return 1; }
  }
  if (store_exec(s, "COMMIT")) { fprintf(stderr, "msgkey_depth: commit\n"); return 1; }
  store_close(s);
  if (store_open(dir, &s)) { fprintf(stderr, "msgkey_depth: reopen\n"); return 1; }
  double c0 = cpu_s();
  for (long k = 0; k < lookups; k++) {
    uint32_t seq = 0;
    if (store_msg_find_key(s, APP, conv, 0, 0, T0, take_seq, &seq) || seq != 1) {
      fprintf(stderr, "msgkey_depth: lookup found seq %u, not 1\n", seq);
      return 1;
    }
  }
  double us = (cpu_s() - c0) * 1e6 / (double)lookups;
  printf("depth=%ld lookups=%ld cpu_us_per_lookup=%.1f\n", depth, lookups, us);
  store_close(s);
  if (dir == tmp) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd)) return 1;
  }
  return 0;
}
