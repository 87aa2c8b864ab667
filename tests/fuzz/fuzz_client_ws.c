/* libFuzzer target: the client WebSocket ops (src/api/client_ws.c's op table,
 * src/api/ws_msg.c, ws_msg_read.c) of a logged-in connection. Each input opens a socketless
 * WebSocket, logs in as "user1" with a valid UserSig (src/api/api_fuzz.h),
 * then sends the input as text messages — split at 0xFF bytes, which UTF-8
 * never contains — in one stream, runs the loop until every job is done and
 * drops the connection. "user2" and "user3" exist as peers. Seeds:
 * tests/fuzz/corpus/fuzz_client_ws (tests/fuzz/seeds.py), dictionary
 * tests/fuzz/fuzz_client_ws.dict. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_fuzz.h"

#define MAX_MSGS 64

#define RESET_EVERY 50000 /* inputs: a fresh data directory bounds its growth (and /dev/shm's) */

static api_fuzz_t *srv;
static unsigned long runs;

static void stop(void) { api_fuzz_free(srv); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc; (void)argv;
  if (api_fuzz_create(&srv)) abort();
  atexit(stop);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (++runs % RESET_EVERY == 0) {
    api_fuzz_free(srv);
    if (api_fuzz_create(&srv)) abort();
  }
  const uint8_t *msgs[MAX_MSGS];
  size_t lens[MAX_MSGS], n = 0, start = 0;
  for (size_t i = 0; i <= size && n < MAX_MSGS; i++) {
    if (i < size && data[i] != 0xFF) continue;
    msgs[n] = data + start;
    lens[n++] = i - start;
    start = i + 1;
  }
  if (api_fuzz_ws_login(srv, "user1")) abort(); /* the harness itself is broken: stop at once */
  api_fuzz_ws_text(srv, msgs, lens, n);
  api_fuzz_ws_end(srv);
  return 0;
}
