#!/bin/sh
# turn_split.sh TURNLOG TIMED [SLOW_MS] — where each REST request's time went.
#
#   sh bench/turn_split.sh DIR/turnlog DIR/timed.1 5
#
# TURNLOG is the server's turn log (`imcloud serve --turn-log FILE`,
# util/turnlog.h), TIMED a file of bench/rest_probe.c --timed (DIAG=DIR of
# bench/login_storm_rest.sh keeps both). Each probe request (due, latency,
# sent, local port) is matched to the server's record of the request on
# that port read between its send and its reply (one request per connection
# is outstanding at a time). Its latency splits into:
#   send    due -> the probe's write began (the probe late: it shares core 1)
#   wait    sent -> the server's read that completed it began (kernel queue,
#           the loop busy elsewhere, its poll order)
#   read    that read -> handed to the application (the read and the parse)
#   handle  handed -> reply queued (the REST handler)
#   out     queued -> its last byte written (the rest of the turn before the
#           check phase's HTTP writes)
#   back    written -> the probe had the whole reply (the probe's wake-up on
#           core 1)
# and turns_wait / turns_out count the loop turns that ended (check phases
# that began) between send and read / read and write. For each request
# slower than SLOW_MS (default 5) one "slow" line; then "phases_slow": the
# time per phase of the turns that overlap slow requests' [sent, written]
# (each turn once), against "phases_all" over every turn of the window, and
# "split_all" / "split_slow": each component's sum in ms.
set -e
TL=$1; TIMED=$2; SLOW_MS=${3:-5}
[ -r "$TL" ] && [ -r "$TIMED" ] || { echo "usage: turn_split.sh TURNLOG TIMED [SLOW_MS]" >&2; exit 2; }
awk -v slow_ms="$SLOW_MS" '
function kv(s,   a) { split(s, a, "="); return a[2] }
FNR == NR {
  if ($1 == "turn") {
    nt++; tend[nt] = kv($3) / 1000; tbusy[nt] = kv($4) / 1000; tcpu[nt] = kv($6) / 1000; tno[nt] = $2
    np = 0
    for (i = 7; i <= NF; i++) { split($i, a, "="); split(a[2], b, "/"); np++; pname[np] = a[1]; tph[nt, np] = b[1] / 1000; tent[nt, np] = b[2] }
    NP = np
  } else if ($1 == "req") {
    p = kv($2); k = ++rn[p]
    rread[p, k] = kv($3) / 1000; rhand[p, k] = kv($4) / 1000; rq[p, k] = kv($5) / 1000; rw[p, k] = kv($6) / 1000
    split(kv($7), tt, ","); rtr[p, k] = tt[1]; rtq[p, k] = tt[2]; rtw[p, k] = tt[3]
  }
  next
}
$1 == "window" { wfrom = $2; wto = $3; next }
{
  due = $1; lat = $2; sent = $3; port = $4; recv = due + lat
  m = 0
  for (k = 1; k <= rn[port]; k++) if (rread[port, k] >= sent - 50 && rread[port, k] <= recv) { m = k; break }
  n++
  if (!m) { unmatched++; next }
  s_send = sent - due; s_wait = rread[port, m] - sent; s_read = rhand[port, m] - rread[port, m]
  s_handle = rq[port, m] - rhand[port, m]; s_out = rw[port, m] - rq[port, m]; s_back = recv - rw[port, m]
  # the turn running when it was sent: the first that ends after it
  lo = 1; hi = nt
  while (lo < hi) { mid = int((lo + hi) / 2); if (tend[mid] > sent) hi = mid; else lo = mid + 1 }
  tw = rtr[port, m] - tno[lo]; to = rtw[port, m] - rtr[port, m]
  A["send"] += s_send; A["wait"] += s_wait; A["read"] += s_read; A["handle"] += s_handle; A["out"] += s_out; A["back"] += s_back
  if (lat > slow_ms * 1000) {
    ns++
    S["send"] += s_send; S["wait"] += s_wait; S["read"] += s_read; S["handle"] += s_handle; S["out"] += s_out; S["back"] += s_back
    maxb = 0
    for (i = lo; i <= nt && tend[i - 1] < rw[port, m]; i++) {
      if (tbusy[i] > maxb) maxb = tbusy[i]
      if (!(i in seen)) { seen[i] = 1; nslowt++; OFFS += tbusy[i] - tcpu[i]; for (p = 1; p <= NP; p++) { PS[p] += tph[i, p]; ES[p] += tent[i, p] } }
    }
    printf "slow due=%.0f lat_ms=%.2f send=%.2f wait=%.2f read=%.2f handle=%.2f out=%.2f back=%.2f turns_wait=%d turns_out=%d max_turn_busy_ms=%.2f\n",
      due, lat / 1000, s_send / 1000, s_wait / 1000, s_read / 1000, s_handle / 1000, s_out / 1000, s_back / 1000, tw, to, maxb / 1000
  }
  TW[tw > 3 ? 3 : tw]++
}
END {
  for (i = 1; i <= nt; i++) if (tend[i] >= wfrom && tend[i] <= wto + 20000) { nwt++; OFFA += tbusy[i] - tcpu[i]; for (p = 1; p <= NP; p++) { PA[p] += tph[i, p]; EA[p] += tent[i, p] } }
  printf "requests=%d unmatched=%d slow=%d turns_wait 0:%d 1:%d 2:%d 3+:%d\n", n, unmatched, ns, TW[0], TW[1], TW[2], TW[3]
  printf "split_all_ms"; for (c in A) printf " %s=%.1f", c, A[c] / 1000; printf "\n"
  printf "split_slow_ms"; for (c in S) printf " %s=%.1f", c, S[c] / 1000; printf "\n"
  printf "phases_all turns=%d off_cpu=%.1fms", nwt, OFFA / 1000; for (p = 1; p <= NP; p++) printf " %s=%.1fms/%d", pname[p], PA[p] / 1000, EA[p]; printf "\n"
  printf "phases_slow turns=%d off_cpu=%.1fms", nslowt, OFFS / 1000; for (p = 1; p <= NP; p++) printf " %s=%.1fms/%d", pname[p], PS[p] / 1000, ES[p]; printf "\n"
}' "$TL" "$TIMED"
