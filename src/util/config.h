/* config.h — configuration as a table (Redis config.c style).
 *
 * A module describes its settings once as rows {name, type, offset, default,
 * min, max, help}; the same rows feed the defaults, the config file
 * (`name value` or `name = value` lines, `#` comments), the environment
 * (IMCLOUD_<NAME>), command-line flags (--name-with-dashes) and --help.
 * Numbers are parsed strictly (range and trailing-garbage checks). String
 * values are heap copies owned by the object; cfg_free() releases them.
 * Not thread-safe: configure before starting threads.
 */
#ifndef IMC_UTIL_CONFIG_H
#define IMC_UTIL_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CFG_STR, CFG_INT, CFG_BOOL } cfg_type_t;

typedef struct cfg_def {
  const char *name;   /* snake_case: file key; env IMCLOUD_NAME; flag --name-with-dashes */
  cfg_type_t type;    /* STR: char* field; INT: int64_t field; BOOL: int field */
  size_t offset;      /* offsetof(struct, field) */
  const char *def;    /* default as text */
  int64_t min, max;   /* INT range */
  const char *help;
  /* NULL, or what the type cannot say: a value the row's type accepts but the
   * setting does not (a log level, a URL path, a date). 0, or non-zero with
   * the reason in err ("\"x\" is not …"; the caller names the setting and
   * where it came from). */
  int (*check)(const char *value, char *err, size_t errcap);
} cfg_def_t;

/* Set every field to its default. 0 or IMC_E_NOMEM. */
int cfg_defaults(const cfg_def_t *defs, void *obj);
/* Set one setting from text. IMC_E_NOTFOUND (unknown name), IMC_E_INVAL /
 * IMC_E_RANGE (bad value), IMC_E_CONFIG (refused by the row's check); a
 * message "name: reason" is written to err. */
int cfg_set(const cfg_def_t *defs, void *obj, const char *name, const char *value, char *err, size_t errcap);
/* Apply a config file. IMC_E_IO if unreadable; every other error (unknown
 * setting, bad value) is written to err as "PATH:LINE: name: reason". */
int cfg_load_file(const cfg_def_t *defs, void *obj, const char *path, char *err, size_t errcap);
/* Apply every IMCLOUD_<NAME> variable that is set; errors read
 * "IMCLOUD_NAME: name: reason". */
int cfg_load_env(const cfg_def_t *defs, void *obj, char *err, size_t errcap);
/* Apply --name value / --name=value flags (argv[0] is skipped). `extra`
 * names flags handled by the caller (NULL-terminated; they are skipped with
 * their value unless listed in `extra_bool`). Unknown flags, a flag without
 * its value and a flag given twice → IMC_E_USAGE; a bad value as cfg_set. */
int cfg_load_args(const cfg_def_t *defs, void *obj, int argc, char **argv,
                  const char *const *extra, const char *const *extra_bool, char *err, size_t errcap);
void cfg_print_help(const cfg_def_t *defs, FILE *f);
void cfg_free(const cfg_def_t *defs, void *obj);

#endif
