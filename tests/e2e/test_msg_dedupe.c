/* End-to-end: the C2C send dedupe and the caller's MsgSeq (issue 13;
 * docs/delivery.md "Resends", docs/rest-api-messages.md sendmsg). A resend (same
 * sender, peer and MsgRandom within the dedupe window) is the original
 * message; when both sends carry a REST MsgSeq they are the same message
 * only if the MsgSeqs are equal too. Backends that set MsgRandom to the
 * unix time and MsgSeq to a counter lost every second message of a second:
 * it was answered with the first one's MsgKey and never stored. A send
 * without MsgSeq (the server draws one) still matches by MsgRandom alone,
 * either way round. Checked live, after a restart (the window is loaded
 * from the table: the row records whether its MsgSeq was the caller's), for
 * batchsendmsg and for 100 messages of one MsgRandom (a hashed window).
 * An imported message is never a send's original (a send of its MsgRandom
 * is stored, also after a restart). Each test uses its own users. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_fixture.h"

/* sendmsg from → to with MsgRandom random, MsgSeq seq (< 0: none) and text;
 * the reply's MsgKey into out (the reply must be OK). */
static void send_key(const char *from, const char *to, int random, long seq, const char *text, char *out, size_t cap)
{
  char seqf[32] = "";
  if (seq >= 0) snprintf(seqf, sizeof seqf, "\"MsgSeq\":%ld,", seq);
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,%s\"MsgBody\":[{\"MsgType\":"
                 "\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                 from, to, random, seqf, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("sendmsg: %s", json_dumps(r, JSON_COMPACT));
  snprintf(out, cap, "%s", jstr(r, "MsgKey"));
  json_decref(r);
}

/* The texts of user's conversation with peer, oldest first, joined by ",". */
static void roam_texts(const char *user, const char *peer, char *out, size_t cap)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":20,\"MinTime\":0,\"MaxTime\":0}",
                 user, peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *l = json_object_get(r, "MsgList"), *rev = json_array();
  for (size_t i = json_array_size(l); i-- > 0;) json_array_append(rev, json_array_get(l, i)); /* newest first */
  msg_texts(rev, "MsgBody", out, cap);
  json_decref(rev);
  json_decref(r);
}

static void expect_texts(const char *user, const char *peer, const char *want)
{
  char got[256];
  roam_texts(user, peer, got, sizeof got);
  assert_string_equal(got, want);
}

/* The next message push on c: its MsgKey and text must be these. */
static void expect_push(wsc_t *c, const char *msg_key, const char *text)
{
  json_t *p = wsc_push(c, "msg", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "msg.msg_key"), msg_key);
  assert_string_equal(jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text"),
                      text);
  json_decref(p);
}

/* Two different messages of one second with the same MsgRandom and their own
 * MsgSeqs are both stored and delivered; resends of either are not. */
static void test_other_seq_is_another_message(void **st)
{
  (void)st;
  char k1[48], k2[48], k[48];
  import_users(srv.port, app, key, (const char *const[]){ "a_alice", "a_bob", NULL });
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "a_bob", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  send_key("a_alice", "a_bob", 7, 1, "first", k1, sizeof k1);
  send_key("a_alice", "a_bob", 7, 2, "second", k2, sizeof k2); /* k1 and never stored before the fix */
  assert_string_not_equal(k1, k2);
  assert_int_equal(strncmp(k2, "2_7_", 4), 0);
  expect_push(&b, k1, "first");
  expect_push(&b, k2, "second");
  /* resends: the same MsgSeq and MsgRandom → the original; without MsgSeq → the first of that MsgRandom */
  send_key("a_alice", "a_bob", 7, 2, "second", k, sizeof k);
  assert_string_equal(k, k2);
  send_key("a_alice", "a_bob", 7, 1, "first", k, sizeof k);
  assert_string_equal(k, k1);
  send_key("a_alice", "a_bob", 7, -1, "first", k, sizeof k);
  assert_string_equal(k, k1);
  assert_null(wsc_push(&b, "msg", 300)); /* resends deliver nothing */
  expect_texts("a_alice", "a_bob", "first,second");
  expect_texts("a_bob", "a_alice", "first,second");
  /* another sender's MsgRandom never matched and still does not (the MsgKey is the same string: it names no
   * sender) */
  send_key("a_bob", "a_alice", 7, 2, "bob's", k, sizeof k);
  expect_texts("a_alice", "a_bob", "first,second,bob's");
  wsc_close(&b);
}

/* A send without MsgSeq and one with it are the same message when their
 * MsgRandom agrees (the caller did not tell them apart), in either order. */
static void test_seq_and_no_seq_match(void **st)
{
  (void)st;
  char k0[48], k[48], k5[48];
  import_users(srv.port, app, key, (const char *const[]){ "m_alice", "m_bob", NULL });
  send_key("m_alice", "m_bob", 8, -1, "no seq", k0, sizeof k0);
  send_key("m_alice", "m_bob", 8, 5, "no seq", k, sizeof k);
  assert_string_equal(k, k0);
  send_key("m_alice", "m_bob", 9, 5, "seq 5", k5, sizeof k5);
  send_key("m_alice", "m_bob", 9, -1, "seq 5", k, sizeof k);
  assert_string_equal(k, k5);
  expect_texts("m_alice", "m_bob", "no seq,seq 5");
}

/* After a restart the windows are empty and loaded from the table: each row
 * must say whether its MsgSeq was the caller's. */
static void test_after_restart(void **st)
{
  (void)st;
  char k1[48], k2[48], k3[48], k0[48], k[48];
  import_users(srv.port, app, key, (const char *const[]){ "r_alice", "r_bob", NULL });
  send_key("r_alice", "r_bob", 7, 1, "first", k1, sizeof k1);
  send_key("r_alice", "r_bob", 7, 2, "second", k2, sizeof k2);
  send_key("r_alice", "r_bob", 8, -1, "drawn", k0, sizeof k0);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "r_bob", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  send_key("r_alice", "r_bob", 7, 3, "third", k3, sizeof k3); /* the first send after the restart loads the window */
  assert_string_not_equal(k3, k1);
  assert_string_not_equal(k3, k2);
  expect_push(&b, k3, "third");
  send_key("r_alice", "r_bob", 7, 2, "second", k, sizeof k);
  assert_string_equal(k, k2);
  send_key("r_alice", "r_bob", 7, -1, "first", k, sizeof k);
  assert_string_equal(k, k1);
  send_key("r_alice", "r_bob", 8, 4, "drawn", k, sizeof k); /* the row without the caller's MsgSeq matches any */
  assert_string_equal(k, k0);
  assert_null(wsc_push(&b, "msg", 300));
  expect_texts("r_alice", "r_bob", "first,second,drawn,third");
  wsc_close(&b);
}

/* One MsgRandom for every message, told apart by MsgSeq alone, past the
 * size at which a window is hashed (64): the window keys such sends by
 * MsgSeq too (messaging-c2c-storage.md §8) and must still answer the three
 * rules: another MsgSeq is another message, the same one is the original,
 * none is the first of that MsgRandom. A guard for the keying; the cost is
 * test_msg_window test_one_random_probes's. */
static void test_one_random_many_seqs(void **st)
{
  (void)st;
  enum { N = 100 };
  static char keys[N + 1][48];
  char k[48];
  import_users(srv.port, app, key, (const char *const[]){ "h_alice", "h_bob", NULL });
  for (int i = 1; i <= N; i++) send_key("h_alice", "h_bob", 11, i, "m", keys[i], sizeof keys[i]);
  for (int i = 2; i <= N; i++) assert_string_not_equal(keys[i], keys[i - 1]);
  send_key("h_alice", "h_bob", 11, 77, "m", k, sizeof k);
  assert_string_equal(k, keys[77]);
  send_key("h_alice", "h_bob", 11, -1, "m", k, sizeof k);
  assert_string_equal(k, keys[1]);
  send_key("h_bob", "h_alice", 11, 77, "other sender", k, sizeof k); /* stored: counted below */
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num",
                 "{\"To_Account\":\"h_alice\",\"Peer_Account\":[\"h_bob\"]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), 1);
  json_decref(r);
  r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num",
                 "{\"To_Account\":\"h_bob\",\"Peer_Account\":[\"h_alice\"]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), N); /* every MsgSeq stored once */
  json_decref(r);
}

/* batchsendmsg: the same rule, per target. */
static void test_batch(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "b_alice", "b_bob", "b_carol", NULL });
  const char *fmt = "{\"From_Account\":\"b_alice\",\"To_Account\":[\"b_bob\",\"b_carol\"],\"MsgRandom\":11,"
                    "\"MsgSeq\":%d,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}";
  char k1[48], k2[48];
  json_t *r = v4(srv.port, app, key, "openim/batchsendmsg", fmt, 1, "one");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  snprintf(k1, sizeof k1, "%s", jstr(r, "MsgKey"));
  json_decref(r);
  r = v4(srv.port, app, key, "openim/batchsendmsg", fmt, 2, "two");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  snprintf(k2, sizeof k2, "%s", jstr(r, "MsgKey"));
  json_decref(r);
  assert_string_not_equal(k1, k2);
  r = v4(srv.port, app, key, "openim/batchsendmsg", fmt, 2, "two"); /* a resend */
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_string_equal(jstr(r, "MsgKey"), k2);
  json_decref(r);
  expect_texts("b_alice", "b_bob", "one,two");
  expect_texts("b_alice", "b_carol", "one,two");
}

/* importmsg with From/To/MsgSeq/MsgRandom and a time (SyncFromOldSystem sync_mode); must be answered OK. */
static void import_one(const char *from, const char *to, int sync_mode, long seq, int random, long time_s,
                       const char *text)
{
  json_t *r = v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":%d,\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgSeq\":%ld,"
                 "\"MsgRandom\":%d,\"MsgTimeStamp\":%ld,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
                 "{\"Text\":\"%s\"}}]}",
                 sync_mode, from, to, seq, random, time_s, text);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
}

/* An imported message is no send's original (messaging-c2c-checks.md §66):
 * it carries the old system's MsgRandom, not a retry of a send. A send of
 * the import's MsgRandom, with another MsgSeq, with the import's own
 * MsgSeq or with none, is stored (the one with the import's MsgSeq was
 * answered with the import's MsgKey and never stored until 2026-12-06);
 * its resend is the send. */
static void test_against_import(void **st)
{
  (void)st;
  char k2[48], k1[48], k[48], imported[48];
  long now = (long)time(NULL);
  import_users(srv.port, app, key, (const char *const[]){ "i_alice", "i_bob", NULL });
  import_one("i_alice", "i_bob", 2, 1, 12, now - 1, "imported");
  snprintf(imported, sizeof imported, "1_12_%ld", now - 1);
  send_key("i_alice", "i_bob", 12, 2, "sent", k2, sizeof k2);
  assert_int_equal(strncmp(k2, "2_12_", 5), 0);
  send_key("i_alice", "i_bob", 12, 1, "sent with its MsgSeq", k1, sizeof k1); /* the import's MsgSeq: stored */
  assert_string_not_equal(k1, imported);
  assert_int_equal(strncmp(k1, "1_12_", 5), 0);
  send_key("i_alice", "i_bob", 12, 1, "sent with its MsgSeq", k, sizeof k); /* its resend: the send */
  assert_string_equal(k, k1);
  send_key("i_alice", "i_bob", 12, -1, "no MsgSeq", k, sizeof k); /* none: the first send of MsgRandom 12 */
  assert_string_equal(k, k2);
  expect_texts("i_alice", "i_bob", "imported,sent,sent with its MsgSeq");
}

/* A live send after an import with the same MsgRandom is stored, over
 * REST and the WebSocket, for a history import (SyncFromOldSystem 2) and a
 * realtime one (5); the same after a restart, when the window is loaded
 * from the table and must leave the imported rows out (it knows them by
 * their flag, STORE_MSG_IMPORTED); resends of the sends are still the
 * sends, and importmsg's own rule still stores a repeated import once. */
static void test_send_after_import_both_stored(void **st)
{
  (void)st;
  char ks[48], k[48];
  long now = (long)time(NULL);
  import_users(srv.port, app, key, (const char *const[]){ "j_alice", "j_bob", NULL });
  import_one("j_alice", "j_bob", 2, 1, 21, now - 3, "history");
  import_one("j_alice", "j_bob", 5, 2, 22, now - 2, "realtime");
  import_one("j_alice", "j_bob", 2, 3, 23, now - 1, "before the restart");
  char hist[48];
  snprintf(hist, sizeof hist, "1_21_%ld", now - 3);
  send_key("j_alice", "j_bob", 21, -1, "sent", ks, sizeof ks); /* was answered with the history import's MsgKey */
  assert_string_not_equal(ks, hist);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "j_alice", "Web"), 0);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"j_bob\",\"random\":22,\"body\":" TEXT("ws sent"));
  assert_int_equal(jint(r, "code"), 0);
  assert_false(json_is_true(json_object_get(r, "dup")));
  json_decref(r);
  wsc_close(&a);
  send_key("j_alice", "j_bob", 21, -1, "sent", k, sizeof k); /* a resend of the send */
  assert_string_equal(k, ks);
  import_one("j_alice", "j_bob", 2, 1, 21, now - 3, "history"); /* the import again: importmsg's rule, nothing */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  send_key("j_alice", "j_bob", 23, 3, "after the restart", k, sizeof k); /* loads the window: the import is not in */
  char imported[48];
  snprintf(imported, sizeof imported, "3_23_%ld", now - 1);
  assert_string_not_equal(k, imported);
  send_key("j_alice", "j_bob", 21, -1, "sent", k, sizeof k); /* the loaded window has the send */
  assert_string_equal(k, ks);
  expect_texts("j_alice", "j_bob", "history,realtime,before the restart,sent,ws sent,after the restart");
}

/* The WebSocket send's msg_seq counts as REST MsgSeq does: two messages of
 * one random with their own msg_seq are both stored; a resend of either, or
 * one without msg_seq, is the original. */
static void test_ws_msg_seq(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "w_alice", "w_bob", NULL });
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "w_alice", "Web"), 0);
  const struct { const char *seq, *text; int dup; } sends[] = {
    { ",\"msg_seq\":1", "one", 0 }, { ",\"msg_seq\":2", "two", 0 }, { ",\"msg_seq\":2", "two", 1 }, { "", "one", 1 },
  };
  char keys[4][48];
  for (int i = 0; i < 4; i++) {
    json_t *r = wsc_rpc(&a, "send", "\"to\":\"w_bob\",\"random\":11%s,\"body\":[{\"MsgType\":\"TIMTextElem\","
                                    "\"MsgContent\":{\"Text\":\"%s\"}}]", sends[i].seq, sends[i].text);
    assert_int_equal(jint(r, "code"), 0);
    assert_int_equal(json_is_true(json_object_get(r, "dup")), sends[i].dup);
    snprintf(keys[i], sizeof keys[i], "%s", jstr(r, "msg_key"));
    json_decref(r);
  }
  assert_string_not_equal(keys[0], keys[1]);
  assert_string_equal(keys[2], keys[1]);
  assert_string_equal(keys[3], keys[0]);
  wsc_close(&a);
  expect_texts("w_alice", "w_bob", "one,two");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_other_seq_is_another_message),
    cmocka_unit_test(test_seq_and_no_seq_match),
    cmocka_unit_test(test_after_restart),
    cmocka_unit_test(test_one_random_many_seqs),
    cmocka_unit_test(test_batch),
    cmocka_unit_test(test_against_import),
    cmocka_unit_test(test_send_after_import_both_stored),
    cmocka_unit_test(test_ws_msg_seq),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
