/* Unit tests for the unread counts of a conversation list page
 * (src/im/conv_list.c) over a real writer, reader and loop: the work is the
 * number of C2C unread counts run (store_msg_unread, counted through the
 * linker's --wrap, Makefile), not a time.
 *  - A page without IM_CONV_UNREAD (REST recentcontact/get_list, whose reply
 *    shows no unread count) counts none; before, every kept conversation
 *    of the user was counted for each page.
 *  - A page with it (WebSocket `conversations`) counts its own C2C items
 *    only, page after page, and the counts are right: 10 per page of 10
 *    out of 30 conversations (before: 30 for each page).
 *  - A message stored between the page's read and its unread counts (the
 *    wrapper stores it from another connection before the first count)
 *    is not counted: an item's unread counts up to its last_seq (before:
 *    3 unread with last_seq 2 and read_seq 0); the same for a group item
 *    (the message stored around store_grp_member_get, the group count's
 *    first read: 2 with last_seq 1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "im/c2c.h"
#include "im/conv.h"
#include "im/group.h"
#include "im/presence.h"
#include "store/store.h"
#include "store/store_grp.h"
#include "store/store_msg.h"
#include "store/store_reader.h"
#include "store/store_writer.h"
#include "store/sqlite_msg_int.h"
#include "store_rows.h"
#include "tmpdir.h"
#include "store_tmpl.h"
#include "util/err.h"

#define APP 1400000001u
#define PEERS 30
#define RET_S (7 * 86400)

static char dir[64];
static uint32_t me;
static int unread_calls; /* written on the reader thread, read on the loop after the job's completion */
static int inject;       /* set on the loop before a page; the first count of the page clears it (reader thread) */

int __real_store_msg_unread(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq,
                            uint32_t upto_seq, int64_t since_s, int64_t *n);
int __wrap_store_msg_unread(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq,
                            uint32_t upto_seq, int64_t since_s, int64_t *n);
int __wrap_store_msg_unread(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq,
                            uint32_t upto_seq, int64_t since_s, int64_t *n)
{
  __atomic_add_fetch(&unread_calls, 1, __ATOMIC_SEQ_CST);
  if (__atomic_exchange_n(&inject, 0, __ATOMIC_SEQ_CST)) {
    /* a message from this peer committed after the page's read, before its counts read (the job's read
     * transaction takes its snapshot at its first statement, this count's) */
    store_t *o;
    assert_int_equal(test_store_open(dir, &o), 0);
    rows_send(o, APP, (int64_t)time(NULL) - 100, from_no, me, 3);
    store_close(o);
  }
  return __real_store_msg_unread(s, sdkappid, conv, from_no, after_seq, upto_seq, since_s, n);
}

static int ginject; /* the same for the group counts */
static const int64_t GROUP_NO = 1;

int __real_store_grp_member_get(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no,
                                store_grp_member_cb cb, void *ud);
int __wrap_store_grp_member_get(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no,
                                store_grp_member_cb cb, void *ud);
static void gappend(store_t *s, uint32_t from_no, uint32_t random)
{
  store_grp_msg_t m = { .sdkappid = APP, .group_no = (uint32_t)GROUP_NO, .from_no = from_no,
                        .time_s = (int64_t)time(NULL) - 10, .random = random, .body = "{\"MsgBody\":[]}",
                        .body_len = 14 };
  int dup;
  assert_int_equal(store_grp_msg_append(s, &m, 0, &dup), 0);
}

/* the group's count reads its member row first: the job's snapshot starts there */
int __wrap_store_grp_member_get(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no,
                                store_grp_member_cb cb, void *ud)
{
  if (__atomic_exchange_n(&ginject, 0, __ATOMIC_SEQ_CST)) {
    store_t *o;
    assert_int_equal(test_store_open(dir, &o), 0);
    gappend(o, me + 1, 2); /* the owner, the first peer */
    store_close(o);
  }
  return __real_store_grp_member_get(s, sdkappid, group_no, user_no, cb, ud);
}

static int64_t per_app(void *ud, uint32_t sdkappid, im_limit_t which, int64_t dflt)
{
  (void)ud;
  (void)sdkappid;
  (void)which;
  return dflt;
}

static int known(void *ud, uint32_t sdkappid)
{
  (void)ud;
  return sdkappid == APP;
}

/* me and PEERS peers; each peer sent me two messages, a second apart per peer. */
static int setup(void **st)
{
  (void)st;
  assert_int_equal(test_tmpdir_make(dir, sizeof dir, "convunread"), 0);
  store_t *s;
  char id[16];
  store_app_t a;
  int64_t cust;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_customer_create(s, "c", 1, &cust), 0);
  memset(&a, 0, sizeof a);
  a.sdkappid = APP;
  a.customer_id = cust;
  strcpy(a.name, "t");
  memset(a.secret_key, 'a', 64);
  strcpy(a.region, "china");
  strcpy(a.scheme, "s2022");
  strcpy(a.edition, "trial");
  strcpy(a.status, "active");
  assert_int_equal(store_app_insert(s, &a), 0);
  assert_int_equal(store_account_import(s, APP, "me", NULL, NULL, 1, &me), 0);
  int64_t t0 = (int64_t)time(NULL) - 1000;
  for (uint32_t i = 0; i < PEERS; i++) {
    uint32_t no;
    snprintf(id, sizeof id, "p%02u", i);
    assert_int_equal(store_account_import(s, APP, id, NULL, NULL, 1, &no), 0);
    rows_send(s, APP, t0 + 2 * i, no, me, 1);
    rows_send(s, APP, t0 + 2 * i, no, me, 2);
  }
  store_close(s);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

typedef struct env {
  uv_loop_t loop;
  store_writer_t *w;
  store_reader_t *r;
  im_presence_t *p;
  im_limits_t lim;
  im_c2c_t *c;
  im_groups_t *G;
} env_t;

static void env_start(env_t *e)
{
  memset(e, 0, sizeof *e);
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(store_writer_start(&e->loop, dir, 1000, &e->w), 0);
  assert_int_equal(store_reader_start(&e->loop, dir, 1, 100, &e->r), 0);
  assert_int_equal(im_presence_create(&e->p), 0);
  e->lim.v[IM_LIMIT_RETENTION_S] = e->lim.v[IM_LIMIT_GROUP_RETENTION_S] = RET_S;
  e->lim.v[IM_LIMIT_RECENT_KEPT] = 100;
  e->lim.v[IM_LIMIT_PAGE_BYTES] = 1 << 20;
  e->lim.per_app = per_app;
  e->lim.known = known;
  im_c2c_hooks_t hooks;
  memset(&hooks, 0, sizeof hooks);
  assert_int_equal(im_c2c_create(e->w, e->r, e->p, &e->lim, &hooks, &e->c), 0);
  im_group_hooks_t gh;
  memset(&gh, 0, sizeof gh);
  assert_int_equal(im_groups_create(e->p, &e->lim, &gh, &e->G), 0);
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(im_groups_load(e->G, s, (int64_t)time(NULL)), 0); /* the groups a test stored */
  store_close(s);
  im_groups_start(e->G, e->w, e->r, e->c);
}

static void env_stop(env_t *e)
{
  im_groups_free(e->G);
  im_c2c_free(e->c);
  store_writer_stop(e->w, NULL, NULL);
  store_reader_stop(e->r, NULL, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  im_presence_free(e->p);
}

typedef struct page {
  int done, rc, complete;
  size_t n;
  int64_t unread[PEERS];
  uint32_t last_seq[PEERS], read_seq[PEERS];
  im_conv_cursor_t next;
} page_t;

static void page_done(void *ud, int rc, const im_conv_page_t *p)
{
  page_t *g = ud;
  g->done = 1;
  g->rc = rc;
  if (rc) return;
  g->n = p->n;
  g->complete = p->complete;
  g->next = p->next;
  for (size_t i = 0; i < p->n && i < PEERS; i++) {
    g->unread[i] = p->items[i].unread;
    g->last_seq[i] = p->items[i].last_seq;
    g->read_seq[i] = p->items[i].read_seq;
  }
}

/* One page of me's list of at most 10 after *cur; *calls = the unread counts it ran. */
static page_t page(env_t *e, im_conv_cursor_t *cur, int flags, int *calls)
{
  page_t g;
  memset(&g, 0, sizeof g);
  int before = __atomic_load_n(&unread_calls, __ATOMIC_SEQ_CST);
  im_conv_page(e->c, e->G, APP, me, cur, flags, 10, page_done, &g);
  for (int i = 0; i < 100000 && !g.done; i++) uv_run(&e->loop, UV_RUN_ONCE);
  assert_true(g.done);
  assert_int_equal(g.rc, 0);
  *calls = __atomic_load_n(&unread_calls, __ATOMIC_SEQ_CST) - before;
  *cur = g.next;
  return g;
}

static void test_rest_page_counts_nothing(void **st)
{
  (void)st;
  env_t e;
  env_start(&e);
  im_conv_cursor_t cur = { 0, 0, 0, 0 };
  int calls, pages = 0;
  page_t g;
  do {
    g = page(&e, &cur, IM_CONV_PINNED_FIRST, &calls);
    assert_int_equal(g.n, 10);
    if (calls) fail_msg("page %d ran %d unread counts, want none", pages, calls);
    pages++;
  } while (!g.complete && pages < 10);
  assert_int_equal(pages, 3);
  env_stop(&e);
}

static void test_ws_page_counts_its_items(void **st)
{
  (void)st;
  env_t e;
  env_start(&e);
  im_conv_cursor_t cur = { 0, 0, 0, 0 };
  int calls, pages = 0;
  page_t g;
  do {
    g = page(&e, &cur, IM_CONV_PINNED_FIRST | IM_CONV_EMPTY_PINNED | IM_CONV_UNREAD, &calls);
    assert_int_equal(g.n, 10);
    if (calls != 10) fail_msg("page %d ran %d unread counts, want 10 (its items)", pages, calls);
    for (size_t i = 0; i < g.n; i++) assert_int_equal(g.unread[i], 2);
    pages++;
  } while (!g.complete && pages < 10);
  assert_int_equal(pages, 3);
  env_stop(&e);
}

/* A message stored between the page's read and its counts is after every item's last_seq: no item counts it. */
static void test_unread_stops_at_last_seq(void **st)
{
  (void)st;
  env_t e;
  env_start(&e);
  im_conv_cursor_t cur = { 0, 0, 0, 0 };
  int calls;
  __atomic_store_n(&inject, 1, __ATOMIC_SEQ_CST);
  page_t g = page(&e, &cur, IM_CONV_PINNED_FIRST | IM_CONV_EMPTY_PINNED | IM_CONV_UNREAD, &calls);
  assert_int_equal(__atomic_load_n(&inject, __ATOMIC_SEQ_CST), 0); /* the message was stored */
  assert_int_equal(g.n, 10);
  for (size_t i = 0; i < g.n; i++) {
    if (g.unread[i] > (int64_t)g.last_seq[i] - g.read_seq[i])
      fail_msg("item %zu: unread %lld beyond last_seq %u - read_seq %u", i, (long long)g.unread[i], g.last_seq[i],
               g.read_seq[i]);
    assert_int_equal(g.unread[i], 2);
  }
  /* the next walk lists the message: its conversation now has three unread, up to its last_seq 3 */
  im_conv_cursor_t top = { 0, 0, 0, 0 };
  g = page(&e, &top, IM_CONV_PINNED_FIRST | IM_CONV_EMPTY_PINNED | IM_CONV_UNREAD, &calls);
  assert_int_equal(g.last_seq[0], 3);
  assert_int_equal(g.unread[0], 3);
  env_stop(&e);
}

/* A NoLastMsg message after the last listed one, stored before the page, is unread and counted (the bound
 * is the newest message stored at the page's read, not last_seq), while a message stored between the read
 * and the counts still is not. Before: p05 showed 2 unread, without its NoLastMsg message. */
static void test_unread_counts_no_last_msg(void **st)
{
  (void)st;
  store_t *s;
  uint32_t p05;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_account_get(s, APP, "p05", &p05), 0);
  store_msg_append_t a;
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(p05, me), 0, p05, me, (int64_t)time(NULL) - 50, 7, 7, STORE_MSG_NO_LAST,
                       604800, "{}", 2, NULL, NULL };
  a.inbox_from = a.inbox_to = a.recent_from = a.recent_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  store_close(s);
  env_t e;
  env_start(&e);
  im_conv_cursor_t cur = { 0, 0, 0, 0 };
  int calls, seen = 0;
  __atomic_store_n(&inject, 1, __ATOMIC_SEQ_CST); /* the first count's peer (p29, the newest) gets one more */
  for (int pages = 0; pages < 3; pages++) {
    page_t g = page(&e, &cur, IM_CONV_PINNED_FIRST | IM_CONV_EMPTY_PINNED | IM_CONV_UNREAD, &calls);
    assert_int_equal(__atomic_load_n(&inject, __ATOMIC_SEQ_CST), 0);
    for (size_t i = 0; i < g.n; i++) {
      if (!pages && !i) { /* p29: 3 listed before the page (test_unread_stops_at_last_seq); the 4th came after */
        assert_int_equal(g.last_seq[i], 3);
        assert_int_equal(g.unread[i], 3);
      } else if (g.last_seq[i] == 2 && g.unread[i] == 3) {
        seen++; /* p05: its two listed messages and the NoLastMsg one */
      } else {
        assert_int_equal(g.unread[i], 2);
      }
    }
  }
  assert_int_equal(seen, 1);
  env_stop(&e);
}

/* The same for a group item: a group message stored between the page's read and the group's count. */
static void test_group_unread_stops_at_last_seq(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  store_grp_t g = { .sdkappid = APP, .group_no = (uint32_t)GROUP_NO, .group_id = "g1", .type = IM_GT_PUBLIC,
                    .owner_no = me + 1, .created_s = (int64_t)time(NULL) - 100, .info = "{}" };
  assert_int_equal(store_grp_put(s, &g), 0);
  store_grp_member_t m = { .user_no = me + 1, .role = IM_GR_OWNER, .name_card = "", .data = "" };
  assert_int_equal(store_grp_member_put(s, APP, (uint32_t)GROUP_NO, &m), 0);
  m = (store_grp_member_t){ .user_no = me, .role = IM_GR_MEMBER, .name_card = "", .data = "" };
  assert_int_equal(store_grp_member_put(s, APP, (uint32_t)GROUP_NO, &m), 0);
  gappend(s, me + 1, 1);
  store_close(s);
  env_t e;
  env_start(&e);
  im_conv_cursor_t cur = { 0, 0, 0, 0 };
  int calls;
  __atomic_store_n(&ginject, 1, __ATOMIC_SEQ_CST);
  page_t p = page(&e, &cur, IM_CONV_PINNED_FIRST | IM_CONV_EMPTY_PINNED | IM_CONV_UNREAD, &calls);
  assert_int_equal(__atomic_load_n(&ginject, __ATOMIC_SEQ_CST), 0); /* the message was stored */
  assert_int_equal(p.last_seq[0], 1); /* the group, newest */
  assert_int_equal(p.read_seq[0], 0);
  assert_int_equal(p.unread[0], 1);
  env_stop(&e);
}

/* A group NoLastMsg message after the group's last listed one is counted in the group item's unread (the
 * group's last stored seq, in memory, is the bound); before: 2, with last_seq 2 (test_group_unread_stops_at_last_seq's
 * two messages). */
static void test_group_unread_counts_no_last_msg(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  store_grp_msg_t m = { .sdkappid = APP, .group_no = (uint32_t)GROUP_NO, .from_no = me + 1,
                        .time_s = (int64_t)time(NULL) - 5, .random = 3, .flags = STORE_GMSG_NO_LAST,
                        .body = "{\"MsgBody\":[]}", .body_len = 14 };
  int dup;
  assert_int_equal(store_grp_msg_append(s, &m, 0, &dup), 0);
  store_close(s);
  env_t e;
  env_start(&e);
  im_conv_cursor_t cur = { 0, 0, 0, 0 };
  int calls;
  page_t p = page(&e, &cur, IM_CONV_PINNED_FIRST | IM_CONV_EMPTY_PINNED | IM_CONV_UNREAD, &calls);
  assert_int_equal(p.last_seq[0], 2); /* the group, newest: its NoLastMsg message (3) is not its last */
  assert_int_equal(p.read_seq[0], 0);
  assert_int_equal(p.unread[0], 3);
  env_stop(&e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rest_page_counts_nothing),
    cmocka_unit_test(test_ws_page_counts_its_items),
    cmocka_unit_test(test_unread_stops_at_last_seq),
    cmocka_unit_test(test_unread_counts_no_last_msg),
    cmocka_unit_test(test_group_unread_stops_at_last_seq),
    cmocka_unit_test(test_group_unread_counts_no_last_msg),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
