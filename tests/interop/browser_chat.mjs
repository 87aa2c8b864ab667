// Interop: a browser's own WebSocket (headless Chromium, page served from
// another origin as a web app's would be) and Node's `ws` (permessage-deflate
// offered, as it does by default) chat through the real server with the
// protocol of docs/protocol.md: login with UserSigs of the official npm
// `tls-sig-api-v2`, sync to live, messages both ways (non-ASCII text, a
// 10,000-character one, one over msg_max_bytes refused with 93000), typing,
// read receipts, recall, history, sync after a reconnect (exactly what was
// missed, in order), and a REST kick closing the browser's socket with 4003.
// Prints "tests: N passed, M failed".
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer, rest, makeChecks } from './lib/harness.mjs';
import { launch } from './lib/cdp.mjs';

const require = createRequire(import.meta.url);
const TLSSigAPIv2 = require('tls-sig-api-v2');
const WebSocket = require('ws');
const { wsClient } = require('./lib/client.cjs');
const t = makeChecks();
const clientSrc = readFileSync(new URL('./lib/client.cjs', import.meta.url), 'utf8');

const srv = await startServer(['browser']);
const app = srv.apps[0];
const api = new TLSSigAPIv2.Api(app.sdkappid, app.key);
const admin = api.genUserSig('administrator', 86400);
const wsUrl = `ws://127.0.0.1:${srv.port}/ws`;
const text = m => m.body?.[0]?.MsgContent?.Text;

// the web app's origin: a page that loads the client script
const web = createServer((req, res) => {
  if (req.url === '/client.js') { res.writeHead(200, { 'Content-Type': 'text/javascript' }); res.end(clientSrc); return; }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end('<!doctype html><meta charset="utf-8"><title>chat</title><script src="/client.js"></script>' +
          '<script>window.B = { c: null, ws: null, ext: null,' +
          ' open(url) { return new Promise((res, rej) => { const ws = new WebSocket(url); this.ws = ws;' +
          ' const c = wsClient(s => ws.send(s)); this.c = c;' +
          ' ws.onopen = () => { this.ext = ws.extensions; res(ws.extensions); }; ws.onerror = () => rej(new Error("ws error"));' +
          ' ws.onmessage = m => c.onFrame(m.data); ws.onclose = e => { c.closed = e.code; }; }); } };</script>');
});
await new Promise(r => web.listen(0, '127.0.0.1', r));
const pageUrl = `http://127.0.0.1:${web.address().port}/`;

function nodeClient() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl); // perMessageDeflate offered (the package's default)
    const c = wsClient(s => ws.send(s));
    ws.on('message', m => c.onFrame(String(m)));
    ws.on('close', code => { c.closed = code; });
    ws.on('open', () => { c.ws = ws; resolve(c); });
    ws.on('error', reject);
  });
}

let browser;
try {
  let r = await rest(srv.base, app.sdkappid, 'im_open_login_svc/multiaccount_import', admin, 'administrator',
                     { Accounts: ['alice', 'bob'] });
  t.check('accounts imported', r.json.ErrorCode === 0, JSON.stringify(r.json));

  browser = await launch();
  const page = await browser.page(pageUrl);
  const B = expr => page.eval(`(async () => { const c = B.c; return ${expr}; })()`);
  const ext = await page.eval(`B.open(${JSON.stringify(wsUrl)})`);
  t.check('Chromium opens the WebSocket from another origin; its permessage-deflate offer is declined', ext === '',
          JSON.stringify(ext));
  const loginB = await B(`await c.req({ op: 'login', sdkappid: ${app.sdkappid}, user_id: 'alice',
                           usersig: ${JSON.stringify(api.genUserSig('alice', 86400))}, platform: 'Web', device_id: 'chromium' })`);
  t.check('browser login', loginB.code === 0, JSON.stringify(loginB));
  let s = await B(`await c.sync(0)`);
  t.check('browser sync to live (empty)', s.code === 0 && s.events.length === 0, JSON.stringify(s));

  const bob = await nodeClient();
  r = await bob.req({ op: 'login', sdkappid: app.sdkappid, user_id: 'bob', usersig: api.genUserSig('bob', 86400),
                      platform: 'PC', device_id: 'node' });
  t.check('ws login', r.code === 0, JSON.stringify(r));
  t.check('ws sync to live', (await bob.sync(0)).code === 0);

  // node → browser
  r = await bob.req({ op: 'send', to: 'alice', body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'hello from ws' } }] });
  t.check('ws send acknowledged', r.code === 0 && r.seq === 1 && r.useq === 1, JSON.stringify(r));
  let p = await B(`await c.push('msg')`);
  t.check('browser gets the push', p.peer === 'bob' && p.msg.from === 'bob' && p.msg.seq === 1 && text(p.msg) === 'hello from ws',
          JSON.stringify(p));

  // browser → node: non-ASCII, then a long text (a 16-bit frame length), then one over the limit
  const uni = '你好, Grüße 🌍 from Chromium';
  r = await B(`await c.req({ op: 'send', to: 'bob', random: 7, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: ${JSON.stringify(uni)} } }] })`);
  t.check('browser send acknowledged', r.code === 0 && r.seq === 2, JSON.stringify(r));
  const uniKey = r.msg_key;
  p = await bob.push('msg');
  t.check('ws gets the non-ASCII text unchanged', text(p.msg) === uni && p.msg.from === 'alice', JSON.stringify(p));
  const long = 'x'.repeat(9990) + '0123456789';
  r = await B(`await c.req({ op: 'send', to: 'bob', body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: ${JSON.stringify(long)} } }] })`);
  t.check('browser 10,000-character send', r.code === 0 && r.seq === 3, JSON.stringify(r).slice(0, 300));
  p = await bob.push('msg');
  t.check('ws gets it whole', text(p.msg) === long, String(text(p.msg)?.length));
  r = await B(`await c.req({ op: 'send', to: 'bob', body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'y'.repeat(13000) } }] })`);
  t.check('over msg_max_bytes: 93000, connection kept', r.code === 93000, JSON.stringify(r));
  r = await B(`await c.req({ op: 'send', to: 'bob', random: 7, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: ${JSON.stringify(uni)} } }] })`);
  t.check('browser resend with the same random is the same message', r.code === 0 && r.dup === true && r.msg_key === uniKey,
          JSON.stringify(r));

  // typing, receipts, recall
  r = await B(`await c.req({ op: 'typing', peer: 'bob' })`);
  p = await bob.push('typing');
  t.check('typing reaches ws', r.code === 0 && p.peer === 'alice', JSON.stringify(p));
  r = await bob.req({ op: 'send', to: 'alice', need_receipt: true, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'read me' } }] });
  p = await B(`await c.push('msg')`);
  t.check('need_receipt message to the browser', r.code === 0 && p.msg.seq === 4 && p.msg.need_receipt === true, JSON.stringify(p));
  r = await B(`await c.req({ op: 'read', peer: 'bob', seq: 4 })`);
  p = await bob.push('receipt');
  t.check('browser read → ws receipt', r.code === 0 && p.peer === 'alice' && p.seq === 4, JSON.stringify(p));
  r = await B(`await c.req({ op: 'recall', peer: 'bob', msg_key: ${JSON.stringify(uniKey)} })`);
  p = await bob.push('recall');
  t.check('browser recall → ws recall push', r.code === 0 && p.peer === 'alice' && p.seq === 2, JSON.stringify(p));
  r = await B(`await c.req({ op: 'history', peer: 'bob', limit: 10 })`);
  t.check('browser history newest first, recalled marked',
          r.code === 0 && r.msgs.map(m => m.seq).join() === '4,3,2,1' && r.msgs[2].recalled === true, JSON.stringify(r).slice(0, 400));

  // away and back: exactly what was missed, in order
  r = await B(`await c.req({ op: 'conversations' })`);
  const conv = r.conversations?.[0];
  t.check('browser conversation list: bob, read to 4, nothing unread', r.code === 0 && r.conversations.length === 1 &&
          conv.peer === 'bob' && conv.last_seq === 4 && conv.read_seq === 4 && conv.unread === 0, JSON.stringify(r));
  s = await B(`await c.sync(0)`); // a second device's view: every event again, ending where the live session is
  const held = s.cursor;
  t.check('browser full sync from 0 in pages', s.code === 0 && s.events.length >= 6 && s.pages >= 3 &&
          s.events.every((e, i) => e.useq === i + 1), JSON.stringify(s).slice(0, 300));
  await page.eval(`(B.ws.close(1000), B.c.waitClose())`);
  for (let i = 1; i <= 5; i++)
    await bob.req({ op: 'send', to: 'alice', body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: `away ${i}` } }] });
  await page.eval(`B.open(${JSON.stringify(wsUrl)})`);
  r = await B(`await c.req({ op: 'login', sdkappid: ${app.sdkappid}, user_id: 'alice',
                usersig: ${JSON.stringify(api.genUserSig('alice', 86400))}, platform: 'Web', device_id: 'chromium' })`);
  s = await B(`await c.sync(${held})`);
  const got = s.events.filter(e => e.type === 'msg').map(e => text(e.msg));
  t.check('sync after reconnect: the five missed, in order, nothing else', s.code === 0 && got.join('|') ===
          'away 1|away 2|away 3|away 4|away 5' && s.events.length === 5 && s.pages >= 3, JSON.stringify(s).slice(0, 500));
  const useqs = s.events.map(e => e.useq);
  t.check('useqs consecutive from the held cursor', useqs.every((u, i) => u === held + 1 + i), useqs.join());

  // the app's backend kicks the user: the browser sees close 4003
  r = await rest(srv.base, app.sdkappid, 'im_open_login_svc/kick', admin, 'administrator', { UserID: 'alice' });
  const code = await page.eval(`B.c.waitClose()`);
  t.check('REST kick closes the browser socket with 4003', r.json.ErrorCode === 0 && code === 4003, `${JSON.stringify(r.json)} ${code}`);
  bob.ws.close();
} catch (e) {
  t.check('no exception', false, e.stack);
} finally {
  if (browser) await browser.close();
  web.close();
  const code = await srv.stop();
  t.check('server exits 0 on SIGTERM', code === 0, srv.log().slice(-2000));
}
t.done();
