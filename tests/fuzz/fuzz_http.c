/* libFuzzer target: bytes from one HTTP client into the whole server — the
 * RFC 9112 edge of src/net, then the real routes: REST v4 (every command of
 * the route table, the app admin's UserSig valid in the seeds), the operator
 * API (its token in the seeds), /healthz and the WebSocket handshake — over a
 * temporary store with one app (src/api/api_fuzz.h). The client half-closes
 * after its bytes; the loop runs until every request is answered and every
 * store job is done. Seeds: tests/fuzz/corpus/fuzz_http (tests/fuzz/seeds.py),
 * dictionary tests/fuzz/fuzz_http.dict. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/api_fuzz.h"

static api_fuzz_t *srv;

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
  api_fuzz_http(srv, data, size);
  return 0;
}
