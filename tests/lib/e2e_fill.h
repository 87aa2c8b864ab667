/* e2e_fill.h — "fillers" for the tests of reads waiting for the reader
 * pool's room (§120–§127): users f0 … f(n-1) logged in over WebSocket whose
 * syncs fill the reader queue while a reader hook (IMCLOUD_TEST_READER_HOLD,
 * e2e_sync_hold) keeps every job in it. Include after cmocka.h. */
#ifndef IMC_TESTS_E2E_FILL_H
#define IMC_TESTS_E2E_FILL_H

#include "e2e_msg.h"

/* Log in users[0 … n-1] (NULL: "f0" … "f<n-1>") on app, platform Web (before any write lock: a login writes). */
static inline void e2e_fillers_login(wsc_t *f, int n, int port, uint32_t app, const char *key,
                                     const char *const *users)
{
  for (int i = 0; i < n; i++) {
    char u[16];
    snprintf(u, sizeof u, "f%d", i);
    assert_int_equal(wsc_login(&f[i], port, app, key, users ? users[i] : u, "Web"), 0);
  }
}

/* Each filler sends a sync (id 1) from the start. */
static inline void e2e_fillers_sync(wsc_t *f, int n)
{
  for (int i = 0; i < n; i++) assert_int_equal(e2e_ws_send_text(f[i].fd, "{\"id\":1,\"op\":\"sync\",\"cursor\":0}"), 0);
}

/* Each filler's sync answered code 0; its connection closed. */
static inline void e2e_fillers_drain(wsc_t *f, int n)
{
  for (int i = 0; i < n; i++) {
    int id = 1;
    json_t *o = wsc_take(&f[i], match_id, &id, 30000);
    assert_non_null(o);
    assert_int_equal(jint(o, "code"), 0);
    json_decref(o);
    wsc_close(&f[i]);
  }
}

#endif
