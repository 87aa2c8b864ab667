#!/bin/sh
# `make run`: start imcloud on 127.0.0.1:8080 with an embedded SQLite database
# under ./var. The first time, create a demo customer and app and an operator
# token (shown once; a start that failed before its banner shows a new one
# next time). Every time: start the server, and only once it listens print the
# SDKAppID, the secret key, ready-to-paste `export` lines for the README tour
# and a curl line (so a taken port shows the server's "address already in use"
# message and no banner). IMCLOUD_LISTEN / IMCLOUD_DATA / IMCLOUD_BIN override.
set -e
cd "$(dirname "$0")/.."
BIN=${IMCLOUD_BIN:-build/imcloud}
DATA=${IMCLOUD_DATA:-./var}
LISTEN=${IMCLOUD_LISTEN:-127.0.0.1:8080}
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }
if [ ! -f "$DATA/demo-app.json" ]; then
  cid=$("$BIN" customer create --name "demo customer" --json --data "$DATA" | field id)
  "$BIN" app create --customer "$cid" --name demo --region china --json --data "$DATA" > "$DATA/demo-app.json.tmp"
  : > "$DATA/run.token-unseen"
  mv "$DATA/demo-app.json.tmp" "$DATA/demo-app.json"
fi
# The operator token is shown once, in the banner. Until a banner has shown
# one (a first start that failed, e.g. on a taken port, showed none) every
# start makes a new one; the unseen ones are replaced.
if [ -f "$DATA/run.token-unseen" ]; then
  OPTOKEN=$("$BIN" operator token --json --data "$DATA" | field token)
fi
SDKAPPID=$(field sdkappid < "$DATA/demo-app.json")
KEY=$(field key < "$DATA/demo-app.json")
ADMIN_SIG=$("$BIN" usersig gen --sdkappid "$SDKAPPID" --key "$KEY" --identifier administrator)
USER_SIG=$("$BIN" usersig gen --sdkappid "$SDKAPPID" --key "$KEY" --identifier user1)
USER2_SIG=$("$BIN" usersig gen --sdkappid "$SDKAPPID" --key "$KEY" --identifier user2)

PORTFILE="$DATA/run.port"
rm -f "$PORTFILE"
"$BIN" serve --listen "$LISTEN" --data "$DATA" --port-file "$PORTFILE" &
PID=$!
# Ctrl-C reaches the server directly (same process group) and stops it
# gracefully; a TERM sent to this script is passed on.
trap '' INT
trap 'trapped=1; kill -TERM $PID 2>/dev/null || true' TERM
status=0
while [ ! -s "$PORTFILE" ]; do
  if ! kill -0 "$PID" 2>/dev/null; then wait "$PID" || status=$?; exit "${status:-1}"; fi
  sleep 0.1
done
HOSTPORT="${LISTEN%:*}:$(cat "$PORTFILE")"
cat <<EOT

  imcloud is running on http://$HOSTPORT   (data: $DATA; $("$BIN" --version))

  SDKAppID        $SDKAPPID
  secret key      $KEY
  admin UserSig   identifier administrator, valid 180 days
  user UserSigs   identifiers user1 and user2, valid 180 days
EOT
if [ -n "${OPTOKEN:-}" ]; then
cat <<EOT
  operator token  $OPTOKEN
                  (shown once, stored hashed; a new one: $BIN operator token --data $DATA)
EOT
else
cat <<EOT
  operator token  shown on the first start only (stored hashed);
                  a new one (the old one stops working): $BIN operator token --data $DATA
EOT
fi
cat <<EOT

  For the README tour, paste into each terminal you use:

export SDKAPPID=$SDKAPPID ADMIN_SIG='$ADMIN_SIG' USER_SIG='$USER_SIG' SIG_user2='$USER2_SIG' IMCLOUD_WS='ws://$HOSTPORT/ws'

  then try:
  curl -s -X POST "http://$HOSTPORT/v4/im_open_login_svc/account_import?sdkappid=\$SDKAPPID&identifier=administrator&usersig=\$ADMIN_SIG&random=1&contenttype=json" -d '{"UserID":"user1","Nick":"User One"}'

  WebSocket: ws://$HOSTPORT/ws   (docs/protocol.md; log in with \$USER_SIG)   Stop: Ctrl-C

EOT
rm -f "$DATA/run.token-unseen"
# the server's exit status (a trapped TERM interrupts `wait`: wait again)
while :; do
  trapped=0
  if wait "$PID"; then status=0; else status=$?; fi
  [ "$trapped" = 1 ] || break
done
exit "$status"
