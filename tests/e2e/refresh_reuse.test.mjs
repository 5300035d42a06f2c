// Security review item 11: replaying a rotated refresh token got 401 but
// left its successor valid. Reuse now counts as theft (OAuth 2.0
// Security BCP §4.14): the token's family, every refresh token rotated
// from the same login, is revoked, so the successor stops working too.
// A replay of the token rotated a moment ago (AUTH_REUSE_GRACE, 5 s) is
// a client's own concurrent refresh and only gets 401.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, sleep } from './helpers.mjs';

const GRACE_MS = 5000;

const refresh = (refreshToken) => api('POST', '/api/auth/refresh-token', { body: { refreshToken } });

async function rotate(token) {
  const r = await refresh(token);
  assert.equal(r.status, 200, r.text);
  return r.body.refreshToken;
}

test('item 11: replaying a rotated refresh token revokes its family, successors included', async () => {
  const scenario = async (rotations) => {
    const u = await newUser();
    const chain = [u.refreshToken];
    for (let i = 0; i < rotations; i++) chain.push(await rotate(chain[chain.length - 1]));
    await sleep(GRACE_MS + 1000);
    const replay = await refresh(chain[0]);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.message, 'Invalid refresh token');
    const last = await refresh(chain[chain.length - 1]);
    assert.equal(last.status, 401, `the latest of ${rotations} rotation(s) is revoked too`);
    // A new login starts a new family, which works.
    const l = await api('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
    assert.equal(l.status, 200);
    await rotate(l.body.refreshToken);
  };
  // Side by side, so the wait past the grace is paid once.
  await Promise.all([scenario(1), scenario(3)]);
});

test('item 11: a replay within the grace of its rotation revokes nothing', async () => {
  const u = await newUser();
  const next = await rotate(u.refreshToken);
  assert.equal((await refresh(u.refreshToken)).status, 401);
  assert.ok(await rotate(next), 'the successor still works');
});

test('item 11: a token of an earlier login (never rotated) revokes nothing', async () => {
  const u = await newUser();
  const l = await api('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
  assert.equal(l.status, 200);
  for (const k of ['refreshFamily', 'refreshPrevHash', 'refreshRotatedAt', 'refreshTokenHash']) {
    assert.equal(k in l.body.user, false, `${k} must not be returned`);
  }
  await sleep(GRACE_MS + 1000);
  // u.refreshToken was replaced by the second login, not rotated.
  assert.equal((await refresh(u.refreshToken)).status, 401);
  assert.ok(await rotate(l.body.refreshToken), 'the current login is untouched');
});
