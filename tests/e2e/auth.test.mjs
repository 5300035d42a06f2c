// Foundation: register, login, me, refresh-token and every 401 of the guard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { MongoClient, ObjectId } from 'mongodb';
import { api, newUser, unique } from './helpers.mjs';

const SECRET = process.env.JWT_SECRET;
const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized' };

test('register returns 201 with the user and no credentials', async () => {
  const email = `${unique('reg')}@test.lnk`;
  const r = await api('POST', '/api/auth/register', {
    body: { name: 'Reg', email, password: 'secret123', phoneNumber: `+33${Date.now()}`,
      countryCode: '+33', age: 25, userType: 'homme', acceptTerms: true },
  });
  assert.equal(r.status, 201);
  assert.equal(r.body.user.email, email);
  assert.equal(r.body.user._id, r.body.user.id);
  assert.match(r.body.user._id, /^[0-9a-f]{24}$/);
  assert.equal(r.body.user.userType, 'homme');
  assert.equal(r.body.user.age, 25);
  for (const k of ['password', 'refreshToken', 'refreshTokenHash', 'emailKey', 'phoneKey']) {
    assert.equal(k in r.body.user, false, `${k} must not be returned`);
  }
  assert.ok(!r.text.includes('$argon2'), 'no hash anywhere in the body');
});

test('register stores an Argon2id hash, never the password', async () => {
  const u = await newUser();
  const client = new MongoClient(process.env.MONGODB_URI);
  try {
    const doc = await client.db().collection('users').findOne({ _id: new ObjectId(u.id) });
    assert.match(doc.password, /^\$argon2id\$/);
    assert.notEqual(doc.password, u.password);
    assert.equal(doc.refreshToken, undefined);
    assert.match(doc.refreshTokenHash, /^[0-9a-f]{64}$/);
  } finally {
    await client.close();
  }
});

test('fix 18: duplicate email or phone is 409', async () => {
  const email = `${unique('dup')}@test.lnk`;
  const phone = `+1${Date.now()}`;
  assert.equal((await api('POST', '/api/auth/register', {
    body: { name: 'A', email, password: 'secret123', phoneNumber: phone } })).status, 201);
  const e = await api('POST', '/api/auth/register', {
    body: { name: 'B', email: email.toUpperCase(), password: 'secret123' } });
  assert.equal(e.status, 409);
  assert.deepEqual(e.body, { statusCode: 409, message: 'Email already registered', error: 'Conflict' });
  const p = await api('POST', '/api/auth/register', {
    body: { name: 'C', phoneNumber: phone, password: 'secret123' } });
  assert.equal(p.status, 409);
  assert.equal(p.body.message, 'Phone number already registered');
});

test('concurrent duplicate registrations store exactly one user', async () => {
  const email = `${unique('race')}@test.lnk`;
  const rs = await Promise.all(Array.from({ length: 6 }, () => api('POST', '/api/auth/register', {
    body: { name: 'R', email, password: 'secret123' } })));
  assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409]);
  const client = new MongoClient(process.env.MONGODB_URI);
  try {
    assert.equal(await client.db().collection('users').countDocuments({ email }), 1);
  } finally {
    await client.close();
  }
});

test('register validation: 400 with every message', async () => {
  const r = await api('POST', '/api/auth/register', {
    body: { name: 5, email: 'not-an-email', password: '123', age: 12, userType: 'robot' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'Bad Request');
  assert.ok(Array.isArray(r.body.message));
  for (const m of ['name must be a string', 'Password must be at least 6 characters long',
    'Invalid email format', 'You must be at least 18 years old']) {
    assert.ok(r.body.message.includes(m), `missing "${m}" in ${JSON.stringify(r.body.message)}`);
  }
  assert.ok(r.body.message.some((m) => m.startsWith('userType must be one of the following values: homme')));
  const none = await api('POST', '/api/auth/register', { body: { name: 'x', password: 'secret123' } });
  assert.equal(none.status, 400);
  assert.ok(none.body.message.includes('Either email or phoneNumber is required'));
});

test('login: tokens, user with id, both token key spellings; wrong password is 401', async () => {
  const u = await newUser();
  const r = await api('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
  assert.equal(r.status, 200);
  assert.equal(r.body.accessToken, r.body.access_token);
  assert.equal(r.body.user.id, u.id);
  const claims = jwt.verify(r.body.accessToken, SECRET, { algorithms: ['HS256'] });
  assert.equal(claims.sub, u.id);
  assert.equal(claims.id, u.id);
  assert.equal(claims.typ, 'access');
  assert.equal(claims.exp - claims.iat, 7 * 86400);

  const bad = await api('POST', '/api/auth/login', { body: { email: u.email, password: 'nope-nope' } });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.message, 'Invalid credentials');
  const ghost = await api('POST', '/api/auth/login', { body: { email: 'ghost@none.lnk', password: 'x1234567' } });
  assert.equal(ghost.status, 401);
  assert.equal(ghost.body.message, 'Invalid credentials');
  const missing = await api('POST', '/api/auth/login', { body: { email: u.email } });
  assert.equal(missing.status, 400);
});

test('me returns the curated profile', async () => {
  const u = await newUser();
  const r = await api('GET', '/api/auth/me', { token: u.token });
  assert.equal(r.status, 200);
  assert.equal(r.body._id, u.id);
  assert.equal(r.body.id, u.id);
  assert.equal(r.body.email, u.email);
  assert.equal(r.body.password, undefined);
  assert.equal(r.body.servicePackages, undefined);
});

test('refresh-token rotates: new pair works, the old refresh token is then refused', async () => {
  const u = await newUser();
  const r = await api('POST', '/api/auth/refresh-token', { body: { refreshToken: u.refreshToken } });
  assert.equal(r.status, 200);
  assert.ok(r.body.accessToken && r.body.refreshToken);
  assert.notEqual(r.body.refreshToken, u.refreshToken);
  assert.equal((await api('GET', '/api/auth/me', { token: r.body.accessToken })).status, 200);
  const again = await api('POST', '/api/auth/refresh-token', { body: { refreshToken: u.refreshToken } });
  assert.equal(again.status, 401);
  assert.equal(again.body.message, 'Invalid refresh token');
  const access = await api('POST', '/api/auth/refresh-token', { body: { refreshToken: u.token } });
  assert.equal(access.status, 401, 'an access token is not a refresh token');
  const empty = await api('POST', '/api/auth/refresh-token', { body: {} });
  assert.equal(empty.status, 400);
});

test('fix 2: the guard answers 401 Unauthorized for every bad token', async () => {
  const u = await newUser();
  const now = Math.floor(Date.now() / 1000);
  const cases = {
    missing: undefined,
    garbage: 'not.a.jwt',
    'bad signature': jwt.sign({ sub: u.id, typ: 'access' }, 'another-secret-0123456789'),
    'alg none': jwt.sign({ sub: u.id, typ: 'access' }, null, { algorithm: 'none' }),
    HS512: jwt.sign({ sub: u.id, typ: 'access' }, SECRET, { algorithm: 'HS512' }),
    expired: jwt.sign({ sub: u.id, typ: 'access', iat: now - 100, exp: now - 10 }, SECRET),
    'refresh used as access': u.refreshToken,
    'password reset token': jwt.sign({ sub: u.id, type: 'password_reset' }, SECRET, { expiresIn: 600 }),
    'unknown user': jwt.sign({ sub: new ObjectId().toHexString() }, SECRET, { expiresIn: 600 }),
    'sub and id disagree': jwt.sign({ sub: u.id, id: new ObjectId().toHexString() }, SECRET, { expiresIn: 600 }),
  };
  for (const [name, token] of Object.entries(cases)) {
    const r = await api('GET', '/api/auth/me', { token });
    assert.equal(r.status, 401, name);
    assert.deepEqual(r.body, UNAUTHORIZED, name);
  }
  const wrongScheme = await api('GET', '/api/auth/me', { headers: { authorization: `Basic ${u.token}` } });
  assert.equal(wrongScheme.status, 401);
});

test('fix 2: tokens of another issuer with only sub or only id are accepted', async () => {
  const u = await newUser();
  for (const claims of [{ sub: u.id }, { id: u.id }]) {
    const token = jwt.sign(claims, SECRET, { expiresIn: 600 });
    assert.equal((await api('GET', '/api/auth/me', { token })).status, 200, JSON.stringify(claims));
  }
});

test('fix 2: an inactive user is 401 even with a valid token, and cannot log in', async () => {
  const u = await newUser();
  const client = new MongoClient(process.env.MONGODB_URI);
  try {
    await client.db().collection('users').updateOne({ _id: new ObjectId(u.id) }, { $set: { isActive: false } });
  } finally {
    await client.close();
  }
  const r = await api('GET', '/api/auth/me', { token: u.token });
  assert.deepEqual([r.status, r.body], [401, UNAUTHORIZED]);
  const l = await api('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
  assert.equal(l.status, 401);
});

test('a bcrypt hash imported from the original service logs in and is upgraded', async () => {
  const client = new MongoClient(process.env.MONGODB_URI);
  const email = `${unique('legacy')}@test.lnk`;
  try {
    const id = new ObjectId();
    await client.db().collection('users').insertOne({
      _id: id, name: 'Legacy', email, emailKey: email, phoneKey: `-${id.toHexString()}`,
      password: '$2b$10$Hs5ItFA5gxYr6.o5XDm9NeKbvtbhBCkgVVkwg2.4QIdM7m2Ps9pMK', isActive: true,
    });
    const r = await api('POST', '/api/auth/login', { body: { email, password: 'password123' } });
    assert.equal(r.status, 200);
    const doc = await client.db().collection('users').findOne({ _id: id });
    assert.match(doc.password, /^\$argon2id\$/);
  } finally {
    await client.close();
  }
});

test('concurrent refreshes with one refresh token: exactly one succeeds', async () => {
  const u = await newUser();
  const rs = await Promise.all(Array.from({ length: 8 }, () => api('POST', '/api/auth/refresh-token', {
    body: { refreshToken: u.refreshToken } })));
  const ok = rs.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, rs.map((r) => r.status).join(','));
  assert.ok(rs.every((r) => r.status === 200 || r.status === 401));
  const again = await api('POST', '/api/auth/refresh-token', { body: { refreshToken: ok[0].body.refreshToken } });
  assert.equal(again.status, 200, 'the winner\'s new refresh token works');
});
