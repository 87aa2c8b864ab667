/* wallet.c — customer wallets: a balance in fen and an append-only ledger of
 * top-ups, prepaid orders, bill payments and refunds, each with a reason and
 * a reference (docs/billing.md "Wallets"). The store enforces append-only
 * (triggers) and a non-negative balance (CHECK); this file owns the rules:
 * signs per kind, input limits, idempotent references. */
#include "tenant/tenant.h"
#include "util/err.h"
#include "util/utf8.h"

#include <jansson.h>
#include <string.h>

static const struct { const char *name; int sign; } kinds[TENANT_LEDGER__COUNT] = {
  [TENANT_LEDGER_TOPUP] = { "topup", +1 },   [TENANT_LEDGER_ORDER] = { "order", -1 },
  [TENANT_LEDGER_PAYMENT] = { "payment", -1 }, [TENANT_LEDGER_REFUND] = { "refund", +1 },
};

const char *tenant_ledger_kind_name(tenant_ledger_kind_t k)
{
  return (unsigned)k < TENANT_LEDGER__COUNT ? kinds[k].name : NULL;
}

int tenant_ledger_kind_parse(const char *name, tenant_ledger_kind_t *out)
{
  for (int i = 0; i < TENANT_LEDGER__COUNT; i++)
    if (!strcmp(name, kinds[i].name)) { *out = (tenant_ledger_kind_t)i; return 0; }
  return IMC_E_INVAL;
}

static int printable(const char *s, size_t max)
{
  size_t n = strlen(s);
  if (n == 0 || n > max) return 0;
  for (size_t i = 0; i < n; i++) if (s[i] < 0x21 || s[i] > 0x7e) return 0;
  return 1;
}

int tenant_wallet_check(int64_t amount_fen, const char *reason, const char *reference, const char **field, const char **rule)
{
  const char *f = NULL, *r = NULL;
  if (amount_fen < 1 || amount_fen > TENANT_WALLET_MAX_FEN) f = "amount_fen", r = "must be an integer 1..10^14";
  else if (!reason || !reason[0] || strlen(reason) > 200 || !imc_utf8_text(reason)) f = "reason", r = "must be 1-200 bytes of UTF-8 text (no control characters)";
  else if (!reference || !printable(reference, 64)) f = "reference", r = "must be 1-64 printable ASCII bytes, no space";
  if (field) *field = f;
  if (rule) *rule = r;
  return f ? IMC_E_INVAL : 0;
}

int tenant_wallet_post(store_t *s, int in_txn, int64_t customer_id, tenant_ledger_kind_t kind, int64_t amount_fen,
                       const char *reason, const char *reference, int64_t now_s, store_ledger_t *out)
{
  if ((unsigned)kind >= TENANT_LEDGER__COUNT || tenant_wallet_check(amount_fen, reason, reference, NULL, NULL)) return IMC_E_INVAL;
  store_customer_t c;
  int rc = store_customer_get(s, customer_id, &c);
  if (rc) return rc;
  store_ledger_t in;
  memset(&in, 0, sizeof in);
  in.customer_id = customer_id;
  in.at_s = now_s;
  strcpy(in.kind, kinds[kind].name);
  in.amount_fen = kinds[kind].sign * amount_fen;
  strcpy(in.reason, reason);
  strcpy(in.reference, reference);
  if (!in_txn && (rc = store_exec(s, "BEGIN IMMEDIATE"))) return rc;
  rc = store_ledger_append(s, &in, out);
  if (!in_txn) {
    int rc2 = store_exec(s, rc ? "ROLLBACK" : "COMMIT");
    if (!rc) rc = rc2;
  }
  return rc;
}

json_t *tenant_ledger_json(const store_ledger_t *e)
{
  return json_pack("{s:I,s:I,s:s,s:I,s:I,s:s,s:s}", "id", (json_int_t)e->id, "at", (json_int_t)e->at_s, "kind", e->kind,
                   "amount_fen", (json_int_t)e->amount_fen, "balance_fen", (json_int_t)e->balance_fen, "reason", e->reason,
                   "reference", e->reference);
}
