/* End-to-end, property style: random sends (some targeted), recalls, modifies and deletions of a sender's
 * messages (REST delete_group_msg_by_sender, §19) of a group, while four devices connect, sync part of the
 * way (pages of random sizes) and disconnect at random points. A device applies what it gets in the order it
 * arrives — the live group_msg / group_recall / group_modify / group_msgs_deleted pushes, and group_sync
 * pages from its two cursors (after_seq, after_change; docs/decisions/groups-messages.md §17) — and moves its
 * cursors only by the pages. At the end each device syncs until complete, and its view
 * (for every message: held, recalled, modified, its text, its `chg`) must be the one group_history gives its
 * user: no recall, change or deletion missed by a device that was offline, none of a targeted message it may
 * not see.
 * Reproducible: a fixed seed (xorshift.h). */
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
#include "e2e_call.h"
#include "e2e_check.h"
#include "xorshift.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key); /* customer 1; Ultimate: targeted messages */
  if (e2e_app_ultimate(&srv, 1, app)) return -1;
  return e2e_server_start(&srv, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

#define STEPS 220
#define MAXSEQ 512
#define GID "prop"

typedef struct view {
  uint8_t held[MAXSEQ], recalled[MAXSEQ], modified[MAXSEQ];
  json_int_t chg[MAXSEQ];
  char text[MAXSEQ][16];
} view_t;

typedef struct dev {
  const char *user, *device;
  wsc_t c;
  int on;
  json_int_t have, chg; /* the cursors */
  view_t v;
} pdev_t;

static pdev_t devs[] = { { .user = "q_b", .device = "q_b-1" }, { .user = "q_b", .device = "q_b-2" },
                         { .user = "q_c", .device = "q_c-1" }, { .user = "q_d", .device = "q_d-1" } };
#define NDEV (sizeof devs / sizeof devs[0])

static void view_msg(view_t *v, json_t *m)
{
  json_int_t seq = jint(m, "seq");
  assert_true(seq > 0 && seq < MAXSEQ);
  v->chg[seq] = json_object_get(m, "chg") ? jint(m, "chg") : 0;
  v->held[seq] = !json_is_true(json_object_get(m, "deleted")); /* a deletion (a group_sync change) drops it */
  v->recalled[seq] = json_is_true(json_object_get(m, "recalled"));
  v->modified[seq] = json_is_true(json_object_get(m, "modified"));
  snprintf(v->text[seq], sizeof v->text[seq], "%s", jstr(json_array_get(json_object_get(m, "body"), 0), "MsgContent.Text"));
}

/* A frame of the device's connection, in arrival order. */
static void apply_frame(pdev_t *d, json_t *f)
{
  const char *type = jstr(f, "type");
  if (strcmp(jstr(f, "group_id"), GID)) return;
  if (!strcmp(type, "group_msg") || !strcmp(type, "group_modify")) {
    if (jint(f, "msg.seq")) view_msg(&d->v, json_object_get(f, "msg"));
  } else if (!strcmp(type, "group_recall")) {
    json_int_t seq = jint(f, "seq");
    assert_true(seq > 0 && seq < MAXSEQ);
    d->v.recalled[seq] = 1;
    d->v.chg[seq] = jint(f, "change");
  } else if (!strcmp(type, "group_msgs_deleted")) {
    json_t *e;
    size_t i, n = json_array_size(json_object_get(f, "seqs"));
    json_array_foreach(json_object_get(f, "seqs"), i, e) {
      json_int_t seq = json_integer_value(e);
      assert_true(seq > 0 && seq < MAXSEQ);
      d->v.held[seq] = 0;
      d->v.chg[seq] = jint(f, "change") - (json_int_t)(n - 1 - i); /* consecutive up to change */
    }
  }
}

static void apply_stash(pdev_t *d)
{
  int cc;
  json_t *f;
  while (d->c.n && (f = wsc_next(&d->c, 0, &cc))) { apply_frame(d, f); json_decref(f); }
}

/* What the connection has received so far. */
static void drain(pdev_t *d)
{
  int cc;
  json_t *f;
  apply_stash(d);
  while ((f = wsc_next(&d->c, 0, &cc))) { apply_frame(d, f); json_decref(f); }
  assert_int_equal(cc, 0);
}

/* One group_sync page (limit 0: the default): the pushes before its reply, then the page. 1 when complete. */
static int sync_once(pdev_t *d, int limit)
{
  char lim[32] = "";
  if (limit) snprintf(lim, sizeof lim, ",\"limit\":%d", limit);
  json_t *r = wsc_rpc(&d->c, "group_sync", "\"group_id\":\"" GID "\",\"after_seq\":%lld,\"after_change\":%lld%s",
                      (long long)d->have, (long long)d->chg, lim), *e;
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  apply_stash(d); /* every frame stashed came before the reply */
  size_t i;
  /* the page lists every message of (have, seq] the user may read: one the device got live there and the page
   * leaves out was deleted since (§19) */
  for (json_int_t s = d->have + 1; s <= jint(r, "seq") && s < MAXSEQ; s++) d->v.held[s] = 0;
  json_array_foreach(json_object_get(r, "msgs"), i, e) view_msg(&d->v, e);
  json_array_foreach(json_object_get(r, "changes"), i, e) {
    assert_true(jint(e, "msg.seq") <= d->have);
    view_msg(&d->v, json_object_get(e, "msg"));
  }
  assert_true(jint(r, "seq") >= d->have && jint(r, "change") >= d->chg);
  assert_null(json_object_get(r, "reset"));
  d->have = jint(r, "seq");
  d->chg = jint(r, "change");
  int done = json_is_true(json_object_get(r, "complete"));
  json_decref(r);
  return done;
}

static void sync_complete(pdev_t *d)
{
  for (int pages = 0; !sync_once(d, 0); pages++) assert_true(pages < 1000);
}

static void connect_dev(pdev_t *d)
{
  memset(&d->c, 0, sizeof d->c);
  d->c.next_id = 100;
  d->c.fd = e2e_ws_login_dev(srv.port, app, key, d->user, "Web", d->device, NULL, 0);
  assert_true(d->c.fd >= 0);
  d->on = 1;
}

/* The device's view against its user's group_history: the same messages, each the same. */
static void check_view(pdev_t *d)
{
  view_t h;
  memset(&h, 0, sizeof h);
  json_int_t before = 0;
  for (;;) {
    char b[40] = "";
    if (before) snprintf(b, sizeof b, ",\"before_seq\":%lld", (long long)before);
    json_t *r = wsc_rpc(&d->c, "group_history", "\"group_id\":\"" GID "\",\"limit\":100%s", b), *e;
    assert_int_equal(jint(r, "code"), 0);
    apply_stash(d);
    size_t i;
    json_array_foreach(json_object_get(r, "msgs"), i, e) { view_msg(&h, e); before = jint(e, "seq"); }
    int more = json_is_true(json_object_get(r, "more"));
    json_decref(r);
    if (!more) break;
  }
  for (int s = 1; s < MAXSEQ; s++) {
    if (h.held[s] != d->v.held[s] || (h.held[s] && (h.recalled[s] != d->v.recalled[s] || h.modified[s] != d->v.modified[s] ||
                                                    strcmp(h.text[s], d->v.text[s]) || h.chg[s] != d->v.chg[s])))
      fail_msg("%s seq %d: history held=%d recalled=%d modified=%d text=%s chg=%lld; device held=%d recalled=%d "
               "modified=%d text=%s chg=%lld", d->device, s, h.held[s], h.recalled[s], h.modified[s], h.text[s],
               (long long)h.chg[s], d->v.held[s], d->v.recalled[s], d->v.modified[s], d->v.text[s], (long long)d->v.chg[s]);
  }
}

static void test_random_changes_devices(void **st)
{
  (void)st;
  rng_state = 0x9a7c3e51d2f04b67ull;
  static const char *const users[] = { "q_a", "q_b", "q_c", "q_d" };
  import_users(srv.port, app, key, (const char *const[]){ "q_a", "q_b", "q_c", "q_d", NULL });
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"p\",\"GroupId\":\"" GID "\",\"Owner_Account\":\"q_a\","
                                "\"MemberList\":[{\"Member_Account\":\"q_b\"},{\"Member_Account\":\"q_c\"},"
                                "{\"Member_Account\":\"q_d\"}]}"));
  for (size_t i = 0; i < NDEV; i++) { connect_dev(&devs[i]); sync_complete(&devs[i]); }
  json_int_t sent[MAXSEQ];
  int from[MAXSEQ], gone[MAXSEQ] = { 0 }, recalled[MAXSEQ] = { 0 }; /* per sent message: its sender (users[]),
                                                                     * deleted, recalled */
  int n_sent = 0, random = 1, changes = 0;
  for (int step = 0; step < STEPS; step++) {
    unsigned op = (unsigned)(rnd() % 100);
    if (op < 30 || n_sent == 0) { /* a message of a member; one in five targeted to q_c */
      int targeted = rnd() % 5 == 0, u = targeted ? 0 : (int)(rnd() % 4);
      json_t *r = call(G("send_group_msg"), "{\"GroupId\":\"" GID "\",\"From_Account\":\"%s\",%s\"Random\":%d,"
                                            "\"MsgBody\":" TEXT("s%d") "}", users[u],
                       targeted ? "\"To_Account\":[\"q_c\"]," : "", random++, step);
      assert_int_equal(jint(r, "ErrorCode"), 0);
      assert_true(n_sent < MAXSEQ);
      from[n_sent] = u;
      sent[n_sent++] = jint(r, "MsgSeq");
      json_decref(r);
    } else if (op < 48) {
      int k = (int)(rnd() % (uint64_t)n_sent);
      json_t *r = call(G("group_msg_recall"), "{\"GroupId\":\"" GID "\",\"MsgSeqList\":[{\"MsgSeq\":%lld}]}",
                       (long long)sent[k]);
      json_int_t rc = jint(json_array_get(json_object_get(r, "RecallRetList"), 0), "RetCode");
      /* 10032: recalled before; a deleted message is not found */
      if (rc != 0 && rc != 10032 && !gone[k]) fail_msg("recall: %s", json_dumps(r, JSON_COMPACT));
      changes += rc == 0;
      if (rc == 0) recalled[k] = 1;
      json_decref(r);
    } else if (op < 72) {
      int k = (int)(rnd() % (uint64_t)n_sent);
      json_t *r = call("openim/modify_group_msg", "{\"GroupId\":\"" GID "\",\"MsgSeq\":%lld,\"MsgBody\":" TEXT("v%d") "}",
                       (long long)sent[k], step);
      /* a recalled message stays recalled (10032); a deleted one is not found */
      if (!gone[k]) assert_int_equal(jint(r, "ErrorCode"), recalled[k] ? 10032 : 0);
      else assert_int_not_equal(jint(r, "ErrorCode"), 0);
      changes += !gone[k] && !recalled[k];
      json_decref(r);
    } else if (op < 75) { /* every message of one sender so far: one change each */
      int u = (int)(rnd() % 4);
      v4_ok(call(G("delete_group_msg_by_sender"), "{\"GroupId\":\"" GID "\",\"Sender_Account\":\"%s\"}", users[u]));
      for (int k = 0; k < n_sent; k++) if (from[k] == u && !gone[k]) { gone[k] = 1; changes++; }
    } else { /* a device: goes away, comes back, or syncs part of the way */
      pdev_t *d = &devs[rnd() % NDEV];
      if (d->on && rnd() % 2) { drain(d); wsc_close(&d->c); d->on = 0; }
      else {
        if (!d->on) connect_dev(d);
        for (int k = (int)(rnd() % 3); k >= 0; k--) if (sync_once(d, 1 + (int)(rnd() % 6))) break;
      }
    }
    for (size_t i = 0; i < NDEV; i++) if (devs[i].on) drain(&devs[i]);
  }
  for (size_t i = 0; i < NDEV; i++) {
    pdev_t *d = &devs[i];
    if (!d->on) connect_dev(d);
    sync_complete(d);
    check_view(d);
    assert_int_equal(d->chg, changes); /* every device's cursor reached the group's last change */
    wsc_close(&d->c);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_random_changes_devices) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
