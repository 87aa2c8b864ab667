// Interop: UserSigs made by the official npm package `tls-sig-api-v2` log in
// over WebSocket (client `ws`) and call the REST API of the real server;
// tampered, expired, wrong-app and wrong-identifier ones fail with 70009,
// 70001, 70014 and 70013. Prints "tests: N passed, M failed".
import { createRequire } from 'node:module';
import { startServer, rest as restCall, makeChecks } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const TLSSigAPIv2 = require('tls-sig-api-v2');
const WebSocket = require('ws');

const t = makeChecks();
const check = t.check;
const srv = await startServer(['interop', 'other']);
const [app, app2] = srv.apps;
const port = srv.port;

const api = new TLSSigAPIv2.Api(app.sdkappid, app.key);
const apiWrongApp = new TLSSigAPIv2.Api(app2.sdkappid, app.key);  // token claims app2, signed with app1's key

const rest = (cmd, sig, identifier, body, sdkappid = app.sdkappid) => restCall(srv.base, sdkappid, cmd, sig, identifier, body);

function login(user, sig, sdkappid = app.sdkappid) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.on('open', () => ws.send(JSON.stringify({ id: 'l1', op: 'login', sdkappid, user_id: user, usersig: sig,
                                                 platform: 'Web', device_id: 'interop-' + user })));
    ws.on('message', m => { resolve({ ws, reply: JSON.parse(String(m)) }); });
    ws.on('error', reject);
  });
}

function tamper(sig) {
  // decode, flip one character of TLS.sig inside the JSON, re-encode the official way
  const zlib = require('node:zlib');
  const b64 = sig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=');
  const obj = JSON.parse(zlib.inflateSync(Buffer.from(b64, 'base64')).toString());
  const s = obj['TLS.sig'];
  obj['TLS.sig'] = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  const out = zlib.deflateSync(Buffer.from(JSON.stringify(obj))).toString('base64');
  return out.replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
}

try {
  const admin = api.genUserSig('administrator', 86400);
  let r = await rest('im_open_login_svc/account_import', admin, 'administrator', { UserID: 'npm_user' });
  check('npm admin UserSig: REST account_import', r.status === 200 && r.json.ErrorCode === 0, JSON.stringify(r.json));

  const user = api.genUserSig('npm_user', 86400);
  let l = await login('npm_user', user);
  check('npm user UserSig: WebSocket login', l.reply.code === 0 && l.reply.id === 'l1', JSON.stringify(l.reply));
  r = await rest('openim/query_online_status', admin, 'administrator', { To_Account: ['npm_user'] });
  check('logged-in user is Online', r.json.QueryResult?.[0]?.Status === 'Online', JSON.stringify(r.json));
  l.ws.close();

  const cases = [
    ['tampered', tamper(admin), 'administrator', app.sdkappid, 70009],
    ['expired', api.genUserSig('administrator', -10), 'administrator', app.sdkappid, 70001],
    ['wrong app', apiWrongApp.genUserSig('administrator', 86400), 'administrator', app.sdkappid, 70014],
    ['wrong identifier', api.genUserSig('someone_else', 86400), 'administrator', app.sdkappid, 70013],
  ];
  for (const [name, sig, ident, sdkappid, code] of cases) {
    r = await rest('im_open_login_svc/account_check', sig, ident, { CheckItem: [{ UserID: 'npm_user' }] }, sdkappid);
    check(`REST ${name} → ${code}`, r.json.ErrorCode === code && r.json.ActionStatus === 'FAIL', JSON.stringify(r.json));
  }
  const userCases = [
    ['tampered', tamper(user), 'npm_user', 70009],
    ['expired', api.genUserSig('npm_user', -10), 'npm_user', 70001],
    ['wrong app', apiWrongApp.genUserSig('npm_user', 86400), 'npm_user', 70014],
    ['wrong identifier', api.genUserSig('npm_other', 86400), 'npm_user', 70013],
  ];
  for (const [name, sig, uid, code] of userCases) {
    l = await login(uid, sig);
    check(`WebSocket login ${name} → ${code}`, l.reply.code === code, JSON.stringify(l.reply));
    l.ws.close();
  }
} catch (e) {
  check('no exception', false, e.stack);
} finally {
  const code = await srv.stop();
  check('server exits 0 on SIGTERM', code === 0, srv.log().slice(-2000));
}
t.done();
