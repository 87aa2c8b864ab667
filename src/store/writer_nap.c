/* writer_nap.c — the event loop's nap while the writer works (store_writer.h,
 * "Nap"): a prepare handle, the last callback of each turn before the poll,
 * that makes the loop enter its poll at most once per nap_us while storage
 * jobs are in flight, sleeping the rest of the interval in a ppoll on the
 * writer's completion eventfd alone.
 *
 * Why: at moderate load on a core the loop shares with the writer, each
 * message arriving alone woke the loop (an interrupt, a switch, the writer
 * preempted) for a turn of one message: the loop's per-turn costs
 * (epoll_wait, the wake-up, the writer's cache refilled after each
 * preemption) were paid per message. Napping gathers the sockets' input of
 * up to nap_us into one turn; the writer meanwhile runs undisturbed.
 *
 * What it never delays: a completion (committed and synced jobs) ends the
 * nap at once, so an acknowledgement is not held by it; so does another
 * thread's completion announced with store_writer_nap_end (the reader
 * pool's, after its uv_async_send: a sync page or a history read); a loop with no job
 * in flight never naps (a request that needs no write is answered as
 * before, and an idle server polls as before); a turn that began more than
 * nap_us after the previous poll does not nap (at saturation a turn is
 * longer than that, so the nap costs nothing there); a loop with work due
 * at once (an idle handle active: jobs pending hand-over, output left by
 * the write budget, logins waiting) does not nap; a stopping writer does
 * not. What it delays: reading a socket's input (and timers) by at most
 * nap_us, only while jobs are in flight.
 *
 * Order: libuv runs prepare callbacks newest-started first, so this
 * handle, started in store_writer_start before any other prepare handle
 * of the server's loop, runs after the writer's hand-over (started at each
 * first submit) and after the login pacing's (src/api/ws_pace.c): the
 * jobs of the turn are with the writer thread before the loop naps.
 *
 * Another thread's completion (store_writer_nap_end): it sets nap_end, then
 * reads napping; the loop sets napping, then takes nap_end, both sequentially
 * consistent. Either the loop sees nap_end (it does not nap) or that thread
 * sees napping (it writes the wake eventfd, which ends the ppoll; the
 * writer's poll callback then finds no completion, as after any spurious
 * wake). So a completion queued before store_writer_nap_end never waits
 * out a nap. The loop clears nap_end before it takes such completions
 * (store_writer_nap_taken, before the reader pool's take, which is under
 * the pool's mutex, as the pool's append and its store_writer_nap_end
 * are): a completion appended after the take sets it again, so none is
 * lost, and one taken already no longer skips the next nap.
 * Loop thread only, but for store_writer_nap_end. */
#include "store/writer_int.h"

#include <poll.h>
#include <time.h>

static void on_nap(uv_prepare_t *h)
{
  store_writer_t *w = h->data;
  uint64_t now = uv_hrtime(), since = now - w->nap_poll_ns, t0 = now;
  if (w->nap_ns && w->inflight && !w->stopping && since < w->nap_ns && uv_backend_timeout(w->loop) != 0) {
    __atomic_store_n(&w->napping, 1, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(&w->nap_end, 0, __ATOMIC_SEQ_CST)) {
      w->naps_cut++; /* another thread's completion is queued for this turn's poll: no nap */
    } else {
      uint64_t left = w->nap_ns - since;
      struct timespec ts = { (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
      struct pollfd p = { .fd = w->wake_fd, .events = POLLIN };
      (void)ppoll(&p, 1, &ts, NULL); /* a completion, the interval's end or a signal: the poll follows either way */
      now = uv_hrtime();
      w->naps++;
      w->nap_total_ns += now - t0;
      if (__atomic_exchange_n(&w->nap_end, 0, __ATOMIC_SEQ_CST)) w->naps_cut++;
    }
    __atomic_store_n(&w->napping, 0, __ATOMIC_SEQ_CST);
  }
  w->nap_poll_ns = now;
}

void store_writer_nap_end(store_writer_t *w)
{
  __atomic_store_n(&w->nap_end, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&w->napping, __ATOMIC_SEQ_CST)) store__writer_wake(w);
}

void store_writer_nap_taken(store_writer_t *w) { __atomic_store_n(&w->nap_end, 0, __ATOMIC_SEQ_CST); }

void store__writer_nap_init(store_writer_t *w)
{
  uv_prepare_init(w->loop, &w->nap);
  w->nap.data = w;
  uv_prepare_start(&w->nap, on_nap);
  uv_unref((uv_handle_t *)&w->nap); /* the loop's life is the other handles' */
}

void store_writer_set_nap(store_writer_t *w, unsigned nap_us) { w->nap_ns = (uint64_t)nap_us * 1000u; }

void store_writer_nap_stats(const store_writer_t *w, uint64_t *naps, uint64_t *slept_us, uint64_t *cut)
{
  *naps = w->naps;
  *slept_us = w->nap_total_ns / 1000u;
  *cut = w->naps_cut;
}
