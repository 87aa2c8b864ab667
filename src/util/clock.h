/* clock.h — the one source of "now" for imcloud.
 *
 * Production reads the real clock. A test clock (enabled only by
 * `imcloud serve --test-clock` or by tests) replaces it with a value that only
 * moves when set or advanced, so tests and rehearsals can cross month ends.
 * Thread-safe (atomics); any thread may read. Monotonic time for timeouts is
 * separate (uv_now / imc_clock_mono_ms) and never affected by the test clock.
 */
#ifndef IMC_UTIL_CLOCK_H
#define IMC_UTIL_CLOCK_H

#include <stdint.h>

/* Wall-clock now, unix milliseconds (test clock if enabled). */
int64_t imc_clock_now_ms(void);
/* Wall-clock now, unix seconds. */
int64_t imc_clock_now_s(void);
/* Monotonic milliseconds for timeouts; ignores the test clock. */
int64_t imc_clock_mono_ms(void);

/* Turn on the test clock at unix_ms. Once on it stays on for the process. */
void imc_clock_test_enable(int64_t unix_ms);
/* 1 if the test clock is on. */
int imc_clock_is_test(void);
/* Set (or advance by delta) the test clock. IMC_E_INVAL if the test clock is
 * off or the new time is earlier than the current one (time never runs back). */
int imc_clock_test_set(int64_t unix_ms);
int imc_clock_test_advance(int64_t delta_ms);

/* The data directory's record of its server's clock (clock_file.c), so that
 * the CLI dates what it does on a data directory as its server does.
 * imc_clock_file_save: with the test clock on, write DIR/test-clock (the
 * clock's unix milliseconds and a newline; written to a temporary file and
 * renamed over it); with it off, remove that file if it is there. `serve`
 * calls it at its start and after every move of its test clock. 0 or
 * IMC_E_IO (errno kept).
 * imc_clock_file_load: 1 and *unix_ms when DIR/test-clock holds a clock;
 * 0 when there is no such file; IMC_E_CONFIG when it holds anything else,
 * IMC_E_IO when it cannot be read. */
int imc_clock_file_save(const char *dir);
int imc_clock_file_load(const char *dir, int64_t *unix_ms);

#endif
