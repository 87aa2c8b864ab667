/* libFuzzer target: arbitrary text as a UserSig (peek and verify). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/usersig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = 0;
  auth_usersig_info_t info;
  auth_usersig_peek(s, &info);
  auth_usersig_verify(s, 1400000000, "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e", "xiaojun",
                      1600000001, &info);
  free(s);
  return 0;
}
