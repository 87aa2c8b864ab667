/* Unit tests for util/turnlog: off, every call does nothing; on, a phase's
 * time goes to the phase the thread was in (nested phases to the inner
 * one, the blocked time out of "other"), each turn and each request is
 * written once, oldest first, the rings keep the newest, and a request's
 * marks land in the turn they happened in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "util/turnlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void spin_ns(uint64_t ns)
{
  uint64_t until = imc_turnlog_now() + ns;
  while (imc_turnlog_now() < until) {}
}

/* This thread's CPU time, ns. */
static uint64_t cpu_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The value of "name=" in line (the number before any '/'). */
static unsigned long long field(const char *line, const char *name)
{
  char key[64];
  snprintf(key, sizeof key, " %s=", name);
  const char *p = strstr(line, key);
  assert_non_null(p);
  return strtoull(p + strlen(key), NULL, 10);
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static void test_off_does_nothing(void **st)
{
  (void)st;
  assert_false(imc_turnlog_on());
  assert_int_equal(imc_turnlog_enter(IMC_TP_READ_HTTP), 0);
  imc_turnlog_leave(0);
  imc_turnlog_turn_end(1, 1, 0);
  assert_int_equal(imc_turnlog_req(1, 80), 0);
  imc_turnlog_req_mark(0, IMC_TL_WRITTEN);
  assert_int_equal(imc_turnlog_write("/nonexistent/dir/x"), 0); /* nothing to write */
}

static void test_phases_and_requests(void **st)
{
  (void)st;
  char path[] = "/tmp/test_turnlog_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(imc_turnlog_open(4, 8), 0);
  /* turn 0: 2 ms in read_http, of which 1 ms in a nested login, then 1 ms in write_ws */
  int prev = imc_turnlog_enter(IMC_TP_READ_HTTP);
  assert_int_equal(prev, IMC_TP_OTHER);
  uint32_t id = imc_turnlog_req(imc_turnlog_now(), 4242);
  assert_true(id != 0);
  spin_ns(1000000);
  int inner = imc_turnlog_enter(IMC_TP_LOGINS);
  assert_int_equal(inner, IMC_TP_READ_HTTP);
  spin_ns(1000000);
  imc_turnlog_leave(inner);
  imc_turnlog_req_mark(id, IMC_TL_QUEUED);
  imc_turnlog_leave(prev);
  imc_turnlog_enter(IMC_TP_WRITE_WS);
  spin_ns(1000000);
  imc_turnlog_leave(IMC_TP_OTHER);
  spin_ns(500000); /* "other", of which 400 µs are said to be blocked */
  imc_turnlog_turn_end(imc_turnlog_now(), 3100000, 400000);
  imc_turnlog_req_mark(id, IMC_TL_WRITTEN); /* in turn 1 */
  /* five more turns: the ring of 4 keeps turns 2..5 */
  for (int i = 0; i < 5; i++) imc_turnlog_turn_end(imc_turnlog_now(), 1, 0);
  assert_int_equal(imc_turnlog_write(path), 0);
  char *text = slurp(path);
  assert_null(strstr(text, "turn 0 ")); /* overwritten */
  assert_null(strstr(text, "turn 1 "));
  assert_non_null(strstr(text, "turn 2 "));
  assert_non_null(strstr(text, "turn 5 "));
  assert_true(strstr(text, "turn 2 ") < strstr(text, "turn 5 "));
  char *req = strstr(text, "req ");
  assert_non_null(req);
  assert_int_equal(field(req - 1, "port"), 4242);
  unsigned long long rd = field(req - 1, "read_ns"), hd = field(req - 1, "handed_ns"), q = field(req - 1, "queued_ns"),
                     w = field(req - 1, "written_ns");
  assert_true(rd <= hd && hd < q && q < w);
  assert_true(q - hd >= 2000000); /* the two spins between */
  assert_non_null(strstr(req, "turns=0,0,1"));
  /* a ring of 4 turns that kept turn 0: the phases */
  assert_int_equal(imc_turnlog_open(16, 8), 0);
  uint64_t cpu0 = cpu_now_ns();
  prev = imc_turnlog_enter(IMC_TP_READ_HTTP);
  spin_ns(1000000);
  inner = imc_turnlog_enter(IMC_TP_LOGINS);
  spin_ns(1000000);
  imc_turnlog_leave(inner);
  imc_turnlog_leave(prev);
  spin_ns(500000);
  uint64_t spun_cpu = cpu_now_ns() - cpu0; /* what the spins got of the CPU: less than their 2.5 ms when preempted */
  imc_turnlog_turn_end(imc_turnlog_now(), 2500000, 400000);
  assert_int_equal(imc_turnlog_write(path), 0);
  text = slurp(path);
  char *t0 = strstr(text, "turn 0 ");
  assert_non_null(t0);
  char *nl = strchr(t0, '\n');
  *nl = 0;
  unsigned long long http = field(t0, "read_http"), logins = field(t0, "logins"), other = field(t0, "other");
  /* lower bounds from the spins (wall clock); upper ones loose: the thread may be preempted on a loaded box */
  assert_true(http >= 1000000 && http < 1000000 + 50000000); /* its own time only: the nested login is the login's */
  assert_true(logins >= 1000000 && logins < 1000000 + 50000000);
  assert_true(http + logins < 2000000 + 50000000 && http + logins >= 2000000);
  assert_true(other >= 100000 && other < 100000 + 50000000); /* 500 µs less the 400 µs blocked (and the open's own) */
  assert_int_equal(field(t0, "busy_ns"), 2500000);
  assert_int_equal(field(t0, "blocked_ns"), 400000);
  assert_true(spun_cpu > 0 && field(t0, "cpu_ns") >= spun_cpu); /* the turn's CPU time holds the spins' */
  assert_non_null(strstr(t0, " read_http="));
  assert_non_null(strstr(t0, "/1 ")); /* one entry of read_http and one of logins */
  imc_turnlog_close();
  assert_false(imc_turnlog_on());
  unlink(path);
}

/* A request whose slot was taken by a newer one: its late mark does not
 * touch the newer one. */
static void test_overwritten_request_mark(void **st)
{
  (void)st;
  char path[] = "/tmp/test_turnlog_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(imc_turnlog_open(4, 2), 0);
  uint32_t a = imc_turnlog_req(1, 1);
  uint32_t b = imc_turnlog_req(2, 2);
  uint32_t c = imc_turnlog_req(3, 3); /* takes a's slot */
  imc_turnlog_req_mark(a, IMC_TL_WRITTEN);
  assert_int_equal(imc_turnlog_write(path), 0);
  char *text = slurp(path);
  assert_null(strstr(text, "port=1 "));
  assert_non_null(strstr(text, "port=2 "));
  char *pc = strstr(text, "port=3 ");
  assert_non_null(pc);
  assert_int_equal(field(pc - 1, "written_ns"), 0);
  assert_true(strstr(text, "port=2 ") < pc);
  (void)b; (void)c;
  imc_turnlog_close();
  unlink(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_off_does_nothing),
    cmocka_unit_test(test_phases_and_requests),
    cmocka_unit_test(test_overwritten_request_mark),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
