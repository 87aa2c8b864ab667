/* End-to-end: documents generated from the server's declarative tables agree
 * with the tables. Every "<!-- BEGIN generated: imcloud doc NAME -->" section
 * of every docs/ Markdown file must equal the output of `imcloud doc NAME` (regenerate with
 * `sh scripts/gen-docs.sh`). Runs from the repository root (make check). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
  if (s) s[n] = 0;
  fclose(f);
  return s;
}

static char *run_doc(const char *name)
{
  char cmd[700];
  static char out[1 << 16];
  snprintf(cmd, sizeof cmd, "'%s' doc %s", e2e_bin(), name);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = 0;
  assert_int_equal(pclose(p), 0);
  return out;
}

/* Check every generated section of one file; returns how many it held. */
static int check_file(const char *path)
{
  static const char begin[] = "<!-- BEGIN generated: imcloud doc ", end[] = "<!-- END generated -->";
  char *text = slurp(path);
  assert_non_null(text);
  int sections = 0;
  for (char *p = strstr(text, begin); p; p = strstr(p, begin)) {
    char name[64];
    char *q = p + sizeof begin - 1;
    size_t k = strcspn(q, " ");
    assert_true(k > 0 && k < sizeof name);
    memcpy(name, q, k);
    name[k] = 0;
    char *body = strchr(q, '\n');
    assert_non_null(body);
    body++;
    char *stop = strstr(body, end);
    assert_non_null(stop);
    *stop = 0;
    const char *want = run_doc(name);
    if (strcmp(body, want))
      fail_msg("%s: the generated section '%s' differs from `imcloud doc %s`; run sh scripts/gen-docs.sh", path, name, name);
    sections++;
    p = stop + 1;
  }
  free(text);
  return sections;
}

static void test_generated_sections_match(void **st)
{
  (void)st;
  int total = 0;
  DIR *d = opendir("docs");
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n < 4 || strcmp(e->d_name + n - 3, ".md")) continue;
    char path[512];
    snprintf(path, sizeof path, "docs/%s", e->d_name);
    total += check_file(path);
  }
  closedir(d);
  assert_true(total >= 2); /* rest-routes and ws-ops at least */
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_generated_sections_match) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
