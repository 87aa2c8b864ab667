/* fd_reserve.c — the descriptors the server needs besides its WebSockets, and
 * the WebSocket cap (max_websockets) they leave of the open-files limit
 * (docs/decisions/connection-limits.md, "Review and Left closed (wave 43b)").
 *
 * A max_websockets that leaves fewer descriptors than the reserve is refused
 * at start, before anything is created: past it the store's files, REST
 * clients and the spare would find no descriptor once the WebSockets hold the
 * rest, and SQLite opening a file then fails as an I/O error (a job's error,
 * writes refused) instead of a 503. The default (0) takes at least the
 * reserve too.
 *
 * The reserve is counted, not guessed: what the process holds when it starts
 * (stdin, stdout, stderr and whatever its parent left open: read from
 * /proc/self/fd) plus what the server opens, as a running server's
 * /proc/PID/fd shows it (the counts below). Thread: the caller's, once, in
 * api_serve before any thread starts. */
#include "api/api_int.h"
#include "net/net.h"
#include "util/err.h"
#include "util/log.h"

#include <dirent.h>
#include <stdint.h>

/* The process's own: the listening socket and the spare (net), two epoll
 * instances, libuv's two signal pipes (4) and its async eventfd, the
 * writer's wake eventfd, the data directory's lock and the access log. */
#define API_FD_PROCESS 12
/* The store's, whatever reader_threads is: the writer's connection (the
 * database twice, its VFS's second descriptor, and its WAL), the WAL's sync
 * descriptor, the checkpoint's pinning connection (database, WAL), its
 * copying connection (database twice, WAL) and its database descriptor, and
 * the shared-memory file every connection of the process shares. */
#define API_FD_STORE 11
/* Each reader thread's connection: the database, its WAL, and a temporary
 * file when a sort spills (readers keep SQLite's default temp_store). */
#define API_FD_PER_READER 3
/* Files opened for a moment: the data directory (a checkpoint's directory
 * sync), a price book (a bill run), the port and turn-log files. */
#define API_FD_TRANSIENT 2
/* REST and operator clients served at once with every WebSocket taken (each
 * lasts a request; past these, a client is answered 503 NO_FDS). */
#define API_FD_REST 32

/* The descriptors open now (stdio and inherited ones), the directory's own left out; 3 when they cannot be read. */
static unsigned open_now(void)
{
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 3;
  unsigned n = 0;
  struct dirent *e;
  while ((e = readdir(d))) n += e->d_name[0] != '.';
  closedir(d);
  return n ? n - 1 : 3;
}

size_t api_fd_reserve(const api_cfg_t *cfg)
{
  return (size_t)open_now() + API_FD_PROCESS + API_FD_STORE + (size_t)cfg->reader_threads * API_FD_PER_READER +
         API_FD_TRANSIENT + API_FD_REST;
}

int api_ws_cap_resolve(const api_cfg_t *cfg, unsigned fd_limit, size_t *cap, size_t *fd_reserve)
{
  *cap = (size_t)cfg->max_websockets;
  *fd_reserve = 0;
  if (!fd_limit) return 0; /* the limit unknown (getrlimit failed): as given, 0 = no cap */
  size_t reserve = *fd_reserve = api_fd_reserve(cfg), largest = fd_limit > reserve ? fd_limit - reserve : 0;
  if (!largest) {
    IMC_ERROR("server", "msg=\"the open-files limit %u is not above the %zu descriptors the server needs besides "
              "WebSockets: raise the hard open-files limit\" open_files=%u reserve=%zu", fd_limit, reserve, fd_limit,
              reserve);
    return IMC_E_CONFIG;
  }
  if (cfg->max_websockets && (size_t)cfg->max_websockets > largest) {
    IMC_ERROR("server", "msg=\"max_websockets %lld leaves fewer descriptors of the open-files limit %u than the %zu the "
              "server needs besides WebSockets (its store's files, its event loops, the listening socket, the spare and "
              "%d REST clients): set max_websockets to at most %zu (0: the default), or raise the hard open-files limit\" "
              "max_websockets=%lld open_files=%u reserve=%zu largest=%zu", (long long)cfg->max_websockets, fd_limit,
              reserve, API_FD_REST, largest, (long long)cfg->max_websockets, fd_limit, reserve, largest);
    return IMC_E_CONFIG;
  }
  size_t dflt = net_ws_cap_default(fd_limit); /* a quarter of the limit, at most NET_FD_RESERVE, kept... */
  if (dflt > largest) dflt = largest;         /* ...and at least the reserve */
  if (!cfg->max_websockets) { *cap = dflt; return 0; }
  if (*cap > dflt)
    IMC_WARN("server", "msg=\"max_websockets leaves fewer descriptors than the default reserve for the store's files and "
             "HTTP clients: past the open-files limit new connections are refused 503\" max_websockets=%zu open_files=%u "
             "default=%zu reserve=%zu", *cap, fd_limit, dflt, reserve);
  return 0;
}
