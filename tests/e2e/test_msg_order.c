/* End-to-end: `seq` is one order for both users (docs/delivery.md "Order").
 * Both users of a conversation send to each other at once from three
 * devices each (WebSocket `send`, pipelined) while the admin sends REST
 * `sendmsg` both ways (SyncOtherMachine 1, so every device gets every
 * message); half of the rounds queue behind the test's own hold on the
 * database write lock, so the sends of both users commit interleaved in one
 * transaction. Then every device of both users must agree on each message's
 * `seq`: in what it received live (its replies and pushes in `useq` order),
 * in a `sync` from cursor 0 and in `history`: one list, seq 1, 2, 3 … with
 * no gap, the same on all six devices and in every read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_race.h"

#define DEVS 3   /* per user */
#define ROUNDS 4
#define PER 5    /* WebSocket sends per device and round */
#define REST 2   /* REST sends per direction and round */
#define TOTAL (ROUNDS * (2 * DEVS * PER + 2 * REST))

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const users[] = { "oa", "ob", NULL };
static const char *const plats[DEVS] = { "Web", "Android", "PC" };

/* What one device knows: the text of the message at each seq. */
typedef struct view { char text[TOTAL + 1][24]; } view_t;

static wsc_t devs[2][DEVS];
static view_t by_seq; /* the first device's live view: the one the others must match */

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, "china", &app, key, NULL);
}

static int teardown(void **st)
{
  (void)st;
  for (int u = 0; u < 2; u++)
    for (int d = 0; d < DEVS; d++) wsc_close(&devs[u][d]);
  return e2e_finish(&srv);
}

static const char *msg_text(json_t *msg)
{
  return jstr(json_array_get(json_object_get(msg, "body"), 0), "MsgContent.Text");
}

/* Put text at seq in v; a seq outside 1..TOTAL, or one already holding another text, fails. */
static void view_put(view_t *v, const char *who, json_int_t seq, const char *text)
{
  if (seq < 1 || seq > TOTAL) fail_msg("%s: seq %lld outside 1..%d (%s)", who, (long long)seq, TOTAL, text);
  if (v->text[seq][0] && strcmp(v->text[seq], text))
    fail_msg("%s: seq %lld is both %s and %s", who, (long long)seq, v->text[seq], text);
  snprintf(v->text[seq], sizeof v->text[seq], "%s", text);
}

/* v holds every seq 1..TOTAL with the text by_seq has there. */
static void view_check(const view_t *v, const char *who)
{
  for (int s = 1; s <= TOTAL; s++)
    if (strcmp(v->text[s], by_seq.text[s]))
      fail_msg("%s: seq %d is \"%s\", the first device saw \"%s\"", who, s, v->text[s], by_seq.text[s]);
}

/* A device's live events (its send replies and its msg pushes) in useq order: seq rises with useq. */
typedef struct ev { json_int_t useq, seq; char text[24]; } ev_t;
static int by_useq(const void *a, const void *b)
{
  json_int_t x = ((const ev_t *)a)->useq, y = ((const ev_t *)b)->useq;
  return (x > y) - (x < y);
}

static void live_view(int u, int d, ev_t *evs, int n, view_t *v)
{
  char who[32];
  snprintf(who, sizeof who, "%s/%s live", users[u], plats[d]);
  qsort(evs, (size_t)n, sizeof *evs, by_useq);
  for (int i = 0; i < n; i++) {
    if (i && evs[i].useq != evs[i - 1].useq + 1) fail_msg("%s: useq %lld after %lld", who, (long long)evs[i].useq, (long long)evs[i - 1].useq);
    if (i && evs[i].seq <= evs[i - 1].seq)
      fail_msg("%s: seq %lld (%s) after seq %lld in useq order", who, (long long)evs[i].seq, evs[i].text, (long long)evs[i - 1].seq);
    view_put(v, who, evs[i].seq, evs[i].text);
  }
}

/* One round: every device pipelines PER sends, the admin REST sends both
 * ways; held: all of them wait behind the test's write lock first. */
static void round_send(int round, int held, int *ids)
{
  sqlite3 *db = held ? race_lock(&srv) : NULL;
  int rest[2 * REST];
  char frame[512], body[512];
  for (int k = 0; k < PER; k++)
    for (int d = 0; d < DEVS; d++)
      for (int u = 0; u < 2; u++) {
        int id = ++ids[u * DEVS + d];
        snprintf(frame, sizeof frame,
                 "{\"id\":%d,\"op\":\"send\",\"to\":\"%s\",\"random\":%d,\"body\":[{\"MsgType\":\"TIMTextElem\","
                 "\"MsgContent\":{\"Text\":\"w%d.%d.%d.%d\"}}]}",
                 id, users[1 - u], 1000 * round + 10 * k + d, u, d, round, k);
        assert_int_equal(e2e_ws_send_text(devs[u][d].fd, frame), 0);
        if (k < REST && d == 0) {
          snprintf(body, sizeof body,
                   "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,\"SyncOtherMachine\":1,"
                   "\"MsgBody\":" TEXT("r%d.%d.%d") "}",
                   users[u], users[1 - u], 500000 + 1000 * round + k, u, round, k);
          rest[u * REST + k] = race_send(&srv, app, key, "openim/sendmsg", body);
        }
      }
  if (held) {
    race_inflight(&srv, 2 * DEVS * PER + 2 * REST);
    race_unlock(db);
  }
  for (int i = 0; i < 2 * REST; i++) {
    json_t *r = race_read(rest[i]);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
  }
}

/* Every message of the conversation through `sync` from cursor 0 (small pages). */
static void sync_view(wsc_t *c, const char *who, view_t *v)
{
  uint32_t cursor = 0;
  json_int_t last = 0;
  int n = 0;
  for (;;) {
    json_t *r = wsc_rpc(c, "sync", "\"cursor\":%u,\"limit\":7", cursor);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(r, "events"), i, e) {
      if (strcmp(jstr(e, "type"), "msg")) continue;
      json_int_t seq = jint(e, "msg.seq");
      if (seq <= last) fail_msg("%s: sync gives seq %lld after %lld", who, (long long)seq, (long long)last);
      last = seq;
      view_put(v, who, seq, msg_text(json_object_get(e, "msg")));
      n++;
    }
    cursor = (uint32_t)jint(r, "cursor");
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) break;
  }
  assert_int_equal(n, TOTAL);
}

/* Every message through `history` pages, newest first: seq falls by one each step. */
static void history_view(wsc_t *c, const char *peer, const char *who, view_t *v)
{
  json_int_t before = 0, prev = TOTAL + 1;
  for (;;) {
    json_t *r = before ? wsc_rpc(c, "history", "\"peer\":\"%s\",\"limit\":30,\"before_seq\":%lld", peer, (long long)before)
                       : wsc_rpc(c, "history", "\"peer\":\"%s\",\"limit\":30", peer);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_t *m;
    size_t i;
    json_array_foreach(json_object_get(r, "msgs"), i, m) {
      json_int_t seq = jint(m, "seq");
      if (seq != prev - 1) fail_msg("%s: history gives seq %lld after %lld", who, (long long)seq, (long long)prev);
      prev = before = seq;
      view_put(v, who, seq, msg_text(m));
    }
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) break;
  }
  assert_int_equal(prev, 1);
}

static void test_same_seq_order_everywhere(void **st)
{
  (void)st;
  static ev_t evs[2][DEVS][TOTAL];
  static view_t live[2][DEVS], v;
  int nev[2][DEVS] = { { 0 } }, ids[2 * DEVS] = { 0 };
  import_users(srv.port, app, key, users);
  for (int u = 0; u < 2; u++)
    for (int d = 0; d < DEVS; d++) {
      assert_int_equal(wsc_login(&devs[u][d], srv.port, app, key, users[u], plats[d]), 0);
      json_decref(wsc_sync_live(&devs[u][d]));
    }
  for (int round = 0; round < ROUNDS; round++) round_send(round, round % 2 == 0, ids);
  /* every device gets TOTAL events: its own sends' replies and a push of every other message */
  for (int u = 0; u < 2; u++)
    for (int d = 0; d < DEVS; d++) {
      wsc_t *c = &devs[u][d];
      while (nev[u][d] < TOTAL) {
        if (!c->n && wsc_read(c, 10000)) fail_msg("%s/%s: %d of %d events", users[u], plats[d], nev[u][d], TOTAL);
        json_t *o = c->stash[0];
        ev_t *e = &evs[u][d][nev[u][d]];
        int reply = json_is_integer(json_object_get(o, "id"));
        if (reply) assert_int_equal(jint(o, "code"), 0);
        if (reply || !strcmp(jstr(o, "type"), "msg")) {
          json_t *m = reply ? NULL : json_object_get(o, "msg");
          e->useq = jint(o, "useq");
          e->seq = reply ? jint(o, "seq") : jint(m, "seq");
          snprintf(e->text, sizeof e->text, "%s", reply ? "" : msg_text(m));
          nev[u][d]++;
        }
        memmove(&c->stash[0], &c->stash[1], (size_t)(c->n - 1) * sizeof c->stash[0]);
        c->n--;
        json_decref(o);
      }
    }
  /* replies carry no text: take it from the seq the other devices of the user saw pushed */
  for (int u = 0; u < 2; u++)
    for (int d = 0; d < DEVS; d++)
      for (int i = 0; i < TOTAL; i++) {
        ev_t *e = &evs[u][d][i];
        if (e->text[0]) continue;
        ev_t *o = &evs[u][(d + 1) % DEVS][0];
        for (int j = 0; j < TOTAL; j++)
          if (o[j].seq == e->seq && o[j].text[0]) snprintf(e->text, sizeof e->text, "%s", o[j].text);
        assert_true(e->text[0]);
      }
  for (int u = 0; u < 2; u++)
    for (int d = 0; d < DEVS; d++) live_view(u, d, evs[u][d], TOTAL, &live[u][d]);
  by_seq = live[0][0];
  char who[48];
  for (int u = 0; u < 2; u++)
    for (int d = 0; d < DEVS; d++) {
      snprintf(who, sizeof who, "%s/%s live", users[u], plats[d]);
      view_check(&live[u][d], who);
      memset(&v, 0, sizeof v);
      snprintf(who, sizeof who, "%s/%s sync", users[u], plats[d]);
      sync_view(&devs[u][d], who, &v);
      view_check(&v, who);
      memset(&v, 0, sizeof v);
      snprintf(who, sizeof who, "%s/%s history", users[u], plats[d]);
      history_view(&devs[u][d], users[1 - u], who, &v);
      view_check(&v, who);
    }
  /* the two users' sends did interleave: neither user's messages are one block */
  int switches = 0;
  for (int s = 2; s <= TOTAL; s++) switches += by_seq.text[s][1] != by_seq.text[s - 1][1];
  assert_true(switches >= 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_same_seq_order_everywhere),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
