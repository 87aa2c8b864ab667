/* Unit tests for src/im/rel: sorted rows per kind, change sets applied at
 * once and undone newest first (only where memory still holds what the set
 * wrote), the written rows reloaded from a real store, byte accounting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "im/rel.h"
#include "store/store.h"
#include "tmpdir.h"
#include "store_tmpl.h"
#include "util/err.h"

static void holder_name(void *ud, rel_user_t *u)
{
  char *out = ud;
  snprintf(out + strlen(out), 256 - strlen(out), "%s,", u->id);
}

/* The holders of id in app, in user-number order of insertion, "a,b," (sorted for the check). */
static const char *holders_of(rel_t *r, uint32_t app, const char *id)
{
  static char out[256];
  out[0] = 0;
  rel_friend_holders(r, app, id, holder_name, out);
  /* two names at most here: order them */
  char *c = strchr(out, ',');
  if (c && c[1] && strcmp(out, c + 1) > 0) {
    char first[128], rest[128];
    snprintf(first, sizeof first, "%.*s", (int)(c - out + 1), out);
    snprintf(rest, sizeof rest, "%s", c + 1);
    snprintf(out, sizeof out, "%s%s", rest, first);
  }
  return out;
}

static void test_rows_sorted_and_counted(void **st)
{
  (void)st;
  rel_t *r;
  assert_int_equal(rel_create(&r), 0);
  rel_user_t *u = rel_user_ensure(r, 7, 1, "alice");
  assert_non_null(u);
  assert_ptr_equal(rel_user_ensure(r, 7, 1, NULL), u);
  assert_null(rel_user(r, 8, 1));
  rel_txn_t t;
  rel_txn_init(&t, r);
  const char *peers[] = { "zed", "bob", "carl", "amy", "bob" };
  for (int i = 0; i < 5; i++) assert_int_equal(rel_txn_put(&t, u, REL_K_FRIEND, peers[i], "{}"), 0);
  size_t n;
  const rel_row_t *rows = rel_rows(u, REL_K_FRIEND, &n);
  assert_int_equal(n, 4);
  assert_string_equal(rows[0].key, "amy");
  assert_string_equal(rows[1].key, "bob");
  assert_string_equal(rows[3].key, "zed");
  assert_int_equal(rel_count(u, REL_K_BLACK), 0);
  assert_null(rel_get(u, REL_K_FRIEND, "nobody"));
  int64_t v = 0;
  assert_int_equal(rel_txn_bump(&t, u, "friend_seq", &v), 0);
  assert_int_equal(rel_txn_bump(&t, u, "friend_seq", &v), 0);
  assert_int_equal(v, 2);
  assert_int_equal(rel_meta_i64(u, "friend_seq"), 2);
  assert_true(rel_bytes(r) > 0);
  rel_txn_free(&t);
  assert_int_equal(rel_count(u, REL_K_FRIEND), 4); /* freeing keeps what was applied */
  rel_free(r);
}

static void test_undo_restores_newest_first(void **st)
{
  (void)st;
  rel_t *r;
  assert_int_equal(rel_create(&r), 0);
  rel_user_t *u = rel_user_ensure(r, 7, 1, "alice");
  rel_txn_t base, t, later;
  rel_txn_init(&base, r);
  assert_int_equal(rel_txn_put(&base, u, REL_K_PROFILE, "Tag_Profile_IM_Nick", "\"old\""), 0);
  assert_int_equal(rel_txn_put(&base, u, REL_K_FRIEND, "bob", "{\"a\":1}"), 0);
  rel_txn_free(&base);
  size_t bytes = rel_bytes(r);
  rel_txn_init(&t, r);
  assert_int_equal(rel_txn_put(&t, u, REL_K_PROFILE, "Tag_Profile_IM_Nick", "\"mid\""), 0);
  assert_int_equal(rel_txn_put(&t, u, REL_K_PROFILE, "Tag_Profile_IM_Nick", "\"new\""), 0);
  assert_int_equal(rel_txn_del(&t, u, REL_K_FRIEND, "bob"), 0);
  assert_int_equal(rel_txn_del(&t, u, REL_K_FRIEND, "nobody"), 0); /* absent: nothing recorded */
  assert_int_equal(rel_txn_put(&t, u, REL_K_BLACK, "eve", "1"), 0);
  assert_int_equal(t.n, 4);
  assert_string_equal(rel_val(u, REL_K_PROFILE, "Tag_Profile_IM_Nick"), "\"new\"");
  assert_null(rel_get(u, REL_K_FRIEND, "bob"));
  rel_txn_undo(&t);
  assert_string_equal(rel_val(u, REL_K_PROFILE, "Tag_Profile_IM_Nick"), "\"old\"");
  assert_string_equal(rel_val(u, REL_K_FRIEND, "bob"), "{\"a\":1}");
  assert_null(rel_get(u, REL_K_BLACK, "eve"));
  assert_int_equal(rel_bytes(r), bytes + 4 * sizeof(rel_row_t)); /* a kind's row array keeps its capacity */
  rel_txn_undo(&t); /* once only: a second undo changes nothing */
  assert_string_equal(rel_val(u, REL_K_PROFILE, "Tag_Profile_IM_Nick"), "\"old\"");
  rel_txn_free(&t);

  /* a later change to the same row is kept: undo restores only what it wrote */
  rel_txn_init(&t, r);
  assert_int_equal(rel_txn_put(&t, u, REL_K_BLACK, "eve", "1"), 0);
  rel_txn_init(&later, r);
  assert_int_equal(rel_txn_put(&later, u, REL_K_BLACK, "eve", "2"), 0);
  rel_txn_undo(&t);
  assert_string_equal(rel_val(u, REL_K_BLACK, "eve"), "2");
  rel_txn_free(&t);
  rel_txn_free(&later);
  rel_free(r);
}

static void test_write_and_load(void **st)
{
  (void)st;
  char dir[128];
  assert_int_equal(test_tmpdir_make(dir, sizeof dir, "rel"), 0);
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  uint32_t alice, bob;
  int64_t cust;
  store_app_t a7;
  memset(&a7, 0, sizeof a7);
  assert_int_equal(store_customer_create(s, "c", 1, &cust), 0);
  a7.sdkappid = 7;
  a7.customer_id = cust;
  strcpy(a7.name, "t");
  memset(a7.secret_key, 'a', 64);
  strcpy(a7.region, "china");
  strcpy(a7.scheme, "s2022");
  strcpy(a7.edition, "trial");
  strcpy(a7.status, "active");
  assert_int_equal(store_app_insert(s, &a7), 0);
  assert_int_equal(store_account_import(s, 7, "alice", "Alice", NULL, 1, &alice), 0);
  assert_int_equal(store_account_import(s, 7, "bob", NULL, NULL, 1, &bob), 0);
  rel_t *r;
  assert_int_equal(rel_create(&r), 0);
  rel_user_t *a = rel_user_ensure(r, 7, alice, "alice"), *app = rel_user_ensure(r, 7, 0, "");
  rel_txn_t t;
  rel_txn_init(&t, r);
  assert_int_equal(rel_txn_put(&t, a, REL_K_FRIEND, "bob", "{\"Remark\":\"b\"}"), 0);
  assert_int_equal(rel_txn_put(&t, a, REL_K_FRIEND, "carl", "{}"), 0);
  assert_int_equal(rel_txn_del(&t, a, REL_K_FRIEND, "carl"), 0);
  assert_int_equal(rel_txn_put(&t, app, REL_K_APP, "c2c_friendship_required", "true"), 0);
  assert_int_equal(store_exec(s, "BEGIN"), 0);
  assert_int_equal(rel_txn_write(s, &t), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  rel_txn_free(&t);
  rel_free(r);

  assert_int_equal(rel_create(&r), 0);
  assert_int_equal(rel_load(r, s), 0);
  a = rel_user(r, 7, alice);
  assert_non_null(a);
  assert_string_equal(a->id, "alice");
  assert_int_equal(rel_count(a, REL_K_FRIEND), 1);
  assert_string_equal(rel_val(a, REL_K_FRIEND, "bob"), "{\"Remark\":\"b\"}");
  assert_string_equal(rel_val(rel_user(r, 7, 0), REL_K_APP, "c2c_friendship_required"), "true");
  assert_null(rel_user(r, 7, bob));
  /* the reverse index is built by the load too */
  assert_string_equal(holders_of(r, 7, "bob"), "alice,");
  rel_free(r);
  store_close(s);
  test_tmpdir_remove(dir);
}

/* Who holds a UserID as a friend: kept through puts, deletes, undo and a dropped user; other apps and
 * other kinds of rows are not holders. */
static void test_friend_holders(void **st)
{
  (void)st;
  rel_t *r;
  assert_int_equal(rel_create(&r), 0);
  rel_user_t *a = rel_user_ensure(r, 7, 1, "ann"), *b = rel_user_ensure(r, 7, 2, "ben"), *x = rel_user_ensure(r, 8, 1, "ann");
  rel_txn_t t;
  rel_txn_init(&t, r);
  assert_int_equal(rel_txn_put(&t, a, REL_K_FRIEND, "zed", "{}"), 0);
  assert_int_equal(rel_txn_put(&t, b, REL_K_FRIEND, "zed", "{}"), 0);
  assert_int_equal(rel_txn_put(&t, b, REL_K_FRIEND, "zed", "{\"Remark\":\"again\"}"), 0); /* a replaced row: once */
  assert_int_equal(rel_txn_put(&t, x, REL_K_FRIEND, "zed", "{}"), 0);                       /* another app */
  assert_int_equal(rel_txn_put(&t, a, REL_K_BLACK, "yan", "1"), 0);                           /* not a friend row */
  rel_txn_free(&t);
  assert_string_equal(holders_of(r, 7, "zed"), "ann,ben,");
  assert_string_equal(holders_of(r, 8, "zed"), "ann,");
  assert_string_equal(holders_of(r, 7, "yan"), "");
  rel_txn_init(&t, r);
  assert_int_equal(rel_txn_del(&t, a, REL_K_FRIEND, "zed"), 0);
  assert_string_equal(holders_of(r, 7, "zed"), "ben,");
  rel_txn_undo(&t); /* the delete undone: ann holds zed again */
  rel_txn_free(&t);
  assert_string_equal(holders_of(r, 7, "zed"), "ann,ben,");
  rel_user_drop(r, 7, 2);
  assert_string_equal(holders_of(r, 7, "zed"), "ann,");
  rel_free(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rows_sorted_and_counted),
    cmocka_unit_test(test_undo_restores_newest_first),
    cmocka_unit_test(test_friend_holders),
    cmocka_unit_test(test_write_and_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
