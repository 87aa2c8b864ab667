/* cli_serve.c — `imcloud serve [--listen HOST:PORT] [--data DIR] [--config FILE] …`
 * Settings come from api_cfg_defs: defaults < --config file < IMCLOUD_* < flags. */
#include "api/api.h"
#include "cli/cli.h"
#include "util/err.h"
#include "util/log.h"

#include <string.h>

int cli_serve(int argc, char **argv)
{
  api_cfg_t cfg;
  char err[512] = "";
  const char *config_path = NULL;
  memset(&cfg, 0, sizeof cfg);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: imcloud serve [options]\n\n  --%-24s %s\n", "config FILE", "read settings from FILE (`name value` lines)");
      cfg_print_help(api_cfg_defs, stdout);
      printf("\n%s", cli_exit_help);
      return 0;
    }
    const char *path = !strcmp(argv[i], "--config") ? (i + 1 < argc ? argv[++i] : "") :
                       !strncmp(argv[i], "--config=", 9) ? argv[i] + 9 : NULL;
    if (!path) continue;
    if (!path[0]) { cli_err("serve", "option --config needs a value"); return CLI_EXIT_USAGE; }
    if (config_path) { cli_err("serve", "--config given twice"); return CLI_EXIT_USAGE; }
    config_path = path;
  }
  static const char *const extra[] = { "--config", NULL };
  int rc = cfg_defaults(api_cfg_defs, &cfg);
  if (!rc && config_path) rc = cfg_load_file(api_cfg_defs, &cfg, config_path, err, sizeof err);
  if (!rc) rc = cfg_load_env(api_cfg_defs, &cfg, err, sizeof err);
  if (!rc) rc = cfg_load_args(api_cfg_defs, &cfg, argc, argv, extra, NULL, err, sizeof err);
  imc_log_level_t lvl = IMC_LOG_INFO;
  if (!rc) imc_log_level_parse(cfg.log_level, &lvl); /* checked as it was set (api_cfg_defs) */
  if (rc) {
    cli_err("serve", "%s", err[0] ? err : imc_strerror(rc));
    cfg_free(api_cfg_defs, &cfg);
    return rc == IMC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL; /* malformed line, or a bad value */
  }
  /* api_serve binds the address before it creates anything (data
   * directory, operator token, access log file).
   * Until the server listens, at least errors: a server that cannot start
   * says why at --log-level off too (api_serve applies the level once it
   * listens; docs/decisions/logging-switches.md). */
  imc_log_level = lvl < IMC_LOG_ERROR ? lvl : IMC_LOG_ERROR;
  int status = api_serve(&cfg);
  imc_log_access_close();
  cfg_free(api_cfg_defs, &cfg);
  return status;
}
