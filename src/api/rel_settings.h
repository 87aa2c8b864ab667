/* rel_settings.h — an app's relationship settings for the operator API
 * (rel_settings.c has the fields). */
#ifndef IMC_API_REL_SETTINGS_H
#define IMC_API_REL_SETTINGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_int.h"

/* Writer thread: check the given fields of body (all or nothing), write
 * them, and return the app's whole settings object in *out (new reference).
 * IMC_E_INVAL with why, or storage errors. */
int rel_settings_write(store_t *s, uint32_t app, json_t *body, json_t **out, char *why, size_t cap);
/* Reader thread: the app's settings object (defaults filled in). */
int rel_settings_read(store_t *s, uint32_t app, json_t **out);
/* Loop thread, after the write committed: memory takes the settings. */
void rel_settings_apply(api_srv_t *srv, uint32_t app, json_t *settings);

#endif
