// Security review item 6 (registrations): registrations were unlimited,
// and each hashes a password with Argon2id at 19 MiB. They are now
// limited per client address (RATE_LIMIT_REGISTRATIONS per
// RATE_LIMIT_WINDOW, default 10 per hour), on a server of this test's
// own with a low limit and a Redis of its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { api, startFails, startRedis, startServer, unique } from './helpers.mjs';

const LIMIT = 3;
let redis;
let srv;

before(async () => {
  redis = await startRedis();
  srv = await startServer({ REDIS_PORT: String(redis.port), RATE_LIMIT_REGISTRATIONS: String(LIMIT) });
});

after(async () => {
  if (srv) await srv.stop();
  if (redis) await redis.stop();
});

function register(email, headers) {
  return api('POST', '/api/auth/register', {
    body: { name: 'Flood', email, password: 'secret123' }, headers, base: srv.base });
}

test('item 6: registrations are limited per client address (429 + headers, nothing stored)', async () => {
  const ip = { 'x-real-ip': '198.51.100.66' };
  const emails = Array.from({ length: LIMIT + 2 }, () => `${unique('flood')}@test.lnk`);
  const rs = [];
  for (const email of emails) rs.push(await register(email, ip));
  assert.deepEqual(rs.map((r) => r.status), [...Array(LIMIT).fill(201), 429, 429]);
  assert.equal(rs[0].headers.get('x-ratelimit-limit'), String(LIMIT));
  assert.equal(rs[0].headers.get('x-ratelimit-remaining'), String(LIMIT - 1));
  const over = rs[LIMIT];
  assert.deepEqual(over.body, { statusCode: 429,
    message: 'Too many registrations from this address, try again later', error: 'Too Many Requests' });
  assert.equal(over.headers.get('x-ratelimit-remaining'), '0');
  const retry = Number(over.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 3600, `Retry-After ${retry}`);

  const client = new MongoClient(process.env.MONGODB_URI);
  try {
    const users = client.db().collection('users');
    assert.equal(await users.countDocuments({ email: { $in: emails } }), LIMIT, 'no user past the limit');
  } finally {
    await client.close();
  }
  // Another address still registers; a request that fails validation
  // costs no hash and is not counted.
  assert.equal((await register(`${unique('other')}@test.lnk`, { 'x-real-ip': '198.51.100.67' })).status, 201);
  const bad = await api('POST', '/api/auth/register', {
    body: { name: 'x', email: 'nope', password: '1' }, headers: { 'x-real-ip': '198.51.100.68' }, base: srv.base });
  assert.equal(bad.status, 400);
  for (let i = 0; i < LIMIT; i++) {
    assert.equal((await register(`${unique('after')}@test.lnk`, { 'x-real-ip': '198.51.100.68' })).status, 201);
  }
});

test('item 6: a bad RATE_LIMIT_REGISTRATIONS stops start-up naming the variable', async () => {
  assert.match(await startFails({ RATE_LIMIT_REGISTRATIONS: 'lots' }),
    /RATE_LIMIT_REGISTRATIONS must be a whole number/);
});
