#!/bin/sh
# `make run`: start imcloud on 127.0.0.1:8080 with an embedded SQLite database
# under ./var. The first time, create a demo customer and app and an operator
# token; every time, print the SDKAppID, the secret key, ready UserSigs and a
# curl line that works when pasted. IMCLOUD_LISTEN / IMCLOUD_DATA override.
set -e
cd "$(dirname "$0")/.."
BIN=${IMCLOUD_BIN:-build/imcloud}
DATA=${IMCLOUD_DATA:-./var}
LISTEN=${IMCLOUD_LISTEN:-127.0.0.1:8080}
mkdir -p "$DATA"
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }
if [ ! -f "$DATA/demo-app.json" ]; then
  cid=$("$BIN" customer create --name "demo customer" --json --data "$DATA" | field id)
  "$BIN" app create --customer "$cid" --name demo --region china --json --data "$DATA" > "$DATA/demo-app.json.tmp"
  mv "$DATA/demo-app.json.tmp" "$DATA/demo-app.json"
  OPTOKEN=$("$BIN" operator token --json --data "$DATA" | field token)
fi
SDKAPPID=$(field sdkappid < "$DATA/demo-app.json")
KEY=$(field key < "$DATA/demo-app.json")
ADMIN_SIG=$("$BIN" usersig gen --sdkappid "$SDKAPPID" --key "$KEY" --identifier administrator)
USER_SIG=$("$BIN" usersig gen --sdkappid "$SDKAPPID" --key "$KEY" --identifier user1)
USER2_SIG=$("$BIN" usersig gen --sdkappid "$SDKAPPID" --key "$KEY" --identifier user2)
HOSTPORT=$LISTEN
cat <<EOT

  imcloud is starting on http://$HOSTPORT   (data: $DATA)

  SDKAppID        $SDKAPPID
  secret key      $KEY
  admin UserSig   (identifier administrator, valid 180 days)
                  $ADMIN_SIG
  user UserSigs   (identifiers user1 and user2, valid 180 days)
                  $USER_SIG
                  $USER2_SIG
EOT
if [ -n "${OPTOKEN:-}" ]; then
cat <<EOT
  operator token  $OPTOKEN
                  (shown once; stored hashed. New one: build/imcloud operator token --data $DATA)
EOT
fi
cat <<EOT

  Paste into the terminals of the README tour:

export SDKAPPID=$SDKAPPID ADMIN_SIG='$ADMIN_SIG' USER_SIG='$USER_SIG' SIG_user2='$USER2_SIG' IMCLOUD_WS='ws://$HOSTPORT/ws'

  Try it:
  curl -s -X POST 'http://$HOSTPORT/v4/im_open_login_svc/account_import?sdkappid=$SDKAPPID&identifier=administrator&usersig=$ADMIN_SIG&random=1&contenttype=json' -d '{"UserID":"user1","Nick":"User One"}'

  WebSocket: ws://$HOSTPORT/ws   (see docs/protocol.md; send a login frame with the user UserSig)

EOT
exec "$BIN" serve --listen "$LISTEN" --data "$DATA"
