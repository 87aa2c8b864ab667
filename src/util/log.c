/* log.c — see log.h. Lines are formatted on the stack and written with one
 * write(2) so lines from different threads never interleave. */
#include "util/log.h"
#include "util/err.h"
#include "util/clock.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

imc_log_level_t imc_log_level = IMC_LOG_INFO;
int imc_log_access_fd = -1;

static const char *const level_names[] = { "debug", "info", "warn", "error", "access", "off" };

int imc_log_level_parse(const char *s, imc_log_level_t *out)
{
  for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
    if (i != IMC_LOG_ACCESS && strcmp(s, level_names[i]) == 0) { *out = (imc_log_level_t)i; return 0; }
  return IMC_E_INVAL;
}

void imc_log_access_close(void)
{
  if (imc_log_access_fd > 2) close(imc_log_access_fd);
  imc_log_access_fd = -1;
}

int imc_log_access_open(const char *spec)
{
  if (!spec || !*spec) return IMC_E_INVAL;
  int fd = -1;
  if (!strcmp(spec, "stderr")) fd = 2;
  else if (strcmp(spec, "off") && (fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) return IMC_E_IO;
  imc_log_access_close();
  imc_log_access_fd = fd;
  return 0;
}

void imc_log_write(imc_log_level_t lvl, const char *mod, const char *fmt, ...)
{
  char line[2048];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  time_t secs = ts.tv_sec;
  gmtime_r(&secs, &tm);
  int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s mod=%s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   ts.tv_nsec / 1000000, level_names[lvl], mod);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (m < 0) m = 0;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t w = write(lvl == IMC_LOG_ACCESS ? imc_log_access_fd : 2, line, len);
  (void)w;
}

const char *imc_log_q(char *buf, size_t cap, const char *s)
{
  size_t o = 0;
  if (cap < 8) { if (cap) buf[0] = 0; return buf; }
  if (!s) s = "";
  buf[o++] = '"';
  for (; *s && o + 6 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { buf[o++] = '\\'; buf[o++] = (char)c; }
    else if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    else buf[o++] = (char)c;
  }
  if (*s) { buf[o++] = '.'; buf[o++] = '.'; buf[o++] = '.'; }
  buf[o++] = '"';
  buf[o] = 0;
  return buf;
}
