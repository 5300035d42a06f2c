// Foundation: HTTP conventions every route shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, BASE, newUser } from './helpers.mjs';

test('malformed JSON is 400 with the error envelope', async () => {
  const r = await api('POST', '/api/auth/login', {
    raw: '{"email": "a@b.c", ', headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body, { statusCode: 400, message: 'Malformed JSON in request body', error: 'Bad Request' });
});

test('a JSON body that is not an object is 400', async () => {
  for (const raw of ['[1,2]', '"text"', '42', 'null']) {
    const r = await api('POST', '/api/auth/login', { raw, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, raw);
    assert.equal(r.body.message, 'Request body must be a JSON object', raw);
  }
});

test('a body over the JSON limit is 413', async () => {
  const big = JSON.stringify({ name: 'x'.repeat(1100 * 1024) });
  const r = await api('POST', '/api/auth/register', { raw: big, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 413);
  assert.equal(r.body.statusCode, 413);
});

test('fix 5: a malformed ObjectId in a path is 400, never 500', async () => {
  const u = await newUser();
  for (const id of ['xyz', '123', 'zzzzzzzzzzzzzzzzzzzzzzzz', '%24where']) {
    const r = await api('PUT', `/api/users/profile/packages/${id}`, { token: u.token, body: { price: 1 } });
    assert.equal(r.status, 400, id);
    assert.equal(r.body.error, 'Bad Request');
  }
});

test('unknown route is a JSON 404 naming the route', async () => {
  const r = await api('PATCH', '/api/nothing/here');
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, { statusCode: 404, message: 'Cannot PATCH /api/nothing/here', error: 'Not Found' });
  assert.match(r.headers.get('content-type'), /application\/json/);
});

test('wrong method on a known route is a JSON 405', async () => {
  const r = await api('DELETE', '/api/auth/login');
  assert.equal(r.status, 405);
  assert.equal(r.body.statusCode, 405);
  assert.equal(r.body.error, 'Method Not Allowed');
});

test('CORS preflight for an allowed origin', async () => {
  const res = await fetch(`${BASE}/api/auth/login`, {
    method: 'OPTIONS',
    headers: {
      origin: 'http://allowed.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  assert.match(res.headers.get('access-control-allow-methods'), /POST/);
  assert.equal(res.headers.get('access-control-allow-headers'), 'authorization,content-type');
});

test('CORS: allowed origins get the header on real responses, others do not', async () => {
  const ok = await fetch(`${BASE}/api/health/status`, { headers: { origin: 'http://localhost:3000' } });
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://localhost:3000');
  assert.match(ok.headers.get('vary') || '', /Origin/);
  const evil = await fetch(`${BASE}/api/health/status`, { headers: { origin: 'http://evil.example' } });
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  const pre = await fetch(`${BASE}/api/auth/login`, {
    method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
});

test('a trailing slash reaches the same route', async () => {
  const r = await api('GET', '/api/health/status/');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
});
