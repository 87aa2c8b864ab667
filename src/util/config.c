/* config.c — see config.h. */
#include "util/config.h"
#include "util/err.h"
#include "util/num.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const cfg_def_t *find(const cfg_def_t *defs, const char *name, size_t len)
{
  for (const cfg_def_t *d = defs; d->name; d++)
    if (strlen(d->name) == len && !strncmp(d->name, name, len)) return d;
  return NULL;
}

static int set_def(const cfg_def_t *d, void *obj, const char *value, char *err, size_t errcap)
{
  char *field = (char *)obj + d->offset;
  if (d->check) {
    char why[256] = "";
    if (d->check(value, why, sizeof why)) { snprintf(err, errcap, "%s: %s", d->name, why); return IMC_E_CONFIG; }
  }
  switch (d->type) {
  case CFG_STR: {
    char *copy = strdup(value);
    if (!copy) return IMC_E_NOMEM;
    free(*(char **)field);
    *(char **)field = copy;
    return 0;
  }
  case CFG_INT: {
    int64_t v;
    int rc = imc_parse_i64(value, d->min, d->max, &v);
    if (rc) {
      snprintf(err, errcap, "%s: \"%s\" is not an integer in [%lld, %lld]", d->name, value,
               (long long)d->min, (long long)d->max);
      return rc;
    }
    *(int64_t *)field = v;
    return 0;
  }
  case CFG_BOOL:
    if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on")) *(int *)field = 1;
    else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off")) *(int *)field = 0;
    else { snprintf(err, errcap, "%s: \"%s\" is not a boolean (true/false)", d->name, value); return IMC_E_INVAL; }
    return 0;
  }
  return IMC_E_INTERNAL;
}

int cfg_defaults(const cfg_def_t *defs, void *obj)
{
  char err[384];
  for (const cfg_def_t *d = defs; d->name; d++) {
    int rc = set_def(d, obj, d->def, err, sizeof err);
    if (rc) return rc;
  }
  return 0;
}

int cfg_set(const cfg_def_t *defs, void *obj, const char *name, const char *value, char *err, size_t errcap)
{
  const cfg_def_t *d = find(defs, name, strlen(name));
  if (!d) { snprintf(err, errcap, "unknown setting \"%s\"", name); return IMC_E_NOTFOUND; }
  return set_def(d, obj, value, err, errcap);
}

int cfg_load_file(const cfg_def_t *defs, void *obj, const char *path, char *err, size_t errcap)
{
  FILE *f = fopen(path, "r");
  if (!f) { snprintf(err, errcap, "cannot read config file %s", path); return IMC_E_IO; }
  char line[1024];
  int lineno = 0, rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    char *p = line, *end;
    while (isspace((unsigned char)*p)) p++;
    if (!*p || *p == '#') continue;
    end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1])) *--end = 0;
    char *k = p;
    while (*p && !isspace((unsigned char)*p) && *p != '=') p++;
    char *kend = p;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '=') { p++; while (isspace((unsigned char)*p)) p++; }
    *kend = 0;
    char sub[640];
    rc = cfg_set(defs, obj, k, p, sub, sizeof sub);
    if (rc) snprintf(err, errcap, "%s:%d: %s", path, lineno, sub);
  }
  fclose(f);
  return rc;
}

int cfg_load_env(const cfg_def_t *defs, void *obj, char *err, size_t errcap)
{
  for (const cfg_def_t *d = defs; d->name; d++) {
    char var[96] = "IMCLOUD_";
    size_t o = strlen(var);
    for (const char *s = d->name; *s && o + 1 < sizeof var; s++) var[o++] = (char)toupper((unsigned char)*s);
    var[o] = 0;
    const char *v = getenv(var);
    if (!v) continue;
    char sub[640];
    int rc = set_def(d, obj, v, sub, sizeof sub);
    if (rc) { snprintf(err, errcap, "%s: %s", var, sub); return rc; }
  }
  return 0;
}

static int listed(const char *const *names, const char *name, size_t len)
{
  for (; names && *names; names++)
    if (strlen(*names) == len && !strncmp(*names, name, len)) return 1;
  return 0;
}

static int load_args(const cfg_def_t *defs, void *obj, int argc, char **argv, const char *const *extra,
                     const char *const *extra_bool, unsigned char *given, char *err, size_t errcap)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) { snprintf(err, errcap, "unexpected argument \"%s\"", a); return IMC_E_USAGE; }
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    if (listed(extra_bool, a, len)) continue;
    if (listed(extra, a, len)) { if (!eq) i++; continue; }
    char name[96];
    if (len - 2 >= sizeof name) { snprintf(err, errcap, "unknown option \"%s\"", a); return IMC_E_USAGE; }
    for (size_t j = 2; j < len; j++) name[j - 2] = a[j] == '-' ? '_' : a[j];
    name[len - 2] = 0;
    const cfg_def_t *d = find(defs, name, strlen(name));
    if (!d) { snprintf(err, errcap, "unknown option \"%.*s\"", (int)len, a); return IMC_E_USAGE; }
    if (given[d - defs]++) { snprintf(err, errcap, "%.*s given twice", (int)len, a); return IMC_E_USAGE; }
    const char *v;
    if (eq) v = eq + 1;
    else if (d->type == CFG_BOOL) v = "true";
    else if (i + 1 < argc) v = argv[++i];
    else { snprintf(err, errcap, "option %.*s needs a value", (int)len, a); return IMC_E_USAGE; }
    int rc = set_def(d, obj, v, err, errcap);
    if (rc) return rc;
  }
  return 0;
}

int cfg_load_args(const cfg_def_t *defs, void *obj, int argc, char **argv,
                  const char *const *extra, const char *const *extra_bool, char *err, size_t errcap)
{
  size_t ndefs = 0;
  while (defs[ndefs].name) ndefs++;
  unsigned char *given = calloc(ndefs ? ndefs : 1, 1); /* a flag given twice took the last value */
  if (!given) return IMC_E_NOMEM;
  int rc = load_args(defs, obj, argc, argv, extra, extra_bool, given, err, errcap);
  free(given);
  return rc;
}

void cfg_print_help(const cfg_def_t *defs, FILE *f)
{
  for (const cfg_def_t *d = defs; d->name; d++) {
    char flag[96];
    size_t o = 0;
    for (const char *s = d->name; *s && o + 1 < sizeof flag; s++) flag[o++] = *s == '_' ? '-' : *s;
    flag[o] = 0;
    fprintf(f, "  --%-24s %s (default %s%s%s)\n", flag, d->help, d->def[0] ? "" : "\"", d->def, d->def[0] ? "" : "\"");
  }
  fprintf(f, "\nEvery option can also be set as IMCLOUD_<NAME> in the environment (e.g. IMCLOUD_LISTEN)\n"
             "or as a `name value` line in the --config file. Precedence: flag > environment > file > default.\n");
}

void cfg_free(const cfg_def_t *defs, void *obj)
{
  for (const cfg_def_t *d = defs; d->name; d++)
    if (d->type == CFG_STR) { char **p = (char **)((char *)obj + d->offset); free(*p); *p = NULL; }
}
