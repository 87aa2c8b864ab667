// Interop: tokens from the official npm generator verify with `imcloud usersig
// verify`; tokens from `imcloud usersig gen` verify with an independent check
// written here on Node's crypto + zlib. Prints "tests: N passed, M failed".
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { Api } = require('tls-sig-api-v2');
const BIN = process.env.IMCLOUD_BIN || path.resolve('../../build/imcloud');
const KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
let passed = 0, failed = 0;
const check = (name, cond, detail) => { if (cond) { passed++; console.log('ok - ' + name); } else { failed++; console.log('not ok - ' + name + ' ' + (detail ?? '')); } };

function verify(app, ident, sig) {
  try {
    execFileSync(BIN, ['usersig', 'verify', '--sdkappid', String(app), '--key', KEY, '--identifier', ident, sig], { stdio: ['ignore', 'pipe', 'pipe'] });
    return 'valid';
  } catch (e) { return String(e.stderr); }
}

const api = new Api(1400000000, KEY);
for (const user of ['xiaojun', 'administrator', 'a-b_c.d', '12345678901234567890123456789012']) {
  check(`npm token for ${user} verifies`, verify(1400000000, user, api.genUserSig(user, 3600)) === 'valid');
}
check('npm token, wrong app → 70014', verify(1400000001, 'xiaojun', api.genUserSig('xiaojun', 3600)).includes('70014'));
check('npm token, wrong identifier → 70013', verify(1400000000, 'bob', api.genUserSig('xiaojun', 3600)).includes('70013'));
check('npm token, expired → 70001', verify(1400000000, 'xiaojun', api.genUserSig('xiaojun', -1)).includes('70001'));
check('npm token, other key → 70009', verify(1400000000, 'xiaojun', new Api(1400000000, 'k2').genUserSig('xiaojun', 3600)).includes('70009'));

const ours = execFileSync(BIN, ['usersig', 'gen', '--sdkappid', '1400000000', '--key', KEY, '--identifier', 'xiaojun', '--expire', '86400']).toString().trim();
const json = JSON.parse(inflateSync(Buffer.from(ours.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '='), 'base64')).toString());
const text = `TLS.identifier:${json['TLS.identifier']}\nTLS.sdkappid:${json['TLS.sdkappid']}\nTLS.time:${json['TLS.time']}\nTLS.expire:${json['TLS.expire']}\n`;
check('our token: HMAC checks out in Node', createHmac('sha256', KEY).update(text).digest('base64') === json['TLS.sig'], JSON.stringify(json));
check('our token: fields', json['TLS.ver'] === '2.0' && json['TLS.sdkappid'] === 1400000000 && json['TLS.expire'] === 86400);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
