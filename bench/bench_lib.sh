# bench_lib.sh — sourced by msg_bench.sh, live_bench.sh and conn_limit.sh (needs BIN).
#
# new_app NAME: a fresh data directory $dir with one legacy-scheme app (no
#   account or member cap); sets dir, app, key. The directory is made under
#   $TMPDIR (default /tmp): TMPDIR=/mnt/x puts the database on another file
#   system.
# start_server ARGS…: the server on an ephemeral port pinned to core 0
#   (`taskset -c 0`), with the benchmarks' REST rate limit and writer queue
#   cap raised (ARGS may give another cap), plus ARGS; sets spid and port.
#   A server that exits before it listens ends the script with its log.
new_app() {
  dir=$(mktemp -d "${TMPDIR:-/tmp}/imcloud-$1-XXXXXX")
  cid=$($BIN customer create --name bench --json --data "$dir" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  out=$($BIN app create --customer "$cid" --name bench --region china --scheme legacy --json --data "$dir")
  app=$(echo "$out" | sed -n 's/.*"sdkappid":\([0-9]*\).*/\1/p')
  key=$(echo "$out" | sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p')
}
start_server() {
  rm -f "$dir/port"
  # the writer cap unless ARGS give one (serve refuses a setting given twice)
  case " $* " in *" --writer-max-jobs "*) wmj="" ;; *) wmj="--writer-max-jobs 262144" ;; esac
  taskset -c 0 $BIN serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn \
    --rest-rate-limit 1000000 $wmj "$@" 2>>"$dir/server.log" &
  spid=$!
  while [ ! -s "$dir/port" ]; do
    kill -0 "$spid" 2>/dev/null || { echo "server did not start:" >&2; cat "$dir/server.log" >&2; exit 1; }
    sleep 0.05
  done
  port=$(cat "$dir/port")
}
