/* End-to-end: the edition gates of the route and op tables are enforced by
 * the dispatchers, row by row. The rows come from the binary itself
 * (`imcloud doc rest-routes`, `imcloud doc ws-ops`: the "edition gate"
 * column), so a row that gains a gate is tested without editing this file.
 * For every gated row: on a china free-edition app (none of the gated
 * features) an empty request is refused with the feature's code — before the
 * handler, which would otherwise complain about the missing fields; on an
 * international Developer app (every gated feature on) the same request
 * passes the gate and reaches the handler. A gate with no expected code
 * below fails the test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app, app_cn;
static char key[80], key_cn[80];

/* The refusal code of each gate key (plan.h's table of features). */
static const struct { const char *gate; int code; } gate_codes[] = {
  { "conversation_groups", 7013 },
  { "conversation_marks", 7013 },
  { "user_status", 72001 },
};

static int gate_code(const char *gate)
{
  for (size_t i = 0; i < sizeof gate_codes / sizeof gate_codes[0]; i++)
    if (!strcmp(gate_codes[i].gate, gate)) return gate_codes[i].code;
  fail_msg("gate %s has no expected code in test_gates.c", gate);
  return 0;
}

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, "singapore", &app, key, NULL)) return -1;
  e2e_make_app(&srv, "china", &app_cn, key_cn);
  for (int i = 0; i < 200; i++) { /* the server learns the second app from the change log */
    json_t *r = v4(srv.port, app_cn, key_cn, "im_open_login_svc/account_import", "{\"UserID\":\"g_user\"}");
    int ok = r && json_integer_value(json_object_get(r, "ErrorCode")) == 0;
    json_decref(r);
    if (ok) return 0;
    usleep(50 * 1000);
  }
  return -1;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* The gated rows of a generated table: name (first column, without
 * backquotes) and gate (column gate_col, 0-based), up to cap rows. */
typedef struct { char name[96]; char gate[48]; } row_t;

static size_t gated_rows(const char *doc, int gate_col, row_t *out, size_t cap)
{
  char cmd[700], line[1024];
  snprintf(cmd, sizeof cmd, "'%s' doc %s", e2e_bin(), doc);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = 0;
  int header_seen = 0;
  while (fgets(line, sizeof line, p)) {
    if (strncmp(line, "| ", 2)) continue;
    char *cols[8] = { 0 };
    int nc = 0;
    for (char *s = line + 1, *bar; nc < 8 && (bar = strchr(s, '|')); s = bar + 1) {
      *bar = 0;
      while (*s == ' ') s++;
      char *e = s + strlen(s);
      while (e > s && e[-1] == ' ') *--e = 0;
      cols[nc++] = s;
    }
    if (!header_seen) { /* the header names the column */
      assert_true(nc > gate_col);
      assert_string_equal(cols[gate_col], "edition gate");
      header_seen = 1;
      continue;
    }
    if (nc <= gate_col || !strcmp(cols[gate_col], "-") || cols[0][0] != '`') continue;
    assert_true(n < cap);
    snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)strlen(cols[0]) - 2, cols[0] + 1);
    snprintf(out[n].gate, sizeof out[n].gate, "%s", cols[gate_col]);
    n++;
  }
  assert_int_equal(pclose(p), 0);
  assert_true(header_seen);
  return n;
}

static void test_rest_gates_from_the_table(void **st)
{
  (void)st;
  row_t rows[64];
  size_t n = gated_rows("rest-routes", 4, rows, 64);
  assert_true(n >= 6); /* five conversation-group commands and mark_contact */
  for (size_t i = 0; i < n; i++) {
    int code = gate_code(rows[i].gate);
    json_t *r = v4(srv.port, app_cn, key_cn, rows[i].name, "{}");
    assert_non_null(r);
    if (jint(r, "ErrorCode") != code) fail_msg("%s on the china app: expected %d, got %s", rows[i].name, code, json_dumps(r, 0));
    json_decref(r);
    r = v4(srv.port, app, key, rows[i].name, "{}");
    assert_non_null(r);
    if (jint(r, "ErrorCode") == code) fail_msg("%s on the Developer app: refused by the gate: %s", rows[i].name, json_dumps(r, 0));
    json_decref(r);
  }
}

static void test_ws_gates_from_the_table(void **st)
{
  (void)st;
  row_t rows[64];
  size_t n = gated_rows("ws-ops", 3, rows, 64);
  assert_true(n >= 4); /* the four status_* ops */
  wsc_t cn, dev;
  json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"g_user\"}"));
  assert_int_equal(wsc_login(&cn, srv.port, app_cn, key_cn, "g_user", "Web"), 0);
  assert_int_equal(wsc_login(&dev, srv.port, app, key, "g_user", "Web"), 0);
  for (size_t i = 0; i < n; i++) {
    int code = gate_code(rows[i].gate);
    json_t *r = wsc_rpc(&cn, rows[i].name, "%s", "");
    assert_non_null(r);
    if (jint(r, "code") != code) fail_msg("%s on the china app: expected %d, got %s", rows[i].name, code, json_dumps(r, 0));
    json_decref(r);
    r = wsc_rpc(&dev, rows[i].name, "%s", "");
    assert_non_null(r);
    if (jint(r, "code") == code) fail_msg("%s on the Developer app: refused by the gate: %s", rows[i].name, json_dumps(r, 0));
    json_decref(r);
  }
  wsc_close(&cn);
  wsc_close(&dev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rest_gates_from_the_table),
    cmocka_unit_test(test_ws_gates_from_the_table),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
