/* meter.h — exact usage metering per app (docs/metering.md, M-1 … M-7).
 *
 * Two layers:
 *
 *  - The in-memory core (meter_t, core.c, uset.c, groups.c): pure — no clock,
 *    no I/O; every event carries its own unix time and the caller passes it.
 *    It holds, per app, the distinct users of each natural day still inside
 *    the late window (35 days) and of each month touching it (dense user
 *    numbers in flat bitsets for dense sets, CRoaring for sparse ones), plus
 *    the in-memory figures that are flushed to storage periodically (REST
 *    calls, peak concurrent connections, live-room bandwidth). One owner
 *    thread (the server's loop thread); not thread-safe.
 *
 *  - The storage layer (load.c, report.c, import.c): rebuilds the core from
 *    durable rows after a restart, computes a month's figures from storage
 *    (the CLI `imcloud usage` and the operator API), imports usage documents.
 *
 * Durability (M-7): a login is durable as its usage_login row (written in the
 * login's writer job); additive figures whose events are durable elsewhere
 * (messages, registrations, call minutes) are written by the caller inside
 * that event's own writer job (store_usage_add / store_usage_event), so they
 * commit or vanish together with the event. Day numbers are yyyymmdd in the
 * app's billing zone; a month-level row uses day yyyymm00.
 */
#ifndef IMC_METER_H
#define IMC_METER_H

#include <stddef.h>
#include <stdint.h>

#define METER_LATE_DAYS 35            /* M-7: late events accepted this many days back */
#define METER_CALL_KINDS 4

/* Metric names of the usage_day / usage_import rows (the storage contract). */
#define METER_M_C2C_MSGS      "c2c_msgs"
#define METER_M_GROUP_MSGS    "group_msgs"
#define METER_M_REST_CALLS    "rest_calls"
#define METER_M_REGISTRATIONS "registrations"   /* counted by the database (usage_reg), not written by callers */
#define METER_M_CONN_PEAK     "conn_peak"       /* max concurrent connections (max-merged) */
#define METER_M_BW_PEAK_BPS   "bw_peak_bps"     /* busiest second of live-room traffic, bits/s (max-merged) */
#define METER_M_DAU           "dau"             /* imported only: metered DAU comes from usage_login */
#define METER_M_MAU           "mau"             /* imported only (month row) */
#define METER_M_GROUPS        "groups"          /* imported only: daily peak groups */
#define METER_M_BW_MBPS       "bandwidth_mbps"  /* imported only: daily peak Mbps */

/* Call kinds (M-6), in the order of every call_minutes[] array here; the
 * names are the price books' call kinds. */
extern const char *const meter_call_kinds[METER_CALL_KINDS]; /* audio, video_sd, video_hd, video_fhd */
/* Index of a call kind name, or IMC_E_INVAL. */
int meter_call_kind(const char *name);
/* The usage_day metric of a call kind: "call_audio", … */
const char *meter_call_metric(int kind);

/* ---- the in-memory core ------------------------------------------------------ */
typedef struct meter meter_t;

/* Create an empty meter whose apps use tz_offset_s (seconds east of UTC,
 * M-1 default IMC_TZ_CHINA_S) unless meter_app_tz says otherwise.
 * 0 or IMC_E_NOMEM. */
int meter_create(int tz_offset_s, meter_t **out);
void meter_free(meter_t *m);

/* Set the billing zone of one app (its region's setting, M-1). Call before
 * the app's first event; IMC_E_EXISTS if the app already has events in
 * another zone, IMC_E_RANGE outside ±14 h, IMC_E_NOMEM. */
int meter_app_tz(meter_t *m, uint32_t app, int tz_offset_s);

/* Move the meter's notion of now forward (never back): days older than the
 * late window are dropped from memory (their figures are in storage).
 * Events also move now forward. */
void meter_advance(meter_t *m, int64_t now_s);

/* A login of user_no (≥ 1) that opened a long connection at unix time t_s
 * (M-2, M-3, P-43, P-52). Idempotent: a user counts once per day and once
 * per month however often or late the event comes. Returns 1 if the user was
 * new for that day, 0 if already counted, IMC_E_METER_LATE if the day is more
 * than METER_LATE_DAYS before now (nothing changes), IMC_E_INVAL for
 * user_no 0, IMC_E_NOMEM. */
int meter_login(meter_t *m, uint32_t app, uint32_t user_no, int64_t t_s);

/* Whether user_no is already counted on day yyyymmdd and in its month
 * (a login now would not raise DAU / MAU): the free-quota checks of the
 * login path ask before they admit a login. Always 0. */
int meter_seen(const meter_t *m, uint32_t app, uint32_t user_no, int32_t yyyymmdd, int *in_day, int *in_month);

/* DAU of day yyyymmdd (0 if the day has no event or left the window). */
int64_t meter_dau(const meter_t *m, uint32_t app, int32_t yyyymmdd);

typedef struct meter_month {
  int64_t mau;                 /* distinct users of the month (M-3) */
  int64_t peak_dau;            /* max daily DAU over the month's days in memory (M-2) */
  int32_t peak_dau_date;       /* yyyymmdd of the first day reaching it; 0 if none */
} meter_month_t;
/* Month figures for yyyymm from memory. Exact when the whole month is within
 * memory (see meter_load); otherwise use meter_report. */
void meter_month(const meter_t *m, uint32_t app, int32_t yyyymm, meter_month_t *out);
/* meter_month's mau alone (the login admission's MAU check: without the
 * month's peak DAU, a walk over its days). */
int64_t meter_mau(const meter_t *m, uint32_t app, int32_t yyyymm);

/* Live counters kept in memory and flushed (meter_flush): a REST call, a
 * connection opened (+1) or closed (-1), bytes sent to live-room members at
 * t_s (M-5: one-second buckets; the daily peak is the busiest second). Same
 * late-window rule and errors as meter_login (IMC_E_METER_LATE). */
int meter_rest_call(meter_t *m, uint32_t app, int64_t t_s);
int meter_conn(meter_t *m, uint32_t app, int delta, int64_t t_s);
int meter_live_bytes(meter_t *m, uint32_t app, uint64_t bytes, int64_t t_s);

/* yyyymmdd of unix time t_s in the app's billing zone (the day a login row
 * of the app is written under: use it for store_usage_login). */
int32_t meter_day_of(meter_t *m, uint32_t app, int64_t t_s);

/* Current concurrent connections of an app, and the peak of day yyyymmdd. */
int64_t meter_conn_now(const meter_t *m, uint32_t app);
int64_t meter_conn_peak(const meter_t *m, uint32_t app, int32_t yyyymmdd);
/* Peak bits per second of live-room traffic on day yyyymmdd (closed seconds
 * only: the current second counts once a later second starts or the day is
 * flushed with `final`). */
int64_t meter_bw_peak_bps(const meter_t *m, uint32_t app, int32_t yyyymmdd);

/* One pending storage change handed out by meter_flush: add `value` to
 * (app, day, metric) when additive, else store max(stored, value). */
typedef struct meter_delta {
  uint32_t app;
  int32_t day;                 /* yyyymmdd */
  const char *metric;          /* METER_M_* (static) */
  int64_t value;
  int additive;
} meter_delta_t;

/* Hand every pending change to cb and clear the pending state (additive
 * counts restart from 0; peaks are re-sent only when they grew). now_s closes
 * the bandwidth second in progress when it is over. If writing a delta fails,
 * give it back with meter_unflush so it is sent again next time. */
void meter_flush(meter_t *m, int64_t now_s, void (*cb)(void *ud, const meter_delta_t *d), void *ud);
void meter_unflush(meter_t *m, const meter_delta_t *d);

/* The rebuild path (meter_load): a durable login row of day yyyymmdd. A day
 * inside the late window counts as meter_login at the day's start; an older
 * day of a month still in memory counts for that month's MAU only; anything
 * older is ignored. 0, IMC_E_INVAL, IMC_E_NOMEM. */
int meter_restore_login(meter_t *m, uint32_t app, uint32_t user_no, int32_t yyyymmdd);
/* A stored peak (METER_M_CONN_PEAK or METER_M_BW_PEAK_BPS) of a day in the
 * window: the in-memory peak starts there and is flushed only above it. */
int meter_restore_peak(meter_t *m, uint32_t app, int32_t yyyymmdd, const char *metric, int64_t value);
/* The zone apps get when meter_app_tz was not called. */
int meter_tz_default(const meter_t *m);

/* Server glue (flush.c): hand the pending changes (meter_flush) to the
 * store writer as one job, written in one transaction; if the job fails the
 * changes are given back (meter_unflush) and go out with the next call.
 * Call from the loop thread, e.g. every second; nothing is submitted when
 * nothing is pending. 0, IMC_E_NOMEM or IMC_E_OVERLOADED (the writer queue
 * is full); on either error the changes stay pending for the next call. */
struct store_writer;
int meter_flush_submit(meter_t *m, struct store_writer *w, int64_t now_s);

/* Bytes held by the meter (sets and tables), for the benchmark and stats. */
size_t meter_mem_bytes(const meter_t *m);

/* ---- user sets (uset.c) ------------------------------------------------------ */
/* A set of user numbers: a flat bitset while its flat form is at most 4 KiB
 * or ~2 bytes per member (card ≥ (max+1)/16), CRoaring otherwise (uset.c). */
typedef struct meter_uset {
  uint64_t *bits;              /* flat form (NULL while roaring) */
  uint32_t nwords;
  void *roaring;               /* roaring_bitmap_t * while sparse */
  uint64_t card;
} meter_uset_t;
/* 1 if x was added, 0 if present, IMC_E_NOMEM. */
int meter_uset_add(meter_uset_t *s, uint32_t x);
/* Initialise s as an empty flat set sized for numbers up to max (a set
 * expected to be dense). 0 or IMC_E_NOMEM. */
int meter_uset_init_flat(meter_uset_t *s, uint32_t max);
int meter_uset_has(const meter_uset_t *s, uint32_t x);
int meter_uset_is_flat(const meter_uset_t *s);
size_t meter_uset_bytes(const meter_uset_t *s);
void meter_uset_free(meter_uset_t *s);

/* ---- groups (groups.c, pure) ------------------------------------------------- */
/* One group's life: created at created_s, dissolved at dissolved_s
 * (INT64_MAX while it exists). Live groups (AVChatRoom/BChatRoom) are not
 * counted in the group figures (M-4, docs/decisions/metering-groups.md). */
typedef struct meter_group_iv {
  int64_t created_s, dissolved_s;
  int live;
} meter_group_iv_t;

typedef struct meter_group_day {
  int64_t peak;                /* max groups in existence at any instant of the day (M-4) */
  int64_t net_new;             /* created that day − dissolved that day */
  int64_t created;             /* created that day */
  int64_t end;                 /* in existence at the end of the day */
} meter_group_day_t;

/* Daily group figures for ndays days starting at day index first_day in zone
 * tz_offset_s, from the lives (any order) of the groups whose live flag
 * equals `live` (0: the billed group figures; 1: live groups). At one instant, a
 * dissolution is applied before a creation (a replaced group is not counted
 * twice). *accumulated = groups created up to the end of the last day
 * (P-22, dissolved ones included). 0 or IMC_E_NOMEM. */
int meter_groups_days(const meter_group_iv_t *iv, size_t n, int live, int64_t first_day, int ndays, int tz_offset_s,
                      meter_group_day_t *out, int64_t *accumulated);

/* ---- storage layer ----------------------------------------------------------- */
struct store;

/* The billing zone of an app (M-1): the meta setting "billing_tz:<region>"
 * (seconds east of UTC) when the operator set one for the app's region, else
 * default_tz. 0, IMC_E_NOTFOUND (no such app), IMC_E_CONFIG (bad setting). */
int meter_app_zone(struct store *s, uint32_t app, int default_tz, int *tz_offset_s);

/* The server's default billing zone (M-1, `serve --billing-tz-offset-s`), as
 * the server stores it at start in the meta setting "billing_tz" so that the
 * CLI prices, dates and records in the same zone: *tz = the stored value,
 * else fallback_tz (a data directory no server has opened). 0,
 * IMC_E_CONFIG (bad setting), storage errors. meter_zone_default_set stores
 * tz (-14 h..+14 h in seconds, else IMC_E_INVAL). */
#define METER_ZONE_KEY "billing_tz" /* TENANT_ZONE_KEY */
int meter_zone_default(struct store *s, int fallback_tz, int *tz_offset_s);
int meter_zone_default_set(struct store *s, int tz_offset_s);

/* Rebuild the core after a restart: for every app, the logins of the days
 * from the first day of the month containing (now − METER_LATE_DAYS) up to
 * now, from usage_login rows (and the stored peaks of those days, so a peak
 * never goes down). Exact: the rows are the durable login events.
 * 0 or IMC_E_IO / IMC_E_NOMEM. */
int meter_load(meter_t *m, struct store *s, int64_t now_s);

/* One month of figures (the `imcloud usage` contract, docs/metering.md). */
typedef struct meter_day_row {
  int32_t date;                /* yyyymmdd */
  int64_t dau, groups, live_groups_peak, net_new_groups, bandwidth_peak_mbps;
  int64_t c2c_msgs, group_msgs, rest_calls, conn_peak, registrations;
  int64_t call_minutes[METER_CALL_KINDS];
  int64_t groups_created, groups_end; /* non-live groups created that day, in existence at its end */
  int imported;                /* an imported figure raised a value of this day */
} meter_day_row_t;

typedef struct meter_report {
  uint32_t app;
  int32_t month;               /* yyyymm */
  int tz_offset_s;
  int ndays;
  meter_day_row_t days[31];
  int64_t peak_dau;
  int32_t peak_dau_date;       /* 0 if no DAU */
  int64_t mau, peak_groups, accumulated_groups;
  int64_t bandwidth_mbps_days; /* Σ daily peak Mbps (M-5: billed per Mbps per day) */
  int64_t call_minutes[METER_CALL_KINDS];
  int64_t c2c_msgs, group_msgs;
  int64_t c2c_roaming_months, history_days; /* imported settings for the bill (0 if none) */
  int imported_docs;           /* usage documents imported for the month */
} meter_report_t;

/* Compute app's month yyyymm from storage: metered rows merged with imported
 * ones (max for set-like figures: DAU, MAU, groups, bandwidth; sum for call
 * minutes). 0, IMC_E_NOTFOUND (no such app), IMC_E_IO. */
int meter_report(struct store *s, uint32_t app, int32_t yyyymm, int default_tz, meter_report_t *out);

/* The report as JSON (docs/metering.md "imcloud usage"): {sdkappid, month,
 * tz_offset_s, days: [...], peak_dau, peak_dau_date, mau, …}. New
 * reference, NULL on NOMEM. */
struct json_t;
struct json_t *meter_report_json(const meter_report_t *r);

/* Mbps of a busiest-second bit rate: ceil(bps / 1,000,000) (M-5). */
int64_t meter_mbps(int64_t bps);

/* Import a usage document (the `imcloud quote --usage` format, validated by
 * bill_usage_parse_json against the book the month's bill prices its
 * undated figures with: tenant_app_book's, or for an app moved off legacy
 * the old scheme's when the month starts before the day of the move, P-07)
 * for month yyyymm (0: the month of the document's days):
 * stores the document (source name and text kept) and one imported row per
 * figure, in one transaction. A figure imported again for the same day
 * replaces the earlier import. The month is priced as its bill will be
 * (meter_bill_compute with meter_orders_tenant) without and with the import:
 * when the import makes the bill unpriceable (a new reason), it is rolled
 * back and pricing's error returned (e.g. IMC_E_BILL_ADDON_FORBIDDEN:
 * history_days beyond what the edition can hold, P-08). err gets a one-line reason.
 * 0, IMC_E_NOTFOUND (no such app), IMC_E_BILL_USAGE (invalid document),
 * IMC_E_METER_NO_CALL_PACKAGE (call minutes for a month in which no av_call
 * add-on is in force on any day, P-46), IMC_E_IO / IMC_E_BUSY. *doc_id =
 * the stored document's id. */
int meter_import(struct store *s, uint32_t app, int32_t yyyymm, const char *source, const char *text, size_t len,
                 int64_t now_s, int64_t *doc_id, char *err, size_t errcap);

/* The last METER_APPINFO_DAYS days before today (at now_s, app's zone),
 * oldest first: the daily rows of meter_report and the number of accounts
 * registered up to the end of each day (openconfigsvr/getappinfo). 0,
 * IMC_E_NOTFOUND (app), storage errors. */
#define METER_APPINFO_DAYS 30
typedef struct meter_appinfo {
  meter_day_row_t days[METER_APPINFO_DAYS];
  int64_t reg_total[METER_APPINFO_DAYS];
} meter_appinfo_t;
int meter_appinfo(struct store *s, uint32_t app, int64_t now_s, int default_tz, meter_appinfo_t *out);

/* Record call minutes (M-6) of one call, identified by event_id (1-64
 * bytes, unique per app), on date ("YYYY-MM-DD"; NULL: today at now_s) in
 * the app's zone. A replay with the same values changes nothing
 * (*replayed = 1). *day_out = yyyymmdd. Errors with a reason in err:
 * IMC_E_INVAL (kind, minutes 1..10^9, event id, date), IMC_E_NOTFOUND (app),
 * IMC_E_METER_LATE (a future day or more than 35 days back),
 * IMC_E_METER_NO_CALL_PACKAGE (no av_call add-on in force that day, P-46),
 * IMC_E_EXISTS (the id was used with other values), storage errors. */
int meter_record_minutes(struct store *s, uint32_t app, const char *kind, int64_t minutes, const char *event_id,
                         const char *date, int64_t now_s, int default_tz, int32_t *day_out, int *replayed,
                         char *err, size_t errcap);

/* ---- bills (bills.c): the monthly bill run, numbered immutable bills -------- */
#define METER_BILL_GRACE_DAYS 7      /* P-14, P-45: an unpaid bill is overdue 7 days after issue */

struct bill_order;
struct store_app;
struct store_bill;
/* The purchase history an app's bill is priced with: fill orders[0..*n) (at
 * most cap) with the orders relevant to usage month yyyymm. 0, or a
 * negative IMC_E_* with a one-line reason in err (the app is not billed). */
typedef int (*meter_orders_fn)(void *ud, struct store *s, const struct store_app *app, int32_t yyyymm,
                               struct bill_order *orders, int cap, int *n, char *err, size_t errcap);
/* The orders provider of a deployment that stores no purchase history: an
 * app on its scheme's free edition (trial, developer, legacy) has no orders
 * and is billed exactly; any other app is refused (IMC_E_BILL_EDITION) with
 * a message naming its edition, rather than billed as if it held nothing. */
int meter_orders_none(void *ud, struct store *s, const struct store_app *app, int32_t yyyymm,
                      struct bill_order *orders, int cap, int *n, char *err, size_t errcap);

/* The orders provider of the server and the CLI: the app's stored orders
 * (tenant_app_orders, one row per period) as the billing library's orders
 * (one per first day with its count of periods), those that can touch usage
 * month yyyymm. IMC_E_BILL_USAGE when more than cap do. */
int meter_orders_tenant(void *ud, struct store *s, const struct store_app *app, int32_t yyyymm,
                        struct bill_order *orders, int cap, int *n, char *err, size_t errcap);

/* (The books bills are priced with: tenant_app_book, tenant_pricebooks_dir.) */

/* Price app's usage month from storage (meter_report) and its orders with
 * bill_compute (not strict: a book ignores usage it does not bill). Writes
 * the bill's JSON (bill_render_json, the `imcloud quote --json` shape) into
 * *json (malloc'd; caller frees). Refuses (IMC_E_BILL_BOOK, err naming what
 * is missing) an app on the original international scheme (P-50) while
 * the operator's book DIR/intl_original.json is missing, and one
 * whose edition depends on prices its book leaves to the operator
 * (bill_book_placeholders: P-59, P-20). Errors:
 * IMC_E_NOTFOUND (app), IMC_E_BILL_* with err, storage errors. */
int meter_bill_compute(struct store *s, uint32_t app, int32_t yyyymm, int default_tz, meter_orders_fn orders, void *ud,
                       char **json, int64_t totals_fen[3], char *err, size_t errcap);

/* Issue app's bill for usage month yyyymm at now_s, once: if it exists,
 * *existed = 1 and *out is the stored bill; else it is computed, numbered,
 * stored and — when it has a postpaid amount the customer's wallet covers —
 * paid from the wallet (`payment` ledger entry, reference "bill-<number>"),
 * all in one transaction (its own, unless in_txn: the caller's, e.g. a
 * writer job). out->body is malloc'd (caller frees). Errors as
 * meter_bill_compute, IMC_E_BILL_MONTH if the month has not ended at now_s
 * in the app's zone. */
int meter_bill_issue(struct store *s, int in_txn, uint32_t app, int32_t yyyymm, int64_t now_s, int default_tz,
                     meter_orders_fn orders, void *ud, struct store_bill *out, int *existed, char *err, size_t errcap);

typedef struct meter_bill_run_stats {
  int apps;                    /* apps that existed before the month ended */
  int issued, existing, paid;  /* bills issued now, found already issued, paid now from the wallet */
  int failed;                  /* apps that could not be billed (err names the first) */
  int later;                   /* apps left for later: the month has not ended in their zone (a region west of
                                * the run's zone); a run after later_s bills them */
  int64_t later_s;             /* the earliest moment one of them can be billed (0: none) */
} meter_bill_run_stats_t;

/* The bill run of usage month yyyymm (at 00:00 on the 1st of the next month,
 * L-6, P-14): meter_bill_issue for every app created before the month ended,
 * committed in batches of 5,000 apps (or inside the caller's transaction
 * when in_txn, e.g. a writer job): a crash half-way loses nothing
 * committed, and a second run bills no app twice and skips none. An app that
 * cannot be billed (book, orders, pricing — refused before anything is
 * written) is counted in failed (first reason in err) and the run goes on;
 * an app whose month has not ended in its own zone (a region west of
 * default_tz) is counted in later and left for a run after later_s; a
 * storage error stops the run and rolls back the batch in progress. 0, or IMC_E_BILL_MONTH (the month has
 * not ended in default_tz) / storage errors that stop the run. */
int meter_bill_run(struct store *s, int in_txn, int32_t yyyymm, int64_t now_s, int default_tz, meter_orders_fn orders, void *ud,
                   meter_bill_run_stats_t *out, char *err, size_t errcap);
/* One step of a bill run in the caller's transaction (the server's bill_run
 * job, a bounded writer job per step): bill the apps ids[0..n) (ascending
 * sdkappid) for yyyymm under the same rules, ADDING to *out (zero it before
 * the first step). An app already billed is counted in existing; a rerun of
 * a step bills nothing twice. */
int meter_bill_run_apps(struct store *s, int32_t yyyymm, int64_t now_s, int default_tz, meter_orders_fn orders, void *ud,
                        const uint32_t *ids, size_t n, meter_bill_run_stats_t *out, char *err, size_t errcap);

/* The usage month whose bills are due at now_s in zone tz: the previous one. */
int32_t meter_bill_due_month(int64_t now_s, int tz_offset_s);

/* Pay a customer's unpaid bills from the wallet, oldest first, while the
 * balance covers the next one (after a top-up). *paid = bills paid. */
int meter_bill_settle(struct store *s, int64_t customer_id, int64_t now_s, int *paid);

typedef struct meter_arrears_stats {
  int customers, in_arrears;   /* customers looked at; with an overdue bill */
  int suspended, resumed;      /* apps suspended / resumed for arrears now */
  int bills_paid;              /* bills paid from the wallet now (settle) */
  int64_t next_overdue_s;      /* earliest moment an open bill becomes overdue, 0 none */
} meter_arrears_stats_t;

/* Arrears (arrears.c; P-14, P-45) for one customer, or every customer with
 * customer_id 0: with settle, first pay open bills from the wallet
 * (meter_bill_settle); then a customer with a bill overdue at now_s has every
 * app suspended for arrears, one without has the apps suspended for arrears
 * resumed (tenant_app_set_arrears). Runs in the caller's transaction when
 * there is one (a writer job). 0 or storage errors. */
int meter_arrears_run(struct store *s, int64_t customer_id, int settle, int64_t now_s, int tz_offset_s,
                      meter_arrears_stats_t *st);

/* ---- correction documents (corrections.c; docs/decisions/billing-corrections.md) */
/* Price the billed month (app, yyyymm) again from storage and, when the
 * rendered bill differs from the last document issued for it (the bill or
 * its latest correction), issue a correction at now_s: a numbered document
 * of the bills series (store_bill_t.corrects_seq = the bill) holding the
 * corrected bill, with due_fen = its postpaid amount minus the previous
 * document's, settled at once (meter__bill_settle_new: paid from the wallet
 * when it covers it, else open with the bill's 7-day rule; credited with a
 * `refund` when negative). Removes (app, yyyymm) from the recheck queue in
 * the same transaction (its own, unless in_txn). *issued = 1 and *out (body
 * malloc'd, caller frees) when a correction was issued; a month without a
 * bill or unchanged issues nothing. Errors as meter_bill_compute. */
int meter_bill_correct(struct store *s, int in_txn, uint32_t app, int32_t yyyymm, int64_t now_s, int default_tz,
                       meter_orders_fn orders, void *ud, struct store_bill *out, int *issued, char *err, size_t errcap);

typedef struct meter_correction_stats {
  int checked;                 /* queued months looked at */
  int issued, paid, refunded;  /* corrections issued; of them paid from the wallet / credited */
  int failed;                  /* months that could not be priced (err names the first; they stay queued) */
} meter_correction_stats_t;

/* Drain the recheck queue (store_bill_recheck_each): meter_bill_correct for
 * every queued month, committed per 1,000 months (or inside the caller's
 * transaction when in_txn). A month that cannot be priced stays queued and
 * is counted in failed; a storage error stops the run and rolls back the
 * batch in progress (its months stay queued). 0 or storage errors. */
int meter_bill_corrections_run(struct store *s, int in_txn, int64_t now_s, int default_tz, meter_orders_fn orders, void *ud,
                               meter_correction_stats_t *st, char *err, size_t errcap);
/* An operator's recheck (§109): queue app's usage month yyyymm for the next
 * correction run, the queue usage writes feed, so it is rechecked exactly as
 * if usage had been imported (a damaged last document restated, a whole one
 * whose month prices the same left as it is). Checked first, nothing queued
 * on a refusal (err says why): IMC_E_NOTFOUND no such app, or the month has
 * no bill; IMC_E_BILL_MONTH the month is not 01..12 or has not ended in the
 * app's billing zone (default_tz unless its region sets one). *added = 1
 * when queued, 0 when it was queued already (a success: idempotent). In its
 * own transaction unless in_txn. meter_bill_recheck_log logs it (by: "cli",
 * "operator"): the caller, once it is committed. */
int meter_bill_recheck_queue(struct store *s, int in_txn, uint32_t app, int32_t yyyymm, int64_t now_s, int default_tz, int *added,
                             char *err, size_t errcap);
void meter_bill_recheck_log(uint32_t app, int32_t yyyymm, int added, const char *by);
/* The same pass in steps (the server's day job, a bounded writer transaction
 * per step): meter_bill_recheck_list lists the queue once (*v malloc'd, the
 * caller frees; by app and month), then meter_bill_corrections_step handles
 * v[0..n) inside the caller's transaction under the same rules, ADDING to
 * *st (zero it before the first step). Storage errors stop a step (the
 * caller rolls it back: its months stay queued). */
typedef struct meter_app_month { uint32_t app; int32_t month; } meter_app_month_t;
int meter_bill_recheck_list(struct store *s, meter_app_month_t **v, size_t *n);
int meter_bill_corrections_step(struct store *s, const meter_app_month_t *v, size_t n, int64_t now_s, int default_tz,
                                meter_orders_fn orders, void *ud, meter_correction_stats_t *st, char *err, size_t errcap);

/* Bills as JSON, each (meter_bill_json) with "corrections": the correction
 * documents that follow it, oldest first (meter_bill_json of each, plus
 * "corrects" and "difference_fen"). yyyymm > 0: the one bill of (app,
 * yyyymm) (IMC_E_NOTFOUND if none); else every bill of customer_id (0: all
 * customers), only app's when app > 0. *out: a new array. */
int meter_bills_json(struct store *s, int64_t customer_id, uint32_t app, int32_t yyyymm, int64_t now_s, struct json_t **out);

/* "paid" (paid, or nothing to pay: due_fen ≤ 0), "overdue" (unpaid
 * METER_BILL_GRACE_DAYS after issue), else "open". */
const char *meter_bill_status(const struct store_bill *b, int64_t now_s);
/* A stored bill as JSON: its bill body plus number, seq, sdkappid,
 * customer_id, issued_at, due_at, status. A body that does not parse gives
 * "damaged":true with month, total_fen, prepaid_fen and postpaid_fen from
 * the stored columns instead of the body (§91). New reference, or NULL
 * (out of memory). */
struct json_t *meter_bill_json(const struct store_bill *b, int64_t now_s);

#endif
