// Faults on the send path: a dead lock holder, a requester that leaves,
// derived state a crash left behind (issue "Faults", items 2-4).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { api, BASE, collect, connect, newUser, sleep } from './helpers.mjs';
import {
  closeDb, conversation, db, direct, oid, redis, send, sendOk, unread,
} from './chat-helpers.mjs';

after(closeDb);

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);

async function timed(p) {
  const t = Date.now();
  const r = await p;
  return { r, ms: Date.now() - t };
}

describe('fault 2: a dead lock holder', () => {
  it('holds up its own conversation for its lease, and nothing else', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const x = await direct(a, b);
    const y = await direct(a, c);
    // A holder that died with the lock: its key lives out its lease.
    redis('SET', `lock:conv:${x._id}`, 'dead', 'PX', '6000');
    const held = Date.now();
    const xs = Promise.all(range(20).map((i) => timed(send(a, x._id, `x${i}`))));
    await sleep(200);
    const ys = await Promise.all(range(5).map((i) => timed(send(a, y._id, `y${i}`))));
    for (const { r, ms } of ys) {
      assert.equal(r.status, 201, r.text);
      assert.ok(ms < 2000, `a send to another conversation took ${ms} ms`);
    }
    const h = await timed(api('GET', '/api/health'));
    assert.equal(h.r.status, 200);
    assert.ok(h.ms < 2000, `health took ${h.ms} ms`);
    // Once the lease is over, the waiting sends go through, in order.
    const done = await xs;
    assert.ok(Date.now() - held >= 5500, 'the lease held');
    assert.deepEqual(done.map(({ r }) => r.status), done.map(() => 201));
    assert.deepEqual(done.map(({ r }) => r.body.seq).sort((p, q) => p - q), range(20));
  });
});

// A raw POST whose client resets the connection ms after writing it.
function postAndLeave(token, path, body, ms) {
  return new Promise((resolve, reject) => {
    const url = new URL(BASE);
    const data = Buffer.from(JSON.stringify(body));
    let sent = false;
    const s = net.connect(Number(url.port), url.hostname, () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\n`
        + `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n`
        + `Content-Length: ${data.length}\r\n\r\n`);
      s.write(data);
      sent = true;
      setTimeout(() => { s.resetAndDestroy(); resolve(); }, ms);
    });
    // Once the request is out, a reset of the abandoned socket is expected.
    s.on('error', (e) => { if (!sent) reject(e); });
  });
}

describe('fault 3: the requester leaves', () => {
  it('a REST send stored after its client left is announced all the same', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const sb = await connect(b.token, { transports: ['websocket'] });
    try {
      const got = collect(sb, 'new_message');
      // Gone after 2 ms (before the reply) or 20 ms (before its batch).
      for (const i of range(20)) {
        await postAndLeave(a.token, `/api/conversations/${d._id}/messages`,
          { content: `gone ${i}` }, i % 2 ? 2 : 20);
      }
      await sleep(1000);
      const deadline = Date.now() + 15000;
      let rows = [];
      do {
        await sleep(200);
        rows = await (await db()).collection('messages').find({ conversationId: oid(d._id) }).toArray();
      } while (got.length < rows.length && Date.now() < deadline);
      // A request the server never read is not stored: every one it
      // stored is announced.
      assert.ok(rows.length >= 10, `stored ${rows.length} of 20`);
      assert.equal(got.length, rows.length, 'every stored message announced');
      assert.deepEqual(got.map((e) => e.message.seq).sort((p, q) => p - q), range(rows.length));
      assert.equal(await unread(b, d._id), rows.length);
    } finally {
      sb.close();
    }
  });
});

describe('fault 4: derived state a crash left behind', () => {
  it('a conversation whose head was lost is recounted by the next send', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    for (const i of range(5)) await sendOk(a, d._id, `m${i}`);
    // As if the process died after storing messages 3..5 but before
    // their conversation head moved: Redis lost it, the row is behind.
    redis('DEL', `conv:head:${d._id}`);
    await (await db()).collection('conversations').updateOne({ _id: oid(d._id) }, {
      $set: { seq: 2, lastMessage: 'm2', sentCounts: { [a.id]: 2 } },
    });
    const m = await sendOk(b, d._id, 'after the crash');
    assert.equal(m.seq, 6);
    assert.equal(await unread(b, d._id), 5);
    assert.equal(await unread(a, d._id), 1);
    const conv = await conversation(a, d._id);
    assert.equal(conv.seq, 6);
    assert.equal(conv.lastMessage, 'after the crash');
    const seqs = (await (await db()).collection('messages')
      .find({ conversationId: oid(d._id) }).toArray()).map((r) => r.seq).sort((p, q) => p - q);
    assert.deepEqual(seqs, range(6));
  });

  it('a stale head (Redis came back older) is recounted by the next send', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    for (const i of range(4)) await sendOk(a, d._id, `s${i}`);
    redis('HSET', `conv:head:${d._id}`, 'seq', '1', `u:${a.id}`, '1');
    const m = await sendOk(a, d._id, 'fifth');
    assert.equal(m.seq, 5);
    assert.equal(await unread(b, d._id), 5);
    assert.equal(await unread(a, d._id), 0);
  });
});
