/* conv.h — a user's conversation list of both kinds, C2C and group, one
 * page at a time: what recentcontact/get_list and the WebSocket
 * conversations op list (conv_list.c; docs/decisions/groups-conversations.md §13,
 * docs/decisions/messaging-c2c-conversations.md §35). The API layer only encodes
 * the page.
 *
 * Order: with IM_CONV_PINNED_FIRST the pinned conversations of both kinds
 * first, latest pin first (pin time, then the user's pin order, then the
 * key), then the others; without it every conversation by last message time.
 * The others: by last message time, newest first, then by key (C2C by the
 * peer's user number, then groups by IM_CONV_GROUP_KEY + their number);
 * every pinned one and the app's recent-conversation limit
 * (IM_LIMIT_RECENT_KEPT) of the others, of both kinds together.
 *
 * Cursors name the last item returned (time and key; pin time and pin
 * place), so a page goes on after exactly the items already seen, whichever
 * kind the cursor names, also when a returned item moved up or was deleted
 * between the pages; an item not yet returned that moves above the cursor (a
 * new message, a pin after a pinned item was returned) is not listed by the
 * later pages: the message's push tells the client. A cursor with no pinned
 * item and a returned other one lists the pins made since among the others,
 * by last message (returned before the pin: not again); a returned pinned
 * item unpinned between the pages is listed again among the others
 * (docs/decisions/messaging-c2c-conversations.md §58). With
 * IM_CONV_PINNED_WHOLE the first page holds every pinned item, and the
 * others fill what the limit leaves (none when the pins reach it); its
 * pinned cursor names the last pin, so the pinned run is done, and a later
 * page lists no pinned run (§64).
 *
 * One page is one read: a reader job reads the C2C rows and the user's
 * group member rows in one transaction (store_grp_convs: the group numbers
 * from an index, the state of pinned or deleted ones from a partial index,
 * never a member row's name card or data), and the groups' last messages
 * come from memory on the loop thread. Loop thread. */
#ifndef IMC_IM_CONV_H
#define IMC_IM_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "im/c2c.h"
#include "im/group.h"

/* A group's key: above every user number. */
#define IM_CONV_GROUP_KEY ((int64_t)1 << 32)

/* Where a page starts: the cursor of the page before (all 0: the first page). */
typedef struct im_conv_cursor {
  int64_t time_s, key;          /* the last item of the others returned: its last message time and key */
  int64_t pin_s, pin_place;     /* the last pinned item returned: its pin time and its place among the pins
                                   of that second (conv_list.c place()) */
} im_conv_cursor_t;

enum {
  IM_CONV_PINNED_FIRST = 1,     /* pinned ones first, a run of their own */
  IM_CONV_EMPTY = 2,            /* also empty conversations (no message that counts within retention: a C2C
                                   one only when pinned or its last message is past the retention) */
  IM_CONV_EMPTY_PINNED = 4,     /* also empty conversations that are pinned */
  IM_CONV_UNREAD = 8,           /* unread counts of the page's items, read positions of its groups */
  IM_CONV_PINNED_WHOLE = 16,    /* with IM_CONV_PINNED_FIRST: the pinned run is not paged: every pinned item on
                                   the first page (all-0 cursor) whatever the limit, none on a later one
                                   (messaging-c2c-conversations.md §64) */
  IM_CONV_UNREAD_WAIT = 32,     /* with IM_CONV_UNREAD: the second read refused by the reader queue is kept, not
                                   failed: cb gets IMC_E_OVERLOADED with the page's `again` set (decisions §124) */
};

/* A page whose second read (the unread counts) the reader queue refused, kept to queue it again
 * (IM_CONV_UNREAD_WAIT, im_conv_page_again). */
typedef struct im_conv_again im_conv_again_t;

typedef struct im_conv_item {
  int group;                    /* 0 C2C, 1 group */
  const char *id;               /* the peer's UserID or the GroupId */
  uint32_t no;                  /* the peer's user number or the group's number */
  uint32_t last_seq;            /* 0: an empty conversation */
  int64_t last_time_s;
  int64_t pinned_at_s;          /* 0: not pinned */
  int64_t pin_seq;
  int in_pinned;                /* listed in the pinned run (IM_CONV_PINNED_FIRST) */
  uint32_t read_seq;            /* C2C always; groups with IM_CONV_UNREAD */
  int64_t unread;
} im_conv_item_t;

typedef struct im_conv_page {
  const im_conv_item_t *items;  /* valid during the callback */
  size_t n;
  int complete;                 /* nothing after this page */
  im_conv_cursor_t next;        /* where the next page starts (the one given when this page returned none) */
  im_conv_again_t *again;       /* with IMC_E_OVERLOADED and IM_CONV_UNREAD_WAIT: the kept page (items not set) */
} im_conv_page_t;
typedef void (*im_conv_page_cb)(void *ud, int rc, const im_conv_page_t *p);

/* One page of at most limit (> 0) conversations (with IM_CONV_PINNED_WHOLE, a first page: at most the larger of
 * limit and the pinned ones) of user_no after `from`, in the order above. flags:
 * IM_CONV_*. A C2C item carries its read position (im_c2c_conversations); unread counts are 0 without
 * IM_CONV_UNREAD. With it, a second reader job after the page counts the page's items only, each in
 * (read position, the newest message its conversation had when the page was read, NoLastMsg ones
 * included]: a C2C item's from its read position, a group item's from its member's read
 * position, read then (0 for a group whose type keeps none, or with MsgFlag Discard, or one left meanwhile). cb on the loop thread: IMC_E_NOMEM, IMC_E_OVERLOADED (a full reader
 * queue), a storage error. */
void im_conv_page(im_c2c_t *c, im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const im_conv_cursor_t *from,
                  int flags, int64_t limit, im_conv_page_cb cb, void *ud);
/* With IM_CONV_UNREAD_WAIT, a second read the reader queue refuses does not end the page: cb(ud, IMC_E_OVERLOADED,
 * p) with p->again set (and p's items not set), once per page at most; the page's first read and its rows are kept,
 * and the caller owns `again` until it calls im_conv_page_again exactly once (in cb or later). rc 0: queue the
 * second read again (the first is not run again, decisions §124), cb called as for a page not kept; if the reader
 * refuses it again, cb gets IMC_E_OVERLOADED with `again` NULL. rc an IMC_E_* code: the page ends, cb(ud, rc, NULL)
 * now. Either way `again` is not valid after the call. Without the flag (REST get_list passes none and IM_CONV_UNREAD
 * neither) cb gets IMC_E_OVERLOADED, `again` NULL. */
void im_conv_page_again(im_conv_again_t *again, int rc);

#endif
