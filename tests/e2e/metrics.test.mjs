// GET /api/metrics: Prometheus text exposition, node-wide counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { BASE, api, newUser } from './helpers.mjs';

// Parses the text format (0.0.4) strictly: every line is a comment, a
// blank line or `name{labels} value`. Returns {types, help, samples}.
export function parseProm(text) {
  const types = new Map();
  const help = new Map();
  const samples = [];
  const lineRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/;
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(!types.has(m[1]), `TYPE given twice for ${m[1]}`);
      types.set(m[1], m[2]);
      continue;
    }
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      help.set(m[1], m[2]);
      continue;
    }
    assert.ok(!line.startsWith('#'), `unknown comment: ${line}`);
    m = lineRe.exec(line);
    assert.ok(m, `malformed sample line: ${line}`);
    const labels = {};
    if (m[3] !== undefined && m[3] !== '') {
      labelRe.lastIndex = 0;
      let lm;
      let consumed = 0;
      while (consumed < m[3].length && (lm = labelRe.exec(m[3]))) {
        labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = labelRe.lastIndex;
      }
      assert.equal(consumed, m[3].length, `malformed labels: ${line}`);
    }
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return { types, help, samples };
}

function find(samples, name, labels = {}) {
  return samples.filter((s) => s.name === name &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(samples, name, labels = {}) {
  const got = find(samples, name, labels);
  return got.reduce((a, s) => a + s.value, 0);
}

// A scrape over a fresh TCP connection, so scrapes land on any worker.
function scrapeFresh() {
  return new Promise((resolve, reject) => {
    const req = http.get(`${BASE}/api/metrics`, { agent: false,
      headers: { connection: 'close', authorization: `Bearer ${process.env.METRICS_TOKEN}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode,
        type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
  });
}

function getFresh(path) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${BASE}${path}`, { agent: false,
      headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
}

test('metrics: Prometheus content type and a well-formed exposition', async () => {
  const r = await scrapeFresh();
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  const { types, help, samples } = parseProm(r.body);

  for (const [name, type] of [
    ['http_requests_total', 'counter'],
    ['http_request_duration_seconds', 'histogram'],
    ['lnk_socket_connections', 'gauge'],
    ['lnk_messages_sent_total', 'counter'],
    ['lnk_file_uploads_total', 'counter'],
    ['lnk_user_presence_events_total', 'counter'],
    ['lnk_conversations_created_total', 'counter'],
    ['lnk_service_offers_total', 'counter'],
    ['lnk_booking_requests_total', 'counter'],
    ['database_connection_status', 'gauge'],
    ['application_uptime_seconds', 'gauge'],
  ]) {
    assert.equal(types.get(name), type, `${name} has TYPE ${type}`);
    assert.ok(help.get(name), `${name} has HELP`);
  }

  // Each sample belongs to a declared family.
  for (const s of samples) {
    const base = s.name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(s.name) || types.get(base) === 'histogram',
      `sample ${s.name} has no TYPE`);
  }

  for (const t of ['websocket', 'polling']) {
    assert.equal(find(samples, 'lnk_socket_connections', { transport: t }).length, 1);
  }
  assert.equal(value(samples, 'database_connection_status', { database_type: 'mongodb' }), 1);
  assert.ok(value(samples, 'application_uptime_seconds') > 0);
});

test('metrics: HTTP counters and the histogram move, summed over workers', async () => {
  const route = '/api/health/status';
  const before = parseProm((await scrapeFresh()).body).samples;
  const n = 24;

  // Separate connections, several at a time: they spread over workers.
  const codes = await Promise.all(Array.from({ length: n }, () => getFresh(route)));
  assert.deepEqual(codes, Array(n).fill(200));

  // Every scrape, whichever worker answers it, sees all n requests.
  for (let i = 0; i < 4; i++) {
    const after = parseProm((await scrapeFresh()).body).samples;
    const labels = { method: 'GET', route, status: '200' };
    assert.equal(value(after, 'http_requests_total', labels) -
      value(before, 'http_requests_total', labels), n);

    const h = { method: 'GET', route };
    const count = value(after, 'http_request_duration_seconds_count', h);
    assert.equal(count - value(before, 'http_request_duration_seconds_count', h), n);
    const buckets = find(after, 'http_request_duration_seconds_bucket', h);
    assert.ok(buckets.length >= 2);
    let last = 0;
    for (const b of buckets) {
      assert.ok(b.value >= last, 'buckets are cumulative');
      last = b.value;
    }
    const inf = buckets.find((b) => b.labels.le === '+Inf');
    assert.equal(inf.value, count);
  }
});

test('metrics: unmatched API routes are counted under one label, not by path', async () => {
  const r1 = await api('GET', '/api/no-such-route-1a');
  const r2 = await api('GET', '/api/no-such-route-2b');
  assert.equal(r1.status, 404);
  assert.equal(r2.status, 404);
  const { samples } = parseProm((await scrapeFresh()).body);
  assert.ok(value(samples, 'http_requests_total',
    { route: 'unmatched', status: '404' }) >= 2);
  assert.equal(samples.filter((s) => (s.labels.route || '').includes('no-such-route')).length, 0);
});

test('metrics: conversations, messages, offers and bookings are counted once per stored item', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const before = parseProm((await scrapeFresh()).body).samples;
  const conv = await api('POST', '/api/conversations', {
    token: a.token, body: { participants: [b.id], type: 'direct' } });
  assert.equal(conv.status, 201);
  const cid = conv.body._id;
  const send = (body) => api('POST', `/api/conversations/${cid}/messages`, { token: a.token, body });
  assert.equal((await send({ content: 'one', clientMessageId: 'm-1' })).status, 201);
  assert.equal((await send({ content: 'one', clientMessageId: 'm-1' })).status, 200, 'replay');
  const pkg = await api('POST', '/api/users/profile/packages', {
    token: a.token, body: { title: 'P', services: ['s'], price: 10 } });
  const pkgB = await api('POST', '/api/users/profile/packages', {
    token: b.token, body: { title: 'Q', services: ['s'], price: 20 } });
  assert.equal((await api('POST', `/api/conversations/${cid}/messages/service-offer`, {
    token: a.token, body: { servicePackageId: pkg.body.package._id } })).status, 201);
  assert.equal((await api('POST', `/api/conversations/${cid}/messages/booking-request`, {
    token: a.token, body: { servicePackageId: pkgB.body.package._id } })).status, 201);
  const after = parseProm((await scrapeFresh()).body).samples;
  const delta = (name, labels) => value(after, name, labels) - value(before, name, labels);
  assert.equal(delta('lnk_conversations_created_total', { type: 'direct' }), 1);
  assert.equal(delta('lnk_messages_sent_total', { type: 'text' }), 1);
  assert.equal(delta('lnk_messages_sent_total', { type: 'service_offer' }), 1);
  assert.equal(delta('lnk_messages_sent_total', { type: 'booking_request' }), 1);
  assert.equal(delta('lnk_service_offers_total', {}), 1);
  assert.equal(delta('lnk_booking_requests_total', {}), 1);
});
