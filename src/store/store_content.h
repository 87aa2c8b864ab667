/* store_content.h — a stored message's content as the send dedupe compares
 * it (docs/decisions/messaging-c2c-checks2.md §69): a resend is the same
 * sender, peer (or group) and MsgRandom (and MsgSeq, when both gave one)
 * with the same content, MsgBody and CloudCustomData. A body is the packed
 * text im_msg_pack makes ({"MsgBody":…,"CloudCustomData":…,
 * "OfflinePushInfo":…}, the last two only when given; a modification's is
 * the same shape): its content is that text up to the OfflinePushInfo
 * member, or up to the closing brace when there is none, so that a resend
 * with another OfflinePushInfo (or none) is still the same message. Two
 * contents are the same when those bytes are: the same JSON written with
 * its members in another order, or its strings escaped another way, is
 * another content.
 *
 * Pure functions of their arguments: any thread. */
#ifndef IMC_STORE_CONTENT_H
#define IMC_STORE_CONTENT_H

#include <stddef.h>
#include <stdint.h>

/* The length of body's content (its first bytes), at most len. A text that
 * is not a packed object (tests store "{}") is its own content. */
size_t store_content_len(const char *body, size_t len);

/* A 64-bit hash of body's content (store_content_len bytes): what a C2C
 * dedupe window keeps per message instead of its body, and the group
 * dedupe's key (§69 says why the hash alone decides). Persisted where the
 * body no longer says it: grp_msg.chash (every group message) and
 * c2c_msg.orig_hash (a modified one-to-one message's original content),
 * migration 54, messaging-c2c-checks3.md §78, groups-messages.md §18; the
 * SQL function imc_content_hash (sq__content_fn) computes the same value. */
uint64_t store_content_hash(const char *body, size_t len);

/* 1 when bodies a and b have the same content (byte for byte), else 0. */
int store_content_same(const char *a, size_t alen, const char *b, size_t blen);

#endif
