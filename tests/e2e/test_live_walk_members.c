/* End-to-end: members who join, quit or close while a live room's fan-out
 * walks the room in slices (docs/decisions/groups-live.md §8, "Walks"). With one
 * member per loop turn a walk over a room of MEMBERS sessions takes MEMBERS
 * turns; meanwhile a joiner joins, some members quit and some close their
 * connection. The joiner gets nothing sent before its join (neither the
 * message being walked nor one waiting in the batch behind it), a quitter
 * gets nothing after its quit's reply, one that quits and joins again gets
 * nothing between the two and only what was sent after its new join, a closed connection is skipped (the
 * walk holds session ids, never pointers: run it against an ASan build with
 * IMCLOUD_BIN to check), and every member who stays gets every message once,
 * in order. Every delivery the server counts (live.deliveries) is one some
 * client read. Each test runs its own server. */
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

#define MEMBERS 90   /* the walk's length in loop turns (a trial app holds 100 accounts) */
#define QUITTERS 25  /* members 0 … 24 quit mid-walk */
#define CLOSERS 25   /* members 25 … 49 close mid-walk */
#define REJOINERS 5  /* members 50 … 54 quit and join again mid-walk; the rest stay */

static int rcode(json_t *r)
{
  assert_non_null(r);
  int c = (int)jint(r, "code");
  json_decref(r);
  return c;
}

static json_int_t health(const char *path)
{
  static char body[1 << 16];
  assert_int_equal(e2e_http(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body), 200);
  json_t *o = json_loads(body, 0, NULL);
  assert_non_null(o);
  json_int_t v = jint(o, path);
  json_decref(o);
  return v;
}

static void send_nowait(int fd, int id, const char *text)
{
  char frame[256];
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"group_send\",\"group_id\":\"room\",\"random\":%d,\"body\":"
           "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", id, id, text);
  assert_int_equal(e2e_ws_send_text(fd, frame), 0);
}

/* What one client read: the group messages' texts in order, and whether a
 * reply with id `mark` came, with how many messages came after it. */
typedef struct rx { char texts[8][8]; int n, after_mark; int marked; } rx_t;

static void rx_frame(rx_t *x, const char *buf, int mark)
{
  if (strstr(buf, "\"type\":\"group_msg\"")) {
    const char *t = strstr(buf, "\"Text\":\"");
    assert_non_null(t);
    assert_true(x->n < 8);
    snprintf(x->texts[x->n++], sizeof x->texts[0], "%.2s", t + 8);
    if (x->marked) x->after_mark++;
    return;
  }
  char want[32];
  snprintf(want, sizeof want, "\"id\":%d,", mark);
  if (mark && strstr(buf, want)) x->marked = 1;
}

/* Read fd until `want` group messages came (want < 0: until nothing more
 * comes for quiet_ms, or the server closed). */
static void rx_read(int fd, rx_t *x, int want, int mark, int quiet_ms)
{
  static char buf[1 << 16];
  int op = 0, cc = 0, n;
  while ((want < 0 || x->n < want) && (n = e2e_ws_recv(fd, &op, buf, sizeof buf - 1, want < 0 ? quiet_ms : 5000, &cc)) >= 0) {
    if (op == 8) break;
    buf[n] = 0;
    rx_frame(x, buf, mark);
  }
  if (want >= 0) assert_int_equal(x->n, want);
}

static void test_live_join_quit_close_mid_walk(void **st)
{
  (void)st;
  static const char *const args[] = { "--live-fanout-slice", "1", "--live-coalesce-ms", "0", NULL };
  assert_int_equal(e2e_start(&srv, "china", &app, key, args), 0);
  static wsc_t m[MEMBERS];
  wsc_t p, j;
  assert_int_equal(wsc_login(&p, srv.port, app, key, "wp", "Web"), 0);
  assert_int_equal(wsc_login(&j, srv.port, app, key, "wj", "Web"), 0);
  assert_int_equal(rcode(wsc_rpc(&p, "group_create", "\"type\":\"AVChatRoom\",\"name\":\"live\",\"group_id\":\"room\"")), 0);
  assert_int_equal(rcode(wsc_rpc(&p, "group_join", "\"group_id\":\"room\"")), 0);
  for (int i = 0; i < MEMBERS; i++) {
    char user[16];
    snprintf(user, sizeof user, "wm%d", i);
    assert_int_equal(wsc_login(&m[i], srv.port, app, key, user, "Web"), 0);
    assert_int_equal(rcode(wsc_rpc(&m[i], "group_join", "\"group_id\":\"room\"")), 0);
  }
  /* a1 begins a walk of MEMBERS turns; b1 waits in the batch behind it */
  send_nowait(p.fd, 1, "a1");
  send_nowait(p.fd, 2, "b1");
  for (int id = 1; id <= 2; id++) assert_int_equal(rcode(wsc_take(&p, match_id, &id, 5000)), 0);
  /* meanwhile: the joiner joins, quitters quit (pipelined), closers close */
  assert_int_equal(rcode(wsc_rpc(&j, "group_join", "\"group_id\":\"room\"")), 0);
  for (int i = 0; i < QUITTERS; i++) {
    char frame[128];
    snprintf(frame, sizeof frame, "{\"id\":7,\"op\":\"group_quit\",\"group_id\":\"room\"}");
    assert_int_equal(e2e_ws_send_text(m[i].fd, frame), 0);
  }
  for (int i = QUITTERS; i < QUITTERS + CLOSERS; i++) shutdown(m[i].fd, SHUT_WR); /* the server sees EOF and closes */
  for (int i = QUITTERS + CLOSERS; i < QUITTERS + CLOSERS + REJOINERS; i++) {
    static const char quit[] = "{\"id\":7,\"op\":\"group_quit\",\"group_id\":\"room\"}",
                      again[] = "{\"id\":8,\"op\":\"group_join\",\"group_id\":\"room\"}";
    assert_int_equal(e2e_ws_send_text(m[i].fd, quit), 0);
    assert_int_equal(e2e_ws_send_text(m[i].fd, again), 0);
  }
  static rx_t rx[MEMBERS];
  memset(rx, 0, sizeof rx);
  for (int i = 0; i < QUITTERS + CLOSERS + REJOINERS; i++) { /* up to each quit's (each rejoin's) reply */
    if (i == QUITTERS) i += CLOSERS;
    int mark = i < QUITTERS ? 7 : 8;
    static char buf[1 << 16];
    int op = 0, cc = 0, n;
    while (!rx[i].marked && (n = e2e_ws_recv(m[i].fd, &op, buf, sizeof buf - 1, 5000, &cc)) >= 0) {
      buf[n] = 0;
      if (strstr(buf, "\"id\":7,") || strstr(buf, "\"id\":8,")) assert_int_equal(rcode(json_loads(buf, 0, NULL)), 0);
      rx_frame(&rx[i], buf, mark);
    }
    assert_true(rx[i].marked);
  }
  /* all of it happened while a1's walk was under way (a precondition, not a
   * timing: the walk takes one turn per member) */
  json_int_t slices = health("live.slices");
  fprintf(stderr, "mid-walk: %lld of %d slices of a1's walk done\n", (long long)slices, MEMBERS + 1);
  assert_true(slices < MEMBERS + 1);
  send_nowait(p.fd, 3, "c1"); /* after the join and the quits */
  int id3 = 3;
  assert_int_equal(rcode(wsc_take(&p, match_id, &id3, 5000)), 0);

  /* stayers: a1, b1, c1 once each, in order */
  long got = 0;
  for (int i = QUITTERS + CLOSERS + REJOINERS; i < MEMBERS; i++) {
    rx_read(m[i].fd, &rx[i], 3, 0, 0);
    assert_string_equal(rx[i].texts[0], "a1");
    assert_string_equal(rx[i].texts[1], "b1");
    assert_string_equal(rx[i].texts[2], "c1");
    got += 3;
  }
  /* the joiner: c1 only */
  rx_t rj = { 0 };
  rx_read(j.fd, &rj, 1, 0, 0);
  assert_string_equal(rj.texts[0], "c1");
  rx_read(j.fd, &rj, -1, 0, 300);
  assert_int_equal(rj.n, 1);
  got += 1;
  /* quitters: nothing after the quit's reply (a1 before it, if the walk got there first) */
  int reached = 0;
  for (int i = 0; i < QUITTERS; i++) {
    rx_read(m[i].fd, &rx[i], -1, 7, 300);
    assert_int_equal(rx[i].after_mark, 0);
    assert_true(rx[i].n <= 1);
    if (rx[i].n) assert_string_equal(rx[i].texts[0], "a1");
    reached += rx[i].n;
    got += rx[i].n;
  }
  /* closers: whatever the server wrote before it saw the EOF, at most a1 */
  for (int i = QUITTERS; i < QUITTERS + CLOSERS; i++) {
    rx_read(m[i].fd, &rx[i], -1, 0, 2000);
    assert_true(rx[i].n <= 1);
    if (rx[i].n) assert_string_equal(rx[i].texts[0], "a1");
    got += rx[i].n;
  }
  /* rejoiners: a1 at most before they quit, then c1 alone after the new join */
  int rereached = 0;
  for (int i = QUITTERS + CLOSERS; i < QUITTERS + CLOSERS + REJOINERS; i++) {
    rx_read(m[i].fd, &rx[i], rx[i].n + 1, 8, 0);
    rx_read(m[i].fd, &rx[i], -1, 8, 300);
    assert_int_equal(rx[i].after_mark, 1);
    assert_string_equal(rx[i].texts[rx[i].n - 1], "c1");
    assert_true(rx[i].n <= 2);
    if (rx[i].n == 2) assert_string_equal(rx[i].texts[0], "a1");
    rereached += rx[i].n - 1;
    got += rx[i].n;
  }
  fprintf(stderr, "mid-walk: a1 reached %d of %d quitters and %d of %d rejoiners before their quit\n", reached, QUITTERS,
          rereached, REJOINERS);
  /* the publisher gets none of its own */
  assert_null(wsc_push(&p, "group_msg", 200));
  /* every delivery counted was read by someone */
  assert_int_equal(health("live.deliveries"), got);
  assert_int_equal(health("live.sessions"), MEMBERS - QUITTERS - CLOSERS + 2); /* rejoiners are in again */
  for (int i = 0; i < MEMBERS; i++) wsc_close(&m[i]);
  wsc_close(&p);
  wsc_close(&j);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_live_join_quit_close_mid_walk),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
