/* tenant.c — customer and app creation rules (tenant.h). */
#include "tenant/tenant.h"
#include "auth/optoken.h"
#include "billing/billing_scheme.h"
#include "util/err.h"
#include "util/utf8.h"

#include <stdio.h>
#include <string.h>

int tenant_user_id_valid(const char *uid)
{
  size_t n = uid ? strlen(uid) : 0;
  if (n == 0 || n > 32) return 0;
  for (size_t i = 0; i < n; i++) if ((unsigned char)uid[i] < 0x21 || (unsigned char)uid[i] > 0x7e) return 0;
  return 1;
}

/* 1-127 bytes of UTF-8 text without control characters (JSON shows every stored name) */
static int name_ok(const char *name) { return name && *name && strlen(name) <= 127 && imc_utf8_text(name); }

int tenant_customer_create(store_t *s, const char *name, int64_t now_s, int64_t *id)
{
  if (!name_ok(name)) return IMC_E_INVAL;
  return store_customer_create(s, name, now_s, id);
}

static int app_create_txn(store_t *s, const tenant_app_params_t *p, store_app_t *a)
{
  store_customer_t c;
  bill_scheme_t scheme;
  int64_t first;
  int rc = store_customer_get(s, p->customer_id, &c);
  if (rc) return rc;
  memset(a, 0, sizeof *a);
  a->customer_id = p->customer_id;
  a->created_at_s = p->created_at_s ? p->created_at_s : p->now_s;
  if ((rc = store_customer_first_app_created(s, p->customer_id, &first))) return rc;
  /* P-01, P-50: the customer's first app decides the scheme of all its apps. One dated before the apps it
   * has, across a cutoff, would change how those are billed (legacy, the original international scheme)
   * behind their backs: refused (import a customer's apps oldest first) */
  if (first != INT64_MAX && a->created_at_s < first &&
      (bill_scheme_legacy(a->created_at_s) != bill_scheme_legacy(first) ||
       bill_scheme_original_intl(a->created_at_s) != bill_scheme_original_intl(first)))
    return IMC_E_APP_BACKDATED;
  if (a->created_at_s < first) first = a->created_at_s;
  if (p->scheme) rc = bill_scheme_parse(p->scheme, &scheme);
  else rc = bill_scheme_resolve(first, p->region, &scheme); /* P-01, P-40, P-50 */
  if (rc) return rc;
  if ((rc = store_app_next_sdkappid(s, &a->sdkappid))) return rc;
  if ((rc = auth_random_hex(a->secret_key, 32))) return rc;
  snprintf(a->name, sizeof a->name, "%s", p->name);
  snprintf(a->region, sizeof a->region, "%s", p->region);
  snprintf(a->scheme, sizeof a->scheme, "%s", bill_scheme_name(scheme));
  snprintf(a->edition, sizeof a->edition, "%s", bill_scheme_free_edition(scheme)); /* L-1 */
  snprintf(a->status, sizeof a->status, "active");
  snprintf(a->admins[0], sizeof a->admins[0], "administrator");
  a->n_admins = 1;
  return store_app_insert(s, a);
}

int tenant_app_check(const tenant_app_params_t *p, const char **field, const char **rule)
{
  bill_scheme_t scheme;
  const char *f = NULL, *r = NULL;
  int rc = IMC_E_INVAL;
  if (!name_ok(p->name)) f = "name", r = "must be 1-127 bytes of UTF-8 text (no control characters)";
  else if (!bill_region_known(p->region)) f = "region", r = "must be one of china, singapore, india, korea, germany, usa, japan, indonesia";
  else if (p->scheme && bill_scheme_parse(p->scheme, &scheme)) f = "scheme", r = "must be one of legacy, s2019, s2020, s2022, intl", rc = IMC_E_BILL_SCHEME;
  else if (p->created_at_s > p->now_s) f = "created_at", r = "must not be in the future";
  if (field) *field = f;
  if (rule) *rule = r;
  return f ? rc : 0;
}

int tenant_app_create(store_t *s, const tenant_app_params_t *p, store_app_t *out)
{
  int rc = tenant_app_check(p, NULL, NULL);
  if (rc) return rc;
  /* Inside the writer's batch a savepoint nests. From the CLI this is the
   * transaction, and it takes the write lock before its first read: a
   * deferred one that read first could find its snapshot stale when it came
   * to write (another process committed meanwhile), an error no busy timeout
   * waits out. */
  int nested = store_in_transaction(s);
  rc = store_exec(s, nested ? "SAVEPOINT app_create" : "BEGIN IMMEDIATE");
  if (rc) return rc;
  rc = app_create_txn(s, p, out);
  if (!nested) {
    int end = store_exec(s, rc ? "ROLLBACK" : "COMMIT");
    if (!rc && end) store_exec(s, "ROLLBACK");
    return rc ? rc : end;
  }
  if (rc) store_exec(s, "ROLLBACK TO app_create");
  int rel = store_exec(s, "RELEASE app_create");
  return rc ? rc : rel;
}

int tenant_app_is_admin(const tenant_app_t *a, const char *identifier)
{
  for (int i = 0; i < a->rec.n_admins; i++) if (!strcmp(a->rec.admins[i], identifier)) return 1;
  return 0;
}

int tenant_app_active(const tenant_app_t *a) { return !strcmp(a->rec.status, "active"); }

int tenant_app_free_edition(const tenant_app_t *a)
{
  /* the edition in force (plan), not the recorded one: a paid app in grace runs at its free edition's
   * limits and must be able to delete accounts to get back under them; plan facts not ready: refuse */
  if (!a->plan.ready) return 0;
  const char *code = plan_edition_code(a->plan.scheme, a->plan.edition);
  return code && (!strcmp(code, "trial") || !strcmp(code, "developer"));
}
