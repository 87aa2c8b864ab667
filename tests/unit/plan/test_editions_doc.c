/* docs/editions.md is generated from the catalog (`imcloud editions
 * --markdown > docs/editions.md`); this test fails when the committed file
 * and the catalog differ, printing the first differing line. It also checks
 * that the Markdown lists every scheme, every edition and every recorded
 * decision, and that the JSON form is valid JSON with every edition. Run from
 * the repository root (scripts/check.sh does). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

static char *render(plan_format_t f)
{
  size_t n = plan_render(f, 1, BILL_SCHEME_S2022, NULL, 0);
  char *buf = malloc(n + 1);
  assert_non_null(buf);
  assert_int_equal(plan_render(f, 1, BILL_SCHEME_S2022, buf, n + 1), n);
  assert_int_equal(strlen(buf), n);
  return buf;
}

static void test_doc_matches_catalog(void **st)
{
  (void)st;
  char *md = render(PLAN_FMT_MARKDOWN);
  FILE *f = fopen("docs/editions.md", "rb");
  if (!f) fail_msg("docs/editions.md missing (run from the repository root; regenerate with imcloud editions --markdown)");
  static char doc[1 << 18];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[n] = 0;
  if (strcmp(doc, md)) {
    size_t line = 1, i = 0;
    while (doc[i] && doc[i] == md[i]) { if (doc[i] == '\n') line++; i++; }
    printf("docs/editions.md drifted from the catalog at line %zu; regenerate: build/imcloud editions --markdown > docs/editions.md\n", line);
    free(md);
    fail();
  }
  for (int s = 0; s < BILL_SCHEME__COUNT; s++) {
    char h[32];
    snprintf(h, sizeof h, "\n## %s\n", bill_scheme_name((bill_scheme_t)s));
    assert_non_null(strstr(md, h));
    for (int e = 0; e < plan_editions((bill_scheme_t)s); e++) assert_non_null(strstr(md, plan_edition_code((bill_scheme_t)s, e)));
    const char *rule, *text;
    for (int i = 0; (text = plan_decision((bill_scheme_t)s, i, &rule)); i++) assert_non_null(strstr(md, text));
    assert_non_null(plan_decision((bill_scheme_t)s, 0, &rule)); /* every book records its decisions */
  }
  free(md);
}

static void test_json_and_text(void **st)
{
  (void)st;
  char *js = render(PLAN_FMT_JSON);
  json_error_t je;
  json_t *root = json_loads(js, 0, &je);
  assert_non_null(root);
  json_t *schemes = json_object_get(root, "schemes");
  assert_int_equal(json_array_size(schemes), BILL_SCHEME__COUNT);
  int eds = 0;
  for (size_t i = 0; i < json_array_size(schemes); i++) eds += (int)json_array_size(json_object_get(json_array_get(schemes, i), "editions"));
  assert_int_equal(eds, 11);
  /* unlimited is null, not a number */
  json_t *s2022 = json_array_get(schemes, BILL_SCHEME_S2022);
  json_t *pro = json_array_get(json_object_get(s2022, "editions"), 1);
  assert_true(json_is_null(json_object_get(json_object_get(json_object_get(pro, "limits"), "users"), "value")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(pro, "limits"), "members_per_group"), "max_with_addons")), 2000);
  json_decref(root);
  free(js);
  /* one scheme only */
  size_t n = plan_render(PLAN_FMT_TEXT, 0, BILL_SCHEME_INTL, NULL, 0);
  char *t = malloc(n + 1);
  plan_render(PLAN_FMT_TEXT, 0, BILL_SCHEME_INTL, t, n + 1);
  assert_non_null(strstr(t, "developer"));
  assert_null(strstr(t, "ultimate"));
  free(t);
  /* a short buffer truncates but reports the full size */
  char small[16];
  assert_int_equal(plan_render(PLAN_FMT_MARKDOWN, 1, BILL_SCHEME_S2022, small, sizeof small), plan_render(PLAN_FMT_MARKDOWN, 1, BILL_SCHEME_S2022, NULL, 0));
  assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_doc_matches_catalog), cmocka_unit_test(test_json_and_text) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
