// Security review item 5: how long a failed login takes must not tell
// whether the account exists. An unknown account is verified against a
// dummy Argon2id hash with the same parameters as a real one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, unique } from './helpers.mjs';

const SAMPLES = 15;

async function timed(body) {
  const t0 = process.hrtime.bigint();
  const r = await api('POST', '/api/auth/login', { body });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(r.status, 401, r.text);
  assert.equal(r.body.message, 'Invalid credentials');
  return ms;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

test('item 5: unknown-account and wrong-password logins take about as long (median ratio 0.5..2)', async () => {
  const u = await newUser();
  const ghost = () => ({ email: `${unique('ghost')}@test.lnk`, password: 'wrong-password' });
  const wrong = { email: u.email, password: 'wrong-password' };
  // Warm-up: each worker builds its dummy hash on first use.
  for (let i = 0; i < 4; i++) {
    await timed(ghost());
    await timed(wrong);
  }
  const unknown = [];
  const mismatch = [];
  // Interleaved, so a burst of load on this shared machine hits both.
  for (let i = 0; i < SAMPLES; i++) {
    unknown.push(await timed(ghost()));
    mismatch.push(await timed(wrong));
  }
  const ratio = median(unknown) / median(mismatch);
  console.log(`median unknown ${median(unknown).toFixed(1)} ms, wrong password ${median(mismatch).toFixed(1)} ms, ratio ${ratio.toFixed(2)}`);
  assert.ok(ratio > 0.5 && ratio < 2, `ratio ${ratio.toFixed(2)}`);
});
