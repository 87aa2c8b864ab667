/* fdtable.c — the process's file-descriptor table sized once, before the
 * connections come (net.h, net_cfg_t fd_table).
 *
 * Linux grows a process's descriptor table by doubling when a new
 * descriptor does not fit (64, 128, ... slots), and never shrinks it. In a
 * process of several threads each growth waits for an RCU grace period
 * (fs/file.c expand_fdtable: synchronize_rcu) inside the system call that
 * needed the slot: for the server, the event loop's accept4(). On the
 * shared 2-core VM that kept the loop asleep about 2-18 ms per growth while
 * a login storm loaded the other core, 4-6 growths in a server's first
 * storm, at times that double as connections accumulate (one storm: 52,
 * 96, 202, 415, 838 ms in), none in later storms (bench/login_storm_rest.sh
 * DIAG: the loop in synchronize_rcu_normal within syscall 288, accept4;
 * docs/decisions/fd-table.md). Growing the table at start costs the wait once, with no
 * connection waiting; a descriptor slot costs the kernel about 8 bytes. */
#include "net/net_int.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

unsigned net__fd_table_reserve(unsigned want)
{
  struct rlimit rl;
  if (!want || getrlimit(RLIMIT_NOFILE, &rl)) return 0;
  if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want > rl.rlim_cur) want = (unsigned)rl.rlim_cur;
  if (want < 2) return 0;
  /* a descriptor at want - 1 makes the kernel size the table for it; the
   * table stays that size once the descriptor is closed */
  int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, (int)(want - 1));
  if (fd < 0) { /* stderr closed: any descriptor will do */
    int any = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (any < 0) return 0;
    fd = fcntl(any, F_DUPFD_CLOEXEC, (int)(want - 1));
    close(any);
    if (fd < 0) return 0;
  }
  close(fd);
  return want;
}
