/* fuzz.c — the whole server without a socket (api_fuzz.h): a temporary data
 * directory with a known app, the server state from api_srv_open (the same
 * as `imcloud serve`), and net's socketless server carrying the same
 * handlers, on a private loop run until quiescent after each input. */
#include "api/api_fuzz.h"
#include "api/api_int.h"
#include "auth/optoken.h"
#include "auth/usersig.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct api_fuzz {
  uv_loop_t loop;
  api_cfg_t cfg;
  api_srv_t srv;
  char dir[256];
};

/* ---- the data directory ---------------------------------------------------- */
static void remove_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) return;
  char path[512];
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static int seed_store(const char *dir)
{
  static const char *const users[] = { "administrator", "user1", "user2", "user3" };
  store_t *s;
  int64_t customer, now = imc_clock_now_s();
  store_app_t app;
  char sql[256], hash[80];
  uint32_t no;
  int rc = store_open(dir, &s);
  if (rc) return rc;
  tenant_app_params_t p = { .name = "fuzz", .region = "china", .now_s = now };
  if (!(rc = tenant_customer_create(s, "fuzz", now, &customer))) {
    p.customer_id = customer;
    rc = tenant_app_create(s, &p, &app);
  }
  if (!rc && app.sdkappid != API_FUZZ_SDKAPPID) rc = IMC_E_INTERNAL;
  if (!rc) {
    snprintf(sql, sizeof sql, "UPDATE apps SET secret_key='%s' WHERE sdkappid=%u", API_FUZZ_KEY, API_FUZZ_SDKAPPID);
    rc = store_exec(s, sql);
  }
  for (size_t i = 0; !rc && i < sizeof users / sizeof *users; i++)
    rc = store_account_import(s, API_FUZZ_SDKAPPID, users[i], NULL, NULL, now, &no);
  if (!rc) rc = auth_optoken_hash(API_FUZZ_OP_TOKEN, hash, sizeof hash);
  if (!rc) rc = store_meta_set(s, "operator_token_sha256", hash);
  store_close(s);
  return rc;
}

static int make_dir(char *out, size_t cap)
{
  struct stat st;
  const char *base = !stat("/dev/shm", &st) && S_ISDIR(st.st_mode) ? "/dev/shm" : getenv("TMPDIR");
  snprintf(out, cap, "%s/imcloud-fuzz-XXXXXX", base && base[0] ? base : "/tmp");
  return mkdtemp(out) ? 0 : IMC_E_IO;
}

/* ---- lifecycle ------------------------------------------------------------- */
int api_fuzz_create(api_fuzz_t **out)
{
  api_fuzz_t *f = calloc(1, sizeof *f);
  int rc;
  if (!f) return IMC_E_NOMEM;
  imc_log_level = IMC_LOG_ERROR; /* warnings per input would drown the fuzzer */
  /* the access lines are still built from every input (their quoting is fuzzed too), and thrown away */
  if ((rc = imc_log_access_open("/dev/null"))) { free(f); return rc; }
  if ((rc = make_dir(f->dir, sizeof f->dir))) { free(f); return rc; }
  if ((rc = cfg_defaults(api_cfg_defs, &f->cfg))) { remove_dir(f->dir); free(f); return rc; }
  free(f->cfg.data);
  f->cfg.data = strdup(f->dir);
  f->cfg.rest_rate_limit = 1000000; /* the table's maximum: inputs are not throttled by 60011 */
  f->cfg.reader_threads = 1;
  uv_loop_init(&f->loop);
  if (!f->cfg.data || (rc = seed_store(f->dir)) || (rc = api_srv_open(&f->srv, &f->cfg, &f->loop))) {
    IMC_ERROR("fuzz", "msg=\"cannot build the server state\" dir=%s err=%s", f->dir, imc_err_name(rc ? rc : IMC_E_NOMEM));
    api_srv_release(&f->srv);
    goto fail;
  }
  net_cfg_t ncfg;
  net_handlers_t h;
  api_net_cfg(&f->cfg, &ncfg);
  api_net_handlers(&f->srv, &h);
  if ((rc = net_server_start_socketless(&f->loop, &ncfg, &h, &f->srv.net))) {
    api_srv_stop_storage(&f->srv);
    api_srv_release(&f->srv);
    goto fail;
  }
  *out = f;
  return 0;
fail:
  uv_loop_close(&f->loop);
  cfg_free(api_cfg_defs, &f->cfg);
  remove_dir(f->dir);
  free(f);
  return rc ? rc : IMC_E_NOMEM;
}

static int busy(api_fuzz_t *f)
{
  api_srv_t *srv = &f->srv;
  return (srv->net && net_server_requests_in_flight(srv->net)) || srv->jobs_in_flight || im_c2c_in_flight(srv->c2c);
}

/* Run the loop until nothing is in flight; the check phase of the last turn
 * has flushed output, delivered close notices and freed closed connections. */
static void settle(api_fuzz_t *f)
{
  uv_run(&f->loop, UV_RUN_NOWAIT);
  while (busy(f)) uv_run(&f->loop, UV_RUN_ONCE); /* a completion wakes the loop (the writer's eventfd, the readers' uv_async) */
  uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void net_closed(void *arg) { ((api_fuzz_t *)arg)->srv.net = NULL; }

void api_fuzz_free(api_fuzz_t *f)
{
  if (!f) return;
  settle(f);
  net_server_close(f->srv.net, net_closed, f);
  while (f->srv.net) uv_run(&f->loop, UV_RUN_ONCE);
  api_srv_stop_storage(&f->srv);
  api_srv_release(&f->srv);
  uv_loop_close(&f->loop);
  cfg_free(api_cfg_defs, &f->cfg);
  remove_dir(f->dir);
  imc_log_access_close();
  free(f);
}

/* ---- inputs ---------------------------------------------------------------- */
static void feed(api_fuzz_t *f, const uint8_t *data, size_t len, int eof)
{
  net_server_t *s = f->srv.net;
  size_t off = 0;
  do {
    size_t n = len - off > 65536 ? 65536 : len - off;
    int last = off + n == len;
    if (!net_socketless_feed(s, data + off, n, eof && last)) break;
    uv_run(&f->loop, UV_RUN_NOWAIT); /* between reads, as the loop would */
    off += n;
  } while (off < len);
}

void api_fuzz_http(api_fuzz_t *f, const uint8_t *data, size_t len)
{
  if (net_socketless_open(f->srv.net, 0)) return;
  feed(f, data, len, 1);
  settle(f);
  net_socketless_drop(f->srv.net);
  settle(f);
}

/* A masked text frame (mask key 0, so the payload is unchanged). */
static size_t frame_head(uint8_t *h, size_t len)
{
  h[0] = 0x81;
  if (len < 126) { h[1] = (uint8_t)(0x80 | len); memset(h + 2, 0, 4); return 6; }
  if (len < 65536) { h[1] = 0x80 | 126; h[2] = (uint8_t)(len >> 8); h[3] = (uint8_t)len; memset(h + 4, 0, 4); return 8; }
  h[1] = 0x80 | 127;
  for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  memset(h + 10, 0, 4);
  return 14;
}

void api_fuzz_ws_text(api_fuzz_t *f, const uint8_t *const *msgs, const size_t *lens, size_t n)
{
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += 14 + lens[i];
  uint8_t *buf = malloc(total ? total : 1), *p = buf;
  if (!buf) return;
  for (size_t i = 0; i < n; i++) {
    p += frame_head(p, lens[i]);
    if (lens[i]) memcpy(p, msgs[i], lens[i]);
    p += lens[i];
  }
  feed(f, buf, (size_t)(p - buf), 0);
  free(buf);
  settle(f);
}

int api_fuzz_ws_login(api_fuzz_t *f, const char *user_id)
{
  char sig[AUTH_USERSIG_MAX], msg[AUTH_USERSIG_MAX + 256];
  if (net_socketless_open(f->srv.net, 1)) return IMC_E_NOMEM;
  if (auth_usersig_gen(API_FUZZ_SDKAPPID, API_FUZZ_KEY, user_id, imc_clock_now_s(), 86400, sig, sizeof sig))
    return IMC_E_INTERNAL;
  int n = snprintf(msg, sizeof msg,
                   "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\",\"platform\":\"Web\",\"device_id\":\"fuzz\"}",
                   API_FUZZ_SDKAPPID, user_id, sig);
  const uint8_t *m = (const uint8_t *)msg;
  size_t len = (size_t)n;
  api_fuzz_ws_text(f, &m, &len, 1);
  net_ws_t *ws = net_socketless_ws(f->srv.net);
  cws_conn_t *c = ws ? net_ws_data(ws) : NULL;
  if (c && cws_state(c) == CWS_ONLINE) return 0;
  api_fuzz_ws_end(f);
  return IMC_E_INTERNAL;
}

void api_fuzz_ws_end(api_fuzz_t *f)
{
  net_socketless_drop(f->srv.net);
  settle(f);
}
