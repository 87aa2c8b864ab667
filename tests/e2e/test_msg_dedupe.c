/* End-to-end: the send dedupe, the caller's MsgSeq (issue 13;
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
 * is stored, also after a restart). And the content (messaging-c2c-checks.md
 * §69): a resend is also the same MsgBody and CloudCustomData, so a backend
 * that gives every message one MsgRandom (0) loses none; for sendmsg,
 * batchsendmsg, the WebSocket send and the stored group sends (REST and
 * group_send), live and after a restart. A retry of the original send after
 * modify_c2c_msg / modify_group_msg is still the original (messaging-c2c-checks3.md
 * §78, groups-messages.md §18); a group's dedupe reads one sender's messages of one
 * Random and content, so many messages of one Random are all stored, and a clock
 * stepped back (a restart on an earlier test clock) loses no resend; an import_group_msg is no
 * send's original (groups-messages.md §20). Each test
 * uses its own users. */
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
#include "e2e_op.h"
#include "e2e_fixture.h"

/* sendmsg from → to with MsgRandom random, MsgSeq seq (< 0: none), text and extra members (more: "" or
 * members with a trailing comma, e.g. a CloudCustomData); the reply's MsgKey into out (the reply must be OK). */
static void send_key_more(const char *from, const char *to, int random, long seq, const char *text, const char *more,
                          char *out, size_t cap)
{
  char seqf[32] = "";
  if (seq >= 0) snprintf(seqf, sizeof seqf, "\"MsgSeq\":%ld,", seq);
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,%s%s\"MsgBody\":[{\"MsgType\":"
                 "\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}",
                 from, to, random, seqf, more, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("sendmsg: %s", json_dumps(r, JSON_COMPACT));
  snprintf(out, cap, "%s", jstr(r, "MsgKey"));
  json_decref(r);
}

static void send_key(const char *from, const char *to, int random, long seq, const char *text, char *out, size_t cap)
{
  send_key_more(from, to, random, seq, text, "", out, cap);
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
  send_key("i_alice", "i_bob", 12, -1, "sent", k, sizeof k); /* none: the first send of MsgRandom 12 and its text */
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

/* ---- the content (messaging-c2c-checks2.md §69) ------------------------------------------------------- */
#define CLOUD(c) "\"CloudCustomData\":\"" c "\","
#define PUSH(d) "\"OfflinePushInfo\":{\"PushFlag\":0,\"Desc\":\"" d "\"},"

/* A backend that gives every message one MsgRandom (0) and no MsgSeq: each
 * content is its own message, stored and pushed (until 2026-12-06 every one
 * after the first was answered with the first one's MsgKey for 5 minutes
 * and never stored); a resend of one content is its original, with another
 * OfflinePushInfo too (not content); the same MsgBody with another
 * CloudCustomData is another message. The same after a restart, when the
 * window is loaded from the rows and hashes their bodies, for contents sent
 * before it and after it. */
static void test_one_random_contents(void **st)
{
  (void)st;
  char k1[48], k2[48], k3[48], kc[48], kd[48], k4[48], k5[48], k[48];
  import_users(srv.port, app, key, (const char *const[]){ "c_alice", "c_bob", NULL });
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "c_bob", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  send_key("c_alice", "c_bob", 0, -1, "one", k1, sizeof k1);
  send_key("c_alice", "c_bob", 0, -1, "two", k2, sizeof k2); /* k1 and never stored before §69 */
  send_key("c_alice", "c_bob", 0, -1, "three", k3, sizeof k3);
  assert_string_not_equal(k1, k2);
  assert_string_not_equal(k2, k3);
  assert_string_not_equal(k1, k3);
  expect_push(&b, k1, "one");
  expect_push(&b, k2, "two");
  expect_push(&b, k3, "three");
  send_key("c_alice", "c_bob", 0, -1, "two", k, sizeof k); /* a resend */
  assert_string_equal(k, k2);
  send_key_more("c_alice", "c_bob", 0, -1, "one", PUSH("another push"), k, sizeof k); /* still a resend */
  assert_string_equal(k, k1);
  send_key_more("c_alice", "c_bob", 0, -1, "one", CLOUD("c"), kc, sizeof kc); /* another CloudCustomData */
  assert_string_not_equal(kc, k1);
  expect_push(&b, kc, "one");
  send_key_more("c_alice", "c_bob", 0, -1, "one", CLOUD("c"), k, sizeof k);
  assert_string_equal(k, kc);
  send_key_more("c_alice", "c_bob", 0, -1, "one", CLOUD("d"), kd, sizeof kd);
  assert_string_not_equal(kd, kc);
  expect_push(&b, kd, "one");
  assert_null(wsc_push(&b, "msg", 300)); /* resends deliver nothing */
  wsc_close(&b);
  expect_texts("c_alice", "c_bob", "one,two,three,one,one");
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "c_bob", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  send_key("c_alice", "c_bob", 0, -1, "two", k, sizeof k); /* loads the window: a resend */
  assert_string_equal(k, k2);
  send_key_more("c_alice", "c_bob", 0, -1, "one", CLOUD("c"), k, sizeof k);
  assert_string_equal(k, kc);
  send_key("c_alice", "c_bob", 0, -1, "one", k, sizeof k);
  assert_string_equal(k, k1);
  send_key("c_alice", "c_bob", 0, -1, "four", k4, sizeof k4); /* a new content after the restart */
  expect_push(&b, k4, "four");
  send_key_more("c_alice", "c_bob", 0, -1, "three", CLOUD("d"), k5, sizeof k5);
  expect_push(&b, k5, "three");
  send_key("c_alice", "c_bob", 0, -1, "four", k, sizeof k);
  assert_string_equal(k, k4);
  send_key("c_alice", "c_bob", 0, -1, "three", k, sizeof k);
  assert_string_equal(k, k3);
  assert_null(wsc_push(&b, "msg", 300));
  wsc_close(&b);
  expect_texts("c_alice", "c_bob", "one,two,three,one,one,four,three");
}

/* batchsendmsg of one MsgRandom without MsgSeq: each content is its own
 * message for every target, a resend is the original. */
static void test_batch_one_random_contents(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "e_alice", "e_bob", "e_carol", NULL });
  const char *fmt = "{\"From_Account\":\"e_alice\",\"To_Account\":[\"e_bob\",\"e_carol\"],\"MsgRandom\":0,"
                    "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}";
  const char *texts[] = { "one", "two", "one" };
  char keys[3][48];
  for (int i = 0; i < 3; i++) {
    json_t *r = v4(srv.port, app, key, "openim/batchsendmsg", fmt, texts[i]);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    snprintf(keys[i], sizeof keys[i], "%s", jstr(r, "MsgKey"));
    json_decref(r);
  }
  assert_string_not_equal(keys[0], keys[1]);
  assert_string_equal(keys[2], keys[0]);
  expect_texts("e_alice", "e_bob", "one,two");
  expect_texts("e_alice", "e_carol", "one,two");
}

/* The WebSocket send of one random without msg_seq: the reply's dup and msg_key for text and cloud (NULL:
 * none) must be want_dup and, for a duplicate, want_key; the msg_key into out. */
static void ws_send_content(wsc_t *c, const char *to, const char *text, const char *cloud, int want_dup,
                            const char *want_key, char *out, size_t cap)
{
  char cf[64] = "";
  if (cloud) snprintf(cf, sizeof cf, ",\"cloud_custom_data\":\"%s\"", cloud);
  json_t *r = wsc_rpc(c, "send", "\"to\":\"%s\",\"random\":5%s,\"body\":[{\"MsgType\":\"TIMTextElem\","
                                 "\"MsgContent\":{\"Text\":\"%s\"}}]", to, cf, text);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_is_true(json_object_get(r, "dup")), want_dup);
  if (want_key) assert_string_equal(jstr(r, "msg_key"), want_key);
  snprintf(out, cap, "%s", jstr(r, "msg_key"));
  json_decref(r);
}

/* The WebSocket send: one random, other contents are other messages, the
 * same content is the original; before and after a restart. */
static void test_ws_one_random_contents(void **st)
{
  (void)st;
  char ka[48], kb[48], kc[48], ke[48], k[48];
  import_users(srv.port, app, key, (const char *const[]){ "x_alice", "x_bob", NULL });
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "x_alice", "Web"), 0);
  ws_send_content(&a, "x_bob", "a", NULL, 0, NULL, ka, sizeof ka);
  ws_send_content(&a, "x_bob", "b", NULL, 0, NULL, kb, sizeof kb); /* a dup of "a" before §69 */
  assert_string_not_equal(ka, kb);
  ws_send_content(&a, "x_bob", "a", NULL, 1, ka, k, sizeof k);
  ws_send_content(&a, "x_bob", "a", "c", 0, NULL, kc, sizeof kc);
  assert_string_not_equal(kc, ka);
  ws_send_content(&a, "x_bob", "a", "c", 1, kc, k, sizeof k);
  wsc_close(&a);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(wsc_login(&a, srv.port, app, key, "x_alice", "Web"), 0);
  ws_send_content(&a, "x_bob", "b", NULL, 1, kb, k, sizeof k);
  ws_send_content(&a, "x_bob", "a", "c", 1, kc, k, sizeof k);
  ws_send_content(&a, "x_bob", "a", "d", 0, NULL, k, sizeof k);
  ws_send_content(&a, "x_bob", "e", NULL, 0, NULL, ke, sizeof ke);
  ws_send_content(&a, "x_bob", "e", NULL, 1, ke, k, sizeof k);
  wsc_close(&a);
  expect_texts("x_alice", "x_bob", "a,b,a,a,e");
}

/* send_group_msg to gid from with Random random, text and extra members (more, as send_key_more's); the
 * reply's MsgSeq. */
static json_int_t gsend(const char *gid, const char *from, int random, const char *text, const char *more)
{
  json_t *r = v4(srv.port, app, key, G("send_group_msg"),
                 "{\"GroupId\":\"%s\",\"From_Account\":\"%s\",\"Random\":%d,%s\"MsgBody\":[{\"MsgType\":"
                 "\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", gid, from, random, more, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("send_group_msg: %s", json_dumps(r, JSON_COMPACT));
  json_int_t seq = jint(r, "MsgSeq");
  json_decref(r);
  return seq;
}

/* group_send on c with random 5: the reply's seq, its dup must be want_dup. */
static json_int_t ws_gsend(wsc_t *c, const char *gid, const char *text, int want_dup)
{
  json_t *r = wsc_rpc(c, "group_send", "\"group_id\":\"%s\",\"random\":5,\"body\":[{\"MsgType\":\"TIMTextElem\","
                                       "\"MsgContent\":{\"Text\":\"%s\"}}]", gid, text);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_is_true(json_object_get(r, "dup")), want_dup);
  json_int_t seq = jint(r, "seq");
  json_decref(r);
  return seq;
}

/* The group's message texts, oldest first (group_msg_get_simple; notices left out), must be want. */
static void expect_group_texts(const char *gid, const char *want)
{
  char got[256];
  json_t *r = v4(srv.port, app, key, G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":20}", gid);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *l = json_object_get(r, "RspMsgList"), *rev = json_array();
  for (size_t i = json_array_size(l); i-- > 0;) json_array_append(rev, json_array_get(l, i)); /* newest first */
  msg_texts(rev, "MsgBody", got, sizeof got);
  json_decref(rev);
  json_decref(r);
  assert_string_equal(got, want);
}

/* The stored group send dedupe compares the content too, over REST and
 * the WebSocket: one Random for every message, each content stored with
 * its own seq; a resend of one content is its original (another
 * OfflinePushInfo too); another CloudCustomData is another message;
 * another sender's message of the same content is its own. The same after
 * a restart. */
static void test_group_one_random_contents(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "g_alice", "g_bob", NULL });
  json_t *r = v4(srv.port, app, key, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"dg\",\"GroupId\":\"dg\","
                 "\"Owner_Account\":\"g_alice\",\"MemberList\":[{\"Member_Account\":\"g_bob\"}]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  json_int_t s1 = gsend("dg", "g_alice", 0, "one", ""), s2 = gsend("dg", "g_alice", 0, "two", ""); /* s1 before §69 */
  json_int_t s3 = gsend("dg", "g_alice", 0, "three", "");
  assert_true(s1 < s2 && s2 < s3);
  assert_int_equal(gsend("dg", "g_alice", 0, "two", ""), s2);
  assert_int_equal(gsend("dg", "g_alice", 0, "one", PUSH("another push")), s1);
  json_int_t sc = gsend("dg", "g_alice", 0, "one", CLOUD("c"));
  assert_true(sc > s3);
  assert_int_equal(gsend("dg", "g_alice", 0, "one", CLOUD("c")), sc);
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, "g_bob", "Web"), 0);
  json_int_t w1 = ws_gsend(&b, "dg", "w1", 0), w2 = ws_gsend(&b, "dg", "w2", 0);
  assert_true(sc < w1 && w1 < w2);
  assert_int_equal(ws_gsend(&b, "dg", "w1", 1), w1);
  json_int_t bo = ws_gsend(&b, "dg", "one", 0); /* alice's content, bob's message */
  assert_true(bo > w2);
  wsc_close(&b);
  expect_group_texts("dg", "one,two,three,one,w1,w2,one");
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(gsend("dg", "g_alice", 0, "two", ""), s2);
  assert_int_equal(gsend("dg", "g_alice", 0, "one", CLOUD("c")), sc);
  json_int_t s4 = gsend("dg", "g_alice", 0, "four", "");
  assert_true(s4 > bo);
  assert_int_equal(gsend("dg", "g_alice", 0, "four", ""), s4);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "g_bob", "Web"), 0);
  assert_int_equal(ws_gsend(&b, "dg", "w2", 1), w2);
  assert_true(ws_gsend(&b, "dg", "w3", 0) > s4);
  wsc_close(&b);
  expect_group_texts("dg", "one,two,three,one,w1,w2,one,four,w3");
}


/* modify_c2c_msg of alice's message k to text. */
static void modify_c2c(const char *from, const char *to, const char *k, const char *text)
{
  json_t *r = v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgKey\":\"%s\",\"MsgBody\":[{\"MsgType\":"
                 "\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", from, to, k, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("modify_c2c_msg: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static void modify_group(const char *gid, json_int_t seq, const char *text)
{
  json_t *r = v4(srv.port, app, key, "openim/modify_group_msg",
                 "{\"GroupId\":\"%s\",\"MsgSeq\":%lld,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
                 "{\"Text\":\"%s\"}}]}", gid, (long long)seq, text);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("modify_group_msg: %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static void make_group(const char *gid, const char *owner, const char *member)
{
  json_t *r = v4(srv.port, app, key, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"%s\",\"GroupId\":\"%s\","
                 "\"Owner_Account\":\"%s\",\"MemberList\":[{\"Member_Account\":\"%s\"}]}", gid, gid, owner, member);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
}

/* A backend's retry of its original send, arriving after the message was
 * modified (messaging-c2c-checks3.md §78, groups-messages.md §18): the
 * original's MsgKey (REST sendmsg, the WebSocket send) or seq
 * (send_group_msg, group_send), nothing stored; the modified content sent
 * with that Random is a new message. The same after a restart (the window
 * loaded from the rows: the row keeps its original content's hash). */
static void test_resend_after_modify(void **st)
{
  (void)st;
  char k1[48], k2[48], kw[48], k[48];
  import_users(srv.port, app, key, (const char *const[]){ "q_alice", "q_bob", NULL });
  send_key("q_alice", "q_bob", 0, -1, "one", k1, sizeof k1); /* the conversation's first: no window */
  send_key("q_alice", "q_bob", 0, -1, "two", k2, sizeof k2);
  modify_c2c("q_alice", "q_bob", k1, "one changed");
  modify_c2c("q_alice", "q_bob", k2, "two changed");
  modify_c2c("q_alice", "q_bob", k2, "two again"); /* the first modification's hash stays */
  send_key("q_alice", "q_bob", 0, -1, "one", k, sizeof k); /* a new message before §78 */
  assert_string_equal(k, k1);
  send_key("q_alice", "q_bob", 0, -1, "two", k, sizeof k);
  assert_string_equal(k, k2);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "q_alice", "Web"), 0);
  ws_send_content(&a, "q_bob", "w", NULL, 0, NULL, kw, sizeof kw);
  modify_c2c("q_alice", "q_bob", kw, "w changed");
  ws_send_content(&a, "q_bob", "w", NULL, 1, kw, k, sizeof k);
  ws_send_content(&a, "q_bob", "w changed", NULL, 0, NULL, k, sizeof k); /* the new content: a new message */
  assert_string_not_equal(k, kw);
  wsc_close(&a);
  expect_texts("q_alice", "q_bob", "one changed,two again,w changed,w changed");
  import_users(srv.port, app, key, (const char *const[]){ "q_carol", NULL });
  make_group("dm", "q_alice", "q_carol");
  json_int_t g1 = gsend("dm", "q_alice", 0, "g1", ""), g2 = gsend("dm", "q_alice", 0, "g2", "");
  modify_group("dm", g1, "g1 changed");
  assert_int_equal(gsend("dm", "q_alice", 0, "g1", ""), g1); /* stored again before §78 */
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "q_carol", "Web"), 0);
  json_int_t gw = ws_gsend(&c, "dm", "gw", 0);
  modify_group("dm", gw, "gw changed");
  assert_int_equal(ws_gsend(&c, "dm", "gw", 1), gw);
  wsc_close(&c);
  expect_group_texts("dm", "g1 changed,g2,gw changed");
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  send_key("q_alice", "q_bob", 0, -1, "two", k, sizeof k);
  assert_string_equal(k, k2);
  send_key("q_alice", "q_bob", 0, -1, "one", k, sizeof k);
  assert_string_equal(k, k1);
  assert_int_equal(wsc_login(&a, srv.port, app, key, "q_alice", "Web"), 0);
  ws_send_content(&a, "q_bob", "w", NULL, 1, kw, k, sizeof k);
  wsc_close(&a);
  assert_int_equal(gsend("dm", "q_alice", 0, "g1", ""), g1);
  assert_int_equal(gsend("dm", "q_alice", 0, "g2", ""), g2);
  assert_int_equal(wsc_login(&c, srv.port, app, key, "q_carol", "Web"), 0);
  assert_int_equal(ws_gsend(&c, "dm", "gw", 1), gw);
  wsc_close(&c);
  expect_texts("q_alice", "q_bob", "one changed,two again,w changed,w changed");
  expect_group_texts("dm", "g1 changed,g2,gw changed");
}

/* Many messages of one Random from one sender to a group, each its own
 * content: every one stored with its own seq, and a resend of any of them,
 * the oldest too, is its original (the dedupe reads the sender's messages
 * of that Random and content only: groups-messages.md §18). */
static void test_group_one_random_many(void **st)
{
  (void)st;
  enum { N = 200 };
  char t[32];
  json_int_t seq[N];
  import_users(srv.port, app, key, (const char *const[]){ "n_alice", "n_bob", NULL });
  make_group("dn", "n_alice", "n_bob");
  for (int i = 0; i < N; i++) {
    snprintf(t, sizeof t, "m%d", i);
    seq[i] = gsend("dn", "n_alice", 0, t, "");
    if (i) assert_int_equal(seq[i], seq[i - 1] + 1);
  }
  static const int again[] = { 0, 1, N / 2, N - 1 };
  for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
    snprintf(t, sizeof t, "m%d", again[i]);
    assert_int_equal(gsend("dn", "n_alice", 0, t, ""), seq[again[i]]);
  }
  assert_int_equal(gsend("dn", "n_bob", 0, "m0", ""), seq[N - 1] + 1); /* another sender's own message */
}

/* An imported group message is no send's original (groups-messages.md §20), as an importmsg is none: a send
 * of its sender, Random and content within the window is stored (before §20 it was answered with the import's
 * MsgSeq and not stored), and that send's resend is the send, also after a restart. */
static void test_group_send_after_import(void **st)
{
  (void)st;
  struct timespec now;
  import_users(srv.port, app, key, (const char *const[]){ "k_alice", "k_bob", NULL });
  make_group("dk", "k_alice", "k_bob");
  assert_int_equal(clock_gettime(CLOCK_REALTIME, &now), 0); /* the server's clock: SendTime not after it */
  json_t *r = v4(srv.port, app, key, G("import_group_msg"),
                 "{\"GroupId\":\"dk\",\"MsgList\":[{\"From_Account\":\"k_alice\",\"SendTime\":%lld,\"Random\":7,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"old\"}}]}]}",
                 (long long)now.tv_sec);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t imported = jint(json_array_get(json_object_get(r, "ImportMsgResult"), 0), "MsgSeq");
  json_decref(r);
  assert_true(imported > 0);
  json_int_t sent = gsend("dk", "k_alice", 7, "old", "");
  assert_true(sent > imported);
  assert_int_equal(gsend("dk", "k_alice", 7, "old", ""), sent);
  expect_group_texts("dk", "old,old");
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(gsend("dk", "k_alice", 7, "old", ""), sent);
  expect_group_texts("dk", "old,old");
}

/* A group resend after the server's clock was stepped back by more than
 * the window (groups-messages.md §18): "a" is sent at 3 November; the
 * server restarts on a clock of 2 November, the sender sends "b" with the
 * same Random and, 400 s later, retries "a": its time (3 November) is
 * within the window of the clock's now, and the retry is the original.
 * Before, the walk over the group's messages of that Random stopped at
 * "b" (older than the window) and stored "a" again. */
static void test_group_resend_clock_back(void **st)
{
  (void)st;
  char auth[160];
  static const char *const nov2[] = { "--test-clock", "--test-clock-start", "2026-11-02", NULL };
  import_users(srv.port, app, key, (const char *const[]){ "c_alice", "c_bob", NULL });
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(op_token_auth(&srv, auth, sizeof auth), 0); /* before the start that reads it */
  assert_int_equal(e2e_server_start(&srv, nov2), 0);
  make_group("dc", "c_alice", "c_bob"); /* created 2 November: a message's time is never before it */
  op_clock_advance(srv.port, auth, 86400);
  json_int_t sa = gsend("dc", "c_alice", 0, "a", "");
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, nov2), 0); /* the clock a day back */
  json_int_t sb = gsend("dc", "c_alice", 0, "b", "");
  assert_true(sb > sa);
  op_clock_advance(srv.port, auth, 400);
  assert_int_equal(gsend("dc", "c_alice", 0, "a", ""), sa); /* stored again before §18 */
  expect_group_texts("dc", "a,b");
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0); /* the wall clock again */
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
    cmocka_unit_test(test_one_random_contents),
    cmocka_unit_test(test_batch_one_random_contents),
    cmocka_unit_test(test_ws_one_random_contents),
    cmocka_unit_test(test_group_one_random_contents),
    cmocka_unit_test(test_resend_after_modify),
    cmocka_unit_test(test_group_one_random_many),
    cmocka_unit_test(test_group_resend_clock_back),
    cmocka_unit_test(test_group_send_after_import),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
