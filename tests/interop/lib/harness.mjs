// Shared by the interop tests: a fresh data directory with one customer and
// apps made by the CLI, the real server on an ephemeral port, a check()
// counter that prints TAP-like lines and the closing "tests: N passed,
// M failed" line. The server's stderr is kept for failure messages.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BIN = process.env.IMCLOUD_BIN || path.resolve('build/imcloud');

export function makeChecks() {
  const t = { passed: 0, failed: 0 };
  t.check = (name, cond, detail) => {
    if (cond) { t.passed++; console.log(`ok - ${name}`); }
    else { t.failed++; console.log(`not ok - ${name} ${detail ?? ''}`); }
  };
  t.done = () => {
    console.log(`tests: ${t.passed} passed, ${t.failed} failed`);
    process.exit(t.failed ? 1 : 0);
  };
  return t;
}

export const sleep = ms => new Promise(r => setTimeout(r, ms));

// A data directory with a customer and `apps` apps (china region, trial
// edition unless given), then `serve` on 127.0.0.1:0. Returns
// { dir, apps, port, base, log(), cli(...args), stop() → exit code }.
export async function startServer(appNames = ['interop'], serveArgs = []) {
  const dir = mkdtempSync(path.join(tmpdir(), 'imcloud-interop-'));
  const cli = (...args) => JSON.parse(execFileSync(BIN, [...args, '--json', '--data', dir]).toString());
  const cust = cli('customer', 'create', '--name', 'interop');
  const apps = appNames.map(name => cli('app', 'create', '--customer', String(cust.id), '--name', name, '--region', 'china'));
  const portFile = path.join(dir, 'port');
  const server = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--port-file', portFile, ...serveArgs],
                       { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', d => { log += d; });
  const exited = new Promise(r => server.on('exit', c => r(c)));
  for (let i = 0; i < 1500 && !existsSync(portFile); i++) await sleep(10);
  const port = Number(readFileSync(portFile, 'utf8'));
  return {
    dir, apps, port, base: `http://127.0.0.1:${port}`, cli,
    log: () => log,
    async stop() {
      server.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// A v4 REST call as the app's backend would make it.
export async function rest(base, sdkappid, cmd, sig, identifier, body) {
  const url = `${base}/v4/${cmd}?sdkappid=${sdkappid}&identifier=${identifier}&usersig=${sig}` +
              `&random=${Math.floor(Math.random() * 4294967295)}&contenttype=json`;
  const r = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}
