/* End-to-end property test of delivery (docs/delivery.md): users with two
 * devices each send to random peers over pipelined connections while devices
 * drop and reconnect at random points; a reconnecting device syncs from the
 * cursor it kept, in small pages. Every event a device ever receives — sync
 * page item, live push, or the reply to its own send — must carry exactly
 * the next useq of its user (no gap, no duplicate, in order). At the end
 * every device of a user holds the same complete log, and it contains every
 * acknowledged message of that user. Seeded, so a failure replays. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

#define USERS 4
#define DEVS 2
#define STEPS 600
#define MAXLOG (1 << 16)
#define PAGE 3
#define MAX_SENDS 12000

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const plats[DEVS] = { "Web", "Android" };

typedef struct dev {
  int user, online;
  wsc_t ws;
  uint32_t cursor;              /* last useq applied */
  char *log[MAXLOG];            /* msg_key at each useq */
  int pending[512], npending;   /* ids of sends not yet answered */
} device_t;

static device_t devs[USERS][DEVS];
static char *acked[1 << 16];  /* "from to key" of every acknowledged message */
static int nacked;
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(uint32_t n)
{
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (uint32_t)(rng % n);
}

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, "china", &app, key, NULL)) return -1;
  const char *s = getenv("SYNC_SEED");
  if (s) rng = strtoull(s, NULL, 10) | 1;
  fprintf(stderr, "seed %llu (SYNC_SEED replays)\n", (unsigned long long)rng);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  for (int u = 0; u < USERS; u++)
    for (int d = 0; d < DEVS; d++) {
      if (devs[u][d].online) wsc_close(&devs[u][d].ws);
      for (int i = 0; i < MAXLOG; i++) free(devs[u][d].log[i]);
    }
  for (int i = 0; i < nacked; i++) free(acked[i]);
  return e2e_finish(&srv);
}

/* The one property: the next event of a device is its cursor + 1. */
static void apply(device_t *d, json_int_t useq, const char *mk, const char *how)
{
  if (useq != (json_int_t)d->cursor + 1)
    fail_msg("u%d/%s: %s useq %lld after %u (gap or duplicate)", d->user, plats[d - devs[d->user]], how,
             (long long)useq, d->cursor);
  assert_true(useq < MAXLOG);
  d->cursor = (uint32_t)useq;
  d->log[useq] = strdup(mk);
}

static void send_one(device_t *d, int to, int seq);
static int sent;

/* Senders race the pages: before each page another user's device fires a
 * burst at this user, so commits land between a page's read and its reply. */
static void race(device_t *d)
{
  device_t *o = &devs[(d->user + 1 + rnd(USERS - 1)) % USERS][rnd(DEVS)];
  if (!o->online || o->npending > 400 || sent > MAX_SENDS) return;
  for (int burst = 1 + (int)rnd(6); burst--;) send_one(o, d->user, ++sent);
}

static void connect_and_sync(device_t *d)
{
  char user[16];
  snprintf(user, sizeof user, "u%d", d->user);
  assert_int_equal(wsc_login(&d->ws, srv.port, app, key, user, plats[d - devs[d->user]]), 0);
  d->online = 1;
  d->npending = 0;
  for (;;) {
    race(d);
    json_t *r = wsc_rpc(&d->ws, "sync", "\"cursor\":%u,\"limit\":%d", d->cursor, PAGE);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(r, "events"), i, e) apply(d, jint(e, "useq"), jstr(e, "msg.msg_key"), "sync");
    assert_int_equal(jint(r, "cursor"), d->cursor);
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) return;
  }
}

static void drop(device_t *d)
{
  wsc_close(&d->ws);
  d->online = 0;
  d->npending = 0; /* unanswered sends: stored or not, the logs will tell */
}

/* Handle every frame waiting on d (wait up to timeout_ms for the first). */
static void pump(device_t *d, int timeout_ms)
{
  struct pollfd p = { d->ws.fd, POLLIN, 0 };
  while (d->online && (d->ws.n || poll(&p, 1, timeout_ms) > 0)) {
    timeout_ms = 0;
    if (!d->ws.n && wsc_read(&d->ws, 2000)) { drop(d); return; }
    json_t *o = d->ws.stash[0];
    memmove(&d->ws.stash[0], &d->ws.stash[1], (size_t)(--d->ws.n) * sizeof d->ws.stash[0]);
    const char *type = jstr(o, "type");
    if (!strcmp(type, "msg")) {
      apply(d, jint(o, "useq"), jstr(o, "msg.msg_key"), "push");
    } else if (json_is_integer(json_object_get(o, "id"))) {
      int id = (int)jint(o, "id"), k;
      for (k = 0; k < d->npending && d->pending[k] != id; k++) {}
      if (k == d->npending) fail_msg("unexpected reply %s", json_dumps(o, 0));
      d->pending[k] = d->pending[--d->npending];
      if (jint(o, "code") != 0) fail_msg("send failed: %s", json_dumps(o, 0));
      apply(d, jint(o, "useq"), jstr(o, "msg_key"), "send reply");
      char rec[96];
      snprintf(rec, sizeof rec, "%s", jstr(o, "msg_key"));
      assert_true(nacked < (int)(sizeof acked / sizeof acked[0]));
      acked[nacked++] = strdup(rec);
    } else if (strcmp(type, "kicked")) {
      fail_msg("unexpected frame %s", json_dumps(o, 0));
    }
    json_decref(o);
    p.revents = 0;
  }
}

static void send_one(device_t *d, int to, int seq)
{
  if (to < 0) { to = (int)rnd(USERS - 1); if (to >= d->user) to++; }
  char frame[256];
  int id = ++d->ws.next_id;
  snprintf(frame, sizeof frame,
           "{\"id\":%d,\"op\":\"send\",\"to\":\"u%d\",\"random\":%d,\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%d\"}}]}",
           id, to, seq, seq);
  assert_int_equal(e2e_ws_send_text(d->ws.fd, frame), 0);
  d->pending[d->npending++] = id;
}

static int has(const device_t *d, const char *mk)
{
  for (uint32_t i = 1; i <= d->cursor; i++) if (!strcmp(d->log[i], mk)) return 1;
  return 0;
}

static void test_random_reconnects_converge(void **st)
{
  (void)st;
  const char *users[USERS + 1] = { "u0", "u1", "u2", "u3", NULL };
  import_users(srv.port, app, key, users);
  for (int u = 0; u < USERS; u++)
    for (int d = 0; d < DEVS; d++) { devs[u][d].user = u; connect_and_sync(&devs[u][d]); }
  for (int step = 0; step < STEPS; step++) {
    device_t *d = &devs[rnd(USERS)][rnd(DEVS)];
    uint32_t r = rnd(100);
    if (!d->online) { if (r < 60) connect_and_sync(d); }
    else if (r < 8) drop(d);
    else if (d->npending < 500 && sent < MAX_SENDS) { int burst = 1 + (int)rnd(8); while (burst--) send_one(d, -1, ++sent); }
    for (int u = 0; u < USERS; u++) for (int k = 0; k < DEVS; k++) pump(&devs[u][k], 0);
  }
  /* everyone back, every answer in */
  for (int u = 0; u < USERS; u++)
    for (int k = 0; k < DEVS; k++) if (!devs[u][k].online) connect_and_sync(&devs[u][k]);
  /* drain: until no send is unanswered and nothing new arrived for a while
   * (generous: the box may be busy; the checks below do not depend on it) */
  uint64_t quiet_since = 0, total_before = 0;
  for (int round = 0; round < 600; round++) {
    int waiting = 0;
    uint64_t total_now = 0;
    for (int u = 0; u < USERS; u++)
      for (int k = 0; k < DEVS; k++) { pump(&devs[u][k], 10); waiting += devs[u][k].npending; total_now += devs[u][k].cursor; }
    if (waiting || total_now != total_before) { quiet_since = (uint64_t)round; total_before = total_now; continue; }
    if ((uint64_t)round - quiet_since >= 50) break; /* 50 quiet rounds: each waits 10 ms per device, so ~4 s */
  }
  for (int u = 0; u < USERS; u++) /* a device dropped while draining catches up like any other */
    for (int k = 0; k < DEVS; k++) if (!devs[u][k].online) connect_and_sync(&devs[u][k]);
  /* convergence: the same complete log on every device of a user */
  int total = 0;
  for (int u = 0; u < USERS; u++) {
    device_t *a = &devs[u][0], *b = &devs[u][1];
    assert_int_equal(a->cursor, b->cursor);
    for (uint32_t i = 1; i <= a->cursor; i++) assert_string_equal(a->log[i], b->log[i]);
    total += (int)a->cursor;
  }
  /* every acknowledged message sits in its sender's and its recipient's log */
  for (int i = 0; i < nacked; i++) {
    int in = 0;
    for (int u = 0; u < USERS; u++) in += has(&devs[u][0], acked[i]);
    if (in != 2) fail_msg("acknowledged %s is in %d logs, not 2", acked[i], in);
  }
  fprintf(stderr, "sent %d, acknowledged %d, events delivered per user-log total %d\n", sent, nacked, total);
  assert_true(nacked > STEPS / 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_random_reconnects_converge) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
