/* End-to-end: `imcloud editions` as scripts and the docs use it — the real
 * binary's --markdown is byte for byte docs/editions.md (the drift check of
 * the generated doc, run from the repository root), --json is one JSON
 * object with every scheme, --scheme narrows it, and bad arguments exit 2
 * with one line on stderr and nothing on stdout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

static e2e_server_t box; /* only its data directory: no server needed */
static char out[1 << 18], err[4096];

static size_t slurp(const char *path, char *buf, size_t cap)
{
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  return n;
}

static int editions(const char *args)
{
  char cmd[1024], path[320];
  snprintf(cmd, sizeof cmd, "'%s' editions %s >'%s/out' 2>'%s/err'", e2e_bin(), args, box.dir, box.dir);
  int st = system(cmd);
  snprintf(path, sizeof path, "%s/out", box.dir);
  slurp(path, out, sizeof out);
  snprintf(path, sizeof path, "%s/err", box.dir);
  slurp(path, err, sizeof err);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_markdown_is_the_doc(void **st)
{
  (void)st;
  static char doc[1 << 18];
  if (!slurp("docs/editions.md", doc, sizeof doc)) fail_msg("docs/editions.md missing (run from the repository root)");
  assert_int_equal(editions("--markdown"), 0);
  if (strcmp(out, doc)) fail_msg("docs/editions.md differs from `imcloud editions --markdown`; regenerate it");
  assert_string_equal(err, "");
}

static void test_json_and_scheme(void **st)
{
  (void)st;
  assert_int_equal(editions("--json"), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_array_size(json_object_get(j, "schemes")), 5);
  json_decref(j);
  assert_int_equal(editions("--scheme intl --json"), 0);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  json_t *s = json_array_get(json_object_get(j, "schemes"), 0);
  assert_int_equal(json_array_size(json_object_get(j, "schemes")), 1);
  assert_string_equal(json_string_value(json_object_get(s, "scheme")), "intl");
  json_t *pro = json_array_get(json_object_get(s, "editions"), 2);
  assert_string_equal(json_string_value(json_object_get(json_object_get(pro, "features"), "all_member_push")), "on_application");
  json_decref(j);
  assert_int_equal(editions("--scheme s2019"), 0);
  assert_non_null(strstr(out, "1,000"));   /* P-16: 1,000 friends on S-2019 pro */
  assert_null(strstr(out, "ultimate"));
}

static void test_bad_arguments(void **st)
{
  (void)st;
  static const char *const bad[] = { "--scheme s2033", "--json --markdown", "extra", "--frobnicate", "--scheme" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(editions(bad[i]), i == 0 ? 1 : 2); /* an unknown scheme is a bad value */
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "imcloud editions"));
    assert_non_null(strchr(err, '\n'));
    assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1); /* one line */
  }
}

static int setup(void **st) { (void)st; e2e_dir_init(&box); return 0; }
static int teardown(void **st) { (void)st; e2e_dir_remove(&box); return 0; }

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_markdown_is_the_doc), cmocka_unit_test(test_json_and_scheme), cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
