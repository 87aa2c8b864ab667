/* Unit tests for src/im/presence: multi-device policy, status, PushOnline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "im/presence.h"
#include "util/err.h"

static im_session_t mk(uint32_t app, uint32_t user, im_platform_t plat)
{
  im_session_t s = { 0 };
  s.sdkappid = app; s.user_no = user; s.platform = (uint8_t)plat;
  return s;
}

static void test_platforms(void **st)
{
  (void)st;
  im_platform_t p;
  const char *names[] = { "iPhone", "Android", "Web", "PC", "iPad", "Mac" };
  for (int i = 0; i < 6; i++) {
    assert_int_equal(im_platform_parse(names[i], &p), 0);
    assert_string_equal(im_platform_name(p), names[i]);
  }
  assert_int_equal(im_platform_parse("iphone", &p), IMC_E_WS_PLATFORM);
  assert_int_equal(im_platform_parse("", &p), IMC_E_WS_PLATFORM);
  assert_int_equal(im_platform_parse(NULL, &p), IMC_E_WS_PLATFORM);
}

static void test_one_device_per_platform(void **st)
{
  (void)st;
  im_presence_t *p;
  assert_int_equal(im_presence_create(&p), 0);
  im_session_t a = mk(1400000001, 1, IM_PLAT_WEB), b = mk(1400000001, 1, IM_PLAT_IPHONE);
  im_session_t c = mk(1400000001, 1, IM_PLAT_WEB), other = mk(1400000002, 1, IM_PLAT_WEB);
  im_session_t *kicked;
  assert_int_equal(im_presence_add(p, &a, 0, &kicked), 0); assert_null(kicked);
  assert_int_equal(im_presence_add(p, &b, 0, &kicked), 0); assert_null(kicked);
  assert_int_equal(im_presence_add(p, &other, 0, &kicked), 0); assert_null(kicked); /* another app */
  assert_int_equal(im_presence_count(p), 3);
  assert_int_equal(im_presence_add(p, &c, 0, &kicked), 0);
  assert_ptr_equal(kicked, &a);
  assert_null(kicked->next);
  assert_int_equal(a.linked, 0);
  assert_int_equal(im_presence_count(p), 3);
  im_presence_remove(p, &a, 0, 0, 0); /* already unlinked: no-op */
  assert_int_equal(im_presence_count(p), 3);
  im_status_t per[IM_PLAT__COUNT];
  assert_int_equal(im_presence_status(p, 1400000001, 1, 100, per), IM_STATUS_ONLINE);
  assert_int_equal(per[IM_PLAT_WEB], IM_STATUS_ONLINE);
  assert_int_equal(per[IM_PLAT_IPHONE], IM_STATUS_ONLINE);
  assert_int_equal(per[IM_PLAT_PC], IM_STATUS_OFFLINE);
  /* multi-device edition: a second Web session stays */
  im_session_t d = mk(1400000001, 1, IM_PLAT_WEB);
  assert_int_equal(im_presence_add(p, &d, 1, &kicked), 0);
  assert_null(kicked);
  assert_int_equal(im_presence_count(p), 4);
  im_presence_free(p);
}

static void test_push_online(void **st)
{
  (void)st;
  im_presence_t *p;
  assert_int_equal(im_presence_create(&p), 0);
  im_session_t phone = mk(7, 9, IM_PLAT_ANDROID), web = mk(7, 9, IM_PLAT_WEB);
  im_session_t *kicked;
  assert_int_equal(im_presence_add(p, &phone, 0, &kicked), 0);
  assert_int_equal(im_presence_add(p, &web, 0, &kicked), 0);
  im_presence_remove(p, &web, 0, 1000, 604800);          /* web drop: no push */
  im_presence_remove(p, &phone, 0, 1000, 604800);        /* mobile drop: PushOnline 7 d */
  im_status_t per[IM_PLAT__COUNT];
  assert_int_equal(im_presence_status(p, 7, 9, 1001, per), IM_STATUS_PUSHONLINE);
  assert_int_equal(per[IM_PLAT_ANDROID], IM_STATUS_PUSHONLINE);
  assert_int_equal(per[IM_PLAT_WEB], IM_STATUS_OFFLINE);
  assert_int_equal(im_presence_status(p, 7, 9, 1000 + 604800, NULL), IM_STATUS_OFFLINE);
  assert_int_equal(im_presence_sweep(p, 1001), 0);
  assert_int_equal(im_presence_sweep(p, 1000 + 604800), 1);
  /* explicit logout from mobile: straight to Offline */
  assert_int_equal(im_presence_add(p, &phone, 0, &kicked), 0);
  im_presence_remove(p, &phone, 1, 2000, 604800);
  assert_int_equal(im_presence_status(p, 7, 9, 2001, NULL), IM_STATUS_OFFLINE);
  assert_int_equal(im_presence_count(p), 0);
  /* forget returns live sessions */
  assert_int_equal(im_presence_add(p, &phone, 0, &kicked), 0);
  assert_int_equal(im_presence_add(p, &web, 0, &kicked), 0);
  im_session_t *chain = im_presence_forget(p, 7, 9);
  int n = 0;
  for (im_session_t *s = chain; s; s = s->next) { n++; assert_int_equal(s->linked, 0); }
  assert_int_equal(n, 2);
  assert_int_equal(im_presence_count(p), 0);
  assert_null(im_presence_first(p, 7, 9));
  im_presence_free(p);
}

/* im_presence_displaces says what im_presence_add would displace, without linking anything. */
static void test_displaces_as_add(void **st)
{
  (void)st;
  im_presence_t *p;
  assert_int_equal(im_presence_create(&p), 0);
  im_session_t web = mk(5, 1, IM_PLAT_WEB), *kicked;
  web.device_hash = 11;
  assert_int_equal(im_presence_displaces(p, 5, 1, IM_PLAT_WEB, 11, 0), 0); /* nobody online */
  assert_int_equal(im_presence_add(p, &web, 0, &kicked), 0);
  assert_int_equal(im_presence_displaces(p, 5, 1, IM_PLAT_WEB, 12, 0), 1);  /* one device per platform */
  assert_int_equal(im_presence_displaces(p, 5, 1, IM_PLAT_PC, 11, 0), 0);   /* another platform */
  assert_int_equal(im_presence_displaces(p, 5, 2, IM_PLAT_WEB, 11, 0), 0);  /* another user */
  assert_int_equal(im_presence_displaces(p, 6, 1, IM_PLAT_WEB, 11, 0), 0);  /* another app */
  assert_int_equal(im_presence_displaces(p, 5, 1, IM_PLAT_WEB, 12, 1), 0);  /* several devices: another device */
  assert_int_equal(im_presence_displaces(p, 5, 1, IM_PLAT_WEB, 11, 1), 1);  /* several devices: the same device */
  assert_int_equal(im_presence_count(p), 1);
  /* and add agrees */
  im_session_t again = mk(5, 1, IM_PLAT_WEB);
  again.device_hash = 11;
  assert_int_equal(im_presence_add(p, &again, 1, &kicked), 0);
  assert_ptr_equal(kicked, &web);
  im_presence_free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_platforms), cmocka_unit_test(test_one_device_per_platform),
    cmocka_unit_test(test_push_online), cmocka_unit_test(test_displaces_as_add),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
