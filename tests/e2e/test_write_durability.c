/* End-to-end durability of every C2C write that is not a plain send
 * (docs/delivery.md, "Acknowledged means on disk"; sends alone:
 * test_msg_durability.c). Client processes run against the server at once
 * and write down every acknowledgement:
 * - a WebSocket driver keeps WINDOW ops in flight on each of USERS quiet
 *   sessions: sends, recalls of its own messages, read marks, pins and
 *   unpins, conversation deletes with and without clear;
 * - REST_DRIVERS REST drivers, one request in flight each: sendmsg,
 *   admin_msgwithdraw, modify_c2c_msg, admin_set_msg_read,
 *   recentcontact/delete (ClearRamble 0 and 1), importmsg
 *   (SyncFromOldSystem 2 and 5, between users of their own) and
 *   batchsendmsg;
 * - an observer: a live device of every user that writes down every push
 *   (its useq, kind and sequence).
 * The server is killed with SIGKILL at a random moment of the flow, ROUNDS
 * times (as configured, with a checkpoint after nearly every batch, with
 * paced COMMITs), and restarted. After each restart every acknowledged
 * change must be stored (a recall's flag, a modify's body, a read mark at
 * least as far, a pin in the state of the last acknowledged pin or of one
 * sent after it, a delete's hidden or cleared point, an import, a batch
 * target's message), every push must name an event the user's inbox holds
 * after the restart, and nothing may be half applied: each user's inbox
 * runs 1..max without a gap and each of its recall, modify, read and pin
 * events matches the state it announces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "im/c2c.h"
#include "store/store_msg.h"
#include "xorshift.h"

#define USERS 6          /* u0..u5: WebSocket and REST writes */
#define IMPORTERS 3      /* x0..x2: importmsg only (their times are old: apart from the read marks by time) */
#define ALL (USERS + IMPORTERS)
#define WINDOW 8
#define ROUNDS 3
#define REST_DRIVERS 3 /* REST clients at once, one request in flight each */
#define PIN_OPS 4096

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const names[ALL] = { "u0", "u1", "u2", "u3", "u4", "u5", "x0", "x1", "x2" };

/* What a pair of users is used for (either user's row of it): pins, deletes, or neither, so that no write
 * undoes another's checked effect (a delete unpins). */
enum { PAIR_PIN, PAIR_DELETE, PAIR_PLAIN };
static int pair_kind(int a, int b) { return (a + b) % 3; }

static int pick_peer(int u, int kind)
{
  for (;;) {
    int p = (int)(rnd() % USERS);
    if (p != u && (kind < 0 || pair_kind(u, p) == kind)) return p;
  }
}

static FILE *open_log(const char *name)
{
  char path[400];
  snprintf(path, sizeof path, "%s/%s", srv.dir, name);
  FILE *f = fopen(path, "a");
  if (!f) _exit(1);
  return f;
}

static void line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(FILE *f, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fflush(f);
}

/* ---- the WebSocket driver ------------------------------------------------------------------------ */
enum { W_SEND, W_RECALL, W_READ, W_PIN, W_DELETE };
typedef struct wop { int kind, u, p, v, pin_id; uint32_t seq; char key[48]; } wop_t;

/* Lines: S u p seq key (a message), C u p key (recalled), R u p seq (read at least to seq),
 * PI u p pinned id (a pin sent) and PA u p id (acknowledged), D u p clear seq (deleted after seq). */
static void ws_driver(int round)
{
  FILE *log = open_log("ws.txt");
  static wop_t pend[4096];
  static char mine[USERS][64][48];       /* each user's messages not yet recalled: key, peer in mine_p */
  static int mine_p[USERS][64], nmine[USERS];
  uint32_t maxseq[USERS][USERS] = { { 0 } };
  int pin_busy[USERS][USERS] = { { 0 } }, pins_sent[USERS][USERS] = { { 0 } }, inflight[USERS] = { 0 }, n = 0;
  rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)round * 7919;
  wsc_t ws[USERS];
  for (int u = 0; u < USERS; u++)
    if (wsc_login(&ws[u], srv.port, app, key, names[u], "Web")) _exit(0);
  for (;;) {
    for (int u = 0; u < USERS; u++) {
      while (inflight[u] < WINDOW) {
        char frame[512];
        int id = ++n, r = (int)(rnd() % 10);
        wop_t *o = &pend[id & 4095];
        memset(o, 0, sizeof *o);
        o->u = u;
        if (r == 5 && nmine[u]) {
          int k = (int)(rnd() % (uint64_t)nmine[u]);
          o->kind = W_RECALL;
          o->p = mine_p[u][k];
          snprintf(o->key, sizeof o->key, "%s", mine[u][k]);
          nmine[u]--; /* recalled once */
          memcpy(mine[u][k], mine[u][nmine[u]], sizeof mine[u][k]);
          mine_p[u][k] = mine_p[u][nmine[u]];
          snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"recall\",\"peer\":\"%s\",\"msg_key\":\"%s\"}", id,
                   names[o->p], o->key);
        } else if (r == 6 && maxseq[u][o->p = pick_peer(u, -1)]) {
          o->kind = W_READ;
          o->seq = maxseq[u][o->p];
          snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"read\",\"peer\":\"%s\",\"seq\":%u}", id, names[o->p], o->seq);
        } else if (r == 7 && !pin_busy[u][o->p = pick_peer(u, PAIR_PIN)] && pins_sent[u][o->p] < PIN_OPS / ROUNDS) {
          static int pin_ids, pin_next[USERS][USERS];
          pins_sent[u][o->p]++;
          o->kind = W_PIN;
          o->v = pin_next[u][o->p] = !pin_next[u][o->p];
          o->pin_id = round * 1000000 + ++pin_ids;
          pin_busy[u][o->p] = 1;
          line(log, "PI %d %d %d %d", u, o->p, o->v, o->pin_id);
          snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"pin\",\"peer\":\"%s\",\"pinned\":%s}", id, names[o->p],
                   o->v ? "true" : "false");
        } else if (r == 8) {
          o->kind = W_DELETE;
          o->p = pick_peer(u, PAIR_DELETE);
          o->v = (int)(rnd() & 1);
          o->seq = maxseq[u][o->p];
          snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"conv_delete\",\"peer\":\"%s\",\"clear\":%s}", id,
                   names[o->p], o->v ? "true" : "false");
        } else {
          o->kind = W_SEND;
          o->p = pick_peer(u, -1);
          snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"send\",\"to\":\"%s\",\"random\":%d,\"need_receipt\":%s,\"body\":"
                   TEXT("w%d") "}", id, names[o->p], round * 1000000 + id, id & 1 ? "true" : "false", id);
        }
        if (e2e_ws_send_text(ws[u].fd, frame)) _exit(0);
        inflight[u]++;
      }
      if (wsc_read(&ws[u], 3000)) _exit(0);
      json_t *r = ws[u].stash[--ws[u].n];
      wop_t *o = &pend[jint(r, "id") & 4095];
      inflight[u]--;
      if (o->kind == W_PIN) pin_busy[u][o->p] = 0;
      if (jint(r, "code")) { json_decref(r); continue; } /* refused: nothing acknowledged */
      switch (o->kind) {
      case W_SEND: {
        uint32_t seq = (uint32_t)jint(r, "seq");
        line(log, "S %d %d %u %s", u, o->p, seq, jstr(r, "msg_key"));
        if (seq > maxseq[u][o->p]) maxseq[u][o->p] = maxseq[o->p][u] = seq;
        if (nmine[u] < 64) { snprintf(mine[u][nmine[u]], sizeof mine[u][0], "%s", jstr(r, "msg_key")); mine_p[u][nmine[u]++] = o->p; }
        break;
      }
      case W_RECALL: line(log, "C %d %d %s", u, o->p, o->key); break;
      case W_READ: line(log, "R %d %d %u", u, o->p, o->seq); break;
      case W_PIN: line(log, "PA %d %d %d", u, o->p, o->pin_id); break;
      default: line(log, "D %d %d %d %u", u, o->p, o->v, o->seq);
      }
      json_decref(r);
    }
  }
}

/* ---- the REST driver -------------------------------------------------------------------------------- */
/* Driver k (of REST_DRIVERS, their MsgRandoms apart; each recalls and modifies only messages it sent) appends
 * lines to rest.txt: S u p 0 key, C u p key, M u p key text, RK u p key (read at least to that message), DK u p
 * clear key (deleted after it), I f t key (imported), B f t key (a batch target's copy; its time may differ by a
 * second). */
static void rest_driver(int round, int k)
{
  FILE *log = open_log("rest.txt");
  static char keys[USERS][USERS][32][48]; /* REST messages of each pair not yet recalled or modified */
  static int nkeys[USERS][USERS];
  char last[USERS][USERS][48];
  memset(last, 0, sizeof last);
  rng_state = 0xD1B54A32D192ED03ULL ^ (uint64_t)round * 104729 ^ (uint64_t)(k + 1) << 40;
  for (int n = 1;; n++) {
    int r = (int)(rnd() % 10), u = (int)(rnd() % USERS), p = pick_peer(u, -1);
    uint32_t random = 500000000u + (uint32_t)k * 100000000u + (uint32_t)round * 1000000u + (uint32_t)n;
    json_t *x;
    if ((r == 4 || r == 5) && nkeys[u][p]) {
      char k[48];
      snprintf(k, sizeof k, "%s", keys[u][p][--nkeys[u][p]]);
      if (r == 4) {
        x = v4(srv.port, app, key, "openim/admin_msgwithdraw",
               "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgKey\":\"%s\"}", names[u], names[p], k);
        if (!x) _exit(0);
        if (!jint(x, "ErrorCode")) line(log, "C %d %d %s", u, p, k);
      } else {
        x = v4(srv.port, app, key, "openim/modify_c2c_msg",
               "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("mod%u") "}",
               names[u], names[p], k, random);
        if (!x) _exit(0);
        if (!jint(x, "ErrorCode")) line(log, "M %d %d %s mod%u", u, p, k, random);
      }
    } else if (r == 6 && last[u][p][0]) {
      x = v4(srv.port, app, key, "openim/admin_set_msg_read", "{\"Report_Account\":\"%s\",\"Peer_Account\":\"%s\"}",
             names[u], names[p]);
      if (!x) _exit(0);
      if (!jint(x, "ErrorCode")) line(log, "RK %d %d %s", u, p, last[u][p]);
    } else if (r == 7 && last[u][p = pick_peer(u, PAIR_DELETE)][0]) {
      int clear = (int)(rnd() & 1);
      x = v4(srv.port, app, key, "recentcontact/delete",
             "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"Type\":1,\"ClearRamble\":%d}", names[u], names[p], clear);
      if (!x) _exit(0);
      if (!jint(x, "ErrorCode")) line(log, "DK %d %d %d %s", u, p, clear, last[u][p]);
    } else if (r == 8) {
      int f = USERS + (int)(rnd() % IMPORTERS), t = USERS + (f - USERS + 1) % IMPORTERS;
      long long at = (long long)time(NULL) - 7200 + n % 3600;
      x = v4(srv.port, app, key, "openim/importmsg",
             "{\"SyncFromOldSystem\":%d,\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgSeq\":%d,\"MsgRandom\":%u,"
             "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("imp") "}", n & 1 ? 5 : 2, names[f], names[t], n, random, at);
      if (!x) _exit(0);
      if (!jint(x, "ErrorCode")) line(log, "I %d %d %d_%u_%lld", f, t, n, random, at);
    } else if (r == 9) {
      int t[3];
      for (int i = 0; i < 3; i++) t[i] = pick_peer(u, -1);
      x = v4(srv.port, app, key, "openim/batchsendmsg",
             "{\"From_Account\":\"%s\",\"To_Account\":[\"%s\",\"%s\",\"%s\"],\"MsgRandom\":%u,\"MsgSeq\":%d,\"MsgBody\":"
             TEXT("batch") "}", names[u], names[t[0]], names[t[1]], names[t[2]], random, n);
      if (!x) _exit(0);
      json_t *errs = json_object_get(x, "ErrorList");
      for (int i = 0; i < 3 && jstr(x, "MsgKey")[0]; i++) {
        int failed = 0;
        for (size_t k = 0; k < json_array_size(errs); k++)
          failed |= !strcmp(jstr(json_array_get(errs, k), "To_Account"), names[t[i]]);
        if (!failed) line(log, "B %d %d %s", u, t[i], jstr(x, "MsgKey"));
      }
    } else {
      x = v4(srv.port, app, key, "openim/sendmsg",
             "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%u,\"MsgBody\":" TEXT("r%d") "}", names[u],
             names[p], random, n);
      if (!x) _exit(0);
      if (!jint(x, "ErrorCode")) {
        line(log, "S %d %d 0 %s", u, p, jstr(x, "MsgKey"));
        snprintf(last[u][p], sizeof last[u][p], "%s", jstr(x, "MsgKey"));
        memcpy(last[p][u], last[u][p], sizeof last[u][p]);
        if (nkeys[u][p] < 32) snprintf(keys[u][p][nkeys[u][p]++], sizeof keys[0][0][0], "%s", jstr(x, "MsgKey"));
      }
    }
    json_decref(x);
  }
}

/* ---- the observer ------------------------------------------------------------------------------------- */
static const char *const kinds[] = { [STORE_EV_MSG] = "msg", [STORE_EV_RECALL] = "recall", [STORE_EV_READ] = "read",
                                     [STORE_EV_RECEIPT] = "receipt", [STORE_EV_MODIFY] = "modify",
                                     [STORE_EV_CONV_DEL] = "conv_delete", [STORE_EV_CONV_PIN] = "conv_pin" };

static const char *kind_name(int k) { return k >= STORE_EV_MSG && k <= STORE_EV_CONV_PIN ? kinds[k] : "another kind"; }

/* Lines: P u useq kind seq (kind: store_ev_kind_t; seq: the event's, as the store keeps it). */
static void observer(void)
{
  FILE *log = open_log("push.txt");
  wsc_t o[ALL];
  struct pollfd pf[ALL];
  for (int u = 0; u < ALL; u++) {
    if (wsc_login(&o[u], srv.port, app, key, names[u], "Android")) _exit(0);
    json_t *evs = wsc_sync_live(&o[u]);
    if (!evs) _exit(0);
    json_decref(evs);
    pf[u] = (struct pollfd){ .fd = o[u].fd, .events = POLLIN };
  }
  for (;;) {
    if (poll(pf, ALL, 5000) <= 0) _exit(0);
    for (int u = 0; u < ALL; u++) {
      if (!pf[u].revents) continue;
      if (wsc_read(&o[u], 3000)) _exit(0);
      json_t *f = o[u].stash[--o[u].n];
      const char *type = jstr(f, "type");
      for (int k = STORE_EV_MSG; k <= STORE_EV_CONV_PIN; k++) {
        if (strcmp(type, kinds[k]) || !jint(f, "useq")) continue;
        json_int_t seq = k == STORE_EV_MSG || k == STORE_EV_MODIFY ? jint(f, "msg.seq")
                       : k == STORE_EV_CONV_DEL ? json_is_true(json_object_get(f, "cleared"))
                       : k == STORE_EV_CONV_PIN ? json_is_true(json_object_get(f, "pinned")) : jint(f, "seq");
        line(log, "P %d %lld %d %lld", u, (long long)jint(f, "useq"), k, (long long)seq);
      }
      json_decref(f);
    }
  }
}

/* ---- the checks after a restart ------------------------------------------------------------------------ */
static store_t *st;
static uint32_t no[ALL];
static int counts[17]; /* acknowledged: sends, recalls, modifies, reads, deletes, cleared deletes, imports,
                          * batch targets; [8 + kind]: pushes of each store_ev_kind_t; [16]: pin pairs checked */

typedef struct got { int n; store_msg_t m; char body[256]; uint32_t random, cseq; } got_t;

static void take(void *ud, const store_msg_t *m)
{
  got_t *g = ud;
  g->n++;
  g->m = *m;
  snprintf(g->body, sizeof g->body, "%.*s", (int)m->body_len, m->body);
}

/* The message of MsgKey k in the conversation of users a and b (its time may be dt_s seconds later); fails the
 * test when it is not stored. */
static got_t msg_of(int a, int b, const char *k, int dt_s, const char *what)
{
  uint32_t cseq, random;
  int64_t t;
  got_t g = { 0 };
  assert_int_equal(im_msg_key_parse(k, &cseq, &random, &t), 0);
  for (int64_t d = -dt_s; d <= dt_s; d++)
    if (!store_msg_find_key(st, app, store_c2c_conv(no[a], no[b]), cseq, random, t + d, take, &g)) break;
  if (g.n != 1) fail_msg("%s: message %s of %s and %s lost after kill -9", what, k, names[a], names[b]);
  return g;
}

static store_recent_t row_of(int u, int p, const char *what)
{
  store_recent_t r;
  if (store_msg_recent_get(st, app, no[u], no[p], &r)) fail_msg("%s: %s's conversation with %s lost", what, names[u], names[p]);
  return r;
}

/* Pins of one pair in the order they were sent: the value, and whether it was acknowledged. */
static struct { int v[PIN_OPS], id[PIN_OPS], acked[PIN_OPS], n; } pins[USERS][USERS];

static void pin_acked(int u, int p, int id)
{
  for (int i = pins[u][p].n - 1; i >= 0; i--) /* a pair's pins are sent one at a time: the last one sent */
    if (pins[u][p].id[i] == id) { pins[u][p].acked[i] = 1; return; }
  fail_msg("PA %d without PI", id);
}

/* The state after the last acknowledged pin: its value, or that of a pin sent after it. */
static void check_pins(void)
{
  for (int u = 0; u < USERS; u++) {
    for (int p = 0; p < USERS; p++) {
      int last = -1, ok = 0;
      for (int i = 0; i < pins[u][p].n; i++) if (pins[u][p].acked[i]) last = i;
      if (last < 0) continue;
      int pinned = row_of(u, p, "pin").pinned_at_s != 0;
      for (int i = last; i < pins[u][p].n; i++) ok |= pins[u][p].v[i] == pinned;
      if (!ok) fail_msg("%s's pin of %s: %d after the acknowledged %d", names[u], names[p], pinned, pins[u][p].v[last]);
      counts[16]++;
    }
  }
}

static void check_file(const char *name)
{
  char path[400], l[256], k[64], text[64];
  int a, b, c, id;
  unsigned seq;
  snprintf(path, sizeof path, "%s/%s", srv.dir, name);
  FILE *f = fopen(path, "r");
  if (!f) return;
  memset(pins, 0, sizeof pins);
  while (fgets(l, sizeof l, f)) {
    if (!strchr(l, '\n')) continue; /* a line cut by the end of its writer: not written down, not acknowledged */
    if (sscanf(l, "S %d %d %u %63s", &a, &b, &seq, k) == 4) {
      got_t g = msg_of(a, b, k, 0, "send");
      if (seq && g.m.seq != seq) fail_msg("message %s at seq %u, acknowledged at %u", k, g.m.seq, seq);
      counts[0]++;
    } else if (sscanf(l, "C %d %d %63s", &a, &b, k) == 3) {
      if (!(msg_of(a, b, k, 0, "recall").m.flags & STORE_MSG_RECALLED)) fail_msg("acknowledged recall of %s lost", k);
      counts[1]++;
    } else if (sscanf(l, "M %d %d %63s %63s", &a, &b, k, text) == 4) {
      if (!strstr(msg_of(a, b, k, 0, "modify").body, text)) fail_msg("acknowledged modify of %s (%s) lost", k, text);
      counts[2]++;
    } else if (sscanf(l, "R %d %d %u", &a, &b, &seq) == 3 || sscanf(l, "RK %d %d %63s", &a, &b, k) == 3) {
      if (l[1] == 'K') seq = msg_of(a, b, k, 0, "read").m.seq;
      store_recent_t r = row_of(a, b, "read");
      /* the point the list counts as read: a read at or below a delete's changes nothing (§80) */
      uint32_t at = r.read_seq > r.cleared_seq ? r.read_seq : r.cleared_seq;
      if (r.hidden_seq > at) at = r.hidden_seq;
      if (at < seq) fail_msg("%s read %s up to %u, acknowledged; %u after kill -9", names[a], names[b], seq, at);
      counts[3]++;
    } else if (sscanf(l, "PI %d %d %d %d", &a, &b, &c, &id) == 4) {
      if (pins[a][b].n == PIN_OPS) fail_msg("more than %d pins of a pair", PIN_OPS);
      pins[a][b].v[pins[a][b].n] = c;
      pins[a][b].id[pins[a][b].n++] = id;
    } else if (sscanf(l, "PA %d %d %d", &a, &b, &id) == 3) {
      pin_acked(a, b, id);
    } else if (sscanf(l, "D %d %d %d %u", &a, &b, &c, &seq) == 4 || sscanf(l, "DK %d %d %d %63s", &a, &b, &c, k) == 4) {
      if (l[1] == 'K') seq = msg_of(a, b, k, 0, "delete").m.seq;
      if (!seq) continue; /* nothing known stored before it: a delete of nothing may leave no row */
      store_recent_t r = row_of(a, b, "delete");
      if (r.hidden_seq < seq || (c && r.cleared_seq < seq))
        fail_msg("%s's acknowledged delete%s of %s after seq %u lost: hidden %u cleared %u", names[a], c ? " (clear)" : "",
                 names[b], seq, r.hidden_seq, r.cleared_seq);
      counts[4 + c]++;
    } else if (sscanf(l, "I %d %d %63s", &a, &b, k) == 3) {
      msg_of(a, b, k, 0, "import");
      counts[6]++;
    } else if (sscanf(l, "B %d %d %63s", &a, &b, k) == 3) {
      msg_of(a, b, k, 1, "batchsendmsg target");
      counts[7]++;
    } else {
      fail_msg("%s: unknown line %s", name, l);
    }
  }
  fclose(f);
  if (!strcmp(name, "ws.txt")) check_pins();
}

/* A user's inbox: gap-free; every recall, modify, read and pin event matches the state it announces. */
typedef struct walk { int u; uint32_t last, pin[ALL + 1]; int pinned[ALL + 1]; } walk_t;

static void inbox_ev(void *ud, const store_inbox_ev_t *e)
{
  walk_t *w = ud;
  if (e->useq != w->last + 1) fail_msg("%s's inbox: useq %u after %u", names[w->u], e->useq, w->last);
  w->last = e->useq;
  uint32_t a = (uint32_t)(e->conv >> 32), b = (uint32_t)e->conv, peer_no = a == no[w->u] ? b : a;
  int p = 0;
  while (p < ALL && no[p] != peer_no) p++;
  if (e->kind == STORE_EV_RECALL && e->msg && !(e->msg->flags & STORE_MSG_RECALLED))
    fail_msg("%s's recall event %u names a message not recalled", names[w->u], e->useq);
  if (e->kind == STORE_EV_MODIFY && e->msg && !(e->msg->flags & STORE_MSG_MODIFIED))
    fail_msg("%s's modify event %u names a message not modified", names[w->u], e->useq);
  if (e->kind == STORE_EV_READ && p < ALL && row_of(w->u, p, "read event").read_seq < e->seq)
    fail_msg("%s's read event %u up to %u, read_seq lower", names[w->u], e->useq, e->seq);
  if (e->kind == STORE_EV_CONV_PIN && p < ALL) { w->pin[p] = e->useq; w->pinned[p] = (int)e->seq; }
}

static void check_inboxes(void)
{
  for (int u = 0; u < ALL; u++) {
    walk_t w = { .u = u };
    uint32_t max = 0;
    do {
      uint32_t before = w.last;
      assert_int_equal(store_msg_inbox_page(st, app, no[u], w.last, 1000, 0, inbox_ev, &w, &max), 0);
      if (w.last == before) break;
    } while (w.last < max);
    if (w.last != max) fail_msg("%s's inbox ends at %u, max useq %u", names[u], w.last, max);
    for (int p = 0; p < USERS; p++)
      if (u < USERS && w.pin[p] && pair_kind(u, p) == PAIR_PIN && (row_of(u, p, "pin event").pinned_at_s != 0) != w.pinned[p])
        fail_msg("%s's last pin event of %s says %d, the row does not", names[u], names[p], w.pinned[p]);
  }
}

typedef struct one_ev { int n; store_inbox_ev_t e; } one_ev_t;
static void take_ev(void *ud, const store_inbox_ev_t *e) { one_ev_t *o = ud; if (!o->n++) o->e = *e; }

/* Every push names an event the inbox holds after the restart (none announced a change a crash lost). */
static void check_pushes(void)
{
  char path[400], l[128];
  int u, kind;
  unsigned useq;
  long long seq;
  snprintf(path, sizeof path, "%s/push.txt", srv.dir);
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(l, sizeof l, f)) {
    if (!strchr(l, '\n') || sscanf(l, "P %d %u %d %lld", &u, &useq, &kind, &seq) != 4) continue;
    one_ev_t o = { 0 };
    uint32_t max;
    assert_int_equal(store_msg_inbox_page(st, app, no[u], useq - 1, 1, 0, take_ev, &o, &max), 0);
    if (!o.n || o.e.useq != useq || (int)o.e.kind != kind || o.e.seq != (uint32_t)seq)
      fail_msg("%s was pushed %s useq %u seq %lld; after kill -9 the inbox has %s", names[u], kind_name(kind), useq, seq,
               o.n ? kind_name((int)o.e.kind) : "nothing");
    counts[8 + kind]++;
  }
  fclose(f);
}

static void check_all(void)
{
  /* one read transaction for all the checks: one snapshot (the drivers are gone, nothing the test sent is still
   * in flight), and its locks taken once, not per query (each query in its own transaction took 3 to 8 s per
   * round, most of this test's time) */
  assert_int_equal(store_open_reader(srv.dir, &st), 0);
  assert_int_equal(store_exec(st, "BEGIN"), 0);
  for (int u = 0; u < ALL; u++) assert_int_equal(store_account_get(st, app, names[u], &no[u]), 0);
  memset(counts, 0, sizeof counts);
  check_file("ws.txt");
  check_file("rest.txt");
  check_inboxes();
  check_pushes();
  assert_int_equal(store_exec(st, "COMMIT"), 0);
  store_close(st);
}

/* Lines a driver has written so far (name: ws.txt, rest.txt). */
static int lines_in(const char *name)
{
  char path[400];
  int n = 0;
  snprintf(path, sizeof path, "%s/%s", srv.dir, name);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  for (int c; (c = getc(f)) != EOF;) n += c == '\n';
  fclose(f);
  return n;
}

static void test_kill9_keeps_acknowledged_writes(void **state)
{
  (void)state;
  static const char *const ckpt16[] = { "--wal-checkpoint-pages", "16", NULL };
  static const char *const paced[] = { "--writer-pace-us", "4000", NULL };
  const char *const *args[ROUNDS] = { NULL, ckpt16, paced };
  rng_state = (uint64_t)time(NULL) * 2654435761u | 1;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  for (int round = 0; round < ROUNDS; round++) {
    assert_int_equal(e2e_server_start(&srv, args[round]), 0);
    if (!round) import_users(srv.port, app, key, (const char *const[]){ "u0", "u1", "u2", "u3", "u4", "u5", "x0", "x1", "x2", NULL });
    int ws0 = lines_in("ws.txt"), rest0 = lines_in("rest.txt");
    pid_t kids[2 + REST_DRIVERS];
    for (int k = 0; k < 2 + REST_DRIVERS; k++) {
      if ((kids[k] = fork()) == 0) {
        if (k == 0) ws_driver(round);
        else if (k == 1) observer();
        else rest_driver(round, k - 2);
        _exit(0);
      }
    }
    /* kill once both drivers have had a good number acknowledged (the REST one is the slower: one request at a time),
     * at a random moment after that */
    for (int waited = 0; (lines_in("ws.txt") < ws0 + 1000 || lines_in("rest.txt") < rest0 + 400) && waited < 60000;
         waited += 20)
      usleep(20 * 1000);
    usleep((useconds_t)(rnd() % 400) * 1000);
    e2e_server_kill(&srv); /* SIGKILL while every kind of write is in flight */
    for (int k = 0; k < 2 + REST_DRIVERS; k++) waitpid(kids[k], NULL, 0);
    assert_int_equal(e2e_server_start(&srv, NULL), 0);
    check_all();
    print_message("round %d: sends %d, recalls %d, modifies %d, reads %d, deletes %d + %d cleared, imports %d, batch "
                  "targets %d, pin pairs %d; pushes: msg %d recall %d read %d receipt %d modify %d delete %d pin %d\n",
                  round, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7],
                  counts[16], counts[9], counts[10], counts[11], counts[12], counts[13], counts[14], counts[15]);
    assert_int_equal(e2e_server_stop(&srv), 0);
  }
  for (int i = 0; i < 17; i++)
    if (i != 8 && !counts[i]) fail_msg("no acknowledged write or push of kind %d: the test proved nothing", i);
  e2e_dir_remove(&srv);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_kill9_keeps_acknowledged_writes) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
