/* auth_int.h — what the files of src/auth share with each other and with
 * their unit tests; not part of the module's interface (auth's headers are
 * usersig.h and optoken.h). */
#ifndef IMC_AUTH_INT_H
#define IMC_AUTH_INT_H

#include <stddef.h>

/* Decode the n bytes at tok, a UserSig token's base64 (TLSSigAPIv2's
 * URL-safe alphabet: base64's own, with * - _ standing for + / =), into raw
 * in one pass, exactly as mapping the token to standard base64, padding it
 * with '=' to a multiple of 4 and calling OpenSSL's EVP_DecodeBlock did:
 * '=' anywhere decodes as six zero bits, and *len is three bytes per four
 * characters less one per '=' at the end of the padded text (so it can be
 * 0 or negative; the caller decides what is too short). raw must hold
 * 3 * ((n + 3) / 4) bytes. Returns 0, or IMC_E_SIG_DECODE if a byte is not
 * in the alphabet (raw and *len are then unspecified). */
int auth__sig_b64_decode(const char *tok, size_t n, unsigned char *raw, long *len);

#endif
