/* crash_check.h — the checks of test_crash_prop.c after a kill -9 and a
 * restart: one client's log (its "P" and "K" lines) replayed into the
 * state the acknowledged writes promise, then compared with what the
 * restarted server answers. The op in flight at the kill (a last "P"
 * without its "K") may have happened or not, whole. Included once, by
 * test_crash_prop.c (uses its srv, app, key, ua, ub, uc, gid). Test-only. */
#ifndef IMC_TESTS_CRASH_CHECK_H
#define IMC_TESTS_CRASH_CHECK_H

#define CK_MAX 1024

typedef struct ck_msg {
  char conv[3], from, text[64], key[64], body[64], alt[64];
  int op, acked, recalled; /* recalled: 0 no, 1 yes, 2 in flight */
  int seen;                /* times found in the history being checked */
} ck_msg_t;

typedef struct ck_state {
  ck_msg_t m[CK_MAX];
  int nm, ops;
  char pend[160];            /* the op in flight at the kill ("" none) */
  int read_ab, read_ab_pend; /* op index of a's last acknowledged read of ab; in flight: its index */
  int read_ac;               /* last acknowledged read or delete of ac */
  int pin, pin_pend;         /* -1: no pin in flight */
  int gpin, gpin_pend;       /* the group conversation's (a delete unpins) */
  int clear_op;              /* last acknowledged clearing delete of ac (0 none) */
  int del_op;                /* last acknowledged delete of ac */
  int gseq[CK_MAX], grec[CK_MAX], ng;
  char gtext[CK_MAX][64], gpend[64];
  char acct[CK_MAX][64];
  int acct_st[CK_MAX], friend_st[CK_MAX], msg_st[CK_MAX], join_st[CK_MAX], nacct; /* 1 acknowledged, 2 in flight;
                                                                                  acct_st 3/4: deleted / delete in flight */
} ck_state_t;

static ck_state_t ck;

static ck_msg_t *ck_add(const char *conv, char from, const char *text, const char *key, int acked)
{
  assert_true(ck.nm < CK_MAX);
  ck_msg_t *m = &ck.m[ck.nm++];
  memset(m, 0, sizeof *m);
  snprintf(m->conv, sizeof m->conv, "%s", conv);
  m->from = from;
  snprintf(m->text, sizeof m->text, "%s", text);
  snprintf(m->body, sizeof m->body, "%s", text);
  snprintf(m->key, sizeof m->key, "%s", key && strcmp(key, "-") ? key : "");
  m->op = ck.ops, m->acked = acked;
  return m;
}

static ck_msg_t *ck_by_key(const char *conv, const char *k)
{
  for (int i = 0; i < ck.nm; i++)
    if (!strcmp(ck.m[i].conv, conv) && ck.m[i].key[0] && !strcmp(ck.m[i].key, k)) return &ck.m[i];
  return NULL;
}

static int ck_acct(const char *x)
{
  for (int i = 0; i < ck.nacct; i++)
    if (!strcmp(ck.acct[i], x)) return i;
  assert_true(ck.nacct < CK_MAX);
  snprintf(ck.acct[ck.nacct], sizeof ck.acct[0], "%s", x);
  ck.acct_st[ck.nacct] = ck.friend_st[ck.nacct] = ck.msg_st[ck.nacct] = ck.join_st[ck.nacct] = 0;
  return ck.nacct++;
}

/* One log line: kind 'P' (sent) or 'K' (acknowledged). */
static void ck_line(char kind, const char *op, const char *s1, const char *s2, const char *s3, const char *s4)
{
  int k = kind == 'K';
  if (!strcmp(op, "msg")) {
    if (k) ck_add(s1, s2[0], s3, s4, 1);
  } else if (!strcmp(op, "batch")) {
    if (k) ck_add("ab", 'a', s1, s2, 1), ck_add("ac", 'a', s1, s2, 1);
  } else if (!strcmp(op, "recall")) {
    ck_msg_t *m = ck_by_key("ab", s1);
    assert_non_null(m);
    m->recalled = k ? 1 : 2;
  } else if (!strcmp(op, "mod")) {
    ck_msg_t *m = ck_by_key("ab", s1);
    assert_non_null(m);
    snprintf(k ? m->body : m->alt, sizeof m->body, "%s", s2);
    if (k) m->alt[0] = 0;
  } else if (!strcmp(op, "read")) {
    if (!strcmp(s1, "ab")) *(k ? &ck.read_ab : &ck.read_ab_pend) = ck.ops;
    else if (k) ck.read_ac = ck.ops;
  } else if (!strcmp(op, "pin")) {
    if (k) ck.pin = atoi(s1), ck.pin_pend = -1;
    else ck.pin_pend = atoi(s1);
  } else if (!strcmp(op, "gpin") || !strcmp(op, "gdel")) {
    int v = !strcmp(op, "gpin") ? atoi(s1) : 0;
    if (k) ck.gpin = v, ck.gpin_pend = -1;
    else ck.gpin_pend = v;
  } else if (!strcmp(op, "del")) {
    if (k) ck.del_op = ck.read_ac = ck.ops;
    if (k && atoi(s1)) ck.clear_op = ck.ops;
  } else if (!strcmp(op, "gmsg")) {
    if (k) {
      snprintf(ck.gtext[ck.ng], sizeof ck.gtext[0], "%s", s1);
      ck.grec[ck.ng] = 0;
      ck.gseq[ck.ng++] = atoi(s2);
    }
  } else if (!strcmp(op, "grecall")) {
    for (int i = 0; i < ck.ng; i++)
      if (ck.gseq[i] == atoi(s1)) ck.grec[i] = k ? 1 : 2;
  } else if (!strcmp(op, "acct")) {
    ck.acct_st[ck_acct(s1)] = k ? 1 : 2;
  } else if (!strcmp(op, "unacct")) {
    ck.acct_st[ck_acct(s1)] = k ? 3 : 4;
  } else if (!strcmp(op, "friend")) {
    ck.friend_st[ck_acct(s1)] = k ? 1 : 2;
  } else if (!strcmp(op, "xmsg")) {
    ck.msg_st[ck_acct(s1)] = k ? 1 : ck.msg_st[ck_acct(s1)] ? 1 : 2;
  } else if (!strcmp(op, "xjoin")) {
    ck.join_st[ck_acct(s1)] = k ? 1 : 2;
  } else fail_msg("unknown log op %s", op);
}

/* Replay a client's log into ck; the number of acknowledged writes. */
static int ck_replay(const char *path)
{
  memset(&ck, 0, sizeof ck);
  ck.pin_pend = ck.gpin_pend = -1;
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[4096], last[160] = "";
  int acked = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (line[0] == 'E') fail_msg("%s: a valid op was refused: %s", path, line);
    if (line[0] == 'D') continue;
    char op[16] = "", s[4][64] = { "", "", "", "" };
    sscanf(line + 2, "%15s %63s %63s %63s %63s", op, s[0], s[1], s[2], s[3]);
    if (line[0] == 'P') {
      ck.ops++;
      snprintf(last, sizeof last, "%.150s", line + 2);
    } else {
      acked++;
      last[0] = 0;
    }
    ck_line(line[0], op, s[0], s[1], s[2], s[3]);
  }
  fclose(f);
  snprintf(ck.pend, sizeof ck.pend, "%s", last);
  /* the message in flight, if any: known by its text */
  char op[16] = "", s[3][64] = { "", "", "" };
  sscanf(ck.pend, "%15s %63s %63s %63s", op, s[0], s[1], s[2]);
  if (!strcmp(op, "msg")) ck_add(s[0], s[1][0], s[2], NULL, 0);
  if (!strcmp(op, "batch")) ck_add("ab", 'a', s[0], NULL, 0), ck_add("ac", 'a', s[0], NULL, 0);
  if (!strcmp(op, "gmsg")) snprintf(ck.gpend, sizeof ck.gpend, "%s", s[0]);
  return acked;
}

static int ck_pending(const char *prefix)
{
  return !strncmp(ck.pend, prefix, strlen(prefix));
}

/* A checker's session as user on device dev ("chk-…", never a client's),
 * platform PC (chk-sync: Mac, so it takes no other checker's place). */
static void ck_login(wsc_t *c, const char *user, const char *dev)
{
  memset(c, 0, sizeof *c);
  c->next_id = 100;
  c->fd = e2e_ws_login_dev(srv.port, app, key, user, strcmp(dev, "chk-sync") ? "PC" : "Mac", dev, NULL, 0);
  assert_true(c->fd >= 0);
}

/* Every message of the conversation with peer as c's user sees it, newest first. */
static json_t *ck_history(wsc_t *c, const char *peer)
{
  json_t *all = json_array();
  long long before = 0;
  for (;;) {
    json_t *r = wsc_rpc(c, "history", "\"peer\":\"%s\",\"before_seq\":%lld,\"limit\":100", peer, before);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_t *msgs = json_object_get(r, "msgs");
    json_array_extend(all, msgs);
    if (json_array_size(msgs)) before = jint(json_array_get(msgs, json_array_size(msgs) - 1), "seq");
    int done = json_is_true(json_object_get(r, "complete")) || !json_array_size(msgs);
    json_decref(r);
    if (done) return all;
  }
}

static const char *ck_text(json_t *m)
{
  return jstr(json_array_get(json_object_get(m, "body"), 0), "MsgContent.Text");
}

/* The history of conv (c's view, c never clears it) against the model:
 * seqs 1..max without a gap, each message stored once, every acknowledged
 * message there with its body and recalled flag, nothing else but the
 * message in flight. */
static void ck_conv(wsc_t *c, const char *peer, const char *conv)
{
  json_t *h = ck_history(c, peer), *m;
  size_t i;
  long long want = (long long)json_array_size(h);
  for (int j = 0; j < ck.nm; j++) ck.m[j].seen = 0;
  json_array_foreach(h, i, m) {
    if (jint(m, "seq") != want--) fail_msg("%s %s: seq %lld where %lld was due (a gap)", conv, peer, (long long)jint(m, "seq"), want + 1);
    ck_msg_t *x = ck_by_key(conv, jstr(m, "msg_key"));
    for (int j = 0; j < ck.nm && !x; j++) /* an import (its reply names no key) or the message in flight */
        if ((!ck.m[j].acked || !ck.m[j].key[0]) && !strcmp(ck.m[j].conv, conv) && !strcmp(ck.m[j].text, ck_text(m))) x = &ck.m[j];
    if (!x) fail_msg("%s: a message no client sent: %s", conv, json_dumps(m, JSON_COMPACT));
    if (x->seen++) fail_msg("%s: message %s stored twice", conv, x->text);
    int rec = json_is_true(json_object_get(m, "recalled"));
    if (x->recalled != 2 && rec != x->recalled)
      fail_msg("%s: message %s recalled %d, acknowledged state %d", conv, x->text, rec, x->recalled);
    if (!rec && strcmp(ck_text(m), x->body) && strcmp(ck_text(m), x->alt))
      fail_msg("%s: message %s has body %s, acknowledged %s", conv, x->text, ck_text(m), x->body);
  }
  for (int j = 0; j < ck.nm; j++)
    if (ck.m[j].acked && !strcmp(ck.m[j].conv, conv) && !ck.m[j].seen)
      fail_msg("%s: acknowledged message %s (%s) lost after kill -9", conv, ck.m[j].text, ck.m[j].key);
  json_decref(h);
}

/* A fresh device of user syncs from cursor 0: useqs 1..n without a gap
 * (gapless: sync skips the events of messages the user cleared, so a's
 * only rise), and each message of the conversation with peer (its history)
 * comes once; a recalled one with one recall event, a modified one with
 * modify events, the last with its body (the row and its event are one
 * write: never one without the other). The events (caller decrefs). */
static json_t *ck_sync(const char *user, const char *peer, int gapless)
{
  wsc_t d;
  ck_login(&d, user, "chk-sync");
  json_t *ev = wsc_sync_live(&d), *e, *m;
  assert_non_null(ev);
  json_t *h = ck_history(&d, peer);
  size_t i, j;
  long long useq = 0;
  json_array_foreach(ev, i, e) {
    long long u = jint(e, "useq");
    if (gapless ? u != useq + 1 : u <= useq) fail_msg("%s: sync event useq %lld after %lld", user, u, useq);
    useq = u;
  }
  json_array_foreach(h, j, m) {
    int n = 0;
    json_array_foreach(ev, i, e) {
      n += !strcmp(jstr(e, "type"), "msg") && !strcmp(jstr(e, "peer"), peer) && jint(e, "msg.seq") == jint(m, "seq");
    }
    if (n != 1) fail_msg("%s: message seq %lld with %s in %d sync events (history has it)", user, (long long)jint(m, "seq"), peer, n);
    int rec = 0, rec_ev = 0, mods = 0;
    const char *mod_body = NULL;
    json_array_foreach(ev, i, e) {
      if (strcmp(jstr(e, "peer"), peer)) continue;
      if (!strcmp(jstr(e, "type"), "recall") && jint(e, "seq") == jint(m, "seq")) rec_ev++;
      if (!strcmp(jstr(e, "type"), "modify") && jint(e, "msg.seq") == jint(m, "seq")) mods++, mod_body = ck_text(json_object_get(e, "msg"));
    }
    rec = json_is_true(json_object_get(m, "recalled"));
    if (rec_ev != rec) fail_msg("%s: message seq %lld with %s recalled %d, %d recall events", user, (long long)jint(m, "seq"), peer, rec, rec_ev);
    if (!rec && !json_is_true(json_object_get(m, "modified")) != !mods)
      fail_msg("%s: message seq %lld with %s modified %d, %d modify events", user, (long long)jint(m, "seq"), peer,
               json_is_true(json_object_get(m, "modified")), mods);
    if (!rec && mods && strcmp(mod_body, ck_text(m)))
      fail_msg("%s: message seq %lld with %s is %s, its last modify event %s", user, (long long)jint(m, "seq"), peer, ck_text(m), mod_body);
  }
  json_decref(h);
  wsc_close(&d);
  return ev;
}

/* The last event of type whose field is value in a sync's events (NULL: none). */
static json_t *ck_last_ev_of(json_t *ev, const char *type, const char *field, const char *value)
{
  json_t *e, *last = NULL;
  size_t i;
  json_array_foreach(ev, i, e) if (!strcmp(jstr(e, "type"), type) && !strcmp(jstr(e, field), value)) last = e;
  return last;
}

/* The same with peer. */
static json_t *ck_last_ev(json_t *ev, const char *type, const char *peer)
{
  return ck_last_ev_of(ev, type, "peer", peer);
}

/* lo <= got <= hi, else fail naming what. */
static void ck_between(const char *what, long long got, long long lo, long long hi)
{
  if (got < lo || got > hi) fail_msg("%s: %lld, expected %lld..%lld", what, got, lo, hi);
}

/* a's conversation list: the pin of ab, the unread counts of ab and ac, ac
 * listed or deleted. */
static void ck_convs(wsc_t *a, json_t *ev)
{
  json_t *r = wsc_rpc(a, "conversations", "%s", ""), *cv, *ab = NULL, *ac = NULL;
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  size_t i;
  json_array_foreach(json_object_get(r, "conversations"), i, cv) {
    if (!strcmp(jstr(cv, "peer"), ub)) ab = cv;
    if (!strcmp(jstr(cv, "peer"), uc)) ac = cv;
  }
  int pinned = ab && json_is_true(json_object_get(ab, "pinned"));
  if (pinned != ck.pin && pinned != ck.pin_pend) fail_msg("%s's pin of %s: %d, acknowledged %d", ua, ub, pinned, ck.pin);
  /* the pin and the read position are each one write with their event */
  json_t *pe = ck_last_ev(ev, "conv_pin", ub), *re = ck_last_ev(ev, "read", ub);
  if (pinned != (pe && json_is_true(json_object_get(pe, "pinned"))))
    fail_msg("%s's pin of %s: %d, its last conv_pin event %s", ua, ub, pinned, pe ? json_dumps(pe, JSON_COMPACT) : "none");
  if (ab && jint(ab, "read_seq") != (re ? jint(re, "seq") : 0))
    fail_msg("%s's read_seq of %s: %lld, its last read event %s", ua, ub, (long long)jint(ab, "read_seq"),
             re ? json_dumps(re, JSON_COMPACT) : "none");
  /* the group conversation's pin: as acknowledged, and one write with its
   * event (a pin's conv_pin, or a delete's conv_delete that unpinned it) */
  json_t *gcv = NULL;
  json_array_foreach(json_object_get(r, "conversations"), i, cv) if (!strcmp(jstr(cv, "group_id"), gid)) gcv = cv;
  int gpinned = gcv && json_is_true(json_object_get(gcv, "pinned"));
  if (gpinned != ck.gpin && gpinned != ck.gpin_pend) fail_msg("%s's pin of group %s: %d, acknowledged %d", ua, gid, gpinned, ck.gpin);
  json_t *gp = ck_last_ev_of(ev, "conv_pin", "group_id", gid), *gd = ck_last_ev_of(ev, "conv_delete", "group_id", gid);
  int by_ev = gp && json_is_true(json_object_get(gp, "pinned")) && (!gd || jint(gd, "useq") < jint(gp, "useq"));
  if (gpinned != by_ev) fail_msg("%s's pin of group %s: %d, its events say %d", ua, gid, gpinned, by_ev);
  /* unread of ab: b's messages after the last read, not recalled */
  int applied = ck.read_ab_pend > ck.read_ab ? ck.read_ab_pend : ck.read_ab;
  long long lo = 0, hi = 0;
  for (int j = 0; j < ck.nm; j++) {
    ck_msg_t *m = &ck.m[j];
    if (strcmp(m->conv, "ab") || m->from != 'b') continue;
    if (m->op > ck.read_ab && m->recalled != 1) hi++;
    if (m->op > applied && m->acked && !m->recalled) lo++;
  }
  if (ab) ck_between("unread of ab", jint(ab, "unread"), lo, hi);
  else if (lo) fail_msg("%s's conversation with %s with %lld unread is not listed", ua, ub, lo);
  /* ac: listed unless its last acknowledged change was a delete */
  int last_msg = 0, any_pend = ck_pending("del") || ck_pending("batch") || ck_pending("msg ac");
  hi = 0;
  for (int j = 0; j < ck.nm; j++) {
    if (strcmp(ck.m[j].conv, "ac")) continue;
    if (ck.m[j].acked && ck.m[j].op > last_msg) last_msg = ck.m[j].op;
    if (ck.m[j].from == 'c' && ck.m[j].op > ck.read_ac) hi++;
  }
  int want = last_msg > ck.del_op;
  if (!any_pend && !!ac != want)
    fail_msg("%s's conversation with %s listed %d, acknowledged writes say %d (last message op %d, delete op %d)",
             ua, uc, !!ac, want, last_msg, ck.del_op);
  if (ac) ck_between("unread of ac", jint(ac, "unread"), 0, hi);
  json_decref(r);
}

/* a's own history of ac: nothing from before the last acknowledged clear,
 * everything acknowledged after it (unless a clear was in flight). */
static void ck_clear(wsc_t *a)
{
  json_t *h = ck_history(a, uc), *m;
  size_t i;
  for (int j = 0; j < ck.nm; j++) {
    ck_msg_t *x = &ck.m[j];
    if (strcmp(x->conv, "ac") || !x->acked) continue;
    int found = 0;
    json_array_foreach(h, i, m) found |= !strcmp(jstr(m, "msg_key"), x->key) && !strcmp(ck_text(m), x->text);
    if (x->op < ck.clear_op && found) fail_msg("%s cleared ac, yet %s is in its history", ua, x->text);
    if (x->op > ck.clear_op && !found && !ck_pending("del 1")) fail_msg("%s's history of ac lost %s", ua, x->text);
  }
  json_decref(h);
}

/* Whether the user x is in the list of items[].field. */
static int ck_listed(json_t *items, const char *field, const char *x)
{
  json_t *it;
  size_t j;
  json_array_foreach(items, j, it) if (!strcmp(jstr(it, field), x)) return 1;
  return 0;
}

/* a's delete of ac is one write with its conv_delete event: ac is listed
 * exactly when no delete event came after its last message event, and a's
 * history of ac holds exactly the messages whose events a's sync replays
 * (sync skips the events of cleared messages; history leaves them out). */
static void ck_del(wsc_t *a, json_t *ev)
{
  json_t *de = ck_last_ev(ev, "conv_delete", uc), *e, *m, *cv = wsc_rpc(a, "conversations", "%s", "");
  assert_non_null(cv);
  assert_int_equal(jint(cv, "code"), 0);
  size_t i, j;
  int after = 0;
  json_array_foreach(ev, i, e) after |= !strcmp(jstr(e, "type"), "msg") && !strcmp(jstr(e, "peer"), uc) && (!de || jint(e, "useq") > jint(de, "useq"));
  int listed = ck_listed(json_object_get(cv, "conversations"), "peer", uc);
  if (listed != after)
    fail_msg("%s's conversation with %s listed %d, its events say %d (last delete %s)", ua, uc, listed, after,
             de ? json_dumps(de, JSON_COMPACT) : "none");
  json_t *h = ck_history(a, uc);
  json_array_foreach(h, j, m) {
    int n = 0;
    json_array_foreach(ev, i, e) n += !strcmp(jstr(e, "type"), "msg") && !strcmp(jstr(e, "peer"), uc) && jint(e, "msg.seq") == jint(m, "seq");
    if (n != 1) fail_msg("%s's history of %s has seq %lld, its sync %d events of it", ua, uc, (long long)jint(m, "seq"), n);
  }
  int evs = 0;
  json_array_foreach(ev, i, e) evs += !strcmp(jstr(e, "type"), "msg") && !strcmp(jstr(e, "peer"), uc);
  if ((size_t)evs != json_array_size(h)) fail_msg("%s: %d message events with %s, %zu in its history", ua, evs, uc, json_array_size(h));
  json_decref(h);
  json_decref(cv);
}

/* The group's history: seqs without a gap, every acknowledged message with its
 * recalled flag, no message but those. */
static void ck_group(wsc_t *a)
{
  json_t *all = json_array(), *m;
  long long before = 0;
  for (;;) {
    char b[48] = "";
    if (before) snprintf(b, sizeof b, ",\"before_seq\":%lld", before);
    json_t *r = wsc_rpc(a, "group_history", "\"group_id\":\"%s\"%s", gid, b);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_t *msgs = json_object_get(r, "msgs");
    json_array_extend(all, msgs);
    if (json_array_size(msgs)) before = jint(json_array_get(msgs, json_array_size(msgs) - 1), "seq");
    int more = json_is_true(json_object_get(r, "more")) && json_array_size(msgs);
    json_decref(r);
    if (!more) break;
  }
  size_t i;
  long long prev = 0;
  json_array_foreach(all, i, m) {
    long long s = jint(m, "seq");
    if (prev && s != prev - 1) fail_msg("group %s: seq %lld after %lld (a gap)", gid, s, prev);
    prev = s;
    const char *t = ck_text(m);
    if (!t[0] || json_is_true(json_object_get(m, "recalled"))) continue;
    int known = !strcmp(t, ck.gpend);
    for (int j = 0; j < ck.ng; j++) known |= !strcmp(t, ck.gtext[j]);
    if (!known) fail_msg("group %s: a message no client sent: %s", gid, json_dumps(m, JSON_COMPACT));
  }
  if (prev > 1) fail_msg("group %s: the oldest message is seq %lld", gid, prev);
  for (int j = 0; j < ck.ng; j++) {
    json_t *hit = NULL;
    json_array_foreach(all, i, m) if (jint(m, "seq") == ck.gseq[j]) hit = m;
    if (!hit) fail_msg("group %s: acknowledged message %s (seq %d) lost after kill -9", gid, ck.gtext[j], ck.gseq[j]);
    int rec = json_is_true(json_object_get(hit, "recalled"));
    if (ck.grec[j] != 2 && rec != ck.grec[j]) fail_msg("group %s: seq %d recalled %d, acknowledged %d", gid, ck.gseq[j], rec, ck.grec[j]);
    if (!rec && strcmp(ck_text(hit), ck.gtext[j])) fail_msg("group %s: seq %d is %s, not %s", gid, ck.gseq[j], ck_text(hit), ck.gtext[j]);
  }
  json_decref(all);
}

/* Accounts imported and deleted, friends added; a deletion is all or
 * nothing (rest-api-accounts.md): a deleted account has left a's list, with
 * a's conv_delete event, and the group; one still there has neither. ev: a's
 * sync events. */
static void ck_accounts(wsc_t *a, json_t *ev)
{
  json_t *fr = v4(srv.port, app, key, "sns/friend_get", "{\"From_Account\":\"%s\",\"StartIndex\":0}", ua);
  assert_non_null(fr);
  json_t *cv = wsc_rpc(a, "conversations", "%s", "");
  assert_non_null(cv);
  assert_int_equal(jint(cv, "code"), 0);
  json_t *gm = v4(srv.port, app, key, G("get_group_member_info"), "{\"GroupId\":\"%s\"}", gid);
  assert_non_null(gm);
  assert_int_equal(jint(gm, "ErrorCode"), 0);
  for (int i = 0; i < ck.nacct; i++) {
    json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"%s\"}]}", ck.acct[i]);
    assert_non_null(r);
    const char *st = jstr(json_array_get(json_object_get(r, "ResultItem"), 0), "AccountStatus");
    int in = !strcmp(st, "Imported");
    if ((ck.acct_st[i] == 1 && !in) || (ck.acct_st[i] == 3 && in))
      fail_msg("account %s: %s, acknowledged state %d", ck.acct[i], st, ck.acct_st[i]);
    json_decref(r);
    int friend = 0;
    json_t *it;
    size_t j;
    json_array_foreach(json_object_get(fr, "UserDataItem"), j, it) friend |= !strcmp(jstr(it, "To_Account"), ck.acct[i]);
    if (ck.friend_st[i] == 1 && ck.acct_st[i] == 1 && !friend) fail_msg("%s's acknowledged friend %s lost", ua, ck.acct[i]);
    if (!in && friend) fail_msg("%s's friend %s is a deleted account", ua, ck.acct[i]);
    if (!ck.acct_st[i] || ck.acct_st[i] == 2) continue; /* its import in flight: nothing else was done with it */
    int listed = ck_listed(json_object_get(cv, "conversations"), "peer", ck.acct[i]);
    int member = ck_listed(json_object_get(gm, "MemberList"), "Member_Account", ck.acct[i]);
    json_t *de = ck_last_ev(ev, "conv_delete", ck.acct[i]);
    int told = de && !strcmp(jstr(de, "reason"), "account_deleted");
    if (!in && (listed || member || (ck.msg_st[i] == 1 && !told)))
      fail_msg("account %s deleted by halves: in %s's list %d, a member %d, %s told %d", ck.acct[i], ua, listed, member, ua, told);
    if (in && (told || (ck.msg_st[i] == 1 && !listed) || (ck.join_st[i] == 1 && !member)))
      fail_msg("account %s (imported): in %s's list %d, a member %d, %s told of a deletion %d", ck.acct[i], ua, listed, member, ua, told);
  }
  json_decref(fr);
  json_decref(cv);
  json_decref(gm);
}

/* Everything of one client (its users named in ua, ub, uc, gid); the
 * number of acknowledged writes its log holds. */
static int crash_check(const char *path)
{
  int acked = ck_replay(path);
  wsc_t a, b, c;
  ck_login(&a, ua, "chk-a");
  ck_login(&b, ub, "chk-b");
  ck_login(&c, uc, "chk-c");
  ck_conv(&b, ua, "ab");
  ck_conv(&c, ua, "ac"); /* a batch in flight may have reached one target only: each is its own write */
  ck_conv(&b, uc, "bc");
  json_decref(ck_sync(ub, ua, 1));
  json_decref(ck_sync(ub, uc, 1));
  json_decref(ck_sync(uc, ua, 1));
  json_t *ev = ck_sync(ua, ub, 0);
  ck_convs(&a, ev);
  ck_accounts(&a, ev);
  ck_del(&a, ev);
  json_decref(ev);
  ck_clear(&a);
  ck_group(&a);
  wsc_close(&a);
  wsc_close(&b);
  wsc_close(&c);
  return acked;
}

#endif
