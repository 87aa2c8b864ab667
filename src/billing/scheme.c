/* scheme.c — scheme names and resolution (billing_scheme.h). Pure. */
#include "billing/billing_scheme.h"
#include "util/date.h"
#include "util/err.h"

#include <string.h>

static const struct { const char *name, *free_edition; } schemes[BILL_SCHEME__COUNT] = {
  [BILL_SCHEME_LEGACY] = { "legacy", "legacy" },
  [BILL_SCHEME_S2019]  = { "s2019", "trial" },
  [BILL_SCHEME_S2020]  = { "s2020", "trial" },
  [BILL_SCHEME_S2022]  = { "s2022", "trial" },
  [BILL_SCHEME_INTL]   = { "intl", "developer" },
};

static const struct { const char *name; int overseas; } regions[] = {
  { "china", 0 }, { "singapore", 1 }, { "india", 1 }, { "korea", 1 },
  { "germany", 1 }, { "usa", 1 }, { "japan", 1 }, { "indonesia", 1 },
};

const char *bill_scheme_name(bill_scheme_t s)
{
  return (unsigned)s < BILL_SCHEME__COUNT ? schemes[s].name : NULL;
}

const char *bill_scheme_free_edition(bill_scheme_t s)
{
  return (unsigned)s < BILL_SCHEME__COUNT ? schemes[s].free_edition : NULL;
}

int bill_scheme_parse(const char *name, bill_scheme_t *out)
{
  for (int i = 0; name && i < BILL_SCHEME__COUNT; i++)
    if (!strcmp(name, schemes[i].name)) { *out = (bill_scheme_t)i; return 0; }
  return IMC_E_BILL_SCHEME;
}

static int region_index(const char *region)
{
  for (int i = 0; region && i < (int)(sizeof regions / sizeof regions[0]); i++)
    if (!strcmp(region, regions[i].name)) return i;
  return -1;
}

int bill_region_known(const char *region) { return region_index(region) >= 0; }

int bill_region_overseas(const char *region)
{
  int i = region_index(region);
  return i >= 0 && regions[i].overseas;
}

int bill_scheme_legacy(int64_t first_app_created_s)
{
  /* P-01: 2019-12-27 00:00:00 China Standard Time. */
  return first_app_created_s < imc_day_start(imc_days_from_civil(2019, 12, 27), IMC_TZ_CHINA_S);
}

int bill_scheme_resolve(int64_t first_app_created_s, const char *region, bill_scheme_t *out)
{
  if (region_index(region) < 0) return IMC_E_INVAL;
  if (bill_scheme_legacy(first_app_created_s)) *out = BILL_SCHEME_LEGACY;
  else if (bill_region_overseas(region)) *out = BILL_SCHEME_INTL;  /* P-50 */
  else *out = BILL_SCHEME_S2022;                                   /* P-40 */
  return 0;
}

int bill_scheme_original_intl(int64_t first_app_created_s)
{
  return first_app_created_s < imc_day_start(imc_days_from_civil(2022, 12, 26), IMC_TZ_CHINA_S); /* P-50 */
}
