/* bench_usersig — CPU cost of verifying a UserSig, the per-login work of
 * src/auth/usersig.c (base64, zlib inflate, JSON, HMAC-SHA256): one app's
 * key (a login storm), then keys alternating between two apps (each call
 * re-keys the HMAC). Single thread; prints µs per call and the thread's CPU.
 *   taskset -c 1 build/bench/bench_usersig [N]   (default 200,000)
 *   valgrind --tool=callgrind build/bench/bench_usersig N one   (one key only:
 *   instructions per verification = Ir(2N) - Ir(N), over N) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/usersig.h"

static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 200000;
  if (n < 1000) n = 1000;
  static const char *keys[2] = { "0c1f6b3a9d2e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c",
                                 "f1e2d3c4b5a697887766554433221100ffeeddccbbaa99887766554433221100" };
  char sig[2][AUTH_USERSIG_MAX + 1];
  const int64_t now = 1764640000;
  for (int k = 0; k < 2; k++)
    if (auth_usersig_gen(1400000001u + (unsigned)k, keys[k], "user_12345", now, 86400, sig[k], sizeof sig[k])) return 1;
  long bad = 0;
  double t0 = cpu_s();
  for (long i = 0; i < n; i++) bad += auth_usersig_verify(sig[0], 1400000001u, keys[0], "user_12345", now, NULL) != 0;
  double t1 = cpu_s();
  if (argc > 2 && !strcmp(argv[2], "one")) {
    printf("verify, one key:        %6.2f us/call (%ld calls, CPU %.0f ms)\n", (t1 - t0) / (double)n * 1e6, n, (t1 - t0) * 1e3);
    return bad ? 1 : 0;
  }
  for (long i = 0; i < n; i++) {
    int k = (int)(i & 1);
    bad += auth_usersig_verify(sig[k], 1400000001u + (unsigned)k, keys[k], "user_12345", now, NULL) != 0;
  }
  double t2 = cpu_s();
  printf("verify, one key:        %6.2f us/call (%ld calls, CPU %.0f ms)\n", (t1 - t0) / (double)n * 1e6, n, (t1 - t0) * 1e3);
  printf("verify, two keys alt.:  %6.2f us/call (%ld calls, CPU %.0f ms)\n", (t2 - t1) / (double)n * 1e6, n, (t2 - t1) * 1e3);
  return bad ? 1 : 0;
}
