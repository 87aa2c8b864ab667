/* optoken.h — operator API bearer tokens and CSPRNG helpers.
 * A token is "imc_op_" + 64 hex chars (32 bytes from OpenSSL's CSPRNG); only
 * its SHA-256 (hex) is ever stored. Thread-safe. */
#ifndef IMC_AUTH_OPTOKEN_H
#define IMC_AUTH_OPTOKEN_H

#include <stddef.h>

/* New token into token (cap ≥ 72) and its hex SHA-256 into hash (cap ≥ 65).
 * 0, IMC_E_TOOBIG, IMC_E_INTERNAL (no randomness). */
int auth_optoken_new(char *token, size_t tcap, char *hash, size_t hcap);
/* Hex SHA-256 of token into hash (cap ≥ 65). */
int auth_optoken_hash(const char *token, char *hash, size_t hcap);
/* 0 if presented hashes to stored_hash (constant-time compare), else IMC_E_OP_AUTH. */
int auth_optoken_check(const char *presented, const char *stored_hash);
/* nbytes random bytes as 2*nbytes hex chars + NUL into out. 0 or IMC_E_INTERNAL. */
int auth_random_hex(char *out, size_t nbytes);

#endif
