// Security review item 1: no JSON the server reads may kill a worker.
// Every parser has bounded depth (src/lib/json_arena.c): REST bodies,
// socket payloads and bus records from Redis, however deep, leave every
// worker's pid unchanged, and a REST body that is too deep is a 400.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { BASE, api, connect, newUser, once, sleep, workerPids } from './helpers.mjs';

// The two bodies of the review, as sent with curl --data-binary.
const DEEP_ARRAY = '['.repeat(300000) + ']'.repeat(300000);
const DEEP_OBJECT = '{"a":'.repeat(170000);

// A POST over a connection of its own, so that they spread over workers.
function postFresh(path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${BASE}${path}`, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body),
        connection: 'close', ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Workers die after answering: give the parent time to notice.
async function assertSameWorkers(before) {
  await sleep(500);
  assert.deepEqual(workerPids(), before, 'a worker died and was restarted');
  assert.equal((await api('GET', '/api/health/live')).status, 200);
}

test('item 1: 300,000 nested arrays in a login body are a 400, every worker lives', async () => {
  const before = workerPids();
  assert.equal(before.length, 2);
  for (let i = 0; i < 4; i++) {
    const r = await postFresh('/api/auth/login', DEEP_ARRAY);
    assert.equal(r.status, 400);
    assert.equal(r.body.statusCode, 400);
    assert.match(r.body.message, /nested too deeply/);
  }
  await assertSameWorkers(before);
});

test('item 1: an authenticated 1 MB body of {"a": nested 170,000 deep is a 400, every worker lives', async () => {
  const u = await newUser();
  const before = workerPids();
  for (const path of ['/api/conversations', '/api/users/profile/packages']) {
    for (let i = 0; i < 2; i++) {
      const r = await postFresh(path, DEEP_OBJECT, { authorization: `Bearer ${u.token}` });
      assert.equal(r.status, 400, path);
      assert.match(r.body.message, /nested too deeply/, path);
    }
  }
  await assertSameWorkers(before);
});

test('item 1: the deepest body allowed (64 levels) is parsed, one more is refused', async () => {
  const ok = await api('POST', '/api/auth/login', {
    raw: `{"email":${'['.repeat(63)}${']'.repeat(63)}}`, headers: { 'content-type': 'application/json' } });
  assert.equal(ok.status, 400);
  assert.doesNotMatch(JSON.stringify(ok.body.message), /nested too deeply/);
  const deep = await api('POST', '/api/auth/login', {
    raw: `{"email":${'['.repeat(64)}${']'.repeat(64)}}`, headers: { 'content-type': 'application/json' } });
  assert.equal(deep.status, 400);
  assert.equal(deep.body.message, 'JSON in request body is nested too deeply (at most 64 levels)');
});

// socket.io-client cannot encode such a payload (its binary check
// recurses), so the packets are written raw on its Engine.IO socket.
test('item 1: a 10,000-deep socket payload and socket auth leave every worker alive', async () => {
  const u = await newUser();
  const before = workerPids();
  const deepObject = '{"a":'.repeat(10000) + '{}' + '}'.repeat(10000);
  const deepArray = '['.repeat(10000) + ']'.repeat(10000);
  const packets = [
    `2/chat,["send_message",${deepObject}]`,
    `2/chat,7["join_conversation",${deepArray}]`,
    `0/chat,{"token":"${u.token}","deep":${deepArray}}`,
  ];
  for (const transports of [['websocket'], ['polling']]) {
    for (const p of packets) {
      const s = await connect(u.token, { transports });
      const gone = once(s, 'disconnect', 3000).catch(() => 'still connected');
      s.io.engine.write(p);
      await Promise.race([gone, sleep(500)]);
      s.close();
    }
  }
  await assertSameWorkers(before);
  // And the socket layer still works.
  const t = await connect(u.token);
  t.close();
});

// A bus record as src/socketio/bus.c frames it, from another node.
function busRecord(room, event, data) {
  const str16 = (s) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const node = Buffer.from('review1node');
  const d = Buffer.from(data);
  const dlen = Buffer.alloc(4);
  dlen.writeUInt32BE(d.length);
  return Buffer.concat([Buffer.from('LNK1'), Buffer.from([node.length]), node,
    Buffer.from([1]), str16('/chat'), str16(room), str16(event), str16(''), dlen, d]);
}

test('item 1: a 10,000-deep bus record published on Redis leaves every worker alive', async () => {
  const u = await newUser();
  const sockets = [await connect(u.token, { transports: ['websocket'] }),
    await connect(u.token, { transports: ['websocket'] })];
  const before = workerPids();
  const got = Promise.all(sockets.map((s) => once(s, 'review_deep', 5000)));
  const deep = '['.repeat(10000) + ']'.repeat(10000);
  execFileSync('redis-cli', ['-p', process.env.REDIS_PORT || '6379', '-x', 'PUBLISH', 'lnk-chat:bus'],
    { input: busRecord(`user:${u.id}`, 'review_deep', deep) });
  // Not JSON at all, and a record that lies about its lengths.
  execFileSync('redis-cli', ['-p', process.env.REDIS_PORT || '6379', '-x', 'PUBLISH', 'lnk-chat:bus'],
    { input: Buffer.concat([busRecord(`user:${u.id}`, 'review_deep', '{"a":'.repeat(10000)).subarray(0, 60),
      Buffer.from([0xff, 0xff, 0xff, 0xff])]) });
  const arrived = await got;
  assert.equal(arrived.length, 2);
  for (const s of sockets) s.close();
  await assertSameWorkers(before);
});
