/* Unit tests for util/clock_file: DIR/test-clock as `serve` writes it and the
 * CLI reads it (clock.h): removed while the clock is real, written with the
 * test clock's milliseconds, read back exactly; a missing file is "no test
 * clock"; anything but one number of milliseconds in range is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/clock.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/imc-clockfile-XXXXXX";

static void put(const char *text)
{
  char path[128];
  snprintf(path, sizeof path, "%s/test-clock", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int present(void)
{
  char path[128];
  struct stat sb;
  snprintf(path, sizeof path, "%s/test-clock", dir);
  return stat(path, &sb) == 0;
}

/* The real clock: a save removes a file left by an earlier test-clock server, and a second save finds none. */
static void test_real_clock_removes(void **st)
{
  (void)st;
  assert_false(imc_clock_is_test());
  put("1793462400000\n");
  assert_int_equal(imc_clock_file_save(dir), 0);
  assert_false(present());
  assert_int_equal(imc_clock_file_save(dir), 0);
  int64_t ms = -1;
  assert_int_equal(imc_clock_file_load(dir, &ms), 0); /* no file: no test clock */
  assert_int_equal(ms, -1);
}

/* The test clock: each save writes its time, read back to the millisecond. */
static void test_test_clock_round_trip(void **st)
{
  (void)st;
  imc_clock_test_enable(INT64_C(1793462400123));
  assert_int_equal(imc_clock_file_save(dir), 0);
  int64_t ms = 0;
  assert_int_equal(imc_clock_file_load(dir, &ms), 1);
  assert_int_equal(ms, INT64_C(1793462400123));
  assert_int_equal(imc_clock_test_advance(86400000), 0);
  assert_int_equal(imc_clock_file_save(dir), 0);
  assert_int_equal(imc_clock_file_load(dir, &ms), 1);
  assert_int_equal(ms, INT64_C(1793548800123));
  char tmp[128];
  snprintf(tmp, sizeof tmp, "%s/test-clock.tmp", dir);
  assert_int_equal(access(tmp, F_OK), -1); /* renamed over, nothing left beside it */
}

/* Anything else in the file is refused, not taken for a time. */
static void test_bad_contents(void **st)
{
  (void)st;
  static const char *const bad[] = { "", "\n", "abc\n", "1793462400000x\n", "-5\n", "1e12\n", " 1793462400000\n",
                                     "1793462400000\n\n", "99999999999999999999\n", "946684799999\n", "253402300800000\n" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    put(bad[i]);
    int64_t ms = 7;
    assert_int_equal(imc_clock_file_load(dir, &ms), IMC_E_CONFIG);
    assert_int_equal(ms, 7);
  }
  put("946684800000"); /* the lowest, without its newline */
  int64_t ms = 0;
  assert_int_equal(imc_clock_file_load(dir, &ms), 1);
  assert_int_equal(ms, INT64_C(946684800000));
}

/* A directory that is not there: no file to load; a save cannot write. */
static void test_missing_directory(void **st)
{
  (void)st;
  int64_t ms = 0;
  assert_int_equal(imc_clock_file_load("/nonexistent-imc-dir", &ms), 0);
  assert_int_equal(imc_clock_file_save("/nonexistent-imc-dir"), IMC_E_IO);
}

static int setup(void **st)
{
  (void)st;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
  (void)st;
  char path[128];
  snprintf(path, sizeof path, "%s/test-clock", dir);
  unlink(path);
  return rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_real_clock_removes),
    cmocka_unit_test(test_test_clock_round_trip),
    cmocka_unit_test(test_bad_contents),
    cmocka_unit_test(test_missing_directory),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
