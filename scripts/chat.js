// chat.js — a minimal client of docs/protocol.md for the README tour.
//   node scripts/chat.js USER            log in as USER, sync, print every frame; stays connected
//   node scripts/chat.js USER PEER TEXT  log in as USER, send TEXT to PEER, print the reply, exit
// Needs SDKAPPID and a UserSig for USER in USER_SIG (or SIG_<USER>); server at IMCLOUD_WS
// (default ws://127.0.0.1:8080/ws). Uses Node's `ws` package from tests/interop.
const path = require("path");
const WebSocket = require(path.join(__dirname, "../tests/interop/node_modules/ws"));
const [user, peer, text] = process.argv.slice(2);
if (!user) { console.error("usage: node scripts/chat.js USER [PEER TEXT]"); process.exit(2); }
const sig = process.env["SIG_" + user] || process.env.USER_SIG;
const ws = new WebSocket(process.env.IMCLOUD_WS || "ws://127.0.0.1:8080/ws");
const send = o => ws.send(JSON.stringify(o));
ws.on("open", () => send({ id: 1, op: "login", sdkappid: Number(process.env.SDKAPPID), user_id: user,
                           usersig: sig, platform: peer ? "PC" : "Web", device_id: "tour-" + user }));
ws.on("message", m => {
  const f = JSON.parse(String(m));
  console.log(String(m));
  if (f.id === 1 && f.code !== 0) process.exit(1);
  if (f.id === 1 && !peer) send({ id: 2, op: "sync", cursor: 0 });
  if (f.id === 2 && !f.complete) send({ id: 2, op: "sync", cursor: f.cursor });
  if (f.id === 1 && peer)
    send({ id: 3, op: "send", to: peer, body: [{ MsgType: "TIMTextElem", MsgContent: { Text: text || "hello" } }] });
  if (f.id === 3) ws.close();
});
ws.on("close", () => process.exit(0));
ws.on("error", e => { console.error(String(e)); process.exit(1); });
