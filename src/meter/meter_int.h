/* meter_int.h — what the files of src/meter share beyond meter.h. */
#ifndef IMC_METER_INT_H
#define IMC_METER_INT_H

#include "meter/meter.h"

/* meter_report for an app known to exist, in zone tz (no lookups).
 * for_bill: only what a bill prices (to_usage in bills.c) — registrations
 * and the count of imported documents are left 0 (two queries fewer), and
 * imported daily DAU and groups enter as their month's maximum
 * (STORE_USAGE_IMPORT_MAX): peak_dau and peak_groups are the full
 * report's, but the days' dau and groups are the metered figures only and
 * peak_dau_date is 0 when an imported day holds the peak. */
int meter__report_tz(struct store *s, uint32_t app, int32_t yyyymm, int tz, int for_bill, meter_report_t *out);

/* The bill's figures of the days from_dd..to_dd (days of the month,
 * clamped to it) of app's month in zone tz, as meter__report_tz gives them
 * for a month with no usage on the other days: logins (DAU, MAU), daily
 * rows and imported daily figures of those days only, group figures of
 * those days; the undated month-level imported figures (a document's
 * peak_dau, mau, call_minutes, …) count with the month's first day, so only
 * a range starting on the 1st has them. Registrations and the document
 * count are 0. The bill of a month an app changed scheme in prices each
 * part on its own (bills.c). 0, IMC_E_NOMEM, IMC_E_IO. */
int meter__report_days(struct store *s, uint32_t app, int32_t yyyymm, int tz, int from_dd, int to_dd, meter_report_t *out);

/* The bill's part of meter__report_tz (for_bill = 1) for the apps apps[0..n)
 * (strictly ascending sdkappid, each existing, apps[i] in zone tz[i]) into
 * out[0..n), reading each usage table once for all of them (one statement
 * per table, store_usage_apps_each) in the order meter__report_tz reads
 * them, so each out[i] equals what meter__report_tz gives for apps[i].
 * 0, IMC_E_INVAL (apps not ascending), IMC_E_NOMEM, IMC_E_IO. */
int meter__report_apps(struct store *s, const uint32_t *apps, const int *tz, size_t n, int32_t yyyymm, meter_report_t *out);

/* End of usage month yyyymm (the start of the next one) in zone tz, seconds (bills.c). */
int64_t meter__month_end(int32_t yyyymm, int tz);

/* The longest bill JSON a bill run or an issue renders (a bill is 1–4 KB). */
#define METER_BILL_JSON_MAX (1 << 20)

struct store_app;
struct store_bill;
struct bill;
/* Price app's usage month in zone tz (bills.c): from rep when given (the
 * app's report for the bill, meter__report_apps), else read from storage;
 * work: room for the computed bill (NULL: allocated here; a run passes one
 * for all its apps). *json = the bill's JSON (malloc'd), totals = total,
 * prepaid, postpaid fen. Refusals before anything is written, with err: see
 * meter_bill_compute. */
int meter__bill_price(struct store *s, const struct store_app *a, int32_t yyyymm, int tz, meter_orders_fn orders, void *ud,
                      const meter_report_t *rep, struct bill *work, char **json, int64_t totals[3], char *err, size_t errcap);
/* The retention add-ons held in the month (orders.c): raise u's
 * c2c_roaming_months / history_days to the highest the app held on a day
 * of it (imported figures are kept when higher). 0 or storage errors. */
struct bill_usage;
int meter__usage_retention(struct store *s, const struct store_app *app, int32_t yyyymm, struct bill_usage *u, char *err,
                           size_t errcap);
/* Settle a just-issued document inside the caller's transaction: due_fen > 0
 * is paid from the customer's wallet when it covers it (`payment`, reference
 * "bill-<number>"; b->paid = 1), else left open; due_fen < 0 (a correction
 * downwards) is credited at once (`refund`, same reference). 0 or storage errors. */
int meter__bill_settle_new(struct store *s, struct store_bill *b, int64_t now_s);
/* A stored document's body (a bill's or a correction's) parsed: the object
 * (new reference), or NULL with *damaged = 1 when the text does not parse as
 * an object (disk damage, a manual edit: §91, §107), or NULL with
 * *damaged = 0 when out of memory. body NULL reads as "". */
struct json_t *meter__bill_doc(const char *body, int *damaged);


/* P-46 (minutes.c): 0 when an av_call add-on order of app is in force on a
 * day of first_day..last_day (day indexes), else IMC_E_METER_NO_CALL_PACKAGE
 * with a one-line reason in err naming `what` (the day or month asked);
 * storage errors. Call minutes are recorded only then, as a quote and a
 * bill price them only then (decision billing-call-minutes). */
int meter__call_package_in(struct store *s, uint32_t app, int64_t first_day, int64_t last_day, const char *what,
                           char *err, size_t errcap);

#endif
