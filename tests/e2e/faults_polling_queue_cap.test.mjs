// A polling client that stops polling while events keep coming is
// dropped once more than SOCKET_QUEUE_MAX bytes are queued for it, as a
// websocket client that stops reading is; one that keeps polling is not.
// The server is one of our own with a small cap (64 KiB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { io } from 'socket.io-client';
import { api, newUser, sleep, startServer } from './helpers.mjs';

const CAP = 65536;

async function polling(base, token) {
  const url = (sid) => `${base}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`;
  const hs = await (await fetch(url())).text();
  const sid = JSON.parse(hs.slice(1)).sid;
  const r = await fetch(url(sid), { method: 'POST', body: `40/chat,${JSON.stringify({ token })}` });
  assert.equal(r.status, 200);
  const c = {
    sid,
    async get() {
      const res = await fetch(url(sid));
      return { status: res.status, body: await res.text() };
    },
  };
  let got = '';
  while (!got.includes('40/chat,')) {
    const g = await c.get();
    assert.equal(g.status, 200, g.body);
    got += g.body;
  }
  return c;
}

test('a polling client that stops polling is dropped once SOCKET_QUEUE_MAX bytes are queued for it', async () => {
  const server = await startServer({ SOCKET_QUEUE_MAX: String(CAP) });
  let reader;
  try {
    const a = await newUser();
    const b = await newUser();
    const r = await api('POST', '/api/conversations', {
      token: a.token, body: { participants: [b.id], type: 'direct' },
    });
    assert.equal(r.status, 201, r.text);
    const conv = r.body._id;
    const say = async (content) => {
      const m = await api('POST', `/api/conversations/${conv}/messages`, {
        base: server.base, token: a.token, body: { content },
      });
      assert.equal(m.status, 201, m.text);
      return m.body;
    };

    // The sender reads everything, over polling too.
    reader = io(`${server.base}/chat`, {
      auth: { token: a.token }, forceNew: true, reconnection: false, transports: ['polling'],
    });
    await new Promise((resolve, reject) => {
      reader.once('connect', resolve);
      reader.once('connect_error', reject);
    });
    const heard = new Set();
    reader.on('new_message', (e) => heard.add(e.message._id));
    let readerGone = null;
    reader.on('disconnect', (why) => { readerGone = why; });

    // Under the cap a stopped client only waits: its GET gets it all.
    const b1 = await polling(server.base, b.token);
    const first = await say('small');
    let got = '';
    while (!got.includes(first._id)) {
      const g = await b1.get();
      assert.equal(g.status, 200, g.body);
      got += g.body;
    }

    // Then b stops polling; twice the cap arrives for it.
    const big = 'x'.repeat(3900);
    const sent = [];
    while (sent.length * big.length < 2 * CAP) sent.push((await say(big))._id);
    await sleep(500);

    const after = await b1.get();
    assert.equal(after.status, 400, `the session is gone: ${after.body.slice(0, 200)}`);
    assert.deepEqual(JSON.parse(after.body), { code: 1, message: 'Session ID unknown' });
    const log = fs.readFileSync(server.logPath, 'utf8');
    assert.match(log, new RegExp(`eio ${b1.sid}: dropping a polling client that does not poll \\(over ${CAP} bytes queued\\)`));

    // The reader polled all along: connected, and it heard every message.
    for (let i = 0; i < 100 && !sent.every((id) => heard.has(id)); i++) await sleep(100);
    assert.equal(readerGone, null);
    assert.ok(sent.every((id) => heard.has(id)), `the reader heard ${heard.size} of ${sent.length + 1}`);

    // And b can come back.
    const b2 = await polling(server.base, b.token);
    const again = await say('welcome back');
    got = '';
    while (!got.includes(again._id)) {
      const g = await b2.get();
      assert.equal(g.status, 200, g.body);
      got += g.body;
    }
  } finally {
    if (reader) reader.close();
    server.stop();
  }
});

test('config: a bad SOCKET_QUEUE_MAX stops start-up naming the variable', async () => {
  for (const v of ['16M', '100', '-1']) {
    const child = spawn('kore', ['-fnrc', process.env.KORE_CONF], {
      env: { PATH: process.env.PATH, JWT_SECRET: 'config-test-secret-0123456789', PORT: '1', SOCKET_QUEUE_MAX: v },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        resolve('timeout');
      }, 10000);
      child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    assert.notEqual(code, 0, v);
    assert.notEqual(code, 'timeout', out);
    assert.match(out, /SOCKET_QUEUE_MAX must be a whole number from 65536 to 1073741824/, v);
  }
});
