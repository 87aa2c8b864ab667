/* End-to-end: a stored C2C push that cannot be made or queued (out of
 * memory) leaves no device with a gap (src/im/c2c.c deliver_in;
 * docs/delivery.md "Exactly what was missed"; messaging-c2c-checks.md §66).
 * The failure is injected with IMCLOUD_TEST_FAIL (src/util/faultsim.h): the
 * frame of one message for all of a user's devices, or the queueing of one
 * message on one device in the middle of the user's sessions. Until
 * 2026-12-06 a failed encode returned at once: the first session's cursor
 * had moved past the event it never got and the sessions after it were
 * skipped, so every device got the next message's push after a gap; a
 * failed queueing was ignored. Now each device that missed it is closed
 * (1011) and its sync from its own cursor after it reconnects fills the
 * gap: every device ends with every message, in order, each once. Each test
 * starts its own server (the injection counts calls from the start). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

#define DEVS 3
#define MSGS 6

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const plats[DEVS] = { "Web", "Android", "PC" };

typedef struct dev {
  wsc_t ws;
  uint32_t cursor;              /* last useq applied */
  char texts[MSGS + 1][16];     /* the text of each useq */
  int cuts;                     /* closes with 1011 seen */
} device_t;

static device_t devs[DEVS];

static int64_t now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The property: a device's next event is its cursor + 1. */
static void apply(device_t *d, json_t *ev, const char *how)
{
  json_int_t useq = jint(ev, "useq");
  if (useq != (json_int_t)d->cursor + 1)
    fail_msg("%s: %s useq %lld after %u (a gap or a duplicate)", plats[d - devs], how, (long long)useq, d->cursor);
  assert_true(useq <= MSGS);
  d->cursor = (uint32_t)useq;
  snprintf(d->texts[useq], sizeof d->texts[useq], "%s",
           jstr(json_array_get(json_object_get(json_object_get(ev, "msg"), "body"), 0), "MsgContent.Text"));
}

/* Log in (again) and sync from the device's cursor until the session is live. */
static void connect_and_sync(device_t *d)
{
  assert_int_equal(wsc_login(&d->ws, srv.port, app, key, "bob", plats[d - devs]), 0);
  for (;;) {
    json_t *r = wsc_rpc(&d->ws, "sync", "\"cursor\":%u,\"limit\":2", d->cursor);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(r, "events"), i, e) apply(d, e, "sync");
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) return;
  }
}

/* Handle what d has (stashed pushes first, then frames on the socket, waiting at most wait_ms for one): a
 * push is applied, a close with 1011 reconnects and syncs. */
static void pump(device_t *d, int wait_ms)
{
  int cc = 0;
  json_t *o;
  while (d->ws.n && (o = wsc_next(&d->ws, 0, &cc))) {
    if (!strcmp(jstr(o, "type"), "msg")) apply(d, o, "push");
    json_decref(o);
  }
  if (!(o = wsc_next(&d->ws, wait_ms, &cc))) {
    if (!cc) return; /* nothing within wait_ms */
    /* closed: it must be the cut, and the device comes back */
    if (cc != 1011) fail_msg("%s: closed (code %d), not cut with 1011", plats[d - devs], cc);
    d->cuts++;
    wsc_close(&d->ws);
    connect_and_sync(d);
    return;
  }
  if (!strcmp(jstr(o, "type"), "msg")) apply(d, o, "push");
  json_decref(o);
}

/* A server with IMCLOUD_TEST_FAIL=fail; bob's devices live; alice sends MSGS messages over REST; every
 * device must end with all of them, in order. Returns the devices cut. */
static int run(const char *fail)
{
  setenv("IMCLOUD_TEST_FAIL", fail, 1); /* the server inherits it */
  int rc = e2e_start(&srv, "china", &app, key, NULL);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  import_users(srv.port, app, key, (const char *const[]){ "alice", "bob", NULL });
  memset(devs, 0, sizeof devs);
  for (int d = 0; d < DEVS; d++) connect_and_sync(&devs[d]);
  for (int i = 1; i <= MSGS; i++) {
    json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                   "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgRandom\":%d,\"MsgBody\":[{\"MsgType\":"
                   "\"TIMTextElem\",\"MsgContent\":{\"Text\":\"m%d\"}}]}", i, i);
    assert_non_null(r);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
    for (int d = 0; d < DEVS; d++) pump(&devs[d], 0);
  }
  int64_t deadline = now_ms() + 30000; /* generous: the box is shared */
  for (;;) {
    int all = 1;
    for (int d = 0; d < DEVS; d++) all &= devs[d].cursor == MSGS;
    if (all) break;
    if (now_ms() > deadline)
      fail_msg("devices at %u, %u, %u of %d after 30 s", devs[0].cursor, devs[1].cursor, devs[2].cursor, MSGS);
    for (int d = 0; d < DEVS; d++) pump(&devs[d], 50);
  }
  int cuts = 0;
  for (int d = 0; d < DEVS; d++) {
    for (int i = 1; i <= MSGS; i++) {
      char want[16];
      snprintf(want, sizeof want, "m%d", i);
      assert_string_equal(devs[d].texts[i], want);
    }
    cuts += devs[d].cuts;
    pump(&devs[d], 300); /* nothing more: no event twice */
    assert_int_equal(devs[d].cursor, MSGS);
    wsc_close(&devs[d].ws);
  }
  assert_int_equal(e2e_finish(&srv), 0);
  return cuts;
}

/* The frame of the third message cannot be made: each of the three devices misses it, is cut and syncs. */
static void test_encode_fails(void **st)
{
  (void)st;
  assert_int_equal(run("push_encode:3"), DEVS);
}

/* The second message cannot be queued on one device (the 5th queueing: the middle one of the three): that
 * device alone is cut; the others keep their connection and get every push. */
static void test_queue_fails_for_one_device(void **st)
{
  (void)st;
  assert_int_equal(run("push_send:5"), 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_encode_fails),
    cmocka_unit_test(test_queue_fails_for_one_device),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
