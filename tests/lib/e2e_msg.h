/* e2e_msg.h — helpers for the messaging end-to-end tests (header-only, on
 * top of e2e.h): a WebSocket client that keeps frames it was not waiting for
 * (pushes interleave with replies), JSON access with jansson, REST calls
 * answered as parsed JSON. Test-only; aborts the test on protocol failures. */
#ifndef IMC_TESTS_E2E_MSG_H
#define IMC_TESTS_E2E_MSG_H

#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

/* A MsgBody of one text element; a REST command of the group service:
 * call(G("create_group"), "{\"Type\":…," "\"MsgBody\":" TEXT("hi") "}") */
#define TEXT(t) "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"" t "\"}}]"
#define G(cmd) "group_open_http_svc/" cmd

#define WSC_STASH 1024

typedef struct wsc {
  int fd;
  json_t *stash[WSC_STASH];   /* frames received but not yet consumed, oldest first */
  int n;
  int next_id;
} wsc_t;

static inline void wsc_close(wsc_t *c)
{
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  for (int i = 0; i < c->n; i++) json_decref(c->stash[i]);
  c->n = 0;
}

/* Log in on a fresh connection; 0 or -1. */
static inline int wsc_login(wsc_t *c, int port, uint32_t app, const char *key, const char *user, const char *platform)
{
  memset(c, 0, sizeof *c);
  c->next_id = 100;
  c->fd = e2e_ws_login(port, app, key, user, platform, NULL, 0);
  return c->fd >= 0 ? 0 : -1;
}

/* Read one frame into the stash; 0 or -1 (timeout / closed). */
static inline int wsc_read(wsc_t *c, int timeout_ms)
{
  static char buf[1 << 20];
  int op = 0, cc = 0;
  for (;;) {
    int n = e2e_ws_recv(c->fd, &op, buf, sizeof buf, timeout_ms, &cc);
    if (n < 0 || op == 8) return -1;
    if (op != 1) continue;
    json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
    if (!o || c->n == WSC_STASH) { json_decref(o); return -1; }
    c->stash[c->n++] = o;
    return 0;
  }
}

/* The oldest stashed frame, else the next text frame that arrives within
 * wait_ms (caller decrefs). NULL with *close_code 0: nothing within wait_ms
 * (or a control frame); with the peer's close code: the server closed the
 * connection (-1: no close frame, or a frame that is not JSON). */
static inline json_t *wsc_next(wsc_t *c, int wait_ms, int *close_code)
{
  static char buf[1 << 20];
  *close_code = 0;
  if (c->n) {
    json_t *o = c->stash[0];
    memmove(&c->stash[0], &c->stash[1], (size_t)(--c->n) * sizeof c->stash[0]);
    return o;
  }
  struct pollfd p = { c->fd, POLLIN, 0 };
  if (poll(&p, 1, wait_ms) != 1) return NULL;
  int op = 0, cc = 0, n = e2e_ws_recv(c->fd, &op, buf, sizeof buf, 5000, &cc);
  if (n < 0 || op == 8) {
    *close_code = op == 8 ? cc : -1;
    return NULL;
  }
  if (op != 1) return NULL;
  json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
  if (!o) *close_code = -1;
  return o;
}

/* Frames until the server closes c: none may answer request id (fails the
 * test otherwise), and the close code must be code (a reply that could not be
 * made whole: the connection is cut instead, decisions §82). 15 s at most. */
static inline void wsc_expect_cut(wsc_t *c, json_int_t id, int code)
{
  int cc = 0;
  json_t *o;
  while ((o = wsc_next(c, 15000, &cc))) {
    if (json_integer_value(json_object_get(o, "id")) == id) fail_msg("answered %s", json_dumps(o, JSON_COMPACT));
    json_decref(o);
  }
  assert_int_equal(cc, code);
}

/* The first frame (stashed or new) for which match(frame, arg) holds,
 * removed from the stash (caller decrefs); NULL after timeout_ms. */
static inline json_t *wsc_take(wsc_t *c, int (*match)(json_t *, const void *), const void *arg, int timeout_ms)
{
  for (;;) {
    for (int i = 0; i < c->n; i++) {
      if (!match(c->stash[i], arg)) continue;
      json_t *o = c->stash[i];
      memmove(&c->stash[i], &c->stash[i + 1], (size_t)(c->n - i - 1) * sizeof c->stash[0]);
      c->n--;
      return o;
    }
    if (wsc_read(c, timeout_ms)) return NULL;
  }
}

static inline int match_id(json_t *o, const void *arg)
{
  json_t *id = json_object_get(o, "id");
  return json_is_integer(id) && json_integer_value(id) == *(const int *)arg;
}

static inline int match_type(json_t *o, const void *arg)
{
  json_t *t = json_object_get(o, "type");
  return json_is_string(t) && !strcmp(json_string_value(t), (const char *)arg);
}

/* Send {"id":N,"op":op, …fields} (fields: JSON object text without braces,
 * may be "") and return the reply (caller decrefs); NULL on timeout. */
static inline json_t *wsc_rpc(wsc_t *c, const char *op, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline json_t *wsc_rpc(wsc_t *c, const char *op, const char *fmt, ...)
{
  static char fields[1 << 16], frame[(1 << 16) + 128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(fields, sizeof fields, fmt, ap);
  va_end(ap);
  int id = ++c->next_id;
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"%s\"%s%s}", id, op, fields[0] ? "," : "", fields);
  if (e2e_ws_send_text(c->fd, frame)) return NULL;
  return wsc_take(c, match_id, &id, 5000);
}

/* The next push of that type; NULL after timeout_ms. */
static inline json_t *wsc_push(wsc_t *c, const char *type, int timeout_ms)
{
  return wsc_take(c, match_type, type, timeout_ms);
}

static inline json_int_t jint(json_t *o, const char *path)
{
  /* "a.b" walks objects */
  char name[64];
  const char *dot;
  while ((dot = strchr(path, '.'))) {
    snprintf(name, sizeof name, "%.*s", (int)(dot - path), path);
    o = json_object_get(o, name);
    path = dot + 1;
  }
  return json_integer_value(json_object_get(o, path));
}

static inline const char *jstr(json_t *o, const char *path)
{
  char name[64];
  const char *dot;
  while ((dot = strchr(path, '.'))) {
    snprintf(name, sizeof name, "%.*s", (int)(dot - path), path);
    o = json_object_get(o, name);
    path = dot + 1;
  }
  const char *s = json_string_value(json_object_get(o, path));
  return s ? s : "";
}

/* A REST v4 call as administrator; the parsed reply (caller decrefs). */
static inline json_t *v4(int port, uint32_t app, const char *key, const char *cmd, const char *fmt, ...)
  __attribute__((format(printf, 5, 6)));
static inline json_t *v4(int port, uint32_t app, const char *key, const char *cmd, const char *fmt, ...)
{
  static char body[1 << 20], out[1 << 20];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  if (e2e_v4(port, app, key, "administrator", cmd, body, out, sizeof out) != 200) return NULL;
  return json_loads(out, 0, NULL);
}

/* Sync from cursor until a page is complete; returns the events of all
 * pages as one array (caller decrefs), NULL on a failed page; *end (if
 * given) the cursor it ended at. From cursor 0 the session is then live (it
 * gets every later stored event as a push, relationship events included):
 * wsc_sync_live. */
static inline json_t *wsc_sync_from(wsc_t *c, uint32_t cursor, uint32_t *end)
{
  json_t *all = json_array();
  for (;;) {
    json_t *r = wsc_rpc(c, "sync", "\"cursor\":%u", cursor);
    if (!r || json_integer_value(json_object_get(r, "code")) != 0) { json_decref(r); json_decref(all); return NULL; }
    json_array_extend(all, json_object_get(r, "events"));
    cursor = (uint32_t)json_integer_value(json_object_get(r, "cursor"));
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) {
      if (end) *end = cursor;
      return all;
    }
  }
}

static inline json_t *wsc_sync_live(wsc_t *c) { return wsc_sync_from(c, 0, NULL); }

/* A fresh device of user (logged in on its own connection, closed after) synced from cursor until a page is
 * complete: its events (caller decrefs); *end (if given) the cursor it ended at. Fails the test on a failed login
 * or page. */
static inline json_t *wsc_device_sync(int port, uint32_t app, const char *key, const char *user, uint32_t cursor,
                                      uint32_t *end)
{
  wsc_t d;
  assert_int_equal(wsc_login(&d, port, app, key, user, "Web"), 0);
  json_t *all = wsc_sync_from(&d, cursor, end);
  assert_non_null(all);
  wsc_close(&d);
  return all;
}

/* A push (a frame with a type), for wsc_take. */
static inline int match_push(json_t *o, const void *arg)
{
  (void)arg;
  return json_is_string(json_object_get(o, "type"));
}

/* The texts of a list of messages (field: "MsgBody" in REST replies, "body"
 * in the protocol's) joined by "," into out; those without text (system
 * notices) are left out. */
static inline void msg_texts(json_t *list, const char *field, char *out, size_t cap)
{
  json_t *e;
  size_t i;
  out[0] = 0;
  json_array_foreach(list, i, e) {
    const char *t = jstr(json_array_get(json_object_get(e, field), 0), "MsgContent.Text");
    if (t[0]) snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", t);
  }
}

/* Import accounts (NULL-terminated). */
static inline void import_users(int port, uint32_t app, const char *key, const char *const *users)
{
  for (; *users; users++) json_decref(v4(port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", *users));
}

#endif
