// A headless Chromium driven over the Chrome DevTools Protocol with the `ws`
// package (no browser-automation dependency): launch, open a page, evaluate
// an expression in it (awaiting its promise), close. Chromium comes from the
// Debian package `chromium` (scripts/deps.sh); CHROMIUM names another binary.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

export function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    try { return execFileSync('sh', ['-c', `command -v ${c}`]).toString().trim(); } catch { /* next */ }
  }
  return null;
}

export async function launch(timeoutMs = 30000) {
  const bin = chromiumPath();
  if (!bin) throw new Error('no chromium (apt-get install chromium, or set CHROMIUM)');
  const profile = mkdtempSync(path.join(tmpdir(), 'imcloud-chromium-'));
  const proc = spawn(bin, ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                           '--no-first-run', '--no-default-browser-check', '--disable-extensions',
                           '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('chromium did not start: ' + err.slice(-2000))), timeoutMs);
    proc.stderr.on('data', d => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', c => { clearTimeout(timer); reject(new Error(`chromium exited ${c}: ` + err.slice(-2000))); });
  });
  const conn = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((res, rej) => { conn.on('open', res); conn.on('error', rej); });
  let next = 1;
  const waiting = new Map();
  conn.on('message', m => {
    const f = JSON.parse(String(m));
    if (f.id && waiting.has(f.id)) {
      const { resolve, reject } = waiting.get(f.id);
      waiting.delete(f.id);
      if (f.error) reject(new Error(JSON.stringify(f.error))); else resolve(f.result);
    }
  });
  const call = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    conn.send(JSON.stringify(sessionId ? { id, method, params, sessionId } : { id, method, params }));
  });
  return {
    // A new tab on url; returns { eval(expr) } evaluating in the page with its promise awaited.
    async page(pageUrl) {
      const { targetId } = await call('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await call('Target.attachToTarget', { targetId, flatten: true });
      await call('Page.enable', {}, sessionId);
      await call('Page.navigate', { url: pageUrl }, sessionId);
      for (let i = 0; i < 500; i++) { /* until the document is there */
        const r = await call('Runtime.evaluate', { expression: 'document.readyState', returnByValue: true }, sessionId);
        if (r.result.value === 'complete') break;
        await new Promise(res => setTimeout(res, 10));
      }
      return {
        async eval(expression) {
          const r = await call('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
          if (r.exceptionDetails) throw new Error('in page: ' + (r.exceptionDetails.exception?.description || r.exceptionDetails.text));
          return r.result.value;
        },
      };
    },
    async close() {
      try { await call('Browser.close'); } catch { /* it may be gone */ }
      conn.terminate();
      await new Promise(res => { if (proc.exitCode !== null) res(); else { proc.on('exit', res); setTimeout(() => { proc.kill('SIGKILL'); res(); }, 5000); } });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
