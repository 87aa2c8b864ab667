/* End-to-end: an adversarial audit of the one-to-one WebSocket ops over raw
 * sockets (docs/protocol.md), on the real server:
 *  - requests of every kind pipelined in one TCP write while the same
 *    connection's sync is mid-page (a second sync among them): the pages
 *    and the pushes hand every event over exactly once, in useq order;
 *  - sync cursors and limits at and past the integer bounds; ids of every
 *    JSON type and size echoed (or refused) alike on every op;
 *  - duplicate keys (a send's fast path too), a \u0000, an integer past 64
 *    bits: malformed (60003, id null), nothing run;
 *  - recall of a message of another conversation or of the peer's;
 *  - typing to oneself (the other devices only) and to an unknown user;
 *  - a conversation delete racing the peer's send: the list agrees with the
 *    order of the two events;
 *  - one account on three devices, one of them not reading: it is cut
 *    (1008), the others get every message in order, and it gets everything
 *    by sync after reconnecting.
 * Each test uses its own users. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-max-queued-bytes", "65536", "--rest-rate-limit", "100000", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

static int rcode(json_t *r)
{
  assert_non_null(r);
  int c = (int)jint(r, "code");
  json_decref(r);
  return c;
}

static void login_live(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

static void send_text(wsc_t *c, const char *to, const char *text)
{
  assert_int_equal(rcode(wsc_rpc(c, "send", "\"to\":\"%s\",\"body\":" "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]", to, text)), 0);
}

/* Send raw frame text and return the next frame (a reply: frames of c are read in order). */
static json_t *raw_rpc(wsc_t *c, const char *text)
{
  assert_int_equal(e2e_ws_send_text(c->fd, text), 0);
  int cc = 0;
  for (;;) {
    json_t *o = wsc_next(c, 5000, &cc);
    if (!o) fail_msg("no reply to %s (close %d)", text, cc);
    if (json_object_get(o, "type")) { json_decref(o); continue; } /* a push */
    return o;
  }
}

/* ---- pipelined ops while the connection's sync is mid-page ------------------------------- */
/* useqs seen by a device: seen[u] counts how often event u was handed over (page or push) */
#define MAXU 512
static int seen[MAXU];

static void count_events(json_t *evs)
{
  json_t *e;
  size_t i;
  json_array_foreach(evs, i, e) {
    json_int_t u = jint(e, "useq");
    assert_true(u > 0 && u < MAXU);
    seen[u]++;
  }
}

/* pa and pb are the two users' names; bytewise: the pipeline written one byte per write */
static void pipeline_mid_sync(const char *pa, const char *pb, int bytewise)
{
  const char *const u[] = { pa, pb, NULL };
  users(u);
  wsc_t a, b;
  assert_int_equal(wsc_login(&b, srv.port, app, key, pb, "Web"), 0);
  for (int i = 0; i < 6; i++) send_text(&b, pa, "before");
  assert_int_equal(wsc_login(&a, srv.port, app, key, pa, "Web"), 0);
  memset(seen, 0, sizeof seen);
  /* one TCP write: a page of 2, then every kind of op, a second sync among them */
  static const char *const fmts[] = {
    "{\"id\":1,\"op\":\"sync\",\"cursor\":0,\"limit\":2}",
    "{\"id\":2,\"op\":\"send\",\"to\":\"%s\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"x\"}}]}",
    "{\"id\":3,\"op\":\"sync\",\"cursor\":0}",
    "{\"id\":4,\"op\":\"read\",\"peer\":\"%s\"}",
    "{\"id\":5,\"op\":\"pin\",\"peer\":\"%s\",\"pinned\":true}",
    "{\"id\":6,\"op\":\"typing\",\"peer\":\"%s\"}",
    "{\"id\":7,\"op\":\"history\",\"peer\":\"%s\",\"limit\":3}",
    "{\"id\":8,\"op\":\"conversations\"}",
    "{\"id\":9,\"op\":\"heartbeat\"}",
  };
  enum { NF = sizeof fmts / sizeof fmts[0] };
  static unsigned char buf[8192];
  char fr[512];
  size_t len = 0;
  for (int i = 0; i < NF; i++) {
    /* split, the first page may be read before the second sync arrives: a heartbeat instead */
    if (i == 2 && bytewise) snprintf(fr, sizeof fr, "{\"id\":3,\"op\":\"heartbeat\"}");
    else snprintf(fr, sizeof fr, fmts[i], pb);
    len += e2e_ws_frame_put(buf + len, 1, 1, fr, strlen(fr), 1);
  }
  if (!bytewise) assert_int_equal(e2e_send(a.fd, buf, len), 0);
  for (size_t i = 0; bytewise && i < len; i++) assert_int_equal(e2e_send(a.fd, buf + i, 1), 0);
  send_text(&b, pa, "during"); /* the peer's message while the pages are read */
  uint32_t cursor = 0;
  int complete = 0, busy = 0;
  for (int id = 1; id <= NF; id++) {
    json_t *r = wsc_take(&a, match_id, &id, 10000);
    assert_non_null(r);
    if (id == 1) {
      assert_int_equal(jint(r, "code"), 0);
      count_events(json_object_get(r, "events"));
      cursor = (uint32_t)jint(r, "cursor");
      complete = json_is_true(json_object_get(r, "complete"));
    } else if (id == 3) {
      busy = jint(r, "code") == 70500 || (bytewise && !jint(r, "code"));
      if (!busy) fail_msg("a second sync while a page is read: %s", json_dumps(r, JSON_COMPACT));
    } else {
      if (jint(r, "code")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
    }
    json_decref(r);
  }
  assert_false(complete);
  while (!complete) {
    json_t *r = wsc_rpc(&a, "sync", "\"cursor\":%u,\"limit\":2", cursor);
    assert_int_equal(jint(r, "code"), 0);
    count_events(json_object_get(r, "events"));
    cursor = (uint32_t)jint(r, "cursor");
    complete = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
  }
  /* live now: more events come as pushes */
  send_text(&b, pa, "after");
  assert_int_equal(rcode(wsc_rpc(&a, "pin", "\"peer\":\"%s\",\"pinned\":false", pb)), 0);
  json_t *o;
  int cc;
  uint32_t last = cursor;
  while ((o = wsc_next(&a, 1500, &cc))) {
    if (json_object_get(o, "useq") && json_object_get(o, "type")) {
      json_int_t uq = jint(o, "useq");
      assert_true(uq > 0 && uq < MAXU);
      seen[uq]++;
      if ((uint32_t)uq > last) last = (uint32_t)uq;
    }
    json_decref(o);
  }
  /* the server's view: the last useq is what a sync from 0 ends at */
  json_t *all = wsc_sync_live(&b); /* b's own: not needed; keep b reading */
  json_decref(all);
  wsc_t a2;
  assert_int_equal(wsc_login(&a2, srv.port, app, key, pa, "Android"), 0);
  json_t *evs = wsc_sync_live(&a2);
  assert_non_null(evs);
  size_t n = json_array_size(evs);
  json_decref(evs);
  for (uint32_t k = 1; k <= n; k++)
    if (seen[k] != 1) fail_msg("event %u handed over %d times (of %zu, cursor %u)", k, seen[k], n, last);
  wsc_close(&a);
  wsc_close(&a2);
  wsc_close(&b);
}

static void test_pipeline_mid_sync(void **st)
{
  (void)st;
  pipeline_mid_sync("pa", "pb", 0);
}

/* the same pipeline split at every byte */
static void test_pipeline_mid_sync_bytewise(void **st)
{
  (void)st;
  pipeline_mid_sync("qa", "qb", 1);
}

/* ---- sync cursors and limits at the bounds ------------------------------------------------ */
static void test_sync_bounds(void **st)
{
  (void)st;
  static const char *const u[] = { "sa", "sb", NULL };
  users(u);
  wsc_t a, b;
  login_live(&a, "sa", "Web");
  assert_int_equal(wsc_login(&b, srv.port, app, key, "sb", "Web"), 0);
  send_text(&b, "sa", "one");
  json_t *p = wsc_push(&a, "msg", 5000);
  assert_non_null(p);
  json_int_t last = jint(p, "useq");
  json_decref(p);
  static const char *const bad[] = { "-1", "4294967296", "9007199254740993", "9223372036854775807", "-9223372036854775808",
                                      "1.0", "1e2", "\"1\"", "true", "[]", "{}" };
  char f[256];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(f, sizeof f, "{\"id\":\"c%zu\",\"op\":\"sync\",\"cursor\":%s}", i, bad[i]);
    json_t *r = raw_rpc(&a, f);
    if (jint(r, "code") != 70402) fail_msg("%s: %s", f, json_dumps(r, JSON_COMPACT));
    json_decref(r);
    snprintf(f, sizeof f, "{\"id\":\"l%zu\",\"op\":\"sync\",\"cursor\":%lld,\"limit\":%s}", i, (long long)last, bad[i]);
    r = raw_rpc(&a, f);
    if (jint(r, "code") != 70402) fail_msg("%s: %s", f, json_dumps(r, JSON_COMPACT));
    json_decref(r);
  }
  /* beyond the last event: 70402, and the live session stays live */
  json_t *r = wsc_rpc(&a, "sync", "\"cursor\":%lld", (long long)last + 1);
  assert_int_equal(rcode(r), 70402);
  r = wsc_rpc(&a, "sync", "\"cursor\":4294967295");
  assert_int_equal(rcode(r), 70402);
  send_text(&b, "sa", "two");
  p = wsc_push(&a, "msg", 5000);
  assert_non_null(p);
  assert_int_equal(jint(p, "useq"), last + 1);
  json_decref(p);
  /* at the end: complete and empty */
  r = wsc_rpc(&a, "sync", "\"cursor\":%lld,\"limit\":4294967295", (long long)last + 1);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "events")), 0);
  assert_true(json_is_true(json_object_get(r, "complete")));
  assert_int_equal(jint(r, "cursor"), last + 1);
  json_decref(r);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- ids of every JSON type and size ---------------------------------------------------------- */
static void test_id_echo(void **st)
{
  (void)st;
  static const char *const u[] = { "ia", "ib", NULL };
  users(u);
  wsc_t a;
  login_live(&a, "ia", "Web");
  static const char *const ok[] = { "0", "-0", "-1", "9007199254740993", "9223372036854775807", "-9223372036854775808",
                                     "\"\"", "\"\\u00e9\\ud83d\\ude00\\\"\\\\\"", "\"12\"" };
  static const char *const ops[] = {
    "\"op\":\"heartbeat\"",
    "\"op\":\"sync\",\"cursor\":0",
    "\"op\":\"send\",\"to\":\"ib\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"id\"}}]",
    "\"op\":\"send\",\"to\":\"nobody-here\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"id\"}}]",
    "\"op\":\"history\",\"peer\":\"ib\"",
    "\"op\":\"read\",\"peer\":\"ib\",\"seq\":0",
    "\"op\":\"typing\",\"peer\":\"ib\"",
    "\"op\":\"conversations\",\"limit\":1",
    "\"op\":\"nope\"",
  };
  char f[512];
  for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
      snprintf(f, sizeof f, "{\"id\":%s,%s}", ok[i], ops[o]);
      json_t *want = json_loads(ok[i], JSON_DECODE_ANY, NULL);
      assert_non_null(want);
      json_t *r = raw_rpc(&a, f);
      if (!json_equal(json_object_get(r, "id"), want)) fail_msg("%s answered %s", f, json_dumps(r, JSON_COMPACT));
      json_decref(want);
      json_decref(r);
    }
    static const char *const refused[] = { "1.5", "1e3", "true", "[1]", "{\"a\":1}", "9223372036854775808",
                                           "-9223372036854775809" };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
      snprintf(f, sizeof f, "{\"id\":%s,%s}", refused[i], ops[o]);
      json_t *r = raw_rpc(&a, f);
      if (jint(r, "code") != 60003 || !json_is_null(json_object_get(r, "id")))
        fail_msg("%s answered %s", f, json_dumps(r, JSON_COMPACT));
      json_decref(r);
    }
  }
  wsc_close(&a);
}

/* ---- duplicate keys --------------------------------------------------------------------------- */
static void test_duplicate_keys(void **st)
{
  (void)st;
  static const char *const u[] = { "da", "db", "dc", NULL };
  users(u);
  wsc_t a, c;
  login_live(&a, "da", "Web");
  login_live(&c, "dc", "Web");
  static const char *const frames[] = {
    "{\"id\":1,\"op\":\"send\",\"to\":\"db\",\"to\":\"dc\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"d\"}}]}",
    "{\"id\":2,\"op\":\"send\",\"id\":3,\"to\":\"dc\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"d\"}}]}",
    "{\"id\":4,\"op\":\"send\",\"to\":\"dc\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"d\",\"Text\":\"e\"}}]}",
    "{\"id\":5,\"op\":\"send\",\"to\":\"dc\",\"x\":1,\"x\":2,\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"d\"}}]}",
    "{\"id\":6,\"op\":\"sync\",\"op\":\"send\",\"to\":\"dc\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"d\"}}]}",
    "{\"id\":7,\"op\":\"read\",\"peer\":\"dc\",\"peer\":\"db\"}",
    /* malformed as well (protocol.md "Close codes", the paragraph after): a \u0000, an integer past 64 bits */
    "{\"id\":8,\"op\":\"send\",\"to\":\"dc\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"a\\u0000b\"}}]}",
    "{\"id\":9,\"op\":\"send\",\"to\":\"dc\",\"random\":9223372036854775808,\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"d\"}}]}",
    "{\"id\":10,\"op\":\"read\",\"peer\":\"dc\",\"seq\":-9223372036854775809}",
  };
  for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
    json_t *r = raw_rpc(&a, frames[i]);
    if (jint(r, "code") != 60003 || !json_is_null(json_object_get(r, "id"))) fail_msg("%s answered %s", frames[i], json_dumps(r, JSON_COMPACT));
    json_decref(r);
  }
  json_t *p = wsc_push(&c, "msg", 500);
  if (p) fail_msg("pushed %s", json_dumps(p, JSON_COMPACT));
  wsc_close(&a);
  wsc_close(&c);
}

/* ---- recall / read outside one's conversations --------------------------------------------------- */
static void test_recall_foreign(void **st)
{
  (void)st;
  static const char *const u[] = { "ra", "rb", "rc", NULL };
  users(u);
  wsc_t a, b, c;
  login_live(&a, "ra", "Web");
  login_live(&b, "rb", "Web");
  login_live(&c, "rc", "Web");
  json_t *r = wsc_rpc(&b, "send", "\"to\":\"rc\",\"body\":" TEXT("bc"));
  assert_int_equal(jint(r, "code"), 0);
  char k[64];
  snprintf(k, sizeof k, "%s", jstr(r, "msg_key"));
  json_decref(r);
  /* a names b with the key of b's message to c: no such message in a's conversation with b */
  assert_int_equal(rcode(wsc_rpc(&a, "recall", "\"peer\":\"rb\",\"msg_key\":\"%s\"", k)), 20022);
  assert_int_equal(rcode(wsc_rpc(&a, "recall", "\"peer\":\"rc\",\"msg_key\":\"%s\"", k)), 20022);
  /* c, the recipient: not the sender */
  assert_int_equal(rcode(wsc_rpc(&c, "recall", "\"peer\":\"rb\",\"msg_key\":\"%s\"", k)), 20001);
  /* malformed keys */
  static const char *const badk[] = { "", "1_2", "1_2_3_4", "a_b_c", "4294967296_1_1", "-1_1_1", "1_1_99999999999999999999" };
  for (size_t i = 0; i < sizeof badk / sizeof badk[0]; i++)
    assert_int_equal(rcode(wsc_rpc(&b, "recall", "\"peer\":\"rc\",\"msg_key\":\"%s\"", badk[i])), 90054);
  /* c's read of its conversation with a (empty) changes nothing for b */
  assert_int_equal(rcode(wsc_rpc(&a, "read", "\"peer\":\"rb\",\"seq\":1")), 0);
  json_t *pu = wsc_push(&b, "receipt", 300);
  assert_null(pu);
  wsc_close(&a);
  wsc_close(&b);
  wsc_close(&c);
}

/* ---- typing ---------------------------------------------------------------------------------------- */
static void test_typing_self_unknown(void **st)
{
  (void)st;
  static const char *const u[] = { "ta", NULL };
  users(u);
  wsc_t w, i;
  login_live(&w, "ta", "Web");
  login_live(&i, "ta", "iPhone");
  assert_int_equal(rcode(wsc_rpc(&w, "typing", "\"peer\":\"ta\"")), 0);
  json_t *p = wsc_push(&i, "typing", 5000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "peer"), "ta");
  assert_true(jint(p, "peer_no") > 0);
  json_decref(p);
  assert_null(wsc_push(&w, "typing", 300));
  assert_int_equal(rcode(wsc_rpc(&w, "typing", "\"peer\":\"no-such-user\"")), 90012);
  assert_int_equal(rcode(wsc_rpc(&w, "typing", "\"peer\":\"\"")), 90003);
  assert_int_equal(rcode(wsc_rpc(&w, "typing", "\"peer\":7")), 90003);
  assert_int_equal(rcode(wsc_rpc(&w, "typing", "%s", "")), 90003);
  wsc_close(&w);
  wsc_close(&i);
}

/* ---- a conversation delete racing the peer's send ---------------------------------------------------- */
static void test_delete_races_send(void **st)
{
  (void)st;
  static const char *const u[] = { "xa", "xb", NULL };
  users(u);
  wsc_t a, b;
  login_live(&a, "xa", "Web");
  assert_int_equal(wsc_login(&b, srv.port, app, key, "xb", "Web"), 0);
  send_text(&b, "xa", "first");
  json_decref(wsc_push(&a, "msg", 5000));
  char f1[256], f2[256];
  for (int round = 0; round < 20; round++) {
    snprintf(f1, sizeof f1, "{\"id\":%d,\"op\":\"conv_delete\",\"peer\":\"xb\",\"clear\":%s}", 1000 + round, round % 2 ? "true" : "false");
    snprintf(f2, sizeof f2, "{\"id\":%d,\"op\":\"send\",\"to\":\"xa\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"r%d\"}}]}", 2000 + round, round);
    assert_int_equal(e2e_ws_send_text(a.fd, f1), 0);
    assert_int_equal(e2e_ws_send_text(b.fd, f2), 0);
    int id1 = 1000 + round, id2 = 2000 + round;
    assert_int_equal(rcode(wsc_take(&a, match_id, &id1, 10000)), 0);
    json_t *sr = wsc_take(&b, match_id, &id2, 10000);
    assert_int_equal(jint(sr, "code"), 0);
    json_int_t seq = jint(sr, "seq");
    json_decref(sr);
    /* a's events of the two, in useq order */
    json_t *m = wsc_push(&a, "msg", 5000), *d = wsc_push(&a, "conv_delete", 5000);
    assert_non_null(m);
    assert_non_null(d);
    int msg_last = jint(m, "useq") > jint(d, "useq");
    json_decref(m);
    json_decref(d);
    json_t *r = wsc_rpc(&a, "conversations", "%s", "");
    assert_int_equal(jint(r, "code"), 0);
    json_t *e, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(r, "conversations"), i, e) if (!strcmp(jstr(e, "peer"), "xb")) found = e;
    if (msg_last != (found != NULL)) fail_msg("round %d: message last %d, listed %s", round, msg_last, json_dumps(r, JSON_COMPACT));
    if (found) assert_int_equal(jint(found, "last_seq"), seq);
    if (found) assert_int_equal(jint(found, "unread"), 1);
    json_decref(r);
    json_t *h = wsc_rpc(&a, "history", "\"peer\":\"xb\"");
    assert_int_equal(jint(h, "code"), 0);
    json_t *msgs = json_object_get(h, "msgs");
    if (round % 2) { /* cleared: the message shows only when it came after the clear */
      assert_int_equal(json_array_size(msgs), msg_last ? 1 : 0);
    }
    json_decref(h);
  }
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- one account on three devices, one not reading ------------------------------------------------ */
static int login_small(const char *user, const char *platform)
{
  int fd = e2e_connect_small(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_ws_upgrade_send(fd, "/ws"), 0);
  assert_int_equal(e2e_ws_upgrade_finish(fd), 0);
  char f[2048], buf[4096];
  e2e_ws_login_frame(app, key, user, platform, "dev-small", f, sizeof f);
  assert_int_equal(e2e_ws_send_text(fd, f), 0);
  assert_true(e2e_ws_recv_text(fd, buf, sizeof buf, 5000) > 0);
  assert_non_null(strstr(buf, "\"code\":0"));
  assert_int_equal(e2e_ws_send_text(fd, "{\"id\":2,\"op\":\"sync\",\"cursor\":0}"), 0);
  assert_true(e2e_ws_recv_text(fd, buf, sizeof buf, 5000) > 0);
  assert_non_null(strstr(buf, "\"complete\":true"));
  return fd;
}

/* d's pushes of messages, counted in useq order from *next on; returns once useq upto came (0: when none
 * comes within wait_ms), failing if it did not come within wait_ms of the frame before */
static void drain(wsc_t *d, uint32_t *next, uint32_t upto, int wait_ms)
{
  json_t *o;
  int cc = 0;
  while ((!upto || *next <= upto) && (o = wsc_next(d, wait_ms, &cc))) {
    if (json_object_get(o, "useq")) {
      if ((uint32_t)jint(o, "useq") != *next) fail_msg("expected useq %u, got %s", *next, json_dumps(o, JSON_COMPACT));
      (*next)++;
    }
    json_decref(o);
  }
  if (cc) fail_msg("a reading device was closed: %d", cc);
  if (upto && *next <= upto) fail_msg("useq %u did not come within %d ms", *next, wait_ms);
}

static void test_many_devices_one_slow(void **st)
{
  (void)st;
  static const char *const u[] = { "ma", "mb", NULL };
  users(u);
  static char big[8001];
  memset(big, 'q', sizeof big - 1);
  wsc_t i, an, s;
  login_live(&i, "ma", "iPhone");
  login_live(&an, "ma", "Android");
  int slow = login_small("ma", "Web");
  assert_int_equal(wsc_login(&s, srv.port, app, key, "mb", "Web"), 0);
  static char frame[sizeof big + 256];
  enum { N = 900, B = 4 }; /* 32 KB a batch: within a reading device's socket buffers */
  uint32_t ni = 1, na = 1;
  for (int k = 0; k < N; k += B) {
    int first = s.next_id + 1;
    for (int m = k; m < k + B; m++) {
      snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"send\",\"to\":\"ma\",\"random\":%d,\"body\":"
               "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%d %s\"}}]}", ++s.next_id, m + 1, m, big);
      assert_int_equal(e2e_ws_send_text(s.fd, frame), 0);
    }
    for (int id = first; id <= s.next_id; id++) assert_int_equal(rcode(wsc_take(&s, match_id, &id, 60000)), 0);
    drain(&i, &ni, (uint32_t)(k + B), 10000); /* every push of the batch, no idle wait */
    drain(&an, &na, (uint32_t)(k + B), 10000);
  }
  drain(&i, &ni, 0, 300); /* and nothing more */
  drain(&an, &na, 0, 300);
  assert_int_equal(ni, N + 1);
  assert_int_equal(na, N + 1);
  /* the slow one was cut: what its buffers held, then the end */
  static char buf[1 << 16];
  int op = 0, cc = 0, frames = 0;
  while (e2e_ws_recv(slow, &op, buf, sizeof buf, 10000, &cc) >= 0 && op != 8) frames++;
  fprintf(stderr, "frames the slow device still read: %d (close %d)\n", frames, op == 8 ? cc : -1);
  assert_true(frames < N);
  close(slow);
  /* it gets everything by sync */
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "ma", "Web"), 0);
  json_t *evs = wsc_sync_live(&w);
  assert_non_null(evs);
  assert_int_equal(json_array_size(evs), N);
  for (int k = 0; k < N; k++) assert_int_equal(jint(json_array_get(evs, (size_t)k), "useq"), k + 1);
  json_decref(evs);
  /* the others are still live */
  send_text(&s, "ma", "later");
  drain(&i, &ni, N + 1, 10000);
  assert_int_equal(ni, N + 2);
  wsc_close(&w);
  wsc_close(&i);
  wsc_close(&an);
  wsc_close(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pipeline_mid_sync),
    cmocka_unit_test(test_pipeline_mid_sync_bytewise),
    cmocka_unit_test(test_sync_bounds),
    cmocka_unit_test(test_id_echo),
    cmocka_unit_test(test_duplicate_keys),
    cmocka_unit_test(test_recall_foreign),
    cmocka_unit_test(test_typing_self_unknown),
    cmocka_unit_test(test_delete_races_send),
    cmocka_unit_test(test_many_devices_one_slow),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
