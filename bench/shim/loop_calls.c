/* loop_calls.c — an LD_PRELOAD shim for benchmarks: how many of the socket
 * calls a login makes the server's main thread (the event loop) issues, and
 * the wall time spent in them (CLOCK_MONOTONIC around each call, ~2 vDSO
 * clock reads of overhead per call). A socket's first send(2) after its
 * accept4 is counted apart ("send_first": for a login, the 101). Wall time,
 * not CPU time: it includes the softirq work a call does inline (on loopback
 * a send runs the receiver's TCP receive path) and any time the thread was
 * preempted inside the call. Other threads' calls go straight through.
 *
 *   SHIM_OUT=FILE LD_PRELOAD=build/bench/loop_calls.so imcloud serve …
 *   kill -USR2 PID   # appends one snapshot: a line "name calls ns" per call
 *                    # kind, then "end"
 *
 * Used by bench/login_cost.sh (TOOLS=calls), which takes two snapshots
 * around a storm. The handler formats with snprintf (no allocation for
 * integers in glibc) and writes with write(2); a snapshot taken while a call
 * is being counted may be one call behind. Not part of the server. */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { LC_ACCEPT4, LC_EPOLL_CTL, LC_RECV, LC_RECVFROM, LC_SEND_FIRST, LC_SEND, LC_SENDTO, LC_SENDMSG, LC_N };
static const char *const lc_name[LC_N] = {
  [LC_ACCEPT4] = "accept4", [LC_EPOLL_CTL] = "epoll_ctl", [LC_RECV] = "recv", [LC_RECVFROM] = "recvfrom",
  [LC_SEND_FIRST] = "send_first", [LC_SEND] = "send", [LC_SENDTO] = "sendto", [LC_SENDMSG] = "sendmsg",
};
static volatile unsigned long long lc_calls[LC_N], lc_ns[LC_N];
static int lc_fd = -1;

static unsigned long long lc_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

/* Is this the process's main thread (the server's event loop)? */
static int lc_main(void)
{
  static __thread int is_main = -1;
  if (is_main < 0) is_main = syscall(SYS_gettid) == getpid();
  return is_main;
}

#define LC_WRAP(idx, ret, name, params, args)                             \
  ret name params                                                         \
  {                                                                       \
    static ret(*real) params;                                             \
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, #name);                 \
    if (!lc_main()) return real args;                                     \
    unsigned long long t = lc_now();                                      \
    ret r = real args;                                                    \
    lc_ns[idx] += lc_now() - t;                                           \
    lc_calls[idx]++;                                                      \
    return r;                                                             \
  }

LC_WRAP(LC_EPOLL_CTL, int, epoll_ctl, (int ep, int op, int fd, struct epoll_event *ev), (ep, op, fd, ev))
LC_WRAP(LC_RECV, ssize_t, recv, (int fd, void *b, size_t n, int fl), (fd, b, n, fl))
LC_WRAP(LC_RECVFROM, ssize_t, recvfrom, (int fd, void *b, size_t n, int fl, struct sockaddr *a, socklen_t *l),
        (fd, b, n, fl, a, l))
/* send: a socket's first send after its accept4 (for a login, the 101) is
 * counted apart from the later ones */
#define LC_FDS 131072
static unsigned char lc_sent[LC_FDS];

int accept4(int fd, struct sockaddr *a, socklen_t *l, int fl)
{
  static int (*real)(int, struct sockaddr *, socklen_t *, int);
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "accept4");
  if (!lc_main()) return real(fd, a, l, fl);
  unsigned long long t = lc_now();
  int r = real(fd, a, l, fl);
  if (r >= 0 && r < LC_FDS) lc_sent[r] = 0;
  lc_ns[LC_ACCEPT4] += lc_now() - t;
  lc_calls[LC_ACCEPT4]++;
  return r;
}

ssize_t send(int fd, const void *b, size_t n, int fl)
{
  static ssize_t (*real)(int, const void *, size_t, int);
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "send");
  if (!lc_main()) return real(fd, b, n, fl);
  unsigned long long t = lc_now();
  ssize_t r = real(fd, b, n, fl);
  int idx = fd >= 0 && fd < LC_FDS && !lc_sent[fd] ? LC_SEND_FIRST : LC_SEND;
  if (fd >= 0 && fd < LC_FDS) lc_sent[fd] = 1;
  lc_ns[idx] += lc_now() - t;
  lc_calls[idx]++;
  return r;
}
LC_WRAP(LC_SENDTO, ssize_t, sendto, (int fd, const void *b, size_t n, int fl, const struct sockaddr *a, socklen_t l),
        (fd, b, n, fl, a, l))
LC_WRAP(LC_SENDMSG, ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), (fd, m, fl))

static void lc_snapshot(int sig)
{
  (void)sig;
  char line[96];
  for (int i = 0; i < LC_N; i++) {
    int n = snprintf(line, sizeof line, "%s %llu %llu\n", lc_name[i], lc_calls[i], lc_ns[i]);
    if (n > 0 && write(lc_fd, line, (size_t)n) < 0) return;
  }
  if (write(lc_fd, "end\n", 4) < 0) return;
}

__attribute__((constructor)) static void lc_init(void)
{
  const char *out = getenv("SHIM_OUT");
  if (!out || (lc_fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) return;
  struct sigaction sa = { .sa_handler = lc_snapshot, .sa_flags = SA_RESTART };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);
}
