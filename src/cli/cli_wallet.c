/* cli_wallet.c — `imcloud wallet topup|show`: a customer's balance and its
 * append-only ledger (docs/billing.md "Wallets"). Works with or without a
 * server on the same data directory. */
#include "auth/optoken.h"
#include "cli/cli.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
  "usage: imcloud wallet topup --customer ID --amount-fen N [--reference REF] [--reason TEXT] [--data DIR] [--json]\n"
  "       imcloud wallet show --customer ID [--data DIR] [--json]\n"
  "  Amounts are integer fen (100 fen = 1 元). A reference is unique per customer: repeating a top-up\n"
  "  with the same reference and amount changes nothing (safe to retry).";

static void print_json(json_t *o)
{
  char *t = json_dumps(o, JSON_COMPACT);
  printf("%s\n", t);
  free(t);
  json_decref(o);
}

static void on_entry(void *ud, const store_ledger_t *e) { json_array_append_new(ud, tenant_ledger_json(e)); }

int cli_wallet(int argc, char **argv)
{
  const char *data = "./var", *reference = NULL, *reason = "top-up";
  int64_t customer = 0, amount = 0;
  int json = 0, npos = 0;
  char *pos[2];
  const cli_opt_t opts[] = {
    { "--customer", CLI_I64, &customer, 1, INT64_MAX, "ID  the customer" },
    { "--amount-fen", CLI_I64, &amount, 1, TENANT_WALLET_MAX_FEN, "N  amount in fen (topup)" },
    { "--reference", CLI_STR, &reference, 0, 0, "REF  idempotency reference (topup; default: a fresh one)" },
    { "--reason", CLI_STR, &reason, 0, 0, "TEXT  why (topup; default \"top-up\")" },
    { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" },
    { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" },
    { 0 }
  };
  int rc = cli_parse(argc, argv, opts, usage, pos, 2, &npos);
  if (rc) return rc > 0 ? 0 : CLI_EXIT_USAGE;
  if (npos != 1 || (strcmp(pos[0], "topup") && strcmp(pos[0], "show"))) { cli_err("wallet", "expected 'topup' or 'show'"); return CLI_EXIT_USAGE; }
  if (!customer) { cli_err("wallet", "--customer is required"); return CLI_EXIT_USAGE; }
  int topup = !strcmp(pos[0], "topup");
  if (topup && !amount) { cli_err("wallet", "--amount-fen is required"); return CLI_EXIT_USAGE; }
  store_t *s;
  if ((rc = cli_store_open("wallet", data, &s))) return rc;
  if (topup) {
    char ref[65];
    if (reference) snprintf(ref, sizeof ref, "%s", reference);
    else { strcpy(ref, "topup-"); auth_random_hex(ref + 6, 16); }
    store_ledger_t e;
    rc = tenant_wallet_post(s, 0, customer, TENANT_LEDGER_TOPUP, amount, reason, ref, imc_clock_now_s(), &e);
    store_close(s);
    if (rc) {
      cli_err("wallet", "%s", rc == IMC_E_NOTFOUND ? "no such customer"
                            : rc == IMC_E_EXISTS ? "that reference was used for a different entry"
                            : rc == IMC_E_INVAL ? "reason must be 1-200 bytes and reference 1-64 printable ASCII bytes"
                            : imc_strerror(rc));
      return CLI_EXIT_FAIL;
    }
    if (json) {
      json_t *o = tenant_ledger_json(&e);
      json_object_set_new(o, "replayed", json_boolean(e.replayed));
      print_json(o);
    } else {
      printf("balance %lld fen after %s (entry %lld%s)\n", (long long)e.balance_fen, e.reference, (long long)e.id,
             e.replayed ? ", already recorded" : "");
    }
    return 0;
  }
  store_customer_t c;
  int64_t bal = 0;
  json_t *arr = json_array();
  rc = store_customer_get(s, customer, &c);
  if (!rc) rc = store_wallet_balance(s, customer, &bal);
  if (!rc) rc = store_ledger_each(s, customer, on_entry, arr);
  store_close(s);
  if (rc) { json_decref(arr); cli_err("wallet", "%s", rc == IMC_E_NOTFOUND ? "no such customer" : imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) { print_json(json_pack("{s:I,s:I,s:o}", "customer_id", (json_int_t)customer, "balance_fen", (json_int_t)bal, "entries", arr)); return 0; }
  printf("customer %lld (%s): balance %lld fen\n", (long long)customer, c.name, (long long)bal);
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
    printf("  #%lld %-8s %+14lld  balance %14lld  %s  [%s]\n", (long long)json_integer_value(json_object_get(e, "id")),
           json_string_value(json_object_get(e, "kind")), (long long)json_integer_value(json_object_get(e, "amount_fen")),
           (long long)json_integer_value(json_object_get(e, "balance_fen")), json_string_value(json_object_get(e, "reason")),
           json_string_value(json_object_get(e, "reference")));
  json_decref(arr);
  return 0;
}
