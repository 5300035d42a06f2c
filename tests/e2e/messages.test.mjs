// Message routes: every route's success shape and error statuses.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser } from './helpers.mjs';
import {
  closeDb, conversation, db, direct, group, isPublicUser, oid, redis, send, sendOk, unread,
} from './chat-helpers.mjs';

after(closeDb);

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function messages(r) {
  return Array.isArray(r.body.message) ? r.body.message : [r.body.message];
}

async function pkg(user, extra = {}) {
  const r = await api('POST', '/api/users/profile/packages', {
    token: user.token,
    body: { title: 'Massage', services: ['massage'], price: 50, currency: 'EUR', duration: '1h', ...extra },
  });
  if (r.status !== 201) throw new Error(`package: ${r.status} ${r.text}`);
  return r.body.package;
}

describe('POST /api/conversations/:id/messages', () => {
  it('201 MSG with a public sender, seq, rate-limit headers and a stored row', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const r = await send(a, d._id, { content: 'Hello', type: 'text', metadata: { k: 1 } });
    assert.equal(r.status, 201);
    const m = r.body;
    assert.equal(m.id, m._id);
    assert.equal(m.conversationId, d._id);
    assert.ok(isPublicUser(m.senderId));
    assert.equal(m.senderId.id, a.id);
    assert.equal(m.content, 'Hello');
    assert.equal(m.type, 'text');
    assert.deepEqual(m.metadata, { k: 1 });
    assert.match(m.readBy[a.id], ISO);
    assert.deepEqual(m.reactions, []);
    assert.deepEqual(m.reactionTypes, {});
    assert.deepEqual(m.deletedFor, []);
    assert.equal(m.isForwarded, false);
    assert.equal(m.seq, 1);
    assert.equal(m.clientMessageId, m._id);
    assert.match(m.createdAt, ISO);
    assert.ok(Number(r.headers.get('x-ratelimit-limit')) > 0);
    assert.ok(r.headers.get('x-ratelimit-remaining') !== null);
    assert.ok(Number(r.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
    const row = await (await db()).collection('messages').findOne({ _id: oid(m._id) });
    assert.equal(row.seq, 1);
    assert.equal(row.senderId.toHexString(), a.id);
    const conv = await conversation(a, d._id);
    assert.equal(conv.lastMessage, 'Hello');
    assert.equal(conv.lastMessageId, m._id);
    assert.equal(conv.seq, 1);
    // Unread counts are derived, not stored: from seq and the counters.
    assert.equal(await unread(b, d._id), 1);
    assert.equal(await unread(a, d._id), 0);
  });

  it('content rules: controls removed, characters counted, limits enforced', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    let r = await send(a, d._id, 'a\u0001b\r\nc\td\u007f\u0085e');
    assert.equal(r.status, 201);
    assert.equal(r.body.content, 'ab\nc\tde');
    // 4000 four-byte characters are 4000 characters, not 16000 bytes.
    r = await send(a, d._id, '😀'.repeat(4000));
    assert.equal(r.status, 201, r.text);
    r = await send(a, d._id, 'x'.repeat(4001));
    assert.equal(r.status, 400);
    assert.deepEqual(messages(r), ['content must be shorter than or equal to 4000 characters']);
  });

  it('400 for every malformed send', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const cases = [
      [{}, 'content should not be empty'],
      [{ content: '' }, 'content should not be empty'],
      [{ content: ' \n\t ' }, 'content should not be empty'],
      [{ content: 42 }, 'content must be a string'],
      [{ content: 'x', type: 'system' }, 'type must be one of the following values: text, image, file, video, audio, service_offer, booking_request, location'],
      [{ content: 'x', type: 'sticker' }, 'type must be one of the following values: text, image, file, video, audio, service_offer, booking_request, location'],
      [{ content: 'x', metadata: [1] }, 'metadata must be an object'],
      [{ content: 'x', metadata: { fileUrl: 'javascript:alert(1)' } }, 'metadata.fileUrl must be an http(s) URL or a path under /upload/'],
      [{ content: 'x', metadata: { thumbnailUrl: 'data:image/png;base64,xx' } }, 'metadata.thumbnailUrl must be an http(s) URL or a path under /upload/'],
      [{ content: 'x', metadata: { nested: { imageUrl: 'vbscript:x' } } }, 'metadata.nested.imageUrl must be an http(s) URL or a path under /upload/'],
      [{ content: 'x', metadata: { $where: '1' } }, "metadata has an invalid key (keys must not be empty, start with '$' or contain '.')"],
      [{ content: 'x', replyToId: 'abc' }, 'replyToId must be a mongodb id'],
      [{ content: 'x', forwardedFromId: 12 }, 'forwardedFromId must be a mongodb id'],
      [{ content: 'x', clientMessageId: 'c'.repeat(65) }, 'clientMessageId must be shorter than or equal to 64 characters'],
    ];
    for (const [body, msg] of cases) {
      const r = await send(a, d._id, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(messages(r).includes(msg), `${JSON.stringify(body)} → ${r.text}`);
    }
    const ok = await send(a, d._id, { content: 'file', type: 'file', metadata: { fileUrl: '/upload/chat/documents/a.pdf', thumbnailUrl: 'https://cdn.example/t.png' } });
    assert.equal(ok.status, 201);
    const r = await api('POST', `/api/conversations/${d._id}/messages`, {
      token: a.token, raw: '{"content": "bad', headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 400);
  });

  it('404 for non-participants, 400 for a malformed conversation id', async () => {
    const [a, b, x] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    let r = await send(x, d._id, 'hi');
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'Conversation not found');
    assert.ok(r.headers.get('x-ratelimit-limit'), 'limited routes always carry the headers');
    r = await send(a, oid().toHexString(), 'hi');
    assert.equal(r.status, 404);
    r = await send(a, 'not-an-id', 'hi');
    assert.equal(r.status, 400);
  });

  it('each send counts once against the limit, checked on a task or on the loop', async () => {
    // The first send reads the memos from the database (a task); the
    // later ones are checked on the loop and counted with their batch.
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const left = [];
    for (let i = 0; i < 5; i++) {
      const r = await send(a, d._id, `n${i}`);
      assert.equal(r.status, 201);
      left.push(Number(r.headers.get('x-ratelimit-remaining')));
    }
    for (let i = 1; i < left.length; i++) assert.equal(left[i], left[0] - i, `remaining ${left}`);
    assert.equal(redis('GET', `ratelimit:messages:${a.id}`), '5');
    // Concurrent sends share a batch and still count one each.
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => send(a, d._id, `c${i}`)));
    assert.deepEqual(rs.map((r) => r.status), Array(8).fill(201));
    const seen = rs.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((x, y) => y - x);
    assert.deepEqual(seen, Array.from({ length: 8 }, (_, i) => left[4] - 1 - i));
    assert.equal(redis('GET', `ratelimit:messages:${a.id}`), '13');
  });

  it('429 with Retry-After and X-RateLimit-* over RATE_LIMIT_MESSAGES', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const first = await send(a, d._id, 'one');
    const limit = Number(first.headers.get('x-ratelimit-limit'));
    redis('SET', `ratelimit:messages:${a.id}`, String(limit), 'EX', '120');
    const r = await send(a, d._id, 'two');
    assert.equal(r.status, 429);
    assert.equal(r.body.message, 'Rate limit exceeded');
    assert.equal(r.headers.get('x-ratelimit-limit'), String(limit));
    assert.equal(r.headers.get('x-ratelimit-remaining'), '0');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry > 0 && retry <= 120, `Retry-After ${retry}`);
    assert.ok(Number(r.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
    // Offers, bookings and locations count against the same limit.
    const loc = await api('POST', `/api/conversations/${d._id}/messages/location`, {
      token: a.token, body: { latitude: 1, longitude: 2 },
    });
    assert.equal(loc.status, 429);
    assert.equal(await (await db()).collection('messages').countDocuments({ conversationId: oid(d._id) }), 1);
    redis('DEL', `ratelimit:messages:${a.id}`);
    assert.equal((await send(a, d._id, 'three')).status, 201);
  });

  it('replies must name a visible message of the conversation; forwards copy it', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    const other = await direct(b, c);
    const orig = await sendOk(a, d._id, { content: 'original', type: 'location', metadata: { latitude: 1, longitude: 2 } });
    let r = await send(b, d._id, { content: 're', replyToId: orig._id });
    assert.equal(r.status, 201);
    assert.equal(r.body.replyToId._id, orig._id);
    assert.equal(r.body.replyToId.content, 'original');
    const foreign = await sendOk(c, other._id, 'elsewhere');
    r = await send(a, d._id, { content: 're', replyToId: foreign._id });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'replyToId must refer to a message you can see in this conversation');
    r = await send(a, d._id, { content: 're', replyToId: oid().toHexString() });
    assert.equal(r.status, 400);
    // b forwards a's message into the conversation with c.
    r = await send(b, other._id, { forwardedFromId: orig._id });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.isForwarded, true);
    assert.equal(r.body.forwardedFromId, orig._id);
    assert.equal(r.body.content, 'original');
    assert.equal(r.body.type, 'location');
    assert.deepEqual(r.body.metadata, { latitude: 1, longitude: 2 });
    // a cannot forward what only b and c can see.
    r = await send(a, d._id, { forwardedFromId: foreign._id });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'forwardedFromId must refer to a message you can see');
  });
});

describe('offers, bookings, locations', () => {
  it('service-offer: the sender\'s active package', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const p = await pkg(a);
    let r = await api('POST', `/api/conversations/${d._id}/messages/service-offer`, {
      token: a.token, body: { servicePackageId: p._id },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.type, 'service_offer');
    assert.equal(r.body.content, 'Service proposé: Massage');
    assert.deepEqual(r.body.metadata, {
      servicePackageId: p._id, serviceName: 'Massage', price: 50, currency: 'EUR', duration: '1h',
    });
    r = await api('POST', `/api/conversations/${d._id}/messages/service-offer`, {
      token: a.token, body: { servicePackageId: p._id, message: 'Special for you' },
    });
    assert.equal(r.body.content, 'Special for you');
    r = await api('POST', `/api/conversations/${d._id}/messages/service-offer`, {
      token: b.token, body: { servicePackageId: p._id },
    });
    assert.equal(r.status, 404, 'b does not own it');
    assert.equal(r.body.message, 'Service package not found');
    const off = await pkg(a, { isActive: false });
    r = await api('POST', `/api/conversations/${d._id}/messages/service-offer`, {
      token: a.token, body: { servicePackageId: off._id },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'Service package is not active');
    r = await api('POST', `/api/conversations/${d._id}/messages/service-offer`, { token: a.token, body: {} });
    assert.equal(r.status, 400);
    const x = await newUser();
    r = await api('POST', `/api/conversations/${d._id}/messages/service-offer`, {
      token: x.token, body: { servicePackageId: p._id },
    });
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'Conversation not found');
  });

  it('booking-request: the package owner\'s (other participant or providerId)', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    const p = await pkg(b, { title: 'Dinner' });
    let r = await api('POST', `/api/conversations/${d._id}/messages/booking-request`, {
      token: a.token,
      body: { servicePackageId: p._id, requestedDate: '2030-05-01', requestedTime: '19:30' },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.type, 'booking_request');
    assert.equal(r.body.content, 'Demande de réservation: Dinner');
    assert.equal(r.body.metadata.providerId, b.id);
    assert.equal(r.body.metadata.requestedDate, '2030-05-01T00:00:00.000Z');
    assert.equal(r.body.metadata.requestedTime, '19:30');
    assert.equal(r.body.metadata.serviceName, 'Dinner');
    const g = await group(a, [b, c], 'Bookers');
    r = await api('POST', `/api/conversations/${g._id}/messages/booking-request`, {
      token: a.token, body: { servicePackageId: p._id },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'providerId is required in group conversations');
    r = await api('POST', `/api/conversations/${g._id}/messages/booking-request`, {
      token: a.token, body: { servicePackageId: p._id, providerId: b.id },
    });
    assert.equal(r.status, 201);
    r = await api('POST', `/api/conversations/${g._id}/messages/booking-request`, {
      token: a.token, body: { servicePackageId: p._id, providerId: c.id },
    });
    assert.equal(r.status, 404, 'c has no such package');
    r = await api('POST', `/api/conversations/${g._id}/messages/booking-request`, {
      token: a.token, body: { servicePackageId: p._id, providerId: a.id },
    });
    assert.equal(r.status, 400);
    r = await api('POST', `/api/conversations/${d._id}/messages/booking-request`, {
      token: a.token, body: { servicePackageId: p._id, requestedDate: 'tomorrow' },
    });
    assert.equal(r.status, 400);
    assert.deepEqual(messages(r), ['requestedDate must be a valid ISO 8601 date string']);
    const off = await pkg(b, { isActive: false });
    r = await api('POST', `/api/conversations/${d._id}/messages/booking-request`, {
      token: a.token, body: { servicePackageId: off._id },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'Service package is not active');
  });

  it('location: numbers in range', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    let r = await api('POST', `/api/conversations/${d._id}/messages/location`, {
      token: a.token, body: { latitude: 48.8566, longitude: 2.3522, address: 'Paris' },
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.type, 'location');
    assert.equal(r.body.content, 'Localisation partagée');
    assert.deepEqual(r.body.metadata, { latitude: 48.8566, longitude: 2.3522, address: 'Paris' });
    for (const body of [{}, { latitude: '1', longitude: 2 }, { latitude: 91, longitude: 0 }, { latitude: 0, longitude: -181 }]) {
      r = await api('POST', `/api/conversations/${d._id}/messages/location`, { token: a.token, body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
  });
});

describe('GET /api/conversations/:id/messages', () => {
  it('pages newest first, each page oldest first, with cursors', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    for (let i = 1; i <= 7; i++) await sendOk(i % 2 ? a : b, d._id, `m${i}`);
    let r = await api('GET', `/api/conversations/${d._id}/messages?limit=3`, { token: a.token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.messages.map((m) => m.content), ['m5', 'm6', 'm7']);
    assert.deepEqual(r.body.pagination, {
      page: 1, limit: 3, totalPages: 3, totalCount: 7, hasNext: true, hasPrev: false, nextCursor: 7, prevCursor: 5,
    });
    for (const m of r.body.messages) assert.ok(isPublicUser(m.senderId));
    r = await api('GET', `/api/conversations/${d._id}/messages?limit=3&page=3`, { token: a.token });
    assert.deepEqual(r.body.messages.map((m) => m.content), ['m1']);
    r = await api('GET', `/api/conversations/${d._id}/messages?limit=3&beforeSeq=5`, { token: a.token });
    assert.deepEqual(r.body.messages.map((m) => m.seq), [2, 3, 4]);
    assert.equal(r.body.pagination.hasPrev, true);
    assert.equal(r.body.pagination.hasNext, true);
    assert.equal(r.body.pagination.prevCursor, 2);
    r = await api('GET', `/api/conversations/${d._id}/messages?limit=3&beforeSeq=2`, { token: a.token });
    assert.deepEqual(r.body.messages.map((m) => m.seq), [1]);
    assert.equal(r.body.pagination.hasPrev, false);
    r = await api('GET', `/api/conversations/${d._id}/messages?limit=3&afterSeq=0`, { token: a.token });
    assert.deepEqual(r.body.messages.map((m) => m.seq), [1, 2, 3]);
    assert.equal(r.body.pagination.nextCursor, 3);
    assert.equal(r.body.pagination.hasNext, true);
    r = await api('GET', `/api/conversations/${d._id}/messages?limit=3&afterSeq=6`, { token: a.token });
    assert.deepEqual(r.body.messages.map((m) => m.seq), [7]);
    assert.equal(r.body.pagination.hasNext, false);
    r = await api('GET', `/api/conversations/${d._id}/messages?afterSeq=7`, { token: a.token });
    assert.deepEqual(r.body.messages, []);
    assert.equal(r.body.pagination.nextCursor, 7, 'an empty page keeps the cursor');
  });

  it('cursor pages across buckets skip what the viewer hid, and stay O(page)', async () => {
    // 160 messages are four buckets of 50 (store/messages.h); b hides
    // 41..110, so a page of 50 needs a third bucket after the two it
    // reads at once.
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const bySeq = new Map();
    for (let i = 0; i < 160; i += 20) {
      const ms = await Promise.all(Array.from({ length: 20 }, (_, k) => sendOk(a, d._id, `h${i + k}`)));
      for (const m of ms) bySeq.set(m.seq, m);
    }
    assert.equal(bySeq.size, 160);
    for (let q = 41; q <= 110; q += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, k) => api('DELETE', `/api/messages/${bySeq.get(q + k)._id}/for-me`, { token: b.token })));
    }
    const range = (lo, hi) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    const seqs = async (who, q) => {
      const r = await api('GET', `/api/conversations/${d._id}/messages?${q}`, { token: who.token });
      assert.equal(r.status, 200, q);
      return r.body.messages.map((m) => m.seq);
    };
    assert.deepEqual(await seqs(b, 'limit=50&afterSeq=0'), [...range(1, 40), ...range(111, 120)]);
    assert.deepEqual(await seqs(b, 'limit=50&beforeSeq=121'), [...range(1, 40), ...range(111, 120)]);
    assert.deepEqual(await seqs(b, 'limit=50&afterSeq=35'), [...range(36, 40), ...range(111, 155)]);
    assert.deepEqual(await seqs(b, 'limit=100&beforeSeq=161'), [...range(1, 40), ...range(111, 160)]);
    // The sender sees everything: two buckets, or three for a page of 100.
    assert.deepEqual(await seqs(a, 'limit=50&afterSeq=75'), range(76, 125));
    assert.deepEqual(await seqs(a, 'limit=100&beforeSeq=151'), range(51, 150));
    assert.deepEqual(await seqs(a, 'limit=50'), range(111, 160));
  });

  it('filters by type, escaped search and dates; 400 on bad query', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const t0 = new Date().toISOString();
    await sendOk(a, d._id, 'price is $5 (approx.)');
    await sendOk(a, d._id, 'price is 55');
    await api('POST', `/api/conversations/${d._id}/messages/location`, { token: a.token, body: { latitude: 1, longitude: 1 } });
    let r = await api('GET', `/api/conversations/${d._id}/messages?type=location`, { token: b.token });
    assert.deepEqual(r.body.messages.map((m) => m.type), ['location']);
    r = await api('GET', `/api/conversations/${d._id}/messages?search=${encodeURIComponent('$5 (APPROX.')}`, { token: b.token });
    assert.deepEqual(r.body.messages.map((m) => m.content), ['price is $5 (approx.)']);
    r = await api('GET', `/api/conversations/${d._id}/messages?search=${encodeURIComponent('5+')}`, { token: b.token });
    assert.equal(r.body.messages.length, 0);
    r = await api('GET', `/api/conversations/${d._id}/messages?after=${t0}`, { token: b.token });
    assert.equal(r.body.messages.length, 3);
    r = await api('GET', `/api/conversations/${d._id}/messages?before=${t0}`, { token: b.token });
    assert.equal(r.body.messages.length, 0);
    for (const q of ['type=system2', 'after=yesterday', 'afterSeq=-1', 'beforeSeq=x', 'afterSeq=1&beforeSeq=3']) {
      r = await api('GET', `/api/conversations/${d._id}/messages?${q}`, { token: b.token });
      assert.equal(r.status, 400, q);
    }
    r = await api('GET', `/api/conversations/${d._id}/messages?page=-1&limit=0`, { token: b.token });
    assert.equal(r.status, 200);
    assert.equal(r.body.pagination.page, 1);
    assert.equal(r.body.pagination.limit, 50);
    r = await api('GET', `/api/conversations/${d._id}/messages?limit=500`, { token: b.token });
    assert.equal(r.body.pagination.limit, 100);
  });
});

describe('GET /api/messages/search', () => {
  it('newest first, scoped to the caller, escaped, limited', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    const other = await direct(b, c);
    const tag = `needle${Date.now()}`;
    await sendOk(a, d._id, `${tag} one`);
    await sendOk(b, d._id, `${tag} two`);
    await sendOk(c, other._id, `${tag} hidden from a`);
    await sendOk(a, d._id, 'a.b*c');
    let r = await api('GET', `/api/messages/search?q=${tag}`, { token: a.token });
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body));
    assert.deepEqual(r.body.map((m) => m.content), [`${tag} two`, `${tag} one`]);
    assert.equal(r.body[0].conversationId._id, d._id);
    assert.equal(r.body[0].conversationId.participantCount, 2);
    assert.ok(isPublicUser(r.body[0].senderId));
    r = await api('GET', `/api/messages/search?q=${tag}&limit=1`, { token: a.token });
    assert.equal(r.body.length, 1);
    r = await api('GET', `/api/messages/search?q=${encodeURIComponent('a.b*c')}`, { token: a.token });
    assert.equal(r.body.length, 1);
    r = await api('GET', `/api/messages/search?q=${encodeURIComponent('(')}`, { token: a.token });
    assert.equal(r.status, 200);
    r = await api('GET', '/api/messages/search', { token: a.token });
    assert.equal(r.status, 400);
    r = await api('GET', '/api/messages/search?query=x', { token: a.token });
    assert.equal(r.status, 400);
    r = await api('GET', '/api/messages/search?q=', { token: a.token });
    assert.equal(r.status, 400);
  });
});

describe('single messages', () => {
  it('GET /api/messages/:id: 200 MSG, 404 stranger, 400 malformed', async () => {
    const [a, b, x] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    const m = await sendOk(a, d._id, 'get me');
    let r = await api('GET', `/api/messages/${m._id}`, { token: b.token });
    assert.equal(r.status, 200);
    assert.equal(r.body._id, m._id);
    assert.equal(r.body.senderId.id, a.id);
    r = await api('GET', `/api/messages/${m._id}`, { token: x.token });
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'Message not found');
    r = await api('GET', '/api/messages/zzz', { token: a.token });
    assert.equal(r.status, 400);
  });

  it('PUT and PATCH edit: sender only, within 24 h, updates lastMessage', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const m = await sendOk(a, d._id, 'draft');
    let r = await api('PUT', `/api/messages/${m._id}`, { token: a.token, body: { content: 'final' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.content, 'final');
    assert.match(r.body.editedAt, ISO);
    r = await api('PATCH', `/api/messages/${m._id}`, { token: a.token, body: { content: 'final!' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.content, 'final!');
    let conv = await conversation(a, d._id);
    assert.equal(conv.lastMessage, 'final!');
    r = await api('PUT', `/api/messages/${m._id}`, { token: b.token, body: { content: 'hijack' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.message, 'You can only edit your own messages');
    r = await api('PUT', `/api/messages/${m._id}`, { token: a.token, body: { content: '' } });
    assert.equal(r.status, 400);
    r = await api('PUT', `/api/messages/${m._id}`, { token: a.token, body: {} });
    assert.equal(r.status, 400);
    // Editing an older message leaves the preview alone.
    await sendOk(b, d._id, 'newer');
    r = await api('PUT', `/api/messages/${m._id}`, { token: a.token, body: { content: 'again' } });
    conv = await conversation(a, d._id);
    assert.equal(conv.lastMessage, 'newer');
    await (await db()).collection('messages').updateOne(
      { _id: oid(m._id) }, { $set: { createdAt: new Date(Date.now() - 25 * 3600 * 1000) } });
    r = await api('PUT', `/api/messages/${m._id}`, { token: a.token, body: { content: 'late' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'Cannot edit messages older than 24 hours');
  });

  it('DELETE: sender only, then gone and blank', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const m = await sendOk(a, d._id, { content: 'secret', metadata: { fileUrl: '/upload/chat/x.png' } });
    let r = await api('DELETE', `/api/messages/${m._id}`, { token: b.token });
    assert.equal(r.status, 403);
    assert.equal(r.body.message, 'You can only delete your own messages');
    r = await api('DELETE', `/api/messages/${m._id}`, { token: a.token });
    assert.equal(r.status, 204);
    r = await api('GET', `/api/messages/${m._id}`, { token: a.token });
    assert.equal(r.status, 404);
    r = await api('DELETE', `/api/messages/${m._id}`, { token: a.token });
    assert.equal(r.status, 404);
    const row = await (await db()).collection('messages').findOne({ _id: oid(m._id) });
    assert.equal(row.content, '');
    assert.equal(row.metadata, undefined);
    assert.ok(row.deletedAt instanceof Date);
    r = await api('GET', `/api/conversations/${d._id}/messages`, { token: b.token });
    assert.equal(r.body.messages.length, 0);
  });

  it('DELETE /for-me hides it for the caller only', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const d = await direct(a, b);
    const m = await sendOk(a, d._id, 'mine');
    let r = await api('DELETE', `/api/messages/${m._id}/for-me`, { token: b.token });
    assert.equal(r.status, 204);
    r = await api('GET', `/api/messages/${m._id}`, { token: b.token });
    assert.equal(r.status, 404);
    r = await api('GET', `/api/messages/${m._id}`, { token: a.token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.deletedFor, [b.id]);
    r = await api('DELETE', `/api/messages/${m._id}/for-me`, { token: b.token });
    assert.equal(r.status, 404);
    r = await api('GET', `/api/conversations/${d._id}/messages`, { token: b.token });
    assert.equal(r.body.messages.length, 0);
  });

  it('POST /read and /reads: receipts with public users', async () => {
    const [a, b, x] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    const m = await sendOk(a, d._id, 'read me');
    let r = await api('POST', `/api/messages/${m._id}/read`, { token: b.token });
    assert.equal(r.status, 204);
    r = await api('GET', `/api/messages/${m._id}/reads`, { token: a.token });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 1);
    const rec = r.body[0];
    assert.equal(rec.id, rec._id);
    assert.equal(rec.messageId, m._id);
    assert.equal(rec.conversationId, d._id);
    assert.deepEqual(Object.keys(rec.userId).sort(), ['_id', 'id', 'name']);
    assert.equal(rec.userId.id, b.id);
    assert.match(rec.readAt, ISO);
    r = await api('GET', `/api/messages/${m._id}`, { token: a.token });
    assert.match(r.body.readBy[b.id], ISO);
    r = await api('POST', `/api/messages/${m._id}/read`, { token: x.token });
    assert.equal(r.status, 404);
    r = await api('GET', `/api/messages/${m._id}/reads`, { token: x.token });
    assert.equal(r.status, 404);
    r = await api('POST', `/api/messages/${m._id}/read`, { token: b.token });
    assert.equal(r.status, 204, 'reading twice is fine');
    assert.equal(await (await db()).collection('messagereads').countDocuments({ messageId: oid(m._id) }), 1);
  });

  it('bulk-mark-read: only this conversation\'s visible messages', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    const other = await direct(a, c);
    const m1 = await sendOk(a, d._id, 'one');
    const m2 = await sendOk(a, d._id, 'two');
    await sendOk(a, d._id, 'three');
    const foreign = await sendOk(a, other._id, 'elsewhere');
    let r = await api('POST', `/api/conversations/${d._id}/messages/bulk-mark-read`, {
      token: b.token, body: { messageIds: [m1._id, m2._id, foreign._id, oid().toHexString()] },
    });
    assert.equal(r.status, 204);
    assert.equal(await unread(b, d._id), 1);
    const reads = await (await db()).collection('messagereads').find({ userId: oid(b.id) }).toArray();
    assert.deepEqual(reads.map((x) => x.messageId.toHexString()).sort(), [m1._id, m2._id].sort());
    r = await api('POST', `/api/conversations/${d._id}/messages/bulk-mark-read`, { token: b.token, body: { messageIds: [] } });
    assert.equal(r.status, 204);
    r = await api('POST', `/api/conversations/${d._id}/messages/bulk-mark-read`, { token: b.token, body: { messageIds: ['x'] } });
    assert.equal(r.status, 400);
    r = await api('POST', `/api/conversations/${d._id}/messages/bulk-mark-read`, { token: b.token, body: {} });
    assert.equal(r.status, 400);
    r = await api('POST', `/api/conversations/${d._id}/messages/bulk-mark-read`, { token: c.token, body: { messageIds: [m1._id] } });
    assert.equal(r.status, 404);
  });

  it('reactions: one per user, replaced, removed', async () => {
    const [a, b, x] = [await newUser(), await newUser(), await newUser()];
    const d = await direct(a, b);
    const m = await sendOk(a, d._id, 'react');
    let r = await api('POST', `/api/messages/${m._id}/reaction`, { token: b.token, body: { reaction: '👍' } });
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.reactions, [b.id]);
    assert.deepEqual(r.body.reactionTypes, { [b.id]: '👍' });
    r = await api('POST', `/api/messages/${m._id}/reaction`, { token: b.token, body: { reaction: '❤️' } });
    assert.deepEqual(r.body.reactions, [b.id]);
    assert.deepEqual(r.body.reactionTypes, { [b.id]: '❤️' });
    r = await api('POST', `/api/messages/${m._id}/reaction`, { token: a.token, body: { reaction: '😂' } });
    assert.equal(r.body.reactions.length, 2);
    r = await api('DELETE', `/api/messages/${m._id}/reaction`, { token: b.token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.reactions, [a.id]);
    assert.deepEqual(r.body.reactionTypes, { [a.id]: '😂' });
    r = await api('DELETE', `/api/messages/${m._id}/reaction`, { token: b.token });
    assert.equal(r.status, 200, 'idempotent');
    for (const body of [{}, { reaction: '' }, { reaction: 5 }, { reaction: 'x'.repeat(33) }]) {
      r = await api('POST', `/api/messages/${m._id}/reaction`, { token: b.token, body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    r = await api('POST', `/api/messages/${m._id}/reaction`, { token: x.token, body: { reaction: '👍' } });
    assert.equal(r.status, 404);
  });
});
