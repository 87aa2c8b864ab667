/* bench_group_members — memory and speed of a group's in-memory membership
 * (src/im/group.c's set): N members join one group, then the set's bytes
 * per membership are reported at every size the set passes through, and
 * join / lookup / leave are timed. No server, no storage: the structure the
 * server holds for each non-live group (and, keyed by session, each live
 * room). The slowest single join and leave (thread CPU) show a resize that
 * ran inside one call. Also a live room's member test: the walk over its
 * sessions it was until wave 21 against the lookup it is now.
 *
 *   build/bench/bench_group_members [N=100000]
 */
#include "im/group_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* user numbers: dense, as the server assigns them, in a scrambled order */
static uint32_t key(uint32_t u) { return u; }

int main(int argc, char **argv)
{
  uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000;
  gset_t s = { 0 };
  double worst = 0, slowest = 0, t0 = now_s();
  for (uint32_t u = 1; u <= n; u++) {
    double c0 = cpu_s();
    if (gset_put(&s, key(u), GM_PRESENT)) { fprintf(stderr, "out of memory\n"); return 1; }
    double c = cpu_s() - c0;
    if (c > slowest) slowest = c;
    if (s.len >= 64) {
      double b = (double)gset_bytes(&s) / s.len;
      if (b > worst) worst = b;
    }
  }
  double t_join = now_s() - t0;
  t0 = now_s();
  uint64_t found = 0;
  for (uint32_t u = 1; u <= n; u++) found += gset_get(&s, key(u)) != 0;
  double t_get = now_s() - t0;
  printf("members            %u\n", s.len);
  printf("set bytes          %zu (%.2f bytes per membership; worst after 64 members: %.2f)\n", gset_bytes(&s),
         (double)gset_bytes(&s) / s.len, worst);
  printf("build (joins incl. growth) %.1f ns each (timed one by one); slowest single join %.1f us (thread CPU)\n", t_join / n * 1e9, slowest * 1e6);
  /* steady state: a tenth of the members leave and join again (no resize) */
  uint32_t k = n / 10 ? n / 10 : 1;
  t0 = now_s();
  for (uint32_t u = 1; u <= k; u++) gset_del(&s, key(u));
  double t_leave = now_s() - t0;
  t0 = now_s();
  for (uint32_t u = 1; u <= k; u++) gset_put(&s, key(u), GM_PRESENT);
  printf("steady leave       %.1f ns each\n", t_leave / k * 1e9);
  printf("steady join        %.1f ns each\n", (now_s() - t0) / k * 1e9);
  printf("lookup             %.1f ns each (%llu found)\n", t_get / n * 1e9, (unsigned long long)found);
  /* a live room's member test (im_group_role): until wave 21 a walk over the room's sessions (sid → user)
   * looking for the user, now a lookup in the room's per-user count set; here the sessions are the
   * members' own (one each), the user asked for the last one found by the walk (its worst case) */
  gset_t live = { 0 }, users = { 0 };
  for (uint32_t u = 1; u <= n; u++)
    if (gset_put(&live, u + 1000000, u) || gset_put(&users, u, 1)) { fprintf(stderr, "out of memory\n"); return 1; }
  uint32_t probes = 200, hits = 0;
  t0 = now_s();
  for (uint32_t q = 0; q < probes; q++) {
    uint64_t pos = 0, v;
    while (gset_next(&live, &pos, &v))
      if ((uint32_t)v == n + 1) { hits++; break; } /* nobody: the whole room is walked */
  }
  double t_walk = (now_s() - t0) / probes;
  t0 = now_s();
  for (uint32_t u = 1; u <= n; u++) hits += gset_get(&users, u) != 0;
  printf("live room member test: walk over %u sessions %.1f us; lookup %.1f ns (%u found)\n", n, t_walk * 1e6,
         (now_s() - t0) / n * 1e9, hits);
  gset_free(&live);
  gset_free(&users);
  t0 = now_s();
  slowest = 0;
  for (uint32_t u = 1; u <= n; u++) {
    double c0 = cpu_s();
    gset_del(&s, key(u));
    double c = cpu_s() - c0;
    if (c > slowest) slowest = c;
  }
  printf("leave all (incl. shrinking) %.1f ns each, timed one by one (%u left, %zu bytes); slowest single leave %.1f us\n",
         (now_s() - t0) / n * 1e9, s.len, gset_bytes(&s), slowest * 1e6);
  gset_free(&s);
  return 0;
}
