/* libFuzzer target: bytes into the WebSocket frame parser of src/net (after
 * the handshake; text messages are echoed into a discarded queue). */
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  net_fuzz_ws(data, size);
  return 0;
}
