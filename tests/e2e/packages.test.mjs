// Foundation: service packages CRUD under /api/users/profile/packages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser } from './helpers.mjs';

const P = '/api/users/profile/packages';

test('packages: create, list, update, delete', async () => {
  const u = await newUser();
  const empty = await api('GET', P, { token: u.token });
  assert.deepEqual([empty.status, empty.body], [200, { packages: [] }]);

  const c = await api('POST', P, { token: u.token,
    body: { title: 'Massage', services: ['relax', 'deep'], price: 50, duration: '1h' } });
  assert.equal(c.status, 201);
  const pkg = c.body.package;
  assert.match(pkg._id, /^[0-9a-f]{24}$/);
  assert.equal(pkg.id, pkg._id);
  assert.equal(pkg.currency, 'FCFA');
  assert.equal(pkg.isActive, true);
  assert.deepEqual(pkg.services, ['relax', 'deep']);

  const second = await api('POST', P, { token: u.token,
    body: { title: 'Dinner', services: ['x'], price: 0, currency: 'EUR', isActive: false } });
  assert.equal(second.status, 201);

  const list = await api('GET', P, { token: u.token });
  assert.deepEqual(list.body.packages.map((p) => p.title), ['Massage', 'Dinner']);

  const up = await api('PUT', `${P}/${pkg._id}`, { token: u.token, body: { price: 75.5, currency: 'USD' } });
  assert.equal(up.status, 200);
  assert.equal(up.body.package.price, 75.5);
  assert.equal(up.body.package.currency, 'USD');
  assert.equal(up.body.package.title, 'Massage');

  const del = await api('DELETE', `${P}/${pkg._id}`, { token: u.token });
  assert.deepEqual([del.status, del.body], [200, { message: 'Package deleted successfully' }]);
  const after = await api('GET', P, { token: u.token });
  assert.deepEqual(after.body.packages.map((p) => p.title), ['Dinner']);
  assert.equal((await api('DELETE', `${P}/${pkg._id}`, { token: u.token })).status, 404);
});

test('packages: validation 400s', async () => {
  const u = await newUser();
  const bad = [
    [{ services: ['a'], price: 1 }, 'title should not be empty'],
    [{ title: 'T', services: [], price: 1 }, 'services must contain between 1 and 6 elements'],
    [{ title: 'T', services: ['1', '2', '3', '4', '5', '6', '7'], price: 1 }, 'services must contain between 1 and 6 elements'],
    [{ title: 'T', services: ['ok', ''], price: 1 }, 'each value in services must be a non-empty string'],
    [{ title: 'T', services: 'a', price: 1 }, 'services must be an array'],
    [{ title: 'T', services: ['a'], price: -1 }, 'price must not be less than 0'],
    [{ title: 'T', services: ['a'], price: '5' }, 'price must be a number conforming to the specified constraints'],
    [{ title: 'T', services: ['a'], price: 5, currency: 'GBP' }, 'currency must be one of the following values: FCFA, EUR, USD'],
  ];
  for (const [body, msg] of bad) {
    const r = await api('POST', P, { token: u.token, body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.ok(r.body.message.includes(msg), `${JSON.stringify(body)} → ${JSON.stringify(r.body.message)}`);
  }
});

test('packages: someone else\'s package is 404 and stays untouched', async () => {
  const a = await newUser();
  const b = await newUser();
  const c = await api('POST', P, { token: a.token, body: { title: 'Mine', services: ['a'], price: 1 } });
  const id = c.body.package._id;
  assert.equal((await api('PUT', `${P}/${id}`, { token: b.token, body: { price: 2 } })).status, 404);
  assert.equal((await api('DELETE', `${P}/${id}`, { token: b.token })).status, 404);
  const mine = await api('GET', P, { token: a.token });
  assert.equal(mine.body.packages[0].price, 1);
});

test('packages need a token', async () => {
  assert.equal((await api('GET', P)).status, 401);
});
