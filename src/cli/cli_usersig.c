/* cli_usersig.c — `imcloud usersig gen|verify`: make or check a TLSSigAPIv2
 * UserSig offline (no server, no data directory needed). */
#include "auth/usersig.h"
#include "cli/cli.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/err.h"

#include <ctype.h>
#include <string.h>

/* Each form takes exactly the options its usage names (cli_parse_forms). */
enum { F_GEN, F_VERIFY };
static const cli_form_t forms[] = {
  [F_GEN] = { "gen", "gen --sdkappid N --key K --identifier U [--expire S] [--json]" },
  [F_VERIFY] = { "verify", "verify --sdkappid N --key K --identifier U SIG [--json]" },
};

int cli_usersig(int argc, char **argv)
{
  int64_t sdkappid = -1, expire = 15552000; /* 180 days, the official libraries' default */
  const char *key = NULL, *ident = NULL, *data = NULL;
  int json = 0, npos = 0, form;
  char *pos[3];
  const cli_form_opt_t opts[] = {
    { 0, { "--sdkappid", CLI_I64, &sdkappid, 1, UINT32_MAX, "N  the app" } },
    { 0, { "--key", CLI_STR, &key, 0, 0, "K  the app's secret key (64 hex digits)" } },
    { 0, { "--identifier", CLI_STR, &ident, 0, 0, "U  the UserID (admin or user)" } },
    { CLI_FORM(F_GEN), { "--expire", CLI_I64, &expire, 1, 3153600000LL, "S  validity in seconds, 1..3153600000 (gen; default 15552000)" } },
    { 0, { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" } },
    { 0, { "--data", CLI_STR, &data, 0, 0, "DIR  accepted for symmetry; unused" } },
  };
  int rc = cli_parse_forms(argc, argv, "usersig", forms, sizeof forms / sizeof *forms, opts, sizeof opts / sizeof *opts, NULL,
                           pos, 3, &npos, &form);
  if (rc) return cli_parse_exit(rc);
  if (npos < 1 || (strcmp(pos[0], "gen") && strcmp(pos[0], "verify"))) { cli_err("usersig", "expected \"gen\" or \"verify\""); return CLI_EXIT_USAGE; }
  if (sdkappid < 0 || !key || !ident) { cli_err("usersig", "--sdkappid, --key and --identifier are required"); return CLI_EXIT_USAGE; }
  size_t klen = strlen(key), hex = 0;
  while (hex < klen && isxdigit((unsigned char)key[hex])) hex++;
  if (klen != 64 || hex != klen) { cli_err("usersig", "--key: the secret key of an app is 64 hex digits (imcloud app show)"); return CLI_EXIT_FAIL; }
  char lower[65]; /* keys are lower-case hex: an upper-case copy signed with different bytes, which the server refused (70009) */
  for (size_t i = 0; i <= klen; i++) lower[i] = (char)tolower((unsigned char)key[i]);
  key = lower;
  if (!tenant_user_id_valid(ident)) { cli_err("usersig", "--identifier: \"%s\" is not a UserID (1-32 printable ASCII bytes, no space)", ident); return CLI_EXIT_FAIL; }
  if (!strcmp(pos[0], "gen")) {
    char sig[AUTH_USERSIG_MAX];
    if (npos != 1) { cli_err("usersig", "gen takes no positional argument"); return CLI_EXIT_USAGE; }
    rc = auth_usersig_gen((uint64_t)sdkappid, key, ident, imc_clock_now_s(), expire, sig, sizeof sig);
    if (rc) { cli_err("usersig", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
    if (json) printf("{\"usersig\":\"%s\",\"expire\":%lld}\n", sig, (long long)expire);
    else printf("%s\n", sig);
    return 0;
  }
  if (npos != 2) { cli_err("usersig", "verify needs the UserSig as its argument"); return CLI_EXIT_USAGE; }
  auth_usersig_info_t info;
  rc = auth_usersig_verify(pos[1], (uint64_t)sdkappid, key, ident, imc_clock_now_s(), &info);
  if (rc) { cli_err("usersig", "invalid: ErrorCode %d: %s", imc_err_compat(rc), imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) printf("{\"valid\":true,\"identifier\":\"%s\",\"sdkappid\":%llu,\"time\":%lld,\"expire\":%lld}\n", info.identifier,
                   (unsigned long long)info.sdkappid, (long long)info.time, (long long)info.expire);
  else {
    char when[64];
    printf("valid (identifier %s, expires %s)\n", info.identifier, cli_fmt_time(info.time + info.expire, when, sizeof when));
  }
  return 0;
}
