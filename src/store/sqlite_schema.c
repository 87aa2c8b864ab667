/* sqlite_schema.c — the schema of the SQLite backend as an ordered list of
 * migrations: script N (0-based) takes PRAGMA user_version from N to N + 1;
 * the scripts a database has not run yet run together in one transaction at
 * open (sq__migrate, sqlite_migrate.c). Append only: a script that shipped is
 * never reordered, and what it produces never changes — the schema it leaves
 * and every value it writes, from any database at the version before it; a
 * change of either is a new script. A shipped script's SQL may be rewritten
 * only in how it runs (the order it reads its rows in, the index it reads
 * them through: 48 and 51, messaging-c2c-checks4.md §102; 53,
 * messaging-c2c-checks5.md §105), with the same schema and values, held by
 * a test that computes the values from their definition
 * (tests/unit/store/test_schema.c); a database that ran it before is not
 * touched. */
#include "store/sqlite_int.h"
#include "store/store_content.h"
#include "util/err.h"

/* ---- migrations -------------------------------------------------------------- */
const char *const sq__migrations[] = {
  /* 1: tenants, accounts, login usage */
  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  "CREATE TABLE customers(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, created_at INTEGER NOT NULL);"
  "CREATE TABLE apps(sdkappid INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),"
  " name TEXT NOT NULL, secret_key TEXT NOT NULL, admins TEXT NOT NULL, region TEXT NOT NULL,"
  " created_at INTEGER NOT NULL, scheme TEXT NOT NULL, edition TEXT NOT NULL,"
  " status TEXT NOT NULL DEFAULT 'active', next_user_no INTEGER NOT NULL DEFAULT 1);"
  "CREATE INDEX apps_customer ON apps(customer_id);"
  "CREATE TABLE accounts(sdkappid INTEGER NOT NULL, user_id TEXT NOT NULL, user_no INTEGER NOT NULL,"
  " nick TEXT, face_url TEXT, created_at INTEGER NOT NULL, PRIMARY KEY(sdkappid, user_id),"
  " UNIQUE(sdkappid, user_no)) WITHOUT ROWID;"
  "CREATE TABLE usage_login(sdkappid INTEGER NOT NULL, day INTEGER NOT NULL, user_no INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, day, user_no)) WITHOUT ROWID;",
  /* 2: wallets — an append-only ledger per customer; the balance is the last
   * row's balance_fen (never negative); a reference is unique per customer */
  "CREATE TABLE ledger(id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id INTEGER NOT NULL REFERENCES customers(id),"
  " at INTEGER NOT NULL, kind TEXT NOT NULL CHECK(kind IN ('topup','order','payment','refund')),"
  " amount_fen INTEGER NOT NULL, balance_fen INTEGER NOT NULL CHECK(balance_fen >= 0),"
  " reason TEXT NOT NULL, reference TEXT NOT NULL, UNIQUE(customer_id, reference));"
  "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;"
  "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;",
  /* 3: kick times — a REST kick invalidates the user's UserSigs issued up to
   * then, across restarts */
  "CREATE TABLE kicks(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, kicked_at INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, user_no)) WITHOUT ROWID;",
  /* 4: the change log (store.h): triggers append a row in the same
   * transaction as the write, whichever process makes it. An app update
   * logs only the columns the server holds (not next_user_no, which every
   * account import bumps). */
  "CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL);"
  "CREATE TRIGGER changes_app_create AFTER INSERT ON apps BEGIN"
  " INSERT INTO changes(kind,key) VALUES('app.create', NEW.sdkappid); END;"
  "CREATE TRIGGER changes_app_update AFTER UPDATE OF customer_id, name, secret_key, admins, region, scheme, edition, status"
  " ON apps BEGIN INSERT INTO changes(kind,key) VALUES('app.update', NEW.sdkappid); END;"
  "CREATE TRIGGER changes_meta_insert AFTER INSERT ON meta BEGIN INSERT INTO changes(kind,key) VALUES('meta', NEW.key); END;"
  "CREATE TRIGGER changes_meta_update AFTER UPDATE ON meta BEGIN INSERT INTO changes(kind,key) VALUES('meta', NEW.key); END;",
  /* 5: prepaid orders per app (L-5): packages and add-ons, one row per
   * period, append-only like the ledger; a reference is unique per app */
  "CREATE TABLE orders(id INTEGER PRIMARY KEY AUTOINCREMENT, sdkappid INTEGER NOT NULL REFERENCES apps(sdkappid),"
  " customer_id INTEGER NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL CHECK(kind IN ('package','addon')),"
  " item TEXT NOT NULL, value INTEGER NOT NULL, value_name TEXT NOT NULL, anchor_day INTEGER NOT NULL,"
  " period INTEGER NOT NULL CHECK(period >= 0), start_day INTEGER NOT NULL, end_day INTEGER NOT NULL,"
  " book TEXT NOT NULL, price_fen INTEGER NOT NULL CHECK(price_fen >= 0),"
  " pay TEXT NOT NULL CHECK(pay IN ('prepaid','postpaid','included')), ledger_id INTEGER NOT NULL,"
  " reference TEXT NOT NULL, UNIQUE(sdkappid, reference), CHECK(end_day >= start_day));"
  "CREATE INDEX orders_app ON orders(sdkappid, id);"
  "CREATE TRIGGER orders_no_update BEFORE UPDATE ON orders BEGIN SELECT RAISE(ABORT, 'orders are append-only'); END;"
  "CREATE TRIGGER orders_no_delete BEFORE DELETE ON orders BEGIN SELECT RAISE(ABORT, 'orders are append-only'); END;",
  /* 6: metering (sqlite_usage.c) — daily counters and peaks, identified
   * additive events, group lives, imported usage documents (immutable) */
  "CREATE TABLE usage_day(sdkappid INTEGER NOT NULL, day INTEGER NOT NULL, metric TEXT NOT NULL,"
  " value INTEGER NOT NULL, PRIMARY KEY(sdkappid, day, metric)) WITHOUT ROWID;"
  "CREATE TABLE usage_event(sdkappid INTEGER NOT NULL, event_id TEXT NOT NULL, day INTEGER NOT NULL,"
  " metric TEXT NOT NULL, amount INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(sdkappid, event_id)) WITHOUT ROWID;"
  "CREATE TABLE usage_group(sdkappid INTEGER NOT NULL, group_id TEXT NOT NULL, created_at INTEGER NOT NULL,"
  " dissolved_at INTEGER, live INTEGER NOT NULL, PRIMARY KEY(sdkappid, group_id, created_at)) WITHOUT ROWID;"
  "CREATE TABLE usage_import_doc(id INTEGER PRIMARY KEY AUTOINCREMENT, sdkappid INTEGER NOT NULL,"
  " month INTEGER NOT NULL, source TEXT NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL);"
  "CREATE TRIGGER usage_import_doc_no_update BEFORE UPDATE ON usage_import_doc BEGIN SELECT RAISE(ABORT, 'imported documents are immutable'); END;"
  "CREATE TRIGGER usage_import_doc_no_delete BEFORE DELETE ON usage_import_doc BEGIN SELECT RAISE(ABORT, 'imported documents are immutable'); END;"
  "CREATE TABLE usage_import(sdkappid INTEGER NOT NULL, day INTEGER NOT NULL, metric TEXT NOT NULL,"
  " value INTEGER NOT NULL, doc_id INTEGER NOT NULL REFERENCES usage_import_doc(id),"
  " PRIMARY KEY(sdkappid, day, metric)) WITHOUT ROWID;",
  /* 7: registrations (metering): one row per account number ever created,
   * written by a trigger in the creating transaction, kept after a delete */
  "CREATE TABLE usage_reg(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, created_at INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, user_no)) WITHOUT ROWID;"
  "INSERT INTO usage_reg(sdkappid,user_no,created_at) SELECT sdkappid,user_no,created_at FROM accounts;"
  "CREATE TRIGGER usage_reg_on_account AFTER INSERT ON accounts BEGIN"
  " INSERT OR IGNORE INTO usage_reg(sdkappid,user_no,created_at) VALUES(new.sdkappid,new.user_no,new.created_at); END;",
  /* 8: bills — numbered gap-free per deployment (seq), one per app and usage
   * month, immutable like the ledger */
  "CREATE TABLE bills(seq INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, sdkappid INTEGER NOT NULL,"
  " customer_id INTEGER NOT NULL, month INTEGER NOT NULL, issued_at INTEGER NOT NULL, total_fen INTEGER NOT NULL,"
  " prepaid_fen INTEGER NOT NULL, postpaid_fen INTEGER NOT NULL, body TEXT NOT NULL, UNIQUE(sdkappid, month));"
  "CREATE INDEX bills_customer ON bills(customer_id, seq);"
  "CREATE TRIGGER bills_no_update BEFORE UPDATE ON bills BEGIN SELECT RAISE(ABORT, 'bills are immutable'); END;"
  "CREATE TRIGGER bills_no_delete BEFORE DELETE ON bills BEGIN SELECT RAISE(ABORT, 'bills are immutable'); END;",
  /* 9: imported documents are counted per app and month (the bill run reads it per app) */
  "CREATE INDEX usage_import_doc_app ON usage_import_doc(sdkappid, month);",
  /* 10: one-to-one messages (sqlite_msg.c; docs/decisions/messaging-c2c-storage.md) */
  "CREATE TABLE c2c_msg(id INTEGER PRIMARY KEY, sdkappid INTEGER NOT NULL, conv INTEGER NOT NULL, seq INTEGER NOT NULL,"
  " from_no INTEGER NOT NULL, to_no INTEGER NOT NULL, time_s INTEGER NOT NULL, cseq INTEGER NOT NULL,"
  " random INTEGER NOT NULL, flags INTEGER NOT NULL, life_s INTEGER NOT NULL, body TEXT NOT NULL,"
  " UNIQUE(sdkappid, conv, seq));"
  "CREATE INDEX c2c_msg_random ON c2c_msg(sdkappid, conv, random);"
  "CREATE TABLE c2c_inbox(id INTEGER PRIMARY KEY, sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL,"
  " useq INTEGER NOT NULL, kind INTEGER NOT NULL, conv INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL,"
  " UNIQUE(sdkappid, user_no, useq));"
  "CREATE TABLE c2c_recent(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, peer_no INTEGER NOT NULL,"
  " last_seq INTEGER NOT NULL DEFAULT 0, last_time INTEGER NOT NULL DEFAULT 0, read_seq INTEGER NOT NULL DEFAULT 0,"
  " pinned_at INTEGER NOT NULL DEFAULT 0, hidden_seq INTEGER NOT NULL DEFAULT 0, cleared_seq INTEGER NOT NULL DEFAULT 0,"
  " PRIMARY KEY(sdkappid, user_no, peer_no)) WITHOUT ROWID;",
  /* 11: an order changes the app's plan facts: log it as an app update */
  "CREATE TRIGGER changes_order AFTER INSERT ON orders BEGIN"
  " INSERT INTO changes(kind,key) VALUES('app.update', NEW.sdkappid); END;",
  /* 12: a wallet credit (top-up, refund) may pay open bills and end arrears: log it */
  "CREATE TRIGGER changes_wallet_credit AFTER INSERT ON ledger WHEN NEW.kind IN ('topup','refund') BEGIN"
  " INSERT INTO changes(kind,key) VALUES('wallet.credit', NEW.customer_id); END;",
  /* 13: groups (sqlite_grp.c; docs/decisions/groups.md) */
  "CREATE TABLE grp(sdkappid INTEGER NOT NULL, group_no INTEGER NOT NULL, group_id TEXT NOT NULL,"
  " type INTEGER NOT NULL, owner_no INTEGER NOT NULL, created_at INTEGER NOT NULL, info TEXT NOT NULL,"
  " info_seq INTEGER NOT NULL, info_time INTEGER NOT NULL, last_msg INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, group_no), UNIQUE(sdkappid, group_id)) WITHOUT ROWID;"
  "CREATE TABLE grp_member(sdkappid INTEGER NOT NULL, group_no INTEGER NOT NULL, user_no INTEGER NOT NULL,"
  " role INTEGER NOT NULL, msg_flag INTEGER NOT NULL, join_time INTEGER NOT NULL, mute_until INTEGER NOT NULL,"
  " read_seq INTEGER NOT NULL, last_send INTEGER NOT NULL, name_card TEXT NOT NULL, data TEXT NOT NULL,"
  " PRIMARY KEY(sdkappid, group_no, user_no)) WITHOUT ROWID;"
  "CREATE INDEX grp_member_user ON grp_member(sdkappid, user_no);"
  "CREATE TABLE grp_msg(id INTEGER PRIMARY KEY, sdkappid INTEGER NOT NULL, group_no INTEGER NOT NULL,"
  " seq INTEGER NOT NULL, from_no INTEGER NOT NULL, time_s INTEGER NOT NULL, random INTEGER NOT NULL,"
  " flags INTEGER NOT NULL, priority INTEGER NOT NULL, body TEXT NOT NULL, UNIQUE(sdkappid, group_no, seq));"
  "CREATE INDEX grp_msg_random ON grp_msg(sdkappid, group_no, random);",
  /* 14: relationship rows (sqlite_rel.c, src/im/rel.h); the Nick and FaceUrl account_import stored so far
   * become the profile tags Tag_Profile_IM_Nick and Tag_Profile_IM_Image (kind 0 = profile, values JSON) */
  "CREATE TABLE rel(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, kind INTEGER NOT NULL, key TEXT NOT NULL,"
  " val TEXT NOT NULL, PRIMARY KEY(sdkappid, user_no, kind, key)) WITHOUT ROWID;"
  "INSERT INTO rel SELECT sdkappid, user_no, 0, 'Tag_Profile_IM_Nick', json_quote(nick) FROM accounts WHERE nick IS NOT NULL;"
  "INSERT INTO rel SELECT sdkappid, user_no, 0, 'Tag_Profile_IM_Image', json_quote(face_url) FROM accounts"
  " WHERE face_url IS NOT NULL;",
  /* 15: correction documents (docs/decisions/billing-corrections.md). bills gains corrects (the seq of
   * the bill a correction corrects, 0 for a bill) and due_fen (what the document asks to pay: a bill's
   * postpaid amount, a correction's difference); one bill per app and month becomes a partial index.
   * bill_recheck queues the billed months whose usage rows changed after the bill (triggers on the
   * usage rows, same transaction as the write; not INSERT OR IGNORE: an upsert's conflict handling
   * overrides the trigger's); the day job turns them into corrections. */
  "CREATE TABLE bills_v15(seq INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, sdkappid INTEGER NOT NULL,"
  " customer_id INTEGER NOT NULL, month INTEGER NOT NULL, issued_at INTEGER NOT NULL, total_fen INTEGER NOT NULL,"
  " prepaid_fen INTEGER NOT NULL, postpaid_fen INTEGER NOT NULL, body TEXT NOT NULL,"
  " corrects INTEGER NOT NULL DEFAULT 0, due_fen INTEGER NOT NULL);"
  "INSERT INTO bills_v15 SELECT seq,number,sdkappid,customer_id,month,issued_at,total_fen,prepaid_fen,postpaid_fen,body,0,"
  " postpaid_fen FROM bills;"
  "DROP TABLE bills;"
  "ALTER TABLE bills_v15 RENAME TO bills;"
  "CREATE UNIQUE INDEX bills_app_month ON bills(sdkappid, month) WHERE corrects=0;"
  "CREATE INDEX bills_corrects ON bills(corrects, seq) WHERE corrects>0;"
  "CREATE INDEX bills_customer ON bills(customer_id, seq);"
  "CREATE TRIGGER bills_no_update BEFORE UPDATE ON bills BEGIN SELECT RAISE(ABORT, 'bills are immutable'); END;"
  "CREATE TRIGGER bills_no_delete BEFORE DELETE ON bills BEGIN SELECT RAISE(ABORT, 'bills are immutable'); END;"
  "CREATE TABLE bill_recheck(sdkappid INTEGER NOT NULL, month INTEGER NOT NULL, PRIMARY KEY(sdkappid, month)) WITHOUT ROWID;"
#define RECHECK_ON(table, ev, day)                                                                               \
  "CREATE TRIGGER bill_recheck_" #table "_" #ev " AFTER " #ev " ON " #table                                       \
  " WHEN EXISTS(SELECT 1 FROM bills WHERE sdkappid=NEW.sdkappid AND month=" day "/100 AND corrects=0) BEGIN"      \
  " INSERT INTO bill_recheck(sdkappid,month) SELECT NEW.sdkappid, " day "/100 WHERE NOT EXISTS(SELECT 1"     \
  " FROM bill_recheck WHERE sdkappid=NEW.sdkappid AND month=" day "/100); END;"
/* every usage table whose rows a bill prices (migration 15; made again by 24, which rebuilds bills) */
#define RECHECK_TRIGGERS                      \
  RECHECK_ON(usage_login, INSERT, "NEW.day")  \
  RECHECK_ON(usage_day, INSERT, "NEW.day")    \
  RECHECK_ON(usage_day, UPDATE, "NEW.day")    \
  RECHECK_ON(usage_import, INSERT, "NEW.day") \
  RECHECK_ON(usage_import, UPDATE, "NEW.day") \
  RECHECK_ON(usage_import_doc, INSERT, "(NEW.month*100)")
  RECHECK_TRIGGERS,
  /* 16: relationship events replayed by sync (sqlite_rel.c; store_rel.h): the push frame of an inbox
   * event of kind 8 (STORE_EV_REL), under the same (sdkappid, user_no, useq) */
  "CREATE TABLE rel_event(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, useq INTEGER NOT NULL,"
  " at INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY(sdkappid, user_no, useq)) WITHOUT ROWID;"
  "CREATE INDEX rel_event_at ON rel_event(sdkappid, at);",
  /* 17: the retention purge finds an app's expired group messages (store_grp_msg_purge) */
  "CREATE INDEX grp_msg_time ON grp_msg(sdkappid, time_s);",
  /* 18: per group, the highest seq the retention purge deleted (store_grp_msg_purge): the next seq
   * never goes below it, and reads tell "expired" from "deleted by its sender" (store_grp_msg_expired) */
  "CREATE TABLE grp_purge(sdkappid INTEGER NOT NULL, group_no INTEGER NOT NULL, seq INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, group_no)) WITHOUT ROWID;",
  /* 19: a customer's balance is its last ledger row: found by one index seek (the bill run settles a
   * bill per app; without it each balance read sorted all of the customer's entries) */
  "CREATE INDEX ledger_customer ON ledger(customer_id, id);",
  /* 20: the recipients of targeted group messages (To_Account; STORE_GMSG_TARGETED) */
  "CREATE TABLE grp_msg_to(sdkappid INTEGER NOT NULL, group_no INTEGER NOT NULL, seq INTEGER NOT NULL,"
  " user_no INTEGER NOT NULL, PRIMARY KEY(sdkappid, group_no, seq, user_no)) WITHOUT ROWID;",
  /* 21: the C2C inbox becomes a clustered table keyed (sdkappid, user_no, useq): one B-tree insert per
   * event instead of a rowid row plus its unique index (docs/decisions/messaging-c2c-storage.md §3);
   * the retention purge walks it per user (sqlite_msg.c) */
  "CREATE TABLE c2c_inbox_v21(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, useq INTEGER NOT NULL,"
  " kind INTEGER NOT NULL, conv INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, user_no, useq)) WITHOUT ROWID;"
  "INSERT INTO c2c_inbox_v21 SELECT sdkappid, user_no, useq, kind, conv, seq, at FROM c2c_inbox;"
  "DROP TABLE c2c_inbox;"
  "ALTER TABLE c2c_inbox_v21 RENAME TO c2c_inbox;",
  /* 22: a bill reads of an app's imported daily DAU and groups only the month's maximum: the index
   * keeps it (one seek from the end per app and metric, exact and updated with every import in the
   * same transaction) and finds the imported daily bandwidth rows without the others (sqlite_usage.c) */
  "CREATE INDEX usage_import_month ON usage_import(sdkappid, metric, day/100, value);",
  /* 23: an account's registration row is written by the INSERT's caller in the same transaction
   * (sqlite.c account_import_txn): the trigger made every new account a statement transaction */
  "DROP TRIGGER usage_reg_on_account;",
  /* 24: a bill is one B-tree row plus bills_app_month (its uniqueness per app and month): the
   * bill run stored each bill in three more. number loses its UNIQUE index — the number is
   * written from (month, seq) by squ_bill_insert and seq is the primary key, and nothing looks a
   * bill up by number; bills_customer goes — no statement used it (store_bill_each's
   * "?1=0 OR customer_id=?1" scans the table either way). The table is rebuilt (a UNIQUE
   * constraint's index cannot be dropped); the recheck triggers name bills, so they are dropped
   * first and created again as migration 15 wrote them. */
  "DROP TRIGGER bill_recheck_usage_login_INSERT; DROP TRIGGER bill_recheck_usage_day_INSERT;"
  "DROP TRIGGER bill_recheck_usage_day_UPDATE; DROP TRIGGER bill_recheck_usage_import_INSERT;"
  "DROP TRIGGER bill_recheck_usage_import_UPDATE; DROP TRIGGER bill_recheck_usage_import_doc_INSERT;"
  "CREATE TABLE bills_v23(seq INTEGER PRIMARY KEY, number TEXT NOT NULL, sdkappid INTEGER NOT NULL,"
  " customer_id INTEGER NOT NULL, month INTEGER NOT NULL, issued_at INTEGER NOT NULL, total_fen INTEGER NOT NULL,"
  " prepaid_fen INTEGER NOT NULL, postpaid_fen INTEGER NOT NULL, body TEXT NOT NULL,"
  " corrects INTEGER NOT NULL DEFAULT 0, due_fen INTEGER NOT NULL);"
  "INSERT INTO bills_v23 SELECT seq,number,sdkappid,customer_id,month,issued_at,total_fen,prepaid_fen,postpaid_fen,body,"
  " corrects,due_fen FROM bills;"
  "DROP TABLE bills;"
  "ALTER TABLE bills_v23 RENAME TO bills;"
  "CREATE UNIQUE INDEX bills_app_month ON bills(sdkappid, month) WHERE corrects=0;"
  "CREATE INDEX bills_corrects ON bills(corrects, seq) WHERE corrects>0;"
  "CREATE TRIGGER bills_no_update BEFORE UPDATE ON bills BEGIN SELECT RAISE(ABORT, 'bills are immutable'); END;"
  "CREATE TRIGGER bills_no_delete BEFORE DELETE ON bills BEGIN SELECT RAISE(ABORT, 'bills are immutable'); END;"
  RECHECK_TRIGGERS,
#undef RECHECK_TRIGGERS
#undef RECHECK_ON
  /* 25: one bill per app and month, keyed month first: the bills of one month are one range of
   * the index, in sdkappid order, so the bill run lists the apps without a bill by walking the
   * apps and that range side by side (squ_bill_month_apps) instead of a seek per app, and the
   * apps with one without reading every month's bills; lookups by (app, month) are unchanged */
  "DROP INDEX bills_app_month;"
  "CREATE UNIQUE INDEX bills_month_app ON bills(month, sdkappid) WHERE corrects=0;",
  /* 26: the C2C inbox, the conversation rows and the random index lead with the user (conversation)
   * number instead of the app: every lookup names both, and a key whose first column differs
   * between neighbours is compared on that column alone (SQLite's integer fast path), where an equal
   * sdkappid first sent every comparison of an insert's descent through the general record compare
   * (docs/decisions/messaging-c2c-append.md §13: -6,200 writer instructions per message) */
  "CREATE TABLE c2c_inbox_v23(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, useq INTEGER NOT NULL,"
  " kind INTEGER NOT NULL, conv INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL,"
  " PRIMARY KEY(user_no, sdkappid, useq)) WITHOUT ROWID;"
  "INSERT INTO c2c_inbox_v23 SELECT sdkappid, user_no, useq, kind, conv, seq, at FROM c2c_inbox;"
  "DROP TABLE c2c_inbox;"
  "ALTER TABLE c2c_inbox_v23 RENAME TO c2c_inbox;"
  "CREATE TABLE c2c_recent_v23(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, peer_no INTEGER NOT NULL,"
  " last_seq INTEGER NOT NULL DEFAULT 0, last_time INTEGER NOT NULL DEFAULT 0, read_seq INTEGER NOT NULL DEFAULT 0,"
  " pinned_at INTEGER NOT NULL DEFAULT 0, hidden_seq INTEGER NOT NULL DEFAULT 0, cleared_seq INTEGER NOT NULL DEFAULT 0,"
  " PRIMARY KEY(user_no, sdkappid, peer_no)) WITHOUT ROWID;"
  "INSERT INTO c2c_recent_v23 SELECT sdkappid, user_no, peer_no, last_seq, last_time, read_seq, pinned_at, hidden_seq,"
  " cleared_seq FROM c2c_recent;"
  "DROP TABLE c2c_recent;"
  "ALTER TABLE c2c_recent_v23 RENAME TO c2c_recent;"
  "DROP INDEX c2c_msg_random;"
  "CREATE INDEX c2c_msg_random ON c2c_msg(conv, sdkappid, random);",
  /* 27: the message log's unique key leads with the conversation too (as 26 did for the others);
   * rowids are kept: the retention purge walks rowid order (≈ time order) */
  "CREATE TABLE c2c_msg_v24(id INTEGER PRIMARY KEY, sdkappid INTEGER NOT NULL, conv INTEGER NOT NULL,"
  " seq INTEGER NOT NULL, from_no INTEGER NOT NULL, to_no INTEGER NOT NULL, time_s INTEGER NOT NULL,"
  " cseq INTEGER NOT NULL, random INTEGER NOT NULL, flags INTEGER NOT NULL, life_s INTEGER NOT NULL,"
  " body TEXT NOT NULL, UNIQUE(conv, sdkappid, seq));"
  "INSERT INTO c2c_msg_v24 SELECT id, sdkappid, conv, seq, from_no, to_no, time_s, cseq, random, flags, life_s, body"
  " FROM c2c_msg;"
  "DROP TABLE c2c_msg;"
  "ALTER TABLE c2c_msg_v24 RENAME TO c2c_msg;"
  "CREATE INDEX c2c_msg_random ON c2c_msg(conv, sdkappid, random);",
  /* 28: a login row's bill recheck is queued by its writer (sqlite_login.c), which knows when no
   * bill can exist for the row's month: the trigger ran a bills lookup for every new login row */
  "DROP TRIGGER bill_recheck_usage_login_INSERT;",
  /* 29: a new account's number is one above the app's highest (one seek at the end of the accounts'
   * (sdkappid, user_no) index) and above apps.next_user_no, which from now on only a deletion raises
   * (past the deleted number): numbers are still never reused, and an import no longer rewrites
   * the app row (sqlite.c account_import_txn) */
  "CREATE TRIGGER accounts_number_kept AFTER DELETE ON accounts BEGIN"
  " UPDATE apps SET next_user_no=max(next_user_no, OLD.user_no + 1) WHERE sdkappid=OLD.sdkappid; END;",
  /* 30: no MsgRandom index for live messages — the send dedupe reads an in-memory window per conversation,
   * MsgKey lookups walk the conversation back (sqlite_msg.c, docs/decisions/messaging-c2c-append.md §15);
   * imported messages (flags & 32), whose times follow no order, keep one */
  "DROP INDEX c2c_msg_random;"
  "CREATE INDEX c2c_msg_imported ON c2c_msg(conv, sdkappid, random) WHERE (flags&32)!=0;",
  /* 31: inbox events are appended to a log without a key (rowid order = commit order) and moved into
   * c2c_inbox by a merge in big batches (sqlite_msg_log.c, docs/decisions/messaging-c2c-append.md §17):
   * a small commit then dirties the log's last pages instead of one c2c_inbox page per event */
  "CREATE TABLE c2c_inbox_log(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, useq INTEGER NOT NULL,"
  " kind INTEGER NOT NULL, conv INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL);",
  /* 32: a new conversation's rows are appended to a small keyed log and merged into c2c_recent in chunks
   * (sqlite_msg_log.c, docs/decisions/messaging-c2c-append.md §18): a small commit then dirties a few
   * pages of the log instead of one c2c_recent page per row; the inbox log gets the inbox's key too, so
   * that a reader's lookup in either log is a seek, not a scan of the whole log */
  "CREATE TABLE c2c_inbox_log_v32(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, useq INTEGER NOT NULL,"
  " kind INTEGER NOT NULL, conv INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL,"
  " PRIMARY KEY(user_no, sdkappid, useq)) WITHOUT ROWID;"
  "INSERT INTO c2c_inbox_log_v32 SELECT sdkappid, user_no, useq, kind, conv, seq, at FROM c2c_inbox_log;"
  "DROP TABLE c2c_inbox_log;"
  "ALTER TABLE c2c_inbox_log_v32 RENAME TO c2c_inbox_log;"
  "CREATE TABLE c2c_recent_log(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, peer_no INTEGER NOT NULL,"
  " PRIMARY KEY(user_no, sdkappid, peer_no)) WITHOUT ROWID;",
  /* 33: each app's highest C2C purge horizon (sqlite_msg.c sqm_purge_msgs): the purge keeps every
   * conversation's newest row however old, so reads take this as a floor — a longer retention later
   * (an edition upgrade, an add-on bought again) does not bring a purged conversation's last message back */
  "CREATE TABLE c2c_purge_floor(sdkappid INTEGER PRIMARY KEY, before_s INTEGER NOT NULL);",
  /* 34: a conversation row made by a message starts read up to the message before it (sqlite_msg.c
   * recent_add): a conversation the trim forgot comes back without the peer's older messages unread;
   * the log's rows carry it into c2c_recent (RLOG_MERGE) */
  "ALTER TABLE c2c_recent_log ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;",
  /* 35: an order queues the app's billed months from the month its period starts (meter/corrections.c):
   * a renewal made in grace across a month end starts in a month whose bill may be issued, and the
   * correction of that month lists it (docs/decisions/billing-corrections.md). start_day counts days
   * from 1970-01-01; a month is yyyymm. */
  "CREATE TRIGGER bill_recheck_orders_INSERT AFTER INSERT ON orders BEGIN"
  " INSERT INTO bill_recheck(sdkappid,month) SELECT b.sdkappid, b.month FROM bills b"
  " WHERE b.sdkappid=NEW.sdkappid AND b.corrects=0"
  " AND b.month >= CAST(strftime('%Y%m', NEW.start_day*86400, 'unixepoch') AS INTEGER)"
  " AND NOT EXISTS(SELECT 1 FROM bill_recheck r WHERE r.sdkappid=b.sdkappid AND r.month=b.month); END;",
  /* 36: the orders recorded before migration 35 whose period starts in a month billed before them (a
   * renewal in grace across a month end): queued once, as the trigger queues new ones (a month priced
   * again without a change issues nothing) */
  "INSERT OR IGNORE INTO bill_recheck(sdkappid,month) SELECT DISTINCT b.sdkappid, b.month FROM orders o"
  " JOIN bills b ON b.sdkappid=o.sdkappid AND b.corrects=0"
  " AND b.month=CAST(strftime('%Y%m', o.start_day*86400, 'unixepoch') AS INTEGER) WHERE o.at > b.issued_at;",
  /* 37: a deleted account's number keeps its UserID (a trigger, in the deleting transaction, whichever
   * process deletes): the messages it exchanged still name it (sqlite_int.h SQ_GONE_ID; group messages too), and a peer
   * may still read that history by its UserID while no account has it (tenant.h
   * tenant_registry_account_find_gone). Numbers are never reused (migration 29), so a number here never
   * names a later account; nothing that counts, checks or lists accounts reads this table. Accounts
   * deleted before this migration keep no name. */
  "CREATE TABLE accounts_gone(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, user_id TEXT NOT NULL,"
  " PRIMARY KEY(sdkappid, user_no)) WITHOUT ROWID;"
  "CREATE TRIGGER accounts_gone_kept AFTER DELETE ON accounts BEGIN"
  " INSERT OR REPLACE INTO accounts_gone(sdkappid,user_no,user_id) VALUES(OLD.sdkappid, OLD.user_no, OLD.user_id); END;",
  /* 38: the order of a user's pins (sqlite_msg_int.h RECENT_PIN): one above the user's highest at each pin
   * (since migration 42: the user's next, never given twice), 0 unpinned. pinned_at keeps seconds (the wire's TopTimeStamp); pins within one second were ordered by last
   * message time instead of latest pin first. Rows pinned before it keep 0 (their seconds order them). */
  "ALTER TABLE c2c_recent ADD COLUMN pin_seq INTEGER NOT NULL DEFAULT 0;",
  /* 39: the UserID a group message was sent as when the sender is no account (from_no 0): the App admin's
   * identifier of a REST send_group_msg without From_Account (store_grp_msg_append); NULL for system
   * notices and for every message of an account (its name comes from accounts / accounts_gone) */
  "ALTER TABLE grp_msg ADD COLUMN from_id TEXT;",
  /* 40: a member's deleted group conversation (recentcontact/delete Type 2; docs/decisions/groups-conversations.md §13): the
   * group's last seq when it was deleted; the conversation stays out of the member's list until a message
   * that counts comes after it. A new membership's row starts at 0 (store_grp_member_put replaces the row). */
  "ALTER TABLE grp_member ADD COLUMN conv_hidden INTEGER NOT NULL DEFAULT 0;",
  /* 41: a member's pin of its group conversation (docs/decisions/groups-conversations.md §13): pinned_at in seconds (0:
   * not pinned) and its pin order, taken from the same per-user order as C2C pins (since migration 42:
   * sqlite_pin.c). The pin is the member's: leaving the group or its dissolution deletes the row, and a new
   * membership's row starts unpinned (store_grp_member_put replaces the row). */
  "ALTER TABLE grp_member ADD COLUMN pinned_at INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE grp_member ADD COLUMN pin_seq INTEGER NOT NULL DEFAULT 0;",
  /* 42: pins (docs/decisions/messaging-c2c-conversations.md §38). pin_order holds each user's last pin order, taken
   * over both kinds (sqlite_pin.c sq__pin_take) and never given again: the order was one above the highest
   * pinned row, so after an unpin of the latest pin the next pin took its order again and a REST
   * TopStartIndex cursor naming it listed a returned row twice. Seeded with each user's highest. The partial
   * indexes hold the pinned rows only: the 50-pin count reads those (at most 50 rows, not the user's whole
   * conversation list and every member row of the app). */
  "CREATE TABLE pin_order(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, last INTEGER NOT NULL,"
  " PRIMARY KEY(user_no, sdkappid)) WITHOUT ROWID;"
  "INSERT INTO pin_order(sdkappid,user_no,last) SELECT sdkappid, user_no, max(pin_seq) FROM"
  " (SELECT sdkappid, user_no, pin_seq FROM c2c_recent WHERE pin_seq>0"
  " UNION ALL SELECT sdkappid, user_no, pin_seq FROM grp_member WHERE pin_seq>0) GROUP BY sdkappid, user_no;"
  "CREATE INDEX c2c_recent_pinned ON c2c_recent(user_no, sdkappid) WHERE pinned_at>0;"
  "CREATE INDEX grp_member_pinned ON grp_member(sdkappid, user_no) WHERE pinned_at>0;",
  /* 43: the member rows a conversation list needs beyond the group numbers (store_grp_convs): pinned or
   * deleted group conversations, with their state, so a list reads the numbers from grp_member_user and
   * these from here, never every member row of the user (name cards and custom data included). */
  "CREATE INDEX grp_member_conv ON grp_member(sdkappid, user_no, group_no, role, conv_hidden, pinned_at, pin_seq)"
  " WHERE pinned_at>0 OR conv_hidden>0;",
  /* 44: a purge floor covers the messages stored when the pass that recorded it began (id <= upto_id,
   * sqlite_msg_int.h FLOOR_SHOWS; docs/decisions/messaging-c2c-retention.md §40): a message imported later is
   * judged by the retention in force. A floor recorded before this migration covers every message stored now. */
  "ALTER TABLE c2c_purge_floor ADD COLUMN upto_id INTEGER NOT NULL DEFAULT 0;"
  "UPDATE c2c_purge_floor SET upto_id=(SELECT coalesce(max(id),0) FROM c2c_msg);",
  /* 45: inbox events of a group change still to append (store_grp_due_put; docs/decisions/groups.md §5): a
   * large group's dissolution writes its members' group_dissolved here, in chunks of at most
   * group_event_chunk users (users: their numbers, 4 bytes little-endian each), and later writer jobs
   * append each chunk's events and delete its row in one transaction, oldest row first, across restarts */
  "CREATE TABLE grp_events_due(id INTEGER PRIMARY KEY, sdkappid INTEGER NOT NULL, at INTEGER NOT NULL,"
  " payload TEXT NOT NULL, users BLOB NOT NULL);",
  /* 46: a deleted account's groups lose their owner (sqlite_grp.c user_gone) through this index: without it the
   * update read every group row of the app, per deleted account (docs/decisions/store-query-plans.md). Not partial
   * (WHERE owner_no>0): SQLite 3.40 then searched it by the range owner_no>0, every owned group of the app. */
  "CREATE INDEX grp_owner ON grp(sdkappid, owner_no);",
  /* 47: reads that grew with every app's rows (docs/decisions/store-query-plans.md). usage_reg is keyed by time
   * within the app: the registrations of some days (store_usage_registrations, store_usage_registered) are one
   * range of the key, where the key (sdkappid, user_no) made every read take every registration of the app. No
   * second index: a new account still writes one B-tree row here, at the end of its app's range. user_no stays
   * unique per app without the key (numbers are never given twice, migration 29). bills_app: the trigger of
   * migration 35 finds the app's bills from an order's start month on by a seek on (sdkappid, month>=); through
   * bills_month_app (month, sdkappid) it read every app's bills from that month on, per order. Partial as
   * bills_month_app is (the trigger repeats corrects=0). */
  "CREATE TABLE usage_reg_v47(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, created_at INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, created_at, user_no)) WITHOUT ROWID;"
  "INSERT INTO usage_reg_v47 SELECT sdkappid, user_no, created_at FROM usage_reg;"
  "DROP TABLE usage_reg;"
  "ALTER TABLE usage_reg_v47 RENAME TO usage_reg;"
  "CREATE INDEX bills_app ON bills(sdkappid, month) WHERE corrects=0;",
  /* 48: imported messages (flags & 32) by time (docs/decisions/messaging-c2c-imports.md §45): a REST roaming
   * page reads the imports from its cursor down with a LIMIT, the conversation's newest import is one seek,
   * and importmsg's dedupe (MsgSeq, MsgRandom and MsgTimeStamp equal) reads the imports of its second; the
   * index stays partial (a live send only tests its WHERE). run_lo: on an imported row, the lowest seq of
   * the run of imports it ends (every seq from run_lo to its own was imported), so a walk down the seqs
   * passes a run of imports with one seek; NULL on live rows (since §51 a SyncOtherMachine 2 message in a run
   * of its sender's stores the run's start, and its own time as max_t; since §57 a NoLastMsg one in a run of
   * them too). Runs of the imports stored before are
   * found here (consecutive imported seqs). The UPDATE reads the rows in rowid order (ORDER BY id, 2026-12-06,
   * messaging-c2c-checks4.md §102): in the windows' conversation order each read went to another page of the
   * table, and a big store's pages left the cache between two reads of them (500,000 imports: 4.9–6.6 s,
   * 2.2–2.3 s in id order); the values written are the same. Its window still reads the imports through
   * c2c_msg_imported, a row by rowid each: reading the table NOT INDEXED instead did not pay (more CPU for
   * the live rows it passes; messaging-c2c-checks5.md §106). */
  "ALTER TABLE c2c_msg ADD COLUMN run_lo INTEGER;"
  "DROP INDEX c2c_msg_imported;"
  "CREATE INDEX c2c_msg_imported ON c2c_msg(conv, sdkappid, time_s, seq) WHERE (flags&32)!=0;"
  "UPDATE c2c_msg SET run_lo=r.lo FROM (SELECT id, min(seq) OVER (PARTITION BY sdkappid, conv, g) AS lo FROM"
  " (SELECT id, seq, sdkappid, conv, seq - row_number() OVER (PARTITION BY sdkappid, conv ORDER BY seq) AS g"
  " FROM c2c_msg WHERE (flags&32)!=0) ORDER BY id) r WHERE c2c_msg.id=r.id;",
  /* 49: registrations per app and UTC day (day: created_at divided by 86,400, rounded down), counted by the writer of
   * each usage_reg row and written before its transaction's COMMIT (sqlite.c account_import_txn, sqlite_defer.c;
   * docs/decisions/store-query-plans.md): app
   * info's running total (store_usage_registered) adds the days before its window and counts the registrations of
   * at most half a day, where a count(*) over usage_reg read one entry per registration the app ever had */
  "CREATE TABLE usage_reg_day(sdkappid INTEGER NOT NULL, day INTEGER NOT NULL, n INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, day)) WITHOUT ROWID;"
  "INSERT INTO usage_reg_day(sdkappid,day,n) SELECT sdkappid, (created_at - (created_at%86400 + 86400)%86400)/86400 d,"
  " count(*) FROM usage_reg GROUP BY sdkappid, d;",
  /* 50: the waiting applications a member made admin or owner again was told of before (src/im/group_apply.c,
   * docs/decisions/groups-events.md): on an application row (role 3) the group's last seq when it was written,
   * on a member row the seq of the notice of its last demotion to an ordinary member (0: never) */
  "ALTER TABLE grp_member ADD COLUMN apply_seq INTEGER NOT NULL DEFAULT 0;",
  /* 51: max_t (docs/decisions/messaging-c2c-imports.md §48): on an imported row, the newest time of the
   * conversation's messages up to it (its own and every lower seq's, as its append knew them), NULL on live
   * rows (a live row's own time is that: the append clamps it to the conversation's newest). Never
   * decreasing along seq, so a time read mark finds the first message newer than its time by a binary
   * search over seq instead of reading the imports newer than it. Filled here for the imports stored
   * before, from the conversations that have one, in rowid order (as 48; §102); through the (conv, sdkappid,
   * seq) key, a row by rowid each (NOT INDEXED did not pay, messaging-c2c-checks5.md §106). */
  "ALTER TABLE c2c_msg ADD COLUMN max_t INTEGER;"
  "UPDATE c2c_msg SET max_t=r.m FROM (SELECT id, flags, max(time_s) OVER (PARTITION BY sdkappid, conv ORDER BY seq)"
  " AS m FROM c2c_msg WHERE (sdkappid, conv) IN (SELECT sdkappid, conv FROM c2c_msg WHERE (flags&32)!=0) ORDER BY id) r"
  " WHERE c2c_msg.id=r.id AND (r.flags&32)!=0;",
  /* 52: application marks outside the member rows (src/im/group_apply.c, docs/decisions/groups-events.md "A
   * member that leaves keeps its mark"): per (app, group, user) the apply_seq of a user that left the group,
   * taken back by its next join; user_no 0 the group's floor, the least place of an application written from
   * then on. Deleted with the group; at most group_max_applications user rows per group. */
  "CREATE TABLE grp_apply_mark(sdkappid INTEGER NOT NULL, group_no INTEGER NOT NULL, user_no INTEGER NOT NULL,"
  " mark INTEGER NOT NULL, PRIMARY KEY(sdkappid, group_no, user_no)) WITHOUT ROWID;",
  /* 53: changes of stored group messages replayed by group_sync (sqlite_grp.c msg_change, docs/decisions/
   * groups-messages.md §17): per group the number of its last change (grp_chg, deleted with the group), on a
   * message row the number of its last change (0: never changed; a send writes nothing of it), found through
   * the partial index of the changed rows. The messages recalled or modified before are numbered here in seq
   * order, per group, from 1 (the deleted messages' placeholders excepted: no read returns them). The window
   * reads the table page after page (NOT INDEXED: through the (sdkappid, group_no, seq) index it read a row by
   * rowid per entry, another page each once groups interleave) and sorts the changed rows, and the UPDATE reads
   * them in rowid order (ORDER BY id, as 48; 2026-12-06, messaging-c2c-checks5.md §105: 1 M messages of 1,000
   * interleaved groups, 17-25 s, 8-14 s); the values written are the same. */
  "ALTER TABLE grp_msg ADD COLUMN chg INTEGER NOT NULL DEFAULT 0;"
  "CREATE INDEX grp_msg_chg ON grp_msg(sdkappid, group_no, chg) WHERE chg>0;"
  "CREATE TABLE grp_chg(sdkappid INTEGER NOT NULL, group_no INTEGER NOT NULL, chg INTEGER NOT NULL,"
  " PRIMARY KEY(sdkappid, group_no)) WITHOUT ROWID;"
  "UPDATE grp_msg SET chg=r.n FROM (SELECT id, row_number() OVER (PARTITION BY sdkappid, group_no ORDER BY seq) AS n"
  " FROM grp_msg NOT INDEXED WHERE (flags&9)!=0 AND (flags&256)=0 AND NOT ((flags&1)!=0 AND body='{\"MsgBody\":[]}')"
  " ORDER BY id) r"
  " WHERE grp_msg.id=r.id;"
  "INSERT INTO grp_chg(sdkappid,group_no,chg) SELECT sdkappid, group_no, max(chg) FROM grp_msg WHERE chg>0"
  " GROUP BY sdkappid, group_no;",
  /* 54: the send dedupe by the original content's hash (store_content_hash; docs/decisions/groups-messages.md
   * §18, messaging-c2c-checks3.md §78). grp_msg.chash: the hash of the content the message was sent with,
   * written by its append and never changed by a modification (a retry of the original send is still the
   * original); NULL on a deleted message's placeholder. The dedupe reads one sender's messages of one Random
   * and content through grp_msg_dedupe, which replaces grp_msg_random (only the dedupe read it). The rows
   * stored before get the hash of their body now (a message modified before keeps its new content's, as its
   * dedupe compared until now). c2c_msg.orig_hash: NULL until the message's first modification writes the hash
   * of its content before it (the dedupe window's load takes it instead of the body's); a send writes
   * nothing of it. */
  "ALTER TABLE grp_msg ADD COLUMN chash INTEGER;"
  "UPDATE grp_msg SET chash=imc_content_hash(body) WHERE (flags&256)=0;"
  "DROP INDEX grp_msg_random;"
  "CREATE INDEX grp_msg_dedupe ON grp_msg(sdkappid, group_no, random, chash, from_no);"
  "ALTER TABLE c2c_msg ADD COLUMN orig_hash INTEGER;",
  /* 55: the conversation rows the retention trim removed while the peer's row with the user stayed
   * (sqlite_msg_trim.c; messaging-c2c-checks3.md §87): (user_no, peer_no) = the trimmed row's user and
   * peer, keyed by the user so that its account deletion seeks them (SQ_ACC_PEERS_OF). The pairs trimmed
   * before this migration are not known: those peers keep their row when the account is deleted. */
  "CREATE TABLE c2c_trimmed(sdkappid INTEGER NOT NULL, user_no INTEGER NOT NULL, peer_no INTEGER NOT NULL,"
  " PRIMARY KEY(user_no, sdkappid, peer_no)) WITHOUT ROWID;",
};

const int sq__schema_version = (int)(sizeof sq__migrations / sizeof sq__migrations[0]);

/* ---- the content hash in SQL ------------------------------------------------- */
static void content_hash_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) { sqlite3_result_null(cx); return; }
  const char *b = (const char *)sqlite3_value_blob(argv[0]); /* the text's bytes, no conversion */
  sqlite3_result_int64(cx, (sqlite3_int64)store_content_hash(b ? b : "", (size_t)sqlite3_value_bytes(argv[0])));
}

int sq__content_fn(sqlite3 *db)
{
  return sqlite3_create_function(db, "imc_content_hash", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                 NULL, content_hash_fn, NULL, NULL) == SQLITE_OK ? 0 : IMC_E_IO;
}
