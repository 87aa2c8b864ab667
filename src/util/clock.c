/* clock.c — see clock.h. The test clock is two atomics: a flag and a value. */
#include "util/clock.h"
#include "util/err.h"

#include <stdatomic.h>
#include <time.h>

static atomic_int test_on;
static _Atomic int64_t test_ms;

int64_t imc_clock_now_ms(void)
{
  if (atomic_load_explicit(&test_on, memory_order_acquire))
    return atomic_load_explicit(&test_ms, memory_order_acquire);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t imc_clock_now_s(void)
{
  int64_t ms = imc_clock_now_ms();
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

int64_t imc_clock_mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void imc_clock_test_enable(int64_t unix_ms)
{
  atomic_store(&test_ms, unix_ms);
  atomic_store(&test_on, 1);
}

int imc_clock_is_test(void) { return atomic_load(&test_on); }

int imc_clock_test_set(int64_t unix_ms)
{
  if (!atomic_load(&test_on)) return IMC_E_INVAL;
  int64_t cur = atomic_load(&test_ms);
  if (unix_ms < cur) return IMC_E_INVAL;
  atomic_store(&test_ms, unix_ms);
  return 0;
}

int imc_clock_test_advance(int64_t delta_ms)
{
  if (delta_ms < 0) return IMC_E_INVAL;
  return imc_clock_test_set(atomic_load(&test_ms) + delta_ms);
}
