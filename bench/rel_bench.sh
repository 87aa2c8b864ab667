#!/bin/sh
# rel_bench.sh — relationship reads and memory (docs/BENCHMARKS.md):
#   friend_check of 1,000 peers and a full friend_get of a 3,000-friend list
#   (30 pages of 100): server CPU time per call (utime+stime of the server
#   process over the calls / calls) and client wall time per call over one
#   keep-alive connection; memory per friendship edge: the server's VmRSS
#   before and after importing EDGES one-way friend rows (friend_import).
# One fresh data directory, a legacy-scheme app (no friend cap), the server
# pinned to core 0, the client (python3 http.client) to core 1.
set -e
cd "$(dirname "$0")/.."
make -s all >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
CALLS=${CALLS:-200}
EDGE_USERS=${EDGE_USERS:-100}   # users with 1,000 imported friends each
dir=$(mktemp -d /tmp/imcloud-bench-XXXXXX)
cid=$($BIN customer create --name bench --json --data "$dir" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
out=$($BIN app create --customer "$cid" --name bench --region china --scheme legacy --json --data "$dir")
app=$(echo "$out" | sed -n 's/.*"sdkappid":\([0-9]*\).*/\1/p')
key=$(echo "$out" | sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p')
sig=$($BIN usersig gen --sdkappid "$app" --key "$key" --identifier administrator)
taskset -c 0 $BIN serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn 2>"$dir/server.log" &
spid=$!
while [ ! -s "$dir/port" ]; do sleep 0.05; done
port=$(cat "$dir/port")
taskset -c 1 python3 - "$port" "$app" "$sig" "$spid" "$CALLS" "$EDGE_USERS" <<'PY'
import http.client, json, os, sys, time
port, app, sig, spid, calls, edge_users = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
conn = http.client.HTTPConnection("127.0.0.1", port)
n = [0]
def v4(cmd, body):
    n[0] += 1
    conn.request("POST", f"/v4/{cmd}?sdkappid={app}&identifier=administrator&usersig={sig}&random={n[0]}&contenttype=json", json.dumps(body).encode())  # one write: no Nagle/delayed-ACK stall
    r = json.loads(conn.getresponse().read())
    assert r["ErrorCode"] == 0, r
    return r
hz = os.sysconf("SC_CLK_TCK")
def cpu_ms():
    f = open(f"/proc/{spid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000 / hz
def rss_kb():
    return int([l for l in open(f"/proc/{spid}/status") if l.startswith("VmRSS:")][0].split()[1])
users = [f"u{i:05d}" for i in range(max(3001, 1000 + edge_users))]
for i in range(0, len(users), 100):
    v4("im_open_login_svc/multiaccount_import", {"Accounts": users[i:i + 100]})
me, peers = users[0], users[1:3001]
for i in range(0, 3000, 1000):
    v4("sns/friend_import", {"From_Account": me, "AddFriendItem": [{"To_Account": p, "AddSource": "AddSource_Type_Bench"} for p in peers[i:i + 1000]]})
# both ways for half of the first 1,000, so friend_check sees all four relations
v4("sns/friend_import", {"From_Account": peers[0], "AddFriendItem": [{"To_Account": me, "AddSource": "AddSource_Type_Bench"}]})
def measure(name, fn, k):
    c0, t0 = cpu_ms(), time.perf_counter()
    for _ in range(k): fn()
    c1, t1 = cpu_ms(), time.perf_counter()
    print(f"{name}: calls={k} server_cpu_ms_per_call={(c1 - c0) / k:.3f} wall_ms_per_call={(t1 - t0) * 1000 / k:.3f}")
check = {"From_Account": me, "To_Account": peers[:1000], "CheckType": "CheckResult_Type_Both"}
r = v4("sns/friend_check", check)
assert len(r["InfoItem"]) == 1000 and r["InfoItem"][0]["Relation"] == "CheckResult_Type_BothWay"
measure("friend_check 1000 peers", lambda: v4("sns/friend_check", check), calls)
def full_list():
    start, got = 0, 0
    while True:
        r = v4("sns/friend_get", {"From_Account": me, "StartIndex": start})
        got += len(r["UserDataItem"])
        if r["CompleteFlag"]: break
        start = r["NextStartIndex"]
    assert got == 3000, got
measure("friend_get 3000 friends (30 pages of 100)", full_list, max(1, calls // 10))
measure("friend_get one page of 100", lambda: v4("sns/friend_get", {"From_Account": me, "StartIndex": 1500}), calls)
rss0 = rss_kb()
for u in users[3001 - 3001 + 1000:1000 + edge_users]:
    v4("sns/friend_import", {"From_Account": u, "AddFriendItem": [{"To_Account": p, "AddSource": "AddSource_Type_Bench"} for p in users[1:1001]]})
time.sleep(0.5)
rss1 = rss_kb()
edges = edge_users * 1000
print(f"memory: edges={edges} rss_before_kb={rss0} rss_after_kb={rss1} bytes_per_edge={(rss1 - rss0) * 1024 / edges:.0f} (one-way friend rows, default friend_import fields)")
PY
kill -TERM $spid; wait $spid || true
rm -rf "$dir"
