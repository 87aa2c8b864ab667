/* bigstore_fill — fills a server's data directory with one-to-one messages,
 * the server stopped, for bench/bigstore.sh (a store bigger than the
 * server's memory). Writes through store_msg_append, the call the writer
 * thread makes for a WebSocket send (both inbox events, both conversation
 * rows; the backend numbers seq and useqs), in transactions of --batch
 * messages, each followed by the inbox log's merge until it is empty, as an
 * idle writer does; no dedupe check (every message has its own MsgRandom)
 * and no metering (no c2c_msgs count): neither changes what is stored.
 *
 *   bigstore_fill --dir DIR --sdkappid N --users U --msgs M [--old 1000]
 *                 [--batch 20000] [--pad 0] [--cursors FILE]
 *
 * The app must exist (imcloud app create). First two old conversations,
 * the first rows of the store: --old messages from sb_sender to sb_reader
 * (bench/sync_bench's users), then as many from rm_a to rm_b (for a REST
 * admin_getroammsg apart from the sync's pages), all four imported here;
 * then accounts mb0 … mbU-1 (msg_bench's and
 * loadgen --user-prefix mb's users) and M messages, each between two of
 * them drawn at random, text "bigstore message N" plus --pad characters.
 * Message times run from an hour before the fill to its end (inside any
 * retention). --cursors FILE writes each mb user's last useq, one line per
 * user in order: the cursor a returning device holds (msg_bench --cursors).
 * Prints one progress line per tenth of the messages on stderr and one
 * summary line on stdout: messages, elapsed seconds, messages/s.
 */
#include "store/store.h"
#include "store/store_msg.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng % n); }

static int die(const char *what, int rc)
{
  fprintf(stderr, "bigstore_fill: %s failed (%d)\n", what, rc);
  return 1;
}

static long num(const char *s)
{
  char *end;
  long v = strtol(s, &end, 10);
  return *s && !*end ? v : -1;
}

/* The idle writer's merge after a COMMIT: chunks until the log is empty. */
static int merge_all(store_t *s)
{
  int rc, more = 1;
  while (more)
    if ((rc = store_msg_merge(s, STORE_MERGE_IDLE, &more))) return rc;
  return 0;
}

/* One message from -> to at t_s (the i-th of its run), appended like a send. */
static int append(store_t *s, uint32_t app, uint32_t from, uint32_t to, int64_t t_s, long i, const char *pad,
                  uint32_t *useq_from, uint32_t *useq_to)
{
  char body[4200];
  int n = snprintf(body, sizeof body, "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":"
                   "\"bigstore message %ld%s\"}}]}", i, pad);
  store_msg_append_t ap = { 0 };
  ap.m = (store_msg_t){ app, store_c2c_conv(from, to), 0, from, to, t_s, (uint32_t)i, (uint32_t)i, 0, 0, body,
                        (size_t)n, NULL, NULL };
  ap.inbox_from = ap.inbox_to = 1;
  ap.recent_from = ap.recent_to = 1;
  int rc = store_msg_append(s, &ap);
  *useq_from = ap.useq_from;
  *useq_to = ap.useq_to;
  return rc;
}

int main(int argc, char **argv)
{
  long app = -1, users = -1, msgs = -1, old = 1000, batch = 20000, padn = 0;
  const char *dir = NULL, *cursors = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else if (!strcmp(argv[i], "--sdkappid")) app = num(argv[i + 1]);
    else if (!strcmp(argv[i], "--users")) users = num(argv[i + 1]);
    else if (!strcmp(argv[i], "--msgs")) msgs = num(argv[i + 1]);
    else if (!strcmp(argv[i], "--old")) old = num(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = num(argv[i + 1]);
    else if (!strcmp(argv[i], "--pad")) padn = num(argv[i + 1]);
    else if (!strcmp(argv[i], "--cursors")) cursors = argv[i + 1];
    else { fprintf(stderr, "bigstore_fill: unknown option %s\n", argv[i]); return 2; }
  }
  if (!dir || app <= 0 || app > UINT32_MAX || users < 2 || msgs < 0 || old < 0 || batch < 1 || padn < 0 ||
      padn > 4000) {
    fprintf(stderr, "usage: bigstore_fill --dir DIR --sdkappid N --users U (>= 2) --msgs M [--old N] [--batch N]"
                    " [--pad 0..4000] [--cursors FILE]\n");
    return 2;
  }
  char *pad = malloc((size_t)padn + 1);
  uint32_t *no = malloc((size_t)users * sizeof *no), *last = calloc((size_t)users, sizeof *last);
  if (!pad || !no || !last) return die("malloc", 0);
  memset(pad, 'x', (size_t)padn);
  pad[padn] = 0;
  store_t *s;
  int rc;
  if ((rc = store_open(dir, &s))) return die("store_open", rc);
  int64_t t0 = imc_clock_now_s(), t_first = t0 - 3600;
  double w0 = (double)imc_clock_mono_ms() / 1e3;
  uint32_t uf, ut;

  /* the old conversations: the store's first messages */
  static const char *const pairs[2][2] = { { "sb_sender", "sb_reader" }, { "rm_a", "rm_b" } };
  for (int p = 0; p < 2; p++) {
    uint32_t from, to;
    if ((rc = store_exec(s, "BEGIN IMMEDIATE")) ||
        (rc = store_account_import(s, (uint32_t)app, pairs[p][0], NULL, NULL, t_first, &from)) ||
        (rc = store_account_import(s, (uint32_t)app, pairs[p][1], NULL, NULL, t_first, &to)))
      return die("old conversation's accounts", rc);
    for (long i = 0; i < old; i++)
      if ((rc = append(s, (uint32_t)app, from, to, t_first, i, pad, &uf, &ut))) return die("old append", rc);
    if ((rc = store_exec(s, "COMMIT")) || (rc = merge_all(s))) return die("old commit", rc);
  }

  if ((rc = store_exec(s, "BEGIN IMMEDIATE"))) return die("BEGIN", rc);
  for (long u = 0; u < users; u++) {
    char uid[32];
    snprintf(uid, sizeof uid, "mb%ld", u);
    if ((rc = store_account_import(s, (uint32_t)app, uid, NULL, NULL, t_first, &no[u]))) return die("import", rc);
  }
  if ((rc = store_exec(s, "COMMIT"))) return die("COMMIT", rc);

  long tenth = msgs / 10 ? msgs / 10 : 1, done = 0;
  while (done < msgs) {
    if ((rc = store_exec(s, "BEGIN IMMEDIATE"))) return die("BEGIN", rc);
    for (long k = 0; k < batch && done < msgs; k++, done++) {
      uint32_t from = rnd((uint32_t)users), to = rnd((uint32_t)users - 1);
      if (to >= from) to++;
      int64_t t_s = t_first + (int64_t)((double)done * 3600.0 / (double)msgs);
      if ((rc = append(s, (uint32_t)app, no[from], no[to], t_s, done, pad, &uf, &ut))) return die("append", rc);
      if (uf) last[from] = uf;
      if (ut) last[to] = ut;
      if ((done + 1) % tenth == 0)
        fprintf(stderr, "bigstore_fill: %ld of %ld messages, %.1f s\n", done + 1, msgs,
                (double)imc_clock_mono_ms() / 1e3 - w0);
    }
    if ((rc = store_exec(s, "COMMIT")) || (rc = merge_all(s))) return die("COMMIT", rc);
  }
  if ((rc = store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)"))) return die("checkpoint", rc);
  store_close(s);
  if (cursors) {
    FILE *f = fopen(cursors, "w");
    if (!f) return die("fopen --cursors", 0);
    for (long u = 0; u < users; u++) fprintf(f, "%u\n", last[u]);
    if (fclose(f)) return die("write --cursors", 0);
  }
  double secs = (double)imc_clock_mono_ms() / 1e3 - w0;
  printf("filled old=%ld users=%ld msgs=%ld seconds=%.1f msgs_per_s=%.0f\n", old, users, msgs, secs,
         secs > 0 ? (double)(2 * old + msgs) / secs : 0);
  free(pad); free(no); free(last);
  return 0;
}
