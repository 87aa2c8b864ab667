/* jsonload.h — json_loadb that tells a document that does not parse from one
 * whose parse ran out of memory. jansson answers both with NULL and its error
 * code is not set on every allocation failure, so the allocator jansson uses
 * is wrapped (json_set_alloc_funcs, installed once by jsonload_init or the
 * first call: the wrapper calls malloc, and free stays free, so memory
 * jansson took before it is freed alike) and an allocation that fails during
 * jsonload_b, on the calling thread, is noted in a thread-local flag.
 * Outside jsonload_b the wrapper costs one thread-local load per jansson
 * allocation.
 *
 * Fault site "body_alloc" (util/faultsim.h): the Nth allocation made inside
 * a jsonload_b fails, as malloc would (a test of the out-of-memory side).
 *
 * Thread-safe: any thread may call it (docs/decisions/messaging-c2c-checks3.md §88). */
#ifndef IMC_UTIL_JSONLOAD_H
#define IMC_UTIL_JSONLOAD_H

#include <jansson.h>
#include <stddef.h>

/* Install the wrapper now (once; jsonload_b does it at its first call
 * otherwise). Call before any other thread uses jansson: the process's
 * main does, so no thread reads jansson's allocator while it changes. */
void jsonload_init(void);

/* json_loadb(s, n, flags, NULL). NULL with *oom = 1: an allocation failed
 * (the text may be good); NULL with *oom = 0: the text does not parse.
 * The caller owns the value returned. */
json_t *jsonload_b(const char *s, size_t n, size_t flags, int *oom);

#endif
