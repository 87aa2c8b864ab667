/* jsonload.c — see jsonload.h. */
#include "util/jsonload.h"
#include "util/faultsim.h"

#include <pthread.h>
#include <stdlib.h>

static _Thread_local int in_load;     /* inside jsonload_b on this thread */
static _Thread_local int load_failed; /* an allocation of that load failed */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *counted_malloc(size_t n)
{
  if (!in_load) return malloc(n);
  void *p = imc_fault(IMC_FAULT_BODY_ALLOC) ? NULL : malloc(n);
  if (!p) load_failed = 1;
  return p;
}

static void install(void) { json_set_alloc_funcs(counted_malloc, free); }

void jsonload_init(void) { pthread_once(&once, install); }

json_t *jsonload_b(const char *s, size_t n, size_t flags, int *oom)
{
  jsonload_init();
  in_load = 1;
  load_failed = 0;
  json_t *v = json_loadb(s, n, flags, NULL);
  in_load = 0;
  *oom = !v && load_failed;
  return v;
}
