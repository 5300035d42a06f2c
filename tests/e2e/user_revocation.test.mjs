// A deactivated or deleted user's open sockets: a change made in the
// database by any means (here the mongodb driver, as an admin tool
// would) ends every socket of that user within 5 s, on every worker, and
// nothing they send reaches the others afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { api, BASE, collect, connect, newUser, onTwoWorkers, sleep } from './helpers.mjs';
import { closeDb, db, direct, oid } from './chat-helpers.mjs';

const sockets = [];
after(async () => {
  for (const s of sockets) s.close();
  await closeDb();
});

async function open(token, transports) {
  const s = await connect(token, { transports });
  sockets.push(s);
  return s;
}

function disconnected(socket, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('still connected')), ms);
    socket.once('disconnect', (reason) => { clearTimeout(timer); resolve(reason); });
  });
}

function refused(token) {
  return new Promise((resolve, reject) => {
    const s = io(`${BASE}/chat`, { auth: { token }, forceNew: true, reconnection: false });
    const timer = setTimeout(() => { s.close(); reject(new Error('no answer')); }, 10000);
    s.once('connect', () => { clearTimeout(timer); s.close(); reject(new Error('connected')); });
    s.once('connect_error', (e) => { clearTimeout(timer); s.close(); resolve(e); });
  });
}

for (const [how, change] of [
  ['deactivated (isActive: false)', (users, id) => users.updateOne({ _id: oid(id) }, { $set: { isActive: false } })],
  ['deleted', (users, id) => users.deleteOne({ _id: oid(id) })],
]) {
  test(`revocation: a user ${how} in the database loses every open socket within 5 s`, { timeout: 60000 }, async (t) => {
    const [a, b] = [await newUser(), await newUser()];
    const cid = (await direct(a, b))._id;
    const mine = [...(await onTwoWorkers(() => open(a.token, ['websocket']))).all,
      await open(a.token, ['polling'])];
    const sb = await open(b.token, ['websocket']);
    const heard = collect(sb, 'new_message');

    // Still fine before the change.
    const before = await mine[0].timeout(5000).emitWithAck('send_message',
      { conversationId: cid, message: { content: 'before' } });
    assert.equal(before.success, true);

    const users = (await db()).collection('users');
    const gone = mine.map((s) => disconnected(s, 10000));
    const t0 = Date.now();
    const r = await change(users, a.id);
    assert.equal(r.modifiedCount ?? r.deletedCount, 1);
    const reasons = await Promise.all(gone);
    const took = Date.now() - t0;
    t.diagnostic(`${mine.length} sockets closed ${took} ms after the change`);
    assert.ok(took <= 5000, `disconnected after ${took} ms`);
    assert.ok(reasons.every((why) => why === 'io server disconnect'), reasons.join());

    // Nothing they send gets through: not the old sockets, not a new one, not REST.
    heard.length = 0;
    for (const s of mine) s.emit('send_message', { conversationId: cid, message: { content: 'after' } });
    const e = await refused(a.token);
    assert.equal(e.message, 'Unauthorized');
    const rest = await api('POST', `/api/conversations/${cid}/messages`,
      { token: a.token, body: { content: 'after (rest)' } });
    assert.equal(rest.status, 401);
    await sleep(1000);
    assert.deepEqual(heard.map((m) => m.message.content), []);
    assert.ok(sb.connected, 'the other member keeps their socket');
  });
}
