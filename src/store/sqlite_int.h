/* sqlite_int.h — what the files of the SQLite backend share: the connection
 * handle of a store_t and the message part (sqlite_msg.c) hooked into the
 * connection's life cycle. */
#ifndef IMC_STORE_SQLITE_INT_H
#define IMC_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store_msg.h"

struct sqmsg; /* per-connection message state: statements, next-seq caches */

/* The connection of a SQLite store_t. */
sqlite3 *sq__db(store_t *s);
/* The slot holding the connection's message state (NULL until first use). */
struct sqmsg **sq__msg_slot(store_t *s);
/* Free the message state (connection close). */
void sq__msg_free(struct sqmsg *m);
/* A ROLLBACK (of a job's savepoint or of a batch) ran: forget the cached
 * next sequences, which may describe rows that no longer exist. */
void sq__msg_rollback(struct sqmsg *m);
/* Map a SQLite result code to IMC_E_* (0 for OK/DONE/ROW). */
int sq__map_rc(int rc);

extern const store_msg_vtab_t sq__msg_vtab;

#endif
