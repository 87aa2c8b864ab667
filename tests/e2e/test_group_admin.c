/* End-to-end: what the owner, admins and the App admin see of a group, through
 * the real WebSocket and REST interfaces on a server with the test clock (it
 * stands still, so times are exact) and group_max_applications 3.
 *
 * Applications to join a Public group that needs approval
 * (docs/protocol.md "Groups", docs/decisions/groups.md §1), through the real
 * WebSocket and REST interfaces on a server with the test clock (it stands
 * still, so application times are exact) and group_max_applications 3:
 *  - the owner and admins list the applications waiting (group_applications:
 *    oldest first, with the applicant and the time, paged); a member or a
 *    stranger may not; the list survives a restart;
 *  - the applicant's synced sessions get group_apply_result when it is
 *    approved, rejected, or the group is dissolved; it is an event of the
 *    applicant's inbox: an applicant offline meanwhile reads it once in its
 *    sync (with a useq), also after a restart;
 *  - the owner and admins get group_apply, the members of a dissolved group
 *    group_dissolved, as events of their inboxes: offline meanwhile, each
 *    reads them once in its sync (with a useq), also after a restart; a
 *    synced session gets each once, live;
 *  - a member kicked (REST delete_group_member, Silence or not; WebSocket
 *    group_kick) gets group_kicked, one that quits group_quit, as events
 *    of its inbox: offline meanwhile, it reads it once in its sync;
 *  - an application ends without a push when the user is added another way
 *    or its account is deleted;
 *  - at most group_max_applications wait per group (10014 beyond).
 * The app is on the free "trial" edition (account_delete is allowed).
 *
 * Senders and member send times:
 *  - a message the App admin sends by REST without From_Account is sent as
 *    the identifier the request was signed as: pushes, group_msg_get_simple,
 *    the WebSocket history and the group_modify push name it, across a
 *    restart; a resend with the same Random inside the window is the same
 *    message;
 *  - LastSendMsgTime of get_group_member_info is the member's last message
 *    time in the group (WebSocket and REST sends, imports; not notices),
 *    across a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"
#include "e2e_check.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80], auth[160];
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", "--group-max-applications", "3",
                                    NULL };


static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_t *call(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *call(const char *cmd, const char *fmt, ...)
{
  static char body[1 << 16];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  json_t *r = v4(srv.port, app, key, cmd, "%s", body);
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fprintf(stderr, "%s: %s\n", cmd, jstr(r, "ErrorInfo"));
  return r;
}




static void restart(void)
{
  int status = e2e_server_stop(&srv);
  if (status) { char *log = e2e_server_log(&srv); fprintf(stderr, "%s\n", log); free(log); }
  assert_int_equal(status, 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
}

/* Log in and sync until live (inbox events such as group_apply_result reach live sessions only). */
static void login(wsc_t *c, const char *user)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

static int rcode(json_t *r)
{
  assert_non_null(r);
  int c = (int)jint(r, "code");
  json_decref(r);
  return c;
}

static void apply(wsc_t *c, const char *gid)
{
  json_t *r = wsc_rpc(c, "group_join", "\"group_id\":\"%s\"", gid);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_string_equal(jstr(r, "result"), "pending");
  json_decref(r);
}

/* One page of group_applications as "user@time-t0,…" into out; *more and *total from the reply. 0 or the code. */
static int applications(wsc_t *c, const char *gid, const char *paging, int64_t t0, char *out, size_t cap, int *more,
                        int *total)
{
  json_t *r = wsc_rpc(c, "group_applications", "\"group_id\":\"%s\"%s%s", gid, paging[0] ? "," : "", paging), *e;
  assert_non_null(r);
  int code = (int)jint(r, "code");
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "applications"), i, e)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s@%lld", out[0] ? "," : "", jstr(e, "user"),
             (long long)(jint(e, "time") - t0));
  if (more) *more = json_is_true(json_object_get(r, "more"));
  if (total) *total = (int)jint(r, "total");
  json_decref(r);
  return code;
}

/* The next group_apply_result push of c: its result ("" if none within timeout_ms), for group gid. */
static const char *apply_result(wsc_t *c, const char *gid, int timeout_ms)
{
  static char res[32];
  json_t *r = wsc_push(c, "group_apply_result", timeout_ms);
  res[0] = 0;
  if (!r) return res;
  assert_string_equal(jstr(r, "group_id"), gid);
  assert_string_equal(jstr(r, "group_type"), "Public");
  snprintf(res, sizeof res, "%s", jstr(r, "result"));
  json_decref(r);
  return res;
}

/* ---- listing, approve and reject pushes, restart -------------------------------------------------- */
static void test_list_approve_reject(void **st)
{
  (void)st;
  static const char *const u[] = { "pa", "pb", "pm", "pc", "pd", "pe", "px", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"ap\",\"GroupId\":\"ap\",\"Owner_Account\":\"pa\","
                             "\"MemberList\":[{\"Member_Account\":\"pb\",\"Role\":\"Admin\"},{\"Member_Account\":\"pm\"}]}"));
  /* the owner and the admin are offline while three users apply, ten seconds apart */
  int64_t t0 = op_clock_now(srv.port, auth);
  wsc_t c, d, e;
  login(&c, "pc");
  login(&d, "pd");
  login(&e, "pe");
  apply(&e, "ap");
  op_clock_advance(srv.port, auth, 10);
  apply(&c, "ap");
  op_clock_advance(srv.port, auth, 10);
  apply(&d, "ap");
  apply(&d, "ap"); /* again: the same application */
  /* the owner and the admin, logged in afterwards, find them; a member and a stranger may not look */
  wsc_t a, b, m, x;
  login(&a, "pa");
  login(&b, "pb");
  login(&m, "pm");
  login(&x, "px");
  char got[256];
  int more, total;
  assert_int_equal(applications(&a, "ap", "", t0, got, sizeof got, &more, &total), 0);
  assert_string_equal(got, "pe@0,pc@10,pd@20");
  assert_int_equal(more, 0);
  assert_int_equal(total, 3);
  assert_int_equal(applications(&b, "ap", "\"limit\":2", t0, got, sizeof got, &more, &total), 0);
  assert_string_equal(got, "pe@0,pc@10");
  assert_int_equal(more, 1);
  assert_int_equal(applications(&b, "ap", "\"offset\":2,\"limit\":2", t0, got, sizeof got, &more, &total), 0);
  assert_string_equal(got, "pd@20");
  assert_int_equal(more, 0);
  assert_int_equal(applications(&m, "ap", "", t0, got, sizeof got, NULL, NULL), 10007);
  assert_int_equal(applications(&x, "ap", "", t0, got, sizeof got, NULL, NULL), 10007);
  assert_int_equal(applications(&a, "nope", "", t0, got, sizeof got, NULL, NULL), 10010);
  assert_int_equal(applications(&a, "ap", "\"limit\":0", t0, got, sizeof got, NULL, NULL), 10004);
  assert_int_equal(applications(&a, "ap", "\"offset\":-1", t0, got, sizeof got, NULL, NULL), 10004);
  /* the admin approves pc, the owner rejects pd: each applicant is told */
  json_t *r = wsc_rpc(&b, "group_approve", "\"group_id\":\"ap\",\"users\":[\"pc\"]");
  assert_int_equal(jint(json_array_get(json_object_get(r, "results"), 0), "result"), 1);
  json_decref(r);
  assert_string_equal(apply_result(&c, "ap", 3000), "approved");
  assert_int_equal(rcode(wsc_rpc(&a, "group_reject", "\"group_id\":\"ap\",\"users\":[\"pd\"]")), 0);
  assert_string_equal(apply_result(&d, "ap", 3000), "rejected");
  assert_string_equal(apply_result(&e, "ap", 200), ""); /* pe's is still waiting */
  assert_int_equal(applications(&a, "ap", "", t0, got, sizeof got, &more, &total), 0);
  assert_string_equal(got, "pe@0");
  assert_int_equal(total, 1);
  wsc_close(&a); wsc_close(&b); wsc_close(&m); wsc_close(&x);
  wsc_close(&c); wsc_close(&d); wsc_close(&e);
  restart();
  login(&a, "pa");
  assert_int_equal(applications(&a, "ap", "", t0, got, sizeof got, NULL, &total), 0);
  assert_string_equal(got, "pe@0");
  /* and it can still be approved after the restart */
  login(&e, "pe");
  r = wsc_rpc(&a, "group_approve", "\"group_id\":\"ap\",\"users\":[\"pe\"]");
  assert_int_equal(jint(json_array_get(json_object_get(r, "results"), 0), "result"), 1);
  json_decref(r);
  assert_string_equal(apply_result(&e, "ap", 3000), "approved");
  assert_int_equal(applications(&a, "ap", "", t0, got, sizeof got, NULL, &total), 0);
  assert_string_equal(got, "");
  assert_int_equal(total, 0);
  wsc_close(&a);
  wsc_close(&e);
}

/* ---- the other ends of an application, and the cap -------------------------------------------------- */
static void test_other_ends_and_cap(void **st)
{
  (void)st;
  static const char *const u[] = { "qa", "qb", "qc", "qd", "qe", "qf", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"aq\",\"GroupId\":\"aq\",\"Owner_Account\":\"qa\"}"));
  int64_t t0 = op_clock_now(srv.port, auth);
  wsc_t a, b, c, d, e, f;
  login(&a, "qa");
  login(&b, "qb");
  login(&c, "qc");
  login(&d, "qd");
  login(&e, "qe");
  login(&f, "qf");
  apply(&b, "aq");
  apply(&c, "aq");
  apply(&d, "aq");
  /* the cap: a fourth application waits for room */
  json_t *r = wsc_rpc(&e, "group_join", "\"group_id\":\"aq\"");
  assert_int_equal(jint(r, "code"), 10014);
  json_decref(r);
  char got[256];
  int total;
  assert_int_equal(applications(&a, "aq", "", t0, got, sizeof got, NULL, &total), 0);
  assert_string_equal(got, "qb@0,qc@0,qd@0");
  /* qb is added by the App admin: its application ends (no result push: it is a member now) */
  r = call(G("add_group_member"), "{\"GroupId\":\"aq\",\"MemberList\":[{\"Member_Account\":\"qb\"}]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "MemberList"), 0), "Result"), 1);
  json_decref(r);
  /* qc's account is deleted: its application goes with it */
  v4_ok(call("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"qc\"}]}"));
  assert_int_equal(applications(&a, "aq", "", t0, got, sizeof got, NULL, &total), 0);
  assert_string_equal(got, "qd@0");
  assert_int_equal(total, 1);
  assert_string_equal(apply_result(&b, "aq", 200), "");
  /* room again: qe and qf apply */
  apply(&e, "aq");
  apply(&f, "aq");
  /* the group is dissolved: the applicants online are told, the members get group_dissolved */
  assert_int_equal(rcode(wsc_rpc(&a, "group_dissolve", "\"group_id\":\"aq\"")), 0);
  assert_string_equal(apply_result(&d, "aq", 3000), "dissolved");
  assert_string_equal(apply_result(&e, "aq", 3000), "dissolved");
  assert_string_equal(apply_result(&f, "aq", 3000), "dissolved");
  r = wsc_push(&b, "group_dissolved", 3000);
  assert_non_null(r);
  json_decref(r);
  /* a new group with the same id starts with no applications */
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"aq\",\"GroupId\":\"aq\",\"Owner_Account\":\"qa\"}"));
  assert_int_equal(applications(&a, "aq", "", t0, got, sizeof got, NULL, &total), 0);
  assert_string_equal(got, "");
  wsc_close(&a); wsc_close(&b); wsc_close(&c); wsc_close(&d); wsc_close(&e); wsc_close(&f);
}

/* ---- an applicant offline when its application ends -------------------------------------------------- */
/* Log user in and sync from 0: its group_apply_result events as "group:result@useq,…" into out (c stays live). */
static void synced_results(wsc_t *c, const char *user, char *out, size_t cap)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
  json_t *evs = wsc_sync_live(c), *e;
  assert_non_null(evs);
  size_t i;
  out[0] = 0;
  json_array_foreach(evs, i, e) {
    if (strcmp(jstr(e, "type"), "group_apply_result")) continue;
    assert_string_equal(jstr(e, "group_type"), "Public");
    assert_true(jint(e, "useq") > 0);
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%s", out[0] ? "," : "", jstr(e, "group_id"), jstr(e, "result"));
  }
  json_decref(evs);
}

static void test_offline_applicant_syncs_result(void **st)
{
  (void)st;
  static const char *const u[] = { "oa", "ox", "oy", "oz", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"ao\",\"GroupId\":\"ao\",\"Owner_Account\":\"oa\"}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"ao2\",\"GroupId\":\"ao2\",\"Owner_Account\":\"oa\"}"));
  /* three users apply and go offline */
  wsc_t x, y, z, a;
  login(&x, "ox");
  apply(&x, "ao");
  login(&y, "oy");
  apply(&y, "ao");
  login(&z, "oz");
  apply(&z, "ao2");
  wsc_close(&x); wsc_close(&y); wsc_close(&z);
  /* meanwhile: ox approved, oy rejected, ao2 dissolved */
  login(&a, "oa");
  json_t *r = wsc_rpc(&a, "group_approve", "\"group_id\":\"ao\",\"users\":[\"ox\"]");
  assert_int_equal(jint(json_array_get(json_object_get(r, "results"), 0), "result"), 1);
  json_decref(r);
  assert_int_equal(rcode(wsc_rpc(&a, "group_reject", "\"group_id\":\"ao\",\"users\":[\"oy\"]")), 0);
  assert_int_equal(rcode(wsc_rpc(&a, "group_dissolve", "\"group_id\":\"ao2\"")), 0);
  wsc_close(&a);
  /* each logs in, syncs and reads its outcome once; no push repeats it once live */
  char got[256];
  for (int pass = 0; pass < 2; pass++) {
    synced_results(&x, "ox", got, sizeof got);
    assert_string_equal(got, "ao:approved");
    synced_results(&y, "oy", got, sizeof got);
    assert_string_equal(got, "ao:rejected");
    synced_results(&z, "oz", got, sizeof got);
    assert_string_equal(got, "ao2:dissolved");
    assert_string_equal(apply_result(&x, "ao", 300), "");
    assert_string_equal(apply_result(&y, "ao", 1), "");
    assert_string_equal(apply_result(&z, "ao2", 1), "");
    wsc_close(&x); wsc_close(&y); wsc_close(&z);
    if (!pass) restart(); /* durable: the same after a restart */
  }
}

/* ---- owners, admins and members offline when someone applies or the group is dissolved ------------------ */
/* Log user in and sync from 0: its group_apply, group_dissolved, group_kicked and group_quit events as
 * "type:group[@user],…" into out,
 * each checked to carry a useq above the one before (c stays live). */
static void synced_group_events(wsc_t *c, const char *user, char *out, size_t cap)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
  json_t *evs = wsc_sync_live(c), *e;
  assert_non_null(evs);
  size_t i;
  json_int_t last = 0;
  out[0] = 0;
  json_array_foreach(evs, i, e) {
    const char *t = jstr(e, "type");
    if (strcmp(t, "group_apply") && strcmp(t, "group_dissolved") && strcmp(t, "group_kicked") && strcmp(t, "group_quit"))
      continue;
    assert_true(jint(e, "useq") > last);
    last = jint(e, "useq");
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%s%s%s", out[0] ? "," : "", t, jstr(e, "group_id"),
             json_object_get(e, "user") ? "@" : "", jstr(e, "user"));
  }
  json_decref(evs);
}

static void test_offline_members_sync_apply_and_dissolved(void **st)
{
  (void)st;
  static const char *const u[] = { "va", "vb", "vm", "vc", "vd", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"vp\",\"GroupId\":\"vp\",\"Owner_Account\":\"va\","
                             "\"MemberList\":[{\"Member_Account\":\"vb\",\"Role\":\"Admin\"},{\"Member_Account\":\"vm\"}]}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"Private\",\"Name\":\"vw\",\"GroupId\":\"vw\",\"Owner_Account\":\"va\","
                             "\"MemberList\":[{\"Member_Account\":\"vm\"}]}"));
  /* vd stays online and synced: it gets each event once, live, with its useq */
  v4_ok(call(G("add_group_member"), "{\"GroupId\":\"vw\",\"MemberList\":[{\"Member_Account\":\"vd\"}]}"));
  wsc_t d;
  login(&d, "vd");
  /* vc applies while the owner and the admin are offline, then everyone but vd is offline while
   * the App admin dissolves both groups */
  wsc_t c;
  login(&c, "vc");
  apply(&c, "vp");
  wsc_close(&c);
  v4_ok(call(G("destroy_group"), "{\"GroupId\":\"vp\"}"));
  v4_ok(call(G("destroy_group"), "{\"GroupId\":\"vw\"}"));
  json_t *r = wsc_push(&d, "group_dissolved", 3000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "group_id"), "vw");
  assert_string_equal(jstr(r, "group_type"), "Private");
  assert_true(jint(r, "useq") > 0);
  json_decref(r);
  assert_null(wsc_push(&d, "group_dissolved", 300));
  wsc_close(&d);
  /* each logs in, syncs from 0 and reads what it missed once; nothing repeats it once live */
  wsc_t x[4];
  static const char *const who[] = { "va", "vb", "vm", "vd" };
  static const char *const want[] = { "group_apply:vp@vc,group_dissolved:vp,group_dissolved:vw",
                                      "group_apply:vp@vc,group_dissolved:vp",
                                      "group_dissolved:vp,group_dissolved:vw",
                                      "group_dissolved:vw" };
  char got[512];
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < 4; i++) {
      synced_group_events(&x[i], who[i], got, sizeof got);
      assert_string_equal(got, want[i]);
    }
    assert_null(wsc_push(&x[0], "group_dissolved", 300));
    for (int i = 0; i < 4; i++) {
      assert_null(wsc_push(&x[i], "group_dissolved", 1));
      assert_null(wsc_push(&x[i], "group_apply", 1));
      wsc_close(&x[i]);
    }
    if (!pass) restart(); /* durable: the same after a restart */
  }
}

/* A member removed while offline learns it from its sync: kicked by REST delete_group_member (with
 * Silence or not) or by the owner's WebSocket group_kick, or quitting on another device. */
static void test_offline_members_sync_kicked_and_quit(void **st)
{
  (void)st;
  static const char *const u[] = { "ka", "kb", "kc", "kd", "kq", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"kk\",\"GroupId\":\"kk\",\"Owner_Account\":\"ka\","
                             "\"MemberList\":[{\"Member_Account\":\"kb\"},{\"Member_Account\":\"kc\"},"
                             "{\"Member_Account\":\"kd\"},{\"Member_Account\":\"kq\"}]}"));
  /* kd stays online and synced: kicked silently, it still gets group_kicked once, live, with its useq */
  wsc_t d, a, q;
  login(&d, "kd");
  v4_ok(call(G("delete_group_member"), "{\"GroupId\":\"kk\",\"MemberToDel_Account\":[\"kb\"]}"));
  v4_ok(call(G("delete_group_member"), "{\"GroupId\":\"kk\",\"Silence\":1,\"MemberToDel_Account\":[\"kd\"]}"));
  json_t *r = wsc_push(&d, "group_kicked", 3000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "group_id"), "kk");
  assert_string_equal(jstr(r, "group_type"), "Public");
  assert_true(jint(r, "useq") > 0);
  json_decref(r);
  assert_null(wsc_push(&d, "group_kicked", 300));
  wsc_close(&d);
  login(&a, "ka");
  r = wsc_rpc(&a, "group_kick", "\"group_id\":\"kk\",\"users\":[\"kc\"]");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  login(&q, "kq");
  r = wsc_rpc(&q, "group_quit", "\"group_id\":\"kk\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&q);
  wsc_close(&a);
  /* each logs in, syncs from 0 and reads it once; the owner has nothing; the same after a restart */
  static const char *const who[] = { "kb", "kc", "kd", "kq", "ka" };
  static const char *const want[] = { "group_kicked:kk", "group_kicked:kk", "group_kicked:kk", "group_quit:kk", "" };
  char got[256];
  wsc_t x;
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < 5; i++) {
      synced_group_events(&x, who[i], got, sizeof got);
      assert_string_equal(got, want[i]);
      assert_null(wsc_push(&x, "group_kicked", 1));
      wsc_close(&x);
    }
    if (!pass) restart();
  }
}

/* ---- the App admin sends without From_Account ------------------------------------------------- */
/* From_Account of every message of group_msg_get_simple, oldest first, joined by "," (system notices: "-"). */
static void simple_senders(const char *gid, char *out, size_t cap)
{
  json_t *r = call(G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":20}", gid), *m;
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *list = json_object_get(r, "RspMsgList");
  out[0] = 0;
  for (size_t i = json_array_size(list); i-- > 0;) {
    m = json_array_get(list, i);
    const char *who = jint(m, "IsSystemMsg") ? "-" : jstr(m, "From_Account");
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", who);
  }
  json_decref(r);
}

static void test_admin_sender(void **st)
{
  (void)st;
  static const char *const u[] = { "aa", "ab", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"adm\",\"GroupId\":\"adm\",\"Owner_Account\":\"aa\","
                             "\"MemberList\":[{\"Member_Account\":\"ab\"}]}"));
  wsc_t a;
  login(&a, "aa");
  json_t *r = call(G("send_group_msg"), "{\"GroupId\":\"adm\",\"Random\":11,\"MsgBody\":" TEXT("from the admin") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t seq = jint(r, "MsgSeq");
  json_decref(r);
  r = wsc_push(&a, "group_msg", 3000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "msg.from"), "administrator");
  json_decref(r);
  /* the admin's resend inside the dedupe window is the same message */
  r = call(G("send_group_msg"), "{\"GroupId\":\"adm\",\"Random\":11,\"MsgBody\":" TEXT("from the admin") "}");
  assert_int_equal(jint(r, "MsgSeq"), seq);
  json_decref(r);
  /* a member's message with the same Random is another sender's */
  r = call(G("send_group_msg"), "{\"GroupId\":\"adm\",\"From_Account\":\"ab\",\"Random\":11,\"MsgBody\":" TEXT("ab") "}");
  assert_int_equal(jint(r, "MsgSeq"), seq + 1);
  json_decref(r);
  char got[256];
  simple_senders("adm", got, sizeof got);
  assert_string_equal(got, "-,administrator,ab");
  /* the WebSocket history */
  r = wsc_rpc(&a, "group_history", "\"group_id\":\"adm\"");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *msgs = json_object_get(r, "msgs");
  assert_int_equal(json_array_size(msgs), 3);
  assert_string_equal(jstr(json_array_get(msgs, 1), "from"), "administrator");
  assert_string_equal(jstr(json_array_get(msgs, 2), "from"), ""); /* the creation notice */
  json_decref(r);
  /* a change of the message is pushed with its sender */
  v4_ok(call("openim/modify_group_msg", "{\"GroupId\":\"adm\",\"MsgSeq\":%lld,\"MsgBody\":" TEXT("changed") "}", (long long)seq));
  r = wsc_push(&a, "group_modify", 3000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "msg.from"), "administrator");
  json_decref(r);
  wsc_close(&a);
  restart();
  simple_senders("adm", got, sizeof got);
  assert_string_equal(got, "-,administrator,ab");
}

/* ---- LastSendMsgTime ------------------------------------------------------------------------------- */
/* LastSendMsgTime of each member of the group, "user=time" joined by "," in member order. */
static void last_sends(const char *gid, char *out, size_t cap)
{
  json_t *r = call(G("get_group_member_info"), "{\"GroupId\":\"%s\",\"MemberInfoFilter\":[\"LastSendMsgTime\"]}", gid), *m;
  assert_int_equal(jint(r, "ErrorCode"), 0);
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "MemberList"), i, m)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s=%lld", out[0] ? "," : "", jstr(m, "Member_Account"),
             (long long)jint(m, "LastSendMsgTime"));
  json_decref(r);
}

static void test_last_send_time(void **st)
{
  (void)st;
  static const char *const u[] = { "la", "lb", "lc", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"ls\",\"GroupId\":\"ls\",\"Owner_Account\":\"la\","
                             "\"MemberList\":[{\"Member_Account\":\"lb\"}]}"));
  char got[256], want[256];
  last_sends("ls", got, sizeof got);
  assert_string_equal(got, "la=0,lb=0");
  int64_t t0 = op_clock_now(srv.port, auth);
  wsc_t a;
  login(&a, "la");
  json_t *r = wsc_rpc(&a, "group_send", "\"group_id\":\"ls\",\"random\":1,\"body\":" TEXT("one"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  last_sends("ls", got, sizeof got);
  snprintf(want, sizeof want, "la=%lld,lb=0", (long long)t0);
  assert_string_equal(got, want);
  /* later: a REST send of lb, a second message of la; a notice (lc added) and the admin's own message change nobody's */
  op_clock_advance(srv.port, auth, 5);
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"ls\",\"From_Account\":\"lb\",\"Random\":2,\"MsgBody\":" TEXT("two") "}"));
  op_clock_advance(srv.port, auth, 3);
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"ls\",\"random\":3,\"body\":" TEXT("three"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  r = wsc_rpc(&a, "group_send", "\"group_id\":\"ls\",\"random\":4,\"body\":" TEXT("four, same second"));
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  op_clock_advance(srv.port, auth, 10);
  v4_ok(call(G("add_group_member"), "{\"GroupId\":\"ls\",\"MemberList\":[{\"Member_Account\":\"lc\"}]}"));
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"ls\",\"Random\":5,\"MsgBody\":" TEXT("admin") "}"));
  last_sends("ls", got, sizeof got);
  snprintf(want, sizeof want, "la=%lld,lb=%lld,lc=0", (long long)t0 + 8, (long long)t0 + 5);
  assert_string_equal(got, want);
  /* an imported message older than lc's joining still counts as its last (only) message */
  v4_ok(call(G("import_group_msg"), "{\"GroupId\":\"ls\",\"MsgList\":[{\"From_Account\":\"lc\",\"SendTime\":%lld,\"Random\":6,"
                                 "\"MsgBody\":" TEXT("imported") "}]}", (long long)t0 + 1));
  wsc_close(&a);
  restart();
  last_sends("ls", got, sizeof got);
  snprintf(want, sizeof want, "la=%lld,lb=%lld,lc=%lld", (long long)t0 + 8, (long long)t0 + 5, (long long)t0 + 1);
  assert_string_equal(got, want);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_list_approve_reject),
    cmocka_unit_test(test_other_ends_and_cap),
    cmocka_unit_test(test_offline_applicant_syncs_result),
    cmocka_unit_test(test_offline_members_sync_apply_and_dissolved),
    cmocka_unit_test(test_offline_members_sync_kicked_and_quit),
    cmocka_unit_test(test_admin_sender),
    cmocka_unit_test(test_last_send_time),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
