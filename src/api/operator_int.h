/* operator_int.h — what the operator API's files share (operator.c: the
 * routes, authentication, the job; operator_life.c: the purchases and the
 * life cycle). Loop thread builds an op_req_t; its run function runs on the
 * writer thread (POST) or a reader (GET) and fills out/status. */
#ifndef IMC_API_OPERATOR_INT_H
#define IMC_API_OPERATOR_INT_H

#include "api/api_int.h"

typedef struct op_req {
  store_job_t job;
  api_srv_t *srv;
  net_req_t *req;
  json_t *body;       /* request JSON (POST) */
  int64_t id;         /* path id, if any */
  int status;         /* reply status */
  json_t *out;        /* reply JSON, built on the writer thread */
  int created;        /* apps_create: `app` goes into the registry at once */
  store_app_t app;
  tenant_lifecycle_t lc; /* its life cycle (no orders yet); zeroed = plan not ready */
  int tz, tz_rc;      /* apps_create: its billing zone (M-1), for the meter */
  int (*run)(struct op_req *o, store_t *s);
  void (*applied)(struct op_req *o); /* loop thread, after a 200 write committed: memory follows */
  api_fresh_t fresh;  /* apps a write changed: into the registry before the reply */
  uint8_t get;        /* a GET: its job is a reader job, and it waits for the reader queue's room (§125) */
} op_req_t;

/* Queue o's job (a GET's on the reader, else the writer); refused: answered 503 and freed. */
void op_submit(op_req_t *o);
/* Answer o status with the error body (msg NULL: err's text; a request whose client is gone: nothing written) and
 * free it. */
void op_refuse(op_req_t *o, int status, int err, const char *msg);
/* rest_read_wait.c (§125): 1 when o waits for the reader queue's room — a GET at a full queue or behind requests
 * waiting, or any request of a connection with one waiting — and runs op_submit at its turn; 0: submit it now. */
int op_read_wait_park(api_srv_t *srv, op_req_t *o);

/* Refuse the request: status with the one error body ({"error":{"code","message"}}, msg NULL: the code's text);
 * returns 0 (the job succeeded: the refusal is its reply). */
int op_fail(op_req_t *o, int status, int err, const char *msg);

/* The purchases and life-cycle endpoints (operator_life.c): 0 (out/status set), or a storage error (500, nothing
 * written). */
int op_app_upgrade(op_req_t *o, store_t *s);
int op_app_renew(op_req_t *o, store_t *s);
int op_addon_buy(op_req_t *o, store_t *s);
int op_addon_list(op_req_t *o, store_t *s);
int op_app_suspend(op_req_t *o, store_t *s);
int op_app_resume(op_req_t *o, store_t *s);
int op_app_auto_renew(op_req_t *o, store_t *s);
int op_app_state(op_req_t *o, store_t *s);

#endif
