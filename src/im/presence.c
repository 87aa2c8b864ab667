/* presence.c — see presence.h. One u64map entry per user with a live session
 * or a pending PushOnline window; the entry is freed when both are gone. */
#include "im/presence.h"
#include "util/err.h"
#include "util/u64map.h"

#include <stdlib.h>
#include <string.h>

static const char *const platform_names[IM_PLAT__COUNT] = {
  "", "iPhone", "Android", "Web", "PC", "iPad", "Mac"
};
/* Platforms with offline push (PushOnline after a disconnect). */
static const uint8_t platform_mobile[IM_PLAT__COUNT] = { 0, 1, 1, 0, 0, 1, 0 };

/* One per user with a live session or a PushOnline window: 40 bytes (48
 * from malloc), for every online user of the server. */
typedef struct user_entry {
  im_session_t *head;
  uint32_t push_until_s[IM_PLAT__COUNT]; /* unix s (fits until 2106), 0 = none */
} user_entry_t;
_Static_assert(sizeof(user_entry_t) <= 40, "a presence entry is paid per online user");

struct im_presence { u64map_t users; size_t sessions; uint32_t next_sid; };

static uint64_t key_of(uint32_t app, uint32_t user) { return (uint64_t)app << 32 | user; }

int im_platform_parse(const char *name, im_platform_t *out)
{
  for (int i = 1; name && i < IM_PLAT__COUNT; i++)
    if (!strcmp(name, platform_names[i])) { *out = (im_platform_t)i; return 0; }
  return IMC_E_WS_PLATFORM;
}

const char *im_platform_name(im_platform_t p) { return (unsigned)p < IM_PLAT__COUNT ? platform_names[p] : ""; }

const char *im_status_name(im_status_t s)
{
  static const char *const names[] = { "Offline", "PushOnline", "Online" };
  return (unsigned)s <= IM_STATUS_ONLINE ? names[s] : "Offline";
}

int im_presence_create(im_presence_t **out)
{
  im_presence_t *p = calloc(1, sizeof *p);
  if (!p) return IMC_E_NOMEM;
  u64map_init(&p->users);
  *out = p;
  return 0;
}

void im_presence_free(im_presence_t *p)
{
  if (!p) return;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&p->users, &it); u64map_next(&p->users, &it, NULL, &v);) free(v);
  u64map_free(&p->users);
  free(p);
}

static int entry_empty(const user_entry_t *e, int64_t now_s)
{
  if (e->head) return 0;
  for (int i = 0; i < IM_PLAT__COUNT; i++) if (e->push_until_s[i] > now_s) return 0;
  return 1;
}

/* Whether a login on (platform, device_hash) displaces the user's live session cur: one session per platform,
 * or with several devices per platform one per device. */
static int displaces(const im_session_t *cur, uint8_t platform, uint32_t device_hash, int multi_device)
{
  return cur->platform == platform && (!multi_device || (device_hash && cur->device_hash == device_hash));
}

size_t im_presence_displaces(const im_presence_t *p, uint32_t sdkappid, uint32_t user_no, uint8_t platform,
                             uint32_t device_hash, int multi_device)
{
  const user_entry_t *e = u64map_get(&p->users, key_of(sdkappid, user_no));
  size_t n = 0;
  for (const im_session_t *cur = e ? e->head : NULL; cur; cur = cur->next) n += displaces(cur, platform, device_hash, multi_device);
  return n;
}

int im_presence_add(im_presence_t *p, im_session_t *s, int multi_device, im_session_t **displaced)
{
  uint64_t key = key_of(s->sdkappid, s->user_no);
  user_entry_t *e = u64map_get(&p->users, key);
  *displaced = NULL;
  if (!e) {
    if (!(e = calloc(1, sizeof *e))) return IMC_E_NOMEM;
    if (u64map_put(&p->users, key, e)) { free(e); return IMC_E_NOMEM; }
  }
  {
    /* one session per platform, or with several devices per platform one per device: a reconnect from
     * the same device displaces its half-open predecessor (equal device hashes of two devices would too) */
    im_session_t **pp = &e->head;
    while (*pp) {
      im_session_t *cur = *pp;
      if (displaces(cur, s->platform, s->device_hash, multi_device)) {
        *pp = cur->next;
        cur->linked = 0;
        cur->next = *displaced;
        *displaced = cur;
        p->sessions--;
      } else {
        pp = &cur->next;
      }
    }
  }
  s->next = e->head;
  e->head = s;
  s->linked = 1;
  if (!++p->next_sid) p->next_sid = 1; /* 0 never names a session */
  s->sid = p->next_sid;
  e->push_until_s[s->platform] = 0;
  p->sessions++;
  return 0;
}

void im_presence_remove(im_presence_t *p, im_session_t *s, int logout, int64_t now_s, int64_t push_keep_s)
{
  if (!s->linked) return;
  uint64_t key = key_of(s->sdkappid, s->user_no);
  user_entry_t *e = u64map_get(&p->users, key);
  if (!e) return;
  for (im_session_t **pp = &e->head; *pp; pp = &(*pp)->next)
    if (*pp == s) { *pp = s->next; break; }
  s->linked = 0;
  s->next = NULL;
  p->sessions--;
  if (!logout && platform_mobile[s->platform]) {
    int64_t until = now_s + push_keep_s;
    e->push_until_s[s->platform] = until <= 0 ? 0 : until >= (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)until;
  }
  if (entry_empty(e, now_s)) { u64map_del(&p->users, key); free(e); }
}

im_session_t *im_presence_first(const im_presence_t *p, uint32_t sdkappid, uint32_t user_no)
{
  user_entry_t *e = u64map_get(&p->users, key_of(sdkappid, user_no));
  return e ? e->head : NULL;
}

im_session_t *im_presence_find(const im_presence_t *p, uint32_t sdkappid, uint32_t user_no, uint32_t sid)
{
  for (im_session_t *s = im_presence_first(p, sdkappid, user_no); s; s = s->next)
    if (s->sid == sid) return s;
  return NULL;
}

im_status_t im_presence_status(const im_presence_t *p, uint32_t sdkappid, uint32_t user_no, int64_t now_s,
                               im_status_t per_platform[IM_PLAT__COUNT])
{
  im_status_t all = IM_STATUS_OFFLINE;
  user_entry_t *e = u64map_get(&p->users, key_of(sdkappid, user_no));
  if (per_platform) for (int i = 0; i < IM_PLAT__COUNT; i++) per_platform[i] = IM_STATUS_OFFLINE;
  if (!e) return all;
  for (int i = 1; i < IM_PLAT__COUNT; i++)
    if (e->push_until_s[i] > now_s) {
      if (per_platform) per_platform[i] = IM_STATUS_PUSHONLINE;
      all = IM_STATUS_PUSHONLINE;
    }
  for (im_session_t *s = e->head; s; s = s->next) {
    if (per_platform) per_platform[s->platform] = IM_STATUS_ONLINE;
    all = IM_STATUS_ONLINE;
  }
  return all;
}

im_session_t *im_presence_forget(im_presence_t *p, uint32_t sdkappid, uint32_t user_no)
{
  user_entry_t *e = u64map_del(&p->users, key_of(sdkappid, user_no));
  if (!e) return NULL;
  im_session_t *chain = e->head;
  for (im_session_t *s = chain; s; s = s->next) { s->linked = 0; p->sessions--; }
  free(e);
  return chain;
}

size_t im_presence_count(const im_presence_t *p) { return p->sessions; }

size_t im_presence_sweep(im_presence_t *p, int64_t now_s)
{
  size_t n = 0;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&p->users, &it); u64map_next(&p->users, &it, NULL, &v);)
    if (entry_empty(v, now_s)) { u64map_iter_del(&p->users, &it); free(v); n++; }
  return n;
}

int im_platform_mobile(im_platform_t p) { return (unsigned)p < IM_PLAT__COUNT && platform_mobile[p]; }

int im_presence_restore_push(im_presence_t *p, uint32_t sdkappid, uint32_t user_no, im_platform_t plat, int64_t until_s)
{
  if ((unsigned)plat >= IM_PLAT__COUNT || plat == IM_PLAT_NONE) return IMC_E_INVAL;
  uint64_t key = key_of(sdkappid, user_no);
  user_entry_t *e = u64map_get(&p->users, key);
  if (!e) {
    if (!(e = calloc(1, sizeof *e))) return IMC_E_NOMEM;
    if (u64map_put(&p->users, key, e)) { free(e); return IMC_E_NOMEM; }
  }
  if (until_s > e->push_until_s[plat]) e->push_until_s[plat] = until_s;
  return 0;
}

int im_presence_app_users(const im_presence_t *p, uint32_t sdkappid, uint32_t **users, size_t *n)
{
  size_t cap = 0;
  *users = NULL;
  *n = 0;
  u64map_iter_t it;
  uint64_t key;
  void *v;
  for (u64map_iter_init(&p->users, &it); u64map_next(&p->users, &it, &key, &v);) {
    const user_entry_t *e = v;
    if (!e->head || (uint32_t)(key >> 32) != sdkappid) continue;
    if (*n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      uint32_t *nu = realloc(*users, nc * sizeof *nu);
      if (!nu) { free(*users); *users = NULL; *n = 0; return IMC_E_NOMEM; }
      *users = nu;
      cap = nc;
    }
    (*users)[(*n)++] = (uint32_t)key;
  }
  return 0;
}
