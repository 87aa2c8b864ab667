/* End-to-end: the client WebSocket protocol for one-to-one messaging
 * reviewed against docs/protocol.md and docs/delivery.md, on the real
 * server:
 *  - a message a user sends to itself is never unread: its conversation
 *    with itself counted every such message as unread (on every device, the
 *    sending one included) until a `read`, while group unread counts leave a
 *    user's own messages out;
 *  - the `send` reply's useq is the sending user's event: a device that is
 *    not live (it has not completed a sync since login) finds the events it
 *    missed before it by `sync`, not by taking the useq as its cursor;
 *  - a conversation deleted (or cleared) with messages that asked for a
 *    receipt: reading it after a new message brought it back sent the peer
 *    a receipt for the messages deleted unread;
 *  - a typing notice runs no read (it looked the sender's UserID up on the
 *    reader pool, one job per notice).
 * Each test uses its own users. */
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
static uint32_t app;
static char key[80];


static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--change-poll-ms", "60000", NULL }; /* test_typing_reads_nothing */
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

static void login_live(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

/* c's conversation with peer in its `conversations` reply (a new reference), NULL if absent. */
static json_t *conv_of(wsc_t *c, const char *peer)
{
  json_t *r = wsc_rpc(c, "conversations", "%s", "");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *e, *found = NULL;
  size_t i;
  json_array_foreach(json_object_get(r, "conversations"), i, e) {
    if (!strcmp(jstr(e, "peer"), peer)) found = json_incref(e);
  }
  json_decref(r);
  return found;
}

/* ---- a user's own messages to itself are not unread ------------------------------------ */
static void test_self_conversation_not_unread(void **st)
{
  (void)st;
  const char *const u[] = { "su_a", "su_b", NULL };
  users(u);
  wsc_t a, a2;
  login_live(&a, "su_a", "Web");
  login_live(&a2, "su_a", "PC");
  for (int i = 0; i < 3; i++) {
    json_t *r = wsc_rpc(&a, "send", "\"to\":\"su_a\",\"body\":" TEXT("note"));
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  /* the other device gets the notes (docs/protocol.md "send": to may be oneself) */
  for (int i = 0; i < 3; i++) {
    json_t *p = wsc_push(&a2, "msg", 3000);
    assert_non_null(p);
    json_decref(p);
  }
  /* neither device counts them unread: the user wrote them */
  json_t *cv = conv_of(&a, "su_a");
  assert_non_null(cv);
  assert_int_equal(jint(cv, "last_seq"), 3);
  assert_int_equal(jint(cv, "unread"), 0);
  json_decref(cv);
  cv = conv_of(&a2, "su_a");
  assert_non_null(cv);
  assert_int_equal(jint(cv, "unread"), 0);
  json_decref(cv);
  /* nor the REST count of the user's unread messages */
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"su_a\"}");
  assert_non_null(r);
  if (jint(r, "AllC2CUnreadMsgNum") != 0) fail_msg("REST unread: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
  /* a peer's message still counts */
  wsc_t b;
  login_live(&b, "su_b", "Web");
  r = wsc_rpc(&b, "send", "\"to\":\"su_a\",\"body\":" TEXT("hi"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  cv = conv_of(&a, "su_b");
  assert_non_null(cv);
  assert_int_equal(jint(cv, "unread"), 1);
  json_decref(cv);
  wsc_close(&a);
  wsc_close(&a2);
  wsc_close(&b);
}

/* ---- a quiet device's send reply is not its next cursor ------------------------------- */
static void test_quiet_sender_syncs_for_missed(void **st)
{
  (void)st;
  const char *const u[] = { "qs_a", "qs_b", NULL };
  users(u);
  wsc_t b, a;
  login_live(&b, "qs_b", "Web");
  for (int i = 0; i < 2; i++) { /* two events of qs_a while none of its devices is online */
    json_t *r = wsc_rpc(&b, "send", "\"to\":\"qs_a\",\"body\":" TEXT("missed"));
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  /* a device that logged in and has not synced sends: its reply names useq 3 */
  assert_int_equal(wsc_login(&a, srv.port, app, key, "qs_a", "Web"), 0);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"qs_b\",\"body\":" TEXT("mine"));
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "useq"), 3);
  json_decref(r);
  /* the events before it come by sync from the device's own cursor, its message with them */
  r = wsc_rpc(&a, "sync", "\"cursor\":0");
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "events")), 3);
  assert_int_equal(jint(json_array_get(json_object_get(r, "events"), 2), "useq"), 3);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- a delete forgets: no receipt for what it forgot ---------------------------------- */
/* b asked receipts for two messages; a deletes the conversation (clear or
 * not) without reading them, a message without a receipt request brings it
 * back, a reads it. protocol.md "conversations": the delete counts as the
 * read position and the peer gets no receipt for it. a's read used to start
 * from the stored read position (0): b got a receipt at seq 3, telling it
 * that a had read the two messages a deleted (or cleared) unread. */
static void delete_then_read(const char *ua, const char *ub, int clear)
{
  const char *const u[] = { ua, ub, NULL };
  users(u);
  wsc_t a, b;
  login_live(&a, ua, "Web");
  login_live(&b, ub, "Web");
  for (int i = 0; i < 2; i++) {
    json_t *r = wsc_rpc(&b, "send", "\"to\":\"%s\",\"need_receipt\":true,\"body\":" TEXT("ask"), ua);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  json_t *r = wsc_rpc(&a, "conv_delete", "\"peer\":\"%s\",\"clear\":%s", ub, clear ? "true" : "false");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = wsc_rpc(&b, "send", "\"to\":\"%s\",\"body\":" TEXT("plain"), ua);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_t *cv = conv_of(&a, ub);
  assert_non_null(cv);
  assert_int_equal(jint(cv, "read_seq"), 2);
  assert_int_equal(jint(cv, "unread"), 1);
  json_decref(cv);
  r = wsc_rpc(&a, "read", "\"peer\":\"%s\"", ub);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_t *rd = wsc_push(&a, "read", 3000); /* the read itself is an event of a's */
  assert_non_null(rd);
  assert_int_equal(jint(rd, "seq"), 3);
  json_decref(rd);
  json_t *rc = wsc_push(&b, "receipt", 1000);
  if (rc) fail_msg("a receipt for messages deleted unread: %s", json_dumps(rc, JSON_COMPACT));
  /* a message after the delete that asks for one still gets it */
  r = wsc_rpc(&b, "send", "\"to\":\"%s\",\"need_receipt\":true,\"body\":" TEXT("ask again"), ua);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = wsc_rpc(&a, "read", "\"peer\":\"%s\"", ub);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  rc = wsc_push(&b, "receipt", 3000);
  assert_non_null(rc);
  assert_int_equal(jint(rc, "seq"), 4);
  json_decref(rc);
  wsc_close(&a);
  wsc_close(&b);
}

static void test_no_receipt_for_deleted(void **st)
{
  (void)st;
  delete_then_read("dr_a", "dr_b", 0);
  delete_then_read("dc_a", "dc_b", 1);
}

/* ---- typing never touches storage ------------------------------------------------------- */
/* A typing notice read the sender's UserID back from the database on the
 * reader pool, one job per notice (clients send one per keystroke or so),
 * although the connection knows it: the notices competed with sync and
 * history pages for the readers, and with the readers' queue full a notice
 * was dropped while its reply said 0. The server here polls its change log
 * once a minute, so no other read runs meanwhile. */
static void test_typing_reads_nothing(void **st)
{
  (void)st;
  const char *const u[] = { "ty_a", "ty_b", NULL };
  users(u);
  wsc_t a, b;
  login_live(&a, "ty_a", "Web");
  login_live(&b, "ty_b", "Web");
  long long before = e2e_healthz_stat(srv.port, "reader", "jobs");
  enum { N = 20 };
  for (int i = 0; i < N; i++) {
    json_t *r = wsc_rpc(&a, "typing", "\"peer\":\"ty_b\"");
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  for (int i = 0; i < N; i++) {
    json_t *p = wsc_push(&b, "typing", 3000);
    assert_non_null(p);
    assert_string_equal(jstr(p, "peer"), "ty_a");
    json_decref(p);
  }
  long long after = e2e_healthz_stat(srv.port, "reader", "jobs");
  if (after != before) fail_msg("%lld reads for %d typing notices", after - before, N);
  wsc_close(&a);
  wsc_close(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_self_conversation_not_unread),
    cmocka_unit_test(test_quiet_sender_syncs_for_missed),
    cmocka_unit_test(test_no_receipt_for_deleted),
    cmocka_unit_test(test_typing_reads_nothing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
