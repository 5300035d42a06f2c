// SPEC.md §2: one test per fix that applies to the conversation and
// message routes, named after it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, once } from './helpers.mjs';
import {
  closeDb, db, direct, group, isPublicUser, oid, seedMessages, send, sendOk, trySocket, unread,
} from './chat-helpers.mjs';

after(closeDb);

// Every route that names a conversation or a message, as a stranger sees it.
function routes(cid, mid) {
  return [
    ['GET', `/api/conversations/${cid}`],
    ['PUT', `/api/conversations/${cid}`, { groupName: 'x' }],
    ['PUT', `/api/conversations/${cid}/archive`],
    ['PUT', `/api/conversations/${cid}/unarchive`],
    ['DELETE', `/api/conversations/${cid}`],
    ['GET', `/api/conversations/${cid}/unread-count`],
    ['GET', `/api/conversations/${cid}/messages`],
    ['POST', `/api/conversations/${cid}/messages`, { content: 'x' }],
    ['POST', `/api/conversations/${cid}/messages/service-offer`, { servicePackageId: 'p' }],
    ['POST', `/api/conversations/${cid}/messages/booking-request`, { servicePackageId: 'p' }],
    ['POST', `/api/conversations/${cid}/messages/location`, { latitude: 1, longitude: 1 }],
    ['POST', `/api/conversations/${cid}/messages/bulk-mark-read`, { messageIds: [mid] }],
    ['GET', `/api/messages/${mid}`],
    ['PUT', `/api/messages/${mid}`, { content: 'x' }],
    ['PATCH', `/api/messages/${mid}`, { content: 'x' }],
    ['DELETE', `/api/messages/${mid}`],
    ['DELETE', `/api/messages/${mid}/for-me`],
    ['POST', `/api/messages/${mid}/read`],
    ['POST', `/api/messages/${mid}/reaction`, { reaction: '👍' }],
    ['DELETE', `/api/messages/${mid}/reaction`],
    ['GET', `/api/messages/${mid}/reads`],
  ];
}

test('fix 3: every conversation and message route checks the participant (404, no leak)', async () => {
  const [a, b, x] = [await newUser(), await newUser(), await newUser()];
  const d = await direct(a, b);
  const m = await sendOk(a, d._id, 'private');
  const ghostC = oid().toHexString();
  const ghostM = oid().toHexString();
  for (const [method, path, body] of routes(d._id, m._id)) {
    const r = await api(method, path, { token: x.token, body });
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.ok(['Conversation not found', 'Message not found'].includes(r.body.message), `${method} ${path}: ${r.text}`);
  }
  // A conversation or message that does not exist answers exactly the same.
  for (const [i, [method, path, body]] of routes(ghostC, ghostM).entries()) {
    const r = await api(method, path, { token: x.token, body });
    const real = await api(routes(d._id, m._id)[i][0], routes(d._id, m._id)[i][1], { token: x.token, body });
    assert.equal(r.status, real.status, `${method} ${path}`);
    assert.equal(r.body.message, real.body.message, `${method} ${path}`);
  }
  // Nothing the stranger did changed anything.
  const row = await (await db()).collection('messages').findOne({ _id: oid(m._id) });
  assert.equal(row.content, 'private');
  assert.deepEqual(row.reactions ?? [], []);
  assert.equal((await api('GET', `/api/messages/${m._id}`, { token: b.token })).status, 200);
});

test('fix 4: responses carry only public user fields', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const g = await group(a, [b], 'Privacy');
  const m = await sendOk(a, g._id, 'hello');
  await api('POST', `/api/messages/${m._id}/read`, { token: b.token });
  const bodies = [
    await api('GET', '/api/conversations', { token: b.token }),
    await api('GET', `/api/conversations/${g._id}`, { token: b.token }),
    await api('GET', `/api/conversations/${g._id}/messages`, { token: b.token }),
    await api('GET', `/api/messages/${m._id}`, { token: b.token }),
    await api('GET', `/api/messages/${m._id}/reads`, { token: a.token }),
    await api('GET', '/api/messages/search?q=hello', { token: b.token }),
  ];
  for (const r of bodies) {
    assert.equal(r.status, 200);
    for (const secret of ['password', 'refreshToken', 'email', 'phoneNumber', a.email, b.email, '$argon2', '$2b$']) {
      assert.ok(!r.text.includes(secret), `${secret} leaked: ${r.text.slice(0, 200)}`);
    }
  }
  const conv = bodies[1].body;
  for (const u of conv.participants) assert.ok(isPublicUser(u));
  assert.ok(isPublicUser(bodies[3].body.senderId));
  for (const u of bodies[0].body.conversations[0].participantDetails) assert.ok(isPublicUser(u));
});

test('fix 5: malformed ObjectId is 400, paging clamped, archived=false is false, missing q and empty content are 400, 2..50 participants', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const d = await direct(a, b);
  const bad = ['123', 'zzzzzzzzzzzzzzzzzzzzzzzz', `${d._id}0`];
  for (const id of bad) {
    for (const [method, path, body] of routes(id, id)) {
      if (!path.includes(id)) continue;
      const r = await api(method, path, { token: a.token, body });
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.equal(r.body.statusCode, 400);
    }
  }
  const mid = (await sendOk(a, d._id, 'x'))._id;
  for (const id of bad) {
    for (const p of [`/api/messages/${id}`, `/api/messages/${id}/reads`]) {
      assert.equal((await api('GET', p, { token: a.token })).status, 400);
    }
  }
  assert.equal((await api('GET', `/api/messages/${mid}`, { token: a.token })).status, 200);
  let r = await api('GET', `/api/conversations/${d._id}/messages?page=-5&limit=-1`, { token: a.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.pagination.page, 1);
  assert.equal(r.body.pagination.limit, 50);
  r = await api('GET', '/api/conversations?page=abc&limit=-10', { token: a.token });
  assert.equal(r.status, 200);
  assert.deepEqual([r.body.pagination.page, r.body.pagination.limit], [1, 20]);
  await api('PUT', `/api/conversations/${d._id}/archive`, { token: a.token });
  r = await api('GET', '/api/conversations?archived=false', { token: a.token });
  assert.equal(r.body.conversations.length, 0, 'archived=false lists the non-archived ones');
  r = await api('GET', '/api/conversations?archived=true', { token: a.token });
  assert.equal(r.body.conversations.length, 1);
  assert.equal((await api('GET', '/api/messages/search', { token: a.token })).status, 400);
  assert.equal((await send(a, d._id, { content: '' })).status, 400);
  const many = [];
  for (let i = 0; i < 50; i++) many.push(oid().toHexString());
  r = await api('POST', '/api/conversations', {
    token: a.token, body: { participants: many, type: 'group', groupName: 'Too many' },
  });
  assert.equal(r.status, 400);
  r = await api('POST', '/api/conversations', {
    token: a.token, body: { participants: [a.id], type: 'group', groupName: 'Alone' },
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.message, 'A conversation must have between 2 and 50 participants');
});

test('fix 6: search and list filters are escaped, search is limited to 100', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const d = await direct(a, b);
  // 105 matching messages, stored directly with the server's shape.
  const tag = `esc${Date.now()}`;
  await seedMessages(d._id, [a], 105, (seq) => `${tag} (a+)+$ ${seq - 1}`);
  let r = await api('GET', `/api/messages/search?q=${encodeURIComponent(`${tag} (a+)+$`)}&limit=1000`, { token: b.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 100);
  assert.equal(r.body[0].content, `${tag} (a+)+$ 104`, 'newest first');
  r = await api('GET', `/api/messages/search?q=${encodeURIComponent('(a+)+$')}`, { token: b.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 20, 'default limit 20');
  for (const q of ['[', '(?<', '\\', '*']) {
    r = await api('GET', `/api/messages/search?q=${encodeURIComponent(q)}`, { token: b.token });
    assert.equal(r.status, 200, q);
    r = await api('GET', `/api/conversations?search=${encodeURIComponent(q)}`, { token: b.token });
    assert.equal(r.status, 200, q);
    r = await api('GET', `/api/conversations/${d._id}/messages?search=${encodeURIComponent(q)}`, { token: b.token });
    assert.equal(r.status, 200, q);
  }
  r = await api('GET', `/api/conversations/${d._id}/messages?search=${encodeURIComponent('.')}`, { token: b.token });
  assert.equal(r.body.messages.length, 0, 'a dot is a dot');
});

test('fix 7: direct dedupe returns 200 and clears deletedBy; type defaults to direct; group admin rules', async () => {
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  const first = await api('POST', '/api/conversations', { token: a.token, body: { participants: [b.id] } });
  assert.equal(first.status, 201);
  assert.equal(first.body.type, 'direct', 'type defaults to direct');
  let r = await api('POST', '/api/conversations', { token: b.token, body: { participants: [a.id], type: 'direct' } });
  assert.equal(r.status, 200);
  assert.equal(r.body._id, first.body._id);
  await api('DELETE', `/api/conversations/${first.body._id}`, { token: a.token });
  assert.equal((await api('GET', `/api/conversations/${first.body._id}`, { token: a.token })).status, 404);
  r = await api('POST', '/api/conversations', { token: a.token, body: { participants: [b.id, b.id] } });
  assert.equal(r.status, 200, 'a duplicated id is one participant');
  assert.equal(r.body._id, first.body._id);
  assert.deepEqual(r.body.deletedBy, {});
  assert.equal((await api('GET', `/api/conversations/${first.body._id}`, { token: a.token })).status, 200);
  // Concurrent creates of the same pair make one conversation.
  const [x, y] = [await newUser(), await newUser()];
  const all = await Promise.all(Array.from({ length: 6 }, (_, i) => api('POST', '/api/conversations', {
    token: i % 2 ? x.token : y.token, body: { participants: [i % 2 ? y.id : x.id] },
  })));
  assert.equal(new Set(all.map((q) => q.body._id)).size, 1);
  assert.equal(all.filter((q) => q.status === 201).length, 1);
  // Groups: the admin may, others may not; direct chats never change.
  const g = await group(a, [b, c], 'Rules');
  assert.equal((await api('PUT', `/api/conversations/${g._id}`, { token: b.token, body: { groupName: 'B' } })).status, 403);
  assert.equal((await api('PUT', `/api/conversations/${g._id}`, { token: a.token, body: { groupName: 'A' } })).status, 200);
  assert.equal((await api('PUT', `/api/conversations/${g._id}`, { token: a.token, body: { groupAdmin: c.id } })).status, 200);
  assert.equal((await api('PUT', `/api/conversations/${g._id}`, { token: c.token, body: { removeParticipants: [a.id] } })).status, 200);
  r = await api('PUT', `/api/conversations/${first.body._id}`, { token: a.token, body: { groupName: 'Renamed' } });
  assert.equal(r.status, 400);
});

test('fix 8: a new conversation\'s sockets are in its room before new_conversation', async (t) => {
  const [a, b] = [await newUser(), await newUser()];
  const sa = await trySocket(a.token);
  const sb = sa && await trySocket(b.token);
  if (!sa || !sb) {
    sa?.close();
    t.skip('realtime /chat namespace not available');
    return;
  }
  try {
    const got = once(sb, 'new_conversation');
    const r = await api('POST', '/api/conversations', { token: a.token, body: { participants: [b.id] } });
    assert.equal((await got).conversation._id, r.body._id);
    const msg = once(sb, 'new_message');
    await sendOk(a, r.body._id, 'first words');
    assert.equal((await msg).message.content, 'first words');
  } finally {
    sa.close();
    sb.close();
  }
});

test('fix 9: unread counts are atomic and follow the reader\'s last read; hidden messages do not count', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const d = await direct(a, b);
  const sent = await Promise.all(Array.from({ length: 12 }, (_, i) => sendOk(a, d._id, `u${i}`)));
  sent.sort((x, y) => x.seq - y.seq);
  assert.equal(await unread(b, d._id), 12);
  // Reading message 5 reads 1..5.
  assert.equal((await api('POST', `/api/messages/${sent[4]._id}/read`, { token: b.token })).status, 204);
  assert.equal(await unread(b, d._id), 7);
  let conv = await (await db()).collection('conversations').findOne({ _id: oid(d._id) });
  assert.equal(conv.lastReadSeq[b.id], 5);
  // Reading an older one changes nothing.
  await api('POST', `/api/messages/${sent[1]._id}/read`, { token: b.token });
  assert.equal(await unread(b, d._id), 7);
  // b's own messages never count for b.
  await sendOk(b, d._id, 'reply');
  assert.equal(await unread(b, d._id), 7);
  // Hiding an unread message takes it off; hiding a read one does not.
  await api('DELETE', `/api/messages/${sent[9]._id}/for-me`, { token: b.token });
  assert.equal(await unread(b, d._id), 6);
  await api('DELETE', `/api/messages/${sent[0]._id}/for-me`, { token: b.token });
  assert.equal(await unread(b, d._id), 6);
  // A message deleted for everyone stops counting too.
  await api('DELETE', `/api/messages/${sent[10]._id}`, { token: a.token });
  assert.equal(await unread(b, d._id), 5);
  // Reading the newest reads all.
  await api('POST', `/api/messages/${sent[11]._id}/read`, { token: b.token });
  assert.equal(await unread(b, d._id), 0);
  conv = await (await db()).collection('conversations').findOne({ _id: oid(d._id) });
  assert.equal(conv.lastReadSeq[b.id], 12);
  const rows = await (await db()).collection('messages').find({ conversationId: oid(d._id), senderId: oid(a.id) }).toArray();
  const shown = rows.filter((m) => !m.deletedAt && !(m.deletedFor ?? []).some((u) => u.toHexString() === b.id));
  assert.equal(shown.length, 9);
  assert.ok(shown.every((m) => m.readBy[b.id]), 'everything up to the read one is read');
});

test('fix 10: realtime events for sends, edits, reactions, deletes, reads and conversation updates', async (t) => {
  const [a, b] = [await newUser(), await newUser()];
  const d = await direct(a, b);
  const sa = await trySocket(a.token);
  const sb = sa && await trySocket(b.token);
  if (!sa || !sb) {
    sa?.close();
    t.skip('realtime /chat namespace not available');
    return;
  }
  try {
    const order = [];
    for (const e of ['new_message', 'message_received', 'conversation_updated']) sb.on(e, () => order.push(e));
    const nm = once(sb, 'new_message');
    const cu = once(sb, 'conversation_updated');
    const m = await sendOk(a, d._id, 'over http');
    const ev = await nm;
    assert.equal(ev.conversationId, d._id);
    assert.equal(ev.message._id, m._id);
    const upd = await cu;
    assert.equal(upd.lastMessage, 'over http');
    assert.equal(upd.unreadCounts[b.id], 1);
    assert.deepEqual(order.slice(0, 3), ['new_message', 'message_received', 'conversation_updated']);

    let p = once(sb, 'message_updated');
    await api('PUT', `/api/messages/${m._id}`, { token: a.token, body: { content: 'edited' } });
    assert.equal((await p).message.content, 'edited');
    p = once(sb, 'message_updated');
    await api('POST', `/api/messages/${m._id}/reaction`, { token: a.token, body: { reaction: '🔥' } });
    assert.deepEqual((await p).message.reactionTypes, { [a.id]: '🔥' });
    p = once(sa, 'message_read');
    await api('POST', `/api/messages/${m._id}/read`, { token: b.token });
    const rd = await p;
    assert.deepEqual([rd.messageId, rd.conversationId, rd.readBy], [m._id, d._id, b.id]);
    const m2 = await sendOk(a, d._id, 'second');
    p = once(sa, 'message_read', 3000, (x) => x.messageId === m2._id);
    await api('POST', `/api/conversations/${d._id}/messages/bulk-mark-read`, { token: b.token, body: { messageIds: [m2._id] } });
    await p;
    p = once(sb, 'message_deleted');
    await api('DELETE', `/api/messages/${m2._id}`, { token: a.token });
    assert.deepEqual(await p, { conversationId: d._id, messageId: m2._id });
    p = once(sa, 'conversation_updated', 3000, (x) => x.archived === true);
    await api('PUT', `/api/conversations/${d._id}/archive`, { token: a.token });
    assert.equal((await p).conversationId, d._id);
  } finally {
    sa.close();
    sb.close();
  }
});

test('fix 11: delete for everyone blanks the message, reply previews and lastMessage; edits update lastMessage', async () => {
  const [a, b] = [await newUser(), await newUser()];
  const d = await direct(a, b);
  const m = await sendOk(a, d._id, 'regrettable');
  const reply = await sendOk(b, d._id, { content: 'what?', replyToId: m._id });
  assert.equal(reply.replyToId.content, 'regrettable');
  const last = await sendOk(a, d._id, 'also regrettable');
  let r = await api('PUT', `/api/messages/${last._id}`, { token: a.token, body: { content: 'fine' } });
  assert.equal(r.status, 200);
  let conv = await api('GET', `/api/conversations/${d._id}`, { token: b.token });
  assert.equal(conv.body.lastMessage, 'fine');
  await api('DELETE', `/api/messages/${m._id}`, { token: a.token });
  await api('DELETE', `/api/messages/${last._id}`, { token: a.token });
  r = await api('GET', `/api/messages/${reply._id}`, { token: b.token });
  assert.equal(r.body.replyToId._id, m._id);
  assert.equal(r.body.replyToId.content, '');
  r = await api('GET', `/api/conversations/${d._id}/messages`, { token: b.token });
  assert.ok(!r.text.includes('regrettable'));
  conv = await api('GET', `/api/conversations/${d._id}`, { token: b.token });
  assert.equal(conv.body.lastMessage, '');
  r = await api('GET', '/api/conversations', { token: b.token });
  assert.ok(!r.text.includes('regrettable'));
  const row = await (await db()).collection('messages').findOne({ _id: oid(m._id) });
  assert.equal(row.content, '');
});

test('fix 12: replyToId and forwardedFromId must be visible to the caller; forwards copy and set isForwarded', async () => {
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  const ab = await direct(a, b);
  const bc = await direct(b, c);
  const secret = await sendOk(b, bc._id, { content: 'b to c', type: 'image', metadata: { fileUrl: '/upload/chat/images/x.png' } });
  let r = await send(a, ab._id, { content: 'hi', replyToId: secret._id });
  assert.equal(r.status, 400);
  r = await send(a, ab._id, { forwardedFromId: secret._id });
  assert.equal(r.status, 400);
  const hidden = await sendOk(a, ab._id, 'hide me');
  await api('DELETE', `/api/messages/${hidden._id}/for-me`, { token: a.token });
  r = await send(a, ab._id, { content: 'hi', replyToId: hidden._id });
  assert.equal(r.status, 400, 'a message deleted for me is not visible to me');
  r = await send(b, ab._id, { forwardedFromId: secret._id, content: 'ignored' });
  assert.equal(r.status, 201);
  assert.equal(r.body.isForwarded, true);
  assert.equal(r.body.forwardedFromId, secret._id);
  assert.equal(r.body.content, 'b to c');
  assert.equal(r.body.type, 'image');
  assert.deepEqual(r.body.metadata, { fileUrl: '/upload/chat/images/x.png' });
  const row = await (await db()).collection('messages').findOne({ _id: oid(r.body._id) });
  assert.equal(row.isForwarded, true);
});

test('fix 13: booking requests go to the package owner; inactive packages cannot be offered', async () => {
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  const mk = async (u, extra = {}) => (await api('POST', '/api/users/profile/packages', {
    token: u.token, body: { title: 'Tour', services: ['tour'], price: 10, ...extra },
  })).body.package;
  const pb = await mk(b);
  const pc = await mk(c);
  const g = await group(a, [b, c], 'Market');
  let r = await api('POST', `/api/conversations/${g._id}/messages/booking-request`, {
    token: a.token, body: { servicePackageId: pc._id, providerId: c.id },
  });
  assert.equal(r.status, 201);
  assert.equal(r.body.metadata.providerId, c.id);
  r = await api('POST', `/api/conversations/${g._id}/messages/booking-request`, {
    token: a.token, body: { servicePackageId: pb._id, providerId: c.id },
  });
  assert.equal(r.status, 404, 'the package must be the provider\'s');
  const d = await direct(a, b);
  r = await api('POST', `/api/conversations/${d._id}/messages/booking-request`, {
    token: a.token, body: { servicePackageId: pb._id },
  });
  assert.equal(r.status, 201);
  assert.equal(r.body.metadata.providerId, b.id, 'defaults to the other participant');
  const inactive = await mk(a, { isActive: false });
  r = await api('POST', `/api/conversations/${d._id}/messages/service-offer`, {
    token: a.token, body: { servicePackageId: inactive._id },
  });
  assert.equal(r.status, 400);
});
