/* meter_int.h — what the files of src/meter share beyond meter.h. */
#ifndef IMC_METER_INT_H
#define IMC_METER_INT_H

#include "meter/meter.h"

/* meter_report for an app known to exist, in zone tz (no lookups).
 * for_bill: only what a bill prices (to_usage in bills.c) — registrations
 * and the count of imported documents are left 0 (two queries fewer). */
int meter__report_tz(struct store *s, uint32_t app, int32_t yyyymm, int tz, int for_bill, meter_report_t *out);

struct store_app;
struct store_bill;
/* Price app's usage month from storage in zone tz (bills.c compute_app):
 * *json = the bill's JSON (malloc'd), totals = total, prepaid, postpaid fen.
 * Refusals before anything is written, with err: see meter_bill_compute. */
int meter__bill_price(struct store *s, const struct store_app *a, int32_t yyyymm, int tz, meter_orders_fn orders, void *ud,
                      char **json, int64_t totals[3], char *err, size_t errcap);
/* Settle a just-issued document inside the caller's transaction: due_fen > 0
 * is paid from the customer's wallet when it covers it (`payment`, reference
 * "bill-<number>"; b->paid = 1), else left open; due_fen < 0 (a correction
 * downwards) is credited at once (`refund`, same reference). 0 or storage errors. */
int meter__bill_settle_new(struct store *s, struct store_bill *b, int64_t now_s);

#endif
