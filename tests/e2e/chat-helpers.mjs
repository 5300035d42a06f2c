// Helpers for the conversation and message suites: conversations and
// messages through the API, rows through the mongodb driver, Redis
// through redis-cli, and socket events when the realtime layer is there.
import { execFileSync } from 'node:child_process';
import { MongoClient, ObjectId } from 'mongodb';
import { api, connect } from './helpers.mjs';

export { ObjectId };

let client;

// The test database (MONGODB_URI is set by scripts/test).
export async function db() {
  if (!client) {
    client = new MongoClient(process.env.MONGODB_URI || 'mongodb://127.0.0.1:27017/lnk_test');
    await client.connect();
  }
  return client.db();
}

export async function closeDb() {
  if (client) await client.close();
  client = undefined;
}

export function oid(s) {
  return new ObjectId(s);
}

// A message row as the server stores it (src/store/messages.h): only
// what it has, and the history bucket it is read by.
export const BUCKET = 50;
export function storedMessage({ conv, sender, seq, content, at, type = 'text' }) {
  const id = new ObjectId();
  return {
    _id: id, conversationId: oid(conv), senderId: oid(sender), content, type, seq,
    bucket: `${conv}:${Math.floor(seq / BUCKET)}`, clientMessageId: id.toHexString(),
    createdAt: at,
  };
}

// Seeds n messages of the given senders (alternating) and moves the
// conversation's head to the last one, as a stored send would.
export async function seedMessages(conv, senders, n, content = (seq) => `seed ${seq}`) {
  const base = Date.now() - n * 1000;
  const docs = Array.from({ length: n }, (_, i) => storedMessage({
    conv, sender: senders[i % senders.length].id, seq: i + 1, content: content(i + 1),
    at: new Date(base + (i + 1) * 1000),
  }));
  const mdb = await db();
  await mdb.collection('messages').insertMany(docs, { ordered: true });
  const sentCounts = {};
  for (const d of docs) sentCounts[d.senderId.toHexString()] = (sentCounts[d.senderId.toHexString()] || 0) + 1;
  await mdb.collection('conversations').updateOne({ _id: oid(conv) }, {
    $set: {
      seq: n, lastMessage: docs[n - 1].content, lastMessageId: docs[n - 1]._id,
      lastMessageAt: docs[n - 1].createdAt, sentCounts,
    },
  });
  return docs;
}

export async function direct(a, b) {
  const r = await api('POST', '/api/conversations', {
    token: a.token, body: { participants: [b.id], type: 'direct' },
  });
  if (r.status !== 201) throw new Error(`direct: ${r.status} ${r.text}`);
  return r.body;
}

export async function group(admin, members, groupName = 'Team') {
  const r = await api('POST', '/api/conversations', {
    token: admin.token,
    body: { participants: members.map((m) => m.id), type: 'group', groupName },
  });
  if (r.status !== 201) throw new Error(`group: ${r.status} ${r.text}`);
  return r.body;
}

// send(user, cid, 'text') or send(user, cid, {content, ...}); returns the response.
export async function send(user, cid, body) {
  const b = typeof body === 'string' ? { content: body } : body;
  return api('POST', `/api/conversations/${cid}/messages`, { token: user.token, body: b });
}

export async function sendOk(user, cid, body) {
  const r = await send(user, cid, body);
  if (r.status !== 201) throw new Error(`send: ${r.status} ${r.text}`);
  return r.body;
}

// The conversation as the API shows it (its live head over the row).
export async function conversation(user, cid) {
  const r = await api('GET', `/api/conversations/${cid}`, { token: user.token });
  if (r.status !== 200) throw new Error(`conversation: ${r.status} ${r.text}`);
  return r.body;
}

export async function unread(user, cid) {
  const r = await api('GET', `/api/conversations/${cid}/unread-count`, { token: user.token });
  if (r.status !== 200) throw new Error(`unread: ${r.status} ${r.text}`);
  return r.body.unreadCount;
}

export function redis(...args) {
  return execFileSync('redis-cli', [
    '-h', process.env.REDIS_HOST || '127.0.0.1',
    '-p', String(process.env.REDIS_PORT || 6379), ...args,
  ]).toString().trim();
}

// Only a user's public projection may appear (SPEC.md §2.4).
export const PUBLIC_USER_KEYS = ['_id', 'avatar', 'id', 'isPremium', 'isVerified', 'name'];
export function isPublicUser(u) {
  return Object.keys(u).every((k) => PUBLIC_USER_KEYS.includes(k));
}

// A socket on /chat, or null while the realtime layer has not landed.
export async function trySocket(token) {
  try {
    return await connect(token, { transports: ['websocket'] });
  } catch {
    return null;
  }
}
