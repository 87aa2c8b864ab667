/* date.h — pure calendar arithmetic (proleptic Gregorian, no time zones
 * database): natural days and months in a fixed-offset billing time zone
 * (M-1: default UTC+8). No clock, no I/O; safe from any thread.
 *
 * A "day index" is days since 1970-01-01 (may be negative). A "yyyymmdd" is
 * the integer 20261123. A "yyyymm" is 202611.
 */
#ifndef IMC_UTIL_DATE_H
#define IMC_UTIL_DATE_H

#include <stddef.h>
#include <stdint.h>

#define IMC_TZ_CHINA_S (8 * 3600) /* M-1 default billing zone, UTC+8 */

int64_t imc_days_from_civil(int y, int m, int d);
void imc_civil_from_days(int64_t days, int *y, int *m, int *d);
int imc_days_in_month(int y, int m);
int imc_is_leap(int y);

/* Natural day (day index) of unix time t in a zone tz_offset_s east of UTC. */
int64_t imc_day_of(int64_t unix_s, int tz_offset_s);
/* Unix seconds of 00:00:00 of day index `day` in that zone. */
int64_t imc_day_start(int64_t day, int tz_offset_s);
/* yyyymmdd of a day index, and back. */
int32_t imc_day_yyyymmdd(int64_t day);
int64_t imc_yyyymmdd_day(int32_t yyyymmdd);

/* Strict parsers: exactly "YYYY-MM-DD" / "YYYY-MM", real calendar dates,
 * years 1970..9999. 0 on success, IMC_E_INVAL otherwise; outputs untouched on
 * error. */
int imc_date_parse(const char *s, int *y, int *m, int *d);
int imc_month_parse(const char *s, int *y, int *m);
/* RFC 3339 date-time with seconds and a zone: "2026-11-01T00:00:00+08:00" or
 * "…Z" (no fractions). 0 and *unix_s, or IMC_E_INVAL. */
int imc_datetime_parse(const char *s, int64_t *unix_s);
/* Day index day as "2026-11-01" (cap ≥ 11). */
void imc_date_format(int64_t day, char *buf, size_t cap);
/* unix_s as "2026-11-01T00:00:00+08:00" in the zone tz_offset_s (cap ≥ 26). */
void imc_datetime_format(int64_t unix_s, int tz_offset_s, char *buf, size_t cap);

#endif
