/* clock_file.c — DIR/test-clock, the data directory's record of its server's
 * test clock (see clock.h). One line: the clock's unix milliseconds. */
#include "util/clock.h"
#include "util/err.h"
#include "util/num.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CLOCK_FILE "test-clock"

int imc_clock_file_save(const char *dir)
{
  char path[4096], tmp[4112];
  if (snprintf(path, sizeof path, "%s/" CLOCK_FILE, dir) >= (int)sizeof path) return IMC_E_IO;
  if (!imc_clock_is_test()) return unlink(path) && errno != ENOENT ? IMC_E_IO : 0;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return IMC_E_IO;
  int bad = fprintf(f, "%lld\n", (long long)imc_clock_now_ms()) < 0;
  if (fclose(f) || bad || rename(tmp, path)) {
    int e = errno;
    unlink(tmp);
    errno = e;
    return IMC_E_IO;
  }
  return 0;
}

int imc_clock_file_load(const char *dir, int64_t *unix_ms)
{
  char path[4096], line[32];
  if (snprintf(path, sizeof path, "%s/" CLOCK_FILE, dir) >= (int)sizeof path) return IMC_E_IO;
  FILE *f = fopen(path, "r");
  if (!f) return errno == ENOENT ? 0 : IMC_E_IO;
  size_t n = fread(line, 1, sizeof line - 1, f);
  int err = ferror(f);
  fclose(f);
  if (err) return IMC_E_IO;
  line[n] = 0;
  if (n && line[n - 1] == '\n') line[--n] = 0;
  int64_t v;
  /* 2000-01-01 … 9999-12-31, as a clock move takes */
  if (!n || imc_parse_i64(line, INT64_C(946684800000), INT64_C(253402300799999), &v)) return IMC_E_CONFIG;
  *unix_ms = v;
  return 1;
}
