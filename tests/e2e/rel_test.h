/* rel_test.h — what the relationship end-to-end tests (test_rel.c: profiles,
 * friends, friend lists, durability and tenant isolation; test_rel_guard.c:
 * blocklists, the C2C send checks, global mute, account deletion; one
 * program each) share, header-only: the server with its app, key and
 * operator token (started by setup, stopped by teardown), V4 calls and their
 * ErrorCode checks, item fields of a reply, logging in with a sync, user
 * imports, profile sets, operator POSTs and the friend_check relation.
 * Include once, after cmocka.h. Test-only. */
#ifndef IMC_TESTS_E2E_REL_TEST_H
#define IMC_TESTS_E2E_REL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];

static int wait_operator(void)
{
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  for (int i = 0; i < 200; i++) {
    char buf[4096];
    if (e2e_http(srv.port, "GET", "/operator/v1/customers", auth, NULL, buf, sizeof buf) == 200) return 0;
    usleep(50 * 1000);
  }
  return -1;
}

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, "china", &app, key, NULL)) return -1;
  return wait_operator();
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

/* Log in and sync: relationship pushes are inbox events, pushed to live sessions. */
static void login(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

/* Assert the envelope's ErrorCode and return the reply (caller decrefs). */
static json_t *ok_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != code) fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  return r;
}
#define EXPECT(code, r) json_decref(ok_code((r), (code)))

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* ResultCode of item i of array `field`. */
static int item_code(json_t *r, const char *field, size_t i)
{
  return (int)json_integer_value(json_object_get(json_array_get(json_object_get(r, field), i), "ResultCode"));
}

static const char *item_str(json_t *r, const char *field, size_t i, const char *name)
{
  const char *s = json_string_value(json_object_get(json_array_get(json_object_get(r, field), i), name));
  return s ? s : "";
}

static void set_profile(const char *user, const char *items)
{
  EXPECT(0, V4("profile/portrait_set", "{\"From_Account\":\"%s\",\"ProfileItem\":[%s]}", user, items));
}

static int op_post(const char *path_fmt, const char *body, char *out, size_t cap)
{
  char path[128];
  snprintf(path, sizeof path, path_fmt, app);
  int fd = e2e_connect(srv.port);
  char req[4096];
  snprintf(req, sizeof req, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
           path, auth, strlen(body), body);
  e2e_send(fd, req, strlen(req));
  int st = e2e_http_read(fd, out, cap, 5000);
  close(fd);
  return st;
}

static const char *relation(const char *from, const char *to, const char *type)
{
  static char rel[64];
  json_t *r = ok_code(V4("sns/friend_check", "{\"From_Account\":\"%s\",\"To_Account\":[\"%s\"],\"CheckType\":\"%s\"}", from, to, type), 0);
  snprintf(rel, sizeof rel, "%s", item_str(r, "InfoItem", 0, "Relation"));
  json_decref(r);
  return rel;
}

#endif
