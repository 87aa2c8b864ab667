#!/bin/sh
# Unknown-app REST flood while another process commits every 10 ms: what an
# unauthenticated caller costs the event loop (docs/decisions/store-pipeline.md).
#
#   sh bench/unknown_app_flood.sh [BIN] [APPS] [REQUESTS]
#
# Makes APPS apps with the CLI, starts BIN serve, runs a sqlite3 loop that
# commits a meta row every 10 ms, and sends REQUESTS keep-alive account_import
# calls for SDKAppIDs that do not exist (each must answer 70020) from one
# Python client. Prints requests/s and client-side p50/p99. Needs sqlite3 and
# python3.
BIN=${1:-build/imcloud}; NAPPS=${2:-2000}; NREQ=${3:-4000}
D=$(mktemp -d /tmp/imc-flood-XXXXXX)
"$BIN" customer create --name bench --data "$D" >/dev/null || exit 1
i=0; while [ $i -lt "$NAPPS" ]; do i=$((i + 1)); "$BIN" app create --customer 1 --name "a$i" --region china --data "$D" >/dev/null || exit 1; done
"$BIN" serve --data "$D" --listen 127.0.0.1:0 --port-file "$D/port" --log-level error 2>"$D/log" &
SP=$!
while [ ! -s "$D/port" ]; do sleep 0.05; done
PORT=$(cat "$D/port")
( i=0; while [ -e "$D/port" ]; do
    sqlite3 -cmd ".timeout 5000" "$D/imcloud.db" "INSERT OR REPLACE INTO meta VALUES('bench','$i');" 2>/dev/null
    i=$((i + 1)); sleep 0.01
  done ) &
WP=$!
python3 - "$PORT" "$NREQ" <<'PY'
import http.client, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
lat = []
t0 = time.perf_counter()
for i in range(n):
    t = time.perf_counter()
    c.request("POST", "/v4/im_open_login_svc/account_import?sdkappid=%d&identifier=administrator"
              "&usersig=x&random=1&contenttype=json" % (1300000000 + i), body='{"UserID":"a"}')
    b = c.getresponse().read()
    assert b'70020' in b, b
    lat.append(time.perf_counter() - t)
el = time.perf_counter() - t0
lat.sort()
print("requests=%d  req/s=%.0f  p50=%.2f ms  p99=%.2f ms" % (n, n / el, lat[n // 2] * 1e3, lat[int(n * 0.99)] * 1e3))
PY
rm -f "$D/port"; kill $WP 2>/dev/null; kill $SP; wait $SP 2>/dev/null
rm -rf "$D"
