// A send whose insert outlives the driver's socket timeout (15 s) while
// the database is frozen is answered 503, yet the insert lands when the
// database resumes. The server must still announce it (the recipient,
// connected all along, gets it live), and the sender's retry with the
// same clientMessageId gets it back (200 or, if the first never landed,
// 201) and reads show it: stored, acknowledged, announced once.
// Runs after zz_outage (which may restart FerretDB: its pid is then in
// LNK_TEST_RUN/ferretdb.pid).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { api, collect, connect, newUser, sleep } from './helpers.mjs';
import { closeDb, db, direct, oid } from './chat-helpers.mjs';

const RUN = process.env.LNK_TEST_RUN;
const sockets = [];
after(async () => { for (const s of sockets) s.close(); await closeDb(); });

function ferretPid() {
  const f = `${RUN}/ferretdb.pid`;
  return Number(existsSync(f) ? readFileSync(f, 'utf8').trim() : process.env.FERRETDB_PID);
}

test('a send that timed out on a frozen database and landed later is announced once, and its retry reads it back', { timeout: 90000 }, async (t) => {
  const [a, b] = [await newUser(), await newUser()];
  const conv = (await direct(a, b))._id;
  const rb = await connect(b.token, { transports: ['websocket'] });
  const sa = await connect(a.token, { transports: ['websocket'] });
  sockets.push(rb, sa);
  const live = collect(rb, 'new_message');
  const warm = await sa.timeout(10000).emitWithAck('send_message', { conversationId: conv, message: { content: 'warm-up' } });
  assert.equal(warm.success, true);

  const cmid = `outcome-${Date.now()}`;
  const body = { content: 'sent while the database is frozen', clientMessageId: cmid };
  const pid = ferretPid();
  process.kill(pid, 'SIGSTOP');
  let first;
  try {
    const pending = sa.timeout(60000).emitWithAck('send_message', { conversationId: conv, message: body });
    await sleep(17000);
    process.kill(pid, 'SIGCONT');
    first = await pending;
  } finally {
    try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
  }
  t.diagnostic(`first attempt: ${JSON.stringify(first).slice(0, 100)}`);
  assert.equal(first.success, false, 'the frozen database outlived the timeout');
  assert.match(first.error, /Database unavailable/);

  await sleep(1000);
  const retry = await api('POST', `/api/conversations/${conv}/messages`, { token: a.token, body });
  assert.ok(retry.status === 200 || retry.status === 201, `retry ${retry.status}`);
  t.diagnostic(`retry: ${retry.status} (200: the first insert had landed)`);
  const id = retry.body._id;

  const rows = await (await db()).collection('messages').find({ conversationId: oid(conv), clientMessageId: cmid }).toArray();
  assert.equal(rows.length, 1, 'stored once');
  assert.equal(String(rows[0]._id), id);

  for (let i = 0; i < 50 && !live.some((e) => e.message._id === id); i++) await sleep(100);
  assert.equal(live.filter((e) => e.message._id === id).length, 1, 'announced once to the recipient');

  const hist = await api('GET', `/api/conversations/${conv}/messages?afterSeq=0`, { token: b.token });
  assert.deepEqual(hist.body.messages.map((m) => m.seq), [1, 2]);
  assert.equal(hist.body.messages[1]._id, id);
  const unread = await api('GET', `/api/conversations/${conv}/unread-count`, { token: b.token });
  assert.equal(unread.body.unreadCount, 2);
});
