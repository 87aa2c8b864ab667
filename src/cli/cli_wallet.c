/* cli_wallet.c — `imcloud wallet topup|show`: a customer's balance and its
 * append-only ledger (docs/billing.md "Wallets"). Works with or without a
 * server on the same data directory. */
#include "auth/optoken.h"
#include "billing/billing.h"
#include "cli/cli.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/textwidth.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each form takes exactly the options its usage names (cli_parse_forms). */
enum { F_TOPUP, F_SHOW };
static const cli_form_t forms[] = {
  [F_TOPUP] = { "topup", "topup --customer ID --amount-fen N [--reference REF] [--reason TEXT] [--data DIR] [--json]" },
  [F_SHOW] = { "show", "show --customer ID [--data DIR] [--json]" },
};
static const char notes[] =
  "  Amounts are integer fen (100 fen = 1 元). A reference is unique per customer: repeating a top-up\n"
  "  with the same reference and amount changes nothing (safe to retry). The data directory must exist.";


static void on_entry(void *ud, const store_ledger_t *e) { json_array_append_new(ud, tenant_ledger_json(e)); }

int cli_wallet(int argc, char **argv)
{
  const char *data = "./var", *reference = NULL, *reason = "top-up";
  int64_t customer = 0, amount = 0;
  int json = 0, npos = 0, form;
  char *pos[2];
  const cli_form_opt_t opts[] = {
    { 0, { "--customer", CLI_I64, &customer, 1, INT64_MAX, "ID  the customer" } },
    { CLI_FORM(F_TOPUP), { "--amount-fen", CLI_I64, &amount, 1, TENANT_WALLET_MAX_FEN, "N  amount in fen (topup)" } },
    { CLI_FORM(F_TOPUP), { "--reference", CLI_STR, &reference, 0, 0, "REF  idempotency reference (topup; default: a fresh one)" } },
    { CLI_FORM(F_TOPUP), { "--reason", CLI_STR, &reason, 0, 0, "TEXT  why (topup; default \"top-up\")" } },
    { 0, { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" } },
    { 0, { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" } },
  };
  int rc = cli_parse_forms(argc, argv, "wallet", forms, sizeof forms / sizeof *forms, opts, sizeof opts / sizeof *opts, notes,
                           pos, 2, &npos, &form);
  if (rc) return cli_parse_exit(rc);
  if (npos != 1 || (strcmp(pos[0], "topup") && strcmp(pos[0], "show"))) { cli_err("wallet", "expected \"topup\" or \"show\""); return CLI_EXIT_USAGE; }
  if (!customer) { cli_err("wallet", "--customer is required"); return CLI_EXIT_USAGE; }
  int topup = !strcmp(pos[0], "topup");
  if (topup && !amount) { cli_err("wallet", "topup needs --amount-fen"); return CLI_EXIT_USAGE; }
  const char *field, *rule;
  /* no --reference: a fresh valid one is made below, so only the reason is checked */
  if (topup && tenant_wallet_check(amount, reason, reference ? reference : "fresh", &field, &rule)) {
    /* the message names the one wrong option (the amount's range was checked by the parser) */
    int is_ref = !strcmp(field, "reference");
    cli_err("wallet", "--%s: \"%s\" %s", is_ref ? "reference" : "reason", is_ref ? reference : reason, rule);
    return CLI_EXIT_FAIL;
  }
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
      if (rc == IMC_E_NOTFOUND) cli_err("wallet", "--customer: no customer %lld (imcloud customer list)", (long long)customer);
      else if (rc == IMC_E_EXISTS) cli_err("wallet", "--reference: \"%s\" was used for a different entry", ref);
      else cli_err("wallet", "%s", imc_strerror(rc));
      return CLI_EXIT_FAIL;
    }
    if (json) {
      json_t *o = tenant_ledger_json(&e);
      json_object_set_new(o, "replayed", json_boolean(e.replayed));
      cli_print_json(o);
    } else {
      char amt[80], bal[80];
      printf("%s %s to customer %lld (entry %lld, reference %s)\nbalance %s\n",
             e.replayed ? "already recorded: top-up of" : "topped up", cli_fmt_money(e.amount_fen, amt, sizeof amt),
             (long long)customer, (long long)e.id, e.reference, cli_fmt_money(e.balance_fen, bal, sizeof bal));
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
  if (rc == IMC_E_NOTFOUND) { json_decref(arr); cli_err("wallet", "--customer: no customer %lld (imcloud customer list)", (long long)customer); return CLI_EXIT_FAIL; }
  if (rc) { json_decref(arr); cli_err("wallet", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) { cli_print_json(json_pack("{s:I,s:I,s:o}", "customer_id", (json_int_t)customer, "balance_fen", (json_int_t)bal, "entries", arr)); return 0; }
  char money[80], when[64], a[40], b[40];
  printf("customer %lld \"%s\": balance %s\n", (long long)customer, c.name, cli_fmt_money(bal, money, sizeof money));
  if (json_array_size(arr))
    printf("  %-5s %-29s %-8s %*s%s %*s%s  %s\n", "ENTRY", "AT", "KIND", imc_text_pad("AMOUNT 元", 16), "", "AMOUNT 元",
           imc_text_pad("BALANCE 元", 16), "", "BALANCE 元", "REASON [REFERENCE]");
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    int64_t amount = json_integer_value(json_object_get(e, "amount_fen"));
    a[0] = '+';
    bill_fen_format(amount, amount < 0 ? a : a + 1, sizeof a - 1);
    bill_fen_format(json_integer_value(json_object_get(e, "balance_fen")), b, sizeof b);
    printf("  %-5lld %-29s %-8s %16s %16s  %s [%s]\n", (long long)json_integer_value(json_object_get(e, "id")),
           cli_fmt_time(json_integer_value(json_object_get(e, "at")), when, sizeof when),
           json_string_value(json_object_get(e, "kind")), a, b,
           json_string_value(json_object_get(e, "reason")), json_string_value(json_object_get(e, "reference")));
  }
  json_decref(arr);
  return 0;
}
