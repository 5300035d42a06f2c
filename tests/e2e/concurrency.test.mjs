// Ordering, idempotency and paging under concurrent senders (SPEC.md §3).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser } from './helpers.mjs';
import {
  closeDb, db, direct, group, oid, seedMessages, send, unread,
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
    const conv = await (await db()).collection('conversations').findOne({ _id: oid(d._id) });
    assert.equal(conv.seq, 20);
    // Unread is derived from seq and each member's counters, not stored.
    assert.equal(conv.sentCounts[a.id], 20);
    assert.equal(await unread(b, d._id), 20);
    assert.equal(await unread(a, d._id), 0);
    // The newest by seq is the conversation's last message.
    assert.equal(conv.lastMessageId.toHexString(), rows[19]._id.toHexString());
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
