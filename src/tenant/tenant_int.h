/* tenant_int.h — what the tenant module's files share and nothing outside
 * it uses. */
#ifndef IMC_TENANT_INT_H
#define IMC_TENANT_INT_H
#include "tenant/tenant.h"

/* The meta setting "app.<sdkappid>.<what>" (settings.c): get fills buf
 * ("" when unset); set writes value. 0 or a store error. */
int tenant__meta_app_get(store_t *s, uint32_t sdkappid, const char *what, char *buf, size_t cap);
int tenant__meta_app_set(store_t *s, uint32_t sdkappid, const char *what, const char *value);

#endif
