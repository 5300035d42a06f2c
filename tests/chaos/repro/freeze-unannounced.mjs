// Reproduction: a send whose insert outlives the server's socket timeout
// (socketTimeoutMS 15 s) while the database is frozen is answered as a
// failure, yet the insert completes when the database resumes. The
// sender's retry (same clientMessageId) gets the stored message with 200
// and, as designed for retries, announces nothing: the message was never
// announced, and the recipient, connected all along, never gets it live.
//   scripts/chaos tests/chaos/repro/freeze-unannounced.mjs
import { setup, sleep, svc, http } from './common.mjs';

const FREEZE_MS = Number(process.env.FREEZE_MS || 17000);
const t = await setup('freeze_unannounced');
const { base, a, conv, live, sender } = t;
let bug = false;
try {
  // A first message: the conversation is in the memo, its head in Redis.
  const warm = await sender.timeout(20000).emitWithAck('send_message', { conversationId: conv, message: { content: 'warm-up' } });
  console.log(`warm-up send: ${warm.success} seq ${warm.message && warm.message.seq}`);
  // Freeze at once: the conversation's checkpoint (a write under its lock,
  // 5 s after the last send) must not be what waits on the database.
  const cmid = `repro-${Date.now()}`;
  const body = { content: 'sent while the database is frozen', clientMessageId: cmid };
  const thaw = svc.freezeDatabase();
  console.log(`database (FerretDB + PostgreSQL) frozen for ${FREEZE_MS} ms`);
  const t0 = Date.now();
  // Socket send: checked on the loop, straight to its batch, whose
  // insert_many waits on the frozen FerretDB.
  const first = sender.timeout(60000).emitWithAck('send_message', { conversationId: conv, message: body })
    .then((ack) => ({ ack, ms: Date.now() - t0 }));
  await sleep(FREEZE_MS);
  thaw();
  console.log('database resumed');
  const r1 = await first;
  console.log(`send (socket): ack ${JSON.stringify(r1.ack).slice(0, 120)} after ${r1.ms} ms`);
  await sleep(1000);
  const r2 = await http(base, 'POST', `/api/conversations/${conv}/messages`, { token: a.token, body });
  console.log(`retry: ${r2.status} ${r2.body && r2.body._id} (seq ${r2.body && r2.body.seq})`);
  await sleep(3000);
  const rows = await t.rows({ clientMessageId: cmid });
  console.log(`rows with that clientMessageId: ${rows.length}`);
  const id = r2.body && r2.body._id;
  const gotLive = live.includes(id);
  console.log(`recipient (connected throughout) got new_message ${id} live: ${gotLive}`);
  // What the recipient can see of it, now and once the conversation has
  // been quiet long enough for its checkpoint (5 s).
  let hidden = false;
  for (const when of ['now', 'after 8 s of quiet']) {
    if (when !== 'now') await sleep(8000);
    const hist = await http(base, 'GET', `/api/conversations/${conv}/messages?afterSeq=0`, { token: t.b.token });
    const unread = await http(base, 'GET', `/api/conversations/${conv}/unread-count`, { token: t.b.token });
    const head = await http(base, 'GET', `/api/conversations/${conv}`, { token: t.b.token });
    const page = await http(base, 'GET', `/api/conversations/${conv}/messages`, { token: t.b.token });
    console.log(`${when}: recipient's ?afterSeq=0: [${hist.body.messages.map((m) => `seq ${m.seq}`).join(', ')}], ` +
      `first page: [${page.body.messages.map((m) => `seq ${m.seq}`).join(', ')}], ` +
      `unreadCount ${unread.body.unreadCount}, conversation seq ${head.body.seq}, lastMessage ${JSON.stringify(head.body.lastMessage)}`);
    hidden = !hist.body.messages.some((m) => m._id === id);
  }
  console.log(`rows now: ${(await t.rows({})).map((m) => `seq ${m.seq} ${m.clientMessageId || ''}`).join(', ')}`);
  bug = r1.ack.success === false && r2.status === 200 && rows.length === 1 && !gotLive;
  console.log(bug ? `REPRODUCED: stored, acknowledged on retry, never announced${hidden ? '; and ?afterSeq does not return it' : ''}`
    : 'not reproduced (the first send did not fail, or the message was announced)');
  if (bug) {
    // The next send to the conversation recounts its head.
    const n = await http(base, 'POST', `/api/conversations/${conv}/messages`, { token: a.token, body: { content: 'next' } });
    const hist = await http(base, 'GET', `/api/conversations/${conv}/messages?afterSeq=0`, { token: t.b.token });
    const unread = await http(base, 'GET', `/api/conversations/${conv}/unread-count`, { token: t.b.token });
    console.log(`after one more send (${n.status}, seq ${n.body && n.body.seq}): ?afterSeq=0: [${hist.body.messages.map((m) => `seq ${m.seq}`).join(', ')}], unreadCount ${unread.body.unreadCount}`);
  }
} finally {
  await t.close();
}
process.exit(bug ? 1 : 0);
