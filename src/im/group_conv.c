/* group_conv.c — a user's group conversations for the conversation lists
 * (recentcontact/get_list, docs/decisions/groups.md §13).
 *
 * A group conversation is a non-live group the user is a member of; its
 * last message is the group's newest message that counts
 * (STORE_GMSG_COUNTS_RECENT: not a notice, not NoLastMsg, not imported
 * without RecentContactFlag), which the group keeps in memory (conv_seq,
 * conv_s: read at start, moved by each counted message and by
 * delete_group_msg_by_sender). The user's groups come from its member rows
 * (the reader pool, through the (sdkappid, user_no) index); each is checked
 * again in memory on the loop thread, so a group dissolved or left while the
 * read ran is not listed. Live rooms (AVChatRoom) are no conversations: no
 * stored members, no stored messages.
 */
#include "im/group_int.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

typedef struct conv_read {
  im_groups_t *G;
  uint32_t sdkappid, user_no;
  uint32_t *nos;               /* filled on the reader thread */
  size_t n, cap;
  int oom;
  im_gconvs_cb cb;
  void *ud;
} conv_read_t;

static void conv_row(void *ud, uint32_t sdkappid, uint32_t group_no, const store_grp_member_t *m)
{
  conv_read_t *r = ud;
  (void)sdkappid;
  (void)m;
  if (r->oom) return;
  if (r->n == r->cap) {
    size_t nc = r->cap ? r->cap * 2 : 16;
    uint32_t *a = realloc(r->nos, nc * sizeof *a);
    if (!a) { r->oom = 1; return; }
    r->nos = a;
    r->cap = nc;
  }
  r->nos[r->n++] = group_no;
}

static void conv_done(void *ud, int rc)
{
  conv_read_t *r = ud;
  im_gconv_t *out = NULL;
  size_t k = 0;
  if (!rc && r->oom) rc = IMC_E_NOMEM;
  if (!rc && r->n && !(out = malloc(r->n * sizeof *out))) rc = IMC_E_NOMEM;
  int64_t since = rc ? 0 : im_group_since(r->G, r->sdkappid);
  for (size_t i = 0; !rc && i < r->n; i++) {
    const im_group_t *g = grp__by_no(r->G, r->sdkappid, r->nos[i]);
    if (!g || g->creating || g->dissolving || im_gtype_info(g->type)->live) continue;
    if (im_group_role(g, r->user_no) == IM_GR_NONE) continue;
    /* a last message past retention is no message: the conversation is empty */
    int listed = g->conv_seq && g->conv_s >= since;
    out[k++] = (im_gconv_t){ g->group_no, g->group_id, listed ? g->conv_seq : 0, listed ? g->conv_s : 0 };
  }
  r->cb(r->ud, rc, out, k);
  free(out);
  free(r->nos);
  free(r);
}

void im_group_conversations(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, im_gconvs_cb cb, void *ud)
{
  conv_read_t *r = calloc(1, sizeof *r);
  if (!r) { cb(ud, IMC_E_NOMEM, NULL, 0); return; }
  r->G = G;
  r->sdkappid = sdkappid;
  r->user_no = user_no;
  r->cb = cb;
  r->ud = ud;
  im_group_joined_read(G, sdkappid, user_no, conv_row, conv_done, r);
}
