/* cli_table.c — the subcommand table (one row per verb, one file per verb). */
#include "cli/cli.h"

const cli_cmd_t cli_commands[] = {
  { "serve",    "run the server (REST v4, client WebSocket, operator API)", cli_serve },
  { "customer", "create and list customers; big-groups: P-17 quota raise", cli_customer },
  { "app",      "create, list and show apps; upgrade, renew, suspend, resume, auto-renew", cli_app },
  { "addon",    "buy and list an app's add-ons (paid from the wallet)",    cli_addon },
  { "usersig",  "generate or verify a UserSig (TLSSigAPIv2)",              cli_usersig },
  { "operator", "create a new operator API token (printed once, stored hashed)", cli_operator },
  { "wallet",   "top up and show a customer's wallet (balance and ledger)", cli_wallet },
  { "quote",    "price a month of usage on a scheme and edition",          cli_quote },
  { "usage",    "an app's metered usage of a month; import usage; record call minutes", cli_usage },
  { "bill",     "an app's numbered bill for a month (preview before the bill run); bill run; settle", cli_bill },
  { "doc",      "print a document generated from the server's tables (routes, ops)", cli_doc },
  { "editions", "print every edition's limits and feature gates (as enforced)", cli_editions },
  { "version",  "print the version and build of this binary",              cli_version },
  { 0, 0, 0 }
};
