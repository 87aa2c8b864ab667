/* log.h — leveled, structured key=value logs to stderr.
 *
 * One line per event: `ts=<RFC3339 ms> level=<lvl> mod=<module> <fields>`.
 * The caller writes the fields already as key=value pairs (use imc_log_q() to
 * quote a value that may contain spaces). The level is checked before any
 * formatting, so a disabled IMC_DEBUG costs one compare. Thread-safe: each
 * line is written with one write(2) call. The access log (one line per REST
 * call and per WebSocket session, level "access") is separate from the
 * level: off unless imc_log_access_open named a destination (stderr or a
 * file), whatever the level (docs/decisions/foundation-rest-and-sessions.md).
 */
#ifndef IMC_UTIL_LOG_H
#define IMC_UTIL_LOG_H

#include <stddef.h>

typedef enum { IMC_LOG_DEBUG, IMC_LOG_INFO, IMC_LOG_WARN, IMC_LOG_ERROR,
               IMC_LOG_ACCESS, IMC_LOG_OFF } imc_log_level_t;

extern imc_log_level_t imc_log_level;
/* Where access lines go: -1 nowhere (the default), 2 stderr, else a file. */
extern int imc_log_access_fd;

/* Parse "debug|info|warn|error|off" into *out; IMC_E_INVAL otherwise. */
int imc_log_level_parse(const char *s, imc_log_level_t *out);
/* The access log's destination: "off", "stderr", or a file path (opened
 * for appending, created 0640 if missing; a file already open is closed).
 * Returns 0, IMC_E_INVAL (empty spec) or IMC_E_IO (the file cannot be
 * opened: errno says why; the destination is then unchanged). Call before
 * any thread logs. */
int imc_log_access_open(const char *spec);
/* Close an access-log file (the destination becomes "off"). */
void imc_log_access_close(void);
/* Write one line. Use the macros. */
void imc_log_write(imc_log_level_t lvl, const char *mod, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
/* Quote s for a log value into buf (cap bytes): "a b" → "\"a b\"", control
 * characters escaped, truncated with "..." if needed. Returns buf. */
const char *imc_log_q(char *buf, size_t cap, const char *s);

#define IMC_LOG(lvl, mod, ...) \
  do { if ((lvl) >= imc_log_level) imc_log_write((lvl), (mod), __VA_ARGS__); } while (0)
#define IMC_DEBUG(mod, ...) IMC_LOG(IMC_LOG_DEBUG, mod, __VA_ARGS__)
#define IMC_INFO(mod, ...)  IMC_LOG(IMC_LOG_INFO, mod, __VA_ARGS__)
#define IMC_WARN(mod, ...)  IMC_LOG(IMC_LOG_WARN, mod, __VA_ARGS__)
#define IMC_ERROR(mod, ...) IMC_LOG(IMC_LOG_ERROR, mod, __VA_ARGS__)
#define IMC_ACCESS(mod, ...) \
  do { if (imc_log_access_fd >= 0) imc_log_write(IMC_LOG_ACCESS, (mod), __VA_ARGS__); } while (0)

#endif
