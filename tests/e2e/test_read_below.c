/* End-to-end: a `read` at or below the point a conversation's list already
 * counts as read (messaging-c2c-checks3.md §80). A `conv_delete` forgets
 * the unread count: the list's read_seq is the later of the read position,
 * the clear and the delete. A read of a seq at or below that point moved
 * the stored read position up to it and sent every device a `read` event
 * whose seq was below the read_seq `conversations` showed — a device
 * applying it would count those messages unread again. It now changes
 * nothing and makes no event (answered 0), as any read that would move
 * back; a read above the point is read as before. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_check.h"
#include "e2e_fixture.h"

static void send_rest(const char *from, const char *to, const char *text)
{
  v4_ok(v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,"
           "\"MsgBody\":" TEXT("%s") "}", from, to, rand(), text));
}

static void rpc_ok(wsc_t *c, const char *op, const char *fields)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("%s: %s", op, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* The events a sync of c from cursor hands over (one page, complete). */
static json_t *events_after(wsc_t *c, long long cursor)
{
  json_t *r = wsc_rpc(c, "sync", "\"cursor\":%lld", cursor);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_t *evs = json_incref(json_object_get(r, "events"));
  json_decref(r);
  return evs;
}

/* "read_seq/unread" of c's conversation with peer in `conversations`, "-" when not listed. */
static void listed(wsc_t *c, const char *peer, char *out, size_t cap)
{
  json_t *r = wsc_rpc(c, "conversations", "%s", ""), *cv;
  assert_non_null(r);
  size_t i;
  snprintf(out, cap, "-");
  json_array_foreach(json_object_get(r, "conversations"), i, cv)
    if (!strcmp(jstr(cv, "peer"), peer)) snprintf(out, cap, "%lld/%lld", jint(cv, "read_seq"), jint(cv, "unread"));
  json_decref(r);
}

/* reads of seq at or below the point change nothing: no event, the list as it was */
static void reads_change_nothing(wsc_t *a, const char *peer, int upto, long long cursor)
{
  char fields[96];
  for (int seq = 1; seq <= upto; seq++) {
    snprintf(fields, sizeof fields, "\"peer\":\"%s\",\"seq\":%d", peer, seq);
    rpc_ok(a, "read", fields);
  }
  json_t *evs = events_after(a, cursor);
  if (json_array_size(evs)) fail_msg("a read at or below the list's read point made %s", json_dumps(evs, JSON_COMPACT));
  json_decref(evs);
}

static void test_read_below_the_delete_point(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "rb_a", "rb_b", "rb_c", NULL });
  for (int i = 0; i < 3; i++) send_rest("rb_b", "rb_a", "b");
  for (int i = 0; i < 2; i++) send_rest("rb_c", "rb_a", "c");
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "rb_a", "Web"), 0);
  json_t *evs = wsc_sync_live(&a);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), 5);
  json_decref(evs);
  /* cleared (cleared_seq 3) and deleted without a clear (hidden_seq 2): useq 6 and 7 */
  rpc_ok(&a, "conv_delete", "\"peer\":\"rb_b\",\"clear\":true");
  rpc_ok(&a, "conv_delete", "\"peer\":\"rb_c\"");
  reads_change_nothing(&a, "rb_b", 3, 7);
  reads_change_nothing(&a, "rb_c", 2, 7);
  /* a new message brings rb_b back: read_seq 3, one unread; a read up to 3 is still nothing */
  send_rest("rb_b", "rb_a", "b4");
  char out[64];
  listed(&a, "rb_b", out, sizeof out);
  assert_string_equal(out, "3/1");
  reads_change_nothing(&a, "rb_b", 3, 8);
  listed(&a, "rb_b", out, sizeof out);
  assert_string_equal(out, "3/1");
  /* above the point: read, with its event */
  rpc_ok(&a, "read", "\"peer\":\"rb_b\",\"seq\":4");
  evs = events_after(&a, 8);
  assert_int_equal(json_array_size(evs), 1);
  assert_string_equal(jstr(json_array_get(evs, 0), "type"), "read");
  assert_int_equal(jint(json_array_get(evs, 0), "seq"), 4);
  assert_int_equal(jint(json_array_get(evs, 0), "useq"), 9);
  json_decref(evs);
  listed(&a, "rb_b", out, sizeof out);
  assert_string_equal(out, "4/0");
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_read_below_the_delete_point),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
