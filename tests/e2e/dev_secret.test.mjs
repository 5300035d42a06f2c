// The development JWT_SECRET is explicit: only LNK_ENV=development (which
// `make run` sets) allows it; how Kore was started (kodev run's $_) does
// not, and without either the server refuses to start, saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startKore } from './helpers.mjs';

// SOCKET_QUEUE_MAX is checked after JWT_SECRET: its error means the
// secret passed, and the server stops before it binds anything.
const late = { PORT: '1', SOCKET_QUEUE_MAX: '1' };

test('dev secret: without JWT_SECRET nor LNK_ENV=development the server refuses to start', async () => {
  for (const env of [{}, { LNK_ENV: 'production' }, { _: '/usr/bin/kodev' }]) {
    const r = await startKore({ ...late, ...env });
    assert.notEqual(r.code, 0);
    assert.notEqual(r.code, 'timeout', r.out);
    assert.match(r.out, /JWT_SECRET is required \(the development default needs LNK_ENV=development, which make run sets\)/);
  }
});

test('dev secret: LNK_ENV=development lets the built-in secret through', async () => {
  const r = await startKore({ ...late, LNK_ENV: 'development' });
  assert.notEqual(r.code, 'timeout', r.out);
  assert.doesNotMatch(r.out, /JWT_SECRET is required/);
  assert.match(r.out, /SOCKET_QUEUE_MAX must be a whole number/);
});
