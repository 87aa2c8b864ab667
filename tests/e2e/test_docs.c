/* End-to-end: documents generated from the server's declarative tables agree
 * with the tables. Every "<!-- BEGIN generated: imcloud doc NAME -->" section
 * of every docs/ Markdown file must equal the output of `imcloud doc NAME` (regenerate with
 * `sh scripts/gen-docs.sh`). docs/protocol.md also describes, outside its
 * generated table, every op of the op table (a heading naming it or a
 * request example), and its "Pushes" table lists exactly the push types the
 * sources of src/api and src/im build. docs/rest-api.md's "Endpoints" table
 * gives every routed REST command a row naming its area file (every
 * docs/rest-api-*.md is one), and each curl example sits in its command's
 * file. Runs from the repository root (make check). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

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
  char *text = e2e_slurp(path);
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

/* ---- protocol.md: ops and pushes ---------------------------------------------------- */
typedef struct names { char v[64][40]; int n; } names_t;

static void names_add(names_t *ns, const char *s, size_t len)
{
  assert_true(len > 0 && len < sizeof ns->v[0]);
  for (int i = 0; i < ns->n; i++)
    if (strlen(ns->v[i]) == len && !memcmp(ns->v[i], s, len)) return;
  assert_true(ns->n < (int)(sizeof ns->v / sizeof ns->v[0]));
  memcpy(ns->v[ns->n], s, len);
  ns->v[ns->n++][len] = 0;
}

static int names_has(const names_t *ns, const char *s)
{
  for (int i = 0; i < ns->n; i++)
    if (!strcmp(ns->v[i], s)) return 1;
  return 0;
}

/* protocol.md without its generated sections. */
static char *protocol_prose(void)
{
  char *t = e2e_slurp("docs/protocol.md");
  assert_non_null(t);
  for (char *b; (b = strstr(t, "<!-- BEGIN generated:"));) {
    char *e = strstr(b, "<!-- END generated -->");
    assert_non_null(e);
    e += strlen("<!-- END generated -->");
    memmove(b, e, strlen(e) + 1);
  }
  return t;
}

/* A heading line of text holding `name`, or a request example naming it. */
static int op_described(const char *text, const char *name)
{
  char pat[80];
  snprintf(pat, sizeof pat, "\"op\":\"%s\"", name);
  if (strstr(text, pat)) return 1;
  snprintf(pat, sizeof pat, "|\"%s\"", name); /* {"op":"group_approve"|"group_invite",…} */
  if (strstr(text, pat)) return 1;
  snprintf(pat, sizeof pat, "`%s`", name);
  for (const char *p = strstr(text, pat); p; p = strstr(p + 1, pat)) {
    const char *bol = p;
    while (bol > text && bol[-1] != '\n') bol--;
    if (*bol == '#') return 1;
  }
  return 0;
}

static void test_protocol_describes_every_op(void **st)
{
  (void)st;
  const char *table = run_doc("ws-ops");
  char *prose = protocol_prose();
  int ops = 0;
  for (const char *p = strstr(table, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
    const char *q = p + 4;
    size_t k = strcspn(q, "`");
    char name[40];
    assert_true(k > 0 && k < sizeof name);
    memcpy(name, q, k);
    name[k] = 0;
    if (!op_described(prose, name))
      fail_msg("docs/protocol.md: op '%s' is in the op table but no heading or request example describes it", name);
    ops++;
  }
  assert_true(ops >= 30);
  free(prose);
}

/* The push types of the "## Pushes" table: every backquoted name of a row's first cell. */
static void doc_pushes(names_t *ns)
{
  char *text = e2e_slurp("docs/protocol.md");
  assert_non_null(text);
  char *p = strstr(text, "\n## Pushes\n");
  assert_non_null(p);
  p = strstr(p, "|---");
  assert_non_null(p);
  for (p = strchr(p, '\n'); p && p[1] == '|'; p = strchr(p + 1, '\n')) {
    char *cell = p + 2, *end = strchr(cell, '|');
    assert_non_null(end);
    for (char *b = memchr(cell, '`', (size_t)(end - cell)); b && b < end; b = memchr(b + 1, '`', (size_t)(end - b - 1))) {
      char *e = memchr(b + 1, '`', (size_t)(end - b - 1));
      assert_non_null(e);
      names_add(ns, b + 1, (size_t)(e - b - 1));
      b = e;
    }
  }
  free(text);
}

/* The push types built in one source file: the string given as a frame's
 * "type" (json_pack or literal text), the names of the event-kind tables and
 * the inbox event sets of group_apply.c. */
static void code_pushes_in(const char *path, names_t *ns)
{
  static const char *const pats[] = {
    "\"type\", \"([a-z_]+)\"",
    "\"type\", [a-z_]+ \\? \"([a-z_]+)\" : \"([a-z_]+)\"",
    "\"type\", json_string\\(\"([a-z_]+)\"\\)",
    "\\\\\"type\\\\\":\\\\\"([a-z_]+)\\\\\"",
    "\\[IM_G?EV_[A-Z_]+\\] = \"([a-z_]+)\"",
    "IM_EV_[A-Z_]+ \\? \"([a-z_]+)\"",
    "set_add\\([^\"]*\"([a-z_]+)\"",
    "set_add\\([^\"]*\\? \"([a-z_]+)\" : \"([a-z_]+)\"",
  };
  char *text = e2e_slurp(path);
  assert_non_null(text);
  for (size_t i = 0; i < sizeof pats / sizeof *pats; i++) {
    regex_t re;
    assert_int_equal(regcomp(&re, pats[i], REG_EXTENDED), 0);
    regmatch_t m[3];
    for (const char *p = text; !regexec(&re, p, 3, m, 0); p += m[0].rm_eo)
      for (int g = 1; g < 3; g++)
        if (m[g].rm_so >= 0) names_add(ns, p + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
    regfree(&re);
  }
  free(text);
}

static void test_protocol_lists_every_push(void **st)
{
  (void)st;
  names_t doc = { .n = 0 }, code = { .n = 0 };
  doc_pushes(&doc);
  static const char *const dirs[] = { "src/api", "src/im" };
  for (size_t d = 0; d < 2; d++) {
    DIR *dir = opendir(dirs[d]);
    assert_non_null(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
      size_t n = strlen(e->d_name);
      if (n < 3 || strcmp(e->d_name + n - 2, ".c")) continue;
      char path[512];
      snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
      code_pushes_in(path, &code);
    }
    closedir(dir);
  }
  for (int i = 0; i < code.n; i++)
    if (!names_has(&doc, code.v[i])) fail_msg("push '%s' is built in src/ but not in docs/protocol.md's Pushes table", code.v[i]);
  for (int i = 0; i < doc.n; i++)
    if (!names_has(&code, doc.v[i])) fail_msg("docs/protocol.md's Pushes table lists '%s', which no source builds", doc.v[i]);
  assert_true(doc.n >= 30);
}

/* ---- rest-api.md's Endpoints table: the area file of every command ---------------------------- */
typedef struct area { char pat[24][64]; int n; char file[64]; } area_t;

/* The next backquoted name in [p, end): its start (*len bytes), or NULL. */
static const char *bq_next(const char *p, const char *end, size_t *len)
{
  const char *b = memchr(p, '`', (size_t)(end - p));
  if (!b) return NULL;
  const char *e = memchr(b + 1, '`', (size_t)(end - b - 1));
  assert_non_null(e);
  *len = (size_t)(e - b - 1);
  return b + 1;
}

/* The rows of docs/rest-api.md's "## Endpoints" table: the command patterns
 * of the second cell (backquoted, holding a '/': exact, or "service/ *") and
 * the first backquoted name of the third (the file). */
static int areas_read(area_t *a, int cap)
{
  char *text = e2e_slurp("docs/rest-api.md");
  assert_non_null(text);
  char *p = strstr(text, "\n## Endpoints\n");
  assert_non_null(p);
  p = strstr(p, "|---");
  assert_non_null(p);
  int n = 0;
  for (p = strchr(p, '\n'); p && p[1] == '|'; p = strchr(p + 1, '\n')) {
    assert_true(n < cap);
    area_t *r = &a[n++];
    memset(r, 0, sizeof *r);
    char *c1 = strchr(p + 2, '|'), *c2 = c1 ? strchr(c1 + 1, '|') : NULL, *c3 = c2 ? strchr(c2 + 1, '|') : NULL;
    assert_non_null(c3);
    size_t k;
    for (const char *b = bq_next(c1, c2, &k); b; b = bq_next(b + k + 1, c2, &k)) {
      if (!memchr(b, '/', k)) continue;
      assert_true(k < sizeof r->pat[0] && r->n < (int)(sizeof r->pat / sizeof r->pat[0]));
      memcpy(r->pat[r->n++], b, k);
    }
    const char *f = bq_next(c2, c3, &k);
    assert_non_null(f);
    assert_true(k < sizeof r->file);
    memcpy(r->file, f, k);
  }
  free(text);
  return n;
}

/* The row whose patterns take the command cmd (len bytes), or NULL. */
static const area_t *area_of(const area_t *a, int n, const char *cmd, size_t len)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < a[i].n; j++) {
      size_t k = strlen(a[i].pat[j]);
      if (k == len && !memcmp(a[i].pat[j], cmd, len)) return &a[i];
      if (k >= 2 && !strcmp(a[i].pat[j] + k - 2, "/*") && len > k - 1 && !memcmp(a[i].pat[j], cmd, k - 1)) return &a[i];
    }
  return NULL;
}

static void test_rest_docs_have_every_route(void **st)
{
  (void)st;
  area_t areas[16];
  int n = areas_read(areas, 16);
  assert_true(n >= 5);
  for (int i = 0; i < n; i++) {
    char *f = e2e_slurp(areas[i].file);
    if (!f) fail_msg("docs/rest-api.md's Endpoints table names %s, which does not exist", areas[i].file);
    free(f);
  }
  /* every command of the route table has a row */
  const char *table = run_doc("rest-routes");
  int routes = 0;
  for (const char *p = strstr(table, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
    size_t k = strcspn(p + 4, "`");
    if (!area_of(areas, n, p + 4, k))
      fail_msg("docs/rest-api.md's Endpoints table has no row for the routed command %.*s", (int)k, p + 4);
    routes++;
  }
  assert_true(routes >= 60);
  /* every docs/rest-api-*.md file is a row's, and its curl examples are of its own commands */
  DIR *d = opendir("docs");
  assert_non_null(d);
  struct dirent *e;
  int files = 0, examples = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "rest-api", 8) || len < 4 || strcmp(e->d_name + len - 3, ".md")) continue;
    char path[512];
    snprintf(path, sizeof path, "docs/%s", e->d_name);
    int listed = !strcmp(e->d_name, "rest-api.md");
    for (int i = 0; i < n; i++) listed |= !strcmp(areas[i].file, path);
    if (!listed) fail_msg("%s is not in docs/rest-api.md's Endpoints table", path);
    files++;
    char *text = e2e_slurp(path);
    assert_non_null(text);
    for (const char *p = strstr(text, "curl "); p; p = strstr(p + 1, "curl ")) {
      const char *v = strstr(p, "/v4/"), *eol = strchr(p, '\n');
      if (!v || (eol && v > eol)) continue;
      v += 4;
      size_t k = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_/");
      const area_t *a = area_of(areas, n, v, k);
      if (!a || strcmp(a->file, path))
        fail_msg("%s: the curl example of %.*s belongs in its command's file (%s)", path, (int)k, v, a ? a->file : "none");
      examples++;
    }
    free(text);
  }
  closedir(d);
  assert_true(files >= 6);
  assert_true(examples >= 20);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_generated_sections_match), cmocka_unit_test(test_protocol_describes_every_op),
    cmocka_unit_test(test_protocol_lists_every_push), cmocka_unit_test(test_rest_docs_have_every_route),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
