/* tenant.h — customers, apps and accounts: the rules shared by the CLI, the
 * operator API and the server, and the server's in-memory registry.
 *
 * The creation functions take a store_t and run synchronously (CLI process,
 * or the server's writer thread). The registry is owned by the server's loop
 * thread (no locks): apps by SDKAppID and, per app, accounts by UserID →
 * dense user number. Pointers to tenant_app_t stay valid until the next
 * tenant_registry_reload_apps() or tenant_registry_free(); never keep one
 * across an asynchronous step — look the app up again by SDKAppID.
 */
#ifndef IMC_TENANT_H
#define IMC_TENANT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define TENANT_SDKAPPID_FIRST 1400000001u

/* 1 if uid is a valid UserID: 1–32 bytes of printable ASCII 0x21–0x7E. */
int tenant_user_id_valid(const char *uid);

/* Create a customer. IMC_E_INVAL (name empty or over 127 bytes). */
int tenant_customer_create(store_t *s, const char *name, int64_t now_s, int64_t *id);

typedef struct tenant_app_params {
  int64_t customer_id;
  const char *name;          /* 1–127 bytes */
  const char *region;        /* china, singapore, india, korea, germany, usa, japan, indonesia */
  int64_t created_at_s;      /* 0 = now_s; an operator importing a customer gives the real date */
  const char *scheme;        /* NULL = resolve by P-01/P-40/P-50; else an explicit (grandfathered) scheme */
  int64_t now_s;
} tenant_app_params_t;

/* Create an app: next free SDKAppID ≥ 1400000001, a 64-hex-char secret key
 * from the CSPRNG, admins ["administrator"], status active, the scheme
 * resolved from the customer's first app's creation time and the region
 * (P-01, P-40, P-50) unless given, and the scheme's free edition (L-1).
 * Runs in one transaction. Errors: IMC_E_NOTFOUND (customer), IMC_E_INVAL
 * (name/region), IMC_E_BILL_SCHEME (scheme), storage errors. */
int tenant_app_create(store_t *s, const tenant_app_params_t *p, store_app_t *out);

/* ---- wallets (wallet.c) --------------------------------------------------- */
/* Ledger entry kinds and their sign: topup and refund credit the wallet,
 * order (a prepaid purchase) and payment (a postpaid bill) debit it. */
typedef enum { TENANT_LEDGER_TOPUP, TENANT_LEDGER_ORDER, TENANT_LEDGER_PAYMENT, TENANT_LEDGER_REFUND,
               TENANT_LEDGER__COUNT } tenant_ledger_kind_t;
const char *tenant_ledger_kind_name(tenant_ledger_kind_t k);
int tenant_ledger_kind_parse(const char *name, tenant_ledger_kind_t *out);

#define TENANT_WALLET_MAX_FEN 100000000000000LL /* 1,000,000,000,000 元: one entry's ceiling */

/* Post one ledger entry for a customer, in its own transaction unless
 * in_txn (the server's writer thread already runs jobs in one).
 * amount_fen is the positive magnitude; the kind gives the sign. reason:
 * 1–200 bytes; reference: 1–64 printable ASCII bytes, unique per customer
 * (a replay of the same kind and amount returns the stored entry with
 * replayed = 1; a different one is IMC_E_EXISTS). Errors: IMC_E_INVAL (bad
 * amount, reason or reference), IMC_E_NOTFOUND (customer),
 * IMC_E_WALLET_FUNDS (a debit larger than the balance: nothing written). */
int tenant_wallet_post(store_t *s, int in_txn, int64_t customer_id, tenant_ledger_kind_t kind, int64_t amount_fen,
                       const char *reason, const char *reference, int64_t now_s, store_ledger_t *out);

/* One entry as JSON (new reference): {"id","at","kind","amount_fen",
 * "balance_fen","reason","reference"} — the CLI and the operator API print
 * the same objects. */
struct json_t;
struct json_t *tenant_ledger_json(const store_ledger_t *e);

/* ---- registry (server loop thread) -------------------------------------- */
typedef struct tenant_accounts tenant_accounts_t; /* private: UserID → user_no */

typedef struct tenant_app {
  store_app_t rec;
  tenant_accounts_t *accounts;
} tenant_app_t;

typedef struct tenant_registry tenant_registry_t;

/* Load every app and account. IMC_E_NOMEM or storage errors. */
int tenant_registry_load(store_t *s, tenant_registry_t **out);
void tenant_registry_free(tenant_registry_t *r);
/* Re-read apps (after a change by another process): changed records are
 * updated in place, new apps added with their accounts. */
int tenant_registry_reload_apps(tenant_registry_t *r, store_t *s);
/* Insert one app's record, or update it in place keeping its accounts (a
 * change-log entry applied on the loop). Pointers to other apps stay valid.
 * IMC_E_NOMEM. */
int tenant_registry_app_upsert(tenant_registry_t *r, const store_app_t *rec);
const tenant_app_t *tenant_registry_app(const tenant_registry_t *r, uint32_t sdkappid);
size_t tenant_registry_app_count(const tenant_registry_t *r);

/* Account lookup: 0 and *user_no, or IMC_E_NOTFOUND (no account or no app). */
int tenant_registry_account_find(const tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t *user_no);
/* Record a durable account (after its write committed). IMC_E_NOTFOUND (app), IMC_E_NOMEM. */
int tenant_registry_account_put(tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t user_no);
void tenant_registry_account_remove(tenant_registry_t *r, uint32_t sdkappid, const char *user_id);
size_t tenant_registry_account_count(const tenant_registry_t *r, uint32_t sdkappid);

int tenant_app_is_admin(const tenant_app_t *a, const char *identifier);
int tenant_app_active(const tenant_app_t *a);
/* 1 on the scheme's free edition (trial, developer). */
int tenant_app_free_edition(const tenant_app_t *a);

#endif
