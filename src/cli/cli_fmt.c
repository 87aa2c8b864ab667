/* cli_fmt.c — human output of the CLI: local date-times with their zone and
 * money as 元 next to fen. --json output never goes through here (it keeps
 * unix seconds and integer fen). */
#include "billing/billing.h"
#include "cli/cli.h"

#include <time.h>

const char *cli_fmt_time(int64_t unix_s, char *buf, size_t cap)
{
  time_t t = (time_t)unix_s;
  struct tm tm;
  if (!localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S %Z %z", &tm)) snprintf(buf, cap, "@%lld", (long long)unix_s);
  return buf;
}

const char *cli_fmt_money(int64_t fen, char *buf, size_t cap)
{
  char yuan[40];
  bill_fen_format(fen, yuan, sizeof yuan);
  snprintf(buf, cap, "%s 元 (%lld fen)", yuan, (long long)fen);
  return buf;
}
