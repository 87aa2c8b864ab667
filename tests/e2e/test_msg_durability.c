/* End-to-end durability of messages: a client process keeps WINDOW sends in
 * flight on each of USERS WebSocket connections (random peers) and records
 * every acknowledged message; the server is killed with SIGKILL in the
 * middle of it. After a restart every acknowledged message must be stored
 * with the sequence its acknowledgement named, each conversation's seq and
 * each user's useq must still run 1..max without a gap, each user's
 * conversation rows must name their conversation's newest message, and new
 * messages continue right after the old maximum. Once as configured, once
 * with a checkpoint after nearly every batch (store_ckpt.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "im/c2c.h"
#include "store/store_msg.h"

#define USERS 6
#define WINDOW 16

static e2e_server_t srv;
static uint32_t app;
static char key[80];

/* Child: pipelined sends from every user; one line per acknowledgement. */
static void client(const char *ack_path)
{
  FILE *acks = fopen(ack_path, "w");
  wsc_t ws[USERS];
  int inflight[USERS] = { 0 }, n = 0;
  uint64_t rng = 88172645463325252ULL;
  for (int u = 0; u < USERS; u++) {
    char user[16];
    snprintf(user, sizeof user, "k%d", u);
    if (wsc_login(&ws[u], srv.port, app, key, user, "Web")) _exit(0);
  }
  for (;;) {
    for (int u = 0; u < USERS; u++) {
      while (inflight[u] < WINDOW) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        int to = (int)(rng % (USERS - 1));
        if (to >= u) to++;
        char frame[256];
        n++;
        snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"send\",\"to\":\"k%d\",\"random\":%d,\"body\":"
                 "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%d\"}}]}", to, to, n, n);
        if (e2e_ws_send_text(ws[u].fd, frame)) _exit(0);
        inflight[u]++;
      }
      if (wsc_read(&ws[u], 3000)) _exit(0);
      json_t *r = ws[u].stash[--ws[u].n];
      if (jint(r, "code") != 0) _exit(0);
      /* from to seq msg_key */
      fprintf(acks, "%d %d %lld %s\n", u, (int)jint(r, "id"), (long long)jint(r, "seq"), jstr(r, "msg_key"));
      fflush(acks);
      json_decref(r);
      inflight[u]--;
    }
  }
}

typedef struct found { uint32_t seq; int n; } found_t;
static void take(void *ud, const store_msg_t *m) { found_t *f = ud; f->seq = m->seq; f->n++; }

static uint32_t last_seq;
static int gaps;
static void seq_walk(void *ud, const store_msg_t *m)
{
  (void)ud;
  if (last_seq && m->seq != last_seq - 1) gaps++; /* newest first */
  last_seq = m->seq;
}

static uint32_t last_useq;
static void useq_walk(void *ud, const store_inbox_ev_t *e)
{
  (void)ud;
  if (e->useq != last_useq + 1) gaps++;
  last_useq = e->useq;
}

/* Lines in the acknowledgement file so far (0 before the child created it). */
static int ack_lines(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int n = 0, c;
  while ((c = getc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

/* args: the server's extra arguments (the first start only); ckpt: checkpoints
 * (2: pinned rounds) must have run before the kill; 3: the writer must have
 * waited for its pace (writer_pace_us) before the kill. */
static void kill9_keeps_acknowledged_messages(const char *const *args, int ckpt)
{
  char ack_path[300];
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  const char *users[USERS + 1] = { "k0", "k1", "k2", "k3", "k4", "k5", NULL };
  import_users(srv.port, app, key, users);
  snprintf(ack_path, sizeof ack_path, "%s/acks.txt", srv.dir);
  pid_t pid = fork();
  if (pid == 0) client(ack_path);
  /* kill once enough sends were acknowledged (a loaded box may take a while
   * to log six users in), then a little later so the kill lands mid-flow */
  for (int waited = 0; ack_lines(ack_path) < 300 && waited < 30000; waited += 20) usleep(20 * 1000);
  usleep(300 * 1000);
  if (ckpt == 3) assert_true(e2e_healthz_stat(srv.port, "sync", "paced") > 0);
  else if (ckpt) assert_true(e2e_healthz_stat(srv.port, "ckpt", ckpt == 2 ? "pinned" : "runs") > 0);
  e2e_server_kill(&srv);          /* SIGKILL while messages are flowing */
  waitpid(pid, NULL, 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);

  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  uint32_t no[USERS];
  for (int u = 0; u < USERS; u++) assert_int_equal(store_account_get(s, app, users[u], &no[u]), 0);
  FILE *f = fopen(ack_path, "r");
  assert_non_null(f);
  int from, to, total = 0;
  long long seq;
  char mk[64];
  while (fscanf(f, "%d %d %lld %63s", &from, &to, &seq, mk) == 4) {
    uint32_t cseq, random;
    int64_t t;
    assert_int_equal(im_msg_key_parse(mk, &cseq, &random, &t), 0);
    found_t fd = { 0, 0 };
    int rc = store_msg_find_key(s, app, store_c2c_conv(no[from], no[to]), cseq, random, t, take, &fd);
    if (rc || fd.n != 1 || fd.seq != (uint32_t)seq)
      fail_msg("acknowledged message %s (k%d→k%d seq %lld) lost after kill -9 (rc %d)", mk, from, to, seq, rc);
    total++;
  }
  fclose(f);
  /* gap-free after the crash: every conversation and every user's inbox */
  for (int a = 0; a < USERS; a++) {
    for (int b = a + 1; b < USERS; b++) {
      last_seq = 0;
      assert_int_equal(store_msg_history(s, app, store_c2c_conv(no[a], no[b]), 0, 0, 0, INT64_MAX, 1000000, seq_walk, NULL), 0);
      if (last_seq > 1) gaps++;  /* the oldest must be seq 1 */
    }
    uint32_t max;
    last_useq = 0;
    assert_int_equal(store_msg_inbox_page(s, app, no[a], 0, 1000000, 0, useq_walk, NULL, &max), 0);
    assert_int_equal(last_useq, max);
  }
  assert_int_equal(gaps, 0);
  /* the conversation lists are exact: each row's last message is its
   * conversation's newest stored message, on both sides */
  for (int a = 0; a < USERS; a++) {
    for (int b = 0; b < USERS; b++) {
      if (a == b) continue;
      last_seq = 0;
      assert_int_equal(store_msg_history(s, app, store_c2c_conv(no[a], no[b]), 0, 0, 0, INT64_MAX, 1, seq_walk, NULL), 0);
      store_recent_t r;
      int rc = store_msg_recent_get(s, app, no[a], no[b], &r);
      if (!last_seq) continue;
      if (rc || r.last_seq != last_seq)
        fail_msg("k%d's conversation with k%d: last_seq %u, newest message %u (rc %d)", a, b, rc ? 0 : r.last_seq, last_seq, rc);
    }
  }
  /* the restarted server continues each conversation after its maximum */
  uint32_t max01 = 0;
  last_seq = 0;
  assert_int_equal(store_msg_history(s, app, store_c2c_conv(no[0], no[1]), 0, 0, 0, INT64_MAX, 1, seq_walk, NULL), 0);
  max01 = last_seq;
  store_close(s);
  json_t *r = v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"k0\",\"To_Account\":\"k1\",\"MsgRandom\":987654321,\"SyncOtherMachine\":1,"
                 "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"after\"}}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  assert_int_equal(store_open(srv.dir, &s), 0);
  last_seq = 0;
  assert_int_equal(store_msg_history(s, app, store_c2c_conv(no[0], no[1]), 0, 0, 0, INT64_MAX, 1, seq_walk, NULL), 0);
  assert_int_equal(last_seq, max01 + 1);
  store_close(s);
  print_message("%d acknowledged messages survived kill -9\n", total);
  assert_true(total > 100);
  assert_int_equal(e2e_server_stop(&srv), 0);
  e2e_dir_remove(&srv);
}

static void test_kill9_keeps_acknowledged_messages(void **st)
{
  (void)st;
  kill9_keeps_acknowledged_messages(NULL, 0);
}

/* The same with a checkpoint after nearly every batch (a 16-page threshold):
 * the kill lands during a checkpoint or just after one, when the WAL was
 * restarted over frames already copied; nothing acknowledged is lost. */
static void test_kill9_during_checkpoints(void **st)
{
  (void)st;
  static const char *const args[] = { "--wal-checkpoint-pages", "16", NULL };
  kill9_keeps_acknowledged_messages(args, 1);
}

/* The same with pinned checkpoint rounds (store_ckpt.h): a round's database
 * sync on its own thread, the WAL kept from restarting meanwhile. */
static void test_kill9_during_pinned_checkpoints(void **st)
{
  (void)st;
  static const char *const args[] = { "--wal-checkpoint-pages", "16", "--wal-checkpoint-pinned", "1", NULL };
  kill9_keeps_acknowledged_messages(args, 2);
}

/* The same with COMMITs paced (writer_pace_us, off by default; store-pipeline-pacing.md
 * "Pacing"): a paced transaction gathers later sends into its COMMIT, and
 * none of them is acknowledged before the sync that covers it. */
static void test_kill9_with_paced_commits(void **st)
{
  (void)st;
  static const char *const args[] = { "--writer-pace-us", "4000", NULL };
  kill9_keeps_acknowledged_messages(args, 3);
}

/* A resend inside the dedupe window after kill -9 and a restart is the same
 * message: the original MsgKey, stored once. The window is read from the
 * database (the (conv, sdkappid, random) index), so a restart keeps it; the
 * writer skips the lookup only in a conversation that has no message yet,
 * and after the restart it learns the conversation is not empty from
 * max(seq). */
static void test_resend_after_kill9_is_deduplicated(void **st)
{
  (void)st;
  const char *send = "{\"From_Account\":\"r0\",\"To_Account\":\"r1\",\"MsgRandom\":4242,\"MsgBody\":"
                     "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"once\"}}]}";
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  import_users(srv.port, app, key, (const char *const[]){ "r0", "r1", NULL });
  json_t *x = v4(srv.port, app, key, "openim/sendmsg", "%s", send);
  assert_int_equal(jint(x, "ErrorCode"), 0);
  e2e_server_kill(&srv);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  json_t *y = v4(srv.port, app, key, "openim/sendmsg", "%s", send);
  assert_int_equal(jint(y, "ErrorCode"), 0);
  assert_string_equal(jstr(x, "MsgKey"), jstr(y, "MsgKey"));
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"r0\",\"Peer_Account\":\"r1\",\"MaxCnt\":20,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(h, "MsgCnt"), 1);
  json_decref(x);
  json_decref(y);
  json_decref(h);
  assert_int_equal(e2e_server_stop(&srv), 0);
  e2e_dir_remove(&srv);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_kill9_keeps_acknowledged_messages),
                                      cmocka_unit_test(test_kill9_during_checkpoints),
                                      cmocka_unit_test(test_kill9_during_pinned_checkpoints),
                                      cmocka_unit_test(test_kill9_with_paced_commits),
                                      cmocka_unit_test(test_resend_after_kill9_is_deduplicated) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
