/* rest_v4.c — the compatible server REST API: POST /v4/<service>/<command>
 * ?sdkappid=&identifier=&usersig=&random=&contenttype=json.
 *
 * Every reply is HTTP 200 with {"ActionStatus","ErrorCode","ErrorInfo",…}
 * (rest-api-reference §1.2). Checks run in this order, each with its
 * compatible code: method (60002) → route (60009) → sdkappid present and
 * numeric (60012/60006) → app known (70020, from memory: a new app becomes
 * known through the change log, changes.c) → app rate (60011) and command
 * rate (60007) → identifier present (60004) → usersig present (60005) →
 * UserSig valid for (app, identifier) (70001…70014) → identifier is an admin
 * (60010, the route's auth column) → app not suspended (60016, or 60020
 * when its package lapsed) → body size (93000)
 * → body is a JSON object (60003) → the route's edition gate (its feature's
 * code, e.g. 7013) → a REST_READ_WAITS read at a full reader queue waits for
 * its room (rest_read_wait.c, §125) → the deletion gate → handler. The route's metered events (a REST call) are
 * counted once the call is authenticated and the app not refused. The rates come before the HMAC
 * and inflate work so that a flood costs the least. A request is logged
 * once in the access log when it is answered.
 */
#include "api/api_int.h"
#include "api/rel_gate.h"
#include "auth/usersig.h"
#include "im/msgbody.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/faultsim.h"
#include "util/jsonnull.h"
#include "util/log.h"
#include "util/num.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void access_log(rest_ctx_t *c, int err)
{
  char q[96];
  IMC_ACCESS("rest", "app=%u identifier=%s cmd=%s/%s code=%d ms=%lld remote=%s", c->sdkappid,
             imc_log_q(q, sizeof q, c->identifier), c->route ? c->route->service : "-",
             c->route ? c->route->command : "-", imc_err_compat(err),
             (long long)(imc_clock_mono_ms() - c->start_ms), net_req_remote(c->req));
}

static void ctx_free(rest_ctx_t *c)
{
  if (c->data_free) c->data_free(c->data);
  json_decref(c->body);
  free(c);
}

/* The v4 envelope of 70500 as fixed text: what is answered when no reply can be made. */
static void reply_oom(net_req_t *req, int status)
{
  static const char oom[] = "{\"ActionStatus\":\"FAIL\",\"ErrorCode\":70500,\"ErrorInfo\":\"out of memory\"}";
  net_req_reply(req, status, "application/json", oom, sizeof oom - 1, NULL);
}

void api_reply_json(net_req_t *req, int status, json_t *obj)
{
  char *text = json_dumps(obj, JSON_COMPACT);
  if (!text) {
    reply_oom(req, 500);
  } else {
    net_req_reply(req, status, "application/json; charset=utf-8", text, strlen(text), NULL);
    free(text);
  }
  json_decref(obj);
}

/* The reply: never one with a member left out (an OK without its fields would read as "nothing"): when one
 * cannot be set (out of memory) it is 70500, as fixed text (§82). */
static void reply(rest_ctx_t *c, int err, const char *info, json_t *extra)
{
  json_t *o = imc_fault(IMC_FAULT_REST_REPLY_JSON) ? NULL : json_object(); /* a test's out of memory */
  if (!o || json_object_set_new(o, "ActionStatus", json_string(err ? "FAIL" : "OK")) ||
      json_object_set_new(o, "ErrorCode", json_integer(imc_err_compat(err))) ||
      json_object_set_new(o, "ErrorInfo", json_string(err ? (info ? info : imc_strerror(err)) : "")) ||
      (extra && json_object_update(o, extra))) {
    json_decref(o);
    o = NULL;
    err = IMC_E_NOMEM;
  }
  json_decref(extra);
  access_log(c, err);
  if (o) api_reply_json(c->req, 200, o);
  else reply_oom(c->req, 200);
  ctx_free(c);
}

void rest_ctx_drop(rest_ctx_t *c)
{
  assert(!net_req_conn_id(c->req));
  net_req_reply(c->req, 200, NULL, NULL, 0, NULL); /* an orphan: freed, nothing written */
  ctx_free(c);
}

void rest_reply_ok(rest_ctx_t *c, json_t *extra)
{
  if (extra) reply(c, 0, NULL, extra);
  else reply(c, IMC_E_NOMEM, NULL, NULL); /* its fields could not be made */
}
void rest_reply_ok_bare(rest_ctx_t *c) { reply(c, 0, NULL, NULL); }

void rest_reply_err(rest_ctx_t *c, int err, const char *info, json_t *extra) { reply(c, err, info, extra); }

static void job_done(void *arg, int rc)
{
  rest_ctx_t *c = arg;
  c->srv->jobs_in_flight--;
  c->after(c, rc);
}

void rest_submit(rest_ctx_t *c, int (*run)(store_t *, void *), void (*after)(rest_ctx_t *, int))
{
  c->job.run = run;
  c->job.done = job_done;
  c->job.arg = c;
  c->after = after;
  int rc = store_writer_submit(c->srv->writer, &c->job);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; } /* queue full: refused, nothing written */
  c->srv->jobs_in_flight++;
}

int rest_user_id(json_t *obj, const char **out)
{
  json_t *v = json_object_get(obj, "UserID");
  if (!v) v = json_object_get(obj, "Identifier");
  if (!v) return IMC_E_INVAL;
  if (!json_is_string(v)) return IMC_E_JSON_TYPE;
  if (!tenant_user_id_valid(json_string_value(v))) return IMC_E_USER_ID;
  *out = json_string_value(v);
  return 0;
}

/* ---- rate limiting: token buckets in micro-tokens, refilled from uv_now -- */
typedef struct bucket { int64_t tokens_u; uint64_t last_ms; } bucket_t;

static int rate_take(api_srv_t *srv, uint64_t key, int64_t per_s)
{
  bucket_t *b = u64map_get(&srv->rate, key);
  uint64_t now = uv_now(srv->loop);
  const int64_t cap_u = per_s * 1000000;
  if (!b) {
    if (!(b = malloc(sizeof *b))) return 0;
    b->tokens_u = cap_u;
    b->last_ms = now;
    if (u64map_put(&srv->rate, key, b)) { free(b); return 0; }
  }
  /* A full bucket holds one second of tokens, so more than 1000 ms of idle
   * time adds nothing: clamping keeps the product far from overflow after
   * any idle period. */
  uint64_t idle_ms = now - b->last_ms;
  int64_t add = (int64_t)(idle_ms > 1000 ? 1000 : idle_ms) * per_s * 1000;
  b->last_ms = now;
  b->tokens_u = b->tokens_u + add > cap_u ? cap_u : b->tokens_u + add;
  if (b->tokens_u < 1000000) return -1;
  b->tokens_u -= 1000000;
  return 0;
}

/* ---- parsing -------------------------------------------------------------- */
static const rest_route_t *route_find(const char *path)
{
  /* path = /v4/<service>/<command> */
  const char *svc = path + 4, *slash = strchr(svc, '/');
  if (!slash || strchr(slash + 1, '/')) return NULL;
  size_t slen = (size_t)(slash - svc);
  for (const rest_route_t *r = rest_routes; r->service; r++)
    if (strlen(r->service) == slen && !strncmp(r->service, svc, slen) && !strcmp(r->command, slash + 1)) return r;
  return NULL;
}

static int query(net_req_t *req, const char *name, char *buf, size_t cap)
{
  int n = net_req_query_param(req, name, buf, cap);
  if (n < 0) buf[0] = 0;
  return n;
}

void rest_v4_handle(api_srv_t *srv, net_req_t *req)
{
  rest_ctx_t *c = calloc(1, sizeof *c);
  if (!c) { reply_oom(req, 200); return; }
  c->srv = srv;
  c->req = req;
  c->start_ms = imc_clock_mono_ms();
  if (strcmp(net_req_method(req), "POST") != 0) { rest_reply_err(c, IMC_E_METHOD, NULL, NULL); return; }
  if (srv->stopping) { rest_reply_err(c, IMC_E_SHUTDOWN, NULL, NULL); return; }
  c->route = route_find(net_req_path(req));
  if (!c->route) { rest_reply_err(c, IMC_E_BAD_URL, NULL, NULL); return; }

  char buf[1024];
  int64_t app_id;
  int qn = query(req, "sdkappid", buf, sizeof buf);
  if (qn == -1) { rest_reply_err(c, IMC_E_SDKAPPID_MISSING, NULL, NULL); return; }
  if (imc_parse_i64(buf, 1, UINT32_MAX, &app_id)) { rest_reply_err(c, IMC_E_APP_INVALID, NULL, NULL); return; }
  c->sdkappid = (uint32_t)app_id;
  const tenant_app_t *app = tenant_registry_app(srv->reg, c->sdkappid);
  if (!app) { rest_reply_err(c, IMC_E_SIG_APP_UNKNOWN, NULL, NULL); return; }
  /* The cheap refusals first (nginx limit_req): the rates are checked
   * before any HMAC or inflate work is spent on the request. */
  if (rate_take(srv, (uint64_t)c->sdkappid << 16, srv->cfg->rest_rate_limit)) {
    rest_reply_err(c, IMC_E_APP_RATE, NULL, NULL);
    return;
  }
  if (c->route->freq_per_s &&
      rate_take(srv, (uint64_t)c->sdkappid << 16 | (uint64_t)(c->route - rest_routes + 1), c->route->freq_per_s)) {
    rest_reply_err(c, IMC_E_API_RATE, NULL, NULL);
    return;
  }
  if (query(req, "identifier", c->identifier, sizeof c->identifier) <= 0) {
    rest_reply_err(c, IMC_E_REQ_IDENTIFIER, NULL, NULL);
    return;
  }
  int n = query(req, "usersig", buf, sizeof buf);
  if (n < 0) { rest_reply_err(c, IMC_E_REQ_USERSIG, NULL, NULL); return; }
  int rc = auth_usersig_verify(buf, c->sdkappid, app->rec.secret_key, c->identifier, imc_clock_now_s(), NULL);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  assert(c->route->auth == API_AUTH_ADMIN);
  if (!tenant_app_is_admin(app, c->identifier)) { rest_reply_err(c, IMC_E_NOT_ADMIN, NULL, NULL); return; }
  if ((rc = tenant_app_refusal(app))) { rest_reply_err(c, rc, NULL, NULL); return; } /* 60016 / 60020 */
  api_meter_count(srv, c->route->meter, c->sdkappid, 0, imc_clock_now_s()); /* the row's live events: a REST call */
  size_t blen;
  const char *body = net_req_body(req, &blen);
  if (blen > rest_route_body_bytes(c->route, srv->cfg->msg_max_bytes)) { rest_reply_err(c, IMC_E_TOOBIG, NULL, NULL); return; }
  json_error_t jerr;
  c->body = json_loadb(body ? body : "", blen, JSON_REJECT_DUPLICATES, &jerr);
  if (!c->body || !json_is_object(c->body)) {
    char info[256];
    if (c->body) snprintf(info, sizeof info, "JSON parse error: the body must be a JSON object");
    else snprintf(info, sizeof info, "JSON parse error at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    rest_reply_err(c, IMC_E_JSON_PARSE, info, NULL);
    return;
  }
  /* a member given as null is absent, at every depth, for every command (rest-api.md "Null fields",
   * decisions §63): an optional field keeps its default, a required one is answered as missing, and
   * nothing stored from the tree (a message's packed body) carries the null; an OfflinePushInfo (or its
   * AndroidInfo / ApnsInfo) of nothing but nulls is absent, not {} (§70) */
  jsonnull_drop_keys(c->body, im_msg_optional_objects);
  char why[320];
  if ((rc = api_gate_check(srv, c->sdkappid, c->route->gate, why, sizeof why))) { rest_reply_err(c, rc, why, NULL); return; }
  if (rest_read_wait_park(srv, c)) return; /* a read at a full reader queue waits for room (§125) */
  if (rel_gate_defer(srv, c)) return; /* an account deletion of the app is not durable yet (§98) */
  rest_dispatch(c);
}

void rest_dispatch(rest_ctx_t *c)
{
  api_srv_t *srv = c->srv;
  if (srv->reader) store_reader_owner(srv->reader, rest_reader_owner(c->sdkappid)); /* its reads queue as its app's */
  c->route->fn(c);
  if (srv->reader) store_reader_owner(srv->reader, 0);
}
