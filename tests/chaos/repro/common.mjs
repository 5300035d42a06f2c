// Shared set-up of the reproductions (run by `scripts/chaos <file>`, which
// starts the services and exports where they are): a fresh Kore on a
// fresh database, two users in a direct conversation, the recipient's
// socket recording its live new_message events.
import { MongoClient } from 'mongodb';
import { io } from 'socket.io-client';
import { startServer } from '../../e2e/helpers.mjs';
import { services, waitGone } from '../services.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const svc = services();
process.env.LNK_TEST_RUN = process.env.CHAOS_RUN;

export async function http(base, method, path, { token, body, timeoutMs = 60000 } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const t = Date.now();
  const res = await fetch(base + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, body: json, text, ms: Date.now() - t };
}

export async function setup(name) {
  svc.redisCli('FLUSHALL');
  const mongoUri = `mongodb://127.0.0.1:${svc.ferretdb.port}/repro_${name}`;
  const server = await startServer({ MONGODB_URI: mongoUri });
  const base = server.base;
  for (let i = 0; i < 100 && (await http(base, 'GET', '/api/health').catch(() => ({}))).status !== 200; i++) await sleep(200);
  const users = [];
  for (const n of ['a', 'b']) {
    const email = `${n}-${Date.now()}@repro.lnk`;
    await http(base, 'POST', '/api/auth/register', { body: { name: n, email, password: 'secret123' } });
    const l = await http(base, 'POST', '/api/auth/login', { body: { email, password: 'secret123' } });
    users.push({ id: l.body.user._id, token: l.body.accessToken });
  }
  const [a, b] = users;
  const conv = (await http(base, 'POST', '/api/conversations', {
    token: a.token, body: { type: 'direct', participants: [b.id] },
  })).body._id;
  const socket = io(`${base}/chat`, { auth: { token: b.token }, forceNew: true, transports: ['websocket'] });
  const live = [];
  socket.on('new_message', (e) => live.push(e.message._id));
  await new Promise((r) => socket.once('connect', r));
  // The sender's socket: a plain send_message of a conversation in the
  // worker's memo is checked on the loop, without the database.
  const sender = io(`${base}/chat`, { auth: { token: a.token }, forceNew: true, transports: ['websocket'] });
  await new Promise((r) => sender.once('connect', r));
  await sleep(500);
  return {
    server, base, a, b, conv, live, mongoUri, sender,
    async rows(filter) {
      const m = new MongoClient(mongoUri);
      await m.connect();
      try { return await m.db().collection('messages').find(filter).toArray(); } finally { await m.close(); }
    },
    async close() {
      socket.close();
      sender.close();
      server.stop();
      await waitGone([server.pid], 20000).catch(() => {});
    },
  };
}
