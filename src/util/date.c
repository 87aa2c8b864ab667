/* date.c — see date.h. days_from_civil / civil_from_days follow the
 * well-known era-based algorithm (400-year cycles of 146097 days). */
#include "util/date.h"
#include "util/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int imc_is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int imc_days_in_month(int y, int m)
{
  static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  if (m < 1 || m > 12) return 0;
  return m == 2 && imc_is_leap(y) ? 29 : dim[m - 1];
}

int64_t imc_days_from_civil(int y, int m, int d)
{
  int64_t yy = (int64_t)y - (m <= 2);
  int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  int64_t yoe = yy - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void imc_civil_from_days(int64_t z, int *y, int *m, int *d)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
  int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yy + (mm <= 2));
  *m = mm;
  *d = dd;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t imc_day_of(int64_t unix_s, int tz_offset_s) { return floor_div(unix_s + tz_offset_s, 86400); }

int64_t imc_day_start(int64_t day, int tz_offset_s) { return day * 86400 - tz_offset_s; }

/* The last day converted, per thread: a send asks for its billing day
 * (meter_day_of), and every send of a day asks for the same one. */
static __thread struct { int64_t day; int32_t v; } last_day = { INT64_MIN, 0 };

int32_t imc_day_yyyymmdd(int64_t day)
{
  if (day == last_day.day) return last_day.v;
  int y, m, d;
  imc_civil_from_days(day, &y, &m, &d);
  int32_t v = (int32_t)(y * 10000 + m * 100 + d);
  last_day.day = day;
  last_day.v = v;
  return v;
}

int64_t imc_yyyymmdd_day(int32_t v)
{
  return imc_days_from_civil(v / 10000, (v / 100) % 100, v % 100);
}

static int digits(const char *s, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int imc_month_parse(const char *s, int *y, int *m)
{
  int yy, mm;
  if (!s || strlen(s) != 7 || s[4] != '-') return IMC_E_INVAL;
  if (digits(s, 4, &yy) || digits(s + 5, 2, &mm)) return IMC_E_INVAL;
  if (yy < 1970 || mm < 1 || mm > 12) return IMC_E_INVAL;
  *y = yy; *m = mm;
  return 0;
}

int imc_date_parse(const char *s, int *y, int *m, int *d)
{
  int yy, mm, dd;
  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return IMC_E_INVAL;
  if (digits(s, 4, &yy) || digits(s + 5, 2, &mm) || digits(s + 8, 2, &dd)) return IMC_E_INVAL;
  if (yy < 1970 || mm < 1 || mm > 12 || dd < 1 || dd > imc_days_in_month(yy, mm)) return IMC_E_INVAL;
  *y = yy; *m = mm; *d = dd;
  return 0;
}

int imc_datetime_parse(const char *s, int64_t *unix_s)
{
  int y, m, d, hh, mi, ss, oh = 0, om = 0, sign = 1;
  char date[11];
  size_t n = s ? strlen(s) : 0;
  if (n != 20 && n != 25) return IMC_E_INVAL;
  memcpy(date, s, 10);
  date[10] = 0;
  if (imc_date_parse(date, &y, &m, &d) || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') return IMC_E_INVAL;
  if (digits(s + 11, 2, &hh) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &ss) || hh > 23 || mi > 59 || ss > 59) return IMC_E_INVAL;
  if (n == 20) {
    if (s[19] != 'Z' && s[19] != 'z') return IMC_E_INVAL;
  } else {
    if ((s[19] != '+' && s[19] != '-') || s[22] != ':' || digits(s + 20, 2, &oh) || digits(s + 23, 2, &om) || oh > 14 || om > 59)
      return IMC_E_INVAL;
    sign = s[19] == '-' ? -1 : 1;
  }
  *unix_s = imc_days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss - sign * (oh * 3600 + om * 60);
  return 0;
}

void imc_date_format(int64_t day, char *buf, size_t cap)
{
  int y, m, d;
  imc_civil_from_days(day, &y, &m, &d);
  snprintf(buf, cap, "%04d-%02d-%02d", y, m, d);
}

void imc_datetime_format(int64_t unix_s, int tz_offset_s, char *buf, size_t cap)
{
  int64_t local = unix_s + tz_offset_s, day = imc_day_of(unix_s, tz_offset_s), sec = local - day * 86400;
  int y, m, d, off = tz_offset_s < 0 ? -tz_offset_s : tz_offset_s;
  imc_civil_from_days(day, &y, &m, &d);
  snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m, d, (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60),
           tz_offset_s < 0 ? '-' : '+', off / 3600, off / 60 % 60);
}
