// Fault injection, the short form of `make chaos` (tests/chaos/): the
// worker-kill-x2 scenario on a server of its own (startServer), with
// shorter traffic. 20 users in 10 direct conversations and a group of 10,
// each with a socket (websocket, polling, or polling then upgrade) that
// reconnects by itself, send over REST and socket send_message (with ack)
// with a clientMessageId each, retrying with the same one after a failure
// or a timeout; one Kore worker is SIGKILLed twice (Kore respawns it): the
// one holding fewer websocket-only clients, so that those on the other
// stay connected throughout.
// Afterwards the clients that lost their socket are reconnected and every
// client catches up with ?afterSeq. Then, on the rows and on what each
// client received:
//   * no event of a conversation a client is not in (nor presence of a
//     user it shares none with);
//   * no client got the same message (_id) twice as a live new_message;
//   * every acknowledged message is stored exactly once (by its
//     clientMessageId, with the _id of its ack), nothing stored twice, seq
//     1..n in every conversation;
//   * every client that never lost its socket got live every message
//     surely announced (acknowledged 201, or at a first socket attempt),
//     and after catch-up every member has every stored message;
//   * unread counts exact, conversation seq and lastMessage the newest.
// Runs last: it is long (about 60 s) and loads the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers.mjs';
import { runScenario } from '../chaos/harness.mjs';
import { table, details } from '../chaos/report.mjs';
import { workerKill } from '../chaos/scenarios.mjs';

test('chaos, short form: a worker SIGKILLed twice under chat traffic loses, duplicates and leaks nothing', { timeout: 180000 }, async (t) => {
  const server = await startServer();
  let r;
  try {
    r = await runScenario({
      name: 'worker-kill (short)',
      base: server.base,
      mongoUri: process.env.MONGODB_URI,
      trafficMs: 12000,
      fault: workerKill(server, { first: 2500, gap: 6500, ids: ['fewer', 'same'] }),
      // A worker killed while it held a conversation's Redis lock leaves
      // that conversation busy for the lock's 30 s lease.
      retryGraceMs: 45000,
      settleMs: 2000,
      reconnectMs: 20000,
      log: (m) => t.diagnostic(m),
    });
  } finally {
    server.stop();
  }
  r.title = r.name;
  t.diagnostic(`\n${table([r])}\n\n${details([r])}`);
  for (const n of r.notes) t.diagnostic(n);

  assert.equal(r.recovery.length, 2, 'two kills');
  assert.ok(r.lostSocket > 0, 'the kills cost some clients their socket');
  assert.ok(r.lostSocket < r.clients, 'some clients stayed connected (the live check is not empty)');
  assert.ok(r.acknowledged >= 100, `traffic flowed (${r.acknowledged} acknowledged)`);
  assert.equal(r.foreign, 0, 'foreign events');
  assert.equal(r.duplicates, 0, 'live duplicates');
  assert.equal(r.gaveUp, 0, 'sends that never succeeded');
  assert.equal(r.acknowledged, r.sent, 'every send acknowledged in the end');
  assert.equal(r.lostAcked, 0, 'acknowledged but not stored');
  assert.equal(r.storedAckedOnce, r.acknowledged, 'every acknowledged message stored once');
  assert.equal(r.storedTwice, 0, 'stored twice');
  assert.equal(r.foreignRows, 0, 'rows nobody sent');
  assert.ok(r.seqOk, 'seq 1..n in every conversation');
  assert.equal(r.liveMisses, 0, 'announced messages missed live by clients that stayed connected');
  assert.equal(r.missingAtMembers, 0, 'messages missing at a member after catch-up');
  assert.equal(r.phantoms, 0, 'messages received that are not stored');
  assert.equal(r.unreadOk, r.unreadChecked, 'unread counts');
  assert.equal(r.headsOk, r.conversations, 'conversation heads');
  assert.deepEqual(r.problems, []);
});
