/* c2c_int.h — what the files of the C2C core share (c2c.c: state, send,
 * delivery; c2c_read.c: sync, history, conversations; c2c_ops.c: recall,
 * modify, read, pin, delete, purge). Loop thread unless noted. */
#ifndef IMC_IM_C2C_INT_H
#define IMC_IM_C2C_INT_H

#include "im/c2c.h"
#include "store/store_reader.h"
#include "util/u64map.h"

struct im_c2c {
  store_writer_t *w;
  store_reader_t *r;
  im_presence_t *p;
  const im_limits_t *lim;
  im_c2c_hooks_t h;
  u64map_t committed;        /* sdkappid << 32 | user_no → last committed useq (as a pointer value), only
                                while a sync page of the user is read (c2c.c) */
  size_t in_flight;
  uint64_t rng;              /* xorshift64* state for MsgSeq when absent */
  u64map_t floor;            /* sdkappid → the app's purge floor (store_msg_floors; as a pointer value, > 0) */
  int purging;
  int stopping;              /* im_c2c_stop: no new retention steps */
};

/* A store job of the core: run on the writer (or a reader) thread, done on
 * the loop thread after the commit. Ops embed it first. */
typedef struct c2c_job {
  store_job_t job;
  im_c2c_t *c;
  int (*run)(store_t *s, struct c2c_job *j);   /* store thread */
  void (*done)(struct c2c_job *j, int rc);     /* loop thread; frees j */
} c2c_job_t;

/* Submit a write (readonly = 0: the writer) or a read (readonly = 1: the
 * reader pool; it sees every commit whose done() ran before the submit). A
 * full queue completes the job at once with IMC_E_OVERLOADED (j->done runs
 * before this returns). */
void c2c__submit(im_c2c_t *c, c2c_job_t *j, int readonly);
/* Free the calling thread's pool of send jobs (im_c2c_free). */
void c2c__send_pool_drain(void);
/* The last committed useq seen for a user while a sync page of it was
 * being read (0 if none). */
uint32_t c2c__committed_get(const im_c2c_t *c, uint32_t sdkappid, uint32_t user_no);
/* A sync page of the user finished: drop its entry unless another page of
 * the user is still being read. */
void c2c__committed_done(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no);
/* Push ev to the user's live sessions (see c2c.h); except_sid's session
 * only has its cursor advanced. */
void c2c__deliver(im_c2c_t *c, const im_event_t *ev, uint32_t except_sid);
/* A committed event's hand-out: record that ev->user_no's inbox reached
 * ev->useq (for a sync page of the user being read; see
 * c2c__committed_get), then c2c__deliver(ev); the user's sessions are
 * looked up once for both. */
void c2c__publish(im_c2c_t *c, const im_event_t *ev, uint32_t except_sid);
/* Deep copy of a message (one allocation; free with free()). NULL on OOM. */
store_msg_t *c2c__msg_copy(const store_msg_t *m);
/* The oldest visible time of the app's messages by its retention: now -
 * its retention. The store's reads also leave out what the app's purge
 * floor covers (the messages older than the floor that were stored when the
 * pass recording it began: the purge keeps each conversation's newest
 * message, however old), so a message imported later is judged by this
 * alone. */
int64_t c2c__since(const im_c2c_t *c, uint32_t sdkappid, int64_t now_s);
/* The app's purge floor: no read shows a message older (INT64_MIN: none yet). */
int64_t c2c__floor(const im_c2c_t *c, uint32_t sdkappid);
/* Raise the app's floor to before_s (never lowered, except a floor above
 * now_s > 0: the clock stepped back past it, before_s replaces it; 0: none). IMC_E_NOMEM. */
int c2c__floor_raise(im_c2c_t *c, uint32_t sdkappid, int64_t before_s, int64_t now_s);

/* The user's C2C conversations as im_c2c_conversations lists them (c2c_read.c): c2c__convs_init on the loop
 * thread (the retention horizon and the app's kept limit), c2c__convs_read on a reader thread inside the
 * job's transaction (so a caller may read more in the same snapshot: conv_list.c), c2c__convs_free on the
 * loop thread. convs[0..n) point into ids (every id read, nids of them). */
typedef struct c2c_convs {
  uint32_t app, user, peer;
  int64_t since, kept;
  int unlisted;        /* also rows with no listed message (unread counts) */
  int no_unread;       /* count no unread (0 each; conv_list.c counts its page's only) */
  int empty;           /* also unpinned rows whose last message is past the retention (empty: last_seq 0) */
  int tops;            /* read each kept row's top_seq (im_conv_t) */
  im_conv_t *convs;
  char **ids;
  size_t n, nids, cap;
  int oom;
} c2c_convs_t;
void c2c__convs_init(im_c2c_t *c, c2c_convs_t *l, uint32_t app, uint32_t user, uint32_t peer, int unlisted);
/* 0, IMC_E_NOMEM, a storage error. */
int c2c__convs_read(store_t *s, c2c_convs_t *l);
void c2c__convs_free(c2c_convs_t *l);

#endif
