// Security review item 9: text after a NUL was silently cut ("a\u0000b"
// stored as "a", a fileUrl "/upload/x\u0000.png" as "/upload/x"). Every
// JSON the server reads now refuses strings holding NUL: a 400 over
// REST, a failed ack over the socket, and nothing is stored.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, connect, newUser } from './helpers.mjs';
import { closeDb, db, direct, oid, send, sendOk } from './chat-helpers.mjs';

const NUL_MESSAGE = 'JSON strings in request body must not contain NUL (\\u0000)';

after(closeDb);

async function storedContents(cid) {
  const rows = await (await db()).collection('messages').find({ conversationId: oid(cid) }).toArray();
  return rows.map((m) => m.content);
}

test('item 9: message content "a\\u0000b" is a 400 and nothing is stored', async () => {
  const a = await newUser();
  const b = await newUser();
  const d = await direct(a, b);
  const r = await send(a, d._id, { content: 'a\u0000b' });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body, { statusCode: 400, message: NUL_MESSAGE, error: 'Bad Request' });
  assert.deepEqual(await storedContents(d._id), []);
  // Other control characters are removed, never a cut.
  const m = await sendOk(a, d._id, { content: 'a\u0001b' });
  assert.equal(m.content, 'ab');
});

test('item 9: a fileUrl of "/upload/x\\u0000.png" is a 400 and nothing is stored', async () => {
  const a = await newUser();
  const b = await newUser();
  const d = await direct(a, b);
  const r = await send(a, d._id, { content: 'pic', type: 'image', metadata: { fileUrl: '/upload/x\u0000.png' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.message, NUL_MESSAGE);
  assert.deepEqual(await storedContents(d._id), []);
});

test('item 9: NUL in keys and in other routes\' fields is a 400 too', async () => {
  const a = await newUser();
  const b = await newUser();
  for (const [path, body] of [
    ['/api/auth/register', { name: 'Ann\u0000Admin', email: `nul${Date.now()}@test.lnk`, password: 'secret123' }],
    ['/api/auth/login', { email: `${a.email}\u0000`, password: a.password }],
    ['/api/conversations', { participants: [b.id, a.id], type: 'group', groupName: 'Team\u0000x' }],
    ['/api/conversations', { participants: [b.id], 'type\u0000x': 'direct' }],
  ]) {
    const r = await api('POST', path, { token: a.token, body });
    assert.equal(r.status, 400, path);
    assert.equal(r.body.message, NUL_MESSAGE, path);
  }
});

test('item 9: over the socket, "a\\u0000b" fails in the ack and nothing is stored', async () => {
  const a = await newUser();
  const b = await newUser();
  const d = await direct(a, b);
  const s = await connect(a.token, { transports: ['websocket'] });
  try {
    await s.timeout(5000).emitWithAck('join_conversation', { conversationId: d._id });
    for (const message of [{ content: 'a\u0000b' },
      { content: 'pic', type: 'image', metadata: { fileUrl: '/upload/x\u0000.png' } }]) {
      const ack = await s.timeout(5000).emitWithAck('send_message', { conversationId: d._id, message });
      assert.equal(ack.success, false);
      assert.match(ack.error, /NUL/);
    }
    assert.deepEqual(await storedContents(d._id), []);
  } finally {
    s.close();
  }
});
