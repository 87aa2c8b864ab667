/* End-to-end durability of groups ("nothing acknowledged is ever lost"): a
 * client process keeps requests in flight over several connections — REST
 * create_group, add_group_member, modify_group_member_info (role, mute),
 * delete_group_member, change_group_owner and destroy_group on groups of its
 * own (one change in flight per group), send_group_msg, import_group_msg
 * and set_unread_msg_num, WebSocket group_send from two members — and
 * records every acknowledgement; a watcher member records the pushes it
 * got. The server is killed with SIGKILL at a different point in each of
 * three rounds and restarted, then checked through the real interfaces:
 *  - each group is exactly in the state of its acknowledged changes, or of
 *    those plus the one still in flight (never half a change: a group
 *    without its owner, a member of a destroyed group); get_joined_group_list
 *    of every user agrees with the member lists;
 *  - group sequences run 1..last without a gap, every acknowledged message
 *    at its acknowledged MsgSeq, NextMsgSeq and LastMsgTime as stored;
 *  - new messages continue the sequence; the watcher's group_sync from its
 *    last cursor returns exactly what it missed;
 *  - unread counts are the last acknowledged set_unread_msg_num (or the one
 *    in flight);
 *  - a live room (AVChatRoom, docs/decisions/groups-live.md §8) keeps its row and
 *    its mutes; its members were sessions, so it is empty after the restart
 *    and a client joins again.
 * And a resend after kill -9 within the dedupe window is the message the
 * lost acknowledgement named. */
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
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"

#define NU 20          /* users p0..p19 */
#define ROUNDS 3
#define NG_MAX 40      /* structure groups per round */
#define G_ACTIVE 8     /* structure groups with a change in flight at once */
#define WIN 16         /* REST sends in flight */
#define WS_WIN 8       /* WebSocket sends in flight per sender */
#define MSG_MAX 100000


static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const mg[2] = { "mg0", "mg1" };

/* ---- the structure script: one group's changes, in order ------------------------------- */
static int steps_of(int i) { return i % 3 == 0 ? 7 : 6; }

static void who(int round, int i, int *u)
{
  for (int k = 0; k < 7; k++) u[k] = (i * 7 + round * 3 + k) % NU;
}

/* The request of step `step` of group i: command into cmd, body into body. */
static void step_req(int round, int i, int step, const char **cmd, char *body, size_t cap)
{
  int u[7];
  who(round, i, u);
  char gid[32];
  snprintf(gid, sizeof gid, "s%d_%d", round, i);
  switch (step) {
  case 0:
    *cmd = G("create_group");
    snprintf(body, cap, "{\"Owner_Account\":\"p%d\",\"Type\":\"Public\",\"GroupId\":\"%s\",\"Name\":\"n\",\"MemberList\":"
             "[{\"Member_Account\":\"p%d\"},{\"Member_Account\":\"p%d\"},{\"Member_Account\":\"p%d\"},{\"Member_Account\":\"p%d\"}]}",
             u[0], gid, u[1], u[2], u[3], u[4]);
    break;
  case 1:
    *cmd = G("add_group_member");
    snprintf(body, cap, "{\"GroupId\":\"%s\",\"MemberList\":[{\"Member_Account\":\"p%d\"},{\"Member_Account\":\"p%d\"}]}", gid, u[5], u[6]);
    break;
  case 2:
    *cmd = G("modify_group_member_info");
    snprintf(body, cap, "{\"GroupId\":\"%s\",\"Member_Account\":\"p%d\",\"Role\":\"Admin\"}", gid, u[1]);
    break;
  case 3:
    *cmd = G("modify_group_member_info");
    snprintf(body, cap, "{\"GroupId\":\"%s\",\"Member_Account\":\"p%d\",\"MuteTime\":3600}", gid, u[2]);
    break;
  case 4:
    *cmd = G("delete_group_member");
    snprintf(body, cap, "{\"GroupId\":\"%s\",\"MemberToDel_Account\":[\"p%d\"]}", gid, u[3]);
    break;
  case 5:
    *cmd = G("change_group_owner");
    snprintf(body, cap, "{\"GroupId\":\"%s\",\"NewOwner_Account\":\"p%d\"}", gid, u[1]);
    break;
  default:
    *cmd = G("destroy_group");
    snprintf(body, cap, "{\"GroupId\":\"%s\"}", gid);
    break;
  }
}

/* The members of group i after its first k steps: role per user (0 none,
 * 1 member, 2 admin, 3 owner; +4 muted); returns 0 when the group does not
 * exist then. */
static int model(int round, int i, int k, int *role)
{
  int u[7];
  who(round, i, u);
  memset(role, 0, NU * sizeof *role);
  if (k < 1 || k == 7) return 0;
  role[u[0]] = 3;
  for (int m = 1; m <= 4; m++) role[u[m]] = 1;
  if (k >= 2) role[u[5]] = role[u[6]] = 1;
  if (k >= 3) role[u[1]] = 2;
  if (k >= 4) role[u[2]] |= 4;
  if (k >= 5) role[u[3]] = 0;
  if (k >= 6) { role[u[1]] = 3; role[u[0]] = 1; }
  return 1;
}

/* ---- the client (child process) ------------------------------------------------------- */
typedef struct hconn { int fd, n, q[64]; } hconn_t; /* q: what each request in flight was, oldest first */

static void http_send(hconn_t *h, const char *sig, const char *cmd, const char *body, int tag)
{
  char req[8192];
  int n = snprintf(req, sizeof req,
                   "POST /v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=1&contenttype=json HTTP/1.1\r\n"
                   "Host: x\r\nContent-Length: %zu\r\n\r\n%s", cmd, app, sig, strlen(body), body);
  if (e2e_send(h->fd, req, (size_t)n)) _exit(0);
  h->q[h->n++] = tag;
}

/* The reply of the oldest request in flight (parsed; exits when the server is gone); its tag into *tag. */
static json_t *http_take(hconn_t *h, int *tag)
{
  static char body[1 << 16];
  if (e2e_http_read(h->fd, body, sizeof body, 3000) != 200) _exit(0);
  *tag = h->q[0];
  memmove(h->q, h->q + 1, (size_t)--h->n * sizeof h->q[0]);
  json_t *j = json_loads(body, 0, NULL);
  if (!j) _exit(0);
  return j;
}

/* The next reply (a frame with an id) on a WebSocket; pushes are dropped. */
static json_t *ws_take(wsc_t *w)
{
  for (;;) {
    if (wsc_read(w, 3000)) _exit(0);
    json_t *o = w->stash[--w->n];
    if (json_object_get(o, "id")) return o;
    json_decref(o);
  }
}

static void client(int round, const char *ack_path, const char *st_path)
{
  FILE *acks = fopen(ack_path, "w"), *sts = fopen(st_path, "w");
  char sig[1024], body[4096];
  const char *cmd;
  e2e_usersig(app, key, "administrator", 3600, sig, sizeof sig);
  hconn_t st = { 0 }, snd = { 0 }, imp = { 0 }, unr = { 0 };
  st.fd = e2e_connect(srv.port);
  snd.fd = e2e_connect(srv.port);
  imp.fd = e2e_connect(srv.port);
  unr.fd = e2e_connect(srv.port);
  wsc_t ws[2];
  if (st.fd < 0 || snd.fd < 0 || imp.fd < 0 || unr.fd < 0 || wsc_login(&ws[0], srv.port, app, key, "p1", "Web") ||
      wsc_login(&ws[1], srv.port, app, key, "p2", "Web"))
    _exit(0);
  int next_step[NG_MAX] = { 0 }, busy[NG_MAX] = { 0 }, started = 0, n = 0, ws_in[2] = { 0 }, unr_busy[4] = { 0 }, unr_k = 0;
  for (;;) {
    /* structure: at most one change in flight per group, G_ACTIVE groups at once */
    int active = 0;
    for (int i = 0; i < started; i++) active += next_step[i] < steps_of(i);
    if (active < G_ACTIVE && started < NG_MAX) started++;
    for (int i = 0; i < started; i++) {
      if (busy[i] || next_step[i] >= steps_of(i)) continue;
      step_req(round, i, next_step[i], &cmd, body, sizeof body);
      fprintf(sts, "s %d %d\n", i, next_step[i]);
      fflush(sts); /* before the request leaves: _exit on the kill flushes nothing */
      http_send(&st, sig, cmd, body, i);
      busy[i] = 1;
    }
    if (st.n) {
      int i;
      json_t *r = http_take(&st, &i);
      if (jint(r, "ErrorCode") != 0) fprintf(sts, "E %d %d %lld\n", i, next_step[i], (long long)jint(r, "ErrorCode"));
      else fprintf(sts, "S %d %d\n", i, next_step[i]++);
      fflush(sts);
      busy[i] = 0;
      json_decref(r);
    }
    /* send_group_msg from p0 to both groups */
    while (snd.n < WIN) {
      n++;
      snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"From_Account\":\"p0\",\"Random\":%d,\"MsgBody\":"
               "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"r%dn%d\"}}]}", mg[n & 1], round * 1000000 + n, round, n);
      http_send(&snd, sig, G("send_group_msg"), body, n);
    }
    {
      int t;
      json_t *r = http_take(&snd, &t);
      if (jint(r, "ErrorCode") == 0) fprintf(acks, "M %d %lld r%dn%d\n", t & 1, (long long)jint(r, "MsgSeq"), round, t);
      fflush(acks);
      json_decref(r);
    }
    /* import_group_msg from p3, an hour ago */
    while (imp.n < 4) {
      n++;
      snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"MsgList\":[{\"From_Account\":\"p3\",\"SendTime\":%lld,\"Random\":%d,"
               "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"r%dn%d\"}}]}]}",
               mg[n & 1], (long long)time(NULL) - 3600, n, round, n);
      http_send(&imp, sig, G("import_group_msg"), body, n);
    }
    {
      int t;
      json_t *r = http_take(&imp, &t), *e = json_array_get(json_object_get(r, "ImportMsgResult"), 0);
      if (jint(r, "ErrorCode") == 0 && jint(e, "Result") == 0)
        fprintf(acks, "M %d %lld r%dn%d\n", t & 1, (long long)jint(e, "MsgSeq"), round, t);
      fflush(acks);
      json_decref(r);
    }
    /* set_unread_msg_num of p6..p9 in q: one in flight per member */
    for (int m = 0; m < 4; m++) {
      if (unr_busy[m]) continue;
      int want = 1 + unr_k++ % 5;
      fprintf(acks, "u %d %d\n", m, want);
      fflush(acks);
      snprintf(body, sizeof body, "{\"GroupId\":\"q\",\"Member_Account\":\"p%d\",\"UnreadMsgNum\":%d}", 6 + m, want);
      http_send(&unr, sig, G("set_unread_msg_num"), body, m * 100 + want);
      unr_busy[m] = 1;
    }
    {
      int t;
      json_t *r = http_take(&unr, &t);
      if (jint(r, "ErrorCode") == 0) fprintf(acks, "U %d %d\n", t / 100, t % 100);
      fflush(acks);
      unr_busy[t / 100] = 0;
      json_decref(r);
    }
    /* WebSocket group_send from p1 and p2 */
    for (int w = 0; w < 2; w++) {
      while (ws_in[w] < WS_WIN) {
        n++;
        char frame[512];
        snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"group_send\",\"group_id\":\"%s\",\"random\":%d,\"body\":"
                 "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"r%dn%d\"}}]}", n, mg[n & 1], round * 1000000 + n,
                 round, n);
        if (e2e_ws_send_text(ws[w].fd, frame)) _exit(0);
        ws_in[w]++;
      }
      json_t *r = ws_take(&ws[w]);
      int t = (int)jint(r, "id");
      if (jint(r, "code") == 0) fprintf(acks, "M %d %lld r%dn%d\n", t & 1, (long long)jint(r, "seq"), round, t);
      fflush(acks);
      ws_in[w]--;
      json_decref(r);
    }
  }
}

/* The watcher p5: its cursor in each message group, as group_sync and then
 * the pushes it got without a gap moved it; one line per move. */
static void watcher(const char *path)
{
  FILE *f = fopen(path, "w");
  wsc_t w;
  uint32_t cur[2];
  if (wsc_login(&w, srv.port, app, key, "p5", "Web")) _exit(0);
  for (int g = 0; g < 2; g++) {
    cur[g] = 0;
    for (;;) {
      json_t *r = wsc_rpc(&w, "group_sync", "\"group_id\":\"%s\",\"after_seq\":%u,\"limit\":100", mg[g], cur[g]);
      if (!r || jint(r, "code")) _exit(0);
      cur[g] = (uint32_t)jint(r, "seq");
      int done = json_is_true(json_object_get(r, "complete"));
      json_decref(r);
      if (done) break;
    }
    fprintf(f, "W %d %u\n", g, cur[g]);
  }
  fflush(f);
  for (;;) {
    json_t *p = wsc_push(&w, "group_msg", 5000);
    if (!p) _exit(0);
    for (int g = 0; g < 2; g++) {
      if (strcmp(jstr(p, "group_id"), mg[g]) || jint(p, "msg.seq") != cur[g] + 1) continue;
      fprintf(f, "W %d %u\n", g, ++cur[g]);
      fflush(f);
    }
    json_decref(p);
  }
}

/* ---- what the parent knows ---------------------------------------------------------------- */
typedef struct acked { int g; uint32_t seq; char text[24]; } acked_t;
static acked_t *msgs;
static int n_msgs;
static int kdone[ROUNDS][NG_MAX]; /* each structure group's steps in storage, once its round was checked (-1: unknown) */
static int unread_ok[4][2];        /* what each member's unread count may be: acknowledged, in flight (-1: none) */
static uint32_t cursor[2];         /* the watcher's cursor */

static int lines_of(const char *path, char c)
{
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int n = 0;
  char line[128];
  while (fgets(line, sizeof line, f)) n += line[0] == c;
  fclose(f);
  return n;
}

static void read_acks(const char *ack_path, const char *watch_path)
{
  FILE *f = fopen(ack_path, "r");
  assert_non_null(f);
  char line[128];
  int last_sent[4] = { -1, -1, -1, -1 }, last_ack[4] = { -1, -1, -1, -1 }, sent_after[4] = { 0 };
  while (fgets(line, sizeof line, f)) {
    int g, m, v;
    unsigned seq;
    char text[24];
    if (sscanf(line, "M %d %u %23s", &g, &seq, text) == 3) {
      assert_true(n_msgs < MSG_MAX);
      msgs[n_msgs].g = g;
      msgs[n_msgs].seq = seq;
      snprintf(msgs[n_msgs++].text, sizeof msgs[0].text, "%s", text);
    } else if (sscanf(line, "u %d %d", &m, &v) == 2) {
      last_sent[m] = v;
      sent_after[m] = 1;
    } else if (sscanf(line, "U %d %d", &m, &v) == 2) {
      last_ack[m] = v;
      sent_after[m] = 0;
    }
  }
  fclose(f);
  for (int m = 0; m < 4; m++) {
    if (last_ack[m] >= 0) unread_ok[m][0] = last_ack[m];
    unread_ok[m][1] = sent_after[m] ? last_sent[m] : -1; /* in flight at the kill: this one or the one before */
  }
  f = fopen(watch_path, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    int g;
    unsigned seq;
    if (sscanf(line, "W %d %u", &g, &seq) == 2) cursor[g] = seq;
  }
  fclose(f);
}

/* ---- checks after a restart ----------------------------------------------------------------- */
/* The group's actual members: role per user as model() gives it; 0 if the group is gone. The
 * group's own figures must agree with its list: MemberNum, an owner that is a member as Owner. */
static int actual(const char *gid, int *role)
{
  memset(role, 0, NU * sizeof *role);
  json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", gid), *gi = json_array_get(json_object_get(r, "GroupInfo"), 0);
  if (jint(gi, "ErrorCode") != 0) { json_decref(r); return 0; }
  json_int_t num = jint(gi, "MemberNum");
  char owner[40];
  snprintf(owner, sizeof owner, "%s", jstr(gi, "Owner_Account"));
  json_decref(r);
  r = call(G("get_group_member_info"), "{\"GroupId\":\"%s\",\"Limit\":100}", gid);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *list = json_object_get(r, "MemberList"), *e;
  size_t i;
  if ((json_int_t)json_array_size(list) != num) fail_msg("%s: MemberNum %lld, %zu listed", gid, (long long)num, json_array_size(list));
  json_array_foreach(list, i, e) {
    int u = atoi(jstr(e, "Member_Account") + 1);
    const char *rn = jstr(e, "Role");
    role[u] = !strcmp(rn, "Owner") ? 3 : !strcmp(rn, "Admin") ? 2 : 1;
    if (jint(e, "MuteUntil") > 0) role[u] |= 4;
    if (role[u] == 3 && strcmp(owner, jstr(e, "Member_Account")))
      fail_msg("%s: Owner_Account %s, the owner listed is %s", gid, owner, jstr(e, "Member_Account"));
  }
  if (owner[0] && role[atoi(owner + 1)] != 3) fail_msg("%s: its owner %s is not its member as Owner", gid, owner);
  if (!owner[0]) fail_msg("%s: a group without its owner", gid);
  json_decref(r);
  return 1;
}

static void check_structure(int round, const char *st_path)
{
  int acked[NG_MAX], sent[NG_MAX];
  for (int i = 0; i < NG_MAX; i++) acked[i] = sent[i] = 0;
  FILE *f = fopen(st_path, "r");
  assert_non_null(f);
  char line[128];
  int in_round = 0, in_flight = 0, done_in_flight = 0;
  while (fgets(line, sizeof line, f)) {
    int i, s;
    long long code;
    if (sscanf(line, "E %d %d %lld", &i, &s, &code) == 3) fail_msg("s%d_%d step %d refused: %lld", round, i, s, code);
    if (sscanf(line, "s %d %d", &i, &s) == 2) sent[i] = s + 1;
    if (sscanf(line, "S %d %d", &i, &s) == 2) { acked[i] = s + 1; in_round++; }
  }
  fclose(f);
  for (int i = 0; i < NG_MAX; i++) kdone[round][i] = acked[i] < sent[i] ? -1 : acked[i];
  for (int r = 0; r <= round; r++) {
    for (int i = 0; i < NG_MAX; i++) {
      char gid[32];
      int want[NU], got[NU], want2[NU];
      snprintf(gid, sizeof gid, "s%d_%d", r, i);
      int exists = actual(gid, got);
      int k = kdone[r][i];
      if (k < 0) { /* a change was in flight at the kill: done or not done, never half */
        int w1 = model(r, i, acked[i], want), w2 = model(r, i, acked[i] + 1, want2);
        if (exists == w1 && !memcmp(got, want, sizeof want)) k = acked[i];
        else if (exists == w2 && !memcmp(got, want2, sizeof want2)) k = acked[i] + 1;
        else fail_msg("%s: neither its %d acknowledged changes nor those and the one in flight", gid, acked[i]);
        kdone[r][i] = k;
        in_flight++;
        done_in_flight += k > acked[i];
        continue;
      }
      int w = model(r, i, k, want);
      if (exists != w || memcmp(got, want, sizeof want)) {
        for (int u = 0; u < NU; u++)
          if (got[u] != want[u]) print_message("%s p%d: role %d, want %d\n", gid, u, got[u], want[u]);
        fail_msg("%s: not in the state of its %d acknowledged changes (exists %d, want %d)", gid, k, exists, w);
      }
    }
  }
  print_message("round %d: %d structure changes acknowledged, %d in flight at the kill (%d of them stored)\n", round,
                in_round, in_flight, done_in_flight);
  /* every user's joined list agrees with the member lists */
  for (int u = 0; u < NU; u++) {
    json_t *r = call(G("get_joined_group_list"), "{\"Member_Account\":\"p%d\",\"WithNoActiveGroups\":1}", u), *e;
    assert_int_equal(jint(r, "ErrorCode"), 0);
    int listed[ROUNDS][NG_MAX] = { { 0 } };
    size_t i;
    json_array_foreach(json_object_get(r, "GroupIdList"), i, e) {
      int gr, gi;
      const char *gid = jstr(e, "GroupId");
      if (sscanf(gid, "s%d_%d", &gr, &gi) != 2) continue;
      listed[gr][gi] = 1;
    }
    json_decref(r);
    for (int gr = 0; gr <= round; gr++) {
      for (int gi = 0; gi < NG_MAX; gi++) {
        int want[NU];
        int exists = model(gr, gi, kdone[gr][gi], want);
        if (listed[gr][gi] != (exists && want[u] != 0))
          fail_msg("p%d: get_joined_group_list %s s%d_%d", u, listed[gr][gi] ? "lists" : "leaves out", gr, gi);
      }
    }
  }
}

typedef struct stored { int present, system; char text[24]; int64_t time; } stored_t;

/* Every message of group g as group_msg_get_simple pages show them: gap-free from 1; the last seq. */
static uint32_t read_group(int g, stored_t *out, size_t cap)
{
  memset(out, 0, cap * sizeof *out);
  uint32_t last = 0, low = 0;
  for (;;) {
    json_t *r = low ? call(G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":20,\"ReqMsgSeq\":%u}", mg[g], low - 1)
                    : call(G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":20}", mg[g]), *e;
    assert_int_equal(jint(r, "ErrorCode"), 0);
    size_t i;
    json_array_foreach(json_object_get(r, "RspMsgList"), i, e) {
      uint32_t seq = (uint32_t)jint(e, "MsgSeq");
      assert_true(seq > 0 && seq < cap);
      if (out[seq].present) fail_msg("%s: seq %u twice", mg[g], seq);
      out[seq].present = 1;
      out[seq].system = (int)jint(e, "IsSystemMsg");
      out[seq].time = jint(e, "MsgTimeStamp");
      snprintf(out[seq].text, sizeof out[seq].text, "%s", jstr(json_array_get(json_object_get(e, "MsgBody"), 0), "MsgContent.Text"));
      if (seq > last) last = seq;
      if (!low || seq < low) low = seq;
    }
    int fin = (int)jint(r, "IsFinished"), n = (int)json_array_size(json_object_get(r, "RspMsgList"));
    json_decref(r);
    if (fin == 1 || !n || low <= 1) break;
  }
  for (uint32_t s = 1; s <= last; s++)
    if (!out[s].present) fail_msg("%s: seq %u missing (last %u): a gap", mg[g], s, last);
  return last;
}

static void check_messages(stored_t *st[2], uint32_t last[2])
{
  for (int g = 0; g < 2; g++) {
    last[g] = read_group(g, st[g], MSG_MAX);
    json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", mg[g]), *gi = json_array_get(json_object_get(r, "GroupInfo"), 0);
    assert_int_equal(jint(gi, "NextMsgSeq"), last[g] + 1);
    int64_t newest = 0;
    for (uint32_t s = 1; s <= last[g]; s++)
      if (!st[g][s].system && st[g][s].time > newest) newest = st[g][s].time;
    if (jint(gi, "LastMsgTime") != newest)
      fail_msg("%s: LastMsgTime %lld after the restart, its newest message was sent at %lld", mg[g],
               (long long)jint(gi, "LastMsgTime"), (long long)newest);
    json_decref(r);
  }
  for (int i = 0; i < n_msgs; i++) {
    const stored_t *s = &st[msgs[i].g][msgs[i].seq];
    if (msgs[i].seq > last[msgs[i].g] || !s->present || strcmp(s->text, msgs[i].text))
      fail_msg("acknowledged %s seq %u \"%s\" lost after kill -9 (stored: \"%s\")", mg[msgs[i].g], msgs[i].seq,
               msgs[i].text, s->present ? s->text : "-");
  }
}

/* The watcher syncs from its last cursor: exactly the messages after it. */
static void check_watcher(stored_t *st[2], const uint32_t last[2])
{
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "p5", "Web"), 0);
  for (int g = 0; g < 2; g++) {
    uint32_t at = cursor[g], expect = cursor[g] + 1;
    for (;;) {
      json_t *r = wsc_rpc(&w, "group_sync", "\"group_id\":\"%s\",\"after_seq\":%u,\"limit\":100", mg[g], at), *m;
      assert_non_null(r);
      assert_int_equal(jint(r, "code"), 0);
      size_t i;
      json_array_foreach(json_object_get(r, "msgs"), i, m) {
        uint32_t seq = (uint32_t)jint(m, "seq");
        if (seq != expect) fail_msg("%s: group_sync after %u returned seq %u, want %u", mg[g], cursor[g], seq, expect);
        const char *t = jstr(json_array_get(json_object_get(m, "body"), 0), "MsgContent.Text");
        if (strcmp(t, st[g][seq].text)) fail_msg("%s seq %u: synced \"%s\", stored \"%s\"", mg[g], seq, t, st[g][seq].text);
        expect++;
      }
      at = (uint32_t)jint(r, "seq");
      int done = json_is_true(json_object_get(r, "complete"));
      json_decref(r);
      if (done) break;
    }
    if (expect != last[g] + 1) fail_msg("%s: group_sync from %u ended at %u, last %u", mg[g], cursor[g], expect - 1, last[g]);
    cursor[g] = last[g];
  }
  wsc_close(&w);
}

static void check_unread(void)
{
  for (int m = 0; m < 4; m++) {
    char user[16];
    wsc_t w;
    snprintf(user, sizeof user, "p%d", 6 + m);
    assert_int_equal(wsc_login(&w, srv.port, app, key, user, "Web"), 0);
    json_t *r = wsc_rpc(&w, "group_list", "%s", ""), *e;
    assert_non_null(r);
    size_t i;
    json_int_t unread = -1;
    json_array_foreach(json_object_get(r, "groups"), i, e) if (!strcmp(jstr(e, "group_id"), "q")) unread = jint(e, "unread");
    json_decref(r);
    if (unread != unread_ok[m][0] && unread != unread_ok[m][1])
      fail_msg("%s: %lld unread in q, acknowledged %d (in flight %d)", user, (long long)unread, unread_ok[m][0], unread_ok[m][1]);
    unread_ok[m][0] = (int)unread;
    unread_ok[m][1] = -1;
    wsc_close(&w);
  }
}

/* After the restart the sequence goes on: one REST and one WebSocket message at last + 1, + 2. */
static void check_continue(uint32_t last[2], int round)
{
  json_t *r = call(G("send_group_msg"), "{\"GroupId\":\"mg0\",\"From_Account\":\"p0\",\"Random\":%d,\"MsgBody\":"
                   "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"after%d\"}}]}", 900000 + round, round);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(r, "MsgSeq"), last[0] + 1);
  acked_t *a = &msgs[n_msgs++];
  *a = (acked_t){ 0, last[0] + 1, "" };
  snprintf(a->text, sizeof a->text, "after%d", round);
  json_decref(r);
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "p1", "Web"), 0);
  r = wsc_rpc(&w, "group_send", "\"group_id\":\"mg1\",\"random\":%d,\"body\":" "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"ws%d\"}}]",
              910000 + round, round);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "seq"), last[1] + 1);
  a = &msgs[n_msgs++];
  *a = (acked_t){ 1, last[1] + 1, "" };
  snprintf(a->text, sizeof a->text, "ws%d", round);
  json_decref(r);
  wsc_close(&w);
}

/* A live room after kill -9: its row, owner and mutes are stored and stay; its members were sessions
 * of connections the restart ended, so it is empty and a client joins again (groups-live.md §8). */
static void check_live(wsc_t *old)
{
  int frames = 0;
  while (!wsc_read(old, 2000)) assert_true(++frames < 100000); /* what was pushed before the kill, then the end */
  wsc_close(old);                                             /* the session in the room went with the server */
  json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"live\"]}"), *gi = json_array_get(json_object_get(r, "GroupInfo"), 0);
  assert_int_equal(jint(gi, "ErrorCode"), 0);
  assert_string_equal(jstr(gi, "Owner_Account"), "p0");
  assert_string_equal(jstr(gi, "Type"), "AVChatRoom");
  assert_int_equal(jint(gi, "MemberNum"), 0);
  json_decref(r);
  r = call(G("get_group_muted_account"), "{\"GroupId\":\"live\"}");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "MutedAccountList"), 0), "Member_Account"), "p11");
  json_decref(r);
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "p10", "Web"), 0);
  r = wsc_rpc(&w, "group_send", "\"group_id\":\"live\",\"random\":1,\"body\":" TEXT("before join"));
  assert_int_equal(jint(r, "code"), 10007); /* not in the room until it joins again */
  json_decref(r);
  r = wsc_rpc(&w, "group_join", "\"group_id\":\"live\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = wsc_rpc(&w, "group_send", "\"group_id\":\"live\",\"random\":2,\"body\":" TEXT("after join"));
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "seq"), 0);
  json_decref(r);
  *old = w; /* in the room for the next round's kill */
}

static void setup_groups(wsc_t *live_member)
{
  for (int u = 0; u < NU; u++)
    json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"p%d\"}", u));
  for (int g = 0; g < 2; g++) {
    json_t *r = call(G("create_group"), "{\"Owner_Account\":\"p0\",\"Type\":\"Public\",\"GroupId\":\"%s\",\"Name\":\"m\",\"MemberList\":"
                     "[{\"Member_Account\":\"p1\"},{\"Member_Account\":\"p2\"},{\"Member_Account\":\"p3\"},{\"Member_Account\":\"p5\"}]}", mg[g]);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
    /* the first message writes the group row (LastMsgTime); the rounds begin in a later second */
    r = call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"p0\",\"Random\":999999999,\"MsgBody\":" TEXT("first") "}", mg[g]);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
  }
  json_t *r = call(G("create_group"), "{\"Owner_Account\":\"p0\",\"Type\":\"Private\",\"GroupId\":\"q\",\"Name\":\"q\",\"MemberList\":"
                   "[{\"Member_Account\":\"p6\"},{\"Member_Account\":\"p7\"},{\"Member_Account\":\"p8\"},{\"Member_Account\":\"p9\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  for (int i = 0; i < 5; i++) {
    r = call(G("send_group_msg"), "{\"GroupId\":\"q\",\"From_Account\":\"p0\",\"Random\":%d,\"MsgBody\":" TEXT("q") "}", i);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
  }
  for (int m = 0; m < 4; m++) {
    r = call(G("set_unread_msg_num"), "{\"GroupId\":\"q\",\"Member_Account\":\"p%d\",\"UnreadMsgNum\":5}", 6 + m);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
    unread_ok[m][0] = 5;
    unread_ok[m][1] = -1;
  }
  r = call(G("create_group"), "{\"Owner_Account\":\"p0\",\"Type\":\"AVChatRoom\",\"GroupId\":\"live\",\"Name\":\"l\"}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  r = call(G("forbid_send_msg"), "{\"GroupId\":\"live\",\"Members_Account\":[\"p11\"],\"MuteTime\":3600}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  assert_int_equal(wsc_login(live_member, srv.port, app, key, "p10", "Web"), 0);
  r = wsc_rpc(live_member, "group_join", "\"group_id\":\"live\"");
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
}

static void test_kill9_keeps_acknowledged_group_changes(void **st)
{
  (void)st;
  static const char *const args[] = { "--rest-rate-limit", "1000000", NULL };
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  msgs = calloc(MSG_MAX, sizeof *msgs);
  stored_t *stored[2] = { calloc(MSG_MAX, sizeof(stored_t)), calloc(MSG_MAX, sizeof(stored_t)) };
  assert_true(msgs && stored[0] && stored[1]);
  wsc_t live_member;
  setup_groups(&live_member);
  for (time_t t0 = time(NULL); time(NULL) == t0;) usleep(10000);
  /* kill points: after this many acknowledged structure changes (then a little later) */
  static const int kill_after[ROUNDS] = { 25, 70, 120 };
  for (int round = 0; round < ROUNDS; round++) {
    char ack_path[300], st_path[300], watch_path[300];
    snprintf(ack_path, sizeof ack_path, "%s/acks%d.txt", srv.dir, round);
    snprintf(st_path, sizeof st_path, "%s/structure%d.txt", srv.dir, round);
    snprintf(watch_path, sizeof watch_path, "%s/watch%d.txt", srv.dir, round);
    pid_t wpid = fork();
    if (wpid == 0) watcher(watch_path);
    for (int waited = 0; lines_of(watch_path, 'W') < 2; waited += 5) {
      if (waited > 20000) fail_msg("the watcher did not sync");
      usleep(5000);
    }
    pid_t pid = fork();
    if (pid == 0) client(round, ack_path, st_path);
    for (int waited = 0; waited < 20000 && lines_of(st_path, 'S') < kill_after[round]; waited += 5)
      usleep(5000);
    usleep((useconds_t)(round * 7919 % 40) * 1000);
    e2e_server_kill(&srv);          /* SIGKILL while every kind of change is in flight */
    waitpid(pid, NULL, 0);
    waitpid(wpid, NULL, 0);
    assert_int_equal(e2e_server_start(&srv, args), 0);
    read_acks(ack_path, watch_path);
    uint32_t last[2];
    check_structure(round, st_path);
    check_messages(stored, last);
    check_watcher(stored, last);
    check_unread();
    check_live(&live_member);
    check_continue(last, round);
    print_message("round %d: %d acknowledged messages survived kill -9 (mg0 %u, mg1 %u)\n", round, n_msgs, last[0], last[1]);
  }
  assert_true(n_msgs > 200);
  wsc_close(&live_member);
  free(msgs);
  free(stored[0]);
  free(stored[1]);
  assert_int_equal(e2e_server_stop(&srv), 0);
  e2e_dir_remove(&srv);
}

/* A client whose acknowledgement was lost with the server resends: within the dedupe window the REST
 * and the WebSocket resend after kill -9 and a restart are the same message (its MsgSeq and time,
 * stored once), as the window is read from storage (groups.md §5). */
static void test_resend_after_kill9_is_deduplicated(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  import_users(srv.port, app, key, (const char *const[]){ "r0", "r1", NULL });
  json_t *r = call(G("create_group"), "{\"Owner_Account\":\"r0\",\"Type\":\"Public\",\"GroupId\":\"rg\",\"Name\":\"r\","
                   "\"MemberList\":[{\"Member_Account\":\"r1\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  const char *send = "{\"GroupId\":\"rg\",\"From_Account\":\"r0\",\"Random\":4242,\"MsgBody\":" TEXT("once") "}";
  json_t *x = call(G("send_group_msg"), "%s", send);
  assert_int_equal(jint(x, "ErrorCode"), 0);
  wsc_t w;
  assert_int_equal(wsc_login(&w, srv.port, app, key, "r1", "Web"), 0);
  json_t *a = wsc_rpc(&w, "group_send", "\"group_id\":\"rg\",\"random\":77,\"body\":" TEXT("ws once"));
  assert_int_equal(jint(a, "code"), 0);
  wsc_close(&w);
  e2e_server_kill(&srv);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  json_t *y = call(G("send_group_msg"), "%s", send);
  assert_int_equal(jint(y, "ErrorCode"), 0);
  assert_int_equal(jint(y, "MsgSeq"), jint(x, "MsgSeq"));
  assert_int_equal(jint(y, "MsgTime"), jint(x, "MsgTime"));
  assert_int_equal(wsc_login(&w, srv.port, app, key, "r1", "Web"), 0);
  json_t *b = wsc_rpc(&w, "group_send", "\"group_id\":\"rg\",\"random\":77,\"body\":" TEXT("ws once"));
  assert_int_equal(jint(b, "code"), 0);
  assert_int_equal(jint(b, "seq"), jint(a, "seq"));
  assert_true(json_is_true(json_object_get(b, "dup")));
  wsc_close(&w);
  r = call(G("get_group_info"), "{\"GroupIdList\":[\"rg\"]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "GroupInfo"), 0), "NextMsgSeq"), jint(a, "seq") + 1);
  json_decref(r);
  json_decref(x);
  json_decref(y);
  json_decref(a);
  json_decref(b);
  assert_int_equal(e2e_server_stop(&srv), 0);
  e2e_dir_remove(&srv);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_kill9_keeps_acknowledged_group_changes),
                                      cmocka_unit_test(test_resend_after_kill9_is_deduplicated) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
