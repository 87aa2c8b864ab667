/* api_fuzz.h — the whole server without a socket, for the libFuzzer targets
 * (tests/fuzz/fuzz_http.c, fuzz_client_ws.c): the real route table, operator
 * API and WebSocket ops over a temporary data directory, driven through net's
 * socketless connection (net.h) on a private loop. The state is built by the
 * same api_srv_open as `imcloud serve`; only the listener is missing.
 *
 * The data directory (under /dev/shm when it exists, else $TMPDIR or /tmp)
 * holds one customer and one app, API_FUZZ_SDKAPPID, whose secret key is
 * API_FUZZ_KEY and whose admin is "administrator"; accounts "user1",
 * "user2", "user3"; and the operator token API_FUZZ_OP_TOKEN. The app's
 * REST rate is raised to the configuration's maximum so fuzzing is not
 * throttled by 60011 (per-command rates stay as documented).
 *
 * Each call runs the loop until quiescent: every HTTP request answered, no
 * store job and no messaging job in flight. Not thread-safe; one at a time. */
#ifndef IMC_API_FUZZ_H
#define IMC_API_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#define API_FUZZ_SDKAPPID 1400000001u
#define API_FUZZ_KEY "5e1f7a9c2b4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f2a3b5c7d9e1f3a5b7c9d0e2f"
#define API_FUZZ_OP_TOKEN "imc_op_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

typedef struct api_fuzz api_fuzz_t;

/* Build the data directory and start the server state. 0, or an IMC_E_*
 * (logged). */
int api_fuzz_create(api_fuzz_t **out);
/* Stop everything, remove the data directory, free f. */
void api_fuzz_free(api_fuzz_t *f);

/* One HTTP connection: data as the client's bytes (in reads of at most
 * 64 KiB), then the client's half-close; runs until quiescent, then drops
 * whatever is left of the connection. */
void api_fuzz_http(api_fuzz_t *f, const uint8_t *data, size_t len);

/* Open a WebSocket and log in as user_id (platform Web) with a valid
 * UserSig; runs until the login is answered. 0 if the session is online,
 * else IMC_E_INTERNAL (the connection is dropped). */
int api_fuzz_ws_login(api_fuzz_t *f, const char *user_id);
/* Each of the n messages as one masked text frame, all in one stream, then
 * run until quiescent. */
void api_fuzz_ws_text(api_fuzz_t *f, const uint8_t *const *msgs, const size_t *lens, size_t n);
/* The client vanishes; run until quiescent. */
void api_fuzz_ws_end(api_fuzz_t *f);

#endif
