// Security review item 7: a JWT with nbf in the future, or issued (iat)
// in the future, is refused by REST and by the socket alike, beyond a
// 60 s clock-skew allowance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { api, connect, newUser } from './helpers.mjs';

const SECRET = process.env.JWT_SECRET;
const DAY = 86400;

// Signed by hand: jsonwebtoken refuses to sign a non-numeric nbf.
function forge(u, claims) {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({
    sub: u.id, id: u.id, typ: 'access', iat: now, exp: now + 2 * DAY, ...claims })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

test('item 7: nbf = now + 1 day and a future iat are 401 on REST', async () => {
  const u = await newUser();
  const now = Math.floor(Date.now() / 1000);
  for (const [name, claims] of [
    ['nbf a day ahead', { nbf: now + DAY }],
    ['iat a day ahead', { iat: now + DAY }],
    ['nbf past the skew', { nbf: now + 300 }],
    ['nbf not a number', { nbf: 'tomorrow' }],
  ]) {
    const r = await api('GET', '/api/auth/me', { token: forge(u, claims) });
    assert.equal(r.status, 401, name);
    assert.deepEqual(r.body, { statusCode: 401, message: 'Unauthorized' }, name);
  }
  // Within the skew, and with nbf in the past: accepted.
  for (const claims of [{ nbf: now + 20 }, { iat: now + 20 }, { nbf: now - 60 }]) {
    const r = await api('GET', '/api/auth/me', { token: forge(u, claims) });
    assert.equal(r.status, 200, JSON.stringify(claims));
  }
});

test('item 7: the socket refuses nbf / future iat with connect_error', async () => {
  const u = await newUser();
  const now = Math.floor(Date.now() / 1000);
  for (const claims of [{ nbf: now + DAY }, { iat: now + DAY }]) {
    const err = await connect(forge(u, claims)).then((s) => { s.close(); return null; }, (e) => e);
    assert.ok(err, `${JSON.stringify(claims)}: connected, expected connect_error`);
    assert.equal(err.message, 'Unauthorized');
  }
  const ok = await connect(forge(u, { nbf: now - 5 }));
  assert.ok(ok.connected);
  ok.close();
});
