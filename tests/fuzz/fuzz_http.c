/* libFuzzer target: bytes into the HTTP request path of src/net (a
 * connection without a socket; replies are discarded). */
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  net_fuzz_http(data, size);
  return 0;
}
