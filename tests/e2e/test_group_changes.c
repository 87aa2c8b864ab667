/* End-to-end: group_sync hands a device the recalls and changes of stored group messages it missed
 * (docs/decisions/groups-messages.md §17, docs/protocol.md "group_sync"). Each recall or modify of a message
 * takes the group's next change number, stored with it; group_sync with after_change answers, besides its
 * messages, the messages the device held (seq <= after_seq) changed after its cursor, once each, in change
 * order, bounded as its messages are, and `complete` only when both cursors reached the group's last. The
 * live group_recall / group_modify pushes and group_list rows carry the numbers. Targeted messages keep
 * their visibility, a restart keeps the numbers, a new group of a reused id starts over, bad cursors are
 * refused. The server's pages are small (--ws-max-queued-bytes 65536: 16 KiB pages), so big bodies cut them.
 * The retention purge: test_group_changes_ret.c; random runs: test_group_changes_prop.c. */
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--ws-max-queued-bytes", "65536", NULL };

#include "e2e_gchg.h" /* after srv, app and key */

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key); /* customer 1; Ultimate: targeted messages */
  if (e2e_app_ultimate(&srv, 1, app)) return -1;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* "seq:text[r][m]" of a message (r recalled, m modified), for comparisons. */
static void msg_key(json_t *m, char *out, size_t cap)
{
  snprintf(out, cap, "%lld:%s%s%s", (long long)jint(m, "seq"), jstr(json_array_get(json_object_get(m, "body"), 0), "MsgContent.Text"),
           json_is_true(json_object_get(m, "recalled")) ? "r" : "", json_is_true(json_object_get(m, "modified")) ? "m" : "");
}

/* The changes of a page as "change=seq:text[r][m]" joined by ",". */
static void changes_of(json_t *page, char *out, size_t cap)
{
  json_t *e;
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(page, "changes"), i, e) {
    char k[128];
    msg_key(json_object_get(e, "msg"), k, sizeof k);
    snprintf(out + strlen(out), cap - strlen(out), "%s%lld=%s", out[0] ? "," : "", (long long)jint(e, "change"), k);
  }
}

static json_int_t list_last_change(wsc_t *c, const char *gid)
{
  json_t *r = wsc_rpc(c, "group_list", "%s", ""), *g;
  size_t i;
  json_int_t v = -1;
  assert_int_equal(jint(r, "code"), 0);
  json_array_foreach(json_object_get(r, "groups"), i, g) if (!strcmp(jstr(g, "group_id"), gid)) v = jint(g, "last_change");
  json_decref(r);
  return v;
}

/* ---- a device offline while messages were recalled and modified --------------------------------------------- */
static void test_offline_device_gets_changes(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "o_a", "o_b", NULL });
  create("chg-1", "o_a", "[{\"Member_Account\":\"o_b\"}]");
  json_int_t s1 = send_text("chg-1", "o_a", NULL, "m1"), s2 = send_text("chg-1", "o_a", NULL, "m2"),
             s3 = send_text("chg-1", "o_a", NULL, "m3");
  wsc_t off, live;
  login(&off, "o_b");
  memset(&live, 0, sizeof live); /* a second device of the user, online throughout */
  live.next_id = 100;
  live.fd = e2e_ws_login_dev(srv.port, app, key, "o_b", "Android", "dev-o_b-2", NULL, 0);
  assert_true(live.fd >= 0);
  json_t *r = sync_page(&off, "chg-1", 0, 0, 0);
  assert_true(json_is_true(json_object_get(r, "complete")));
  assert_int_equal(jint(r, "last_change"), 0);
  assert_int_equal(jint(r, "change"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "changes")), 0);
  json_int_t have = jint(r, "seq");
  assert_int_equal(have, s3);
  json_decref(r);
  wsc_close(&off);

  recall("chg-1", s2);        /* change 1 */
  modify("chg-1", s3, "m3a"); /* 2 */
  modify("chg-1", s3, "m3b"); /* 3: s3 again, its last change */
  modify("chg-1", s1, "m1a"); /* 4 */
  recall("chg-1", s1);        /* 5 */
  json_int_t s4 = send_text("chg-1", "o_a", NULL, "m4");
  modify("chg-1", s4, "m4a"); /* 6: of a message the device does not hold yet: it comes with the messages */

  /* the device online meanwhile got each change live with its number, in order */
  static const struct { const char *type; int change; } live_want[] = {
    { "group_recall", 1 }, { "group_modify", 2 }, { "group_modify", 3 }, { "group_modify", 4 }, { "group_recall", 5 },
    { "group_modify", 6 },
  };
  for (size_t i = 0; i < sizeof live_want / sizeof live_want[0]; i++) {
    json_t *p = NULL;
    for (;;) { /* the changes in their order, the group's messages between them skipped */
      int cc;
      p = wsc_next(&live, 5000, &cc);
      assert_non_null(p);
      if (!strcmp(jstr(p, "type"), "group_recall") || !strcmp(jstr(p, "type"), "group_modify")) break;
      json_decref(p);
    }
    assert_string_equal(jstr(p, "type"), live_want[i].type);
    assert_int_equal(jint(p, "change"), live_want[i].change);
    json_decref(p);
  }
  wsc_close(&live);

  login(&off, "o_b");
  r = sync_page(&off, "chg-1", have, 0, 0);
  char got[512];
  changes_of(r, got, sizeof got);
  /* each message held once, at its last change, in change order; s4's change is in its message */
  char want[256];
  snprintf(want, sizeof want, "1=%lld:m2r,3=%lld:m3bm,5=%lld:m1arm", (long long)s2, (long long)s3, (long long)s1);
  assert_string_equal(got, want);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 1);
  char k[128];
  msg_key(json_array_get(json_object_get(r, "msgs"), 0), k, sizeof k);
  snprintf(want, sizeof want, "%lld:m4am", (long long)s4);
  assert_string_equal(k, want);
  assert_int_equal(jint(r, "change"), 6);
  assert_int_equal(jint(r, "last_change"), 6);
  assert_int_equal(jint(r, "seq"), s4);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  /* from the cursors answered: nothing again */
  r = sync_page(&off, "chg-1", s4, 6, 0);
  assert_int_equal(json_array_size(json_object_get(r, "changes")), 0);
  assert_int_equal(json_array_size(json_object_get(r, "msgs")), 0);
  assert_int_equal(jint(r, "change"), 6);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  /* without after_change: messages only, as before (complete by seq), the last change told */
  r = sync_page(&off, "chg-1", s4, -1, 0);
  assert_null(json_object_get(r, "changes"));
  assert_null(json_object_get(r, "change"));
  assert_int_equal(jint(r, "last_change"), 6);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  /* a cursor behind: complete only once the changes are in */
  r = sync_page(&off, "chg-1", s4, 2, 1);
  changes_of(r, got, sizeof got);
  snprintf(want, sizeof want, "3=%lld:m3bm", (long long)s3);
  assert_string_equal(got, want);
  assert_int_equal(jint(r, "change"), 3);
  assert_false(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  assert_int_equal(list_last_change(&off, "chg-1"), 6);
  wsc_close(&off);
}

/* ---- many changes: pages by count and by bytes, gap-free -------------------------------------------------- */
#define PAGED 40

/* Sync from (have, chg) until complete with limit (0: by bytes): every change exactly once, numbers rising;
 * pages before the last are not complete. The changes seen into seen[seq] (their count), returned: pages. */
static int sync_all(wsc_t *c, const char *gid, json_int_t *have, json_int_t *chg, int limit, int *seen, size_t n_seen,
                    int *msgs)
{
  int pages = 0;
  json_int_t last_chg = *chg;
  for (;;) {
    json_t *r = sync_page(c, gid, *have, *chg, limit), *e;
    size_t i;
    pages++;
    json_array_foreach(json_object_get(r, "changes"), i, e) {
      json_int_t seq = jint(e, "msg.seq");
      assert_true(jint(e, "change") > last_chg);
      last_chg = jint(e, "change");
      assert_true(seq <= *have); /* only messages the device held */
      assert_true((size_t)seq < n_seen);
      seen[seq]++;
    }
    *msgs += (int)json_array_size(json_object_get(r, "msgs"));
    assert_true(jint(r, "change") >= *chg);
    *have = jint(r, "seq");
    *chg = jint(r, "change");
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) return pages;
    assert_true(pages < 1000);
  }
}

static void test_many_changes_paged(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "p_a", "p_b", NULL });
  create("chg-p", "p_a", "[{\"Member_Account\":\"p_b\"}]");
  json_int_t seqs[PAGED];
  for (int i = 0; i < PAGED; i++) seqs[i] = send_text("chg-p", "p_a", NULL, "x");
  wsc_t c;
  login(&c, "p_b");
  json_int_t have = 0, chg = 0;
  int seen[PAGED + 64] = { 0 }, msgs = 0;
  sync_all(&c, "chg-p", &have, &chg, 0, seen, PAGED + 64, &msgs);
  wsc_close(&c);
  json_int_t held = have;
  /* offline: every message changed, half of them twice (recalled after a modify), with 3 KiB bodies */
  static char big[3100];
  memset(big, 'b', sizeof big - 1);
  for (int i = 0; i < PAGED; i++) modify("chg-p", seqs[i], big);
  for (int i = 0; i < PAGED; i += 2) recall("chg-p", seqs[i]);
  /* and new messages, also big, the pages' messages take the budget first */
  for (int i = 0; i < 8; i++) send_text("chg-p", "p_a", NULL, big);

  /* by count: pages of 7 */
  login(&c, "p_b");
  json_int_t h = held, ch = chg;
  memset(seen, 0, sizeof seen);
  msgs = 0;
  int pages = sync_all(&c, "chg-p", &h, &ch, 7, seen, PAGED + 64, &msgs);
  for (int i = 0; i < PAGED; i++) assert_int_equal(seen[seqs[i]], 1);
  assert_int_equal(msgs, 8);
  assert_true(pages >= PAGED / 7);
  assert_int_equal(ch, PAGED + PAGED / 2);
  /* by bytes (16 KiB pages: about five 3 KiB rows each) */
  h = held;
  ch = chg;
  memset(seen, 0, sizeof seen);
  msgs = 0;
  pages = sync_all(&c, "chg-p", &h, &ch, 0, seen, PAGED + 64, &msgs);
  for (int i = 0; i < PAGED; i++) assert_int_equal(seen[seqs[i]], 1);
  assert_int_equal(msgs, 8);
  assert_true(pages >= (PAGED + 8) / 6);
  assert_int_equal(ch, PAGED + PAGED / 2);
  wsc_close(&c);
}

/* ---- a targeted message's change reaches its recipients and sender only ------------------------------------ */
static void test_targeted_change_hidden(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "t_a", "t_b", "t_c", NULL });
  create("chg-t", "t_a", "[{\"Member_Account\":\"t_b\"},{\"Member_Account\":\"t_c\"}]");
  json_int_t t = send_text("chg-t", "t_a", "[\"t_c\"]", "secret"), p = send_text("chg-t", "t_a", NULL, "open");
  recall("chg-t", t);      /* 1 */
  modify("chg-t", p, "o2"); /* 2 */
  char got[256], want[256];
  static const struct { const char *user; int sees; } who[] = { { "t_b", 0 }, { "t_c", 1 }, { "t_a", 1 } };
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
    wsc_t c;
    login(&c, who[i].user);
    json_t *r = sync_page(&c, "chg-t", p, 0, 0);
    changes_of(r, got, sizeof got);
    if (who[i].sees) snprintf(want, sizeof want, "1=%lld:secretr,2=%lld:o2m", (long long)t, (long long)p);
    else snprintf(want, sizeof want, "2=%lld:o2m", (long long)p);
    assert_string_equal(got, want);
    assert_int_equal(jint(r, "change"), 2);
    assert_true(json_is_true(json_object_get(r, "complete")));
    json_decref(r);
    /* the cursor moves over the hidden change too: a page from 1 has only the visible one */
    r = sync_page(&c, "chg-t", p, 1, 0);
    changes_of(r, got, sizeof got);
    snprintf(want, sizeof want, "2=%lld:o2m", (long long)p);
    assert_string_equal(got, want);
    json_decref(r);
    wsc_close(&c);
  }
}

/* ---- durable before the reply: a kill -9 right after it ---------------------------------------------------- */
static void test_changes_survive_kill(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "k_a", "k_b", NULL });
  create("chg-k", "k_a", "[{\"Member_Account\":\"k_b\"}]");
  json_int_t s1 = send_text("chg-k", "k_a", NULL, "a"), s2 = send_text("chg-k", "k_a", NULL, "b");
  modify("chg-k", s1, "a2"); /* 1 */
  recall("chg-k", s2);       /* 2: answered, then the server is killed */
  e2e_server_kill(&srv);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  wsc_t c;
  login(&c, "k_b");
  assert_int_equal(list_last_change(&c, "chg-k"), 2);
  json_t *r = sync_page(&c, "chg-k", s2, 0, 0);
  char got[256], want[256];
  changes_of(r, got, sizeof got);
  snprintf(want, sizeof want, "1=%lld:a2m,2=%lld:br", (long long)s1, (long long)s2);
  assert_string_equal(got, want);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  modify("chg-k", s1, "a3"); /* the counter goes on after the restart: 3 */
  r = sync_page(&c, "chg-k", s2, 2, 0);
  changes_of(r, got, sizeof got);
  snprintf(want, sizeof want, "3=%lld:a3m", (long long)s1);
  assert_string_equal(got, want);
  json_decref(r);
  wsc_close(&c);
}

/* ---- a group id used again: its changes start over, an old change cursor resets ---------------------------- */
static void test_reused_id_starts_over(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "r_a", "r_b", NULL });
  create("chg-r", "r_a", "[{\"Member_Account\":\"r_b\"}]");
  json_int_t s1 = send_text("chg-r", "r_a", NULL, "old");
  modify("chg-r", s1, "o1");
  modify("chg-r", s1, "o2");
  modify("chg-r", s1, "o3"); /* the old group's change 3 */
  wsc_t c;
  login(&c, "r_b");
  json_t *r = sync_page(&c, "chg-r", 0, 0, 0);
  json_int_t have = jint(r, "seq");
  assert_int_equal(jint(r, "change"), 3);
  json_decref(r);
  v4_ok(call(G("destroy_group"), "{\"GroupId\":\"chg-r\"}"));
  create("chg-r", "r_a", "[{\"Member_Account\":\"r_b\"}]");
  json_int_t n1 = 0;
  for (int i = 0; i < 4; i++) n1 = send_text("chg-r", "r_a", NULL, "new"); /* the new life passes the old seq cursor */
  assert_true(n1 >= have);
  assert_int_equal(list_last_change(&c, "chg-r"), 0);
  /* the old cursors: after_seq is not past the new life's last seq, after_change is past its last change */
  r = sync_page(&c, "chg-r", have, 3, 0);
  assert_true(json_is_true(json_object_get(r, "reset")));
  assert_int_equal(jint(json_array_get(json_object_get(r, "msgs"), 0), "seq"), 1);
  assert_int_equal(json_array_size(json_object_get(r, "changes")), 0);
  assert_int_equal(jint(r, "change"), 0);
  have = jint(r, "seq");
  json_decref(r);
  recall("chg-r", n1); /* the new life's change 1 */
  r = sync_page(&c, "chg-r", have, 0, 0);
  char got[128], want[128];
  changes_of(r, got, sizeof got);
  snprintf(want, sizeof want, "1=%lld:newr", (long long)n1);
  assert_string_equal(got, want);
  assert_null(json_object_get(r, "reset"));
  json_decref(r);
  wsc_close(&c);
}

/* ---- bad cursors: 10004, nothing changed -------------------------------------------------------------------- */
static void test_bad_change_cursor(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "b_a", "b_b", NULL });
  create("chg-b", "b_a", "[{\"Member_Account\":\"b_b\"}]");
  json_int_t s1 = send_text("chg-b", "b_a", NULL, "x");
  modify("chg-b", s1, "y");
  wsc_t c;
  login(&c, "b_b");
  /* (a null member is an absent one, docs/protocol.md: no after_change) */
  static const char *const bad[] = { "\"1\"", "-1", "1.5", "4294967296", "true", "[1]", "{}" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *r = wsc_rpc(&c, "group_sync", "\"group_id\":\"chg-b\",\"after_seq\":0,\"after_change\":%s", bad[i]);
    assert_non_null(r);
    if (jint(r, "code") != 10004) fail_msg("after_change %s: %s", bad[i], json_dumps(r, JSON_COMPACT));
    assert_null(json_object_get(r, "msgs"));
    json_decref(r);
  }
  /* nothing changed: the change is still there to sync, the counter where it was */
  json_t *r = sync_page(&c, "chg-b", s1, 0, 0);
  char got[128], want[128];
  changes_of(r, got, sizeof got);
  snprintf(want, sizeof want, "1=%lld:ym", (long long)s1);
  assert_string_equal(got, want);
  json_decref(r);
  assert_int_equal(list_last_change(&c, "chg-b"), 1);
  wsc_close(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_offline_device_gets_changes), cmocka_unit_test(test_many_changes_paged),
    cmocka_unit_test(test_targeted_change_hidden),      cmocka_unit_test(test_changes_survive_kill),
    cmocka_unit_test(test_reused_id_starts_over),       cmocka_unit_test(test_bad_change_cursor),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
