/* rel.h — relationship state in memory: per user, rows of profile tags,
 * friends, pending friend requests (both directions), blocklist entries,
 * friend lists, conversation groups, conversation marks and status fields;
 * per app, its relationship settings (user_no 0).
 *
 * The loop thread owns it (no locks). Everything is loaded at startup from
 * the store's rel rows (store_rel.h) and every later change goes through a
 * change set (rel_txn_t): each put/del applies to memory at once — so the
 * rest of the same request sees it — and is recorded with the value it
 * replaced. The caller then writes the set on the writer thread
 * (rel_txn_write) and acknowledges only after the commit; if the write is
 * refused or fails, rel_txn_undo restores the replaced values (newest
 * first, each only where memory still holds what the set wrote).
 *
 * Rows of one kind are kept sorted by key (binary search; iteration in key
 * order, so every device and every page sees the same order). Peer keys are
 * UserIDs. Values are JSON texts whose shape is up to the caller
 * (src/api/rel_*.c); the rows' key/value strings are owned here.
 */
#ifndef IMC_IM_REL_H
#define IMC_IM_REL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef enum {
  REL_K_PROFILE = 0,  /* key: profile tag; val: JSON value */
  REL_K_FRIEND = 1,   /* key: peer UserID; val: {"AddTime","AddSource","AddWording","Remark","Group":[…],"Custom":{…}} */
  REL_K_PEND_OUT = 2, /* key: peer; a request this user sent: {"AddTime","AddSource","AddWording","Remark","Group"} */
  REL_K_PEND_IN = 3,  /* key: peer; a request this user received: {"AddTime","AddSource","AddWording"} */
  REL_K_BLACK = 4,    /* key: peer; val: add time (JSON integer) */
  REL_K_FLIST = 5,    /* key: friend list name; val: creation time */
  REL_K_CGROUP = 6,   /* key: conversation group name; val: JSON array of conversation ids */
  REL_K_MARK = 7,     /* key: conversation id; val: JSON array of mark bits */
  REL_K_META = 8,     /* key: a counter or status field ("friend_seq", "status_text", "push_until.<platform>") */
  REL_K_APP = 9,      /* user_no 0 only: app settings ("custom_tags", "c2c_friendship") */
  REL_K__COUNT
} rel_kind_t;

typedef struct rel_row { char *key, *val; } rel_row_t;
typedef struct rel_rows { rel_row_t *v; uint32_t n, cap; } rel_rows_t;

typedef struct rel_user {
  uint32_t sdkappid, user_no;
  char id[33];                 /* UserID ("" for an app's settings record) */
  rel_rows_t k[REL_K__COUNT];
} rel_user_t;

typedef struct rel rel_t;

int rel_create(rel_t **out);   /* 0 or IMC_E_NOMEM */
void rel_free(rel_t *r);
/* Load every stored row and the UserIDs of the users they belong to
 * (startup, on the startup connection). 0, IMC_E_NOMEM or storage errors. */
int rel_load(rel_t *r, store_t *s);

/* The record of a user (NULL if it has none yet). */
rel_user_t *rel_user(const rel_t *r, uint32_t sdkappid, uint32_t user_no);
/* The record, created empty if missing (id: the user's UserID, "" for user 0).
 * NULL on OOM. */
rel_user_t *rel_user_ensure(rel_t *r, uint32_t sdkappid, uint32_t user_no, const char *id);
/* Forget a user (account deleted). */
void rel_user_drop(rel_t *r, uint32_t sdkappid, uint32_t user_no);

/* Call cb for every user of app holding the UserID id in its friend list
 * (a reverse index kept with the rows: no walk of the app's users). */
void rel_friend_holders(const rel_t *r, uint32_t app, const char *id, void (*cb)(void *ud, rel_user_t *u), void *ud);
/* Call cb for every record (apps' settings records included). */
void rel_each_user(rel_t *r, void (*cb)(void *ud, rel_user_t *u), void *ud);

/* The row of kind/key, NULL if absent; u may be NULL. */
const rel_row_t *rel_get(const rel_user_t *u, rel_kind_t kind, const char *key);
/* Its value, or NULL. */
const char *rel_val(const rel_user_t *u, rel_kind_t kind, const char *key);
/* Number of rows of a kind; u may be NULL. */
size_t rel_count(const rel_user_t *u, rel_kind_t kind);
/* Rows of a kind in key order (valid until the next change); n set. */
const rel_row_t *rel_rows(const rel_user_t *u, rel_kind_t kind, size_t *n);
/* An integer META counter (0 if absent). */
int64_t rel_meta_i64(const rel_user_t *u, const char *key);

/* Bytes held by relationship rows and records (the memory benchmark). */
size_t rel_bytes(const rel_t *r);

/* ---- change sets ---------------------------------------------------------- */
typedef struct rel_op {
  uint32_t sdkappid, user_no;
  uint8_t kind, had_old;
  char *key, *val, *old;       /* val NULL: delete */
} rel_op_t;

typedef struct rel_txn {
  rel_t *r;
  rel_op_t *ops;
  size_t n, cap;
  int undone;                  /* rel_txn_undo ran (it runs at most once) */
} rel_txn_t;

void rel_txn_init(rel_txn_t *t, rel_t *r);
/* Set kind/key of u to val (copied) in memory now and record it. 0 or
 * IMC_E_NOMEM (nothing changed). */
int rel_txn_put(rel_txn_t *t, rel_user_t *u, rel_kind_t kind, const char *key, const char *val);
/* Delete kind/key of u (no-op when absent, nothing recorded). 0 or IMC_E_NOMEM. */
int rel_txn_del(rel_txn_t *t, rel_user_t *u, rel_kind_t kind, const char *key);
/* Record the deletion of kind/key of (sdkappid, user_no) for the write only: memory does not hold the row (an
 * earlier set, not yet durable, removed it) and is not touched; rel_txn_undo leaves the row as it finds it. Makes
 * the set's write remove the row whether or not that earlier set commits. 0 or IMC_E_NOMEM (nothing recorded). */
int rel_txn_del_stored(rel_txn_t *t, uint32_t sdkappid, uint32_t user_no, rel_kind_t kind, const char *key);
/* Set (val non-NULL, copied) or delete kind/key of u in memory only, recording nothing (no write, no undo): for
 * what a caller writes and undoes itself — an account deletion's reserved sequence and the row it gives back
 * (decisions §119). 0 or IMC_E_NOMEM (unchanged; a delete never fails). */
int rel_set_unrecorded(rel_t *r, rel_user_t *u, rel_kind_t kind, const char *key, const char *val);
/* Add 1 to an integer META counter; the new value in *out (may be NULL). */
int rel_txn_bump(rel_txn_t *t, rel_user_t *u, const char *key, int64_t *out);
/* Writer thread: write every recorded op, in order. 0 or storage errors. */
int rel_txn_write(store_t *s, const rel_txn_t *t);
/* Restore what the set replaced (loop thread), newest first; once. */
void rel_txn_undo(rel_txn_t *t);
/* Free the record (memory keeps whatever was applied). */
void rel_txn_free(rel_txn_t *t);

#endif
