// Ordering, idempotency and paging under concurrent senders (SPEC.md §3).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, collect, connect, newUser, sleep } from './helpers.mjs';
import {
  closeDb, conversation, db, direct, group, oid, seedMessages, send, sendOk, unread,
} from './chat-helpers.mjs';

after(closeDb);

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);

describe('concurrent sends', () => {
  it('20 concurrent sends get seq 1..20 with no gap or repeat, unread 20', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const res = await Promise.all(range(20).map((i) => send(a, d._id, `c${i}`)));
    assert.deepEqual(res.map((r) => r.status), res.map(() => 201));
    assert.deepEqual(res.map((r) => r.body.seq).sort((x, y) => x - y), range(20));
    const rows = await (await db()).collection('messages')
      .find({ conversationId: oid(d._id) }).sort({ seq: 1 }).toArray();
    assert.deepEqual(rows.map((m) => m.seq), range(20));
    const conv = await conversation(a, d._id);
    assert.equal(conv.seq, 20);
    // Unread is derived from seq and each member's counters, not stored.
    assert.equal(await unread(b, d._id), 20);
    assert.equal(await unread(a, d._id), 0);
    // The newest by seq is the conversation's last message.
    assert.equal(conv.lastMessageId, rows[19]._id.toHexString());
  });

  it('two senders at once in a group: every unread count matches', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const g = await group(a, [b, c], 'Busy');
    await Promise.all([
      ...range(10).map((i) => send(a, g._id, `a${i}`)),
      ...range(10).map((i) => send(b, g._id, `b${i}`)),
    ]);
    assert.equal(await unread(a, g._id), 10);
    assert.equal(await unread(b, g._id), 10);
    assert.equal(await unread(c, g._id), 20);
    const seqs = (await (await db()).collection('messages')
      .find({ conversationId: oid(g._id) }).toArray()).map((m) => m.seq).sort((x, y) => x - y);
    assert.deepEqual(seqs, range(20));
  });

  it('the conversation row catches up with its head once the conversation is quiet', async () => {
    // Sends move the head (Redis); the row is its checkpoint (5 s quiet).
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    await Promise.all(range(5).map((i) => send(a, d._id, `q${i}`)));
    const last = await sendOk(b, d._id, 'quiet now');
    const deadline = Date.now() + 20000;
    let row;
    do {
      await new Promise((r) => setTimeout(r, 500));
      row = await (await db()).collection('conversations').findOne({ _id: oid(d._id) });
    } while (row.seq !== 6 && Date.now() < deadline);
    assert.equal(row.seq, 6);
    assert.equal(row.lastMessage, 'quiet now');
    assert.equal(row.lastMessageId.toHexString(), last._id);
    assert.equal(row.sentCounts[a.id], 5);
    assert.equal(row.sentCounts[b.id], 1);
    assert.equal(await unread(b, d._id), 5);
    assert.equal(await unread(a, d._id), 1);
  });

  it('10 concurrent sends with one clientMessageId store one message', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const res = await Promise.all(range(10).map(() => send(a, d._id, {
      content: 'once', clientMessageId: 'retry-me',
    })));
    const statuses = res.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal(new Set(res.map((r) => r.body._id)).size, 1);
    assert.equal(res[0].body.clientMessageId, 'retry-me');
    const n = await (await db()).collection('messages').countDocuments({ conversationId: oid(d._id) });
    assert.equal(n, 1);
    assert.equal(await unread(b, d._id), 1);
    // Another sender may use the same clientMessageId.
    const r = await send(b, d._id, { content: 'mine', clientMessageId: 'retry-me' });
    assert.equal(r.status, 201);
    assert.equal(r.body.seq, 2);
  });
});

// 1,000 stored messages (seeded through the driver with the server's
// document shape), paged with cursors while another client keeps sending.
async function seed(conv, a, b, n) {
  await seedMessages(conv, [a, b], n);
}

describe('history paging while messages arrive', () => {
  it('cursors over 1,000 messages never skip or repeat', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    await seed(d._id, a, b, 1000);

    let sending = true;
    let sent = 0;
    const sender = (async () => {
      while (sending) {
        const r = await send(b, d._id, `live ${sent}`);
        assert.equal(r.status, 201);
        sent += 1;
      }
    })();

    const get = async (q) => {
      const r = await api('GET', `/api/conversations/${d._id}/messages?limit=100&${q}`, { token: a.token });
      assert.equal(r.status, 200, r.text);
      return r.body;
    };

    // Backwards from the newest page, as a client scrolling up.
    let page = await get('page=1');
    const top = page.messages[page.messages.length - 1].seq;
    const back = page.messages.map((m) => m.seq);
    while (page.pagination.prevCursor !== null && page.messages.length > 0) {
      page = await get(`beforeSeq=${page.pagination.prevCursor}`);
      back.unshift(...page.messages.map((m) => m.seq));
      if (!page.pagination.hasPrev) break;
    }
    assert.deepEqual(back, range(top), 'scrolling up saw every message once');

    // Forwards from the start, as a client catching up; once caught up,
    // the sender stops and what it sent meanwhile is fetched too.
    const fwd = [];
    let cursor = 0;
    for (;;) {
      page = await get(`afterSeq=${cursor}`);
      fwd.push(...page.messages.map((m) => m.seq));
      cursor = page.pagination.nextCursor;
      if (page.pagination.hasNext) continue;
      if (!sending) break;
      sending = false;
      await sender;
    }

    assert.ok(sent > 0, 'messages arrived while paging');
    assert.deepEqual(fwd, range(1000 + sent), 'catching up saw every message once, in order');
  });
});

describe('group commit under load', () => {
  it('500 messages from 10 clients into one group: seq, counts and every stream', async () => {
    const users = [];
    for (let i = 0; i < 10; i++) users.push(await newUser());
    const g = await group(users[0], users.slice(1), 'Load');
    // Every member listens on a websocket and on a polling socket: the
    // sockets land on both workers.
    const sockets = [];
    const streams = [];
    for (const [i, u] of users.entries()) {
      const s = await connect(u.token, { transports: i % 2 ? ['polling'] : ['websocket'] });
      sockets.push(s);
      streams.push(collect(s, 'new_message'));
    }
    try {
      // 10 clients × 50 sends at once, half over REST, half over the socket.
      const acks = await Promise.all(users.flatMap((u, i) => range(50).map(async (k) => {
        const body = { content: `m ${i}.${k}`, clientMessageId: `c-${i}-${k}` };
        if (k % 2) {
          const r = await send(u, g._id, body);
          assert.equal(r.status, 201, r.text);
          return r.body;
        }
        const ack = await sockets[i].timeout(30000).emitWithAck('send_message',
          { conversationId: g._id, message: body });
        assert.equal(ack.success, true, ack.error);
        return ack.message;
      })));
      assert.equal(acks.length, 500);
      assert.deepEqual(acks.map((m) => m.seq).sort((x, y) => x - y), range(500));

      const rows = await (await db()).collection('messages')
        .find({ conversationId: oid(g._id) }).toArray();
      assert.deepEqual(rows.map((m) => m.seq).sort((x, y) => x - y), range(500));
      assert.equal(new Set(rows.map((m) => m.clientMessageId)).size, 500);

      // Every receiver hears each message once (order by seq is the
      // client's: events of two workers may interleave).
      const deadline = Date.now() + 20000;
      while (streams.some((st) => st.length < 500) && Date.now() < deadline) await sleep(100);
      for (const [i, st] of streams.entries()) {
        const seqs = st.map((e) => e.message.seq).sort((x, y) => x - y);
        assert.deepEqual(seqs, range(500), `receiver ${i}`);
      }

      // Everyone has everything from the 9 others unread, nothing of theirs.
      for (const u of users) assert.equal(await unread(u, g._id), 450);
      const conv = await conversation(users[0], g._id);
      assert.equal(conv.seq, 500);
      const last = rows.find((m) => m.seq === 500);
      assert.equal(conv.lastMessageId, last._id.toHexString());
      assert.equal(conv.lastMessage, last.content);

      // A replay of every send changes nothing and announces nothing.
      const before = streams.map((st) => st.length);
      const again = await Promise.all(users.map((u, i) => send(u, g._id,
        { content: 'dup', clientMessageId: `c-${i}-1` })));
      assert.deepEqual(again.map((r) => r.status), users.map(() => 200));
      await sleep(300);
      assert.deepEqual(streams.map((st) => st.length), before);
      assert.equal((await conversation(users[0], g._id)).seq, 500);
    } finally {
      for (const s of sockets) s.close();
    }
  });
});
